"""Who can become whom: the escalation graph of one stack's plan, or of stacks sharing an account.

Nodes are the principals the plans create, the identities their trust policies name (services,
OIDC subjects, principals of other accounts), the instances the plans attach roles to or name in a
policy, one "new principal an attacker creates" per account and cloud (and one per boundary it
may be created behind), an *admin* sink per account and cloud, a role no plan creates per service a
role is passed to (AWS), and, for a principal with a ceiling (permissions boundary, control
policies), the principal "rewritten within its ceiling": what it holds once another writes its
policies. Edges are the documented ways to become another principal or gain its
permissions (PMapper's edge kinds and Rhino Security's AWS methods, with their RAM equivalents),
one builder function per kind (``_credential_edges``, ``_assume_edges``, ...). Every edge is
decided as the cloud authorises the call (``Grants.decide_call``: the action on every resource the
reference names for it, in the most permissive reading; an action the reference lacks on its one
resource, said in the step) with the modelled policies (system and managed policies from
``managed_policies/``; keys the cloud sets on every request asked with each candidate value) and
carries every resource asked, the deciding statements and a reason in words.

Queries (``paths``, ``findings``) are kept apart from building; the graph comes from plans alone.
"""

from __future__ import annotations

import itertools
import json
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from baseline.analysis import access, reference
from baseline.analysis import control_policies as controls
from baseline.analysis.access import Grants, Principal
from baseline.analysis.evaluator import (
    Decision,
    NamedPolicy,
    UnknownAction,
    WrongResourceType,
    action_matches,
    as_list,
    evaluate_trust,
)

# Keys the caller puts in its own request (it picks the value): a denied question is asked again
# with each value a statement names for them. Keys the cloud or the resource sets are not here.
# iam:PermissionsBoundary is the boundary a CreateRole/CreateUser names (the caller's choice), the
# policy of an Attach*Policy call is iam:PolicyARN, the cluster a RunTask/StartTask names is
# ecs:cluster. RAM's reference rows for its identity writes name no condition key: nothing to add.
CALLER_SET = (
    "ecs:commandrunas",
    "ecs:cluster",
    "iam:passedtoservice",
    "iam:permissionsboundary",
    "iam:policyarn",
    "sts:externalid",
    "acs:requesttag/",
    "aws:requesttag/",
)
# A name no stack gives: "a user/role/group the account already has" (its administrators among them).
OTHER = "baseline-any-other"
ADMIN_POLICY = {
    "alicloud": "AdministratorAccess",
    "aws": "arn:aws:iam::aws:policy/AdministratorAccess",
}
EXCEPTIONS_FILE = Path(__file__).resolve().parent / "exceptions.yaml"


@dataclass(frozen=True)
class Node:
    id: str
    # user | role | service | federated | external | instance | new | admin, or rewritten: a
    # principal whose policies another wrote, holding what its ceilings allow
    kind: str
    cloud: str
    account: str
    name: str
    environment: str  # the environment whose plan creates it ("" for identities no plan creates)
    stack: str = ""
    # What the principal is in its scenario: the plan's resource name (patch-management-automation-
    # role), the same whatever the stack, its names or its prefix are ("" for what no plan creates).
    role: str = ""

    @property
    def label(self) -> str:
        where = f" ({self.environment})" if self.environment else ""
        if self.kind == "admin":
            return f"admin of {self.cloud} account {self.account}"
        if self.kind == "new":
            return f"a {self.name} in {self.cloud} account {self.account}"
        return f"{self.kind} {self.name}{where}"


@dataclass(frozen=True)
class Step:
    """One edge: ``source`` can become (or gain the permissions of) ``target``."""

    source: str
    target: str
    kind: str
    reason: str
    requests: tuple[tuple[str, str], ...]  # (action, resource) asked
    statements: tuple[str, ...]  # the deciding statements' labels
    documents: tuple[Mapping[str, Any], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "from": self.source,
            "to": self.target,
            "kind": self.kind,
            "reason": self.reason,
            "requests": [{"action": a, "resource": r} for a, r in self.requests],
            "decidedBy": list(self.statements),
            "statements": list(self.documents),
        }


@dataclass
class Graph:
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Step] = field(default_factory=list)
    stacks: tuple[str, ...] = ()

    def add(self, node: Node) -> Node:
        return self.nodes.setdefault(node.id, node)

    @cached_property
    def out(self) -> dict[str, list[Step]]:
        found: dict[str, list[Step]] = {}
        for edge in self.edges:
            found.setdefault(edge.source, []).append(edge)
        return found


# --- the stacks' principals, accounts and ARNs ----------------------------------------------------
@dataclass(frozen=True)
class Source:
    """One plan and where it deploys: ``accounts``/``regions`` per cloud from its settings."""

    stack: str
    plan: Mapping[str, Any]
    accounts: Mapping[str, str]
    regions: Mapping[str, str]

    @cached_property
    def environment(self) -> str:
        return str((self.plan.get("outputs") or {}).get("environment") or self.stack)


def source_of(stack: str, path: Path | None = None) -> Source:
    """Render ``stack`` in-process (as ``plan`` does) and read its accounts from its settings."""
    from baseline.config import load_stack_file, resolve
    from baseline.plan import render
    from baseline.stackfile import checked_stack_file

    resolved = resolve(load_stack_file(path or checked_stack_file(stack, None), stack))
    return source_from(stack, render(resolved, stack), resolved.settings)


def source_from(stack: str, plan: Mapping[str, Any], settings: Any) -> Source:
    accounts, regions = {}, {}
    for cloud in ("alicloud", "aws"):
        if (found := getattr(settings, cloud, None)) is not None:
            accounts[cloud], regions[cloud] = found.account_id, found.region
    return Source(stack, plan, accounts, regions)


def _provider(source: Source, resource: Mapping[str, Any]) -> tuple[str, str]:
    """(account, region) of the provider a resource is registered with."""
    cloud = resource["type"].split(":", 1)[0]
    provider = next((r for r in source.plan["resources"] if r["name"] == resource.get("provider")), None)
    inputs = provider["inputs"] if provider else {}
    account = source.accounts.get(cloud, "")
    if allowed := inputs.get("allowedAccountIds"):
        account = (json.loads(allowed) if isinstance(allowed, str) else allowed)[0]
    elif assume := inputs.get("assumeRole"):
        arn = json.loads(assume)["roleArn"] if isinstance(assume, str) else assume["roleArn"]
        account = arn.split(":")[3]
    return account, str(inputs.get("region") or source.regions.get(cloud, ""))


def arn(cloud: str, account: str, kind: str, name: str, region: str = "") -> str:
    if cloud == "alicloud":
        service = {"user": "ram", "role": "ram", "group": "ram", "policy": "ram", "instance": "ecs"}[kind]
        return f"acs:{service}:{region if service == 'ecs' else ''}:{account}:{kind}/{name}"
    service = "ec2" if kind == "instance" else "iam"
    return f"arn:aws:{service}:{region if service == 'ec2' else ''}:{account}:{kind}/{name}"


@dataclass(frozen=True)
class Actor:
    """A principal a plan creates, with its grants and where it lives."""

    node: Node
    principal: Principal
    grants: Grants
    region: str
    arn: str
    # What bounds every policy it may be given (an AWS permissions boundary, the control policies
    # of its account): each a list of documents; its effective grants are within all of them.
    ceilings: tuple[tuple[NamedPolicy, ...], ...] = ()
    boundary_arn: str = ""  # the permissions boundary it has (IAM sets iam:PermissionsBoundary from it)


def _pipeline_environments(source: Source) -> dict[str, str]:
    """The pipeline's roles (lower-case ARN) -> the environment each deploys or previews."""
    found = {}
    variables = ((source.plan.get("outputs") or {}).get("pipeline") or {}).get("githubVariables") or {}
    for github_environment, values in variables.items():
        for key, value in values.items():
            if key.endswith("_ROLE_ARN"):
                found[str(value).lower()] = github_environment.removesuffix("-preview")
    return found


def _environment_of(source: Source, resource: Mapping[str, Any], the_arn: str) -> str:
    if (deploys := _pipeline_environments(source).get(the_arn.lower())) is not None:
        return deploys
    tags = resource["inputs"].get("tags") or {}
    return str(tags.get("environment") or tags.get("Environment") or source.environment)


