"""S3 ``cloudAssistantWindows`` (seed 001, Windows part): S2 plus the logon password in OOS.

Everything of S2 comes from ``cloud_assistant.command_user_parts``; this module adds what a
Windows instance needs to run a command as a regular user: the KMS policy and OOS read access
for the user, an instance role that reads the encrypted parameter, and the parameter itself.
"""

from __future__ import annotations

from dataclasses import replace

from pydantic import Field, field_validator

from baseline import limits
from baseline.documents.alicloud import (
    arn,
    kms_key_arn,
    kms_user_policy,
    oos_secret_arn,
    parameter_list_policy,
    secret_parameter_arn,
    secret_reader_policy,
)
from baseline.scenarios import AlicloudContext
from baseline.scenarios.cloud_assistant import CloudAssistantSettings, command_user_parts, fleet_extras
from baseline.scenarios.ecs_instance_role import (
    InstanceRoleSettings,
    InstanceSettings,
    attachments,
    instance_role_spec,
)
from baseline.settings import ConsoleLoginSettings, Model, RamUserSettings, check_alicloud_region, fix
from baseline.spec import Grant, PolicySpec, ScenarioSpec, SecretParameterSpec

KEY = "cloudAssistantWindows"
OOS_DESCRIPTION_MAX = 200


class SecretParameterSettings(Model):
    """The KMS-encrypted OOS parameter that holds the Windows OS user's logon password."""

    name: str = Field("axtSecretPassword", description="Parameter name (naming rule applied).")
    value_secret: str = Field(
        "axtSecretPassword",
        description="Entry of `secrets` holding the Windows logon password (only ever a Pulumi "
        "secret); it must come from outside: set it with "
        "`.venv/bin/python -m baseline secrets --set <name>`.",
    )
    kms_key_id: str | None = Field(
        None,
        description="KMS key that encrypts the value; default: the account's default service key. "
        "Changing it replaces the parameter (deleted, then created again with the same name).",
    )
    region: str | None = Field(
        None,
        description="Region of the parameter; default the Windows instances' region (else "
        "`alicloud.region`). It must be the instances' region: OOS serves it only there.",
    )
    description: str = Field(
        "Logon password of the Windows user Cloud Assistant commands run as (seed 001).",
        description="Parameter description (1-200 characters).",
    )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if (problem := limits.oos_parameter_name_problem(value)) is not None:
            raise fix(f"an OOS parameter name {problem}", "choose a name like 'axtSecretPassword'")
        return value

    @field_validator("kms_key_id")
    @classmethod
    def _key(cls, value: str | None) -> str | None:
        if value is not None and not limits.KMS_KEY_ID.fullmatch(value):
            raise fix(f"{value!r} is not a KMS key id", "use 'key-...', a key UUID or 'alias/<name>'")
        return value

    @field_validator("description")
    @classmethod
    def _description(cls, value: str) -> str:
        if not 1 <= len(value) <= OOS_DESCRIPTION_MAX:
            raise fix("an OOS parameter description is 1-200 characters", "shorten it")
        return value

    _region = field_validator("region")(check_alicloud_region)


def _default_windows_user() -> RamUserSettings:
    return RamUserSettings(
        name="winCommandUser",
        console=ConsoleLoginSettings(),
    )


def _default_secret_reader() -> InstanceRoleSettings:
    return InstanceRoleSettings(
        name="AxtSecretRamRole",
        policyName="AxtSecretRamRolePolicy",
        description="Windows instances read the hosted logon password from OOS (seed 001).",
    )


class CloudAssistantWindowsSettings(CloudAssistantSettings):
    """S3: S2 for Windows instances, whose commands need the OS user's password from OOS."""

    user: RamUserSettings = Field(
        default_factory=_default_windows_user,
        description="The RAM user that runs commands (default `winCommandUser`, so it never "
        "collides with S2's `commandUser`; console access with a generated password).",
    )
    policy_name: str = Field(
        "winCommandUserPolicy", description="Name of the Cloud Assistant custom policy (S2's is separate)."
    )
    kms_policy_name: str = Field(
        "kmsPolicy",
        description="Name of the user's KMS policy: key metadata only (`kms:DescribeKey`, "
        "`kms:ListAliasesByKeyId` on the parameter's key in strict stacks; `kms:List*`, "
        "`kms:Describe*` elsewhere). The guide's Encrypt/Decrypt/GenerateDataKey are dropped: "
        "Pulumi writes the parameter and the instance role reads it.",
    )
    instance_role: InstanceRoleSettings = Field(
        default_factory=_default_secret_reader,
        description="Instance role of the Windows instances (default `AxtSecretRamRole`, trusted by "
        "`ecs.aliyuncs.com`): `oos:GetSecretParameter` on the parameter and `kms:GetSecretValue` on "
        "the KMS secret OOS keeps it in (`secret/oos/<name>`), nothing else.",
    )
    windows_instances: list[InstanceSettings] = Field(
        default_factory=list,
        description="Windows instances the commands run on: each gets the instance role; all must be "
        "in one region (the parameter's). With `arn` scope and neither `instanceIds` nor "
        "`instanceTags`, the command policy names these instances.",
    )
    secret_parameter: SecretParameterSettings = Field(
        default_factory=SecretParameterSettings,
        description="The encrypted OOS parameter `axtSecretPassword`.",
    )


