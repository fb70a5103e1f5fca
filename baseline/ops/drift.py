"""``python -m baseline drift --stack S [--state FILE]``: what the clouds hold that a refresh cannot see.

``pulumi preview --refresh`` reads only the resources the state holds, so a second AccessKey made
by hand, a console login profile or an extra policy attachment stay invisible to it. This command
reads, for every user and role the stack declares (its offline plan) or holds (its state):

- users: their AccessKeys, login profile and attached policies (RAM ``ListAccessKeys``,
  ``GetLoginProfile``, ``ListPoliciesForUser``; IAM ``ListAccessKeys``, ``GetLoginProfile``,
  ``ListAttachedUserPolicies``, ``ListUserPolicies``);
- roles: their attached policies and trust policy (RAM ``GetRole``, ``ListPoliciesForRole``; IAM
  ``GetRole``, ``ListAttachedRolePolicies``, ``ListRolePolicies``);

and prints one line per finding, ``<stack> <cloud> <kind> <name>: <what> (<fix>)``:

- an AccessKey the state does not hold (key ids exist only in the state);
- a login profile neither the plan nor the state declares;
- an attached (or IAM inline) policy neither the plan nor the state declares;
- a trust policy that differs from both the plan's and the state's (compared as JSON, key order,
  list order and one-element lists aside);
- a user or role the state holds that the cloud no longer has.

Either side counts as declared: what only the plan has is a merged change still waiting for its
deployment, what only the state has is about to be removed by it; neither is a hand-made change.

It only reads: nothing is created, changed or deleted. The state comes from
``pulumi stack export --stack S`` (without ``--show-secrets``: no secret is decrypted by this
command) or from ``--state FILE``. Credentials as ``sweep`` reads them (``baseline.ops.credentials``).

Exit codes:
  0  no finding
  1  a finding (one line each on stdout)
  2  bad configuration, or a fault: no Pulumi CLI, no credentials, network, throttling, access
     denied (one line on stderr, what failed and what to do)
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import unquote

from baseline.errors import Fault
from baseline.ops import faults
from baseline.ops.credentials import alicloud_credential

EXIT_CLEAN = 0
EXIT_DRIFT = 1
EXIT_FAULT = 2

CLOUDS = ("alicloud", "aws")
# Placeholders the offline plan writes for values only a deployment knows.
_PLACEHOLDERS = ("[unknown]", "[secret]")


@dataclass(frozen=True, order=True)
class Principal:
    cloud: str  # "alicloud" | "aws"
    kind: str  # "user" | "role"
    name: str

    def __str__(self) -> str:
        return f"{self.cloud} {self.kind} {self.name}"


@dataclass
class Declared:
    """What the plan and the state say about one principal."""

    in_state: bool = False
    keys: set[str] = field(default_factory=set)  # AccessKey ids the state holds
    login: bool = False
    attached: set[str] = field(default_factory=set)  # RAM "<type>:<name>", IAM policy ARN
    inline: set[str] = field(default_factory=set)  # IAM inline policy names
    trusts: list[Any] = field(default_factory=list)  # canonical trust documents


@dataclass
class Live:
    """What the cloud holds for one principal (``exists`` False: nothing else was read)."""

    exists: bool = True
    keys: list[tuple[str, str]] = field(default_factory=list)  # (id, status)
    login: bool = False
    attached: set[str] = field(default_factory=set)
    inline: set[str] = field(default_factory=set)
    trust: Any = None


# ---------------------------------------------------------------------------------------------
# What the stack declares: its offline plan and its state


def canonical(document: Any) -> Any:
    """A policy document in one form: parsed JSON, keys sorted, lists as sorted sets, a one-element
    list as its element (the clouds accept both and may return either)."""
    if isinstance(document, str):
        text = document.strip()
        if text.startswith("%7B") or text.startswith("%7b"):
            text = unquote(text)  # IAM's wire form is URL-encoded JSON
        document = json.loads(text)
    if isinstance(document, dict):
        return {key: canonical_value(value) for key, value in sorted(document.items())}
    return canonical_value(document)


def canonical_value(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: canonical_value(item) for key, item in sorted(value.items())}
    if isinstance(value, list):
        items = sorted({json.dumps(canonical_value(item), sort_keys=True) for item in value})
        parsed = [json.loads(item) for item in items]
        return parsed[0] if len(parsed) == 1 else parsed
    return value


def _text(value: Any) -> str | None:
    """A plain string input; None for a placeholder, a secret envelope or anything else."""
    if isinstance(value, str) and value and not any(p in value for p in _PLACEHOLDERS):
        return value
    return None


def declared(plan: Mapping[str, Any], state: Iterable[Mapping[str, Any]]) -> dict[Principal, Declared]:
    """Every user and role of the plan or the state, with what either declares about it."""
    found: dict[Principal, Declared] = {}

    def at(cloud: str, kind: str, name: Any) -> Declared | None:
        text = _text(name)
        return found.setdefault(Principal(cloud, kind, text), Declared()) if text else None

    def trust(entry: Declared | None, document: Any) -> None:
        if entry is not None and _text(document):
            # A document with placeholders inside is not a declaration to compare.
            with contextlib.suppress(json.JSONDecodeError):
                entry.trusts.append(canonical(document))

    sources = [(r, False) for r in plan.get("resources") or ()]
    sources += [(r, True) for r in state if not r.get("delete")]
    for resource, from_state in sources:
        kind, inputs = resource.get("type", ""), resource.get("inputs") or {}
        match kind:
            case "alicloud:ram/user:User":
                if (entry := at("alicloud", "user", inputs.get("name"))) and from_state:
                    entry.in_state = True
            case "alicloud:ram/role:Role":
                entry = at("alicloud", "role", inputs.get("roleName"))
                if entry and from_state:
                    entry.in_state = True
                trust(entry, inputs.get("assumeRolePolicyDocument") or inputs.get("document"))
            case "alicloud:ram/loginProfile:LoginProfile":
                if entry := at("alicloud", "user", inputs.get("userName")):
                    entry.login = True
            case "alicloud:ram/accessKey:AccessKey":
                if (entry := at("alicloud", "user", inputs.get("userName"))) and from_state:
                    entry.keys.add(str(resource.get("id") or ""))
            case "alicloud:ram/userPolicyAttachment:UserPolicyAttachment":
                if entry := at("alicloud", "user", inputs.get("userName")):
                    entry.attached.add(f"{inputs.get('policyType')}:{inputs.get('policyName')}")
            case "alicloud:ram/rolePolicyAttachment:RolePolicyAttachment":
                if entry := at("alicloud", "role", inputs.get("roleName")):
                    entry.attached.add(f"{inputs.get('policyType')}:{inputs.get('policyName')}")
            case "aws:iam/user:User":
                if (entry := at("aws", "user", inputs.get("name"))) and from_state:
                    entry.in_state = True
            case "aws:iam/role:Role":
                entry = at("aws", "role", inputs.get("name"))
                if entry is None:
                    continue
                entry.in_state = entry.in_state or from_state
                trust(entry, inputs.get("assumeRolePolicy"))
                entry.attached.update(a for a in inputs.get("managedPolicyArns") or () if _text(a))
                inline = inputs.get("inlinePolicies") or ()
                entry.inline.update(p["name"] for p in inline if isinstance(p, dict) and p.get("name"))
            case "aws:iam/userLoginProfile:UserLoginProfile":
                if entry := at("aws", "user", inputs.get("user")):
                    entry.login = True
            case "aws:iam/accessKey:AccessKey":
                if (entry := at("aws", "user", inputs.get("user"))) and from_state:
                    entry.keys.add(str(resource.get("id") or ""))
            case "aws:iam/userPolicyAttachment:UserPolicyAttachment":
                if (entry := at("aws", "user", inputs.get("user"))) and _text(inputs.get("policyArn")):
                    entry.attached.add(inputs["policyArn"])
            case "aws:iam/rolePolicyAttachment:RolePolicyAttachment":
                if (entry := at("aws", "role", inputs.get("role"))) and _text(inputs.get("policyArn")):
                    entry.attached.add(inputs["policyArn"])
            case "aws:iam/userPolicy:UserPolicy" | "aws:iam/rolePolicy:RolePolicy":
                owner = "user" if kind.startswith("aws:iam/userPolicy") else "role"
                if (entry := at("aws", owner, inputs.get(owner))) and _text(inputs.get("name")):
                    entry.inline.add(inputs["name"])
    return found


def state_resources(exported: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The resources of a ``pulumi stack export`` document (or of its ``deployment`` alone)."""
    deployment = exported.get("deployment", exported)
    return list((deployment or {}).get("resources") or [])


