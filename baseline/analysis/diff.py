"""``python -m baseline diff``: what a change to a stack file grants, not only what it registers.

Two offline plans of one stack (``baseline.plan.render``) are compared:

- **resources** added, removed and changed (matched by type and logical name), with the inputs
  that changed; policy documents are parsed and compared statement by statement (statements
  paired by ``Sid``, then by effect and overlap), never as strings;
- **effective access** per principal (matched by cloud, kind and name): every Allow statement of
  its policies is flattened into (action, resource, condition) grants as written, and a grant is
  *gained* when the new plan's policies allow it and the base plan's do not, decided by the
  evaluator (``baseline.analysis.evaluator``, through ``access.grants_of``: explicit denies,
  permissions boundaries and resource-group scoping included). The question asked is the grant as
  a call (``allows``: its action on its resource as written, the call's other resources as any of
  their type, the most permissive reading; a pattern is asked as a literal, so ``instance/*`` is
  covered only by a pattern at least as wide) with a context that satisfies its condition, less
  the keys the action never carries. A new grant that grants nothing is listed as such. A gained
  grant whose action and condition the base already allowed on a narrower resource is flagged
  *widened* (``instance/i-1`` -> ``instance/*``). Lost grants the same way round. A Deny statement
  removed (added) is asked where it applied, so dropping "Deny RunCommand as root" is a gain of
  RunCommand as root. Grants written on both sides under the same denies and boundary are not
  asked again (decided alike). Deny statements, who a role trusts (its trust policy's principals
  and conditions, as written), and attached policies the offline evaluator cannot read (system
  policies), are listed beside them;
- **escalation-relevant** gains are highlighted: role passing, policy and role management,
  credential creation, ``RunCommand``/``InvokeCommand`` a principal may use as ``root`` or
  ``system`` (no ``ecs:CommandRunAs`` restriction), and a trust open to any principal or to any
  token subject.

Only configuration is compared: both plans are rendered by the working tree's program. A change
to the program itself (a document function) shows in the plan snapshots' diff instead.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from baseline.analysis import access
from baseline.analysis.evaluator import (
    UnknownAction,
    WrongResourceType,
    action_matches,
    as_list,
    resource_matches,
)
from baseline.documents.alicloud import COMMAND_ACTIONS, PRIVILEGED_OS_USERS, RUN_AS_KEY

# Inputs that hold a policy document as JSON text (both clouds' providers).
DOCUMENT_INPUTS = {"policyDocument", "policy", "assumeRolePolicyDocument", "assumeRolePolicy"}

# Actions with which a principal can raise its own or another's privileges (escalation catalogue
# of the review: role passing, policy and role management, credentials for other identities).
ESCALATION_ACTIONS = (
    "ram:PassRole",
    "ram:CreatePolicy",
    "ram:CreatePolicyVersion",
    "ram:SetDefaultPolicyVersion",
    "ram:AttachPolicyToUser",
    "ram:AttachPolicyToRole",
    "ram:AttachPolicyToGroup",
    "ram:AttachPolicy",
    "ram:CreateRole",
    "ram:UpdateRole",
    "ram:CreateAccessKey",
    "ram:CreateLoginProfile",
    "ram:UpdateLoginProfile",
    "ram:AddUserToGroup",
    "iam:PassRole",
    "iam:CreatePolicy",
    "iam:CreatePolicyVersion",
    "iam:SetDefaultPolicyVersion",
    "iam:AttachRolePolicy",
    "iam:AttachUserPolicy",
    "iam:AttachGroupPolicy",
    "iam:PutRolePolicy",
    "iam:PutUserPolicy",
    "iam:PutGroupPolicy",
    "iam:CreateRole",
    "iam:UpdateAssumeRolePolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:DeleteRolePermissionsBoundary",
    "iam:CreateAccessKey",
    "iam:CreateLoginProfile",
    "iam:UpdateLoginProfile",
    "iam:AddUserToGroup",
)

# Operators whose first policy value, put in the request, satisfies the condition.
_SATISFIED_BY_VALUE = {
    "stringequals",
    "stringequalsignorecase",
    "arnequals",
    "bool",
    "numericequals",
    "dateequals",
    "foranyvalue:stringequals",
    "forallvalues:stringequals",
}


# --- resources -----------------------------------------------------------------------------------


def _key(resource: Mapping[str, Any]) -> tuple[str, str]:
    return resource["type"], resource["name"]


def _parse_document(value: Any) -> dict[str, Any] | None:
    if isinstance(value, str) and value.lstrip().startswith("{"):
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            return None
        return parsed if isinstance(parsed, dict) and "Statement" in parsed else None
    return None


def _flatten(value: Any, path: str = "") -> dict[str, Any]:
    """Nested inputs as ``a.b[0].c`` paths; policy documents stay whole (compared separately)."""
    if isinstance(value, Mapping) and value:
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat.update(_flatten(item, f"{path}.{key}" if path else str(key)))
        return flat
    if isinstance(value, list) and value and not all(isinstance(v, (str, int, float, bool)) for v in value):
        flat = {}
        for index, item in enumerate(value):
            flat.update(_flatten(item, f"{path}[{index}]"))
        return flat
    return {path: value}


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _statements(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    statements = document.get("Statement", [])
    return [dict(statements)] if isinstance(statements, Mapping) else [dict(s) for s in statements]


def _overlap(old: Mapping[str, Any], new: Mapping[str, Any]) -> int:
    score = 0
    for field in ("Action", "NotAction", "Resource", "NotResource", "Principal"):
        score += len(
            {_canonical(v) for v in as_list(old.get(field))}
            & {_canonical(v) for v in as_list(new.get(field))}
        )
    return score + (2 if _canonical(old.get("Condition")) == _canonical(new.get("Condition")) else 0)


def _statement_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for field in sorted(set(old) | set(new)):
        before, after = old.get(field), new.get(field)
        if _canonical(before) == _canonical(after):
            continue
        if field in ("Action", "NotAction", "Resource", "NotResource"):
            was, now = [str(v) for v in as_list(before)], [str(v) for v in as_list(after)]
            changes[field] = {
                "added": [v for v in now if v not in was],
                "removed": [v for v in was if v not in now],
            }
        else:
            changes[field] = {"old": before, "new": after}
    return changes


def compare_documents(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """Statement by statement: added, removed, and changed (with the fields that changed)."""
    before, after = _statements(old), _statements(new)
    unmatched_old = list(range(len(before)))
    unmatched_new = list(range(len(after)))
    pairs: list[tuple[int, int]] = []

    def pair(test) -> None:
        for j in list(unmatched_new):
            for i in unmatched_old:
                if test(before[i], after[j]):
                    pairs.append((i, j))
                    unmatched_old.remove(i)
                    unmatched_new.remove(j)
                    break

    pair(lambda a, b: _canonical(a) == _canonical(b))
    pair(lambda a, b: a.get("Sid") is not None and a.get("Sid") == b.get("Sid"))
    # Then the most similar statement of the same effect.
    for j in list(unmatched_new):
        candidates = [
            (i, _overlap(before[i], after[j]))
            for i in unmatched_old
            if before[i].get("Effect") == after[j].get("Effect")
        ]
        candidates = [c for c in candidates if c[1] > 0]
        if candidates:
            i = max(candidates, key=lambda c: c[1])[0]
            pairs.append((i, j))
            unmatched_old.remove(i)
            unmatched_new.remove(j)
    changed = [
        {"old": i, "new": j, "sid": after[j].get("Sid"), "changes": _statement_changes(before[i], after[j])}
        for i, j in sorted(pairs, key=lambda p: p[1])
        if _canonical(before[i]) != _canonical(after[j])
    ]
    extra_old = {k: v for k, v in old.items() if k != "Statement"}
    extra_new = {k: v for k, v in new.items() if k != "Statement"}
    return {
        "added": [{"index": j, "statement": after[j]} for j in unmatched_new],
        "removed": [{"index": i, "statement": before[i]} for i in unmatched_old],
        "changed": changed,
        **(
            {"other": {"old": extra_old, "new": extra_new}}
            if _canonical(extra_old) != _canonical(extra_new)
            else {}
        ),
    }


def _input_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[dict[str, Any]]:
    changes: list[dict[str, Any]] = []
    flat_old, flat_new = _flatten(old), _flatten(new)
    for path in sorted(set(flat_old) | set(flat_new)):
        before, after = flat_old.get(path), flat_new.get(path)
        if _canonical(before) == _canonical(after):
            continue
        doc_old, doc_new = _parse_document(before), _parse_document(after)
        leaf = path.rsplit(".", 1)[-1]
        if leaf in DOCUMENT_INPUTS and (doc_old is not None or doc_new is not None):
            changes.append({"input": path, "document": compare_documents(doc_old or {}, doc_new or {})})
        else:
            changes.append({"input": path, "old": before, "new": after})
    return changes


def compare_resources(base: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    old_by_key = {_key(r): r for r in base["resources"]}
    new_by_key = {_key(r): r for r in new["resources"]}
    added = [_summary(new_by_key[k]) for k in new_by_key if k not in old_by_key]
    removed = [_summary(old_by_key[k]) for k in old_by_key if k not in new_by_key]
    changed = []
    for k in new_by_key:
        if k not in old_by_key:
            continue
        before, after = old_by_key[k], new_by_key[k]
        changes = _input_changes(before["inputs"], after["inputs"])
        for field in ("protect", "parent", "provider", "depends_on"):
            if _canonical(before.get(field)) != _canonical(after.get(field)):
                changes.append({"option": field, "old": before.get(field), "new": after.get(field)})
        if changes:
            changed.append({"type": k[0], "name": k[1], "changes": changes})
    return {"added": added, "removed": removed, "changed": changed}


def _summary(resource: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "type": resource["type"],
        "name": resource["name"],
        "protect": resource.get("protect", False),
        "inputs": resource["inputs"],
    }


# --- effective access ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Grant:
    """One (action, resource, condition) an identity policy statement grants, as written."""

    action: str
    resource: str
    condition: str  # canonical JSON of the statement's Condition ("" when none)
    not_action: bool = False
    not_resource: bool = False

    @property
    def condition_dict(self) -> dict[str, Any] | None:
        return json.loads(self.condition) if self.condition else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "action": ("NotAction " if self.not_action else "") + self.action,
            "resource": ("NotResource " if self.not_resource else "") + self.resource,
            "condition": self.condition_dict,
        }


def flatten_statements(policies: Iterable[Any], effect: str) -> dict[Grant, list[str]]:
    """Every grant of ``effect`` in ``policies`` -> the policies (and statements) that give it."""
    grants: dict[Grant, list[str]] = {}
    for policy in policies:
        for index, statement in enumerate(_statements(policy.document)):
            if statement.get("Effect") != effect:
                continue
            condition = statement.get("Condition")
            cond = _canonical(condition) if condition else ""
            not_action = "Action" not in statement
            not_resource = "Resource" not in statement
            actions = as_list(statement.get("NotAction" if not_action else "Action"))
            resources = as_list(statement.get("NotResource" if not_resource else "Resource"))
            if not_action:
                actions = [", ".join(str(a) for a in actions)]
            if not_resource:
                resources = [", ".join(str(r) for r in resources)]
            for action in actions:
                for resource in resources:
                    grant = Grant(str(action), str(resource), cond, not_action, not_resource)
                    grants.setdefault(grant, []).append(f"{policy.name} statement {index}")
    return grants


MAX_CONTEXTS = 32  # alternatives asked per grant; beyond it the grant is compared as written


def contexts_for(condition: Mapping[str, Any] | None) -> list[dict[str, list[str]]] | None:
    """Request contexts under which ``condition`` holds, one per alternative value it lists.

    ``StringEquals ecs:CommandRunAs [user01, user02]`` gives two contexts, so dropping user02 is
    seen as a loss. None when no context can be derived simply (the grant is then compared as
    written).
    """
    contexts: list[dict[str, list[str]]] = [{}]
    for operator, block in (condition or {}).items():
        op = operator.lower()
        if not isinstance(block, Mapping):
            return None
        for key, values in block.items():
            values = [str(v) for v in as_list(values)]
            literal = op in ("stringlike", "arnlike", "foranyvalue:stringlike") and not any(
                "*" in v or "?" in v for v in values
            )
            if op in _SATISFIED_BY_VALUE or literal:
                if not values:
                    return None
                contexts = [{**c, key: [*c.get(key, []), v]} for c in contexts for v in values]
            elif op.endswith("ifexists") or "not" in op.split(":")[-1][:9]:
                continue  # negated operators and ...IfExists hold when the key is absent
            elif op == "null":
                if any(v.lower() == "false" for v in values):
                    contexts = [{**c, key: ["present"]} for c in contexts]
            else:
                return None
            if len(contexts) > MAX_CONTEXTS:
                return None
    return contexts


def allows(grants: access.Grants, action: str, resource: str, context: Mapping[str, Any]) -> bool:
    """Does this side allow the call ``action`` on ``resource`` (its other resources: any of their
    type), in the most permissive reading? A key the call never carries is absent, whatever the
    context says; a resource of a type the call is not authorised on is granted nothing; an action
    without a reference row (a wildcard among them) is asked on its one resource."""
    try:
        return grants.decide_call(action, (resource,), context, mode="permissive").allowed
    except UnknownAction:
        return grants.decide(action, resource, context).allowed
    except WrongResourceType:
        if not any(c in resource for c in "*?"):
            return False
    # A pattern wider than any one type (acs:ecs:*:*:*): the call on any resource of each type.
    return grants.decide_call(action, (), context, mode="permissive").allowed


def _decisions(grants: access.Grants | None, grant: Grant) -> list[bool] | None:
    """Per context of the grant's condition: does this side allow it (by the evaluator)?"""
    contexts = contexts_for(grant.condition_dict)
    if grant.not_action or grant.not_resource or contexts is None:
        return None
    if grants is None:
        return [False] * len(contexts)
    return [allows(grants, grant.action, grant.resource, c) for c in contexts]


