"""Helpers every rule shares, and the rules that read policy documents of both clouds.

Rules read the engine's camelCase input properties. A property that is unknown during preview
(an output of a resource not created yet) raises ``UnknownValueError`` when read; ``known`` turns
that into the ``UNKNOWN`` marker so a rule can decide what an unknown means for it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

from baseline.analysis.evaluator import action_matches, as_list
from baseline.environments import ENVIRONMENTS, is_production

UNKNOWN = object()
PLAN_SECRET = "[secret]"  # how the offline plan shows a secret value

ALI_POLICY = "alicloud:ram/policy:Policy"
ALI_ROLE = "alicloud:ram/role:Role"
ALI_USER = "alicloud:ram/user:User"
ALI_LOGIN = "alicloud:ram/loginProfile:LoginProfile"
ALI_ACCESS_KEY = "alicloud:ram/accessKey:AccessKey"
ALI_USER_ATTACHMENT = "alicloud:ram/userPolicyAttachment:UserPolicyAttachment"
ALI_ROLE_ATTACHMENT = "alicloud:ram/rolePolicyAttachment:RolePolicyAttachment"
ALI_SECRET_PARAMETER = "alicloud:oos/secretParameter:SecretParameter"
ALI_PARAMETER = "alicloud:oos/parameter:Parameter"
AWS_POLICY = "aws:iam/policy:Policy"
AWS_ROLE = "aws:iam/role:Role"
AWS_USER = "aws:iam/user:User"
AWS_ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
AWS_USER_POLICY = "aws:iam/userPolicy:UserPolicy"
AWS_GROUP_POLICY = "aws:iam/groupPolicy:GroupPolicy"

# Where each resource type keeps a permission policy document.
PERMISSION_DOCUMENTS = {
    ALI_POLICY: "policyDocument",
    AWS_POLICY: "policy",
    AWS_ROLE_POLICY: "policy",
    AWS_USER_POLICY: "policy",
    AWS_GROUP_POLICY: "policy",
}
TRUST_DOCUMENTS = {ALI_ROLE: "assumeRolePolicyDocument", AWS_ROLE: "assumeRolePolicy"}

# Which environments are production is not configurable here: the pack reads the names the
# program's configuration accepts (baseline/environments.py), so the two cannot disagree.
ENVIRONMENT_SCHEMA = PolicyConfigSchema(
    properties={
        "environment": {
            "type": "string",
            "enum": ["", *ENVIRONMENTS],
            "default": "",
            "description": "Force the environment (one of the stack environments, e.g. prod); "
            "empty = read the resources' tags.",
        },
    }
)


def known(props: Mapping[str, Any], key: str, default: Any = None) -> Any:
    try:
        return props.get(key, default)
    except UnknownValueError:
        return UNKNOWN


def document(text: Any) -> dict[str, Any] | None:
    """A policy document from a property (JSON text or already a map); None when unreadable."""
    if text is UNKNOWN or text is None:
        return None
    if isinstance(text, Mapping):
        return dict(text)
    try:
        parsed = json.loads(text)
    except (TypeError, json.JSONDecodeError):
        return None
    return parsed if isinstance(parsed, dict) else None


def statements(doc: Mapping[str, Any] | None) -> Iterator[tuple[int, Mapping[str, Any]]]:
    raw = (doc or {}).get("Statement", [])
    for index, statement in enumerate([raw] if isinstance(raw, Mapping) else raw):
        if isinstance(statement, Mapping):
            yield index, statement


def label(index: int, statement: Mapping[str, Any]) -> str:
    sid = statement.get("Sid")
    return f"statement {index}" + (f" ({sid})" if sid else "")


def allows(statement: Mapping[str, Any], action: str) -> bool:
    """Does an Allow statement grant ``action`` (through Action wildcards or NotAction)?"""
    if statement.get("Effect") != "Allow":
        return False
    if "Action" in statement:
        return any(action_matches(str(p), action) for p in as_list(statement["Action"]))
    return not any(action_matches(str(p), action) for p in as_list(statement.get("NotAction")))


def _tag(tags: Any, key: str) -> str | None:
    if tags is UNKNOWN or not isinstance(tags, Mapping):
        return None
    for name, value in tags.items():
        if str(name).lower() == key and isinstance(value, str):
            return value
    return None


def environment_of(
    props: Mapping[str, Any], provider_props: Mapping[str, Any] | None, config: Mapping
) -> str | None:
    """The pack's ``environment`` config, else the resource's environment tag, else the
    provider's default tags (AWS ``defaultTags``)."""
    if config.get("environment"):
        return str(config["environment"])
    if (value := _tag(known(props, "tags"), "environment")) is not None:
        return value
    if provider_props is not None:
        default_tags = known(provider_props, "defaultTags")
        if isinstance(default_tags, str):
            default_tags = document(default_tags)
        if isinstance(default_tags, Mapping):
            return _tag(default_tags.get("tags"), "environment")
    return None


