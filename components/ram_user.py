"""A RAM user with its optional console login profile and AccessKey."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_alicloud as alicloud
import pulumi_random as random

from baseline import limits
from baseline.spec import UserSpec
from components import PACKAGE


@dataclass
class RamUserArgs:
    spec: UserSpec
    # The stack secret named by console.passwordSecret; None generates one (console users only).
    password: pulumi.Input[str] | None = None
    tags: dict[str, str] | None = None
    protect: bool = False


class RamUser(pulumi.ComponentResource):
    """``alicloud.ram.User`` + ``LoginProfile`` (console) + ``AccessKey`` (API)."""

    def __init__(self, name: str, args: RamUserArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(f"{PACKAGE}:alicloud:RamUser", name, None, opts)
        spec = self.spec = args.spec
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
        self.generated_password: random.RandomPassword | None = None
        self.initial_password: pulumi.Output[str] | None = None
        if spec.console is not None:
            password = args.password
            if password is None:
                # Generated in the deployment, kept encrypted in state, handed out only as a secret
                # output; the user must change it at the first logon (settings enforce that).
                self.generated_password = random.RandomPassword(
                    f"{name}-password",
                    length=limits.GENERATED_PASSWORD_LENGTH,
                    min_lower=1,
                    min_upper=1,
                    min_numeric=1,
                    min_special=1,
                    override_special=limits.RAM_PASSWORD_SYMBOLS,
                    opts=child,
                )
                password = self.generated_password.result
                self.initial_password = pulumi.Output.secret(self.generated_password.result)
            self.login_profile = alicloud.ram.LoginProfile(
                f"{name}-login",
                user_name=self.user.name,
                password=pulumi.Output.secret(password),
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
        if self.initial_password is not None:
            outputs["initialPassword"] = self.initial_password
        self.register_outputs(outputs)
