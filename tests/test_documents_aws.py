"""S6 documents as plain data, compared with the guide's own JSON (seed 004).

``tests/data/seed004_ecs_mcp_policies.json`` holds the guide's six JSON blocks verbatim, so the
comparison is with the guide itself, not with this project's constants.
"""

from __future__ import annotations

import json

import pytest
from conftest import ROOT

from baseline.documents import aws as documents
from baseline.documents.render import canonical_json

GUIDE = json.loads((ROOT / "tests" / "data" / "seed004_ecs_mcp_policies.json").read_text())
REGION, ACCOUNT, CLUSTER, SERVICE = "eu-west-1", "444455556666", "prod-cluster", "web-api"
PASS_ROLES = [f"arn:aws:iam::{ACCOUNT}:role/ecsTaskExecutionRole"]
SCOPE = documents.Scope(ACCOUNT, REGION).with_names(
    ClusterName=[CLUSTER], RepositoryName=["web-api"], StackName=["ecs-mcp-web-api"]
)
BOUNDARY_ARN = f"arn:aws:iam::{ACCOUNT}:policy/EcsMcpServerPermissionsBoundary"
OWNED_ROLES = documents.RoleManagement(
    BOUNDARY_ARN, (f"arn:aws:iam::{ACCOUNT}:role/ecs-mcp-*",), (documents.TASK_EXECUTION_POLICY_ARN,)
)
EXPRESS_ROLES = documents.RoleManagement(
    BOUNDARY_ARN,
    tuple(documents.role_arn(ACCOUNT, r) for r in documents.EXPRESS_IAM_ROLES),
    (documents.TASK_EXECUTION_POLICY_ARN,),
)


