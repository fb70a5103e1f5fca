"""``python -m baseline sweep --cloud aws|alicloud --prefix P [--older-than 2h] [--delete]``.

Finds the users, roles and custom policies a failed test run left behind in a test account and,
with ``--delete`` only, removes them. An identity is swept when all of these hold:

- its name starts with the prefix (a prefix test stacks use, e.g. ``pr12-``);
- it carries this program's marker: the tag ``managed-by=pulumi`` (or ``ManagedBy``) where the
  cloud's API returns tags (AWS users, roles and policies; RAM roles and policies), and the
  comment "Managed by Pulumi" on RAM users, whose listing carries no tags;
- it was created longer ago than ``--older-than`` (default 2h), so a running test is spared.

A custom policy still attached to a principal that is not swept is left alone (and reported).
Deletion runs in dependency order: detach managed policies (on Alibaba Cloud also those Resource
Management attached in a resource group, which RAM's ListPoliciesForUser/Role does not show),
delete inline policies, remove roles from instance profiles and users from groups, delete access
keys, login profiles and (AWS) MFA devices, then users, roles and policies (non-default policy
versions first). The dry run prints exactly the steps ``--delete`` runs, one per line. A step
that fails skips the rest of its identity only: the others are still swept, and the sweep exits
1 at the end naming each identity it could not delete.

``--sandbox`` sweeps the whole sandbox instead: every name starting with the ``test``
environment's ``namePrefix`` in ``stacks/Pulumi.pipeline.yaml`` (``pr``), marker or not, by age
only, sparing the names of the open pull requests listed with ``--open-prs 12,15`` (``pr12-``,
``pr15-``: their stacks are live) until they are ``--open-pr-max-age`` old (default 3d: any PR's
code may name ``pr12-x``, so the name proves nothing). A pull request's code runs as the sandbox's
deploy role and can create ``prx`` without the marker; Resource Directory control policies keep
such an identity from creating another (docs/operations.md, section 8), and this sweep removes it
once it is older than ``--older-than``. A role whose trust names a principal outside the
sandbox's account (the pipeline stack file's ``test`` environment) or any identity provider is
removed first, whatever its age or prefix. In AWS a name is matched with its path, as the ARN a
grant matches (``role/pr/ci-reader``). Every other user, role and custom policy of the sandbox
account must be the pipeline stack's own
there, the administrator's role or the cloud's own (``SANDBOX_STANDING``): anything else (a PR's
user renamed out of the prefix, say) is listed, never deleted, and is an error (exit 1).

The prefix must be at least 3 characters and may not reach a name any stack file in ``stacks/``
creates (the pipeline's ``github-*`` roles included): each file's offline plan is rendered and
every user, role, policy, OIDC provider, resource group and parameter name is checked, as is
each stack's naming prefix. The only exception is a per-PR test stack (``test-pr-<n>``) swept
with its own prefix ``pr<n>-`` (``baseline/ops/ephemeral.py``).

Credentials: AWS through boto3's usual chain (environment, profile, SSO, OIDC); Alibaba Cloud
through ``ALICLOUD_ACCESS_KEY`` / ``ALICLOUD_SECRET_KEY`` (and ``ALICLOUD_SECURITY_TOKEN``), as CI's
OIDC action exports them, else the ``aliyun configure`` profile named by ``ALICLOUD_PROFILE``.

Exit codes:
  0  listed (dry run), or every step deleted; also when nothing matched
  1  an identity could not be listed or deleted (the others were; it is safe to run again), or
     the sandbox holds a user or role that is neither the prefix's, the pipeline's nor standing
  2  refused or bad input: prefix too short or reaching a stack's names, no sandbox to sweep,
     bad --older-than, no credentials
"""

from __future__ import annotations

import fnmatch
import json
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any, Protocol, TextIO
from urllib.parse import unquote

from baseline import PROJECT, stackfile
from baseline.errors import ConfigError
from baseline.ops import faults
from baseline.ops.credentials import alicloud_credential
from baseline.stackfile import read_yaml

EXIT_DONE = 0
EXIT_FAILED = 1
EXIT_REFUSED = 2

