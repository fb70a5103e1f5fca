"""System (Alibaba Cloud) and managed (AWS) policies as data: every one a shipped stack attaches or
lets a principal attach is on file as its owner publishes it, and the evaluator reads it like a
custom policy (issue "Who can become whom", point 1).

And the guides' task, not more: in staging and prod no person holds a system policy that opens an
instance's console (``ecs:DescribeInstanceVncUrl``), its user data (``ecs:DescribeUserData``),
other runs' output (``ecs:DescribeInvocationResults``) or the account's secret parameters
(``oos:GetSecretParameter``) beyond the instances and commands of its own task.
"""

from __future__ import annotations

import contextlib
import io
import json

import pytest
from conftest import STACKS, example_resolved, plan_of

from baseline.analysis import access
from baseline.cli import main

SHIPPED = (*STACKS, "pipeline")
DEV_INSTANCE = "acs:ecs:cn-hangzhou:5012345678901234:instance/i-x"
PROD_DB = "acs:ecs:cn-hangzhou:5098765432109876:instance/i-bp1proddb00000000001"
PROD_WEB = "acs:ecs:cn-hangzhou:5098765432109876:instance/i-bp1prodweb0000000001"
# What the issue names: a console on every instance, its user data, every run's output, every
# secret parameter.
WIDER_THAN_THE_TASK = (
    "ecs:DescribeInstanceVncUrl",
    "ecs:DescribeUserData",
    "ecs:DescribeInvocationResults",
    "oos:GetSecretParameter",
)


def unfiled(plan: dict) -> list[tuple[str, str, str]]:
    return [ref for ref in access.managed_policy_references(plan) if access.managed_policy(*ref[:2]) is None]


@pytest.mark.parametrize("stack", SHIPPED)
def test_every_system_or_managed_policy_a_stack_attaches_is_on_file(stack):
    plan = plan_of(stack)
    assert access.managed_policy_references(plan)
    assert unfiled(plan) == []
    for principal in access.principals(plan):
        assert access.grants_of(plan, principal).not_evaluated == [], principal.name


def test_the_pipeline_may_attach_only_policies_on_file():
    from baseline.spec import deployer_reach

    for stack in STACKS:
        resolved = example_resolved(stack)
        reach = deployer_reach(resolved.alicloud, resolved.aws)
        for name in reach.system:
            assert access.managed_policy("alicloud", name) is not None, (stack, name)
        for arn in reach.managed:
            if arn.startswith(access.AWS_MANAGED_PREFIX):
                assert access.managed_policy("aws", arn) is not None, (stack, arn)


def test_a_stack_attaching_a_policy_with_no_document_on_file_is_caught():
    plan = {
        "resources": [
            {
                "type": access.ALI_USER_ATTACHMENT,
                "name": "x",
                "inputs": {"userName": "u", "policyName": "AliyunNotOnFileAccess", "policyType": "System"},
            },
            {
                "type": access.AWS_ROLE_ATTACHMENT,
                "name": "y",
                "inputs": {"role": "r", "policyArn": "arn:aws:iam::aws:policy/AmazonNotOnFile"},
            },
            {
                "type": access.AWS_POLICY,
                "name": "z",
                "inputs": {
                    "policy": json.dumps(
                        {
                            "Statement": [
                                {
                                    "Effect": "Allow",
                                    "Action": "iam:AttachRolePolicy",
                                    "Resource": "*",
                                    "Condition": {
                                        "ArnEquals": {
                                            "iam:PolicyARN": "arn:aws:iam::aws:policy/AlsoNotOnFile"
                                        }
                                    },
                                }
                            ]
                        }
                    )
                },
            },
        ]
    }
    assert {name for _, name, _ in unfiled(plan)} == {
        "AliyunNotOnFileAccess",
        "arn:aws:iam::aws:policy/AmazonNotOnFile",
        "arn:aws:iam::aws:policy/AlsoNotOnFile",
    }


@pytest.mark.parametrize("cloud", ["alicloud", "aws"])
def test_each_document_on_file_says_where_it_was_read(cloud):
    files = sorted((access.MANAGED_POLICY_DIR / cloud).glob("*.json"))
    assert files
    for path in files:
        data = json.loads(path.read_text())
        assert data["name"] == path.stem and data["cloud"] == cloud
        assert data["source"].startswith("https://") and data["retrieved"]
        assert isinstance(data["verbatim"], bool)
        # An unknown version or date, or a copy that is not the owner's, says why.
        if not (data["verbatim"] and data["version"] and data["updated"]):
            assert data["note"], path.name
        assert data["document"]["Statement"]
        if cloud == "aws":
            assert data["arn"].startswith(access.AWS_MANAGED_PREFIX) and data["arn"].endswith("/" + path.stem)


