"""Errors a newcomer meets on the command line: each is one line naming what to change."""

from __future__ import annotations

import json
import shutil

import pytest
from conftest import FIXTURES

from baseline.cli import main

PROD = FIXTURES / "Pulumi.prod.yaml"


def one_line(capsys) -> tuple[str, str]:
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Fix:" in lines[0], err
    return out, lines[0]


@pytest.mark.parametrize("command", ["plan", "can", "policy", "diff"])
def test_a_missing_config_file_is_named_as_the_config_file(command, capsys):
    extra = {"can": ["--principal", "x", "--action", "ecs:RunCommand", "--resource", "*"]}.get(command, [])
    code = main([command, "--stack", "dev", "--config-file", "missing.yaml", *extra])
    out, line = one_line(capsys)
    assert code == 2 and out == ""
    assert line.startswith("error: --config-file = 'missing.yaml': no such file")
    assert "use dev, staging or prod" not in line


def test_an_unknown_stack_lists_the_stacks_there_are(capsys):
    code = main(["plan", "--stack", "qa"])
    _, line = one_line(capsys)
    assert code == 2 and "no stack file at" in line
    assert "dev, example, pipeline, prod, prod-tags, staging" in line


def test_another_stacks_file_is_refused_unless_as_stack_says_it_is_intended(tmp_path, capsys):
    code = main(["plan", "--stack", "dev", "--config-file", str(PROD)])
    out, line = one_line(capsys)
    assert code == 2 and out == ""
    assert "this is stack 'prod''s file (by its name), but --stack is 'dev'" in line and "--as-stack" in line
    code = main(["plan", "--stack", "dev", "--config-file", str(PROD), "--as-stack", "--format", "json"])
    assert code == 0
    assert json.loads(capsys.readouterr().out)["stack"] == "dev"
    # A file whose name says nothing about its stack is anyone's.
    shutil.copy(PROD, tmp_path / "candidate.yaml")
    assert main(["plan", "--stack", "dev", "--config-file", str(tmp_path / "candidate.yaml")]) == 0


def test_teardown_refuses_another_stacks_file_before_reading_it(tmp_path, capsys):
    copy = tmp_path / "Pulumi.test-pr-3.yaml"
    copy.write_text("not read")
    code = main(["teardown", "--stack", "test-pr-4", "--yes", "--config-file", str(copy)])
    _, line = one_line(capsys)
    assert code == 2 and "stack 'test-pr-3''s file" in line


def test_can_reads_a_star_resource_as_any_resource_and_says_so(capsys):
    code = main(["can", "--stack", "dev", "--principal", "dev-commandUser", "--action", "ecs:RunCommand",
                 "--resource", "*", "--context", "ecs:CommandRunAs=user01"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0 and out.startswith("allow\n")
    assert (
        "'*' read as any resource; allowed on: "
        "acs:ecs:cn-hangzhou:5012345678901234:instance/i-bp1devapp0000000001, "
        "acs:ecs:cn-hangzhou:5012345678901234:instance/i-bp1devapp0000000002\n"
    ) in out  # RunCommand is authorised on the instance only: no command/* in its statement
    code = main(["can", "--stack", "dev", "--principal", "dev-commandUser", "--action", "ecs:RunCommand",
                 "--resource", "*", "--context", "ecs:CommandRunAs=root", "--format", "json"])  # fmt: skip
    result = json.loads(capsys.readouterr().out)
    assert code == 1 and result["decision"] == "deny" and result["allowedOn"] == []
