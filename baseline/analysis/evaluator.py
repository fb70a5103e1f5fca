"""A pure evaluator of RAM / IAM permission policies: may this principal do this, here?

The semantics are the ones both clouds document for identity-based policies:

1. An explicit ``Deny`` in any policy (identity or permissions boundary) wins.
2. Otherwise an ``Allow`` is needed - from the identity policies and, when a permissions boundary
   is given (AWS), from the boundary too: the effective permissions are identity ∩ boundary.
3. Otherwise the request is implicitly denied.

Matching rules:

- ``Action`` / ``NotAction``: case-insensitive, ``*`` and ``?`` wildcards.
- ``Resource`` / ``NotResource``: case-sensitive, ``*`` and ``?`` wildcards. A bare ``*`` matches
  everything; an ARN pattern is matched part by part (``acs:service:region:account:resource``,
  ``arn:partition:service:region:account:resource``), the way AWS documents ``ArnLike``: a
  wildcard never spans a ``:`` between those parts, but may span anything inside the last one.
- ``Condition``: every operator and every key must hold (AND); the values listed for one key are
  alternatives (OR). Condition key names are case-insensitive. A negated operator
  (``StringNotEquals``, ``ArnNotLike``, ``NotIpAddress``, ...) holds when the key is missing from
  the request; a non-negated one does not. ``...IfExists`` holds when the key is missing.
  ``ForAllValues:`` holds for a missing or empty key; ``ForAnyValue:`` does not. ``Null`` tests
  presence.
- Keys the cloud sets on every request (``baseline.analysis.cloud_keys``: ``aws:RequestedRegion``,
  ``aws:CurrentTime``, ``acs:SourceIp``, ...) are never read as absent. When a question leaves one
  out and a statement that covers the request tests it, the request is asked once per candidate
  value (the documents' own values for the key plus one that matches none; a regional ARN fixes
  ``aws:RequestedRegion`` to its region). The answer is allow when some value allows, and the
  decision says for which (``Decision.assumed``, "allow for aws:RequestedRegion=us-east-1 only").

Alibaba Cloud RAM (``"Version": "1"``) uses the same grammar for these operators, so one evaluator
serves both clouds. Nothing here imports Pulumi: the ``can`` command and the tests call it with
documents read from the offline plan.
"""

from __future__ import annotations

import ipaddress
import itertools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cache, lru_cache
from typing import Any

from baseline.analysis import cloud_keys

Document = Mapping[str, Any]
Context = Mapping[str, Sequence[str]]


@dataclass(frozen=True)
class NamedPolicy:
    """A policy document and the name it is reported under."""

    name: str
    document: Document


@dataclass(frozen=True)
class StatementRef:
    """One statement of one policy, as a decision reports it."""

    policy: str
    index: int
    sid: str | None
    effect: str
    detail: str = ""  # why it matched, or which condition failed

    @property
    def label(self) -> str:
        sid = f" ({self.sid})" if self.sid else ""
        return f"{self.policy} statement {self.index}{sid}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "statement": self.index,
            "sid": self.sid,
            "effect": self.effect,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class Assumed:
    """A key the cloud sets on every request that the question left out: the values it was asked
    with, and those the request is allowed with (empty: denied for every one)."""

    key: str  # as the documents spell it
    asked: tuple[str, ...]
    allowing: tuple[str, ...]

    @property
    def only(self) -> bool:
        """Allowed for some of the values asked, not all."""
        return bool(self.allowing) and len(self.allowing) < len(self.asked)

    def describe(self) -> str:
        values = "/".join(cloud_keys.shown(v) for v in self.allowing or self.asked)
        if not self.allowing:
            return f"deny for every {self.key} asked ({values})"
        if self.only:
            return f"allow for {self.key}={values} only"
        if len(self.asked) == 1:
            return f"allow for {self.key}={values}"
        return f"allow for every {self.key} asked ({values})"

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "asked": list(self.asked), "allowing": list(self.allowing)}


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str
    deciding: tuple[StatementRef, ...] = ()
    # Statements whose action and resource matched but whose condition did not hold: the usual
    # answer to "why was I denied?".
    near_misses: tuple[StatementRef, ...] = ()
    explicit_deny: bool = False
    # Keys the cloud always sets that the question omitted, and the values the answer rests on.
    assumed: tuple[Assumed, ...] = ()

    @property
    def word(self) -> str:
        return "allow" if self.allowed else "deny"

    @property
    def values(self) -> dict[str, tuple[str, ...]]:
        """For an allow: each omitted always-present key and the values it is allowed with."""
        return {a.key: a.allowing for a in self.assumed}

    def as_dict(self) -> dict[str, Any]:
        found = {
            "decision": self.word,
            "explicitDeny": self.explicit_deny,
            "reason": self.reason,
            "deciding": [s.as_dict() for s in self.deciding],
            "nearMisses": [s.as_dict() for s in self.near_misses],
        }
        if self.assumed:
            found["assumed"] = [a.as_dict() for a in self.assumed]
        return found


