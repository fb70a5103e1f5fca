"""`python -m baseline diff`: two offline plans of one stack, compared by resources and access."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import FIXTURES

from baseline.analysis import diff
from baseline.cli import main
from baseline.ops import review

PROD = FIXTURES / "Pulumi.prod.yaml"
NEW_WINDOWS = "i-bp1prodwin000000003"
NEW_WINDOWS_ARN = f"acs:ecs:cn-hangzhou:5098765432109876:instance/{NEW_WINDOWS}"
# What a new instance adds: the calls authorised on an instance (CreateCommand is on command/*).
WINDOWS_COMMAND_ACTIONS = {
    "ecs:RunCommand", "ecs:InvokeCommand", "ecs:DescribeInvocations",
    "ecs:DescribeInvocationResults", "ecs:StopInvocation",
}  # fmt: skip


def edited(tmp_path: Path, source: Path, name: str, edit) -> Path:
    document = yaml.safe_load(source.read_text())
    edit(document["config"])
    path = tmp_path / name
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def prod_plus_one_windows_instance(tmp_path: Path) -> Path:
    def add(config):
        config["ecs-access-baseline:cloudAssistantWindows"]["windowsInstances"].append({"id": NEW_WINDOWS})

    return edited(tmp_path, PROD, "prod-plus-windows.yaml", add)


def run_diff(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["diff", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(err: str) -> str:
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def test_one_more_windows_instance_in_prod_shows_the_attachment_the_widened_policy_and_the_new_access(
    tmp_path, capsys
):
    new = prod_plus_one_windows_instance(tmp_path)
    code, out, err = run_diff(
        capsys,
        "--stack",
        "prod",
        "--base-config-file",
        str(PROD),
        "--config-file",
        str(new),
        "--format",
        "json",
    )
    assert code == 1 and err == ""
    result = json.loads(out)
    [added] = result["resources"]["added"]
    assert added["type"] == "alicloud:ecs/ramRoleAttachment:RamRoleAttachment"
    assert added["inputs"] == {"instanceId": NEW_WINDOWS, "ramRoleName": "AxtSecretRamRole"}
    assert result["resources"]["removed"] == []
    # The command policy and (prod is strict) the read policy that replaces AliyunECSReadOnlyAccess.
    changed = {p["name"]: p for p in result["resources"]["changed"]}
    assert set(changed) == {
        "cloud-assistant-windows-command-policy",
        "cloud-assistant-windows-command-read-policy",
    }
    for policy in changed.values():
        [change] = policy["changes"]
        # Compared statement by statement: each statement on the instances (the run calls under
        # ecs:CommandRunAs, the other command calls beside them) gained one resource, nothing else.
        assert change["input"] == "policyDocument"
        assert change["document"]["added"] == change["document"]["removed"] == []
        assert change["document"]["changed"]
        for statement in change["document"]["changed"]:
            assert statement["changes"] == {"Resource": {"added": [NEW_WINDOWS_ARN], "removed": []}}
    [principal] = result["access"]
    assert principal["principal"]["name"] == "winCommandUser" and principal["lost"] == []
    gained = {g["action"] for g in principal["gained"] if g["resource"] == NEW_WINDOWS_ARN}
    # ecs:CreateCommand is authorised on command/* only: the documents give it that type alone, so
    # a new instance neither widens it nor is named for it (nothing that grants nothing either).
    assert gained >= WINDOWS_COMMAND_ACTIONS - {"ecs:CreateCommand"}
    assert "ecs:CreateCommand" not in gained
    assert not [g for g in principal["grantsNothing"] if g["resource"] == NEW_WINDOWS_ARN]
    invoke = next(g for g in principal["gained"] if g["action"] == "ecs:InvokeCommand")
    # Still only as user01: the condition travels with the grant, and nothing is an escalation.
    assert invoke["condition"] == {"StringEquals": {"ecs:CommandRunAs": ["user01"]}}
    assert invoke["via"] == ["winCommandUserPolicy statement 0"]
    assert result["escalations"] == [] and "widened" not in invoke
    # Every request, not the grants as written: that is all the new access there is.
    # Two classes: running commands, still only as user01, and the rest (reads, and the command
    # calls that carry no ecs:CommandRunAs, so no condition on it could ever hold for them).
    commands, reads = sorted(principal["newAccess"]["classes"], key=lambda c: not c["conditions"])
    for solved in (commands, reads):
        assert solved["resource"] == NEW_WINDOWS_ARN and "escalation" not in solved
    assert set(commands["actions"]) >= {"ecs:InvokeCommand", "ecs:RunCommand"}
    assert commands["conditions"] == ["ecs:CommandRunAs=user01"]
    assert reads["conditions"] == [] and not {"ecs:InvokeCommand", "ecs:RunCommand"} & set(reads["actions"])
    assert principal["newAccess"]["complete"] and principal["lostAccess"]["classes"] == []
    assert result["newAccessProved"]


def test_the_same_file_on_both_sides_is_no_change_even_rendered_in_one_process(capsys):
    # Two renders in one process: a leaked root stack would change every parent and differ.
    code, out, _ = run_diff(
        capsys, "--stack", "prod", "--base-config-file", str(PROD), "--config-file", str(PROD)
    )
    assert code == 0
    assert out.rstrip().endswith("no change")


def test_text_and_markdown_name_the_attachment_the_policy_and_the_grants(tmp_path):
    new = prod_plus_one_windows_instance(tmp_path)
    base_plan, new_plan, sources = review.plans("prod", base_config_file=str(PROD), config_file=str(new))
    result = diff.compare(base_plan, new_plan, stack="prod", sources=sources)
    text = diff.to_text(result)
    attachment = f"cloud-assistant-windows-secret-reader-{NEW_WINDOWS}"
    assert f"+ alicloud:ecs/ramRoleAttachment:RamRoleAttachment  {attachment}" in text
    assert f"Resource + {NEW_WINDOWS_ARN}" in text
    assert "RAM user winCommandUser" in text and "ecs:InvokeCommand" in text
    assert "\nno other new access (proved)\n" in text
    assert f"--principal winCommandUser --action {solved_action(result)} --resource {NEW_WINDOWS_ARN}" in text
    markdown = diff.to_markdown(result)
    assert markdown.startswith("### Stack `prod`")
    assert "| `RAM user winCommandUser` | gains |" in markdown and "ecs:InvokeCommand" in markdown


def solved_action(result: dict) -> str:
    [principal] = result["access"]
    return principal["newAccess"]["classes"][0]["witness"]["action"]


def plan_with(*resources: dict) -> dict:
    return {"stack": "t", "resources": list(resources), "outputs": {}}


def ram_user(name: str) -> dict:
    return {"type": "alicloud:ram/user:User", "name": f"{name}-user", "parent": None, "provider": None,
            "protect": False, "depends_on": [], "inputs": {"name": name}}  # fmt: skip


def ram_policy(name: str, *statements: dict) -> list[dict]:
    document = json.dumps({"Version": "1", "Statement": list(statements)})
    return [
        {"type": "alicloud:ram/policy:Policy", "name": f"{name}-policy", "parent": None, "provider": None,
         "protect": False, "depends_on": [], "inputs": {"policyName": name, "policyDocument": document}},
        {"type": "alicloud:ram/userPolicyAttachment:UserPolicyAttachment", "name": f"{name}-attach",
         "parent": None, "provider": None, "protect": False, "depends_on": [],
         "inputs": {"policyName": name, "policyType": "Custom", "userName": "op"}},
    ]  # fmt: skip


INSTANCE = "acs:ecs:cn-hangzhou:5012345678901234:instance/"
COMMANDS = "acs:ecs:cn-hangzhou:5012345678901234:command/*"


def test_a_specific_instance_replaced_by_a_wildcard_is_flagged_as_widened():
    run_as = {"StringEquals": {"ecs:CommandRunAs": ["user01"]}}
    before = {
        "Effect": "Allow",
        "Action": "ecs:RunCommand",
        "Resource": INSTANCE + "i-1",
        "Condition": run_as,
    }
    after = {**before, "Resource": INSTANCE + "*"}
    result = diff.compare(
        plan_with(ram_user("op"), *ram_policy("opPolicy", before)),
        plan_with(ram_user("op"), *ram_policy("opPolicy", after)),
        stack="t",
        sources={},
    )
    [principal] = result["access"]
    [gained] = principal["gained"]
    assert gained["resource"] == INSTANCE + "*"  # shown as written
    assert gained["widened"] == {"what": "resource", "from": INSTANCE + "i-1", "to": INSTANCE + "*"}
    # The narrower grant is covered by the wider one: nothing is lost.
    assert principal["lost"] == []
    assert result["escalations"] == []


def test_policy_management_and_unrestricted_run_command_are_escalations_but_a_run_as_user_is_not():
    restricted = {"Effect": "Allow", "Action": "ecs:RunCommand", "Resource": INSTANCE + "i-1",
                  "Condition": {"StringEquals": {"ecs:CommandRunAs": ["user01"]}}}  # fmt: skip
    gains = [
        {"Effect": "Allow", "Action": "ram:AttachPolicyToUser", "Resource": "*"},
        # InvokeCommand is authorised on the instance and the command: both granted, a call.
        {"Effect": "Allow", "Action": "ecs:InvokeCommand", "Resource": [INSTANCE + "i-1", COMMANDS]},
        {"Effect": "Allow", "Action": "ram:PassRole", "Resource": "acs:ram::5012345678901234:role/x"},
    ]
    result = diff.compare(
        plan_with(ram_user("op")),
        plan_with(ram_user("op"), *ram_policy("opPolicy", restricted, *gains)),
        stack="t",
        sources={},
    )
    why = {e["action"]: e["why"] for e in result["escalations"]}
    assert set(why) == {"ram:AttachPolicyToUser", "ecs:InvokeCommand", "ram:PassRole"}
    assert "may run commands as root, system" in why["ecs:InvokeCommand"]
    assert why["ram:PassRole"] == "privilege management: ram:PassRole"


def test_a_deny_on_root_still_leaves_a_command_that_names_no_os_user_and_the_solver_says_so():
    # The Deny names root and system; a RunCommand that names no OS user at all runs as root and
    # is not denied. The grants as written never asked that request; the solver finds it.
    allow = {"Effect": "Allow", "Action": "ecs:RunCommand", "Resource": "*"}
    deny = {"Effect": "Deny", "Action": "ecs:RunCommand", "Resource": "*",
            "Condition": {"StringEquals": {"ecs:CommandRunAs": ["root", "system"]}}}  # fmt: skip
    result = diff.compare(
        plan_with(ram_user("op")),
        plan_with(ram_user("op"), *ram_policy("p", allow, deny)),
        stack="t",
        sources={},
    )
    [principal] = result["access"]
    assert [g["action"] for g in principal["gained"]] == ["ecs:RunCommand"]
    assert len(principal["denies"]["added"]) == 1
    why = {e["why"] for e in result["escalations"]}
    assert "ecs:RunCommand with no ecs:CommandRunAs (runs as root)" in why
    classes = principal["newAccess"]["classes"]
    unnamed = next(c for c in classes if c["conditions"] == ["no ecs:CommandRunAs"])
    assert unnamed["witness"]["context"] == {}
    # Root itself stays denied: no class of new access lets a request name it.
    assert all(c["witness"]["context"].get("ecs:CommandRunAs") not in (["root"], ["system"]) for c in classes)


def test_narrowing_a_condition_loses_the_grant_for_the_dropped_user_only():
    def statement(*users):
        return {"Effect": "Allow", "Action": "ecs:RunCommand", "Resource": INSTANCE + "i-1",
                "Condition": {"StringEquals": {"ecs:CommandRunAs": list(users)}}}  # fmt: skip

    result = diff.compare(
        plan_with(ram_user("op"), *ram_policy("p", statement("user01", "user02"))),
        plan_with(ram_user("op"), *ram_policy("p", statement("user01"))),
        stack="t",
        sources={},
    )
    [principal] = result["access"]
    # The evaluator decides per listed user: user01 still may (no gain); user02 no longer may.
    assert principal["gained"] == []
    [lost] = principal["lost"]
    assert lost["only"] == [{"ecs:CommandRunAs": ["user02"]}]
    [changed] = result["resources"]["changed"]
    [statement_change] = changed["changes"][0]["document"]["changed"]
    assert "Condition" in statement_change["changes"]


def test_renaming_a_user_shows_it_losing_and_the_new_name_gaining_every_grant():
    allow = {"Effect": "Allow", "Action": "ecs:DescribeInstances", "Resource": "*"}
    renamed = [dict(r) for r in ram_policy("p", allow)]
    renamed[1] = {**renamed[1], "inputs": {**renamed[1]["inputs"], "userName": "operator"}}
    result = diff.compare(
        plan_with(ram_user("op"), *ram_policy("p", allow)),
        plan_with({**ram_user("operator"), "name": "op-user"}, *renamed),
        stack="t",
        sources={},
    )
    statuses = {p["principal"]["name"]: p["status"] for p in result["access"]}
    assert statuses == {"op": "removed", "operator": "added"}
    changed = {(c["name"], ch["input"]) for c in result["resources"]["changed"] for ch in c["changes"]}
    assert ("op-user", "name") in changed and ("p-attach", "userName") in changed


def git(repo: Path, *argv: str) -> None:
    subprocess.run(["git", *argv], cwd=repo, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A repository whose main has prod's stack file and whose branch HEAD is one commit on."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    root = tmp_path / "repo"
    (root / "stacks").mkdir(parents=True)
    shutil.copy(PROD, root / "stacks" / "Pulumi.prod.yaml")
    git(root, "init", "-q", "-b", "main")
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "add", ".")
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "base")
    git(root, "checkout", "-q", "-b", "feature")
    (root / "README").write_text("x")
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "add", ".")
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "feature")
    monkeypatch.setattr(review, "ROOT", root)
    return root


def test_by_default_the_base_is_the_stack_file_at_the_merge_base_with_main(repo, tmp_path, capsys):
    new = prod_plus_one_windows_instance(tmp_path)
    code, out, _ = run_diff(capsys, "--stack", "prod", "--config-file", str(new), "--format", "json")
    result = json.loads(out)
    assert code == 1 and result["base"].endswith(":stacks/Pulumi.prod.yaml")
    assert result["summary"]["added"] == 1


def test_a_stack_file_new_since_the_base_revision_is_all_added(repo, capsys):
    code, out, _ = run_diff(capsys, "--stack", "prod", "--base", "HEAD", "--config-file", str(PROD),
                            "--format", "json")  # fmt: skip
    assert code == 0  # same file at HEAD of the fixture repository
    git(repo, "rm", "-q", "stacks/Pulumi.prod.yaml")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "drop")
    code, out, _ = run_diff(capsys, "--stack", "prod", "--base", "HEAD", "--config-file", str(PROD),
                            "--format", "json")  # fmt: skip
    result = json.loads(out)
    assert code == 1 and result["base"].endswith("(absent)")
    assert result["resources"]["removed"] == [] and len(result["resources"]["added"]) > 50
    # Every output is new against an absent base: none is listed under an empty path.
    assert result["outputsChanged"] and "" not in result["outputsChanged"]


def test_without_a_main_branch_the_default_base_is_one_line_naming_the_alternatives(repo, capsys):
    git(repo, "branch", "-q", "-D", "main")
    code, _, err = run_diff(capsys, "--stack", "prod", "--config-file", str(PROD))
    assert code == 2
    line = one_line_error(err)
    assert "git merge-base HEAD main failed" in line and "--base-config-file" in line


def test_without_git_the_default_base_is_one_line(monkeypatch, capsys):
    monkeypatch.setattr(review.shutil, "which", lambda name: None)
    code, _, err = run_diff(capsys, "--stack", "prod")
    assert code == 2 and "git is not installed" in one_line_error(err)


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--base-config-file", "missing.yaml"], "--base-config-file = 'missing.yaml': no such file"),
        (
            ["--base-config-file", str(PROD), "--config-file", "missing.yaml"],
            "--config-file = 'missing.yaml'",
        ),
        (["--base", "no-such-revision"], "--base = 'no-such-revision': not a git revision"),
        (["--base-config-file", str(FIXTURES / "Pulumi.dev.yaml")], "this is stack 'dev''s file"),
    ],
)
def test_bad_input_exits_2_with_one_line(argv, named, capsys):
    code, out, err = run_diff(capsys, "--stack", "prod", *argv)
    assert code == 2 and out == ""
    assert named in one_line_error(err)


def test_a_bad_base_file_is_named_as_the_base(tmp_path, capsys):
    def misspell(config):
        config["ecs-access-baseline:protectIdentities"] = "maybe"

    bad = edited(tmp_path, PROD, "bad.yaml", misspell)
    code, _, err = run_diff(
        capsys, "--stack", "prod", "--base-config-file", str(bad), "--config-file", str(PROD)
    )
    assert code == 2 and f"(in the base stack file {bad})" in one_line_error(err)


def test_every_error_of_a_bad_base_file_is_named_as_the_base(tmp_path, capsys):
    def misspell_twice(config):
        config["ecs-access-baseline:protectIdentities"] = "maybe"
        config["ecs-access-baseline:testStack"] = "perhaps"

    bad = edited(tmp_path, PROD, "bad.yaml", misspell_twice)
    code, _, err = run_diff(
        capsys, "--stack", "prod", "--base-config-file", str(bad), "--config-file", str(PROD)
    )
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 2, err
    assert all(f"(in the base stack file {bad})" in line for line in lines), err


def ram_role(name: str, subject_operator: str, subject: str) -> dict:
    trust = {
        "Version": "1",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Principal": {"Federated": ["acs:ram::5012345678901234:oidc-provider/github-actions"]},
                "Condition": {subject_operator: {"oidc:sub": subject}},
            }
        ],
    }
    return {"type": "alicloud:ram/role:Role", "name": f"{name}-role", "parent": None, "provider": None,
            "protect": False, "depends_on": [],
            "inputs": {"roleName": name, "assumeRolePolicyDocument": json.dumps(trust)}}  # fmt: skip


def test_a_trust_widened_to_any_subject_is_an_escalation_and_shown_statement_by_statement():
    before = ram_role("deploy", "StringEquals", "repo:acme/x:environment:prod")
    after = ram_role("deploy", "StringLike", "repo:acme/x:*")
    result = diff.compare(plan_with(before), plan_with(after), stack="t", sources={})
    [principal] = result["access"]
    [added], [removed] = principal["trust"]["added"], principal["trust"]["removed"]
    assert added["resource"] == "Federated: acs:ram::5012345678901234:oidc-provider/github-actions"
    assert added["condition"] == {"StringLike": {"oidc:sub": "repo:acme/x:*"}}
    assert removed["condition"] == {"StringEquals": {"oidc:sub": "repo:acme/x:environment:prod"}}
    [escalation] = result["escalations"]
    assert escalation["why"] == "a wildcard in the token subject condition"
    [changed] = result["resources"]["changed"]
    [statement] = changed["changes"][0]["document"]["changed"]
    assert set(statement["changes"]) == {"Condition"}


def test_removing_the_deny_on_root_is_a_gain_of_running_commands_as_root():
    allow = {"Effect": "Allow", "Action": "ecs:RunCommand", "Resource": "*"}
    deny = {"Effect": "Deny", "Action": "ecs:RunCommand", "Resource": "*",
            "Condition": {"StringEquals": {"ecs:CommandRunAs": ["root", "system"]}}}  # fmt: skip
    result = diff.compare(
        plan_with(ram_user("op"), *ram_policy("p", allow, deny)),
        plan_with(ram_user("op"), *ram_policy("p", allow)),
        stack="t",
        sources={},
    )
    [principal] = result["access"]
    [gained] = principal["gained"]
    assert gained["condition"] == {"StringEquals": {"ecs:CommandRunAs": ["root", "system"]}}
    assert gained["via"] == ["a Deny statement removed"]
    assert "may run commands as root, system" in gained["escalation"]
    assert len(principal["denies"]["removed"]) == 1 and principal["lost"] == []
    # And back: adding the deny loses exactly that.
    back = diff.compare(
        plan_with(ram_user("op"), *ram_policy("p", allow)),
        plan_with(ram_user("op"), *ram_policy("p", allow, deny)),
        stack="t",
        sources={},
    )
    [principal] = back["access"]
    [lost] = principal["lost"]
    assert lost["via"] == ["a Deny statement added"] and principal["gained"] == []
    assert back["escalations"] == []


# --- which base, and credentials as access ------------------------------------------------------


def test_the_output_says_which_base_it_used_and_how_to_pick_another(repo, tmp_path, capsys):
    new = prod_plus_one_windows_instance(tmp_path)
    _, out, _ = run_diff(capsys, "--stack", "prod", "--config-file", str(new))
    assert "base: the merge base of HEAD and main (git merge-base HEAD main)" in out
    assert "another base: --base REV" in out and "--base-config-file FILE" in out
    _, out, _ = run_diff(capsys, "--stack", "prod", "--base", "HEAD", "--config-file", str(new))
    assert "base: the revision given with --base HEAD" in out.splitlines()[1]
    files = ("--base-config-file", str(PROD), "--config-file", str(new))
    _, out, _ = run_diff(capsys, "--stack", "prod", *files, "--format", "markdown")
    assert "the file given with --base-config-file; another base: --base REV" in out
    _, out, _ = run_diff(
        capsys, "--stack", "prod", "--base", "HEAD", "--config-file", str(new), "--format", "json"
    )
    assert json.loads(out)["baseHow"] == "the revision given with --base HEAD"


def test_the_base_may_be_a_pipe_such_as_git_show_in_process_substitution(tmp_path, capsys):
    """`--base-config-file <(git show REV:stacks/Pulumi.prod.yaml)` hands the program /dev/fd/N."""
    import os

    read, write = os.pipe()
    os.write(write, PROD.read_bytes())
    os.close(write)
    try:
        new = prod_plus_one_windows_instance(tmp_path)
        code, out, err = run_diff(
            capsys, "--stack", "prod", "--base-config-file", f"/dev/fd/{read}", "--config-file", str(new)
        )
    finally:
        os.close(read)
    assert err == "" and code == 1
    assert "+ alicloud:ecs/ramRoleAttachment:RamRoleAttachment" in out


def test_a_directory_as_the_base_is_one_line(tmp_path, capsys):
    code, _, err = run_diff(capsys, "--stack", "prod", "--base-config-file", str(tmp_path))
    assert code == 2 and "a directory, not a file" in one_line_error(err)


def test_a_new_access_key_and_console_login_show_in_the_access_section(tmp_path, capsys):
    def give_credentials(config):
        user = config["ecs-access-baseline:cloudAssistantLinux"]["user"]
        user["accessKey"] = {}
        user["console"] = {"passwordResetRequired": True, "mfaBindRequired": True}

    def drop_credentials(config):
        user = config["ecs-access-baseline:cloudAssistantLinux"]["user"]
        user.pop("accessKey", None)
        user.pop("console", None)

    base = edited(tmp_path, PROD, "base.yaml", drop_credentials)
    new = edited(tmp_path, PROD, "new.yaml", give_credentials)
    code, out, _ = run_diff(
        capsys, "--stack", "prod", "--base-config-file", str(base), "--config-file", str(new)
    )
    assert code == 1
    access = out[out.index("Effective access:") :]
    assert "  RAM user commandUser\n" in access
    assert "    + credential: AccessKey (" in access
    assert "    + credential: console login (login profile) (" in access
    reverse = ("--base-config-file", str(new), "--config-file", str(base))
    _, out, _ = run_diff(capsys, "--stack", "prod", *reverse, "--format", "json")
    [user] = [p for p in json.loads(out)["access"] if p["principal"]["name"] == "commandUser"]
    assert {c["credential"] for c in user["credentials"]["removed"]} == {
        "AccessKey",
        "console login (login profile)",
    }
    assert (
        user["credentials"]["added"] == [] and json.loads(out)["summary"]["principalsWithAccessChanges"] >= 1
    )


def _stacks_repo(root: Path, dev_text: str) -> None:
    """A repository whose HEAD holds the example stack files, dev's replaced by ``dev_text``."""
    (root / "stacks").mkdir(parents=True)
    for path in FIXTURES.glob("Pulumi.*.yaml"):
        shutil.copy(path, root / "stacks" / path.name)
    (root / "stacks" / "Pulumi.dev.yaml").write_text(dev_text)
    git(root, "init", "-q", "-b", "main")
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "add", ".")
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "base")


