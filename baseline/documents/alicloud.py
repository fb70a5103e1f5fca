"""Alibaba Cloud RAM policy documents, as pure functions of typed data.

Every action list is copied from the guide named beside it (the README lists the public pages), so a test can
compare the rendered documents with the guides action by action. Nothing here imports Pulumi.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
    "ecs:RunCommand",  # what the template's RunCommandForApplyPatchBaseline calls
)
# DescribeDisks: the template's getSystemDisk, before it snapshots the system disk.
PATCH_SNAPSHOT_ACTIONS = ("ecs:DescribeDisks", "ecs:CreateSnapshot", "ecs:DescribeSnapshots")
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
PRIVILEGED_OS_USERS = ("root", "system")  # what the guide's deny-list names; the least it must hold
RUN_AS_KEY = "ecs:CommandRunAs"
RESOURCE_TAG_PREFIX = "acs:ResourceTag/"
# The actions that run a command on an instance, as the OS user RUN_AS_KEY names.
COMMAND_ACTIONS = ("ecs:RunCommand", "ecs:InvokeCommand")
# OS accounts an allow-list may never name, compared without letter case and without a Windows
# domain or UPN part (``NT AUTHORITY\SYSTEM``, ``.\Administrator``, ``admin@corp``): each runs with
# full control of the instance, or reaches it with one sudo.
PRIVILEGED_RUN_AS = frozenset(
    {
        "root",  # Linux uid 0
        "system",  # Cloud Assistant's name for Windows LocalSystem (seed 001)
        "localsystem",  # the same account under its service-control name
        "administrator",  # Windows built-in administrator (Windows names ignore case)
        "trustedinstaller",  # NT SERVICE\TrustedInstaller owns the Windows system files
        "admin",  # Debian cloud images' login user, passwordless sudo
        "ecs-user",  # ECS's recommended Linux login user, which "runs sudo" for root (ECS docs)
        "ubuntu",  # Ubuntu cloud images' login user, passwordless sudo
    }
)


def is_privileged_os_user(name: str) -> bool:
    """Whether ``name`` is (or, with a domain/UPN part, spells) a privileged OS account."""
    bare = name.strip().lower().rsplit("\\", 1)[-1].split("@", 1)[0]
    return bare in PRIVILEGED_RUN_AS


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


# The resource types each action is authorised on, as the authorization reference prints them
# (baseline/analysis/reference/alicloud/, which tests/test_documents_alicloud.py compares with this
# table): a statement naming a resource of another type does nothing for that action, so the
# documents give every action only the resources of its own types. "*": no resource-level
# permission. Rows the reference leaves unsettled keep the type their API names.
RESOURCE_KINDS: dict[str, tuple[str, ...]] = {
    "ecs:DescribeInstances": ("instance",),
    "ecs:DescribeTagKeys": ("instance", "command"),  # unsettled: the guide's resources
    "ecs:DescribeTags": ("instance", "command"),  # unsettled: the guide's resources
    "ecs:CreateCommand": ("command",),
    "ecs:DescribeCommands": ("command",),
    "ecs:DeleteCommand": ("command",),
    "ecs:InvokeCommand": ("instance", "command"),
    "ecs:RunCommand": ("instance",),
    "ecs:DescribeInvocations": ("instance", "command"),
    "ecs:DescribeInvocationResults": ("instance", "command"),
    "ecs:StopInvocation": ("instance",),
    "ecs:DescribeCloudAssistantStatus": ("instance",),
    "ecs:InstallCloudAssistant": ("instance",),
    "ecs:DescribeDisks": ("disk",),
    "ecs:CreateSnapshot": ("disk", "snapshot", "volume"),  # volume: the 2021 table's reading
    "ecs:DescribeSnapshots": ("snapshot",),
    "oos:StartExecution": ("execution", "template"),  # template: the older page's reading
    "oos:ListExecutions": ("execution",),
    "oos:GetExecution": ("execution",),  # unsettled: no such API (the guide's name)
    "oos:ListExecutionLogs": ("execution",),
    "oos:ListTaskExecutions": ("execution",),
    "oos:CancelExecution": ("execution",),
    "oos:ListTemplates": ("template",),  # unsettled
    "oos:GetTemplate": ("template",),  # unsettled
    "oos:ListPatchBaselines": ("patchbaseline",),
    "oos:GetPatchBaseline": ("patchbaseline",),  # unsettled
    "oos:ListInstancePatches": ("*",),
    "oos:ListInstancePatchStates": ("*",),
}


def resource_kind(resource: str) -> str:
    """``instance`` of ``acs:ecs:r:a:instance/i-1``; ``*`` for ``*``."""
    if resource == "*":
        return "*"
    return resource.split(":", 4)[-1].split("/", 1)[0]


def _by_type(
    actions: Sequence[str], resources: Sequence[str], condition: Document | None = None
) -> list[Document]:
    """One statement per distinct set of resources: each action gets the resources of its types.

    ``*`` serves every action; an action whose types none of ``resources`` has gets ``*`` only
    when it has no resource-level permission, else it is left out (the caller names its type).
    """
    groups: dict[tuple[str, ...], list[str]] = {}
    for action in actions:
        kinds = RESOURCE_KINDS[action]
        if kinds == ("*",):
            mine = ("*",)
        else:
            mine = tuple(r for r in resources if r == "*" or resource_kind(r) in kinds)
        if mine:
            groups.setdefault(mine, []).append(action)
    return [_allow(group, list(mine), condition) for mine, group in groups.items()]


def tag_condition(condition: Document | None, instance_tags: Mapping[str, str]) -> Document:
    """``condition`` and ``StringEquals acs:ResourceTag/<key>: <value>`` for each tag (all must hold)."""
    merged = {operator: dict(keys) for operator, keys in (condition or {}).items()}
    merged.setdefault("StringEquals", {}).update(
        {f"{RESOURCE_TAG_PREFIX}{key}": value for key, value in instance_tags.items()}
    )
    return merged


def _by_type_tagged(
    actions: Sequence[str],
    resources: Sequence[str],
    condition: Document | None = None,
    instance_tags: Mapping[str, str] | None = None,
) -> list[Document]:
    """``_by_type``; with ``instance_tags``, the instance ARNs only where the instance carries them.

    The cloud's documented tag-scoped form ("use tags to control the running of Cloud Assistant
    commands"): ``instance/*`` under ``StringEquals acs:ResourceTag/<key>`` and ``command/*`` in a
    statement of its own, since a command carries no instance tag. Every action authorised on an
    instance is held to the tag, the Describe ones too: where the cloud would not present the tag
    for one, that call is refused (closed), never widened to every instance of the region.
    """
    if not instance_tags:
        return _by_type(actions, resources, condition)
    instances = [r for r in resources if resource_kind(r) == "instance"]
    others = [r for r in resources if resource_kind(r) != "instance"]
    on_instances = [a for a in actions if "instance" in RESOURCE_KINDS[a]]
    return [
        *_by_type(on_instances, instances, tag_condition(condition, instance_tags)),
        *_by_type(actions, others, condition),
    ]


def listing_arns(resources: Sequence[str]) -> list[str]:
    """``instance/*`` of each region the named instances are in: what listing them is checked on."""
    return list(
        dict.fromkeys(
            f"{r.rsplit(':', 1)[0]}:instance/*" for r in resources if resource_kind(r) == "instance"
        )
    )


@dataclass(frozen=True)
class PatchScope:
    """The resources each statement of the patch-management policy may touch."""

    oos: tuple[str, ...]
    instances: tuple[str, ...]
    snapshots: tuple[str, ...]
    # What a person may start. OOS authorises oos:StartExecution on execution/* only (current API
    # page; no condition key names the template), so a person who may start executions and pass
    # the automation role can run any template, an inline one too, as that role: the role itself
    # is the bound (docs/scenarios.md, patch management). The patch template's ARN stays for the
    # older page's reading (template and execution), under which only that template starts.
    start: tuple[str, ...] = ("acs:oos:*:*:execution/*", f"acs:oos:*:*:template/{PATCH_TEMPLATE}")
    # The Cloud Assistant commands the patch run creates and reads (RunCommand makes one per run).
    commands: tuple[str, ...] = ()
    # The system disks the template snapshots: their ids are not known before the run, so every
    # disk of the account in the stack's region (snapshots stay in the account: no copy, share
    # or delete action). volume/*: the 2021 table also authorises CreateSnapshot on the volume.
    disks: tuple[str, ...] = ()
    # Listing instances (the template's SelectTargets) is checked against instance/*.
    listing: tuple[str, ...] = ()
    # Tag-scoped fleets: the instance statements hold only where every (key, value) is on the instance.
    instance_tags: tuple[tuple[str, str], ...] = ()

    @classmethod
    def wildcard(cls) -> PatchScope:
        return cls(oos=("*",), instances=("*",), snapshots=("*",))

    @classmethod
    def arns(
        cls,
        region: str,
        account: str,
        instance_ids: Sequence[str] = (),
        instance_tags: Mapping[str, str] | None = None,
    ) -> PatchScope:
        """The guide's production hardening: every statement narrowed to ARN patterns, and the
        instances to the listed ids or (``instance_tags``) to those carrying the fleet's tags."""
        instances = tuple(arn("ecs", region, account, f"instance/{i}") for i in instance_ids) or (
            arn("ecs", region, account, "instance/*"),
        )
        return cls(
            oos=(
                arn("oos", region, account, "execution/*"),
                arn("oos", region, account, f"template/{PATCH_TEMPLATE}"),
                arn("oos", region, account, "patchbaseline/*"),
            ),
            instances=instances,
            snapshots=(arn("ecs", region, account, "snapshot/*"),),
            start=(
                arn("oos", region, account, "execution/*"),
                arn("oos", region, account, f"template/{PATCH_TEMPLATE}"),
            ),
            commands=(arn("ecs", region, account, "command/*"),),
            disks=(arn("ecs", region, account, "disk/*"), arn("ecs", region, account, "volume/*")),
            listing=(arn("ecs", region, account, "instance/*"),),
            instance_tags=tuple(sorted((instance_tags or {}).items())),
        )


def _patch_oos(actions: Sequence[str], scope: PatchScope) -> list[Document]:
    return _by_type(actions, scope.oos)


def patch_management_policy(scope: PatchScope, *, create_snapshot: bool) -> Document:
    """Seed 000: scan and install OS patches through OOS.

    Each action on the resources of its own types. Besides the guide's actions the role holds what
    ACS-ECS-BulkyApplyPatchBaseline calls (ecs:RunCommand, and ecs:DescribeDisks before a
    snapshot). The snapshot statements exist only when the stack turns ``whetherCreateSnapshot``
    on; there is never an ``ecs:DeleteSnapshot`` because snapshots expire through ``retentionDays``.
    """
    statements = _patch_oos(PATCH_OOS_ACTIONS, scope)
    if scope.listing:
        listed = [a for a in PATCH_ECS_ACTIONS if a != INSTANCE_LIST_ACTION]
        statements.append(_allow([INSTANCE_LIST_ACTION], scope.listing))
    else:
        listed = list(PATCH_ECS_ACTIONS)
    statements += _by_type_tagged(
        listed, (*scope.instances, *scope.commands), instance_tags=dict(scope.instance_tags)
    )
    if create_snapshot:
        statements += _by_type(PATCH_SNAPSHOT_ACTIONS, (*scope.disks, *scope.snapshots))
    return _document(*statements)


PATCH_START_ACTION = "oos:StartExecution"
# The template's parameter that names the RAM role OOS runs the execution under
# (ACS-ECS-BulkyApplyPatchBaseline: "RamRole": "{{ OOSAssumeRole }}").
PATCH_ROLE_PARAMETER = "OOSAssumeRole"


def patch_operator_policy(scope: PatchScope, role_arns: Sequence[str]) -> Document:
    """Seed 000 split in two: a person starts and follows patch executions, a role runs them.

    The operator gets the guide's OOS actions and ``ram:PassRole`` on the automation role, which
    OOS assumes through the template's ``OOSAssumeRole`` parameter; no ECS action, so the person
    never invokes a command directly.
    """
    others = [a for a in PATCH_OOS_ACTIONS if a != PATCH_START_ACTION]
    return _document(
        _allow([PATCH_START_ACTION], scope.start),
        *_patch_oos(others, scope),
        _allow([PASS_ROLE_ACTION], role_arns),
    )


def command_user_policy(
    *,
    mode: str,
    resources: Sequence[str],
    run_as_users: Sequence[str] = (),
    denied_users: Sequence[str] = PRIVILEGED_OS_USERS,
    instance_tags: Mapping[str, str] | None = None,
) -> Document:
    """Seed 001 ``commandUserPolicy``: Cloud Assistant as a regular OS user.

    With ``instance_tags`` (a tag-scoped fleet) the instance statements hold only on instances
    carrying every tag, so the document stays the same size whatever the fleet's size; listing
    the region's instances stays unconditioned (it shows which carry the tag).

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
    # Only RunCommand and InvokeCommand carry ecs:CommandRunAs (ECS API pages, RAM authorization
    # tables): on the guide's other actions the condition can never match, so the guide's one
    # statement denies creating, deleting and stopping commands. They get their own statement.
    # Each action on the resources of its own types (RunCommand on instances, CreateCommand on
    # commands, ...); listing instances (the console's Cloud Assistant page) on instance/* of
    # their region, which exposes the region's instance attributes, never their console, user
    # data or another run's output.
    others = [a for a in CLOUD_ASSISTANT_ACTIONS if a not in COMMAND_ACTIONS]
    runs = [a for a in CLOUD_ASSISTANT_ACTIONS if a in COMMAND_ACTIONS]
    listing = [r for r in listing_arns(resources) if instance_tags or r not in resources]
    if listing:
        others = [a for a in others if a != INSTANCE_LIST_ACTION]
    statements = [
        *_by_type_tagged(runs, resources, condition, instance_tags),
        *_by_type_tagged(others, resources, None, instance_tags),
    ]
    if listing:
        statements.append(_allow([INSTANCE_LIST_ACTION], listing))
    return _document(*statements)


# What the guide's task reads besides running commands (seed 001: pick instances, see their Cloud
# Assistant status, the commands and the results of the runs). Strict stacks grant exactly these,
# on the command policy's instances and commands, instead of the system policy
# AliyunECSReadOnlyAccess, whose ecs:Describe* on "*" also opens every instance's console
# (DescribeInstanceVncUrl), user data (DescribeUserData) and every run's output in the account.
CLOUD_ASSISTANT_READ_ACTIONS = tuple(a for a in CLOUD_ASSISTANT_ACTIONS if a.startswith("ecs:Describe"))


INSTANCE_LIST_ACTION = "ecs:DescribeInstances"


def command_user_read_policy(
    resources: Sequence[str], listing: Sequence[str] = (), instance_tags: Mapping[str, str] | None = None
) -> Document:
    """Strict stacks' read policy for the command user: the guide's Describe actions, scoped.

    ``listing`` (``instance/*`` of each region): the console's Cloud Assistant page lists the
    region's instances with DescribeInstances, which RAM checks against ``instance/*``, so a
    policy naming instances cannot list them. It exposes the instances' attributes, never their
    console (DescribeInstanceVncUrl), user data or another run's output.
    """
    reads = [a for a in CLOUD_ASSISTANT_READ_ACTIONS if not (listing and a == INSTANCE_LIST_ACTION)]
    statements = _by_type_tagged(reads, resources, None, instance_tags)
    if listing:
        statements.append(_allow([INSTANCE_LIST_ACTION], listing))
    return _document(*statements)


# What the Windows guide's user reads in OOS: that the hosted parameter exists (its metadata).
# Strict stacks grant this instead of AliyunOOSReadOnlyAccess, whose oos:Get* includes
# oos:GetSecretParameter (every secret parameter of the account, decrypted) and every execution.
PARAMETER_LIST_ACTIONS = ("oos:ListSecretParameters",)


def parameter_list_policy(resources: Sequence[str]) -> Document:
    return _document(_allow(PARAMETER_LIST_ACTIONS, resources))


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


# --- seed 001, Windows part: the logon password hosted in OOS, encrypted with KMS ---------------
KMS_USER_ACTIONS = ("kms:List*", "kms:Describe*", "kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey")
SECRET_READER_KMS_ACTIONS = ("kms:GetSecretValue",)
SECRET_READER_OOS_ACTIONS = ("oos:GetSecretParameter",)


def secret_parameter_arn(region: str, account: str, name: str) -> str:
    return arn("oos", region, account, f"secretparameter/{name}")


# What the command user keeps of kmsPolicy: reading key metadata, never a cryptographic action.
# The guide's Encrypt/GenerateDataKey served writing the parameter, which Pulumi does now, and
# Decrypt would let the user read any secret the key protects.
KMS_USER_READ_ACTIONS = ("kms:List*", "kms:Describe*")
KMS_USER_SCOPED_ACTIONS = ("kms:DescribeKey", "kms:ListAliasesByKeyId")


def kms_key_arn(region: str, account: str, key_id: str) -> str:
    """``acs:kms:<region>:<account>:key/<id>``, or ``alias/<name>`` for an alias."""
    return arn("kms", region, account, key_id if key_id.startswith("alias/") else f"key/{key_id}")


def oos_secret_arn(region: str, account: str, parameter: str) -> str:
    """The KMS secret behind an OOS secret parameter: OOS keeps it as ``oos/<parameter name>``."""
    return arn("kms", region, account, f"secret/oos/{parameter}")


def kms_user_policy(key_resources: Sequence[str] | None = None) -> Document:
    """Seed 001 ``kmsPolicy``.

    Without ``key_resources`` it is the guide's document (list keys and encrypt/decrypt with any,
    on ``*``). With them, only key metadata of those keys: the parameter is written by Pulumi and
    read by the instance role, so the user needs no cryptographic action.
    """
    if key_resources is None:
        return _document(_allow(KMS_USER_ACTIONS, ["*"]))
    if list(key_resources) == ["*"]:
        return _document(_allow(KMS_USER_READ_ACTIONS, ["*"]))
    return _document(_allow(KMS_USER_SCOPED_ACTIONS, key_resources))


def secret_reader_policy(
    parameter_resources: Sequence[str],
    secret_resources: Sequence[str] = ("*",),
    key_resources: Sequence[str] = (),
) -> Document:
    """Seed 001: what the Windows instance role needs to read the hosted logon password.

    The guide has both on ``*``; the stacks name the parameter's ARN and the KMS secret OOS keeps
    it in, so the instance role (whose credentials any OS user of the instance can fetch from the
    metadata service) reads that one password and nothing else.
    """
    statements = [
        _allow(SECRET_READER_KMS_ACTIONS, secret_resources),
        _allow(SECRET_READER_OOS_ACTIONS, parameter_resources),
    ]
    if key_resources:
        # A parameter encrypted with a customer-managed key: kms:GetSecretValue depends on
        # kms:Decrypt on that key (KMS API page, dependent actions), on exactly that key.
        statements.append(_allow([KMS_DECRYPT_ACTION], key_resources))
    return _document(*statements)


KMS_DECRYPT_ACTION = "kms:Decrypt"


# --- seed 003 (and seed 002, section 5): instance RAM roles -------------------------------------
INSTANCE_ROLE_SERVICE = "ecs.aliyuncs.com"
OSS_READ_ACTIONS = ("oss:Get*", "oss:List*")
# Seed 003, step 6: "ecs:[ECS RAM Action]" is read as the two read actions the console needs to
# show and pick instances and their roles; the guide's "DetachInstanceRAMRole" is spelt as the
# API action (RAM action names are case-insensitive, the API's spelling is canonical).
INSTANCE_ROLE_OPERATOR_ACTIONS = (
    "ecs:DescribeInstances",
    "ecs:DescribeInstanceRamRole",
    "ecs:AttachInstanceRamRole",
    "ecs:DetachInstanceRamRole",
)
INSTANCE_ROLE_ATTACH_ACTIONS = ("ecs:AttachInstanceRamRole", "ecs:DetachInstanceRamRole")
CREATE_INSTANCE_ACTION = "ecs:CreateInstance"
PASS_ROLE_ACTION = "ram:PassRole"


def role_arn(account: str, role_name: str) -> str:
    """A RAM role's ARN, as a PassRole statement names it: ``acs:ram::<account>:role/<name>``
    (RAM is global, so the region part is empty; the guides' ``acs:ram:*:*:`` form would match
    a role of that name in any account)."""
    return f"acs:ram::{account}:role/{role_name}"


def _any_region(ram_arn: str) -> str:
    """``acs:ram::<account>:...`` with '*' for its (empty) region part."""
    return ram_arn.replace("acs:ram::", "acs:ram:*:", 1)


def oss_bucket_arns(account: str, bucket: str) -> list[str]:
    """A bucket and its objects: ``acs:oss:*:<account>:<bucket>`` and ``.../*``."""
    return [arn("oss", "*", account, bucket), arn("oss", "*", account, f"{bucket}/*")]


def oss_read_policy(bucket_resources: Sequence[str] = ("*",)) -> Document:
    """Seed 003 ``EcsRamRoleDocumentTestingPolicy`` / seed 002 ``ECIRamRoleTestPolicy``: the guide's
    ``oss:Get*``/``oss:List*``, on ``*`` (the guide) or on named buckets and their objects."""
    return _document(_allow(OSS_READ_ACTIONS, bucket_resources))


def pass_role_policy(role_arns: Sequence[str]) -> Document:
    """Seed 002 section 5: the user may hand exactly these roles to the instances it creates."""
    return _document(_allow([PASS_ROLE_ACTION], role_arns))


def instance_role_operator_policy(
    *,
    instance_resources: Sequence[str],
    role_arns: Sequence[str],
    create_instance_resources: Sequence[str] = (),
    listing: Sequence[str] = (),
) -> Document:
    """Seed 003 step 6: attach/detach the instance role, and ``ram:PassRole`` on that role only.

    The guide's example passes any role (``Resource: "*"``); here PassRole names the one role
    the scenario creates. ``ecs:CreateInstance`` is added only when the stack asks for it.
    """
    statements = [_allow(INSTANCE_ROLE_OPERATOR_ACTIONS, instance_resources)]
    # Attach/DetachInstanceRamRole are authorised on the instance and the role (ECS API pages):
    # both sides named, the listed instances above and this role only.
    # ECS authorises the attach on the role as acs:ram:{#regionId}:{#accountId}:role/{#roleName}
    # (reference/alicloud/ecs.yaml): a region part, where a role's own ARN has none. The region
    # part of the role is '*' here, so the role matches whichever region the call names.
    statements.append(_allow(INSTANCE_ROLE_ATTACH_ACTIONS, [_any_region(r) for r in role_arns]))
    if listing:
        statements.append(_allow([INSTANCE_LIST_ACTION], listing))
    if create_instance_resources:
        statements.append(_allow([CREATE_INSTANCE_ACTION], create_instance_resources))
    statements.append(_allow([PASS_ROLE_ACTION], role_arns))
    return _document(*statements)


# --- seed 002: Elastic Container Instance ----------------------------------------------------
ECI_SERVICE = "eci.aliyuncs.com"
ECI_VNODE_SERVICE = "vnode.eci.aliyuncs.com"
# Section 2: what the ECI console needs beyond AliyunECIFullAccess, one statement per service
# as in the guide.
ECI_CONSOLE_STATEMENTS: tuple[tuple[str, ...], ...] = (
    ("ram:ListRoles",),
    ("nas:DescribeFileSystems",),
    ("oss:ListBuckets",),
    ("vpc:DescribeCommonBandwidthPackages",),
    ("cr:GetRepoList", "cr:GetRepoTags", "cr:GetImageManifest", "cr:SearchRepo"),
)
# Section 4: the read-only statements the tag-based policy keeps from AliyunECIFullAccess.
ECI_TAG_READ_ECS_ACTIONS = ("ecs:DescribeSecurityGroups",)
ECI_TAG_READ_VPC_ACTIONS = ("vpc:DescribeVSwitches", "vpc:DescribeVpcs", "vpc:DescribeEipAddresses")
ECI_CREATE_ACTIONS = ("eci:Create*",)
ECI_ALL_ACTIONS = ("eci:*",)
ECI_DESCRIBE_ACTIONS = ("eci:Describe*",)
CREATE_SERVICE_LINKED_ROLE_ACTION = "ram:CreateServiceLinkedRole"


def eci_console_policy() -> Document:
    """Seed 002 section 2: the custom policy a console user needs next to AliyunECIFullAccess."""
    return _document(*(_allow(actions, ["*"]) for actions in ECI_CONSOLE_STATEMENTS))


def eci_tag_policy(tag_key: str, tag_value: str, owner: tuple[str, str] | None = None) -> Document:
    """Seed 002 section 4: ECI only on resources tagged ``<tag_key>=<tag_value>``.

    Create only with the tag in the request (``acs:RequestTag``), operate only on resources that
    carry it (``acs:ResourceTag``), query only by the tag; plus the guide's read-only network
    statements and the service-linked roles ECI creates on first use.

    With ``owner`` (``(key, user name)``, strict stacks), every ECI statement also requires that
    second tag: the user creates groups only tagged as its own and creates, describes, deletes and
    execs into those only, never into a group of its environment someone else created. It cannot
    put its tag on another's group (tagging one needs the tag already there).
    """
    request_tags = {f"acs:RequestTag/{tag_key}": tag_value}
    resource_tags = {f"acs:ResourceTag/{tag_key}": tag_value}
    if owner is not None:
        request_tags[f"acs:RequestTag/{owner[0]}"] = owner[1]
        resource_tags[f"acs:ResourceTag/{owner[0]}"] = owner[1]
    request = {"StringEquals": request_tags}
    resource = {"StringEquals": resource_tags}
    return _document(
        _allow(ECI_CREATE_ACTIONS, ["*"], request),
        _allow(ECI_ALL_ACTIONS, ["*"], resource),
        _allow(ECI_DESCRIBE_ACTIONS, ["*"], request),
        _allow(ECI_TAG_READ_ECS_ACTIONS, ["*"]),
        _allow(ECI_TAG_READ_VPC_ACTIONS, ["*"]),
        _allow(
            [CREATE_SERVICE_LINKED_ROLE_ACTION],
            ["*"],
            {"StringEquals": {"ram:ServiceName": [ECI_SERVICE, ECI_VNODE_SERVICE]}},
        ),
    )


# --- tag-scoped fleets: the granting tag is a credential -----------------------------------------
# Whoever may set a fleet tag on an instance gains commands there, and through the instance its
# role. The ECS pages print no condition key for these calls (TagResources/UntagResources: none in
# the key column; AddTags/RemoveTags/RunInstances/CreateInstance: no acs:TagKeys or acs:RequestTag),
# so a deny conditioned on the fleet's key could silently never match: the guard denies the calls
# outright. No stack principal tags or creates instances for its task.
TAG_INSTANCE_ACTIONS = ("ecs:TagResources", "ecs:UntagResources")  # authorised on instance/* (ECS page)
# Deprecated tag calls whose reference rows are unsettled (placeholder '*'): denied on every resource.
TAG_LEGACY_ACTIONS = ("ecs:AddTags", "ecs:RemoveTags")
# Creating an instance may set its tags; RunInstances/CreateInstance are authorised on '*'.
CREATE_INSTANCE_ACTIONS = ("ecs:RunInstances", "ecs:CreateInstance")
# The Tag service tags any resource by its ARN (an instance's too) and authorises on all resources
# (Tag 2018-08-28 pages; tag.yaml). Its untag call also needs the owning service's own call, which
# the ECS denies already refuse; the tag: denies stand on their own should that ever change.
TAG_SERVICE_ACTIONS = ("tag:TagResources", "tag:UntagResources")
# Other ways to a tagged instance the ECS page authorises: a launch template (and its versions)
# carries the tags of the instances Auto Scaling or an auto provisioning group creates from it; an
# auto provisioning group creates tagged instances itself; an activation registers outside servers
# as managed instances with its tags. Auto Scaling's scaling configurations also carry instance
# tags, but no Auto Scaling authorization row was read (docs/scenarios.md).
TAGGED_INSTANCE_SOURCE_ACTIONS = (
    "ecs:CreateLaunchTemplate",
    "ecs:CreateLaunchTemplateVersion",
    "ecs:CreateAutoProvisioningGroup",
    "ecs:CreateActivation",
)

# Every call above: what an account-level control policy denies to all but the deploy and admin roles.
INSTANCE_TAG_WRITES = (
    *TAG_INSTANCE_ACTIONS,
    *TAG_LEGACY_ACTIONS,
    *CREATE_INSTANCE_ACTIONS,
    *TAG_SERVICE_ACTIONS,
    *TAGGED_INSTANCE_SOURCE_ACTIONS,
)


def fleet_tag_guard_policy() -> Document:
    """Deny adding, changing or removing any instance tag, and creating instances (with tags)."""
    return _document(
        {"Effect": "Deny", "Action": list(TAG_INSTANCE_ACTIONS), "Resource": ["acs:ecs:*:*:instance/*"]},
        {
            "Effect": "Deny",
            "Action": [
                *TAG_LEGACY_ACTIONS,
                *CREATE_INSTANCE_ACTIONS,
                *TAG_SERVICE_ACTIONS,
                *TAGGED_INSTANCE_SOURCE_ACTIONS,
            ],
            "Resource": ["*"],
        },
    )
