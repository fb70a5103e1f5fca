"""S7 ``pipeline``: the GitHub Actions pipeline's own identities, in both clouds.

An administrator applies the ``pipeline`` stack once with their own credentials. It registers
GitHub's OIDC issuer in every account the environments use and, per environment, a read-only
preview role and a deploy role in each cloud. Every role trusts only the subjects of one repository
(by GitHub's ids), one GitHub environment and the workflow files that use that environment, read
from main (``TRUSTED_WORKFLOWS``): another repository, another environment, a branch, a fork or a
workflow a pull request brings gets nothing. From then on CI assumes these roles and
no cloud key exists (docs/operations.md, section 8).

Deploy permissions come from ``baseline.documents.pipeline.RESOURCE_ACTIONS``: the actions the
program's resource types need, limited to the environment's account and name prefix.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace

from pydantic import Field, field_validator, model_validator

from baseline import PROJECT, limits
from baseline.documents import pipeline as documents
from baseline.errors import ConfigError
from baseline.settings import (
    EXAMPLE_ALICLOUD_ACCOUNT,
    EXAMPLE_AWS_ACCOUNT,
    Model,
    check_session_duration,
    fix,
)
from baseline.spec import (
    ControlPolicySpec,
    DeployerReach,
    OidcProviderSpec,
    PipelineBoundarySpec,
    PipelineRoleSpec,
    PipelineSpec,
)

KEY = "pipeline"
# The per-PR stacks' environment: the sandbox, the one environment a pull request's code may use.
SANDBOX = "test"
SANDBOX_STACKS = "test-pr-*"  # baseline.ops.ephemeral.stack_name
# The workflow files (and the refs they are read from) whose jobs run in each kind of GitHub
# environment: a role trusts these and nothing else (tests/test_workflow_trust.py derives them from
# .github/workflows and compares). A real environment's workflows run from main only: a push, a
# schedule or a dispatch reads the file at `refs/heads/main`. The sandbox's run in pull requests:
# at `refs/pull/<n>/merge` (any number, hence the one wildcard), and, when a merged pull request
# closes, at the branch it was merged into (GitHub sets GITHUB_REF to it then).
MAIN = "refs/heads/main"
PULL_REQUEST_MERGE = "refs/pull/*/merge"
TRUSTED_WORKFLOWS: dict[str, tuple[tuple[str, str], ...]] = {
    "deploy": (("deploy.yml", MAIN),),
    "preview": (("deploy.yml", MAIN), ("drift.yml", MAIN)),
    # test-stack.yml: a PR's stack and its closing teardown; sandbox-sweep.yml: main's scheduled sweep.
    "sandbox": (
        ("test-stack.yml", PULL_REQUEST_MERGE),
        ("test-stack.yml", MAIN),
        ("sandbox-sweep.yml", MAIN),
    ),
}
REPOSITORY = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
ENVIRONMENT = re.compile(r"^[a-z][a-z0-9-]{1,31}$")


def _alicloud_account(value):
    """An Alibaba Cloud account id setting: 16 digits, as a quoted string (YAML would read a bare
    number, and drop a leading zero)."""
    if value is not None and not (isinstance(value, str) and limits.ALICLOUD_ACCOUNT_ID.fullmatch(value)):
        raise fix(
            "an Alibaba Cloud account id is 16 digits, as a quoted string",
            f'e.g. "{EXAMPLE_ALICLOUD_ACCOUNT}"',
        )
    return value


class PipelineEnvironmentSettings(Model):
    """One environment the pipeline deploys: its accounts and the names its deployer may touch."""

    name: str = Field(
        description="The stack and GitHub environment the deploy roles trust, e.g. `prod`. The "
        "preview roles trust `<name>-preview`."
    )
    alicloud_account_id: str | None = Field(
        None, description="Alibaba Cloud account of the environment's stack; omit for none."
    )
    aws_account_id: str | None = Field(
        None, description="AWS account of the environment's stack; omit for none."
    )
    name_prefix: str = Field(
        "",
        description="The stack's `naming.prefix`, e.g. `dev-`; empty for a stack that owns its "
        "account. The sandbox's (`test`) deploy role is bound by it; every other deploy role to "
        "its stack's identities by exact name.",
    )
    instance_roles: list[str] = Field(
        default_factory=list,
        description="RAM roles the deploy role may attach to ECS instances (`ram:PassRole`), as "
        "named in the cloud, e.g. `AxtSecretRamRole`. Default: `<namePrefix>*`, or none without a prefix.",
    )
    stack: str | None = Field(
        None,
        description="The stack this environment deploys (`stacks/Pulumi.<stack>.yaml`): its deploy "
        "role may attach only the RAM system and AWS managed policies that stack's plan attaches. "
        "Default: the environment's name; the per-PR `test` stacks are copies of `dev`.",
    )
    preview: bool = Field(
        True, description="Also create read-only preview roles, trusted by the `<name>-preview` environment."
    )
    guard_instance_tags: bool = Field(
        False,
        description="Also attach a control policy to the environment's Alibaba Cloud account: no RAM "
        "user or role there but its deploy role and the administrator's may tag or untag an ECS "
        "instance or create one, so no one else can hand a tag-scoped fleet (`instanceTags`) a new "
        "instance. Needs `resourceDirectory.controlPolicies`.",
    )
    sweep: bool = Field(
        False,
        description="The deploy role may also list and delete leftovers under its prefix "
        "(`baseline sweep`); the `test` environment (the sandbox) only.",
    )
    aws_state_bucket: str | None = Field(
        None,
        description="This environment's own S3 state bucket, e.g. the sandbox's (`test`), in its "
        "own account. Default: the pipeline's `awsStateBucket`.",
    )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not ENVIRONMENT.fullmatch(value):
            raise fix(f"{value!r} is not an environment name", "use a lowercase word like 'prod'")
        return value

    @field_validator("stack")
    @classmethod
    def _stack(cls, value: str | None) -> str | None:
        if value is not None and not ENVIRONMENT.fullmatch(value):
            raise fix(f"{value!r} is not a stack name", "name a file of stacks/, e.g. 'dev'")
        return value

    @property
    def deployed_stack(self) -> str:
        return self.stack or self.name

    @field_validator("alicloud_account_id", mode="before")
    @classmethod
    def _alicloud(cls, value):
        return _alicloud_account(value)

    @field_validator("aws_account_id", mode="before")
    @classmethod
    def _aws(cls, value):
        if value is not None and not (isinstance(value, str) and limits.AWS_ACCOUNT_ID.fullmatch(value)):
            raise fix("an AWS account id is 12 digits, as a quoted string", f'e.g. "{EXAMPLE_AWS_ACCOUNT}"')
        return value

    @field_validator("aws_state_bucket")
    @classmethod
    def _own_bucket(cls, value: str | None) -> str | None:
        if value is not None and not limits.S3_BUCKET_NAME.fullmatch(value):
            raise fix(
                f"{value!r} is not an S3 bucket name", "use the sandbox's bucket, e.g. 'acme-pulumi-sandbox'"
            )
        return value

    @field_validator("name_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if value and not limits.RAM_POLICY_NAME.fullmatch(value):
            raise fix(
                "a name prefix holds letters, digits and '-' only",
                "use the stack's naming.prefix, e.g. 'dev-'",
            )
        return value

    @model_validator(mode="after")
    def _some_account(self):
        if self.alicloud_account_id is None and self.aws_account_id is None:
            raise fix(
                f"environment {self.name!r} names no account", "set alicloudAccountId and/or awsAccountId"
            )
        return self


class ResourceDirectorySettings(Model):
    """The Resource Directory the environments' Alibaba Cloud accounts are members of."""

    management_account_id: str | None = Field(
        None,
        description="The directory's management account: the one account that writes and attaches "
        "control policies. It must be `alicloud.accountId` (the pipeline stack runs with its "
        "credentials); no environment deploys there.",
    )
    control_policies: bool = Field(
        False,
        description="Attach control policies to every environment's Alibaba Cloud account: only the "
        "administrator's role writes the pipeline's roles, policies and OIDC providers or attaches an "
        "administrator policy; in the sandbox (`test`) only its deploy role and the administrator's "
        "create or empower identities. Enable Control Policy in the directory first "
        "(docs/operations.md, section 8). Required with a `test` environment in Alibaba Cloud.",
    )

    @field_validator("management_account_id", mode="before")
    @classmethod
    def _management(cls, value):
        return _alicloud_account(value)


