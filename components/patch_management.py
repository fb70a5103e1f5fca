"""S1 patch management (seed 000) as one component."""

from __future__ import annotations

from components.alicloud_identities import AlicloudScenario


class PatchManagement(AlicloudScenario):
    """The OOS patch policy and the operator user / automation role it is attached to."""

    TYPE = "PatchManagement"
