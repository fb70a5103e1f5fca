"""Alibaba Cloud RAM / OOS rules (seeds 000-003 and the RAM best practices)."""

from __future__ import annotations

from collections.abc import Mapping

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from baseline.analysis.evaluator import as_list
from baseline.documents.alicloud import (
    COMMAND_ACTIONS,
    RESOURCE_KINDS,
    RUN_AS_KEY,
    is_privileged_os_user,
)
from baseline.environments import is_strict
from policy.rules.common import (
    ALI_ACCESS_KEY,
    ALI_LOGIN,
    ALI_PARAMETER,
    ALI_POLICY,
    ALI_ROLE_ATTACHMENT,
    ALI_SECRET_PARAMETER,
    ALI_USER,
    ALI_USER_ATTACHMENT,
    ENVIRONMENT_SCHEMA,
    UNKNOWN,
    allows,
    component_types,
    document,
    known,
    label,
    production,
    resource_is_production,
    stack_environment,
    statements,
)

ADMINISTRATOR_POLICIES = {"AdministratorAccess"}


def no_administrator_on_user(args: ResourceValidationArgs, report_violation) -> None:
    if args.resource_type != ALI_USER_ATTACHMENT:
        return
    name = known(args.props, "policyName")
    if known(args.props, "policyType") == "System" and name in ADMINISTRATOR_POLICIES:
        report_violation(
            f"system policy {name} is attached to RAM user {known(args.props, 'userName')}; grant the "
            "scenario's custom policy instead (least privilege)."
        )


def prod_console_mfa(args: StackValidationArgs, report_violation) -> None:
    """Stack-wide: a LoginProfile has no tags, so production comes from its user's tags (or the
    pack's ``environment`` config)."""
    config = args.get_config()
    stack_env = stack_environment(args)
    user_env = {}
    for resource in args.resources:
        if resource.resource_type == ALI_USER:
            tags = known(resource.props, "tags")
            env = next(
                (
                    v
                    for k, v in (tags.items() if isinstance(tags, Mapping) else [])
                    if str(k).lower() == "environment"
                ),
                None,
            )
            user_env[known(resource.props, "name")] = env
    for resource in args.resources:
        if resource.resource_type != ALI_LOGIN:
            continue
        user = known(resource.props, "userName")
        environment = config.get("environment") or user_env.get(user) or stack_env
        if production(config, environment) and known(resource.props, "mfaBindRequired") is not True:
            report_violation(
                f"console user {user} in {environment} does not have to bind an MFA device; "
                "set console.mfaBindRequired: true.",
                resource.urn,
            )


# Policies narrowed to ARNs in production: component type -> suffix of the policy's resource
# name ("" = every policy of the component). Seed 000's hardening covers S1; seed 001 scopes the
# Cloud Assistant command policies (S2, S3); issue #10 scopes S3's KMS and secret-reader policies,
# S4's instance role and operator, and S5's container-group role to the stack's keys, secret,
# buckets and roles. Other policies keep the guides' "*" (list actions without resource-level
# permissions, tag-conditioned statements).
SCOPED_POLICIES = {
    "ecs-access-baseline:alicloud:PatchManagement": "",
    "ecs-access-baseline:alicloud:CloudAssistantLinux": "",
    "ecs-access-baseline:alicloud:CloudAssistantWindows": "",
    "ecs-access-baseline:alicloud:EcsInstanceRole": "",
    "ecs-access-baseline:alicloud:EciAccess": "-eci-role-policy",
}


def _wide(resource: str) -> str | None:
    if resource == "*":
        return "every resource"
    parts = resource.split(":", 4)
    # OSS names a bucket account-wide, not per region (acs:oss:*:<account>:<bucket>): a named
    # bucket of a named account is scoped.
    if len(parts) == 5 and parts[1] == "oss" and parts[2] == "*" and parts[3] != "*" and parts[4] != "*":
        return None
    # RAM is global: a named role of a named account is scoped whatever the region part says (ECS
    # names the role of AttachInstanceRamRole with the call's region, so the statement says '*').
    if len(parts) == 5 and parts[1] == "ram" and parts[2] == "*" and parts[3] != "*" and "*" not in parts[4]:
        return None
    if len(parts) == 5 and resource.startswith("acs:") and "*" in (parts[2], parts[3]):
        return "every region or account"
    return None


