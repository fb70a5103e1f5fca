"""The Alibaba Cloud authorization reference is well-formed, cites its sources, and covers every action the
shipped plans grant (settled or not)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, render_file

REF = ROOT / "baseline" / "analysis" / "reference" / "alicloud"
SERVICE_FILES = sorted(p for p in REF.glob("*.yaml") if not p.name.startswith("_"))
# Levels the pages print (create/get/list/update/delete/none) plus the coarse ones older pages use.
ACCESS = {"create", "get", "list", "update", "delete", "none", "read", "write", "tagging", "permissions"}
# Condition-key-shaped strings the plans carry in Action lists; they are not actions.
NOT_ACTIONS = {"ecs:CommandRunAs", "ram:ServiceName", "ecs:Describe"}


def load(path: Path) -> dict:
    return yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def reference() -> dict[str, dict]:
    return {load(p)["service"]: load(p) for p in SERVICE_FILES}


def arn_service_ok(arn: str, service: str) -> bool:
    if arn == "*":
        return True
    prefix = arn.split(":")[:2]
    # ECS rows also authorise on VPC resources (vswitch, vpc), as the ECS page prints them.
    allowed = {service, "ram", "ims"} | ({"vpc"} if service == "ecs" else set())
    return prefix[0] == "acs" and prefix[1] in allowed


@pytest.mark.parametrize("path", SERVICE_FILES, ids=lambda p: p.stem)
def test_service_file_is_well_formed(path):
    doc = load(path)
    assert doc["service"] == path.stem
    assert path.read_text().startswith("# ")
    for sid, src in doc["sources"].items():
        assert src["url"].startswith("https://"), sid
        assert src["read"] == "2026-12-08", sid
        assert src["copy"], sid
    assert doc["actions"]
    for name, row in doc["actions"].items():
        assert ":" not in name and "*" not in name, name
        assert row["access"] in ACCESS, name
        assert row["source"] in doc["sources"], name
        assert isinstance(row["verbatim"], bool) and isinstance(row["settled"], bool), name
        assert isinstance(row["condition_keys"], list) and isinstance(row["dependent"], list), name
        assert row["resources"], name
        for res in row["resources"] + [r for alt in row.get("readings", []) for r in alt["resources"]]:
            assert arn_service_ok(res["arn"], doc["service"]), (name, res["arn"])
            assert isinstance(res["required"], bool)
        for alt in row.get("readings", []):
            assert alt["source"] in doc["sources"], (name, alt["id"])
        # An unsettled row must say what was looked at and never pass for a verbatim reading.
        if not row["settled"]:
            assert not row["verbatim"] and row.get("note"), name


def test_global_file_names_the_common_keys_and_their_sources():
    doc = load(REF / "_global.yaml")
    keys = {k["key"]: k for k in doc["global_condition_keys"]}
    assert {"acs:SourceIp", "acs:SecureTransport", "acs:MFAPresent", "acs:CurrentTime"} <= keys.keys()
    for k in keys.values():
        assert k["source"] in doc["sources"] or (k["source"] is None and not k["verbatim"]), k["key"]
    assert set(doc["services"]) >= {"ecs", "oos", "kms", "ram"}


def plan_actions() -> set[str]:
    """Every non-wildcard Alibaba action in the policies of the shipped stacks."""
    found: set[str] = set()

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("Action", "NotAction"):
                    found.update([value] if isinstance(value, str) else value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, str) and node.lstrip().startswith("{"):
            walk(json.loads(node))

    for path in sorted((ROOT / "stacks").glob("Pulumi.*.yaml")):
        plan = render_file(path, path.stem.split(".", 1)[1])
        for res in plan["resources"]:
            if res["type"].startswith("alicloud:"):
                walk(res["inputs"])
    return {a for a in found if "*" not in a and ":" in a} - NOT_ACTIONS


def test_every_action_the_plans_grant_is_in_the_reference():
    ref = reference()
    actions = plan_actions()
    assert len(actions) > 90  # the walk found the plans' grants, not nothing
    missing = sorted(
        a for a in actions if a.split(":", 1)[1] not in ref.get(a.split(":", 1)[0], {}).get("actions", {})
    )
    assert missing == []


def tails(resources: list[dict]) -> list[str]:
    """The resource part of each ARN (after the last colon)."""
    return [r["arn"].rsplit(":", 1)[1] for r in resources]


def test_the_rows_the_evaluator_leans_on_read_as_the_pages_print_them():
    ref = reference()
    ecs = ref["ecs"]["actions"]
    invoke = ecs["InvokeCommand"]
    assert invoke["settled"] and invoke["verbatim"]
    assert [(r["arn"].rsplit(":", 1)[1], r["required"]) for r in invoke["resources"]] == [
        ("command/{#commandId}", True),
        ("instance/{#instanceId}", True),
    ]
    carriers = sorted(n for n, row in ecs.items() if "ecs:CommandRunAs" in row["condition_keys"])
    assert carriers == ["InvokeCommand", "RunCommand"]
    assert tails(ecs["CreateSnapshot"]["resources"]) == ["disk/{#diskId}", "snapshot/*"]
    assert ecs["CreateSnapshot"]["readings"][0]["source"] == "ecs-auth-rules-2021"
    attach = ref["ram"]["actions"]["AttachPolicyToUser"]
    assert tails(attach["resources"]) == ["user/${UserName}", "policy/{#name}"]
    assert "or system:policy/" in attach["resources"][1]["printed"]  # account id or "system"


def test_oos_rows_read_from_the_api_pages():
    oos = reference()["oos"]["actions"]
    start = oos["StartExecution"]
    # The current page authorises StartExecution on executions only; the template reading is kept beside it.
    assert start["settled"] and start["verbatim"] and start["access"] == "update"
    assert tails(start["resources"]) == ["execution/*"] and start["resources"][0]["required"]
    assert start["condition_keys"] == ["oos:tag", "oos:IsOOSAssumeRole", "oos:TLSVersion"]
    assert [alt["id"] for alt in start["readings"]] == ["zh-2024-12-20", "older-page"]
    assert tails(start["readings"][1]["resources"]) == ["template/{#TemplateName}", "execution/*"]
    # No reading carries a condition key on the template name.
    keys = start["condition_keys"] + [k for alt in start["readings"] for k in alt["condition_keys"]]
    assert not [k for k in keys if "emplate" in k]
    for name in ("ListInstancePatchStates", "ListInstancePatches"):
        assert oos[name]["settled"] and oos[name]["resources"] == [{"arn": "*", "required": True}], name
    assert tails(oos["ListPatchBaselines"]["resources"]) == ["patchbaseline/{#PatchBaselineName}"]
    # The secret-parameter tables list no dependent action; the KMS call each needs is only in the prose.
    for name, kms in (
        ("GetSecretParameter", "GetSecretValue"),
        ("GetSecretParameters", "GetSecretValue"),
        ("CreateSecretParameter", "CreateSecret"),
        ("UpdateSecretParameter", "UpdateSecretValue"),
        ("DeleteSecretParameter", "DeleteSecret"),
    ):
        row = oos[name]
        assert row["settled"] and row["dependent"] == [] and f"kms {kms} API" in row["note"], name
        assert tails(row["resources"]) == ["secretparameter/{#secretparameterName}"], name
    assert tails(oos["ListExecutions"]["resources"]) == ["execution/*", "execution/{#executionId}"]
    assert not oos["GetExecution"]["settled"] and oos["GetExecution"]["source"] == "oos-api-overview"
    # ListSecretParameters: the Chinese page (document_detail/440935) and its Traditional Chinese copy.
    listing = oos["ListSecretParameters"]
    assert listing["settled"] and listing["verbatim"] and listing["access"] == "list"
    assert listing["resources"] == [
        {"arn": "acs:oos:{#regionId}:{#accountId}:secretparameter/*", "required": True}
    ]
    assert listing["condition_keys"] == ["oos:TLSVersion"] and listing["source"] == "oos-ListSecretParameters"
    # GetTemplate: the 2025-12-23 Chinese table; the 2024-03-03 English copy lacks oos:TLSVersion.
    template = oos["GetTemplate"]
    assert template["settled"] and template["verbatim"] and template["access"] == "get"
    assert template["resources"] == [
        {"arn": "acs:oos:{#regionId}:{#accountId}:template/{#templateName}", "required": True}
    ]
    assert template["condition_keys"] == ["oos:tag", "oos:TLSVersion"] and template["dependent"] == []
    readings = [(alt["id"], alt["condition_keys"]) for alt in template["readings"]]
    assert readings == [("en-2024-03-03", ["oos:tag"])]
    baseline = oos["GetPatchBaseline"]
    assert baseline["settled"] and baseline["verbatim"] and baseline["source"] == "oos-GetPatchBaseline"
    assert baseline["resources"] == [
        {"arn": "acs:oos:{#regionId}:{#accountId}:patchbaseline/{#patchbaselineName}", "required": True}
    ]
    assert baseline["condition_keys"] == ["oos:TLSVersion"]
    notify = oos["NotifyExecution"]
    assert notify["settled"] and notify["access"] == "update"
    assert tails(notify["resources"]) == ["execution/{#executionId}"] and notify["resources"][0]["required"]
    assert notify["condition_keys"] == ["oos:tag", "oos:TLSVersion"]
    assert notify["readings"][0]["condition_keys"] == ["oos:tag"]
    # Still open: the copies found stop before (or hide the required marker of) these tables.
    for name in ("ListTemplates", "TagResources", "UntagResources"):
        assert not oos[name]["settled"] and "not settled" in oos[name]["note"], name
    # OSS object reads: the pages read name the actions but not their ARNs, so the rows stay open.
    oss = reference()["oss"]["actions"]
    for name in ("GetObject", "ListObjects"):
        assert not oss[name]["settled"] and oss[name]["resources"] == [{"arn": "*", "required": True}], name


def test_resource_group_operations_are_authorised_under_the_ram_prefix():
    ref = reference()
    ram = ref["ram"]["actions"]
    assert tails(ram["CreateResourceGroup"]["resources"]) == ["resourcegroup/*"]
    attach = ram["AttachPolicy"]
    assert attach["settled"] and [r["required"] for r in attach["resources"]] == [True, True, True, True]
    assert [r.get("one_of") for r in attach["resources"]] == [None, "principal", "principal", "principal"]
    assert tails(attach["resources"])[1:] == ["user/*", "group/*", "role/*"]
    # The Resource Management API page discloses no authorization of its own for AttachPolicy.
    rm = ref["resourcemanager"]["actions"]
    assert not rm["AttachPolicy"]["settled"] and rm["AttachPolicy"]["source"] == "rm-AttachPolicy"
    eci = ref["eci"]["actions"]["CreateContainerGroup"]
    assert eci["settled"] and tails(eci["resources"]) == ["containergroup/*"]
    assert eci["condition_keys"] == ["eci:tag"]
    execute = ref["eci"]["actions"]["ExecContainerCommand"]
    assert tails(execute["resources"]) == ["containergroup/{#containergroupId}"]
    assert execute["resources"][0]["required"]
    describe = ref["eci"]["actions"]["DescribeContainerGroups"]
    assert describe["access"] == "get" and not any(r["required"] for r in describe["resources"])


def test_the_rows_the_pipeline_deployers_lean_on_read_as_their_pages_print_them():
    ref = reference()
    ram = ref["ram"]["actions"]
    # Resource Management's page: a service-linked role is created as ram:, keyed by its service.
    slr = ram["CreateServiceLinkedRole"]
    assert slr["settled"] and slr["verbatim"] and slr["source"] == "rm-CreateServiceLinkedRole"
    assert [(r["arn"], r["required"]) for r in slr["resources"]] == [("acs:ram:*:{#accountId}:role/*", True)]
    assert slr["condition_keys"] == ["ram:ServiceName"]
    assert ref["ram"]["sources"]["rm-CreateServiceLinkedRole"]["page_date"] == "2024-06-05"
    unbind = ram["UnbindMFADevice"]
    assert unbind["settled"] and tails(unbind["resources"]) == ["user/{#UserName}"]
    assert unbind["access"] == "update" and unbind["condition_keys"] == []
    # KMS secrets from the 2021 page: the container for creation, the named secret for the rest.
    kms = ref["kms"]["actions"]
    assert tails(kms["CreateSecret"]["resources"]) == ["secret"]
    for name in ("DeleteSecret", "PutSecretValue", "GetSecretValue"):
        assert kms[name]["settled"] and tails(kms[name]["resources"]) == ["secret/${secret-name}"], name
    assert kms["GetSecretValue"]["dependent"] == ["kms:Decrypt"]
    # OOS's UpdateSecretParameter page names a KMS call the KMS table lacks: unsettled, never a reading.
    update = kms["UpdateSecretValue"]
    assert not update["settled"] and update["resources"] == [{"arn": "*", "required": True}]
    assert "PutSecretValue" in update["note"]


def _read_as_printed(row: dict, name: str, access: str, source: str, resources: list, keys: list) -> None:
    """A row settled from its own page: verbatim, with the page's access, resources and keys."""
    assert row["settled"] and row["verbatim"], name
    assert row["access"] == access and row["source"] == source, name
    assert row["resources"] == resources, name
    assert row["condition_keys"] == keys and row["dependent"] == [], name


