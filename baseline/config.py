"""Stack configuration: read once, validated whole, before any resource is registered.

Two sources feed one path: a stack file read directly (the offline plan, tests) and the
configuration the Pulumi engine hands a real run. Both become ``RawConfig`` (plain values plus
the secrets), then ``resolve`` validates shape (pydantic), semantics (``_check_stack``) and the
cross-scenario limits (``spec.validate_alicloud``) and returns the settings and specs.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import json
import re
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import yaml
from pydantic import Field, ValidationError, field_validator

from baseline import PROJECT, limits
from baseline.environments import ENVIRONMENTS, Environment, is_production, is_strict
from baseline.errors import BASELINE, Collector, ConfigError, set_command
from baseline.naming import Naming
from baseline.scenarios import AlicloudContext, AwsContext
from baseline.scenarios import cloud_assistant as s2_module
from baseline.scenarios import cloud_assistant_windows as s3_module
from baseline.scenarios import eci_access as s5_module
from baseline.scenarios import ecs_instance_role as s4_module
from baseline.scenarios import ecs_mcp_server as s6_module
from baseline.scenarios import patch_management as s1_module
from baseline.scenarios import pipeline as s7_module
from baseline.scenarios.cloud_assistant import CloudAssistantSettings
from baseline.scenarios.cloud_assistant_windows import CloudAssistantWindowsSettings
from baseline.scenarios.common import fleet_tag_guard
from baseline.scenarios.eci_access import EciAccessSettings
from baseline.scenarios.ecs_instance_role import EcsInstanceRoleSettings
from baseline.scenarios.ecs_mcp_server import EcsMcpServerSettings
from baseline.scenarios.patch_management import PatchManagementSettings
from baseline.scenarios.pipeline import PipelineSettings
from baseline.settings import (
    AT_KEY_ERROR,
    EXAMPLE_ALICLOUD_ACCOUNT,
    EXAMPLE_AWS_ACCOUNT,
    Model,
    check_alicloud_region,
    fix,
)
from baseline.spec import (
    AwsScenarioSpec,
    DeployerReach,
    PipelineSpec,
    ScenarioSpec,
    SecretNeed,
    deployer_reach,
    secret_needs,
    validate_alicloud,
    validate_aws,
    validate_pipeline,
)
from baseline.stackfile import read_yaml

SECRETS_KEY = "secrets"
# Stands for a secret the plan cannot see: a `secure:` value (never decrypted offline) or one not
# set yet. Rendered "[secret]" like every secret; never reaches the cloud (a real run refuses an
# unset secret before registering anything, and decrypts the set ones itself).
PLAN_PLACEHOLDER = "plan-placeholder-secret"
UNNAMED_STACK = "<stack>"
# The form the passphrase and cloud-KMS secrets providers write (Pulumi's symmetric crypter:
# AES-256-GCM, base64 nonce and ciphertext). The nonce is 12 bytes; GCM adds a 16-byte tag.
CIPHERTEXT = re.compile(r"v1:(?P<nonce>[A-Za-z0-9+/]+={0,2}):(?P<ciphertext>[A-Za-z0-9+/]+={0,2})")
NONCE_BYTES = 12
GCM_TAG_BYTES = 16


# Pulumi Cloud's default ("service") secrets provider: the service encrypts, the stack file holds
# the returned bytes as plain standard base64 (pulumi/pulumi pkg/secrets/service, serviceCrypter)
# and neither `encryptionsalt` (passphrase) nor `encryptedkey` (cloud KMS) appears in the file.
# The service's own format is not public: at least 16 bytes is assumed (an AES-GCM tag alone is).
SERVICE_CIPHERTEXT = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")
SERVICE_MIN_BYTES = 16


def is_service_ciphertext(value: object) -> bool:
    """True when ``value`` has the shape of Pulumi Cloud's default secrets provider's ciphertext."""
    if not (isinstance(value, str) and value and SERVICE_CIPHERTEXT.fullmatch(value)):
        return False
    return len(base64.b64decode(value, validate=True)) >= SERVICE_MIN_BYTES


def is_ciphertext(value: object) -> bool:
    """True when ``value`` has the shape of a value Pulumi's symmetric crypter wrote."""
    match = CIPHERTEXT.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        return False
    try:
        nonce = base64.b64decode(match["nonce"], validate=True)
        sealed = base64.b64decode(match["ciphertext"], validate=True)
    except (binascii.Error, ValueError):
        return False
    return len(nonce) == NONCE_BYTES and len(sealed) >= GCM_TAG_BYTES


def stack_of(path: Path) -> str:
    """The stack a file belongs to by Pulumi's naming (``Pulumi.<stack>.yaml``)."""
    from baseline import stackfile

    return stackfile.stack_of(path) or UNNAMED_STACK


@dataclass(frozen=True)
class SecretValue:
    """A value that only ever travels as a Pulumi secret."""

    value: str = field(repr=False)


@dataclass
class RawConfig:
    """Project config keys (without the ``ecs-access-baseline:`` prefix) and the secrets."""

    values: dict[str, Any]
    secrets: dict[str, SecretValue]
    stack: str = UNNAMED_STACK  # for the commands error messages give


class NamingSettings(Model):
    """How account-global names are made unique per stack."""

    prefix: str = Field("", description="Prepended to every RAM/IAM name, e.g. `dev-`.")
    suffix: str = Field("", description="Appended to every RAM/IAM name, e.g. `-stg`.")

    @field_validator("prefix", "suffix")
    @classmethod
    def _chars(cls, value: str) -> str:
        # The tightest name pattern (policies) allows letters, digits and '-' only.
        if value and not limits.RAM_POLICY_NAME.fullmatch(value):
            raise fix("a naming prefix/suffix may hold letters, digits and '-' only", "e.g. 'dev-'")
        return value


