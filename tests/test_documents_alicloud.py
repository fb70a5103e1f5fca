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


def test_patch_policy_has_the_guides_twelve_oos_and_four_ecs_actions_and_the_templates_run_command():
    document = patch_management_policy(PatchScope.wildcard(), create_snapshot=False)
    oos, ecs = document["Statement"]
    assert oos["Action"] == GUIDE_000_OOS and len(GUIDE_000_OOS) == 12
    # ACS-ECS-BulkyApplyPatchBaseline runs the patch with ecs:RunCommand, which the guide omits.
    assert ecs["Action"] == [*GUIDE_000_ECS, "ecs:RunCommand"]
    assert document["Version"] == "1"


@pytest.mark.parametrize("snapshot", [True, False])
def test_snapshot_actions_only_when_whether_create_snapshot_is_on(snapshot):
    document = patch_management_policy(PatchScope.wildcard(), create_snapshot=snapshot)
    has_snapshot = set(GUIDE_000_SNAPSHOT) <= set(all_actions(document))
    assert has_snapshot is snapshot
    # ecs:DescribeDisks: the template reads the system disk before it snapshots it.
    assert ("ecs:DescribeDisks" in all_actions(document)) is snapshot
    assert len(document["Statement"]) == (3 if snapshot else 2)


def test_no_policy_can_delete_snapshots():
    for snapshot in (True, False):
        for scope in (PatchScope.wildcard(), PatchScope.arns("cn-hangzhou", "1" * 16)):
            actions = {
                a.lower() for a in all_actions(patch_management_policy(scope, create_snapshot=snapshot))
            }
            assert "ecs:deletesnapshot" not in actions
            assert not any(a.endswith("*") for a in actions)


def test_production_scope_gives_each_action_the_region_and_account_arns_of_its_own_types():
    acs = "cn-shanghai:5098765432109876"
    scope = PatchScope.arns("cn-shanghai", "5098765432109876", ["i-bp1abc0000000001"])
    document = patch_management_policy(scope, create_snapshot=True)
    on = {a: s["Resource"] for s in document["Statement"] for a in s["Action"]}
    assert on["oos:StartExecution"] == [
        f"acs:oos:{acs}:execution/*",
        f"acs:oos:{acs}:template/ACS-ECS-BulkyApplyPatchBaseline",
    ]
    assert on["oos:ListExecutions"] == [f"acs:oos:{acs}:execution/*"]
    assert on["oos:ListPatchBaselines"] == [f"acs:oos:{acs}:patchbaseline/*"]
    assert on["oos:ListInstancePatchStates"] == ["*"]  # no resource-level permission
    assert on["ecs:DescribeInstances"] == [f"acs:ecs:{acs}:instance/*"]  # listing
    assert on["ecs:RunCommand"] == [f"acs:ecs:{acs}:instance/i-bp1abc0000000001"]
    assert on["ecs:InvokeCommand"] == [
        f"acs:ecs:{acs}:instance/i-bp1abc0000000001",
        f"acs:ecs:{acs}:command/*",
    ]
    assert on["ecs:CreateSnapshot"] == [
        f"acs:ecs:{acs}:disk/*",
        f"acs:ecs:{acs}:volume/*",
        f"acs:ecs:{acs}:snapshot/*",
    ]
    assert on["ecs:DescribeSnapshots"] == [f"acs:ecs:{acs}:snapshot/*"]
    extra = {"ecs:RunCommand", "ecs:DescribeDisks"}  # what the template calls beyond the guide
    assert sorted(on) == sorted({*GUIDE_000_OOS, *GUIDE_000_ECS, *GUIDE_000_SNAPSHOT, *extra})


def test_each_actions_resource_types_are_the_references():
    """The documents' type table agrees with the authorization reference (every reading)."""
    from baseline.analysis import reference
    from baseline.documents.alicloud import RESOURCE_KINDS

    for action, kinds in RESOURCE_KINDS.items():
        ref = reference.lookup("alicloud", action)
        assert ref is not None, action
        if not ref.settled:
            continue
        types = {t.kind for r in ref.readings for t in r.resources}
        assert set(kinds) == types, (action, kinds, types)


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
    # ecs:CommandRunAs (elsewhere it never matches), each action on its own resource types, the
    # guide's 13 actions all kept.
    statements = document["Statement"]
    runs = [s for s in statements if "Condition" in s]
    assert sorted(a for s in runs for a in s["Action"]) == ["ecs:InvokeCommand", "ecs:RunCommand"]
    for statement in runs:
        assert statement["Condition"] == {"StringEquals": {"ecs:CommandRunAs": ["user01", "user02"]}}
    assert sorted(all_actions(document)) == sorted(GUIDE_001_ACTIONS) and len(GUIDE_001_ACTIONS) == 13
    on = {a: s["Resource"] for s in statements for a in s["Action"]}
    assert on["ecs:RunCommand"] == on["ecs:StopInvocation"] == ["acs:ecs:*:*:instance/*"]
    assert on["ecs:CreateCommand"] == on["ecs:DeleteCommand"] == ["acs:ecs:*:*:command/*"]
    assert on["ecs:InvokeCommand"] == ["acs:ecs:*:*:instance/*", "acs:ecs:*:*:command/*"]


def test_named_instances_are_listed_on_instance_star_of_their_region():
    instance = "acs:ecs:cn-hangzhou:1:instance/i-1"
    document = command_user_policy(
        mode="allow-list", resources=[instance, "acs:ecs:cn-hangzhou:1:command/*"], run_as_users=["u"]
    )
    on = {a: s["Resource"] for s in document["Statement"] for a in s["Action"]}
    assert on["ecs:DescribeInstances"] == ["acs:ecs:cn-hangzhou:1:instance/*"]
    assert on["ecs:DescribeCloudAssistantStatus"] == [instance]


def test_deny_privileged_policy_matches_the_guide_example():
    document = command_user_policy(mode="deny-privileged", resources=["acs:ecs:*:*:instance/*"])
    statement = document["Statement"][0]
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
