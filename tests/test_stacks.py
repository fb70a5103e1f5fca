"""The whole program, per checked-in stack, read like the guides."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml
from conftest import FIXTURES, ROOT, STACKS, plan_of, policy_documents, resources

from baseline.cli import main
from baseline.documents.alicloud import CLOUD_ASSISTANT_ACTIONS, PATCH_ECS_ACTIONS, PATCH_OOS_ACTIONS

IDENTITY_TYPES = {"alicloud:ram/user:User", "alicloud:ram/role:Role", "alicloud:ram/policy:Policy"}


def stack_config(stack: str) -> dict:
    document = yaml.safe_load((FIXTURES / f"Pulumi.{stack}.yaml").read_text())
    return {k.split(":", 1)[1]: v for k, v in document["config"].items()}


def by_name(plan: dict) -> dict[str, dict]:
    return {r["name"]: r for r in plan["resources"]}


def test_every_custom_resource_is_parented_by_a_component(stack):
    plan = plan_of(stack)
    names = by_name(plan)
    for resource in plan["resources"]:
        if resource["type"].startswith(("alicloud:", "aws:")):
            parent = names[resource["parent"]]
            assert parent["type"].startswith("ecs-access-baseline:"), resource["name"]
            assert resource["provider"], f"{resource['name']} must use an explicit provider"


def _on(document: dict) -> dict[str, list[str]]:
    """Action -> every resource the document's Allow statements grant it on."""
    found: dict[str, list[str]] = {}
    for statement in document["Statement"]:
        for action in statement["Action"]:
            found.setdefault(action, []).extend(statement["Resource"])
    return found


def test_patch_management_policy_has_the_guide_actions(stack):
    config = stack_config(stack)["patchManagement"]
    plan = plan_of(stack)
    name = config.get("policyName", "OOSPatchManagementPolicy")
    (policy,) = [
        r
        for r in resources(plan, "alicloud:ram/policy:Policy")
        if r["parent"] == "patch-management" and r["inputs"]["policyName"].endswith(name)
    ]
    granted = _on(json.loads(policy["inputs"]["policyDocument"]))
    # The guide's actions (each on its own resource types), RunCommand the template calls, and the
    # snapshot actions (with DescribeDisks) only where whetherCreateSnapshot is on.
    assert set(PATCH_OOS_ACTIONS) | set(PATCH_ECS_ACTIONS) <= set(granted)
    snapshot = config.get("whetherCreateSnapshot", False)
    assert ({"ecs:CreateSnapshot", "ecs:DescribeDisks"} <= set(granted)) is snapshot