class AlicloudSettings(Model):
    """The Alibaba Cloud account and region the stack manages."""

    account_id: str = Field(description="Alibaba Cloud account id (16 digits), used in ARNs.")
    region: str = Field(description="Region of the stack's regional resources, e.g. `cn-hangzhou`.")
    strict_scoping: bool = Field(
        True,
        description="Refuse `*` resources where the guides scope production policies; "
        "scenarios default to ARN scope. Must stay on in prod.",
    )

    @field_validator("account_id", mode="before")
    @classmethod
    def _account(cls, value: Any) -> Any:
        if not (isinstance(value, str) and limits.ALICLOUD_ACCOUNT_ID.fullmatch(value)):
            raise fix(
                "an Alibaba Cloud account id is 16 digits, written as a quoted string",
                f'copy it from the console\'s account center, e.g. "{EXAMPLE_ALICLOUD_ACCOUNT}"',
            )
        return value

    _region = field_validator("region")(check_alicloud_region)


class AwsSettings(Model):
    """The AWS account and region the stack manages."""

    account_id: str = Field(description="AWS account id (12 digits), used in ARNs.")
    region: str = Field(description="AWS region, e.g. `us-east-1`.")

    @field_validator("account_id", mode="before")
    @classmethod
    def _account(cls, value: Any) -> Any:
        if not (isinstance(value, str) and limits.AWS_ACCOUNT_ID.fullmatch(value)):
            raise fix(
                "an AWS account id is 12 digits, written as a quoted string", f'e.g. "{EXAMPLE_AWS_ACCOUNT}"'
            )
        return value

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        if value not in limits.AWS_REGIONS:
            close = difflib.get_close_matches(value, sorted(limits.AWS_REGIONS), 1)
            hint = f"did you mean {close[0]!r}?" if close else "use a region id like 'us-east-1'"
            raise fix(f"{value!r} is not an AWS region", hint)
        return value


class StackSettings(Model):
    """Everything a stack file says, under the ``ecs-access-baseline:`` namespace."""

    environment: Environment = Field(
        description="One of `dev`, `test` (throw-away pull-request stacks), `staging`, `prod`. "
        "`prod` turns on the production rules, `staging` and `prod` the strict command rules; the "
        "policy pack reads the same names from the resources' `environment` tag "
        "(`baseline/environments.py`). Used in tags and tag-based policies."
    )
    naming: NamingSettings = Field(
        default_factory=NamingSettings, description="Naming rule for account-global names."
    )
    protect_identities: bool = Field(
        False, description="Mark users, roles and policies `protect` (required in prod)."
    )
    test_stack: bool = Field(
        False, description="A throw-away test stack that `baseline teardown` may destroy."
    )
    alicloud: AlicloudSettings | None = Field(
        None, description="Alibaba Cloud account and region; required by scenarios S1-S5."
    )
    aws: AwsSettings | None = Field(None, description="AWS account and region; required by S6.")
    patch_management: PatchManagementSettings = Field(
        default_factory=PatchManagementSettings,
        description="S1 patch management (seed 000).",
    )
    cloud_assistant_linux: CloudAssistantSettings = Field(
        default_factory=CloudAssistantSettings,
        description="S2 Cloud Assistant on Linux (seed 001).",
    )
    cloud_assistant_windows: CloudAssistantWindowsSettings = Field(
        default_factory=CloudAssistantWindowsSettings,
        description="S3 Cloud Assistant on Windows, password hosted in OOS (seed 001).",
    )
    ecs_instance_role: EcsInstanceRoleSettings = Field(
        default_factory=EcsInstanceRoleSettings,
        description="S4 ECS instance RAM role (seed 003).",
    )
    eci_access: EciAccessSettings = Field(
        default_factory=EciAccessSettings,
        description="S5 Elastic Container Instance access (seed 002).",
    )
    ecs_mcp_server: EcsMcpServerSettings = Field(
        default_factory=EcsMcpServerSettings,
        description="S6 IAM roles for the Amazon ECS MCP server (seed 004).",
    )
    pipeline: PipelineSettings = Field(
        default_factory=PipelineSettings,
        description="S7 the pipeline's GitHub OIDC providers and deploy/preview roles (`pipeline` stack).",
    )

    @field_validator("environment", mode="before")
    @classmethod
    def _environment(cls, value: Any) -> Any:
        if value not in ENVIRONMENTS:
            close = difflib.get_close_matches(str(value).lower(), ENVIRONMENTS, 1, 0.5)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise fix(
                f"the environment is one of {', '.join(ENVIRONMENTS)} (it decides which production "
                "rules apply, for configuration and the policy pack alike)",
                f"{hint}use one of {', '.join(ENVIRONMENTS)}",
            )
        return value

    @property
    def is_production(self) -> bool:
        return is_production(self.environment)

    @property
    def is_strict(self) -> bool:
        return is_strict(self.environment)


@dataclass(frozen=True)
class Resolved:
    """Validated settings and the specs the program builds from them."""

    settings: StackSettings
    alicloud: list[ScenarioSpec]
    secrets: dict[str, SecretValue]
    aws: list[AwsScenarioSpec] = field(default_factory=list)
    stack: str = UNNAMED_STACK
    # Referenced but not set: the plan shows them as "[secret]"; a real run refuses them.
    unset_secrets: tuple[SecretNeed, ...] = ()
    pipeline: PipelineSpec | None = None