def _actors(source: Source) -> list[Actor]:
    found = []
    for principal in access.principals(source.plan):
        resource = next(r for r in source.plan["resources"] if r["name"] == principal.resource)
        account, region = _provider(source, resource)
        the_arn = arn(principal.cloud, account, principal.kind, principal.name)
        node = Node(
            the_arn,
            principal.kind,
            principal.cloud,
            account,
            principal.name,
            _environment_of(source, resource, the_arn),
            source.stack,
            principal.resource,
        )
        grants = access.grants_of(source.plan, principal)
        ceilings = (tuple(grants.boundary),) if grants.boundary is not None else ()
        boundary = (
            str(resource["inputs"].get("permissionsBoundary") or "") if principal.cloud == "aws" else ""
        )
        found.append(Actor(node, principal, grants, region, the_arn, ceilings, boundary))
    return found


# --- ceilings: Resource Directory control policies ------------------------------------------------
CONTROL_POLICY = controls.CONTROL_POLICY
CONTROL_ATTACHMENT = controls.CONTROL_POLICY_ATTACHMENT


def control_policies(sources: Sequence[Source]) -> dict[str, tuple[NamedPolicy, ...]]:
    """Member account id -> the control policies the plans attach to it, with FullAliyunAccess:
    one ceiling on every RAM user and role of that account, read as ``control_policies`` reads one
    plan (what they bind and why is said there). An attachment to a folder is not read: the plans
    say which accounts a folder holds nowhere."""
    found: dict[str, list[NamedPolicy]] = {}
    for source in sources:
        for account, policies in controls.attached(source.plan).items():
            if account.isdigit():
                held = found.setdefault(account, [controls.FULL_ALIYUN_ACCESS])
                held += [p for p in policies if p not in held]
    return {account: tuple(held) for account, held in found.items()}


@dataclass
class _Caller(Grants):
    """Grants whose every request carries the keys the cloud sets from the caller itself: asked
    with the one value the caller has, never as "some value" (a control policy that exempts the
    deploy role by acs:PrincipalARN binds every other identity of the account)."""

    own: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def _given(self, context: Mapping[str, Any] | None) -> dict[str, Any]:
        return {**(context or {}), **{k: list(v) for k, v in self.own}}

    def decide(self, action: str, resource: str, context: Mapping[str, Any] | None = None) -> Decision:
        return super().decide(action, resource, self._given(context))

    def decide_call(self, action, resources, context=None, **options):  # type: ignore[override]
        return super().decide_call(action, resources, self._given(context), **options)


def _ram_caller(grants: Grants, node: Node) -> _Caller:
    """``grants`` with the acs:PrincipalARN of ``node`` (a RAM user or role) on every request."""
    own = ((controls.PRINCIPAL_ARN, (controls.principal_arn(node.account, node.kind, node.name),)),)
    return _Caller(
        grants.principal, grants.policies, grants.boundary, grants.not_evaluated, grants.unmodelled, own=own
    )


def _allows_all(ceiling: Sequence[NamedPolicy]) -> bool:
    return any(
        s.get("Effect") == "Allow"
        and as_list(s.get("Action")) == ["*"]
        and as_list(s.get("Resource")) == ["*"]
        and not s.get("Condition")
        for p in ceiling
        for s in access._statements(p.document)
    )


def _intersection(ceilings: Sequence[Sequence[NamedPolicy]]) -> list[NamedPolicy]:
    """One document list within every ceiling. A ceiling that allows everything bounds through its
    Denies only, kept beside the other's statements; were two allow-lists given, the first bounds
    and the others add their Denies (the permissive reading, as every edge is asked)."""
    lists = [c for c in ceilings if not _allows_all(c)] or [ceilings[0]]
    base = list(lists[0])
    for ceiling in ceilings:
        if ceiling is lists[0]:
            continue
        for policy in ceiling:
            denies = [s for s in access._statements(policy.document) if s.get("Effect") == "Deny"]
            if denies:
                base.append(NamedPolicy(policy.name, {**policy.document, "Statement": denies}))
    return base


def _bounded(actor: Actor, control: Mapping[str, tuple[NamedPolicy, ...]]) -> Actor:
    """The actor with its account's control policies as one more ceiling (RAM users and roles)."""
    held = control.get(actor.node.account) if actor.node.cloud == "alicloud" else None
    if not held:
        return actor
    ceilings = (*actor.ceilings, held)
    grants = _ram_caller(replace(actor.grants, boundary=_intersection(ceilings)), actor.node)
    return replace(actor, grants=grants, ceilings=ceilings)


@dataclass(frozen=True)
class Instance:
    node: Node
    region: str
    roles: tuple[str, ...]  # ARNs of the roles attached


def _instances(source: Source) -> list[Instance]:
    """Instances the plan attaches roles to, and those its policies name one by one."""
    found: dict[str, tuple[str, str, str, set[str]]] = {}
    for r in source.plan["resources"]:
        if r["type"] == "alicloud:ecs/ramRoleAttachment:RamRoleAttachment":
            account, region = _provider(source, r)
            key = arn("alicloud", account, "instance", r["inputs"]["instanceId"], region)
            found.setdefault(key, (account, region, r["inputs"]["instanceId"], set()))[3].add(
                arn("alicloud", account, "role", r["inputs"]["ramRoleName"])
            )
    for r in source.plan["resources"]:
        document = (
            access._document(r["inputs"].get("policyDocument")) if "policyDocument" in r["inputs"] else None
        )
        for statement in access._statements(document or {}):
            for resource in as_list(statement.get("Resource")):
                parts = str(resource).split(":", 4)
                if len(parts) == 5 and parts[1] == "ecs" and parts[4].startswith("instance/"):
                    name = parts[4].removeprefix("instance/")
                    if parts[2] and parts[3] and not any(c in resource for c in "*?"):
                        found.setdefault(str(resource), (parts[3], parts[2], name, set()))
    return [
        Instance(
            Node(key, "instance", "alicloud", account, name, source.environment, source.stack),
            region,
            tuple(sorted(roles)),
        )
        for key, (account, region, name, roles) in sorted(found.items())
    ]


# --- asking the evaluator -------------------------------------------------------------------------
def _caller_values(grants: Grants, action: str) -> dict[str, list[str]]:
    """Values the statements about ``action`` name for keys the caller sets (see ``CALLER_SET``)."""
    # Kept with the grants' decided calls (every edge kind asks again, denied calls most of all).
    key = ("caller values", action.lower(), len(grants.policies), len(grants.boundary or ()))
    if key not in grants._calls:
        grants._calls[key] = _caller_values_of(grants, action)
    return grants._calls[key]


def _caller_values_of(grants: Grants, action: str) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for policy in [*grants.policies, *(grants.boundary or [])]:
        for statement in access._statements(policy.document):
            if "Action" in statement and not any(
                action_matches(str(a), action) for a in as_list(statement["Action"])
            ):
                continue
            for operator, block in (statement.get("Condition") or {}).items():
                if "not" in operator.lower() or not isinstance(block, Mapping):
                    continue
                for key, given in block.items():
                    if key.lower().startswith(CALLER_SET):
                        found = values.setdefault(key, [])
                        found += [str(v) for v in as_list(given) if str(v) not in found]
    return values


@dataclass(frozen=True)
class Asked:
    """One call an edge rests on, decided: allowed only when every resource the reference
    authorises it on is (``evaluator.evaluate_call``, permissive: the most permissive reading)."""

    action: str
    allowed: bool
    requests: tuple[tuple[str, str, Decision], ...]  # (action, resource, decision) per resource asked
    note: str = ""  # how the call was asked, when that is worth saying
    filled: tuple[str, ...] = ()  # types the question left out, asked as "any of that type"
    chosen: tuple[tuple[str, str], ...] = ()  # caller-set keys and the value the call was allowed with

    @property
    def decision(self) -> Decision | None:
        return next(
            (d for _, _, d in self.requests if not d.allowed), self.requests[-1][2] if self.requests else None
        )


def _ask_once(
    actor_grants: Grants,
    action: str,
    resources: Sequence[str],
    context: Mapping[str, list[str]] | None,
    scope: tuple[str, str],
) -> Asked:
    try:
        call = actor_grants.decide_call(action, resources, context, mode="permissive", scope=scope)
    except UnknownAction:
        # No reference row: the old question, the action on its one resource, and the step says so.
        decision = actor_grants.decide(action, resources[0], context)
        note = f"{action} is in no authorization reference row: asked on {resources[0]} only"
        return Asked(
            action,
            decision.allowed,
            ((action, resources[0], decision),),
            note,
            ("*",) * (resources[0] == "*"),
        )
    except WrongResourceType as error:
        return Asked(action, False, (), f"no such call: {error}")
    notes = []
    if call.reading != "current":
        notes.append(f"the {call.reading} reading of {call.action} (the most permissive)")
    if call.filled:
        notes.append(f"asked as any of that type: {', '.join(call.filled)}")
    if call.dropped:
        notes.append(f"{', '.join(call.dropped)} never carried by {call.action}: absent")
    requests = tuple((call.action, r, d) for r, d in call.asked)
    return Asked(call.action, call.allowed, requests, "; ".join(notes), call.filled)