def test_eci_container_group_calls_are_authorised_on_the_container_group():
    eci = reference()["eci"]["actions"]
    arn = "acs:eci:{#regionId}:{#accountId}:containergroup/{#containergroupId}"
    for name, access, source in (
        ("DeleteContainerGroup", "delete", "eci-DeleteContainerGroup"),
        ("DescribeContainerLog", "get", "eci-DescribeContainerLog"),
        ("RestartContainerGroup", "update", "eci-RestartContainerGroup"),
    ):
        _read_as_printed(eci[name], name, access, source, [{"arn": arn, "required": True}], ["eci:tag"])
    # UpdateContainerGroup: only an older copy with an empty resource cell was read.
    assert not eci["UpdateContainerGroup"]["settled"]


def test_ram_tagging_is_authorised_on_all_resources_only():
    ram = reference()["ram"]["actions"]
    for name, access in (
        ("ListTagResources", "list"),
        ("TagResources", "create"),
        ("UntagResources", "delete"),
    ):
        _read_as_printed(ram[name], name, access, f"ram-{name}", [{"arn": "*", "required": True}], [])
    # The IMS page (users) prints the same row with access level update.
    (ims,) = ram["UntagResources"]["readings"]
    assert ims["source"] == "ims-UntagResources" and ims["resources"] == [{"arn": "*", "required": True}]


