"""What a principal in an offline plan may do: its policies collected, then evaluated.

Reads only the plan document (``baseline.plan.render``), so it covers every scenario the program
registers. Alibaba Cloud: custom policies attached through ``ram/userPolicyAttachment`` and
``ram/rolePolicyAttachment``, and system policies attached account-wide or to a resource group
(``resourcemanager/policyAttachment``). AWS: managed and inline policies of an IAM role or user,
and the role's permissions boundary.

System and AWS-managed policies live in the cloud, not in the plan: their documents are on file
under ``managed_policies/`` as their owners publish them (``managed_policy``) and are evaluated
like custom policies. One that is not on file is reported as "not evaluated offline" and grants
nothing here (a test fails when a stack attaches or lets a principal attach one).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from baseline.analysis.evaluator import (
    CallDecision,
    Decision,
    NamedPolicy,
    StatementRef,
    UnknownAction,
    WrongResourceType,
    as_list,
    evaluate,
    evaluate_call,
)

# Request-context key a resource-group-scoped grant requires. Alibaba Cloud checks the group a
# request names before it evaluates the policy; this tool's own key stands for that check.
RESOURCE_GROUP_KEY = "baseline:ResourceGroupId"

# System (Alibaba Cloud) and managed (AWS) policies live in the cloud, not in the plan: their
# documents are kept here as their owners publish them, one file each with its source, version
# and date (``managed_policies/<cloud>/<name>.json``), and evaluated like a custom policy.
MANAGED_POLICY_DIR = Path(__file__).resolve().parent / "managed_policies"
AWS_MANAGED_PREFIX = "arn:aws:iam::aws:policy/"


@dataclass(frozen=True)
class ManagedPolicy:
    """A system or managed policy on file: the document and where it was read."""

    cloud: str
    name: str
    document: dict[str, Any]
    source: str
    version: str | None
    updated: str | None
    verbatim: bool  # False: the owner's page was not found; what a guide says it contains
    arn: str | None = None


@cache
def managed_policy(cloud: str, name: str) -> ManagedPolicy | None:
    """The system (``alicloud``) or AWS-managed (``aws``: name or ``arn:aws:iam::aws:policy/...``)
    policy on file, or None."""
    bare = name.removeprefix(AWS_MANAGED_PREFIX).rsplit("/", 1)[-1] if cloud == "aws" else name
    path = MANAGED_POLICY_DIR / cloud / f"{bare}.json"
    if not bare or not path.is_file():
        return None
    data = json.loads(path.read_text())
    if cloud == "aws" and name.startswith(AWS_MANAGED_PREFIX) and data.get("arn") != name:
        return None  # same name under another path: not this policy
    return ManagedPolicy(
        cloud=cloud,
        name=data["name"],
        document=data["document"],
        source=data["source"],
        version=data.get("version"),
        updated=data.get("updated"),
        verbatim=bool(data.get("verbatim")),
        arn=data.get("arn"),
    )


def managed_policies(cloud: str) -> list[ManagedPolicy]:
    """Every system/managed policy on file for one cloud."""
    return [
        found
        for path in sorted((MANAGED_POLICY_DIR / cloud).glob("*.json"))
        if (found := managed_policy(cloud, path.stem)) is not None
    ]


ALI_USER = "alicloud:ram/user:User"
ALI_ROLE = "alicloud:ram/role:Role"
ALI_POLICY = "alicloud:ram/policy:Policy"
ALI_USER_ATTACHMENT = "alicloud:ram/userPolicyAttachment:UserPolicyAttachment"
ALI_ROLE_ATTACHMENT = "alicloud:ram/rolePolicyAttachment:RolePolicyAttachment"
ALI_RG_ATTACHMENT = "alicloud:resourcemanager/policyAttachment:PolicyAttachment"
AWS_ROLE = "aws:iam/role:Role"
AWS_USER = "aws:iam/user:User"
AWS_POLICY = "aws:iam/policy:Policy"
AWS_ROLE_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
AWS_USER_ATTACHMENT = "aws:iam/userPolicyAttachment:UserPolicyAttachment"
AWS_ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
AWS_USER_POLICY = "aws:iam/userPolicy:UserPolicy"


@dataclass(frozen=True)
class Principal:
    cloud: str  # "alicloud" | "aws"
    kind: str  # "user" | "role"
    name: str
    resource: str  # the plan resource's name

    @property
    def label(self) -> str:
        kind = {"alicloud": "RAM", "aws": "IAM"}[self.cloud]
        return f"{kind} {self.kind} {self.name}"


@dataclass
class Grants:
    principal: Principal
    policies: list[NamedPolicy] = field(default_factory=list)
    boundary: list[NamedPolicy] | None = None
    not_evaluated: list[str] = field(default_factory=list)
    # Policies attached but not on file, with the services they may cover (None: any service).
    unmodelled: list[tuple[str, frozenset[str] | None]] = field(default_factory=list)
    # Calls already decided (the graph and diff ask the same call many times).
    _calls: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

    def unknown_for(self, action: str) -> list[str]:
        """The unmodelled policies that could change an answer about ``action``."""
        service = action.partition(":")[0].lower()
        return [name for name, services in self.unmodelled if services is None or service in services]

    def decide(self, action: str, resource: str, context: Mapping[str, Any] | None = None) -> Decision:
        return evaluate(self.policies, action, resource, context, boundary=self.boundary)

    def decide_call(
        self,
        action: str,
        resources: Iterable[str],
        context: Mapping[str, Any] | None = None,
        *,
        mode: str = "strict",
        scope: tuple[str, str] = ("", ""),
    ) -> CallDecision:
        """The call as the cloud asks it: ``action`` on every resource the reference authorises it
        on (``evaluator.evaluate_call``). Raises ``UnknownAction`` when the reference has no row,
        ``WrongResourceType`` for a resource of a type the action is not authorised on."""
        resources = tuple(resources)
        given = tuple(
            sorted((k, (v,) if isinstance(v, str) else tuple(v)) for k, v in (context or {}).items())
        )
        # The policy count keeps a grant extended after a question from answering from the cache.
        held = (len(self.policies), len(self.boundary) if self.boundary is not None else -1)
        key = (action.lower(), resources, given, mode, scope, held)
        if key not in self._calls:
            try:
                self._calls[key] = evaluate_call(
                    self.policies,
                    self.principal.cloud,
                    action,
                    resources,
                    context,
                    boundary=self.boundary,
                    mode=mode,
                    scope=scope,
                )
            except (UnknownAction, WrongResourceType) as error:
                self._calls[key] = error
        found = self._calls[key]
        if isinstance(found, Exception):
            raise found
        return found

    def allow_patterns(self) -> list[str]:
        """The resource patterns the principal's Allow statements name (``*`` left out)."""
        found: list[str] = []
        for policy in self.policies:
            for statement in _statements(policy.document):
                if statement.get("Effect") == "Allow":
                    found += [
                        str(r) for r in as_list(statement.get("Resource")) if str(r) not in (*found, "*")
                    ]
        return found

    def decide_any(self, action: str, context: Mapping[str, Any] | None = None) -> tuple[Decision, list[str]]:
        """``--resource '*'`` read as "any resource": allowed when some resource is.

        Each resource pattern an Allow statement of the principal names is asked as a request
        (a pattern as a literal: a Deny on a wider pattern still applies). Returns the first
        allowing decision (or the decision on ``*``) and every pattern the action is allowed on.
        """
        patterns: list[str] = []
        for policy in self.policies:
            for statement in _statements(policy.document):
                if statement.get("Effect") == "Allow":
                    patterns += [str(r) for r in as_list(statement.get("Resource")) if str(r) not in patterns]
        allowed_on = []
        first: Decision | None = None
        for pattern in ["*", *(p for p in patterns if p != "*")]:
            decision = self.decide(action, pattern, context)
            if decision.allowed:
                allowed_on.append(pattern)
                first = first or decision
        return first or self.decide(action, "*", context), allowed_on


