"""Tag-scoped fleets (`instanceTags`): commands and patching reach the instances carrying the
fleet's tag, whatever their number, and no principal of the stack may set that tag.

The fixture stack `prod-tags` is prod with `instanceTags: {fleet: prod-web}` instead of ids.
"""

from __future__ import annotations

import json

import pytest
from conftest import example_resolved, fixtures_with_prod_setting, plan_of

from baseline import limits
from baseline.analysis import access, symbolic, tasks
from baseline.analysis.diff import ESCALATION_ACTIONS
from baseline.analysis.evaluator import evaluate_request
from baseline.cli import main
from baseline.config import ENVIRONMENT_STACKS, load_stack_file, resolve
from baseline.documents.alicloud import (
    COMMAND_ACTIONS,
    PatchScope,
    command_user_policy,
    patch_management_policy,
)
from baseline.documents.render import canonical_json
from baseline.plan import render

ACCOUNT = "5098765432109876"
WEB = f"acs:ecs:cn-hangzhou:{ACCOUNT}:instance/i-bp1autoscaled000001"  # never listed anywhere
TAGGED = {"acs:ResourceTag/fleet": ["prod-web"]}


def _grants(name: str) -> access.Grants:
    plan = plan_of("prod-tags")
    [principal] = access.find_principal(plan, name)
    return access.grants_of(plan, principal)


def test_commands_as_user01_reach_a_tagged_instance_and_no_untagged_one():
    grants = _grants("commandUser")
    as_user01 = {"ecs:CommandRunAs": ["user01"]}
    for action in ("ecs:RunCommand", "ecs:InvokeCommand"):
        assert grants.decide(action, WEB, {**as_user01, **TAGGED}).allowed
        assert not grants.decide(action, WEB, as_user01).allowed  # untagged
        assert not grants.decide(action, WEB, {**as_user01, "acs:ResourceTag/fleet": ["prod-db"]}).allowed
        # The tag does not lift the OS-user allow-list.
        assert not grants.decide(action, WEB, {"ecs:CommandRunAs": ["root"], **TAGGED}).allowed
    assert grants.decide("ecs:StopInvocation", WEB, TAGGED).allowed
    assert not grants.decide("ecs:StopInvocation", WEB).allowed
    # The command resource carries no instance tag: its statement has none.
    command = f"acs:ecs:cn-hangzhou:{ACCOUNT}:command/c-1"
    assert grants.decide("ecs:InvokeCommand", command, as_user01).allowed


def test_the_patch_role_runs_only_on_tagged_instances():
    grants = _grants("PatchAutomationRole")
    assert grants.decide("ecs:RunCommand", WEB, TAGGED).allowed
    assert not grants.decide("ecs:RunCommand", WEB).allowed


def _stack_principals() -> list[access.Principal]:
    return [p for p in access.principals(plan_of("prod-tags")) if p.cloud == "alicloud"]


@pytest.mark.parametrize(
    ("action", "resource"),
    [
        ("ecs:TagResources", WEB),
        ("ecs:UntagResources", WEB),
        ("ecs:AddTags", WEB),
        ("ecs:RemoveTags", WEB),
        ("ecs:RunInstances", "*"),
        ("ecs:CreateInstance", "*"),
        # The Tag service's own API names the instance by ARN and is authorised on all resources.
        ("tag:TagResources", WEB),
        ("tag:UntagResources", WEB),
        ("tag:TagResources", "*"),
        # Launch templates, auto provisioning groups and activations yield tagged instances too.
        ("ecs:CreateLaunchTemplate", f"acs:ecs:cn-hangzhou:{ACCOUNT}:launchtemplate/*"),
        ("ecs:CreateLaunchTemplateVersion", f"acs:ecs:cn-hangzhou:{ACCOUNT}:launchtemplate/lt-1"),
        ("ecs:CreateAutoProvisioningGroup", "*"),
        ("ecs:CreateActivation", f"acs:ecs:cn-hangzhou:{ACCOUNT}:activation/*"),
    ],
)
def test_no_principal_of_the_stack_may_set_or_remove_the_fleet_tag(action, resource):
    plan = plan_of("prod-tags")
    principals = _stack_principals()
    assert len(principals) >= 6
    for principal in principals:
        decision = access.grants_of(plan, principal).decide(
            action, resource, {"acs:RequestTag/fleet": ["prod-web"], "acs:TagKeys": ["fleet"]}
        )
        assert not decision.allowed, principal.name
        # An explicit deny: a system policy added later (AliyunECSFullAccess) cannot lift it.
        assert "FleetTagGuardPolicy" in decision.reason, (principal.name, decision.reason)


