"""Builder helpers the Alibaba Cloud scenarios share."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from baseline.documents.alicloud import fleet_tag_guard_policy, oss_bucket_arns, service_trust_policy
from baseline.errors import ConfigError
from baseline.scenarios import AlicloudContext
from baseline.settings import RamRoleSettings, RamUserSettings, fix
from baseline.spec import ConsoleSpec, Grant, PolicySpec, RoleSpec, ScenarioSpec, UserSpec

# ScenarioSpec.extras key: the instance tags a scenario's policies grant on (a tag-scoped fleet).
FLEET_TAGS = "fleetTags"


def user_spec(key: str, settings: RamUserSettings, ctx: AlicloudContext, source: str) -> UserSpec:
    """A UserSpec from settings; ``source`` is the config key of the user block."""
    console = settings.console
    return UserSpec(
        key=key,
        name=ctx.naming.name(settings.name),
        source=f"{source}.name",
        display_name=settings.display_name or settings.name,
        console=ConsoleSpec(
            password_secret=console.password_secret,
            password_reset_required=console.password_reset_required,
            mfa_bind_required=console.mfa_bind_required,
        )
        if console
        else None,
        access_key=settings.access_key is not None,
        pgp_key=settings.access_key.pgp_key if settings.access_key else None,
    )


def role_spec(key: str, settings: RamRoleSettings, ctx: AlicloudContext, source: str) -> RoleSpec:
    return RoleSpec(
        key=key,
        name=ctx.naming.name(settings.name),
        source=f"{source}.name",
        trust=service_trust_policy(settings.trusted_services),
        description=settings.description,
        max_session_duration=settings.max_session_duration,
    )


def oss_resources(buckets: list[str], ctx: AlicloudContext, key: str) -> list[str]:
    """The resources an OSS-reading instance role may read: the named buckets and their objects.

    No buckets, or ``*``, is the guides' "every bucket": accepted only where the stack is not strict.
    """
    if not buckets or buckets == ["*"]:
        if ctx.strict_scoping:
            error = ConfigError(
                key=key,
                problem="this stack is strict (alicloud.strictScoping): an instance role may not "
                "read every OSS bucket of the account",
                fix="list the buckets the applications read, e.g. [prod-web-assets]",
            )
            if buckets:
                error.value = buckets
            raise error
        return ["*"]
    return [resource for bucket in buckets for resource in oss_bucket_arns(ctx.account_id, bucket)]


def check_listed_instances(
    instance_ids: list[str], ctx: AlicloudContext, key: str, instance_tags: Mapping[str, str] | None = None
) -> None:
    """Strict stacks name the instances a command (or a patch run) may reach, by id or by the
    fleet's tag: ``instance/*`` of the region is every instance of the account there, another
    environment's too where two stacks share the account (dev and staging do), and a command
    yields that instance's role. Ids and tags together would leave it unclear which one decides."""
    if instance_ids and instance_tags:
        raise ConfigError(
            key=f"{key}.instanceTags",
            problem="instanceIds and instanceTags both select the instances; the policy takes one",
            fix="keep instanceTags for a fleet (it does not grow with it), or instanceIds, not both",
        )
    if ctx.strict_scoping and not instance_ids and not instance_tags:
        raise ConfigError(
            key=f"{key}.instanceIds",
            problem=f"{ctx.environment} is strict (alicloud.strictScoping): without instanceIds or "
            "instanceTags the policy reaches instance/* of the region, every instance of the account "
            "there, another environment's included where accounts are shared",
            fix="list this environment's instances, e.g. instanceIds: [i-bp1abcdefgh12345678], or select "
            "the fleet by tag, e.g. instanceTags: {fleet: prod-web}",
        )


def check_instance_tags(value: dict[str, str]) -> dict[str, str]:
    """Tag keys and values as the policy compares them: StringEquals, which takes '*' literally."""
    for tag_key, tag_value in value.items():
        if not tag_key.strip() or not str(tag_value).strip():
            raise fix(
                f"the tag {tag_key!r}: {tag_value!r} has an empty key or value",
                "give every tag a key and a value, e.g. {fleet: prod-web}",
            )
        if any(c in f"{tag_key}{tag_value}" for c in "*?"):
            raise fix(
                f"the tag {tag_key}: {tag_value} has a wildcard, but the policy compares it with "
                "StringEquals (acs:ResourceTag), which takes it literally",
                "name the exact tag the fleet's instances carry, e.g. {fleet: prod-web}",
            )
    return value


def fleet_tag_guard(specs: list[ScenarioSpec], ctx: AlicloudContext) -> list[ScenarioSpec]:
    """With a tag-scoped fleet in the stack, every principal of every scenario gets the guard.

    A tag that grants commands is a credential: whoever may set it on an instance gains commands
    there and, through the instance, its role. So no user or role these stacks create may tag or
    untag an instance or create one (the deploy role lives in the pipeline stack and is untouched).
    """
    if not any(spec.extras.get(FLEET_TAGS) for spec in specs):
        return specs
    guarded = []
    for spec in specs:
        principals = [("user", u.key, u.source) for u in spec.users] + [
            ("role", r.key, r.source) for r in spec.roles
        ]
        if not principals:
            guarded.append(spec)
            continue
        policy = PolicySpec(
            key="fleet-tag-guard",
            name=ctx.naming.name(f"{spec.scenario}FleetTagGuardPolicy"),
            source=f"{spec.scenario}.enabled",
            document=fleet_tag_guard_policy(),
            description="No tagging or creating instances: a fleet tag grants Cloud Assistant commands.",
        )
        grants = [Grant(kind, key, "Custom", policy.key, source) for kind, key, source in principals]
        guarded.append(replace(spec, policies=(*spec.policies, policy), grants=(*spec.grants, *grants)))
    return guarded
