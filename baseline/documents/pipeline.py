"""S7: the pipeline's own identities. GitHub OIDC trust and least-privilege deployer policies.

Pure functions of typed data, no Pulumi import. Two things live here:

- the trust documents of the roles GitHub Actions assumes: the GitHub issuer, the audience, and
  subjects that name one repository, one GitHub environment *and* the workflow files (and refs)
  that run in it (never a repository wildcard);
- ``RESOURCE_ACTIONS``: for every resource type the program can register, the API actions a
  deployer needs to read it (preview, refresh) and to create, update and delete it. The deploy
  and preview policies, and the policy a human deployer needs (``baseline deployer-policy``),
  are built from this one mapping; ``tests/test_pipeline.py`` checks that every type any stack's
  plan registers is in it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from baseline.documents.alicloud import INSTANCE_TAG_WRITES

Document = dict[str, Any]
Cloud = Literal["alicloud", "aws"]

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
GITHUB_ISSUER_HOST = "token.actions.githubusercontent.com"
# Audiences (client ids): what each cloud's credentials action asks GitHub to put in `aud`.
# aliyun/configure-aliyun-credentials-action defaults to sts.aliyuncs.com; configure-aws-credentials
# always uses sts.amazonaws.com.
ALICLOUD_AUDIENCE = "sts.aliyuncs.com"
AWS_AUDIENCE = "sts.amazonaws.com"
# Condition keys each cloud sets from the token's claims.
RAM_ISSUER_KEY, RAM_AUDIENCE_KEY, RAM_SUBJECT_KEY = "oidc:iss", "oidc:aud", "oidc:sub"
AWS_AUDIENCE_KEY = f"{GITHUB_ISSUER_HOST}:aud"
AWS_SUBJECT_KEY = f"{GITHUB_ISSUER_HOST}:sub"
# RAM: AssumeRoleWithOIDC is authorised as sts:AssumeRole on a role whose trust names the
# provider as a Federated principal; IAM: sts:AssumeRoleWithWebIdentity.
RAM_ASSUME_ACTION = "sts:AssumeRole"
AWS_ASSUME_ACTION = "sts:AssumeRoleWithWebIdentity"


# The repository's OIDC subject template (set once, docs/operations.md section 8):
#   PUT /repos/OWNER/REPO/actions/oidc/customization/sub
#   {"use_default": false,
#    "include_claim_keys": ["repository_owner_id", "repository_id", "context", "job_workflow_ref"]}
# GitHub then issues, to a job in an environment,
#   `repository_owner_id:<id>:repository_id:<id>:environment:<name>:job_workflow_ref:<workflow>@<ref>`
# (each claim as `key:value`, in the template's order; GitHub's OIDC reference, "Customizing the
# subject claims"). `job_workflow_ref` is the workflow file that defines the job and the ref it was
# read from, `owner/repo/.github/workflows/deploy.yml@refs/heads/main` after a push to main,
# `...@refs/pull/<n>/merge` in a pull request's run. The environment alone is not enough: a pull
# request whose head is main, into a base branch that adds a workflow, runs that workflow with the
# environment's "main only" rule checked against its head, `main`; its `job_workflow_ref` names the
# pull request's merge ref, which no real environment's role trusts.
# Both clouds can condition a trust on `sub` only: IAM supports no custom claims of GitHub's tokens
# (GitHub's "Configuring OpenID Connect in AWS": "Support for custom claims for OIDC is unavailable
# in AWS"), and RAM's OIDC trust conditions are `oidc:iss`, `oidc:aud` and `oidc:sub`. So the ids
# and the workflow travel in `sub`: a re-created repository or owner (new ids) never matches, and a
# renamed repository or workflow file (a new `job_workflow_ref`) needs the pipeline stack updated.
SUBJECT_CLAIM_KEYS = ("repository_owner_id", "repository_id", "context", "job_workflow_ref")
WORKFLOWS_DIR = ".github/workflows"


def workflow_ref(repository: str, workflow: str, ref: str) -> str:
    """The `job_workflow_ref` claim of a job defined in ``workflow`` (a file name) read at ``ref``."""
    return f"{repository}/{WORKFLOWS_DIR}/{workflow}@{ref}"


def github_subject(
    repository_owner_id: int, repository_id: int, environment: str, job_workflow_ref: str
) -> str:
    """The `sub` claim GitHub issues, under the template above, to a job in ``environment``."""
    return (
        f"repository_owner_id:{repository_owner_id}:repository_id:{repository_id}"
        f":environment:{environment}:job_workflow_ref:{job_workflow_ref}"
    )


def _subject_condition(key: str, subjects: Sequence[str]) -> dict[str, dict[str, Any]]:
    """StringEquals on the exact subjects; StringLike only when a subject has a wildcard (the
    sandbox's pull request runs, whose ref carries the pull request's number)."""
    value: str | list[str] = subjects[0] if len(subjects) == 1 else sorted(subjects)
    operator = "StringLike" if any("*" in s for s in subjects) else "StringEquals"
    return {operator: {key: value}}


def ram_oidc_provider_arn(account: str, name: str) -> str:
    return f"acs:ram::{account}:oidc-provider/{name}"


def iam_oidc_provider_arn(account: str) -> str:
    # IAM names the provider after the issuer's host: one provider per issuer per account.
    return f"arn:aws:iam::{account}:oidc-provider/{GITHUB_ISSUER_HOST}"


def ram_oidc_trust(provider_arn: str, subjects: Sequence[str], audience: str = ALICLOUD_AUDIENCE) -> Document:
    """RAM trust: the GitHub provider, its issuer and audience, and one of these subjects.

    RAM requires ``oidc:iss`` and ``oidc:aud`` with StringEquals; ``oidc:sub`` is what narrows
    the role to one repository, one GitHub environment and the workflows that use it on main.
    """
    condition: dict[str, dict[str, Any]] = {
        "StringEquals": {RAM_ISSUER_KEY: GITHUB_ISSUER, RAM_AUDIENCE_KEY: audience}
    }
    for operator, keys in _subject_condition(RAM_SUBJECT_KEY, subjects).items():
        condition.setdefault(operator, {}).update(keys)
    return {
        "Version": "1",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": RAM_ASSUME_ACTION,
                "Principal": {"Federated": [provider_arn]},
                "Condition": condition,
            }
        ],
    }


def iam_oidc_trust(provider_arn: str, subjects: Sequence[str]) -> Document:
    """IAM trust: GitHub's provider, the audience configure-aws-credentials asks for, one of these
    subjects."""
    condition: dict[str, dict[str, Any]] = {"StringEquals": {AWS_AUDIENCE_KEY: AWS_AUDIENCE}}
    for operator, keys in _subject_condition(AWS_SUBJECT_KEY, subjects).items():
        condition.setdefault(operator, {}).update(keys)
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": AWS_ASSUME_ACTION,
                "Principal": {"Federated": provider_arn},
                "Condition": condition,
            }
        ],
    }


# --- what each resource type needs ---------------------------------------------------------------


# A resource no name matches (a role without any secret parameter to reach still gets a valid
# statement; RAM and IAM refuse empty Resource lists).
NO_NAME = "-none-"


@dataclass(frozen=True)
class Scope:
    """Where a deployer may act: one account, and only names that start with ``prefix``."""

    account: str
    prefix: str = ""
    # Names the deployer must never touch although they match the prefix: the pipeline's own
    # roles and OIDC providers (a deployer that could edit its own trust could widen it).
    protected_roles: tuple[str, ...] = ()
    protected_oidc_providers: tuple[str, ...] = ()
    protected_policies: tuple[str, ...] = ()
    # RAM roles the deployer may hand to ECS instances (ram:PassRole); empty: ``<prefix>*`` when
    # there is a prefix, none without one.
    pass_roles: tuple[str, ...] = ()
    # The Pulumi state backend on S3 (bucket name) and the awskms secrets provider's key, when
    # the pipeline uses them: every run reads its stack's state and decrypts its secrets.
    state_bucket: str | None = None
    secrets_key_arn: str | None = None
    # Policies the deployed stack attaches but does not create (``spec.deployer_reach`` of the
    # environment's stack): RAM system policy names, AWS managed policy ARNs. Attaching any other
    # system or managed policy (AdministratorAccess above all) is refused.
    system_policies: tuple[str, ...] = ()
    managed_policy_arns: tuple[str, ...] = ()
    # Without a prefix (prod) the secret parameters are named one by one.
    secret_parameters: tuple[str, ...] = ()
    # ``exact``: the deployer is held to the identities its stack creates, by exact name (dev,
    # staging, prod: ``spec.deployer_reach``); otherwise to ``prefix`` (the sandbox, whose accounts
    # hold nothing else). Names are the cloud's: RAM users/roles/policies, or IAM roles/policies.
    exact: bool = False
    users: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    policies: tuple[str, ...] = ()
    boundaries: tuple[str, ...] = ()  # IAM: the boundary policies its stack's roles carry
    # IAM: those of them the pipeline stack creates (the sandbox's): no deployer writes them.
    owned_boundaries: tuple[str, ...] = ()
    # The DIY state backend: objects under ``<state_root>/.pulumi/`` of project ``state_project``;
    # the deployer reaches only the stacks in ``state_stacks`` (``test-pr-*`` in the sandbox).
    state_root: str = ""
    state_project: str = ""
    state_stacks: tuple[str, ...] = ()
    # ECS instances ("<region>/<id>") the stack attaches its instance roles to, and those roles:
    # ecs:AttachInstanceRamRole is authorised on the instance and the role, both held to these.
    instances: tuple[str, ...] = ()
    instance_roles: tuple[str, ...] = ()
    # Users the stack grants a resource group's policy but does not create: attach and detach only.
    attach_users: tuple[str, ...] = ()
    # The stack's OOS secret parameters' regions and customer keys ("<region>/<key id>").
    secret_regions: tuple[str, ...] = ()
    secret_keys: tuple[str, ...] = ()

    def named(self, kind: str) -> tuple[str, ...]:
        return {"user": self.users, "role": self.roles, "policy": self.policies}[kind]

    def secret_parameter_arns(self) -> list[str]:
        base = f"acs:oos:*:{self.account}:secretparameter/"
        if self.prefix:
            return [f"{base}{self.prefix}*"]
        return [base + name for name in self.secret_parameters] or [f"{base}{NO_NAME}"]

    def instance_arns(self) -> list[str]:
        """The instances the deployer attaches roles to: its stack's by id; the sandbox's any of its
        account (its accounts hold nothing else), as are its roles (``<prefix>*``)."""
        if not self.exact:
            return [f"acs:ecs:*:{self.account}:instance/*"]
        return [
            f"acs:ecs:{where.split('/', 1)[0]}:{self.account}:instance/{where.split('/', 1)[1]}"
            for where in self.instances
        ] or [f"acs:ecs:*:{self.account}:instance/{NO_NAME}"]

    def instance_role_arns(self) -> list[str]:
        if not self.exact:
            return self.pass_role_arns() or [f"acs:ram:*:{self.account}:role/{NO_NAME}"]
        names = self.instance_roles or self.pass_roles
        return [f"acs:ram:*:{self.account}:role/{r.lower()}" for r in names] or [
            f"acs:ram:*:{self.account}:role/{NO_NAME}"
        ]

    def kms_key_arns(self) -> list[str]:
        found = []
        for where in self.secret_keys:
            region, key = where.split("/", 1)
            name = key if key.startswith("alias/") else f"key/{key}"
            found.append(f"acs:kms:{region}:{self.account}:{name}")
        return found

    def pass_role_arns(self) -> list[str]:
        if self.pass_roles:
            return [f"acs:ram:*:{self.account}:role/{r.lower()}" for r in self.pass_roles]
        if self.exact:
            return [f"acs:ram:*:{self.account}:role/{r.lower()}" for r in self.roles]
        return [f"acs:ram:*:{self.account}:role/{self.prefix.lower()}*"] if self.prefix else []


@dataclass(frozen=True)
class ResourceActions:
    """The API actions one resource type needs, and the resources they apply to."""

    cloud: Cloud | None  # None: no cloud API (components, providers, the stack itself)
    read: tuple[str, ...] = ()
    write: tuple[str, ...] = ()
    resources: Callable[[Scope], list[str]] = field(default=lambda scope: ["*"])
    # Writes that must carry a condition (e.g. a permissions boundary); action -> Condition
    conditions: Callable[[Scope], dict[str, Document]] = field(default=lambda scope: {})
    # Writes on other resources than the type's own: (actions, resources) pairs.
    extra: Callable[[Scope], list[tuple[tuple[str, ...], list[str]]]] = field(default=lambda scope: [])
    # Reads on other resources than the type's own (a preview makes them too).
    read_extra: Callable[[Scope], list[tuple[tuple[str, ...], list[str]]]] = field(default=lambda scope: [])


def _ram_names(s: Scope, kind: str, service: str = "ram") -> list[str]:
    """RAM ARNs of ``kind`` the deployer reaches: its stack's by exact name, or the sandbox's
    prefix. RAM role ARNs carry the role name in lower case."""
    lower = (lambda n: n.lower()) if kind == "role" else (lambda n: n)
    if s.exact:
        return [f"acs:{service}:*:{s.account}:{kind}/{lower(n)}" for n in s.named(kind)] or [
            f"acs:{service}:*:{s.account}:{kind}/{NO_NAME}"
        ]
    return [f"acs:{service}:*:{s.account}:{kind}/{lower(s.prefix)}*"]


def _ram(kind: str) -> Callable[[Scope], list[str]]:
    return lambda s: _ram_names(s, kind)


def _ram_attach(kind: str) -> Callable[[Scope], list[str]]:
    # RAM authorises an attachment on the principal and on the policy: the prefix's own
    # principals and custom policies, and only the system policies the stack attaches.
    return lambda s: [
        *_ram(kind)(s),
        *_ram_names(s, "policy"),
        *(system_policy_arn(name) for name in s.system_policies),
    ]


def system_policy_arn(name: str) -> str:
    return f"acs:ram:*:system:policy/{name}"


def _iam_names(s: Scope, kind: str) -> list[str]:
    if s.exact:
        return [f"arn:aws:iam::{s.account}:{kind}/{n}" for n in s.named(kind)] or [
            f"arn:aws:iam::{s.account}:{kind}/{NO_NAME}"
        ]
    return [f"arn:aws:iam::{s.account}:{kind}/{s.prefix}*"]


def _iam(kind: str) -> Callable[[Scope], list[str]]:
    return lambda s: _iam_names(s, kind)


def _stack_boundaries(s: Scope) -> list[str]:
    """The boundaries the environment's stack puts on its roles, by exact ARN, in the sandbox too:
    a boundary matched by a prefix would be any policy the deployer writes itself (create policy
    ``pr-x`` allowing ``*``, create role ``pr-x`` behind it, attach, assume)."""
    return [f"arn:aws:iam::{s.account}:policy/{n}" for n in s.boundaries] or [
        f"arn:aws:iam::{s.account}:policy/{NO_NAME}"
    ]


def _attachable_policies(s: Scope) -> list[str]:
    """Customer policies a deploy role may attach: its stack's, never its stack's boundary."""
    boundaries = set(_stack_boundaries(s)) if s.exact else set()
    return [arn for arn in _iam_names(s, "policy") if arn not in boundaries]


_NONE = ResourceActions(cloud=None)
# RAM's tag calls have no resource-level permission (their API pages: ListTagResources, TagResources,
# UntagResources on * only), so naming the stack's identities grants nothing. Reading tags is
# harmless; writing them is the deploy role's only (no document the stacks render conditions on a RAM
# resource's tags, and a deploy role is its account's administrator already: docs/operations.md).
_RAM_TAG_READ = [(("ram:ListTagResources",), ["*"])]
_RAM_TAG_WRITE = [(("ram:TagResources", "ram:UntagResources"), ["*"])]
RESOURCE_ACTIONS: dict[str, ResourceActions] = {
    # --- Alibaba Cloud: RAM -------------------------------------------------------------------
    "alicloud:ram/user:User": ResourceActions(
        "alicloud",
        read=("ram:GetUser",),
        write=(
            "ram:CreateUser",
            "ram:UpdateUser",
            "ram:DeleteUser",
            # a forced delete (the stacks set force) lists groups and unbinds MFA first
            "ram:ListGroupsForUser",
            "ram:UnbindMFADevice",
        ),
        resources=_ram("user"),
        # Reading a user by id pages ListUsers, authorised on the account's users only.
        read_extra=lambda s: [(("ram:ListUsers",), [f"acs:ram:*:{s.account}:user/*"]), *_RAM_TAG_READ],
        extra=lambda s: _RAM_TAG_WRITE,
    ),
    "alicloud:ram/loginProfile:LoginProfile": ResourceActions(
        "alicloud",
        read=("ram:GetLoginProfile",),
        write=("ram:CreateLoginProfile", "ram:UpdateLoginProfile", "ram:DeleteLoginProfile"),
        resources=_ram("user"),
    ),
    "alicloud:ram/accessKey:AccessKey": ResourceActions(
        "alicloud",
        read=("ram:ListAccessKeys",),
        write=("ram:CreateAccessKey", "ram:UpdateAccessKey", "ram:DeleteAccessKey"),
        resources=_ram("user"),
    ),
    "alicloud:ram/role:Role": ResourceActions(
        "alicloud",
        read=("ram:GetRole",),
        write=("ram:CreateRole", "ram:UpdateRole", "ram:DeleteRole"),
        resources=_ram("role"),
        read_extra=lambda s: _RAM_TAG_READ,
        extra=lambda s: _RAM_TAG_WRITE,
    ),
    "alicloud:ram/policy:Policy": ResourceActions(
        "alicloud",
        read=(
            "ram:GetPolicy",
            "ram:GetPolicyVersion",
            "ram:ListPolicyVersions",
            "ram:ListEntitiesForPolicy",
        ),
        write=(
            "ram:CreatePolicy",
            "ram:DeletePolicy",
            "ram:CreatePolicyVersion",
            "ram:DeletePolicyVersion",
            "ram:SetDefaultPolicyVersion",
            "ram:UpdatePolicyDescription",
        ),
        resources=_ram("policy"),
        read_extra=lambda s: _RAM_TAG_READ,
        extra=lambda s: _RAM_TAG_WRITE,
    ),
    "alicloud:ram/userPolicyAttachment:UserPolicyAttachment": ResourceActions(
        "alicloud",
        read=("ram:ListPoliciesForUser",),
        write=("ram:AttachPolicyToUser", "ram:DetachPolicyFromUser"),
        resources=_ram_attach("user"),
    ),
    "alicloud:ram/rolePolicyAttachment:RolePolicyAttachment": ResourceActions(
        "alicloud",
        read=("ram:ListPoliciesForRole",),
        write=("ram:AttachPolicyToRole", "ram:DetachPolicyFromRole"),
        resources=_ram_attach("role"),
    ),
    "alicloud:ims/oidcProvider:OidcProvider": ResourceActions(
        "alicloud",
        read=("ram:GetOIDCProvider", "ram:ListOIDCProviders"),
        write=(
            "ram:CreateOIDCProvider",
            "ram:UpdateOIDCProvider",
            "ram:DeleteOIDCProvider",
            "ram:AddClientIdToOIDCProvider",
            "ram:RemoveClientIdFromOIDCProvider",
            "ram:AddFingerprintToOIDCProvider",
            "ram:RemoveFingerprintFromOIDCProvider",
        ),
        resources=lambda s: [f"acs:ram:*:{s.account}:oidc-provider/*"],
    ),
    # Resource Directory control policies: written from the management account by the bootstrap only
    # (the provider's calls: CreateControlPolicy ... DetachControlPolicy, read in the bridged
    # provider's resource_alicloud_resource_manager_control_policy*.go).
    "alicloud:resourcemanager/controlPolicy:ControlPolicy": ResourceActions(
        "alicloud",
        read=("resourcemanager:GetControlPolicy",),
        write=(
            "resourcemanager:CreateControlPolicy",
            "resourcemanager:UpdateControlPolicy",
            "resourcemanager:DeleteControlPolicy",
        ),
    ),
    "alicloud:resourcemanager/controlPolicyAttachment:ControlPolicyAttachment": ResourceActions(
        "alicloud",
        read=("resourcemanager:ListControlPolicyAttachmentsForTarget",),
        write=("resourcemanager:AttachControlPolicy", "resourcemanager:DetachControlPolicy"),
    ),
    # --- Alibaba Cloud: ECS, OOS, Resource Manager ----------------------------------------------
    "alicloud:ecs/ramRoleAttachment:RamRoleAttachment": ResourceActions(
        "alicloud",
        read=("ecs:DescribeInstances",),
        # Listing is authorised on instance/* only; the rest on the stack's own instances.
        resources=lambda s: [f"acs:ecs:*:{s.account}:instance/*"],
        # Attach and detach are authorised on the instance and the role: both held to the stack's
        # own, so the deployer can hand no role to another instance, nor another role to these.
        read_extra=lambda s: [
            (("ecs:DescribeInstanceRamRole",), [*s.instance_arns(), *s.instance_role_arns()])
        ],
        extra=lambda s: [
            (
                ("ecs:AttachInstanceRamRole", "ecs:DetachInstanceRamRole"),
                [*s.instance_arns(), *s.instance_role_arns()],
            ),
            # Attaching a role hands it to the instance: PassRole on the named instance roles only.
            *([(("ram:PassRole",), s.pass_role_arns())] if s.pass_role_arns() else []),
        ],
    ),
    "alicloud:oos/secretParameter:SecretParameter": ResourceActions(
        "alicloud",
        read=("oos:GetSecretParameter", "oos:ListTagResources"),  # the provider reads by name, lists nothing
        write=(
            "oos:CreateSecretParameter",
            "oos:UpdateSecretParameter",
            "oos:DeleteSecretParameter",
            "oos:TagResources",
            "oos:UntagResources",
        ),
        resources=lambda s: s.secret_parameter_arns(),
        # Reading the value decrypts with the parameter's customer key: Decrypt on exactly that key.
        # OOS also calls KMS's secret API with the caller's credentials (the OOS pages'
        # descriptions), but no page names the secret it keeps the value in: granting the account's
        # secrets would let every deploy and preview role read any KMS secret of the account (the
        # escalation proofs' "secrets" class), so none is granted: `tasks` reports those calls
        # unknown and an operator checks them in a live account (docs/operations.md).
        read_extra=lambda s: [(("kms:Decrypt",), s.kms_key_arns())] if s.secret_keys else [],
    ),
    "alicloud:resourcemanager/resourceGroup:ResourceGroup": ResourceActions(
        "alicloud",
        read=("resourcemanager:GetResourceGroup",),
        write=(
            "resourcemanager:TagResources",
            "resourcemanager:UntagResources",
        ),
        # Resource groups are addressed by generated ids, so the account is the tightest scope.
        resources=lambda s: [f"acs:resourcemanager:*:{s.account}:resourcegroup/*"],
        # Reading a group's tags: ListTagResources has no resource-level permission (its API page).
        read_extra=lambda s: [(("resourcemanager:ListTagResources",), ["*"])],
        # The Resource Group authorization table authorises creating, changing and deleting a group
        # under ram: (baseline/analysis/reference/alicloud/ram.yaml), on any group of the account.
        extra=lambda s: [
            (
                ("ram:CreateResourceGroup", "ram:UpdateResourceGroup", "ram:DeleteResourceGroup"),
                [f"acs:ram:*:{s.account}:resourcegroup/*"],
            )
        ],
    ),
    "alicloud:resourcemanager/policyAttachment:PolicyAttachment": ResourceActions(
        "alicloud",
        # Authorised as ram:ListPolicyAttachments on acs:ram:*:<account>:* (the Resource Group table),
        # and the attachment as ram:AttachPolicy/DetachPolicy below; no resourcemanager: action.
        read=("ram:ListPolicyAttachments",),
        resources=lambda s: [f"acs:ram:*:{s.account}:*"],
        # Resource Management's RAM authorisation page lists the attachment as ram:AttachPolicy on
        # the policy (system or custom) and the principal: the listed system policies and the
        # prefix's own principals only.
        extra=lambda s: [
            (
                ("ram:AttachPolicy", "ram:DetachPolicy"),
                # RAM authorises the call on the policy and on the principal, each on its own
                # (reference/alicloud/ram.yaml): any principal listed here may get any policy
                # listed here. So the policies are the system policies the stack's groups grant,
                # never the stack's own custom policies (an attach-only person such as prod's
                # qa-lead would get a command or secret-reading policy), and no role is listed.
                [
                    *_ram_names(s, "user", "ims"),
                    # users the stack grants a group's policy but does not create: attach only
                    *(f"acs:ims:*:{s.account}:user/{name}" for name in s.attach_users),
                    *(system_policy_arn(name) for name in s.system_policies),
                ],
            )
        ],
    ),
    "alicloud:resourcemanager/serviceLinkedRole:ServiceLinkedRole": ResourceActions(
        "alicloud",
        # Resource Management's service-linked-role APIs are authorised as ram: (their API pages).
        read=("ram:GetRole", "ram:GetServiceLinkedRoleDeletionStatus"),
        write=("ram:CreateServiceLinkedRole", "ram:DeleteServiceLinkedRole"),
        resources=lambda s: [f"acs:ram:*:{s.account}:role/aliyunserviceroleforeci*"],
        conditions=lambda s: {
            "ram:CreateServiceLinkedRole": {
                "StringEquals": {"ram:ServiceName": ["eci.aliyuncs.com", "vnode.eci.aliyuncs.com"]}
            }
        },
    ),
    # --- AWS: IAM -----------------------------------------------------------------------------
    "aws:iam/role:Role": ResourceActions(
        "aws",
        read=(
            "iam:GetRole",
            "iam:ListRoleTags",
            "iam:ListAttachedRolePolicies",
            "iam:ListRolePolicies",
            "iam:ListInstanceProfilesForRole",
        ),
        write=(
            "iam:CreateRole",
            "iam:DeleteRole",
            "iam:UpdateRole",
            "iam:UpdateRoleDescription",
            "iam:UpdateAssumeRolePolicy",
            "iam:PutRolePermissionsBoundary",
            "iam:DeleteRolePolicy",
            "iam:TagRole",
            "iam:UntagRole",
        ),
        resources=_iam("role"),
        # Every role the program creates sits behind a boundary of its own stack (S6): a role
        # without one, or behind anything else, is refused, and so is changing its policies.
        conditions=lambda s: {
            action: {"ArnLike": {"iam:PermissionsBoundary": _stack_boundaries(s)}}
            for action in ("iam:CreateRole", "iam:PutRolePermissionsBoundary", "iam:DeleteRolePolicy")
        },
    ),
    "aws:iam/policy:Policy": ResourceActions(
        "aws",
        read=(
            "iam:GetPolicy",
            "iam:GetPolicyVersion",
            "iam:ListPolicyVersions",
            "iam:ListPolicyTags",
            "iam:ListEntitiesForPolicy",
        ),
        write=(
            "iam:CreatePolicy",
            "iam:DeletePolicy",
            "iam:CreatePolicyVersion",
            "iam:DeletePolicyVersion",
            # terraform-provider-aws updates a policy with CreatePolicyVersion(SetAsDefault=false)
            # and then SetDefaultPolicyVersion (internal/service/iam/policy.go resourcePolicyUpdate)
            "iam:SetDefaultPolicyVersion",
            "iam:TagPolicy",
            "iam:UntagPolicy",
        ),
        resources=_iam("policy"),
    ),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": ResourceActions(
        "aws",
        read=("iam:ListAttachedRolePolicies",),
        write=("iam:AttachRolePolicy", "iam:DetachRolePolicy"),
        resources=_iam("role"),
        conditions=lambda s: {
            "iam:AttachRolePolicy": {
                "ArnLike": {
                    # The stack's own customer policies, and exactly the managed ones it attaches,
                    # on roles behind the stack's boundary only.
                    "iam:PolicyARN": [*_attachable_policies(s), *s.managed_policy_arns],
                    "iam:PermissionsBoundary": _stack_boundaries(s),
                }
            },
            "iam:DetachRolePolicy": {"ArnLike": {"iam:PermissionsBoundary": _stack_boundaries(s)}},
        },
    ),
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": ResourceActions(
        "aws",
        read=("iam:GetOpenIDConnectProvider", "iam:ListOpenIDConnectProviderTags"),
        write=(
            "iam:CreateOpenIDConnectProvider",
            "iam:DeleteOpenIDConnectProvider",
            "iam:UpdateOpenIDConnectProviderThumbprint",
            "iam:AddClientIDToOpenIDConnectProvider",
            "iam:RemoveClientIDFromOpenIDConnectProvider",
            "iam:TagOpenIDConnectProvider",
            "iam:UntagOpenIDConnectProvider",
        ),
        resources=lambda s: [iam_oidc_provider_arn(s.account)],
    ),
    # No cloud API: the stack, components, explicit providers, and passwords pulumi-random
    # generates locally (console passwords; they reach the cloud through LoginProfile).
    "pulumi:pulumi:Stack": _NONE,
    "pulumi:providers:alicloud": _NONE,
    "pulumi:providers:aws": _NONE,
    "pulumi:providers:random": _NONE,
    "random:index/randomPassword:RandomPassword": _NONE,
}
COMPONENT_PREFIX = "ecs-access-baseline:"  # ComponentResources: no cloud API either

# Types only the administrator's bootstrap (the `pipeline` stack) registers. CI deploy roles
# never get them, and their own roles and providers are explicitly denied to every deployer.
BOOTSTRAP_TYPES = frozenset(
    {
        "alicloud:ims/oidcProvider:OidcProvider",
        "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
        "alicloud:resourcemanager/controlPolicy:ControlPolicy",
        "alicloud:resourcemanager/controlPolicyAttachment:ControlPolicyAttachment",
    }
)
WORKLOAD_TYPES = tuple(t for t, a in RESOURCE_ACTIONS.items() if a.cloud and t not in BOOTSTRAP_TYPES)

# What `baseline sweep` calls beyond the resource types (listing the account, unhooking what a
# failed run left attached); test deployers get these on their prefix.
SWEEP_ACTIONS: dict[Cloud, tuple[str, ...]] = {
    "alicloud": (
        "ram:ListUsers",
        "ram:ListRoles",
        "ram:ListPolicies",
        "ram:ListGroupsForUser",
        "ram:RemoveUserFromGroup",
    ),
    "aws": (
        "iam:ListUsers",
        "iam:ListRoles",
        "iam:ListPolicies",
        "iam:ListUserTags",
        "iam:ListAttachedUserPolicies",
        "iam:ListUserPolicies",
        "iam:ListGroupsForUser",
        "iam:ListAccessKeys",
        "iam:ListMFADevices",
        "iam:GetLoginProfile",
        "iam:DetachUserPolicy",
        "iam:DeleteUserPolicy",
        "iam:RemoveUserFromGroup",
        "iam:DeleteAccessKey",
        "iam:DeactivateMFADevice",
        "iam:DeleteLoginProfile",
        "iam:RemoveRoleFromInstanceProfile",
        "iam:DeleteUser",
    ),
}
# AWS administrator policies no deployer may attach, even to its own roles.
AWS_ADMIN_POLICIES = (
    "arn:aws:iam::aws:policy/AdministratorAccess",
    "arn:aws:iam::aws:policy/IAMFullAccess",
    "arn:aws:iam::aws:policy/PowerUserAccess",
)


# RAM system policies that hand out the account: never attachable by a deployer, even if a stack
# asked for one (the deploy then fails: a stack must not need them).
RAM_ADMIN_POLICIES = ("AdministratorAccess", "AliyunRAMFullAccess", "AliyunSTSAssumeRoleAccess")


# --- Resource Directory control policies ---------------------------------------------------
# RAM has no permissions boundary: a Deny in a deploy role's policy binds that role only, so a user
# it creates with `Action: *` is bound by nothing in the account. A control policy, attached by the
# directory's management account to a member, binds every RAM user and role of that member
# (effect scope RAM; docs/operations.md section 8 cites the pages). Ours only Deny: the
# FullAliyunAccess system control policy stays attached and allows the rest.
CONTROL_POLICY_SCOPE = "RAM"
# The caller's ARN: Resource Directory's own examples test a role session with
# `StringNotLike acs:PrincipalARN acs:ram:*:*:role/<lowercase role name>`.
PRINCIPAL_ARN_KEY = "acs:PrincipalARN"
# Writes on one of the pipeline's roles, policies or OIDC providers (each authorised on it, per
# baseline/analysis/reference/alicloud/ram.yaml); attaching a pipeline policy to anyone included.
PIPELINE_IDENTITY_WRITES = (
    "ram:UpdateRole",
    "ram:DeleteRole",
    "ram:AttachPolicyToRole",
    "ram:DetachPolicyFromRole",
    "ram:AttachPolicyToUser",
    "ram:AttachPolicyToGroup",
    "ram:CreatePolicyVersion",
    "ram:DeletePolicyVersion",
    "ram:SetDefaultPolicyVersion",
    "ram:DeletePolicy",
    "ram:UpdateOIDCProvider",
    "ram:DeleteOIDCProvider",
    "ram:AddClientIdToOIDCProvider",
    "ram:RemoveClientIdFromOIDCProvider",
    "ram:AddFingerprintToOIDCProvider",
    "ram:RemoveFingerprintFromOIDCProvider",
    # Resource Management's AttachPolicy/DetachPolicy (a policy at a resource group's or the whole
    # account's scope) are authorised as these, on the policy and the principal (reference/alicloud/
    # ram.yaml, the Resource Group table): a pipeline role or policy named in either is denied.
    "ram:AttachPolicy",
    "ram:DetachPolicy",
)
# The same calls under Resource Management's own prefix: their API pages disclose no authorization
# (reference/alicloud/resourcemanager.yaml), so whatever the cloud asks under this name is denied on
# every resource to all but the administrator; no deploy or preview role is granted them.
RESOURCE_MANAGER_ATTACH_ACTIONS = ("resourcemanager:AttachPolicy", "resourcemanager:DetachPolicy")
# Account-level RAM settings, each authorised on all resources with no condition key
# (reference/alicloud/ram.yaml): user-based SSO lets the IdP it names sign in as any RAM user of the
# account; the security preference, password policy, default domain and alias govern every user's
# console sign-in; an OAuth application and its secret are a standing client no sweep lists. A
# setting is no identity, so neither a deny bound to the caller nor the sandbox sweep sees it: in
# every environment account only the administrator's role changes them.
ACCOUNT_SETTINGS_WRITES = (
    "ram:SetUserSsoSettings",
    "ram:SetSecurityPreference",
    "ram:SetPasswordPolicy",
    "ram:SetDefaultDomain",
    "ram:SetAccountAlias",
    "ram:CreateApplication",
    "ram:CreateAppSecret",
)
ATTACH_ACTIONS = (
    "ram:AttachPolicyToUser",
    "ram:AttachPolicyToRole",
    "ram:AttachPolicyToGroup",
    "ram:AttachPolicy",
)
# In the sandbox, every call that makes or empowers an identity or hands out a credential: only the
# sandbox's deploy role (held to `pr*` names by its own policy) and the administrator's role make
# them, so what a pull request's code creates holds no right to create another identity, key or
# grant, and the age sweep removes it (docs/operations.md section 7).
SANDBOX_IDENTITY_WRITES = (
    "ram:CreateUser",
    "ram:CreateAccessKey",
    "ram:UpdateAccessKey",
    "ram:CreateLoginProfile",
    "ram:UpdateLoginProfile",
    "ram:CreateRole",
    "ram:UpdateRole",
    "ram:CreatePolicy",
    "ram:CreatePolicyVersion",
    "ram:SetDefaultPolicyVersion",
    *ATTACH_ACTIONS,
    *RESOURCE_MANAGER_ATTACH_ACTIONS,
    "ram:CreateOIDCProvider",
    # Groups: a group a PR-made user creates and joins is one the sweep could not take it out of,
    # and a group's policies are another way to empower a user.
    "ram:CreateGroup",
    "ram:UpdateGroup",
    "ram:AddUserToGroup",
    # Other ways in or to hold on: a SAML provider a role could trust, a virtual MFA device bound to
    # a user, a service-linked role, and tags (nothing here keys on a RAM resource's tags, but a
    # sandbox identity has no business changing the deploy role's or the provider's).
    "ram:CreateSAMLProvider",
    "ram:UpdateSAMLProvider",
    "ram:CreateVirtualMFADevice",
    "ram:BindMFADevice",
    "ram:CreateServiceLinkedRole",
    "ram:TagResources",
    "ram:UntagResources",
)


def ram_role_principal(account: str, role: str) -> str:
    """The ``acs:PrincipalARN`` pattern of a role's sessions (RAM role ARNs are lowercase)."""
    return f"acs:ram:*:{account}:role/{role.lower()}"


