"""Shared fixtures: render stacks offline through the same path as `python -m baseline plan`.

Two kinds of stack under test. ``stacks/`` is the user's: an organisation replaces the examples
with its own, so a test that judges "every stack" (renders, passes the policy pack, holds no
escalation beyond its bound) iterates whatever ``stacks/`` holds (``shipped_stacks``) and is marked
``shipped``. A test about particular values (dev's account, prod's principals) reads its own copy
of the examples in tests/fixtures/stacks (``FIXTURES``, ``plan_of``): every other test runs with
the CLI's stack directory pointed there, so ``--stack dev`` means the fixture's dev.
"""

from __future__ import annotations

import gc
import json
import shutil
import sys
from functools import cache
from pathlib import Path

import pytest

# The solver and the SDK allocate millions of short-lived objects (z3 ASTs, protobuf messages); the
# default generation-0 threshold (700) makes the collector run thousands of times per worker for
# nothing it frees. A higher one takes 4-7 s off `make test` on two cores, results unchanged.
gc.set_threshold(50_000, 50, 100)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from baseline import stackfile  # noqa: E402
from baseline.config import ENVIRONMENT_STACKS, Resolved, load_stack_file, resolve  # noqa: E402
from baseline.ops.ephemeral import STACK_PREFIX  # noqa: E402
from baseline.plan import render  # noqa: E402

STACKS_DIR = ROOT / "stacks"
FIXTURES = ROOT / "tests" / "fixtures" / "stacks"
STACKS = ("dev", "staging", "prod")


def shipped_stacks(directory: Path = STACKS_DIR) -> list[str]:
    """The stacks a directory holds, less the git-ignored per-PR files ``ephemeral`` writes."""
    names = (p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in directory.glob("Pulumi.*.yaml"))
    return sorted(n for n in names if not n.startswith(STACK_PREFIX))


def render_from(directory: Path, stack: str) -> dict:
    """``stack``'s plan from ``directory``, whose files the pipeline stack reads as its environments."""
    token = ENVIRONMENT_STACKS.set(directory)
    try:
        return render(resolve(load_stack_file(directory / f"Pulumi.{stack}.yaml")), stack)
    finally:
        ENVIRONMENT_STACKS.reset(token)


def fixtures_with_prod_setting(directory: Path, line: str) -> Path:
    """The example stacks copied into ``directory``, the pipeline's prod environment given ``line``
    (a setting of `pipeline.environments[]`, e.g. ``stack: prod-tags``)."""
    for path in FIXTURES.glob("Pulumi.*.yaml"):
        shutil.copy(path, directory / path.name)
    pipeline = directory / "Pulumi.pipeline.yaml"
    text = pipeline.read_text()
    anchor = '        alicloudAccountId: "5098765432109876"\n'
    assert text.count(anchor) == 1
    pipeline.write_text(text.replace(anchor, f"{anchor}        {line}\n"))
    return directory


def example_resolved(stack: str) -> Resolved:
    """An example stack's resolved configuration (the pipeline's environments from the fixtures too)."""
    token = ENVIRONMENT_STACKS.set(FIXTURES)
    try:
        return resolve(load_stack_file(FIXTURES / f"Pulumi.{stack}.yaml"))
    finally:
        ENVIRONMENT_STACKS.reset(token)


@cache
def _plan_text(directory: Path, stack: str) -> str:
    return json.dumps(render_from(directory, stack), sort_keys=True)


def plan_of(stack: str) -> dict:
    """The rendered plan of an example stack, from the fixtures (rendered once per test session)."""
    return json.loads(_plan_text(FIXTURES, stack))


def shipped_plan(stack: str) -> dict:
    """The rendered plan of a stack in ``stacks/`` (rendered once per test session)."""
    return json.loads(_plan_text(STACKS_DIR, stack))


@pytest.fixture(autouse=True)
def _examples_unless_shipped(request, monkeypatch):
    """The CLI reads the fixtures' stacks, except in tests that judge whatever stacks/ holds."""
    if request.node.get_closest_marker("shipped") is None:
        monkeypatch.setattr(stackfile, "STACKS_DIR", FIXTURES)


def render_file(path: Path, stack: str = "test") -> dict:
    return render(resolve(load_stack_file(path)), stack)


def resources(plan: dict, type_: str) -> list[dict]:
    return [r for r in plan["resources"] if r["type"] == type_]


def policy_documents(plan: dict) -> dict[str, dict]:
    """Custom policy name -> parsed document, for every RAM policy in a plan."""
    return {
        r["inputs"]["policyName"]: json.loads(r["inputs"]["policyDocument"])
        for r in resources(plan, "alicloud:ram/policy:Policy")
    }


@pytest.fixture(params=STACKS)
def stack(request) -> str:
    return request.param