def test_account_settings_are_authorised_without_a_key_a_deny_could_narrow():
    """The account-level settings the guard leaves to the administrator: all resources (or the 2019
    table's account-wide ARN) and no condition key, so only the caller can tell them apart."""
    ram = reference()["ram"]["actions"]
    everything = [{"arn": "*", "required": True}]
    for name in ("SetUserSsoSettings", "SetSecurityPreference", "SetDefaultDomain"):
        _read_as_printed(ram[name], name, "update", f"ram-{name}", everything, [])
    app = [{"arn": "acs:ram::{#accountId}:application/{#AppName}", "required": True}]
    _read_as_printed(ram["CreateAppSecret"], "CreateAppSecret", "create", "ram-CreateAppSecret", app, [])
    account_wide = [{"arn": "acs:ram:*:${AccountId}:*", "required": True}]
    for name in ("SetPasswordPolicy", "SetAccountAlias"):
        assert ram[name]["source"] == "ram-2019" and ram[name]["resources"] == account_wide, name
    assert ram["SetSecurityPreference"]["readings"][0]["resources"] == account_wide
    assert not ram["CreateApplication"]["settled"]  # no copy read reaches its table


def test_ram_policy_and_attachment_reads_name_their_principal_or_policy():
    ram = reference()["ram"]["actions"]
    for name, access, arn in (
        ("UpdatePolicyDescription", "update", "acs:ram:*:{#accountId}:policy/{#PolicyName}"),
        ("ListPoliciesForUser", "get", "acs:ram:*:{#accountId}:user/{#UserName}"),
        ("ListPoliciesForRole", "get", "acs:ram:*:{#accountId}:role/{#RoleName}"),
    ):
        _read_as_printed(ram[name], name, access, f"ram-{name}", [{"arn": arn, "required": True}], [])