def test_stacks_with_listed_ids_get_no_guard():
    names = {r["inputs"].get("policyName") for r in plan_of("prod")["resources"]}
    assert not any(n and "FleetTagGuard" in n for n in names)


def test_the_tag_scoped_documents_do_not_grow_with_the_fleet():
    tags = {"fleet": "prod-web"}
    resources = (f"acs:ecs:cn-hangzhou:{ACCOUNT}:instance/*", f"acs:ecs:cn-hangzhou:{ACCOUNT}:command/*")
    tagged = canonical_json(
        command_user_policy(
            mode="allow-list", resources=resources, run_as_users=["user01"], instance_tags=tags
        )
    )
    patch = canonical_json(
        patch_management_policy(
            PatchScope.arns("cn-hangzhou", ACCOUNT, instance_tags=tags), create_snapshot=True
        )
    )
    ids = [f"i-bp1fleet{n:012d}" for n in range(120)]
    listed = canonical_json(
        patch_management_policy(PatchScope.arns("cn-hangzhou", ACCOUNT, ids), create_snapshot=True)
    )
    assert len(tagged) < limits.RAM_POLICY_DOCUMENT_MAX / 4
    assert len(patch) < limits.RAM_POLICY_DOCUMENT_MAX / 2 < limits.RAM_POLICY_DOCUMENT_MAX < len(listed)


def test_the_task_proof_asks_instance_calls_on_an_instance_carrying_the_fleet_tag():
    results = tasks.prove(plan_of("prod-tags"), example_resolved("prod-tags").settings)
    assert not [v for r in results for v in r.verdicts if v.verdict == "deny"]
    runs = [
        v.call
        for r in results
        for v in r.verdicts
        if v.call.action == "ecs:RunCommand" and v.call.principal in ("commandUser", "PatchAutomationRole")
    ]
    assert {c.principal for c in runs} == {"commandUser", "PatchAutomationRole"}
    assert all(c.context.get("acs:ResourceTag/fleet") == ("prod-web",) for c in runs)
    # The commands themselves carry no instance tag: only calls naming one instance are tagged.
    creates = [v.call for r in results for v in r.verdicts if v.call.action == "ecs:CreateCommand"]
    assert creates and not any("acs:ResourceTag/fleet" in c.context for c in creates)


def test_can_takes_a_resource_tag_in_the_context(capsys):
    argv = ["can", "--stack", "prod-tags", "--principal", "commandUser", "--action", "ecs:RunCommand"]
    argv += ["--resource", WEB, "--context", "ecs:CommandRunAs=user01"]
    assert main([*argv, "--context", "acs:ResourceTag/fleet=prod-web"]) == 0
    assert capsys.readouterr().out.startswith("allow\n")
    assert main(argv) == 1
    assert capsys.readouterr().out.startswith("deny\n")
    assert main([*argv, "--context", "acs:ResourceTag/fleet=prod-db"]) == 1
    assert "acs:ResourceTag/fleet" in capsys.readouterr().out


def test_the_solver_reads_tag_values_as_the_evaluator_does():
    """Tag values are condition strings like any other: on every combination the two agree."""
    plan = plan_of("prod-tags")
    [user] = access.find_principal(plan, "commandUser")
    grants = access.grants_of(plan, user)
    command = f"acs:ecs:cn-hangzhou:{ACCOUNT}:command/c-1"
    asked = 0
    for action in (
        "ecs:RunCommand",
        "ecs:InvokeCommand",
        "ecs:StopInvocation",
        "ecs:TagResources",
        "ecs:AddTags",
    ):
        for resource in (WEB, command):
            for tag in (None, "prod-web", "PROD-WEB", "prod-db", "prod-*", ""):
                for run_as in (None, "user01", "root"):
                    context = {}
                    if tag is not None:
                        context["acs:ResourceTag/fleet"] = [tag]
                    if run_as is not None:
                        context["ecs:CommandRunAs"] = [run_as]
                    concrete = evaluate_request(
                        grants.policies, "alicloud", action, resource, context
                    ).allowed
                    assert symbolic.decide(grants, action, resource, context) == concrete, (
                        action,
                        resource,
                        context,
                    )
                    asked += 1
    assert asked == 180


