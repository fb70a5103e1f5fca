"""`make lock` is reproducible: a fresh venv, sorted normalised pins, the current pins kept.

Offline: the venv and pip are replaced by a recorder, so the test proves what the lock runs and
what it writes without installing anything.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import ROOT

from baseline import lock

REQUIREMENTS = (ROOT / "requirements.txt").read_text()


def test_requirements_txt_is_exactly_what_the_lock_writes():
    # Header, one name==version a line, PEP 503 names, sorted: a fresh clone's `make lock`
    # (which writes this form) has nothing to move.
    assert lock.render(REQUIREMENTS.splitlines()) == REQUIREMENTS, "run `make lock` and commit"


def test_every_top_level_requirement_is_pinned_at_its_version():
    wanted = lock.pins((ROOT / "requirements.in").read_text().splitlines())
    locked = lock.pins(REQUIREMENTS.splitlines())
    assert {name: locked.get(name) for name in wanted} == wanted


def test_the_order_does_not_depend_on_the_pip_version():
    # Older and newer pips freeze "Flask" and "pulumi_aws" in different spellings and places.
    one = ["Flask==3.1.3", "flask-cors==6.0.5", "pulumi_aws==7.51.1", "blinker==1.9.0", "APScheduler==3.11.3"]
    other = [
        "apscheduler==3.11.3",
        "blinker==1.9.0",
        "flask-cors==6.0.5",
        "flask==3.1.3",
        "pulumi-aws==7.51.1",
    ]
    assert lock.render(one) == lock.render(other)
    assert lock.render(one).splitlines()[1:] == [
        "apscheduler==3.11.3",
        "blinker==1.9.0",
        "flask==3.1.3",
        "flask-cors==6.0.5",
        "pulumi-aws==7.51.1",
    ]


class Recorder:
    """Stands in for venv and pip: records every command, freezes a fixed unsorted set."""

    def __init__(self, frozen: str, fail_install: bool = False):
        self.commands: list[list[str]] = []
        self.frozen = frozen
        self.fail_install = fail_install

    def __call__(self, command: list[str]) -> str:
        self.commands.append(command)
        if "install" in command and self.fail_install:
            raise lock.LockError("pip install ... failed: ResolutionImpossible")
        return self.frozen if "freeze" in command else ""


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    for name in ("requirements.in", "requirements.txt"):
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


def test_the_lock_freezes_a_fresh_venv_never_the_project_one(clone: Path):
    frozen = "\n".join(reversed(REQUIREMENTS.splitlines()[1:])) + "\n"
    recorder = Recorder(frozen)
    assert lock.lock(clone, run=recorder, python="python3") is False  # unchanged, not rewritten
    create, install, freeze = recorder.commands
    venv = Path(create[-1])
    assert create[:3] == ["python3", "-m", "venv"]
    assert ".venv" not in venv.parts and venv.parent.name.startswith("lock-venv-")
    assert not venv.parent.exists(), "the temporary venv is removed afterwards"
    assert install[0] == freeze[0] == str(venv / "bin" / "python")
    # requirements.in is what gets installed; the current pins only constrain it.
    assert install[install.index("-r") + 1] == str(clone / "requirements.in")
    assert install[install.index("-c") + 1] == str(clone / "requirements.txt")
    assert freeze[3:] == ["freeze", "--disable-pip-version-check", "--exclude-editable"]
    assert (clone / "requirements.txt").read_text() == REQUIREMENTS


def test_a_new_dependency_lands_in_its_sorted_place(clone: Path):
    frozen = REQUIREMENTS + "Zope.Interface==7.2\nHumanize==4.11.0\n"
    assert lock.lock(clone, run=Recorder(frozen), python="python3") is True
    lines = (clone / "requirements.txt").read_text().splitlines()
    names = [line.split("==")[0] for line in lines[1:]]
    assert names == sorted(names)
    assert names[names.index("grpcio") : names.index("idna") + 1] == [
        "grpcio",
        "humanize",
        "hypothesis",
        "idna",
    ]
    assert {"zope-interface==7.2", "humanize==4.11.0"} <= set(lines)


def test_upgrade_drops_the_constraints_and_a_conflict_says_how(clone: Path):
    recorder = Recorder(REQUIREMENTS)
    lock.lock(clone, run=recorder, python="python3", upgrade=True)
    assert "-c" not in recorder.commands[1]
    with pytest.raises(lock.LockError, match=r"make lock UPGRADE=1"):
        lock.lock(clone, run=Recorder("", fail_install=True), python="python3")
    assert (clone / "requirements.txt").read_text() == REQUIREMENTS


def test_make_lock_runs_the_module_and_never_installs_into_the_project_venv():
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    # Under `make test` this make is nested: without --no-print-directory it would announce the
    # directory it enters, around the recipe.
    dry = subprocess.run(
        ["make", "--no-print-directory", "-n", "lock", "PYTHON=python3"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert re.search(r"python3 -m baseline\.lock$", dry.strip())
    assert ".venv" not in dry and "freeze" not in dry
