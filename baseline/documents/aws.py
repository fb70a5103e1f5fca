"""AWS IAM policy documents for the Amazon ECS MCP server, as pure functions of typed data.

Every action list is copied from seed 004 ("Example IAM Policies for ECS MCP Server"), statement
by statement and with the guide's Sids, so a test can compare each document with the guide. The
guide's placeholders (REGION, ACCOUNT_ID, CLUSTER_NAME, SERVICE_NAME, the `*` account in IAM
ARNs) are filled from the stack. Two deliberate departures, each explained where it happens:
``iam:PassRole`` is always conditioned and scoped to the roles the stack names, and the
permissions boundary gains the Allow statement without which a boundary grants nothing.
Nothing here imports Pulumi.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Document = dict[str, Any]
VERSION = "2012-10-17"
ECS_TASKS_SERVICE = "ecs-tasks.amazonaws.com"

# --- Read-only monitoring ----------------------------------------------------------------------
READ_ONLY_ECS_ACTIONS = (
    "ecs:DescribeClusters",
    "ecs:ListClusters",
    "ecs:DescribeServices",
    "ecs:ListServices",
    "ecs:DescribeTasks",
    "ecs:ListTasks",
    "ecs:DescribeTaskDefinition",
    "ecs:ListTaskDefinitions",
    "ecs:DescribeContainerInstances",
    "ecs:ListContainerInstances",
    "ecs:DescribeCapacityProviders",
    "ecs:ListAttributes",
    "ecs:ListTagsForResource",
)
READ_ONLY_ECR_ACTIONS = ("ecr:DescribeRepositories", "ecr:ListImages", "ecr:DescribeImages")

# --- Troubleshooting ---------------------------------------------------------------------------
TROUBLESHOOTING_ECS_ACTIONS = READ_ONLY_ECS_ACTIONS[:10]
TROUBLESHOOTING_LOGS_ACTIONS = (
    "logs:DescribeLogGroups",
    "logs:DescribeLogStreams",
    "logs:GetLogEvents",
    "logs:FilterLogEvents",
)
TROUBLESHOOTING_CLOUDFORMATION_ACTIONS = (
    "cloudformation:DescribeStacks",
    "cloudformation:DescribeStackEvents",
    "cloudformation:DescribeStackResources",
    "cloudformation:ListStacks",
)
TROUBLESHOOTING_NETWORK_ACTIONS = (
    "ec2:DescribeVpcs",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeNetworkInterfaces",
    "elasticloadbalancing:DescribeLoadBalancers",
    "elasticloadbalancing:DescribeTargetGroups",
    "elasticloadbalancing:DescribeTargetHealth",
)
TROUBLESHOOTING_ECR_ACTIONS = (
    "ecr:DescribeRepositories",
    "ecr:DescribeImages",
    "ecr:GetAuthorizationToken",
)

# --- Deployment and management (the MCP server's ALLOW_WRITE=true) ------------------------------
DEPLOYMENT_CLOUDFORMATION_ACTIONS = (
    "cloudformation:CreateStack",
    "cloudformation:UpdateStack",
    "cloudformation:DeleteStack",
    "cloudformation:DescribeStacks",
    "cloudformation:DescribeStackEvents",
    "cloudformation:DescribeStackResources",
    "cloudformation:ListStacks",
)
DEPLOYMENT_IAM_ROLE_ACTIONS = (
    "iam:CreateRole",
    "iam:AttachRolePolicy",
    "iam:PutRolePolicy",
    "iam:GetRole",
    "iam:ListRolePolicies",
    "iam:ListAttachedRolePolicies",
)
DEPLOYMENT_LOGS_ACTIONS = (
    "logs:CreateLogGroup",
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "logs:DescribeLogGroups",
    "logs:DescribeLogStreams",
)
DEPLOYMENT_NETWORK_ACTIONS = (
    "ec2:DescribeVpcs",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
    "ec2:CreateSecurityGroup",
    "ec2:AuthorizeSecurityGroupIngress",
    "ec2:AuthorizeSecurityGroupEgress",
    "elasticloadbalancing:*",
)
PASS_ROLE = "iam:PassRole"

# --- Service-specific access -------------------------------------------------------------------
# The guide's SpecificClusterAccess actions, grouped by what IAM authorizes them against.
SERVICE_DESCRIBE_ACTIONS = ("ecs:DescribeServices", "ecs:DescribeTasks")
SERVICE_LIST_ACTIONS = ("ecs:ListServices", "ecs:ListTasks")
SERVICE_TASK_DEFINITION_ACTIONS = ("ecs:DescribeTaskDefinition",)
SERVICE_MANAGEMENT_ACTIONS = ("ecs:UpdateService", "ecs:StopTask", "ecs:StartTask")
SERVICE_LOGS_ACTIONS = ("logs:GetLogEvents", "logs:FilterLogEvents")

# --- Express mode ------------------------------------------------------------------------------
EXPRESS_GATEWAY_ACTIONS = (
    "ecs-dev:CreateService",
    "ecs-dev:UpdateService",
    "ecs-dev:DeleteService",
    "ecs-dev:DescribeService",
    "ecs-dev:ListServices",
    "ecs:DescribeServices",
    "ecs:ListServices",
    "ecs:DescribeTasks",
    "ecs:ListTasks",
)
EXPRESS_ECR_ACTIONS = (
    "ecr:CreateRepository",
    "ecr:PutImage",
    "ecr:InitiateLayerUpload",
    "ecr:UploadLayerPart",
    "ecr:CompleteLayerUpload",
    "ecr:BatchCheckLayerAvailability",
    "ecr:GetAuthorizationToken",
    "ecr:DescribeRepositories",
    "ecr:ListImages",
)
EXPRESS_CLOUDFORMATION_ACTIONS = (
    "cloudformation:CreateStack",
    "cloudformation:UpdateStack",
    "cloudformation:DeleteStack",
    "cloudformation:DescribeStacks",
    "cloudformation:DescribeStackEvents",
)
# The guide's IAMForExpressMode statement also lists iam:PassRole; it moves to its own,
# conditioned statement (see ``_pass_role``).
EXPRESS_IAM_ACTIONS = ("iam:GetRole", "iam:CreateRole", "iam:AttachRolePolicy")
EXPRESS_IAM_ROLES = ("ecsTaskExecutionRole", "ecsInfrastructureRoleForExpressServices", "ecr-*")
EXPRESS_PREREQUISITE_ACTIONS = ("iam:GetRole", "ecr:DescribeImages")

# --- Permission boundary -----------------------------------------------------------------------
REGION_RESTRICTED_ACTIONS = ("ecs:*",)
EXPRESS_REGION_RESTRICTED_ACTIONS = ("ecs-dev:*",)
PRODUCTION_DELETE_ACTIONS = ("ecs:DeleteCluster", "ecs:DeleteService", "ecs:DeregisterTaskDefinition")
PRODUCTION_TAG_KEY = "Environment"
PRODUCTION_TAG_VALUE = "production"


# --- ARNs --------------------------------------------------------------------------------------
def ecs_arn(region: str, account: str, resource: str) -> str:
    return f"arn:aws:ecs:{region}:{account}:{resource}"


def role_arn(account: str, name_or_arn: str) -> str:
    """A role the stack names: a full ARN is kept, a bare name is placed in the stack's account."""
    if name_or_arn.startswith("arn:"):
        return name_or_arn
    return f"arn:aws:iam::{account}:role/{name_or_arn}"


