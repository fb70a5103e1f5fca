"""S5 Elastic Container Instance access (seed 002) as one component."""

from __future__ import annotations

import pulumi
import pulumi_alicloud as alicloud

from components.alicloud_identities import AlicloudScenario, IdentityOptions


class EciAccess(AlicloudScenario):
    """ECI users and policies (from the spec), plus the service-linked role, resource groups and
    the resource-group-scoped grants of their administrators."""

    TYPE = "EciAccess"

    def extend(self, name: str, options: IdentityOptions) -> dict[str, pulumi.Input[object]]:
        child = pulumi.ResourceOptions(parent=self)
        self.service_linked_roles: list[alicloud.resourcemanager.ServiceLinkedRole] = []
        for role in self.spec.service_linked_roles:
            if not role.create:
                continue  # declared existing: another stack (or ECI itself) created it
            self.service_linked_roles.append(
                alicloud.resourcemanager.ServiceLinkedRole(
                    f"{name}-{role.role_name}",
                    service_name=role.service,
                    # One per account and other stacks' container groups rely on it: destroying
                    # this stack leaves it in place.
                    opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(retain_on_delete=True)),
                )
            )
        self.resource_groups: dict[str, alicloud.resourcemanager.ResourceGroup] = {}
        for group in self.spec.resource_groups:
            self.resource_groups[group.key] = alicloud.resourcemanager.ResourceGroup(
                f"{name}-{group.key}",
                resource_group_name=group.name,
                display_name=group.display_name,
                tags=options.tags,
                opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(protect=options.protect)),
            )
        self.group_grants: list[alicloud.resourcemanager.PolicyAttachment] = []
        for grant in self.spec.resource_group_grants:
            depends = [self.identities.users[grant.user].user] if grant.user else []
            self.group_grants.append(
                alicloud.resourcemanager.PolicyAttachment(
                    f"{name}-{grant.group}-{grant.principal.split('@', 1)[0]}-{grant.policy.lower()}",
                    policy_name=grant.policy,
                    policy_type="System",
                    principal_type="IMSUser",
                    principal_name=grant.principal,
                    # The group, not the account: the administrator's rights stop at the group.
                    resource_group_id=self.resource_groups[grant.group].id,
                    opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=depends)),
                )
            )
        return {
            "serviceLinkedRoles": [r.role_name for r in self.service_linked_roles],
            "resourceGroupIds": {k: g.id for k, g in self.resource_groups.items()},
        }
