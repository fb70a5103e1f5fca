"""S4 ECS instance RAM role (seed 003) as one component, and the attachment step S3 shares."""

from __future__ import annotations

import pulumi
import pulumi_alicloud as alicloud

from components.alicloud_identities import AlicloudScenario, IdentityOptions


def regional(options: IdentityOptions, region: str) -> pulumi.ResourceOptions:
    if options.providers is None:
        raise ValueError("regional resources need IdentityOptions.providers")
    return pulumi.ResourceOptions(provider=options.providers(region))


def attach_instance_roles(
    component: AlicloudScenario, name: str, options: IdentityOptions
) -> list[alicloud.ecs.RamRoleAttachment]:
    """``AttachInstanceRamRole`` for every instance the spec lists, through its region's provider.

    ``ecs.RamRoleAttachment`` (one resource per instance) replaces the deprecated
    ``ram.RoleAttachment``: removing an instance from the config detaches the role from that
    instance alone. Attachments are never protected, so detaching stays a config change.
    """
    created = []
    for attachment in component.spec.instance_roles:
        role = component.identities.roles[attachment.role]
        for instance in attachment.instance_ids:
            created.append(
                alicloud.ecs.RamRoleAttachment(
                    f"{name}-{attachment.role}-{instance}",
                    instance_id=instance,
                    ram_role_name=role.role_name,
                    opts=pulumi.ResourceOptions.merge(
                        pulumi.ResourceOptions(parent=component), regional(options, attachment.region)
                    ),
                )
            )
    return created


class EcsInstanceRole(AlicloudScenario):
    """Role ``EcsRamRoleDocumentTesting`` with its OSS policy, attached to the listed instances,
    and optionally a user allowed to attach/detach it."""

    TYPE = "EcsInstanceRole"

    def extend(self, name: str, options: IdentityOptions) -> dict[str, pulumi.Input[object]]:
        self.attachments = attach_instance_roles(self, name, options)
        return {"attachedInstances": [a.instance_id for a in self.attachments]}
