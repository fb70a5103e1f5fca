"""The solver (baseline/analysis/symbolic.py): every request at once, each answer re-checked.

`can --any` asks whether any request matching patterns is allowed, in any context the --context
constraints leave open: allow with a witness (a `can` command that reproduces it), or deny with a
proof. The guide's own question for S2: can commandUser run any command, as any OS user but
user01 and user02, on any instance?
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
import yaml
from conftest import FIXTURES, ROOT, plan_of

from baseline.analysis import access, symbolic
from baseline.analysis.evaluator import NamedPolicy, evaluate_request
from baseline.cli import main

OUTSIDE_THE_LISTED_USERS = ["--context", "ecs:CommandRunAs!=user01", "--context", "ecs:CommandRunAs!=user02"]
ANY_COMMAND_ON_ANY_INSTANCE = ["--action", "ecs:RunCommand", "--resource", "acs:ecs:*:*:instance/*"]


def can(capsys, *argv: str) -> tuple[int, str]:
    code = main(["can", *argv])
    out, _ = capsys.readouterr()
    return code, out


def test_commanduser_runs_no_command_as_another_os_user_on_any_instance_proved(capsys):
    code, out = can(capsys, "--stack", "dev", "--principal", "dev-commandUser", "--any",
                    *ANY_COMMAND_ON_ANY_INSTANCE, *OUTSIDE_THE_LISTED_USERS)  # fmt: skip
    assert code == 1
    assert out.startswith("deny (proved: no request matching the question is allowed")
    # Every policy the user holds is on file (AliyunECSReadOnlyAccess included): the proof is whole.
    assert "evaluated offline" not in out


def deny_privileged_dev(tmp_path: Path) -> Path:
    document = yaml.safe_load((FIXTURES / "Pulumi.dev.yaml").read_text())
    linux = document["config"]["ecs-access-baseline:cloudAssistantLinux"]
    linux.update(mode="deny-privileged", allowCommandsWithoutRunAs=True)
    del linux["runAsUsers"]
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def test_in_deny_privileged_mode_the_answer_is_allow_with_a_witness_that_can_reproduces(tmp_path, capsys):
    stack_file = str(deny_privileged_dev(tmp_path))
    code, out = can(capsys, "--stack", "dev", "--config-file", stack_file, "--principal", "dev-commandUser",
                    "--any", *ANY_COMMAND_ON_ANY_INSTANCE, *OUTSIDE_THE_LISTED_USERS,
                    "--format", "json")  # fmt: skip
    assert code == 0
    result = json.loads(out)
    assert result["decision"] == "allow" and not result["proved"]
    conditions = [c["conditions"] for c in result["classes"]]
    assert ["no ecs:CommandRunAs"] in conditions  # a command naming no OS user: root
    for item in result["classes"]:
        argv = item["reproduce"].split()
        assert argv[:4] == [".venv/bin/python", "-m", "baseline", "can"] and "--config-file" in argv
        assert main(argv[3:]) == 0  # the evaluator allows the witness
        capsys.readouterr()


def test_a_key_the_cloud_always_sets_is_some_value_never_absent(capsys):
    # The S6 boundary denies other regions with StringNotEquals aws:RequestedRegion: a question
    # that leaves the region out is answered for the values that allow it, and says which.
    code, out = can(capsys, "--stack", "prod", "--principal", "EcsMcpReadOnlyMonitoringRole", "--any",
                    "--action", "ecs:DescribeClusters",
                    "--resource", "arn:aws:ecs:us-east-1:444455556666:cluster/prod-cluster")  # fmt: skip
    assert code == 0
    assert "with aws:RequestedRegion=us-east-1" in out
    assert "--context aws:RequestedRegion=us-east-1" in out


def test_a_bad_any_context_is_one_line(capsys):
    code = main(["can", "--stack", "dev", "--principal", "dev-commandUser", "--any", "--context", "nokey"])
    _, err = capsys.readouterr()
    assert code == 2 and err.startswith("error: --context") and "KEY!=VALUE" in err


# --- the encoding, construct by construct, against the evaluator ---------------------------------


class Grants:
    """What access.grants_of returns, for documents written here."""

    def __init__(self, cloud: str, *statements: dict, boundary: list[dict] | None = None) -> None:
        self.principal = access.Principal(cloud, "user", "op", "op-user")
        self.policies = [NamedPolicy("p", {"Version": "1", "Statement": list(statements)})]
        self.boundary = None if boundary is None else [NamedPolicy("b", {"Statement": boundary})]
        self.not_evaluated: list[str] = []


def agree(grants: Grants, action: str, resource: str, context: dict) -> bool:
    concrete = evaluate_request(
        grants.policies, grants.principal.cloud, action, resource, context, boundary=grants.boundary
    ).allowed
    assert symbolic.decide(grants, action, resource, context) == concrete
    return concrete


def test_an_arn_wildcard_never_crosses_the_fixed_parts():
    grants = Grants("aws", {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket*"})
    assert agree(grants, "s3:GetObject", "arn:aws:s3:::bucket/key:with:colons", {})
    assert not agree(grants, "s3:GetObject", "arn:aws:s3:us-east-1::bucket", {})
    answer = symbolic.any_allowed(grants, "s3:GetObject", "arn:aws:s3:us-east-1:*:*")
    assert answer.proved_none  # no region but the empty one, for every key of every bucket


def test_not_action_and_a_negated_operator_on_an_absent_key():
    grants = Grants(
        "alicloud",
        {"Effect": "Allow", "NotAction": "ram:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "ecs:RunCommand", "Resource": "*",
         "Condition": {"StringNotEqualsIgnoreCase": {"ecs:CommandRunAs": ["user01"]}}},
    )  # fmt: skip
    assert not agree(grants, "ram:PassRole", "*", {})
    assert not agree(grants, "ecs:RunCommand", "*", {})  # absent: the negated Deny holds
    assert agree(grants, "ECS:runcommand", "*", {"ecs:CommandRunAs": "USER01"})
    answer = symbolic.any_allowed(grants, "ecs:RunCommand")
    [only] = answer.classes
    assert (
        only.conditions == ["ecs:CommandRunAs=user01"]
        or "user01" in only.witness.context["ecs:CommandRunAs"][0].lower()
    )


def test_if_exists_null_and_for_any_value():
    grants = Grants(
        "aws",
        {"Effect": "Allow", "Action": "ec2:RunInstances", "Resource": "*",
         "Condition": {"StringEqualsIfExists": {"ec2:InstanceType": "t3.micro"},
                       "Null": {"aws:RequestTag/team": "false"},
                       "ForAnyValue:StringLike": {"aws:TagKeys": ["team*"]}}},
    )  # fmt: skip
    tags = {"aws:RequestTag/team": "a", "aws:TagKeys": ["x", "team-a"]}
    assert agree(grants, "ec2:RunInstances", "*", tags)
    assert not agree(grants, "ec2:RunInstances", "*", {**tags, "ec2:InstanceType": "m5.large"})
    assert not agree(grants, "ec2:RunInstances", "*", {"aws:TagKeys": ["team"]})
    # One value per ForAnyValue the request must meet is enough: with one such use the encoding
    # of up to 2 values is exact, and the answer rests on no approximation.
    answer = symbolic.any_allowed(grants, "ec2:RunInstances", limit=5)
    assert answer.classes and answer.approximations == []


def test_more_existential_uses_of_a_key_than_value_slots_are_named_as_an_approximation():
    grants = Grants(
        "aws",
        {"Effect": "Allow", "Action": "ec2:RunInstances", "Resource": "*",
         "Condition": {"ForAnyValue:StringLike": {"aws:TagKeys": ["team*"]},
                       "ForAnyValue:StringEquals": {"aws:TagKeys": ["owner"]},
                       "ForAnyValue:StringNotEquals": {"aws:TagKeys": ["team-a"]}}},
    )  # fmt: skip
    answer = symbolic.any_allowed(grants, "ec2:RunInstances")
    assert answer.classes
    assert answer.approximations == [
        "ForAnyValue/ForAllValues on aws:TagKeys: requests with up to 2 values asked"
    ]
    # A Deny's ForAnyValue must fail for every value: universal, so the bound stays exact.
    denied = Grants(
        "aws",
        {"Effect": "Allow", "Action": "ecs:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "ecs:UntagResource", "Resource": "*",
         "Condition": {"ForAnyValue:StringEquals": {"aws:TagKeys": ["Environment"]}}},
    )  # fmt: skip
    assert symbolic.any_allowed(denied, "ecs:UntagResource").approximations == []


def test_a_boundary_and_a_deny_limit_what_the_identity_policy_allows():
    grants = Grants(
        "aws",
        {"Effect": "Allow", "Action": "iam:*", "Resource": "*"},
        boundary=[{"Effect": "Allow", "Action": "iam:Get*", "Resource": "*"},
                  {"Effect": "Deny", "Action": "iam:GetRole", "Resource": "arn:aws:iam::*:role/admin"}],
    )  # fmt: skip
    assert not agree(grants, "iam:PassRole", "*", {})
    assert not agree(grants, "iam:GetRole", "arn:aws:iam::1:role/admin", {})
    assert agree(grants, "iam:GetRole", "arn:aws:iam::1:role/other", {})
    assert symbolic.any_allowed(grants, "iam:Pass*").proved_none


def test_new_access_is_proved_none_or_listed_with_witnesses_the_evaluator_confirms():
    before = Grants("alicloud", {"Effect": "Allow", "Action": "ecs:Describe*", "Resource": "*"})
    after = Grants("alicloud", {"Effect": "Allow", "Action": ["ecs:Describe*", "ecs:StartInstance"],
                                "Resource": "acs:ecs:*:*:instance/*"})  # fmt: skip
    gained = symbolic.new_access(before, after)
    [start] = gained.classes
    assert start.actions == ["ecs:StartInstance"] and start.resource == "acs:ecs:*:*:instance/*"
    assert gained.complete
    lost = symbolic.new_access(after, before)
    assert lost.classes and all(c.witness.action.lower().startswith("ecs:describe") for c in lost.classes)
    assert symbolic.new_access(before, before).proved_none


def test_the_plan_path_never_imports_the_solver():
    import subprocess
    import sys

    dev = str(FIXTURES / "Pulumi.dev.yaml")
    argv = ["plan", "--stack", "dev", "--format", "json", "--config-file", dev]
    probe = f"import sys, baseline.cli; baseline.cli.main({argv!r}); "
    probe += "sys.stderr.write(str('z3' in sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True)
    # Nothing after the answer: the loops the plan opened were closed before interpreter teardown.
    assert done.stderr.strip().endswith("False") and "Exception ignored" not in done.stderr


def test_every_principal_of_prod_encodes_and_its_any_request_witness_is_allowed():
    plan = plan_of("prod")
    for principal in access.principals(plan):
        grants = access.grants_of(plan, principal)
        answer = symbolic.any_allowed(grants)  # the witness is re-checked inside, or it raises
        if grants.policies:
            assert answer.classes, principal


def readme_any_examples() -> list[tuple[list[str], list[str]]]:
    """The `can --any` examples of docs/proofs.md: (argv, the output lines it documents)."""
    text = (ROOT / "docs" / "proofs.md").read_text()
    block = text[text.index("# Can dev's commandUser") :].split("```", 1)[0]
    examples = []
    for chunk in block.split("\n\n"):
        lines = chunk.splitlines()
        command = " ".join(line.rstrip("\\").strip() for line in lines if line.startswith((".venv", "    ")))
        shown = [line[2:] for line in lines if line.startswith("# ") and not line.rstrip().endswith("?")]
        examples.append((shlex.split(command)[3:], shown))
    return examples


@pytest.mark.parametrize("example", range(2))
def test_the_readme_any_examples_print_what_the_readme_shows(example, capsys):
    argv, shown = readme_any_examples()[example]
    code = main(argv)
    out, _ = capsys.readouterr()
    assert code == (1 if example == 0 else 0)
    lines = [line.strip() for line in out.splitlines()]
    for line in shown:
        assert line.strip() in lines


def test_a_witness_the_evaluator_does_not_allow_fails_loudly(monkeypatch):
    grants = Grants("alicloud", {"Effect": "Allow", "Action": "ecs:DescribeInstances", "Resource": "*"})
    real = symbolic.evaluate_request

    def disagreeing(*args, **kwargs):
        decision = real(*args, **kwargs)
        return type(decision)(not decision.allowed, "a broken evaluator")

    monkeypatch.setattr(symbolic, "evaluate_request", disagreeing)
    with pytest.raises(symbolic.SolverMismatch, match="the solver says allow but the evaluator says deny"):
        symbolic.any_allowed(grants)


def test_can_any_says_a_witness_is_one_request_of_a_call_that_needs_more_resources(capsys):
    code = main(
        ["can", "--stack", "dev", "--principal", "dev-commandUser", "--any", "--action", "ecs:InvokeCommand"]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "request:   one of the call's: ecs:InvokeCommand is also authorised on" in out
    code = main(
        ["can", "--stack", "dev", "--principal", "dev-commandUser", "--any", "--action", "ecs:RunCommand"]
    )
    assert "one of the call's" not in capsys.readouterr().out
