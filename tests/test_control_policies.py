"""Resource Directory control policies: RAM's ceiling over every identity of an environment's account.

Intent (docs/operations.md, section 8; issue 24, point 5): in every environment's Alibaba Cloud
account no identity but the administrator's role writes the pipeline's roles, policies and OIDC
provider or attaches an administrator policy; in the sandbox, no identity but its deploy role and
the administrator's creates or empowers an identity or hands out a credential. The deploy roles'
own jobs (`tasks --stack pipeline`) are asked under the same ceiling and stay allowed.
"""

from __future__ import annotations

import json

import pulumi
import pulumi_alicloud as alicloud
import pytest
import yaml
from conftest import FIXTURES, fixtures_with_prod_setting, plan_of, render_from

from baseline.analysis import access, control_policies, tasks
from baseline.analysis.evaluator import NamedPolicy, evaluate, evaluate_call
from baseline.documents import pipeline as documents
from baseline.errors import PlanError
from baseline.mocks import StrictMocks
from baseline.plan import execute

HOME = "5011112222333344"  # alicloud.accountId of the pipeline stack: the management account
ACCOUNTS = {"dev": "5012345678901234", "staging": "5023456789012345", "prod": "5098765432109876"}
SANDBOX = "5055556666777788"
ADMIN = "ResourceDirectoryAccountAccessRole"
EVERYTHING = NamedPolicy(
    "prx-admin", {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
)


def plan() -> dict:
    return plan_of("pipeline")


def caller(account: str, role: str | None = None, user: str | None = None) -> dict:
    arn = f"acs:ram::{account}:role/{role.lower()}" if role else f"acs:ram::{account}:user/{user}"
    return {control_policies.PRINCIPAL_ARN: [arn]}


def allowed(
    account: str, action: str, resource: str, *, role=None, user="prx", policies=(EVERYTHING,)
) -> bool:
    """Whether an identity of ``account`` with ``policies`` may, under the account's control policies."""
    ceiling = control_policies.ceiling(plan(), account)
    assert ceiling is not None, f"no control policy on {account}"
    context = caller(account, role=role, user=None if role else user)
    return evaluate(list(policies), action, resource, context, boundary=ceiling).allowed


# --- what the plan registers -------------------------------------------------------------------


def test_every_environment_account_gets_the_guard_and_the_sandbox_its_own_policy():
    attached = control_policies.attached(plan())
    names = {account: sorted(p.name for p in found) for account, found in attached.items()}
    for environment, account in ACCOUNTS.items():
        assert names[account] == [f"github-{environment}-pipeline-guard (control policy)"]
    assert names[SANDBOX] == [
        "github-test-pipeline-guard (control policy)",
        "github-test-sandbox-identities (control policy)",
    ]


def test_the_mocks_refuse_the_effect_scope_create_control_policy_does_not_take():
    """`All` (the member's Alibaba Cloud account too) is printed by GetControlPolicy and the provider,
    never by CreateControlPolicy's pages, which take RAM only: the guard cannot bind a member's root."""
    _refused(lambda: _policy(effect_scope="All"), "effectScope 'All' is not RAM")


def test_control_policies_are_written_from_the_management_account_scoped_to_ram_within_the_limit():
    resources = plan()["resources"]
    by_name = {r["name"]: r for r in resources}
    written = [r for r in resources if r["type"].startswith("alicloud:resourcemanager/controlPolicy")]
    assert len(written) == 10
    for resource in written:
        provider = by_name[resource["provider"]]
        assert "assumeRole" not in provider["inputs"], resource["name"]  # the home account's own keys
        assert resource["provider"] == f"pipeline-alicloud-{HOME}" and resource["protect"]
    for resource in written:
        if resource["type"].endswith(":ControlPolicy"):
            assert resource["inputs"]["effectScope"] == "RAM"
            assert len(resource["inputs"]["policyDocument"]) <= 2048


def test_a_stack_without_a_sandbox_may_leave_control_policies_off():
    settings = yaml.safe_load((FIXTURES / "Pulumi.pipeline.yaml").read_text())["config"]
    pipeline = settings["ecs-access-baseline:pipeline"]
    pipeline["environments"] = [e for e in pipeline["environments"] if e["name"] != "test"]
    pipeline.pop("resourceDirectory")
    from baseline.scenarios.pipeline import PipelineSettings, build

    spec = build(PipelineSettings.model_validate(pipeline), {"alicloud": HOME, "aws": "777788889999"})
    assert spec.control_policies == ()


# --- the guard, in every environment account -----------------------------------------------------


@pytest.mark.parametrize("environment", [*ACCOUNTS, "test"])
def test_no_identity_but_the_administrator_rewrites_the_pipelines_roles_policies_or_provider(environment):
    account = ACCOUNTS.get(environment, SANDBOX)
    deploy_role = f"acs:ram:*:{account}:role/github-{environment}-deploy"
    policy = f"acs:ram:*:{account}:policy/github-{environment}-deploy-policy"
    provider = f"acs:ram::{account}:oidc-provider/github-actions"
    admin_role = f"acs:ram:*:{account}:role/resourcedirectoryaccountaccessrole"
    for action, resource in (
        ("ram:UpdateRole", deploy_role),  # re-trust the deploy role
        ("ram:AttachPolicyToRole", deploy_role),
        ("ram:CreatePolicyVersion", policy),
        ("ram:SetDefaultPolicyVersion", policy),
        ("ram:UpdateOIDCProvider", provider),
        ("ram:UpdateRole", admin_role),  # re-trust the administrator's way in
    ):
        assert not allowed(account, action, resource), (action, resource)
        assert not allowed(account, action, resource, role=f"github-{environment}-deploy"), (action, resource)
        assert allowed(account, action, resource, role=ADMIN), (action, resource)


@pytest.mark.parametrize("environment", [*ACCOUNTS, "test"])
def test_no_identity_but_the_administrator_attaches_an_administrator_policy(environment):
    account = ACCOUNTS.get(environment, SANDBOX)
    for name in documents.RAM_ADMIN_POLICIES:
        resource = documents.system_policy_arn(name)
        assert not allowed(account, "ram:AttachPolicyToUser", resource), name
        assert allowed(account, "ram:AttachPolicyToUser", resource, role=ADMIN), name
    # Outside the sandbox any other system policy is the account's own business: the guard does not
    # reach it (in the sandbox no one but its deployer attaches anything).
    other = documents.system_policy_arn("AliyunECSReadOnlyAccess")
    assert allowed(account, "ram:AttachPolicyToUser", other) == (environment != "test")


@pytest.mark.parametrize("environment", [*ACCOUNTS, "test"])
def test_no_identity_but_the_administrator_attaches_at_a_resource_groups_or_the_accounts_scope(environment):
    """Resource Management's AttachPolicy takes an account id as its scope: as ram:AttachPolicy (the
    Resource Group table) on a pipeline role or policy it is denied, and under its own prefix (its
    page discloses no authorization) it is denied on everything, the deploy roles included."""
    account = ACCOUNTS.get(environment, SANDBOX)
    # A pipeline role the account has: the sandbox has no preview role (preview: false).
    access_ = "deploy" if environment == "test" else "preview"
    role = f"acs:ram:*:{account}:role/github-{environment}-{access_}"
    policy = f"acs:ram:*:{account}:policy/github-{environment}-deploy-policy"
    for action in ("ram:AttachPolicy", "ram:DetachPolicy"):
        for resource in (role, policy):
            assert not allowed(account, action, resource), (action, resource)
            assert not allowed(account, action, resource, role=f"github-{environment}-deploy"), action
            assert allowed(account, action, resource, role=ADMIN), (action, resource)
    for action in documents.RESOURCE_MANAGER_ATTACH_ACTIONS:
        assert not allowed(account, action, "*"), action
        assert not allowed(account, action, "*", role=f"github-{environment}-deploy"), action
        assert allowed(account, action, "*", role=ADMIN), action


def _setting_resources(account: str) -> dict[str, str]:
    """Each account-level setting call on the resource its authorization row names
    (reference/alicloud/ram.yaml): all resources, the 2019 table's account-wide ARN, or the application."""
    return {
        "ram:SetUserSsoSettings": "*",
        "ram:SetSecurityPreference": "*",
        "ram:SetPasswordPolicy": f"acs:ram:*:{account}:*",
        "ram:SetDefaultDomain": "*",
        "ram:SetAccountAlias": f"acs:ram:*:{account}:*",
        "ram:CreateApplication": "*",
        "ram:CreateAppSecret": f"acs:ram::{account}:application/ci-client",
    }


def test_every_account_setting_the_guard_denies_has_its_case_here():
    assert set(_setting_resources(SANDBOX)) == set(documents.ACCOUNT_SETTINGS_WRITES)


@pytest.mark.parametrize("environment", [*ACCOUNTS, "test"])
def test_no_identity_but_the_administrator_changes_the_accounts_sign_in_settings(environment):
    """Outside review round 4, finding 4: an identity holding `Action: *` points user-based SSO at its
    own IdP (then signs in to the console as any RAM user of the account, later ones included) or
    loosens the security preference, password policy or domain, or makes an OAuth client with a
    secret. None is an identity, so no sweep finds it; every environment account's guard leaves
    them to the administrator, the deploy role included (no task proof asks them)."""
    account = ACCOUNTS.get(environment, SANDBOX)
    for action, resource in _setting_resources(account).items():
        assert not allowed(account, action, resource), action
        assert not allowed(account, action, resource, role=f"github-{environment}-deploy"), action
        assert allowed(account, action, resource, role=ADMIN), action


def test_a_pr_cannot_point_the_sandboxs_user_sso_at_its_own_idp():
    """The finding's chain: as the sandbox's deploy role a PR makes `prx` with a key and an
    `Action: *` policy (its job, and allowed); `prx` then uploads the attacker's IdP metadata with
    SsoEnabled=true. The control policy refuses that call whatever `prx` holds."""
    (role,) = access.find_principal(plan(), "alicloud:github-test-deploy")
    deployer = access.grants_of(plan(), role).policies
    user = f"acs:ram:*:{SANDBOX}:user/pr91-x"
    policy = f"acs:ram:*:{SANDBOX}:policy/pr91-admin"
    for action, resources in (
        ("ram:CreateUser", (user,)),
        ("ram:CreateAccessKey", (f"acs:ram::{SANDBOX}:user/pr91-x",)),
        ("ram:CreatePolicy", (policy,)),
        ("ram:AttachPolicyToUser", (policy, user)),
    ):
        assert _as_sandbox_role("github-test-deploy", deployer, action, *resources), action
    assert not allowed(SANDBOX, "ram:SetUserSsoSettings", "*", user="pr91-x")
    assert not _as_sandbox_role("github-test-deploy", deployer, "ram:SetUserSsoSettings", "*")


def test_prods_deployer_still_grants_qa_lead_its_group_policy_under_the_ceiling():
    (role,) = access.find_principal(plan(), "alicloud:github-prod-deploy")
    grants = access.grants_of(plan(), role)
    prod = ACCOUNTS["prod"]
    decision = evaluate_call(
        grants.policies,
        "alicloud",
        "ram:AttachPolicy",
        ["acs:ram:*:system:policy/AliyunECIFullAccess", f"acs:ims::{prod}:user/qa-lead"],
        caller(prod, role="github-prod-deploy"),
        boundary=control_policies.ceiling(plan(), prod),
    )
    assert decision.allowed


def test_outside_the_sandbox_the_guard_leaves_ordinary_identity_work_alone():
    account = ACCOUNTS["prod"]
    assert allowed(account, "ram:CreateUser", f"acs:ram:*:{account}:user/*")
    assert allowed(account, "ram:CreateAccessKey", f"acs:ram::{account}:user/commandUser")


# --- the sandbox: what a pull request's code makes cannot make another -----------------------------


@pytest.mark.parametrize(
    ("action", "resource"),
    [
        ("ram:CreateUser", f"acs:ram:*:{SANDBOX}:user/*"),
        ("ram:CreateAccessKey", f"acs:ram::{SANDBOX}:user/prx"),
        ("ram:CreateLoginProfile", f"acs:ram:*:{SANDBOX}:user/prx"),
        ("ram:CreateRole", f"acs:ram:*:{SANDBOX}:role/*"),
        ("ram:CreatePolicyVersion", f"acs:ram:*:{SANDBOX}:policy/prx-admin"),
        ("ram:AttachPolicyToUser", f"acs:ram:*:{SANDBOX}:policy/prx-admin"),
        ("ram:UpdateRole", f"acs:ram:*:{SANDBOX}:role/github-test-deploy"),
        # A group of its own that the sweep could not take it out of, or another group's grant.
        ("ram:CreateGroup", f"acs:ram:*:{SANDBOX}:group/*"),
        ("ram:AddUserToGroup", f"acs:ram:*:{SANDBOX}:group/zz"),
        ("ram:UpdateGroup", f"acs:ram:*:{SANDBOX}:group/zz"),
        ("ram:AttachPolicyToGroup", f"acs:ram:*:{SANDBOX}:group/zz"),
        # Other ways to hold on: a SAML provider to trust, an MFA device, a service-linked role,
        # an account-wide attachment, re-tagging the deployer.
        ("ram:CreateSAMLProvider", "*"),
        ("ram:UpdateSAMLProvider", f"acs:ram::{SANDBOX}:saml-provider/idp"),
        ("ram:CreateVirtualMFADevice", f"acs:ram:*:{SANDBOX}:mfa/*"),
        ("ram:BindMFADevice", f"acs:ram:*:{SANDBOX}:user/prx"),
        ("ram:CreateServiceLinkedRole", f"acs:ram:*:{SANDBOX}:role/*"),
        ("resourcemanager:AttachPolicy", "*"),
        ("ram:TagResources", "*"),
        ("ram:UntagResources", "*"),
    ],
)
def test_a_sandbox_identity_with_every_permission_cannot_make_another_or_re_trust_the_deployer(
    action, resource
):
    assert not allowed(SANDBOX, action, resource)


def test_the_sandbox_policy_spares_the_deploy_role_and_the_administrator():
    for action in ("ram:CreateGroup", "ram:AddUserToGroup", "ram:CreateSAMLProvider", "ram:TagResources"):
        assert allowed(SANDBOX, action, "*", role="github-test-deploy"), action
        assert allowed(SANDBOX, action, "*", role=ADMIN), action


def test_the_sandbox_deploy_role_still_creates_its_per_pr_identities_under_the_ceiling():
    (role,) = access.find_principal(plan(), "alicloud:github-test-deploy")
    grants = access.grants_of(plan(), role)
    for action, resource in (
        ("ram:CreateUser", f"acs:ram:*:{SANDBOX}:user/pr12-commandUser"),
        ("ram:CreateAccessKey", f"acs:ram::{SANDBOX}:user/pr12-commandUser"),
        ("ram:CreatePolicyVersion", f"acs:ram:*:{SANDBOX}:policy/pr12-commandUserPolicy"),
    ):
        assert allowed(SANDBOX, action, resource, role="github-test-deploy", policies=grants.policies), action


def _as_sandbox_role(name: str, policies, action: str, *resources: str) -> bool:
    ceiling = control_policies.ceiling(plan(), SANDBOX)
    return evaluate_call(
        policies, "alicloud", action, list(resources), caller(SANDBOX, role=name), boundary=ceiling
    ).allowed


def test_a_pr_cannot_rename_its_user_out_of_the_prefix_the_sweep_takes():
    """Outside review round 3, finding 1: as the sandbox's deploy role, a PR makes `pr90-x` with a key
    and an `Action: *` policy, then renames it `backup-svc` (UpdateUser's NewUserName), which the sweep
    never lists. UpdateUser is authorised on the old name only and no key names the new one, so the
    control policy leaves it to the administrator: the deploy role's own grant on `user/pr*` is moot."""
    (role,) = access.find_principal(plan(), "alicloud:github-test-deploy")
    deployer = access.grants_of(plan(), role).policies
    user = f"acs:ram:*:{SANDBOX}:user/pr90-x"
    policy = f"acs:ram:*:{SANDBOX}:policy/pr90-admin"
    # The chain up to the rename is the deploy role's job, and stays allowed.
    for action, resources in (
        ("ram:CreateUser", (user,)),
        ("ram:CreateAccessKey", (f"acs:ram::{SANDBOX}:user/pr90-x",)),
        ("ram:CreatePolicy", (policy,)),
        ("ram:AttachPolicyToUser", (policy, user)),
    ):
        assert _as_sandbox_role("github-test-deploy", deployer, action, *resources), action
    assert not _as_sandbox_role("github-test-deploy", deployer, "ram:UpdateUser", user)
    # Nor does the user it made (it holds `Action: *`), while the administrator still may.
    assert not allowed(SANDBOX, "ram:UpdateUser", user, user="pr90-x")
    assert allowed(SANDBOX, "ram:UpdateUser", user, role=ADMIN)


# --- the task proofs ask under the ceiling -------------------------------------------------------


def _settings():
    from baseline.config import load_stack_file, resolve

    return resolve(load_stack_file(FIXTURES / "Pulumi.pipeline.yaml", "pipeline")).settings


def test_the_task_proofs_ask_every_ram_pipeline_call_under_the_accounts_control_policies():
    results = tasks.prove(plan(), _settings(), "alicloud:github-test-deploy")
    (result,) = results
    assert result.ok or result.unknown
    asked = [v for v in result.verdicts if not v.unknown]
    assert asked and all("FullAliyunAccess (control policy)" in v.reason for v in asked if v.allowed)


def test_a_sandbox_policy_that_forgot_the_deploy_role_would_fail_its_task_proofs():
    """The proofs read the control policies: without the deploy role's exemption its job is denied."""
    broken = json.loads(json.dumps(plan()))
    for resource in broken["resources"]:
        if resource["inputs"].get("controlPolicyName") == "github-test-sandbox-identities":
            document = json.loads(resource["inputs"]["policyDocument"])
            condition = document["Statement"][0]["Condition"]["StringNotLike"]
            condition[control_policies.PRINCIPAL_ARN] = [
                a for a in condition[control_policies.PRINCIPAL_ARN] if "github-test-deploy" not in a
            ]
            resource["inputs"]["policyDocument"] = json.dumps(document)
    (result,) = tasks.prove(broken, _settings(), "alicloud:github-test-deploy")
    denied = {v.call.action for v in result.verdicts if not v.allowed and not v.unknown}
    assert {"ram:CreateUser", "ram:CreateAccessKey", "ram:CreatePolicy"} <= denied


def test_the_sandbox_deploy_roles_user_updates_are_denied_by_design_and_nowhere_else():
    """The catalogue marks UpdateUser `sandbox_denied`: the sandbox's proof asks it and finds it
    denied by its control policy; every other environment's deploy role still updates its users."""
    by_design = {}
    for name in ("github-test-deploy", "github-dev-deploy", "github-prod-deploy"):
        (result,) = tasks.prove(plan(), _settings(), f"alicloud:{name}")
        assert result.ok, name
        updates = [v for v in result.verdicts if v.call.action == "ram:UpdateUser"]
        assert updates, name
        by_design[name] = {v.verdict for v in updates}
    assert by_design == {
        "github-test-deploy": {"by-design"},
        "github-dev-deploy": {"allow"},
        "github-prod-deploy": {"allow"},
    }


def test_a_sandbox_policy_that_let_the_deploy_role_rename_users_would_fail_its_task_proofs():
    """Expected denials are checked, not assumed: without the UpdateUser statement the calls are
    `loose` (allowed against the design) and the proof fails."""
    broken = json.loads(json.dumps(plan()))
    for resource in broken["resources"]:
        if resource["inputs"].get("controlPolicyName") == "github-test-sandbox-identities":
            document = json.loads(resource["inputs"]["policyDocument"])
            document["Statement"] = [s for s in document["Statement"] if "ram:UpdateUser" not in s["Action"]]
            resource["inputs"]["policyDocument"] = json.dumps(document)
    (result,) = tasks.prove(broken, _settings(), "alicloud:github-test-deploy")
    loose = [v for v in result.verdicts if v.verdict == "loose"]
    assert loose and {v.call.action for v in loose} == {"ram:UpdateUser"}
    assert all("against the design" in v.reason for v in loose)
    assert not result.ok and result.denied == len(loose)
    assert tasks.exit_code([result]) == 1


# --- the strict mocks refuse what Resource Directory refuses -----------------------------------------

DENY = json.dumps(
    {"Version": "1", "Statement": [{"Effect": "Deny", "Action": "ram:CreateUser", "Resource": "*"}]}
)


def _refused(program, reason: str) -> None:
    with pytest.raises(PlanError, match=reason):
        execute(program, "test", StrictMocks())


def _policy(**overrides):
    inputs = {"control_policy_name": "guard", "effect_scope": "RAM", "policy_document": DENY, **overrides}
    return alicloud.resourcemanager.ControlPolicy("cp", **inputs)


def test_the_mocks_take_a_document_of_2048_characters_and_refuse_one_more():
    def program(size):
        def register():
            document = DENY[:-1] + " " * (size - len(DENY)) + "}"
            assert len(document) == size
            policy = _policy(description="Guard-of-dev", policy_document=document)
            alicloud.resourcemanager.ControlPolicyAttachment(
                "a", policy_id=policy.id, target_id="5012345678901234"
            )
            alicloud.resourcemanager.ControlPolicyAttachment(
                "b", policy_id=policy.id, target_id="fd-ZDNPiT1234"
            )

        return register

    monitor, _ = execute(program(2048), "test", StrictMocks())
    assert len([r for r in monitor.registrations if "controlPolicy" in r["type"]]) == 3
    _refused(program(2049), "policy document is 2049 characters; the limit is 2048")


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"effect_scope": "Account"}, "effectScope 'Account'"),
        ({"policy_document": DENY[:-1] + " " * 2048 + "}"}, "the limit is 2048"),
        ({"control_policy_name": "1guard"}, "starting with a letter"),
        ({"description": "a guard with spaces"}, "description must be"),
        ({"policy_document": json.dumps({"Version": "1", "Statement": []})}, "no Statement"),
    ],
)
def test_the_mocks_refuse_a_control_policy_resource_directory_refuses(overrides, reason):
    _refused(lambda: _policy(**overrides), reason)


