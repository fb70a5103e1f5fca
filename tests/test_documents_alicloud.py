"""S1/S2 documents as plain data, compared with the guides' own lists (seeds 000 and 001)."""

from __future__ import annotations

import json

import pytest
from guides import GUIDE_000_ECS, GUIDE_000_OOS, GUIDE_000_SNAPSHOT, GUIDE_001_ACTIONS

from baseline.documents.alicloud import (
    PatchScope,
    command_user_policy,
    patch_management_policy,
    service_trust_policy,
)
from baseline.documents.render import canonical_json


def all_actions(document: dict) -> list[str]:
    return [a for s in document["Statement"] for a in s["Action"]]


def test_patch_policy_has_the_guides_twelve_oos_and_four_ecs_actions():
    document = patch_management_policy(PatchScope.wildcard(), create_snapshot=False)
    oos, ecs = document["Statement"]
    assert oos["Action"] == GUIDE_000_OOS and len(GUIDE_000_OOS) == 12
    assert ecs["Action"] == GUIDE_000_ECS
    assert document["Version"] == "1"


@pytest.mark.parametrize("snapshot", [True, False])
def test_snapshot_actions_only_when_whether_create_snapshot_is_on(snapshot):
    document = patch_management_policy(PatchScope.wildcard(), create_snapshot=snapshot)
    has_snapshot = set(GUIDE_000_SNAPSHOT) <= set(all_actions(document))
    assert has_snapshot is snapshot
    assert len(document["Statement"]) == (3 if snapshot else 2)


def test_no_policy_can_delete_snapshots():
    for snapshot in (True, False):
        for scope in (PatchScope.wildcard(), PatchScope.arns("cn-hangzhou", "1" * 16)):
            actions = {
                a.lower() for a in all_actions(patch_management_policy(scope, create_snapshot=snapshot))
            }
            assert "ecs:deletesnapshot" not in actions
            assert not any(a.endswith("*") for a in actions)


def test_production_scope_narrows_every_statement_to_region_and_account_arns():
    scope = PatchScope.arns("cn-shanghai", "5098765432109876", ["i-bp1abc0000000001"])
    oos, ecs, snapshot = patch_management_policy(scope, create_snapshot=True)["Statement"]
    assert oos["Resource"] == [
        "acs:oos:cn-shanghai:5098765432109876:execution/*",
        "acs:oos:cn-shanghai:5098765432109876:template/ACS-ECS-BulkyApplyPatchBaseline",
    ]
    assert ecs["Resource"] == ["acs:ecs:cn-shanghai:5098765432109876:instance/i-bp1abc0000000001"]
    assert snapshot["Resource"] == ["acs:ecs:cn-shanghai:5098765432109876:snapshot/*"]
    for statement in (oos, ecs, snapshot):
        assert "*" not in statement["Resource"]


def test_production_scope_without_instance_ids_covers_the_accounts_instances():
    scope = PatchScope.arns("cn-hangzhou", "5098765432109876")
    assert scope.instances == ("acs:ecs:cn-hangzhou:5098765432109876:instance/*",)


def test_allow_list_policy_matches_the_guide_example():
    document = command_user_policy(
        mode="allow-list",
        resources=["acs:ecs:*:*:instance/*", "acs:ecs:*:*:command/*"],
        run_as_users=["user01", "user02"],
    )
    # The guide's one statement, split: the condition only on the two actions that carry
    # ecs:CommandRunAs (elsewhere it never matches), the guide's 13 actions all kept.
    runs, others = document["Statement"]
    assert runs["Action"] + others["Action"] == [a for a in GUIDE_001_ACTIONS if a in runs["Action"]] + [
        a for a in GUIDE_001_ACTIONS if a not in runs["Action"]
    ]
    assert (
        sorted(runs["Action"] + others["Action"]) == sorted(GUIDE_001_ACTIONS)
        and len(GUIDE_001_ACTIONS) == 13
    )
    assert sorted(runs["Action"]) == ["ecs:InvokeCommand", "ecs:RunCommand"]
    for statement in (runs, others):
        assert statement["Resource"] == ["acs:ecs:*:*:instance/*", "acs:ecs:*:*:command/*"]
    assert runs["Condition"] == {"StringEquals": {"ecs:CommandRunAs": ["user01", "user02"]}}
    assert "Condition" not in others


def test_deny_privileged_policy_matches_the_guide_example():
    document = command_user_policy(mode="deny-privileged", resources=["acs:ecs:*:*:instance/*"])
    statement, _ = document["Statement"]
    assert statement["Condition"] == {"StringNotEqualsIgnoreCase": {"ecs:CommandRunAs": ["root", "system"]}}
    assert statement["Effect"] == "Allow"


def test_unknown_mode_is_a_programming_error():
    with pytest.raises(ValueError, match="mode"):
        command_user_policy(mode="everyone", resources=["*"])


def test_trust_policy_names_the_service():
    document = service_trust_policy(["ecs.aliyuncs.com"])
    (statement,) = document["Statement"]
    assert statement == {
        "Action": "sts:AssumeRole",
        "Effect": "Allow",
        "Principal": {"Service": ["ecs.aliyuncs.com"]},
    }


def test_canonical_json_is_stable_and_compact():
    document = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": ["a:B"], "Resource": ["*"]}]}
    shuffled = {"Statement": [{"Resource": ["*"], "Action": ["a:B"], "Effect": "Allow"}], "Version": "1"}
    assert canonical_json(document) == canonical_json(shuffled)
    assert " " not in canonical_json(document)
    assert json.loads(canonical_json(document)) == document
