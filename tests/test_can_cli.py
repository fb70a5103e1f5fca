"""`python -m baseline can`: what a stack's principals may do, decided offline from the plan.

Principal names and ARNs come from the checked-in stacks (stacks/Pulumi.*.yaml).
"""

from __future__ import annotations

import json

import pytest
from conftest import plan_of

from baseline.analysis import access
from baseline.cli import main

DEV_INSTANCE = "acs:ecs:cn-hangzhou:5012345678901234:instance/i-bp1devapp0000000001"
PROD_WEB = "acs:ecs:cn-hangzhou:5098765432109876:instance/i-bp1prodweb0000000001"
PROD_DB = "acs:ecs:cn-hangzhou:5098765432109876:instance/i-bp1proddb00000000001"
STAGING_INSTANCE = "acs:ecs:cn-shanghai:5023456789012345:instance/i-uf6stgapp0000000001"


def can(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["can", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_dev_command_user_can_run_a_command_as_user01(capsys):
    code, out, _ = can(
        capsys, "--stack", "dev", "--principal", "dev-commandUser", "--action", "ecs:RunCommand",
        "--resource", DEV_INSTANCE, "--context", "ecs:CommandRunAs=user01",
    )  # fmt: skip
    assert code == 0
    assert out.startswith("allow\n") and "dev-commandUserPolicy statement 1" in out
    # The system policy is evaluated from its owner's document on file, and named.
    assert "evaluated: AliyunECSReadOnlyAccess (system), dev-commandUserPolicy" in out


def test_the_dev_command_user_cannot_run_a_command_as_root(capsys):
    code, out, _ = can(
        capsys, "--stack", "dev", "--principal", "dev-commandUser", "--action", "ecs:RunCommand",
        "--resource", DEV_INSTANCE, "--context", "ecs:CommandRunAs=root",
    )  # fmt: skip
    assert code == 1
    assert out.startswith("deny\n") and "StringEquals ecs:CommandRunAs failed (request: root" in out


def test_staging_allow_list_refuses_root_in_any_case_and_a_command_naming_no_user():
    plan = plan_of("staging")
    [user] = access.find_principal(plan, "stg-commandUser")
    grants = access.grants_of(plan, user)
    for run_as in ("root", "Root", "admin", "deploy"):
        assert not grants.decide("ecs:RunCommand", STAGING_INSTANCE, {"ecs:CommandRunAs": [run_as]}).allowed
    assert not grants.decide("ecs:RunCommand", STAGING_INSTANCE, {}).allowed
    assert grants.decide("ecs:RunCommand", STAGING_INSTANCE, {"ecs:CommandRunAs": ["user01"]}).allowed
    # The staging policy is scoped to its own region: a Hangzhou instance is out of reach.
    hangzhou = STAGING_INSTANCE.replace("cn-shanghai", "cn-hangzhou")
    assert not grants.decide("ecs:RunCommand", hangzhou, {"ecs:CommandRunAs": ["user01"]}).allowed


def test_prod_command_user_reaches_only_the_listed_instances():
    plan = plan_of("prod")
    [user] = access.find_principal(plan, "commandUser")
    grants = access.grants_of(plan, user)
    as_user01 = {"ecs:CommandRunAs": ["user01"]}
    assert grants.decide("ecs:RunCommand", PROD_WEB, as_user01).allowed
    assert not grants.decide("ecs:RunCommand", PROD_DB, as_user01).allowed
    assert not grants.decide("ecs:RunCommand", PROD_WEB, {"ecs:CommandRunAs": ["root"]}).allowed


def test_prod_patch_role_can_invoke_commands_but_never_delete_snapshots():
    plan = plan_of("prod")
    [role] = access.find_principal(plan, "PatchAutomationRole")
    grants = access.grants_of(plan, role)
    assert grants.decide("ecs:InvokeCommand", PROD_DB).allowed
    snapshot = "acs:ecs:cn-hangzhou:5098765432109876:snapshot/s-1"
    assert grants.decide("ecs:CreateSnapshot", snapshot).allowed
    assert not grants.decide("ecs:DeleteSnapshot", snapshot).allowed


def test_the_boundary_stops_the_prod_deployment_role_deleting_production_services(capsys):
    service = "arn:aws:ecs:us-east-1:444455556666:service/prod-cluster/web"
    base = ["--stack", "prod", "--principal", "EcsMcpDeploymentManagementRole", "--resource", service]
    code, out, _ = can(
        capsys, *base, "--action", "ecs:DeleteService",
        "--context", "aws:RequestedRegion=us-east-1", "--context", "aws:ResourceTag/Environment=prod",
    )  # fmt: skip
    assert code == 1 and "ProductionProtection" in out
    code, out, _ = can(
        capsys, *base, "--action", "ecs:UpdateService", "--context", "aws:RequestedRegion=us-east-1"
    )
    assert code == 0 and "within the permissions boundary" in out
    code, out, _ = can(
        capsys, *base, "--action", "ecs:UpdateService", "--context", "aws:RequestedRegion=eu-west-1"
    )
    assert code == 1 and "RegionRestriction" in out


def test_a_resource_group_admin_manages_eci_only_in_their_group(capsys):
    plan = plan_of("prod")
    [admin] = access.find_principal(plan, "eciProductionAdmin")
    grants = access.grants_of(plan, admin)
    group = next(
        r["inputs"]["resourceGroupId"]
        for r in plan["resources"]
        if r["type"] == access.ALI_RG_ATTACHMENT
        and r["inputs"]["principalName"].startswith("eciProductionAdmin@")
    )
    inside = {access.RESOURCE_GROUP_KEY: [group]}
    assert grants.decide("eci:CreateContainerGroup", "*", inside).allowed
    assert not grants.decide(
        "eci:CreateContainerGroup", "*", {access.RESOURCE_GROUP_KEY: ["rg-other"]}
    ).allowed
    assert not grants.decide("eci:CreateContainerGroup", "*").allowed


def test_json_output_names_the_deciding_statement(capsys):
    code, out, _ = can(
        capsys, "--stack", "dev", "--principal", "dev-commandUser", "--action", "ecs:RunCommand",
        "--resource", DEV_INSTANCE, "--context", "ecs:CommandRunAs=user02", "--format", "json",
    )  # fmt: skip
    result = json.loads(out)
    assert code == 0 and result["decision"] == "allow"
    assert result["deciding"][0]["policy"] == "dev-commandUserPolicy"
    assert result["context"] == {"ecs:CommandRunAs": ["user02"]}


def test_a_repeated_context_key_is_multi_valued():
    assert access.parse_context(["aws:TagKeys=env", "aws:TagKeys=team", "k=a=b"]) == {
        "aws:TagKeys": ["env", "team"],
        "k": ["a=b"],
    }


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (
            ["--principal", "nobody", "--action", "ecs:RunCommand", "--resource", "*"],
            "dev-commandUser (RAM user)",
        ),
        (
            ["--principal", "dev-commandUser", "--action", "ecs:RunCommand", "--resource", "acs:ecs:x"],
            "5 colon",
        ),
        (
            ["--principal", "dev-commandUser", "--action", "RunCommand", "--resource", "*"],
            "<service>:<ActionName>",
        ),
        (
            ["--principal", "dev-commandUser", "--action", "ecs:RunCommand", "--resource", "i-x"],
            "'*' or an ARN",
        ),
        (
            [
                "--principal",
                "dev-EcsMcpTroubleshootingRole",
                "--action",
                "ecs:ListTasks",
                "--resource",
                "arn:aws:ecs",
            ],
            "6 colon",
        ),
        (
            [
                "--principal",
                "dev-commandUser",
                "--action",
                "ecs:RunCommand",
                "--resource",
                "arn:aws:ecs:r:1:x/y",
            ],
            "acs:",
        ),
        (
            [
                "--principal",
                "dev-commandUser",
                "--action",
                "ecs:X",
                "--resource",
                "*",
                "--context",
                "novalue",
            ],
            "KEY=VALUE",
        ),
    ],
)
def test_bad_input_exits_2_with_one_line_and_a_fix(capsys, argv, words):
    code, out, err = can(capsys, "--stack", "dev", *argv)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "Fix:" in err and words in err


