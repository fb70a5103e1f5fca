"""S2 Cloud Assistant on Linux (seed 001) as one component."""

from __future__ import annotations

from components.alicloud_identities import AlicloudScenario


class CloudAssistantLinux(AlicloudScenario):
    """RAM user ``commandUser`` with ``commandUserPolicy`` and ``AliyunECSReadOnlyAccess``."""

    TYPE = "CloudAssistantLinux"
