"""S1 ``patchManagement`` (seed 000): scan and install OS patches through OOS."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from baseline.documents.alicloud import PatchScope, patch_management_policy
from baseline.errors import ConfigError
from baseline.scenarios import AlicloudContext
from baseline.scenarios.common import role_spec, user_spec
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
    """S1: one custom policy for OOS patch scanning/installing, attached to an operator user
    and/or an automation role."""

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
        description="With `arn` scope, narrow the ECS statement to these instances instead of `instance/*`.",
    )
    operator_user: RamUserSettings | None = Field(
        None, description="A RAM user for a human operator; omit for none."
    )
    automation_role: RamRoleSettings | None = Field(
        None, description="A RAM role for automation (trusted by `oos.aliyuncs.com`); omit for none."
    )
    system_policies: list[PatchSystemPolicy] = Field(
        default_factory=list,
        description="Broad system policies to attach as well, only where a stack asks: "
        "`AliyunOOSFullAccess`, `AliyunECSFullAccess`.",
    )

    _check_instances = field_validator("instance_ids")(check_instance_ids)

    @model_validator(mode="after")
    def _principal(self) -> PatchManagementSettings:
        if self.enabled and not (self.operator_user or self.automation_role):
            raise fix(
                "patch management needs a principal to attach its policy to",
                "set operatorUser, automationRole or both",
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
    if settings.instance_ids and scope_kind == "wildcard":
        raise ConfigError(
            key=f"{KEY}.instanceIds",
            value=settings.instance_ids,
            problem="instance ids only narrow an ARN-scoped policy",
            fix="set resourceScope: arn, or remove instanceIds",
        )
    scope = (
        PatchScope.arns(ctx.region, ctx.account_id, settings.instance_ids)
        if scope_kind == "arn"
        else PatchScope.wildcard()
    )
    policy = PolicySpec(
        key="policy",
        name=ctx.naming.name(settings.policy_name),
        source=f"{KEY}.policyName",
        document=patch_management_policy(scope, create_snapshot=settings.whether_create_snapshot),
        description="OOS patch scanning and installing on ECS (seed 000), managed by Pulumi.",
    )
    users, roles, grants = [], [], []
    principals: list[tuple[str, str, str]] = []
    if settings.operator_user:
        users.append(user_spec("operator", settings.operator_user, ctx, f"{KEY}.operatorUser"))
        principals.append(("user", "operator", f"{KEY}.operatorUser"))
    if settings.automation_role:
        roles.append(role_spec("automation", settings.automation_role, ctx, f"{KEY}.automationRole"))
        principals.append(("role", "automation", f"{KEY}.automationRole"))
    for kind, key, source in principals:
        grants.append(Grant(kind, key, "Custom", "policy", source))
        for system_policy in settings.system_policies:
            grants.append(Grant(kind, key, "System", system_policy, f"{KEY}.systemPolicies"))
    return ScenarioSpec(
        scenario=KEY,
        users=tuple(users),
        roles=tuple(roles),
        policies=(policy,),
        grants=tuple(grants),
    )