# --- what decided: the statement for an allow and an explicit deny, and an implicit deny said ----


def test_an_allow_prints_the_statement_that_decided(capsys):
    code, out, _ = can(
        capsys, "--stack", "dev", "--principal", "dev-commandUser", "--action", "ecs:RunCommand",
        "--resource", DEV_INSTANCE, "--context", "ecs:CommandRunAs=user01",
    )  # fmt: skip
    assert code == 0
    lines = out.splitlines()
    at = lines.index("  decided by: dev-commandUserPolicy statement 1, an Allow (condition holds):")
    statement = json.loads(lines[at + 1])
    assert statement["Effect"] == "Allow" and "ecs:RunCommand" in statement["Action"]
    assert statement["Condition"] == {"StringEquals": {"ecs:CommandRunAs": ["user01", "user02"]}}


def test_an_explicit_deny_prints_the_deny_statement(capsys):
    code, out, _ = can(
        capsys, "--stack", "prod", "--principal", "EcsMcpDeploymentManagementRole",
        "--action", "iam:DeleteRolePermissionsBoundary",
        "--resource", "arn:aws:iam::444455556666:role/ecs-mcp-x",
    )  # fmt: skip
    assert code == 1
    lines = out.splitlines()
    [at] = [i for i, line in enumerate(lines) if line.startswith("  decided by: ")]
    assert "EcsMcpServerPermissionsBoundary" in lines[at] and "an explicit Deny" in lines[at]
    statement = json.loads(lines[at + 1])
    assert statement["Effect"] == "Deny" and "iam:DeleteRolePermissionsBoundary" in statement["Action"]
    assert "implicit" not in out and "nearest miss" not in out


