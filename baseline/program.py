"""The Pulumi program: validated settings in, components registered, outputs returned.

``__main__.py`` (a real ``pulumi up``) and ``baseline.plan`` (the offline plan under mocks)
both call ``build``, so the plan proves the same code that deploys.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws

from baseline import PROJECT
from baseline.config import Resolved
from baseline.errors import ConfigError
from components.alicloud_identities import AlicloudScenario, IdentityOptions
from components.cloud_assistant import CloudAssistantLinux
from components.cloud_assistant_windows import CloudAssistantWindows
from components.eci_access import EciAccess
from components.ecs_instance_role import EcsInstanceRole
from components.ecs_mcp_server import AwsOptions, EcsMcpServer
from components.patch_management import PatchManagement
from components.pipeline import Pipeline, PipelineOptions
from components.providers import RegionalProviders

# Scenario config key -> (component class, logical name).
ALICLOUD_COMPONENTS: dict[str, tuple[type[AlicloudScenario], str]] = {
    "patchManagement": (PatchManagement, "patch-management"),
    "cloudAssistantLinux": (CloudAssistantLinux, "cloud-assistant-linux"),
    "cloudAssistantWindows": (CloudAssistantWindows, "cloud-assistant-windows"),
    "ecsInstanceRole": (EcsInstanceRole, "ecs-instance-role"),
    "eciAccess": (EciAccess, "eci-access"),
}
AWS_COMPONENTS: dict[str, tuple[type[EcsMcpServer], str]] = {
    "ecsMcpServer": (EcsMcpServer, "ecs-mcp-server"),
}


def stack_tags(resolved: Resolved) -> dict[str, str]:
    return {
        "managed-by": "pulumi",
        "project": PROJECT,
        "environment": resolved.settings.environment,
    }


def aws_stack_tags(resolved: Resolved) -> dict[str, str]:
    """The provider's default_tags: on every taggable AWS resource of the stack."""
    return {"Environment": resolved.settings.environment, "Project": PROJECT, "ManagedBy": "pulumi"}


def build(resolved: Resolved) -> dict[str, Any]:
    """Register every enabled scenario; return the stack outputs."""
    settings = resolved.settings
    outputs: dict[str, Any] = {"environment": settings.environment}
    if resolved.alicloud and settings.alicloud is not None:
        # Explicit providers, one per region and cached: the stack's region for global
        # services (RAM, Resource Manager), the instances' regions for regional resources.
        providers = RegionalProviders()
        provider = providers(settings.alicloud.region)
        options = IdentityOptions(
            tags=stack_tags(resolved),
            protect=settings.protect_identities,
            secrets={k: pulumi.Output.secret(v.value) for k, v in resolved.secrets.items()},
            providers=providers,
        )
        for spec in resolved.alicloud:
            component, name = ALICLOUD_COMPONENTS[spec.scenario]
            instance = component(
                name, spec, options, opts=pulumi.ResourceOptions(providers={"alicloud": provider})
            )
            outputs[spec.scenario] = instance.outputs
    if resolved.aws:
        if settings.aws is None:
            raise ConfigError(
                key="aws",
                problem=f"scenario {resolved.aws[0].scenario} is on but no AWS account is configured",
                fix="set aws.accountId and aws.region",
            )
        aws_provider = aws.Provider(
            f"aws-{settings.aws.region}",
            region=settings.aws.region,
            # A run with credentials for another account fails before it changes anything.
            allowed_account_ids=[settings.aws.account_id],
            default_tags=aws.ProviderDefaultTagsArgs(tags=aws_stack_tags(resolved)),
        )
        aws_options = AwsOptions(protect=settings.protect_identities)
        for aws_spec in resolved.aws:
            aws_component, aws_name = AWS_COMPONENTS[aws_spec.scenario]
            aws_instance = aws_component(
                aws_name, aws_spec, aws_options, opts=pulumi.ResourceOptions(providers={"aws": aws_provider})
            )
            outputs[aws_spec.scenario] = aws_instance.outputs
    if resolved.pipeline is not None:
        # S7 spans accounts: the component makes one explicit provider per account and cloud.
        pipeline = Pipeline(
            "pipeline",
            resolved.pipeline,
            PipelineOptions(
                alicloud_region=settings.alicloud.region if settings.alicloud else None,
                aws_region=settings.aws.region if settings.aws else None,
                protect=settings.protect_identities,
                tags=stack_tags(resolved),
                aws_tags=aws_stack_tags(resolved),
            ),
        )
        outputs["pipeline"] = pipeline.outputs
    return outputs