@pytest.mark.parametrize("target", ["dev", "501234567890123", "acs:ram::5012345678901234:root"])
def test_the_mocks_refuse_an_attachment_to_what_is_no_member_or_folder(target):
    def program():
        alicloud.resourcemanager.ControlPolicyAttachment("a", policy_id=_policy().id, target_id=target)

    _refused(program, "targetId")


def test_the_mocks_refuse_more_control_policies_on_a_member_than_it_takes():
    def program():
        # Nine of ours fit beside FullAliyunAccess; the tenth is one too many.
        for index in range(10):
            policy = alicloud.resourcemanager.ControlPolicy(
                f"cp{index}", control_policy_name=f"guard{index}", effect_scope="RAM", policy_document=DENY
            )
            alicloud.resourcemanager.ControlPolicyAttachment(
                f"a{index}", policy_id=policy.id, target_id="5012345678901234"
            )

    _refused(program, "more than 10 control policies")


def test_the_mocks_refuse_a_control_policy_written_through_a_members_admin_role():
    def program():
        member = alicloud.Provider(
            "member",
            region="cn-hangzhou",
            assume_role=alicloud.ProviderAssumeRoleArgs(
                role_arn="acs:ram::5012345678901234:role/resourcedirectoryaccountaccessrole", session_name="s"
            ),
        )
        alicloud.resourcemanager.ControlPolicy(
            "cp",
            control_policy_name="guard",
            effect_scope="RAM",
            policy_document=DENY,
            opts=pulumi.ResourceOptions(provider=member),
        )

    _refused(program, "management account only")


