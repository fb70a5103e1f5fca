"""Resource Directory control policies a pipeline plan attaches, per member account.

A control policy binds every RAM user and role of the member it is attached to (effect scope
``RAM``), whatever their own policies say: it is RAM's ceiling. Enabling Control Policy attaches the
system control policy ``FullAliyunAccess`` (allow everything) to every member, and a request must be
allowed at every level, so the ceiling of an account is ``FullAliyunAccess`` plus the custom control
policies attached to it (docs/operations.md, section 8, cites the pages). The evaluator reads that
list as a permissions boundary: a Deny in it wins, an Allow is needed from it.

The plan names the attachment's policy by the policy resource's id; the offline plan's ids are
``<resource name>-id`` (``baseline.mocks.StrictMocks``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from baseline.analysis.evaluator import NamedPolicy

CONTROL_POLICY = "alicloud:resourcemanager/controlPolicy:ControlPolicy"
CONTROL_POLICY_ATTACHMENT = "alicloud:resourcemanager/controlPolicyAttachment:ControlPolicyAttachment"
FULL_ALIYUN_ACCESS = NamedPolicy(
    "FullAliyunAccess (control policy)",
    {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]},
)


def attached(plan: Mapping[str, Any]) -> dict[str, list[NamedPolicy]]:
    """Member account id -> the custom control policies the plan attaches to it (effect scope RAM
    or All: both bind the member's RAM users and roles)."""
    by_id: dict[str, NamedPolicy] = {}
    for resource in plan.get("resources", []):
        if resource["type"] != CONTROL_POLICY:
            continue
        inputs = resource.get("inputs") or {}
        if inputs.get("effectScope") not in ("RAM", "All"):
            continue
        document = inputs.get("policyDocument")
        parsed = json.loads(document) if isinstance(document, str) else document
        name = str(inputs.get("controlPolicyName") or resource["name"])
        by_id[f"{resource['name']}-id"] = NamedPolicy(f"{name} (control policy)", parsed)
    found: dict[str, list[NamedPolicy]] = {}
    for resource in plan.get("resources", []):
        if resource["type"] != CONTROL_POLICY_ATTACHMENT:
            continue
        inputs = resource.get("inputs") or {}
        policy = by_id.get(str(inputs.get("policyId")))
        if policy is not None:
            found.setdefault(str(inputs.get("targetId")), []).append(policy)
    return found


def ceiling(plan: Mapping[str, Any], account: str) -> list[NamedPolicy] | None:
    """The control policies that bound every RAM user and role of ``account``; None when the plan
    attaches none there (the evaluator then asks no ceiling)."""
    custom = attached(plan).get(account)
    return [FULL_ALIYUN_ACCESS, *custom] if custom else None


# Resource Directory's examples test a role's sessions with acs:PrincipalARN against the role's
# ARN (acs:ram:*:*:role/<lowercase name>): the value a role session carries.
PRINCIPAL_ARN = "acs:PrincipalARN"


def principal_arn(account: str, kind: str, name: str) -> str:
    """The acs:PrincipalARN a RAM user's or role's requests carry: ``acs:ram::<account>:user/<name>``
    or ``.../role/<name>``, as Alibaba Cloud's API references write a principal's ARN (a role's name
    in lower case, as Resource Directory's examples match it)."""
    return f"acs:ram::{account}:{kind}/{name.lower() if kind == 'role' else name}"


def for_role(
    plan: Mapping[str, Any], cloud: str, account: str, role: str
) -> tuple[list[NamedPolicy] | None, dict[str, tuple[str, ...]]]:
    """The ceiling over a RAM role of ``account`` and the caller key its requests carry (none for
    AWS or an account the plan attaches no control policy to)."""
    bound = ceiling(plan, account) if cloud == "alicloud" else None
    if bound is None:
        return None, {}
    return bound, {PRINCIPAL_ARN: (principal_arn(account, "role", role),)}