MIN_PREFIX = 3
# How long an open pull request's identities are spared: a name under a long-lived PR's prefix
# is no proof that PR made it (any PR's code may name pr12-x), so the shield expires; the PR's next
# push recreates what its stack holds (test-stack.yml runs `up` with refresh).
OPEN_PR_MAX_AGE = "3d"
MARKER_TAG = ("managed-by", "pulumi")
USER_COMMENT_MARKER = "managed by pulumi"
_DURATION = re.compile(r"(\d+)([smhdw])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_PREFIX_CHARS = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_PR_NAME = re.compile(r"^pr\d+-")  # a per-PR stack's names (ephemeral.naming_prefix)


@dataclass(frozen=True)
class Identity:
    kind: str  # "user" | "role" | "policy"
    name: str
    created: datetime
    marked: bool  # carries this program's managed-by marker
    ref: str = ""  # what the API calls it when the name is not enough (AWS policy ARN)
    # A role's trust: (principal kind, value) of every Allow statement, as trust_principals reads it.
    trusts: tuple[tuple[str, str], ...] = field(default=(), compare=False)
    path: str = ""  # IAM: the identity's path ("/" or "" for none)

    @property
    def key(self) -> str:
        """What a prefix is matched against: the name, or on an IAM path other than ``/`` the path
        and name as its ARN carries them (``pr/ci-reader``): a grant on ``role/pr*`` covers that
        role, so the sweep takes it as it takes a ``pr*`` name."""
        return pathed(self.path, self.name)


def pathed(path: str, name: str) -> str:
    return f"{path.strip('/')}/{name}" if path.strip("/") else name


@dataclass(frozen=True)
class Step:
    """One API call of the deletion; ``str(step)`` is the line the dry run and the log print."""

    action: str
    kind: str
    name: str
    detail: str = ""
    args: tuple[Any, ...] = field(default=(), compare=False)

    def __str__(self) -> str:
        return " ".join(part for part in (self.action, self.kind, self.name, self.detail) if part)


@dataclass
class Plan:
    swept: list[Identity]
    left_alone: list[tuple[Identity, str]]
    steps: list[Step]
    # Roles whose trust names a principal outside the sandbox's account: swept first, whatever
    # their age or prefix, with those principals.
    outside: list[tuple[Identity, list[str]]] = field(default_factory=list)
    # Identities whose prerequisites could not be listed: not deleted, reported, exit 1.
    unlisted: list[tuple[Identity, str]] = field(default_factory=list)
    # The sandbox: (kind, name) of users, roles and custom policies that are neither the prefix's
    # nor the pipeline's nor the cloud's own (SANDBOX_STANDING). Never deleted; each is an error.
    escaped: list[tuple[str, str]] = field(default_factory=list)


class Cloud(Protocol):
    """One cloud's identity API, as the sweep uses it."""

    name: str

    def identities(self, prefix: str) -> list[Identity]:
        """Every user, role and custom policy whose name starts with ``prefix``."""

    def prerequisites(self, identity: Identity) -> list[Step]:
        """The steps that must run before ``identity`` can be deleted (not the delete)."""

    def attached_to(self, policy: Identity) -> list[tuple[str, str]]:
        """(kind, name) of every principal a custom policy is attached to."""

    def delete_step(self, identity: Identity) -> Step: ...

    def run(self, step: Step) -> None: ...

    def principals(self) -> list[tuple[str, str, str]]:
        """(kind, name, path) of every user, role and custom policy of the account, whatever its name."""


# ---------------------------------------------------------------------------------------------
# Refusals


def parse_age(text: str, key: str = "--older-than") -> timedelta:
    """``90m``, ``2h``, ``1d12h``: a duration; anything else is refused."""
    if not text or not re.fullmatch(r"(\d+[smhdw])+", text):
        raise ConfigError(
            key=key,
            value=text,
            problem="not a duration",
            fix="write it like 30m, 2h, 1d or 1d12h",
        )
    return sum(
        (timedelta(**{_UNITS[unit]: int(count)}) for count, unit in _DURATION.findall(text)),
        timedelta(),
    )


# What each resource type of a plan creates under a name of its own, and the input holding that
# name: a sweep prefix may match none of them in any stack file in stacks/. Attachments, keys,
# login profiles and passwords name what another resource created (or nothing), and are listed in
# NAMES_NOTHING; a test holds that every type a shipped plan registers is in one of the two.
CREATED_NAMES: dict[str, tuple[str, str]] = {
    "alicloud:ram/user:User": ("RAM user", "name"),
    "alicloud:ram/role:Role": ("RAM role", "roleName"),
    "alicloud:ram/policy:Policy": ("RAM policy", "policyName"),
    "alicloud:ims/oidcProvider:OidcProvider": ("RAM OIDC provider", "oidcProviderName"),
    "alicloud:resourcemanager/resourceGroup:ResourceGroup": ("resource group", "resourceGroupName"),
    "alicloud:oos/secretParameter:SecretParameter": ("OOS parameter", "secretParameterName"),
    "aws:iam/role:Role": ("IAM role", "name"),
    "aws:iam/policy:Policy": ("IAM policy", "name"),
}
NAMES_NOTHING = frozenset(
    {
        "alicloud:ecs/ramRoleAttachment:RamRoleAttachment",
        "alicloud:ram/accessKey:AccessKey",
        "alicloud:ram/loginProfile:LoginProfile",
        "alicloud:ram/rolePolicyAttachment:RolePolicyAttachment",
        "alicloud:ram/userPolicyAttachment:UserPolicyAttachment",
        "alicloud:resourcemanager/policyAttachment:PolicyAttachment",
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        # GitHub's issuer URL names the IAM provider; a sweep lists users, roles and policies only.
        "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
        "random:index/randomPassword:RandomPassword",
        # Resource Directory's, in the management account: a sweep lists a member's identities only.
        "alicloud:resourcemanager/controlPolicy:ControlPolicy",
        "alicloud:resourcemanager/controlPolicyAttachment:ControlPolicyAttachment",
    }
)
SERVICE_LINKED_ROLE = "alicloud:resourcemanager/serviceLinkedRole:ServiceLinkedRole"


def created_names(plan: dict[str, Any]) -> list[tuple[str, str]]:
    """(what, name) of everything the plan creates under a name of its own."""
    from baseline import limits

    found = []
    for resource in plan["resources"]:
        inputs = resource.get("inputs") or {}
        if resource["type"] in CREATED_NAMES:
            what, key = CREATED_NAMES[resource["type"]]
            if isinstance(inputs.get(key), str):
                found.append((what, inputs[key]))
        elif resource["type"] == SERVICE_LINKED_ROLE and (
            role := limits.SERVICE_LINKED_ROLES.get(str(inputs.get("serviceName")))
        ):
            found.append(("RAM service-linked role", role))
    return found


@cache
def _stack_plan(path: Path, text: str) -> dict[str, Any]:
    """The stack file's offline plan (rendered once per file text)."""
    from baseline.config import load_stack_file, resolve
    from baseline.plan import render

    stack = path.name.removeprefix("Pulumi.").removesuffix(".yaml")
    try:
        return render(resolve(load_stack_file(path, stack)), stack)
    except ConfigError as error:
        raise ConfigError(
            key="--prefix",
            problem=f"stack {stack!r}'s names are unknown: {path.name} does not render ({error.problem})",
            fix=f"correct {path.name} (python -m baseline plan --stack {stack}) before sweeping",
        ) from None


def _stack_names(path: Path, text: str) -> tuple[tuple[str, str], ...]:
    """The names the stack file creates, from its offline plan."""
    return tuple(created_names(_stack_plan(path, text)))


def parse_open_prs(text: str) -> tuple[int, ...]:
    """``12,15``: the open pull requests whose stacks a sandbox sweep spares; empty for none."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not all(p.isdigit() for p in parts):
        raise ConfigError(
            key="--open-prs",
            value=text,
            problem="open pull requests are listed by number",
            fix="pass numbers separated by commas, e.g. --open-prs 12,15 (empty for none)",
        )
    return tuple(sorted({int(p) for p in parts}))


def sandbox_prefix(stacks_dir: Path) -> str:
    """The sandbox's name prefix: the ``test`` environment of the pipeline stack file, with sweep
    rights (``sweep: true``) and a ``namePrefix``."""
    from baseline.scenarios.pipeline import SANDBOX

    path = stacks_dir / "Pulumi.pipeline.yaml"
    config = ((read_yaml(path.read_text(), path.name) or {}) if path.is_file() else {}).get("config") or {}
    pipeline = config.get(f"{PROJECT}:pipeline") or {}
    for environment in pipeline.get("environments") or [] if isinstance(pipeline, dict) else []:
        if not isinstance(environment, dict) or environment.get("name") != SANDBOX:
            continue
        prefix = str(environment.get("namePrefix") or "")
        if environment.get("sweep") is True and _PREFIX_CHARS.fullmatch(prefix):
            return prefix
    raise ConfigError(
        key="--sandbox",
        problem=f"{path.name} names no sandbox to sweep (a {SANDBOX!r} environment with sweep: true "
        "and a namePrefix)",
        fix="sweep one test stack with --prefix pr<n>-, or add the sandbox to the pipeline stack",
    )


def check_prefix(prefix: str, stacks_dir: Path, *, sandbox: bool = False) -> None:
    """Refuse a prefix that could reach any name a stack file in ``stacks_dir`` creates.

    Every stack file's offline plan is rendered (the pipeline's included), and a prefix is
    refused when it starts a name one of them creates, or overlaps a stack's naming prefix. The
    one exception: a per-PR test stack's file (``ephemeral.stack_name``) is what a sweep of its
    own prefix (``ephemeral.naming_prefix``) is for.
    """
    from baseline.ops import ephemeral

    # The sandbox's own prefix is shorter than a test stack's; its accounts hold nothing else.
    if not sandbox and (len(prefix) < MIN_PREFIX or not _PREFIX_CHARS.fullmatch(prefix)):
        raise ConfigError(
            key="--prefix",
            value=prefix,
            problem=f"a sweep prefix is at least {MIN_PREFIX} name characters (letters, digits, . _ -)",
            fix=f"pass the prefix of the test stack's names, e.g. {ephemeral.naming_prefix(12)}",
        )
    if prefix.lower().startswith("prod"):
        raise ConfigError(
            key="--prefix",
            value=prefix,
            problem="this prefix names production identities",
            fix=f"sweep test prefixes only, e.g. {ephemeral.naming_prefix(12)}",
        )
    for path in sorted(stacks_dir.glob("Pulumi.*.yaml")):
        stack = path.name.removeprefix("Pulumi.").removesuffix(".yaml")
        if ephemeral.sweeps_own_stack(prefix, stack) or (sandbox and ephemeral.is_stack(stack)):
            continue
        for reason in _reaches(prefix, path, swept_only=sandbox):
            raise ConfigError(
                key="--prefix",
                value=prefix,
                problem=f"it would match {reason} that stack {stack!r} ({path.name}) creates",
                fix="sweep only a per-PR test stack's own prefix, "
                f"{ephemeral.naming_prefix(12)!r} for test-pr-12 (python -m baseline ephemeral)",
            )


# What a sweep lists and deletes: a sandbox sweep is refused only by these kinds of names.
SWEPT_KINDS = frozenset(
    {"RAM user", "RAM role", "RAM policy", "RAM service-linked role", "IAM role", "IAM policy"}
)


def _reaches(prefix: str, path: Path, *, swept_only: bool = False) -> Iterable[str]:
    text = path.read_text()
    config = (read_yaml(text, path.name) or {}).get("config") or {}
    naming = config.get(f"{PROJECT}:naming") or {}
    own = str(naming.get("prefix") or "") if isinstance(naming, dict) else ""
    if own and (own.startswith(prefix) or prefix.startswith(own)):
        yield f"the naming prefix {own!r} of every name"
        return
    # Names are compared without case: RAM and IAM names are unique regardless of case.
    for what, name in _stack_names(path, text):
        if swept_only and what not in SWEPT_KINDS:
            continue
        if name.casefold().startswith(prefix.casefold()):
            yield f"the {what} {name!r}"
            return


# ---------------------------------------------------------------------------------------------
# The plan: the same object the dry run prints and --delete executes


def plan(
    cloud: Cloud,
    prefix: str,
    older_than: timedelta,
    now: datetime,
    *,
    marked_only: bool = True,
    spared: Iterable[str] = (),
    spared_for: timedelta | None = None,
    account: str | None = None,
    accepted: dict[str, frozenset[str]] | None = None,
) -> Plan:
    """What a sweep deletes; ``marked_only`` False (the sandbox) takes unmarked identities too,
    except names under a ``spared`` prefix (an open pull request's live stack) younger than
    ``spared_for``. With the sandbox's ``account``, a role whose trust names a principal outside
    it is swept first, whatever its age or prefix: such a role is a way in from outside that no
    name or age excuses. The one exception, ``accepted``: the outside principals a test stack's own
    role of that name (``pr<n>-`` removed) trusts, as ``expected_trusts`` renders them."""
    found = [i for i in cloud.identities(prefix) if i.key.startswith(prefix)]
    spared = tuple(spared)
    swept: list[Identity] = []
    outside: list[tuple[Identity, list[str]]] = []
    left_alone: list[tuple[Identity, str]] = []
    for identity in found:
        live = next((p for p in spared if identity.key.startswith(p)), None)
        foreign = []
        if account and identity.kind == "role":
            # A per-PR stack's roles sit at the root path: one on a path is accepted nothing.
            own = (accepted or {}).get(_PR_NAME.sub("", identity.key), frozenset())
            foreign = [p for p in outside_principals(identity.trusts, account) if p not in own]
        if foreign:
            outside.append((identity, foreign))
        elif live is not None and (spared_for is None or now - identity.created < spared_for):
            left_alone.append((identity, f"an open pull request's stack ({live})"))
        elif marked_only and not identity.marked:
            left_alone.append((identity, "no managed-by=pulumi marker"))
        elif now - identity.created < older_than:
            left_alone.append((identity, f"younger than {_age(older_than)}"))
        else:
            swept.append(identity)
    principals = {(i.kind, i.name) for i in [*swept, *(o for o, _ in outside)] if i.kind != "policy"}
    kept_policies = []
    for policy in [i for i in swept if i.kind == "policy"]:
        others = [p for p in cloud.attached_to(policy) if p not in principals]
        if others:
            kind, name = others[0]
            left_alone.append((policy, f"attached to {kind} {name!r}, which is not swept"))
            kept_policies.append(policy)
    swept = [i for i in swept if i not in kept_policies]
    order = {"user": 0, "role": 1, "policy": 2}
    swept.sort(key=lambda i: (order[i.kind], i.key))
    outside.sort(key=lambda o: o[0].key)
    swept = [o for o, _ in outside] + swept
    steps: list[Step] = []
    unlisted: list[tuple[Identity, str]] = []
    for identity in swept:
        try:
            before = cloud.prerequisites(identity)
        except Exception as error:
            # One identity the sweep cannot read is reported; the others are still swept.
            fault = faults.classify(error, f"listing what {identity.kind} {identity.name} holds")
            if fault is None or fault.code == faults.EXIT_SETUP:
                raise
            unlisted.append((identity, fault.what))
            continue
        steps.extend(before)
        steps.append(cloud.delete_step(identity))
    swept = [i for i in swept if i not in {u for u, _ in unlisted}]
    return Plan(swept=swept, left_alone=left_alone, steps=steps, outside=outside, unlisted=unlisted)


def trust_principals(document: Any) -> tuple[tuple[str, str], ...]:
    """(kind, value) of every principal a trust document's Allow statements name: ``RAM``/``AWS``,
    ``Service``, ``Federated``; ``*`` for ``"Principal": "*"``; ``?`` for what cannot be read, so
    an unreadable trust counts as outside."""
    try:
        if isinstance(document, str):
            document = json.loads(unquote(document) if document.startswith("%") else document)
        statements = document.get("Statement") or []
    except (ValueError, AttributeError):
        return (("?", "unreadable trust document"),)
    found: list[tuple[str, str]] = []
    for statement in statements if isinstance(statements, list) else [statements]:
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        if "NotPrincipal" in statement:
            found.append(("NotPrincipal", json.dumps(statement["NotPrincipal"], sort_keys=True)))
        principal = statement.get("Principal")
        if isinstance(principal, dict):
            for kind, values in principal.items():
                for value in values if isinstance(values, list) else [values]:
                    found.append((str(kind), str(value)))
        elif principal is not None:
            found.append(("*", str(principal)))
    return tuple(found)


def principal_account(value: str) -> str | None:
    """The account a trust principal belongs to: an ARN's account field (``acs:ram::<id>:root``,
    ``arn:aws:iam::<id>:role/x``), a bare account id, a service principal's ``<id>@service``;
    None for anything else (``*``, a public identity provider such as accounts.google.com)."""
    if value.isdigit():
        return value
    parts = value.split(":")
    if parts[0] == "acs" and len(parts) >= 5:
        return parts[3] or None
    if parts[0] == "arn" and len(parts) >= 6:
        return parts[4] or None
    return None


def outside_principals(trusts: Iterable[tuple[str, str]], account: str) -> list[str]:
    """The principals of a trust that are not the sandbox account's own. A service principal
    (``ecs.aliyuncs.com``, ``ec2.amazonaws.com``) acts in the account that holds the role; one
    that names an account (``<id>@ecs.aliyuncs.com``) is held to that account."""
    outside = []
    for kind, value in trusts:
        if kind.lower() == "federated":
            # An identity provider, the account's own included, vouches for people outside the
            # account (GitHub's issuer signs for every repository on GitHub): outside, unless the
            # per-PR stack itself trusts exactly it (``expected_trusts``).
            outside.append(f"{kind} {value}")
            continue
        if kind.lower() == "service":
            owner = value.partition("@")[0] if "@" in value else account
        else:
            owner = principal_account(value)
        if owner != account:
            outside.append(f"{kind} {value}")
    return outside


def _age(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def is_marker(key: str, value: str) -> bool:
    """``managed-by=pulumi`` in any of the spellings tag conventions use (ManagedBy, managed_by)."""
    normal = re.sub(r"[-_ ]", "", key).lower()
    return normal == "managedby" and value.strip().lower() == MARKER_TAG[1]


# ---------------------------------------------------------------------------------------------
# AWS (boto3 IAM client)


class AwsIam:
    name = "aws"

    def __init__(self, client: Any) -> None:
        self.iam = client
        self._listing: dict[str, list[dict[str, Any]]] = {}

    def _pages(self, method: str, key: str, **kwargs: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for page in self.iam.get_paginator(method).paginate(**kwargs):
            items.extend(page[key])
        return items

    def _marked(self, method: str, **kwargs: Any) -> bool:
        tags = getattr(self.iam, method)(**kwargs).get("Tags", [])
        return any(is_marker(t["Key"], t["Value"]) for t in tags)

    def _listed(self, method: str, key: str, **kwargs: Any) -> list[dict[str, Any]]:
        """The account's users, roles or customer policies, listed once per run (the sweep and the
        escape check)."""
        if method not in self._listing:
            self._listing[method] = self._pages(method, key, **kwargs)
        return self._listing[method]

    def _policies(self) -> list[dict[str, Any]]:
        return self._listed("list_policies", "Policies", Scope="Local")

    def principals(self) -> list[tuple[str, str, str]]:
        users = [("user", u["UserName"], u.get("Path") or "/") for u in self._listed("list_users", "Users")]
        roles = [("role", r["RoleName"], r.get("Path") or "/") for r in self._listed("list_roles", "Roles")]
        policies = [("policy", p["PolicyName"], p.get("Path") or "/") for p in self._policies()]
        return users + roles + policies

    def identities(self, prefix: str) -> list[Identity]:
        found = []
        # Matched on path and name, as the ARN a grant matches: a user, role or policy under a path
        # starting with the prefix (/pr/ci-reader) is the prefix's whatever its name.
        for user in self._listed("list_users", "Users"):
            path = user.get("Path") or "/"
            if pathed(path, user["UserName"]).startswith(prefix):
                marked = self._marked("list_user_tags", UserName=user["UserName"])
                found.append(Identity("user", user["UserName"], user["CreateDate"], marked, path=path))
        for role in self._listed("list_roles", "Roles"):
            path = role.get("Path") or "/"
            # Service-linked roles belong to AWS services and are deleted through them.
            if pathed(path, role["RoleName"]).startswith(prefix) and not path.startswith(
                "/aws-service-role/"
            ):
                marked = self._marked("list_role_tags", RoleName=role["RoleName"])
                trusts = trust_principals(role.get("AssumeRolePolicyDocument") or {})
                found.append(
                    Identity("role", role["RoleName"], role["CreateDate"], marked, trusts=trusts, path=path)
                )
        for policy in self._policies():
            path = policy.get("Path") or "/"
            if pathed(path, policy["PolicyName"]).startswith(prefix):
                marked = self._marked("list_policy_tags", PolicyArn=policy["Arn"])
                found.append(
                    Identity(
                        "policy", policy["PolicyName"], policy["CreateDate"], marked, policy["Arn"], path=path
                    )
                )
        return found

    def attached_to(self, policy: Identity) -> list[tuple[str, str]]:
        response = self.iam.list_entities_for_policy(PolicyArn=policy.ref)
        return (
            [("user", u["UserName"]) for u in response.get("PolicyUsers", [])]
            + [("role", r["RoleName"]) for r in response.get("PolicyRoles", [])]
            + [("group", g["GroupName"]) for g in response.get("PolicyGroups", [])]
        )

    def prerequisites(self, identity: Identity) -> list[Step]:
        name = identity.name
        steps: list[Step] = []
        if identity.kind == "user":
            for p in self._pages("list_attached_user_policies", "AttachedPolicies", UserName=name):
                steps.append(Step("detach-policy", "user", name, p["PolicyName"], (p["PolicyArn"],)))
            for p in self._pages("list_user_policies", "PolicyNames", UserName=name):
                steps.append(Step("delete-inline-policy", "user", name, p, (p,)))
            for g in self._pages("list_groups_for_user", "Groups", UserName=name):
                steps.append(Step("remove-from-group", "user", name, g["GroupName"], (g["GroupName"],)))
            for k in self._pages("list_access_keys", "AccessKeyMetadata", UserName=name):
                steps.append(Step("delete-access-key", "user", name, k["AccessKeyId"], (k["AccessKeyId"],)))
            try:
                self.iam.get_login_profile(UserName=name)
                steps.append(Step("delete-login-profile", "user", name))
            except self.iam.exceptions.NoSuchEntityException:
                pass
            for d in self._pages("list_mfa_devices", "MFADevices", UserName=name):
                steps.append(Step("deactivate-mfa", "user", name, d["SerialNumber"], (d["SerialNumber"],)))
        elif identity.kind == "role":
            for p in self._pages("list_attached_role_policies", "AttachedPolicies", RoleName=name):
                steps.append(Step("detach-policy", "role", name, p["PolicyName"], (p["PolicyArn"],)))
            for p in self._pages("list_role_policies", "PolicyNames", RoleName=name):
                steps.append(Step("delete-inline-policy", "role", name, p, (p,)))
            for ip in self._pages("list_instance_profiles_for_role", "InstanceProfiles", RoleName=name):
                profile = ip["InstanceProfileName"]
                steps.append(Step("remove-from-instance-profile", "role", name, profile, (profile,)))
        else:
            for v in self._pages("list_policy_versions", "Versions", PolicyArn=identity.ref):
                if not v["IsDefaultVersion"]:
                    steps.append(
                        Step(
                            "delete-policy-version",
                            "policy",
                            name,
                            v["VersionId"],
                            (identity.ref, v["VersionId"]),
                        )
                    )
        return steps

    def delete_step(self, identity: Identity) -> Step:
        return Step("delete", identity.kind, identity.name, args=(identity.ref,) if identity.ref else ())

    def run(self, step: Step) -> None:
        iam, name, args = self.iam, step.name, step.args
        match (step.action, step.kind):
            case ("detach-policy", "user"):
                iam.detach_user_policy(UserName=name, PolicyArn=args[0])
            case ("detach-policy", "role"):
                iam.detach_role_policy(RoleName=name, PolicyArn=args[0])
            case ("delete-inline-policy", "user"):
                iam.delete_user_policy(UserName=name, PolicyName=args[0])
            case ("delete-inline-policy", "role"):
                iam.delete_role_policy(RoleName=name, PolicyName=args[0])
            case ("remove-from-group", _):
                iam.remove_user_from_group(UserName=name, GroupName=args[0])
            case ("delete-access-key", _):
                iam.delete_access_key(UserName=name, AccessKeyId=args[0])
            case ("delete-login-profile", _):
                iam.delete_login_profile(UserName=name)
            case ("deactivate-mfa", _):
                iam.deactivate_mfa_device(UserName=name, SerialNumber=args[0])
            case ("remove-from-instance-profile", _):
                iam.remove_role_from_instance_profile(RoleName=name, InstanceProfileName=args[0])
            case ("delete-policy-version", _):
                iam.delete_policy_version(PolicyArn=args[0], VersionId=args[1])
            case ("delete", "user"):
                iam.delete_user(UserName=name)
            case ("delete", "role"):
                iam.delete_role(RoleName=name)
            case ("delete", "policy"):
                iam.delete_policy(PolicyArn=args[0])
            case _:
                raise ValueError(f"unknown step {step}")


# ---------------------------------------------------------------------------------------------
# Alibaba Cloud (alibabacloud_ram20150501 client)


def _ram_date(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _ram_tags(tags: Any) -> list[tuple[str, str]]:
    return [(t.tag_key or "", t.tag_value or "") for t in (getattr(tags, "tag", None) or [])]


class AlicloudRam:
    """RAM (``client``) and Resource Manager (``groups``): a policy attached through Resource
    Management's AttachPolicy is listed only there, and stops DeleteUser/DeleteRole as an
    account-scoped one does."""

    name = "alicloud"
    PAGE = 1000
    GROUP_PAGE = 100  # ListPolicyAttachments' largest PageSize

    def __init__(self, client: Any, groups: Any) -> None:
        from alibabacloud_ram20150501 import models
        from alibabacloud_resourcemanager20200331 import models as rm_models

        self.ram = client
        self.groups = groups
        self.m = models
        self.rm = rm_models
        self._group_attachments: list[Any] | None = None
        self._listing: dict[str, list[Any]] = {}

    def _paged(self, call: Callable[[str | None], Any], items: Callable[[Any], list[Any]]) -> list[Any]:
        found: list[Any] = []
        marker = None
        while True:
            body = call(marker).body
            found.extend(items(body) or [])
            if not body.is_truncated:
                return found
            marker = body.marker

    def _users(self) -> list[Any]:
        """The account's users, listed once per run (the sweep and the escape check)."""
        if "users" not in self._listing:
            self._listing["users"] = self._paged(
                lambda marker: self.ram.list_users(
                    self.m.ListUsersRequest(marker=marker, max_items=self.PAGE)
                ),
                lambda body: body.users.user if body.users else [],
            )
        return self._listing["users"]

    def _roles(self) -> list[Any]:
        if "roles" not in self._listing:
            self._listing["roles"] = self._paged(
                lambda marker: self.ram.list_roles(
                    self.m.ListRolesRequest(marker=marker, max_items=self.PAGE)
                ),
                lambda body: body.roles.role if body.roles else [],
            )
        return self._listing["roles"]

    def _policies(self) -> list[Any]:
        if "policies" not in self._listing:
            self._listing["policies"] = self._paged(
                lambda marker: self.ram.list_policies(
                    self.m.ListPoliciesRequest(policy_type="Custom", marker=marker, max_items=self.PAGE)
                ),
                lambda body: body.policies.policy if body.policies else [],
            )
        return self._listing["policies"]

    def principals(self) -> list[tuple[str, str, str]]:
        return (
            [("user", u.user_name, "") for u in self._users()]
            + [("role", r.role_name, "") for r in self._roles()]
            + [("policy", p.policy_name, "") for p in self._policies()]
        )

    def identities(self, prefix: str) -> list[Identity]:
        m = self.m
        found = []
        for user in self._users():
            if user.user_name.startswith(prefix):
                marked = USER_COMMENT_MARKER in (user.comments or "").lower()
                found.append(Identity("user", user.user_name, _ram_date(user.create_date), marked))
        for role in self._roles():
            if role.role_name.startswith(prefix):
                marked = any(is_marker(k, v) for k, v in _ram_tags(role.tags))
                # ListRoles carries no trust document; GetRole does.
                got = self.ram.get_role(m.GetRoleRequest(role_name=role.role_name)).body.role
                trusts = trust_principals(got.assume_role_policy_document or "")
                found.append(
                    Identity("role", role.role_name, _ram_date(role.create_date), marked, trusts=trusts)
                )
        for policy in self._policies():
            if policy.policy_name.startswith(prefix):
                marked = any(is_marker(k, v) for k, v in _ram_tags(policy.tags))
                found.append(Identity("policy", policy.policy_name, _ram_date(policy.create_date), marked))
        return found

    def attached_to(self, policy: Identity) -> list[tuple[str, str]]:
        body = self.ram.list_entities_for_policy(
            self.m.ListEntitiesForPolicyRequest(policy_name=policy.name, policy_type="Custom")
        ).body
        users = body.users.user if body.users else []
        roles = body.roles.role if body.roles else []
        groups = body.groups.group if body.groups else []
        return (
            [("user", u.user_name) for u in users or []]
            + [("role", r.role_name) for r in roles or []]
            + [("group", g.group_name) for g in groups or []]
        )

    def prerequisites(self, identity: Identity) -> list[Step]:
        m, name = self.m, identity.name
        steps: list[Step] = []
        if identity.kind == "user":
            body = self.ram.list_policies_for_user(m.ListPoliciesForUserRequest(user_name=name)).body
            for p in body.policies.policy if body.policies else []:
                label = f"{p.policy_name} ({p.policy_type})"
                steps.append(Step("detach-policy", "user", name, label, (p.policy_name, p.policy_type)))
            body = self.ram.list_groups_for_user(m.ListGroupsForUserRequest(user_name=name)).body
            for g in body.groups.group if body.groups else []:
                steps.append(Step("remove-from-group", "user", name, g.group_name, (g.group_name,)))
            body = self.ram.list_access_keys(m.ListAccessKeysRequest(user_name=name)).body
            for k in body.access_keys.access_key if body.access_keys else []:
                steps.append(Step("delete-access-key", "user", name, k.access_key_id, (k.access_key_id,)))
            if self._has_login_profile(name):
                steps.append(Step("delete-login-profile", "user", name))
            steps.extend(self._group_steps(identity, "IMSUser"))
        elif identity.kind == "role":
            body = self.ram.list_policies_for_role(m.ListPoliciesForRoleRequest(role_name=name)).body
            for p in body.policies.policy if body.policies else []:
                label = f"{p.policy_name} ({p.policy_type})"
                steps.append(Step("detach-policy", "role", name, label, (p.policy_name, p.policy_type)))
            steps.extend(self._group_steps(identity, "ServiceRole"))
        else:
            body = self.ram.list_policy_versions(
                m.ListPolicyVersionsRequest(policy_name=name, policy_type="Custom")
            ).body
            for v in body.policy_versions.policy_version if body.policy_versions else []:
                if not v.is_default_version:
                    steps.append(Step("delete-policy-version", "policy", name, v.version_id, (v.version_id,)))
        return steps

    def _group_steps(self, identity: Identity, principal_type: str) -> list[Step]:
        """Detach what Resource Management attached to the principal in a resource group. Its
        principal names are ``<user>@<alias>.onaliyun.com`` and ``<role>@role.<alias>.onaliyun.com``;
        an attachment whose group id is the account id (all digits) is account-scoped, listed by
        ListPoliciesFor* and detached above."""
        steps = []
        for a in self._resource_group_attachments():
            if (
                a.principal_type == principal_type
                and (a.principal_name or "").partition("@")[0] == identity.name
                and not str(a.resource_group_id or "").isdigit()
            ):
                label = f"{a.policy_name} ({a.policy_type}) in {a.resource_group_id}"
                args = (a.policy_name, a.policy_type, a.principal_name, a.principal_type, a.resource_group_id)
                steps.append(Step("detach-group-policy", identity.kind, identity.name, label, args))
        return steps

    def _resource_group_attachments(self) -> list[Any]:
        """Every policy attachment of the account, listed once per sweep (ListPolicyAttachments
        without ResourceGroupId lists the whole account)."""
        if self._group_attachments is None:
            found: list[Any] = []
            page = 1
            while True:
                request = self.rm.ListPolicyAttachmentsRequest(page_number=page, page_size=self.GROUP_PAGE)
                body = self.groups.list_policy_attachments(request).body
                items = body.policy_attachments.policy_attachment if body.policy_attachments else []
                found.extend(items or [])
                if not items or len(found) >= (body.total_count or 0):
                    break
                page += 1
            self._group_attachments = found
        return self._group_attachments

    def _has_login_profile(self, name: str) -> bool:
        try:
            self.ram.get_login_profile(self.m.GetLoginProfileRequest(user_name=name))
        except Exception as error:
            # The SDK raises for a missing profile; only that answer means "none".
            if "EntityNotExist" in str(getattr(error, "code", "")):
                return False
            raise
        return True

    def delete_step(self, identity: Identity) -> Step:
        return Step("delete", identity.kind, identity.name)

    def run(self, step: Step) -> None:
        m, ram, name, args = self.m, self.ram, step.name, step.args
        match (step.action, step.kind):
            case ("detach-policy", "user"):
                ram.detach_policy_from_user(
                    m.DetachPolicyFromUserRequest(user_name=name, policy_name=args[0], policy_type=args[1])
                )
            case ("detach-policy", "role"):
                ram.detach_policy_from_role(
                    m.DetachPolicyFromRoleRequest(role_name=name, policy_name=args[0], policy_type=args[1])
                )
            case ("detach-group-policy", _):
                policy, policy_type, principal, principal_type, group = args
                self.groups.detach_policy(
                    self.rm.DetachPolicyRequest(
                        policy_name=policy,
                        policy_type=policy_type,
                        principal_name=principal,
                        principal_type=principal_type,
                        resource_group_id=group,
                    )
                )
            case ("remove-from-group", _):
                ram.remove_user_from_group(m.RemoveUserFromGroupRequest(user_name=name, group_name=args[0]))
            case ("delete-access-key", _):
                ram.delete_access_key(m.DeleteAccessKeyRequest(user_name=name, user_access_key_id=args[0]))
            case ("delete-login-profile", _):
                ram.delete_login_profile(m.DeleteLoginProfileRequest(user_name=name))
            case ("delete-policy-version", _):
                ram.delete_policy_version(m.DeletePolicyVersionRequest(policy_name=name, version_id=args[0]))
            case ("delete", "user"):
                ram.delete_user(m.DeleteUserRequest(user_name=name))
            case ("delete", "role"):
                ram.delete_role(m.DeleteRoleRequest(role_name=name))
            case ("delete", "policy"):
                ram.delete_policy(m.DeletePolicyRequest(policy_name=name))
            case _:
                raise ValueError(f"unknown step {step}")


