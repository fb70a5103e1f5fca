"""Who can become whom: the escalation graph of one stack's plan, or of stacks sharing an account.

Nodes are the principals the plans create, the identities their trust policies name (services,
OIDC subjects, principals of other accounts), the instances the plans attach roles to or name in a
policy, one "new principal an attacker creates" per account and cloud, and an *admin* sink per
account and cloud. Edges are the documented ways to become another principal or gain its
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
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from baseline.analysis import access, reference
from baseline.analysis.access import Grants, Principal
from baseline.analysis.evaluator import (
    Decision,
    NamedPolicy,
    UnknownAction,
    WrongResourceType,
    as_list,
    evaluate_trust,
)

# Keys the caller puts in its own request (it picks the value): a denied question is asked again
# with each value a statement names for them. Keys the cloud or the resource sets are not here.
CALLER_SET = (
    "ecs:commandrunas",
    "iam:passedtoservice",
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
    kind: str  # user | role | service | federated | external | instance | new | admin
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
            return f"a new principal in {self.cloud} account {self.account}"
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
        found.append(Actor(node, principal, access.grants_of(source.plan, principal), region, the_arn))
    return found


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
def _caller_values(grants: Grants) -> dict[str, list[str]]:
    """Values the grants' statements name for keys the caller sets (see ``CALLER_SET``)."""
    values: dict[str, list[str]] = {}
    for policy in [*grants.policies, *(grants.boundary or [])]:
        for statement in access._statements(policy.document):
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
) -> Asked:
    """The call as the cloud asks it; when it is denied, asked again with each value the caller
    could send for a key it sets itself (``CALLER_SET``)."""
    resources = (resources,) if isinstance(resources, str) else tuple(resources)
    first = _ask_once(grants, action, resources, context, scope)
    if first.allowed:
        return first
    choices = {k: v for k, v in _caller_values(grants).items() if k not in (context or {})}
    keys = sorted(choices)
    for values in itertools.product(*(choices[k] for k in keys)):
        given = {**(context or {}), **{k: [v] for k, v in zip(keys, values, strict=True)}}
        tried = _ask_once(grants, action, resources, given, scope)
        if tried.allowed:
            return tried
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
    "alicloud": {
        "user": ("ram:AttachPolicyToUser",),
        "role": ("ram:AttachPolicyToRole",),
    },
    "aws": {
        "user": ("iam:PutUserPolicy", "iam:AttachUserPolicy"),
        "role": ("iam:PutRolePolicy", "iam:AttachRolePolicy"),
    },
}


def _write(actor: Actor, target: Node) -> Asked | None:
    """May ``actor`` give ``target`` a policy of its choosing (the account's administrator policy)?
    RAM authorises the attach on the principal and on the policy (the system AdministratorAccess,
    ``acs:ram:*:system:policy/{name}``): one call on both."""
    cloud = actor.node.cloud
    context = {"iam:PolicyARN": [ADMIN_POLICY["aws"]]} if cloud == "aws" else None
    for action in WRITES[cloud][target.kind if target.kind in ("user", "role") else "role"]:
        resources = [target.id]
        if cloud == "alicloud":
            resources.append(f"acs:ram:*:system:policy/{ADMIN_POLICY['alicloud']}")
        found = ask(actor.grants, action, resources, context, (actor.region, actor.node.account))
        if found.allowed:
            return found
    return None


def _policy_version_edges(actor: Actor, source: Source, graph: Graph, targets: Iterable[Actor]) -> None:
    """A new default version of a policy attached to a principal rewrites that principal's grants."""
    for target in targets:
        for policy in target.grants.policies:
            if policy.name.endswith(")"):
                continue  # system / managed: their owner writes them
            if actor.node.cloud == "alicloud":
                the_arn = f"acs:ram:*:{actor.node.account}:policy/{policy.name}"
                actions = ("ram:CreatePolicyVersion",)
            else:
                the_arn = f"arn:aws:iam::{actor.node.account}:policy/{policy.name}"
                actions = ("iam:CreatePolicyVersion",)
            if found := _first(actor, actions, the_arn):
                graph.edges.append(
                    _step(
                        actor,
                        target.node.id,
                        "policy-version",
                        f"can {found.action} on {policy.name} (attached to {target.node.name}): "
                        f"{target.node.name} then holds what it writes",
                        [found],
                    )
                )
                if target.node.id == actor.node.id:
                    graph.edges.append(
                        _step(
                            actor,
                            _admin(graph, actor.node).id,
                            "policy-version",
                            f"can rewrite {policy.name}, attached to itself, to allow everything",
                            [found],
                        )
                    )


CREATE_ACTIONS = {
    "alicloud": (("user", "ram:CreateUser"), ("role", "ram:CreateRole")),
    "aws": (("user", "iam:CreateUser"), ("role", "iam:CreateRole")),
}