def production(config: Mapping[str, Any], environment: str | None) -> bool:
    """``prod``, or a name configuration never produces (fail closed); see baseline.environments."""
    return is_production(environment)


def resource_is_production(args: ResourceValidationArgs) -> bool:
    config = args.get_config()
    provider = args.provider.props if args.provider is not None else None
    return production(config, environment_of(args.props, provider, config))


def stack_environment(args: StackValidationArgs) -> str | None:
    config = args.get_config()
    if config.get("environment"):
        return str(config["environment"])
    for resource in args.resources:
        provider = resource.provider.props if resource.provider is not None else None
        if (value := environment_of(resource.props, provider, {})) is not None:
            return value
    return None


def component_types(urn: str) -> list[str]:
    """The type chain in a URN (``...::parentType$type::name``), outermost first."""
    parts = urn.split("::")
    return parts[2].split("$") if len(parts) >= 4 else []


# --- rules ---------------------------------------------------------------------------------------


def _boundary_urns(args: StackValidationArgs) -> tuple[set[str], set[str]]:
    """Policies used as an AWS permissions boundary: by property dependency (real runs) and by
    ARN (the offline plan, where the ARN is already known)."""
    urns, arns = set(), set()
    for resource in args.resources:
        if resource.resource_type != AWS_ROLE:
            continue
        for dependency in resource.property_dependencies.get("permissionsBoundary", []):
            urns.add(dependency.urn)
        boundary = known(resource.props, "permissionsBoundary")
        if isinstance(boundary, str):
            arns.add(boundary.split(":policy", 1)[-1])
    return urns, arns


def permission_documents(args: StackValidationArgs) -> Iterator[tuple[Any, dict[str, Any]]]:
    """(resource, parsed document) for every permission policy that grants something: a policy
    used as a permissions boundary only caps what identity policies grant, so its Allow
    statements are a ceiling and the grant rules skip it."""
    urns, arns = _boundary_urns(args)
    for resource in args.resources:
        key = PERMISSION_DOCUMENTS.get(resource.resource_type)
        if key is None:
            continue
        if resource.resource_type == AWS_POLICY:
            path = f"{known(resource.props, 'path') or '/'}{known(resource.props, 'name')}"
            if resource.urn in urns or path in arns:
                continue
        doc = document(known(resource.props, key))
        if doc is not None:
            yield resource, doc


def no_wildcard_action(args: StackValidationArgs, report_violation) -> None:
    for resource, doc in permission_documents(args):
        for index, statement in statements(doc):
            if statement.get("Effect") == "Allow" and "*" in [
                str(a) for a in as_list(statement.get("Action"))
            ]:
                report_violation(
                    f'{label(index, statement)} allows every action ("Action": "*"); '
                    "list the actions the guide names instead.",
                    resource.urn,
                )


def no_unconditioned_service_wildcard(args: StackValidationArgs, report_violation) -> None:
    for resource, doc in permission_documents(args):
        for index, statement in statements(doc):
            if statement.get("Effect") != "Allow" or statement.get("Condition"):
                continue
            wide = [str(a) for a in as_list(statement.get("Action")) if str(a).endswith(":*")]
            if wide:
                report_violation(
                    f"{label(index, statement)} allows {', '.join(wide)} without a condition; narrow it "
                    "with a tag or resource condition, or accept it where the guide means full access.",
                    resource.urn,
                )


def _unbounded_role(resource: str) -> bool:
    """``*``, ``...:*`` or ``...:role/*``: any role of the account (a prefix like ``role/ecr-*`` is not)."""
    return resource == "*" or resource.rsplit(":", 1)[-1] in ("*", "role/*")


def _passrole_problems(statement: Mapping[str, Any]) -> list[str]:
    resources = ["*"] if "NotResource" in statement else [str(r) for r in as_list(statement.get("Resource"))]
    unbounded = any(_unbounded_role(r) for r in resources or ["*"])
    problems = []
    if allows(statement, "iam:PassRole") and unbounded:
        condition_keys = {k.lower() for block in (statement.get("Condition") or {}).values() for k in block}
        if "iam:passedtoservice" not in condition_keys:
            problems.append(
                "allows iam:PassRole on any role without an iam:PassedToService condition; "
                "name the roles or add the condition."
            )
    if allows(statement, "ram:PassRole") and unbounded:
        problems.append(
            "allows ram:PassRole on any role; use the role's ARN, e.g. acs:ram::<account>:role/<name>."
        )
    return problems