def _deny_unless(actions: Iterable[str], resources: Iterable[str], principals: Iterable[str]) -> Document:
    """A control-policy statement: ``actions`` on ``resources`` denied to every RAM identity of the
    account but ``principals`` (by the caller's acs:PrincipalARN)."""
    return {
        "Effect": "Deny",
        "Action": list(actions),
        "Resource": list(resources),
        "Condition": {"StringNotLike": {PRINCIPAL_ARN_KEY: sorted(principals)}},
    }


def control_policy_guard(
    account: str,
    *,
    roles: Sequence[str],
    policies: Sequence[str],
    oidc_providers: Sequence[str],
    admin_role: str,
) -> Document:
    """Every environment account: only the administrator's role (through which the pipeline stack is
    applied) writes the pipeline's roles, policies and OIDC providers, its own role included,
    attaches an administrator-class system policy to anyone, or changes an account-level setting."""
    owned = [ram_role_principal(account, r) for r in (*roles, admin_role)]
    owned += [f"acs:ram:*:{account}:policy/{p}" for p in policies]
    owned += [ram_oidc_provider_arn(account, p) for p in oidc_providers]
    admin = [ram_role_principal(account, admin_role)]
    return {
        "Version": "1",
        "Statement": [
            _deny_unless(PIPELINE_IDENTITY_WRITES, owned, admin),
            _deny_unless(ATTACH_ACTIONS, [system_policy_arn(name) for name in RAM_ADMIN_POLICIES], admin),
            _deny_unless([*RESOURCE_MANAGER_ATTACH_ACTIONS, *ACCOUNT_SETTINGS_WRITES], ["*"], admin),
        ],
    }


