"""Run the pack's validators over the offline plan, without the Pulumi CLI.

Each plan resource becomes the argument object CrossGuard would build for it: type token,
camelCase inputs, a URN with the parent type chain, ``protect``, the provider's inputs, and
``additionalSecretOutputs`` listing the inputs the plan shows as ``"[secret]"`` (the engine hands
validators the plaintext of a secret; only that list says it was one). Stack policies get every
resource. Config comes from each rule's schema defaults, as the engine applies them.

``python -m baseline policy --stack S`` prints the violations and exits 1 on a mandatory one.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.policy import _NotApplicableError

from policy.rules import POLICIES
from policy.rules.common import PLAN_SECRET

ROOT_TYPE = "pulumi:pulumi:Stack"


@dataclass(frozen=True)
class Violation:
    rule: str
    resource: str
    message: str
    level: str  # "mandatory" | "advisory"

    @property
    def mandatory(self) -> bool:
        return self.level == EnforcementLevel.MANDATORY.value


@dataclass(frozen=True)
class Adapted:
    name: str
    resource_args: ResourceValidationArgs
    stack_resource: PolicyResource


def adapt(plan: Mapping[str, Any]) -> list[Adapted]:
    """Plan resources as CrossGuard argument objects (config is filled in per rule later)."""
    by_name = {r["name"]: r for r in plan["resources"]}

    def chain(resource: Mapping[str, Any]) -> list[str]:
        parent = by_name.get(resource["parent"] or "")
        above = chain(parent) if parent is not None and parent["type"] != ROOT_TYPE else []
        return [*above, resource["type"]]

    def urn(resource: Mapping[str, Any]) -> str:
        return (
            f"urn:pulumi:{plan['stack']}::{plan['project']}::{'$'.join(chain(resource))}::{resource['name']}"
        )

    def provider(resource: Mapping[str, Any]) -> PolicyProviderResource | None:
        found = by_name.get(resource["provider"] or "")
        if found is None:
            return None
        return PolicyProviderResource(found["type"], found["inputs"], urn(found), found["name"])

    adapted: list[Adapted] = []
    policy_resources: dict[str, PolicyResource] = {}
    for resource in plan["resources"]:
        inputs = resource["inputs"]
        parent = by_name.get(resource["parent"] or "")
        opts = PolicyResourceOptions(
            protect=bool(resource["protect"]),
            ignore_changes=[],
            delete_before_replace=None,
            aliases=[],
            custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
            additional_secret_outputs=sorted(k for k, v in inputs.items() if v == PLAN_SECRET),
            parent=urn(parent) if parent is not None else None,
        )
        args = ResourceValidationArgs(
            resource["type"], inputs, urn(resource), resource["name"], opts, provider(resource)
        )
        stack_resource = PolicyResource(
            resource["type"], inputs, urn(resource), resource["name"], opts, provider(resource), None, [], {}
        )
        policy_resources[resource["name"]] = stack_resource
        adapted.append(Adapted(resource["name"], args, stack_resource))
    for resource in plan["resources"]:
        own = policy_resources[resource["name"]]
        own.parent = policy_resources.get(resource["parent"] or "")
        own.dependencies = [policy_resources[d] for d in resource["depends_on"] if d in policy_resources]
    return adapted


def _config(policy: Policy, overrides: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    defaults = {}
    if policy.config_schema is not None:
        defaults = {k: v["default"] for k, v in policy.config_schema.properties.items() if "default" in v}
    return {**defaults, **overrides.get(policy.name, {})}


def _call(validate, *args) -> None:
    result = validate(*args)
    if inspect.isawaitable(result):
        asyncio.run(result)


def run(
    plan: Mapping[str, Any],
    policies: Sequence[Policy] = POLICIES,
    config: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[Violation]:
    """Every violation of ``policies`` in ``plan``; ``config`` maps rule name -> settings."""
    adapted = adapt(plan)
    by_urn = {a.stack_resource.urn: a.name for a in adapted}
    violations: list[Violation] = []
    for policy in policies:
        level = (policy.enforcement_level or EnforcementLevel.ADVISORY).value
        settings = _config(policy, config or {})

        def reporter(resource_name: str, rule: str = policy.name, level: str = level):
            def report(message: str, urn: str | None = None) -> None:
                where = by_urn.get(urn or "", resource_name)
                violations.append(Violation(rule, where, message, level))

            return report

        try:
            if isinstance(policy, ResourceValidationPolicy):
                for item in adapted:
                    args = item.resource_args
                    configured = ResourceValidationArgs(
                        args.resource_type,
                        args.props,
                        args.urn,
                        args.name,
                        args.opts,
                        args.provider,
                        settings,
                    )
                    try:
                        _call(policy.validate, configured, reporter(item.name))
                    except _NotApplicableError:
                        continue
            elif isinstance(policy, StackValidationPolicy):
                stack_args = StackValidationArgs([a.stack_resource for a in adapted], settings)
                _call(policy.validate, stack_args, reporter("(stack)"))
        except _NotApplicableError:
            continue
    return violations


def to_text(violations: Sequence[Violation], stack: str) -> str:
    mandatory = sum(v.mandatory for v in violations)
    lines = [f"{v.level.upper():9}  {v.rule}  {v.resource}: {v.message}" for v in violations]
    lines.append(
        f"stack {stack}: {len(POLICIES)} rules, {mandatory} mandatory and "
        f"{len(violations) - mandatory} advisory violation(s)"
    )
    return "\n".join(lines) + "\n"