def export_state(stack: str, cwd: Path) -> dict[str, Any]:
    """``pulumi stack export --stack S``, without ``--show-secrets``: secrets stay ciphertext."""
    with faults.reported(f"exporting the state of stack {stack}"):
        command = ["pulumi", "stack", "export", "--stack", stack]
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
        reason = next((line for line in lines if line.startswith("error:")), lines[0] if lines else "")
        raise Fault(
            what=f"`pulumi stack export --stack {stack}` failed: {reason.removeprefix('error: ')}",
            where=faults.PULUMI_SETTINGS,
            fix="log in to the stack's backend (or pass an exported state with --state FILE) and run again",
            code=EXIT_FAULT,
        )
    return json.loads(done.stdout)


# ---------------------------------------------------------------------------------------------
# What the clouds hold


class RamReader:
    """RAM through the official SDK (``alibabacloud_ram20150501``)."""

    def __init__(self, client: Any) -> None:
        from alibabacloud_ram20150501 import models

        self.ram, self.m = client, models

    def user(self, name: str) -> Live:
        m, live = self.m, Live()
        try:
            body = self.ram.list_access_keys(m.ListAccessKeysRequest(user_name=name)).body
        except Exception as error:
            if faults.error_code(error) == "EntityNotExist.User":
                return Live(exists=False)
            raise
        live.keys = [(k.access_key_id, k.status or "") for k in _items(body.access_keys, "access_key")]
        try:
            self.ram.get_login_profile(m.GetLoginProfileRequest(user_name=name))
            live.login = True
        except Exception as error:
            if not faults.error_code(error).startswith("EntityNotExist.User.LoginProfile"):
                raise
        body = self.ram.list_policies_for_user(m.ListPoliciesForUserRequest(user_name=name)).body
        live.attached = {f"{p.policy_type}:{p.policy_name}" for p in _items(body.policies, "policy")}
        return live

    def role(self, name: str) -> Live:
        m, live = self.m, Live()
        try:
            role = self.ram.get_role(m.GetRoleRequest(role_name=name)).body.role
        except Exception as error:
            if faults.error_code(error) == "EntityNotExist.Role":
                return Live(exists=False)
            raise
        live.trust = canonical(role.assume_role_policy_document)
        body = self.ram.list_policies_for_role(m.ListPoliciesForRoleRequest(role_name=name)).body
        live.attached = {f"{p.policy_type}:{p.policy_name}" for p in _items(body.policies, "policy")}
        return live