def passrole_conditioned(args: StackValidationArgs, report_violation) -> None:
    for resource, doc in permission_documents(args):
        for index, statement in statements(doc):
            for problem in _passrole_problems(statement):
                report_violation(f"{label(index, statement)} {problem}", resource.urn)


def _principals(statement: Mapping[str, Any]) -> list[str]:
    principal = statement.get("Principal")
    if isinstance(principal, str):
        return [principal]
    if isinstance(principal, Mapping):
        return [str(v) for values in principal.values() for v in as_list(values)]
    return []


def trust_names_principal(args: ResourceValidationArgs, report_violation) -> None:
    key = TRUST_DOCUMENTS.get(args.resource_type)
    if key is None:
        return
    text = known(args.props, key)
    if text is UNKNOWN:
        return
    for index, statement in statements(document(text)):
        if statement.get("Effect") != "Allow":
            continue
        named = _principals(statement)
        if not named or any("*" in p for p in named) or "NotPrincipal" in statement:
            report_violation(
                f"trust policy {label(index, statement)} lets anyone assume the role "
                f"(Principal {statement.get('Principal', statement.get('NotPrincipal'))!r}); "
                "name the service or account that may assume it."
            )


IDENTITY_TYPES = (ALI_USER, ALI_ROLE, ALI_POLICY, AWS_ROLE, AWS_USER, AWS_POLICY)


def identities_protected_in_prod(args: ResourceValidationArgs, report_violation) -> None:
    if args.resource_type not in IDENTITY_TYPES or not resource_is_production(args):
        return
    if not args.opts.protect:
        report_violation(
            "a production identity must be protected (protect: true) so `pulumi destroy` cannot "
            "delete it by accident; set protectIdentities: true."
        )


# Inputs that carry a secret, per type. A secret must travel as a Pulumi secret: CrossGuard hands
# validators the plaintext of secret inputs, so secretness is read from the resource's
# additionalSecretOutputs (set by the provider SDK or the component) or the plan's "[secret]".
SECRET_INPUTS = {ALI_LOGIN: "password", ALI_SECRET_PARAMETER: "value"}


def no_plaintext_secret_inputs(args: ResourceValidationArgs, report_violation) -> None:
    prop = SECRET_INPUTS.get(args.resource_type)
    if prop is None:
        return
    value = known(args.props, prop)
    if value is None or value is UNKNOWN or value == PLAN_SECRET:
        return
    if prop not in (args.opts.additional_secret_outputs or []):
        report_violation(
            f"{prop} is not marked secret: it would be stored in plain text in the state; "
            "pass it as a Pulumi secret (pulumi config set --secret) and list it in additionalSecretOutputs."
        )


NO_WILDCARD_ACTION = StackValidationPolicy(
    name="no-wildcard-action",
    description='No Allow statement grants "Action": "*" (permissions boundaries excepted).',
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=no_wildcard_action,
)
NO_UNCONDITIONED_SERVICE_WILDCARD = StackValidationPolicy(
    name="no-unconditioned-service-wildcard",
    description='An Allow of "<service>:*" carries a Condition (e.g. the seed\'s acs:ResourceTag/env).',
    enforcement_level=EnforcementLevel.ADVISORY,
    validate=no_unconditioned_service_wildcard,
)
PASSROLE_CONDITIONED = StackValidationPolicy(
    name="passrole-conditioned",
    description="iam:PassRole names roles or has iam:PassedToService; ram:PassRole names a role ARN.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=passrole_conditioned,
)
TRUST_NAMES_PRINCIPAL = ResourceValidationPolicy(
    name="trust-policy-names-principal",
    description="A role's trust policy names the services or accounts that may assume it; no '*'.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=trust_names_principal,
)
IDENTITIES_PROTECTED_IN_PROD = ResourceValidationPolicy(
    name="identities-protected-in-prod",
    description="Production users, roles and policies are protected against deletion.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=identities_protected_in_prod,
    config_schema=ENVIRONMENT_SCHEMA,
)
NO_PLAINTEXT_SECRET_INPUTS = ResourceValidationPolicy(
    name="no-plaintext-secret-inputs",
    description="Console passwords and OOS secret parameter values are Pulumi secrets.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=no_plaintext_secret_inputs,
)
