"""S6 ``ecsMcpServer`` (seed 004): IAM roles for the Amazon ECS MCP server, one per use case.

Each use case of the guide becomes one role with its own customer-managed policy, all behind one
permissions boundary. The MCP server's own ``ALLOW_WRITE`` switch has a twin here, ``allowWrite``:
the use cases that write (deployment and management, express mode, the service-specific
management statement) are refused at configuration time unless it is on, so a read-only stack
cannot hand the MCP server a role that writes.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator

from baseline import limits
from baseline.documents import aws as documents
from baseline.environments import is_production, is_strict
from baseline.errors import ConfigError
from baseline.scenarios import AwsContext
from baseline.settings import Model, fix
from baseline.spec import AwsScenarioSpec, IamPolicySpec, IamRoleSpec

KEY = "ecsMcpServer"
SCENARIO_TAG = "ecsMcpServer"

_IAM_NAME = r"[\w+=,.@-]"
ROLE_ARN = re.compile(rf"^arn:aws:iam::[0-9]{{12}}:role/([\x21-\x7e]*/)?{_IAM_NAME}{{1,64}}$")
PRINCIPAL_ARN = re.compile(rf"^arn:aws:iam::[0-9]{{12}}:(role|user)/([\x21-\x7e]*/)?{_IAM_NAME}{{1,64}}$")
EXTERNAL_ID = re.compile(r"^[\w+=,.@:/-]{2,1224}$")
ECS_NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
# Names a write use case may act on; `*` and `?` match like IAM's ARN wildcards.
ECS_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_*?-]{1,255}$")
ECR_NAME_PATTERN = re.compile(r"^(?:\*|(?=.{2,256}$)[a-z0-9*?]+(?:[._/-][a-z0-9*?]+)*)$")
# Elastic Load Balancing: load balancer and target group names are 1-32 letters, digits and
# hyphens, not starting or ending with a hyphen (CreateLoadBalancer / CreateTargetGroup Name).
ELB_NAME_PATTERN = re.compile(r"^[A-Za-z0-9*?](?:[A-Za-z0-9*?-]{0,30}[A-Za-z0-9*?])?$")
# CloudWatch Logs: a log group name is 1-512 of letters, digits and _-./# (CreateLogGroup).
LOG_GROUP_PATTERN = re.compile(r"^[A-Za-z0-9_./#*?-]{1,512}$")
STACK_NAME_PATTERN = re.compile(r"^(?=.{1,128}$)[A-Za-z*?][A-Za-z0-9*?-]*$")
ROLE_PREFIX = re.compile(rf"^{_IAM_NAME}{{1,32}}$")
# AWS-managed policies that hand out IAM or everything: never attachable by a role of this scenario.
ADMINISTRATOR_POLICIES = frozenset(
    {
        "arn:aws:iam::aws:policy/AdministratorAccess",
        "arn:aws:iam::aws:policy/IAMFullAccess",
        "arn:aws:iam::aws:policy/PowerUserAccess",
        "arn:aws:iam::aws:policy/AmazonECS_FullAccess",
    }
)
ACTION = re.compile(r"^[a-z0-9-]+:[A-Za-z0-9*?]+$")
SID = re.compile(r"^[A-Za-z0-9]{1,128}$")
# IAM condition operators; each may end in IfExists and take a ForAllValues:/ForAnyValue: prefix.
CONDITION_OPERATORS = frozenset(
    {
        "StringEquals",
        "StringNotEquals",
        "StringEqualsIgnoreCase",
        "StringNotEqualsIgnoreCase",
        "StringLike",
        "StringNotLike",
        "NumericEquals",
        "NumericNotEquals",
        "NumericLessThan",
        "NumericLessThanEquals",
        "NumericGreaterThan",
        "NumericGreaterThanEquals",
        "DateEquals",
        "DateNotEquals",
        "DateLessThan",
        "DateLessThanEquals",
        "DateGreaterThan",
        "DateGreaterThanEquals",
        "Bool",
        "BinaryEquals",
        "IpAddress",
        "NotIpAddress",
        "ArnEquals",
        "ArnLike",
        "ArnNotEquals",
        "ArnNotLike",
        "Null",
    }
)


def _operator_known(operator: str) -> bool:
    bare = operator.removeprefix("ForAllValues:").removeprefix("ForAnyValue:").removesuffix("IfExists")
    return bare in CONDITION_OPERATORS


def _check_iam_name(value: str, rule: limits.NameRule, example: str) -> str:
    if (problem := rule.check(value)) is not None:
        raise fix(f"an IAM name {problem}", f"choose a name like {example!r}")
    return value


def _check_actions(value: list[str]) -> list[str]:
    for action in value:
        if not ACTION.fullmatch(action):
            raise fix(
                f"{action!r} is not an IAM action", "write it as service:Action, e.g. 'ecr:DeleteRepository'"
            )
    return value


# --- Use cases --------------------------------------------------------------------------------
class UseCaseSettings(Model):
    """One use case of the guide: a role and its customer-managed policy."""

    enabled: bool = Field(False, description="Create this use case's role and policy.")
    role_name: str = Field(description="IAM role name before the naming rule is applied.")
    policy_name: str = Field(description="Customer-managed policy name before the naming rule is applied.")
    managed_policy_arns: list[str] = Field(
        default_factory=list,
        description="Existing managed policies to attach as well (at most 9: IAM allows 10 per "
        "role). The permissions boundary still caps them.",
    )

    @field_validator("role_name")
    @classmethod
    def _role_name(cls, value: str) -> str:
        return _check_iam_name(value, limits.IAM_ROLE, "EcsMcpReadOnlyMonitoringRole")

    @field_validator("policy_name")
    @classmethod
    def _policy_name(cls, value: str) -> str:
        return _check_iam_name(value, limits.IAM_POLICY, "EcsMcpReadOnlyMonitoringPolicy")

    @field_validator("managed_policy_arns")
    @classmethod
    def _managed(cls, value: list[str]) -> list[str]:
        for arn in value:
            if not limits.IAM_POLICY_ARN.fullmatch(arn):
                raise fix(
                    f"{arn!r} is not a managed policy ARN",
                    "use arn:aws:iam::aws:policy/<name> or arn:aws:iam::<account>:policy/<name>",
                )
        return value


class ReadOnlyMonitoringSettings(UseCaseSettings):
    """Read-only monitoring: ECS and ECR describe/list."""

    role_name: str = Field("EcsMcpReadOnlyMonitoringRole", description="IAM role name (naming rule applied).")
    policy_name: str = Field(
        "EcsMcpReadOnlyMonitoringPolicy", description="Managed policy name (naming rule applied)."
    )


class TroubleshootingSettings(UseCaseSettings):
    """Troubleshooting: ECS reads, CloudWatch Logs, CloudFormation events, network inspection."""

    role_name: str = Field("EcsMcpTroubleshootingRole", description="IAM role name (naming rule applied).")
    policy_name: str = Field(
        "EcsMcpTroubleshootingPolicy", description="Managed policy name (naming rule applied)."
    )


class DeploymentManagementSettings(UseCaseSettings):
    """Deployment and management: full ECS/ECR, stacks, roles, logs, load balancers. Writes."""

    role_name: str = Field(
        "EcsMcpDeploymentManagementRole", description="IAM role name (naming rule applied)."
    )
    policy_name: str = Field(
        "EcsMcpDeploymentManagementPolicy", description="Managed policy name (naming rule applied)."
    )


class ServiceSpecificSettings(UseCaseSettings):
    """Service-specific access: one cluster and one service, by ARN."""

    role_name: str = Field("EcsMcpServiceAccessRole", description="IAM role name (naming rule applied).")
    policy_name: str = Field(
        "EcsMcpServiceAccessPolicy", description="Managed policy name (naming rule applied)."
    )
    cluster: str | None = Field(
        None, description="ECS cluster name (CLUSTER_NAME in the guide); required when on."
    )
    service: str | None = Field(
        None, description="ECS service name (SERVICE_NAME in the guide); required when on."
    )
    management: bool = Field(
        False,
        description="Add the guide's SpecificServiceManagement statement (ecs:UpdateService, "
        "ecs:StopTask, ecs:StartTask on the service). Write access: needs `allowWrite: true`.",
    )

    @field_validator("cluster", "service")
    @classmethod
    def _ecs_name(cls, value: str | None) -> str | None:
        if value is not None and not ECS_NAME.fullmatch(value):
            raise fix(
                f"{value!r} is not an ECS cluster or service name",
                "use 1-255 letters, digits, '-' or '_'",
            )
        return value


class ExpressModeSettings(UseCaseSettings):
    """Express mode: Express Gateway Services, image push, stacks, service roles. Writes."""

    role_name: str = Field("EcsMcpExpressModeRole", description="IAM role name (naming rule applied).")
    policy_name: str = Field(
        "EcsMcpExpressModePolicy", description="Managed policy name (naming rule applied)."
    )


# --- Boundary ---------------------------------------------------------------------------------
class DenyStatementSettings(Model):
    """One Deny statement a stack adds to the permissions boundary."""

    sid: str = Field(description="Statement id: letters and digits only.")
    actions: list[str] = Field(description="Actions denied, e.g. `iam:CreateRole`.", min_length=1)
    resources: list[str] = Field(default_factory=lambda: ["*"], description="Resources the deny covers.")
    condition: dict[str, dict[str, str | list[str]]] | None = Field(
        None,
        description="IAM condition block, e.g. `{StringNotEquals: {iam:PermissionsBoundary: <arn>}}`; "
        "omit to deny unconditionally.",
    )

    @field_validator("sid")
    @classmethod
    def _sid(cls, value: str) -> str:
        if not SID.fullmatch(value):
            raise fix(
                f"{value!r} is not a statement id", "use letters and digits only, e.g. 'DenyRoleCreation'"
            )
        return value

    _check_actions = field_validator("actions")(_check_actions)

    @field_validator("resources")
    @classmethod
    def _resources(cls, value: list[str]) -> list[str]:
        for resource in value:
            if resource != "*" and not resource.startswith("arn:aws:"):
                raise fix(f"{resource!r} is not an ARN", "use '*' or an ARN (wildcards allowed)")
        return value

    @field_validator("condition")
    @classmethod
    def _condition(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        for operator in value or {}:
            if not _operator_known(operator):
                raise fix(
                    f"{operator!r} is not an IAM condition operator", "use e.g. StringEquals or ArnLike"
                )
        return value


class BoundarySettings(Model):
    """The permissions boundary on every role of the scenario."""

    policy_name: str = Field(
        "EcsMcpServerPermissionsBoundary", description="Boundary policy name (naming rule applied)."
    )
    production_tag_value: str = Field(
        documents.PRODUCTION_TAG_VALUE,
        description="Resources tagged `Environment` with this value (StringLike) cannot be deleted "
        "by any role. Default `prod`: the tag this project's prod stack puts on everything (the "
        "guide's `production` matches nothing here). A prod stack must keep its own environment.",
    )
    additional_protected_actions: list[str] = Field(
        default_factory=list,
        description="Actions denied on those resources beyond the guide's ecs:DeleteCluster, "
        "ecs:DeleteService and ecs:DeregisterTaskDefinition (which always stay).",
    )
    extra_deny_statements: list[DenyStatementSettings] = Field(
        default_factory=list, description="More Deny statements, e.g. prod hardening."
    )
    arn: str | None = Field(
        None,
        description="A boundary the `pipeline` stack creates in this account (the sandbox's: "
        "`baseline.ephemeral` sets it on every PR stack): the stack then creates none, its roles "
        "carry this one, and no deploy role can write it. Default: the stack creates its own.",
    )

    @field_validator("arn")
    @classmethod
    def _arn(cls, value: str | None) -> str | None:
        if value is not None and not limits.IAM_POLICY_ARN.fullmatch(value):
            raise fix(f"{value!r} is not an IAM policy ARN", "use arn:aws:iam::<account>:policy/<name>")
        return value

    @field_validator("policy_name")
    @classmethod
    def _policy_name(cls, value: str) -> str:
        return _check_iam_name(value, limits.IAM_POLICY, "EcsMcpServerPermissionsBoundary")

    _check_actions = field_validator("additional_protected_actions")(_check_actions)


# --- The scenario -----------------------------------------------------------------------------
def _names(value: list[str], pattern: re.Pattern[str], what: str, example: str) -> list[str]:
    for name in value:
        if not pattern.fullmatch(name):
            raise fix(f"{name!r} is not {what}", f"use e.g. {example!r} (`*` matches any characters)")
    return value


class EcsMcpServerSettings(Model):
    """S6: IAM roles for the Amazon ECS MCP server, one per use case, behind one boundary."""

    enabled: bool = Field(False, description="Create this scenario's resources.")
    allow_write: bool = Field(
        False,
        description="Allow the use cases that write (deploymentManagement, expressMode, "
        "serviceSpecific.management). Keep it equal to the MCP server's ALLOW_WRITE.",
    )
    trusted_principals: list[str] = Field(
        default_factory=list,
        description="Who may assume the roles: IAM role/user ARNs the MCP server runs as, or "
        "12-digit account ids (any identity those accounts allow). Required when on.",
    )
    external_id: str | None = Field(
        None, description="Require this `sts:ExternalId` on AssumeRole (2-1224 of letters, digits, +=,.@:/-)."
    )
    max_session_duration: int = Field(3600, description="Longest role session in seconds (3600-43200).")
    pass_roles: list[str] = Field(
        default_factory=lambda: ["ecsTaskExecutionRole"],
        description="Roles the write use cases may pass, to ecs-tasks.amazonaws.com only: names "
        "(placed in the stack's account) or role ARNs. Empty: no iam:PassRole at all.",
    )
    resource_scope: Literal["wildcard", "account"] | None = Field(
        None,
        description="Where reads (describe, list) may look: `wildcard` keeps the guide's `*`, "
        "`account` holds them to the stack's account and region ARNs. Default: `account` in "
        "prod (required there), `wildcard` elsewhere. Writes are always held to what is named below.",
    )
    clusters: list[str] = Field(
        default_factory=list,
        description="ECS cluster names the write use cases may create, change and delete "
        "(`*` wildcards allowed; a lone `*` only outside prod). Required by deploymentManagement.",
    )
    repositories: list[str] = Field(
        default_factory=list,
        description="ECR repository names the write use cases may create, push to and delete "
        "(`*` wildcards allowed; a lone `*` only outside prod). Required by deploymentManagement "
        "and expressMode.",
    )
    cloud_formation_stacks: list[str] = Field(
        default_factory=list,
        description="CloudFormation stack names the write use cases may create, update and delete, "
        "and whose security groups they may open (`*` wildcards allowed; a lone `*` only outside "
        "prod). Required by deploymentManagement and expressMode.",
    )
    create_roles: bool | None = Field(
        None,
        description="Whether the write use cases may create (and delete) IAM roles behind the "
        "boundary (`iam:CreateRole`, `AttachRolePolicy`, `DetachRolePolicy`, `DeleteRole` on "
        "`roleNamePrefix` roles). Default: off in prod, where it is refused (a role it creates "
        "with a trust of its choice is a standing way back in; pass the pre-created roles named "
        "in `passRoles` instead), on elsewhere.",
    )
    load_balancers: list[str] = Field(
        default_factory=list,
        description="Load balancer names the deployment use case may create, change and delete "
        "(with their listeners and rules; `*` wildcards allowed). Required in prod; elsewhere "
        "empty means every load balancer of the account and region.",
    )
    target_groups: list[str] = Field(
        default_factory=list,
        description="Target group names the deployment use case may create, change, register "
        "targets in and delete (`*` wildcards allowed). Required in prod; elsewhere empty means "
        "every target group of the account and region.",
    )
    log_groups: list[str] = Field(
        default_factory=list,
        description="CloudWatch Logs group names the deployment use case may create and write to "
        "(e.g. `/ecs/web-api`; `*` wildcards allowed). Required in prod; elsewhere empty means "
        "every log group of the account and region.",
    )
    task_definition_families: list[str] = Field(
        default_factory=list,
        description="ECS task definition families whose tasks the write use cases may run and "
        "start (`ecs:RunTask`, `ecs:StartTask`), whose revisions they register, and the only ones "
        "their services may be created or updated with (`ecs:task-definition`; `*` wildcards "
        "allowed). A started task runs as its definition's task role, and a container override "
        "runs any command there, so staging and prod require them when deploymentManagement or "
        "serviceSpecific.management is on (a lone `*` refused); elsewhere empty means every "
        "family of the account and region.",
    )
    role_name_prefix: str = Field(
        "ecs-mcp-",
        description="Roles the deployment use case creates (e.g. a stack's task execution role) "
        "must be named with this prefix (naming rule applied) and carry the boundary; name the "
        "CloudFormation stacks with it and their generated role names follow.",
    )
    attachable_policy_arns: list[str] = Field(
        default_factory=lambda: [documents.TASK_EXECUTION_POLICY_ARN],
        description="Managed policies the write use cases may attach to the roles they create "
        "(condition `iam:PolicyARN`). AdministratorAccess, IAMFullAccess, PowerUserAccess and "
        "AmazonECS_FullAccess are refused.",
    )
    read_only_monitoring: ReadOnlyMonitoringSettings = Field(
        default_factory=ReadOnlyMonitoringSettings, description="Read-only monitoring use case."
    )
    troubleshooting: TroubleshootingSettings = Field(
        default_factory=TroubleshootingSettings, description="Troubleshooting use case."
    )
    deployment_management: DeploymentManagementSettings = Field(
        default_factory=DeploymentManagementSettings,
        description="Deployment and management use case (needs `allowWrite: true`).",
    )
    service_specific: ServiceSpecificSettings = Field(
        default_factory=ServiceSpecificSettings, description="Service-specific access use case."
    )
    express_mode: ExpressModeSettings = Field(
        default_factory=ExpressModeSettings,
        description="Express mode use case (needs `allowWrite: true`).",
    )
    boundary: BoundarySettings = Field(
        default_factory=BoundarySettings, description="Permissions boundary on every role."
    )

    @field_validator("trusted_principals")
    @classmethod
    def _principals(cls, value: list[str]) -> list[str]:
        for principal in value:
            if not (limits.AWS_ACCOUNT_ID.fullmatch(principal) or PRINCIPAL_ARN.fullmatch(principal)):
                raise fix(
                    f"{principal!r} is neither a 12-digit account id nor an IAM role or user ARN",
                    'use e.g. arn:aws:iam::111122223333:role/ecs-mcp-server or "111122223333"',
                )
        return value

    @field_validator("external_id")
    @classmethod
    def _external_id(cls, value: str | None) -> str | None:
        if value is not None and not EXTERNAL_ID.fullmatch(value):
            raise fix(
                "an external id is 2-1224 characters of letters, digits and +=,.@:/-",
                "use e.g. 'ecs-mcp-server-dev'",
            )
        return value

    @field_validator("max_session_duration")
    @classmethod
    def _duration(cls, value: int) -> int:
        if not limits.IAM_ROLE_SESSION_MIN <= value <= limits.IAM_ROLE_SESSION_MAX:
            raise fix("the session duration must be 3600-43200 seconds", "use e.g. 3600")
        return value

    @field_validator("clusters")
    @classmethod
    def _clusters(cls, value: list[str]) -> list[str]:
        return _names(value, ECS_NAME_PATTERN, "an ECS cluster name", "prod-cluster")

    @field_validator("repositories")
    @classmethod
    def _repositories(cls, value: list[str]) -> list[str]:
        return _names(value, ECR_NAME_PATTERN, "an ECR repository name", "web-api")

    @field_validator("task_definition_families")
    @classmethod
    def _families(cls, value: list[str]) -> list[str]:
        return _names(value, ECS_NAME_PATTERN, "an ECS task definition family", "web-api")

    @field_validator("cloud_formation_stacks")
    @classmethod
    def _stacks(cls, value: list[str]) -> list[str]:
        return _names(value, STACK_NAME_PATTERN, "a CloudFormation stack name", "ecs-mcp-web-api")

    @field_validator("load_balancers", "target_groups")
    @classmethod
    def _elb_names(cls, value: list[str]) -> list[str]:
        return _names(value, ELB_NAME_PATTERN, "a load balancer or target group name", "web-api")

    @field_validator("log_groups")
    @classmethod
    def _log_groups(cls, value: list[str]) -> list[str]:
        return _names(value, LOG_GROUP_PATTERN, "a CloudWatch Logs group name", "/ecs/web-api")

    @field_validator("role_name_prefix")
    @classmethod
    def _role_prefix(cls, value: str) -> str:
        if not ROLE_PREFIX.fullmatch(value):
            raise fix(
                f"{value!r} is not an IAM role name prefix",
                "use 1-32 of letters, digits and +=,.@_-, e.g. 'ecs-mcp-'",
            )
        return value

    @field_validator("attachable_policy_arns")
    @classmethod
    def _attachable(cls, value: list[str]) -> list[str]:
        for arn in value:
            if not limits.IAM_POLICY_ARN.fullmatch(arn):
                raise fix(
                    f"{arn!r} is not a managed policy ARN",
                    "use e.g. arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy",
                )
            if arn in ADMINISTRATOR_POLICIES:
                raise fix(
                    f"{arn} would let a role the MCP server creates administer the account",
                    "list only what the task roles need, e.g. AmazonECSTaskExecutionRolePolicy",
                )
        return value

    @field_validator("pass_roles")
    @classmethod
    def _pass_roles(cls, value: list[str]) -> list[str]:
        for role in value:
            if not (limits.IAM_ROLE_NAME.fullmatch(role) or ROLE_ARN.fullmatch(role)):
                raise fix(
                    f"{role!r} is neither an IAM role name nor a role ARN",
                    "use e.g. ecsTaskExecutionRole or arn:aws:iam::111122223333:role/ecsTaskExecutionRole",
                )
        return value


# Config key of each use case -> (settings attribute, role/policy key, description).
USE_CASES = {
    "readOnlyMonitoring": ("read_only_monitoring", "read-only-monitoring", "read-only monitoring"),
    "troubleshooting": ("troubleshooting", "troubleshooting", "troubleshooting"),
    "deploymentManagement": ("deployment_management", "deployment-management", "deployment and management"),
    "serviceSpecific": ("service_specific", "service-specific", "service-specific access"),
    "expressMode": ("express_mode", "express-mode", "express mode"),
}
BOUNDARY_KEY = "boundary"


def _refuse_write(settings: EcsMcpServerSettings) -> None:
    """Write use cases exist only in stacks that say so, like the MCP server's ALLOW_WRITE."""
    if settings.allow_write:
        return
    writes = []
    if settings.deployment_management.enabled:
        writes.append(
            (
                "deploymentManagement.enabled",
                "the deployment and management role creates, updates and deletes ECS resources",
            )
        )
    if settings.express_mode.enabled:
        writes.append(
            (
                "expressMode.enabled",
                "the express mode role creates and deletes Express Gateway services and pushes images",
            )
        )
    if settings.service_specific.enabled and settings.service_specific.management:
        writes.append(
            (
                "serviceSpecific.management",
                "the service management statement updates the service and starts and stops its tasks",
            )
        )
    if writes:
        key, what = writes[0]
        raise ConfigError(
            key=f"{KEY}.{key}",
            value=True,
            problem=f"{what}, but {KEY}.allowWrite is false",
            fix=f"set {KEY}.allowWrite: true (and ALLOW_WRITE=true on the MCP server), or turn this off",
        )


