"""Alibaba Cloud RAM policy documents, as pure functions of typed data.

Every action list is copied from the guide named beside it (``../shared/seeds``), so a test can
compare the rendered documents with the guides action by action. Nothing here imports Pulumi.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

Document = dict[str, Any]
VERSION = "1"

# --- seed 000: OOS patch management -------------------------------------------------------------
PATCH_OOS_ACTIONS = (
    "oos:StartExecution",
    "oos:ListExecutions",
    "oos:GetExecution",
    "oos:ListExecutionLogs",
    "oos:ListTaskExecutions",
    "oos:CancelExecution",
    "oos:ListTemplates",
    "oos:GetTemplate",
    "oos:ListPatchBaselines",
    "oos:GetPatchBaseline",
    "oos:ListInstancePatches",
    "oos:ListInstancePatchStates",
)
PATCH_ECS_ACTIONS = (
    "ecs:DescribeInstances",
    "ecs:DescribeInvocations",
    "ecs:DescribeInvocationResults",
    "ecs:InvokeCommand",
)
PATCH_SNAPSHOT_ACTIONS = ("ecs:CreateSnapshot", "ecs:DescribeSnapshots")
PATCH_TEMPLATE = "ACS-ECS-BulkyApplyPatchBaseline"

# --- seed 001: Cloud Assistant as a regular user ------------------------------------------------
CLOUD_ASSISTANT_ACTIONS = (
    "ecs:DescribeInstances",
    "ecs:DescribeTagKeys",
    "ecs:DescribeTags",
    "ecs:CreateCommand",
    "ecs:DescribeCommands",
    "ecs:InvokeCommand",
    "ecs:RunCommand",
    "ecs:DeleteCommand",
    "ecs:DescribeInvocations",
    "ecs:DescribeInvocationResults",
    "ecs:StopInvocation",
    "ecs:DescribeCloudAssistantStatus",
    "ecs:InstallCloudAssistant",
)
CLOUD_ASSISTANT_RESOURCES = ("acs:ecs:*:*:instance/*", "acs:ecs:*:*:command/*")
PRIVILEGED_OS_USERS = ("root", "system")
RUN_AS_KEY = "ecs:CommandRunAs"


def arn(service: str, region: str, account: str, resource: str) -> str:
    """An Alibaba Cloud resource name (ARN): ``acs:<service>:<region>:<account>:<resource>``."""
    return f"acs:{service}:{region}:{account}:{resource}"


def _allow(actions: Sequence[str], resources: Sequence[str], condition: Document | None = None) -> Document:
    statement: Document = {"Effect": "Allow", "Action": list(actions), "Resource": list(resources)}
    if condition:
        statement["Condition"] = condition
    return statement


def _document(*statements: Document) -> Document:
    return {"Version": VERSION, "Statement": list(statements)}


@dataclass(frozen=True)
class PatchScope:
    """The resources each statement of the patch-management policy may touch."""

    oos: tuple[str, ...]
    instances: tuple[str, ...]
    snapshots: tuple[str, ...]

    @classmethod
    def wildcard(cls) -> PatchScope:
        return cls(oos=("*",), instances=("*",), snapshots=("*",))

    @classmethod
    def arns(cls, region: str, account: str, instance_ids: Sequence[str] = ()) -> PatchScope:
        """The guide's production hardening: every statement narrowed to ARN patterns."""
        instances = tuple(arn("ecs", region, account, f"instance/{i}") for i in instance_ids) or (
            arn("ecs", region, account, "instance/*"),
        )
        return cls(
            oos=(
                arn("oos", region, account, "execution/*"),
                arn("oos", region, account, f"template/{PATCH_TEMPLATE}"),
            ),
            instances=instances,
            snapshots=(arn("ecs", region, account, "snapshot/*"),),
        )


def patch_management_policy(scope: PatchScope, *, create_snapshot: bool) -> Document:
    """Seed 000: scan and install OS patches through OOS.

    The snapshot statement exists only when the stack turns ``whetherCreateSnapshot`` on; there
    is never an ``ecs:DeleteSnapshot`` because snapshots expire through ``retentionDays``.
    """
    statements = [
        _allow(PATCH_OOS_ACTIONS, scope.oos),
        _allow(PATCH_ECS_ACTIONS, scope.instances),
    ]
    if create_snapshot:
        statements.append(_allow(PATCH_SNAPSHOT_ACTIONS, scope.snapshots))
    return _document(*statements)


def command_user_policy(
    *,
    mode: str,
    resources: Sequence[str],
    run_as_users: Sequence[str] = (),
    denied_users: Sequence[str] = PRIVILEGED_OS_USERS,
) -> Document:
    """Seed 001 ``commandUserPolicy``: Cloud Assistant as a regular OS user.

    ``allow-list`` allows only the listed OS users (``StringEquals``); ``deny-privileged`` allows
    anyone but the listed privileged users, compared without letter case
    (``StringNotEqualsIgnoreCase``), which is how the guide keeps ``ROOT`` out too.
    """
    if mode == "allow-list":
        condition = {"StringEquals": {RUN_AS_KEY: list(run_as_users)}}
    elif mode == "deny-privileged":
        condition = {"StringNotEqualsIgnoreCase": {RUN_AS_KEY: list(denied_users)}}
    else:
        raise ValueError(f"unknown commandUserPolicy mode {mode!r}")
    return _document(_allow(CLOUD_ASSISTANT_ACTIONS, resources, condition))


def service_trust_policy(services: Sequence[str]) -> Document:
    """A trust policy that lets the named Alibaba Cloud services assume a role."""
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Action": "sts:AssumeRole",
                "Effect": "Allow",
                "Principal": {"Service": list(services)},
            }
        ],
    }


def account_trust_policy(account_ids: Sequence[str]) -> Document:
    """A trust policy that lets RAM identities of the named accounts assume a role."""
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Action": "sts:AssumeRole",
                "Effect": "Allow",
                "Principal": {"RAM": [f"acs:ram::{a}:root" for a in account_ids]},
            }
        ],
    }
