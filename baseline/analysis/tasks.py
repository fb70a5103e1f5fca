"""Task proofs: every call a principal's job makes, asked as the cloud authorises it.

The catalogue (``baseline/scenarios/tasks/``) states, per scenario and per principal role, the
calls each step of the job makes, in the authorization reference's terms, each citing its source.
This module turns the catalogue into concrete calls for one stack's principals and decides them
with ``evaluator.evaluate_call`` in ``strict`` mode (every reading must allow).

A principal's role is fixed by its plan resource (the scenario's component and the resource
name's suffix, e.g. ``patch-management-operator-user``), never by its cloud name, which stacks
configure. Placeholders in the catalogue (``{region}``, ``{instance.id}``, ``{run_as}``, ...) are
resolved from the stack's settings, one binding per principal (``_bindings``); a call naming a
placeholder with several values is asked once per value (per combination).
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

from baseline.analysis import access, reference
from baseline.analysis.access import Principal
from baseline.analysis.calls import TaskCall

CATALOGUE_DIR = Path(__file__).resolve().parent.parent / "scenarios" / "tasks"
_FIELD = re.compile(r"\{([a-z_]+)(?:\.([a-z_]+))?\}")
# A call on one instance (not the listing of instance/*), and the key its tags are presented under.
_ON_ONE_INSTANCE = re.compile(r":instance/(?!\*$)")
RESOURCE_TAG_PREFIX = "acs:ResourceTag/"
# Settings attribute -> catalogue file: one file per scenario, named as the settings key.
SCENARIOS = {
    "patch_management": "patchManagement",
    "cloud_assistant_linux": "cloudAssistantLinux",
    "cloud_assistant_windows": "cloudAssistantWindows",
    "ecs_instance_role": "ecsInstanceRole",
    "eci_access": "eciAccess",
    "ecs_mcp_server": "ecsMcpServer",
}
# A placeholder the stack does not fix (no cluster named, instances chosen by tag): one example
# value, so the call is asked on a resource of the type the policy must cover, not on a pattern.
ANY_CLUSTER = "default"  # the cluster ECS creates when a call names none
ANY_SERVICE = "any-service"
ANY_INSTANCE = "i-taskproof000000000"


class CatalogueError(ValueError):
    """The catalogue names something the stack cannot resolve (a placeholder without a value)."""

    fix = "give the placeholder a value in baseline/analysis/tasks.py, or mark the call optional"


@dataclass(frozen=True)
class Binding:
    """A principal of the plan in its catalogue role, with the values its placeholders take."""

    scenario: str  # catalogue key, e.g. patchManagement
    role: str  # the role in the catalogue, e.g. operator
    resource: str  # the plan resource that creates the principal
    values: Mapping[str, Sequence[Any]]
    flags: frozenset[str] = frozenset()
    # A tag-scoped fleet (instanceTags): every call on an instance is made on one carrying these
    # tags, so the request presents them (acs:ResourceTag/<key>), as the cloud does for that instance.
    resource_tags: Mapping[str, str] = field(default_factory=dict)


# --- the catalogue ----------------------------------------------------------------------------


@cache
def catalogue() -> dict[str, dict[str, Any]]:
    """Every scenario's catalogue, keyed by the scenario's settings key (``patchManagement``)."""
    found = {}
    for path in sorted(CATALOGUE_DIR.glob("*.yaml")):
        data = reference.load_yaml(path.read_text(encoding="utf-8")) or {}
        found[str(data.get("scenario", path.stem))] = data
    return found


def steps_of(scenario: str, role: str) -> list[Mapping[str, Any]] | None:
    """A role's steps; an entry that is a list (a YAML alias of shared steps) is spliced in."""
    entry = (catalogue().get(scenario, {}).get("principals") or {}).get(role)
    if entry is None:
        return None
    steps: list[Mapping[str, Any]] = []
    for item in entry.get("steps") or []:
        steps += item if isinstance(item, list) else [item]
    return steps


def _source_text(data: Mapping[str, Any], key: str) -> str:
    source = (data.get("sources") or {}).get(key)
    if source is None:
        return key
    if isinstance(source, Mapping):
        return ", ".join(str(source[k]) for k in ("title", "url", "at") if source.get(k))
    return str(source)


