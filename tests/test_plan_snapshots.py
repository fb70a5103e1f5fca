"""Snapshots of every stack's plan, so a policy change shows as a readable diff in review.

Policy documents are stored parsed (one action per line) rather than as the JSON string the
provider receives. After an intended change: `pytest tests/test_plan_snapshots.py --snapshot-update`,
then review and commit the diff under tests/__snapshots__/.
"""

from __future__ import annotations

import json

import pytest
from conftest import STACKS, plan_of
from syrupy.extensions.json import JSONSnapshotExtension

DOCUMENT_INPUTS = {"policyDocument", "assumeRolePolicyDocument", "policy", "assumeRolePolicy"}


def review_view(plan: dict) -> dict:
    view = json.loads(json.dumps(plan))
    for resource in view["resources"]:
        for key in DOCUMENT_INPUTS & set(resource["inputs"]):
            value = resource["inputs"][key]
            if isinstance(value, str) and value.startswith("{"):
                resource["inputs"][key] = json.loads(value)
    return view


@pytest.fixture
def snapshot_json(snapshot):
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.mark.parametrize("stack", [*STACKS, "pipeline"])
def test_plan_matches_the_reviewed_snapshot(stack, snapshot_json):
    assert review_view(plan_of(stack)) == snapshot_json