class PipelineSettings(Model):
    """S7: GitHub OIDC providers and per-environment preview/deploy roles for the pipeline."""

    enabled: bool = Field(False, description="Create this scenario's resources (the `pipeline` stack only).")
    repository: str | None = Field(
        None,
        description="The GitHub repository, `owner/name`, whose workflows assume the roles. No wildcards.",
    )
    repository_id: int | None = Field(
        None,
        description="GitHub's numeric id of `repository` (`gh api repos/OWNER/REPO --jq .id`). The "
        "roles trust a subject built from the ids, which a renamed or re-created repository does "
        "not inherit.",
    )
    repository_owner_id: int | None = Field(
        None,
        description="GitHub's numeric id of the repository's owner "
        "(`gh api repos/OWNER/REPO --jq .owner.id`).",
    )
    aws_state_path: str = Field(
        "",
        description="The path after the bucket in `PULUMI_BACKEND_URL` (`s3://<bucket>/<path>`), "
        "e.g. `ecs-access-baseline`; each role reaches only its own stack's objects below it.",
    )
    environments: list[PipelineEnvironmentSettings] = Field(
        default_factory=list, description="The environments the pipeline deploys (dev, staging, prod, test)."
    )
    role_name_prefix: str = Field(
        "github-",
        description="Role names are `<prefix><environment>-deploy` and `<prefix><environment>-preview`.",
    )
    oidc_provider_name: str = Field(
        "github-actions", description="Name of the RAM OIDC provider in each account."
    )
    alicloud_fingerprints: list[str] = Field(
        default_factory=list,
        description="SHA-1 fingerprints (40 hex digits, 1-5) of the CA certificate of "
        "`https://token.actions.githubusercontent.com`; RAM checks the issuer's TLS chain against "
        "them. Required with any Alibaba Cloud account: the RAM console's Get Fingerprint button "
        "computes it; verify with openssl (docs/operations.md, section 8).",
    )
    aws_thumbprints: list[str] = Field(
        default_factory=list,
        description="Optional IAM thumbprints for the same issuer. IAM verifies GitHub's issuer "
        "against its own trusted CAs and ignores them; leave empty unless your policy requires them.",
    )
    token_max_age_hours: int = Field(
        1, description="RAM refuses GitHub tokens issued longer ago than this (1-168 hours)."
    )
    max_session_duration: int = Field(
        3600, description="Longest session of every pipeline role in seconds (3600-43200)."
    )
    aws_state_bucket: str | None = Field(
        None,
        description="S3 bucket of the Pulumi state backend (`PULUMI_BACKEND_URL=s3://<bucket>/...`): "
        "each pipeline role may list it and reach its own stack's objects only (a preview reads "
        "its checkpoint; a deploy role writes its checkpoint, history, backups and lock). A "
        "bucket in another account also needs a bucket policy naming the roles.",
    )
    aws_secrets_key_arn: str | None = Field(
        None,
        description="KMS key ARN of the `awskms://` secrets provider: deploy roles may decrypt and "
        "encrypt with it, preview roles decrypt. Omit with the passphrase provider.",
    )
    alicloud_admin_role_name: str = Field(
        "ResourceDirectoryAccountAccessRole",
        description="Role the administrator's credentials assume in Alibaba Cloud accounts other "
        "than `alicloud.accountId` (Resource Directory's default).",
    )
    resource_directory: ResourceDirectorySettings = Field(
        default_factory=ResourceDirectorySettings,
        description="Resource Directory control policies on the environments' Alibaba Cloud accounts "
        "(RAM's ceiling: RAM has no permissions boundary).",
    )
    aws_admin_role_name: str = Field(
        "OrganizationAccountAccessRole",
        description="Role the administrator's credentials assume in AWS accounts other than "
        "`aws.accountId` (AWS Organizations' default).",
    )

    @field_validator("repository")
    @classmethod
    def _repository(cls, value: str | None) -> str | None:
        if value is not None and not REPOSITORY.fullmatch(value):
            raise fix(
                f"{value!r} is not one GitHub repository",
                "write owner/name, e.g. 'acme/ecs-access-baseline' (no wildcards)",
            )
        return value

    @field_validator("alicloud_fingerprints", "aws_thumbprints")
    @classmethod
    def _fingerprints(cls, value: list[str]) -> list[str]:
        for item in value:
            if not limits.OIDC_FINGERPRINT.fullmatch(item):
                raise fix(f"{item!r} is not a SHA-1 fingerprint", "use 40 hexadecimal digits")
        if len(value) > limits.RAM_OIDC_FINGERPRINTS_MAX:
            raise fix("at most 5 fingerprints", "keep the current and the next certificate's only")
        return [item.lower() for item in value]

    @field_validator("aws_state_bucket")
    @classmethod
    def _bucket(cls, value: str | None) -> str | None:
        if value is not None and not limits.S3_BUCKET_NAME.fullmatch(value):
            raise fix(
                f"{value!r} is not an S3 bucket name",
                "use the bucket of PULUMI_BACKEND_URL, e.g. 'acme-pulumi-state'",
            )
        return value

    @field_validator("aws_secrets_key_arn")
    @classmethod
    def _key(cls, value: str | None) -> str | None:
        if value is not None and not limits.KMS_KEY_ARN.fullmatch(value):
            raise fix(f"{value!r} is not a KMS key ARN", "use arn:aws:kms:<region>:<account>:key/<id>")
        return value

    @field_validator("token_max_age_hours")
    @classmethod
    def _age(cls, value: int) -> int:
        low, high = limits.RAM_OIDC_ISSUANCE_HOURS
        if not low <= value <= high:
            raise fix("the token age must be 1-168 hours", "use 1: a job uses its token at once")
        return value

    @field_validator("oidc_provider_name")
    @classmethod
    def _provider(cls, value: str) -> str:
        if (problem := limits.RAM_OIDC_PROVIDER.check(value)) is not None:
            raise fix(f"an OIDC provider name {problem}", "e.g. 'github-actions'")
        return value

    @field_validator("role_name_prefix")
    @classmethod
    def _role_prefix(cls, value: str) -> str:
        if value and not limits.RAM_POLICY_NAME.fullmatch(value):
            raise fix("a role name prefix holds letters, digits and '-' only", "e.g. 'github-'")
        return value

    @field_validator("environments")
    @classmethod
    def _unique(cls, value: list[PipelineEnvironmentSettings]) -> list[PipelineEnvironmentSettings]:
        names = [e.name for e in value]
        if len(set(names)) != len(names):
            twice = next(n for n in names if names.count(n) > 1)
            raise fix(f"environment {twice!r} is listed twice", "list each environment once")
        return value

    _duration = field_validator("max_session_duration")(check_session_duration)