def _scoped(args: ResourceValidationArgs) -> bool:
    scoped = args.get_config().get("scopedPolicies", SCOPED_POLICIES)
    return any(
        component in component_types(args.urn) and args.name.endswith(suffix)
        for component, suffix in scoped.items()
    )


def _unscoped_only(statement: Mapping) -> bool:
    """Every action of the statement has no resource-level permission (authorised on * only, e.g.
    oos:ListInstancePatchStates): no ARN could scope it, so '*' is the only grant that works."""
    actions = [str(a) for a in as_list(statement.get("Action"))]
    return bool(actions) and all(RESOURCE_KINDS.get(a) == ("*",) for a in actions)


def prod_scoped_resources(args: ResourceValidationArgs, report_violation) -> None:
    if args.resource_type != ALI_POLICY or not resource_is_production(args) or not _scoped(args):
        return
    for index, statement in statements(document(known(args.props, "policyDocument"))):
        if statement.get("Effect") != "Allow" or _unscoped_only(statement):
            continue
        for resource in as_list(statement.get("Resource")) or ["*"]:
            if (why := _wide(str(resource))) is not None:
                report_violation(
                    f"policy {known(args.props, 'policyName')} {label(index, statement)} covers {why} "
                    f"({resource}) in production; scope it to acs:<service>:<region>:<account>:... ARNs."
                )


def secret_parameter_encrypted(args: ResourceValidationArgs, report_violation) -> None:
    if args.resource_type == ALI_SECRET_PARAMETER:
        kind = known(args.props, "type", "Secret")
        if kind not in ("Secret", UNKNOWN, None):
            report_violation(f"an OOS secret parameter has type {kind!r}; use type Secret (KMS-encrypted).")
        key_id = known(args.props, "keyId")
        if key_id is not None and key_id is not UNKNOWN and not str(key_id).strip():
            report_violation("keyId is empty; omit it for the default service key or name a KMS key.")
    if args.resource_type == ALI_PARAMETER:
        name = str(known(args.props, "parameterName") or "")
        if any(word in name.lower() for word in ("password", "secret", "token")):
            report_violation(
                f"plain OOS parameter {name!r} looks like a secret; use alicloud.oos.SecretParameter "
                "(encrypted with KMS)."
            )


def access_key_with_console_in_prod(args: StackValidationArgs, report_violation) -> None:
    config = args.get_config()
    if not production(config, stack_environment(args)):
        return
    console = {known(r.props, "userName") for r in args.resources if r.resource_type == ALI_LOGIN}
    for resource in args.resources:
        if resource.resource_type == ALI_ACCESS_KEY and known(resource.props, "userName") in console:
            report_violation(
                f"RAM user {known(resource.props, 'userName')} has both console access and an AccessKey; "
                "use separate users for people and programs.",
                resource.urn,
            )


NO_ADMINISTRATOR_ON_USER = ResourceValidationPolicy(
    name="no-administrator-on-user",
    description="No RAM user gets the AdministratorAccess system policy.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=no_administrator_on_user,
)
PROD_CONSOLE_MFA = StackValidationPolicy(
    name="prod-console-mfa",
    description="Console users in production must bind an MFA device (mfaBindRequired).",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=prod_console_mfa,
    config_schema=ENVIRONMENT_SCHEMA,
)
PROD_SCOPED_RESOURCES = ResourceValidationPolicy(
    name="prod-scoped-resources",
    description="In production the ARN-scoped scenarios' policies name region and account (no '*').",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=prod_scoped_resources,
    config_schema=PolicyConfigSchema(
        properties={
            **ENVIRONMENT_SCHEMA.properties,
            "scopedPolicies": {
                "type": "object",
                "additionalProperties": {"type": "string"},
                "default": SCOPED_POLICIES,
                "description": "Component type -> resource-name suffix of policies ARN-scoped in prod.",
            },
        }
    ),
)
SECRET_PARAMETER_ENCRYPTED = ResourceValidationPolicy(
    name="secret-parameter-encrypted",
    description="OOS secrets are SecretParameters of type Secret (KMS: default service key or keyId).",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=secret_parameter_encrypted,
)
ACCESS_KEY_WITH_CONSOLE_IN_PROD = StackValidationPolicy(
    name="access-key-with-console-in-prod",
    description="In production, a console user should not also hold an AccessKey.",
    enforcement_level=EnforcementLevel.ADVISORY,
    validate=access_key_with_console_in_prod,
    config_schema=ENVIRONMENT_SCHEMA,
)


