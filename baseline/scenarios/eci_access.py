"""S5 ``eciAccess`` (seed 002): who may do what with Elastic Container Instance.

Sections of the guide and what each becomes: 1 the service-linked role (created once per
account, or declared existing); 2 users with the ECI system policies and the console policy;
3 resource groups, each with an administrator whose AliyunECIFullAccess is scoped to that group;
4 the tag-based policy; 5 the instance role for container groups and PassRole on it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from baseline import limits
from baseline.documents.alicloud import (
    ECI_SERVICE,
    eci_console_policy,
    eci_tag_policy,
    oss_read_policy,
    pass_role_policy,
    role_arn,
)
from baseline.errors import ConfigError
from baseline.scenarios import AlicloudContext
from baseline.scenarios.common import oss_resources, user_spec
from baseline.scenarios.ecs_instance_role import InstanceRoleSettings, instance_role_spec
from baseline.settings import Model, RamUserSettings, check_oss_buckets, fix
from baseline.spec import (
    Grant,
    PolicySpec,
    ResourceGroupGrantSpec,
    ResourceGroupSpec,
    ScenarioSpec,
    ServiceLinkedRoleSpec,
    UserSpec,
)

KEY = "eciAccess"
EciAccessLevel = Literal["read-only", "full", "tag-scoped"]
EciSystemPolicy = Literal["AliyunECIFullAccess", "AliyunECIReadOnlyAccess"]
EciService = Literal["eci.aliyuncs.com", "vnode.eci.aliyuncs.com"]
ACCESS_POLICY = {"read-only": "AliyunECIReadOnlyAccess", "full": "AliyunECIFullAccess"}


class EciUserSettings(RamUserSettings):
    """A RAM user of ECI, with one access level."""

    access: EciAccessLevel = Field(
        "read-only",
        description="`read-only`: AliyunECIReadOnlyAccess; `full`: AliyunECIFullAccess; "
        "`tag-scoped`: the tag-based policy instead (only resources tagged `tagKey`=`tagValue`).",
    )
    pass_instance_role: bool = Field(
        False,
        description="The user creates container groups with `instanceRole`: grant `ram:PassRole` on "
        "that role only. Needs `full` or `tag-scoped` access.",
    )


class EciResourceGroupSettings(Model):
    """A resource group with one administrator, whose permissions stop at the group."""

    name: str = Field(description="Resource group name (naming rule applied), e.g. `production`.")
    display_name: str | None = Field(
        None, description="Display name (1-50 characters); defaults to the name."
    )
    administrator: RamUserSettings | None = Field(
        None, description="A RAM user this stack creates as the group's administrator."
    )
    administrator_principal: str | None = Field(
        None,
        description="An existing RAM user as the administrator instead, written "
        "`<name>@<account-id>.onaliyun.com`.",
    )
    policies: list[EciSystemPolicy] = Field(
        default_factory=lambda: ["AliyunECIFullAccess"],
        description="System policies granted with this group as the scope (never account-wide).",
        min_length=1,
    )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if (problem := limits.RESOURCE_GROUP.check(value)) is not None:
            raise fix(f"a resource group name {problem}", "choose a name like 'production'")
        return value

    @field_validator("display_name")
    @classmethod
    def _display_name(cls, value: str | None) -> str | None:
        if value is not None and not 1 <= len(value) <= limits.RESOURCE_GROUP_DISPLAY_NAME_MAX:
            raise fix("a resource group display name is 1-50 characters", "shorten it")
        return value

    @field_validator("administrator_principal")
    @classmethod
    def _principal(cls, value: str | None) -> str | None:
        if value is not None and (problem := limits.ram_user_principal_problem(value)) is not None:
            raise fix(f"a resource group principal {problem}", "e.g. 'alice@1234567890123456.onaliyun.com'")
        return value

    @model_validator(mode="after")
    def _one_administrator(self) -> EciResourceGroupSettings:
        if (self.administrator is None) == (self.administrator_principal is None):
            raise fix(
                "a resource group needs exactly one administrator",
                "set either administrator (a new user) or administratorPrincipal (an existing one)",
            )
        return self


def _default_eci_role() -> InstanceRoleSettings:
    return InstanceRoleSettings(
        name="ECIRamRoleTest",
        policyName="ECIRamRoleTestPolicy",
        description="Instance RAM role of elastic container instances: OSS read (seed 002).",
    )


class EciAccessSettings(Model):
    """S5: ECI service-linked role, ECI users, resource-group administrators, tag-based access
    and the container groups' instance role."""

    enabled: bool = Field(False, description="Create this scenario's resources.")
    service_linked_role: Literal["create", "existing"] = Field(
        "existing",
        description="`AliyunServiceRoleForECI` exists once per account: `create` it in exactly one "
        "stack of the account (kept on destroy, other stacks rely on it), `existing` everywhere else.",
    )
    extra_service_linked_roles: list[EciService] = Field(
        default_factory=list,
        description="Other ECI service-linked roles this stack creates, e.g. `vnode.eci.aliyuncs.com` "
        "(virtual nodes). Same once-per-account rule.",
    )
    users: list[EciUserSettings] = Field(default_factory=list, description="RAM users of ECI.")
    console_policy_name: str = Field(
        "ECIConsolePolicy",
        description="Custom policy for console users (ram:ListRoles, nas:DescribeFileSystems, "
        "oss:ListBuckets, vpc:DescribeCommonBandwidthPackages, 4 cr: read actions); attached to "
        "every user and administrator with `console`.",
    )
    tag_policy_name: str = Field("ECITagPolicy", description="Name of the tag-based custom policy.")
    tag_key: str = Field("env", description="Tag key of the tag-based policy.")
    tag_value: str | None = Field(
        None, description="Tag value of the tag-based policy; default `environment`."
    )
    owner_tag_key: str = Field(
        "owner",
        description="Strict stacks: each tag-scoped user gets its own tag policy that also requires "
        "`<ownerTagKey>=<its RAM user name>`, set when it creates a container group, so it creates, "
        "describes, deletes and execs into (`eci:ExecContainerCommand`) only the groups it created, "
        "never another's of the same environment. Other stacks keep the guide's one shared policy.",
    )
    resource_groups: list[EciResourceGroupSettings] = Field(
        default_factory=list,
        description="Resource groups (e.g. production and test), each with its administrator.",
    )
    instance_role: InstanceRoleSettings | None = Field(
        None,
        description="Instance role for container groups, e.g. `{name: ECIRamRoleTest, policyName: "
        "ECIRamRoleTestPolicy}` (`oss:Get*`, `oss:List*` on `ossBuckets`); omit for none.",
    )
    oss_buckets: list[str] = Field(
        default_factory=list,
        description="OSS buckets `instanceRole` reads (`oss:Get*`, `oss:List*` on each bucket and its "
        'objects). Empty or `["*"]` is the guide\'s every bucket, refused in strict stacks.',
    )
    pass_role_policy_name: str = Field(
        "ECIRamRoleTestPassRolePolicy",
        description="Custom policy with `ram:PassRole` on `instanceRole` for users with `passInstanceRole`.",
    )

    _check_buckets = field_validator("oss_buckets")(check_oss_buckets)

    @model_validator(mode="after")
    def _irrelevant(self) -> EciAccessSettings:
        if self.instance_role is None:
            self.refuse_irrelevant(["oss_buckets"], "without instanceRole", "remove it, or set instanceRole")
        if not any(u.access == "tag-scoped" for u in self.users):
            self.refuse_irrelevant(
                ["tag_key", "tag_value", "tag_policy_name"],
                "without a user of access: tag-scoped",
                "remove it, or give a user access: tag-scoped",
            )
        if not any(u.pass_instance_role for u in self.users):
            self.refuse_irrelevant(
                ["pass_role_policy_name"],
                "without a user with passInstanceRole",
                "remove it, or set passInstanceRole on the user that launches container groups",
            )
        console = any(u.console for u in self.users) or any(
            g.administrator is not None and g.administrator.console for g in self.resource_groups
        )
        if not console:
            self.refuse_irrelevant(
                ["console_policy_name"],
                "without a console user",
                "remove it, or give a user console access",
            )
        return self

    @model_validator(mode="after")
    def _pass_role(self) -> EciAccessSettings:
        for user in self.users:
            if user.pass_instance_role and self.instance_role is None:
                raise fix(
                    f"user {user.name!r} has passInstanceRole but no instanceRole is configured",
                    "set instanceRole, or remove passInstanceRole",
                )
            if user.pass_instance_role and user.access == "read-only":
                raise fix(
                    f"user {user.name!r} is read-only and cannot create container groups to pass a role to",
                    "give it access: full or tag-scoped, or remove passInstanceRole",
                )
        return self


