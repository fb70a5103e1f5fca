"""What the pipeline's deploy and preview roles call: the providers' API calls, resolved per stack.

``baseline/scenarios/tasks/provider_calls.yaml`` states, per resource type, the calls the Pulumi
providers make on create, read, update and delete (read in the bridged Terraform providers' Go
source), and the DIY state backend's object calls. ``deploy_calls`` resolves them against the plan
of the environment each pipeline role deploys or previews: a deploy role makes every call of every
resource of its stack, a preview role the reads only (``pulumi preview`` and ``refresh``).
``tasks.decide_pipeline_calls`` asks each call as the task proofs do.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from baseline.analysis import reference
from baseline.analysis.calls import TaskCall
from baseline.analysis.evaluator import arn_matches

DATA = Path(__file__).resolve().parents[1] / "scenarios" / "tasks" / "provider_calls.yaml"
# A preview role also runs `baseline drift`: its reads of every user's and role's credentials,
# attachments and trust (the catalogue's `drift` calls).
OPERATIONS = {"deploy": ("create", "read", "update", "delete"), "preview": ("read", "drift")}
_FIELD = re.compile(r"\{([^}|]+)(\|lower)?\}")
# Types with no cloud API of their own: the stack, providers, components.
_NO_CALLS = ("pulumi:", "ecs-access-baseline:")


@cache
def catalogue() -> dict[str, Any]:
    return reference.load_yaml(DATA.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class PipelineRole:
    cloud: str
    name: str
    account: str
    environment: str  # the environment it deploys or previews
    access: str  # "deploy" | "preview"

    @property
    def key(self) -> str:
        return f"{self.cloud}:{self.name}"


def pipeline_roles(pipeline_plan: Mapping[str, Any]) -> list[PipelineRole]:
    """The roles the pipeline stack creates, from the GitHub variables it outputs: each role ARN
    under ``<environment>`` deploys it, under ``<environment>-preview`` previews it."""
    found: dict[str, PipelineRole] = {}
    variables = ((pipeline_plan.get("outputs") or {}).get("pipeline") or {}).get("githubVariables") or {}
    for github_environment, values in sorted(variables.items()):
        environment = github_environment.removesuffix("-preview")
        role_access = "preview" if github_environment.endswith("-preview") else "deploy"
        for key, value in sorted(values.items()):
            if not key.endswith("_ROLE_ARN"):
                continue
            arn = str(value)
            cloud = "alicloud" if arn.startswith("acs:") else "aws"
            account = arn.split(":")[3] if cloud == "alicloud" else arn.split(":")[4]
            role = PipelineRole(cloud, arn.rsplit("/", 1)[1], account, environment, role_access)
            found[role.key] = role
    return list(found.values())


def _cloud_of(action: str) -> str:
    return "aws" if action.split(":", 1)[0] in ("iam", "s3", "sts", "kms_aws") else "alicloud"


def _fill(template: str, values: Mapping[str, str]) -> str | None:
    """The template with its fields filled; None when a field has no value."""
    missing = False

    def one(match: re.Match[str]) -> str:
        nonlocal missing
        value = values.get(match.group(1))
        if value is None or value == "":
            missing = True
            return ""
        return value.lower() if match.group(2) else value

    filled = _FIELD.sub(one, template)
    return None if missing else filled


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return json.dumps(value, sort_keys=True)


def _values(resource: Mapping[str, Any], plan: Mapping[str, Any], account: str) -> dict[str, str]:
    inputs = resource.get("inputs") or {}
    if isinstance(inputs, str):  # plans print long inputs as a repr; never the case for JSON plans
        inputs = {}
    provider = next((r for r in plan["resources"] if r["name"] == resource.get("provider")), None)
    region = str(((provider or {}).get("inputs") or {}).get("region") or "")
    values = {f"in.{k}": _as_text(v) for k, v in inputs.items() if v not in (None, "", [], {})}
    values |= {"account": account, "region": region}
    values["policy_account"] = "system" if inputs.get("policyType") == "System" else account
    if principal := inputs.get("principalName"):
        values["principal_user"] = str(principal).split("@", 1)[0]
    if service := inputs.get("serviceName"):
        values["slr_role"] = str(catalogue()["service_linked_roles"].get(service, ""))
    if role := inputs.get("role"):  # an IAM attachment: the boundary its role sits behind
        for other in plan["resources"]:
            if other["type"] == "aws:iam/role:Role" and (other.get("inputs") or {}).get("name") == role:
                values["role_boundary"] = str(other["inputs"].get("permissionsBoundary") or "")
    return values


def asked_resources(cloud: str, action: str, resources: list[str]) -> tuple[str, ...]:
    """The resources of a call the reference authorises it on: those matching one of its resource
    types; ``*`` for an action authorised on ``*`` only; none (each required type then asked as
    "any of that type") when the call names none of its types."""
    ref = reference.lookup(cloud, action)
    if ref is None:
        return tuple(resources)
    types = [t for reading in ref.readings for t in reading.resources if t.arn != "*"]
    if not types:
        # An unsettled row's `*` is a placeholder, not a reading: the call is asked on what it
        # names (as the evaluator does), never widened to `*` by the question.
        return ("*",) if ref.settled or not resources else tuple(resources)
    return tuple(r for r in resources if any(arn_matches(t.pattern, r) for t in types))


def _calls_of(
    role: PipelineRole, resource: Mapping[str, Any], plan: Mapping[str, Any]
) -> list[tuple[str, TaskCall]]:
    entry = catalogue()["types"].get(resource["type"])
    if entry is None:
        raise KeyError(
            f"no provider calls are known for resource type {resource['type']}; add it to {DATA.name}"
        )
    base = _values(resource, plan, role.account)
    inputs = resource.get("inputs") or {}
    found = []
    administrator = entry.get("administrator") or {}
    for operation in OPERATIONS[role.access]:
        if operation in administrator.get("operations", ()) and _is_boundary(resource, plan):
            continue  # the administrator's, not the deploy role's (see the catalogue's entry)
        for call in entry.get(operation) or ():
            if (when := call.get("when")) and inputs.get(when) in (None, "", [], {}, False):
                continue
            # `{attached_policy}`: one call per policy the plan attaches to this user or role
            # (a forced delete detaches each); none attached, no call.
            named = _ATTACHED in str(call.get("resources") or ())
            for attached in _attached_policies(resource, plan, role.account) if named else [""]:
                values = {**base, "attached_policy": attached} if attached else base
                found.append((operation, _call(role, resource, entry, operation, call, values)))
    return found


def _is_boundary(resource: Mapping[str, Any], plan: Mapping[str, Any]) -> bool:
    """Whether an IAM policy is the permissions boundary of a role of the plan."""
    name = (resource.get("inputs") or {}).get("name")
    return bool(name) and any(
        str((r.get("inputs") or {}).get("permissionsBoundary") or "").endswith(f":policy/{name}")
        for r in plan["resources"]
        if r["type"] == "aws:iam/role:Role"
    )


_ATTACHED = "{attached_policy}"
# resource type -> (its attachment type, its name input, the attachment's name input)
_ATTACHMENTS = {
    "alicloud:ram/user:User": (
        "alicloud:ram/userPolicyAttachment:UserPolicyAttachment",
        "name",
        "userName",
    ),
    "alicloud:ram/role:Role": (
        "alicloud:ram/rolePolicyAttachment:RolePolicyAttachment",
        "roleName",
        "roleName",
    ),
}


def _attached_policies(resource: Mapping[str, Any], plan: Mapping[str, Any], account: str) -> list[str]:
    """The policy ARNs (``<account or system>:policy/<name>``) the plan attaches to a user or role."""
    kind, own, key = _ATTACHMENTS.get(resource["type"], ("", "", ""))
    name = (resource.get("inputs") or {}).get(own)
    found = []
    for other in plan["resources"]:
        inputs = other.get("inputs") or {}
        if other["type"] == kind and name and inputs.get(key) == name:
            owner = "system" if inputs.get("policyType") == "System" else account
            found.append(f"{owner}:policy/{inputs['policyName']}")
    return list(dict.fromkeys(found))


def _call(
    role: PipelineRole,
    resource: Mapping[str, Any],
    entry: Mapping[str, Any],
    operation: str,
    call: Mapping[str, Any],
    values: Mapping[str, str],
) -> TaskCall:
    action = str(call["action"])
    cloud = _cloud_of(action)
    resources = [r for r in (_fill(str(t), values) for t in call.get("resources") or ()) if r]
    context = {
        key: (value,)
        for key, template in (call.get("context") or {}).items()
        if (value := _fill(str(template), values))
    }
    source_key = call.get("source")
    source = (
        f"{catalogue()['sources'][source_key]} : {entry['source']} : {call.get('function', '')}"
        if source_key
        else f"{catalogue()['sources'][cloud if cloud == 'alicloud' else _aws_source(entry)]} : "
        f"{entry['source']} : {call.get('function', '')}"
    )
    return TaskCall(
        principal=role.name,
        cloud=cloud,
        step=f"{operation} {resource['type']} {resource['name']}",
        action=action,
        resources=asked_resources(cloud, action, resources),
        context=context,
        source=source,
        unknown=str(call.get("unknown") or ""),
        by_design=str(call.get("sandbox_denied") or "") if role.environment == _sandbox() else "",
    )


def _sandbox() -> str:
    from baseline.scenarios.pipeline import SANDBOX

    return SANDBOX


def _aws_source(entry: Mapping[str, Any]) -> str:
    return str(entry["source"]).rsplit("(", 1)[1].rstrip(")")


def _state_calls(role: PipelineRole, state: Mapping[str, str]) -> list[TaskCall]:
    kinds = ("read", "write") if role.access == "deploy" else ("read",)
    root = state.get("root", "").strip("/")
    values = {**state, "root": f"{root}/" if root else ""}
    calls = []
    for kind in kinds:
        for call in catalogue()["state"][kind]:
            resources = tuple(r for r in (_fill(t, values) for t in call["resources"]) if r)
            calls.append(
                TaskCall(
                    principal=role.name,
                    cloud="aws",
                    step=f"state {kind} {state['stack']}",
                    action=call["action"],
                    resources=resources,
                    source=catalogue()["sources"]["diy"],
                )
            )
    return calls


def deploy_calls(
    pipeline_plan: Mapping[str, Any],
    environment_plans: Mapping[str, Mapping[str, Any]],
    state: Mapping[str, Mapping[str, str]] | None = None,
) -> dict[str, list[TaskCall]]:
    """Every call each pipeline role makes, keyed ``<cloud>:<role name>``: a deploy role's create,
    read, update and delete calls for every resource of its environment's plan in its cloud, a
    preview role's reads; with ``state`` (environment -> ``bucket``, ``root``, ``project``,
    ``stack``) the AWS roles' state backend calls too. Each distinct call is listed once."""
    found: dict[str, list[TaskCall]] = {}
    for role in pipeline_roles(pipeline_plan):
        plan = environment_plans[role.environment]
        calls: list[TaskCall] = []
        for resource in plan["resources"]:
            if resource["type"].startswith(_NO_CALLS) or not resource["type"].startswith(f"{role.cloud}:"):
                continue
            calls += [call for _, call in _calls_of(role, resource, plan)]
        if role.cloud == "aws" and state and role.environment in state:
            calls += _state_calls(role, state[role.environment])
        seen: set[tuple[Any, ...]] = set()
        unique = []
        for call in calls:
            key = (call.action, call.resources, tuple(sorted(call.context.items())))
            if key not in seen:
                seen.add(key)
                unique.append(call)
        found[role.key] = unique
    return found