def _production(ctx: AwsContext) -> bool:
    return is_production(ctx.environment)


def _creates_roles(settings: EcsMcpServerSettings, ctx: AwsContext) -> bool:
    """Prod creates no IAM role: the deployment role passes only the pre-created ``passRoles``."""
    if settings.create_roles and _production(ctx):
        raise ConfigError(
            key=f"{KEY}.createRoles",
            value=True,
            problem="in prod a role that creates roles (behind the boundary, but with a trust of its "
            "choice) keeps a standing way back into the account",
            fix=f"remove {KEY}.createRoles; create the task roles once and name them in {KEY}.passRoles",
        )
    if _production(ctx) and settings.create_roles is None and settings.express_mode.enabled:
        raise ConfigError(
            key=f"{KEY}.expressMode.enabled",
            value=True,
            problem="Express mode creates its infrastructure roles, and prod creates no IAM role",
            fix="turn expressMode off in prod (try it in dev first)",
        )
    return settings.create_roles if settings.create_roles is not None else not _production(ctx)


def _scope_reads(settings: EcsMcpServerSettings, ctx: AwsContext) -> bool:
    if _production(ctx) and settings.resource_scope == "wildcard":
        raise ConfigError(
            key=f"{KEY}.resourceScope",
            value="wildcard",
            problem="prod holds every read to its account and region; the guide's '*' is its trial form",
            fix=f"remove {KEY}.resourceScope (prod defaults to 'account') or set it to 'account'",
        )
    return (settings.resource_scope or ("account" if _production(ctx) else "wildcard")) == "account"


