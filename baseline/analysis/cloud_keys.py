"""Condition keys the cloud puts in every request it authorises, whatever the caller sends.

A question that leaves one of these out is not a request without it: the cloud always sets a value.
The evaluator and the solver therefore never read such a key as absent (a negated or ``IfExists``
operator does not hold "because the key is missing"); an omitted one means "some value", and an
answer that depends on which says so.

Sources: AWS, "AWS global condition context keys" (IAM User Guide, each key's *Availability*:
"This key is always included in the request context"); Alibaba Cloud, RAM "Common condition keys".
Keys that only some requests carry (``aws:SourceIp`` behind a VPC endpoint, ``aws:PrincipalOrgID``
outside an organisation, MFA keys, tags) are not here.
"""

from __future__ import annotations

ALWAYS_PRESENT: frozenset[str] = frozenset(
    key.lower()
    for key in (
        # AWS: "always included in the request context".
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


def always_present(key: str) -> bool:
    """Whether the cloud sets ``key`` on every request (names are case-insensitive)."""
    return key.lower() in ALWAYS_PRESENT