def grants_nothing(grant: Grant, cloud: str) -> str | None:
    """Why an Allow grant as written grants nothing: its resource (no wildcard) is of no type the
    action is authorised on, or its condition is on a key the action never carries. None when it
    may grant something, or the reference lacks the action (a wildcard among them)."""
    from baseline.analysis import reference
    from baseline.analysis.evaluator import _carried, foreign_resources

    ref = None if grant.not_action else reference.lookup(cloud, grant.action)
    if ref is None:
        return None
    concrete = not grant.not_resource and not any(c in grant.resource for c in "*?")
    if concrete and foreign_resources(ref, [grant.resource]):
        types = ", ".join(sorted({t.arn for r in ref.readings for t in r.resources}))
        return f"{ref.action} is authorised on {types}, not on {grant.resource}"
    keys = [key for block in (grant.condition_dict or {}).values() for key in block]
    never = [k for k in keys if not any(_carried(cloud, reading, k) for reading in ref.readings)]
    if never:
        return f"{ref.action} never carries {', '.join(never)}: this condition never holds"
    return None


def _change(grant: Grant, gaining: access.Grants | None, losing: access.Grants | None) -> list | None:
    """The contexts in which ``gaining`` allows the grant and ``losing`` does not (None: none)."""
    now, before = _decisions(gaining, grant), _decisions(losing, grant)
    if now is None or before is None:
        # Not decidable offline as a request: compared as written.
        gained = gaining is not None and grant in flatten_statements(gaining.policies, "Allow")
        kept = losing is not None and grant in flatten_statements(losing.policies, "Allow")
        return [] if gained and not kept else None
    contexts = contexts_for(grant.condition_dict) or [{}]
    differing = [c for c, a, b in zip(contexts, now, before, strict=True) if a and not b]
    if not differing:
        return None
    return [] if len(differing) == len(contexts) else differing