# Scenario config key -> (settings attribute, spec builder). Order is registration order.
ALICLOUD_SCENARIOS = {
    "patchManagement": ("patch_management", s1_module.build),
    "cloudAssistantLinux": ("cloud_assistant_linux", s2_module.build_linux),
    "cloudAssistantWindows": ("cloud_assistant_windows", s3_module.build),
    "ecsInstanceRole": ("ecs_instance_role", s4_module.build),
    "eciAccess": ("eci_access", s5_module.build),
}
AWS_SCENARIOS = {
    "ecsMcpServer": ("ecs_mcp_server", s6_module.build),
}


def load_stack_file(path: Path, stack: str | None = None, option: str = "--config-file") -> RawConfig:
    """Read a Pulumi stack file; ``secure:`` values stand for secrets without decryption.

    ``stack`` names the stack in the commands error messages give; by default it comes from the
    file name. ``option`` is how the user named the file (``--stack`` when it came from the stack
    name): errors about the file itself name that option.
    """
    stack = stack or stack_of(path)
    # `--stack dev` names the stack, not the file: the error shows the name and which file it read.
    key, shown, of = (option, stack, f"{path}: ") if option == "--stack" else (option, str(path), "")
    try:
        text = path.read_text()
    except OSError as error:
        problem = f"{of}{error.strerror or 'unreadable'}"
        raise ConfigError(key=key, value=shown, problem=problem, fix="pass an existing stack file") from None
    try:
        document = read_yaml(text, path.name) or {}
    except yaml.YAMLError as error:
        problem, remedy = _yaml_problem(error, text)
        raise ConfigError(key=key, value=shown, problem=f"{of}{problem}", fix=remedy) from None
    return load_stack_document(document, stack, str(path), option)


def _yaml_problem(error: yaml.YAMLError, text: str) -> tuple[str, str]:
    """Where the parser stopped and why, in its own words, and the fix."""
    mark = getattr(error, "problem_mark", None)
    reason = getattr(error, "problem", None) or ""
    context = getattr(error, "context", None)
    found = None
    if mark is not None:
        lines = text.splitlines()
        line = lines[mark.line] if mark.line < len(lines) else ""
        found = line[mark.column] if mark.column < len(line) else None
        # libyaml's message leaves out the character; PyYAML's own parser names it, as here.
        if found is not None and reason == "found character that cannot start any token":
            reason = f"found character {found!r} that cannot start any token"
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    because = reason + (f" ({context})" if context else "")
    problem = f"not valid YAML{where}" + (f": {because}" if because else "")
    if found == "\t":
        return problem, "indent with spaces: YAML does not allow tabs there"
    return problem, "correct the YAML syntax there"


def _file_error(option: str, where: str, stack: str, problem: str, fix: str) -> ConfigError:
    """An error about the stack file itself, naming the option the user gave it by."""
    if option == "--stack":
        return ConfigError(key=option, value=stack, problem=f"{where}: {problem}", fix=fix)
    return ConfigError(key=option, value=where, problem=problem, fix=fix)


def load_stack_document(document: Any, stack: str, where: str, option: str = "--config-file") -> RawConfig:
    """A stack file's contents, already read (``where`` names it in errors, ``option`` says how
    the user named the file). Every problem of the file is reported, not only the first."""
    if not isinstance(document, dict):
        raise _file_error(
            option,
            where,
            stack,
            "a stack file is a YAML map with a `config` key",
            "start the file with 'config:' and indent the ecs-access-baseline:* keys under it",
        )
    found = Collector()
    with found.check():
        _check_encryption_salt(document.get("encryptionsalt"), stack)
    with found.check():
        _check_encrypted_key(document.get("encryptedkey"), stack)
    # Which provider wrote the `secure:` values: a salt (passphrase) or an encrypted data key
    # (awskms, azurekeyvault, gcpkms, hashivault) means Pulumi's v1 symmetric form; neither means
    # Pulumi Cloud's default provider.
    symmetric = document.get("encryptionsalt") is not None or document.get("encryptedkey") is not None
    config = document.get("config") or {}
    if not isinstance(config, dict):
        found.add(
            _file_error(
                option,
                where,
                stack,
                f"its `config` is a {_yaml_kind(config)}, but it must be a map of keys to values",
                "write each setting as 'ecs-access-baseline:<key>: <value>' indented under config:",
            )
        )
        config = {}
    values: dict[str, Any] = {}
    for key, value in config.items():
        namespace, colon, name = str(key).partition(":")
        if namespace != PROJECT or not name:
            found.add(_foreign_key(str(key), namespace if colon else "", name if colon else namespace))
            continue
        values[name] = value
    secrets: dict[str, SecretValue] = {}
    raw_secrets = values.pop(SECRETS_KEY, None) or {}
    if not isinstance(raw_secrets, dict):
        found.add(
            ConfigError(
                key=SECRETS_KEY,
                problem="secrets is a map of named secret values",
                fix=f"delete it and set each with: {set_command('<name>', stack)} (it prompts for the value)",
            )
        )
        raw_secrets = {}
    for name, value in raw_secrets.items():
        with found.check():
            _check_secret_entry(str(name), value, symmetric, stack)
            secrets[str(name)] = SecretValue(PLAN_PLACEHOLDER)
    for error in _inline_secrets(values, "", stack):
        found.add(error)
    found.raise_any()
    return RawConfig(values=values, secrets=secrets, stack=stack)