def _new_principal_edges(actor: Actor, graph: Graph) -> None:
    """Create a user or role and attach to it: a principal of the creator's choosing. It is admin
    when the creation needs no permissions boundary (asked without the caller's own keys)."""
    cloud, account = actor.node.cloud, actor.node.account
    for kind, action in CREATE_ACTIONS[cloud]:
        decision, allowed_on = actor.grants.decide_any(action)
        if not decision.allowed:
            continue
        for pattern in allowed_on:
            # A name the allowed pattern admits ("ecs-mcp-*" -> "ecs-mcp-x"); "*": any name.
            name = pattern.rsplit("/", 1)[-1].replace("*", "x") if "/" in pattern else f"{OTHER}-{kind}"
            target = Node(arn(cloud, account, kind, name), kind, cloud, account, name, "")
            scope = (actor.region, account)
            created = ask(actor.grants, action, target.id, None, scope)
            attach = _write(actor, target) if created.allowed else None
            if attach is None:
                continue
            new = _new(graph, actor.node)
            asked = [created, attach]
            graph.edges.append(
                _step(actor, new.id, "new-principal", f"can {action} {name} and {attach.action} to it", asked)
            )
            unbounded = _ask_once(actor.grants, action, (target.id,), None, scope)
            if unbounded.allowed:
                graph.edges.append(
                    Step(
                        new.id,
                        _admin(graph, actor.node).id,
                        "new-principal",
                        f"{action} is allowed without a permissions boundary: the new {kind} may hold "
                        "anything",
                        tuple((a, r) for a, r, _ in unbounded.requests),
                        tuple(ref.label for _, _, d in unbounded.requests for ref in d.deciding),
                    )
                )
            break


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


def _self_write_edges(actor: Actor, graph: Graph) -> None:
    """Attach or put an unconstrained policy on itself."""
    if found := _write(actor, actor.node):
        graph.edges.append(
            _step(
                actor,
                _admin(graph, actor.node).id,
                "policy-write",
                f"can {found.action} on itself with a policy of its choosing",
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
    return []


def _pass_role_edges(actor: Actor, roles: Iterable[tuple[Node, NamedPolicy | None]], graph: Graph) -> None:
    """Pass a role to compute the caller controls: the code it runs holds the role."""
    cloud = actor.node.cloud
    pass_action = "ram:PassRole" if cloud == "alicloud" else "iam:PassRole"
    scope = (actor.region, actor.node.account)
    for role, trust in roles:
        if role.id == actor.node.id:
            continue
        for service, actions in PASS_TO[cloud]:
            context = {"iam:PassedToService": [service]} if cloud == "aws" else None
            passed = ask(actor.grants, pass_action, role.id, context, scope)
            if not passed.allowed:
                continue
            if trust is not None:
                names = TRUSTED_AS.get(service, (service,))

                def service_test(kind: str, value: str, names=names) -> bool:
                    return kind == "Service" and value in names

                if not evaluate_trust(trust, "sts:AssumeRole", service_test).allowed:
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


def build(sources: Sequence[Source]) -> Graph:
    """The graph of one or more plans: each principal's edges asked against every target the plans
    hold in its cloud and account."""
    graph = Graph(stacks=tuple(s.stack for s in sources))
    actors = [(source, actor) for source in sources for actor in _actors(source)]
    instances = [i for source in sources for i in _instances(source)]
    for _, actor in actors:
        graph.add(actor.node)
    for instance in instances:
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
    created = {a.arn.lower() for _, a in actors}
    trusts: dict[str, NamedPolicy] = {}
    for source, actor in actors:
        if actor.node.kind == "role":
            trusts[actor.node.id] = access.trust_document(source.plan, actor.principal)
            _trusted(graph, actor, trusts[actor.node.id], created)
    for source, actor in actors:
        same = [
            a for _, a in actors if (a.node.cloud, a.node.account) == (actor.node.cloud, actor.node.account)
        ]
        users = [a.node for a in same if a.node.kind == "user"]
        roles = [(a.node, trusts.get(a.node.id)) for a in same if a.node.kind == "role"]
        roles += _named_roles(actor, {a.node.id for a in same})
        _credential_edges(actor, users, graph)
        _assume_edges(actor, roles, graph)
        _self_write_edges(actor, graph)
        _policy_version_edges(actor, source, graph, [actor])
        _new_principal_edges(actor, graph)
        _group_edges(actor, graph)
        _pass_role_edges(actor, roles, graph)
        _command_edges(actor, instances, graph)
        _tag_edges(actor, instances, graph)
        _exec_edges(actor, roles, source, graph)
        _unmodelled_edges(actor, graph)
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
    if target.kind in ("admin", "new", "external", "user", "role") and target.id != source.id:
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
    ``bound`` names (globs on a target's scenario role, or on its name for a role no plan creates);
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
        # A role no plan creates (kind "external", e.g. an application's pre-created task role)
        # counts as the source's environment only in the source's own account.
        external_own = target.kind == "external" and target.account == source.account
        return (
            source.environment in self.environments
            and (target.environment == source.environment or external_own)
            and fnmatchcase(source.role, self.start)
            and any(fnmatchcase(target.role or target.name, bound) for bound in self.bound)
        )


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