def _expand(template: str, choice: Mapping[str, Any]) -> str:
    def one(match: re.Match[str]) -> str:
        value = choice[match.group(1)]
        return str(value[match.group(2)] if match.group(2) else value)

    return _FIELD.sub(one, template)


def _names(texts: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(m.group(1) for text in texts for m in _FIELD.finditer(text)))


def _when(condition: Any, flags: frozenset[str]) -> bool:
    if condition is None:
        return True
    text = str(condition)
    return text[1:] not in flags if text.startswith("!") else text in flags


def calls_for(binding: Binding, principal: Principal) -> list[TaskCall]:
    """The concrete calls of one principal's job, in catalogue order."""
    data = catalogue()[binding.scenario]
    cloud = str(data.get("cloud", principal.cloud))
    calls: list[TaskCall] = []
    for step in steps_of(binding.scenario, binding.role) or []:
        if not _when(step.get("when"), binding.flags):
            continue
        for call in step.get("calls") or []:
            if not _when(call.get("when"), binding.flags):
                continue
            resources = [str(r) for r in call.get("resources") or ()]
            context = {
                str(k): [str(v) for v in (vs if isinstance(vs, list) else [vs])]
                for k, vs in (call.get("context") or {}).items()
            }
            names = _names([*resources, *context, *(v for vs in context.values() for v in vs)])
            missing = [n for n in names if not binding.values.get(n)]
            if missing:
                # A placeholder the stack leaves without a value: the step does not apply here
                # (e.g. no KMS key named) only when the catalogue says so with `optional`.
                if call.get("optional"):
                    continue
                raise CatalogueError(f"{binding.scenario}.{binding.role}: no value for {{{missing[0]}}}")
            for combo in itertools.product(*(binding.values[n] for n in names)):
                choice = dict(zip(names, combo, strict=True))
                ctx = {
                    _expand(k, choice): tuple(dict.fromkeys(_expand(v, choice) for v in vs))
                    for k, vs in context.items()
                }
                if binding.resource_tags and any(_ON_ONE_INSTANCE.search(r) for r in resources):
                    ctx.update({f"{RESOURCE_TAG_PREFIX}{k}": (v,) for k, v in binding.resource_tags.items()})
                calls.append(
                    TaskCall(
                        principal=principal.name,
                        cloud=cloud,
                        step=str(step.get("step", "")),
                        action=str(call["action"]),
                        resources=tuple(dict.fromkeys(_expand(r, choice) for r in resources)),
                        context=ctx,
                        source=_source_text(data, str(call.get("source") or step.get("source", ""))),
                        # The catalogue says why no page names the call's resource: never proved.
                        unknown=str(call.get("unknown") or ""),
                    )
                )
    return calls


# --- bindings: each principal's role and placeholder values, from the stack's settings -----------


def _instances(ids: Sequence[str], region: str) -> list[dict[str, str]]:
    return [{"id": i, "region": region} for i in ids] or [{"id": ANY_INSTANCE, "region": region}]


def _patch(settings: Any, base: Mapping[str, Any], naming: Any) -> list[Binding]:
    s = settings.patch_management
    values = {**base, "instance": _instances(s.instance_ids, base["region"][0])}
    flags = {"whetherCreateSnapshot"} if s.whether_create_snapshot else set()
    if s.automation_role:
        values["automation_role"] = [naming.name(s.automation_role.name)]
        flags.add("automationRole")
    found = []
    if s.automation_role:
        found.append(
            Binding(
                "patchManagement",
                "automation",
                "patch-management-automation-role",
                values,
                frozenset(flags),
                s.instance_tags,
            )
        )
    if s.operator_user:
        # Without an automation role the operator runs the executions itself: the role's calls too.
        role = "operator" if s.automation_role else "operator-runner"
        found.append(
            Binding(
                "patchManagement",
                role,
                "patch-management-operator-user",
                values,
                frozenset(flags),
                s.instance_tags,
            )
        )
    return found


def _command_values(s: Any, base: Mapping[str, Any], region: str, ids: Sequence[str]) -> dict[str, Any]:
    values = {**base, "region": [region], "instance": _instances(ids, region)}
    values["run_as"] = list(s.run_as_users) if s.mode == "allow-list" else ["user01"]
    return values