def _of(plan: Mapping[str, Any], *types: str) -> list[Mapping[str, Any]]:
    return [r for r in plan["resources"] if r["type"] in types]


def _document(text: Any) -> dict[str, Any] | None:
    if isinstance(text, Mapping):
        return dict(text)
    try:
        return json.loads(text) if isinstance(text, str) else None
    except json.JSONDecodeError:
        return None


def principals(plan: Mapping[str, Any]) -> list[Principal]:
    found = []
    for r in _of(plan, ALI_USER):
        found.append(Principal("alicloud", "user", r["inputs"].get("name", ""), r["name"]))
    for r in _of(plan, ALI_ROLE):
        found.append(Principal("alicloud", "role", r["inputs"].get("roleName", ""), r["name"]))
    for r in _of(plan, AWS_ROLE):
        found.append(Principal("aws", "role", r["inputs"].get("name", ""), r["name"]))
    for r in _of(plan, AWS_USER):
        found.append(Principal("aws", "user", r["inputs"].get("name", ""), r["name"]))
    return sorted((p for p in found if p.name), key=lambda p: (p.cloud, p.kind, p.name))


def find_principal(plan: Mapping[str, Any], name: str) -> list[Principal]:
    """Principals called ``name``: exact first, then ignoring case (RAM and IAM names are).

    ``alicloud:NAME`` / ``aws:NAME`` picks one cloud when both have the name.
    """
    cloud, _, bare = name.partition(":") if name.startswith(("alicloud:", "aws:")) else ("", "", name)
    candidates = [p for p in principals(plan) if not cloud or p.cloud == cloud]
    exact = [p for p in candidates if p.name == bare]
    return exact or [p for p in candidates if p.name.lower() == bare.lower()]