def test_an_implicit_deny_says_so_and_labels_the_nearest_miss_as_one(capsys):
    code, out, _ = can(
        capsys, "--stack", "dev", "--principal", "dev-commandUser", "--action", "ecs:RunCommand",
        "--resource", DEV_INSTANCE, "--context", "ecs:CommandRunAs=root",
    )  # fmt: skip
    assert code == 1
    lines = out.splitlines()
    assert "  decided by: no statement: an implicit deny (nothing that applies allows it)" in lines
    [at] = [i for i, line in enumerate(lines) if line.startswith("  nearest miss, did not apply (Allow): ")]
    assert "dev-commandUserPolicy statement 1" in lines[at] and "ecs:CommandRunAs failed" in lines[at]
    assert json.loads(lines[at + 1])["Effect"] == "Allow"
    assert not any(line.startswith(("  allowed by", "  denied by")) for line in lines)


def test_an_implicit_deny_with_no_statement_near_says_there_is_none(capsys):
    code, out, _ = can(
        capsys,
        "--stack",
        "dev",
        "--principal",
        "dev-commandUser",
        "--action",
        "ram:CreateUser",
        "--resource",
        "*",
    )
    assert code == 1
    assert "  nearest miss: none (no statement names this action on this resource)" in out.splitlines()


def test_json_says_what_decided_and_carries_the_statements(capsys):
    code, out, _ = can(
        capsys, "--stack", "dev", "--principal", "dev-commandUser", "--action", "ecs:RunCommand",
        "--resource", DEV_INSTANCE, "--context", "ecs:CommandRunAs=root", "--format", "json",
    )  # fmt: skip
    result = json.loads(out)
    assert code == 1 and result["decidedBy"] == "implicit deny"
    [miss] = result["nearMisses"]
    assert result["statements"][f"{miss['policy']} statement {miss['statement']}"]["Effect"] == "Allow"


# --- Keys the cloud sets on every request: an omitted aws:RequestedRegion is some region ----------
PROD_CLUSTER = "arn:aws:ecs:us-east-1:444455556666:cluster/prod-cluster"
OTHER_LOAD_BALANCER = "arn:aws:elasticloadbalancing:us-east-1:444455556666:loadbalancer/app/someone-elses/1"


def test_the_prod_monitoring_role_describes_its_cluster_without_naming_a_region(capsys):
    # Was "deny": the boundary's region Deny fired on the missing key.
    code, out, _ = can(
        capsys, "--stack", "prod", "--principal", "EcsMcpReadOnlyMonitoringRole",
        "--action", "ecs:DescribeClusters", "--resource", PROD_CLUSTER,
    )  # fmt: skip
    assert code == 0 and out.startswith("allow\n"), out
    assert "set by the cloud: allow for aws:RequestedRegion=us-east-1" in out


@pytest.mark.parametrize("resource", [OTHER_LOAD_BALANCER, "*"])
def test_the_prod_deployment_role_on_another_load_balancer_answers_as_the_cloud_would(capsys, resource):
    # The cloud sets the region; the answer is the one given with the stack's region named, and
    # says which region it rests on.
    argv = [
        "--stack", "prod", "--principal", "EcsMcpDeploymentManagementRole",
        "--action", "elasticloadbalancing:DeleteLoadBalancer", "--resource", resource, "--format", "json",
    ]  # fmt: skip
    code, out, _ = can(capsys, *argv)
    omitted = json.loads(out)
    explicit_code, explicit, _ = can(capsys, *argv, "--context", "aws:RequestedRegion=us-east-1")
    assert code == explicit_code
    assert omitted["decision"] == json.loads(explicit)["decision"]
    [assumed] = omitted["assumed"]
    assert assumed["key"] == "aws:RequestedRegion" and "us-east-1" in assumed["asked"]
    if omitted["decision"] == "allow":
        assert assumed["allowing"] == ["us-east-1"]
    elsewhere = resource.replace("us-east-1", "eu-west-1")
    if elsewhere != resource:  # another region's load balancer: the boundary's region Deny
        code, out, _ = can(capsys, *argv[:7], elsewhere, "--format", "json")
        assert code == 1 and json.loads(out)["explicitDeny"]
