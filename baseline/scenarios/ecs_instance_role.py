"""S4 ``ecsInstanceRole`` (seed 003): an instance RAM role attached to listed ECS instances.

The settings for an instance role and for a list of instances live here because S3 (the
Windows secret reader) and S5 (the ECI role) use them too.
"""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from baseline.documents.alicloud import (
    INSTANCE_ROLE_SERVICE,
    arn,
    instance_role_operator_policy,
    oss_read_policy,
    role_arn,
    service_trust_policy,
)
from baseline.errors import ConfigError
from baseline.scenarios import AlicloudContext
from baseline.scenarios.common import oss_resources, user_spec
from baseline.settings import (
    Model,
    RamUserSettings,
    ResourceScope,
    check_alicloud_region,
    check_instance_id,
    check_oss_buckets,
    check_role_name,
    check_session_duration,
)
from baseline.spec import Grant, InstanceRoleSpec, PolicySpec, RoleSpec, ScenarioSpec

KEY = "ecsInstanceRole"


class InstanceSettings(Model):
    """One ECS instance (VPC-connected: instance RAM roles work only there)."""

    id: str = Field(description="ECS instance id, e.g. `i-bp1abcdefgh123456789`.")
    region: str | None = Field(None, description="Region of the instance; default `alicloud.region`.")

    _id = field_validator("id")(check_instance_id)

    _region = field_validator("region")(check_alicloud_region)


class InstanceRoleSettings(Model):
    """A RAM role that ECS instances assume; it is always trusted by `ecs.aliyuncs.com`."""

    name: str = Field(description="Role name before the naming rule is applied.")
    policy_name: str = Field(description="Name of the role's custom policy (naming rule applied).")
    description: str = Field("", description="Role description shown in the RAM console.")
    max_session_duration: int = Field(3600, description="Longest STS session in seconds (3600-43200).")

    _name = field_validator("name")(check_role_name)
    _duration = field_validator("max_session_duration")(check_session_duration)


def instance_role_spec(
    key: str, settings: InstanceRoleSettings, ctx: AlicloudContext, source: str
) -> RoleSpec:
    return RoleSpec(
        key=key,
        name=ctx.naming.name(settings.name),
        source=f"{source}.name",
        trust=service_trust_policy([INSTANCE_ROLE_SERVICE]),
        description=settings.description,
        max_session_duration=settings.max_session_duration,
    )


def attachments(
    role: str, instances: list[InstanceSettings], ctx: AlicloudContext, source: str
) -> tuple[InstanceRoleSpec, ...]:
    """One InstanceRoleSpec per region: AttachInstanceRamRole works region by region."""
    by_region: dict[str, list[str]] = {}
    for instance in instances:
        by_region.setdefault(instance.region or ctx.region, []).append(instance.id)
    return tuple(InstanceRoleSpec(role, tuple(ids), region, source) for region, ids in by_region.items())


def _default_role() -> InstanceRoleSettings:
    return InstanceRoleSettings(
        name="EcsRamRoleDocumentTesting",
        policyName="EcsRamRoleDocumentTestingPolicy",
        description="Instance RAM role: applications on the instance read OSS (seed 003).",
    )