def _items(container: Any, name: str) -> list[Any]:
    return list(getattr(container, name, None) or []) if container is not None else []


class IamReader:
    """IAM through boto3."""

    def __init__(self, client: Any) -> None:
        self.iam = client

    def _pages(self, method: str, key: str, **kwargs: Any) -> list[Any]:
        return [item for page in self.iam.get_paginator(method).paginate(**kwargs) for item in page[key]]

    def user(self, name: str) -> Live:
        live = Live()
        try:
            keys = self._pages("list_access_keys", "AccessKeyMetadata", UserName=name)
        except self.iam.exceptions.NoSuchEntityException:
            return Live(exists=False)
        live.keys = [(k["AccessKeyId"], k.get("Status", "")) for k in keys]
        try:
            self.iam.get_login_profile(UserName=name)
            live.login = True
        except self.iam.exceptions.NoSuchEntityException:
            pass
        attached = self._pages("list_attached_user_policies", "AttachedPolicies", UserName=name)
        live.attached = {p["PolicyArn"] for p in attached}
        live.inline = set(self._pages("list_user_policies", "PolicyNames", UserName=name))
        return live

    def role(self, name: str) -> Live:
        live = Live()
        try:
            role = self.iam.get_role(RoleName=name)["Role"]
        except self.iam.exceptions.NoSuchEntityException:
            return Live(exists=False)
        live.trust = canonical(role["AssumeRolePolicyDocument"])
        attached = self._pages("list_attached_role_policies", "AttachedPolicies", RoleName=name)
        live.attached = {p["PolicyArn"] for p in attached}
        live.inline = set(self._pages("list_role_policies", "PolicyNames", RoleName=name))
        return live