def ask(
    grants: Grants,
    action: str,
    resources: str | Sequence[str],
    context: Mapping[str, list[str]] | None = None,
    scope: tuple[str, str] = ("", ""),
    settled: tuple[str, ...] = (),
) -> Asked:
    """The call as the cloud asks it; when it is denied, asked again with each value the caller
    could send for a key it sets itself (``CALLER_SET``), less the ``settled`` keys (lower case:
    the request carries them as the target has them, or not at all)."""
    resources = (resources,) if isinstance(resources, str) else tuple(resources)
    first = _ask_once(grants, action, resources, context, scope)
    if first.allowed:
        return first
    given_keys = {k.lower() for k in (context or {})} | set(settled)
    choices = {k: v for k, v in _caller_values(grants, action).items() if k.lower() not in given_keys}
    keys = sorted(choices)
    for values in itertools.product(*(choices[k] for k in keys)):
        given = {**(context or {}), **{k: [v] for k, v in zip(keys, values, strict=True)}}
        tried = _ask_once(grants, action, resources, given, scope)
        if tried.allowed:
            return replace(tried, chosen=tuple(zip(keys, values, strict=True)))
    return first


def ask_any(
    actor: Actor, action: str, fixed: Sequence[str] = (), context: Mapping[str, list[str]] | None = None
) -> Asked:
    """The call on ``fixed`` plus, for the other resources it is authorised on, any of that type:
    the whole type first, then each pattern the principal's Allow statements name (a call on one
    named instance is a call the principal can make)."""
    scope = (actor.region, actor.node.account)
    first = ask(actor.grants, action, fixed or ("*",), context, scope)
    if first.allowed or not first.filled:
        return first  # every resource the call needs was given: nothing else to try
    for pattern in actor.grants.allow_patterns():
        if pattern in fixed:
            continue
        tried = ask(actor.grants, action, (*fixed, pattern), context, scope)
        if tried.allowed:
            return tried
    return first


def _statements(grants: Grants, decisions: Iterable[Decision]) -> tuple[tuple[str, ...], tuple[Any, ...]]:
    labels, documents = [], []
    for decision in decisions:
        for ref in decision.deciding:
            if ref.label not in labels:
                labels.append(ref.label)
                documents.append(access.statement_of(grants, ref) or {})
    return tuple(labels), tuple(documents)


def _step(actor: Actor, target: str, kind: str, reason: str, asked: Sequence[Asked]) -> Step:
    requests = [r for call in asked for r in call.requests]
    labels, documents = _statements(actor.grants, (d for _, _, d in requests))
    notes = [call.note for call in asked if call.note]
    reason = reason + "".join(f" ({note})" for note in notes)
    return Step(actor.node.id, target, kind, reason, tuple((a, r) for a, r, _ in requests), labels, documents)


def _first(
    actor: Actor, actions: Sequence[str], resource: str, context: Mapping[str, list[str]] | None = None
) -> Asked | None:
    """The first of ``actions`` the actor may call on ``resource`` (the call's other resources:
    any of their type)."""
    for action in actions:
        found = ask_any(actor, action, (resource,), context)
        if found.allowed:
            return found
    return None


# --- edge kinds: one builder each -----------------------------------------------------------------
CREDENTIAL_ACTIONS = {
    "alicloud": ("ram:CreateAccessKey", "ram:CreateLoginProfile", "ram:UpdateLoginProfile"),
    "aws": ("iam:CreateAccessKey", "iam:CreateLoginProfile", "iam:UpdateLoginProfile"),
}


def _credential_edges(actor: Actor, users: Iterable[Node], graph: Graph) -> None:
    """Credentials: an AccessKey or console password for a user is that user."""
    cloud = actor.node.cloud
    for user in users:
        if user.id == actor.node.id:
            continue
        found = _first(actor, CREDENTIAL_ACTIONS[cloud], user.id)
        if found:
            graph.edges.append(
                _step(
                    actor,
                    user.id,
                    "credentials",
                    f"can {found.action} for {user.name}: it signs in as that user",
                    [found],
                )
            )
    other = arn(cloud, actor.node.account, "user", OTHER)
    if found := _first(actor, CREDENTIAL_ACTIONS[cloud], other):
        graph.edges.append(
            _step(
                actor,
                _admin(graph, actor.node).id,
                "credentials",
                f"can {found.action} for users no stack creates (the account's administrators among them)",
                [found],
            )
        )


def _caller_test(actor: Actor):
    own = {actor.arn.lower(), actor.node.account}
    root = {f"acs:ram::{actor.node.account}:root", f"arn:aws:iam::{actor.node.account}:root"}

    def test(kind: str, value: str) -> bool:
        return kind in ("RAM", "AWS") and (value.lower() in own or value in root)

    return test


def _assume_edges(actor: Actor, roles: Iterable[tuple[Node, NamedPolicy | None]], graph: Graph) -> None:
    """Assume: the caller's permission and the target's trust both allow; or re-trust the role."""
    cloud = actor.node.cloud
    update = "ram:UpdateRole" if cloud == "alicloud" else "iam:UpdateAssumeRolePolicy"
    for role, trust in roles:
        if role.id == actor.node.id:
            continue
        permission = ask(actor.grants, "sts:AssumeRole", role.id, None, (actor.region, actor.node.account))
        if permission.allowed and trust is not None:
            trusted = evaluate_trust(trust, "sts:AssumeRole", _caller_test(actor), _trust_context(trust))
            if trusted.allowed:
                step = _step(
                    actor,
                    role.id,
                    "assume",
                    f"may sts:AssumeRole {role.name}, and {role.name}'s trust names it",
                    [permission],
                )
                graph.edges.append(
                    Step(
                        step.source,
                        step.target,
                        step.kind,
                        step.reason,
                        step.requests,
                        step.statements + tuple(r.label for r in trusted.deciding),
                        step.documents,
                    )
                )
        if found := _first(actor, (update,), role.id):
            graph.edges.append(
                _step(
                    actor,
                    role.id,
                    "re-trust",
                    f"can {update} {role.name}: it writes a trust naming itself",
                    [found],
                )
            )
    other = arn(cloud, actor.node.account, "role", OTHER)
    if found := _first(actor, (update,), other):
        graph.edges.append(
            _step(
                actor,
                _admin(graph, actor.node).id,
                "re-trust",
                f"can {update} roles no stack creates (the account's administrator role among them)",
                [found],
            )
        )


def _trust_context(trust: NamedPolicy) -> dict[str, list[str]]:
    """A caller presents what the trust asks of it (an ExternalId it was given)."""
    context: dict[str, list[str]] = {}
    for statement in access._statements(trust.document):
        for block in (statement.get("Condition") or {}).values():
            for key, values in block.items():
                if key.lower() == "sts:externalid":
                    context[key] = [str(v) for v in as_list(values)][:1]
    return context


WRITES = {
    "alicloud": {"user": ("ram:AttachPolicyToUser",), "role": ("ram:AttachPolicyToRole",)},
    "aws": {"user": ("iam:AttachUserPolicy",), "role": ("iam:AttachRolePolicy",)},
}
# An inline policy is a document of the writer's choosing, no policy object needed (IAM only).
PUTS = {"user": "iam:PutUserPolicy", "role": "iam:PutRolePolicy"}
CREATE_POLICY = {"alicloud": "ram:CreatePolicy", "aws": "iam:CreatePolicy"}
# A new version may be made the default in the same call (SetAsDefault): it replaces the document.
VERSION_POLICY = {"alicloud": "ram:CreatePolicyVersion", "aws": "iam:CreatePolicyVersion"}


@dataclass(frozen=True)
class CustomPolicy:
    """A policy object of an account (``arn``) with the document the plans give it."""

    name: str
    arn: str
    document: Mapping[str, Any] | None