def build(
    settings: PipelineSettings,
    home: dict[str, str],
    attached: Mapping[str, DeployerReach] | None = None,
) -> PipelineSpec:
    """The providers and roles S7 creates; ``home`` maps a cloud to the stack's own account,
    ``attached`` an environment's name to the system/managed policies its stack attaches (none
    when missing: such a deploy role may attach no system or managed policy at all)."""
    attached = attached or {}
    if settings.repository is None:
        raise ConfigError(
            key=f"{KEY}.repository",
            problem="the roles must name the one repository whose workflows assume them",
            fix="set pipeline.repository: owner/name",
        )
    if not settings.environments:
        raise ConfigError(
            key=f"{KEY}.environments", problem="no environment is listed", fix="list dev, staging and prod"
        )
    for cloud, attr in (("alicloud", "alicloud_account_id"), ("aws", "aws_account_id")):
        if any(getattr(e, attr) for e in settings.environments) and cloud not in home:
            raise ConfigError(
                key=cloud,
                problem=f"an environment names an account in {cloud} but the stack has no {cloud} settings",
                fix=f"set {cloud}.accountId (the administrator's account) and {cloud}.region",
            )
    _check_layout(settings, home)
    if settings.repository_id is None or settings.repository_owner_id is None:
        raise ConfigError(
            key=f"{KEY}.repositoryId" if settings.repository_id is None else f"{KEY}.repositoryOwnerId",
            problem="the roles must bind the repository by GitHub's ids, which a renamed or "
            "re-created repository or owner does not inherit",
            fix="set pipeline.repositoryId and pipeline.repositoryOwnerId "
            "(gh api repos/OWNER/REPO --jq '.id, .owner.id')",
        )
    if any(e.alicloud_account_id for e in settings.environments) and not settings.alicloud_fingerprints:
        raise ConfigError(
            key=f"{KEY}.alicloudFingerprints",
            problem="RAM needs the fingerprint of the issuer's CA certificate",
            fix="copy it from the RAM console (Create OIDC IdP, Get Fingerprint) or compute it with "
            "openssl, see docs/operations.md section 8",
        )
    providers = _providers(settings)
    roles: list[PipelineRoleSpec] = []
    for index, environment in enumerate(settings.environments):
        source = f"{KEY}.environments.{index}"
        accounts = {"alicloud": environment.alicloud_account_id, "aws": environment.aws_account_id}
        for cloud, account in accounts.items():
            if account is None:
                continue
            policies = attached.get(environment.name, DeployerReach())
            roles.append(_role(settings, environment, cloud, account, "deploy", source, policies))
            if environment.preview:
                roles.append(_role(settings, environment, cloud, account, "preview", source, policies))
    boundaries = _boundaries(settings, roles, attached)
    workload = [
        PipelineBoundarySpec(
            account=environment.aws_account_id,
            name=policy.name,
            arn=policy.external_arn,
            document=documents.workload_boundary(
                policy.document, environment.aws_account_id, environment.name_prefix
            ),
        )
        for environment in settings.environments
        if environment.aws_account_id
        for policy in attached.get(environment.name, DeployerReach()).external_boundaries
        if policy.external_arn
    ]
    arns = {b.account: b.arn for b in boundaries}
    roles = [replace(r, boundary_arn=arns[r.account]) if r.cloud == "aws" else r for r in roles]
    controls = _control_policies(settings, home)
    return PipelineSpec(
        repository=settings.repository,
        home_accounts=dict(home),
        admin_roles={"alicloud": settings.alicloud_admin_role_name, "aws": settings.aws_admin_role_name},
        providers=tuple(providers),
        roles=tuple(roles),
        boundaries=tuple(boundaries),
        workload_boundaries=tuple(workload),
        control_policies=tuple(controls),
    )