def alicloud_client() -> Any:
    from alibabacloud_ram20150501.client import Client
    from alibabacloud_tea_openapi import utils_models

    credential = alicloud_credential("drift")
    return Client(
        utils_models.Config(
            credential=credential, endpoint="ram.aliyuncs.com", retry_options=faults.alicloud_retry_options()
        )
    )


def aws_client() -> Any:
    import boto3

    return boto3.client("iam", config=faults.aws_config())


READERS: dict[str, tuple[Callable[[Any], Any], Callable[[], Any]]] = {
    "alicloud": (RamReader, alicloud_client),
    "aws": (IamReader, aws_client),
}


# ---------------------------------------------------------------------------------------------
# Findings


def _detach(principal: Principal, policy: str) -> str:
    if principal.cloud == "alicloud":
        kind, name = policy.split(":", 1)
        verb = "User --UserName" if principal.kind == "user" else "Role --RoleName"
        return f"aliyun ram DetachPolicyFrom{verb} {principal.name} --PolicyType {kind} --PolicyName {name}"
    kind = principal.kind
    return f"aws iam detach-{kind}-policy --{kind}-name {principal.name} --policy-arn {policy}"


def _policy_label(principal: Principal, policy: str) -> str:
    if principal.cloud == "alicloud":
        kind, name = policy.split(":", 1)
        return f"{name} ({kind})"
    return policy


def findings(stack: str, principal: Principal, want: Declared, live: Live) -> list[str]:
    """The lines for one principal, in a fixed order."""
    head = f"{stack} {principal}:"
    name = principal.name
    if not live.exists:
        if not want.in_state:
            return []  # declared by the plan only: not deployed yet, nothing to compare
        return [
            f"{head} in the state but no longer in the cloud (find who deleted it in the audit log, then "
            f"`pulumi up -s {stack} --refresh` recreates it)"
        ]
    lines = []
    for key, status in sorted(live.keys):
        if key not in want.keys:
            fix = (
                f"aliyun ram DeleteAccessKey --UserName {name} --UserAccessKeyId {key}"
                if principal.cloud == "alicloud"
                else f"aws iam delete-access-key --user-name {name} --access-key-id {key}"
            )
            shown = f" ({status})" if status else ""
            lines.append(
                f"{head} AccessKey {key}{shown} is not in the state (made outside Pulumi: unless it is a "
                f"rotation in progress, deactivate and delete it: {fix})"
            )
    if live.login and not want.login:
        fix = (
            f"aliyun ram DeleteLoginProfile --UserName {name}"
            if principal.cloud == "alicloud"
            else f"aws iam delete-login-profile --user-name {name}"
        )
        lines.append(f"{head} console login profile that neither the plan nor the state declares ({fix})")
    for policy in sorted(live.attached - want.attached):
        lines.append(
            f"{head} policy {_policy_label(principal, policy)} attached, which neither the plan nor the "
            f"state declares ({_detach(principal, policy)})"
        )
    for policy in sorted(live.inline - want.inline):
        lines.append(
            f"{head} inline policy {policy}, which neither the plan nor the state declares "
            f"(aws iam delete-{principal.kind}-policy --{principal.kind}-name {name} --policy-name {policy})"
        )
    if live.trust is not None and want.trusts and live.trust not in want.trusts:
        lines.append(
            f"{head} trust policy differs from the plan's and the state's (find who changed it in the "
            f"audit log, then `pulumi up -s {stack} --refresh` restores the declared trust)"
        )
    return lines


def check(
    stack: str, plan: Mapping[str, Any], state: Iterable[Mapping[str, Any]], clients: Mapping[str, Any]
) -> tuple[list[str], dict[str, int]]:
    """Every finding, and how many users and roles were read per cloud; ``clients`` by cloud
    (a missing one is made from the environment's credentials, only for a cloud the stack uses)."""
    wanted = declared(plan, state)
    lines: list[str] = []
    counted: dict[str, int] = {}
    for cloud in CLOUDS:
        principals = sorted(p for p in wanted if p.cloud == cloud)
        if not principals:
            continue
        reader_class, make_client = READERS[cloud]
        with faults.reported(f"signing in to {cloud}"):
            reader = reader_class(clients[cloud] if cloud in clients else make_client())
        for principal in principals:
            with faults.reported(f"reading {principal}"):
                read = reader.user if principal.kind == "user" else reader.role
                live = read(principal.name)
            lines += findings(stack, principal, wanted[principal], live)
            counted[f"{cloud} {principal.kind}s"] = counted.get(f"{cloud} {principal.kind}s", 0) + 1
    return lines, counted


