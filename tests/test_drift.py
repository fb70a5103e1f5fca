"""``drift`` sees what a refresh cannot: AccessKeys, login profiles, attachments and trusts that
neither the plan nor the state declares.

AWS runs against moto (a real IAM API, in memory), seeded with the prod plan's roles. Alibaba Cloud
runs against a fake RAM client that replays the RAM responses in tests/data/drift/ram_prod.json
through the official SDK's models (``from_map``, as the SDK parses the wire), and raises errors the
way the SDK does. The state is a ``pulumi stack export`` document built from the same plan.
"""

from __future__ import annotations

import copy
import json
import os
from typing import ClassVar

import boto3
import pytest
import yaml
from alibabacloud_ram20150501 import models
from alibabacloud_tea_openapi.exceptions import ClientException
from conftest import FIXTURES, ROOT, plan_of
from moto import mock_aws

from baseline import cli
from baseline.ops import drift

RECORDED = json.loads((ROOT / "tests" / "data" / "drift" / "ram_prod.json").read_text())
AWS_ACCOUNT = "444455556666"


class FakeRam:
    """Replays recorded RAM responses by API and principal; records every call it answers."""

    METHODS: ClassVar[dict[str, tuple[str, type, str]]] = {
        "list_access_keys": ("ListAccessKeys", models.ListAccessKeysRequest, "user_name"),
        "get_login_profile": ("GetLoginProfile", models.GetLoginProfileRequest, "user_name"),
        "list_policies_for_user": ("ListPoliciesForUser", models.ListPoliciesForUserRequest, "user_name"),
        "get_role": ("GetRole", models.GetRoleRequest, "role_name"),
        "list_policies_for_role": ("ListPoliciesForRole", models.ListPoliciesForRoleRequest, "role_name"),
    }

    def __init__(self, recorded: dict) -> None:
        self.calls = copy.deepcopy(recorded["calls"])
        self.asked: list[str] = []
        self.fail: dict[str, dict] = {}  # API -> error body, raised on every call of it

    def __getattr__(self, method: str):
        if method not in self.METHODS:
            raise AttributeError(method)  # a write, or anything drift has no business calling
        api, request_type, field = self.METHODS[method]

        def call(request):
            assert isinstance(request, request_type)
            name = getattr(request, field)
            self.asked.append(f"{api} {name}")
            data = self.fail.get(api) or self.calls[api].get(name) or _not_found(api, name)
            if "Code" in data:
                # What the SDK raises for a 4xx answer (alibabacloud_tea_openapi.client).
                raise ClientException(
                    status_code=data.get("_status", 404),
                    code=data["Code"],
                    message=f"code: {data.get('_status', 404)}, {data['Message']}",
                    data=data,
                    request_id=data["RequestId"],
                )
            response = getattr(models, f"{api}Response")
            body = getattr(models, f"{api}ResponseBody")().from_map(data)
            return response(status_code=200, body=body)

        return call


def _not_found(api: str, name: str) -> dict:
    kind = "Role" if api in ("GetRole", "ListPoliciesForRole") else "User"
    return {
        "RequestId": "0",
        "Code": f"EntityNotExist.{kind}",
        "Message": f"The {kind.lower()} does not exist: {name}",
    }


def state_of(plan: dict, key_ids: dict[str, str]) -> dict:
    """A ``pulumi stack export`` document holding every resource of ``plan`` (AccessKey ids from
    ``key_ids``, by user)."""
    resources = []
    for r in plan["resources"]:
        urn = f"urn:pulumi:{plan['stack']}::{plan['project']}::{r['type']}::{r['name']}"
        ident = (
            key_ids.get(r["inputs"].get("userName"), "") if r["type"].endswith("accessKey:AccessKey") else ""
        )
        resources.append(
            {
                "urn": urn,
                "custom": not r["type"].startswith(("pulumi:pulumi", "ecs-access-baseline:")),
                "id": ident or r["name"],
                "type": r["type"],
                "inputs": r["inputs"],
                "outputs": r["inputs"],
            }
        )
    return {"version": 3, "deployment": {"manifest": {"version": "v3.200.0"}, "resources": resources}}


def recorded_key(user: str) -> str:
    return RECORDED["calls"]["ListAccessKeys"][user]["AccessKeys"]["AccessKey"][0]["AccessKeyId"]


