"""`baseline adopt`: the `pulumi import --file` document for identities created by hand."""

from __future__ import annotations

import importlib
import inspect
import io
import json
import re
from typing import ClassVar

import boto3
import pytest
from conftest import STACKS, example_resolved, plan_of
from moto import mock_aws

from baseline import adopt

ACCOUNTS = {"dev": "111122223333", "staging": "111122223333", "prod": "444455556666"}


def aws_account(stack: str) -> str | None:
    settings = example_resolved(stack).settings
    return settings.aws.account_id if settings.aws else None


def adoption(stack: str, ram=None, iam=None) -> adopt.Adoption:
    return adopt.build(plan_of(stack), aws_account(stack), ram, iam)


# --- ids in the formats the SDK docstrings document ------------------------------------------------

SDK_MODULES = {
    "alicloud": "pulumi_alicloud",
    "aws": "pulumi_aws",
}
KEYWORDS = {"arn", "aws", "iam", "user", "role", "policy", ""}
ENUMS = [{"Custom", "System"}, {"IMSUser", "IMSGroup", "ServiceRole"}]


def docstring_example(type_: str) -> str:
    """The id in the `pulumi import <type> <name> <id>` line of the resource class's docstring."""
    package, rest = type_.split(":", 1)
    module_path, cls = rest.split(":")
    module = importlib.import_module(f"{SDK_MODULES[package]}.{module_path.split('/')[0]}")
    # The docstrings sit on the class's overloaded __init__s: read them from the SDK's source.
    source = inspect.getsource(inspect.getmodule(getattr(module, cls)))
    lines = [line for line in source.splitlines() if f"pulumi import {type_} " in line]
    assert lines, f"{type_}: no `pulumi import` line in the SDK docstring"
    return lines[0].split()[-1]


def segment_pattern(example: str) -> str:
    """A regex for one `:`/`/`-separated segment of a docstring's example id."""
    if re.fullmatch(r"<[a-z_-]+>", example):
        return r"[^:/]+"
    if re.fullmatch(r"[0-9]+[x*]*|x{6,}", example):
        return r"[0-9]+"  # a numeric id, masked in the docs
    if re.fullmatch(r"[a-z]+\*+", example):
        return re.escape(example.rstrip("*")) + r"-[0-9a-z]+"  # rg****** -> rg-xxxx
    if example in KEYWORDS:
        return re.escape(example)
    for values in ENUMS:
        if example in values:
            return "|".join(sorted(values)).join("()")
    return r"[^:/]+"  # an example value standing for a name


def shape(example: str) -> re.Pattern[str]:
    """The docstring example's structure: separators kept, each segment generalised."""
    parts = re.split(r"([:/@])", example)
    pattern = ""
    for part in parts:
        if part in (":", "/", "@"):
            pattern += re.escape(part)
        elif "." in part and not part.startswith("<"):
            pattern += r"[^:/]+"  # a domain such as 11827252********.onaliyun.com
        else:
            pattern += segment_pattern(part)
    return re.compile(pattern)


@pytest.mark.parametrize("stack", STACKS)
def test_every_import_id_has_the_shape_its_sdk_docstring_documents(stack):
    """Ids known without the cloud are checked here; the rest after a lookup (below)."""
    rows = [r for r in adoption(stack, FakeRam(), None).rows if r.id is not None]
    assert rows
    for row in rows:
        example = docstring_example(row.type)
        assert shape(example).fullmatch(row.id), f"{row.type}: {row.id!r} does not match {example!r}"


