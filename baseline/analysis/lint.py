"""A linter for RAM policies, judged against Alibaba Cloud's authorization reference (``reference``).

Every custom policy of a plan, statement by statement, action by action:

- ``unknown-action``: an action the reference has no row for (a typo, or an API that does not exist);
- ``resource-type``: a resource no resource type of the action matches: the statement does nothing
  for it (an action without resource-level permission is authorised on ``*`` only);
- ``required-resource``: the call needs a resource type none of the policy's statements for the
  action grants (``ecs:InvokeCommand`` on the instance but never on the command);
- ``condition-key``: a condition key the action never carries (an Allow on it never matches, a
  Deny on it never fires);
- ``list-scope``: a list action granted only on named resources (listing is checked against
  ``instance/*``, not against each instance it returns);
- ``dependency``: a dependent action the same principal lacks (the reference's dependent actions,
  and ``kms:Decrypt`` on the customer-managed key of a secret parameter it may read).

Judged on each action's current reading (``ActionRef.primary``); other readings are named in the
detail. AWS documents are parliament's (tests/test_scanners_aws.py runs it with the community
auditors); this linter counts them and leaves them to it. Exclusions are data
(``lint_exclusions.yaml``), keyed by policy, action and kind, each with its reason.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import Any

from baseline.analysis import access, cloud_keys, reference
from baseline.analysis.evaluator import _arn_parts, action_matches, arn_matches, as_list, glob_match

KINDS = ("unknown-action", "resource-type", "required-resource", "condition-key", "list-scope", "dependency")
EXCLUSIONS = Path(__file__).resolve().parent / "lint_exclusions.yaml"
SECRET_PARAMETER = "alicloud:oos/secretParameter:SecretParameter"
_READS_SECRET = ("oos:GetSecretParameter", "oos:GetSecretParameters")


@dataclass(frozen=True)
class Finding:
    kind: str
    policy: str
    statement: int
    action: str
    resource: str
    key: str
    detail: str


# --- patterns ------------------------------------------------------------------------------------


def _globs_meet(a: str, b: str) -> bool:
    """Is some string matched by both glob patterns (``*`` any run, ``?`` one character)?"""
    a, b = a.lower(), b.lower()

    @cache
    def meet(i: int, j: int) -> bool:
        if i == len(a) and j == len(b):
            return True
        if i < len(a) and a[i] == "*":
            return meet(i + 1, j) or (j < len(b) and (meet(i, j + 1) if b[j] != "*" else meet(i + 1, j)))
        if j < len(b) and b[j] == "*":
            return meet(i, j + 1) or (i < len(a) and meet(i + 1, j))
        if i == len(a) or j == len(b):
            return False
        return (a[i] == b[j] or "?" in (a[i], b[j])) and meet(i + 1, j + 1)

    return meet(0, 0)


def _arns_meet(pattern: str, type_pattern: str) -> bool:
    """Does a statement's resource pattern name some resource of the type (part by part)?"""
    if pattern == "*" or type_pattern == "*":
        return True
    left, right = _arn_parts(pattern), _arn_parts(type_pattern)
    if left is None or right is None or len(left) != len(right):
        return _globs_meet(pattern, type_pattern)
    return all(_globs_meet(x, y) for x, y in zip(left, right, strict=True))


def _covers_listing(pattern: str, rtype: reference.ResourceType) -> bool:
    """Does the resource pattern match the type's listing form (``instance/*``) as the call asks it
    (in the statement's own region and account, the resource part literally)?"""
    if pattern == "*":
        return True
    parts, template = _arn_parts(pattern), _arn_parts(rtype.pattern)
    if parts is None or template is None or len(parts) != len(template):
        return False
    return arn_matches(pattern, ":".join([*parts[:-1], template[-1]]))


def _carries(ref: reference.ActionRef, key: str) -> bool:
    lowered = key.lower()
    return lowered.startswith("baseline:") or cloud_keys.always_present(lowered) or ref.carries(lowered)


