"""One module per scenario: its typed settings and the builder that turns them into a spec."""

from __future__ import annotations

from dataclasses import dataclass

from baseline.naming import Naming


@dataclass(frozen=True)
class AlicloudContext:
    """What every Alibaba Cloud scenario builder needs to know about the stack."""

    environment: str
    naming: Naming
    account_id: str
    region: str
    strict_scoping: bool

    def scope(self, requested: str | None) -> str:
        """The resource scope a scenario uses: ARN-scoped when the stack is strict."""
        return requested or ("arn" if self.strict_scoping else "wildcard")


@dataclass(frozen=True)
class AwsContext:
    """What every AWS scenario builder needs to know about the stack."""

    environment: str
    naming: Naming
    account_id: str
    region: str