# Settings list -> (ARN placeholder, what the list names, the use cases that need it).
WRITE_SCOPES = {
    "clusters": ("ClusterName", "cluster", ("deploymentManagement",)),
    "repositories": ("RepositoryName", "repository", ("deploymentManagement", "expressMode")),
    "cloud_formation_stacks": ("StackName", "stack", ("deploymentManagement", "expressMode")),
    "load_balancers": ("LoadBalancerName", "load balancer", ("deploymentManagement",)),
    "target_groups": ("TargetGroupName", "target group", ("deploymentManagement",)),
    "log_groups": ("LogGroupName", "log group", ("deploymentManagement",)),
}
# Required in prod only; elsewhere an empty list keeps every one of the account and region.
PROD_ONLY_SCOPES = frozenset({"load_balancers", "target_groups", "log_groups"})


def _write_scope(settings: EcsMcpServerSettings, ctx: AwsContext, enabled: list[str]) -> documents.Scope:
    """The stack's account, region and the names its write use cases may act on."""
    names: dict[str, list[str]] = {}
    for attr, (placeholder, what, users) in WRITE_SCOPES.items():
        key = EcsMcpServerSettings.model_fields[attr].alias  # the config key, e.g. cloudFormationStacks
        values = getattr(settings, attr)
        needed_by = [u for u in users if u in enabled]
        if attr in PROD_ONLY_SCOPES and not _production(ctx):
            if values:
                names[placeholder] = values
            continue
        if needed_by and not values:
            raise ConfigError(
                key=f"{KEY}.{key}",
                problem=f"{needed_by[0]} writes, but no {what} is named for it to write to",
                fix=f"list the {what} names under {KEY}.{key} (e.g. the ones the MCP server deploys)",
            )
        if needed_by and _production(ctx) and "*" in values:
            raise ConfigError(
                key=f"{KEY}.{key}",
                value="*",
                problem=f"a lone '*' lets the prod roles change every {what} of the account",
                fix=f"name the {what}s, or a prefix such as 'web-*'",
            )
        names[placeholder] = values
    return documents.Scope(ctx.account_id, ctx.region).with_names(**names)


