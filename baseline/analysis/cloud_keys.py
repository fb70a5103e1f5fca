"""Condition keys the cloud puts in every request it authorises, whatever the caller sends.

A question that leaves one of these out is not a request without it: the cloud always sets a value.
The evaluator and the solver therefore never read such a key as absent (a negated or ``IfExists``
operator does not hold "because the key is missing"); an omitted one means "some value", and an
answer that depends on which says so.

Sources (checked against the owners' pages):

- AWS, IAM User Guide, "AWS global condition context keys", each key's *Availability*:
  ``aws:CurrentTime``, ``aws:EpochTime``, ``aws:RequestedRegion``, ``aws:SecureTransport`` and
  ``aws:ViaAWSService``: "This key is always included in the request context";
  ``aws:PrincipalAccount``, ``aws:PrincipalArn``, ``aws:PrincipalType`` and ``aws:userid``:
  "included in the request context for all signed requests" (every request an identity policy
  decides is signed). ``aws:SourceIp`` is not here: it is absent when the request comes through
  a VPC endpoint. ``aws:username`` (IAM users only), ``aws:PrincipalOrgID`` (members of an
  organization only), MFA keys and tags are present only sometimes.
- Alibaba Cloud, RAM "Policy elements" (common condition keys) and the services' "condition
  keys" pages (e.g. KMS, "Alibaba Cloud universal condition keys"): ``acs:CurrentTime``,
  ``acs:SecureTransport``, ``acs:SourceIp`` (the client's public address, on every API call),
  ``acs:PrincipalARN``, ``acs:PrincipalType`` and ``acs:AccessId``. ``acs:SourceVpc``,
  ``acs:MFAPresent`` and tags are present only sometimes.

The candidate values an omitted key is asked with (``candidates``) are the documents' own values
for it plus one value that matches none of them: for the equality and pattern operators the
documents use, the outcome depends only on which document values a request value matches, so
these are the values that can change an answer. ``aws:RequestedRegion`` of a regional resource
is the resource's region (a request reaches a regional resource through that region's endpoint),
so such a request is asked only with it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

ALWAYS_PRESENT: frozenset[str] = frozenset(
    key.lower()
    for key in (
        # AWS: "always included in the request context" / "for all signed requests".
        "aws:CurrentTime",
        "aws:EpochTime",
        "aws:PrincipalAccount",
        "aws:PrincipalArn",
        "aws:PrincipalType",
        "aws:RequestedRegion",
        "aws:SecureTransport",
        "aws:userid",
        "aws:ViaAWSService",
        # Alibaba Cloud RAM common keys set on every request.
        "acs:CurrentTime",
        "acs:SecureTransport",
        "acs:SourceIp",
        "acs:PrincipalARN",
        "acs:PrincipalType",
        "acs:AccessId",
    )
)

# A value no document names: "any other value" in answers.
OTHER_VALUE = "baseline-any-other-value"
_OTHER_IPS = ("192.0.2.1", "198.51.100.1", "2001:db8::1")  # documentation ranges (RFC 5737/3849)
_OTHER_TIMES = ("1970-01-01T00:00:00Z", "2999-12-31T23:59:59Z")


def always_present(key: str) -> bool:
    """Whether the cloud sets ``key`` on every request (names are case-insensitive)."""
    return key.lower() in ALWAYS_PRESENT


def implied_value(key: str, resource: str) -> str | None:
    """The one value the cloud sets for ``key`` on a request for ``resource``, when it is fixed.

    ``aws:RequestedRegion`` of a request for a regional ARN (``arn:aws:ecs:us-east-1:...``) is
    that region; IAM's and S3's ARNs name no region, a pattern or ``*`` names none either.
    """
    if key.lower() != "aws:requestedregion" or not resource.startswith("arn:"):
        return None
    parts = resource.split(":", 5)
    region = parts[3] if len(parts) == 6 else ""
    return region if region and not any(c in region for c in "*?") else None


def _concrete(pattern: str) -> str:
    """A value a ``*``/``?`` pattern matches (wildcards filled with one letter each)."""
    return pattern.replace("*", "x").replace("?", "x")


def _neighbours(base: str, value: str) -> list[str]:
    if base.startswith("numeric"):
        try:
            number = float(value)
        except ValueError:
            return [value]
        return [value, _number(number - 1), _number(number + 1)]
    if base.startswith("date"):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return [value]
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        second = timedelta(seconds=1)
        return [_iso(moment - second), _iso(moment), _iso(moment + second)]
    if base == "ipaddress":
        try:
            network = ipaddress.ip_network(value, strict=False)
        except ValueError:
            return [value]
        return [str(network.network_address), str(network.broadcast_address)]
    if base == "bool":
        return ["true", "false"]
    return [_concrete(value)]


def _number(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def candidates(
    key: str,
    uses: Iterable[tuple[str, str]],
    matches: Callable[[str, str, str], bool],
) -> tuple[str, ...]:
    """The values an omitted always-present ``key`` is asked with.

    ``uses`` are the (operator base, policy value) pairs the documents test the key with
    (operator without ``Not``/``IfExists``/qualifier, lower-case, as the evaluator parses it);
    ``matches(base, request_value, policy_value)`` is the evaluator's positive test. Returns the
    documents' values (made concrete), then one value that matches none of them.
    """
    uses = list(uses)
    if uses and all(base == "bool" for base, _ in uses):
        return ("true", "false")  # a boolean key has no other value
    found: list[str] = []
    for base, value in uses:
        if base == "null":
            continue
        for candidate in _neighbours(base, value):
            if candidate not in found:
                found.append(candidate)
    for other in (OTHER_VALUE, *_OTHER_IPS, *_OTHER_TIMES, "0", "false"):
        if not any(matches(base, other, value) for base, value in uses if base != "null"):
            if other not in found:
                found.append(other)
            break
    return tuple(found) or (OTHER_VALUE,)


def shown(value: str) -> str:
    """A candidate value as answers print it."""
    return "any other value" if value == OTHER_VALUE else value