def test_service_linked_role_deletion_is_authorised_under_the_ram_prefix():
    ref = reference()
    ram = ref["ram"]["actions"]
    role = [{"arn": "acs:ram:*:{#accountId}:role/{#RoleName}", "required": True}]
    delete = ram["DeleteServiceLinkedRole"]
    assert delete["settled"] and delete["verbatim"] and delete["access"] == "delete"
    assert delete["source"] == "ram-DeleteServiceLinkedRole"
    assert delete["resources"] == role and delete["condition_keys"] == ["ram:ServiceName"]
    (rm,) = delete["readings"]
    assert rm["source"] == "rm-DeleteServiceLinkedRole" and rm["resources"] == role
    status = ram["GetServiceLinkedRoleDeletionStatus"]
    assert status["settled"] and status["verbatim"] and status["access"] == "get"
    assert status["source"] == "rm-GetServiceLinkedRoleDeletionStatus"
    assert status["resources"] == role and status["condition_keys"] == ["ram:ServiceName"]
    # No page prints these under resourcemanager:, nor any row for resource group reads and tagging.
    rm_rows = ref["resourcemanager"]["actions"]
    for name in (
        "DeleteServiceLinkedRole",
        "GetServiceLinkedRoleDeletionStatus",
        "GetResourceGroup",
        "TagResources",
        "UntagResources",
    ):
        assert not rm_rows[name]["settled"], name
        assert "2025-12-15" in rm_rows[name]["note"] or "2024-06-05" in rm_rows[name]["note"], name