def _control_policies(settings: PipelineSettings, home: dict[str, str]) -> list[ControlPolicySpec]:
    """Per environment's Alibaba Cloud account, the guard; the sandbox's also gets its own. They are
    written from the directory's management account, which must be the stack's own account."""
    directory = settings.resource_directory
    key = f"{KEY}.resourceDirectory"
    sandbox = next((e for e in settings.environments if e.name == SANDBOX and e.alicloud_account_id), None)
    if not directory.control_policies:
        for index, environment in enumerate(settings.environments):
            if environment.guard_instance_tags:
                raise ConfigError(
                    key=f"{KEY}.environments.{index}.guardInstanceTags",
                    value=True,
                    problem="the instance-tag guard is a control policy, and control policies are off",
                    fix="set pipeline.resourceDirectory.controlPolicies: true and managementAccountId, "
                    "or remove guardInstanceTags",
                )
        if sandbox is not None:
            raise ConfigError(
                key=f"{key}.controlPolicies",
                problem="RAM has no permissions boundary: an identity a pull request's code creates in "
                "the sandbox would be bound by nothing there",
                fix="set pipeline.resourceDirectory.controlPolicies: true and managementAccountId "
                "(docs/operations.md, section 8)",
            )
        return []
    if directory.management_account_id is None:
        raise ConfigError(
            key=f"{key}.managementAccountId",
            problem="control policies are written from the resource directory's management account",
            fix="set it to the management account's id (alicloud.accountId)",
        )
    if directory.management_account_id != home.get("alicloud"):
        raise ConfigError(
            key=f"{key}.managementAccountId",
            value=directory.management_account_id,
            problem="only the management account writes and attaches control policies, and the stack "
            f"runs with alicloud.accountId's credentials ({home.get('alicloud')})",
            fix="run the pipeline stack from the management account (alicloud.accountId) or correct the id",
        )
    found = []
    admin = settings.alicloud_admin_role_name
    for index, environment in enumerate(settings.environments):
        account = environment.alicloud_account_id
        if account is None:
            if environment.guard_instance_tags:
                raise ConfigError(
                    key=f"{KEY}.environments.{index}.guardInstanceTags",
                    value=True,
                    problem="the instance-tag guard binds an Alibaba Cloud account, and this "
                    "environment has none",
                    fix="set alicloudAccountId or remove guardInstanceTags",
                )
            continue
        source = f"{KEY}.environments.{index}.name"
        roles = role_names(settings, account)
        found.append(
            ControlPolicySpec(
                name=f"{settings.role_name_prefix}{environment.name}-pipeline-guard",
                target=account,
                environment=environment.name,
                document=documents.control_policy_guard(
                    account,
                    roles=roles,
                    policies=[*(f"{r}-policy" for r in roles)],
                    oidc_providers=[settings.oidc_provider_name],
                    admin_role=admin,
                ),
                source=source,
                # Descriptions take letters, digits, '_' and '-' only (baseline/limits.py).
                description=f"Pipeline-identities-of-{environment.name}-written-by-the-administrator-only",
            )
        )
        if environment.guard_instance_tags:
            found.append(
                ControlPolicySpec(
                    name=f"{settings.role_name_prefix}{environment.name}-instance-tags",
                    target=account,
                    environment=environment.name,
                    document=documents.control_policy_instance_tags(
                        account,
                        deploy_role=f"{settings.role_name_prefix}{environment.name}-deploy",
                        admin_role=admin,
                    ),
                    source=f"{KEY}.environments.{index}.guardInstanceTags",
                    description="Instances-tagged-or-created-by-the-deploy-role-and-the-administrator-only",
                )
            )
        if environment is sandbox:
            found.append(
                ControlPolicySpec(
                    name=f"{settings.role_name_prefix}{environment.name}-sandbox-identities",
                    target=account,
                    environment=environment.name,
                    document=documents.control_policy_sandbox(
                        account,
                        deploy_role=f"{settings.role_name_prefix}{environment.name}-deploy",
                        admin_role=admin,
                    ),
                    source=source,
                    description="Sandbox-identities-created-by-its-deploy-role-and-the-administrator-only",
                )
            )
    return found