# ---------------------------------------------------------------------------------------------
# Clients and the command


def aws_client() -> Any:
    import boto3

    return boto3.client("iam", config=faults.aws_config())


def alicloud_client() -> Any:
    """The RAM client, signed in the way the Pulumi provider is (``baseline.ops.credentials``:
    the environment's keys, else the ALICLOUD_PROFILE profile; never the ECS metadata service)."""
    from alibabacloud_ram20150501.client import Client
    from alibabacloud_tea_openapi import utils_models

    credential = alicloud_credential("sweep", "the test account")
    return Client(
        utils_models.Config(
            credential=credential, endpoint="ram.aliyuncs.com", retry_options=faults.alicloud_retry_options()
        )
    )


def alicloud_groups_client() -> Any:
    """Resource Manager's client (Resource Management's resource-group-scoped attachments), signed
    in as the RAM client is."""
    from alibabacloud_resourcemanager20200331.client import Client
    from alibabacloud_tea_openapi import utils_models

    credential = alicloud_credential("sweep", "the test account")
    return Client(
        utils_models.Config(
            credential=credential,
            endpoint="resourcemanager.aliyuncs.com",
            retry_options=faults.alicloud_retry_options(),
        )
    )


def render(report: Plan, out: TextIO) -> None:
    if report.outside:
        header = f"Trusting principals outside the sandbox account, swept first ({len(report.outside)}):"
        print(header, file=out)
        for identity, principals in report.outside:
            print(f"  {identity.kind:<6} {identity.key}  trusts {', '.join(principals)}", file=out)
    print(f"Identities to delete ({len(report.swept)}):", file=out)
    for identity in report.swept:
        print(f"  {identity.kind:<6} {identity.key}  created {identity.created:%Y-%m-%dT%H:%MZ}", file=out)
    if report.left_alone:
        print(f"Left alone ({len(report.left_alone)}):", file=out)
        for identity, reason in report.left_alone:
            print(f"  {identity.kind:<6} {identity.key}  {reason}", file=out)
    if report.unlisted:
        print(f"Could not be listed, not deleted ({len(report.unlisted)}):", file=out)
        for identity, reason in report.unlisted:
            print(f"  {identity.kind:<6} {identity.key}  {reason}", file=out)
    if report.escaped:
        print(
            f"Not pr*, the pipeline's or the cloud's own, never deleted ({len(report.escaped)}):",
            file=out,
        )
        for kind, name in report.escaped:
            print(f"  {kind:<6} {name}", file=out)


