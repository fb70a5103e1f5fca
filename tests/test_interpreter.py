"""`python -m baseline` with a Python that lacks the dependencies: one line naming the one that works.

Every hint and doc spells commands with `.venv/bin/python`, the interpreter `make plan` installs
the pinned requirements into; the system `python3` usually lacks them.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from conftest import ROOT

from baseline import cli
from baseline.errors import BASELINE, missing_dependency


def bare_python(*args: str) -> subprocess.CompletedProcess:
    """This interpreter without site-packages (-S): a Python with none of the dependencies."""
    return subprocess.run(
        [sys.executable, "-S", "-m", "baseline", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )


@pytest.mark.parametrize("argv", [("plan", "--stack", "dev"), ("adopt", "--stack", "dev", "--lookup")])
def test_a_missing_dependency_is_one_line_saying_make_plan_and_the_interpreter(argv):
    done = bare_python(*argv)
    assert done.returncode == 2 and done.stdout == ""
    assert "Traceback" not in done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert re.match(r"error: this Python \(.+\) lacks the project's dependencies \(no module '\w+'\)\.", line)
    assert line.endswith(
        f"Fix: run `make plan` once (it creates .venv and installs requirements.txt), "
        f"then `.venv/bin/python -m baseline {' '.join(argv)}`"
    )


def test_a_missing_project_module_is_a_bug_and_not_disguised(monkeypatch):
    def broken(argv):
        raise ModuleNotFoundError("No module named 'baseline.nothing'", name="baseline.nothing")

    monkeypatch.setattr(cli, "_main", broken)
    with pytest.raises(ModuleNotFoundError):
        cli.main(["plan", "--stack", "dev"])
    assert missing_dependency(ModuleNotFoundError(name="components.x"), []) is None


def test_hints_the_program_prints_name_the_venv_interpreter(capsys):
    from baseline import stack_secrets

    stack_secrets.run("prod")
    out = capsys.readouterr().out
    assert f"{BASELINE} secrets --stack prod --set axtSecretPassword" in out


def test_the_docs_spell_commands_with_the_venv_interpreter():
    # A command line in a code block, or a command in backticks, that starts with a bare python.
    bare = re.compile(r"(?:^|`)\s*python3? -m baseline(?![.\w])", re.MULTILINE)
    found = {
        path.relative_to(ROOT).as_posix(): bare.findall(path.read_text())
        for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    }
    assert {path: hits for path, hits in found.items() if hits} == {}