def _statements(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    statements = document.get("Statement", [])
    return [statements] if isinstance(statements, Mapping) else list(statements)


def _others(ref: reference.ActionRef) -> str:
    if len(ref.readings) < 2:
        return ""
    alts = "; ".join(f"{r.id}: {', '.join(t.arn for t in r.resources)}" for r in ref.readings[1:])
    return f" (another reading: {alts})"


# --- one document --------------------------------------------------------------------------------


def lint_document(name: str, document: Mapping[str, Any]) -> list[Finding]:
    """Findings of every kind but ``dependency`` (which needs the principal) in one RAM document."""
    found: list[Finding] = []
    statements = _statements(document)
    # Per action, every resource the policy's Allow statements grant it on: a call's resources may
    # be granted by different statements of one policy.
    granted: dict[str, list[str]] = {}
    for statement in statements:
        if statement.get("Effect") == "Allow":
            for action in as_list(statement.get("Action")):
                granted.setdefault(str(action).lower(), []).extend(
                    str(r) for r in as_list(statement.get("Resource"))
                )
    reported_required: set[str] = set()
    for index, statement in enumerate(statements):
        allow = statement.get("Effect") == "Allow"
        resources = [str(r) for r in as_list(statement.get("Resource"))]
        keys = [str(k) for block in (statement.get("Condition") or {}).values() for k in block]
        for action in (str(a) for a in as_list(statement.get("Action"))):
            if "*" in action or "?" in action:
                matched = [
                    r for r in reference.alicloud_actions().values() if action_matches(action, r.action)
                ]
                for key in keys:
                    if matched and not any(_carries(r, key) for r in matched):
                        found.append(
                            Finding(
                                "condition-key",
                                name,
                                index,
                                action,
                                "",
                                key,
                                f"none of the {len(matched)} actions {action} names carries {key}",
                            )
                        )
                continue
            ref = reference.lookup("alicloud", action)
            if ref is None:
                found.append(
                    Finding(
                        "unknown-action",
                        name,
                        index,
                        action,
                        "",
                        "",
                        f"{action} is in no authorization reference row: no request is ever this action",
                    )
                )
                continue
            # An unsettled row's empty key list is no reading: it cannot say a key is never carried.
            for key in keys if ref.settled else ():
                if not _carries(ref, key):
                    effect = "this Allow never matches" if allow else "this Deny never fires"
                    carried = ", ".join(sorted({k for r in ref.readings for k in r.condition_keys})) or "none"
                    found.append(
                        Finding(
                            "condition-key",
                            name,
                            index,
                            ref.action,
                            "",
                            key,
                            f"{ref.action} never carries {key} ({effect}); its own keys: {carried}",
                        )
                    )
            if allow:
                found += _resources(
                    name, index, ref, resources, granted.get(action.lower(), []), reported_required
                )
    return found


def _resources(
    name: str, index: int, ref: reference.ActionRef, resources: list[str], granted: list[str], done: set[str]
) -> list[Finding]:
    found: list[Finding] = []
    reading = ref.primary
    typed = [t for t in reading.resources if t.arn != "*"]
    if not typed:
        if ref.settled and (named := [r for r in resources if r != "*"]):
            found.append(
                Finding(
                    "resource-type",
                    name,
                    index,
                    ref.action,
                    ", ".join(named),
                    "",
                    f"{ref.action} has no resource-level permission: it is authorised on * only, "
                    f"so this statement does nothing for {', '.join(named)}",
                )
            )
        return found
    types = ", ".join(t.arn for t in reading.resources)
    # A resource only an older reading authorises the call on (StartExecution's template, the
    # 2021 table's volume for CreateSnapshot) is needed while the readings disagree, beside the
    # current reading's types: task proofs take the strictest reading. Alone it does nothing.
    current = any(_arns_meet(r, t.pattern) for r in resources for t in typed)
    every = [t for r in ref.readings for t in r.resources if t.arn != "*"] if current else typed
    if foreign := [r for r in resources if not any(_arns_meet(r, t.pattern) for t in every)]:
        found.append(
            Finding(
                "resource-type",
                name,
                index,
                ref.action,
                ", ".join(foreign),
                "",
                f"{ref.action} is authorised on {types}, not on {', '.join(foreign)}{_others(ref)}",
            )
        )
    if not current:
        return found  # the statement names no resource of the call: resource-type says so
    if ref.action not in done:
        # What every call names: each required type, and one type of each one-of choice.
        needed = [(t,) for t in reading.required if t.arn != "*"] + list(reading.choices.values())
        for group in needed:
            if not any(_arns_meet(r, t.pattern) for r in granted for t in group):
                done.add(ref.action)
                arns = " or ".join(t.arn for t in group)
                why = (
                    f"{ref.action} is a call on every one of {types}; this policy never grants {arns}"
                    if len(group) == 1 and not group[0].one_of
                    else f"{ref.action} names one of {arns} in every call; this policy grants none"
                )
                found.append(
                    Finding(
                        "required-resource",
                        name,
                        index,
                        ref.action,
                        arns,
                        "",
                        f"{why}, so the call is denied{_others(ref)}",
                    )
                )
        if ref.access == "list":
            listing = [t for t in typed if t.arn.endswith("/*")]
            if listing and not any(_covers_listing(r, t) for r in granted for t in listing):
                done.add(ref.action)
                found.append(
                    Finding(
                        "list-scope",
                        name,
                        index,
                        ref.action,
                        ", ".join(resources),
                        "",
                        f"{ref.action} lists: the call is checked against {listing[0].arn}, which the named "
                        "resources do not cover, so the listing is denied",
                    )
                )
    return found


# --- a plan --------------------------------------------------------------------------------------


def _allowed_actions(grants: access.Grants) -> list[tuple[str, int, str, list[str]]]:
    """(policy, statement, action pattern, resources) of every Allow statement the principal holds."""
    rows = []
    for policy in grants.policies:
        for index, statement in enumerate(_statements(policy.document)):
            if statement.get("Effect") == "Allow":
                for action in as_list(statement.get("Action")):
                    rows.append(
                        (
                            policy.name,
                            index,
                            str(action),
                            [str(r) for r in as_list(statement.get("Resource"))],
                        )
                    )
    return rows


def _dependencies(plan: Mapping[str, Any]) -> list[Finding]:
    found: list[Finding] = []
    secrets = [
        r["inputs"] for r in plan["resources"] if r["type"] == SECRET_PARAMETER and r["inputs"].get("keyId")
    ]
    seen: set[tuple[str, str, str]] = set()
    for principal in access.principals(plan):
        if principal.cloud != "alicloud":
            continue
        rows = _allowed_actions(access.grants_of(plan, principal))

        def holds(action: str, resource: str | None = None, rows: list = rows) -> bool:
            return any(
                action_matches(pattern, action)
                and (resource is None or any(arn_matches(r, resource) or r == "*" for r in resources))
                for _, _, pattern, resources in rows
            )

        for policy, index, pattern, granted_on in rows:
            if "*" in pattern or (ref := reference.lookup("alicloud", pattern)) is None:
                continue
            for dependent in ref.dependent:
                if not holds(dependent) and (policy, ref.action, dependent) not in seen:
                    seen.add((policy, ref.action, dependent))
                    found.append(
                        Finding(
                            "dependency",
                            policy,
                            index,
                            ref.action,
                            "",
                            "",
                            f"{ref.action} needs {dependent}, which {principal.label} is not allowed",
                        )
                    )
            if ref.action in _READS_SECRET:
                for secret in secrets:
                    key = f"key/{secret['keyId']}"
                    parameter = f"acs:oos:*:*:secretparameter/{secret.get('secretParameterName')}"
                    if not any(_arns_meet(r, parameter) for r in granted_on):
                        continue  # this grant does not reach that parameter
                    needed = f"acs:kms:*:*:{key}"
                    if (
                        not any(
                            action_matches(p, "kms:Decrypt") and any(_arns_meet(r, needed) for r in res)
                            for _, _, p, res in rows
                        )
                        and (policy, ref.action, key) not in seen
                    ):
                        seen.add((policy, ref.action, key))
                        found.append(
                            Finding(
                                "dependency",
                                policy,
                                index,
                                ref.action,
                                needed,
                                "",
                                f"{secret.get('secretParameterName')} is encrypted with the customer-managed "
                                f"key {secret['keyId']}: reading it needs kms:Decrypt on that key, which "
                                f"{principal.label} is not allowed",
                            )
                        )
    return found


@dataclass(frozen=True)
class Exclusion:
    kind: str
    policy: str
    action: str
    reason: str
    # The finding's resource (glob): "" keeps an entry to findings that name none, so an entry for a
    # dependency on a KMS secret never hides a missing kms:Decrypt on a named key.
    resource: str = "*"

    def excludes(self, finding: Finding) -> bool:
        return (
            self.kind == finding.kind
            and glob_match(self.policy, finding.policy, ignore_case=True)
            and glob_match(self.action, finding.action, ignore_case=True)
            and glob_match(self.resource, finding.resource)
        )


@cache
def exclusions() -> tuple[Exclusion, ...]:
    rows = reference.load_yaml(EXCLUSIONS.read_text(encoding="utf-8")) or {}
    return tuple(
        Exclusion(
            str(e["kind"]),
            str(e["policy"]),
            str(e.get("action", "*")),
            str(e["reason"]),
            str(e.get("resource", "*")),
        )
        for e in rows.get("exclusions") or []
    )


@dataclass
class Result:
    findings: list[Finding]
    excluded: list[tuple[Finding, Exclusion]]
    aws_documents: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "findings": [asdict(f) for f in self.findings],
            "excluded": [{**asdict(f), "reason": e.reason} for f, e in self.excluded],
            "aws": {"documents": self.aws_documents, "linter": "parliament (tests/test_scanners_aws.py)"},
        }