def seed_iam(client, plan: dict) -> None:
    """The plan's AWS policies, roles (trust and boundary) and attachments, as a deployment made them."""
    for r in plan["resources"]:
        if r["type"] == "aws:iam/policy:Policy":
            client.create_policy(PolicyName=r["inputs"]["name"], PolicyDocument=r["inputs"]["policy"])
    for r in plan["resources"]:
        if r["type"] == "aws:iam/role:Role":
            client.create_role(
                RoleName=r["inputs"]["name"],
                AssumeRolePolicyDocument=r["inputs"]["assumeRolePolicy"],
                PermissionsBoundary=r["inputs"]["permissionsBoundary"],
            )
    for r in plan["resources"]:
        if r["type"] == "aws:iam/rolePolicyAttachment:RolePolicyAttachment":
            client.attach_role_policy(RoleName=r["inputs"]["role"], PolicyArn=r["inputs"]["policyArn"])


@pytest.fixture
def iam(monkeypatch):
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "MOTO_ACCOUNT_ID": AWS_ACCOUNT,
    }.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        client = boto3.client("iam")
        seed_iam(client, plan_of("prod"))
        yield client


@pytest.fixture
def ram(monkeypatch):
    fake = FakeRam(RECORDED)
    monkeypatch.setitem(drift.READERS, "alicloud", (drift.RamReader, lambda: fake))
    return fake


@pytest.fixture
def clouds(iam, ram, monkeypatch):
    monkeypatch.setitem(drift.READERS, "aws", (drift.IamReader, lambda: iam))
    return iam, ram


@pytest.fixture
def state_file(tmp_path):
    path = tmp_path / "prod-state.json"
    path.write_text(json.dumps(state_of(plan_of("prod"), {"eciDeployer": recorded_key("eciDeployer")})))
    return path


def run_drift(capsys, *args: str) -> tuple[int, list[str], str]:
    code = cli.main(["drift", *args])
    captured = capsys.readouterr()
    return code, captured.out.splitlines(), captured.err


def test_no_drift_exits_0_after_reading_every_declared_user_and_role(clouds, state_file, capsys):
    _, ram = clouds
    code, lines, err = run_drift(capsys, "--stack", "prod", "--state", str(state_file))
    assert (code, lines) == (0, []), err
    assert err.strip() == "drift prod: 0 finding(s); read 4 alicloud roles, 7 alicloud users, 4 aws roles"
    users = sorted(RECORDED["calls"]["ListAccessKeys"])
    for user in users:
        for api in ("ListAccessKeys", "GetLoginProfile", "ListPoliciesForUser"):
            assert f"{api} {user}" in ram.asked
    for role in RECORDED["calls"]["GetRole"]:
        assert {f"GetRole {role}", f"ListPoliciesForRole {role}"} <= set(ram.asked)