def expected_trusts(stacks_dir: Path, cloud: str, account: str) -> dict[str, frozenset[str]]:
    """Role name (without ``pr<n>-``) -> the principals outside ``account`` that the role of that
    name in a per-PR test stack trusts: the stack is rendered offline from the ``dev`` file in
    ``stacks_dir``, as test-stack.yml derives it, in the sandbox's accounts. dev's AWS MCP roles,
    for one, trust dev's SSO developer role."""
    import tempfile

    from baseline.config import load_stack_file, resolve
    from baseline.ops import ephemeral
    from baseline.plan import render as render_plan

    source = stacks_dir / f"Pulumi.{ephemeral.SOURCE_STACK}.yaml"
    if not source.is_file():
        return {}
    accounts = {f"{cloud}_account_id": account}
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / f"Pulumi.{ephemeral.stack_name(1)}.yaml"
        path.write_text(json.dumps(ephemeral.document(1, source=source, **accounts)))
        stack = ephemeral.stack_name(1)
        resources = render_plan(resolve(load_stack_file(path, stack)), stack)["resources"]
    found: dict[str, frozenset[str]] = {}
    for resource in resources:
        inputs = resource.get("inputs") or {}
        if resource["type"] == "alicloud:ram/role:Role" and cloud == "alicloud":
            name, document = inputs.get("roleName"), inputs.get("assumeRolePolicyDocument")
        elif resource["type"] == "aws:iam/role:Role" and cloud == "aws":
            name, document = inputs.get("name"), inputs.get("assumeRolePolicy")
        else:
            continue
        if isinstance(name, str) and isinstance(document, str):
            outside = outside_principals(trust_principals(document), account)
            found[_PR_NAME.sub("", name)] = frozenset(outside)
    return found