def _check_secret_entry(name: str, value: Any, symmetric: bool, stack: str) -> None:
    """One entry under ``secrets``: a ``secure:`` value the stack's secrets provider wrote."""
    if not (isinstance(value, dict) and set(value) == {"secure"}):
        raise ConfigError(
            key=f"{SECRETS_KEY}.{name}",
            problem="this secret is stored in plain text in the stack file",
            fix=f"delete it from the file and run: {set_command(str(name), stack)} "
            "(it prompts for the value)",
        )
    ciphertext = value["secure"]
    if not isinstance(ciphertext, str):
        raise ConfigError(
            key=f"{SECRETS_KEY}.{name}",
            problem="a `secure:` value is Pulumi ciphertext, a string; this one is "
            + {bool: "true/false", int: "a number", float: "a number", dict: "a map", list: "a list"}.get(
                type(ciphertext), "empty"
            ),
            fix=f"delete the entry and run: {set_command(str(name), stack)} (it prompts for the value)",
        )
    # The value itself is never shown: it may be a pasted secret.
    again = f"delete the entry and run: {set_command(str(name), stack)} (it prompts for the value)"
    if symmetric and not is_ciphertext(ciphertext):
        raise ConfigError(
            key=f"{SECRETS_KEY}.{name}",
            problem="the `secure:` value is not Pulumi ciphertext (v1:<nonce>:<ciphertext>, as the "
            "passphrase and KMS providers this file's encryptionsalt/encryptedkey belong to write it)",
            fix=again,
        )
    if not symmetric and ciphertext.startswith("v1:"):
        raise ConfigError(
            key=f"{SECRETS_KEY}.{name}",
            problem="a v1: value (passphrase or KMS ciphertext) in a file with neither encryptionsalt "
            "nor encryptedkey: no secrets provider of this stack can decrypt it",
            fix="restore the stack file's encryptionsalt or encryptedkey line, or " + again,
        )
    if not symmetric and not is_service_ciphertext(ciphertext):
        raise ConfigError(
            key=f"{SECRETS_KEY}.{name}",
            problem="the `secure:` value is not Pulumi ciphertext (a file without encryptionsalt or "
            "encryptedkey uses Pulumi Cloud's default secrets provider, which writes base64)",
            fix=again,
        )


# Provider namespaces a user may reach for; the program configures every provider explicitly.
_PROVIDER_NAMESPACES = {"aws", "alicloud", "random"}


def _foreign_key(key: str, namespace: str, name: str) -> ConfigError:
    """A `config:` key outside the project's namespace: the fix for what the user wrote.

    Pulumi names a config key ``<namespace>:<name>``; ``pulumi config set <name>`` puts a bare name
    in the project's namespace (``ecs-access-baseline:<name>``), and this program reads only those.
    """
    if namespace in _PROVIDER_NAMESPACES and name:
        return ConfigError(
            key=key,
            problem="the program reads only ecs-access-baseline:* keys; provider keys "
            "(aws:region, alicloud:region) are ignored because every provider is explicit",
            fix=f"set the {namespace} account and region as ecs-access-baseline:{namespace} "
            "(accountId, region) and delete this key",
        )
    if not name:
        return ConfigError(
            key=key,
            as_written=True,
            problem="a config key needs a name after the namespace",
            fix=f"write {PROJECT}:<setting>, e.g. {PROJECT}:environment",
        )
    known = _known_keys([])
    close = difflib.get_close_matches(name, known, 1, 0.8)
    written = "has no namespace" if not namespace else f"is in the namespace {namespace!r}"
    return ConfigError(
        key=key,
        as_written=True,
        problem=f"this key {written}; the program reads only {PROJECT}:* keys",
        fix=f"write it as {PROJECT}:{close[0]}"
        if close
        else f"write it as {PROJECT}:<setting>, one of {', '.join(known)}",
    )


def _yaml_kind(value: Any) -> str:
    return {list: "list", str: "string", int: "number", float: "number", bool: "boolean"}.get(
        type(value), type(value).__name__
    )


def _check_encryption_salt(salt: object, stack: str) -> None:
    """``encryptionsalt`` (passphrase provider) is ``v1:<salt>:`` plus the ciphertext of "pulumi"."""
    if salt is None:
        return
    parts = salt.split(":", 2) if isinstance(salt, str) else []
    ok = len(parts) == 3 and parts[0] == "v1" and is_ciphertext(parts[2])
    if ok:
        try:
            ok = bool(base64.b64decode(parts[1], validate=True))
        except (binascii.Error, ValueError):
            ok = False
    if not ok:
        raise ConfigError(
            key="encryptionsalt",
            problem="not a passphrase salt as Pulumi writes it (v1:<salt>:v1:<nonce>:<ciphertext>)",
            fix=f"delete the line (and every secure: value), then run: pulumi stack select {stack} "
            "--create --secrets-provider passphrase, which writes a new one",
        )


def _check_encrypted_key(key: object, stack: str) -> None:
    """``encryptedkey`` (cloud KMS providers): the provider-encrypted data key, standard base64."""
    if key is None:
        return
    if not (isinstance(key, str) and key and SERVICE_CIPHERTEXT.fullmatch(key)):
        raise ConfigError(
            key="encryptedkey",
            problem="not an encrypted data key as Pulumi writes it (base64)",
            fix=f"delete the line (and every secure: value), then run: pulumi stack select {stack} "
            "--create --secrets-provider 'awskms://...', which writes a new one",
        )


