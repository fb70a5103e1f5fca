"""Third-party scanners over every AWS policy document of every stack: parliament and
cloudsplaining (its Python API, the same scan as ``cloudsplaining scan-policy-file``).

prod must show no finding from either. Elsewhere a finding is allowed only through
``tests/data/scanner_exclusions.yaml``, one reason per entry, and an entry no finding needs
fails the suite. Every stack file in ``stacks/`` is scanned (and the all-use-cases configuration
of the S6 tests, the only one with express mode), every AWS policy document in it: managed
policies (permissions boundaries included) and inline role, user and group policies. Each stack
is rendered once per session (``conftest.plan_of``) and each document scanned once.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

import parliament
import pytest
import yaml
from cloudsplaining.command.scan_policy_file import scan_policy
from conftest import FIXTURES, ROOT, plan_of, shipped_stacks
from test_s6_ecs_mcp_server import _subject, all_findings, lint
from test_s6_ecs_mcp_server import plan as s6_plan

EXCLUSIONS = yaml.safe_load((ROOT / "tests" / "data" / "scanner_exclusions.yaml").read_text())
# Finding: (stack, document, tool, issue, subject); a document is named by its plan resource.
Finding = tuple[str, str, str, str, str]
# The example stacks: the exclusions below name their findings one by one, with a reason each.
STACK_FILES = tuple(shipped_stacks(FIXTURES))
SOURCES = (*STACK_FILES, "all-use-cases")
AWS_DOCUMENT_TYPES = (
    "aws:iam/policy:Policy",
    "aws:iam/rolePolicy:RolePolicy",
    "aws:iam/userPolicy:UserPolicy",
    "aws:iam/groupPolicy:GroupPolicy",
)


@cache
def documents_of(source: str) -> dict[str, dict]:
    """Every AWS policy document of a stack, by plan resource name."""
    plan = s6_plan(source) if source == "all-use-cases" else plan_of(source)
    return {
        r["name"]: json.loads(r["inputs"]["policy"])
        for r in plan["resources"]
        if r["type"] in AWS_DOCUMENT_TYPES
    }


@cache
def cloudsplaining_findings() -> tuple[Finding, ...]:
    found = []
    for source in SOURCES:
        for key, document in documents_of(source).items():
            # No exclusions config: cloudsplaining's defaults exclude AWS service roles by name,
            # which would hide nothing here but should not be relied on.
            for issue, result in scan_policy(document, {}).items():
                if not isinstance(result, dict):
                    continue  # ServicesAffected: a summary, not a finding
                for finding in result.get("findings") or []:
                    subject = finding if isinstance(finding, str) else json.dumps(finding, sort_keys=True)
                    found.append((source, key, "cloudsplaining", issue, subject))
    return tuple(found)


@cache
def parliament_findings() -> tuple[Finding, ...]:
    found = [
        (source, key, "parliament", f.issue, _subject(f))
        for source in SOURCES
        for key, document in documents_of(source).items()
        for f in lint(json.dumps(document))
    ]
    # S6 trust policies, linted as the role's resource policy (see test_s6_ecs_mcp_server).
    found += [
        (s, key, "parliament", issue, subject)
        for s, key, issue, _, subject in all_findings()
        if " trust" in key
    ]
    return tuple(found)


def findings() -> tuple[Finding, ...]:
    return parliament_findings() + cloudsplaining_findings()


def exclusion_for(finding: Finding) -> dict | None:
    source, document, tool, issue, subject = finding
    for entry in EXCLUSIONS:
        if (
            entry["tool"] == tool
            and entry["issue"] == issue
            and source in entry["stacks"]
            and document in entry["documents"]
            and entry["about"] in subject
        ):
            return entry
    return None


def test_prod_has_no_finding_from_either_scanner():
    assert [f for f in findings() if f[0] == "prod"] == []


def test_the_pipeline_has_no_finding_from_either_scanner():
    # docs/proofs.md: "the pipeline stack's AWS documents are scanned too (0 findings, ...)".
    assert [f for f in findings() if f[0] == "pipeline"] == []


@pytest.mark.parametrize("source", [s for s in SOURCES if s != "prod"])
def test_every_finding_elsewhere_is_excluded_with_a_reason(source):
    unexcused = [f for f in findings() if f[0] == source and exclusion_for(f) is None]
    assert unexcused == []


def test_every_exclusion_is_still_needed_and_reasoned():
    used = {id(exclusion_for(f)) for f in findings()} | {
        id(proven_exclusion(f)) for f in full_findings("prod")
    }
    for entry in EXCLUSIONS:
        assert id(entry) in used, f"no finding needs this exclusion any more: {entry}"
        assert len(entry["reason"].split()) >= 8, entry
        # prod: only a community auditor's finding, with a proof (see the full scans below).
        assert "prod" not in entry["stacks"] or entry.get("proof"), "prod allows no exclusion without proof"
        assert entry["tool"] in ("parliament", "cloudsplaining", "parliament+community")


def test_the_scanners_see_what_they_should():
    # Guard against scanning nothing: the guide's own deployment policy is flagged by both.
    guide = json.loads((ROOT / "tests" / "data" / "seed004_ecs_mcp_policies.json").read_text())
    deployment = guide["deploymentManagement"]
    report = scan_policy(deployment, {})
    assert report["PrivilegeEscalation"]["findings"]
    assert {"ecs", "ecr", "elasticloadbalancing"} <= set(report["ServiceWildcard"]["findings"])
    assert report["ResourceExposure"]["findings"]
    # Every AWS document of every stack is scanned: S6's boundary and one policy per enabled use
    # case, and the pipeline stack's deploy and preview policies and boundaries.
    for source in ("dev", "staging", "prod", "all-use-cases"):
        assert "ecs-mcp-server-boundary-policy" in documents_of(source) and len(documents_of(source)) >= 3
    assert "pipeline" in STACK_FILES and len(documents_of("pipeline")) >= 4


# --- checkov's IAM checks --------------------------------------------------------------------------
# checkov 3.3.30 cannot join the pinned set: it requires boto3/botocore 1.35, cloudsplaining 0.7.0,
# policy_sentry 0.13.2 and packaging 23.2 (pins here: boto3 1.44.5, cloudsplaining 0.9.1,
# policy_sentry 0.15.2). Its IAM checks are thin wrappers over cloudsplaining's PolicyDocument
# (each returns one property; a non-empty answer fails the check), so prod is held to the same
# properties here, on the same library, plus its two non-cloudsplaining IAM checks.
CHECKOV_IAM_CHECKS = {
    "CKV_AWS_286": "allows_privilege_escalation",
    "CKV_AWS_287": "credentials_exposure",
    "CKV_AWS_288": "allows_data_exfiltration_actions",
    "CKV_AWS_289": "permissions_management_without_constraints",
    "CKV_AWS_290": "write_actions_without_constraints",
    "CKV_AWS_355": "all_allowed_unrestricted_actions",
}


def checkov_iam_failures(document: dict) -> dict[str, list]:
    from cloudsplaining.scan.policy_document import PolicyDocument

    policy = PolicyDocument(document)
    failures = {check: getattr(policy, prop) for check, prop in CHECKOV_IAM_CHECKS.items()}
    allows = [s for s in document["Statement"] if s["Effect"] == "Allow"]
    actions = [a for s in allows for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])]
    # CKV_AWS_63: no "*" action; CKV_AWS_62 / CKV_AWS_1: no "*" action on "*" resource.
    failures["CKV_AWS_63"] = [a for a in actions if a == "*"]
    failures["CKV_AWS_62"] = [
        s for s in allows if s["Action"] in ("*", ["*"]) and s["Resource"] in ("*", ["*"])
    ]
    return {check: found for check, found in failures.items() if found}


@pytest.mark.parametrize("source", ["prod", "pipeline"])
def test_prod_and_the_pipeline_pass_checkovs_iam_checks(source):
    # The pipeline stack holds the roles that deploy prod.
    failed = {key: checkov_iam_failures(d) for key, d in documents_of(source).items()}
    assert {key: f for key, f in failed.items() if f} == {}


def test_checkovs_iam_checks_fail_the_guides_deployment_policy():
    # The same checks on the guide's own deployment policy (what issue #10 reported checkov failing).
    guide = json.loads((ROOT / "tests" / "data" / "seed004_ecs_mcp_policies.json").read_text())
    failed = checkov_iam_failures(guide["deploymentManagement"])
    assert {"CKV_AWS_286", "CKV_AWS_289", "CKV_AWS_290", "CKV_AWS_355"} <= set(failed)


def readme_row(label: str) -> list[str]:
    """A figure row of docs/proofs.md, where the scanner and escalation figures live."""
    text = (ROOT / "docs" / "proofs.md").read_text()
    line = next(line for line in text.splitlines() if line.startswith(f"| {label} |"))
    return [cell.strip().replace(",", "") for cell in line.strip("|").split("|")[1:]]


def test_the_proofs_page_gives_these_figures():
    stacks = ("dev", "staging", "prod")
    count = {s: [f for f in findings() if f[0] == s] for s in stacks}
    assert readme_row("policy documents scanned") == [str(len(documents_of(s))) for s in stacks]
    assert readme_row("parliament findings (all severities)") == [
        str(sum(f[2] == "parliament" for f in count[s])) for s in stacks
    ]
    assert readme_row("cloudsplaining findings") == [
        str(sum(f[2] == "cloudsplaining" for f in count[s])) for s in stacks
    ]
    assert readme_row("checkov IAM checks failed (CKV_AWS_286-290, 355, 62, 63)") == [
        str(sum(len(checkov_iam_failures(d)) for d in documents_of(s).values())) for s in stacks
    ]


# --- The scanners run the whole way (issue "Who can become whom", point 5) -----------------------
# parliament with its community auditors (privilege escalation, credentials exposure, permissions
# management, sensitive access: the ones `parliament --include-community-auditors` runs), and
# cloudsplaining plus the checkov-equivalent checks above on copies of the documents where an
# account-wide ARN (`arn:aws:iam::<account>:role/*`, `arn:aws:ecs:<region>:<account>:*`) is read as
# "*": those scanners only flag "*", and an account-wide ARN is "*" for the account.
# prod must show nothing, except a finding whose exclusion in scanner_exclusions.yaml names a
# `proof` (a test that asks the cloud's question and shows the path closed) or one listed in
# OPEN_PROD_FINDINGS: real, owned by the work that closes it, and dropped from here when it is.
ACCOUNT_WIDE = re.compile(r"^arn:[^:]*:[^:]*:[^:]*:(\d{12}|\*):(\*|[A-Za-z0-9-]+[/:]\*)$")
COMMUNITY_CONFIG = Path(parliament.__file__).parent / "community_auditors" / "config_override.yaml"
# (document, tool, issue) -> why prod keeps it. Each is a real, bounded reach the graph and the
# escalation proofs account for; a finding not listed fails, and so does a listed one now gone.
OPEN_PROD_FINDINGS = {
    (
        "ecs-mcp-server-deployment-management-policy",
        "parliament+community",
        "PERMISSIONS_MANAGEMENT_ACTIONS",
    ): (
        "S6: iam:PassRole of the two pre-created task roles to ecs-tasks.amazonaws.com only (prod "
        "creates no role); the graph's exception s6-deployment-role-runs-the-app-as-its-task-roles"
    ),
    ("ecs-mcp-server-boundary-policy", "parliament+community", "PERMISSIONS_MANAGEMENT_ACTIONS"): (
        "S6: the boundary's ceiling allows iam:PassRole of the two task roles the identity policy "
        "names, to ecs-tasks.amazonaws.com only (MaximumPassRole; the ceiling holds no role write "
        "in prod)"
    ),
    ("ecs-mcp-server-boundary-policy", "checkov (account-wide as *)", "CKV_AWS_290"): (
        "S6: MaximumPermissions allows every write of the use cases on arn:aws:*:<region>:<account>:*"
    ),
    ("ecs-mcp-server-boundary-policy", "checkov (account-wide as *)", "CKV_AWS_355"): (
        "S6: MaximumPermissions allows every write of the use cases on arn:aws:*:<region>:<account>:*"
    ),
    (
        "ecs-mcp-server-deployment-management-policy",
        "cloudsplaining (account-wide as *)",
        "InfrastructureModification",
    ): (
        "S6: ec2:CreateSecurityGroup anywhere in the account and region (NetworkManagement: the "
        "action's only ARN is security-group/*; rules only on the stack's own groups); capacity "
        "providers, log groups and load balancers are held to what the stack names"
    ),
    ("ecs-mcp-server-deployment-management-policy", "checkov (account-wide as *)", "CKV_AWS_290"): (
        "S6: the same CreateSecurityGroup (NetworkManagement), and task-definition/*:* registration"
    ),
    ("ecs-mcp-server-deployment-management-policy", "checkov (account-wide as *)", "CKV_AWS_355"): (
        "S6: the same writes, and its ECS and IAM role reads on the whole account"
    ),
    ("ecs-mcp-server-read-only-monitoring-policy", "checkov (account-wide as *)", "CKV_AWS_355"): (
        "S6: reads of every cluster and repository of the account (resourceScope: account); name them"
    ),
    ("ecs-mcp-server-troubleshooting-policy", "checkov (account-wide as *)", "CKV_AWS_355"): (
        "S6: reads of every cluster, log group (logs:GetLogEvents), stack and repository of the account"
    ),
}


def widened(document: dict) -> dict:
    """A copy of the document with every account-wide ARN read as "*"."""
    copy = json.loads(json.dumps(document))
    for statement in copy["Statement"]:
        if "Resource" in statement:
            listed = (
                statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            )
            if any(ACCOUNT_WIDE.match(str(r)) for r in listed):
                statement["Resource"] = ["*" if ACCOUNT_WIDE.match(str(r)) else r for r in listed]
    return copy


def lint_community(text: str) -> list:
    parliament.override_config(COMMUNITY_CONFIG)  # what --include-community-auditors loads
    found = parliament.analyze_policy_string(text, include_community_auditors=True).findings
    return [parliament.enhance_finding(f) for f in found]


@cache
def full_findings(source: str) -> tuple[Finding, ...]:
    found: list[Finding] = []
    for key, document in documents_of(source).items():
        for f in lint_community(json.dumps(document)):
            # The community auditors put what they found (actions, method) in the location.
            where = {k: v for k, v in (f.location or {}).items() if k != "filepath"}
            found.append((source, key, "parliament+community", f.issue, json.dumps(where, sort_keys=True)))
        wide = widened(document)
        if wide == document:
            continue
        for issue, result in scan_policy(wide, {}).items():
            if isinstance(result, dict) and result.get("findings"):
                found.append(
                    (source, key, "cloudsplaining (account-wide as *)", issue, str(result["findings"]))
                )
        for check, what in checkov_iam_failures(wide).items():
            found.append((source, key, "checkov (account-wide as *)", check, str(what)))
    return tuple(found)


def proven_exclusion(finding: Finding) -> dict | None:
    source, document, tool, issue, subject = finding
    for entry in EXCLUSIONS:
        if (
            entry["tool"] == tool
            and entry["issue"] == issue
            and source in entry["stacks"]
            and document in entry["documents"]
            and entry["about"] in subject
            and entry.get("proof")
        ):
            return entry
    return None


def test_prod_is_clean_under_the_full_scans_but_for_proven_exclusions_and_open_findings():
    unexplained = [
        f for f in full_findings("prod") if proven_exclusion(f) is None and f[1:4] not in OPEN_PROD_FINDINGS
    ]
    assert unexplained == []


def test_every_open_prod_finding_is_still_there():
    # Closed by the work it names: remove it here, so prod's figure drops to 0 with it.
    found = {f[1:4] for f in full_findings("prod")}
    assert set(OPEN_PROD_FINDINGS) <= found, set(OPEN_PROD_FINDINGS) - found


def test_a_prod_exclusion_names_a_test_that_proves_the_finding_is_no_path():
    for entry in EXCLUSIONS:
        if "prod" in entry["stacks"]:
            assert entry["tool"] == "parliament+community", entry
            path, _, name = entry["proof"].partition("::")
            assert name and f"def {name.split('[')[0]}(" in (ROOT / path).read_text(), entry
            assert any(proven_exclusion(f) is entry for f in full_findings("prod")), entry


def test_the_full_scans_see_what_they_should():
    # The community auditors flag the guide's deployment policy; account-wide ARNs read as "*".
    guide = json.loads((ROOT / "tests" / "data" / "seed004_ecs_mcp_policies.json").read_text())
    issues = {f.issue for f in lint_community(json.dumps(guide["deploymentManagement"]))}
    assert {"PRIVILEGE_ESCALATION", "PERMISSIONS_MANAGEMENT_ACTIONS", "CREDENTIALS_EXPOSURE"} <= issues
    document = {
        "Statement": [{"Effect": "Allow", "Action": "iam:PassRole", "Resource": "arn:aws:iam::1:role/x"}]
    }
    assert widened(document) == document
    wide = {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "iam:CreatePolicyVersion",
                "Resource": "arn:aws:iam::444455556666:policy/*",
            }
        ]
    }
    assert widened(wide)["Statement"][0]["Resource"] == ["*"]
    assert scan_policy(widened(wide), {})["PrivilegeEscalation"]["findings"]
    assert not scan_policy(wide, {})["PrivilegeEscalation"]["findings"]  # what the plain scan misses
    bucket = {"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]}
    assert widened(bucket) == bucket  # a bucket's objects are not the account