class EcsInstanceRoleSettings(Model):
    """S4: instance RAM role `EcsRamRoleDocumentTesting` (OSS read) attached to listed instances."""

    enabled: bool = Field(False, description="Create this scenario's resources.")
    role: InstanceRoleSettings = Field(
        default_factory=_default_role,
        description="The instance role (default `EcsRamRoleDocumentTesting` with policy "
        "`EcsRamRoleDocumentTestingPolicy`: `oss:Get*`, `oss:List*` on `ossBuckets`).",
    )
    instances: list[InstanceSettings] = Field(
        default_factory=list,
        description="Instances the role is attached to. Removing one from the list detaches the "
        "role from it. An instance takes one RAM role: an instance listed by two scenarios is refused.",
    )
    oss_buckets: list[str] = Field(
        default_factory=list,
        description="OSS buckets the role reads (`oss:Get*`, `oss:List*` on each bucket and its "
        'objects). Empty or `["*"]` is the guide\'s every bucket, refused in strict stacks.',
    )
    operator_user: RamUserSettings | None = Field(
        None,
        description="A RAM user allowed to attach/detach this role (seed 003 step 6): the ECS "
        "instance-role actions plus `ram:PassRole` on this role only. Omit for none.",
    )
    operator_policy_name: str = Field(
        "EcsRamRoleDocumentTestingOperatorPolicy", description="Name of the operator user's custom policy."
    )
    allow_create_instance: bool = Field(
        False, description="Also allow the operator `ecs:CreateInstance` (launching instances with the role)."
    )
    resource_scope: ResourceScope | None = Field(
        None,
        description="Operator policy scope: `wildcard` (`*` as in the guide) or `arn` (the listed "
        "instances, this account). Default: `arn` when `alicloud.strictScoping` is on.",
    )

    _check_buckets = field_validator("oss_buckets")(check_oss_buckets)

    @model_validator(mode="after")
    def _operator_settings(self) -> EcsInstanceRoleSettings:
        if self.operator_user is None:
            self.refuse_irrelevant(
                ["operator_policy_name", "allow_create_instance", "resource_scope"],
                "without operatorUser (they shape the operator's policy)",
                "remove it, or set operatorUser",
            )
        return self


def build(settings: EcsInstanceRoleSettings, ctx: AlicloudContext) -> ScenarioSpec:
    role = instance_role_spec("instance-role", settings.role, ctx, f"{KEY}.role")
    policies = [
        PolicySpec(
            key="instance-policy",
            name=ctx.naming.name(settings.role.policy_name),
            source=f"{KEY}.role.policyName",
            document=oss_read_policy(oss_resources(settings.oss_buckets, ctx, f"{KEY}.ossBuckets")),
            description="Instance RAM role: OSS read (seed 003).",
        )
    ]
    grants = [Grant("role", "instance-role", "Custom", "instance-policy", f"{KEY}.role.policyName")]
    users = []
    if settings.operator_user is not None:
        users.append(user_spec("operator", settings.operator_user, ctx, f"{KEY}.operatorUser"))
        policies.append(
            PolicySpec(
                key="operator-policy",
                name=ctx.naming.name(settings.operator_policy_name),
                source=f"{KEY}.operatorPolicyName",
                document=_operator_policy(settings, ctx, role.name),
                description=f"Attach/detach the instance role {role.name} (seed 003).",
            )
        )
        grants.append(Grant("user", "operator", "Custom", "operator-policy", f"{KEY}.operatorPolicyName"))
    return ScenarioSpec(
        scenario=KEY,
        users=tuple(users),
        roles=(role,),
        policies=tuple(policies),
        grants=tuple(grants),
        instance_roles=attachments("instance-role", settings.instances, ctx, f"{KEY}.instances"),
    )


def _operator_policy(settings: EcsInstanceRoleSettings, ctx: AlicloudContext, role_name: str) -> dict:
    scope = ctx.scope(settings.resource_scope)
    if scope == "wildcard":
        if ctx.strict_scoping:
            raise ConfigError(
                key=f"{KEY}.resourceScope",
                value="wildcard",
                problem="this stack is strict (alicloud.strictScoping); '*' resources are refused",
                fix="remove resourceScope (defaults to arn) or set it to 'arn'",
            )
        return instance_role_operator_policy(
            instance_resources=["*"],
            role_arns=[role_arn(ctx.account_id, role_name)],
            create_instance_resources=["*"] if settings.allow_create_instance else [],
        )
    regions = sorted({i.region or ctx.region for i in settings.instances} or {ctx.region})
    instances = [
        arn("ecs", i.region or ctx.region, ctx.account_id, f"instance/{i.id}") for i in settings.instances
    ] or [arn("ecs", ctx.region, ctx.account_id, "instance/*")]
    return instance_role_operator_policy(
        instance_resources=instances,
        role_arns=[role_arn(ctx.account_id, role_name)],
        create_instance_resources=[arn("ecs", r, ctx.account_id, "*") for r in regions]
        if settings.allow_create_instance
        else [],
        listing=[arn("ecs", r, ctx.account_id, "instance/*") for r in regions],
    )