# UpdateUser renames a user (NewUserName) and is authorised on the old name only, with no condition
# key on the new one (reference/alicloud/ram.yaml): a deploy role allowed it on `user/pr*` could rename
# a PR's user out of the prefix the sweep takes. So in the sandbox only the administrator updates a
# user, the deploy role included; a PR stack's users are created and deleted, never updated.
SANDBOX_ADMIN_ONLY = ("ram:UpdateUser",)


def control_policy_sandbox(account: str, *, deploy_role: str, admin_role: str) -> Document:
    """The sandbox account, beside the guard: no identity but its deploy role and the administrator's
    creates or empowers an identity or hands out a credential, and none but the administrator's
    renames a user."""
    allowed = [ram_role_principal(account, r) for r in (deploy_role, admin_role)]
    return {
        "Version": "1",
        "Statement": [
            _deny_unless(SANDBOX_IDENTITY_WRITES, ["*"], allowed),
            _deny_unless(SANDBOX_ADMIN_ONLY, ["*"], [ram_role_principal(account, admin_role)]),
        ],
    }


def control_policy_instance_tags(account: str, *, deploy_role: str, admin_role: str) -> Document:
    """Opt-in, per environment: no RAM user or role of the account but its deploy role and the
    administrator's may tag or untag an instance or create one (a fleet tag grants commands). It
    cannot be held to the fleet's tag key: no page read says these calls carry acs:TagKeys or
    acs:RequestTag, and a Deny on a key the request lacks never fires."""
    allowed = [ram_role_principal(account, r) for r in (deploy_role, admin_role)]
    return {
        "Version": "1",
        "Statement": [_deny_unless(INSTANCE_TAG_WRITES, ["*"], allowed)],
    }


