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
        "deploymentManagement": documents.deployment_management_policy(PASS_ROLES),
        "serviceSpecific": documents.service_specific_policy(
            REGION, ACCOUNT, CLUSTER, SERVICE, management=True
        ),
        "expressMode": documents.express_mode_policy(ACCOUNT, PASS_ROLES),
    }[use_case]


USE_CASES = [
    "readOnlyMonitoring",
    "troubleshooting",
    "deploymentManagement",
    "serviceSpecific",
    "expressMode",
]


@pytest.mark.parametrize("use_case", USE_CASES)
def test_each_policy_allows_exactly_the_guide_actions(use_case):
    assert actions(ours(use_case)) == actions(GUIDE[use_case])


@pytest.mark.parametrize("use_case", USE_CASES)
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
    for use_case in ("deploymentManagement", "expressMode"):
        document = ours(use_case)
        pass_statements = [s for s in document["Statement"] if "iam:PassRole" in listed(s["Action"])]
        assert len(pass_statements) == 1, use_case
        (statement,) = pass_statements
        assert listed(statement["Action"]) == ["iam:PassRole"]
        assert statement["Resource"] == PASS_ROLES
        assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}
    # The guide's deployment policy passes any role ("*"); the stack's roles replace it.
    (guide_pass,) = [s for s in GUIDE["deploymentManagement"]["Statement"] if s["Sid"] == "IAMPassRole"]
    assert guide_pass["Resource"] == "*"


def test_without_named_roles_nothing_can_be_passed():
    for document in (documents.deployment_management_policy([]), documents.express_mode_policy(ACCOUNT, [])):
        assert "iam:PassRole" not in actions(document)


def test_role_names_are_placed_in_the_stack_account_and_arns_are_kept():
    assert documents.role_arn(ACCOUNT, "ecsTaskExecutionRole") == PASS_ROLES[0]
    other = "arn:aws:iam::111122223333:role/app/task-role"
    assert documents.role_arn(ACCOUNT, other) == other


def test_express_mode_iam_statement_names_the_guide_roles_in_the_stack_account():
    statement = statements(ours("expressMode"))["IAMForExpressMode"]
    (guide,) = [s for s in GUIDE["expressMode"]["Statement"] if s["Sid"] == "IAMForExpressMode"]
    assert set(listed(statement["Action"])) == set(listed(guide["Action"])) - {"iam:PassRole"}
    assert statement["Resource"] == [r.replace("::*:", f"::{ACCOUNT}:") for r in guide["Resource"]]


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
    # deny them), so they move to `*` with the ecs:cluster condition.
    listing = statements(ours("serviceSpecific"))["SpecificClusterListing"]
    assert set(listing["Action"]) == {"ecs:ListServices", "ecs:ListTasks"}
    assert listing["Condition"]["ArnEquals"]["ecs:cluster"].endswith(f":cluster/{CLUSTER}")


def test_service_management_is_only_there_when_asked():
    read_only = documents.service_specific_policy(REGION, ACCOUNT, CLUSTER, SERVICE, management=False)
    assert "SpecificServiceManagement" not in statements(read_only)
    assert actions(read_only).isdisjoint(documents.SERVICE_MANAGEMENT_ACTIONS)


def boundary(**kwargs) -> dict:
    allowed = [a for use_case in USE_CASES for a in documents.actions_of(ours(use_case))]
    return documents.permissions_boundary(region=REGION, allowed_actions=allowed, **kwargs)


def test_boundary_keeps_the_guide_denies_with_the_stack_region():
    mine, guide = statements(boundary()), statements(GUIDE["boundary"])
    for sid in ("RegionRestriction", "ProductionProtection"):
        assert mine[sid]["Effect"] == guide[sid]["Effect"] == "Deny"
        assert listed(mine[sid]["Action"]) == listed(guide[sid]["Action"])
    assert mine["RegionRestriction"]["Condition"] == {"StringNotEquals": {"aws:RequestedRegion": REGION}}
    assert mine["ProductionProtection"]["Condition"] == guide["ProductionProtection"]["Condition"]


def test_boundary_allows_every_action_a_use_case_allows():
    allowed = listed(statements(boundary())["MaximumPermissions"]["Action"])
    wildcards = [a.removesuffix("*") for a in allowed if a.endswith("*")]
    for use_case in USE_CASES:
        for action in actions(ours(use_case)):
            assert action in allowed or action.startswith(tuple(wildcards)), action


def test_boundary_adds_the_stack_denies_after_the_guide_ones():
    extra = documents.DenyStatement("DenyBoundaryRemoval", ("iam:DeleteRolePermissionsBoundary",))
    document = boundary(
        protected_delete_actions=(*documents.PRODUCTION_DELETE_ACTIONS, "ecr:DeleteRepository"),
        extra_deny=[extra],
    )
    sids = [s["Sid"] for s in document["Statement"]]
    assert sids == ["MaximumPermissions", "RegionRestriction", "ProductionProtection", "DenyBoundaryRemoval"]
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
