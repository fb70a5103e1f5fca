"""The pipeline's deploy roles can deploy their stacks: each call the reference denied on the old
documents is asked of the rendered pipeline plan, and each grant stays on the stack's own names."""

from __future__ import annotations

from contextlib import contextmanager
from functools import cache

from conftest import FIXTURES, example_resolved, plan_of

from baseline.analysis import access
from baseline.analysis.evaluator import evaluate_call
from baseline.config import ENVIRONMENT_STACKS

PROD = "5098765432109876"
DEV = "5012345678901234"


@cache
def _grants(cloud: str, name: str) -> access.Grants:
    plan = plan_of("pipeline")
    who = next(p for p in access.principals(plan) if p.cloud == cloud and p.name == name)
    return access.grants_of(plan, who)


def _allowed(name: str, action: str, *resources: str, cloud: str = "alicloud") -> bool:
    grants = _grants(cloud, name)
    return evaluate_call(grants.policies, cloud, action, resources, boundary=grants.boundary).allowed


def test_prod_deployer_attaches_its_instance_roles_to_its_own_instances_only():
    instance = f"acs:ecs:cn-hangzhou:{PROD}:instance/i-bp1prodwin000000001"
    role = f"acs:ram::{PROD}:role/axtsecretramrole"
    for action in ("ecs:AttachInstanceRamRole", "ecs:DetachInstanceRamRole"):
        assert _allowed("github-prod-deploy", action, instance, role)
        other_instance = f"acs:ecs:cn-hangzhou:{PROD}:instance/i-bp1someoneelse00001"
        assert not _allowed("github-prod-deploy", action, other_instance, role)
        other_role = f"acs:ram::{PROD}:role/someadminrole"
        assert not _allowed("github-prod-deploy", action, instance, other_role)


def test_deployers_create_resource_groups_and_read_their_attachments_under_ram():
    for name, account in (("github-dev-deploy", DEV), ("github-prod-deploy", PROD)):
        assert _allowed(name, "ram:CreateResourceGroup", f"acs:ram::{account}:resourcegroup/rg-x")
        assert _allowed(name, "ram:DeleteResourceGroup", f"acs:ram::{account}:resourcegroup/rg-x")
        assert _allowed(name, "ram:ListPolicyAttachments", f"acs:ram::{account}:resourcegroup/rg-x")


def test_prod_deployer_grants_qa_lead_its_group_policy_but_no_credentials():
    qa = f"acs:ims::{PROD}:user/qa-lead"
    policy = "acs:ram::system:policy/AliyunECIFullAccess"
    assert _allowed("github-prod-deploy", "ram:AttachPolicy", policy, qa)
    assert _allowed("github-prod-deploy", "ram:DetachPolicy", policy, qa)
    for action in ("ram:CreateLoginProfile", "ram:CreateAccessKey", "ram:UpdateUser", "ram:DeleteUser"):
        assert not _allowed("github-prod-deploy", action, f"acs:ram::{PROD}:user/qa-lead"), action


def test_user_reads_and_forced_deletes_are_allowed_on_the_stacks_users():
    user = f"acs:ram::{DEV}:user/dev-commandUser"
    assert _allowed("github-dev-deploy", "ram:ListUsers", f"acs:ram::{DEV}:user/*")
    assert _allowed("github-dev-preview", "ram:ListUsers", f"acs:ram::{DEV}:user/*")
    for action in ("ram:ListGroupsForUser", "ram:UnbindMFADevice"):
        assert _allowed("github-dev-deploy", action, user)
        assert not _allowed("github-dev-deploy", action, f"acs:ram::{DEV}:user/admin")


def test_secret_parameter_decrypt_on_prods_key_only_and_no_account_secrets():
    key = f"acs:kms:cn-hangzhou:{PROD}:key/key-hzz6prodcmk0000000001"
    assert _allowed("github-prod-deploy", "kms:Decrypt", key)
    assert _allowed("github-prod-preview", "kms:Decrypt", key)
    assert not _allowed("github-prod-deploy", "kms:Decrypt", f"acs:kms:cn-hangzhou:{PROD}:key/key-other")
    # The KMS secret OOS keeps the value in is named by no page: no role reads the account's secrets.
    assert not _allowed("github-prod-preview", "kms:GetSecretValue", f"acs:kms:cn-hangzhou:{PROD}:secret/s")


def test_aws_deployers_set_their_policies_default_version_but_never_their_boundarys():
    own = "arn:aws:iam::444455556666:policy/EcsMcpReadOnlyMonitoringPolicy"
    boundary = "arn:aws:iam::444455556666:policy/EcsMcpServerPermissionsBoundary"
    assert _allowed("github-prod-deploy", "iam:SetDefaultPolicyVersion", own, cloud="aws")
    assert not _allowed("github-prod-deploy", "iam:SetDefaultPolicyVersion", boundary, cloud="aws")


# The KMS calls OOS's secret-parameter pages ask for: the secret OOS keeps the value in is named by
# no page, so they are reported unknown, never allowed or denied (and no role is granted them).
SECRET_KMS = {
    "pipeline.deploy": {
        "kms:CreateSecret",
        "kms:GetSecretValue",
        "kms:UpdateSecretValue",
        "kms:DeleteSecret",
    },
    "pipeline.preview": {"kms:GetSecretValue"},
}