def test_a_second_access_key_a_login_profile_and_an_extra_attachment_are_findings(clouds, state_file, capsys):
    iam, ram = clouds
    keys = ram.calls["ListAccessKeys"]["eciDeployer"]["AccessKeys"]["AccessKey"]
    keys.append(
        {"AccessKeyId": "LTAI5tHandMade000000001", "Status": "Active", "CreateDate": "2026-12-07T22:01:09Z"}
    )
    ram.calls["GetLoginProfile"]["eciDeployer"] = {
        "RequestId": "1",
        "LoginProfile": {"UserName": "eciDeployer", "PasswordResetRequired": False, "MFABindRequired": False},
    }
    ram.calls["ListPoliciesForUser"]["eciViewer"]["Policies"]["Policy"].append(
        {"PolicyName": "AdministratorAccess", "PolicyType": "System", "DefaultVersion": "v1"}
    )
    ram.calls["ListPoliciesForRole"]["PatchAutomationRole"]["Policies"]["Policy"].append(
        {"PolicyName": "AliyunRAMFullAccess", "PolicyType": "System"}
    )
    everything = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'
    handmade = iam.create_policy(PolicyName="HandMadeAdmin", PolicyDocument=everything)["Policy"]["Arn"]
    iam.attach_role_policy(RoleName="EcsMcpReadOnlyMonitoringRole", PolicyArn=handmade)
    iam.put_role_policy(RoleName="EcsMcpTroubleshootingRole", PolicyName="debug", PolicyDocument=everything)
    code, lines, _ = run_drift(capsys, "--stack", "prod", "--state", str(state_file))
    assert code == 1
    assert lines == [
        "prod alicloud role PatchAutomationRole: policy AliyunRAMFullAccess (System) attached, which neither "
        "the plan nor the state declares (aliyun ram DetachPolicyFromRole --RoleName PatchAutomationRole "
        "--PolicyType System --PolicyName AliyunRAMFullAccess)",
        "prod alicloud user eciDeployer: AccessKey LTAI5tHandMade000000001 (Active) is not in the state "
        "(made outside Pulumi: unless it is a rotation in progress, deactivate and delete it: aliyun ram "
        "DeleteAccessKey --UserName eciDeployer --UserAccessKeyId LTAI5tHandMade000000001)",
        "prod alicloud user eciDeployer: console login profile that neither the plan nor the state declares "
        "(aliyun ram DeleteLoginProfile --UserName eciDeployer)",
        "prod alicloud user eciViewer: policy AdministratorAccess (System) attached, which neither the plan "
        "nor the state declares (aliyun ram DetachPolicyFromUser --UserName eciViewer --PolicyType System "
        "--PolicyName AdministratorAccess)",
        "prod aws role EcsMcpReadOnlyMonitoringRole: policy arn:aws:iam::444455556666:policy/HandMadeAdmin "
        "attached, which neither the plan nor the state declares (aws iam detach-role-policy --role-name "
        "EcsMcpReadOnlyMonitoringRole --policy-arn arn:aws:iam::444455556666:policy/HandMadeAdmin)",
        "prod aws role EcsMcpTroubleshootingRole: inline policy debug, which neither the plan nor the state "
        "declares (aws iam delete-role-policy --role-name EcsMcpTroubleshootingRole --policy-name debug)",
    ]


def test_a_key_the_state_does_not_hold_is_a_finding_even_where_the_plan_declares_one(
    clouds, tmp_path, capsys
):
    """The plan declares eciDeployer's key, but only the state knows its id: a state that holds
    another id means the live key was made outside Pulumi."""
    path = tmp_path / "state.json"
    path.write_text(json.dumps(state_of(plan_of("prod"), {"eciDeployer": "LTAI5tTheStatesOwnKey0001"})))
    code, lines, _ = run_drift(capsys, "--stack", "prod", "--state", str(path))
    key = recorded_key("eciDeployer")
    assert code == 1
    assert lines == [
        f"prod alicloud user eciDeployer: AccessKey {key} (Active) is not in the state (made outside Pulumi: "
        f"unless it is a rotation in progress, deactivate and delete it: aliyun ram DeleteAccessKey "
        f"--UserName eciDeployer --UserAccessKeyId {key})"
    ]


def test_a_changed_trust_is_a_finding_and_a_reformatted_one_is_not(clouds, state_file, capsys):
    iam, ram = clouds
    role = ram.calls["GetRole"]["AxtSecretRamRole"]["Role"]
    document = json.loads(role["AssumeRolePolicyDocument"])
    # RAM's own layout (indentation, key order, a one-element list as a string) is no change...
    document["Statement"][0]["Principal"]["Service"] = "ecs.aliyuncs.com"
    role["AssumeRolePolicyDocument"] = json.dumps(document, indent=4, sort_keys=True)
    code, lines, _ = run_drift(capsys, "--stack", "prod", "--state", str(state_file))
    assert (code, lines) == (0, [])
    # ...a principal added by hand is.
    document["Statement"][0]["Principal"] = {"RAM": ["acs:ram::1111222233334444:root"]}
    role["AssumeRolePolicyDocument"] = json.dumps(document)
    # boto3 hands IAM's URL-encoded trust back parsed
    trust = iam.get_role(RoleName="EcsMcpServiceAccessRole")["Role"]["AssumeRolePolicyDocument"]
    trust["Statement"][0]["Principal"] = {"AWS": "arn:aws:iam::999988887777:root"}
    iam.update_assume_role_policy(RoleName="EcsMcpServiceAccessRole", PolicyDocument=json.dumps(trust))
    code, lines, _ = run_drift(capsys, "--stack", "prod", "--state", str(state_file))
    assert code == 1
    assert lines == [
        "prod alicloud role AxtSecretRamRole: trust policy differs from the plan's and the state's (find who "
        "changed it in the audit log, then `pulumi up -s prod --refresh` restores the declared trust)",
        "prod aws role EcsMcpServiceAccessRole: trust policy differs from the plan's and the state's (find "
        "who changed it in the audit log, then `pulumi up -s prod --refresh` restores the declared trust)",
    ]