def actions_for(type_: str) -> ResourceActions | None:
    if type_.startswith(COMPONENT_PREFIX):
        return _NONE
    return RESOURCE_ACTIONS.get(type_)


def _statement(
    effect: str, sid: str, actions: Iterable[str], resources: Sequence[str], condition=None
) -> Document:
    statement: Document = {
        "Sid": sid,
        "Effect": effect,
        "Action": sorted(set(actions)),
        "Resource": list(resources),
    }
    if condition:
        statement["Condition"] = condition
    return statement


def _sid(type_: str) -> str:
    """``alicloud:ram/user:User`` -> ``RamUser`` (IAM Sids are alphanumeric)."""
    module, _, name = type_.rpartition(":")
    service = module.split(":")[-1].split("/")[0]
    return "".join(p[:1].upper() + p[1:] for p in (service, name))


def _policy(cloud: Cloud, statements: list[Document]) -> Document:
    version = "1" if cloud == "alicloud" else "2012-10-17"
    if cloud == "alicloud":
        for statement in statements:
            statement.pop("Sid", None)  # RAM documents have no Sid
    return {"Version": version, "Statement": statements}


def _aws_admin_policies_deny() -> Document:
    """No AWS deployer attaches an administrator managed policy to any role."""
    return _statement(
        "Deny",
        "DenyAdministratorPolicies",
        ("iam:AttachRolePolicy",),
        ["*"],
        {"ArnEquals": {"iam:PolicyARN": list(AWS_ADMIN_POLICIES)}},
    )