def from_pulumi_runtime(stack: str = UNNAMED_STACK) -> RawConfig:
    """The configuration a real ``pulumi up`` hands the program (values already decrypted).

    The engine passes config either through the runtime settings or the ``PULUMI_CONFIG``
    environment variable; structured values arrive as JSON text.
    """
    from pulumi.runtime import config as runtime_config

    prefix = f"{PROJECT}:"
    merged = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    values: dict[str, Any] = {}
    for key, text in sorted(merged.items()):
        if not key.startswith(prefix):
            continue
        try:
            values[key[len(prefix) :]] = json.loads(text)
        except (TypeError, json.JSONDecodeError):
            values[key[len(prefix) :]] = text
    raw_secrets = values.pop(SECRETS_KEY, None) or {}
    if raw_secrets and not runtime_config.is_config_secret(prefix + SECRETS_KEY):
        raise ConfigError(
            key=SECRETS_KEY,
            problem="secrets are stored in plain text in the stack file",
            fix=f"remove them and set each with: {set_command('<name>', stack)} (it prompts for the value)",
        )
    if not isinstance(raw_secrets, dict):
        raise ConfigError(
            key=SECRETS_KEY,
            problem="secrets is a map of named secret values",
            fix=f"delete it and set each with: {set_command('<name>', stack)} (it prompts for the value)",
        )
    secrets = {str(k): SecretValue(str(v)) for k, v in raw_secrets.items()}
    found = Collector()
    for error in _inline_secrets(values, "", stack):
        found.add(error)
    found.raise_any()
    return RawConfig(values=values, secrets=secrets, stack=stack)


_PLAINTEXT_SECRET_KEYS = {"password", "accesskeysecret", "secret", "secretvalue", "value"}


def _inline_secrets(value: Any, path: str, stack: str = UNNAMED_STACK) -> Iterator[ConfigError]:
    """Every secret-looking key with a plain value anywhere outside ``secrets``."""
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            lowered = str(key).lower()
            if isinstance(item, dict) and set(item) == {"secure"}:
                yield ConfigError(
                    key=where,
                    problem="secret values live under `secrets` and are referenced by name",
                    fix=f"delete it, run: {set_command('<name>', stack)} (it prompts for the value), "
                    "and reference <name> here",
                )
            # Keys a user might reach for when pasting a secret into the file.
            elif lowered in _PLAINTEXT_SECRET_KEYS and isinstance(item, str):
                yield ConfigError(
                    key=where,
                    problem="a secret value is written in plain text in the stack file",
                    fix=f"delete it, run: {set_command('<name>', stack)} (it prompts for the value), "
                    "then reference <name>",
                )
            else:
                yield from _inline_secrets(item, where, stack)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _inline_secrets(item, f"{path}[{index}]", stack)


def _pydantic_errors(error: ValidationError, values: dict[str, Any]) -> list[ConfigError]:
    """Every error pydantic found (it validates every field and nested model, not only up to the
    first failure), one ConfigError each, in key order."""
    errors = sorted(error.errors(), key=lambda e: [str(p) for p in e["loc"]])
    converted = [_pydantic_error(each, errors, values) for each in errors]
    # A misspelt required key is reported once, as the missing key's error naming the spelling
    # written: the unknown-key error about that spelling would say the same thing again.
    renamed = {
        ".".join([*map(str, each["loc"][:-1]), config_error.key.rsplit(".", 1)[-1]])
        for each, config_error in zip(errors, converted, strict=True)
        if each["type"] == "missing" and config_error.key != ".".join(map(str, each["loc"]))
    }
    found: list[ConfigError] = []
    for each, config_error in zip(errors, converted, strict=True):
        if each["type"] == "extra_forbidden" and config_error.key in renamed:
            continue
        if all(str(config_error) != str(known) for known in found):
            found.append(config_error)
    return found


def _pydantic_error(first: Any, errors: list[Any], values: dict[str, Any]) -> ConfigError:
    """One pydantic error (``errors``: all of them) as a ConfigError naming the key and a fix."""
    loc = [str(p) for p in first["loc"]]
    if first["type"] == AT_KEY_ERROR:
        # A model validator named the setting it refuses; the value there is the user's.
        loc += first["ctx"]["key"].split(".")
        problem, remedy = first["ctx"]["problem"], first["ctx"]["remedy"]
        value = _lookup(values, loc)
        if value is _ABSENT or isinstance(value, (dict, list)):
            return ConfigError(key=".".join(loc), problem=problem, fix=remedy)
        return ConfigError(key=".".join(loc), value=value, problem=problem, fix=remedy)
    key = ".".join(loc)
    kind = first["type"]
    message = first["msg"].removeprefix("Value error, ")
    if kind == "extra_forbidden":
        known = _known_keys(loc[:-1])
        close = difflib.get_close_matches(loc[-1], known, 1)
        hint = f"did you mean {close[0]!r}?" if close else f"known keys here: {', '.join(known)}"
        what = "scenario or setting" if len(loc) == 1 else "setting"
        return ConfigError(
            key=key, problem=f"unknown {what}", fix=f"remove it or correct the spelling; {hint}"
        )
    if kind == "missing":
        # A misspelt required key shows as two errors: the required one missing and an unknown
        # key beside it. Name the key the user wrote, with the spelling it should have.
        parent = first["loc"][:-1]
        unknown = [
            str(e["loc"][-1])
            for e in errors
            if e["type"] == "extra_forbidden" and tuple(e["loc"][:-1]) == tuple(parent)
        ]
        if close := difflib.get_close_matches(loc[-1], unknown, 1):
            written = ".".join([*loc[:-1], close[0]])
            return ConfigError(
                key=written,
                problem=f"unknown setting, and the required setting {loc[-1]!r} is missing",
                fix=f"did you mean {loc[-1]!r}? rename {close[0]} to {loc[-1]}",
            )
        return ConfigError(
            key=key, problem="this setting is required", fix="set it (see docs/configuration.md)"
        )
    problem, _, remedy = message.partition(". Fix: ")
    if not remedy:
        remedy = {
            "literal_error": "use one of the values listed",
            "bool_type": "use true or false",
            "bool_parsing": "use true or false",
            "int_parsing": "use a whole number",
            "int_type": "use a whole number",
            "string_type": "use a quoted string",
            "list_type": "use a YAML list",
            "model_type": "use a YAML map of settings",
            "model_attributes_type": "use a YAML map of settings",
            "dict_type": "use a YAML map",
            "too_short": "add at least one entry",
        }.get(kind, "see docs/configuration.md")
    value = first.get("input")
    # A map, or a list of maps, is the user's own block: naming the key says enough.
    if kind.startswith("value_error") and (
        isinstance(value, dict) or (isinstance(value, list) and any(isinstance(v, dict) for v in value))
    ):
        return ConfigError(key=key, problem=problem, fix=remedy)
    return ConfigError(key=key, value=value, problem=problem, fix=remedy)


