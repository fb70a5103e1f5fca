"""`python -m baseline lint` and `can` asked as the cloud makes requests (issue 22, points 2-5).

The plans in tests/data/plans_before_reference/ are prod's and the pipeline's as they were
before the authorization reference: lint must find every example the issue names in them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

from baseline.analysis import access, lint
from baseline.analysis.evaluator import NamedPolicy, WrongResourceType, evaluate_call
from baseline.cli import main

BEFORE = ROOT / "tests" / "data" / "plans_before_reference"
PROD = ROOT / "stacks" / "Pulumi.prod.yaml"
PROD_ACCOUNT = "5098765432109876"
TEMPLATE = f"acs:oos:cn-hangzhou:{PROD_ACCOUNT}:template/ACS-ECS-BulkyApplyPatchBaseline"


def findings(stack: str) -> list[lint.Finding]:
    # The plans before the fixes, judged without the exclusions made for the fixed documents.
    return lint.lint_plan(json.loads((BEFORE / f"{stack}.json").read_text()), []).findings


def has(found, kind: str, action: str, policy: str | None = None, key: str = "") -> bool:
    return any(
        f.kind == kind and f.action == action and (policy is None or f.policy == policy) and f.key == key
        for f in found
    )


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# --- lint finds every example of the issue in today's plans -------------------------------------


def test_lint_finds_each_example_of_the_issue_in_todays_prod_plan():
    found = findings("prod")
    # StartExecution is authorised on execution/*: a template ARN does nothing.
    assert has(found, "resource-type", "oos:StartExecution", "OOSPatchOperatorPolicy")
    # InvokeCommand is a call on the command and the instance; CreateSnapshot on the disk and snapshot/*.
    assert has(found, "required-resource", "ecs:InvokeCommand")
    assert has(found, "required-resource", "ecs:CreateSnapshot")
    # ecs:CommandRunAs is carried by InvokeCommand and RunCommand only.
    for action in (
        "ecs:CreateCommand",
        "ecs:DeleteCommand",
        "ecs:StopInvocation",
        "ecs:InstallCloudAssistant",
    ):
        assert has(found, "condition-key", action, "commandUserPolicy", "ecs:CommandRunAs"), action
    assert not has(found, "condition-key", "ecs:InvokeCommand", key="ecs:CommandRunAs")
    assert not has(found, "condition-key", "ecs:RunCommand", key="ecs:CommandRunAs")
    # Listing instances is checked against instance/*, not the instances a policy names.
    assert has(found, "list-scope", "ecs:DescribeInstances", "commandUserPolicy")
    # The secret parameter's customer-managed key: reading it needs kms:Decrypt on that key.
    assert any(
        f.kind == "dependency"
        and f.policy == "AxtSecretRamRolePolicy"
        and "key-hzz6prodcmk0000000001" in f.resource
        for f in found
    )


def test_lint_finds_the_attach_policy_calls_granted_without_the_principal_in_todays_pipeline_plan():
    found = findings("pipeline")
    # The resource-group attachment is authorised as ram:AttachPolicy on the policy and its
    # principal, a user named acs:ims:*:<account>:user/<name>; the plan named acs:ram: users.
    assert has(found, "resource-type", "ram:AttachPolicy", "github-prod-deploy-policy")
    assert has(found, "resource-type", "ram:AttachPolicyToUser", "github-prod-deploy-policy")


def test_an_action_no_reference_row_has_is_an_unknown_action_and_a_wildcard_is_not():
    document = {
        "Statement": [{"Effect": "Allow", "Action": ["ecs:Describe", "ecs:Describe*"], "Resource": "*"}]
    }
    found = lint.lint_document("p", document)
    assert [(f.kind, f.action) for f in found] == [("unknown-action", "ecs:Describe")]


def test_a_deny_on_a_key_the_action_never_carries_never_fires_and_lint_says_so():
    document = {
        "Statement": [
            {
                "Effect": "Deny",
                "Action": "ecs:CreateCommand",
                "Resource": "*",
                "Condition": {"StringEquals": {"ecs:CommandRunAs": "root"}},
            }
        ]
    }
    [finding] = lint.lint_document("p", document)
    assert (finding.kind, finding.key) == ("condition-key", "ecs:CommandRunAs")
    assert "never fires" in finding.detail


def test_an_exclusion_keyed_by_policy_action_and_kind_removes_only_its_findings():
    plan = json.loads((BEFORE / "prod.json").read_text())
    rule = lint.Exclusion("list-scope", "commandUser*", "ecs:DescribeInstances", "a reason")
    result = lint.lint_plan(plan, [rule])
    assert not has(result.findings, "list-scope", "ecs:DescribeInstances", "commandUserPolicy")
    assert has(result.findings, "list-scope", "ecs:DescribeInstances", "winCommandUserPolicy")
    assert [e.reason for _, e in result.excluded] == ["a reason", "a reason"]


def test_every_exclusion_on_file_has_a_reason_and_names_no_stack():
    data = yaml.safe_load(lint.EXCLUSIONS.read_text())
    for entry in data["exclusions"]:
        assert entry["kind"] in lint.KINDS and entry["reason"].strip()
        assert "stack" not in entry


def test_lint_cli_exit_codes_and_json_shape(capsys, tmp_path):
    code, out, err = run(capsys, "lint", "--plan", str(BEFORE / "prod.json"), "--format", "json")
    assert code == 1 and err == ""
    rows = json.loads(out)["findings"]
    assert rows and set(rows[0]) == {"kind", "policy", "statement", "action", "resource", "key", "detail"}
    clean = tmp_path / "clean.json"
    clean.write_text(json.dumps({"resources": []}))
    assert run(capsys, "lint", "--plan", str(clean))[0] == 0
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    code, out, err = run(capsys, "lint", "--plan", str(bad))
    assert code == 2 and out == "" and err.startswith("error: --plan")
    assert run(capsys, "lint")[0] == 2


# --- can asks calls ------------------------------------------------------------------------------


def test_can_refuses_a_template_for_start_execution_naming_execution(capsys):
    code, out, err = run(
        capsys, "can", "--stack", "prod", "--principal", "patchOperator",
        "--action", "oos:StartExecution", "--resource", TEMPLATE,
    )  # fmt: skip
    assert code == 2 and out == ""
    assert "oos:StartExecution is authorised on execution/*, not on template/" in err


def test_can_a_command_run_as_condition_on_create_command_never_matches(capsys):
    code, out, _ = run(
        capsys, "can", "--stack", "prod", "--principal", "commandUser", "--action", "ecs:CreateCommand",
        "--resource", f"acs:ecs:cn-hangzhou:{PROD_ACCOUNT}:command/*", "--context", "ecs:CommandRunAs=user01",
    )  # fmt: skip
    # The shipped documents now give the command calls that carry no ecs:CommandRunAs their own
    # statement, so the user may create commands; the key is still ignored, never matched.
    assert code == 0
    assert "ignored:   ecs:CommandRunAs (ecs:CreateCommand never carries it: absent)" in out


def test_invoke_command_is_asked_on_the_instance_and_the_command_and_a_left_out_one_is_any_of_its_type(
    capsys,
):
    instance = f"acs:ecs:cn-hangzhou:{PROD_ACCOUNT}:instance/i-bp1prodweb0000000001"
    _, out, _ = run(
        capsys, "can", "--stack", "prod", "--principal", "commandUser", "--action", "ecs:InvokeCommand",
        "--resource", instance, "--context", "ecs:CommandRunAs=user01", "--format", "json",
    )  # fmt: skip
    call = json.loads(out)["call"]
    assert [r["resource"] for r in call["resources"]][-1] == instance
    assert call["anyOfType"] == [f"acs:ecs:cn-hangzhou:{PROD_ACCOUNT}:command/*"]


def test_a_call_is_allowed_only_when_every_resource_is():
    instance = "acs:ecs:cn-hangzhou:1:instance/i-1"
    command = "acs:ecs:cn-hangzhou:1:command/c-1"
    only_instance = [
        NamedPolicy(
            "p", {"Statement": [{"Effect": "Allow", "Action": "ecs:InvokeCommand", "Resource": instance}]}
        )
    ]
    assert not evaluate_call(only_instance, "alicloud", "ecs:InvokeCommand", [instance, command]).allowed
    both = [
        NamedPolicy(
            "p",
            {
                "Statement": [
                    {"Effect": "Allow", "Action": "ecs:InvokeCommand", "Resource": [instance, command]}
                ]
            },
        )
    ]
    assert evaluate_call(both, "alicloud", "ecs:InvokeCommand", [instance, command]).allowed
    with pytest.raises(WrongResourceType):
        evaluate_call(both, "alicloud", "ecs:InvokeCommand", ["acs:oss:*:1:bucket/b"])


def test_start_execution_readings_disagree_escalation_takes_the_permissive_and_tasks_the_strict():
    execution = "acs:oos:cn-hangzhou:1:execution/*"
    policies = [
        NamedPolicy(
            "p", {"Statement": [{"Effect": "Allow", "Action": "oos:StartExecution", "Resource": execution}]}
        )
    ]
    assert evaluate_call(policies, "alicloud", "oos:StartExecution", [execution], mode="permissive").allowed
    strict = evaluate_call(policies, "alicloud", "oos:StartExecution", [execution], mode="strict")
    assert not strict.allowed and strict.reading == "older-page"


# --- unknown is never "nothing" ------------------------------------------------------------------


def with_system_policies(tmp_path: Path) -> Path:
    document = yaml.safe_load(PROD.read_text())
    document["config"]["ecs-access-baseline:patchManagement"]["systemPolicies"] = [
        "AliyunECSFullAccess",
        "AliyunOOSFullAccess",
    ]
    path = tmp_path / "Pulumi.prod.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def test_a_policy_not_on_file_makes_can_answer_unknown_exit_4(tmp_path, capsys):
    stack = with_system_policies(tmp_path)
    code, out, _ = run(
        capsys, "can", "--stack", "prod", "--config-file", str(stack), "--principal", "PatchAutomationRole",
        "--action", "oos:StartExecution", "--resource", f"acs:oos:cn-hangzhou:{PROD_ACCOUNT}:execution/*",
    )  # fmt: skip
    assert code == 4
    assert out.startswith("unknown: AliyunOOSFullAccess is not modelled")
    # AliyunECSFullAccess is on file now: ecs:* on every instance is an allow, not "nothing".
    code, out, _ = run(
        capsys, "can", "--stack", "prod", "--config-file", str(stack), "--principal", "PatchAutomationRole",
        "--action", "ecs:ModifyInstanceAttribute",
        "--resource", f"acs:ecs:cn-hangzhou:{PROD_ACCOUNT}:instance/i-any",
    )  # fmt: skip
    assert code == 0 and out.startswith("allow")


def test_diff_never_says_proved_over_a_policy_not_on_file(tmp_path, capsys):
    stack = with_system_policies(tmp_path)
    _, out, _ = run(
        capsys, "diff", "--stack", "prod", "--base-config-file", str(PROD), "--config-file", str(stack)
    )
    assert "(proved)" not in out
    assert "unmodelled access: system policy AliyunOOSFullAccess" in out
    assert access.policy_services("AliyunOOSFullAccess") == frozenset({"oos"})


def test_paths_treat_the_holder_of_a_policy_not_on_file_as_possibly_admin(tmp_path, capsys):
    stack = with_system_policies(tmp_path)
    code, out, _ = run(capsys, "paths", "--stack", "prod", "--config-file", str(stack), "--format", "json")
    steps = [s for p in json.loads(out)["paths"] for s in p["steps"] if s["kind"] == "unmodelled"]
    assert code == 1 and steps
    assert "AliyunOOSFullAccess, which is not modelled: possibly admin of oos" in steps[0]["reason"]


# --- older readings and placeholders -------------------------------------------------------------


def _lint(statement: dict) -> list[lint.Finding]:
    return lint.lint_document("p", {"Version": "1", "Statement": [statement]})


def test_an_older_readings_resource_beside_the_current_types_is_no_finding():
    execution, template = "acs:oos:cn-hangzhou:1:execution/*", "acs:oos:cn-hangzhou:1:template/T"
    both = _lint({"Effect": "Allow", "Action": "oos:StartExecution", "Resource": [execution, template]})
    assert [f.kind for f in both] == []
    # Alone, the template (only the older page's type) still does nothing under the current page.
    alone = _lint({"Effect": "Allow", "Action": "oos:StartExecution", "Resource": [template]})
    assert [f.kind for f in alone] == ["resource-type"]


def test_a_placeholder_row_says_nothing_about_condition_keys():
    statement = {
        "Effect": "Allow",
        "Action": "ram:PassRole",  # unsettled: no page row read
        "Resource": "*",
        "Condition": {"StringEquals": {"acs:Service": ["ecs.aliyuncs.com"]}},
    }
    assert _lint(statement) == []
    settled = {
        **statement,
        "Action": "ecs:CreateCommand",
        "Condition": {"StringEquals": {"ecs:CommandRunAs": "u"}},
    }
    assert [f.kind for f in _lint(settled)] == ["condition-key"]


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_shipped_stacks_lint_clean_outside_the_exclusions(stack: str) -> None:
    from conftest import plan_of

    assert lint.lint_plan(plan_of(stack)).findings == []


def test_make_policy_fails_on_a_lint_finding():
    """The shipped stacks lint clean, so `make policy` no longer ignores the linter's exit code."""
    recipe = (ROOT / "Makefile").read_text().split("\npolicy:", 1)[1].split("\n\n", 1)[0]
    assert "\t$(BIN)/python -m baseline lint --stack $(STACK)" in recipe.splitlines()