def _protections(cloud: Cloud, scope: Scope) -> list[Document]:
    """Explicit denies on the pipeline's own identities: no deployer edits its own trust."""
    statements = []
    if cloud == "alicloud":
        owned = [f"acs:ram:*:{scope.account}:role/{r.lower()}" for r in scope.protected_roles]
        owned += [f"acs:ram:*:{scope.account}:policy/{p}" for p in scope.protected_policies]
        owned += [ram_oidc_provider_arn(scope.account, p) for p in scope.protected_oidc_providers]
        # Held to its stack's names, a deployer reaches none of these anyway; the sandbox's
        # prefix could match one, so it gets the explicit deny.
        if owned and not scope.exact:
            statements.append(_statement("Deny", "DenyPipelineIdentities", ("ram:*",), owned))
        attach = (
            "ram:AttachPolicyToUser",
            "ram:AttachPolicyToRole",
            "ram:AttachPolicyToGroup",
            "ram:AttachPolicy",
        )
        admin = [system_policy_arn(name) for name in RAM_ADMIN_POLICIES]
        statements.append(_statement("Deny", "DenyAdministratorPolicies", attach, admin))
    elif scope.exact:
        # Held to its stack's names and boundaries by exact ARN, the deployer reaches none of the
        # pipeline's identities; the account's pipeline boundary, which every pipeline role sits
        # behind, repeats the denies below all the same.
        statements.append(_aws_admin_policies_deny())
    else:
        owned = [f"arn:aws:iam::{scope.account}:role/{r}" for r in scope.protected_roles]
        owned += [f"arn:aws:iam::{scope.account}:policy/{p}" for p in scope.protected_policies]
        owned += [f"arn:aws:iam::{scope.account}:policy/{p}" for p in scope.owned_boundaries]
        if scope.protected_oidc_providers:
            owned.append(iam_oidc_provider_arn(scope.account))
        if owned:
            statements.append(_statement("Deny", "DenyPipelineIdentities", ("iam:*",), owned))
        statements.append(_aws_admin_policies_deny())
        # The pipeline's own policies and boundary never go onto a role a deployer controls.
        pipeline_policies = [f"arn:aws:iam::{scope.account}:policy/{p}" for p in scope.protected_policies]
        if pipeline_policies:
            statements.append(
                _statement(
                    "Deny",
                    "DenyPipelinePolicies",
                    ("iam:AttachRolePolicy",),
                    ["*"],
                    {"ArnEquals": {"iam:PolicyARN": pipeline_policies}},
                )
            )
            statements.append(
                _statement(
                    "Deny",
                    "DenyPipelineBoundary",
                    # Nor does a deployer create, or change the policies of, a role behind them.
                    (
                        "iam:CreateRole",
                        "iam:PutRolePermissionsBoundary",
                        "iam:AttachRolePolicy",
                        "iam:DetachRolePolicy",
                        "iam:DeleteRolePolicy",
                    ),
                    ["*"],
                    {"ArnEquals": {"iam:PermissionsBoundary": pipeline_policies}},
                )
            )
    return statements