_ABSENT = object()


def _lookup(values: Any, loc: list[str]) -> Any:
    for part in loc:
        if isinstance(values, list) and part.isdigit() and int(part) < len(values):
            values = values[int(part)]
        elif isinstance(values, dict) and part in values:
            values = values[part]
        else:
            return _ABSENT
    return values


def _known_keys(loc: list[str]) -> list[str]:
    model: Any = StackSettings
    for part in loc:
        if part.isdigit():
            continue  # a list index: the item's model was chosen by the list's field
        fields = {f.alias or n: f for n, f in model.model_fields.items()}
        if part not in fields:
            return []
        annotation = fields[part].annotation
        candidates = [a for a in getattr(annotation, "__args__", (annotation,)) if isinstance(a, type)]
        model = next((a for a in candidates if issubclass(a, Model)), None)
        if model is None:
            return []
    keys = [f.alias or n for n, f in model.model_fields.items()]
    if not loc:
        keys.append(SECRETS_KEY)
    return sorted(keys)


def _check_stack(settings: StackSettings, raw: RawConfig) -> list[ConfigError]:
    """Rules that span settings: production strictness, clouds the scenarios need. Each rule is
    independent of the others: every one broken is returned."""
    found: list[ConfigError] = []
    enabled = [key for key, (attr, _) in ALICLOUD_SCENARIOS.items() if getattr(settings, attr).enabled]
    if enabled and settings.alicloud is None:
        found.append(
            ConfigError(
                key="alicloud",
                problem=f"scenario {enabled[0]} is on but no Alibaba Cloud account is configured",
                fix="set alicloud.accountId and alicloud.region",
            )
        )
    aws_enabled = [key for key, (attr, _) in AWS_SCENARIOS.items() if getattr(settings, attr).enabled]
    if aws_enabled and settings.aws is None:
        found.append(
            ConfigError(
                key="aws",
                problem=f"scenario {aws_enabled[0]} is on but no AWS account is configured",
                fix="set aws.accountId and aws.region",
            )
        )
    if settings.is_production:
        if settings.test_stack:
            found.append(
                ConfigError(
                    key="testStack",
                    value=True,
                    problem="a prod stack cannot be a test stack",
                    fix="remove testStack from the prod stack file",
                )
            )
        if not settings.protect_identities:
            found.append(
                ConfigError(
                    key="protectIdentities",
                    value=settings.protect_identities,
                    problem="prod identities must be protected against accidental deletion",
                    fix="set protectIdentities: true",
                )
            )
        if settings.alicloud and not settings.alicloud.strict_scoping:
            found.append(
                ConfigError(
                    key="alicloud.strictScoping",
                    value=False,
                    problem="prod must be ARN-scoped where the guides scope production policies",
                    fix="set alicloud.strictScoping: true",
                )
            )
        for key in enabled:
            scenario = getattr(settings, ALICLOUD_SCENARIOS[key][0])
            for user_key, user in _users_of(scenario):
                if user.console and not user.console.mfa_bind_required:
                    found.append(
                        ConfigError(
                            key=f"{key}.{user_key}.console.mfaBindRequired",
                            value=False,
                            problem="console users in prod must bind an MFA device",
                            fix="set mfaBindRequired: true",
                        )
                    )
                if user.console and not user.console.password_reset_required:
                    found.append(
                        ConfigError(
                            key=f"{key}.{user_key}.console.passwordResetRequired",
                            value=False,
                            problem="console users in prod must replace the initial password at the "
                            "first logon (whoever set it, and the state file, know it)",
                            fix="remove passwordResetRequired (default true) or set it to true",
                        )
                    )
    return found


def _users_of(scenario: Model, prefix: str = "") -> list[tuple[str, Any]]:
    """Every RAM user a scenario's settings define, with its key, in lists and nested maps too."""
    from baseline.settings import RamUserSettings

    found = []
    for name, info in type(scenario).model_fields.items():
        value = getattr(scenario, name)
        key = f"{prefix}{info.alias or name}"
        entries = list(enumerate(value)) if isinstance(value, list) else [(None, value)]
        for index, item in entries:
            item_key = key if index is None else f"{key}.{index}"
            if isinstance(item, RamUserSettings):
                found.append((item_key, item))
            elif isinstance(item, Model):
                found += _users_of(item, f"{item_key}.")
    return found


