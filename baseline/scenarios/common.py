"""Builder helpers the Alibaba Cloud scenarios share."""

from __future__ import annotations

from baseline.documents.alicloud import service_trust_policy
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