def test_what_only_the_state_or_only_the_plan_declares_is_no_finding(clouds, tmp_path, capsys):
    """A login profile and an attachment a merged change removed from the plan stay declared by the
    state until the deployment runs; a role the plan adds is not deployed yet."""
    _, ram = clouds
    plan = plan_of("prod")
    extra = [
        {
            "type": "alicloud:ram/loginProfile:LoginProfile",
            "name": "old",
            "inputs": {"userName": "eciViewer"},
        },
        {
            "type": "alicloud:ram/userPolicyAttachment:UserPolicyAttachment",
            "name": "old-attachment",
            "inputs": {"userName": "eciViewer", "policyName": "ECIConsolePolicy", "policyType": "Custom"},
        },
    ]
    state = state_of(
        {**plan, "resources": plan["resources"] + extra}, {"eciDeployer": recorded_key("eciDeployer")}
    )
    path = tmp_path / "state.json"
    path.write_text(json.dumps(state))
    ram.calls["GetLoginProfile"]["eciViewer"] = {"RequestId": "1", "LoginProfile": {"UserName": "eciViewer"}}
    ram.calls["ListPoliciesForUser"]["eciViewer"]["Policies"]["Policy"].append(
        {"PolicyName": "ECIConsolePolicy", "PolicyType": "Custom"}
    )
    code, lines, _ = run_drift(capsys, "--stack", "prod", "--state", str(path))
    assert (code, lines) == (0, [])


def test_a_user_in_the_state_that_the_cloud_lost_is_a_finding(clouds, state_file, capsys):
    _, ram = clouds
    for api in ("ListAccessKeys", "GetLoginProfile", "ListPoliciesForUser"):
        del ram.calls[api]["patchOperator"]
    code, lines, _ = run_drift(capsys, "--stack", "prod", "--state", str(state_file))
    assert code == 1
    assert lines == [
        "prod alicloud user patchOperator: in the state but no longer in the cloud (find who deleted it in "
        "the audit log, then `pulumi up -s prod --refresh` recreates it)"
    ]


def test_a_stack_without_users_reads_its_roles_only(iam, tmp_path, monkeypatch, capsys):
    """Only the AWS scenario: no RAM principal, so no Alibaba Cloud credentials are even looked for."""
    document = yaml.safe_load((FIXTURES / "Pulumi.prod.yaml").read_text())
    config = document["config"]
    for key in [k for k in config if isinstance(config[k], dict) and "enabled" in config[k]]:
        if key != "ecs-access-baseline:ecsMcpServer":
            del config[key]
    stack_file = tmp_path / "Pulumi.prod.yaml"
    stack_file.write_text(yaml.safe_dump(document))
    plan = drift_plan(stack_file)
    assert not [r for r in plan["resources"] if r["type"].endswith((":User", "ram/role:Role"))]
    state = tmp_path / "state.json"
    state.write_text(json.dumps(state_of(plan, {})))
    monkeypatch.setitem(drift.READERS, "aws", (drift.IamReader, lambda: iam))
    for name in ("ALICLOUD_ACCESS_KEY", "ALICLOUD_SECRET_KEY", "ALICLOUD_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    args = ("--stack", "prod", "--config-file", str(stack_file), "--state", str(state))
    code, lines, err = run_drift(capsys, *args)
    assert (code, lines) == (0, []), err
    assert err.strip() == "drift prod: 0 finding(s); read 4 aws roles"


def drift_plan(stack_file) -> dict:
    from baseline.config import load_stack_file, resolve
    from baseline.plan import render

    return render(resolve(load_stack_file(stack_file, "prod")), "prod")


# ---------------------------------------------------------------------------------------------
# Faults: one line on stderr, exit 2, never a finding's exit 1


def assert_one_line_fault(code: int, lines: list[str], err: str, *words: str) -> None:
    assert code == 2 and lines == []
    error_lines = [line for line in err.splitlines() if line]
    assert len(error_lines) == 1 and error_lines[0].startswith("error: "), err
    assert "Traceback" not in err and "Fix:" in error_lines[0]
    for word in words:
        assert word in error_lines[0], err


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("Throttling.User", ("throttled", "Throttling.User")),
        (
            "NoPermission",
            (
                "denied access",
                "reading alicloud user commandUser",
                "Fix: run it with the stack's preview role",
            ),
        ),
        ("InvalidAccessKeyId.NotFound", ("refused the credentials",)),
    ],
)
def test_ram_faults_are_one_line_and_exit_2(clouds, state_file, capsys, code, words):
    _, ram = clouds
    ram.fail["ListAccessKeys"] = {"RequestId": "9", "Code": code, "Message": "refused", "_status": 403}
    assert_one_line_fault(*run_drift(capsys, "--stack", "prod", "--state", str(state_file)), *words)