def policy_arn(account: str, name: str, path: str = "/") -> str:
    return f"arn:aws:iam::{account}:policy{path}{name}"


def principal_arn(principal: str) -> str:
    """A trusted principal: an account id means the account's root (any IAM identity the account
    allows), anything else is already a role or user ARN."""
    return f"arn:aws:iam::{principal}:root" if principal.isdigit() else principal


# --- Building blocks ---------------------------------------------------------------------------
def _statement(
    sid: str,
    actions: Sequence[str],
    resources: str | Sequence[str] = "*",
    *,
    effect: str = "Allow",
    condition: Mapping[str, Any] | None = None,
) -> Document:
    statement: Document = {
        "Sid": sid,
        "Effect": effect,
        "Action": list(actions),
        "Resource": resources if isinstance(resources, str) else list(resources),
    }
    if condition:
        statement["Condition"] = {op: dict(values) for op, values in condition.items()}
    return statement


def _document(*statements: Document | None) -> Document:
    return {"Version": VERSION, "Statement": [s for s in statements if s is not None]}


def _pass_role(sid: str, pass_role_arns: Sequence[str]) -> Document | None:
    """``iam:PassRole`` for the roles the stack names, to ECS tasks only.

    The guide allows it on ``*``: any role in the account, including an administrator's, could
    then be handed to a task the MCP server starts. No roles named, no statement.
    """
    if not pass_role_arns:
        return None
    return _statement(
        sid,
        [PASS_ROLE],
        list(pass_role_arns),
        condition={"StringEquals": {"iam:PassedToService": ECS_TASKS_SERVICE}},
    )