# --- opt-in: the instance-tag guard (a fleet tag grants commands) -----------------------------------


def _guarded_prod_plan(tmp_path) -> dict:
    """The pipeline with `guardInstanceTags: true` on prod, rendered as the stack would be."""
    return render_from(fixtures_with_prod_setting(tmp_path, "guardInstanceTags: true"), "pipeline")


def test_the_instance_tag_guard_leaves_tagging_to_the_deploy_and_admin_roles_of_that_account(tmp_path):
    """With the opt-in, an identity of prod that holds every action (an operator with
    AliyunECSFullAccess, an automation role) can no longer put the fleet tag on an instance by any
    route the fleet guard knows, nor create one; prod's deploy role and the administrator still can,
    and the other accounts are untouched."""
    guarded = _guarded_prod_plan(tmp_path)
    prod = ACCOUNTS["prod"]
    names = {a: sorted(p.name for p in found) for a, found in control_policies.attached(guarded).items()}
    assert names[prod] == [
        "github-prod-instance-tags (control policy)",
        "github-prod-pipeline-guard (control policy)",
    ]
    assert names[ACCOUNTS["staging"]] == ["github-staging-pipeline-guard (control policy)"]
    instance = f"acs:ecs:cn-hangzhou:{prod}:instance/i-bp1bastion0000000001"
    writes = [
        ("ecs:TagResources", instance),
        ("ecs:UntagResources", instance),
        ("ecs:AddTags", instance),
        ("tag:TagResources", "*"),
        ("tag:UntagResources", "*"),
        ("ecs:RunInstances", "*"),
        ("ecs:CreateLaunchTemplate", f"acs:ecs:cn-hangzhou:{prod}:launchtemplate/*"),
        ("ecs:CreateAutoProvisioningGroup", "*"),
    ]
    ceiling = control_policies.ceiling(guarded, prod)
    assert ceiling is not None

    def may(action, resource, **who):
        context = caller(prod, **who)
        return evaluate([EVERYTHING], action, resource, context, boundary=ceiling).allowed

    for action, resource in writes:
        assert not may(action, resource, user="opsAdmin"), action
        assert not may(action, resource, role="PatchAutomationRole"), action
        assert may(action, resource, role="github-prod-deploy"), action
        assert may(action, resource, role=ADMIN), action
    # Everything else stays as it was: commands, reads, a staging identity's tagging.
    assert may("ecs:RunCommand", instance, user="commandUser")
    assert may("ecs:DescribeInstances", instance, user="opsAdmin")
    staging = ACCOUNTS["staging"]
    assert evaluate(
        [EVERYTHING],
        "ecs:TagResources",
        f"acs:ecs:cn-hangzhou:{staging}:instance/i-1",
        caller(staging, user="opsAdmin"),
        boundary=control_policies.ceiling(guarded, staging),
    ).allowed
    for resource in guarded["resources"]:
        if resource["inputs"].get("controlPolicyName") == "github-prod-instance-tags":
            assert len(resource["inputs"]["policyDocument"]) <= 2048


def test_the_instance_tag_guard_needs_control_policies():
    from baseline.errors import ConfigError
    from baseline.scenarios.pipeline import PipelineSettings, build

    settings = yaml.safe_load((FIXTURES / "Pulumi.pipeline.yaml").read_text())["config"]
    pipeline = settings["ecs-access-baseline:pipeline"]
    pipeline["environments"] = [e for e in pipeline["environments"] if e["name"] != "test"]
    pipeline.pop("resourceDirectory")
    pipeline["environments"][2]["guardInstanceTags"] = True
    with pytest.raises(ConfigError) as raised:
        build(PipelineSettings.model_validate(pipeline), {"alicloud": HOME, "aws": "777788889999"})
    assert raised.value.key == "pipeline.environments.2.guardInstanceTags"