def test_the_pipeline_stacks_base_reads_each_environments_stack_file_at_the_base_revision(
    tmp_path, monkeypatch, capsys
):
    """A new identity in dev adds exactly its name to dev's deploy roles: the pipeline stack's
    diff shows it, because the base side reads dev's stack file at the base revision (before,
    both sides read the work tree's and the diff was empty)."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    pipeline = str(FIXTURES / "Pulumi.pipeline.yaml")
    dev = (FIXTURES / "Pulumi.dev.yaml").read_text()
    same, renamed = tmp_path / "same", tmp_path / "renamed"
    _stacks_repo(same, dev)
    _stacks_repo(renamed, dev.replace("      name: commandUser\n", "      name: oldCommandUser\n", 1))
    monkeypatch.setattr(review, "ROOT", same)
    code, _, _ = run_diff(capsys, "--stack", "pipeline", "--base", "HEAD", "--config-file", pipeline)
    assert code == 0
    monkeypatch.setattr(review, "ROOT", renamed)
    code, out, _ = run_diff(
        capsys, "--stack", "pipeline", "--base", "HEAD", "--config-file", pipeline, "--format", "json"
    )
    result = json.loads(out)
    assert code == 1
    changed = json.dumps(result["resources"]["changed"])
    assert "pipeline-alicloud-dev-deploy-policy" in changed and "dev-commandUser" in changed
    assert "dev-oldCommandUser" in changed


# Issue 18's two ordinary changes the grant-by-grant comparison missed.
DEV = FIXTURES / "Pulumi.dev.yaml"


def dev_deny_privileged(tmp_path: Path) -> Path:
    def switch(config):
        linux = config["ecs-access-baseline:cloudAssistantLinux"]
        linux["mode"] = "deny-privileged"
        linux["allowCommandsWithoutRunAs"] = True
        del linux["runAsUsers"]

    return edited(tmp_path, DEV, "dev-deny-privileged.yaml", switch)


def test_switching_to_deny_privileged_shows_run_command_with_no_run_as_user_as_an_escalation(
    tmp_path, capsys
):
    new = dev_deny_privileged(tmp_path)
    argv = ["--stack", "dev", "--base-config-file", str(DEV), "--config-file", str(new)]
    code, out, _ = run_diff(capsys, *argv, "--format", "json")
    result = json.loads(out)
    assert code == 1 and result["summary"]["escalations"] > 0
    [principal] = result["access"]
    classes = principal["newAccess"]["classes"]
    root = [
        c for c in classes if c.get("escalation") == "ecs:RunCommand with no ecs:CommandRunAs (runs as root)"
    ]
    assert root and all(c["conditions"] == ["no ecs:CommandRunAs"] for c in root)
    # dev names its own instances (staging shares the account): root on each of them.
    dev_instances = {f"acs:ecs:cn-hangzhou:5012345678901234:instance/i-bp1devapp000000000{n}" for n in (1, 2)}
    assert dev_instances <= {c["resource"] for c in root}
    # Any OS user the policy does not name is open too (Administrator, ubuntu, ...).
    assert any(
        c.get("escalation", "").startswith("ecs:RunCommand as OS users no policy names") for c in classes
    )
    # Each witness reproduces with `can`, and the evaluator allows it there.
    witness = root[0]["reproduce"].split()
    assert witness[:5] == [".venv/bin/python", "-m", "baseline", "can", "--stack"]
    assert main(witness[3:]) == 0
    capsys.readouterr()
    code, text, _ = run_diff(capsys, *argv)
    assert "[ESCALATION: ecs:RunCommand with no ecs:CommandRunAs (runs as root)]" in text
    assert "witness: .venv/bin/python -m baseline can --stack dev --config-file" in text


def every_instance_and_one_more_user(tmp_path: Path, source: Path) -> Path:
    def widen(config):
        linux = config["ecs-access-baseline:cloudAssistantLinux"]
        del linux["instanceIds"]
        linux["runAsUsers"].append("user03")

    return edited(tmp_path, source, f"{source.stem.removeprefix('Pulumi.')}-every-instance.yaml", widen)


def test_every_instance_plus_one_run_as_user_shows_instance_star_replacing_the_listed_ones(tmp_path, capsys):
    # dev: prod and staging refuse a command policy without instanceIds (below).
    new = every_instance_and_one_more_user(tmp_path, DEV)
    argv = ["--stack", "dev", "--base-config-file", str(DEV), "--config-file", str(new)]
    code, out, _ = run_diff(capsys, *argv, "--format", "json")
    result = json.loads(out)
    assert code == 1
    [principal] = result["access"]
    assert principal["principal"]["name"] == "dev-commandUser"
    instances = "acs:ecs:cn-hangzhou:5012345678901234:instance/"
    listed_users = {("ecs:CommandRunAs=user01",), ("ecs:CommandRunAs=user02",)}
    widened = [c for c in principal["newAccess"]["classes"] if tuple(c["conditions"]) in listed_users]
    # The listed users gain every other instance: instance/* replaces the two listed ones.
    assert {tuple(c["conditions"]) for c in widened} == listed_users
    for item in widened:
        assert item["resource"] == instances + "*"
        assert sorted(item["widened"]["from"]) == [f"{instances}i-bp1devapp000000000{n}" for n in (1, 2)]
    user03 = [c for c in principal["newAccess"]["classes"] if c["conditions"] == ["ecs:CommandRunAs=user03"]]
    assert {c["resource"] for c in user03} >= {instances + "*"}
    assert result["newAccessProved"]
    _code, text, _ = run_diff(capsys, *argv)
    listed = f"{instances}i-bp1devapp0000000001, {instances}i-bp1devapp0000000002"
    assert f"[WIDENED resource: {listed} -> {instances}*]" in text
    assert text.rstrip().endswith("no other new access (proved)")


def test_prod_refuses_the_same_edit_before_anything_is_compared(tmp_path, capsys):
    new = every_instance_and_one_more_user(tmp_path, PROD)
    code, out, err = run_diff(
        capsys, "--stack", "prod", "--base-config-file", str(PROD), "--config-file", str(new)
    )
    assert code == 2 and out == ""
    assert "instanceIds" in one_line_error(err)


def test_a_change_that_grants_nothing_new_says_no_new_access_proved():
    allow = {"Effect": "Allow", "Action": "ecs:DescribeInstances", "Resource": "*"}
    narrower = {**allow, "Resource": INSTANCE + "i-1"}
    result = diff.compare(
        plan_with(ram_user("op"), *ram_policy("p", allow)),
        plan_with(ram_user("op"), *ram_policy("p", narrower)),
        stack="t",
        sources={},
    )
    [principal] = result["access"]
    assert principal["newAccess"]["classes"] == [] and principal["newAccess"]["complete"]
    [lost] = principal["lostAccess"]["classes"]
    assert lost["action"] == "ecs:DescribeInstances" and lost["resource"] in ("*", "acs:*:*:*:*")
    assert lost["witness"]["resource"] != INSTANCE + "i-1"
    assert diff.to_text(result).rstrip().endswith("no new access (proved)")
    assert "**no new access (proved)**" in diff.to_markdown(result)


def test_a_run_as_condition_on_create_command_grants_nothing_and_no_new_access_is_proved():
    # ecs:CommandRunAs is carried by InvokeCommand and RunCommand only: the Allow never matches.
    added = {"Effect": "Allow", "Action": "ecs:CreateCommand", "Resource": COMMANDS,
             "Condition": {"StringEquals": {"ecs:CommandRunAs": ["user01"]}}}  # fmt: skip
    result = diff.compare(
        plan_with(ram_user("op")),
        plan_with(ram_user("op"), *ram_policy("opPolicy", added)),
        stack="t",
        sources={},
    )
    [principal] = result["access"]
    assert principal["gained"] == [] and principal["newAccess"]["classes"] == []
    [inert] = principal["grantsNothing"]
    assert inert["action"] == "ecs:CreateCommand"
    assert inert["why"] == "ecs:CreateCommand never carries ecs:CommandRunAs: this condition never holds"
    assert result["newAccessProved"]
    assert "0 grants nothing: ecs:CreateCommand" in diff.to_text(result)


def test_a_deny_on_a_key_the_call_never_carries_never_fires():
    allow = {"Effect": "Allow", "Action": "ecs:CreateCommand", "Resource": COMMANDS}
    deny = {"Effect": "Deny", "Action": "ecs:CreateCommand", "Resource": COMMANDS,
            "Condition": {"StringEquals": {"ecs:CommandRunAs": ["root"]}}}  # fmt: skip
    result = diff.compare(
        plan_with(ram_user("op"), *ram_policy("opPolicy", allow, deny)),
        plan_with(ram_user("op"), *ram_policy("opPolicy", allow)),
        stack="t",
        sources={},
    )
    # Removing a Deny that never fired changes nothing: no gain, by the grants or the solver.
    [principal] = result["access"]
    assert principal["gained"] == [] and principal["newAccess"]["classes"] == []


def test_a_request_the_call_cannot_make_is_new_access_as_a_request_only_and_no_escalation():
    # InvokeCommand is authorised on the instance and the command: granted on an instance alone, the
    # solver's request is allowed, no call is, and nothing runs as root.
    added = {"Effect": "Allow", "Action": "ecs:InvokeCommand", "Resource": INSTANCE + "i-1"}
    result = diff.compare(
        plan_with(ram_user("op")),
        plan_with(ram_user("op"), *ram_policy("opPolicy", added)),
        stack="t",
        sources={},
    )
    [principal] = result["access"]
    assert principal["gained"] == [] and result["escalations"] == []
    [solved] = principal["newAccess"]["classes"]
    assert solved["call"].startswith("a request only: no ecs:InvokeCommand call on")
    assert "[a request only" in diff.to_text(result)
    with_command = diff.compare(
        plan_with(ram_user("op")),
        plan_with(
            ram_user("op"), *ram_policy("opPolicy", {**added, "Resource": [INSTANCE + "i-1", COMMANDS]})
        ),
        stack="t",
        sources={},
    )
    [principal] = with_command["access"]
    assert all("call" not in c for c in principal["newAccess"]["classes"])
    assert [e["action"] for e in with_command["escalations"]] == ["ecs:InvokeCommand"]
    assert any(
        "--resource" in c["reproduce"].split("--resource", 1)[1] for c in principal["newAccess"]["classes"]
    )
