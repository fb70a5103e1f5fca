"""Shared fixtures: render stacks offline through the same path as `python -m baseline plan`."""

from __future__ import annotations

import json
import sys
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from baseline.config import load_stack_file, resolve  # noqa: E402
from baseline.plan import render  # noqa: E402

STACKS = ("dev", "staging", "prod")


@cache
def _plan_text(stack: str) -> str:
    plan = render(resolve(load_stack_file(ROOT / "stacks" / f"Pulumi.{stack}.yaml")), stack)
    return json.dumps(plan, sort_keys=True)


def plan_of(stack: str) -> dict:
    """The rendered plan of a checked-in stack (rendered once per test session)."""
    return json.loads(_plan_text(stack))


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