def deployer_policy(
    cloud: Cloud,
    scope: Scope,
    types: Iterable[str] = WORKLOAD_TYPES,
    *,
    write: bool = True,
    sweep: bool = False,
) -> Document:
    """The least a deployer (``write``) or a previewer needs for ``types``, on ``scope`` only."""
    statements: list[Document] = []
    for type_ in sorted(set(types)):
        spec = actions_for(type_)
        if spec is None:
            from baseline.errors import PlanError

            raise PlanError(
                f"no deployer actions are known for resource type {type_}; add it to "
                "baseline/documents/pipeline.py RESOURCE_ACTIONS (a program bug: please report it)"
            )
        if spec.cloud != cloud:
            continue
        resources = spec.resources(scope)
        conditions = spec.conditions(scope) if write else {}
        plain = [a for a in (*spec.read, *(spec.write if write else ())) if a not in conditions]
        statements.append(_statement("Allow", _sid(type_), plain, resources))
        for action, condition in sorted(conditions.items()):
            statements.append(
                _statement("Allow", _sid(type_) + action.split(":", 1)[1], (action,), resources, condition)
            )
        for index, (actions, extra_resources) in enumerate(spec.read_extra(scope)):
            sid = _sid(type_) + f"Read{index or ''}"
            statements.append(_statement("Allow", sid, actions, extra_resources))
        if write:
            for actions, extra_resources in spec.extra(scope):
                statements.append(_statement("Allow", _sid(type_) + "Pass", actions, extra_resources))
    if sweep:
        prefix = scope.prefix
        if not prefix or scope.exact:
            from baseline.errors import PlanError

            raise PlanError(
                "sweep rights are for the sandbox's prefix only (a program bug: please report it)"
            )
        # Only what the sweeper's prefix marks: its users, and the groups, instance profiles and
        # MFA devices named with it; no membership change outside it.
        resources = (
            # RemoveUserFromGroup is authorised on the user and the group: the user stays held to
            # the prefix, the group is any (a PR-made user may sit in a group not named so).
            [f"acs:ram:*:{scope.account}:user/{prefix}*", f"acs:ram:*:{scope.account}:group/*"]
            if cloud == "alicloud"
            else [
                f"arn:aws:iam::{scope.account}:user/{prefix}*",
                f"arn:aws:iam::{scope.account}:group/{prefix}*",
                f"arn:aws:iam::{scope.account}:instance-profile/{prefix}*",
                f"arn:aws:iam::{scope.account}:mfa/{prefix}*",
            ]
        )
        # Listing the account is authorised on "*" only; everything else stays on the prefix.
        listing = [
            a for a in SWEEP_ACTIONS[cloud] if a.split(":")[1] in ("ListUsers", "ListRoles", "ListPolicies")
        ]
        statements.append(_statement("Allow", "SweepList", listing, ["*"]))
        statements.append(
            _statement(
                "Allow", "SweepLeftovers", [a for a in SWEEP_ACTIONS[cloud] if a not in listing], resources
            )
        )
    if scope.exact:
        # Then any statements left on the same resources as one (the instances and roles an
        # attachment names, the KMS secrets), to stay under RAM's 6,144 characters.
        statements = _merged(_ram_consolidated(statements, scope) if cloud == "alicloud" else statements)
    if cloud == "aws":
        statements += _state_access(scope, write=write)
    if write or sweep:
        statements += _protections(cloud, scope)
    if cloud == "aws" and write and scope.exact:
        # The stack's boundary is written once, by the first reviewed deployment, and never again
        # by a deploy role: a deployer that could re-version the boundary it is held to would be
        # bounded by nothing (docs/operations.md section 8 names this exception's cost).
        statements.append(
            _statement(
                "Deny",
                "DenyBoundaryRewrite",
                (
                    "iam:CreatePolicyVersion",
                    "iam:SetDefaultPolicyVersion",
                    "iam:DeletePolicyVersion",
                    "iam:DeletePolicy",
                ),
                _stack_boundaries(scope),
            )
        )
    return _policy(cloud, statements)