def test_nobody_can_delete_snapshots_in_any_stack(stack):
    for document in policy_documents(plan_of(stack)).values():
        for statement in document["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert "ecs:deletesnapshot" not in {a.lower() for a in actions}


def test_prod_scopes_every_patch_statement_to_its_region_and_account():
    config = stack_config("prod")
    account, region = config["alicloud"]["accountId"], config["alicloud"]["region"]
    documents = policy_documents(plan_of("prod"))
    for statement in documents["OOSPatchManagementPolicy"]["Statement"]:
        for resource in statement["Resource"]:
            if resource == "*":  # only what has no resource-level permission
                assert set(statement["Action"]) == {"oos:ListInstancePatches", "oos:ListInstancePatchStates"}
                continue
            assert resource.startswith(f"acs:{resource.split(':')[1]}:{region}:{account}:"), resource
    granted = _on(documents["OOSPatchManagementPolicy"])
    assert granted["ecs:RunCommand"] == [
        f"acs:ecs:{region}:{account}:instance/{i}" for i in config["patchManagement"]["instanceIds"]
    ]


def test_dev_names_its_own_instances_because_staging_shares_its_account():
    """The guide's trial form (``*``, ``acs:ecs:*:*:instance/*``) would reach staging's instances
    from dev: dev's patch and command policies name dev's instances instead (listing them is
    checked on instance/* of dev's region and account, and reads no more than their attributes)."""
    documents = policy_documents(plan_of("dev"))
    dev = "acs:ecs:cn-hangzhou:5012345678901234:instance/i-bp1dev"
    for policy in ("dev-OOSPatchManagementPolicy", "dev-commandUserPolicy"):
        granted = _on(documents[policy])
        for action in ("ecs:RunCommand", "ecs:InvokeCommand"):
            listed = [r for r in granted[action] if ":instance/" in r]
            assert listed and all(r.startswith(dev) for r in listed), (policy, action, listed)
        assert granted["ecs:DescribeInstances"] == ["acs:ecs:cn-hangzhou:5012345678901234:instance/*"]


@pytest.mark.parametrize("stack", STACKS)
def test_command_user_policy_has_13_actions_and_the_configured_mode(stack):
    config = stack_config(stack)["cloudAssistantLinux"]
    prefix = (stack_config(stack).get("naming") or {}).get("prefix", "")
    document = policy_documents(plan_of(stack))[f"{prefix}commandUserPolicy"]
    # The guide's 13 actions, each on its own resource types: the condition on ecs:CommandRunAs only
    # over the two calls that carry it (InvokeCommand, RunCommand), never on the other 11.
    statements = document["Statement"]
    assert sorted(a for s in statements for a in s["Action"]) == sorted(CLOUD_ASSISTANT_ACTIONS)
    runs = [s for s in statements if "Condition" in s]
    assert sorted(a for s in runs for a in s["Action"]) == ["ecs:InvokeCommand", "ecs:RunCommand"]
    for statement in runs:
        if config.get("mode", "allow-list") == "allow-list":
            assert statement["Condition"] == {"StringEquals": {"ecs:CommandRunAs": config["runAsUsers"]}}
        else:
            denied = statement["Condition"]["StringNotEqualsIgnoreCase"]["ecs:CommandRunAs"]
            assert {"root", "system"} <= set(denied)


def test_command_user_gets_the_custom_policy_and_the_guides_reads(stack):
    plan = plan_of(stack)
    attached = {
        (r["inputs"]["policyType"], r["inputs"]["policyName"])
        for r in resources(plan, "alicloud:ram/userPolicyAttachment:UserPolicyAttachment")
        if r["parent"] == "cloud-assistant-linux"
    }
    prefix = (stack_config(stack).get("naming") or {}).get("prefix", "")
    # dev keeps the guide's AliyunECSReadOnlyAccess; strict stacks read through their own policy.
    reads = (
        ("System", "AliyunECSReadOnlyAccess")
        if stack == "dev"
        else ("Custom", f"{prefix}commandUserReadPolicy")
    )
    assert attached == {("Custom", f"{prefix}commandUserPolicy"), reads}


def test_console_users_must_reset_their_password(stack):
    for profile in resources(plan_of(stack), "alicloud:ram/loginProfile:LoginProfile"):
        assert profile["inputs"]["passwordResetRequired"] is True
        assert profile["inputs"]["password"] == "[secret]"


def test_prod_console_users_bind_mfa_and_identities_are_protected():
    plan = plan_of("prod")
    for profile in resources(plan, "alicloud:ram/loginProfile:LoginProfile"):
        assert profile["inputs"]["mfaBindRequired"] is True
    for resource in plan["resources"]:
        if resource["type"] in IDENTITY_TYPES:
            assert resource["protect"], resource["name"]


def test_dev_identities_are_not_protected_so_test_accounts_tear_down():
    assert not any(r["protect"] for r in plan_of("dev")["resources"])


def test_prod_keeps_the_guides_names_and_other_stacks_prefix_them():
    prod_users = {r["inputs"]["name"] for r in resources(plan_of("prod"), "alicloud:ram/user:User")}
    dev_users = {r["inputs"]["name"] for r in resources(plan_of("dev"), "alicloud:ram/user:User")}
    assert "commandUser" in prod_users
    assert all(name.startswith("dev-") for name in dev_users)


def test_stacks_sharing_an_account_never_collide():
    def names(stack):
        plan = plan_of(stack)
        found = set()
        for type_, key in (
            ("alicloud:ram/user:User", "name"),
            ("alicloud:ram/role:Role", "roleName"),
            ("alicloud:ram/policy:Policy", "policyName"),
            ("aws:iam/role:Role", "name"),
            ("aws:iam/policy:Policy", "name"),
        ):
            found |= {(type_, r["inputs"][key]) for r in resources(plan, type_)}
        return found

    accounts: dict[str, list[str]] = {}
    for stack in STACKS:
        config = stack_config(stack)
        for cloud in ("alicloud", "aws"):
            if cloud in config:
                accounts.setdefault(f"{cloud}:{config[cloud]['accountId']}", []).append(stack)
    shared = [stacks for stacks in accounts.values() if len(stacks) > 1]
    assert shared, "dev and staging share accounts in the checked-in stacks"
    for stacks in shared:
        for i, first in enumerate(stacks):
            for second in stacks[i + 1 :]:
                assert not names(first) & names(second), (first, second)


def test_outputs_name_the_identities_and_hide_secrets(stack):
    outputs = plan_of(stack)["outputs"]
    assert outputs["environment"] == stack
    assert outputs["cloudAssistantLinux"]["userNames"]
    if "accessKeySecret" in json.dumps(outputs):
        assert "mock-secret" not in json.dumps(outputs)


def run_cli(*args: str) -> subprocess.CompletedProcess:
    """``python -m baseline`` in a fresh process: the end-to-end path a user runs (on the example's
    file: a fresh process reads stacks/ unless told otherwise)."""
    stack = args[args.index("--stack") + 1]
    example = ["--config-file", str(FIXTURES / f"Pulumi.{stack}.yaml")]
    return subprocess.run(
        [sys.executable, "-m", "baseline", *args, *example],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


_IN_PROCESS: dict[tuple[str, ...], tuple[int, str, str]] = {}


def main_output(capfd, *argv: str) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of ``baseline.cli.main(argv)`` in this process.

    The plan is deterministic (test_plan_is_byte_identical_across_runs runs it in fresh
    processes), so each argv is rendered once per session and its output shared. capfd
    captures at the file-descriptor level: whatever the SDK or a logger writes is seen too.
    """
    if argv not in _IN_PROCESS:
        capfd.readouterr()
        code = main(list(argv))
        out, err = capfd.readouterr()
        _IN_PROCESS[argv] = (code, out, err)
    return _IN_PROCESS[argv]


def test_plan_is_byte_identical_across_runs():
    first = run_cli("plan", "--stack", "prod", "--format", "json")
    second = run_cli("plan", "--stack", "prod", "--format", "json")
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout
    # Nothing on stderr but the one note naming the secret a fresh clone has not set yet.
    assert first.stderr.splitlines() == [
        "note: not set yet, shown as [secret]: axtSecretPassword; pulumi up refuses until then; "
        "set it with: pulumi config set --secret --path 'secrets.axtSecretPassword' -s prod"
    ]


def test_the_in_process_plan_prints_what_a_fresh_process_prints(capfd):
    """The tests below call the CLI in-process; this ties that path to ``python -m baseline``."""
    fresh = run_cli("plan", "--stack", "dev")
    in_process = main_output(
        capfd, "plan", "--stack", "dev", "--config-file", str(FIXTURES / "Pulumi.dev.yaml")
    )
    assert in_process == (fresh.returncode, fresh.stdout, fresh.stderr)


def test_a_process_that_calls_main_closes_the_sdks_event_loops_before_teardown():
    """Not only `python -m baseline`: any interpreter that renders through baseline.cli.main() exits
    with every loop closed (an open one, collected at teardown, may print "Exception ignored")."""
    dev = str(FIXTURES / "Pulumi.dev.yaml")
    probe = (
        "import asyncio, atexit, gc\n"
        # Registered first, so it runs last (atexit is last in, first out): after the program's own.
        "atexit.register(lambda: print(sum(isinstance(o, asyncio.AbstractEventLoop) and not o.is_closed()"
        " for o in gc.get_objects())))\n"
        "import baseline.cli\n"
        f"argv = ['plan', '--stack', 'dev', '--format', 'json', '--config-file', {dev!r}]\n"
        "assert baseline.cli.main(argv) == 0\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.splitlines()[-1] == "0", done.stdout[-200:]


def test_no_secret_value_reaches_plan_outputs_or_logs(stack, capfd):
    code, out, err = main_output(capfd, "plan", "--stack", stack, "--format", "json")
    table_code, table_out, table_err = main_output(capfd, "plan", "--stack", stack)
    text = out + err + table_out + table_err
    assert code == 0 and table_code == 0
    assert "plan-placeholder-secret" not in text
    assert "mock-secret-never-shown" not in text
    for secret in (stack_config(stack).get("secrets") or {}).values():
        assert secret["secure"] not in text


def test_table_lists_every_resource(stack, capfd):
    _, table, _ = main_output(capfd, "plan", "--stack", stack)
    plan = plan_of(stack)
    for resource in plan["resources"]:
        assert resource["name"] in table
    assert f"{len(plan['resources'])} resources" in table


def test_config_file_renders_a_stack_file_from_anywhere(tmp_path, capfd):
    copy = tmp_path / "elsewhere.yaml"
    copy.write_text((FIXTURES / "Pulumi.dev.yaml").read_text())
    code, out, err = main_output(
        capfd, "plan", "--stack", "dev", "--format", "json", "--config-file", str(copy)
    )
    assert code == 0, err
    assert json.loads(out) == plan_of("dev")


def test_rendering_one_configuration_twice_in_a_process_runs_the_program_once():
    """diff, sweep, graph and the test session render the same configuration more than once: the
    second is the first plan again (a fresh copy: a caller's change never reaches the next)."""
    from baseline import plan as plan_module
    from baseline.config import load_stack_file, resolve

    resolved = resolve(load_stack_file(FIXTURES / "Pulumi.prod.yaml", "prod"))
    first = plan_module.render(resolved, "prod")
    first["resources"].clear()
    runs = []
    real = plan_module._render
    plan_module._render = lambda *a: runs.append(a) or real(*a)
    try:
        again = plan_module.render(resolve(load_stack_file(FIXTURES / "Pulumi.prod.yaml", "prod")), "prod")
        assert runs == [] and again["resources"]
        assert plan_module.render(resolved, "prod", reuse=False) == again and len(runs) == 1
    finally:
        plan_module._render = real