FAMILIES_KEY = "taskDefinitionFamilies"


def _task_families(settings: EcsMcpServerSettings, ctx: AwsContext, use_case: str) -> list[str]:
    """The task-definition families ``use_case`` may run and start tasks of: the named ones; in
    staging and prod they must be named (every family would be every task role of the account)."""
    families = settings.task_definition_families
    if is_strict(ctx.environment) and not families:
        raise ConfigError(
            key=f"{KEY}.{FAMILIES_KEY}",
            problem=f"{use_case} runs and starts tasks, and a task runs as its task definition's "
            f"task role: in {ctx.environment} without named families it could run any of the account's",
            fix=f"list the stack's task definition families under {KEY}.{FAMILIES_KEY} (e.g. web-api)",
        )
    if is_strict(ctx.environment) and "*" in families:
        raise ConfigError(
            key=f"{KEY}.{FAMILIES_KEY}",
            value="*",
            problem=f"a lone '*' lets the {ctx.environment} roles run tasks as every task role "
            "of the account",
            fix="name the families, or a prefix such as 'web-*'",
        )
    return list(families)


def _policy_document(
    use_case: str,
    settings: EcsMcpServerSettings,
    ctx: AwsContext,
    pass_role_arns: list[str],
    boundary_arn: str,
    enabled: list[str],
) -> dict[str, Any]:
    scope_reads = _scope_reads(settings, ctx)
    reads = documents.Scope(ctx.account_id, ctx.region) if scope_reads else None
    attachable = tuple(settings.attachable_policy_arns)
    if use_case == "readOnlyMonitoring":
        return documents.read_only_monitoring_policy(reads)
    if use_case == "troubleshooting":
        return documents.troubleshooting_policy(reads)
    if use_case == "deploymentManagement":
        prefix = ctx.naming.name(settings.role_name_prefix)
        owned = (documents.role_arn(ctx.account_id, f"{prefix}*"),)
        creates = _creates_roles(settings, ctx)
        roles = documents.RoleManagement(boundary_arn, owned, attachable) if creates else None
        scope = _write_scope(settings, ctx, enabled)
        if families := _task_families(settings, ctx, use_case):
            scope = scope.with_names(TaskDefinitionFamilyName=families)
        return documents.deployment_management_policy(scope, pass_role_arns, roles, scope_reads=scope_reads)
    if use_case == "serviceSpecific":
        service = settings.service_specific
        for field_key in ("cluster", "service"):
            if getattr(service, field_key) is None:
                raise ConfigError(
                    key=f"{KEY}.serviceSpecific.{field_key}",
                    problem=f"service-specific access is on but names no {field_key}",
                    fix=f"set {KEY}.serviceSpecific.{field_key} to the ECS {field_key} name",
                )
        assert service.cluster is not None and service.service is not None
        families = _task_families(settings, ctx, "serviceSpecific.management") if service.management else []
        return documents.service_specific_policy(
            ctx.region,
            ctx.account_id,
            service.cluster,
            service.service,
            management=service.management,
            task_families=families or ("*",),
        )
    if use_case == "expressMode":
        roles = documents.RoleManagement(
            boundary_arn,
            tuple(documents.role_arn(ctx.account_id, name) for name in documents.EXPRESS_IAM_ROLES),
            attachable,
        )
        return documents.express_mode_policy(
            _write_scope(settings, ctx, enabled), pass_role_arns, roles, scope_reads=scope_reads
        )
    raise ValueError(f"unknown use case {use_case!r}")