def environments(settings: Any) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, str]]]:
    """The plans the pipeline stack's environments deploy, keyed by environment, and each AWS
    role's state objects (``deploy_calls``'s ``state``). Each environment's stack file is read as the
    pipeline stack itself reads it (``config.environment_stack``: ``stacks/`` or the revision a diff
    names; the sandbox as a per-PR copy in its own accounts) and rendered offline as ``plan`` does."""
    from baseline import PROJECT
    from baseline.config import environment_stack
    from baseline.plan import render
    from baseline.scenarios.pipeline import SANDBOX

    pipeline = settings.pipeline
    plans: dict[str, dict[str, Any]] = {}
    state: dict[str, dict[str, str]] = {}
    for index, environment in enumerate(pipeline.environments):
        sandbox = environment if environment.name == SANDBOX else None
        resolved = environment_stack(environment.deployed_stack, f"pipeline.environments.{index}", sandbox)
        plans[environment.name] = render(resolved, resolved.stack)  # as `plan --format json` prints it
        bucket = environment.aws_state_bucket or pipeline.aws_state_bucket
        if bucket and environment.aws_account_id:
            state[environment.name] = {
                "bucket": bucket,
                "root": pipeline.aws_state_path,
                "project": PROJECT,
                "stack": resolved.stack,
            }
    return plans, state