def _sandbox_account(stacks_dir: Path, cloud: str) -> str:
    """The sandbox's account in ``cloud``, from the pipeline stack file's ``test`` environment:
    a role trusting any other account is a way in from outside."""
    from baseline.scenarios.pipeline import SANDBOX

    path = stacks_dir / "Pulumi.pipeline.yaml"
    config = (read_yaml(path.read_text(), path.name) or {}).get("config") or {}
    key = "alicloudAccountId" if cloud == "alicloud" else "awsAccountId"
    for environment in (config.get(f"{PROJECT}:pipeline") or {}).get("environments") or []:
        if isinstance(environment, dict) and environment.get("name") == SANDBOX and environment.get(key):
            return str(environment[key])
    raise ConfigError(
        key="--sandbox",
        problem=f"{path.name}'s {SANDBOX!r} environment names no {key}",
        fix=f"set {key} on the {SANDBOX!r} environment: the sandbox sweep removes roles trusting any other",
    )


# What a sandbox account holds besides the sandbox's prefix, the pipeline stack's own identities
# there and the administrator's role: (kind, name pattern, path prefix, why), per cloud. Any other
# user or role got there some other way (a PR's user renamed out of the prefix, say): the sweep
# cannot tell what it is, so it reports it as an error and leaves it to a person.
SANDBOX_STANDING: dict[str, tuple[tuple[str, str, str, str], ...]] = {
    "alicloud": (
        (
            "role",
            "AliyunServiceRoleFor*",
            "",
            "a service-linked role, which its service creates and deletes (in the sandbox only the "
            "deploy role may ask for one, and only ECI's: the sandbox's control policy)",
        ),
    ),
    "aws": (
        (
            "role",
            "AWSServiceRoleFor*",
            "/aws-service-role/",
            "a service-linked role, under the path IAM keeps for its services",
        ),
        (
            "role",
            "AWSReservedSSO_*",
            "/aws-reserved/sso.amazonaws.com/",
            "an IAM Identity Center permission set's role, which Identity Center manages",
        ),
    ),
}
_PIPELINE_PRINCIPALS = {
    "alicloud:ram/user:User": ("user", "name"),
    "alicloud:ram/role:Role": ("role", "roleName"),
    "alicloud:ram/policy:Policy": ("policy", "policyName"),
    "aws:iam/user:User": ("user", "name"),
    "aws:iam/role:Role": ("role", "name"),
    "aws:iam/policy:Policy": ("policy", "name"),
}