def build(settings: CloudAssistantWindowsSettings, ctx: AlicloudContext) -> ScenarioSpec:
    parameter_settings = settings.secret_parameter
    first = settings.windows_instances[0].region if settings.windows_instances else None
    region = parameter_settings.region or first or ctx.region
    # The command policy, the instance role and the parameter all live in the instances' region.
    local = replace(ctx, region=region)
    command = settings
    selected = settings.instance_ids or settings.instance_tags
    if local.scope(settings.resource_scope) == "arn" and not selected:
        command = settings.model_copy(update={"instance_ids": [i.id for i in settings.windows_instances]})
    users, policies, grants = command_user_parts(command, local, KEY)

    parameter_name = ctx.naming.name(parameter_settings.name)
    parameter = SecretParameterSpec(
        key="secret-parameter",
        name=parameter_name,
        source=f"{KEY}.secretParameter.name",
        secret=parameter_settings.value_secret,
        region=region,
        kms_key_id=parameter_settings.kms_key_id,
        description=parameter_settings.description,
    )
    role = instance_role_spec("secret-reader", settings.instance_role, ctx, f"{KEY}.instanceRole")
    # The instance role reads this one parameter and the KMS secret OOS keeps it in, in every
    # stack: any OS user of a Windows instance can fetch the role's credentials from the metadata
    # service, so the role's reach is every user's reach.
    parameter_scope = [secret_parameter_arn(region, ctx.account_id, parameter_name)]
    secret_scope = [oos_secret_arn(region, ctx.account_id, parameter_name)]
    # The user keeps key metadata only; strict stacks name the parameter's key (or, for the
    # default service key, whose id exists only after apply, the region's keys).
    if not ctx.strict_scoping:
        key_scope = ["*"]
    elif parameter_settings.kms_key_id:
        key_scope = [kms_key_arn(region, ctx.account_id, parameter_settings.kms_key_id)]
    else:
        key_scope = [arn("kms", region, ctx.account_id, "key/*")]
    policies += [
        PolicySpec(
            key="kms-policy",
            name=ctx.naming.name(settings.kms_policy_name),
            source=f"{KEY}.kmsPolicyName",
            document=kms_user_policy(key_scope),
            description="Metadata of the key that protects the hosted Windows logon password (seed 001).",
        ),
        PolicySpec(
            key="secret-reader-policy",
            name=ctx.naming.name(settings.instance_role.policy_name),
            source=f"{KEY}.instanceRole.policyName",
            document=secret_reader_policy(
                parameter_scope,
                secret_scope,
                [kms_key_arn(region, ctx.account_id, parameter_settings.kms_key_id)]
                if parameter_settings.kms_key_id
                else [],
            ),
            description="Windows instance role: read the hosted logon password (seed 001).",
        ),
    ]
    grants += [
        Grant("user", "command-user", "Custom", "kms-policy", f"{KEY}.kmsPolicyName"),
        Grant("role", "secret-reader", "Custom", "secret-reader-policy", f"{KEY}.instanceRole.policyName"),
    ]
    if not ctx.strict_scoping:
        grants.append(Grant("user", "command-user", "System", "AliyunOOSReadOnlyAccess", f"{KEY}.user"))
    else:
        # Strict stacks: AliyunOOSReadOnlyAccess's oos:Get* reads every secret parameter of the
        # account; the guide's user only needs to see that the hosted parameter exists.
        policies.append(
            PolicySpec(
                key="parameter-read-policy",
                name=ctx.naming.name(f"{settings.user.name}ParameterReadPolicy"),
                source=f"{KEY}.user",
                document=parameter_list_policy([secret_parameter_arn(region, ctx.account_id, "*")]),
                description="See the hosted parameter, instead of AliyunOOSReadOnlyAccess (seed 001).",
            )
        )
        grants.append(Grant("user", "command-user", "Custom", "parameter-read-policy", f"{KEY}.user"))
    return ScenarioSpec(
        scenario=KEY,
        users=tuple(users),
        roles=(role,),
        policies=tuple(policies),
        grants=tuple(grants),
        instance_roles=attachments(
            "secret-reader", settings.windows_instances, ctx, f"{KEY}.windowsInstances"
        ),
        secret_parameters=(parameter,),
        extras=fleet_extras(settings),
    )