def custom_policies(sources: Sequence[Source]) -> dict[tuple[str, str], list[CustomPolicy]]:
    """(cloud, account) -> the custom policies the plans create there."""
    found: dict[tuple[str, str], list[CustomPolicy]] = {}
    for source in sources:
        for r in source.plan["resources"]:
            if r["type"] == access.ALI_POLICY:
                account, _ = _provider(source, r)
                name = str(r["inputs"].get("policyName", ""))
                the_arn = f"acs:ram:*:{account}:policy/{name}"
                document = access._document(r["inputs"].get("policyDocument"))
                found.setdefault(("alicloud", account), []).append(CustomPolicy(name, the_arn, document))
            elif r["type"] == access.AWS_POLICY:
                account, _ = _provider(source, r)
                name = str(r["inputs"].get("name", ""))
                the_arn = f"arn:aws:iam::{account}:policy{r['inputs'].get('path') or '/'}{name}"
                document = access._document(r["inputs"].get("policy"))
                found.setdefault(("aws", account), []).append(CustomPolicy(name, the_arn, document))
    return found


def _names_for(actor: Actor, kind: str) -> list[str]:
    """Names the actor may give a new ``kind`` (user, role, policy): one for each wildcard pattern its
    Allow statements name for that type in its account ("pr*" -> "prx"), and one no stack gives."""
    names = []
    for pattern in actor.grants.allow_patterns():
        head, _, name = pattern.rpartition(f":{kind}/")
        if head and head.rsplit(":", 1)[-1] in (actor.node.account, "*") and any(c in name for c in "*?"):
            names.append(name.replace("*", "x").replace("?", "x").replace("/", ""))
    return [*dict.fromkeys(names), OTHER]


@dataclass(frozen=True)
class Writable:
    """A policy the actor can fill with a document of its choosing: made new, or re-versioned."""

    name: str
    arn: str
    asked: Asked
    existing: bool


def _writable(actor: Actor, policies: Sequence[CustomPolicy]) -> list[Writable]:
    cloud, account = actor.node.cloud, actor.node.account
    found = []
    for policy in policies:
        if asked := _first(actor, (VERSION_POLICY[cloud],), policy.arn):
            found.append(Writable(policy.name, policy.arn, asked, True))
    for name in _names_for(actor, "policy"):
        the_arn = (
            f"acs:ram:*:{account}:policy/{name}"
            if cloud == "alicloud"
            else arn(cloud, account, "policy", name)
        )
        if the_arn in {p.arn for p in policies}:
            continue
        created = ask_any(actor, CREATE_POLICY[cloud], (the_arn,))
        if created.allowed:
            found.append(Writable(name, the_arn, created, False))
            break
    return found


def _writes(
    actor: Actor,
    target: Node,
    attached: Sequence[str],
    writable: Sequence[Writable],
    boundary: str = "",
) -> tuple[str, str, list[Asked]] | None:
    """How ``actor`` gives ``target`` grants of its choosing, if it can: (edge kind, reason, calls).
    Re-version a policy attached to it; put an inline policy; attach the account's administrator
    policy or a policy it writes. RAM authorises an attach on the principal and on the policy
    (``acs:ram:*:system:policy/{name}`` for a system one): one call on both; IAM on the principal,
    with the policy as ``iam:PolicyARN`` and the target's boundary as ``iam:PermissionsBoundary``."""
    cloud, scope = actor.node.cloud, (actor.region, actor.node.account)
    kind = target.kind if target.kind in ("user", "role") else "role"
    context = {"iam:PermissionsBoundary": [boundary]} if cloud == "aws" and boundary else None
    # IAM sets iam:PermissionsBoundary of a Put/Attach from the target's boundary: none, no key.
    settled = ("iam:permissionsboundary",)
    for policy in writable:
        if policy.existing and policy.name in attached:
            return (
                "policy-version",
                f"can {policy.asked.action} on {policy.name}, attached to {target.name}: a default "
                "version of its choosing",
                [policy.asked],
            )
    if cloud == "aws":
        put = ask(actor.grants, PUTS[kind], target.id, context, scope, settled)
        if put.allowed:
            return "policy-write", f"can {put.action} on {target.name} with a document of its choosing", [put]
    admin = ADMIN_POLICY[cloud] if cloud == "aws" else f"acs:ram:*:system:policy/{ADMIN_POLICY[cloud]}"
    options = [
        (admin, ADMIN_POLICY[cloud].rsplit("/", 1)[-1], []),
        *((w.arn, w.name, [w.asked]) for w in writable),
    ]
    for policy_arn, name, before in options:
        resources = [target.id] + ([policy_arn] if cloud == "alicloud" else [])
        given = {**(context or {}), "iam:PolicyARN": [policy_arn]} if cloud == "aws" else None
        for action in WRITES[cloud][kind]:
            attach = ask(actor.grants, action, resources, given, scope, settled)
            if attach.allowed:
                how = f"writes {name} and " if before else ""
                return "policy-write", f"{how}can {action} {name} to {target.name}", [*before, attach]
    return None


CREATE_ACTIONS = {
    "alicloud": (("user", "ram:CreateUser"), ("role", "ram:CreateRole")),
    "aws": (("user", "iam:CreateUser"), ("role", "iam:CreateRole")),
}


def _new_principal_edges(world: _World, actor: Actor) -> None:
    """Create a user or role and give it grants: a principal of the creator's choosing, asked with
    each name and boundary the creator may choose. Without a boundary, or behind one the creator
    itself writes, it may hold anything (admin); else it holds what the boundary allows."""
    cloud, account, graph = actor.node.cloud, actor.node.account, world.graph
    writable = world.writable(actor)
    for kind, action in CREATE_ACTIONS[cloud]:
        for name in _names_for(actor, kind):
            target = Node(arn(cloud, account, kind, name), kind, cloud, account, name, "")
            created = ask(actor.grants, action, target.id, None, (actor.region, account))
            if not created.allowed:
                continue
            boundary = next((v for k, v in created.chosen if k.lower() == "iam:permissionsboundary"), "")
            wrote = _writes(actor, target, (), writable, boundary)
            if wrote is None:
                continue
            own = next((w for w in writable if w.arn == boundary), None)
            steps = [created, *wrote[2], *([own.asked] if own else [])]
            if cloud == "alicloud" and account in world.control:
                new = world.controlled_new(actor, kind, name)
                why = (
                    f"can {action} {name} and {wrote[1]}: it holds what the account's control policies allow"
                )
                graph.edges.append(_step(actor, new.id, "new-principal", why, steps))
                break
            if boundary and own is None:
                new = world.bounded_new(actor, kind, boundary)
                why = f"can {action} {name} behind {boundary.rsplit('/', 1)[-1]}, and {wrote[1]}"
                graph.edges.append(_step(actor, new.id, "new-principal", why, steps))
                break
            new = _new(graph, actor.node)
            behind = f" behind {boundary.rsplit('/', 1)[-1]}, which it writes itself," if own else ""
            graph.edges.append(
                _step(actor, new.id, "new-principal", f"can {action} {name}{behind} and {wrote[1]}", steps)
            )
            graph.edges.append(
                Step(
                    new.id,
                    _admin(graph, actor.node).id,
                    "new-principal",
                    f"its creator chooses what the new {kind} holds, within no ceiling it does not write",
                    (),
                    (),
                )
            )
            break


def _write_edges(world: _World, actor: Actor) -> bool:
    """A principal the actor is (itself) or becomes (a path of the graph) whose grants it writes:
    the actor holds what that principal's ceiling allows (admin when it has none)."""
    graph, added = world.graph, False
    graph.__dict__.pop("out", None)
    reached = shortest_paths(graph, actor.node.id)
    for target in world.same_account(actor):
        key = (actor.node.id, target.node.id)
        if target.node.id not in reached or key in world.written:
            continue
        world.written.add(key)
        attached = [p.name for p in target.grants.policies if not p.name.endswith(")")]
        wrote = _writes(actor, target.node, attached, world.writable(actor), target.boundary_arn)
        if wrote is None:
            continue
        sink = world.ceiling(target)
        whom = "itself" if target.node.id == actor.node.id else f"{target.node.name}, which it becomes,"
        within = "within its ceiling" if sink.kind != "admin" else "anything"
        kind, reason, asked = wrote
        graph.edges.append(_step(actor, sink.id, kind, f"{reason}: {whom} then holds {within}", asked))
        added = True
    return added


GROUP_ACTIONS = {"alicloud": "ram:AddUserToGroup", "aws": "iam:AddUserToGroup"}