def _decrypted(secrets: dict[str, SecretValue]) -> dict[str, str] | None:
    """Secret values for the checks that need them; None in the plan, which cannot decrypt."""
    if any(s.value == PLAN_PLACEHOLDER for s in secrets.values()):
        return None
    return {name: s.value for name, s in secrets.items()}


def resolve(raw: RawConfig) -> Resolved:
    """Validate a stack's configuration completely; raise ConfigError naming every problem found
    (ConfigErrors when there are several), so one run shows everything to fix.

    Shape first (pydantic reports every field and nested model at once); the rules that read
    validated settings run only on a valid shape. Then every cross-setting rule, every scenario and
    the pipeline are checked independently; the cross-scenario limits of a cloud only when all of
    that cloud's scenarios built (with one missing they would judge an incomplete stack).
    """
    found = Collector()
    try:
        settings = StackSettings.model_validate(raw.values)
    except ValidationError as error:
        for each in _pydantic_errors(error, raw.values):
            found.add(each)
        found.raise_any()
        raise
    for each in _check_stack(settings, raw):
        found.add(each)
    naming = Naming(settings.naming.prefix, settings.naming.suffix)
    specs: list[ScenarioSpec] = []
    refused = len(found.errors)
    if settings.alicloud is not None:
        ctx = AlicloudContext(
            environment=settings.environment,
            naming=naming,
            account_id=settings.alicloud.account_id,
            region=settings.alicloud.region,
            strict_scoping=settings.alicloud.strict_scoping,
        )
        for attr, build in ALICLOUD_SCENARIOS.values():
            scenario = getattr(settings, attr)
            if scenario.enabled:
                with found.check():
                    specs.append(build(scenario, ctx))
    if len(found.errors) == refused and settings.alicloud is not None:
        specs = fleet_tag_guard(specs, ctx)
    if len(found.errors) == refused:
        with found.check():
            validate_alicloud(specs, set(raw.secrets), values=_decrypted(raw.secrets), stack=raw.stack)
    unset = tuple(need for need in secret_needs(specs) if need.name not in raw.secrets)
    # The program builds the same either way; unset values never leave the plan (require_secrets).
    secrets = {**raw.secrets, **{need.name: SecretValue(PLAN_PLACEHOLDER) for need in unset}}
    aws_specs: list[AwsScenarioSpec] = []
    refused = len(found.errors)
    if settings.aws is not None:
        aws_ctx = AwsContext(
            environment=settings.environment,
            naming=naming,
            account_id=settings.aws.account_id,
            region=settings.aws.region,
        )
        for attr, build in AWS_SCENARIOS.values():
            scenario = getattr(settings, attr)
            if scenario.enabled:
                with found.check():
                    aws_specs.append(build(scenario, aws_ctx))
    if len(found.errors) == refused:
        with found.check():
            validate_aws(aws_specs)
    pipeline = None
    if settings.pipeline.enabled:
        home = {
            cloud: getattr(settings, cloud).account_id
            for cloud in ("alicloud", "aws")
            if getattr(settings, cloud)
        }
        attached = {}
        for index, environment in enumerate(settings.pipeline.environments):
            with found.check():
                attached[environment.name] = deployed_policies(
                    environment.deployed_stack,
                    f"pipeline.environments.{index}",
                    sandbox=environment if environment.name == s7_module.SANDBOX else None,
                )
        if len(attached) == len(settings.pipeline.environments):
            with found.check():
                pipeline = s7_module.build(settings.pipeline, home, attached)
                validate_pipeline(pipeline)
    found.raise_any()
    return Resolved(
        settings=settings,
        alicloud=specs,
        secrets=secrets,
        aws=aws_specs,
        stack=raw.stack,
        unset_secrets=unset,
        pipeline=pipeline,
    )


# Where the pipeline stack reads the environments' stack files: the work tree's ``stacks/``, or
# (``baseline diff --base REV``) that revision's, so each side of a diff is its own revision's.
ENVIRONMENT_STACKS: ContextVar[Path | None] = ContextVar("environment_stacks", default=None)


def deployed_policies(stack: str, key: str, sandbox: Any = None) -> DeployerReach:
    """The system/managed policies ``stacks/Pulumi.<stack>.yaml`` attaches: what S7 lets that
    environment's deploy role attach (derived from the stack's own specs, so it cannot drift)."""
    resolved = environment_stack(stack, key, sandbox)
    return deployer_reach(resolved.alicloud, resolved.aws)


def environment_stack(stack: str, key: str, sandbox: Any = None) -> Resolved:
    """The stack an environment of the pipeline deploys, resolved from ``stacks/Pulumi.<stack>.yaml``
    (or the revision ``ENVIRONMENT_STACKS`` names). For the sandbox (``sandbox``: its environment
    settings) the stack is read as a per-PR copy in the sandbox's accounts, exactly as
    ``baseline.ephemeral`` writes it."""
    from baseline.stackfile import STACKS_DIR

    path = (ENVIRONMENT_STACKS.get() or STACKS_DIR) / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        raise ConfigError(
            key=f"{key}.stack",
            value=stack,
            problem=f"stacks/Pulumi.{stack}.yaml does not exist, so what its deploy role attaches is unknown",
            fix="set the environment's stack: to the stack it deploys (e.g. dev)",
        )
    if sandbox is None:
        resolved = resolve(load_stack_file(path))
    else:
        from baseline.ops import ephemeral

        copy = ephemeral.document(
            1,
            source=path,
            alicloud_account_id=sandbox.alicloud_account_id,
            aws_account_id=sandbox.aws_account_id,
        )
        resolved = resolve(load_stack_document(copy, ephemeral.stack_name(1), str(path)))
    if resolved.pipeline is not None:
        raise ConfigError(
            key=f"{key}.stack",
            value=stack,
            problem="an environment cannot deploy the pipeline stack itself",
            fix="name a workload stack (dev, staging, prod); the administrator applies the pipeline stack",
        )
    return resolved