def _widened_from(grant: Grant, base_grants: Iterable[Grant]) -> dict[str, str] | None:
    """A narrower grant of the base that this one replaces (same condition, wider pattern)."""
    for old in base_grants:
        if old.condition != grant.condition or old == grant or old.not_action or old.not_resource:
            continue
        same_action = action_matches(grant.action, old.action) and action_matches(old.action, grant.action)
        if same_action and old.resource != grant.resource and resource_matches(grant.resource, old.resource):
            return {"what": "resource", "from": old.resource, "to": grant.resource}
        same_resource = old.resource == grant.resource
        if (
            same_resource
            and old.action.lower() != grant.action.lower()
            and action_matches(grant.action, old.action)
        ):
            return {"what": "action", "from": old.action, "to": grant.action}
    return None


def escalation(grant: Grant, grants: access.Grants) -> str | None:
    """Why a gained grant matters for privilege escalation, or None."""
    if grant.not_action:
        return "NotAction grant: allows every action but the listed ones"
    hits = [a for a in ESCALATION_ACTIONS if action_matches(grant.action, a)]
    if hits:
        shown = ", ".join(hits[:3]) + (f" (+{len(hits) - 3} more)" if len(hits) > 3 else "")
        return f"privilege management: {shown}"
    for command in COMMAND_ACTIONS:
        if not action_matches(grant.action, command):
            continue
        context = next(iter(contexts_for(grant.condition_dict) or [{}]))
        resource = grant.resource if not grant.not_resource else "*"
        privileged = [
            user
            for user in PRIVILEGED_OS_USERS  # Linux and Windows: the accounts the guides forbid
            if allows(grants, command, resource, {**context, RUN_AS_KEY: [user]})
        ]
        if privileged:
            return f"{command} without {RUN_AS_KEY} restriction: may run commands as {', '.join(privileged)}"
    return None