def _linux(settings: Any, base: Mapping[str, Any], naming: Any) -> list[Binding]:
    s = settings.cloud_assistant_linux
    values = _command_values(s, base, base["region"][0], s.instance_ids)
    return [
        Binding(
            "cloudAssistantLinux",
            "command-user",
            "cloud-assistant-linux-command-user-user",
            values,
            resource_tags=s.instance_tags,
        )
    ]


def _windows(settings: Any, base: Mapping[str, Any], naming: Any) -> list[Binding]:
    s = settings.cloud_assistant_windows
    parameter = s.secret_parameter
    first = s.windows_instances[0].region if s.windows_instances else None
    region = parameter.region or first or base["region"][0]
    ids = s.instance_ids or [i.id for i in s.windows_instances]
    values = _command_values(s, base, region, ids)
    values["parameter"] = [naming.name(parameter.name)]
    values["instance_role"] = [naming.name(s.instance_role.name)]
    flags = set()
    if parameter.kms_key_id:
        key = parameter.kms_key_id
        values["kms_key"] = [key if key.startswith("alias/") else f"key/{key}"]
        flags.add("customerKey")
    return [
        Binding(
            "cloudAssistantWindows",
            "command-user",
            "cloud-assistant-windows-command-user-user",
            values,
            frozenset(flags),
            s.instance_tags,
        ),
        Binding(
            "cloudAssistantWindows",
            "secret-reader",
            "cloud-assistant-windows-secret-reader-role",
            values,
            frozenset(flags),
        ),
    ]


def _buckets(buckets: Sequence[str]) -> list[str]:
    named = [b for b in buckets if b != "*"]
    return named or ["any-bucket"]


def _instance_role(settings: Any, base: Mapping[str, Any], naming: Any) -> list[Binding]:
    s = settings.ecs_instance_role
    region = base["region"][0]
    instances = [{"id": i.id, "region": i.region or region} for i in s.instances] or _instances([], region)
    values = {
        **base,
        "instance": instances,
        "bucket": _buckets(s.oss_buckets),
        "role": [naming.name(s.role.name)],
    }
    flags = {"allowCreateInstance"} if s.allow_create_instance else set()
    found = [Binding("ecsInstanceRole", "instance-role", "ecs-instance-role-instance-role-role", values)]
    if s.operator_user is not None:
        found.append(
            Binding(
                "ecsInstanceRole", "operator", "ecs-instance-role-operator-user", values, frozenset(flags)
            )
        )
    return found


def _eci(settings: Any, base: Mapping[str, Any], naming: Any, environment: str) -> list[Binding]:
    s = settings.eci_access
    values: dict[str, Any] = {**base, "tag_key": [s.tag_key], "tag_value": [s.tag_value or environment]}
    if s.instance_role is not None:
        values["eci_role"] = [naming.name(s.instance_role.name)]
        values["bucket"] = _buckets(s.oss_buckets)
    found = []
    for user in s.users:
        role = {"read-only": "viewer", "full": "full", "tag-scoped": "tag-scoped"}[user.access]
        mine = {**values, "owner_key": [s.owner_tag_key], "owner": [naming.name(user.name)]}
        flags = {"strict"} if settings.alicloud.strict_scoping else set()
        if user.pass_instance_role:
            flags.add("passInstanceRole")
        if user.console is not None:
            flags.add("console")
        found.append(Binding("eciAccess", role, f"eci-access-{user.name}-user", mine, frozenset(flags)))
    for group in s.resource_groups:
        if group.administrator is None:
            continue
        mine = {**values, "group": [f"eci-access-rg-{group.name}-id"]}
        flags = {"console"} if group.administrator.console is not None else set()
        found.append(
            Binding(
                "eciAccess",
                "group-admin",
                f"eci-access-{group.administrator.name}-user",
                mine,
                frozenset(flags),
            )
        )
    if s.instance_role is not None:
        found.append(Binding("eciAccess", "instance-role", "eci-access-eci-role-role", values))
    return found