def _check_layout(settings: PipelineSettings, home: dict[str, str]) -> None:
    """The account layout that keeps pull requests in the sandbox (docs/operations.md section 3):
    the `test` environment's accounts hold nothing else, the pipeline's home accounts are no
    deployment target, sweep rights and a state bucket of its own only in the sandbox."""
    attrs = {
        "alicloud": ("alicloud_account_id", "alicloudAccountId"),
        "aws": ("aws_account_id", "awsAccountId"),
    }
    for index, environment in enumerate(settings.environments):
        source = f"{KEY}.environments.{index}"
        for cloud, (attr, _key) in attrs.items():
            account = getattr(environment, attr)
            if account is not None and account == home.get(cloud):
                raise ConfigError(
                    key=f"{cloud}.accountId",
                    value=account,
                    problem=f"the pipeline's home account is also environment {environment.name!r}'s "
                    "deployment target, so its deployer would sit beside the pipeline's state and admin",
                    fix="run the pipeline stack from an account no environment deploys into",
                )
        if environment.sweep and environment.name != SANDBOX:
            raise ConfigError(
                key=f"{source}.sweep",
                value=True,
                problem="sweep rights delete what a prefix marks: "
                "only the sandbox's accounts hold nothing else",
                fix="remove sweep, or keep it on the test environment only",
            )
        if environment.name != SANDBOX:
            # RAM has no permissions boundary: a deployer that re-versions its stack's policies can
            # give one of its users `Action: *`, so its reach is the whole account. Two environments in
            # one Alibaba Cloud account would make the first one's deployer the other's admin.
            ram_account = environment.alicloud_account_id
            earlier = [
                e.name
                for e in settings.environments[:index]
                if e.alicloud_account_id == ram_account and e.name != SANDBOX
            ]
            if ram_account is not None and earlier:
                raise ConfigError(
                    key=f"{source}.alicloudAccountId",
                    value=ram_account,
                    problem=f"environment {environment.name!r} shares this Alibaba Cloud account with "
                    f"{earlier[0]!r}; a RAM deploy role may re-version its stack's policies (RAM has no "
                    "permissions boundary), so it is the whole account's admin and would reach the other",
                    fix="give each environment an Alibaba Cloud account of its own",
                )
            continue
        for attr, key in attrs.values():
            account = getattr(environment, attr)
            shared = [
                e.name for e in settings.environments if e is not environment and getattr(e, attr) == account
            ]
            if account is not None and shared:
                raise ConfigError(
                    key=f"{source}.{key}",
                    value=account,
                    problem="the test environment (pull requests' code) shares this account with "
                    f"{shared[0]!r}",
                    fix="give the test environment sandbox accounts of its own in both clouds",
                )
        if (
            settings.aws_state_bucket
            and environment.aws_account_id
            and (environment.aws_state_bucket in (None, settings.aws_state_bucket))
        ):
            raise ConfigError(
                key=f"{source}.awsStateBucket",
                value=environment.aws_state_bucket,
                problem="the sandbox's state would sit beside the real environments' state",
                fix="create a state bucket in the sandbox's AWS account and name it here",
            )