def lint_plan(plan: Mapping[str, Any], excluded: Iterable[Exclusion] | None = None) -> Result:
    """Every finding of a plan's RAM documents, exclusions applied."""
    rules = tuple(exclusions() if excluded is None else excluded)
    raw: list[Finding] = []
    for r in plan["resources"]:
        if r["type"] == access.ALI_POLICY:
            document = access._document(r["inputs"].get("policyDocument"))
            if document is not None:
                raw += lint_document(str(r["inputs"].get("policyName")), document)
    raw += _dependencies(plan)
    kept, dropped = [], []
    for finding in dict.fromkeys(raw):
        rule = next((e for e in rules if e.excludes(finding)), None)
        (kept if rule is None else dropped).append(finding if rule is None else (finding, rule))
    aws = sum(
        1
        for r in plan["resources"]
        if r["type"] in (access.AWS_POLICY, access.AWS_ROLE_POLICY, access.AWS_USER_POLICY)
    )
    return Result(kept, dropped, aws)


def to_text(result: Result, what: str) -> str:
    lines = [f"lint {what}: {len(result.findings)} finding(s) in RAM documents"]
    for f in result.findings:
        where = f"{f.policy} statement {f.statement}"
        lines.append(f"  {f.kind}: {where}: {f.action}" + (f" [{f.key}]" if f.key else ""))
        lines.append(f"      {f.detail}")
    for f, rule in result.excluded:
        lines.append(
            f"  excluded {f.kind}: {f.policy} statement {f.statement}: {f.action} ({rule.reason.strip()})"
        )
    if result.aws_documents:
        lines.append(
            f"  AWS documents ({result.aws_documents}) are parliament's, with its community auditors "
            "(tests/test_scanners_aws.py); this linter does not judge them"
        )
    return "\n".join(lines) + "\n"


def to_json(result: Result) -> str:
    return json.dumps(result.as_dict(), indent=2) + "\n"
