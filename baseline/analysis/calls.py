"""The record every task call resolves to, whoever states it (a scenario's catalogue, a provider's
resource calls): its own module so the two resolvers need not import each other."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class TaskCall:
    """One call of one principal's job, concrete for a stack."""

    principal: str  # access.Principal.name
    cloud: str  # "alicloud" | "aws"
    step: str  # the job step, in the guide's or the provider's words
    action: str
    resources: tuple[str, ...]  # every resource the call is authorised on, concrete ARNs
    context: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    source: str = ""  # where the call was read (guide step, console, template, provider source)
    # Why the call cannot be asked, when the reference names no resource it would be made on (the
    # KMS secret OOS keeps a parameter's value in): reported as unknown, never allowed or denied.
    unknown: str = ""
    # Why the environment's control policy denies the call by design (the catalogue says so): asked
    # all the same, and a proof fails if it is allowed.
    by_design: str = ""
