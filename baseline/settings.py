"""Typed settings shared by the scenarios.

Stack files use Pulumi's camelCase keys; the models use snake_case fields with camelCase
aliases, forbid unknown keys (a misspelt key must fail, not be ignored) and are frozen. Every
field has a description: ``tests/test_readme.py`` checks that the configuration reference
(docs/configuration.md) names every key.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from baseline import limits

# The error type ``at`` raises; ``baseline.config`` appends its ``key`` to the error's location.
AT_KEY_ERROR = "config_key"


# The account ids error messages give as examples. Copied into a stack file, they are placeholders
# like the starter's: the plan warns about each, a real run refuses them (baseline.config).
EXAMPLE_ALICLOUD_ACCOUNT = "1234567890123456"
EXAMPLE_AWS_ACCOUNT = "123456789012"


def fix(problem: str, remedy: str) -> ValueError:
    """A validation error whose text says what is wrong and how to fix it."""
    return ValueError(f"{problem}. Fix: {remedy}")


def at(key: str, problem: str, remedy: str) -> PydanticCustomError:
    """Like ``fix``, from a model validator, for the setting ``key`` (camelCase, dotted) of the
    model: the error then names that setting, not the whole block."""
    return PydanticCustomError(
        AT_KEY_ERROR, "{problem}. Fix: {remedy}", {"key": key, "problem": problem, "remedy": remedy}
    )


def _identity(item: Any) -> Any:
    """What makes two list entries the same: a name or id where the entry has one."""
    for attribute in ("name", "id"):
        if isinstance(item, BaseModel) and isinstance(getattr(item, attribute, None), str):
            return getattr(item, attribute)
    if isinstance(item, BaseModel):
        return item.model_dump_json()
    return item


# The words Pulumi's own ``Config.get_bool`` takes for a boolean (pulumi/config.py, ``_get_bool``:
# "true"/"True" and "false"/"False", anything else is a ConfigTypeError); what ``pulumi config
# set`` writes is among them. YAML's own booleans arrive as bool already (stackfile.read_yaml
# reads only YAML 1.2's true/false forms as booleans, as the Pulumi CLI does).
PULUMI_BOOLEAN_WORDS = {"true": True, "True": True, "false": False, "False": False}


def pulumi_bool(value: Any) -> Any:
    """A boolean setting: a YAML boolean or one of ``PULUMI_BOOLEAN_WORDS``, nothing else
    (pydantic alone would also take "yes", "on", "1" and 1)."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, str) and value in PULUMI_BOOLEAN_WORDS:
        return PULUMI_BOOLEAN_WORDS[value]
    raise fix(
        "a boolean setting is true or false (the words Pulumi's config.get_bool accepts: true, True, "
        "false, False)",
        "write true or false",
    )


def _is_bool(annotation: Any) -> bool:
    return annotation is bool or (
        typing.get_origin(annotation) in (typing.Union, types.UnionType)
        and bool in typing.get_args(annotation)
        and set(typing.get_args(annotation)) <= {bool, type(None)}
    )


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=False, frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _booleans(cls, value: Any, info: ValidationInfo) -> Any:
        """Every boolean setting of every model takes exactly the booleans Pulumi takes."""
        field = cls.model_fields.get(info.field_name or "")
        return pulumi_bool(value) if field is not None and _is_bool(field.annotation) else value

    @field_validator("*")
    @classmethod
    def _list_entries(cls, value: Any, info: ValidationInfo) -> Any:
        """Every list of every setting: no empty entry, no entry twice (a duplicate or a blank is
        a typo, and a blank OS user or principal would read as "anyone" to a reviewer)."""
        if not isinstance(value, list):
            return value
        seen: set[Any] = set()
        for index, item in enumerate(value):
            if isinstance(item, str) and not item.strip():
                raise fix(f"entry {index} is empty", "remove the empty entry")
            identity = _identity(item)
            if identity in seen:
                raise fix(f"{identity!r} is listed twice", "list each entry once")
            seen.add(identity)
        return value

    def refuse_irrelevant(self, keys: Iterable[str], when: str, remedy: str) -> None:
        """Refuse settings given explicitly that have no effect ``when`` (e.g. "in allow-list mode")."""
        aliases = {name: info.alias or name for name, info in type(self).model_fields.items()}
        for name in keys:
            if name in self.model_fields_set:
                raise at(aliases[name], f"{aliases[name]} has no effect {when}", remedy)


ResourceScope = Literal["wildcard", "arn"]


def check_role_name(value: str) -> str:
    """Shared by every RAM role setting: the cloud's role-name rule, before the naming rule."""
    if (problem := limits.RAM_ROLE.check(value)) is not None:
        raise fix(f"a RAM role name {problem}", "choose a name like 'PatchAutomationRole'")
    return value


def check_alicloud_region(value: str | None) -> str | None:
    if value is not None and value not in limits.ALICLOUD_REGIONS:
        close = difflib.get_close_matches(value, sorted(limits.ALICLOUD_REGIONS), 1)
        hint = f"did you mean {close[0]!r}?" if close else "use a region id like 'cn-hangzhou'"
        raise fix(f"{value!r} is not an Alibaba Cloud region", hint)
    return value