def _merged(statements: list[Document]) -> list[Document]:
    """Unconditioned Allows on the same resources as one statement: names listed one by one
    repeat across a user's, its login profile's and its keys' statements, and RAM allows 6,144
    characters per policy."""
    merged: list[Document] = []
    by_resources: dict[tuple[str, ...], Document] = {}
    for statement in statements:
        key = tuple(statement["Resource"])
        if statement["Effect"] != "Allow" or "Condition" in statement:
            merged.append(statement)
        elif key in by_resources:
            first = by_resources[key]
            first["Action"] = sorted({*first["Action"], *statement["Action"]})
        else:
            by_resources[key] = statement
            merged.append(statement)
    return merged


def _ram_consolidated(statements: list[Document], scope: Scope) -> list[Document]:
    """RAM, names listed one by one: every unconditioned RAM Allow on the stack's own users,
    roles and policies as one statement, and the attachments of system policies as another.
    RAM actions are typed (a login profile exists on a user only, a version on a policy only), so
    listing them together grants nothing across types; it keeps the policy under RAM's 6,144
    characters. A resource group's attachment (ram:AttachPolicy) is a call on two types at once
    and keeps its own statement."""
    own = {*_ram_names(scope, "user"), *_ram_names(scope, "user", "ims"), *_ram_names(scope, "role")}
    own |= set(_ram_names(scope, "policy"))
    actions: set[str] = set()
    resources: list[str] = []
    system: dict[tuple[str, ...], set[str]] = {}
    rest: list[Document] = []
    for statement in statements:
        plain = statement["Effect"] == "Allow" and "Condition" not in statement
        # A resource group's attachment is one call on a policy and a principal, each authorised on
        # its own: merged here, its principals would meet every policy of the stack.
        paired = {"ram:AttachPolicy", "ram:DetachPolicy"} & set(statement["Action"])
        if (
            paired
            or not plain
            or not all(a.startswith("ram:") and a != "ram:PassRole" for a in statement["Action"])
        ):
            rest.append(statement)
            continue
        mine = [r for r in statement["Resource"] if r in own]
        others = tuple(r for r in statement["Resource"] if r not in own)
        if mine:
            actions |= set(statement["Action"])
            resources += [r for r in mine if r not in resources]
        if others:
            system.setdefault(others, set()).update(statement["Action"])
    found = [_statement("Allow", "StackIdentities", actions, resources)] if actions else []
    for others, named in system.items():
        found.append(_statement("Allow", "StackSystemPolicies", named, list(others)))
    return found + rest


def state_objects(scope: Scope) -> dict[str, list[str]]:
    """The DIY backend's objects of the scope's stacks (pulumi/pulumi pkg/backend/diy/store.go:
    ``.pulumi/stacks/<project>/<stack>.json`` (also ``.json.gz``/``.json.zst``/``.json.bak``),
    ``.pulumi/history|backups|journal/<project>/<stack>/``; locks under
    ``.pulumi/locks/<project>/<stack>/``), as S3 object ARNs by what they hold."""
    assert scope.state_bucket
    root = f"arn:aws:s3:::{scope.state_bucket}/" + (
        f"{scope.state_root.strip('/')}/" if scope.state_root else ""
    )
    project = scope.state_project
    stacks = scope.state_stacks or (NO_NAME,)
    return {
        "meta": [f"{root}.pulumi/meta.yaml"],
        "checkpoint": [f"{root}.pulumi/stacks/{project}/{s}.json*" for s in stacks],
        "records": [
            f"{root}.pulumi/{kind}/{project}/{s}/*"
            for kind in ("history", "backups", "journal")
            for s in stacks
        ],
        "locks": [f"{root}.pulumi/locks/{project}/{s}/*" for s in stacks],
    }


def _state_access(scope: Scope, *, write: bool) -> list[Document]:
    """The state backend: per stack. A preview only reads its stack's checkpoint: the DIY
    backend's Preview takes no lock (pulumi/pulumi pkg/backend/diy/backend.go: Update, Import,
    Refresh and Destroy call Lock, Preview goes straight to apply). A deploy role writes its
    stack's objects and its lock only. No role deletes another stack's state; only the sandbox's
    deployer removes its own stacks (teardown)."""
    statements = []
    if scope.state_bucket:
        bucket = f"arn:aws:s3:::{scope.state_bucket}"
        objects = state_objects(scope)
        statements.append(_statement("Allow", "StateBucketList", ("s3:ListBucket",), [bucket]))
        statements.append(
            _statement("Allow", "StateRead", ("s3:GetObject",), [*objects["meta"], *objects["checkpoint"]])
        )
        if write:
            statements.append(
                _statement(
                    "Allow",
                    "StateLock",
                    ("s3:GetObject", "s3:PutObject", "s3:DeleteObject"),
                    objects["locks"],
                )
            )
            own = [*objects["checkpoint"], *objects["records"]]
            statements.append(_statement("Allow", "StateWrite", ("s3:GetObject", "s3:PutObject"), own))
            if not scope.exact:
                statements.append(_statement("Allow", "StateRemove", ("s3:DeleteObject",), own))
            else:
                journal = [a for a in objects["records"] if a.split(".pulumi/", 1)[1].startswith("journal/")]
                statements.append(_statement("Allow", "StateJournal", ("s3:DeleteObject",), journal))
    if scope.secrets_key_arn:
        actions = ("kms:Decrypt", "kms:Encrypt") if write else ("kms:Decrypt",)
        statements.append(_statement("Allow", "StateSecretsKey", actions, [scope.secrets_key_arn]))
    return statements


# IAM writes a role behind a workload boundary never makes outside its stack's names.
IAM_WRITE_VERBS = (
    "Add",
    "Attach",
    "Create",
    "Delete",
    "Detach",
    "Put",
    "Remove",
    "Set",
    "Tag",
    "Untag",
    "Update",
)
IAM_WRITE_ACTIONS = (
    *(f"iam:{verb}*" for verb in IAM_WRITE_VERBS),
    "iam:PassRole",
    "iam:UploadSSHPublicKey",
    "iam:UploadServerCertificate",
    "iam:UploadSigningCertificate",
)


def workload_boundary(document: Document, account: str, prefix: str) -> Document:
    """A stack's S6 boundary (the guide's, single-sourced in ``baseline.documents.aws``) as the
    pipeline stack creates it: plus a deny of every IAM write outside the stack's names
    (``prefix``) and of every ``sts:AssumeRole`` out of the account."""
    names = [f"arn:aws:iam::{account}:{kind}/{prefix}*" for kind in ("role", "policy", "user", "group")]
    return {
        **document,
        "Statement": [
            *document["Statement"],
            {
                "Sid": "DenyIamWritesOutsideTheStack",
                "Effect": "Deny",
                "Action": list(IAM_WRITE_ACTIONS),
                "NotResource": names,
            },
            {
                "Sid": "DenyAssumeRoleOutOfTheAccount",
                "Effect": "Deny",
                "Action": ["sts:AssumeRole"],
                "NotResource": [f"arn:aws:iam::{account}:role/*"],
            },
        ],
    }