def test_oos_tagging_rows_read_from_the_api_pages():
    oos = reference()["oos"]["actions"]
    listing = oos["ListTagResources"]
    assert listing["settled"] and listing["verbatim"] and listing["access"] == "get"
    assert listing["source"] == "oos-ListTagResources" and listing["condition_keys"] == ["oos:tag"]
    assert len(listing["resources"]) == 14
    assert all(r["required"] and r["one_of"] == "resource" for r in listing["resources"])
    assert {
        "arn": "acs:oos:{#regionId}:{#accountId}:secretparameter/{#SecretParameterName}",
        "required": True,
        "one_of": "resource",
    } in listing["resources"]
    # The tagging tables name executions and templates only; the stacks tag secret parameters.
    for name in ("TagResources", "UntagResources"):
        row = oos[name]
        assert not row["settled"] and row["source"] == f"oos-{name}", name
        assert "secretparameter" in row["note"] and "template/{#templateName}" in row["note"], name


def test_rows_no_page_settles_stay_open_with_what_was_searched():
    ref = reference()
    assert not ref["ram"]["actions"]["PassRole"]["settled"]
    assert "2337626" in ref["ram"]["actions"]["PassRole"]["note"]
    sts = ref["sts"]["actions"]
    # The OIDC page prints no authorization at all: the call is anonymous, so there is no row to take.
    oidc = sts["AssumeRoleWithOIDC"]
    assert not oidc["settled"] and "No authorization" in oidc["note"]
    assert not sts["AssumeRole"]["settled"]
    for name in ("AddTags", "RemoveTags"):
        assert not ref["ecs"]["actions"][name]["settled"], name


def test_the_coverage_table_in_docs_reference_md_counts_the_data():
    """Every count docs/reference.md states is the data's own: actions, verbatim and settled rows."""
    import re
    from pathlib import Path

    page = (Path(__file__).resolve().parent.parent / "docs" / "reference.md").read_text()
    ref = {k: v for k, v in reference().items() if not k.startswith("_")}

    def counts(services):
        rows = [r for s in services for r in ref[s]["actions"].values()]
        return (
            len(rows),
            sum(bool(r.get("verbatim")) for r in rows),
            sum(bool(r.get("settled")) for r in rows),
        )

    total = re.search(r"What it covers \((\d+) actions: (\d+) verbatim, (\d+) settled\)", page)
    assert total and tuple(map(int, total.groups())) == counts(ref)
    for row in re.finditer(r"^\| ([a-z][a-z0-9 ,]*) \| (\d+) \| (\d+) \| (\d+) \|", page, re.M):
        services = [part.split()[0] for part in row.group(1).split(",")]
        assert tuple(map(int, row.groups()[1:])) == counts(services), row.group(0)