def require_secrets(resolved: Resolved) -> None:
    """A real run refuses to start while a referenced secret is not set (ConfigError, one line)."""
    if not resolved.unset_secrets:
        return
    first, *others = resolved.unset_secrets
    more = f" (also not set: {', '.join(n.name for n in others)})" if others else ""
    raise ConfigError(
        key=f"{SECRETS_KEY}.{first.name}",
        problem=f"the {first.purpose} is not set{more}",
        fix=f"run: {set_command(first.name, resolved.stack)} (it prompts for the value)"
        + (f"; `{BASELINE} secrets --stack {resolved.stack}` lists the others" if others else ""),
    )


# The starters' placeholders (stacks/Pulumi.example.yaml, docs/starters/) take forms no real id
# has, so the program sees them (its `# EXAMPLE` comments it cannot): account ids of a 5, zeros and
# one last digit ("5000000000000001" on Alibaba Cloud, "500000000001" on AWS), and ECS instance ids
# that spell "example" ("i-bp1example000000001"). The plan warns about each one left; a real run
# refuses them. The other stack files' example ids (their header says so) are ordinary ids: a copy
# of dev deploys. The account ids the error messages give as examples are placeholders too,
# wherever an account id is set (alicloud, aws, the pipeline's environments).
EXAMPLE_ALICLOUD_ACCOUNT_ID = re.compile(r"50{14}[1-9]")
EXAMPLE_AWS_ACCOUNT_ID = re.compile(r"50{10}[1-9]")
EXAMPLE_INSTANCE_ID = re.compile(r"i-[a-z0-9]*example[a-z0-9]*")
STARTER = "the starter's example"
MESSAGES = "the example the error messages give for an"
DOCUMENTED_ACCOUNT_IDS = {
    EXAMPLE_ALICLOUD_ACCOUNT: "Alibaba Cloud account id",
    EXAMPLE_AWS_ACCOUNT: "AWS account id",
}


class Placeholder(NamedTuple):
    setting: str
    value: str
    what: str  # what it stands for, e.g. "ECS instance id"
    origin: str  # where it comes from: STARTER or MESSAGES


def example_values(resolved: Resolved) -> list[Placeholder]:
    """Every placeholder (the starter's, or an error message's example) still in the settings."""
    found: list[Placeholder] = []

    def walk(value: Any, path: str) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{path}.{key}" if path else str(key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, f"{path}[{index}]")
        elif isinstance(value, str):
            # The stack's own accounts and, in the pipeline stack, each environment's.
            account = path.lower().endswith("accountid")
            if account and EXAMPLE_ALICLOUD_ACCOUNT_ID.fullmatch(value):
                found.append(Placeholder(path, value, "Alibaba Cloud account id", STARTER))
            elif account and EXAMPLE_AWS_ACCOUNT_ID.fullmatch(value):
                found.append(Placeholder(path, value, "AWS account id", STARTER))
            elif account and value in DOCUMENTED_ACCOUNT_IDS:
                found.append(Placeholder(path, value, DOCUMENTED_ACCOUNT_IDS[value], MESSAGES))
            elif EXAMPLE_INSTANCE_ID.fullmatch(value):
                found.append(Placeholder(path, value, "ECS instance id", STARTER))

    walk(resolved.settings.model_dump(mode="json", by_alias=True), "")
    return found


def example_warnings(resolved: Resolved) -> list[str]:
    """The plan's stderr lines, one per placeholder left."""
    return [
        f"warning: {PROJECT}:{p.setting} = {p.value!r} is {p.origin} {p.what}; replace it with "
        "your own (pulumi up refuses to start while it is here)"
        for p in example_values(resolved)
    ]


def refuse_examples(resolved: Resolved) -> None:
    """A real run refuses the placeholders (ConfigError, one line naming the first)."""
    found = example_values(resolved)
    if not found:
        return
    first, others = found[0], found[1:]
    more = f" (and {len(others)} more: {', '.join(p.setting for p in others)})" if others else ""
    marked = " (every value the starter marks EXAMPLE)" if first.origin == STARTER else ""
    raise ConfigError(
        key=first.setting,
        value=first.value,
        problem=f"this is {first.origin} {first.what}, not a real one{more}",
        fix=f"replace it with your own {first.what}{marked}, "
        f"then check with `{BASELINE} plan --stack {resolved.stack}`",
    )


def unset_note(resolved: Resolved) -> str | None:
    """The one stderr line the offline plan prints about secrets that are not set yet."""
    if not resolved.unset_secrets:
        return None
    names = ", ".join(n.name for n in resolved.unset_secrets)
    if len(resolved.unset_secrets) == 1:
        how = f"set it with: {set_command(names, resolved.stack)}"
    else:
        how = f"`{BASELINE} secrets --stack {resolved.stack}` lists them and how to set each"
    return f"note: not set yet, shown as [secret]: {names}; pulumi up refuses until then; {how}"