def build(settings: EcsMcpServerSettings, ctx: AwsContext) -> AwsScenarioSpec:
    enabled = [key for key, (attr, _, _) in USE_CASES.items() if getattr(settings, attr).enabled]
    if not enabled:
        raise ConfigError(
            key=KEY,
            problem="the ECS MCP server scenario is on but no use case is",
            fix=f"set enabled: true on at least one of {', '.join(USE_CASES)}",
        )
    if not settings.trusted_principals:
        raise ConfigError(
            key=f"{KEY}.trustedPrincipals",
            problem="nobody could assume the roles",
            fix="list the IAM role or user ARN the MCP server runs as (or its account id)",
        )
    _refuse_write(settings)
    boundary = settings.boundary
    if _production(ctx) and boundary.production_tag_value != ctx.environment:
        raise ConfigError(
            key=f"{KEY}.boundary.productionTagValue",
            value=boundary.production_tag_value,
            problem=f"this stack tags its resources Environment: {ctx.environment}, so the "
            "production guard would protect nothing it deploys",
            fix=f"remove {KEY}.boundary.productionTagValue or set it to {ctx.environment!r}",
        )
    builtin_sids = set(documents.BUILTIN_BOUNDARY_SIDS)
    for index, statement in enumerate(boundary.extra_deny_statements):
        if statement.sid in builtin_sids:
            raise ConfigError(
                key=f"{KEY}.boundary.extraDenyStatements.{index}.sid",
                value=statement.sid,
                problem="statement ids must be unique in a policy and the boundary already uses this one",
                fix="choose another sid, e.g. 'Deny' followed by what it denies",
            )
        builtin_sids.add(statement.sid)
    boundary_name = ctx.naming.name(boundary.policy_name)
    boundary_arn = documents.policy_arn(ctx.account_id, boundary_name)
    if boundary.arn is not None:
        if boundary.arn.split(":")[4] != ctx.account_id:
            raise ConfigError(
                key=f"{KEY}.boundary.arn",
                value=boundary.arn,
                problem="a permissions boundary must be a policy of the roles' own account",
                fix=f"name the boundary the pipeline stack creates in account {ctx.account_id}",
            )
        boundary_arn, boundary_name = boundary.arn, boundary.arn.rsplit("/", 1)[1]
    pass_role_arns = [documents.role_arn(ctx.account_id, r) for r in settings.pass_roles]
    trust = documents.trust_policy(settings.trusted_principals, settings.external_id)
    policies: list[IamPolicySpec] = []
    roles: list[IamRoleSpec] = []
    for use_case in enabled:
        attr, key, described = USE_CASES[use_case]
        use = getattr(settings, attr)
        source = f"{KEY}.{use_case}"
        policies.append(
            IamPolicySpec(
                key=key,
                name=ctx.naming.name(use.policy_name),
                source=f"{source}.policyName",
                document=_policy_document(use_case, settings, ctx, pass_role_arns, boundary_arn, enabled),
                description=f"ECS MCP server, {described} (seed 004). Managed by Pulumi.",
            )
        )
        roles.append(
            IamRoleSpec(
                key=key,
                name=ctx.naming.name(use.role_name),
                source=f"{source}.roleName",
                trust=trust,
                trust_source=f"{KEY}.trustedPrincipals",
                policy=key,
                boundary=BOUNDARY_KEY,
                managed_policy_arns=tuple(use.managed_policy_arns),
                managed_policy_source=f"{source}.managedPolicyArns",
                max_session_duration=settings.max_session_duration,
                description=f"Assumed by the Amazon ECS MCP server for {described}.",
            )
        )
    # The ceiling a re-versioned policy would reach: what today's policies pass and run, no more.
    named_families = is_strict(ctx.environment) or bool(settings.task_definition_families)
    boundary_document = documents.permissions_boundary(
        region=ctx.region,
        account=ctx.account_id,
        boundary_arn=boundary_arn,
        allowed_actions=[a for p in policies for a in documents.actions_of(p.document)],
        pass_role_arns=documents.allowed_resources([p.document for p in policies], documents.PASS_ROLE),
        task_definitions=documents.task_definition_arns(
            documents.Scope(ctx.account_id, ctx.region).with_names(
                TaskDefinitionFamilyName=settings.task_definition_families
            )
        )
        if named_families
        else None,
        task_clusters=documents.allowed_condition_values(
            [p.document for p in policies], documents.DEPLOYMENT_ECS_RUN_ACTIONS, "ecs:cluster"
        ),
        protected_delete_actions=documents.PRODUCTION_DELETE_ACTIONS
        + tuple(
            a for a in boundary.additional_protected_actions if a not in documents.PRODUCTION_DELETE_ACTIONS
        ),
        production_tag_value=boundary.production_tag_value,
        extra_deny=[
            documents.DenyStatement(
                sid=d.sid, actions=tuple(d.actions), resources=tuple(d.resources), condition=d.condition
            )
            for d in boundary.extra_deny_statements
        ],
    )
    policies.insert(
        0,
        IamPolicySpec(
            key=BOUNDARY_KEY,
            name=boundary_name,
            source=f"{KEY}.boundary.policyName",
            document=boundary_document,
            description="Permissions boundary of the ECS MCP server roles (seed 004). Managed by Pulumi.",
            external_arn=boundary.arn,
        ),
    )
    return AwsScenarioSpec(
        scenario=KEY,
        account_id=ctx.account_id,
        region=ctx.region,
        policies=tuple(policies),
        roles=tuple(roles),
        tags={"Scenario": SCENARIO_TAG},
        extras={"allowWrite": settings.allow_write},
    )
