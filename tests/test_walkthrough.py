"""docs/deploying.md "Deploying for real": its offline steps, in order, on a fresh copy of the
repository; and the README's scenario table."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import FIXTURES, ROOT

README = (ROOT / "README.md").read_text()
DEPLOYING = (ROOT / "docs" / "deploying.md").read_text()
WALK = DEPLOYING[
    DEPLOYING.index("## Deploying for real") : DEPLOYING.index("### Adopting identities created by hand")
]

# The walk's offline commands, as the page gives them, in its order.
PLAN = "make plan STACK=dev"
SECRETS = ".venv/bin/python -m baseline secrets --stack dev"
SET = ".venv/bin/python -m baseline secrets --stack dev --set axtSecretPassword"
ADOPT = ".venv/bin/python -m baseline adopt --stack dev --out adopt-dev.json"


def test_the_walk_gives_these_offline_steps_in_this_order():
    positions = [WALK.index(command) for command in (PLAN, SECRETS, SET, ADOPT)]
    assert positions == sorted(positions)


@pytest.fixture(scope="module")
def fresh_copy(tmp_path_factory) -> Path:
    """What `git clone` gives: the tracked files (as in the work tree), nothing else; the
    virtualenv is linked in, since installing one is `make`'s job, tested by CI on every run."""
    copy = tmp_path_factory.mktemp("clone") / "ecs-access-baseline"
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / name)
    # The README walks the example dev stack; a fork's own dev (its ids, its committed secrets)
    # or none at all must not decide this test.
    (copy / "stacks").mkdir(exist_ok=True)
    shutil.copy2(FIXTURES / "Pulumi.dev.yaml", copy / "stacks" / "Pulumi.dev.yaml")
    (copy / ".venv").symlink_to(ROOT / ".venv")
    return copy


def run(copy: Path, command: str, **env: str) -> subprocess.CompletedProcess:
    argv = command.split()
    if argv[0] == ".venv/bin/python":
        argv[0] = str(copy / ".venv" / "bin" / "python")  # through the copy's link, as typed
    return subprocess.run(
        argv, cwd=copy, capture_output=True, text=True, check=False, env={**os.environ, **env}, timeout=300
    )


def test_the_offline_steps_pass_in_order_on_a_fresh_copy(fresh_copy):
    # 1. The plan renders with no secret set: one note names the one value to bring.
    plan = run(fresh_copy, PLAN if shutil.which("make") else ".venv/bin/python -m baseline plan --stack dev")
    assert plan.returncode == 0, plan.stderr
    assert "stack dev:" in plan.stdout
    assert "axtSecretPassword" in plan.stderr
    # 5. What the stack needs, with the commands to type (exit 1: still to set).
    listed = run(fresh_copy, SECRETS)
    assert listed.returncode == 1, listed.stderr
    assert "axtSecretPassword  [NOT SET]" in listed.stdout
    assert SET.removeprefix(".venv/bin/") in listed.stdout
    # 5. Setting it needs the Pulumi CLI; without it, one line says so and nothing changes.
    if shutil.which("pulumi") is None:
        stored = subprocess.run(
            [str(fresh_copy / ".venv" / "bin" / "python"), *SET.split()[1:], "--stdin"],
            cwd=fresh_copy,
            input="Windows-Passw0rd!\n",
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "PATH": str(fresh_copy / "no-cli")},
        )
        assert stored.returncode == 2
        assert "Pulumi CLI is not installed" in stored.stderr and len(stored.stderr.splitlines()) == 1
    # 6. The adoption document, offline.
    adopt = run(fresh_copy, ADOPT)
    assert adopt.returncode == 0, adopt.stderr
    document = json.loads((fresh_copy / "adopt-dev.json").read_text())
    assert document["resources"] and document["nameTable"]
    # The providers-first line adopt prints is the one the page shows.
    (targets,) = [line for line in adopt.stderr.splitlines() if line.startswith("next: pulumi up")]
    urns = re.findall(r"--target '([^']+)'", targets)
    assert urns and all(urn in WALK for urn in urns)
    # Nothing the walk ran left a secret or a salt in the stack file.
    assert "secure:" not in (fresh_copy / "stacks" / "Pulumi.dev.yaml").read_text()


def test_the_product_never_points_at_the_shared_folder():
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    offenders = []
    for name in listed.split():
        path = ROOT / name
        if (
            name.startswith("tests/")
            or not path.is_file()
            or path.suffix not in {".md", ".py", ".yaml", ".yml"}
        ):
            continue
        if "../shared" in path.read_text(errors="replace"):
            offenders.append(name)
    assert offenders == []


def test_every_scenario_row_links_its_public_guide():
    table = README[README.index("| | you get | from the guide |") : README.index("Each starter turns on")]
    # S1-S6 come from public guides; S7 is the pipeline's own identities (no guide).
    rows = [line for line in table.splitlines() if line.startswith("| S") and not line.startswith("| S7 ")]
    assert len(rows) == 6
    for row in rows:
        links = re.findall(r"\]\((https://[^)]+)\)", row)
        assert links, row
        assert all(
            re.match(r"https://(www\.alibabacloud\.com|github\.com|docs\.aws\.amazon\.com)/", u)
            for u in links
        )