def build(settings: EciAccessSettings, ctx: AlicloudContext) -> ScenarioSpec:
    users: list[UserSpec] = []
    policies: list[PolicySpec] = []
    grants: list[Grant] = []
    console_users: list[tuple[str, str]] = []

    slrs = [
        ServiceLinkedRoleSpec(
            ECI_SERVICE,
            limits.SERVICE_LINKED_ROLES[ECI_SERVICE],
            settings.service_linked_role == "create",
            f"{KEY}.serviceLinkedRole",
        )
    ]
    slrs += [
        ServiceLinkedRoleSpec(s, limits.SERVICE_LINKED_ROLES[s], True, f"{KEY}.extraServiceLinkedRoles")
        for s in settings.extra_service_linked_roles
    ]

    account_wide_full: dict[str, str] = {}
    for index, user in enumerate(settings.users):
        source = f"{KEY}.users.{index}"
        spec = user_spec(user.name, user, ctx, source)
        users.append(spec)
        if user.access == "tag-scoped":
            policy_key = f"tag-policy-{user.name}" if ctx.strict_scoping else "tag-policy"
            grants.append(Grant("user", user.name, "Custom", policy_key, f"{source}.access"))
        else:
            grants.append(Grant("user", user.name, "System", ACCESS_POLICY[user.access], f"{source}.access"))
        if user.access == "full":
            account_wide_full[spec.name] = source
        if user.console is not None:
            console_users.append((user.name, source))
        if user.pass_instance_role:
            grants.append(
                Grant("user", user.name, "Custom", "pass-role-policy", f"{source}.passInstanceRole")
            )

    groups, group_grants = [], []
    for index, group in enumerate(settings.resource_groups):
        source = f"{KEY}.resourceGroups.{index}"
        key = f"rg-{group.name}"
        groups.append(
            ResourceGroupSpec(
                key=key,
                name=ctx.naming.name(group.name),
                display_name=group.display_name or ctx.naming.name(group.name),
                source=f"{source}.name",
            )
        )
        if group.administrator is not None:
            admin = user_spec(group.administrator.name, group.administrator, ctx, f"{source}.administrator")
            users.append(admin)
            if group.administrator.console is not None:
                console_users.append((admin.key, f"{source}.administrator"))
            principal, user_key, principal_source = (
                f"{admin.name}@{ctx.account_id}.onaliyun.com",
                admin.key,
                f"{source}.administrator.name",
            )
        else:
            principal, user_key, principal_source = (
                str(group.administrator_principal),
                None,
                f"{source}.administratorPrincipal",
            )
            if (problem := limits.ram_user_principal_problem(principal, ctx.account_id)) is not None:
                raise ConfigError(
                    key=principal_source,
                    value=principal,
                    problem=f"a resource group principal {problem}",
                    fix="name a RAM user of this stack's account",
                )
        other = account_wide_full.get(principal.split("@", 1)[0])
        if other is not None and "AliyunECIFullAccess" in group.policies:
            raise ConfigError(
                key=principal_source,
                value=principal,
                problem=f"this administrator already has AliyunECIFullAccess account-wide ({other}), "
                "so the resource group would not limit it",
                fix="give the administrator access: read-only or tag-scoped in users, or another user",
            )
        group_grants += [
            ResourceGroupGrantSpec(key, principal, policy, principal_source, user_key)
            for policy in group.policies
        ]

    if console_users:
        policies.append(
            PolicySpec(
                key="console-policy",
                name=ctx.naming.name(settings.console_policy_name),
                source=f"{KEY}.consolePolicyName",
                document=eci_console_policy(),
                description="What the ECI console needs besides AliyunECIFullAccess (seed 002).",
            )
        )
        grants += [Grant("user", key, "Custom", "console-policy", source) for key, source in console_users]
    tag_value = settings.tag_value or ctx.environment
    if ctx.strict_scoping:
        # One policy per tag-scoped user, keyed on its own name as well (see ownerTagKey).
        for user in settings.users:
            if user.access != "tag-scoped":
                continue
            owner = ctx.naming.name(user.name)
            policies.append(
                PolicySpec(
                    key=f"tag-policy-{user.name}",
                    name=ctx.naming.name(f"{settings.tag_policy_name}-{user.name}"),
                    source=f"{KEY}.tagPolicyName",
                    document=eci_tag_policy(settings.tag_key, tag_value, (settings.owner_tag_key, owner)),
                    description=f"ECI only on groups tagged {settings.tag_key}={tag_value} and "
                    f"{settings.owner_tag_key}={owner}: the ones {owner} created (seed 002).",
                )
            )
    elif any(u.access == "tag-scoped" for u in settings.users):
        policies.append(
            PolicySpec(
                key="tag-policy",
                name=ctx.naming.name(settings.tag_policy_name),
                source=f"{KEY}.tagPolicyName",
                document=eci_tag_policy(settings.tag_key, tag_value),
                description=f"ECI only on resources tagged {settings.tag_key}={tag_value} (seed 002).",
            )
        )

    roles = []
    if settings.instance_role is not None:
        role = instance_role_spec("eci-role", settings.instance_role, ctx, f"{KEY}.instanceRole")
        roles.append(role)
        policies.append(
            PolicySpec(
                key="eci-role-policy",
                name=ctx.naming.name(settings.instance_role.policy_name),
                source=f"{KEY}.instanceRole.policyName",
                document=oss_read_policy(oss_resources(settings.oss_buckets, ctx, f"{KEY}.ossBuckets")),
                description="Instance role of elastic container instances: OSS read (seed 002).",
            )
        )
        grants.append(
            Grant("role", "eci-role", "Custom", "eci-role-policy", f"{KEY}.instanceRole.policyName")
        )
        if any(u.pass_instance_role for u in settings.users):
            policies.append(
                PolicySpec(
                    key="pass-role-policy",
                    name=ctx.naming.name(settings.pass_role_policy_name),
                    source=f"{KEY}.passRolePolicyName",
                    document=pass_role_policy([role_arn(ctx.account_id, role.name)]),
                    description=f"Pass {role.name} to container groups (seed 002).",
                )
            )

    return ScenarioSpec(
        scenario=KEY,
        users=tuple(users),
        roles=tuple(roles),
        policies=tuple(policies),
        grants=tuple(grants),
        service_linked_roles=tuple(slrs),
        resource_groups=tuple(groups),
        resource_group_grants=tuple(group_grants),
    )