def _group_edges(actor: Actor, graph: Graph) -> None:
    """Joining a group the account has (its administrators' among them) gains that group's
    grants; the plans create no group, so any group is one no stack models."""
    action = GROUP_ACTIONS[actor.node.cloud]
    group = arn(actor.node.cloud, actor.node.account, "group", OTHER)
    if actor.node.kind == "user" and (found := _first(actor, (action,), group)):
        graph.edges.append(
            _step(
                actor,
                _admin(graph, actor.node).id,
                "group",
                f"can {action} on groups no stack creates (the administrators' group among them)",
                [found],
            )
        )


PASS_TO = {
    # (pass-role action, service the role is passed to, the compute actions that use it)
    "aws": (
        ("ecs-tasks.amazonaws.com", ("ecs:RunTask", "ecs:RegisterTaskDefinition", "ecs:UpdateService")),
        ("cloudformation.amazonaws.com", ("cloudformation:CreateStack",)),
        ("lambda.amazonaws.com", ("lambda:CreateFunction",)),
    ),
    "alicloud": (
        ("eci.aliyuncs.com", ("eci:CreateContainerGroup",)),
        ("ecs.aliyuncs.com", ("ecs:AttachInstanceRamRole",)),
        ("oos.aliyuncs.com", ("oos:StartExecution",)),
    ),
}
# Services that run as a role their trust names under another service's name.
TRUSTED_AS = {"eci.aliyuncs.com": ("eci.aliyuncs.com", "ecs.aliyuncs.com")}


def _compute_resources(actor: Actor, action: str, role: Node) -> list[str]:
    """The resources a compute call that hands over ``role`` names besides "any of their type"."""
    region = actor.region
    account = actor.node.account
    if action == "oos:StartExecution":
        # TemplateContent/TemplateURL run an inline template: the request names a new execution
        # and, in the older page's reading, a template. One call on both: each reading asks the
        # resources it is authorised on (reference/alicloud/oos.yaml keeps both readings).
        return [
            f"acs:oos:{region}:{account}:execution/{OTHER}",
            f"acs:oos:{region}:{account}:template/{OTHER}",
        ]
    if action == "ecs:AttachInstanceRamRole":
        return [role.id]  # authorised on the instance and the role attached
    if region and action in NAMED_BY_CALLER:
        # A name of the caller's choosing in its own region (a statement may allow only that one).
        return [NAMED_BY_CALLER[action].format(region=region, account=account, other=OTHER)]
    return []


# What an AWS compute call creates or names, by a name the caller chooses.
NAMED_BY_CALLER = {
    "cloudformation:CreateStack": "arn:aws:cloudformation:{region}:{account}:stack/{other}/{other}",
    "lambda:CreateFunction": "arn:aws:lambda:{region}:{account}:function:{other}",
    "ecs:RunTask": "arn:aws:ecs:{region}:{account}:task-definition/{other}:1",
}


def _pass_role_edges(actor: Actor, roles: Iterable[tuple[Node, NamedPolicy | None]], graph: Graph) -> None:
    """Pass a role to compute the caller controls: the code it runs holds the role."""
    cloud = actor.node.cloud
    pass_action = "ram:PassRole" if cloud == "alicloud" else "iam:PassRole"
    scope = (actor.region, actor.node.account)
    for role, trust in roles:
        if role.id == actor.node.id:
            continue
        for service, actions in PASS_TO[cloud]:
            if trust is not None:  # the trust first: it is the cheaper question
                names = TRUSTED_AS.get(service, (service,))

                def service_test(kind: str, value: str, names=names) -> bool:
                    return kind == "Service" and value in names

                if not evaluate_trust(trust, "sts:AssumeRole", service_test).allowed:
                    continue
            context = {"iam:PassedToService": [service]} if cloud == "aws" else None
            passed = ask(actor.grants, pass_action, role.id, context, scope)
            if not passed.allowed:
                continue
            for action in actions:
                found = ask_any(actor, action, _compute_resources(actor, action, role), _region(actor, cloud))
                if found.allowed:
                    graph.edges.append(
                        _step(
                            actor,
                            role.id,
                            "pass-role",
                            f"can {pass_action} {role.name} to {service} and {action}: "
                            f"the code it runs there holds {role.name}",
                            [passed, found],
                        )
                    )
                    break


def _region(actor: Actor, cloud: str) -> dict[str, list[str]] | None:
    return {"aws:RequestedRegion": [actor.region]} if cloud == "aws" and actor.region else None


COMMAND_ACTIONS = (
    "ecs:RunCommand",
    "ecs:InvokeCommand",
    "ecs:SendFile",
    "ecs:DescribeInstanceVncUrl",
    "ecs:ModifyInstanceAttribute",
)


def _command_edges(actor: Actor, instances: Iterable[Instance], graph: Graph) -> None:
    """Commands on an instance (or its console, or its user data) run as the instance's role."""
    if actor.node.cloud != "alicloud":
        return
    for instance in instances:
        if instance.node.account != actor.node.account:
            continue
        if found := _first(actor, COMMAND_ACTIONS, instance.node.id):
            graph.edges.append(
                _step(
                    actor,
                    instance.node.id,
                    "command",
                    f"can {found.action} on {instance.node.name}: code there reads the instance's role "
                    "credentials from the metadata service",
                    [found],
                )
            )


# Tagging an instance: the calls that set a tag on an existing instance (ECS RAM page; AddTags is
# the deprecated form, its row unsettled).
TAG_ACTIONS = ("ecs:TagResources", "ecs:AddTags")


def _granting_tags(grants: Grants) -> list[tuple[str, str]]:
    """(key, value) of each instance tag the grants' Allow statements require (acs:ResourceTag)."""
    found: list[tuple[str, str]] = []
    for policy in grants.policies:
        for statement in access._statements(policy.document):
            if statement.get("Effect") != "Allow":
                continue
            for operator, block in (statement.get("Condition") or {}).items():
                if "not" in operator.lower() or not isinstance(block, Mapping):
                    continue
                for key, given in block.items():
                    if key.lower().startswith("acs:resourcetag/"):
                        tag = key.split("/", 1)[1]
                        found += [(tag, str(v)) for v in as_list(given) if (tag, str(v)) not in found]
    return found


def _tag_edges(actor: Actor, instances: Iterable[Instance], graph: Graph) -> None:
    """A tag that grants commands is a credential: who may set it on an instance may then run
    commands there, and through the instance reach its role."""
    if actor.node.cloud != "alicloud":
        return
    tags = _granting_tags(actor.grants)
    for instance in instances:
        if instance.node.account != actor.node.account:
            continue
        for key, value in tags:
            command = _first(actor, COMMAND_ACTIONS, instance.node.id, {f"acs:ResourceTag/{key}": [value]})
            if command is None:
                continue
            setting = {f"acs:RequestTag/{key}": [value], "acs:TagKeys": [key]}
            if tagged := _first(actor, TAG_ACTIONS, instance.node.id, setting):
                graph.edges.append(
                    _step(
                        actor,
                        instance.node.id,
                        "tag",
                        f"can {tagged.action} {key}={value} on {instance.node.name}, which grants "
                        f"{command.action} there: code there reads the instance's role credentials",
                        [tagged, command],
                    )
                )
                break


def _exec_edges(
    actor: Actor, roles: Iterable[tuple[Node, NamedPolicy | None]], source: Source, graph: Graph
) -> None:
    """ExecContainerCommand into a container group running as a role reaches that role."""
    if actor.node.cloud != "alicloud":
        return
    for role, trust in roles:
        if role.stack != source.stack or trust is None:
            continue
        if not evaluate_trust(
            trust, "sts:AssumeRole", lambda k, v: k == "Service" and v in TRUSTED_AS["eci.aliyuncs.com"]
        ).allowed:
            continue
        group = f"acs:eci:{actor.region}:{actor.node.account}:containergroup/{OTHER}"
        # A group of this environment carries its environment tag (the guide's env=<environment>).
        context = {"acs:ResourceTag/env": [source.environment]}
        decision = ask(
            actor.grants, "eci:ExecContainerCommand", group, context, (actor.region, actor.node.account)
        )
        if decision.allowed:
            graph.edges.append(
                _step(
                    actor,
                    role.id,
                    "exec",
                    f"can eci:ExecContainerCommand into any {source.environment} container group, one "
                    f"running as {role.name} among them",
                    [decision],
                )
            )


TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
# Starting a task of an existing definition with container overrides runs code of the caller's
# choosing as the definition's task role: no iam:PassRole (that is asked only for a taskRoleArn
# override, the pass-role edge's ecs:RunTask).
OVERRIDE_ACTIONS = ("ecs:RunTask", "ecs:StartTask")
# A service created or updated with an existing definition runs it, as its task role, with no
# iam:PassRole either: authorised on the service, the definition in the ecs:task-definition key.
SERVICE_ACTIONS = ("ecs:UpdateService", "ecs:CreateService")