_PRINCIPAL_TYPES = {
    "alicloud": ("alicloud:ram/user:User", "alicloud:ram/role:Role"),
    "aws": ("aws:iam/user:User", "aws:iam/role:Role"),
}


def _provider_account(cloud: str, inputs: Mapping[str, Any]) -> str:
    """The account a provider is pinned to or assumes a role in ("" for the stack's own)."""
    with contextlib.suppress(TypeError, ValueError, KeyError, IndexError):
        if cloud == "aws" and inputs.get("allowedAccountIds"):
            return ",".join(json.loads(inputs["allowedAccountIds"]))
        if cloud == "alicloud" and inputs.get("assumeRole"):
            return str(json.loads(inputs["assumeRole"])["roleArn"]).split(":")[3]
    return ""


def check_one_account(stack: str, plan: Mapping[str, Any]) -> None:
    """One set of credentials reads one account per cloud: refuse a stack whose users and roles
    span several (the pipeline stack creates roles in every environment's account)."""
    from baseline.errors import ConfigError

    resources = plan.get("resources") or ()
    for cloud in CLOUDS:
        providers = {
            r["name"]: r.get("inputs") or {} for r in resources if r["type"] == f"pulumi:providers:{cloud}"
        }
        accounts = {
            _provider_account(cloud, providers.get(r.get("provider") or "", {}))
            for r in resources
            if r["type"] in _PRINCIPAL_TYPES[cloud]
        }
        if len(accounts) > 1:
            raise ConfigError(
                key="--stack",
                value=stack,
                problem=f"its {cloud} users and roles are in {len(accounts)} accounts ("
                + ", ".join(sorted(a or "the default" for a in accounts))
                + "); drift reads one account per cloud",
                fix="check each environment's stack (drift --stack dev, staging, prod) with that account's "
                "credentials",
            )


def run(
    stack: str,
    *,
    config_file: str | None = None,
    as_stack: bool = False,
    state_file: str | None = None,
    clients: Mapping[str, Any] | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    from baseline.config import load_stack_file, resolve
    from baseline.plan import render
    from baseline.stackfile import ROOT, checked_stack_file, source_option

    out, err = out or sys.stdout, err or sys.stderr
    path = checked_stack_file(stack, config_file, as_stack=as_stack)
    plan = render(resolve(load_stack_file(path, stack, source_option(config_file))), stack)
    check_one_account(stack, plan)
    try:
        exported = _read_state(state_file) if state_file else export_state(stack, ROOT)
        lines, counted = check(stack, plan, state_resources(exported), clients or {})
    except Fault as fault:
        # Exit 1 means drift here: a fault is never mistaken for a finding.
        fix = (
            f"run it with the stack's preview role (GitHub environment {stack}-preview), which may make "
            "every read drift makes on the stack's users and roles"
            if "denied access" in fault.what
            else fault.fix
        )
        raise dataclasses.replace(fault, code=EXIT_FAULT, fix=fix) from None
    for line in lines:
        print(line, file=out)
    read = ", ".join(f"{n} {what}" for what, n in sorted(counted.items())) or "no users or roles"
    print(f"drift {stack}: {len(lines)} finding(s); read {read}", file=err)
    return EXIT_DRIFT if lines else EXIT_CLEAN


def _read_state(state_file: str) -> dict[str, Any]:
    from baseline.errors import ConfigError

    try:
        document = json.loads(Path(state_file).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise ConfigError(
            key="--state",
            value=state_file,
            problem=f"not a readable stack export ({error.__class__.__name__}: {error})",
            fix="write it with `pulumi stack export --stack <stack> --file FILE`",
        ) from None
    if not isinstance(document, dict):
        raise ConfigError(
            key="--state",
            value=state_file,
            problem="not a stack export (a JSON object with a deployment)",
            fix="write it with `pulumi stack export --stack <stack> --file FILE`",
        )
    return document