# --- The use cases -----------------------------------------------------------------------------
def read_only_monitoring_policy() -> Document:
    """Read-only access to ECS and ECR for monitoring and observability."""
    return _document(
        _statement("ECSReadOnly", READ_ONLY_ECS_ACTIONS),
        _statement("ECRReadOnly", READ_ONLY_ECR_ACTIONS),
    )


def troubleshooting_policy() -> Document:
    """Diagnosing deployments: ECS reads, CloudWatch Logs, CloudFormation events, network and
    image-pull inspection."""
    return _document(
        _statement("ECSReadAccess", TROUBLESHOOTING_ECS_ACTIONS),
        _statement("CloudWatchLogsAccess", TROUBLESHOOTING_LOGS_ACTIONS),
        _statement("CloudFormationReadAccess", TROUBLESHOOTING_CLOUDFORMATION_ACTIONS),
        _statement("NetworkDiagnostics", TROUBLESHOOTING_NETWORK_ACTIONS),
        _statement("ECRImagePullDiagnostics", TROUBLESHOOTING_ECR_ACTIONS),
    )


def deployment_management_policy(pass_role_arns: Sequence[str]) -> Document:
    """Deploying and managing ECS resources: the guide's policy for ``ALLOW_WRITE=true``."""
    return _document(
        _statement("ECSFullAccess", ["ecs:*"]),
        _statement("ECRFullAccess", ["ecr:*"]),
        _statement("CloudFormationManagement", DEPLOYMENT_CLOUDFORMATION_ACTIONS),
        _pass_role("IAMPassRole", pass_role_arns),
        _statement("IAMRoleManagement", DEPLOYMENT_IAM_ROLE_ACTIONS),
        _statement("CloudWatchLogs", DEPLOYMENT_LOGS_ACTIONS),
        _statement("NetworkManagement", DEPLOYMENT_NETWORK_ACTIONS),
    )


def service_specific_policy(
    region: str, account: str, cluster: str, service: str, *, management: bool
) -> Document:
    """One cluster and one service. ``management`` adds the guide's SpecificServiceManagement
    statement (update the service, start and stop its tasks), which is write access.

    The guide's actions and ARNs, with three corrections IAM needs to honour them (parliament
    reports each as RESOURCE_MISMATCH against the guide's form, and IAM would deny the action):
    ``ecs:ListServices`` and ``ecs:ListTasks`` are not authorized against cluster, service or
    task ARNs, so they get ``*`` narrowed by the ``ecs:cluster`` condition (AWS's documented
    pattern for listing one cluster's tasks); ``ecs:DescribeTaskDefinition`` has no
    resource-level permissions at all (the guide's ``task-definition/*:*`` already meant every
    task definition); ``ecs:StartTask`` is authorized against the task definition it starts, so
    the management statement adds ``task-definition/*:*``, still held to the cluster by its
    ``ecs:cluster`` condition. The condition compares ARNs, so it uses ArnEquals where the guide
    wrote StringEquals (the same match for an exact ARN).
    """
    cluster_arn = ecs_arn(region, account, f"cluster/{cluster}")
    in_cluster = {"ArnEquals": {"ecs:cluster": cluster_arn}}
    task_definitions = ecs_arn(region, account, "task-definition/*:*")
    management_statement = None
    if management:
        management_statement = _statement(
            "SpecificServiceManagement",
            SERVICE_MANAGEMENT_ACTIONS,
            [
                ecs_arn(region, account, f"service/{cluster}/{service}"),
                ecs_arn(region, account, f"task/{cluster}/*"),
                task_definitions,
            ],
            condition=in_cluster,
        )
    return _document(
        _statement(
            "SpecificClusterAccess",
            SERVICE_DESCRIBE_ACTIONS,
            [
                cluster_arn,
                ecs_arn(region, account, f"service/{cluster}/*"),
                ecs_arn(region, account, f"task/{cluster}/*"),
                task_definitions,
            ],
        ),
        _statement("SpecificClusterListing", SERVICE_LIST_ACTIONS, condition=in_cluster),
        _statement("TaskDefinitionRead", SERVICE_TASK_DEFINITION_ACTIONS),
        management_statement,
        _statement(
            "CloudWatchLogsForService",
            SERVICE_LOGS_ACTIONS,
            f"arn:aws:logs:{region}:{account}:log-group:/ecs/{service}:*",
        ),
    )


