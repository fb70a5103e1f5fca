"""Task proofs: every call a principal's job makes, asked as the cloud authorises it.

The catalogue (``baseline/scenarios/tasks/``) states, per scenario and per principal role, the
calls each step of the job makes, in the authorization reference's terms, each citing its source.
This module turns the catalogue into concrete calls for one stack's principals and decides them
with ``evaluator.evaluate_call`` in ``strict`` mode (every reading must allow).
"""

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