def _task_definitions(sources: Sequence[Source]) -> list[tuple[str, str, str]]:
    """(account, task definition ARN, task role ARN) of each definition the plans register."""
    found = []
    for source in sources:
        for r in source.plan["resources"]:
            if r["type"] == TASK_DEFINITION and (family := r["inputs"].get("family")):
                account, region = _provider(source, r)
                the_arn = f"arn:aws:ecs:{region}:{account}:task-definition/{family}:1"
                found.append((account, the_arn, str(r["inputs"].get("taskRoleArn") or "")))
    return found


def _families(actor: Actor) -> list[str]:
    """Task-definition families the actor's Allow statements name by name (``task-definition/web-api:*``)
    in its account: definitions of them exist in the cloud whether or not a plan registers one."""
    found = []
    for pattern in actor.grants.allow_patterns():
        head, _, tail = pattern.rpartition(":task-definition/")
        family = tail.split(":", 1)[0]
        named = family and not any(c in family for c in "*?") and family not in found
        if head and head.rsplit(":", 1)[-1] in (actor.node.account, "*") and named:
            found.append(family)
    return found


def _override_edges(world: _World, actor: Actor, roles: Sequence[tuple[Node, NamedPolicy | None]]) -> None:
    """RunTask/StartTask with overrides on a definition, or a service created or updated to run it,
    reaches its task role: a definition the plans register, its role; a family the actor's
    statements name, the roles some principal of the graph may register into it
    (RegisterTaskDefinition there and PassRole to ecs-tasks), the unknown role trusting ecs-tasks
    when none may (the family is registered outside the plans); any definition of the account (a
    wildcard), every role that may trust ecs-tasks there (its trust unknown or naming
    ecs-tasks.amazonaws.com, the unknown one among them)."""
    if actor.node.cloud != "aws":
        return
    account, graph = actor.node.account, world.graph
    region = actor.region or "*"
    asked: list[tuple[str, list[str], str]] = [
        (the_arn, [role], the_arn) for own, the_arn, role in world.task_definitions if own == account and role
    ]
    for family in _families(actor):
        definition = f"arn:aws:ecs:{region}:{account}:task-definition/{family}:1"
        registrable = world.family_roles(actor, family)
        which = f"the {family} family (task roles {', '.join(r.rsplit('/', 1)[-1] for r in registrable)}"
        which += ": whoever registers it may pass them)" if registrable else ": registered outside the plans)"
        unknown = arn("aws", account, "role", f"{OTHER}-ecs-tasks")
        asked.append((definition, registrable or [unknown], which))
    any_definition = f"arn:aws:ecs:{region}:{account}:task-definition/{OTHER}:1"
    trusting = [
        node.id
        for node, trust in roles
        if node.id != actor.node.id and (trust is None or _trusts_service(trust, "ecs-tasks.amazonaws.com"))
    ]
    asked.append((any_definition, trusting, "any task definition of the account"))
    in_region = _region(actor, "aws") or {}
    # One edge per way in (a task of its own, a service) and target: the first call allowed.
    ways = (
        ("with container overrides", lambda d: [(a, (d,), in_region) for a in OVERRIDE_ACTIONS]),
        (
            "in a service",
            lambda d: [(a, (), {**in_region, "ecs:task-definition": [d]}) for a in SERVICE_ACTIONS],
        ),
    )
    for how, calls in ways:
        done = {actor.node.id}
        for definition, targets, which in asked:
            if not set(targets) - done:
                continue
            for action, fixed, context in calls(definition):
                found = ask_any(actor, action, fixed, context)
                if not found.allowed:
                    continue
                for target in [t for t in targets if t not in done]:
                    done.add(target)
                    graph.edges.append(
                        _step(
                            actor,
                            target,
                            "task-override",
                            f"can {action} {which} {how}: the code runs as "
                            f"{target.rsplit('/', 1)[-1]}, the task role",
                            [found],
                        )
                    )
                break


def _registrable(
    registrant: Actor, family: str, roles: Sequence[tuple[Node, NamedPolicy | None]]
) -> list[str]:
    """The roles ``registrant`` may make the task role of a new revision of ``family``."""
    account = registrant.node.account
    definition = f"arn:aws:ecs:{registrant.region or '*'}:{account}:task-definition/{family}:1"
    if not ask_any(
        registrant, "ecs:RegisterTaskDefinition", (definition,), _region(registrant, "aws")
    ).allowed:
        return []
    context = {"iam:PassedToService": ["ecs-tasks.amazonaws.com"]}
    return [
        node.id
        for node, trust in roles
        if (trust is None or _trusts_service(trust, "ecs-tasks.amazonaws.com"))
        and ask(registrant.grants, "iam:PassRole", node.id, context, (registrant.region, account)).allowed
    ]


def _trusts_service(trust: NamedPolicy, service: str) -> bool:
    return evaluate_trust(trust, "sts:AssumeRole", lambda k, v: k == "Service" and v == service).allowed


def _unknown_service_roles(cloud: str, account: str) -> list[tuple[Node, NamedPolicy]]:
    """One role no plan creates per service a role is passed to (AWS): what a wildcard PassRole or
    a definition of the account may hand over; its grants are unknown (a finding, never "no path")."""
    if cloud != "aws":
        return []
    found = []
    for service, _ in PASS_TO["aws"]:
        short = service.split(".", 1)[0]
        node = Node(
            arn("aws", account, "role", f"{OTHER}-{short}"),
            "external",
            "aws",
            account,
            f"{OTHER} role trusting {service}",
            "",
        )
        trust = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": service}}],
        }
        found.append((node, NamedPolicy(f"trust of {node.name} (assumed)", trust)))
    return found


# --- building -------------------------------------------------------------------------------------
def _admin(graph: Graph, node: Node) -> Node:
    return graph.add(
        Node(f"admin:{node.cloud}:{node.account}", "admin", node.cloud, node.account, "admin", "")
    )


def _new(graph: Graph, node: Node) -> Node:
    return graph.add(
        Node(f"new:{node.cloud}:{node.account}", "new", node.cloud, node.account, "new principal", "")
    )


def _trusted(graph: Graph, actor: Actor, trust: NamedPolicy, created: set[str]) -> None:
    """The identities a role's trust names: an edge from each, decided by the trust policy."""
    for statement in access._statements(trust.document):
        if statement.get("Effect") != "Allow":
            continue
        context = {}
        for block in (statement.get("Condition") or {}).values():
            for key, values in block.items():
                context[key] = [str(v) for v in as_list(values)][:1]
        for kind, values in (statement.get("Principal") or {}).items():
            for value in as_list(values):
                value = str(value)
                if value.lower() in created:
                    continue  # a principal the plans create: its own edges decide
                subject = next((v[0] for k, v in context.items() if k.lower().endswith(":sub")), "")
                name = f"{value} ({subject})" if subject else value
                node_kind = {"Service": "service", "Federated": "federated"}.get(kind, "external")
                node = graph.add(
                    Node(f"{kind}:{name}", node_kind, actor.node.cloud, actor.node.account, name, "")
                )
                action = str(as_list(statement.get("Action"))[0])
                decision = evaluate_trust(
                    trust, action, lambda k, v, kind=kind, value=value: k == kind and v == value, context
                )
                if decision.allowed:
                    graph.edges.append(
                        Step(
                            node.id,
                            actor.node.id,
                            "trusted",
                            f"{actor.node.name}'s trust names {name}",
                            ((action, actor.arn),),
                            tuple(r.label for r in decision.deciding),
                            tuple(access._statements(trust.document)[r.index] for r in decision.deciding),
                        )
                    )


