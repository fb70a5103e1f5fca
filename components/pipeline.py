"""S7 pipeline as one component: GitHub's OIDC provider per account and cloud, and per
environment a deploy and a read-only preview role whose trust names one repository and one
GitHub environment, each with its one policy."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_alicloud as alicloud
import pulumi_aws as aws

from baseline.documents.pipeline import CONTROL_POLICY_SCOPE
from baseline.spec import PipelineSpec
from components import PACKAGE
from components.alicloud_identities import ROTATE_STRATEGY

SESSION_NAME = "pulumi-pipeline-bootstrap"


@dataclass
class PipelineOptions:
    """Stack-wide choices: regions of the explicit providers, protection and tags."""

    alicloud_region: str | None
    aws_region: str | None
    protect: bool
    tags: dict[str, str]
    aws_tags: dict[str, str]


class Pipeline(pulumi.ComponentResource):
    """The pipeline's own identities; everything an administrator applies once."""

    def __init__(
        self,
        name: str,
        spec: PipelineSpec,
        options: PipelineOptions,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__(f"{PACKAGE}:pipeline:Pipeline", name, None, opts)
        self.providers: dict[tuple[str, str], pulumi.ProviderResource] = {}
        self.oidc_providers: dict[tuple[str, str], pulumi.CustomResource] = {}
        for oidc in spec.providers:
            provider = self._account_provider(name, spec, options, oidc.cloud, oidc.account)
            protected = pulumi.ResourceOptions(parent=self, provider=provider, protect=options.protect)
            if oidc.cloud == "alicloud":
                resource: pulumi.CustomResource = alicloud.ims.OidcProvider(
                    f"{name}-alicloud-{oidc.account}-oidc",
                    oidc_provider_name=oidc.name,
                    issuer_url=oidc.issuer,
                    client_ids=list(oidc.client_ids),
                    fingerprints=list(oidc.fingerprints),
                    issuance_limit_time=oidc.issuance_limit_hours,
                    description=f"GitHub Actions of {spec.repository}",
                    opts=protected,
                )
            else:
                resource = aws.iam.OpenIdConnectProvider(
                    f"{name}-aws-{oidc.account}-oidc",
                    url=oidc.issuer,
                    client_id_lists=list(oidc.client_ids),
                    thumbprint_lists=list(oidc.fingerprints) or None,
                    opts=protected,
                )
            self.oidc_providers[(oidc.cloud, oidc.account)] = resource

        self.boundaries: dict[str, pulumi.CustomResource] = {}
        for boundary in spec.boundaries:
            self.boundaries[boundary.account] = aws.iam.Policy(
                f"{name}-aws-{boundary.account}-boundary",
                name=boundary.name,
                policy=boundary.rendered,
                description="Permissions boundary of the GitHub Actions pipeline roles",
                opts=pulumi.ResourceOptions(
                    parent=self,
                    provider=self.providers[("aws", boundary.account)],
                    protect=options.protect,
                ),
            )

        # The boundaries of the deployed stacks' roles no deploy role may write (the sandbox's):
        # created here, in their account, protected like the pipeline's own.
        self.workload_boundaries: dict[str, pulumi.CustomResource] = {}
        for boundary in spec.workload_boundaries:
            self.workload_boundaries[boundary.arn] = aws.iam.Policy(
                f"{name}-aws-{boundary.account}-{boundary.name}",
                name=boundary.name,
                policy=boundary.rendered,
                description="Permissions boundary of the roles the pipeline's deploy role creates",
                opts=pulumi.ResourceOptions(
                    parent=self,
                    provider=self._account_provider(name, spec, options, "aws", boundary.account),
                    protect=options.protect,
                ),
            )

        self.roles: dict[str, pulumi.CustomResource] = {}
        self.policies: dict[str, pulumi.CustomResource] = {}
        self.attachments: list[pulumi.CustomResource] = []
        for role in spec.roles:
            provider = self.providers[(role.cloud, role.account)]
            # The trust names the provider's ARN; the role waits for it so a first run cannot
            # create a role that trusts a provider not yet there.
            protected = pulumi.ResourceOptions(
                parent=self,
                provider=provider,
                protect=options.protect,
                depends_on=[self.oidc_providers[(role.cloud, role.account)]],
            )
            plain = pulumi.ResourceOptions(parent=self, provider=provider)
            if role.cloud == "alicloud":
                created = alicloud.ram.Role(
                    f"{name}-{role.key}-role",
                    role_name=role.name,
                    assume_role_policy_document=role.rendered_trust,
                    description=role.description,
                    max_session_duration=role.max_session_duration,
                    force=True,
                    tags=options.tags,
                    opts=protected,
                )
                policy: pulumi.CustomResource = alicloud.ram.Policy(
                    f"{name}-{role.key}-policy",
                    policy_name=role.policy_name,
                    policy_document=role.rendered_policy,
                    description=role.description,
                    rotate_strategy=ROTATE_STRATEGY,
                    force=True,
                    tags=options.tags,
                    opts=pulumi.ResourceOptions.merge(plain, pulumi.ResourceOptions(protect=options.protect)),
                )
                attachment: pulumi.CustomResource = alicloud.ram.RolePolicyAttachment(
                    f"{name}-{role.key}-attachment",
                    role_name=created.role_name,
                    policy_name=policy.policy_name,
                    policy_type="Custom",
                    opts=plain,
                )
            else:
                created = aws.iam.Role(
                    f"{name}-{role.key}-role",
                    name=role.name,
                    assume_role_policy=role.rendered_trust,
                    permissions_boundary=self.boundaries[role.account].arn,
                    description=role.description,
                    max_session_duration=role.max_session_duration,
                    force_detach_policies=True,
                    opts=protected,
                )
                policy = aws.iam.Policy(
                    f"{name}-{role.key}-policy",
                    name=role.policy_name,
                    policy=role.rendered_policy,
                    # IAM cannot change a policy's description: fixed text, never config.
                    description=f"GitHub Actions {role.access} policy",
                    opts=pulumi.ResourceOptions.merge(plain, pulumi.ResourceOptions(protect=options.protect)),
                )
                attachment = aws.iam.RolePolicyAttachment(
                    f"{name}-{role.key}-attachment",
                    role=created.name,
                    policy_arn=policy.arn,
                    opts=plain,
                )
            self.roles[role.key] = created
            self.policies[role.key] = policy
            self.attachments.append(attachment)

        # Control policies are the directory's, written and attached from the management account:
        # the administrator's own credentials (the home account), never a member's admin role.
        self.control_policies: list[pulumi.CustomResource] = []
        for control in spec.control_policies:
            management = self._account_provider(
                name, spec, options, "alicloud", spec.home_accounts["alicloud"]
            )
            created_policy = alicloud.resourcemanager.ControlPolicy(
                f"{name}-control-{control.name}",
                control_policy_name=control.name,
                description=control.description or None,
                effect_scope=CONTROL_POLICY_SCOPE,
                policy_document=control.rendered,
                opts=pulumi.ResourceOptions(parent=self, provider=management, protect=options.protect),
            )
            alicloud.resourcemanager.ControlPolicyAttachment(
                f"{name}-control-{control.name}-{control.target}",
                policy_id=created_policy.id,
                target_id=control.target,
                opts=pulumi.ResourceOptions(parent=self, provider=management, protect=options.protect),
            )
            self.control_policies.append(created_policy)

        self.outputs: dict[str, pulumi.Input[object]] = {
            "repository": spec.repository,
            # What to set as variables of each GitHub environment (docs/operations.md, section 8).
            "githubVariables": github_variables(spec),
            "oidcProviderArns": {f"{p.cloud}:{p.account}": p.arn for p in spec.providers},
        }
        self.register_outputs(self.outputs)

    def _account_provider(
        self, name: str, spec: PipelineSpec, options: PipelineOptions, cloud: str, account: str
    ) -> pulumi.ProviderResource:
        """One explicit provider per account: the administrator's own, or their admin role there."""
        if (cloud, account) in self.providers:
            return self.providers[(cloud, account)]
        home = spec.home_accounts.get(cloud) == account
        child = pulumi.ResourceOptions(parent=self)
        if cloud == "alicloud":
            provider: pulumi.ProviderResource = alicloud.Provider(
                f"{name}-alicloud-{account}",
                region=options.alicloud_region,
                assume_role=None
                if home
                else alicloud.ProviderAssumeRoleArgs(
                    role_arn=f"acs:ram::{account}:role/{spec.admin_roles['alicloud'].lower()}",
                    session_name=SESSION_NAME,
                    session_expiration=3600,
                ),
                opts=child,
            )
        else:
            provider = aws.Provider(
                f"{name}-aws-{account}",
                region=options.aws_region,
                # A run with credentials for another account fails before it changes anything.
                allowed_account_ids=[account],
                assume_roles=None
                if home
                else [
                    aws.ProviderAssumeRoleArgs(
                        role_arn=f"arn:aws:iam::{account}:role/{spec.admin_roles['aws']}",
                        session_name=SESSION_NAME,
                    )
                ],
                default_tags=aws.ProviderDefaultTagsArgs(tags=options.aws_tags),
                opts=child,
            )
        self.providers[(cloud, account)] = provider
        return provider


def github_variables(spec: PipelineSpec) -> dict[str, dict[str, str]]:
    """Per GitHub environment, the variables its workflows read to assume its roles."""
    found: dict[str, dict[str, str]] = {}
    providers = {(p.cloud, p.account): p.arn for p in spec.providers}
    for role in spec.roles:
        variables = found.setdefault(role.github_environment, {})
        if role.cloud == "alicloud":
            variables["ALICLOUD_ROLE_ARN"] = role.arn
            variables["ALICLOUD_OIDC_PROVIDER_ARN"] = providers[(role.cloud, role.account)]
        else:
            variables["AWS_ROLE_ARN"] = role.arn
    return {environment: dict(sorted(v.items())) for environment, v in sorted(found.items())}