def pipeline_principals(stacks_dir: Path, cloud: str, account: str) -> frozenset[tuple[str, str]]:
    """(kind, lower-cased name) of the users, roles and custom policies the pipeline stack creates in
    ``account`` (through its provider for that account), and the administrator's role it names."""
    from baseline.scenarios.pipeline import PipelineSettings

    path = stacks_dir / "Pulumi.pipeline.yaml"
    text = path.read_text()
    found = set()
    for resource in _stack_plan(path, text)["resources"]:
        kind, key = _PIPELINE_PRINCIPALS.get(resource["type"], ("", ""))
        name = (resource.get("inputs") or {}).get(key)
        provider = str(resource.get("provider") or "")
        if kind and resource["type"].startswith(f"{cloud}:") and provider.endswith(f"-{account}"):
            found.add((kind, str(name).casefold()))
    config = ((read_yaml(text, path.name) or {}).get("config") or {}).get(f"{PROJECT}:pipeline") or {}
    field_name = "alicloud_admin_role_name" if cloud == "alicloud" else "aws_admin_role_name"
    key = "alicloudAdminRoleName" if cloud == "alicloud" else "awsAdminRoleName"
    admin = config.get(key) or PipelineSettings.model_fields[field_name].default
    found.add(("role", str(admin).casefold()))
    return frozenset(found)