def _mcp(settings: Any, base: Mapping[str, Any], naming: Any) -> list[Binding]:
    s = settings.ecs_mcp_server
    specific = s.service_specific
    clusters = [specific.cluster] if specific.enabled and specific.cluster else list(s.clusters)
    values = {
        **base,
        "cluster": clusters or [ANY_CLUSTER],
        "service": [specific.service] if specific.enabled and specific.service else [ANY_SERVICE],
        "repository": list(s.repositories) or ["any-repository"],
        "stack_name": list(s.cloud_formation_stacks) or ["any-stack"],
        "log_group": list(s.log_groups) or ["/ecs/any-service"],
        "pass_role": list(s.pass_roles) or ["ecsTaskExecutionRole"],
        # A family the stack names (web-* asked as web-x), or any family where it names none.
        "task_family": [re.sub(r"[*?]", "x", f) for f in s.task_definition_families] or ["any-family"],
    }
    uses = {
        "readOnlyMonitoring": (s.read_only_monitoring, "read-only-monitoring"),
        "troubleshooting": (s.troubleshooting, "troubleshooting"),
        "deploymentManagement": (s.deployment_management, "deployment-management"),
        "serviceSpecific": (s.service_specific, "service-specific"),
        "expressMode": (s.express_mode, "express-mode"),
    }
    flags = frozenset({"management"} if specific.management else set())
    return [
        Binding("ecsMcpServer", key, f"ecs-mcp-server-{suffix}-role", values, flags)
        for key, (use, suffix) in uses.items()
        if use.enabled
    ]


def bindings(settings: Any) -> list[Binding]:
    """Every principal the stack's Alibaba Cloud and AWS scenarios create, in its catalogue role."""
    from baseline.naming import Naming

    naming = Naming(settings.naming.prefix, settings.naming.suffix)
    found: list[Binding] = []
    if settings.alicloud is not None:
        ali = {"region": [settings.alicloud.region], "account": [settings.alicloud.account_id]}
        if settings.patch_management.enabled:
            found += _patch(settings, ali, naming)
        if settings.cloud_assistant_linux.enabled:
            found += _linux(settings, ali, naming)
        if settings.cloud_assistant_windows.enabled:
            found += _windows(settings, ali, naming)
        if settings.ecs_instance_role.enabled:
            found += _instance_role(settings, ali, naming)
        if settings.eci_access.enabled:
            found += _eci(settings, ali, naming, settings.environment)
    if settings.aws is not None and settings.ecs_mcp_server.enabled:
        aws = {"region": [settings.aws.region], "account": [settings.aws.account_id]}
        found += _mcp(settings, aws, naming)
    return found


# --- deciding ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    call: TaskCall
    allowed: bool
    reason: str  # the deciding statement, or why the call is denied
    reading: str = "current"
    filled: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()
    # Neither allowed nor denied: the action's reference row is a placeholder (settled: false), or
    # the reference names no resource to ask the call on (the catalogue says why).
    unknown: bool = False

    @property
    def verdict(self) -> str:
        """``by-design``: denied, as the catalogue says the environment's control policy denies it;
        ``loose``: allowed although it says so (the control policy lost its deny), a failure."""
        if self.unknown:
            return "unknown"
        if self.call.by_design:
            return "loose" if self.allowed else "by-design"
        return "allow" if self.allowed else "deny"

    def as_dict(self) -> dict[str, Any]:
        return {
            "step": self.call.step,
            "action": self.call.action,
            "resources": list(self.call.resources),
            "context": {k: list(v) for k, v in self.call.context.items()},
            "source": self.call.source,
            "verdict": self.verdict,
            "decidedBy": self.reason,
            "reading": self.reading,
            "filled": list(self.filled),
            "dropped": list(self.dropped),
        }


@dataclass
class PrincipalTasks:
    principal: Principal
    role: str | None  # "<scenario>.<role>", or None: no catalogue entry
    verdicts: list[Verdict] = field(default_factory=list)

    @property
    def asked(self) -> int:
        return len(self.verdicts)

    @property
    def allowed(self) -> int:
        return sum(v.verdict == "allow" for v in self.verdicts)

    @property
    def unknown(self) -> int:
        return sum(v.unknown for v in self.verdicts)

    @property
    def by_design(self) -> int:
        return sum(v.verdict == "by-design" for v in self.verdicts)

    @property
    def denied(self) -> int:
        """Denied against the job, or allowed against the design (``loose``)."""
        return self.asked - self.allowed - self.unknown - self.by_design

    @property
    def ok(self) -> bool:
        """Catalogued, asked something, and nothing denied but what the design denies; an unknown
        call is reported, proves nothing, and makes the command exit 4 (see ``exit_code``)."""
        return self.role is not None and self.asked > 0 and self.denied == 0