class _World:
    """What building asks about: the plans' principals, policies and task definitions, and the
    principals building adds (a principal rewritten within its ceiling, a bounded new one)."""

    def __init__(self, sources: Sequence[Source]) -> None:
        self.graph = Graph(stacks=tuple(s.stack for s in sources))
        self.control = control_policies(sources)
        self.actors = [
            (source, _bounded(actor, self.control)) for source in sources for actor in _actors(source)
        ]
        self.instances = [i for source in sources for i in _instances(source)]
        self.policies = custom_policies(sources)
        self.task_definitions = _task_definitions(sources)
        self.trusts: dict[str, NamedPolicy] = {}
        self.unknown: dict[str, Node] = {}
        self.written: set[tuple[str, str]] = set()
        self._writable: dict[str, list[Writable]] = {}
        self._families: dict[tuple[str, str], list[str]] = {}

    def same_account(self, actor: Actor) -> list[Actor]:
        where = (actor.node.cloud, actor.node.account)
        return [a for _, a in self.actors if (a.node.cloud, a.node.account) == where and a.principal.resource]

    def family_roles(self, actor: Actor, family: str) -> list[str]:
        """The task roles definitions of ``family`` in the actor's account may have: the plans'
        definitions of it and the roles any principal of the graph may register it with."""
        key = (actor.node.account, family)
        if key not in self._families:
            found = [
                r
                for own, the_arn, r in self.task_definitions
                if own == key[0] and r and f"/{family}:" in the_arn
            ]
            for other in self.same_account(actor):
                found += [r for r in _registrable(other, family, self.roles_of(other)) if r not in found]
            self._families[key] = found
        return self._families[key]

    def writable(self, actor: Actor) -> list[Writable]:
        if actor.node.id not in self._writable:
            held = self.policies.get((actor.node.cloud, actor.node.account), [])
            self._writable[actor.node.id] = _writable(actor, held)
        return self._writable[actor.node.id]

    def roles_of(self, actor: Actor) -> list[tuple[Node, NamedPolicy | None]]:
        """The roles of the actor's account it may be asked about, with their trust (None: unknown):
        the plans', those its pass-role statements name, one unknown per service."""
        same = self.same_account(actor)
        roles = [(a.node, self.trusts.get(a.node.id)) for a in same if a.node.kind == "role"]
        roles += _named_roles(actor, {a.node.id for a in same})
        unknown = _unknown_service_roles(actor.node.cloud, actor.node.account)
        self.unknown.update((node.id, node) for node, _ in unknown)
        return roles + unknown

    def edges_of(self, source: Source, actor: Actor) -> None:
        graph, same = self.graph, self.same_account(actor)
        users = [a.node for a in same if a.node.kind == "user"]
        roles = self.roles_of(actor)
        _credential_edges(actor, users, graph)
        _assume_edges(actor, roles, graph)
        _new_principal_edges(self, actor)
        _group_edges(actor, graph)
        _pass_role_edges(actor, roles, graph)
        _override_edges(self, actor, roles)
        _command_edges(actor, self.instances, graph)
        _tag_edges(actor, self.instances, graph)
        _exec_edges(actor, roles, source, graph)
        _unmodelled_edges(actor, graph)

    def ceiling(self, target: Actor) -> Node:
        """What a principal holds once its policies are the writer's: admin, or a principal that
        holds its ceilings (the same name, trusted as itself), asked like any other."""
        if not target.ceilings:
            return _admin(self.graph, target.node)
        node = replace(
            target.node,
            id=f"rewritten:{target.node.id}",
            kind="rewritten",
            name=f"{target.node.name} rewritten within its ceiling",
        )
        if node.id not in self.graph.nodes:
            # The same identity: the keys the cloud sets from it kept.
            grants = replace(
                target.grants,
                policies=_intersection(target.ceilings),
                boundary=None,
                not_evaluated=[],
                unmodelled=[],
                _calls={},
            )
            self._add(
                node,
                replace(target, node=node, grants=grants, principal=replace(target.principal, resource="")),
            )
        return self.graph.nodes[node.id]

    def bounded_new(self, creator: Actor, kind: str, boundary: str) -> Node:
        """A new principal behind ``boundary``: it holds what the boundary allows."""
        cloud, account = creator.node.cloud, creator.node.account
        short = boundary.rsplit("/", 1)[-1]
        node = Node(
            f"new:{cloud}:{account}:{boundary}", "new", cloud, account, f"new principal behind {short}", ""
        )
        if node.id not in self.graph.nodes:
            held = next((p for p in self.policies.get((cloud, account), []) if p.arn == boundary), None)
            managed = access.managed_policy(cloud, boundary)
            document = held.document if held else managed.document if managed else None
            # A boundary no plan holds and none on file: read as allowing nothing (as access does).
            ceiling = (NamedPolicy(f"permissions boundary {short}", document or {"Statement": []}),)
            principal = Principal(cloud, kind, f"{OTHER}-{kind}", "")
            the_arn = arn(cloud, account, kind, f"{OTHER}-{kind}")
            self._add(
                node,
                Actor(
                    node,
                    principal,
                    Grants(principal, list(ceiling)),
                    creator.region,
                    the_arn,
                    (ceiling,),
                    boundary,
                ),
            )
        return self.graph.nodes[node.id]

    def controlled_new(self, creator: Actor, kind: str, name: str) -> Node:
        """A new RAM user or role of an account with control policies: whatever its creator gives
        it, it holds what they allow (they bind identities created later too, and no identity of a
        member account writes them: the management account does)."""
        cloud, account = creator.node.cloud, creator.node.account
        node = Node(
            f"new:{cloud}:{account}:control-policies",
            "new",
            cloud,
            account,
            "new principal within the account's control policies",
            "",
        )
        if node.id not in self.graph.nodes:
            ceiling = self.control[account]
            principal = Principal(cloud, kind, name, "")
            made = replace(node, kind=kind, name=name)
            grants = _ram_caller(Grants(principal, list(ceiling)), made)
            the_arn = arn(cloud, account, kind, name)
            self._add(node, Actor(node, principal, grants, creator.region, the_arn, (ceiling,)))
        return self.graph.nodes[node.id]

    def _add(self, node: Node, actor: Actor) -> None:
        self.graph.add(node)
        source = next((s for s, a in self.actors if a.arn == actor.arn), None) or self.actors[0][0]
        self.actors.append((source, actor))
        self.edges_of(source, actor)


def build(sources: Sequence[Source]) -> Graph:
    """The graph of one or more plans: each principal's edges asked against every target the plans
    hold in its cloud and account; then, until nothing is added, each principal's writes to the
    grants of a principal it is or becomes."""
    world = _World(sources)
    graph = world.graph
    for _, actor in world.actors:
        graph.add(actor.node)
    for instance in world.instances:
        node = graph.add(instance.node)
        for role in instance.roles:
            graph.edges.append(
                Step(
                    node.id,
                    role,
                    "instance-role",
                    f"{instance.node.name} runs with {role.rsplit('/', 1)[1]} attached: its metadata "
                    "service hands out the role's credentials",
                    (),
                    (),
                )
            )
    created = {a.arn.lower() for _, a in world.actors}
    for source, actor in world.actors:
        if actor.node.kind == "role":
            world.trusts[actor.node.id] = access.trust_document(source.plan, actor.principal)
            _trusted(graph, actor, world.trusts[actor.node.id], created)
    for source, actor in list(world.actors):
        world.edges_of(source, actor)
    while any([_write_edges(world, actor) for _, actor in list(world.actors)]):
        pass
    targets = {edge.target for edge in graph.edges}
    for node in world.unknown.values():
        if node.id in targets:
            graph.add(node)
    graph.__dict__.pop("out", None)
    return graph


def _unmodelled_edges(actor: Actor, graph: Graph) -> None:
    """A policy attached but not on file may grant anything its service covers: the holder is
    possibly admin of that service (of everything when the name does not say), never "no path"."""
    for name, services in actor.grants.unmodelled:
        scope = f"of {', '.join(sorted(services))}" if services else "of every service"
        graph.edges.append(
            Step(
                actor.node.id,
                _admin(graph, actor.node).id,
                "unmodelled",
                f"holds {name}, which is not modelled: possibly admin {scope}",
                (),
                (),
            )
        )


def _named_roles(actor: Actor, known: set[str]) -> list[tuple[Node, NamedPolicy | None]]:
    """Roles no plan creates that the actor's pass-role statements name one by one."""
    found = []
    for policy in actor.grants.policies:
        for statement in access._statements(policy.document):
            actions = [str(a).lower() for a in as_list(statement.get("Action"))]
            if statement.get("Effect") != "Allow" or not any(a.endswith(":passrole") for a in actions):
                continue
            for resource in as_list(statement.get("Resource")):
                resource = str(resource)
                if ":role/" not in resource or any(c in resource for c in "*?") or resource in known:
                    continue
                if resource.split(":")[4] != actor.node.account:
                    continue
                name = resource.rsplit("/", 1)[1]
                node = Node(resource, "external", actor.node.cloud, actor.node.account, name, "")
                if resource.lower() not in {k.lower() for k in known}:
                    found.append((node, None))
    return found