@contextmanager
def _examples():
    """The examples' copies stand in for stacks/: the pipeline's and the environments' it deploys."""
    token = ENVIRONMENT_STACKS.set(FIXTURES)
    try:
        yield
    finally:
        ENVIRONMENT_STACKS.reset(token)


@cache
def _proved() -> tuple:
    from baseline.analysis import tasks

    with _examples():
        return tuple(tasks.prove(plan_of("pipeline"), example_resolved("pipeline").settings))


def _unsettled(action: str) -> bool:
    from baseline.analysis import reference

    row = reference.lookup("alicloud", action)
    return row is not None and not row.settled


# RAM's tagging calls have no resource-level permission (their pages print *全部资源): the deployers
# grant them on their own roles and policies only, so the cloud denies them; granting them on * would
# reach every role, policy and user of the account. Known, reported, not widened.
RAM_TAGGING = {"ram:ListTagResources", "ram:TagResources", "ram:UntagResources"}


def test_the_pipelines_only_unknowns_are_the_secret_parameters_kms_calls_and_nothing_is_denied():
    """Unknown is either the KMS secret no page names, or a call whose reference row is still a
    placeholder (tasks never proves a call on one); nothing is denied (RAM's tag calls, authorised on
    * only, are granted on *: reads to every role, writes to the deploy roles)."""
    from baseline.analysis import tasks

    results = _proved()
    for r in results:
        unknown = {v.call.action for v in r.verdicts if v.unknown}
        expected = SECRET_KMS[r.role] if r.principal.cloud == "alicloud" else set()
        assert expected <= unknown, r.principal.name
        assert all(_unsettled(a) for a in unknown - expected), (r.principal.name, unknown - expected)
        assert [v.call for v in r.verdicts if v.verdict == "deny"] == [], r.principal.name
        for v in r.verdicts:
            if v.unknown and v.call.action in expected:
                assert not v.allowed and "KMS secret" in v.reason
    assert tasks.exit_code(results) == 4


def test_tasks_prints_unknown_calls_with_their_reason_and_exits_4(capsys):
    import json

    from baseline.cli import main

    pipeline = ["tasks", "--stack", "pipeline", "--config-file", str(FIXTURES / "Pulumi.pipeline.yaml")]
    with _examples():
        assert main([*pipeline, "--principal", "alicloud:github-prod-preview"]) == 4
    text = capsys.readouterr().out
    assert "unknown kms:GetSecretValue on " in text and "unknown: no page names the KMS secret" in text
    head = next(line for line in text.splitlines() if line.startswith("github-prod-preview "))
    assert " unknown" in head and "kms:GetSecretValue" in text.splitlines()[-1]
    with _examples():
        assert main([*pipeline, "--principal", "alicloud:github-prod-preview", "--format", "json"]) == 4
    result = json.loads(capsys.readouterr().out)
    assert result["unknown"] >= 1
    assert not [c for c in result["principals"][0]["calls"] if c["verdict"] == "deny"]
    assert result["asked"] == result["allowed"] + result["unknown"]
    # RAM's tag reads are authorised on * only: the preview role reads tags there, and writes none.
    tags = {c["action"] for c in result["principals"][0]["calls"] if c["action"] in RAM_TAGGING}
    assert tags == {"ram:ListTagResources"}
    unknown = [c for c in result["principals"][0]["calls"] if c["verdict"] == "unknown"]
    (kms,) = [c for c in unknown if c["action"].startswith("kms:")]
    assert kms["action"] == "kms:GetSecretValue" and "KMS secret" in kms["decidedBy"]
    assert all(_unsettled(c["action"]) for c in unknown if c is not kms)
    # The AWS preview role has no unknown: every call allowed, exit 0.
    with _examples():
        assert main([*pipeline, "--principal", "aws:github-prod-preview"]) == 0


def test_an_attach_only_person_gets_the_groups_system_policy_and_never_a_stack_policy():
    """ram:AttachPolicy is authorised on the policy and on the principal, each on its own: the
    principals a deployer may name for a resource group's attachment meet every policy it may name.
    So those policies are the system policies the groups grant, never the stack's custom ones
    (outside review: prod's deployer could hand qa-lead commandUserPolicy or the secret reader's)."""
    qa_lead = f"acs:ims:*:{PROD}:user/qa-lead"
    eci_full = "acs:ram:*:system:policy/AliyunECIFullAccess"
    assert _allowed("github-prod-deploy", "ram:AttachPolicy", eci_full, qa_lead)
    for custom in ("commandUserPolicy", "AxtSecretRamRolePolicy", "OOSPatchOperatorPolicy"):
        policy = f"acs:ram:*:{PROD}:policy/{custom}"
        assert not _allowed("github-prod-deploy", "ram:AttachPolicy", policy, qa_lead), custom
        assert not _allowed(
            "github-prod-deploy", "ram:AttachPolicy", policy, f"acs:ims:*:{PROD}:user/commandUser"
        )