def escaped(
    principals: Iterable[tuple[str, str, str]], prefix: str, owned: frozenset[tuple[str, str]], cloud: str
) -> list[tuple[str, str]]:
    """The users, roles and custom policies of the sandbox account that are neither the prefix's (by
    name, or in IAM by path and name), the pipeline's nor standing (``SANDBOX_STANDING``). RAM and IAM
    names are unique regardless of case."""
    found = []
    for kind, name, path in principals:
        if pathed(path or "", name).startswith(prefix) or (kind, name.casefold()) in owned:
            continue
        if any(
            kind == k and fnmatch.fnmatchcase(name, pattern) and (path or "").startswith(under)
            for k, pattern, under, _ in SANDBOX_STANDING[cloud]
        ):
            continue
        found.append((kind, pathed(path or "", name)))
    return sorted(found)


ESCAPED_FIX = (
    "find out how it got there (the sandbox holds only pr* identities and the pipeline's), then "
    "remove it as the administrator"
)
UNLISTED_FIX = "give the sweep's identity the listing it lacks (the pipeline's deploy role), then run again"


def run(
    cloud: str,
    prefix: str | None,
    *,
    older_than: str = "2h",
    delete: bool = False,
    sandbox: bool = False,
    open_prs: str | None = None,
    open_pr_max_age: str | None = None,
    client: Any = None,
    groups: Any = None,
    now: datetime | None = None,
    stacks_dir: Path | None = None,
    out: TextIO | None = None,
) -> int:
    out = out or sys.stdout
    age = parse_age(older_than)
    stacks_dir = stacks_dir or stackfile.STACKS_DIR
    if sandbox == (prefix is not None):
        raise ConfigError(
            key="--prefix",
            problem="a sweep takes either one test stack's --prefix or --sandbox",
            fix="pass --prefix pr<n>- for one test stack, or --sandbox for every sandbox identity",
        )
    for flag, value in (("--open-prs", open_prs), ("--open-pr-max-age", open_pr_max_age)):
        if value is not None and not sandbox:
            raise ConfigError(
                key=flag,
                problem="only a sandbox sweep spares open pull requests' stacks",
                fix=f"add --sandbox, or drop {flag}",
            )
    spared: tuple[str, ...] = ()
    spared_for: timedelta | None = None
    account: str | None = None
    accepted: dict[str, frozenset[str]] = {}
    if sandbox:
        from baseline.ops import ephemeral

        prefix = sandbox_prefix(stacks_dir)
        spared = tuple(ephemeral.naming_prefix(n) for n in parse_open_prs(open_prs or ""))
        spared_for = parse_age(open_pr_max_age or OPEN_PR_MAX_AGE, key="--open-pr-max-age")
        account = _sandbox_account(stacks_dir, cloud)
        accepted = expected_trusts(stacks_dir, cloud, account)
    assert prefix is not None
    check_prefix(prefix, stacks_dir, sandbox=sandbox)
    mode = "deleting" if delete else "dry run: nothing is deleted, add --delete"
    which = "any marker (the sandbox)" if sandbox else "with the managed-by marker"
    with faults.reported(f"listing {cloud} identities"):
        adapter: Cloud
        if cloud == "alicloud":
            adapter = AlicloudRam(
                client if client is not None else alicloud_client(),
                groups if groups is not None else alicloud_groups_client(),
            )
        else:
            adapter = AwsIam(client if client is not None else aws_client())
        print(f"Sweep {cloud}: names starting {prefix!r}, {which}, older than {_age(age)} ({mode})", file=out)
        if sandbox:
            assert spared_for is not None
            print(
                f"Open pull requests' stacks spared up to {_age(spared_for)} old; roles trusting "
                f"outside account {account} swept whatever their age or name",
                file=out,
            )
        report = plan(
            adapter,
            prefix,
            age,
            now or datetime.now(UTC),
            marked_only=not sandbox,
            spared=spared,
            spared_for=spared_for,
            account=account,
            accepted=accepted,
        )
        if sandbox:
            assert account is not None
            owned = pipeline_principals(stacks_dir, cloud, account)
            report.escaped = escaped(adapter.principals(), prefix, owned, cloud)
    render(report, out)
    print(f"Steps ({len(report.steps)}):", file=out)
    if not delete:
        for step in report.steps:
            print(f"  {step}", file=out)
        for identity, why in report.unlisted:
            print(f"error: {identity.kind} {identity.name}: {why}. Fix: {UNLISTED_FIX}", file=sys.stderr)
        _report_escaped(report)
        return EXIT_FAILED if report.unlisted or report.escaped else EXIT_DONE
    failed: dict[tuple[str, str], str] = {}
    for number, step in enumerate(report.steps, 1):
        if (step.kind, step.name) in failed:
            # An earlier step of this identity failed: its delete would fail too.
            print(f"  skipped {step}", file=out)
            continue
        try:
            adapter.run(step)
        except Exception as error:
            if faults.is_gone(error):
                # An earlier, interrupted run got this far: the thing is already deleted.
                print(f"  gone {step}", file=out, flush=True)
                continue
            fault = faults.classify(error, f"step {number} of {len(report.steps)} ({step})")
            print(f"  FAILED {step}", file=out, flush=True)
            what = fault.what if fault else f"step {number} of {len(report.steps)} failed ({step}): {error}"
            where = f" ({fault.where})" if fault and fault.where else ""
            failed[(step.kind, step.name)] = f"{what}{where}"
            continue
        print(f"  done {step}", file=out, flush=True)
    problems = [f"{kind} {name}: {why}" for (kind, name), why in failed.items()]
    problems += [f"{i.kind} {i.name}: {why}" for i, why in report.unlisted]
    if not problems:
        print(f"Deleted {len(report.swept)} identities in {len(report.steps)} steps.", file=out)
        _report_escaped(report)
        return EXIT_FAILED if report.escaped else EXIT_DONE
    deleted = len(report.swept) - len(failed)
    print(
        f"Deleted {deleted} of {len(report.swept)} identities; {len(problems)} not (errors below).", file=out
    )
    # Every other identity was swept: one that cannot be deleted no longer shields the rest.
    for problem in problems:
        print(
            f"error: {problem}. Fix: correct the cause and run the sweep again; finished steps are not "
            "repeated",
            file=sys.stderr,
        )
    _report_escaped(report)
    return EXIT_FAILED


def _report_escaped(report: Plan) -> None:
    for kind, name in report.escaped:
        print(
            f"error: {kind} {name} is in the sandbox account but is neither a pr* identity, the "
            f"pipeline's nor the cloud's own. Fix: {ESCAPED_FIX}",
            file=sys.stderr,
        )
