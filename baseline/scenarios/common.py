"""Builder helpers the Alibaba Cloud scenarios share."""

from __future__ import annotations

from baseline.documents.alicloud import oss_bucket_arns, service_trust_policy
from baseline.errors import ConfigError
from baseline.scenarios import AlicloudContext
from baseline.settings import RamRoleSettings, RamUserSettings
from baseline.spec import ConsoleSpec, RoleSpec, UserSpec


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


def check_listed_instances(instance_ids: list[str], ctx: AlicloudContext, key: str) -> None:
    """Strict stacks name the instances a command (or a patch run) may reach: ``instance/*`` of
    the region is every instance of the account there, another environment's too where two
    stacks share the account (dev and staging do), and a command yields that instance's role."""
    if ctx.strict_scoping and not instance_ids:
        raise ConfigError(
            key=f"{key}.instanceIds",
            problem=f"{ctx.environment} is strict (alicloud.strictScoping): without instanceIds the policy "
            "reaches instance/* of the region, every instance of the account there, another "
            "environment's included where accounts are shared",
            fix="list this environment's instances, e.g. instanceIds: [i-bp1abcdefgh12345678]",
        )
