"""Every command explains itself: `--help` is a short page a person can act on."""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys

import pytest
from conftest import ROOT

from baseline import cli

PARSER = cli.parser()
COMMANDS = next(a for a in PARSER._actions if isinstance(a, argparse._SubParsersAction)).choices


def help_of(capsys, *argv: str) -> str:
    with pytest.raises(SystemExit) as done:
        cli.main([*argv, "--help"])
    assert done.value.code == 0
    out, err = capsys.readouterr()
    assert err == ""
    return out


def test_the_top_page_lists_every_command_without_markup(capsys):
    out = help_of(capsys)
    assert "``" not in out and ":func:" not in out
    assert "exit codes" in out and "example:" in out
    for name in COMMANDS:
        assert re.search(rf"^    {re.escape(name)}\b", out, re.MULTILINE), f"{name} is not listed"
    assert {"plan", "can", "diff", "sweep", "teardown", "ephemeral", "secrets", "adopt"} <= set(COMMANDS)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_has_a_description_exit_codes_and_an_example(name, capsys):
    out = help_of(capsys, name)
    assert "``" not in out
    description = COMMANDS[name].description or ""
    assert len(description.split()) >= 15, f"{name}: say what the command does"
    assert "\nexit codes:\n  0  " in out, f"{name}: no exit codes"
    examples = re.findall(rf"^  {re.escape(cli.PROG)} {re.escape(name)}\b.*$", out, re.MULTILINE)
    assert examples, f"{name}: no example"
    assert len(out.splitlines()) <= 60, f"{name}: --help is {len(out.splitlines())} lines; keep it a page"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_option_says_what_it_is_for(name):
    for action in COMMANDS[name]._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        assert action.help and len(action.help.split()) >= 3, f"{name} {action.option_strings}: no help"


CHOICES = [("plan", "--format"), ("can", "--format"), ("diff", "--format"), ("deployer-policy", "--cloud"),
           ("sweep", "--cloud")]  # fmt: skip


@pytest.mark.parametrize(("name", "option"), CHOICES)
def test_format_and_cloud_say_what_each_choice_gives(name, option):
    [action] = [a for a in COMMANDS[name]._actions if option in a.option_strings]
    assert all(choice in action.help for choice in action.choices), f"{name} {option}: {action.help}"


@pytest.mark.shipped
def test_stack_lists_the_stack_files_found(capsys):
    out = help_of(capsys, "plan")
    found = sorted(
        p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in (ROOT / "stacks").glob("Pulumi.*.yaml")
    )
    assert found and "..." not in out
    assert f"stack files in stacks/: {', '.join(found)}" in " ".join(out.split())


def test_version_names_the_project_and_the_sdks(capsys):
    with pytest.raises(SystemExit) as done:
        cli.main(["--version"])
    out = capsys.readouterr().out
    assert done.value.code == 0
    assert out.startswith("ecs-access-baseline ") and "pulumi-alicloud " in out and "pulumi-aws " in out


def test_ephemeral_is_a_command_beside_the_others_and_the_old_module_still_works(
    tmp_path, monkeypatch, capsys
):
    from baseline.ops import ephemeral

    written = []
    monkeypatch.setattr(
        ephemeral, "write", lambda pr, **kw: written.append((pr, kw)) or ROOT / "stacks" / "x"
    )
    assert cli.main(["ephemeral", "--pr", "12", "--alicloud-account-id", ""]) == 0
    assert written == [(12, {"alicloud_account_id": None, "aws_account_id": None})]
    assert capsys.readouterr().out == "wrote stacks/x\n"
    monkeypatch.undo()
    code = cli.main(["ephemeral", "--pr", "0"])  # refused before anything is written
    assert code == 2 and "--pr" in capsys.readouterr().err
    done = subprocess.run(
        [sys.executable, "-m", "baseline.ephemeral", "--help"], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0 and "--pr" in done.stdout


def test_every_workflow_and_doc_calls_ephemeral_as_a_subcommand():
    paths = [*ROOT.glob(".github/workflows/*.yml"), ROOT / "README.md", *ROOT.glob("docs/*.md")]
    assert not [p.name for p in paths if "-m baseline.ephemeral" in p.read_text()]


def test_the_docs_create_the_pr_stack_before_tearing_it_down():
    page = (ROOT / "docs" / "deploying.md").read_text()
    create = page.index("-m baseline ephemeral --pr 12")
    assert create < page.index("-m baseline teardown --stack test-pr-12")


def make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return {m.group(1) for m in re.finditer(r"^([a-z][\w-]*)\s*:(?!=)", text, re.MULTILINE)}


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_help_lists_every_target():
    done = subprocess.run(["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True)
    listed = set(re.findall(r"^  make (\S+)", done.stdout, re.MULTILINE))
    assert done.returncode == 0 and make_targets() >= {"plan", "test", "lock", "docs", "bytecode", "lint"}
    assert listed == make_targets()
