"""S6 ECS MCP server (seed 004) as one component: a permissions boundary, and per use case a
customer-managed policy and a role that carries it behind the boundary."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from baseline.scenarios.ecs_mcp_server import BOUNDARY_KEY
from baseline.spec import AwsScenarioSpec
from components import PACKAGE


@dataclass
class AwsOptions:
    """Stack-wide choices the AWS components get from the program."""

    protect: bool


class EcsMcpServer(pulumi.ComponentResource):
    """Roles the Amazon ECS MCP server assumes, one per enabled use case of the guide."""

    def __init__(
        self,
        name: str,
        spec: AwsScenarioSpec,
        options: AwsOptions,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__(f"{PACKAGE}:aws:EcsMcpServer", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        protected = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(protect=options.protect))
        # Environment, Project and ManagedBy come from the provider's default_tags.
        tags = dict(spec.tags)

        self.policies: dict[str, aws.iam.Policy] = {}
        # A policy another stack owns (the sandbox's boundary, the pipeline stack's): its ARN only.
        arns: dict[str, pulumi.Input[str]] = {p.key: p.external_arn for p in spec.policies if p.external_arn}
        for policy in spec.policies:
            if policy.external_arn:
                continue
            self.policies[policy.key] = aws.iam.Policy(
                f"{name}-{policy.key}-policy",
                name=policy.name,
                policy=policy.rendered,
                # IAM cannot change a policy's description: a new one replaces the policy (and a
                # protected prod policy refuses), so descriptions are fixed text, not config.
                description=policy.description,
                tags=tags,
                opts=protected,
            )
        self.roles: dict[str, aws.iam.Role] = {}
        self.attachments: list[aws.iam.RolePolicyAttachment] = []
        for role in spec.roles:
            self.roles[role.key] = aws.iam.Role(
                f"{name}-{role.key}-role",
                name=role.name,
                assume_role_policy=role.rendered_trust,
                permissions_boundary=arns.get(role.boundary) or self.policies[role.boundary].arn,
                max_session_duration=role.max_session_duration,
                description=role.description,
                # Deleting the role detaches its policies instead of failing on them.
                force_detach_policies=True,
                tags=tags,
                opts=protected,
            )
            attached: list[pulumi.Input[str]] = [self.policies[role.policy].arn, *role.managed_policy_arns]
            for index, policy_arn in enumerate(attached):
                label = "policy" if index == 0 else f"managed-{index}"
                self.attachments.append(
                    aws.iam.RolePolicyAttachment(
                        f"{name}-{role.key}-{label}-attachment",
                        role=self.roles[role.key].name,
                        policy_arn=policy_arn,
                        opts=child,
                    )
                )

        self.outputs: dict[str, pulumi.Input[object]] = {
            "roleArns": {key: role.arn for key, role in self.roles.items()},
            "boundaryPolicyArn": arns.get(BOUNDARY_KEY) or self.policies[BOUNDARY_KEY].arn,
            # The MCP server's ALLOW_WRITE must match; an output makes that one lookup.
            "allowWrite": spec.extras.get("allowWrite", False),
        }
        self.register_outputs(self.outputs)
