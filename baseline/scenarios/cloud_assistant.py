"""S2 ``cloudAssistantLinux`` (seed 001, Linux part): Cloud Assistant as a regular OS user."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from baseline.documents.alicloud import (
    CLOUD_ASSISTANT_RESOURCES,
    PRIVILEGED_OS_USERS,
    arn,
    command_user_policy,
    command_user_read_policy,
    is_privileged_os_user,
)
from baseline.environments import is_strict
from baseline.errors import ConfigError
from baseline.scenarios import AlicloudContext
from baseline.scenarios.common import FLEET_TAGS, check_instance_tags, check_listed_instances, user_spec
from baseline.settings import (
    ConsoleLoginSettings,
    Model,
    RamUserSettings,
    ResourceScope,
    at,
    check_instance_ids,
    fix,
)
from baseline.spec import Grant, PolicySpec, ScenarioSpec

LINUX_KEY = "cloudAssistantLinux"
CommandPolicyMode = Literal["allow-list", "deny-privileged"]


def _default_command_user() -> RamUserSettings:
    return RamUserSettings(
        name="commandUser",
        console=ConsoleLoginSettings(),
    )


class CloudAssistantSettings(Model):
    """S2: RAM user `commandUser` allowed to run Cloud Assistant commands only as regular OS
    users."""

    enabled: bool = Field(False, description="Create this scenario's resources.")
    user: RamUserSettings = Field(
        default_factory=_default_command_user,
        description="The RAM user that runs commands (default `commandUser`, console access "
        "with a generated password).",
    )
    policy_name: str = Field("commandUserPolicy", description="Name of the Cloud Assistant custom policy.")
    mode: CommandPolicyMode = Field(
        "allow-list",
        description="`allow-list`: only `runAsUsers` (StringEquals ecs:CommandRunAs); "
        "`deny-privileged`: anyone but `deniedUsers` (StringNotEqualsIgnoreCase), only in dev/test "
        "and only with `allowCommandsWithoutRunAs: true` (see there); staging and prod refuse it.",
    )
    run_as_users: list[str] = Field(
        default_factory=lambda: ["user01", "user02"],
        description="OS users commands may run as in `allow-list` mode; privileged accounts (root, "
        "system, Administrator, LocalSystem, TrustedInstaller, admin, ecs-user, ubuntu, in any case "
        "and with any domain part) are refused.",
    )
    denied_users: list[str] = Field(
        default_factory=lambda: list(PRIVILEGED_OS_USERS),
        description="OS users refused in `deny-privileged` mode; must include root and system.",
    )
    allow_commands_without_run_as: bool = Field(
        False,
        description="`deny-privileged` mode only, and only outside staging/prod: the stack accepts "
        "that a command naming no OS user passes the deny-list and runs as root/system (RAM "
        "conditions have no `Null` operator to refuse a missing `ecs:CommandRunAs`). Required "
        "with that mode.",
    )
    resource_scope: ResourceScope | None = Field(
        None,
        description="`wildcard` keeps the guide's `acs:ecs:*:*:instance/*` and `command/*`; "
        "`arn` narrows them to the stack's region and account. Default: `arn` when "
        "`alicloud.strictScoping` is on.",
    )
    instance_ids: list[str] = Field(
        default_factory=list,
        description="With `arn` scope, allow only these instances instead of `instance/*`; required in "
        "strict stacks (`instance/*` of a region reaches every instance of the account there, "
        "another environment's too where accounts are shared).",
    )
    instance_tags: dict[str, str] = Field(
        default_factory=dict,
        description="With `arn` scope, allow only instances carrying every one of these tags (tag key -> "
        "value; `StringEquals acs:ResourceTag/<key>` on `instance/*`) instead of listing ids: the policy "
        "stays the same size however large the fleet, and an instance a scaling group adds with the tag is "
        "reachable without a deploy. Strict stacks take this or `instanceIds` (not both, not neither); "
        "every principal of the stack is then denied tagging instances (docs/scenarios.md).",
    )

    _check_instances = field_validator("instance_ids")(check_instance_ids)
    _check_tags = field_validator("instance_tags")(check_instance_tags)

    @field_validator("run_as_users")
    @classmethod
    def _no_wildcards(cls, value: list[str]) -> list[str]:
        # The policy compares runAsUsers with StringEquals, where '*' and '?' are plain characters:
        # an entry "*" matches only an OS user literally named "*", so it would grant nothing, silently.
        for user in value:
            if "*" in user or "?" in user:
                raise fix(
                    f"{user!r} is a wildcard, but runAsUsers is compared with StringEquals "
                    "(ecs:CommandRunAs), which takes it literally: it would allow no OS user",
                    "list each regular OS user by name, e.g. [user01, user02]",
                )
        return value

    @model_validator(mode="after")
    def _os_users(self) -> CloudAssistantSettings:
        if self.mode == "allow-list":
            self.refuse_irrelevant(
                ["denied_users", "allow_commands_without_run_as"],
                "in allow-list mode",
                "remove it; runAsUsers alone decides who commands run as",
            )
            if not self.run_as_users:
                raise fix(
                    "allow-list mode with an empty runAsUsers list allows nobody",
                    "list the regular OS users, e.g. [user01, user02]",
                )
            privileged = [u for u in self.run_as_users if is_privileged_os_user(u)]
            if privileged:
                raise at(
                    "runAsUsers",
                    f"runAsUsers lists the privileged OS account {privileged[0]!r}, which the guide "
                    "exists to keep out",
                    "remove it; commands run as regular users only",
                )
        else:
            self.refuse_irrelevant(
                ["run_as_users"],
                "in deny-privileged mode",
                "remove it, or set mode: allow-list to use it",
            )
            missing = [u for u in PRIVILEGED_OS_USERS if u not in {d.lower() for d in self.denied_users}]
            if missing:
                raise at(
                    "deniedUsers",
                    f"deniedUsers must include {missing[0]!r}",
                    "keep root and system in deniedUsers and add others as needed",
                )
            if not self.allow_commands_without_run_as:
                raise at(
                    "mode",
                    "deny-privileged mode lets a command that names no OS user run as root/system "
                    "(RAM has no Null condition to refuse a missing ecs:CommandRunAs)",
                    "use mode: allow-list, or in dev accept the gap with allowCommandsWithoutRunAs: true",
                )
        return self


def check_command_mode(settings: CloudAssistantSettings, environment: str, key: str) -> None:
    """Staging and prod: no person's credentials may run a command as root/system or without
    naming the OS user, which only the allow-list guarantees."""
    if settings.mode != "allow-list" and is_strict(environment):
        raise ConfigError(
            key=f"{key}.mode",
            value=settings.mode,
            problem=f"{environment} requires allow-list mode: deny-privileged lets a command that names "
            "no OS user (no ecs:CommandRunAs) run as root/system, and RAM has no Null condition to stop it",
            fix="set mode: allow-list with runAsUsers (regular OS users), and remove deniedUsers",
        )


def command_resources(settings: CloudAssistantSettings, ctx: AlicloudContext, key: str) -> tuple[str, ...]:
    scope = ctx.scope(settings.resource_scope)
    if scope == "wildcard":
        if ctx.strict_scoping:
            raise ConfigError(
                key=f"{key}.resourceScope",
                value="wildcard",
                problem="this stack is strict (alicloud.strictScoping); '*' regions and accounts are refused",
                fix="remove resourceScope (defaults to arn) or set it to 'arn'",
            )
        for name, value in (("instanceIds", settings.instance_ids), ("instanceTags", settings.instance_tags)):
            if value:
                raise ConfigError(
                    key=f"{key}.{name}",
                    value=value,
                    problem=f"instance {name[8:].lower()} only narrow an ARN-scoped policy",
                    fix=f"set resourceScope: arn, or remove {name}",
                )
        return CLOUD_ASSISTANT_RESOURCES
    check_listed_instances(settings.instance_ids, ctx, key, settings.instance_tags)
    instances = [arn("ecs", ctx.region, ctx.account_id, f"instance/{i}") for i in settings.instance_ids]
    return (
        *(instances or [arn("ecs", ctx.region, ctx.account_id, "instance/*")]),
        arn("ecs", ctx.region, ctx.account_id, "command/*"),
    )


def command_user_parts(
    settings: CloudAssistantSettings, ctx: AlicloudContext, key: str
) -> tuple[list, list[PolicySpec], list[Grant]]:
    """The user, its commandUserPolicy and its grants: all of S2, and the first part of S3."""
    check_command_mode(settings, ctx.environment, key)
    user = user_spec("command-user", settings.user, ctx, f"{key}.user")
    policy = PolicySpec(
        key="command-policy",
        name=ctx.naming.name(settings.policy_name),
        source=f"{key}.policyName",
        document=command_user_policy(
            mode=settings.mode,
            resources=command_resources(settings, ctx, key),
            run_as_users=settings.run_as_users,
            denied_users=settings.denied_users,
            instance_tags=settings.instance_tags,
        ),
        description="Cloud Assistant commands as regular OS users only (seed 001).",
        grows_with=(
            (f"{key}.runAsUsers", tuple(settings.run_as_users) if settings.mode == "allow-list" else ()),
            (f"{key}.deniedUsers", tuple(settings.denied_users) if settings.mode != "allow-list" else ()),
            (f"{key}.instanceIds", tuple(settings.instance_ids)),
        ),
    )
    grants = [Grant("user", "command-user", "Custom", "command-policy", f"{key}.policyName")]
    if not ctx.strict_scoping:
        grants.append(Grant("user", "command-user", "System", "AliyunECSReadOnlyAccess", f"{key}.user"))
        return [user], [policy], grants
    # Strict stacks: no system policy wider than the task (ecs:Describe* on "*" opens every
    # instance's console, user data and run output); the guide's reads, on its own resources.
    read = PolicySpec(
        key="command-read-policy",
        name=ctx.naming.name(read_policy_name(settings.policy_name)),
        source=f"{key}.policyName",
        document=command_user_read_policy(
            command_resources(settings, ctx, key),
            [arn("ecs", ctx.region, ctx.account_id, "instance/*")],
            settings.instance_tags,
        ),
        description="What the Cloud Assistant guide reads, instead of AliyunECSReadOnlyAccess (seed 001).",
    )
    grants.append(Grant("user", "command-user", "Custom", "command-read-policy", f"{key}.policyName"))
    return [user], [policy, read], grants


def read_policy_name(policy_name: str) -> str:
    """``commandUserPolicy`` -> ``commandUserReadPolicy``: the strict stacks' read policy."""
    return f"{policy_name.removesuffix('Policy')}ReadPolicy"


def build_linux(settings: CloudAssistantSettings, ctx: AlicloudContext) -> ScenarioSpec:
    users, policies, grants = command_user_parts(settings, ctx, LINUX_KEY)
    return ScenarioSpec(
        scenario=LINUX_KEY,
        users=tuple(users),
        policies=tuple(policies),
        grants=tuple(grants),
        extras=fleet_extras(settings),
    )


def fleet_extras(settings: CloudAssistantSettings) -> dict[str, dict[str, str]]:
    """The spec's extras: the fleet's tags when the policies grant by tag (none otherwise)."""
    return {FLEET_TAGS: dict(settings.instance_tags)} if settings.instance_tags else {}