def listed(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def actions(document: dict) -> set[str]:
    return {a for s in document["Statement"] for a in listed(s["Action"])}


def statements(document: dict) -> dict[str, dict]:
    return {s["Sid"]: s for s in document["Statement"]}


def ours(use_case: str) -> dict:
    return {
        "readOnlyMonitoring": documents.read_only_monitoring_policy(),
        "troubleshooting": documents.troubleshooting_policy(),
        "deploymentManagement": documents.deployment_management_policy(
            SCOPE, PASS_ROLES, OWNED_ROLES, scope_reads=False
        ),
        "serviceSpecific": documents.service_specific_policy(
            REGION, ACCOUNT, CLUSTER, SERVICE, management=True
        ),
        "expressMode": documents.express_mode_policy(SCOPE, PASS_ROLES, EXPRESS_ROLES, scope_reads=False),
    }[use_case]


USE_CASES = [
    "readOnlyMonitoring",
    "troubleshooting",
    "deploymentManagement",
    "serviceSpecific",
    "expressMode",
]


@pytest.mark.parametrize("use_case", [u for u in USE_CASES if u != "deploymentManagement"])
def test_each_policy_allows_exactly_the_guide_actions(use_case):
    assert actions(ours(use_case)) == actions(GUIDE[use_case])


def test_deployment_keeps_the_guide_actions_but_expands_its_wildcards_and_drops_inline_policies():
    mine, guide = actions(ours("deploymentManagement")), actions(GUIDE["deploymentManagement"])
    wildcards = {a for a in guide if a.endswith(":*")}
    assert wildcards == {"ecs:*", "ecr:*", "elasticloadbalancing:*"}
    assert guide - wildcards - {"iam:PutRolePolicy"} <= mine
    assert not any("*" in a for a in mine)
    # The expansion stays within the guide's services and leaves out what escalates.
    assert {a.split(":")[0] for a in mine} == {a.split(":")[0] for a in guide}
    for escalating in (
        "iam:PutRolePolicy",
        "ecs:ExecuteCommand",
        "ecr:SetRepositoryPolicy",
        "ecr:PutRegistryPolicy",
    ):
        assert escalating not in mine
    # Every expanded action is one AWS publishes (policy_sentry's table knows it).
    assert mine <= set(documents.RESOURCE_ARNS)


def test_deployment_writes_only_to_the_named_clusters_repositories_and_stacks():
    for statement in ours("deploymentManagement")["Statement"]:
        writes = [a for a in listed(statement["Action"]) if not documents.is_read(a)]
        resources = listed(statement["Resource"])
        if not writes or statement["Sid"].startswith("IAM"):
            continue
        for resource in resources:
            if resource == "*":
                # Only what IAM authorizes against "*" alone, and only in the stack's region.
                assert all(documents.RESOURCE_ARNS[a] == () for a in writes), statement["Sid"]
                assert statement["Condition"] == {"StringEquals": {"aws:RequestedRegion": REGION}}
                continue
            assert f":{REGION}:{ACCOUNT}:" in resource, resource
        if statement["Sid"] == "ECSManagement":
            assert all(
                f"/{CLUSTER}" in r or "task-definition/" in r or "capacity-provider/" in r for r in resources
            )
        if statement["Sid"] == "ECRRepositories":
            assert resources == [f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/web-api"]
        if statement["Sid"] == "CloudFormationManagement":
            assert resources == [f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/ecs-mcp-web-api/*"]
            assert statement["Condition"] == {"Null": {"cloudformation:RoleArn": "true"}}


def test_deployment_creates_roles_only_behind_the_boundary_and_attaches_only_listed_policies():
    mine = statements(ours("deploymentManagement"))
    create, attach = mine["IAMRoleManagement"], mine["IAMRoleManagementAttach"]
    assert create["Action"] == ["iam:CreateRole"]
    assert create["Resource"] == [f"arn:aws:iam::{ACCOUNT}:role/ecs-mcp-*"]
    assert create["Condition"] == {"ArnEquals": {"iam:PermissionsBoundary": BOUNDARY_ARN}}
    assert attach["Condition"] == {
        "ArnEquals": {
            "iam:PermissionsBoundary": BOUNDARY_ARN,
            "iam:PolicyARN": [documents.TASK_EXECUTION_POLICY_ARN],
        }
    }
    security_groups = mine["NetworkStackSecurityGroupRules"]
    assert security_groups["Condition"] == {
        "StringLike": {"aws:ResourceTag/aws:cloudformation:stack-name": ["ecs-mcp-web-api"]}
    }


@pytest.mark.parametrize("use_case", ["readOnlyMonitoring", "troubleshooting", "serviceSpecific"])
def test_each_policy_keeps_the_guide_statements_by_sid(use_case):
    mine, guide = statements(ours(use_case)), statements(GUIDE[use_case])
    assert set(guide) <= set(mine)
    for sid, statement in guide.items():
        if sid in ("IAMForExpressMode", "SpecificClusterAccess"):
            continue  # split on purpose; see the two tests below
        assert listed(mine[sid]["Action"]) == listed(statement["Action"]), sid
        assert mine[sid]["Effect"] == "Allow"


@pytest.mark.parametrize("use_case", ["readOnlyMonitoring", "troubleshooting"])
def test_read_only_use_cases_cannot_change_anything(use_case):
    verbs = ("Create", "Update", "Delete", "Put", "Attach", "Pass", "Start", "Stop", "Register", "Run")
    for action in actions(ours(use_case)):
        assert "*" not in action
        assert not action.split(":", 1)[1].startswith(verbs), action


def test_pass_role_is_only_to_ecs_tasks_and_only_for_the_named_roles():
    for use_case, roles in (
        ("deploymentManagement", [*PASS_ROLES, *OWNED_ROLES.role_arns]),
        ("expressMode", PASS_ROLES),
    ):
        document = ours(use_case)
        pass_statements = [s for s in document["Statement"] if "iam:PassRole" in listed(s["Action"])]
        assert len(pass_statements) == 1, use_case
        (statement,) = pass_statements
        assert listed(statement["Action"]) == ["iam:PassRole"]
        assert statement["Resource"] == roles
        assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}
    # The guide's deployment policy passes any role ("*"); the stack's roles replace it.
    (guide_pass,) = [s for s in GUIDE["deploymentManagement"]["Statement"] if s["Sid"] == "IAMPassRole"]
    assert guide_pass["Resource"] == "*"


def test_without_named_roles_only_the_stacks_own_roles_can_be_passed():
    express = documents.express_mode_policy(SCOPE, [], EXPRESS_ROLES)
    assert "iam:PassRole" not in actions(express)
    deployment = documents.deployment_management_policy(SCOPE, [], OWNED_ROLES)
    (statement,) = [s for s in deployment["Statement"] if "iam:PassRole" in listed(s["Action"])]
    assert statement["Resource"] == list(OWNED_ROLES.role_arns)


def test_role_names_are_placed_in_the_stack_account_and_arns_are_kept():
    assert documents.role_arn(ACCOUNT, "ecsTaskExecutionRole") == PASS_ROLES[0]
    other = "arn:aws:iam::111122223333:role/app/task-role"
    assert documents.role_arn(ACCOUNT, other) == other


def test_express_mode_iam_statement_names_the_guide_roles_in_the_stack_account():
    mine = statements(ours("expressMode"))
    create, attach = mine["IAMForExpressMode"], mine["IAMForExpressModeAttach"]
    (guide,) = [s for s in GUIDE["expressMode"]["Statement"] if s["Sid"] == "IAMForExpressMode"]
    assert set(create["Action"]) | set(attach["Action"]) == set(listed(guide["Action"])) - {
        "iam:PassRole",
        "iam:GetRole",
    }
    guide_roles = [r.replace("::*:", f"::{ACCOUNT}:") for r in guide["Resource"]]
    assert create["Resource"] == attach["Resource"] == guide_roles
    # Created only behind the boundary; only the listed policies attached.
    assert create["Condition"] == {"ArnEquals": {"iam:PermissionsBoundary": BOUNDARY_ARN}}
    assert attach["Condition"]["ArnEquals"]["iam:PolicyARN"] == [documents.TASK_EXECUTION_POLICY_ARN]


def test_service_specific_access_is_templated_from_the_stack():
    text = canonical_json(ours("serviceSpecific"))
    for placeholder in ("REGION", "ACCOUNT_ID", "CLUSTER_NAME", "SERVICE_NAME"):
        assert placeholder not in text
    guide_text = json.dumps(GUIDE["serviceSpecific"])
    expected = (
        guide_text.replace("REGION", REGION)
        .replace("ACCOUNT_ID", ACCOUNT)
        .replace("CLUSTER_NAME", CLUSTER)
        .replace("SERVICE_NAME", SERVICE)
    )
    guide = statements(json.loads(expected))
    mine = statements(ours("serviceSpecific"))
    # The guide's describe ARNs and log group stay as written.
    assert mine["SpecificClusterAccess"]["Resource"] == guide["SpecificClusterAccess"]["Resource"]
    assert mine["CloudWatchLogsForService"]["Resource"] == guide["CloudWatchLogsForService"]["Resource"]
    management = mine["SpecificServiceManagement"]
    assert set(guide["SpecificServiceManagement"]["Resource"]) <= set(management["Resource"])
    cluster_arn = f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{CLUSTER}"
    assert management["Condition"] == {"ArnEquals": {"ecs:cluster": cluster_arn}}


def test_listing_is_held_to_the_cluster_by_condition():
    # IAM does not authorize ListServices/ListTasks against cluster ARNs (the guide's form would
    # deny them): ListServices takes `*` only, ListTasks the cluster's container instances.
    mine = statements(ours("serviceSpecific"))
    listing, tasks = mine["SpecificClusterListing"], mine["SpecificClusterTaskListing"]
    assert listing["Action"] == ["ecs:ListServices"] and listing["Resource"] == "*"
    assert tasks["Resource"] == [f"arn:aws:ecs:{REGION}:{ACCOUNT}:container-instance/{CLUSTER}/*"]
    for statement in (listing, tasks):
        assert statement["Condition"]["ArnEquals"]["ecs:cluster"].endswith(f":cluster/{CLUSTER}")


def test_service_management_is_only_there_when_asked():
    read_only = documents.service_specific_policy(REGION, ACCOUNT, CLUSTER, SERVICE, management=False)
    assert "SpecificServiceManagement" not in statements(read_only)
    assert actions(read_only).isdisjoint(documents.SERVICE_MANAGEMENT_ACTIONS)


TASK_DEFINITIONS = [f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/web-api:*"]


def boundary(**kwargs) -> dict:
    allowed = [a for use_case in USE_CASES for a in documents.actions_of(ours(use_case))]
    kwargs = {"pass_role_arns": PASS_ROLES, "task_definitions": TASK_DEFINITIONS, **kwargs}
    return documents.permissions_boundary(
        region=REGION, account=ACCOUNT, boundary_arn=BOUNDARY_ARN, allowed_actions=allowed, **kwargs
    )


def test_boundary_keeps_the_guide_denies_with_the_stack_region_and_tag():
    mine, guide = statements(boundary()), statements(GUIDE["boundary"])
    for sid in ("RegionRestriction", "ProductionProtection"):
        assert mine[sid]["Effect"] == guide[sid]["Effect"] == "Deny"
    assert listed(mine["ProductionProtection"]["Action"]) == listed(guide["ProductionProtection"]["Action"])
    assert mine["RegionRestriction"]["Condition"] == {"StringNotEquals": {"aws:RequestedRegion": REGION}}
    # The guide guards ECS only; every regional service the roles use is held to the region.
    assert set(listed(guide["RegionRestriction"]["Action"])) < set(mine["RegionRestriction"]["Action"])
    assert set(mine["RegionRestriction"]["Action"]) == {
        "cloudformation:*",
        "ec2:*",
        "ecr:*",
        "ecs:*",
        "ecs-dev:*",
        "elasticloadbalancing:*",
        "logs:*",
    }
    # The guide's `production` matches nothing this project tags; its prod stack says `prod`.
    (guide_value,) = guide["ProductionProtection"]["Condition"]["StringLike"].values()
    assert guide_value == "production"
    assert mine["ProductionProtection"]["Condition"] == {
        "StringLike": {"aws:ResourceTag/Environment": "prod"}
    }


def test_boundary_denies_every_way_out_of_itself():
    mine = statements(boundary())
    without = mine["DenyRoleChangesWithoutThisBoundary"]
    assert without["Condition"] == {"ArnNotEquals": {"iam:PermissionsBoundary": BOUNDARY_ARN}}
    assert {
        "iam:CreateRole",
        "iam:PutRolePermissionsBoundary",
        "iam:AttachRolePolicy",
        "iam:PutRolePolicy",
    } <= set(without["Action"])
    assert mine["DenyBoundaryRemoval"]["Resource"] == "*" and "Condition" not in mine["DenyBoundaryRemoval"]
    changes = mine["DenyPolicyChanges"]
    assert {"iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion"} <= set(changes["Action"])
    assert changes["Resource"] == f"arn:aws:iam::{ACCOUNT}:policy/*"


def test_the_boundary_allows_only_in_the_account_and_region():
    mine = statements(boundary())
    assert mine["MaximumPermissions"]["Resource"] == [
        f"arn:aws:*:{REGION}:{ACCOUNT}:*",
        f"arn:aws:iam::{ACCOUNT}:role/*",
    ]
    for action in mine["MaximumPermissionsWithoutResourceArn"]["Action"]:
        assert documents.RESOURCE_ARNS.get(action, ()) == (), action


def test_boundary_allows_every_action_a_use_case_allows():
    mine = statements(boundary())
    allowed = [
        action
        for sid in (
            "MaximumPermissions",
            "MaximumPermissionsWithoutResourceArn",
            "MaximumPassRole",
            "MaximumRunTasks",
            "MaximumServiceDeployments",
        )
        for action in mine[sid]["Action"]
    ]
    wildcards = [a.removesuffix("*") for a in allowed if a.endswith("*")]
    for use_case in USE_CASES:
        for action in actions(ours(use_case)):
            assert action in allowed or action.startswith(tuple(wildcards)), action


def test_the_boundary_passes_and_runs_only_what_it_is_given_and_never_with_a_stack_service_role():
    # A policy re-versioned under this boundary reaches the ceiling: the ceiling names the roles
    # and task definitions itself, not role/* or every task definition of the account.
    mine = statements(boundary())
    assert not {"iam:PassRole", "ecs:RunTask", "ecs:StartTask"} & set(mine["MaximumPermissions"]["Action"])
    assert mine["MaximumPassRole"]["Resource"] == PASS_ROLES
    assert mine["MaximumPassRole"]["Condition"] == {
        "StringEquals": {"iam:PassedToService": documents.ECS_TASKS_SERVICE}
    }
    assert mine["MaximumRunTasks"]["Resource"] == TASK_DEFINITIONS
    # A service runs its definition's task role: created or updated only with the given ones.
    deployments = {"ecs:CreateService", "ecs:UpdateService"}
    assert not deployments & set(mine["MaximumPermissions"]["Action"])
    assert set(mine["MaximumServiceDeployments"]["Action"]) == deployments
    assert mine["MaximumServiceDeployments"]["Condition"] == {
        "ArnLikeIfExists": {"ecs:task-definition": TASK_DEFINITIONS}
    }
    deny = mine["DenyCloudFormationServiceRole"]
    assert {"cloudformation:CreateStack", "cloudformation:UpdateStack"} <= set(deny["Action"])
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Null": {"cloudformation:RoleArn": "false"}}
    # No roles given: no iam:PassRole at all. No task definitions given: RunTask stays account-wide.
    bare = statements(boundary(pass_role_arns=(), task_definitions=None))
    assert "MaximumPassRole" not in bare and "iam:PassRole" not in bare["MaximumPermissions"]["Action"]
    assert "MaximumRunTasks" not in bare and "ecs:RunTask" in bare["MaximumPermissions"]["Action"]


def test_the_cloudformation_actions_denied_with_a_service_role_are_those_that_carry_the_key():
    from policy_sentry.querying.actions import get_actions_matching_condition_key

    carried = get_actions_matching_condition_key("cloudformation", "cloudformation:RoleArn")
    assert sorted(documents.CLOUDFORMATION_ROLE_ARN_ACTIONS) == sorted(carried)


def test_the_union_of_what_the_policies_grant_is_read_from_the_documents():
    deployment, service = ours("deploymentManagement"), ours("serviceSpecific")
    assert documents.allowed_resources([deployment], "iam:PassRole") == [*PASS_ROLES, *OWNED_ROLES.role_arns]
    assert documents.allowed_condition_values(
        [deployment, service], documents.DEPLOYMENT_ECS_RUN_ACTIONS, "ecs:cluster"
    ) == [f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{CLUSTER}"]
    # One grant without the key: the key bounds nothing, so no value is returned.
    open_grant = {"Statement": [{"Effect": "Allow", "Action": "ecs:RunTask", "Resource": "*"}]}
    assert documents.allowed_condition_values([deployment, open_grant], ["ecs:RunTask"], "ecs:cluster") == []


BUILTIN = list(documents.BUILTIN_BOUNDARY_SIDS)


def test_boundary_adds_the_stack_denies_after_the_guide_ones():
    extra = documents.DenyStatement("DenyBoundaryRemovalExtra", ("iam:DeleteRolePermissionsBoundary",))
    document = boundary(
        protected_delete_actions=(*documents.PRODUCTION_DELETE_ACTIONS, "ecr:DeleteRepository"),
        extra_deny=[extra],
    )
    sids = [s["Sid"] for s in document["Statement"]]
    assert sids == [*BUILTIN, "DenyBoundaryRemovalExtra"]
    assert "ecr:DeleteRepository" in statements(document)["ProductionProtection"]["Action"]


def test_wildcards_collapse_what_they_cover():
    assert documents.covering_actions(
        ["ecs:DescribeServices", "ecs:*", "ecr:ListImages", "ECS:ListTasks"]
    ) == [
        "ecr:ListImages",
        "ecs:*",
    ]


def test_trust_names_the_principals_and_the_external_id():
    document = documents.trust_policy(["arn:aws:iam::111122223333:role/mcp", "222233334444"], "ext-id")
    (statement,) = document["Statement"]
    assert statement["Action"] == "sts:AssumeRole"
    assert statement["Principal"] == {
        "AWS": ["arn:aws:iam::111122223333:role/mcp", "arn:aws:iam::222233334444:root"]
    }
    assert statement["Condition"] == {"StringEquals": {"sts:ExternalId": "ext-id"}}
    assert "Resource" not in statement  # IAM refuses Resource in a trust policy
    assert "Condition" not in documents.trust_policy(["222233334444"])["Statement"][0]


def test_documents_are_pure_data():
    assert "pulumi" not in documents.__dict__
    for use_case in USE_CASES:
        assert json.loads(canonical_json(ours(use_case))) == ours(use_case)


def test_the_action_table_is_what_policy_sentry_says():
    # The documents read a generated table (the plan stays free of policy_sentry's ~0.2 s
    # import); regenerating it must give the checked-in file, for every action they name.
    from baseline.documents.generate_aws_actions import TARGET, table_source

    assert TARGET.read_text() == table_source(documents.known_actions())