def no_account_wide_full_access_in_prod(args: StackValidationArgs, report_violation) -> None:
    """Attachments carry no tags, so the stack's environment decides."""
    config = args.get_config()
    if not production(config, stack_environment(args)):
        return
    for resource in args.resources:
        if resource.resource_type not in (ALI_USER_ATTACHMENT, ALI_ROLE_ATTACHMENT):
            continue
        name = str(known(resource.props, "policyName") or "")
        if known(resource.props, "policyType") == "System" and name.endswith("FullAccess"):
            principal = known(resource.props, "userName") or known(resource.props, "roleName")
            report_violation(
                f"system policy {name} on {principal} applies to the whole production account; attach "
                "it to a resource group (seed 002) or rely on the scenario's scoped custom policy.",
                resource.urn,
            )


NO_ACCOUNT_WIDE_FULL_ACCESS_IN_PROD = StackValidationPolicy(
    name="no-account-wide-full-access-in-prod",
    description="In production, *FullAccess system policies are resource-group scoped, not account-wide.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=no_account_wide_full_access_in_prod,
    config_schema=ENVIRONMENT_SCHEMA,
)


ALLOW_LIST_OPERATORS = ("StringEquals", "StringEqualsIgnoreCase")


def _command_problem(statement: Mapping) -> str | None:
    """Why an Allow statement lets a person run a command as a privileged or unnamed OS user."""
    if not any(allows(statement, action) for action in COMMAND_ACTIONS):  # Action or NotAction
        return None
    condition = statement.get("Condition") or {}
    named = [
        values
        for operator, block in condition.items()
        if operator in ALLOW_LIST_OPERATORS and isinstance(block, Mapping)
        for key, values in block.items()
        if str(key).lower() == RUN_AS_KEY.lower()
    ]
    if not named:
        return (
            f"runs commands without an allow-list on {RUN_AS_KEY} (a command naming no OS user runs as "
            "root/system, and a deny-list cannot refuse a missing key)"
        )
    privileged = [str(v) for values in named for v in as_list(values) if is_privileged_os_user(str(v))]
    if privileged:
        return f"allows commands as the privileged OS account {privileged[0]!r}"
    return None


def commands_as_named_users(args: StackValidationArgs, report_violation) -> None:
    """Staging and prod: no RAM user runs a Cloud Assistant command except as an allow-listed,
    unprivileged OS user. Roles are not people (the OOS patch role runs as root by design)."""
    if not is_strict(stack_environment(args) or ""):
        return
    documents = {
        known(r.props, "policyName"): document(known(r.props, "policyDocument"))
        for r in args.resources
        if r.resource_type == ALI_POLICY
    }
    for resource in args.resources:
        if resource.resource_type != ALI_USER_ATTACHMENT or known(resource.props, "policyType") != "Custom":
            continue
        name, user = known(resource.props, "policyName"), known(resource.props, "userName")
        for index, statement in statements(documents.get(name)):
            if (problem := _command_problem(statement)) is not None:
                report_violation(
                    f"policy {name} {label(index, statement)} on RAM user {user} {problem}; "
                    f"use StringEquals {RUN_AS_KEY} with regular OS users.",
                    resource.urn,
                )


COMMANDS_AS_NAMED_USERS = StackValidationPolicy(
    name="commands-as-named-users",
    description="In staging and prod, RAM users run Cloud Assistant commands only as allow-listed, "
    "unprivileged OS users (StringEquals ecs:CommandRunAs).",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=commands_as_named_users,
    config_schema=ENVIRONMENT_SCHEMA,
)
