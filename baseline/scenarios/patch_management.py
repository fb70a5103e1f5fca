"""S1 ``patchManagement`` (seed 000): scan and install OS patches through OOS."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from baseline.documents.alicloud import (
    PatchScope,
    patch_management_policy,
    patch_operator_policy,
    role_arn,
)
from baseline.environments import is_strict
from baseline.errors import ConfigError
from baseline.scenarios import AlicloudContext
from baseline.scenarios.common import (
    FLEET_TAGS,
    check_instance_tags,
    check_listed_instances,
    role_spec,
    user_spec,
)
from baseline.settings import (
    Model,
    RamRoleSettings,
    RamUserSettings,
    ResourceScope,
    check_instance_ids,
    fix,
)
from baseline.spec import Grant, PolicySpec, ScenarioSpec

KEY = "patchManagement"
PatchSystemPolicy = Literal["AliyunOOSFullAccess", "AliyunECSFullAccess"]


class PatchManagementSettings(Model):
    """S1: OOS patch scanning/installing. With an automation role, the role holds the guide's
    policy and runs the executions; the operator user only starts and follows them, passing the
    role (`OOSAssumeRole`). Without a role (dev/test only) the operator holds the guide's policy."""

    enabled: bool = Field(False, description="Create this scenario's resources.")
    policy_name: str = Field(
        "OOSPatchManagementPolicy", description="Name of the custom policy (naming rule applied)."
    )
    whether_create_snapshot: bool = Field(
        False,
        description="Mirror of the OOS template parameter: when on, the policy also allows "
        "ecs:CreateSnapshot and ecs:DescribeSnapshots (never ecs:DeleteSnapshot).",
    )
    resource_scope: ResourceScope | None = Field(
        None,
        description="`wildcard` (`*`, the guide's development form) or `arn` (region/account "
        "ARNs). Default: `arn` when `alicloud.strictScoping` is on, else `wildcard`.",
    )
    instance_ids: list[str] = Field(
        default_factory=list,
        description="With `arn` scope, narrow the ECS statement to these instances instead of "
        "`instance/*`; required in strict stacks (a patch run on an instance is a command as root "
        "there, and `instance/*` reaches another environment's instances where accounts are shared).",
    )
    instance_tags: dict[str, str] = Field(
        default_factory=dict,
        description="With `arn` scope, patch only instances carrying every one of these tags (tag key -> "
        "value; `StringEquals acs:ResourceTag/<key>` on `instance/*`) instead of listing ids; start the "
        "execution with the template's tag targets (`targets: {Type: Tags, Tags: [...]}`). Strict stacks "
        "take this or `instanceIds` (not both, not neither); every principal of the stack is then "
        "denied tagging instances (docs/scenarios.md).",
    )
    operator_user: RamUserSettings | None = Field(
        None, description="A RAM user for a human operator; omit for none."
    )
    automation_role: RamRoleSettings | None = Field(
        None,
        description="A RAM role OOS runs patch executions under (trusted by `oos.aliyuncs.com`), "
        "holding the guide's policy (`policyName`); start executions with `OOSAssumeRole` set to "
        "its name. Required with an operator user in staging and prod.",
    )
    operator_policy_name: str = Field(
        "OOSPatchOperatorPolicy",
        description="With both `operatorUser` and `automationRole`: the operator's policy (the guide's "
        "OOS actions, each on its own resource types, and `ram:PassRole` on the automation role, which "
        "bounds what any execution the operator starts can reach).",
    )
    system_policies: list[PatchSystemPolicy] = Field(
        default_factory=list,
        description="Broad system policies to attach as well, only where a stack asks: "
        "`AliyunOOSFullAccess`, `AliyunECSFullAccess`; to the automation role when there is one "
        "(never to the operator then: either would let the person start any template or command).",
    )

    _check_instances = field_validator("instance_ids")(check_instance_ids)
    _check_tags = field_validator("instance_tags")(check_instance_tags)

    @model_validator(mode="after")
    def _principal(self) -> PatchManagementSettings:
        if self.enabled and not (self.operator_user or self.automation_role):
            raise fix(
                "patch management needs a principal to attach its policy to",
                "set operatorUser, automationRole or both",
            )
        if not (self.operator_user and self.automation_role):
            self.refuse_irrelevant(
                ["operator_policy_name"],
                "without both operatorUser and automationRole",
                "remove it; the operator then holds policyName",
            )
        return self


