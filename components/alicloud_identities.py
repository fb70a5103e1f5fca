"""Registers what a ``ScenarioSpec`` describes: users, roles, policies and their grants.

Every Alibaba Cloud scenario component delegates here, so the rules that make identities safe
to operate (canonical documents, policy-version rotation, ``force`` on delete, ``protect`` in
prod, tags) are written once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pulumi
import pulumi_alicloud as alicloud

from baseline.documents.render import canonical_json
from baseline.spec import ScenarioSpec
from components import PACKAGE
from components.ram_user import RamUser, RamUserArgs

# RAM keeps 5 versions of a custom policy; without rotation the sixth update fails.
ROTATE_STRATEGY = "DeleteOldestNonDefaultVersionWhenLimitExceeded"


@dataclass
class IdentityOptions:
    """Stack-wide choices the scenario components pass down."""

    tags: dict[str, str]
    protect: bool
    secrets: dict[str, pulumi.Input[str]]  # secret name -> value (already a secret output)
    # region -> that region's explicit provider, for regional resources (components.providers)
    providers: Callable[[str], pulumi.ProviderResource] | None = None


@dataclass
class Identities:
    users: dict[str, RamUser] = field(default_factory=dict)
    roles: dict[str, alicloud.ram.Role] = field(default_factory=dict)
    policies: dict[str, alicloud.ram.Policy] = field(default_factory=dict)
    attachments: list[pulumi.CustomResource] = field(default_factory=list)


def register_identities(
    parent: pulumi.ComponentResource, name: str, spec: ScenarioSpec, options: IdentityOptions
) -> Identities:
    found = Identities()
    child = pulumi.ResourceOptions(parent=parent)
    protected = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(protect=options.protect))
    for user in spec.users:
        found.users[user.key] = RamUser(
            f"{name}-{user.key}",
            RamUserArgs(
                spec=user,
                password=options.secrets[user.console.password_secret]
                if user.console and user.console.password_secret
                else None,
                tags=options.tags,
                protect=options.protect,
            ),
            opts=child,
        )
    for role in spec.roles:
        found.roles[role.key] = alicloud.ram.Role(
            f"{name}-{role.key}-role",
            role_name=role.name,
            assume_role_policy_document=canonical_json(role.trust),
            description=role.description or None,
            max_session_duration=role.max_session_duration,
            force=True,  # detach its policies on delete instead of failing
            tags=options.tags,
            opts=protected,
        )
    for policy in spec.policies:
        found.policies[policy.key] = alicloud.ram.Policy(
            f"{name}-{policy.key}",
            policy_name=policy.name,
            policy_document=policy.rendered,
            description=policy.description or None,
            rotate_strategy=ROTATE_STRATEGY,
            force=True,  # detach from principals on delete instead of failing
            tags=options.tags,
            opts=protected,
        )
    for grant in spec.grants:
        if grant.policy_type == "Custom":
            policy_name: pulumi.Input[str] = found.policies[grant.policy].policy_name
            label = grant.policy
        else:
            policy_name = grant.policy
            label = grant.policy.lower()
        if grant.principal_kind == "user":
            attachment: pulumi.CustomResource = alicloud.ram.UserPolicyAttachment(
                f"{name}-{grant.principal}-{label}",
                user_name=found.users[grant.principal].name,
                policy_name=policy_name,
                policy_type=grant.policy_type,
                opts=child,
            )
        else:
            attachment = alicloud.ram.RolePolicyAttachment(
                f"{name}-{grant.principal}-{label}",
                role_name=found.roles[grant.principal].role_name,
                policy_name=policy_name,
                policy_type=grant.policy_type,
                opts=child,
            )
        found.attachments.append(attachment)
    return found


def identity_outputs(found: Identities) -> dict[str, pulumi.Input[object]]:
    """The outputs every scenario component registers."""
    outputs: dict[str, pulumi.Input[object]] = {
        "userNames": [u.name for u in found.users.values()],
        "roleArns": [r.arn for r in found.roles.values()],
        "policyNames": [p.policy_name for p in found.policies.values()],
    }
    generated = {u.spec.name: u.initial_password for u in found.users.values() if u.initial_password}
    if generated:
        # `pulumi stack output <scenario> --show-secrets`: RAM user name -> first-logon password.
        outputs["initialPasswords"] = generated
    keys = {
        u.spec.name: {"accessKeyId": u.access_key.id, "accessKeySecret": u.access_key_secret}
        for u in found.users.values()
        if u.access_key is not None
    }
    if keys:
        # A component's own outputs are not readable with `pulumi stack output`; the stack output
        # is the only way to hand the key out. The secret is a Pulumi secret (or, with a PGP key,
        # only the PGP ciphertext), so `--show-secrets` is needed to read it.
        outputs["accessKeys"] = keys
    return outputs


class AlicloudScenario(pulumi.ComponentResource):
    """Base of the Alibaba Cloud scenario components.

    Subclasses name their type (``TYPE``) and may add resources beyond identities in
    ``extend`` (OOS parameters, instance attachments, resource groups); outputs are registered
    once, after ``extend``.
    """

    TYPE = ""

    def __init__(
        self,
        name: str,
        spec: ScenarioSpec,
        options: IdentityOptions,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__(f"{PACKAGE}:alicloud:{self.TYPE}", name, None, opts)
        self.spec = spec
        self.identities = register_identities(self, name, spec, options)
        self.outputs = identity_outputs(self.identities)
        self.outputs.update(self.extend(name, options))
        self.register_outputs(self.outputs)

    def extend(self, name: str, options: IdentityOptions) -> dict[str, pulumi.Input[object]]:
        """Register scenario-specific resources; return extra outputs."""
        return {}