def express_mode_policy(account: str, pass_role_arns: Sequence[str]) -> Document:
    """ECS Express Mode: Express Gateway Services, image push, stacks and the service roles."""
    return _document(
        _statement("ExpressGatewayServiceAccess", EXPRESS_GATEWAY_ACTIONS),
        _statement("ECRForExpressMode", EXPRESS_ECR_ACTIONS),
        _statement("CloudFormationForExpressMode", EXPRESS_CLOUDFORMATION_ACTIONS),
        _statement(
            "IAMForExpressMode",
            EXPRESS_IAM_ACTIONS,
            [role_arn(account, name) for name in EXPRESS_IAM_ROLES],
        ),
        _pass_role("IAMPassRoleForExpressMode", pass_role_arns),
        _statement("PrerequisiteValidation", EXPRESS_PREREQUISITE_ACTIONS),
    )


# --- Permission boundary -----------------------------------------------------------------------
@dataclass(frozen=True)
class DenyStatement:
    """An extra Deny a stack adds to the boundary (prod hardening)."""

    sid: str
    actions: tuple[str, ...]
    resources: tuple[str, ...] = ("*",)
    condition: Mapping[str, Mapping[str, Any]] | None = None


def actions_of(document: Document) -> list[str]:
    """Every action an identity policy allows, in document order, without repeats."""
    found: list[str] = []
    for statement in document["Statement"]:
        if statement["Effect"] != "Allow":
            continue
        actions = statement["Action"]
        for action in [actions] if isinstance(actions, str) else actions:
            if action not in found:
                found.append(action)
    return found


def covering_actions(actions: Iterable[str]) -> list[str]:
    """The actions without those a wildcard in the same list already covers (``ecs:*`` covers
    ``ecs:DescribeServices``), sorted; IAM matches actions without regard to case."""
    unique = sorted({a for a in actions}, key=str.lower)
    wildcards = [a.lower() for a in unique if "*" in a]
    return [
        a for a in unique if not any(fnmatch.fnmatchcase(a.lower(), w) and a.lower() != w for w in wildcards)
    ]


def permissions_boundary(
    *,
    region: str,
    allowed_actions: Iterable[str],
    region_restricted_actions: Sequence[str] = REGION_RESTRICTED_ACTIONS,
    protected_delete_actions: Sequence[str] = PRODUCTION_DELETE_ACTIONS,
    production_tag_value: str = PRODUCTION_TAG_VALUE,
    extra_deny: Sequence[DenyStatement] = (),
) -> Document:
    """The guide's boundary, made usable.

    The guide's example has Deny statements only. A permissions boundary grants nothing by
    itself and an action is effective only when both the identity policy and the boundary allow
    it, so that boundary on its own would leave every role with no effective permission. The
    ``MaximumPermissions`` statement allows what the stack's use-case policies allow (wildcards
    collapse what they cover); the guide's two Deny statements, and any the stack adds, then
    carve out what no role may do, whatever its identity policy says.
    """
    return _document(
        _statement("MaximumPermissions", covering_actions(allowed_actions)),
        _statement(
            "RegionRestriction",
            region_restricted_actions,
            effect="Deny",
            condition={"StringNotEquals": {"aws:RequestedRegion": region}},
        ),
        _statement(
            "ProductionProtection",
            protected_delete_actions,
            effect="Deny",
            condition={"StringLike": {f"aws:ResourceTag/{PRODUCTION_TAG_KEY}": production_tag_value}},
        ),
        *(
            _statement(d.sid, d.actions, list(d.resources), effect="Deny", condition=d.condition)
            for d in extra_deny
        ),
    )


# --- Trust -------------------------------------------------------------------------------------
def trust_policy(principals: Sequence[str], external_id: str | None = None) -> Document:
    """Who may assume the role: the identities the MCP server runs as (role or user ARNs, or
    account ids for any identity those accounts allow), optionally only with an external id."""
    statement: Document = {
        "Sid": "McpServerAssumeRole",
        "Effect": "Allow",
        "Principal": {"AWS": [principal_arn(p) for p in principals]},
        "Action": "sts:AssumeRole",
    }
    if external_id:
        statement["Condition"] = {"StringEquals": {"sts:ExternalId": external_id}}
    return {"Version": VERSION, "Statement": [statement]}