def trust_grants(plan: Mapping[str, Any], principal: access.Principal | None) -> dict[Grant, list[str]]:
    """Who may assume a role, as written: (action, trusted principal, condition) per Allow."""
    if principal is None or principal.kind != "role":
        return {}
    from baseline.errors import ConfigError

    try:
        trust = access.trust_document(plan, principal)
    except (ConfigError, StopIteration):
        return {}
    grants: dict[Grant, list[str]] = {}
    for index, statement in enumerate(_statements(trust.document)):
        if statement.get("Effect") != "Allow":
            continue
        condition = statement.get("Condition")
        trusted = statement.get("Principal")
        who = (
            [f"{kind}: {value}" for kind, values in trusted.items() for value in as_list(values)]
            if isinstance(trusted, Mapping)
            else [str(trusted)]
        )
        for action in as_list(statement.get("Action")):
            for name in who:
                grant = Grant(str(action), name, _canonical(condition) if condition else "")
                grants.setdefault(grant, []).append(f"trust policy statement {index}")
    return grants


def _trust_note(grant: Grant) -> str | None:
    """A trust that lets anyone, or any subject of an identity provider, assume the role."""
    if grant.resource.endswith(": *") or grant.resource == "*":
        return "any principal may assume this role"
    if "*" in grant.condition and "sub" in grant.condition.lower():
        return "a wildcard in the token subject condition"
    return None


def _principal_dict(principal: access.Principal) -> dict[str, str]:
    return {
        "cloud": principal.cloud,
        "kind": principal.kind,
        "name": principal.name,
        "label": principal.label,
    }


SOLVER_CLASSES = 40  # access classes found per principal and direction; more says "not listed"
SOLVER_CLASSES_WHOLE = 8  # for a principal added or removed: everything it may do is the change


def symbolic_access(
    old: access.Grants | None,
    now: access.Grants | None,
    *,
    stack: str,
    principal: str,
    files: Mapping[str, str | None],
) -> dict[str, Any]:
    """The access every request gains and loses, by the solver (``baseline.analysis.symbolic``).

    Each class comes with a witness request the evaluator has re-checked and the ``can`` command
    that reproduces it; a class is escalation-relevant when its action manages privileges or
    credentials, or runs commands as a privileged OS user, as one no policy names, or as none.
    Escalation actions are asked first, so a limit never hides one behind ordinary reads.
    """
    from baseline.analysis import symbolic

    if old is not None and now is not None and symbolic.same_policies(old, now):
        none = {"classes": [], "complete": True, "approximations": []}
        return {"newAccess": none, "lostAccess": dict(none)}
    cloud = (now or old).principal.cloud  # type: ignore[union-attr]
    focus = [a for a in (*ESCALATION_ACTIONS, *COMMAND_ACTIONS) if a.split(":")[0] in _SERVICES[cloud]]
    # A principal new (or gone) on one side: all its access is new (lost); the first classes,
    # escalations first, say enough.
    limit = SOLVER_CLASSES if old is not None and now is not None else SOLVER_CLASSES_WHOLE
    gained = symbolic.new_access(old, now, limit=limit, focus_actions=focus)
    lost = symbolic.new_access(now, old, limit=limit, focus_actions=focus)

    def listed(answer: Any, side: str, grants: access.Grants | None) -> dict[str, Any]:
        classes = []
        for item in answer.classes:
            entry = item.as_dict()
            also, as_call = call_of(grants, item.witness) if grants is not None else ((), None)
            entry["reproduce"] = _can_command(item.witness, stack, principal, files.get(side), also)
            if as_call is False:
                entry["call"] = (
                    f"a request only: no {item.witness.action} call on {item.witness.resource} is allowed "
                    "(the call needs its other resources too)"
                )
            if item.excluded_resources:
                entry["widened"] = {"what": "resource", "from": item.excluded_resources, "to": item.resource}
            if side == "new" and as_call is not False and (reason := class_escalation(item)):
                entry["escalation"] = reason
            classes.append(entry)
        return {"classes": classes, "complete": answer.complete, "approximations": answer.approximations}

    return {"newAccess": listed(gained, "new", now), "lostAccess": listed(lost, "base", old)}


_SERVICES = {"alicloud": ("ram", "ecs"), "aws": ("iam", "ecs")}


def call_of(grants: access.Grants, witness: Any) -> tuple[tuple[str, ...], bool | None]:
    """The solver's witness is one request (one action on one resource); the cloud allows the call
    only when each of its resources is. Returns the call's other resources that make it allowed
    (none needed, or a pattern the principal's Allow statements name, in the most permissive
    reading) and whether it is: None when the reference lacks the action (the request is the call),
    False when no call on the witness is found allowed."""
    try:
        call = grants.decide_call(witness.action, (witness.resource,), witness.context, mode="permissive")
    except (UnknownAction, WrongResourceType):
        return (), None
    if call.allowed or not call.filled:
        return (), call.allowed
    for pattern in grants.allow_patterns():
        if pattern == witness.resource:
            continue
        try:
            tried = grants.decide_call(
                witness.action, (witness.resource, pattern), witness.context, mode="permissive"
            )
        except WrongResourceType:
            continue
        if tried.allowed:
            return (pattern,), True
    return (), False


def _can_command(witness: Any, stack: str, principal: str, file: str | None, also=()) -> str:
    command = witness.can_command(stack, principal, also)
    if file:
        command = command.replace(f"--stack {stack} ", f"--stack {stack} --config-file {file} ", 1)
    return command


def class_escalation(item: Any) -> str | None:
    """Why a class of new access matters for privilege escalation, or None."""
    actions = {a.lower() for a in item.actions}
    named = [a for a in ESCALATION_ACTIONS if a.lower() in actions]
    if named:
        return f"privilege management: {', '.join(named)}"
    command = next((c for c in COMMAND_ACTIONS if c.lower() in actions), None)
    if command is None:
        return None
    run_as = next((v for k, v in item.witness.context.items() if k.lower() == RUN_AS_KEY.lower()), None)
    if not run_as:
        return f"{command} with no {RUN_AS_KEY} (runs as root)"
    if any(user.lower() in (p.lower() for p in PRIVILEGED_OS_USERS) for user in run_as):
        return f"{command} as privileged OS user {', '.join(run_as)}"
    pinned = any(c.lower().startswith(f"{RUN_AS_KEY.lower()}=") for c in item.conditions)
    if not pinned:
        return f"{command} as OS users no policy names (e.g. {', '.join(run_as)})"
    return None