def _provider_calls(plan: Mapping[str, Any], settings: Any) -> dict[str, tuple[Any, list[TaskCall]]]:
    """The pipeline's deploy and preview roles' provider calls and state calls on the plans of the
    environments they deploy, keyed ``<cloud>:<role name>``, each with its role (its access:
    deploy, preview)."""
    if not settings.pipeline.enabled:
        return {}
    from baseline.analysis import provider_calls

    plans, state = provider_calls.environments(settings)
    calls = provider_calls.deploy_calls(plan, plans, state)
    return {role.key: (role, calls.get(role.key, [])) for role in provider_calls.pipeline_roles(plan)}


def _as_asked(
    plan: Mapping[str, Any], role: Any, grants: access.Grants, calls: Sequence[TaskCall]
) -> tuple[access.Grants, list[TaskCall]]:
    """A pipeline role's grants under the control policies over its account, and its calls with its
    caller ARN, which those control policies test."""
    from baseline.analysis import control_policies

    ceiling, caller = control_policies.for_role(plan, role.cloud, role.account, role.name)
    if ceiling is not None:
        grants = replace(grants, boundary=ceiling, _calls={})
    return grants, [replace(c, context={**c.context, **caller}) for c in calls]


def decide_call(grants: access.Grants, call: TaskCall) -> Verdict:
    from baseline.analysis.evaluator import UnknownAction, WrongResourceType, evaluate_call

    if call.unknown:
        return Verdict(call, False, call.unknown, unknown=True)
    try:
        decision = evaluate_call(
            grants.policies,
            call.cloud,
            call.action,
            call.resources,
            {k: list(v) for k, v in call.context.items()},
            boundary=grants.boundary,
            mode="strict",
        )
    except UnknownAction:
        return Verdict(call, False, f"{call.action} is not in the authorization reference")
    except WrongResourceType as error:
        return Verdict(call, False, f"catalogue error: {error}")
    deciding = decision.decision
    if decision.allowed:
        reason = ", ".join(ref.label for ref in deciding.deciding) or deciding.reason
    else:
        denied = next((r for r, d in decision.asked if not d.allowed), "")
        reason = f"on {denied}: {deciding.reason}"
    found = reference.lookup(call.cloud, call.action)
    if found is not None and not found.settled:
        said = "allow" if decision.allowed else "deny"
        reason = (
            f"unknown: the reference row of {found.action} is not settled (a placeholder, "
            f"docs/reference.md); on the placeholder the documents would {said} ({reason})"
        )
        return Verdict(call, False, reason, decision.reading, decision.filled, decision.dropped, unknown=True)
    if call.by_design:
        said = "allowed, against the design" if decision.allowed else "denied by design"
        reason = f"{said} ({call.by_design}): {reason}"
    return Verdict(call, decision.allowed, reason, decision.reading, decision.filled, decision.dropped)


def decide_pipeline_calls(
    pipeline_plan: Mapping[str, Any], calls: Mapping[str, list[TaskCall]]
) -> dict[str, list[Verdict]]:
    """``calls`` (``<cloud>:<role name>`` -> calls) asked of each pipeline role as ``prove`` asks
    them."""
    from baseline.analysis import provider_calls

    principals = {f"{p.cloud}:{p.name}": p for p in access.principals(pipeline_plan)}
    roles = {role.key: role for role in provider_calls.pipeline_roles(pipeline_plan)}
    found: dict[str, list[Verdict]] = {}
    for key, role_calls in calls.items():
        grants = access.grants_of(pipeline_plan, principals[key])
        grants, asked = _as_asked(pipeline_plan, roles[key], grants, role_calls)
        found[key] = [decide_call(grants, c) for c in asked]
    return found