def boundary_name(settings: PipelineSettings) -> str:
    return f"{settings.role_name_prefix}pipeline-boundary"


def _scope(
    settings: PipelineSettings,
    account: str,
    environment: PipelineEnvironmentSettings | None,
    attached: DeployerReach | None = None,
):
    attached = attached or DeployerReach()
    cloud = "aws" if limits.AWS_ACCOUNT_ID.fullmatch(account) else "alicloud"
    sandbox = environment is not None and environment.name == SANDBOX
    exact = environment is not None and not sandbox
    if cloud == "alicloud":
        users, roles, policies, boundaries = attached.ram_users, attached.ram_roles, attached.ram_policies, ()
    else:
        users, roles, policies, boundaries = (
            (),
            attached.iam_roles,
            attached.iam_policies,
            attached.iam_boundaries,
        )
    bucket = settings.aws_state_bucket
    if environment is not None and environment.aws_state_bucket:
        bucket = environment.aws_state_bucket
    stacks: tuple[str, ...] = ()
    if environment is not None:
        stacks = (SANDBOX_STACKS,) if sandbox else (environment.deployed_stack,)
    return documents.Scope(
        exact=exact,
        users=users,
        roles=roles,
        policies=policies,
        boundaries=boundaries,
        state_root=settings.aws_state_path,
        state_project=PROJECT,
        state_stacks=stacks,
        system_policies=attached.system,
        managed_policy_arns=attached.managed,
        secret_parameters=attached.secret_parameters,
        account=account,
        prefix=environment.name_prefix if environment else "",
        protected_roles=tuple(role_names(settings, account)),
        protected_oidc_providers=(settings.oidc_provider_name,),
        owned_boundaries=tuple(p.name for p in attached.external_boundaries),
        protected_policies=(*(f"{n}-policy" for n in role_names(settings, account)), boundary_name(settings)),
        pass_roles=tuple(environment.instance_roles) if environment else (),
        instances=attached.instances,
        instance_roles=attached.instance_roles,
        attach_users=attached.attach_users if cloud == "alicloud" else (),
        secret_regions=attached.secret_regions,
        secret_keys=attached.secret_keys,
        state_bucket=bucket,
        # The sandbox encrypts with its own passphrase: never the real environments' key.
        secrets_key_arn=None if sandbox else settings.aws_secrets_key_arn,
    )