def compare_access(
    base: Mapping[str, Any],
    new: Mapping[str, Any],
    *,
    stack: str = "",
    files: Mapping[str, str | None] | None = None,
) -> list[dict[str, Any]]:
    """Per principal: grants gained and lost, denies added and removed, unevaluated attachments,
    and the access every request gains or loses (``symbolic_access``)."""
    by_key: dict[tuple[str, str, str], dict[str, access.Principal]] = {}
    for side, plan in (("base", base), ("new", new)):
        for principal in access.principals(plan):
            by_key.setdefault((principal.cloud, principal.kind, principal.name), {})[side] = principal
    names = [key[2] for key in by_key]
    result = []
    for key in sorted(by_key):
        sides = by_key[key]
        old = access.grants_of(base, sides["base"]) if "base" in sides else None
        now = access.grants_of(new, sides["new"]) if "new" in sides else None
        old_allows = flatten_statements(old.policies, "Allow") if old else {}
        new_allows = flatten_statements(now.policies, "Allow") if now else {}
        old_denies = flatten_statements(old.policies, "Deny") if old else {}
        new_denies = flatten_statements(now.policies, "Deny") if now else {}
        old_boundary = flatten_statements(old.boundary or [], "Allow") if old else {}
        new_boundary = flatten_statements(now.boundary or [], "Allow") if now else {}
        # A grant written on both sides is decided the same way when the denies and the boundary
        # are the same too (its own statement allows it either way): only the rest is evaluated.
        same_limits = (
            old is not None
            and now is not None
            and set(old_denies) == set(new_denies)
            and set(old_boundary) == set(new_boundary)
            and (old.boundary is None) == (now.boundary is None)
        )
        gained, lost, inert = [], [], []
        for grant, via in new_allows.items():
            if now is not None and grant not in old_allows and (why := grants_nothing(grant, key[0])):
                inert.append({**grant.as_dict(), "via": via, "why": why})
            if same_limits and grant in old_allows:
                continue
            if (only := _change(grant, now, old)) is None:
                continue
            entry = {**grant.as_dict(), "via": via, **({"only": only} if only else {})}
            if widened := _widened_from(grant, old_allows):
                entry["widened"] = widened
            if reason := escalation(grant, now):
                entry["escalation"] = reason
            gained.append(entry)
        for grant, via in old_allows.items():
            if same_limits and grant in new_allows:
                continue
            if (only := _change(grant, old, now)) is not None:
                lost.append({**grant.as_dict(), "via": via, **({"only": only} if only else {})})
        # A Deny removed (or added) changes access where it applied: ask the evaluator there, so
        # dropping "Deny RunCommand as root" shows as the principal gaining RunCommand as root.
        for grant in (g for g in old_denies if g not in new_denies and now is not None):
            if (only := _change(grant, now, old)) is not None:
                entry = {
                    **grant.as_dict(),
                    "via": ["a Deny statement removed"],
                    **({"only": only} if only else {}),
                }
                if reason := escalation(grant, now):
                    entry["escalation"] = reason
                gained.append(entry)
        for grant in (g for g in new_denies if g not in old_denies and old is not None):
            if (only := _change(grant, old, now)) is not None:
                lost.append(
                    {**grant.as_dict(), "via": ["a Deny statement added"], **({"only": only} if only else {})}
                )
        trust = _set_change(trust_grants(base, sides.get("base")), trust_grants(new, sides.get("new")))
        for added in trust["added"]:
            grant = Grant(
                added["action"],
                added["resource"],
                _canonical(added["condition"]) if added["condition"] else "",
            )
            if note := _trust_note(grant):
                added["escalation"] = note
        entry = {
            "principal": _principal_dict(sides.get("new") or sides["base"]),
            "status": "added" if old is None else "removed" if now is None else "kept",
            "gained": gained,
            "lost": lost,
            # Written now, granting nothing: a condition on a key the action never carries.
            "grantsNothing": inert,
            "denies": _set_change(old_denies, new_denies),
            "boundary": _set_change(old_boundary, new_boundary),
            "trust": trust,
            # Attached now but not on file: access no proof covers (issue: unknown is never "nothing").
            "unmodelled": sorted(now.not_evaluated) if now else [],
            "notEvaluated": {
                "added": sorted(
                    set(now.not_evaluated if now else []) - set(old.not_evaluated if old else [])
                ),
                "removed": sorted(
                    set(old.not_evaluated if old else []) - set(now.not_evaluated if now else [])
                ),
            },
        }
        principal = sides.get("new") or sides["base"]
        asked_as = (
            principal.name if names.count(principal.name) == 1 else f"{principal.cloud}:{principal.name}"
        )
        entry.update(symbolic_access(old, now, stack=stack, principal=asked_as, files=files or {}))
        solved = entry["newAccess"]["classes"] or entry["lostAccess"]["classes"]
        if (
            solved
            or any(entry[k] for k in ("gained", "lost", "grantsNothing"))
            or any(
                entry[k][side]
                for k in ("denies", "boundary", "trust", "notEvaluated")
                for side in ("added", "removed")
            )
            or entry["unmodelled"]
        ):
            result.append(entry)
    return result


def _set_change(old: Mapping[Grant, list[str]], new: Mapping[Grant, list[str]]) -> dict[str, list]:
    return {
        "added": [{**g.as_dict(), "via": v} for g, v in new.items() if g not in old],
        "removed": [{**g.as_dict(), "via": v} for g, v in old.items() if g not in new],
    }


# --- credentials: a new AccessKey or console login is new access, whatever the grants ----------
# resource type -> (cloud, what it is, the input naming its user)
CREDENTIALS = {
    "alicloud:ram/accessKey:AccessKey": ("alicloud", "AccessKey", "userName"),
    "alicloud:ram/loginProfile:LoginProfile": ("alicloud", "console login (login profile)", "userName"),
    "aws:iam/accessKey:AccessKey": ("aws", "AccessKey", "user"),
    "aws:iam/userLoginProfile:UserLoginProfile": ("aws", "console login (login profile)", "user"),
}


