"""A RAM user with its optional console login profile and AccessKey."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_alicloud as alicloud

from baseline.spec import UserSpec
from components import PACKAGE


@dataclass
class RamUserArgs:
    spec: UserSpec
    password: pulumi.Input[str] | None = None  # required when spec.console is set
    tags: dict[str, str] | None = None
    protect: bool = False


class RamUser(pulumi.ComponentResource):
    """``alicloud.ram.User`` + ``LoginProfile`` (console) + ``AccessKey`` (API)."""

    def __init__(self, name: str, args: RamUserArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(f"{PACKAGE}:alicloud:RamUser", name, None, opts)
        spec = args.spec
        child = pulumi.ResourceOptions(parent=self)
        self.user = alicloud.ram.User(
            f"{name}-user",
            name=spec.name,
            display_name=spec.display_name,
            comments="Managed by Pulumi (ecs-access-baseline).",
            # force: deleting the user also removes its keys, login profile and attachments,
            # so a destroy never stalls on a dependency the program already tracks.
            force=True,
            tags=args.tags,
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(protect=args.protect)),
        )
        self.login_profile = None
        if spec.console is not None:
            if args.password is None:
                raise ValueError(f"RAM user {spec.name} has console access but no password")
            self.login_profile = alicloud.ram.LoginProfile(
                f"{name}-login",
                user_name=self.user.name,
                password=pulumi.Output.secret(args.password),
                password_reset_required=spec.console.password_reset_required,
                mfa_bind_required=spec.console.mfa_bind_required,
                # The provider schema does not mark the password secret. Listing it here keeps it
                # encrypted in state and is the only sign of secretness CrossGuard validators get
                # (they receive secret inputs as plaintext): see policy rule no-plaintext-secret-inputs.
                opts=pulumi.ResourceOptions.merge(
                    child, pulumi.ResourceOptions(additional_secret_outputs=["password"])
                ),
            )
        self.access_key = None
        self.access_key_secret: pulumi.Output[str] | None = None
        if spec.access_key:
            self.access_key = alicloud.ram.AccessKey(
                f"{name}-key",
                user_name=self.user.name,
                pgp_key=spec.pgp_key,
                status="Active",
                opts=pulumi.ResourceOptions.merge(
                    child, pulumi.ResourceOptions(additional_secret_outputs=["secret"])
                ),
            )
            # With a PGP key only the ciphertext exists; otherwise the secret is a Pulumi
            # secret output (encrypted in state, "[secret]" in every display).
            self.access_key_secret = (
                self.access_key.encrypted_secret
                if spec.pgp_key
                else pulumi.Output.secret(self.access_key.secret)
            )
        self.name = self.user.name
        outputs: dict[str, pulumi.Input[object]] = {"userName": self.user.name}
        if self.access_key is not None:
            outputs["accessKeyId"] = self.access_key.id
            outputs["accessKeySecret"] = self.access_key_secret
        self.register_outputs(outputs)
