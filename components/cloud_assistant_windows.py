"""S3 Cloud Assistant on Windows (seed 001) as one component."""

from __future__ import annotations

import pulumi
import pulumi_alicloud as alicloud

from components.alicloud_identities import AlicloudScenario, IdentityOptions
from components.ecs_instance_role import attach_instance_roles, regional


class CloudAssistantWindows(AlicloudScenario):
    """S2's user and policy, plus ``kmsPolicy`` and ``AliyunOOSReadOnlyAccess`` on the user, the
    instance role ``AxtSecretRamRole`` on the Windows instances and the encrypted OOS parameter
    ``axtSecretPassword`` they read."""

    TYPE = "CloudAssistantWindows"

    def extend(self, name: str, options: IdentityOptions) -> dict[str, pulumi.Input[object]]:
        self.attachments = attach_instance_roles(self, name, options)
        self.parameters: list[alicloud.oos.SecretParameter] = []
        for parameter in self.spec.secret_parameters:
            self.parameters.append(
                alicloud.oos.SecretParameter(
                    f"{name}-{parameter.key}",
                    secret_parameter_name=parameter.name,
                    type="Secret",
                    value=pulumi.Output.secret(options.secrets[parameter.secret]),
                    # None: OOS encrypts with the account's default service key.
                    key_id=parameter.kms_key_id,
                    description=parameter.description or None,
                    tags=options.tags,
                    opts=pulumi.ResourceOptions.merge(
                        pulumi.ResourceOptions(
                            parent=self,
                            additional_secret_outputs=["value"],
                            # OOS cannot re-encrypt a parameter under another key: a new keyId
                            # replaces it. The name is fixed and unique in the region, so the old
                            # parameter must go first; instances fail to read it for that moment.
                            replace_on_changes=["keyId"],
                            delete_before_replace=True,
                        ),
                        regional(options, parameter.region),
                    ),
                )
            )
        return {
            "attachedInstances": [a.instance_id for a in self.attachments],
            "secretParameterNames": [p.secret_parameter_name for p in self.parameters],
        }