def test_aws_without_credentials_is_one_line_and_exit_2(ram, state_file, monkeypatch, tmp_path, capsys):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    result = run_drift(capsys, "--stack", "prod", "--state", str(state_file))
    assert_one_line_fault(*result, "no usable AWS credentials")


def test_alicloud_without_credentials_is_one_line_and_exit_2(state_file, monkeypatch, capsys):
    for name in ("ALICLOUD_ACCESS_KEY", "ALICLOUD_SECRET_KEY", "ALICLOUD_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    result = run_drift(capsys, "--stack", "prod", "--state", str(state_file))
    assert_one_line_fault(*result, "drift: no Alibaba Cloud credentials", "ALICLOUD_ACCESS_KEY")


def test_without_the_pulumi_cli_the_state_cannot_be_exported(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert_one_line_fault(*run_drift(capsys, "--stack", "prod"), "Pulumi CLI is not installed")


def test_a_failed_export_is_one_line_and_exit_2(monkeypatch, tmp_path, capsys):
    fake = tmp_path / "pulumi"
    fake.write_text("#!/bin/sh\necho 'error: no stack named prod found' >&2\nexit 255\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    result = run_drift(capsys, "--stack", "prod")
    assert_one_line_fault(*result, "`pulumi stack export --stack prod` failed: no stack named prod found")


def test_the_export_never_asks_for_secrets(monkeypatch, tmp_path, capsys, clouds):
    """The state is exported without --show-secrets: this command decrypts nothing."""
    log = tmp_path / "argv"
    exported = tmp_path / "state.json"
    exported.write_text(json.dumps(state_of(plan_of("prod"), {"eciDeployer": recorded_key("eciDeployer")})))
    fake = tmp_path / "pulumi"
    fake.write_text(f'#!/bin/sh\necho "$@" > {log}\ncat {exported}\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    code, lines, err = run_drift(capsys, "--stack", "prod")
    assert (code, lines) == (0, []), err
    assert log.read_text().split() == ["stack", "export", "--stack", "prod"]


def test_a_bad_state_file_and_a_stack_across_accounts_are_refused(tmp_path, capsys):
    bad = tmp_path / "state.json"
    bad.write_text("not json")
    code, lines, err = run_drift(capsys, "--stack", "prod", "--state", str(bad))
    assert code == 2 and lines == [] and "--state" in err and "pulumi stack export" in err
    code, lines, err = run_drift(capsys, "--stack", "pipeline", "--state", str(bad))
    assert code == 2 and lines == []
    assert (
        "its alicloud users and roles are in 4 accounts" in err and "drift reads one account per cloud" in err
    )


@pytest.mark.skipif(
    not (os.environ.get("DRIFT_LIVE_STACK") and os.environ.get("PULUMI_BACKEND_URL")),
    reason="live check: set DRIFT_LIVE_STACK (a deployed stack), PULUMI_BACKEND_URL and the stack's "
    "cloud credentials (ALICLOUD_ACCESS_KEY/ALICLOUD_SECRET_KEY, AWS credentials)",
)
def test_live_stack_has_no_drift(monkeypatch, capsys):
    monkeypatch.setattr("baseline.stackfile.STACKS_DIR", ROOT / "stacks")
    code, lines, err = run_drift(capsys, "--stack", os.environ["DRIFT_LIVE_STACK"])
    assert code == 0, "\n".join(lines) + err