def check_session_duration(value: int) -> int:
    if not limits.RAM_ROLE_SESSION_MIN <= value <= limits.RAM_ROLE_SESSION_MAX:
        raise fix("the session duration must be 3600-43200 seconds", "use e.g. 3600")
    return value


class ConsoleLoginSettings(Model):
    """Console access (a RAM login profile)."""

    password_secret: str | None = Field(
        None,
        description="Name of the entry under `secrets` that holds the initial console password "
        "(set with `pulumi config set --secret --path 'secrets.<name>' -s <stack>`, which prompts "
        "for it). Default: none, a 32-character password is generated at deploy time (meeting any "
        "RAM password policy) and handed out only as the secret stack output `initialPasswords`.",
    )
    password_reset_required: bool = Field(
        True,
        description="The user must change the password at the first logon (the guides' choice). "
        "Must stay true for a generated password.",
    )
    mfa_bind_required: bool = Field(
        False, description="The user must bind an MFA device at the next logon. Required in prod."
    )

    @model_validator(mode="after")
    def _generated_password_is_reset(self) -> ConsoleLoginSettings:
        # A generated password travels through stack outputs: only its owner may keep one.
        if self.password_secret is None and not self.password_reset_required:
            raise fix(
                "a generated console password must be changed at the first logon",
                "set passwordResetRequired: true, or name a passwordSecret you set yourself",
            )
        return self


class AccessKeySettings(Model):
    """API access (one RAM AccessKey)."""

    pgp_key: str | None = Field(
        None,
        description="PGP public key (base64) or `keybase:<user>`; when set, the secret is stored "
        "only PGP-encrypted. Otherwise it is a Pulumi secret output.",
    )


class RamUserSettings(Model):
    """A RAM user; ``name`` gets the stack's naming rule."""

    name: str = Field(description="Logon name before the naming rule is applied.")
    display_name: str | None = Field(None, description="Display name; defaults to the name.")
    console: ConsoleLoginSettings | None = Field(
        None, description="Console access; omit for an API-only user."
    )
    access_key: AccessKeySettings | None = Field(
        None, description="Create one AccessKey for API access; omit for a console-only user."
    )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if (problem := limits.RAM_USER.check(value)) is not None:
            raise fix(f"a RAM user name {problem}", "choose a name like 'commandUser'")
        return value

    @field_validator("display_name")
    @classmethod
    def _display_name(cls, value: str | None) -> str | None:
        if value is not None and not 1 <= len(value) <= limits.RAM_DISPLAY_NAME_MAX:
            raise fix("a display name must be 1-128 characters", "shorten it")
        return value


class RamRoleSettings(Model):
    """A RAM role that an Alibaba Cloud service assumes."""

    name: str = Field(description="Role name before the naming rule is applied.")
    description: str = Field("", description="Role description shown in the RAM console.")
    trusted_services: list[str] = Field(
        description="Services allowed to assume the role, e.g. `oos.aliyuncs.com`.", min_length=1
    )
    max_session_duration: int = Field(3600, description="Longest STS session in seconds (3600-43200).")

    _name = field_validator("name")(check_role_name)

    @field_validator("trusted_services")
    @classmethod
    def _services(cls, value: list[str]) -> list[str]:
        for service in value:
            # One named service per entry: a wildcard would let any service assume the role.
            if not re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)*\.aliyuncs\.com", service):
                raise fix(
                    f"{service!r} is not an Alibaba Cloud service principal",
                    "use a name ending in '.aliyuncs.com', e.g. 'oos.aliyuncs.com'",
                )
        return value

    _duration = field_validator("max_session_duration")(check_session_duration)


def check_instance_id(value: str) -> str:
    """One ECS instance id: Alibaba Cloud's form, and not an Amazon EC2 id pasted by mistake."""
    if limits.AWS_EC2_INSTANCE_ID.fullmatch(value):
        raise fix(
            f"{value!r} looks like an AWS EC2 instance id (i- and 17 hexadecimal characters), not an "
            "Alibaba Cloud ECS one",
            "copy the id from the ECS console of the stack's account, e.g. 'i-bp1abcdefgh123456789'",
        )
    if not limits.ECS_INSTANCE_ID.fullmatch(value):
        raise fix(f"{value!r} is not an ECS instance id", "use ids like 'i-bp1abcdefgh123456789'")
    return value


def check_instance_ids(value: list[str]) -> list[str]:
    for instance_id in value:
        check_instance_id(instance_id)
    return value


def check_oss_buckets(value: list[str]) -> list[str]:
    """Bucket names, or ``*`` alone (the guides' form, refused in strict stacks by the builder)."""
    if "*" in value and len(value) > 1:
        raise fix("'*' already covers every bucket", "list bucket names, or '*' alone")
    for bucket in value:
        if bucket != "*" and not limits.OSS_BUCKET_NAME.fullmatch(bucket):
            raise fix(
                f"{bucket!r} is not an OSS bucket name",
                "use 3-63 lowercase letters, digits or '-', e.g. 'prod-web-assets'",
            )
    return value