def test_the_shape_check_refuses_ids_in_another_format():
    attachment = docstring_example("alicloud:ram/userPolicyAttachment:UserPolicyAttachment")
    assert shape(attachment).fullmatch("user:commandUserPolicy:Custom:commandUser")
    assert not shape(attachment).fullmatch("commandUser:commandUserPolicy")
    assert not shape(attachment).fullmatch("role:commandUserPolicy:Custom:commandUser")
    user = docstring_example("alicloud:ram/user:User")
    assert shape(user).fullmatch("208453298491123456") and not shape(user).fullmatch("commandUser")
    arn = docstring_example("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert shape(arn).fullmatch("EcsMcpRole/arn:aws:iam::444455556666:policy/EcsMcpPolicy")


def test_ids_follow_the_documented_formats_exactly():
    by_name = {r.name: r for r in adoption("prod", FakeRam(), None).rows}
    # prod reads through its own policy, not AliyunECSReadOnlyAccess (strict stacks).
    assert by_name["cloud-assistant-linux-command-user-command-read-policy"].id == (
        "user:commandUserReadPolicy:Custom:commandUser"
    )
    assert by_name["cloud-assistant-windows-secret-reader-i-bp1prodwin000000001"].id == (
        "i-bp1prodwin000000001:AxtSecretRamRole"
    )
    assert by_name["cloud-assistant-windows-secret-reader-secret-reader-policy"].id == (
        "role:AxtSecretRamRolePolicy:Custom:AxtSecretRamRole"
    )
    assert by_name["cloud-assistant-linux-command-user-user"].id == FakeRam.ids["commandUser"]
    assert by_name["eci-access-AliyunServiceRoleForECI"].id == "eci.aliyuncs.com:AliyunServiceRoleForECI"
    assert by_name["eci-access-rg-production"].id == "rg-acfmproduction01"
    assert by_name["eci-access-rg-production-eciProductionAdmin-aliyunecifullaccess"].id == (
        "AliyunECIFullAccess:System:eciProductionAdmin@5098765432109876.onaliyun.com:IMSUser:rg-acfmproduction01"
    )
    attachment = next(
        r for r in by_name.values() if r.type == "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
    )
    assert attachment.id == f"{attachment.inputs['role']}/{attachment.inputs['policyArn']}"


# --- coverage, parents and providers ----------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_every_resource_of_the_stack_is_imported_or_explained(stack):
    result = adoption(stack)
    accounted = {r.name for r in result.rows}
    for resource in plan_of(stack)["resources"]:
        if resource["type"] == adopt.ROOT_STACK or resource["type"].startswith("pulumi:providers:"):
            continue
        assert resource["name"] in accounted
    for row in result.rows:
        if row.type.startswith("ecs-access-baseline:"):
            continue
        assert (row.id is not None) != bool(row.needs_lookup or row.skip), row.name
    # Without --lookup, only cloud-only ids wait for it, and nothing is guessed.
    waiting = {r.type for r in result.rows if r.needs_lookup}
    assert waiting <= {
        "alicloud:ram/user:User",
        "alicloud:resourcemanager/resourceGroup:ResourceGroup",
        "alicloud:resourcemanager/policyAttachment:PolicyAttachment",
    }
    skipped = {r.type for r in result.rows if r.skip}
    assert skipped <= set(adopt.NOT_ADOPTABLE)


@pytest.mark.parametrize("stack", STACKS)
def test_parents_and_providers_give_the_urns_the_program_registers(stack):
    document = adoption(stack, FakeRam()).document
    entries = {e["name"]: e for e in document["resources"]}
    assert len(entries) == len(document["resources"]), "names must be unique in an import file"
    plan = {r["name"]: r for r in plan_of(stack)["resources"]}
    for entry in document["resources"]:
        planned = plan[entry["name"]]
        assert entry["type"] == planned["type"]
        parent = planned["parent"] if plan[planned["parent"]]["type"] != adopt.ROOT_STACK else None
        assert entry.get("parent") == parent
        if parent:
            assert entries[parent].get("component") is True
        if entry.get("component"):
            assert "id" not in entry
        else:
            assert entry["provider"] == planned["provider"]
            assert document["nameTable"][entry["provider"]] == (
                f"urn:pulumi:{stack}::ecs-access-baseline::{plan[entry['provider']]['type']}::{entry['provider']}"
            )


# --- --lookup -------------------------------------------------------------------------------------


class FakeRam:
    """RAM and Resource Manager as an account where some of prod's identities were made by hand."""

    ids: ClassVar = {
        "commandUser": "208453298491123456",
        "winCommandUser": "208453298491123457",
        "eciViewer": "1",
    }
    groups: ClassVar = {"production": "rg-acfmproduction01", "test": "rg-acfmtest0000001"}

    def __init__(self, missing: set[str] = frozenset(), keys: int = 1):
        self.missing, self.keys = missing, keys

    def user_id(self, name):
        return None if name in self.missing else self.ids.get(name, "208453298491100000")

    def login_profile_exists(self, user):
        return user not in self.missing

    def role_exists(self, name):
        return name not in self.missing

    def policy_exists(self, name):
        return name not in self.missing

    def user_policies(self, user):
        return set() if user in self.missing else {(p, t) for p, t in self.attached}

    role_policies = user_policies
    attached: ClassVar = {
        ("AliyunECSReadOnlyAccess", "System"),
        ("commandUserPolicy", "Custom"),
        ("commandUserReadPolicy", "Custom"),
        ("AxtSecretRamRolePolicy", "Custom"),
    }

    def access_key_count(self, user):
        return self.keys

    def resource_group_id(self, name):
        return None if name in self.missing else self.groups.get(name)

    def group_policy_attached(self, group_id, policy, policy_type, principal):
        return group_id == "rg-acfmproduction01"


def test_lookup_fills_cloud_only_ids_and_leaves_out_what_does_not_exist():
    ram = FakeRam(missing={"eciViewer", "test"}, keys=2)
    result = adoption("prod", ram, None)
    by_name = {r.name: r for r in result.rows}
    assert by_name["eci-access-eciViewer-user"].id is None
    assert "does not exist" in by_name["eci-access-eciViewer-user"].skip
    assert by_name["eci-access-rg-test"].id is None
    assert by_name["cloud-assistant-linux-command-user-user"].id == "208453298491123456"
    # Only attachments RAM lists are imported.
    attachment = by_name["cloud-assistant-linux-command-user-command-policy"]
    assert attachment.id is not None
    assert not any(r.needs_lookup for r in result.rows)
    key = by_name["eci-access-eciDeployer-key"]
    assert "already has 2 AccessKeys" in key.skip
    names = {e["name"] for e in result.document["resources"]}
    assert "eci-access-eciViewer-user" not in names and "eci-access-rg-test" not in names


@mock_aws
def test_lookup_through_iam_keeps_only_what_exists(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    iam = boto3.client("iam")
    plan = plan_of("prod")
    roles = [r for r in plan["resources"] if r["type"] == "aws:iam/role:Role"]
    policies = [r for r in plan["resources"] if r["type"] == "aws:iam/policy:Policy"]
    made_by_hand = roles[0]["inputs"]["name"]
    trust = json.dumps({"Version": "2012-10-17", "Statement": []})
    iam.create_role(RoleName=made_by_hand, AssumeRolePolicyDocument=trust)
    document = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ecs:List*", "Resource": "*"}]}
    )
    arn = iam.create_policy(PolicyName=policies[0]["inputs"]["name"], PolicyDocument=document)["Policy"][
        "Arn"
    ]
    # moto's account is not prod's: the ARNs the plan derives are compared on name only here.
    result = adopt.build(plan, "123456789012", FakeRam(), adopt.AwsIamReader(iam))
    imported = {r.name: r.id for r in result.rows if r.type.startswith("aws:") and r.id is not None}
    assert imported == {roles[0]["name"]: made_by_hand, policies[0]["name"]: arn}
    for row in result.rows:
        if row.type.startswith("aws:") and row.id is None:
            assert "does not exist" in row.skip


def test_a_lookup_that_fails_is_one_line_and_writes_nothing(tmp_path):
    class Broken(FakeRam):
        def user_id(self, name):
            raise adopt.LookupFailed("RAM GetUser commandUser: NoPermission: not authorized")

    target = tmp_path / "adopt.json"
    err = io.StringIO()
    code = adopt.run("prod", out_file=str(target), lookup=True, readers=lambda: (Broken(), None), err=err)
    assert code == adopt.EXIT_LOOKUP_FAILED
    assert not target.exists()
    (line,) = err.getvalue().splitlines()
    assert "NoPermission" in line and "Fix:" in line


def test_without_lookup_cloud_only_rows_are_named_on_stderr_never_guessed():
    out, err = io.StringIO(), io.StringIO()
    assert adopt.run("prod", out=out, err=err) == adopt.EXIT_OK
    document = json.loads(out.getvalue())
    types = {e["type"] for e in document["resources"]}
    assert "alicloud:ram/user:User" not in types
    text = err.getvalue()
    assert "needs --lookup: alicloud:ram/user:User cloud-assistant-linux-command-user-user" in text
    assert "not imported: alicloud:ram/accessKey:AccessKey" in text
    assert "not imported: random:index/randomPassword:RandomPassword" in text
    assert "pulumi import --file FILE --generate-code=false -s prod" in text


def test_the_cli_writes_the_document_for_prod(tmp_path, capsys):
    from baseline.cli import main

    target = tmp_path / "adopt-prod.json"
    assert main(["adopt", "--stack", "prod", "--out", str(target)]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    document = json.loads(target.read_text())
    assert set(document) == {"nameTable", "resources"}
    assert {"type", "name", "id", "provider"} <= set(document["resources"][-1])
    assert "Traceback" not in captured.err