def grants_of(plan: Mapping[str, Any], principal: Principal) -> Grants:
    if principal.cloud == "alicloud":
        return _alicloud_grants(plan, principal)
    return _aws_grants(plan, principal)


def _alicloud_grants(plan: Mapping[str, Any], principal: Principal) -> Grants:
    grants = Grants(principal)
    custom = {r["inputs"].get("policyName"): r["inputs"].get("policyDocument") for r in _of(plan, ALI_POLICY)}
    attachment_type, key = (
        (ALI_USER_ATTACHMENT, "userName") if principal.kind == "user" else (ALI_ROLE_ATTACHMENT, "roleName")
    )
    for r in _of(plan, attachment_type):
        inputs = r["inputs"]
        if inputs.get(key) != principal.name:
            continue
        name, kind = inputs.get("policyName", ""), inputs.get("policyType", "")
        if kind == "Custom":
            document = _document(custom.get(name))
            if document is None:
                grants.not_evaluated.append(f"custom policy {name} (not in this stack's plan)")
                grants.unmodelled.append((name, None))
            else:
                grants.policies.append(NamedPolicy(name, document))
        else:
            _system(grants, name, None)
    for r in _of(plan, ALI_RG_ATTACHMENT):
        inputs = r["inputs"]
        local = str(inputs.get("principalName", "")).partition("@")[0]
        kinds = {"user": ("IMSUser",), "role": ("ServiceRole",)}[principal.kind]
        if local != principal.name or inputs.get("principalType") not in kinds:
            continue
        name, group = inputs.get("policyName", ""), str(inputs.get("resourceGroupId", ""))
        if inputs.get("policyType") == "Custom":
            document = _document(custom.get(name))
            if document is None:
                grants.not_evaluated.append(f"custom policy {name} in resource group {group}")
                grants.unmodelled.append((name, None))
            else:
                grants.policies.append(_scoped(name, document, group))
        else:
            _system(grants, name, group)
    return grants


def _system(grants: Grants, name: str, group: str | None) -> None:
    where = f" in resource group {group}" if group else ""
    found = managed_policy("alicloud", name)
    if found is None:
        grants.not_evaluated.append(f"system policy {name}{where} (not evaluated offline)")
        grants.unmodelled.append((name, policy_services(name)))
    elif group:
        grants.policies.append(_scoped(f"{name} (system)", found.document, group))
    else:
        grants.policies.append(NamedPolicy(f"{name} (system)", found.document))


# Alibaba Cloud names a service's system policies Aliyun<Service><Scope>, the service as its RAM
# code spells it (AliyunECSFullAccess: ecs:*, AliyunOOSReadOnlyAccess: oos:List*/Get*).
_SYSTEM_NAME = re.compile(r"Aliyun([A-Za-z]+?)(FullAccess|ReadOnlyAccess|ReadonlyAccess)")


def policy_services(name: str) -> frozenset[str] | None:
    """The services a system policy's name says it covers; None when the name does not say."""
    match = _SYSTEM_NAME.fullmatch(name)
    return frozenset({match.group(1).lower()}) if match else None