# IAM calls that give a role or user permissions and carry iam:PermissionsBoundary (the boundary
# the identity has or gets, by the Service Authorization Reference), and the two that remove one.
BOUNDED_IDENTITY_ACTIONS = (
    "iam:CreateRole",
    "iam:CreateUser",
    "iam:AttachRolePolicy",
    "iam:AttachUserPolicy",
    "iam:PutRolePolicy",
    "iam:PutUserPolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:PutUserPermissionsBoundary",
)
BOUNDARY_REMOVAL_ACTIONS = ("iam:DeleteRolePermissionsBoundary", "iam:DeleteUserPermissionsBoundary")


def _workload_boundary_guards(workload_boundaries: Sequence[str]) -> list[Document]:
    """Where the pipeline stack owns the boundary of an account's workload roles (the sandbox's),
    no pipeline role writes that boundary, gives any role or user permissions unless it sits
    behind it, or takes a boundary off: a role or user behind a boundary a pull request wrote (or
    none) would be an administrator of the account that outlives the pull request (issue 24)."""
    if not workload_boundaries:
        return []
    arns = list(workload_boundaries)
    return [
        _statement("Deny", "DenyWorkloadBoundaryWrites", ("iam:*",), arns),
        _statement(
            "Deny",
            "DenyIdentitiesOutsideTheWorkloadBoundary",
            BOUNDED_IDENTITY_ACTIONS,
            ["*"],
            {"ArnNotEquals": {"iam:PermissionsBoundary": arns}},
        ),
        _statement("Deny", "DenyBoundaryRemoval", BOUNDARY_REMOVAL_ACTIONS, ["*"]),
        _statement("Deny", "DenyIdentitiesOnAPath", PATHED_IDENTITY_WRITES, _pathed(arns)),
    ]


# IAM ARNs carry the path (``role/pr/ci-reader`` for Path=/pr/), so a grant on ``role/pr*`` covers a
# role of any name under a path that starts ``/pr``: a name the sandbox sweep's prefix never matches.
# The sandbox's stacks create at the root path, so no pipeline role makes or empowers an identity on
# any other; deleting, detaching and reading stay, for the sweep. Service-linked roles
# (``role/aws-service-role/…``) come from CreateServiceLinkedRole, which is not denied.
PATHED_IDENTITY_WRITES = (
    "iam:AddRoleToInstanceProfile",
    "iam:AddUserToGroup",
    "iam:Attach*",
    "iam:CreateAccessKey",
    "iam:CreateInstanceProfile",
    "iam:CreateLoginProfile",
    "iam:CreatePolicy",
    "iam:CreatePolicyVersion",
    "iam:CreateRole",
    "iam:CreateUser",
    "iam:PassRole",
    "iam:Put*",
    "iam:SetDefaultPolicyVersion",
    "iam:Tag*",
    "iam:Update*",
)


def _pathed(workload_boundaries: Sequence[str]) -> list[str]:
    """``role/*/*``, ``policy/*/*``, ``user/*/*``, ``instance-profile/*/*`` of the boundaries' account."""
    account = workload_boundaries[0].split(":")[4]
    return [f"arn:aws:iam::{account}:{kind}/*/*" for kind in ("role", "policy", "user", "instance-profile")]


def iam_pipeline_boundary(
    scope: Scope, policies: Iterable[Document], workload_boundaries: Sequence[str] = ()
) -> Document:
    """The permissions boundary of every pipeline role in one AWS account.

    It allows no more than the union of what the account's pipeline policies allow (IAM, in
    this account) and repeats their denies, so a pipeline role stays within it even if a policy
    were widened by hand; in an account whose workload roles sit behind ``workload_boundaries``
    (ARNs of boundaries the pipeline stack creates), it holds every pipeline role to them.
    """
    actions = sorted(
        {
            action
            for policy in policies
            for statement in policy["Statement"]
            if statement["Effect"] == "Allow"
            for action in statement["Action"]
        }
    )
    # ListRoles, ListPolicies and ListUsers are authorised on "*" only.
    listing = [a for a in actions if a in ("iam:ListRoles", "iam:ListPolicies", "iam:ListUsers")]
    scoped = [a for a in actions if a.startswith("iam:") and a not in listing]
    statements = [_statement("Allow", "PipelineActions", scoped, [f"arn:aws:iam::{scope.account}:*"])]
    if listing:
        statements.append(_statement("Allow", "PipelineListing", listing, ["*"]))
    # The state backend and secrets key: at most what the account's roles are given there (each
    # role's own policy holds it to its stack's objects).
    state = [
        (a, r)
        for policy in policies
        for s in policy["Statement"]
        if s["Effect"] == "Allow" and all(a.startswith(("s3:", "kms:")) for a in s["Action"])
        for a in s["Action"]
        for r in s["Resource"]
    ]
    buckets = sorted({r for a, r in state if a == "s3:ListBucket"})
    objects = sorted({r.split("/.pulumi/", 1)[0] + "/.pulumi/*" for a, r in state if "/.pulumi/" in r})
    keys = sorted({r for a, r in state if a.startswith("kms:")})
    if buckets:
        statements.append(_statement("Allow", "PipelineStateBuckets", ("s3:ListBucket",), buckets))
    if objects:
        statements.append(
            _statement("Allow", "PipelineState", ("s3:GetObject", "s3:PutObject", "s3:DeleteObject"), objects)
        )
    if keys:
        statements.append(_statement("Allow", "PipelineStateKey", ("kms:Decrypt", "kms:Encrypt"), keys))
    return _policy(
        "aws", statements + _protections("aws", scope) + _workload_boundary_guards(workload_boundaries)
    )


def human_deployer_policy(resolved: Any, plan: Mapping[str, Any], cloud: Cloud) -> str:
    """The JSON policy a person needs to run ``pulumi up`` (and destroy) on a stack.

    The same mapping as the pipeline's deploy roles, for the types this stack's plan registers,
    in the stack's own account and naming prefix. For the ``pipeline`` stack it also allows
    assuming the administrator role in the environments' other accounts.
    """
    import json

    from baseline.errors import ConfigError

    settings = resolved.settings
    account_settings = getattr(settings, cloud)
    if account_settings is None:
        raise ConfigError(
            key=cloud,
            problem=f"this stack has no {cloud} account",
            fix=f"ask for the other cloud, or set {cloud}",
        )
    from baseline.spec import deployer_reach

    types = {r["type"] for r in plan["resources"]}
    reach = deployer_reach(resolved.alicloud, resolved.aws)
    pipeline = resolved.pipeline
    # The boundaries its roles carry: the stack's S6 boundary, or the pipeline's own.
    boundaries = {*reach.iam_boundaries, *(b.name for b in pipeline.boundaries)} if pipeline else set()
    scope = Scope(
        account=account_settings.account_id,
        prefix=settings.naming.prefix,
        system_policies=reach.system,
        managed_policy_arns=reach.managed,
        secret_parameters=reach.secret_parameters,
        boundaries=tuple(sorted(boundaries or reach.iam_boundaries)),
    )
    policy = deployer_policy(cloud, scope, types)
    if pipeline is not None:
        others = [a for a in pipeline.accounts(cloud) if a != account_settings.account_id]
        role = pipeline.admin_roles[cloud]
        arns = (
            [f"acs:ram::{a}:role/{role.lower()}" for a in others]
            if cloud == "alicloud"
            else [f"arn:aws:iam::{a}:role/{role}" for a in others]
        )
        if arns:
            statement = _statement("Allow", "AssumeAdministratorRole", ("sts:AssumeRole",), arns)
            if cloud == "alicloud":
                statement.pop("Sid")
            policy["Statement"].append(statement)
    return json.dumps(policy, indent=2, sort_keys=True) + "\n"