def _boundaries(
    settings: PipelineSettings, roles: list[PipelineRoleSpec], attached: Mapping[str, DeployerReach]
) -> list[PipelineBoundarySpec]:
    found = []
    for account in sorted({r.account for r in roles if r.cloud == "aws"}):
        name = boundary_name(settings)
        policies = [r.policy for r in roles if r.cloud == "aws" and r.account == account]
        # The workload boundaries this stack creates in the account (the sandbox's).
        workload = [
            policy.external_arn
            for environment in settings.environments
            if environment.aws_account_id == account
            for policy in attached.get(environment.name, DeployerReach()).external_boundaries
            if policy.external_arn
        ]
        found.append(
            PipelineBoundarySpec(
                account=account,
                name=name,
                arn=f"arn:aws:iam::{account}:policy/{name}",
                document=documents.iam_pipeline_boundary(_scope(settings, account, None), policies, workload),
            )
        )
    return found


def _providers(settings: PipelineSettings) -> list[OidcProviderSpec]:
    found = []
    for account in sorted({e.alicloud_account_id for e in settings.environments if e.alicloud_account_id}):
        found.append(
            OidcProviderSpec(
                cloud="alicloud",
                account=account,
                name=settings.oidc_provider_name,
                arn=documents.ram_oidc_provider_arn(account, settings.oidc_provider_name),
                issuer=documents.GITHUB_ISSUER,
                client_ids=(documents.ALICLOUD_AUDIENCE,),
                fingerprints=tuple(settings.alicloud_fingerprints),
                source=f"{KEY}.alicloudFingerprints",
                issuance_limit_hours=settings.token_max_age_hours,
            )
        )
    for account in sorted({e.aws_account_id for e in settings.environments if e.aws_account_id}):
        found.append(
            OidcProviderSpec(
                cloud="aws",
                account=account,
                name=documents.GITHUB_ISSUER_HOST,
                arn=documents.iam_oidc_provider_arn(account),
                issuer=documents.GITHUB_ISSUER,
                client_ids=(documents.AWS_AUDIENCE,),
                fingerprints=tuple(settings.aws_thumbprints),
                source=f"{KEY}.awsThumbprints",
            )
        )
    return found