def _scoped(name: str, document: Mapping[str, Any], group: str) -> NamedPolicy:
    """A resource-group grant: every statement also needs the request to name that group."""
    statements = []
    for statement in _statements(document):
        condition = {op: dict(block) for op, block in (statement.get("Condition") or {}).items()}
        condition.setdefault("StringEquals", {})[RESOURCE_GROUP_KEY] = group
        statements.append({**statement, "Condition": condition})
    return NamedPolicy(f"{name} in resource group {group}", {**document, "Statement": statements})


def _statements(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    statements = document.get("Statement", [])
    return [statements] if isinstance(statements, Mapping) else list(statements)


def _aws_policy_key(arn: str) -> str:
    """``arn:aws:iam::<account>:policy/<path><name>`` -> ``/<path><name>``."""
    return arn.split(":policy", 1)[1] if ":policy" in arn else arn


def _aws_grants(plan: Mapping[str, Any], principal: Principal) -> Grants:
    grants = Grants(principal)
    # Path and name, per provider: a stack that spans accounts (S7) has one policy name in each,
    # and the role's own provider picks the one in its account.
    managed: dict[str, dict[str | None, tuple[str, Any]]] = {}
    for r in _of(plan, AWS_POLICY):
        inputs = r["inputs"]
        name = inputs.get("name", "")
        managed.setdefault(f"{inputs.get('path') or '/'}{name}", {})[r.get("provider")] = (
            name,
            inputs.get("policy"),
        )
    own_provider = next(r for r in plan["resources"] if r["name"] == principal.resource).get("provider")

    def add_managed(arn: Any, into: list[NamedPolicy], what: str) -> None:
        arn = str(arn)
        if arn.startswith(AWS_MANAGED_PREFIX):
            on_file = managed_policy("aws", arn)
            if on_file is not None:
                into.append(NamedPolicy(f"{on_file.name} (AWS managed)", on_file.document))
                return
        candidates = managed.get(_aws_policy_key(arn)) or {}
        found = candidates.get(own_provider) or next(iter(candidates.values()), None)
        document = _document(found[1]) if found else None
        if found is None or document is None:
            grants.not_evaluated.append(f"{what} {arn} (not evaluated offline)")
            if what != "permissions boundary":  # an unknown boundary is read as allowing nothing
                grants.unmodelled.append((arn.rsplit("/", 1)[-1], None))
        else:
            into.append(NamedPolicy(found[0], document))

    attachment_type, inline_type = (
        (AWS_ROLE_ATTACHMENT, AWS_ROLE_POLICY)
        if principal.kind == "role"
        else (AWS_USER_ATTACHMENT, AWS_USER_POLICY)
    )
    key = "role" if principal.kind == "role" else "user"
    for r in _of(plan, attachment_type):
        if _names(r["inputs"].get(key), principal):
            add_managed(r["inputs"].get("policyArn"), grants.policies, "managed policy")
    for r in _of(plan, inline_type):
        if _names(r["inputs"].get(key), principal):
            document = _document(r["inputs"].get("policy"))
            if document is not None:
                grants.policies.append(NamedPolicy(r["inputs"].get("name") or r["name"], document))
    own = next(r for r in plan["resources"] if r["name"] == principal.resource)
    for arn in own["inputs"].get("managedPolicyArns") or []:
        add_managed(arn, grants.policies, "managed policy")
    for inline in own["inputs"].get("inlinePolicies") or []:
        document = _document(inline.get("policy"))
        if document is not None:
            grants.policies.append(NamedPolicy(inline.get("name") or "inline", document))
    if boundary := own["inputs"].get("permissionsBoundary"):
        grants.boundary = []
        add_managed(boundary, grants.boundary, "permissions boundary")
        if not grants.boundary:
            # An unknown boundary allows nothing we can show; deny rather than guess.
            grants.boundary = [NamedPolicy(f"permissions boundary {boundary}", {"Statement": []})]
    return grants


def _names(value: Any, principal: Principal) -> bool:
    """An attachment's ``role``/``user`` input: the name, or the ARN (``...:role/<path>name``)."""
    text = str(value or "")
    return text == principal.name or (f":{principal.kind}/" in text and text.endswith(f"/{principal.name}"))


def describe(principals_: Iterable[Principal]) -> str:
    return ", ".join(f"{p.name} ({p.label.rsplit(' ', 1)[0]})" for p in principals_)


# --- the `can` command ---------------------------------------------------------------------------


def parse_context(pairs: Iterable[str]) -> dict[str, list[str]]:
    """``KEY=VALUE`` pairs; the same key twice makes a multi-valued key."""
    from baseline.errors import ConfigError

    context: dict[str, list[str]] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(
                key="--context",
                value=pair,
                problem="a context entry is KEY=VALUE",
                fix="e.g. ecs:CommandRunAs=user01",
            )
        context.setdefault(key, []).append(value)
    return context


def check_request(principal: Principal, action: str, resource: str) -> None:
    """Refuse a request the clouds could not express (exit 2), before evaluating anything."""
    from baseline.errors import ConfigError

    service, sep, name = action.partition(":")
    if not (sep and service and name) or any(c in action for c in " *?"):
        raise ConfigError(
            key="--action",
            value=action,
            problem="an action is <service>:<ActionName>, without wildcards",
            fix="e.g. ecs:RunCommand",
        )
    if resource == "*":
        return
    prefix = {"alicloud": "acs:", "aws": "arn:"}[principal.cloud]
    parts = {"acs:": 5, "arn:": 6}
    if not resource.startswith(tuple(parts)):
        raise ConfigError(
            key="--resource",
            value=resource,
            problem="a resource is '*' or an ARN",
            fix=f"write it as {prefix}... (e.g. acs:ecs:cn-hangzhou:<account>:instance/<id>)",
        )
    given = resource[:4]
    if len(resource.split(":", parts[given] - 1)) != parts[given]:
        raise ConfigError(
            key="--resource",
            value=resource,
            problem=f"an {given} ARN has {parts[given]} colon-separated parts",
            fix="acs:<service>:<region>:<account>:<resource>"
            if given == "acs:"
            else "arn:<partition>:<service>:<region>:<account>:<resource>",
        )
    if given != prefix:
        raise ConfigError(
            key="--resource",
            value=resource,
            problem=f"{principal.label} is on {principal.cloud}, but the resource is a {given} ARN",
            fix=f"use a {prefix} ARN",
        )


def statement_of(grants: Grants, ref: StatementRef) -> Mapping[str, Any] | None:
    """The statement a decision names (``policy`` statement ``index``), as the document has it."""
    for policy in [*grants.policies, *(grants.boundary or [])]:
        if policy.name == ref.policy:
            statements = _statements(policy.document)
            return statements[ref.index] if ref.index < len(statements) else None
    return None


def decided_by(decision: Decision) -> str:
    """What decided: an Allow, an explicit Deny, or nothing (an implicit deny)."""
    if decision.allowed:
        return "allow statement"
    return "explicit deny" if decision.explicit_deny else "implicit deny"


def report(
    stack: str,
    grants: Grants,
    action: str,
    resource: str,
    context: Mapping[str, list[str]],
    decision: Decision,
) -> dict[str, Any]:
    return {
        "stack": stack,
        "principal": {
            "cloud": grants.principal.cloud,
            "kind": grants.principal.kind,
            "name": grants.principal.name,
        },
        "action": action,
        "resource": resource,
        "context": {k: v for k, v in context.items()},
        **decision.as_dict(),
        "decidedBy": decided_by(decision),
        "statements": {
            ref.label: statement
            for ref in (*decision.deciding, *decision.near_misses)
            if (statement := statement_of(grants, ref)) is not None
        },
        "policies": [p.name for p in grants.policies],
        "boundary": [p.name for p in grants.boundary] if grants.boundary is not None else None,
        "notEvaluated": list(grants.not_evaluated),
    }


def to_text(result: Mapping[str, Any], decision: Decision, principal: Principal) -> str:
    context = ", ".join(f"{k}={v}" for k, values in result["context"].items() for v in values)
    lines = [
        decision.word,
        f"  principal: {principal.label} (stack {result['stack']})",
        f"  request:   {result['action']} on {result['resource']}" + (f" with {context}" if context else ""),
        f"  reason:    {decision.reason}",
    ]
    for assumed in decision.assumed:
        # A key the cloud sets on every request, left out of the question: asked with each value.
        lines.append(f"  set by the cloud: {assumed.describe()}")
    statements = result.get("statements", {})

    def text_of(ref: StatementRef) -> list[str]:
        statement = statements.get(ref.label)
        return [f"      {json.dumps(statement, separators=(', ', ': '))}"] if statement is not None else []

    # What decided, with the statement itself: an Allow, an explicit Deny, or nothing at all.
    if decision.allowed or decision.explicit_deny:
        for ref in decision.deciding:
            effect = "an explicit Deny" if ref.effect == "Deny" else "an Allow"
            lines.append(f"  decided by: {ref.label}, {effect} ({ref.detail}):")
            lines += text_of(ref)
    else:
        lines.append("  decided by: no statement: an implicit deny (nothing that applies allows it)")
        for ref in decision.deciding:
            # Allowed by the identity policy, but the permissions boundary allows none of it.
            lines.append(f"  allowed only outside the permissions boundary: {ref.label} ({ref.detail})")
    for ref in decision.near_misses:
        lines.append(f"  nearest miss, did not apply ({ref.effect}): {ref.label}: {ref.detail}")
        lines += text_of(ref)
    if not decision.allowed and not decision.explicit_deny and not decision.near_misses:
        lines.append("  nearest miss: none (no statement names this action on this resource)")
    policies = result["policies"] or ["none"]
    lines.append(f"  evaluated: {', '.join(policies)}")
    if result["boundary"] is not None:
        lines.append(f"  permissions boundary: {', '.join(result['boundary']) or 'none'}")
    if "allowedOn" in result:
        on = ", ".join(result["allowedOn"]) or "no resource"
        lines.insert(3, f"  resource:  '*' read as any resource; allowed on: {on}")
    for item in result["notEvaluated"]:
        lines.append(f"  also attached: {item}")
    return "\n".join(lines) + "\n"


# --- trust questions: may a GitHub Actions token assume this role? -------------------------------
ALI_OIDC_PROVIDER = "alicloud:ims/oidcProvider:OidcProvider"
AWS_OIDC_PROVIDER = "aws:iam/openIdConnectProvider:OpenIdConnectProvider"
# The claims of a GitHub token, as each cloud exposes them to a trust policy's conditions.
CLAIM_KEYS: dict[str, dict[str, str]] = {
    "alicloud": {"sub": "oidc:sub", "aud": "oidc:aud", "iss": "oidc:iss"},
    "aws": {
        "sub": "token.actions.githubusercontent.com:sub",
        "aud": "token.actions.githubusercontent.com:aud",
    },
}
ASSUME_ACTIONS = {"alicloud": "sts:AssumeRole", "aws": "sts:AssumeRoleWithWebIdentity"}


def trust_document(plan: Mapping[str, Any], principal: Principal) -> NamedPolicy:
    from baseline.errors import ConfigError

    own = next(r for r in plan["resources"] if r["name"] == principal.resource)
    key = "assumeRolePolicyDocument" if principal.cloud == "alicloud" else "assumeRolePolicy"
    document = _document(own["inputs"].get(key)) if principal.kind == "role" else None
    if document is None:
        raise ConfigError(
            key="--principal",
            value=principal.name,
            problem="only a role has a trust policy",
            fix="name a role, e.g. github-prod-deploy",
        )
    return NamedPolicy(f"trust policy of {principal.name}", document)


def token_context(cloud: str, context: Mapping[str, list[str]]) -> tuple[str, dict[str, list[str]]]:
    """A GitHub token's issuer and its request context, from claims given in either cloud's spelling.

    ``oidc:sub=...`` and ``token.actions.githubusercontent.com:sub=...`` both set the token's
    ``sub``; ``iss`` defaults to GitHub's issuer and ``aud`` to the audience the cloud's
    credentials action requests. Other keys pass through unchanged.
    """
    from baseline.documents import pipeline as documents
    from baseline.errors import ConfigError

    claims: dict[str, list[str]] = {}
    found: dict[str, list[str]] = {}
    for key, values in context.items():
        prefix, _, claim = key.lower().rpartition(":")
        if prefix in ("oidc", documents.GITHUB_ISSUER_HOST) and claim in ("sub", "aud", "iss"):
            claims.setdefault(claim, []).extend(values)
        else:
            found[key] = list(values)
    if "sub" not in claims:
        raise ConfigError(
            key="--context",
            problem="a trust question needs the token's subject",
            fix="add --context token.actions.githubusercontent.com:sub=repository_owner_id:<id>"
            ":repository_id:<id>:environment:<env>:job_workflow_ref:<owner>/<repo>/.github/workflows/<file>@<ref>",
        )
    claims.setdefault("iss", [documents.GITHUB_ISSUER])
    audience = documents.ALICLOUD_AUDIENCE if cloud == "alicloud" else documents.AWS_AUDIENCE
    claims.setdefault("aud", [audience])
    for claim, key in CLAIM_KEYS[cloud].items():
        found[key] = claims[claim]
    return claims["iss"][0], found


def github_caller(plan: Mapping[str, Any], cloud: str, issuer: str):
    """Which Federated principals stand for ``issuer``: the OIDC providers the plan registers for it.

    STS accepts the token only through a provider registered for its issuer, so a trust naming
    any other provider (or one outside this stack) does not name this caller.
    """
    import re

    if cloud == "alicloud":
        providers = _of(plan, ALI_OIDC_PROVIDER)
        names = {
            r["inputs"].get("oidcProviderName") for r in providers if r["inputs"].get("issuerUrl") == issuer
        }
        pattern = re.compile(r"acs:ram::[0-9]{16}:oidc-provider/(.+)")
    else:
        providers = _of(plan, AWS_OIDC_PROVIDER)
        names = {
            str(r["inputs"].get("url")).removeprefix("https://")
            for r in providers
            if r["inputs"].get("url") == issuer
        }
        pattern = re.compile(r"arn:aws:iam::[0-9]{12}:oidc-provider/(.+)")

    def test(kind: str, value: str) -> bool:
        match = pattern.fullmatch(value)
        return kind == "Federated" and match is not None and match.group(1) in names

    return test


def decide_trust(
    plan: Mapping[str, Any], principal: Principal, action: str, context: Mapping[str, list[str]]
) -> tuple[NamedPolicy, dict[str, list[str]], Decision]:
    """May a GitHub Actions token with these claims assume ``principal`` (a role)?"""
    from baseline.analysis.evaluator import evaluate_trust

    trust = trust_document(plan, principal)
    issuer, request = token_context(principal.cloud, context)
    caller = github_caller(plan, principal.cloud, issuer)
    return trust, request, evaluate_trust(trust, action, caller, request)


def trust_question(
    stack: str, plan: Mapping[str, Any], principal: Principal, action: str | None, pairs: list[str], fmt: str
) -> tuple[str, bool]:
    """``can --trust``: the answer as text or JSON, and whether the role may be assumed."""
    import json

    action = action or ASSUME_ACTIONS[principal.cloud]
    trust, context, decision = decide_trust(plan, principal, action, parse_context(pairs))
    grants = Grants(principal, policies=[trust])
    result = report(stack, grants, action, f"role {principal.name}", context, decision)
    result["trust"] = True
    if fmt == "json":
        return json.dumps(result, indent=2) + "\n", decision.allowed
    return to_text(result, decision, principal), decision.allowed


# --- which system/managed policies a plan attaches or lets a principal attach ---------------------
_ATTACH_ACTIONS = ("ram:attachpolicy", "iam:attach", "iam:putrolepermissionsboundary", "iam:createrole")


def managed_policy_references(plan: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(cloud, policy, where) for every system or AWS-managed policy the plan attaches, and every
    one an Allow statement of its documents lets a principal attach (a RAM ``system:policy/``
    resource of an attach action; an AWS-managed ARN an ``iam:PolicyARN``/``iam:PermissionsBoundary``
    condition allows). Wildcard references are left out: they name no one policy."""
    found: list[tuple[str, str, str]] = []
    for r in plan["resources"]:
        inputs = r["inputs"]
        system = inputs.get("policyType") == "System"
        if system and r["type"] in (ALI_USER_ATTACHMENT, ALI_ROLE_ATTACHMENT, ALI_RG_ATTACHMENT):
            found.append(("alicloud", str(inputs.get("policyName")), r["name"]))
        if r["type"] in (AWS_ROLE_ATTACHMENT, AWS_USER_ATTACHMENT):
            found.append(("aws", str(inputs.get("policyArn")), r["name"]))
        if r["type"] in (AWS_ROLE, AWS_USER):
            for arn in [*(inputs.get("managedPolicyArns") or []), inputs.get("permissionsBoundary")]:
                if arn:
                    found.append(("aws", str(arn), r["name"]))
        for key in ("policyDocument", "policy"):
            document = _document(inputs.get(key)) if key in inputs else None
            for statement in _statements(document or {}):
                if statement.get("Effect") != "Allow":
                    continue
                actions = [str(a).lower() for a in as_list(statement.get("Action"))]
                if not any(a.startswith(_ATTACH_ACTIONS) or a in ("ram:*", "iam:*", "*") for a in actions):
                    continue
                for resource in as_list(statement.get("Resource")):
                    name = str(resource).partition(":system:policy/")[2]
                    if name and not any(c in name for c in "*?"):
                        found.append(("alicloud", name, r["name"]))
                for operator, block in (statement.get("Condition") or {}).items():
                    if "not" in operator.lower():
                        continue  # a negated operator names what may not be attached
                    for condition_key, values in block.items():
                        if condition_key.lower() not in ("iam:policyarn", "iam:permissionsboundary"):
                            continue
                        for value in as_list(values):
                            value = str(value)
                            if value.startswith(AWS_MANAGED_PREFIX) and not any(c in value for c in "*?"):
                                found.append(("aws", value, r["name"]))
    return [
        (c, name, where) for c, name, where in found if c == "alicloud" or name.startswith(AWS_MANAGED_PREFIX)
    ]


# --- `can` as the cloud asks it: a call on every resource the reference names ----------------------


def check_call(principal: Principal, action: str, resources: list[str]) -> Any:
    """The reference's row for the call, after refusing (exit 2) a resource of a type the action is
    not authorised on in the current reading; None when the reference has no row for the action."""
    from baseline.analysis import reference
    from baseline.analysis.evaluator import foreign_resources
    from baseline.errors import ConfigError

    ref = reference.lookup(principal.cloud, action)
    if ref is None:
        if len(resources) > 1:
            raise ConfigError(
                key="--resource",
                value=" ".join(resources),
                problem=f"{action} is in no authorization reference row, so its resource types are unknown",
                fix="ask it with one --resource",
            )
        return None
    if foreign := foreign_resources(ref, resources, [ref.primary]):
        types = ", ".join(_short(t.arn) for t in ref.primary.resources)
        raise ConfigError(
            key="--resource",
            value=foreign[0],
            problem=f"{ref.action} is authorised on {types}, not on {_short(foreign[0])}",
            fix=f"name one resource of each type: {', '.join(t.arn for t in ref.primary.resources)}",
        )
    return ref


def _short(arn: str) -> str:
    """The resource part of an ARN (``execution/*``), as a reader names a type."""
    return arn if arn == "*" else arn.split(":", 5 if arn.startswith("arn:") else 4)[-1]


def call_report(result: dict[str, Any], call: Any, ref: Any, grants: Grants) -> dict[str, Any]:
    """``report`` plus the call as the cloud asks it, and the unmodelled policies that could change it."""
    result["call"] = {
        "action": call.action,
        "reading": call.reading,
        "readings": [r.id for r in ref.readings],
        "resources": [{"resource": r, "allowed": d.allowed} for r, d in call.asked],
        "anyOfType": list(call.filled),
        "ignoredContext": list(call.dropped),
    }
    return result


def unknown_line(grants: Grants, action: str, decision: Decision) -> list[str]:
    """The unmodelled policies that make this answer unknown: an implicit deny they could turn into
    an allow. (An allow or an explicit deny stands whatever an Allow-only system policy adds.)"""
    if decision.allowed or decision.explicit_deny:
        return []
    return grants.unknown_for(action)


def call_text(call: Any) -> list[str]:
    """The call as asked: every resource with its answer, the types asked as "any of that type",
    and the context keys the call never carries."""
    asked = " and ".join(f"{r} ({'allowed' if d.allowed else 'denied'})" for r, d in call.asked)
    lines = [f"  call:      {call.action} on {asked} (reading: {call.reading})"]
    lines += [f"  asked as any of that type: {p} (the question named none)" for p in call.filled]
    lines += [f"  ignored:   {k} ({call.action} never carries it: absent)" for k in call.dropped]
    return lines