def prove(plan: Mapping[str, Any], settings: Any, principal: str | None = None) -> list[PrincipalTasks]:
    """Every principal of the plan (or the one named) with each of its task calls decided."""
    by_resource = {b.resource: b for b in bindings(settings)}
    deploy = _provider_calls(plan, settings)
    results = []
    for who in access.principals(plan):
        if principal is not None and who not in access.find_principal(plan, principal):
            continue
        binding = by_resource.get(who.resource)
        grants = access.grants_of(plan, who)
        if binding is not None and steps_of(binding.scenario, binding.role) is not None:
            calls = calls_for(binding, who)
            result = PrincipalTasks(who, f"{binding.scenario}.{binding.role}")
        elif (key := f"{who.cloud}:{who.name}") in deploy:
            # A pipeline role: the provider calls of every resource its environment's stack declares.
            role, calls = deploy[key]
            result = PrincipalTasks(who, f"pipeline.{role.access}")
            grants, calls = _as_asked(plan, role, grants, calls)
        else:
            results.append(PrincipalTasks(who, None))
            continue
        result.verdicts = [decide_call(grants, c) for c in calls]
        results.append(result)
    return results


def report(stack: str, results: Sequence[PrincipalTasks]) -> dict[str, Any]:
    return {
        "stack": stack,
        "asked": sum(r.asked for r in results),
        "allowed": sum(r.allowed for r in results),
        "unknown": sum(r.unknown for r in results),
        "byDesign": sum(r.by_design for r in results),
        "unsettled": sorted({v.call.action for r in results for v in r.verdicts if v.unknown}),
        "uncatalogued": [r.principal.name for r in results if r.role is None],
        "principals": [
            {
                "name": r.principal.name,
                "cloud": r.principal.cloud,
                "kind": r.principal.kind,
                "resource": r.principal.resource,
                "role": r.role,
                "asked": r.asked,
                "allowed": r.allowed,
                "unknown": r.unknown,
                "byDesign": r.by_design,
                "calls": [v.as_dict() for v in r.verdicts],
            }
            for r in results
        ],
    }


def to_text(result: Mapping[str, Any]) -> str:
    lines = []
    for p in result["principals"]:
        head = f"{p['name']} ({p['cloud']} {p['kind']}, {p['resource']})"
        if p["role"] is None:
            lines.append(f"{head}: NO TASK CATALOGUE ENTRY (add its role to baseline/scenarios/tasks/)")
            continue
        unknown = f", {p['unknown']} unknown" if p["unknown"] else ""
        unknown += f", {p['byDesign']} denied by design" if p["byDesign"] else ""
        lines.append(f"{head}: {p['role']}: {p['allowed']}/{p['asked']} allowed{unknown}")
        for c in p["calls"]:
            context = ", ".join(f"{k}={v}" for k, vs in c["context"].items() for v in vs)
            lines.append(
                f"  {c['verdict']:<7} {c['action']} on {', '.join(c['resources']) or '*'}"
                + (f" with {context}" if context else "")
            )
            lines.append(f"          step: {c['step']} ({c['source'].split(', http')[0]})")
            lines.append(
                f"          {'unknown' if c['verdict'] == 'unknown' else 'decided by'}: {c['decidedBy']}"
            )
    lines.append(
        f"stack {result['stack']}: {result['allowed']}/{result['asked']} task calls allowed"
        + (f", {result['unknown']} unknown ({', '.join(result['unsettled'])})" if result["unknown"] else "")
        + (f", {result['byDesign']} denied by design" if result["byDesign"] else "")
        + (f"; no catalogue entry: {', '.join(result['uncatalogued'])}" if result["uncatalogued"] else "")
    )
    return "\n".join(lines) + "\n"


def exit_code(results: Sequence[PrincipalTasks]) -> int:
    """0 every call allowed; 1 a call denied, a principal uncatalogued or without calls (or none at
    all); 4 nothing denied but a call unknown (its resource named by no page)."""
    if not results or not all(r.ok for r in results):
        return 1
    return 4 if any(r.unknown for r in results) else 0


def to_json(result: Mapping[str, Any]) -> str:
    return json.dumps(result, indent=2) + "\n"