def role_names(settings: PipelineSettings, account: str | None = None) -> list[str]:
    """The pipeline's role names (in ``account`` only, when given): only the roles it creates, so
    no policy names a preview role of an environment that has none (``preview: false``)."""
    return [
        f"{settings.role_name_prefix}{e.name}-{access}"
        for e in settings.environments
        if account is None or account in (e.alicloud_account_id, e.aws_account_id)
        for access in (("deploy", "preview") if e.preview else ("deploy",))
    ]


def trusted_workflows(environment: str, access: str) -> str:
    """Which entry of ``TRUSTED_WORKFLOWS`` the ``access`` role of ``environment`` trusts."""
    return "sandbox" if environment == SANDBOX else access


def _role(
    settings: PipelineSettings,
    environment: PipelineEnvironmentSettings,
    cloud: str,
    account: str,
    access: str,
    source: str,
    attached: DeployerReach,
) -> PipelineRoleSpec:
    assert settings.repository is not None
    name = f"{settings.role_name_prefix}{environment.name}-{access}"
    github_environment = environment.name if access == "deploy" else f"{environment.name}-preview"
    assert settings.repository_id is not None and settings.repository_owner_id is not None
    subjects = tuple(
        documents.github_subject(
            settings.repository_owner_id,
            settings.repository_id,
            github_environment,
            documents.workflow_ref(settings.repository, workflow, ref),
        )
        for workflow, ref in TRUSTED_WORKFLOWS[trusted_workflows(environment.name, access)]
    )
    scope = _scope(settings, account, environment, attached)
    if cloud == "alicloud":
        provider = documents.ram_oidc_provider_arn(account, settings.oidc_provider_name)
        trust = documents.ram_oidc_trust(provider, subjects)
        arn = f"acs:ram::{account}:role/{name.lower()}"
    else:
        provider = documents.iam_oidc_provider_arn(account)
        trust = documents.iam_oidc_trust(provider, subjects)
        arn = f"arn:aws:iam::{account}:role/{name}"
    policy = documents.deployer_policy(
        cloud,  # type: ignore[arg-type]
        scope,
        write=access == "deploy",
        sweep=environment.sweep and access == "deploy",
    )
    what = "deploys" if access == "deploy" else "previews (read-only)"
    return PipelineRoleSpec(
        key=f"{cloud}-{environment.name}-{access}",
        cloud=cloud,  # type: ignore[arg-type]
        account=account,
        name=name,
        arn=arn,
        environment=environment.name,
        github_environment=github_environment,
        subjects=subjects,
        access=access,  # type: ignore[arg-type]
        trust=trust,
        policy_name=f"{name}-policy",
        policy=policy,
        source=f"{source}.name",
        max_session_duration=settings.max_session_duration,
        description=f"GitHub Actions of {settings.repository} ({github_environment}) {what} "
        f"{environment.name}",
    )
