"""The Pulumi program: validated settings in, components registered, outputs returned.

``__main__.py`` (a real ``pulumi up``) and ``baseline.plan`` (the offline plan under mocks)
both call ``build``, so the plan proves the same code that deploys.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_alicloud as alicloud

from baseline import PROJECT
from baseline.config import Resolved
from components.alicloud_identities import AlicloudScenario, IdentityOptions
from components.cloud_assistant import CloudAssistantLinux
from components.patch_management import PatchManagement

# Scenario config key -> (component class, logical name).
ALICLOUD_COMPONENTS: dict[str, tuple[type[AlicloudScenario], str]] = {
    "patchManagement": (PatchManagement, "patch-management"),
    "cloudAssistantLinux": (CloudAssistantLinux, "cloud-assistant-linux"),
}


def stack_tags(resolved: Resolved) -> dict[str, str]:
    return {
        "managed-by": "pulumi",
        "project": PROJECT,
        "environment": resolved.settings.environment,
    }


def build(resolved: Resolved) -> dict[str, Any]:
    """Register every enabled scenario; return the stack outputs."""
    settings = resolved.settings
    outputs: dict[str, Any] = {"environment": settings.environment}
    if resolved.alicloud and settings.alicloud is not None:
        region = settings.alicloud.region
        # An explicit provider: the region comes from the stack file, never from the
        # environment of whoever runs `pulumi up`.
        provider = alicloud.Provider(f"alicloud-{region}", region=region)
        options = IdentityOptions(
            tags=stack_tags(resolved),
            protect=settings.protect_identities,
            secrets={k: pulumi.Output.secret(v.value) for k, v in resolved.secrets.items()},
        )
        for spec in resolved.alicloud:
            component, name = ALICLOUD_COMPONENTS[spec.scenario]
            instance = component(
                name, spec, options, opts=pulumi.ResourceOptions(providers={"alicloud": provider})
            )
            outputs[spec.scenario] = instance.outputs
    return outputs