def test_an_aws_managed_policy_is_matched_by_its_whole_arn():
    filed = access.managed_policy(
        "aws", "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
    )
    assert filed is not None and filed.name == "AmazonECSTaskExecutionRolePolicy"
    assert access.managed_policy("aws", "arn:aws:iam::aws:policy/AmazonECSTaskExecutionRolePolicy") is None


def can(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main(["can", *argv])
    return code, out.getvalue()


def test_dev_keeps_the_system_policy_and_can_names_it_as_the_deciding_statement():
    code, out = can(
        "--stack", "dev", "--principal", "dev-commandUser",
        "--action", "ecs:DescribeInstanceVncUrl", "--resource", DEV_INSTANCE,
    )  # fmt: skip
    assert code == 0 and out.startswith("allow\n"), out
    assert "decided by: AliyunECSReadOnlyAccess (system) statement 0, an Allow" in out


@pytest.mark.parametrize("instance", [PROD_DB, PROD_WEB])
def test_prod_command_user_gets_no_console_on_any_instance(instance):
    # Was "deny" only because the system policy was invisible; now it is really not attached.
    code, out = can(
        "--stack", "prod", "--principal", "commandUser",
        "--action", "ecs:DescribeInstanceVncUrl", "--resource", instance,
    )  # fmt: skip
    assert code == 1 and out.startswith("deny\n"), out
    assert "AliyunECSReadOnlyAccess" not in out


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_no_person_in_a_strict_stack_holds_a_system_policy_wider_than_its_task(stack):
    plan = plan_of(stack)
    for principal in access.principals(plan):
        grants = access.grants_of(plan, principal)
        system = [p for p in grants.policies if p.name.endswith("(system)")]
        for policy in system:
            held = access.Grants(principal, [policy])
            for action in WIDER_THAN_THE_TASK:
                assert not held.decide_any(action)[1], (principal.name, policy.name, action)


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_strict_command_users_read_what_the_guide_reads_on_their_own_instances(stack):
    from baseline.documents.alicloud import CLOUD_ASSISTANT_READ_ACTIONS

    plan = plan_of(stack)
    for name in ("commandUser", "winCommandUser"):
        [principal] = [p for p in access.principals(plan) if p.name.endswith(name) and p.kind == "user"]
        grants = access.grants_of(plan, principal)
        own = next(p for p in grants.policies if p.name.endswith(f"{name}ReadPolicy"))
        # The guide's reads on the user's own instances, and the console's listing: DescribeInstances
        # on the region's instance/* (RAM checks a listing there), nothing else on instance/*.
        # Each read on the resources of its own types (one statement per set of types).
        *reads, listing = own.document["Statement"]
        assert sorted(a for s in reads for a in s["Action"]) == sorted(
            a for a in CLOUD_ASSISTANT_READ_ACTIONS if a != "ecs:DescribeInstances"
        )
        assert not any(
            "*" in s["Resource"] or any(r.endswith("instance/*") for r in s["Resource"]) for s in reads
        )
        assert listing["Action"] == ["ecs:DescribeInstances"]
        assert [r.rsplit(":", 1)[1] for r in listing["Resource"]] == ["instance/*"]
        for action in ("ecs:DescribeInstanceVncUrl", "ecs:DescribeUserData"):
            assert not grants.decide_any(action)[1], (principal.name, action)
        # Output of runs: only on the instances its own command policy names.
        results = set(grants.decide_any("ecs:DescribeInvocationResults")[1])
        commands = next(p for p in grants.policies if p.name.endswith(f"{name}Policy"))
        named = {r for s in commands.document["Statement"] if "Condition" in s for r in s["Resource"]}
        assert results <= named, results
    win = next(p for p in access.principals(plan) if p.name.endswith("winCommandUser"))
    grants = access.grants_of(plan, win)
    assert not grants.decide_any("oos:GetSecretParameter")[1]
    assert grants.decide_any("oos:ListSecretParameters")[1]