def accounts_of(source: Source) -> set[tuple[str, str]]:
    """(cloud, account) pairs a plan deploys into: its settings' and each provider's."""
    found = {(cloud, account) for cloud, account in source.accounts.items()}
    for resource in source.plan["resources"]:
        if resource["type"].startswith("pulumi:providers:"):
            cloud = resource["type"].rsplit(":", 1)[1]
            account, _ = _provider(source, {"type": f"{cloud}:x", "provider": resource["name"]})
            if account:
                found.add((cloud, account))
    return found


def shared_groups(sources: Sequence[Source]) -> list[tuple[Source, ...]]:
    """Sets of two or more stacks linked by a shared account (transitively), in the given order."""
    groups: list[tuple[set[tuple[str, str]], list[Source]]] = []
    for source in sources:
        accounts = accounts_of(source)
        joined = [g for g in groups if g[0] & accounts]
        merged = (accounts.union(*(g[0] for g in joined)), [s for g in joined for s in g[1]] + [source])
        groups = [g for g in groups if g not in joined] + [merged]
    order = {s.stack: i for i, s in enumerate(sources)}
    return [tuple(sorted(g[1], key=lambda s: order[s.stack])) for g in groups if len(g[1]) > 1]


# --- queries --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Route:
    source: str
    target: str
    steps: tuple[Step, ...]

    def as_dict(self, graph: Graph) -> dict[str, Any]:
        return {
            "from": graph.nodes[self.source].label if self.source in graph.nodes else self.source,
            "to": graph.nodes[self.target].label if self.target in graph.nodes else self.target,
            "fromId": self.source,
            "toId": self.target,
            "steps": [s.as_dict() for s in self.steps],
        }


def _add_targets(graph: Graph) -> None:
    for edge in graph.edges:
        if edge.target not in graph.nodes:
            name = edge.target.rsplit("/", 1)[-1]
            cloud = "alicloud" if edge.target.startswith("acs:") else "aws"
            graph.nodes[edge.target] = Node(
                edge.target, "external", cloud, edge.target.split(":")[4], name, ""
            )


def shortest_paths(graph: Graph, source: str) -> dict[str, tuple[Step, ...]]:
    """Every node ``source`` reaches, with one shortest path (breadth first) to each."""
    found: dict[str, tuple[Step, ...]] = {source: ()}
    queue = deque([source])
    while queue:
        here = queue.popleft()
        for edge in graph.out.get(here, []):
            if edge.target not in found:
                found[edge.target] = found[here] + (edge,)
                queue.append(edge.target)
    return found


def is_finding(graph: Graph, source: Node, target: Node) -> bool:
    """A path that matters: to admin, to a principal of the creator's choosing, to an identity no
    plan creates, or from one environment to another's principal or instance."""
    if target.kind in ("admin", "new", "external", "user", "role", "rewritten") and target.id != source.id:
        return True
    return bool(source.environment and target.environment and source.environment != target.environment)


SOURCE_KINDS = ("user", "role", "service", "federated", "external", "instance")


def paths(graph: Graph, start: str | None = None, to: str | None = None) -> list[Route]:
    """One shortest path per (source, target) pair that is a finding, or to ``to`` when given
    (``admin``: every admin sink; else a node's name or id)."""
    _add_targets(graph)
    graph.__dict__.pop("out", None)
    found = []
    for source in sorted(graph.nodes.values(), key=lambda n: n.id):
        if source.kind not in SOURCE_KINDS or (start and start not in (source.name, source.id)):
            continue
        if source.kind in ("service", "federated", "external", "instance") and not start:
            continue  # identities no plan creates start paths only when asked for by name
        for target_id, steps in sorted(shortest_paths(graph, source.id).items()):
            target = graph.nodes[target_id]
            if not steps:
                continue
            if to == "admin":
                wanted = target.kind == "admin"
            elif to:
                wanted = to in (target.name, target.id)
            else:
                wanted = is_finding(graph, source, target)
            if wanted:
                found.append(Route(source.id, target_id, steps))
    return found


# --- exceptions -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Excepted:
    """A path a guide needs, keyed by what the stack is, never by its name: in the environments
    ``environments`` (the stacks' ``environment`` setting), from the principals whose scenario role
    matches ``start`` (a glob on the plan's resource name) to targets of the same environment that
    ``bound`` names (globs on a target's scenario role, or on its name for a role no plan creates;
    the source account's admin or a new principal there only by its exact name, "admin", "new
    principal behind <boundary>" or "new principal within the account's control policies");
    ``shared``: asked on the shared-account graph."""

    name: str
    environments: tuple[str, ...]
    start: str
    why: str
    bound: tuple[str, ...]
    shared: bool = False

    def covers(self, graph: Graph, path: Route) -> bool:
        from fnmatch import fnmatchcase

        source, target = graph.nodes[path.source], graph.nodes[path.target]
        own = target.account == source.account
        if target.kind in ("admin", "new") or target.name.startswith(OTHER):
            # The account's admin, a principal of the source's making, a role no plan creates that
            # the graph stands in for (any role trusting a service): only in the source's own
            # account, and only where a bound names it word for word (never by a wildcard).
            return self._from(source) and own and target.name in self.bound
        # A role no plan creates (kind "external", e.g. an application's pre-created task role)
        # counts as the source's environment only in the source's own account.
        external_own = target.kind == "external" and own
        return (
            self._from(source)
            and (target.environment == source.environment or external_own)
            and any(fnmatchcase(target.role or target.name, bound) for bound in self.bound)
        )

    def _from(self, source: Node) -> bool:
        from fnmatch import fnmatchcase

        return source.environment in self.environments and fnmatchcase(source.role, self.start)


def exceptions(path: Path = EXCEPTIONS_FILE) -> list[Excepted]:

    data = reference.load_yaml(path.read_text()) or {}
    return [
        Excepted(
            e["name"],
            tuple(as_list(e["environments"])),
            e["from"],
            " ".join(str(e["why"]).split()),
            tuple(str(b) for b in e["bound"]),
            bool(e.get("shared", False)),
        )
        for e in data.get("exceptions", [])
    ]


def report(stack: str, graph: Graph, found: list[Route], known: list[Excepted]) -> dict[str, Any]:
    outside, excepted = [], []
    for path in found:
        match = next((e for e in known if e.covers(graph, path)), None)
        (excepted if match else outside).append((path, match))
    return {
        "stack": stack,
        "paths": [p.as_dict(graph) for p, _ in outside],
        "exceptions": [{**p.as_dict(graph), "exception": e.name, "why": e.why} for p, e in excepted],
    }


def to_text(result: Mapping[str, Any]) -> str:
    lines = []
    for title, key in (("path", "paths"), ("excepted path", "exceptions")):
        for path in result[key]:
            extra = f" [exception {path['exception']}: {path['why']}]" if key == "exceptions" else ""
            lines.append(f"{title}: {path['from']} -> {path['to']}{extra}")
            for step in path["steps"]:
                lines.append(f"  {step['kind']}: {step['from']} -> {step['to']}: {step['reason']}")
                for request in step["requests"]:
                    lines.append(f"    asked: {request['action']} on {request['resource']}")
                for label in step["decidedBy"]:
                    lines.append(f"    decided by: {label}")
    lines.append(
        f"{result['stack']}: {len(result['paths'])} path(s) outside the exceptions, "
        f"{len(result['exceptions'])} excepted"
    )
    return "\n".join(lines) + "\n"


# --- the README's table ---------------------------------------------------------------------------
README_START = "<!-- escalation paths: generated by tests/test_graph.py, do not edit -->"
README_END = "<!-- end of escalation paths -->"


def summary(stack: str, built: Graph, known: list[Excepted]) -> tuple[int, int, int]:
    """(paths asked: source principal x other node pairs, paths found outside the exceptions,
    excepted paths) for one stack's graph."""
    sources = [n for n in built.nodes.values() if n.kind in ("user", "role") and n.stack == stack]
    result = report(stack, built, paths(built), known)
    return len(sources) * (len(built.nodes) - 1), len(result["paths"]), len(result["exceptions"])


def readme_table(rows: Mapping[str, tuple[int, int, int]]) -> str:
    lines = [
        README_START,
        "| Stack | Paths asked | Paths found | Excepted (bounded) |",
        "|---|---:|---:|---:|",
        *(f"| {stack} | {' | '.join(str(n) for n in counts)} |" for stack, counts in rows.items()),
        README_END,
    ]
    return "\n".join(lines)