def build(settings: PatchManagementSettings, ctx: AlicloudContext) -> ScenarioSpec:
    scope_kind = ctx.scope(settings.resource_scope)
    if scope_kind == "wildcard" and ctx.strict_scoping:
        raise ConfigError(
            key=f"{KEY}.resourceScope",
            value="wildcard",
            problem="this stack is strict (alicloud.strictScoping) and the guide scopes "
            "production policies to ARNs, so '*' resources are refused",
            fix="remove resourceScope (defaults to arn) or set it to 'arn'",
        )
    for name, value in (("instanceIds", settings.instance_ids), ("instanceTags", settings.instance_tags)):
        if value and scope_kind == "wildcard":
            raise ConfigError(
                key=f"{KEY}.{name}",
                value=value,
                problem=f"instance {name[8:].lower()} only narrow an ARN-scoped policy",
                fix=f"set resourceScope: arn, or remove {name}",
            )
    scope = (
        PatchScope.arns(ctx.region, ctx.account_id, settings.instance_ids, settings.instance_tags)
        if scope_kind == "arn"
        else PatchScope.wildcard()
    )
    if settings.operator_user and not settings.automation_role and is_strict(ctx.environment):
        raise ConfigError(
            key=f"{KEY}.automationRole",
            problem=f"{ctx.environment} lets no person hold ecs:InvokeCommand (a command naming no OS "
            "user runs as root); the operator starts executions that OOS runs under a role instead",
            fix="add automationRole (trustedServices: [oos.aliyuncs.com]); the operator then only "
            "starts the patch template with OOSAssumeRole set to it",
        )
    if scope_kind == "arn":
        check_listed_instances(settings.instance_ids, ctx, KEY, settings.instance_tags)
    policy = PolicySpec(
        key="policy",
        name=ctx.naming.name(settings.policy_name),
        source=f"{KEY}.policyName",
        document=patch_management_policy(scope, create_snapshot=settings.whether_create_snapshot),
        description="OOS patch scanning and installing on ECS (seed 000), managed by Pulumi.",
    )
    users, roles, grants, policies = [], [], [], [policy]
    # Who holds the guide's policy (and any system policies): the role that runs executions, or,
    # without one, the operator.
    runner: tuple[str, str, str]
    if settings.automation_role:
        role = role_spec("automation", settings.automation_role, ctx, f"{KEY}.automationRole")
        roles.append(role)
        runner = ("role", "automation", f"{KEY}.automationRole")
    if settings.operator_user:
        users.append(user_spec("operator", settings.operator_user, ctx, f"{KEY}.operatorUser"))
        if settings.automation_role:
            policies.append(
                PolicySpec(
                    key="operator-policy",
                    name=ctx.naming.name(settings.operator_policy_name),
                    source=f"{KEY}.operatorPolicyName",
                    document=patch_operator_policy(scope, [role_arn(ctx.account_id, role.name)]),
                    description=f"Start patch executions that OOS runs as {role.name} (seed 000).",
                )
            )
            grants.append(Grant("user", "operator", "Custom", "operator-policy", f"{KEY}.operatorPolicyName"))
        else:
            runner = ("user", "operator", f"{KEY}.operatorUser")
    kind, key, source = runner
    grants.append(Grant(kind, key, "Custom", "policy", source))
    for system_policy in settings.system_policies:
        grants.append(Grant(kind, key, "System", system_policy, f"{KEY}.systemPolicies"))
    return ScenarioSpec(
        scenario=KEY,
        users=tuple(users),
        roles=tuple(roles),
        policies=tuple(policies),
        grants=tuple(grants),
        extras={FLEET_TAGS: dict(settings.instance_tags)} if settings.instance_tags else {},
    )