def test_the_prod_deployer_deploys_the_tag_scoped_stack_and_is_never_guarded(tmp_path):
    """The pipeline's prod deploy role, deploying prod-tags, may create and attach the guard
    policies (its task proof denies nothing), and no pipeline role carries the guard."""
    pipeline = fixtures_with_prod_setting(tmp_path, "stack: prod-tags") / "Pulumi.pipeline.yaml"
    token = ENVIRONMENT_STACKS.set(tmp_path)
    try:
        resolved = resolve(load_stack_file(pipeline))
        plan = render(resolved, "pipeline")
        results = tasks.prove(plan, resolved.settings, "alicloud:github-prod-deploy")
    finally:
        ENVIRONMENT_STACKS.reset(token)
    [deployer] = results
    # The deploy policy names every guard policy of the stack by its exact name, never policy/*.
    [role] = [r for r in resolved.pipeline.roles if r.key == "alicloud-prod-deploy"]
    named = {res for st in role.policy["Statement"] for res in st.get("Resource", [])}
    guards = {
        f"acs:ram:*:{ACCOUNT}:policy/{scenario}FleetTagGuardPolicy"
        for scenario in ("cloudAssistantLinux", "cloudAssistantWindows", "eciAccess", "ecsInstanceRole")
    } | {f"acs:ram:*:{ACCOUNT}:policy/patchManagementFleetTagGuardPolicy"}
    assert guards <= named, sorted(guards - named)
    assert not [res for res in named if res.endswith(":policy/*")]
    asked = {(v.call.action, r) for v in deployer.verdicts for r in v.call.resources}
    guard = f"acs:ram::{ACCOUNT}:policy/patchManagementFleetTagGuardPolicy"
    role = f"acs:ram::{ACCOUNT}:role/patchautomationrole"
    assert ("ram:CreatePolicy", guard) in asked
    assert ("ram:AttachPolicyToRole", guard) in asked and ("ram:AttachPolicyToRole", role) in asked
    assert [v.call for v in deployer.verdicts if v.verdict == "deny"] == []
    # The guard policies are the deployer's to create (named in its policy), never attached to it.
    attached = [r["inputs"].get("policyName", "") for r in plan["resources"] if "Attachment" in r["type"]]
    assert attached and not [name for name in attached if "FleetTagGuard" in name]
    documents = [
        json.loads(r["inputs"]["policyDocument"])
        for r in plan["resources"]
        if "policyDocument" in r["inputs"]
    ]
    statements = [st for d in documents for st in d["Statement"]]
    assert statements and not [st for st in statements if "ecs:TagResources" in st["Action"]]


@pytest.mark.parametrize("command", ["policy", "lint", "paths"])
def test_the_tag_scoped_prod_passes_the_policy_pack_lint_and_paths(capsys, command):
    assert main([command, "--stack", "prod-tags"]) == 0
    capsys.readouterr()


def test_no_principal_of_the_tag_scoped_prod_reaches_beyond_its_stated_reach():
    plan = plan_of("prod-tags")
    services = {"alicloud": ("ram", "ecs"), "aws": ("iam", "ecs")}
    for principal in access.principals(plan):
        actions = [
            a for a in (*ESCALATION_ACTIONS, *COMMAND_ACTIONS) if a.split(":")[0] in services[principal.cloud]
        ]
        result = symbolic.escalation_reach(
            access.grants_of(plan, principal), actions, symbolic.intended_reach(principal)
        )
        assert not result.outside.classes and not result.outside.approximations, principal.name


def test_the_windows_fleet_is_selected_by_its_own_tag_and_its_instances_keep_their_role():
    grants = _grants("winCommandUser")
    win = f"acs:ecs:cn-hangzhou:{ACCOUNT}:instance/i-bp1prodwin000000001"
    as_user01 = {"ecs:CommandRunAs": ["user01"]}
    assert grants.decide("ecs:RunCommand", win, {**as_user01, "acs:ResourceTag/fleet": ["prod-win"]}).allowed
    # Listed as a Windows instance, but untagged: no command (the tag decides, not the list).
    assert not grants.decide("ecs:RunCommand", win, as_user01).allowed
    assert not grants.decide("ecs:RunCommand", WEB, {**as_user01, **TAGGED}).allowed  # the Linux fleet's tag
    attached = [
        r["inputs"]["instanceId"]
        for r in plan_of("prod-tags")["resources"]
        if r["type"].endswith("RamRoleAttachment")
    ]
    assert "i-bp1prodwin000000001" in attached