# --- the pipeline's exclusions ---------------------------------------------------------------------


def test_every_exclusion_on_file_is_needed_by_an_example_stack_and_the_pipeline_lints_clean():
    from conftest import plan_of

    used: set[lint.Exclusion] = set()
    for stack in ("dev", "staging", "prod", "pipeline"):
        result = lint.lint_plan(plan_of(stack))
        used |= {rule for _, rule in result.excluded}
        if stack == "pipeline":
            assert result.findings == []
    assert [e for e in lint.exclusions() if e not in used] == []


def test_the_kms_secret_exclusion_never_hides_a_missing_decrypt_on_a_named_key():
    """The preview role reads prod's parameter, which a customer key encrypts (as the parameter's own
    resource says when it sits in the plan linted): without its Decrypt statement lint finds the
    missing Decrypt on that key, the KMS-secret exclusion applied and not hiding it."""
    import copy

    from conftest import plan_of

    plan = copy.deepcopy(plan_of("pipeline"))
    key = "key-hzz6prodcmk0000000001"
    (policy,) = [
        r
        for r in plan["resources"]
        if r["type"] == "alicloud:ram/policy:Policy"
        and r["inputs"]["policyName"] == "github-prod-preview-policy"
    ]
    document = json.loads(policy["inputs"]["policyDocument"])
    kept = [s for s in document["Statement"] if "kms:Decrypt" not in s["Action"]]
    assert len(kept) == len(document["Statement"]) - 1
    policy["inputs"]["policyDocument"] = json.dumps({**document, "Statement": kept})
    parameter = {"secretParameterName": "axtSecretPassword", "keyId": key}
    plan["resources"].append({"type": lint.SECRET_PARAMETER, "name": "secret", "inputs": parameter})
    found = [f for f in lint.lint_plan(plan).findings if f.policy == "github-prod-preview-policy"]
    assert [(f.kind, f.action, f.resource) for f in found] == [
        ("dependency", "oos:GetSecretParameter", f"acs:kms:*:*:key/{key}")
    ]
    # The same finding naming no resource (a KMS secret's) is the one the entry excludes.
    rule = next(e for e in lint.exclusions() if e.policy == "*-preview-policy" and e.kind == "dependency")
    assert not rule.excludes(found[0]) and rule.excludes(
        lint.Finding(**{**found[0].__dict__, "resource": ""})
    )