def _credentials(plan: Mapping[str, Any]) -> dict[tuple[str, str, str], dict[str, str]]:
    """(cloud, 'user', user name) -> {resource name: what} of every credential the plan creates."""
    found: dict[tuple[str, str, str], dict[str, str]] = {}
    for resource in plan.get("resources", []):
        if resource["type"] in CREDENTIALS:
            cloud, what, key = CREDENTIALS[resource["type"]]
            user = str((resource.get("inputs") or {}).get(key, ""))
            found.setdefault((cloud, "user", user), {})[resource["name"]] = what
    return found


def _with_credentials(
    principals: list[dict[str, Any]], base: Mapping[str, Any], new: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """The access section with each principal's credentials added and removed."""
    old, now = _credentials(base), _credentials(new)
    by_key = {
        (p["principal"]["cloud"], p["principal"]["kind"], p["principal"]["name"]): p for p in principals
    }
    base_keys = {(p.cloud, p.kind, p.name): p for p in access.principals(base)}
    new_keys = {(p.cloud, p.kind, p.name): p for p in access.principals(new)}
    for key in sorted(set(old) | set(now)):
        before, after = old.get(key, {}), now.get(key, {})
        change = {
            "added": [{"credential": after[n], "resource": n} for n in sorted(set(after) - set(before))],
            "removed": [{"credential": before[n], "resource": n} for n in sorted(set(before) - set(after))],
        }
        if not (change["added"] or change["removed"]):
            continue
        entry = by_key.get(key)
        if entry is None:
            principal = new_keys.get(key) or base_keys.get(key) or access.Principal(*key, "")
            entry = by_key[key] = {
                "principal": _principal_dict(principal),
                "status": "added" if key not in base_keys else "removed" if key not in new_keys else "kept",
                "gained": [],
                "lost": [],
                **{k: {"added": [], "removed": []} for k in ("denies", "boundary", "trust", "notEvaluated")},
                # Only a credential changed: the principal's policies, and so its access, did not.
                **{
                    k: {"classes": [], "complete": True, "approximations": []}
                    for k in ("newAccess", "lostAccess")
                },
            }
        entry["credentials"] = change
    for entry in by_key.values():
        entry.setdefault("credentials", {"added": [], "removed": []})
    return [by_key[k] for k in sorted(by_key)]


# --- the whole difference ------------------------------------------------------------------------


def compare(
    base: Mapping[str, Any],
    new: Mapping[str, Any],
    *,
    stack: str,
    sources: Mapping[str, str],
    files: Mapping[str, str | None] | None = None,
) -> dict[str, Any]:
    resources = compare_resources(base, new)
    principals = _with_credentials(compare_access(base, new, stack=stack, files=files), base, new)
    escalations = [
        {
            "principal": p["principal"]["label"],
            **{k: g[k] for k in ("action", "resource", "condition")},
            "why": g["escalation"],
        }
        for p in principals
        for g in [*p["gained"], *p["trust"]["added"]]
        if "escalation" in g
    ]
    flagged = {(e["principal"], e["action"].lower()) for e in escalations}
    for p in principals:
        for c in p["newAccess"]["classes"]:
            if "escalation" in c and (p["principal"]["label"], c["witness"]["action"].lower()) not in flagged:
                escalations.append(
                    {
                        "principal": p["principal"]["label"],
                        "action": c["action"],
                        "resource": c["resource"],
                        "condition": None,
                        "class": c["class"],
                        "why": c["escalation"],
                    }
                )
    # No outputs at all is no output paths (_flatten of an empty map is the one path '').
    old_outputs = _flatten(base["outputs"]) if base.get("outputs") else {}
    new_outputs = _flatten(new["outputs"]) if new.get("outputs") else {}
    outputs_changed = sorted(
        k
        for k in set(old_outputs) | set(new_outputs)
        if _canonical(old_outputs.get(k)) != _canonical(new_outputs.get(k))
    )
    changed = bool(any(resources.values()) or principals or outputs_changed)
    return {
        "stack": stack,
        "base": sources.get("base", ""),
        "new": sources.get("new", ""),
        **{key: sources[key] for key in ("baseHow", "pick") if key in sources},
        "changed": changed,
        "summary": {
            "added": len(resources["added"]),
            "removed": len(resources["removed"]),
            "changed": len(resources["changed"]),
            "principalsWithAccessChanges": len(principals),
            "escalations": len(escalations),
        },
        "resources": resources,
        "access": principals,
        "escalations": escalations,
        "newAccessProved": all(p["newAccess"]["complete"] for p in principals)
        and not any(p.get("unmodelled") for p in principals),
        "outputsChanged": outputs_changed,
    }


# --- rendering -----------------------------------------------------------------------------------


def grouped(grants: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Grants that differ only in their action, as one entry listing the actions (for reading)."""
    groups: dict[str, dict[str, Any]] = {}
    for grant in grants:
        rest = {k: v for k, v in grant.items() if k not in ("action", "via")}
        entry = groups.setdefault(_canonical(rest), {**rest, "actions": []})
        entry["actions"].append(grant["action"])
    return [{**g, "action": ", ".join(g.pop("actions"))} for g in groups.values()]


def _grant_line(grant: Mapping[str, Any]) -> str:
    condition = f" if {_canonical(grant['condition'])}" if grant.get("condition") else ""
    line = f"{grant['action']} on {grant['resource']}{condition}"
    if only := grant.get("only"):
        line += " [only for " + "; ".join(_context_text(c) for c in only) + "]"
    if widened := grant.get("widened"):
        line += f" [WIDENED {widened['what']}: {widened['from']} -> {widened['to']}]"
    if reason := grant.get("escalation"):
        line += f" [ESCALATION: {reason}]"
    return line


def _trust_line(grant: Mapping[str, Any]) -> str:
    condition = f" if {_canonical(grant['condition'])}" if grant.get("condition") else ""
    note = f" [ESCALATION: {grant['escalation']}]" if grant.get("escalation") else ""
    return f"{grant['resource']} may {grant['action']}{condition}{note}"


def _context_text(context: Mapping[str, list[str]]) -> str:
    return ", ".join(f"{k}={v}" for k, values in context.items() for v in values) or "no context"


def _change_lines(change: Mapping[str, Any]) -> list[str]:
    if "option" in change:
        return [f"{change['option']}: {_canonical(change['old'])} -> {_canonical(change['new'])}"]
    if "document" not in change:
        return [f"{change['input']}: {_canonical(change['old'])} -> {_canonical(change['new'])}"]
    doc = change["document"]
    lines = [f"{change['input']} (policy document):"]
    for item in doc["added"]:
        lines.append(f"  + statement {item['index']}: {_canonical(item['statement'])}")
    for item in doc["removed"]:
        lines.append(f"  - statement {item['index']}: {_canonical(item['statement'])}")
    for item in doc["changed"]:
        sid = f" ({item['sid']})" if item.get("sid") else ""
        lines.append(f"  ~ statement {item['new']}{sid}:")
        for field, what in item["changes"].items():
            if "added" in what:
                lines.extend(f"      {field} + {v}" for v in what["added"])
                lines.extend(f"      {field} - {v}" for v in what["removed"])
            else:
                lines.append(f"      {field}: {_canonical(what['old'])} -> {_canonical(what['new'])}")
    if "other" in doc:
        lines.append(f"  ~ {_canonical(doc['other']['old'])} -> {_canonical(doc['other']['new'])}")
    return lines


def to_text(diff: Mapping[str, Any]) -> str:
    s = diff["summary"]
    lines = [
        f"stack {diff['stack']}: {diff['base']} -> {diff['new']}",
        f"{s['added']} added, {s['removed']} removed, {s['changed']} changed; "
        f"access changes for {s['principalsWithAccessChanges']} principals; "
        f"{s['escalations']} escalation-relevant",
    ]
    if "baseHow" in diff:
        lines[1:1] = [f"base: {diff['baseHow']}; another base: {diff['pick']}"]
    if not diff["changed"]:
        return "\n".join([*lines, "no change"]) + "\n"
    res = diff["resources"]
    for r in res["added"]:
        lines.append(f"+ {r['type']}  {r['name']}" + ("  (protected)" if r["protect"] else ""))
    for r in res["removed"]:
        lines.append(f"- {r['type']}  {r['name']}")
    for r in res["changed"]:
        lines.append(f"~ {r['type']}  {r['name']}")
        for change in r["changes"]:
            lines.extend(f"    {line}" for line in _change_lines(change))
    if diff["escalations"]:
        lines.append("")
        lines.append("ESCALATION-RELEVANT GAINS:")
        lines.extend(
            f"  ! {e['principal']}: {e.get('class') or _grant_line(e)} ({e['why']})"
            for e in diff["escalations"]
        )
    if diff["access"]:
        lines.append("")
        lines.append("Effective access:")
    for p in diff["access"]:
        status = {"added": " (new principal)", "removed": " (removed principal)"}.get(p["status"], "")
        lines.append(f"  {p['principal']['label']}{status}")
        lines.extend(
            f"    + credential: {c['credential']} ({c['resource']})" for c in p["credentials"]["added"]
        )
        lines.extend(
            f"    - credential: {c['credential']} ({c['resource']})" for c in p["credentials"]["removed"]
        )
        lines.extend(f"    + {_grant_line(g)}" for g in grouped(p["gained"]))
        lines.extend(f"    - {_grant_line(g)}" for g in grouped(p["lost"]))
        lines.extend(
            f"    0 grants nothing: {_grant_line(g)} ({g['why']})" for g in p.get("grantsNothing", [])
        )
        lines.extend(f"    + Deny {_grant_line(g)}" for g in p["denies"]["added"])
        lines.extend(f"    - Deny {_grant_line(g)}" for g in p["denies"]["removed"])
        lines.extend(f"    + trusted: {_trust_line(g)}" for g in p["trust"]["added"])
        lines.extend(f"    - trusted: {_trust_line(g)}" for g in p["trust"]["removed"])
        lines.extend(f"    + boundary allows {_grant_line(g)}" for g in p["boundary"]["added"])
        lines.extend(f"    - boundary allows {_grant_line(g)}" for g in p["boundary"]["removed"])
        lines.extend(f"    + attached, not evaluated offline: {n}" for n in p["notEvaluated"]["added"])
        lines.extend(f"    - attached, not evaluated offline: {n}" for n in p["notEvaluated"]["removed"])
        lines.extend(f"    ? unmodelled access: {n}" for n in p.get("unmodelled", []))
        lines.extend(_solver_lines(p))
    if diff["access"] or diff["changed"]:
        lines.append("")
        lines.append(proved_line(diff))
    if diff["outputsChanged"]:
        lines.append("")
        lines.append(f"Stack outputs changed: {', '.join(diff['outputsChanged'])}")
    return "\n".join(lines) + "\n"


def _class_line(item: Mapping[str, Any]) -> str:
    line = item["class"]
    if widened := item.get("widened"):
        line += f" [WIDENED {widened['what']}: {', '.join(widened['from'])} -> {widened['to']}]"
    if reason := item.get("escalation"):
        line += f" [ESCALATION: {reason}]"
    if call := item.get("call"):
        line += f" [{call}]"
    return line


def grouped_classes(classes: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Classes that differ only in their actions, as one (for reading); escalations stay apart.
    The witness shown is the first class's."""
    groups: dict[str, dict[str, Any]] = {}
    for item in classes:
        kept = ("resource", "excludedResources", "conditions", "widened", "call")
        rest = {k: item[k] for k in kept if k in item}
        key = _canonical(rest) if "escalation" not in item else f"escalation {len(groups)}"
        if key not in groups:
            groups[key] = {**item, "actions": list(item["actions"])}
        else:
            entry = groups[key]
            before = ", ".join(entry["actions"])
            entry["actions"] += [a for a in item["actions"] if a not in entry["actions"]]
            entry["class"] = ", ".join(entry["actions"]) + entry["class"][len(before) :]
    return list(groups.values())


def _solver_lines(p: Mapping[str, Any]) -> list[str]:
    """Every request's new and lost access, by the solver, with a witness command each."""
    lines = []
    for sign, key, word in (("+", "newAccess", "new"), ("-", "lostAccess", "lost")):
        answer = p[key]
        if not answer["classes"]:
            continue
        lines.append(f"    {word} access, every request (solver):")
        for item in grouped_classes(answer["classes"]):
            lines.append(f"      {sign} {_class_line(item)}")
            lines.append(f"          witness: {item['reproduce']}")
        if not answer["complete"]:
            lines.append(f"      ... more {word} access not listed (first {len(answer['classes'])} classes)")
        lines.extend(f"      (approximate: {a})" for a in answer["approximations"])
    return lines


def proved_line(diff: Mapping[str, Any]) -> str:
    """Whether the listed new access is all there is: a proof, not a sample."""
    any_new = any(p["newAccess"]["classes"] for p in diff["access"])
    if unknown := [p["principal"]["label"] for p in diff["access"] if p.get("unmodelled")]:
        return f"new access not proved: {', '.join(unknown)} hold(s) policies not modelled (listed above)"
    if not diff.get("newAccessProved", True):
        return "new access beyond the classes listed: not all listed (limit reached)"
    return "no other new access (proved)" if any_new else "no new access (proved)"


def _md(text: str) -> str:
    """Inline code for a Markdown table cell: no backticks or pipes can break out of it."""
    return "`" + str(text).replace("`", "'").replace("|", "\\|").replace("\n", " ") + "`"


def to_markdown(diff: Mapping[str, Any]) -> str:
    s = diff["summary"]
    lines = [f"### Stack `{diff['stack']}`", ""]
    if "baseHow" in diff:
        lines += [f"Base: {_md(diff['base'])}, {diff['baseHow']}; another base: {diff['pick']}.", ""]
    if not diff["changed"]:
        return "\n".join([*lines, "No change.", ""])
    lines.append(
        f"{s['added']} added, {s['removed']} removed, {s['changed']} changed; access changes for "
        f"{s['principalsWithAccessChanges']} principal(s); **{s['escalations']} escalation-relevant**."
    )
    lines.append("")
    if diff["escalations"]:
        lines.append("> [!WARNING]")
        lines.append("> Escalation-relevant gains:")
        for e in diff["escalations"]:
            lines.append(f"> - {_md(e['principal'])}: {_md(e.get('class') or _grant_line(e))}, {e['why']}")
        lines.append("")
    lines += [f"**{proved_line(diff)}**", ""]
    if diff["access"]:
        lines += [
            "#### Effective access",
            "",
            "| principal | change | action | resource | condition | note |",
        ]
        lines.append("| --- | --- | --- | --- | --- | --- |")
        for p in diff["access"]:
            who = p["principal"]["label"] + {"added": " (new)", "removed": " (removed)"}.get(p["status"], "")
            rows = [("gains", g) for g in grouped(p["gained"])] + [("loses", g) for g in grouped(p["lost"])]
            rows += [("grants nothing", {**g, "escalation": None}) for g in p.get("grantsNothing", [])]
            rows += [("deny added", g) for g in p["denies"]["added"]]
            rows += [("deny removed", g) for g in p["denies"]["removed"]]
            rows += [
                ("trusts", {**g, "action": g["action"], "resource": g["resource"]})
                for g in p["trust"]["added"]
            ]
            rows += [("no longer trusts", g) for g in p["trust"]["removed"]]
            for change, g in rows:
                notes = []
                if only := g.get("only"):
                    notes.append("only for " + "; ".join(_md(_context_text(c)) for c in only))
                if w := g.get("widened"):
                    notes.append(f"**widened** {w['what']}: {_md(w['from'])} → {_md(w['to'])}")
                if g.get("escalation"):
                    notes.append(f"**escalation**: {g['escalation']}")
                if change == "grants nothing":
                    notes.append(_md(g["why"]))
                condition = _md(_canonical(g["condition"])) if g.get("condition") else ""
                cells = [_md(who), change, _md(g["action"]), _md(g["resource"]), condition, "; ".join(notes)]
                lines.append("| " + " | ".join(cells) + " |")
            for change, key in (("gains (solver)", "newAccess"), ("loses (solver)", "lostAccess")):
                for item in grouped_classes(p[key]["classes"]):
                    notes = [f"witness: {_md(item['reproduce'])}"]
                    if w := item.get("widened"):
                        notes.append(f"**widened** {w['what']}: {_md(', '.join(w['from']))} → {_md(w['to'])}")
                    if item.get("escalation"):
                        notes.append(f"**escalation**: {item['escalation']}")
                    if item.get("call"):
                        notes.append(_md(item["call"]))
                    condition = _md(", ".join(item["conditions"])) if item["conditions"] else ""
                    cells = [
                        _md(who),
                        change,
                        _md(", ".join(item["actions"])),
                        _md(item["resource"]),
                        condition,
                    ]
                    lines.append("| " + " | ".join([*cells, "; ".join(notes)]) + " |")
            for change, items in (
                (
                    "new credential",
                    [f"{c['credential']} ({c['resource']})" for c in p["credentials"]["added"]],
                ),
                (
                    "credential removed",
                    [f"{c['credential']} ({c['resource']})" for c in p["credentials"]["removed"]],
                ),
                ("attached", p["notEvaluated"]["added"]),
                ("detached", p["notEvaluated"]["removed"]),
            ):
                for item in items:
                    lines.append(f"| {_md(who)} | {change} | | | | {_md(item)} |")
        lines.append("")
    res = diff["resources"]
    lines += ["#### Resources", "", "```diff"]
    lines += [f"+ {r['type']}  {r['name']}" for r in res["added"]]
    lines += [f"- {r['type']}  {r['name']}" for r in res["removed"]]
    for r in res["changed"]:
        lines.append(f"! {r['type']}  {r['name']}")
        lines.extend(
            f"    {line}".replace("```", "'''") for change in r["changes"] for line in _change_lines(change)
        )
    lines += ["```", ""]
    return "\n".join(lines)


def to_json(diff: Mapping[str, Any]) -> str:
    return json.dumps(diff, indent=2) + "\n"


FORMATS = {"text": to_text, "markdown": to_markdown, "json": to_json}
