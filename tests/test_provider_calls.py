"""The pipeline roles' provider calls: the catalogue covers every resource type the stacks declare,
each call cites its source, and asked as the cloud authorises them (strict) the AWS deploy roles'
calls show what they cannot do today."""

from __future__ import annotations

import json

import pytest
from conftest import ROOT, plan_of

from baseline.analysis import provider_calls, tasks
from baseline.config import load_stack_document, resolve
from baseline.ops import ephemeral
from baseline.plan import render

STACKS = ("dev", "staging", "prod", "pipeline")


@pytest.fixture(scope="module")
def plans() -> dict:
    found = {stack: plan_of(stack) for stack in STACKS}
    # The sandbox deploys per-PR copies of dev in its own accounts, as `baseline ephemeral` writes them.
    path = ROOT / "stacks" / "Pulumi.dev.yaml"
    sandbox = next(e for e in resolve_pipeline().settings.pipeline.environments if e.name == "test")
    copy = ephemeral.document(
        1, source=path, alicloud_account_id=sandbox.alicloud_account_id, aws_account_id=sandbox.aws_account_id
    )
    found["test"] = json.loads(
        json.dumps(
            render(resolve(load_stack_document(copy, ephemeral.stack_name(1), str(path))), "test-pr-1")
        )
    )
    return found


def resolve_pipeline():
    from baseline.config import load_stack_file

    return resolve(load_stack_file(ROOT / "stacks" / "Pulumi.pipeline.yaml"))


def test_every_declared_type_has_its_calls_with_a_source(plans):
    types = provider_calls.catalogue()["types"]
    declared = {
        r["type"]
        for plan in plans.values()
        for r in plan["resources"]
        if not r["type"].startswith(("pulumi:", "ecs-access-baseline:"))
    }
    assert declared <= set(types), sorted(declared - set(types))
    for name, entry in types.items():
        assert entry.get("source"), name
        for operation in ("create", "read", "update", "delete"):
            for call in entry.get(operation) or ():
                assert ":" in call["action"] and (call.get("function") or call.get("source")), (name, call)


def test_unknown_type_is_refused(plans):
    plan = {
        **plans["dev"],
        "resources": [
            *plans["dev"]["resources"],
            {"type": "alicloud:vpc/vpc:Vpc", "name": "v", "inputs": {}},
        ],
    }
    with pytest.raises(KeyError, match="alicloud:vpc/vpc:Vpc"):
        provider_calls.deploy_calls(plans["pipeline"], {**plans, "dev": plan})


def test_deploy_roles_make_every_operation_preview_roles_read_only(plans):
    calls = provider_calls.deploy_calls(plans["pipeline"], plans)
    roles = {r.key: r for r in provider_calls.pipeline_roles(plans["pipeline"])}
    assert set(calls) == set(roles) and len(roles) == 14
    for key, role_calls in calls.items():
        operations = {call.step.split(" ", 1)[0] for call in role_calls}
        if roles[key].access == "preview":
            # drift's reads that a provider read already makes are listed once, under "read"
            assert "read" in operations and operations <= {"read", "drift"}, key
        else:
            assert operations == {"create", "read", "update", "delete"}, key
        assert all(call.principal == roles[key].name and call.source for call in role_calls)
    # prod's deployer attaches the instance roles on the stack's own instances, both resources asked
    attach = [c for c in calls["alicloud:github-prod-deploy"] if c.action == "ecs:AttachInstanceRamRole"]
    assert {c.resources[0].rsplit("/", 1)[1] for c in attach} == {
        "i-bp1prodwin000000001",
        "i-bp1prodwin000000002",
        "i-bp1prodweb0000000001",
        "i-bp1prodweb0000000002",
    }


def test_aws_deploy_roles_set_their_policies_default_version_and_leave_boundaries_alone(plans):
    """terraform-provider-aws updates a policy with CreatePolicyVersion(SetAsDefault=false) and then
    SetDefaultPolicyVersion: every AWS deploy role may now make both on its stack's policies; the
    boundary its roles sit behind is the administrator's (no update or delete call is asked)."""
    verdicts = tasks.decide_pipeline_calls(
        plans["pipeline"], provider_calls.deploy_calls(plans["pipeline"], plans)
    )
    for key in ("aws:github-dev-deploy", "aws:github-staging-deploy", "aws:github-prod-deploy"):
        asked = [v for v in verdicts[key] if v.call.action == "iam:SetDefaultPolicyVersion"]
        assert asked and all(v.allowed for v in asked), key
        assert not any("Boundary" in r for v in asked for r in v.call.resources), key


def test_kms_calls_of_secret_parameters_are_unknown_never_asked(plans):
    """OOS keeps a secret parameter's value in a KMS secret no page names: the catalogue marks the
    KMS calls unknown with the reason, and deciding them never allows them."""
    calls = provider_calls.deploy_calls(plans["pipeline"], plans)
    verdicts = tasks.decide_pipeline_calls(plans["pipeline"], calls)
    for key, role_verdicts in verdicts.items():
        unknown = [v for v in role_verdicts if v.call.unknown]
        assert {v.call.action for v in unknown} <= {
            "kms:CreateSecret",
            "kms:GetSecretValue",
            "kms:UpdateSecretValue",
            "kms:DeleteSecret",
        }, key
        assert all(not v.allowed and v.unknown and v.reason == v.call.unknown for v in unknown), key
        # Decrypt on a customer key is a named resource: asked, not unknown.
        assert not any(v.call.action == "kms:Decrypt" for v in unknown), key
    assert any(v.call.unknown for v in verdicts["alicloud:github-prod-deploy"])


DRIFT_READS = {
    "alicloud:ram/user:User": {"ram:ListAccessKeys", "ram:GetLoginProfile", "ram:ListPoliciesForUser"},
    "alicloud:ram/role:Role": {"ram:GetRole", "ram:ListPoliciesForRole"},
    "aws:iam/role:Role": {"iam:GetRole", "iam:ListAttachedRolePolicies", "iam:ListRolePolicies"},
}


def test_preview_roles_may_make_every_read_drift_makes_on_their_stacks_users_and_roles(plans):
    """`baseline drift` runs with the preview role: each of its reads, on every user and role of
    the environment the role previews, is in the catalogue and allowed by the role's own policy."""
    roles = [r for r in provider_calls.pipeline_roles(plans["pipeline"]) if r.access == "preview"]
    asked: dict[str, list] = {}
    for role in roles:
        plan = plans[role.environment]
        for resource in plan["resources"]:
            if resource["type"] in DRIFT_READS and resource["type"].startswith(f"{role.cloud}:"):
                calls = [c for op, c in provider_calls._calls_of(role, resource, plan) if op == "drift"]
                assert {c.action for c in calls} == DRIFT_READS[resource["type"]], (
                    role.key,
                    resource["name"],
                )
                name = resource["inputs"].get("name") or resource["inputs"]["roleName"]
                assert all(c.resources and c.resources[0].lower().endswith(name.lower()) for c in calls)
                asked.setdefault(role.key, []).extend(calls)
    assert set(asked) == {r.key for r in roles}
    verdicts = tasks.decide_pipeline_calls(plans["pipeline"], asked)
    denied = [
        (key, v.call.action, v.call.resources) for key, vs in verdicts.items() for v in vs if not v.allowed
    ]
    assert not denied, denied