@dataclass(frozen=True)
class Request:
    action: str
    resource: str
    context: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # keys lower-cased

    @classmethod
    def of(cls, action: str, resource: str, context: Context | None = None) -> Request:
        merged: dict[str, tuple[str, ...]] = {}
        for key, values in (context or {}).items():
            values = (values,) if isinstance(values, str) else tuple(str(v) for v in values)
            merged[key.lower()] = merged.get(key.lower(), ()) + values
        return cls(action, resource, merged)


# --- wildcard matching ---------------------------------------------------------------------------


@cache
def _glob(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def glob_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """``*`` matches any run of characters (also empty), ``?`` exactly one."""
    return _glob(pattern, ignore_case).fullmatch(value) is not None


def action_matches(pattern: str, action: str) -> bool:
    return glob_match(pattern, action, ignore_case=True)


def _arn_parts(value: str) -> list[str] | None:
    """The fixed parts of an ARN plus its resource part, or None for a non-ARN string."""
    if value.startswith("acs:"):
        parts = value.split(":", 4)
        return parts if len(parts) == 5 else None
    if value.startswith("arn:"):
        parts = value.split(":", 5)
        return parts if len(parts) == 6 else None
    return None


def arn_matches(pattern: str, value: str) -> bool:
    """ARN matching as ``ArnLike`` documents it: part by part, wildcards within a part."""
    if pattern == "*":
        return True
    pattern_parts, value_parts = _arn_parts(pattern), _arn_parts(value)
    if pattern_parts is None and pattern.startswith(("acs:", "arn:")):
        return False  # a malformed ARN pattern matches nothing, as the clouds treat it
    if pattern_parts is None or value_parts is None or len(pattern_parts) != len(value_parts):
        return glob_match(pattern, value)
    return all(glob_match(p, v) for p, v in zip(pattern_parts, value_parts, strict=True))


def resource_matches(pattern: str, resource: str) -> bool:
    return arn_matches(pattern, resource)


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


# --- conditions ----------------------------------------------------------------------------------


def _parse_number(value: str) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _parse_date(value: str) -> datetime | None:
    text = str(value).strip()
    if re.fullmatch(r"-?\d+(\.\d+)?", text):  # epoch seconds, as AWS accepts
        return datetime.fromtimestamp(float(text), tz=UTC)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _ordered(parse, compare):
    def test(request_value: str, policy_value: str) -> bool:
        left, right = parse(request_value), parse(policy_value)
        return left is not None and right is not None and compare(left, right)

    return test


def _ip_in(request_value: str, policy_value: str) -> bool:
    try:
        return ipaddress.ip_address(request_value) in ipaddress.ip_network(policy_value, strict=False)
    except ValueError:
        return False


# Positive test per operator (request value, policy value) -> bool; the "Not" operators negate
# the OR over policy values.
_TESTS = {
    "stringequals": lambda r, p: r == p,
    "stringequalsignorecase": lambda r, p: r.lower() == p.lower(),
    "stringlike": lambda r, p: glob_match(p, r),
    "numericequals": _ordered(_parse_number, lambda a, b: a == b),
    "numericlessthan": _ordered(_parse_number, lambda a, b: a < b),
    "numericlessthanequals": _ordered(_parse_number, lambda a, b: a <= b),
    "numericgreaterthan": _ordered(_parse_number, lambda a, b: a > b),
    "numericgreaterthanequals": _ordered(_parse_number, lambda a, b: a >= b),
    "dateequals": _ordered(_parse_date, lambda a, b: a == b),
    "datelessthan": _ordered(_parse_date, lambda a, b: a < b),
    "datelessthanequals": _ordered(_parse_date, lambda a, b: a <= b),
    "dategreaterthan": _ordered(_parse_date, lambda a, b: a > b),
    "dategreaterthanequals": _ordered(_parse_date, lambda a, b: a >= b),
    "bool": lambda r, p: r.lower() == str(p).lower(),
    "ipaddress": _ip_in,
    "arnequals": lambda r, p: arn_matches(p, r),  # AWS documents ArnEquals and ArnLike alike
    "arnlike": lambda r, p: arn_matches(p, r),
}
_NEGATED = {
    "stringnotequals": "stringequals",
    "stringnotequalsignorecase": "stringequalsignorecase",
    "stringnotlike": "stringlike",
    "numericnotequals": "numericequals",
    "datenotequals": "dateequals",
    "notipaddress": "ipaddress",
    "arnnotequals": "arnequals",
    "arnnotlike": "arnlike",
}


class PolicyError(ValueError):
    """A document the evaluator cannot read (an unknown operator, a malformed statement)."""


@dataclass(frozen=True)
class _Operator:
    name: str  # as written, for messages
    base: str  # lower-case, without qualifier and IfExists
    negated: bool
    if_exists: bool
    qualifier: str | None  # "forallvalues" | "foranyvalue" | None

    @classmethod
    def parse(cls, text: str) -> _Operator:
        lowered = text.lower()
        qualifier = None
        for prefix in ("forallvalues:", "foranyvalue:"):
            if lowered.startswith(prefix):
                qualifier, lowered = prefix[:-1], lowered[len(prefix) :]
        if_exists = lowered.endswith("ifexists") and lowered != "null"
        base = lowered.removesuffix("ifexists") if if_exists else lowered
        if base == "null":
            return cls(text, base, False, False, qualifier)
        if base in _NEGATED:
            return cls(text, _NEGATED[base], True, if_exists, qualifier)
        if base in _TESTS:
            return cls(text, base, False, if_exists, qualifier)
        raise PolicyError(f"unknown condition operator {text!r}")


def _value_matches(op: _Operator, request_value: str, policy_values: list[str]) -> bool:
    test = _TESTS[op.base]
    hit = any(test(request_value, str(p)) for p in policy_values)
    return not hit if op.negated else hit


def condition_holds(
    operator: str, key: str, policy_values: Any, context: Mapping[str, tuple[str, ...]]
) -> bool:
    """One operator/key pair of a Condition block against the request context."""
    op = _Operator.parse(operator)
    values = [str(v) for v in as_list(policy_values)]
    present = key.lower() in context
    request_values = context.get(key.lower(), ())
    if op.base == "null":
        # {"Null": {"k": "true"}} holds when k is absent; "false" when it is present.
        wants_absent = any(v.lower() == "true" for v in values)
        return (not present) == wants_absent
    if op.qualifier == "forallvalues":
        # Vacuously true for a missing or empty set, as AWS documents.
        return all(_value_matches(op, r, values) for r in request_values)
    if op.qualifier == "foranyvalue":
        return any(_value_matches(op, r, values) for r in request_values)
    if not present:
        return op.if_exists or op.negated
    if op.negated:
        return all(_value_matches(op, r, values) for r in request_values)
    return any(_value_matches(op, r, values) for r in request_values)


def failed_condition(
    condition: Mapping[str, Any] | None, context: Mapping[str, tuple[str, ...]]
) -> str | None:
    """The first operator/key pair that does not hold, described; None when all hold."""
    for operator, block in (condition or {}).items():
        if not isinstance(block, Mapping):
            raise PolicyError(f"condition operator {operator!r} needs a map of keys")
        for key, policy_values in block.items():
            if not condition_holds(operator, key, policy_values, context):
                got = context.get(key.lower())
                seen = ", ".join(got) if got else "missing"
                wanted = ", ".join(str(v) for v in as_list(policy_values))
                return f"{operator} {key} failed (request: {seen}; policy: {wanted})"
    return None


# --- statements and policies ---------------------------------------------------------------------


def _statements(document: Document) -> list[Mapping[str, Any]]:
    statements = document.get("Statement", [])
    return [statements] if isinstance(statements, Mapping) else list(statements)


def _covers(statement: Mapping[str, Any], request: Request) -> str | None:
    """Why the statement's action/resource part does not cover the request; None if it does."""
    if "Action" in statement:
        if not any(action_matches(str(p), request.action) for p in as_list(statement["Action"])):
            return "action not listed"
    elif "NotAction" in statement:
        if any(action_matches(str(p), request.action) for p in as_list(statement["NotAction"])):
            return "action excluded by NotAction"
    else:
        return "no Action"
    if "Resource" in statement:
        if not any(resource_matches(str(p), request.resource) for p in as_list(statement["Resource"])):
            return "resource not listed"
    elif "NotResource" in statement:
        if any(resource_matches(str(p), request.resource) for p in as_list(statement["NotResource"])):
            return "resource excluded by NotResource"
    else:
        return "no Resource"
    return None


@dataclass
class _Matches:
    allows: list[StatementRef] = field(default_factory=list)
    denies: list[StatementRef] = field(default_factory=list)
    near_misses: list[StatementRef] = field(default_factory=list)


def _match(policies: Iterable[NamedPolicy], request: Request) -> _Matches:
    found = _Matches()
    for policy in policies:
        for index, statement in enumerate(_statements(policy.document)):
            effect = str(statement.get("Effect", ""))
            if effect not in ("Allow", "Deny"):
                raise PolicyError(f"{policy.name} statement {index} has Effect {effect!r}")
            if _covers(statement, request) is not None:
                continue
            sid = statement.get("Sid")
            failure = failed_condition(statement.get("Condition"), request.context)
            if failure is not None:
                found.near_misses.append(StatementRef(policy.name, index, sid, effect, failure))
                continue
            detail = "condition holds" if statement.get("Condition") else "no condition"
            ref = StatementRef(policy.name, index, sid, effect, detail)
            (found.allows if effect == "Allow" else found.denies).append(ref)
    return found


def omitted_keys(policies: Iterable[NamedPolicy], request: Request) -> dict[str, tuple[str, tuple[str, ...]]]:
    """Always-present keys the request leaves out that a statement covering it tests.

    Returns lower-case key -> (the key as written, the candidate values to ask it with).
    """
    uses: dict[str, list[tuple[str, str]]] = {}
    spelled: dict[str, str] = {}
    for policy in policies:
        for statement in _statements(policy.document):
            condition = statement.get("Condition")
            if not condition or _covers(statement, request) is not None:
                continue
            for operator, block in condition.items():
                if not isinstance(block, Mapping):
                    raise PolicyError(f"condition operator {operator!r} needs a map of keys")
                for key in block:
                    lowered = key.lower()
                    if lowered in request.context or not cloud_keys.always_present(lowered):
                        continue
                    base = _Operator.parse(operator).base
                    spelled.setdefault(lowered, key)
                    found = uses.setdefault(lowered, [])
                    found += [(base, str(v)) for v in as_list(block[key])]
    result = {}
    for lowered, found in uses.items():
        implied = cloud_keys.implied_value(lowered, request.resource)
        values = (implied,) if implied is not None else cloud_keys.candidates(lowered, found, _matches)
        result[lowered] = (spelled[lowered], values)
    return result


def _matches(base: str, request_value: str, policy_value: str) -> bool:
    return base in _TESTS and _TESTS[base](request_value, policy_value)


def evaluate(
    policies: Sequence[NamedPolicy],
    action: str,
    resource: str,
    context: Context | None = None,
    *,
    boundary: Sequence[NamedPolicy] | None = None,
) -> Decision:
    """Decide one request against identity ``policies`` (and an optional permissions boundary).

    A key the cloud sets on every request that the context omits is asked with each candidate
    value (see the module docstring); the decision is allow when one allows, and carries the
    values in ``assumed``.
    """
    request = Request.of(action, resource, context)
    omitted = omitted_keys([*policies, *(boundary or ())], request)
    if not omitted:
        return _evaluate(policies, request, boundary)
    keys = sorted(omitted)
    asked = []
    for values in itertools.product(*(omitted[k][1] for k in keys)):
        filled = {**request.context, **{k: (v,) for k, v in zip(keys, values, strict=True)}}
        asked.append((values, _evaluate(policies, Request(action, resource, filled), boundary)))
    allowing = [values for values, decision in asked if decision.allowed]
    assumed = tuple(
        Assumed(
            omitted[key][0],
            omitted[key][1],
            tuple(v for v in omitted[key][1] if any(values[i] == v for values in allowing)),
        )
        for i, key in enumerate(keys)
    )
    if allowing:
        decision = next(d for _, d in asked if d.allowed)
    else:
        decision = next((d for _, d in asked if d.explicit_deny), asked[0][1])
    why = "; ".join(a.describe() for a in assumed)
    set_by = ", ".join(a.key for a in assumed)
    reason = f"{decision.reason}; {why} (the cloud sets {set_by} on every request)"
    return replace(decision, reason=reason, assumed=assumed)


def _evaluate(
    policies: Sequence[NamedPolicy], request: Request, boundary: Sequence[NamedPolicy] | None
) -> Decision:
    action, resource = request.action, request.resource
    identity = _match(policies, request)
    bounds = _match(boundary, request) if boundary is not None else None
    what = f"{action} on {resource}"
    denies = identity.denies + (bounds.denies if bounds else [])
    near = tuple(identity.near_misses + (bounds.near_misses if bounds else []))
    if denies:
        return Decision(
            False,
            f"{what} is explicitly denied by " + ", ".join(d.label for d in denies),
            tuple(denies),
            near,
            explicit_deny=True,
        )
    if not identity.allows:
        return Decision(False, f"no identity policy statement allows {what} (implicit deny)", (), near)
    if bounds is not None and not bounds.allows:
        return Decision(
            False,
            f"{what} is allowed by {', '.join(a.label for a in identity.allows)} but not by the "
            "permissions boundary (implicit deny)",
            tuple(identity.allows),
            near,
        )
    reason = f"{what} is allowed by " + ", ".join(a.label for a in identity.allows)
    if bounds is not None:
        reason += " and within the permissions boundary (" + ", ".join(a.label for a in bounds.allows) + ")"
    return Decision(True, reason, tuple(identity.allows + (bounds.allows if bounds else [])), near)


# --- trust policies (who may assume a role) ------------------------------------------------------
PrincipalTest = Callable[[str, str], bool]  # (principal type, value in the policy) -> the caller?


def _principal_covers(statement: Mapping[str, Any], caller: PrincipalTest) -> str | None:
    """Why the statement's Principal does not name the caller; None when it does."""
    if "NotPrincipal" in statement:
        raise PolicyError("NotPrincipal is not evaluated: name the principals instead")
    principal = statement.get("Principal")
    if principal is None:
        return "no Principal"
    if principal == "*":
        return None
    if not isinstance(principal, Mapping):
        raise PolicyError(f"Principal {principal!r} is neither '*' nor a map")
    for kind, values in principal.items():
        if any(value == "*" or caller(str(kind), str(value)) for value in as_list(values)):
            return None
    return "principal not named"


def evaluate_trust(
    trust: NamedPolicy, action: str, caller: PrincipalTest, context: Context | None = None
) -> Decision:
    """May the caller assume the role whose trust policy this is (``action`` = the STS call)?

    A trust policy is resource-based: a statement applies when its Action covers the call, its
    Principal names the caller and every condition holds (OIDC tokens arrive as condition keys:
    ``oidc:iss``/``oidc:aud``/``oidc:sub`` on RAM, ``<issuer host>:aud``/``:sub`` on IAM). An
    explicit Deny wins; without an Allow the role cannot be assumed.
    """
    request = Request.of(action, "*", context)
    allows: list[StatementRef] = []
    denies: list[StatementRef] = []
    near: list[StatementRef] = []
    for index, statement in enumerate(_statements(trust.document)):
        effect = str(statement.get("Effect", ""))
        if effect not in ("Allow", "Deny"):
            raise PolicyError(f"{trust.name} statement {index} has Effect {effect!r}")
        actions = as_list(statement.get("Action"))
        if not any(action_matches(str(p), action) for p in actions):
            continue
        if _principal_covers(statement, caller) is not None:
            continue
        sid = statement.get("Sid")
        failure = failed_condition(statement.get("Condition"), request.context)
        if failure is not None:
            near.append(StatementRef(trust.name, index, sid, effect, failure))
            continue
        detail = "condition holds" if statement.get("Condition") else "no condition"
        (allows if effect == "Allow" else denies).append(StatementRef(trust.name, index, sid, effect, detail))
    what = f"{action} by this caller"
    if denies:
        return Decision(
            False, f"{what} is explicitly denied by the trust policy", tuple(denies), tuple(near), True
        )
    if not allows:
        why = "no trust statement names the caller" if not near else "a trust condition does not hold"
        return Decision(False, f"{what}: {why} (implicit deny)", (), tuple(near))
    return Decision(
        True, f"{what} is allowed by " + ", ".join(a.label for a in allows), tuple(allows), tuple(near)
    )


# --- calls as the cloud authorises them ----------------------------------------------------------


class WrongResourceType(ValueError):
    """A resource given for a call matches no resource type the call is authorised on."""

    def __init__(self, action: str, resource: str, types: Sequence[str]) -> None:
        self.action, self.resource, self.types = action, resource, tuple(types)
        super().__init__(f"{action} is authorised on {', '.join(types)}, not on {resource}")


class UnknownAction(KeyError):
    """The authorization reference has no row for the action."""


@dataclass(frozen=True)
class CallDecision:
    """A call decided: allowed only when every resource it is authorised on is (in every reading
    for ``strict``, in some for ``permissive``)."""

    allowed: bool
    action: str
    reading: str  # the reading the answer rests on
    asked: tuple[tuple[str, Decision], ...]  # (resource, decision) of that reading, in order
    filled: tuple[str, ...] = ()  # required types the question left out, asked as "any of that type"
    dropped: tuple[str, ...] = ()  # context keys this call never carries, ignored

    @property
    def word(self) -> str:
        return "allow" if self.allowed else "deny"

    @property
    def decision(self) -> Decision:
        """The deciding resource's decision: the first denied one, else the last allowed."""
        return next((d for _, d in self.asked if not d.allowed), self.asked[-1][1])

    @property
    def explicit_deny(self) -> bool:
        return any(d.explicit_deny for _, d in self.asked)


# Every spelling the pages print: {#regionId}, ${RegionId}, $regionid (the 2021 ECS table), ...
_REGION = re.compile(r"^(\{#?regionid\}|\$\{regionid\}|\$regionid)$", re.IGNORECASE)
_ACCOUNT = re.compile(r"^(\{#?accountid\}|\$\{accountid\}|\$\{account\}|\$accountid)$", re.IGNORECASE)


@lru_cache(maxsize=4096)
def type_pattern(arn: str, region: str = "", account: str = "") -> str:
    """A resource type's ARN template as a pattern: region and account placeholders filled with the
    call's own (when known), every other placeholder ``*`` ("any of that type")."""
    from baseline.analysis.reference import _PLACEHOLDER

    if arn == "*":
        return "*"
    head = 2 if arn.startswith("acs:") else 3  # acs:svc:REGION:ACCOUNT / arn:partition:svc:REGION:ACCOUNT
    parts = arn.split(":", head + 2)
    if len(parts) == head + 3:
        if region and _REGION.match(parts[head]):
            parts[head] = region
        if account and _ACCOUNT.match(parts[head + 1]):
            parts[head + 1] = account
    return _PLACEHOLDER.sub("*", ":".join(parts))


def call_scope(resources: Sequence[str], default: tuple[str, str] = ("", "")) -> tuple[str, str]:
    """(region, account) of a call: from its concrete resources, else ``default`` (the principal's)."""
    region, account = default
    found_region = found_account = ""
    for resource in resources:
        parts = _arn_parts(resource)
        if not parts:
            continue
        head = 2 if resource.startswith("acs:") else 3
        if len(parts) > head + 1:
            if not found_region and parts[head] and "*" not in parts[head]:
                found_region = parts[head]
            if not found_account and parts[head + 1] and "*" not in parts[head + 1]:
                found_account = parts[head + 1]
    return found_region or region, found_account or account


def call_resources(
    ref: Any, reading: Any, resources: Sequence[str], scope: tuple[str, str] = ("", "")
) -> tuple[list[str], list[str]]:
    """The resources a reading's call is asked on: for each required type the given resources of
    that type, else the type itself as a pattern ("any of that type", in the call's region and
    account). A given resource no type of this reading names is not part of this reading's call.
    Returns (asked, filled)."""
    asked: list[str] = []
    filled: list[str] = []
    typed = [t for t in reading.resources if t.arn != "*"]

    def given_or_any(matches: Callable[[str], bool], arn: str) -> list[str]:
        """The given resources ``matches`` accepts; none given, ``arn`` as a pattern (filled)."""
        mine = [r for r in resources if matches(r)]
        if not mine:
            mine = [type_pattern(arn, *scope)]
            filled.append(mine[0])
        return mine

    if not reading.required and not reading.choices and reading.resources:
        # Every type optional: the call names one of them; asked on those the question gives.
        mine = given_or_any(
            lambda r: r == "*" or any(arn_matches(t.pattern, r) for t in typed), reading.resources[0].arn
        )
        return list(dict.fromkeys(mine)), filled
    for rtype in reading.required:
        if rtype.arn == "*":
            mine = [r for r in resources if not any(arn_matches(t.pattern, r) for t in typed)]
            asked += [r for r in (mine or ["*"]) if r not in asked]
            continue
        mine = given_or_any(lambda r, rtype=rtype: arn_matches(rtype.pattern, r), rtype.arn)
        asked += [r for r in mine if r not in asked]
    for types in reading.choices.values():
        mine = given_or_any(
            lambda r, types=types: any(arn_matches(t.pattern, r) for t in types), types[0].arn
        )
        asked += [r for r in mine if r not in asked]
    # Optional types the question names are asked too: the cloud checks every resource it names.
    for rtype in reading.resources:
        if not rtype.required and rtype.arn != "*":
            asked += [r for r in resources if arn_matches(rtype.pattern, r) and r not in asked]
    return asked, filled


def _carried(cloud: str, reading: Any, key: str) -> bool:
    return _carried_cached(cloud, reading.condition_keys, key.lower())


@lru_cache(maxsize=8192)
def _carried_cached(cloud: str, keys: tuple[str, ...], lowered: str) -> bool:
    from baseline.analysis import reference

    return (
        lowered.startswith("baseline:")  # this tool's own stand-ins (the resource group check)
        or reference.is_global(cloud, lowered)
        or cloud_keys.always_present(lowered)
        or any(reference._key_matches(k, lowered) for k in keys)
    )


def free_key(cloud: str, key: str) -> bool:
    """A key any request may carry: global, set by the cloud on every request, or this tool's own."""
    return _carried_cached(cloud, (), key.lower())


def carried_by(cloud: str, ref: Any, key: str) -> bool:
    """Does some reading of the reference row ``ref`` carry ``key`` (or is the key free)?"""
    return any(_carried(cloud, reading, key) for reading in ref.readings)


def request_context(cloud: str, action: str, context: Context | None) -> tuple[dict[str, Any], list[str]]:
    """The context one request of ``action`` carries: the keys no reading of its reference row
    carries dropped (none when the reference lacks the action). Returns (kept, dropped)."""
    from baseline.analysis import reference

    ref = reference.lookup(cloud, action)
    kept: dict[str, Any] = {}
    dropped: list[str] = []
    for key, values in (context or {}).items():
        if ref is None or carried_by(cloud, ref, key):
            kept[key] = values
        else:
            dropped.append(key)
    return kept, dropped


def evaluate_request(
    policies: Sequence[NamedPolicy],
    cloud: str,
    action: str,
    resource: str,
    context: Context | None = None,
    *,
    boundary: Sequence[NamedPolicy] | None = None,
) -> Decision:
    """One request: ``action`` on one resource, with the keys the action never carries (in any
    reading) absent. What the solver decides (``symbolic``): a call is allowed only when each of
    its requests is (``evaluate_call``)."""
    kept, _ = request_context(cloud, action, context)
    return evaluate(policies, action, resource, kept, boundary=boundary)


def foreign_resources(ref: Any, resources: Sequence[str], readings: Sequence[Any] | None = None) -> list[str]:
    """The given resources no resource type of the readings (all, by default) is authorised on.

    An action without resource-level permission (``*`` only) is authorised on no named resource;
    an unsettled row's ``*`` is a placeholder, not a reading, so nothing is foreign to it."""

    def accepts(reading: Any, resource: str) -> bool:
        if any(t.arn != "*" and arn_matches(t.pattern, resource) for t in reading.resources):
            return True
        return not ref.settled and all(t.arn == "*" for t in reading.resources)

    return [
        r
        for r in resources
        if r != "*" and not any(accepts(reading, r) for reading in readings or ref.readings)
    ]


def evaluate_call(
    policies: Sequence[NamedPolicy],
    cloud: str,
    action: str,
    resources: Sequence[str],
    context: Context | None = None,
    *,
    boundary: Sequence[NamedPolicy] | None = None,
    mode: str = "strict",
    scope: tuple[str, str] = ("", ""),
) -> CallDecision:
    """Decide a call: ``action`` on every resource the reference authorises it on.

    ``resources`` are the concrete ARNs the question names (any order, one per type or more);
    a required type left out is asked as a pattern in the call's region and account (from the
    other resources, else ``scope``, the principal's). Context keys the call never carries (in the
    reading asked) are dropped: a condition on them sees them absent. ``mode`` ``strict`` (task
    proofs) needs every reading to allow; ``permissive`` (escalation proofs) any one.
    """
    from baseline.analysis import reference

    ref = reference.lookup(cloud, action)
    if ref is None:
        raise UnknownAction(action)
    if foreign := foreign_resources(ref, resources):
        raise WrongResourceType(
            ref.action, foreign[0], sorted({t.arn for r in ref.readings for t in r.resources})
        )
    where = call_scope(resources, scope)
    answers: list[CallDecision] = []
    for reading in ref.readings:
        keep: dict[str, Any] = {}
        dropped: list[str] = []
        for key, values in (context or {}).items():
            if _carried(cloud, reading, key):
                keep[key] = values
            else:
                dropped.append(key)
        asked, filled = call_resources(ref, reading, resources, where)
        decisions = tuple((r, evaluate(policies, ref.action, r, keep, boundary=boundary)) for r in asked)
        allowed = all(d.allowed for _, d in decisions)
        answers.append(
            CallDecision(allowed, ref.action, reading.id, decisions, tuple(filled), tuple(dropped))
        )
    if mode == "permissive":
        return next((a for a in answers if a.allowed), answers[0])
    return next((a for a in answers if not a.allowed), answers[0])
