"""S7: the pipeline's own identities. GitHub OIDC trust and least-privilege deployer policies.

Pure functions of typed data, no Pulumi import. Two things live here:

- the trust documents of the roles GitHub Actions assumes: the GitHub issuer, the audience, and a
  subject that names one repository *and* one GitHub environment (never a repository wildcard);
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


def github_subject(repository: str, environment: str) -> str:
    """The `sub` claim GitHub issues to a job that runs in ``environment`` of ``repository``."""
    return f"repo:{repository}:environment:{environment}"


def ram_oidc_provider_arn(account: str, name: str) -> str:
    return f"acs:ram::{account}:oidc-provider/{name}"


def iam_oidc_provider_arn(account: str) -> str:
    # IAM names the provider after the issuer's host: one provider per issuer per account.
    return f"arn:aws:iam::{account}:oidc-provider/{GITHUB_ISSUER_HOST}"


def ram_oidc_trust(provider_arn: str, subject: str, audience: str = ALICLOUD_AUDIENCE) -> Document:
    """RAM trust: the GitHub provider, its issuer and audience, and exactly this subject.

    RAM requires ``oidc:iss`` and ``oidc:aud`` with StringEquals; ``oidc:sub`` is what narrows
    the role to one repository and one GitHub environment.
    """
    return {
        "Version": "1",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": RAM_ASSUME_ACTION,
                "Principal": {"Federated": [provider_arn]},
                "Condition": {
                    "StringEquals": {
                        RAM_ISSUER_KEY: GITHUB_ISSUER,
                        RAM_AUDIENCE_KEY: audience,
                        RAM_SUBJECT_KEY: subject,
                    }
                },
            }
        ],
    }


def iam_oidc_trust(provider_arn: str, subject: str) -> Document:
    """IAM trust: GitHub's provider, the audience configure-aws-credentials asks for, this subject."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": AWS_ASSUME_ACTION,
                "Principal": {"Federated": provider_arn},
                "Condition": {"StringEquals": {AWS_AUDIENCE_KEY: AWS_AUDIENCE, AWS_SUBJECT_KEY: subject}},
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
    # the pipeline uses them: every run reads (and locks) the state and decrypts its secrets.
    state_bucket: str | None = None
    secrets_key_arn: str | None = None
    # Policies the deployed stack attaches but does not create (``spec.deployer_reach`` of the
    # environment's stack): RAM system policy names, AWS managed policy ARNs. Attaching any other
    # system or managed policy (AdministratorAccess above all) is refused.
    system_policies: tuple[str, ...] = ()
    managed_policy_arns: tuple[str, ...] = ()
    # Without a prefix (prod owns its account) the secret parameters are named one by one.
    secret_parameters: tuple[str, ...] = ()

    def secret_parameter_arns(self) -> list[str]:
        base = f"acs:oos:*:{self.account}:secretparameter/"
        if self.prefix:
            return [f"{base}{self.prefix}*"]
        return [base + name for name in self.secret_parameters] or [f"{base}{NO_NAME}"]

    def pass_role_arns(self) -> list[str]:
        if self.pass_roles:
            return [f"acs:ram:*:{self.account}:role/{r.lower()}" for r in self.pass_roles]
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


def _ram(kind: str) -> Callable[[Scope], list[str]]:
    # RAM role ARNs carry the role name in lower case.
    return lambda s: [f"acs:ram:*:{s.account}:{kind}/{s.prefix.lower() if kind == 'role' else s.prefix}*"]


def _ram_attach(kind: str) -> Callable[[Scope], list[str]]:
    # RAM authorises an attachment on the principal and on the policy: the prefix's own
    # principals and custom policies, and only the system policies the stack attaches.
    return lambda s: [
        *_ram(kind)(s),
        f"acs:ram:*:{s.account}:policy/{s.prefix}*",
        *(system_policy_arn(name) for name in s.system_policies),
    ]


def system_policy_arn(name: str) -> str:
    return f"acs:ram:*:system:policy/{name}"


def _iam(kind: str) -> Callable[[Scope], list[str]]:
    return lambda s: [f"arn:aws:iam::{s.account}:{kind}/{s.prefix}*"]


def _stack_boundaries(s: Scope) -> str:
    """The boundaries the environment's stacks put on their roles (named with the stack's prefix)."""
    return f"arn:aws:iam::{s.account}:policy/{s.prefix}*"


_NONE = ResourceActions(cloud=None)
RESOURCE_ACTIONS: dict[str, ResourceActions] = {
    # --- Alibaba Cloud: RAM -------------------------------------------------------------------
    "alicloud:ram/user:User": ResourceActions(
        "alicloud",
        read=("ram:GetUser", "ram:ListUsers", "ram:ListTagResources"),
        write=(
            "ram:CreateUser",
            "ram:UpdateUser",
            "ram:DeleteUser",
            "ram:TagResources",
            "ram:UntagResources",
        ),
        resources=_ram("user"),
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
        read=("ram:GetRole", "ram:ListRoles", "ram:ListTagResources"),
        write=(
            "ram:CreateRole",
            "ram:UpdateRole",
            "ram:DeleteRole",
            "ram:TagResources",
            "ram:UntagResources",
        ),
        resources=_ram("role"),
    ),
    "alicloud:ram/policy:Policy": ResourceActions(
        "alicloud",
        read=(
            "ram:GetPolicy",
            "ram:GetPolicyVersion",
            "ram:ListPolicyVersions",
            "ram:ListEntitiesForPolicy",
            "ram:ListTagResources",
        ),
        write=(
            "ram:CreatePolicy",
            "ram:DeletePolicy",
            "ram:CreatePolicyVersion",
            "ram:DeletePolicyVersion",
            "ram:SetDefaultPolicyVersion",
            "ram:UpdatePolicyDescription",
            "ram:TagResources",
            "ram:UntagResources",
        ),
        resources=_ram("policy"),
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
    # --- Alibaba Cloud: ECS, OOS, Resource Manager ----------------------------------------------
    "alicloud:ecs/ramRoleAttachment:RamRoleAttachment": ResourceActions(
        "alicloud",
        read=("ecs:DescribeInstanceRamRole", "ecs:DescribeInstances"),
        write=("ecs:AttachInstanceRamRole", "ecs:DetachInstanceRamRole"),
        resources=lambda s: [f"acs:ecs:*:{s.account}:instance/*"],
        # Attaching a role hands it to the instance: PassRole on the named instance roles only.
        extra=lambda s: [(("ram:PassRole",), s.pass_role_arns())] if s.pass_role_arns() else [],
    ),
    "alicloud:oos/secretParameter:SecretParameter": ResourceActions(
        "alicloud",
        read=("oos:GetSecretParameter", "oos:ListSecretParameters", "oos:ListTagResources"),
        write=(
            "oos:CreateSecretParameter",
            "oos:UpdateSecretParameter",
            "oos:DeleteSecretParameter",
            "oos:TagResources",
            "oos:UntagResources",
        ),
        resources=lambda s: s.secret_parameter_arns(),
    ),
    "alicloud:resourcemanager/resourceGroup:ResourceGroup": ResourceActions(
        "alicloud",
        read=("resourcemanager:GetResourceGroup", "resourcemanager:ListResourceGroups"),
        write=(
            "resourcemanager:CreateResourceGroup",
            "resourcemanager:UpdateResourceGroup",
            "resourcemanager:DeleteResourceGroup",
            "resourcemanager:TagResources",
            "resourcemanager:UntagResources",
        ),
        # Resource groups are addressed by generated ids, so the account is the tightest scope.
        resources=lambda s: [f"acs:resourcemanager:*:{s.account}:resourcegroup/*"],
    ),
    "alicloud:resourcemanager/policyAttachment:PolicyAttachment": ResourceActions(
        "alicloud",
        read=("resourcemanager:ListPolicyAttachments",),
        write=("resourcemanager:AttachPolicy", "resourcemanager:DetachPolicy"),
        resources=lambda s: [f"acs:resourcemanager:*:{s.account}:resourcegroup/*"],
        # Resource Management's RAM authorisation page lists the attachment as ram:AttachPolicy on
        # the policy (system or custom) and the principal: the listed system policies and the
        # prefix's own principals only. (Authorised as resourcemanager:AttachPolicy, the policy
        # name is not part of the request: docs/operations.md section 8 names that residue.)
        extra=lambda s: [
            (
                ("ram:AttachPolicy", "ram:DetachPolicy"),
                [
                    f"acs:ims:*:{s.account}:user/{s.prefix}*",
                    f"acs:ram:*:{s.account}:role/{s.prefix.lower()}*",
                    f"acs:ram:*:{s.account}:policy/{s.prefix}*",
                    *(system_policy_arn(name) for name in s.system_policies),
                ],
            )
        ],
    ),
    "alicloud:resourcemanager/serviceLinkedRole:ServiceLinkedRole": ResourceActions(
        "alicloud",
        read=("ram:GetRole", "resourcemanager:GetServiceLinkedRoleDeletionStatus"),
        write=("ram:CreateServiceLinkedRole", "resourcemanager:DeleteServiceLinkedRole"),
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
                    "iam:PolicyARN": [
                        f"arn:aws:iam::{s.account}:policy/{s.prefix}*",
                        *s.managed_policy_arns,
                    ],
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
    {"alicloud:ims/oidcProvider:OidcProvider", "aws:iam/openIdConnectProvider:OpenIdConnectProvider"}
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


def _protections(cloud: Cloud, scope: Scope) -> list[Document]:
    """Explicit denies on the pipeline's own identities: no deployer edits its own trust."""
    statements = []
    if cloud == "alicloud":
        owned = [f"acs:ram:*:{scope.account}:role/{r.lower()}" for r in scope.protected_roles]
        owned += [f"acs:ram:*:{scope.account}:policy/{p}" for p in scope.protected_policies]
        owned += [ram_oidc_provider_arn(scope.account, p) for p in scope.protected_oidc_providers]
        if owned:
            statements.append(_statement("Deny", "DenyPipelineIdentities", ("ram:*",), owned))
        attach = (
            "ram:AttachPolicyToUser",
            "ram:AttachPolicyToRole",
            "ram:AttachPolicyToGroup",
            "ram:AttachPolicy",
        )
        admin = [system_policy_arn(name) for name in RAM_ADMIN_POLICIES]
        statements.append(_statement("Deny", "DenyAdministratorPolicies", attach, admin))
    else:
        owned = [f"arn:aws:iam::{scope.account}:role/{r}" for r in scope.protected_roles]
        owned += [f"arn:aws:iam::{scope.account}:policy/{p}" for p in scope.protected_policies]
        if scope.protected_oidc_providers:
            owned.append(iam_oidc_provider_arn(scope.account))
        if owned:
            statements.append(_statement("Deny", "DenyPipelineIdentities", ("iam:*",), owned))
        statements.append(
            _statement(
                "Deny",
                "DenyAdministratorPolicies",
                ("iam:AttachRolePolicy",),
                ["*"],
                {"ArnEquals": {"iam:PolicyARN": list(AWS_ADMIN_POLICIES)}},
            )
        )
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
        if write:
            for actions, extra_resources in spec.extra(scope):
                statements.append(_statement("Allow", _sid(type_) + "Pass", actions, extra_resources))
    if sweep:
        prefix = scope.prefix
        resources = (
            [f"acs:ram:*:{scope.account}:user/{prefix}*", f"acs:ram:*:{scope.account}:group/*"]
            if cloud == "alicloud"
            else [
                f"arn:aws:iam::{scope.account}:user/{prefix}*",
                f"arn:aws:iam::{scope.account}:group/*",
                f"arn:aws:iam::{scope.account}:instance-profile/*",
                f"arn:aws:iam::{scope.account}:mfa/*",
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
    if cloud == "aws":
        statements += _state_access(scope, write=write)
    if write or sweep:
        statements += _protections(cloud, scope)
    return _policy(cloud, statements)


def _state_access(scope: Scope, *, write: bool) -> list[Document]:
    """The state backend and secrets key: a preview takes the backend's lock (a write) too."""
    statements = []
    if scope.state_bucket:
        bucket = f"arn:aws:s3:::{scope.state_bucket}"
        statements.append(_statement("Allow", "StateBucketList", ("s3:ListBucket",), [bucket]))
        objects = ("s3:GetObject", "s3:PutObject", "s3:DeleteObject")
        statements.append(_statement("Allow", "StateObjects", objects, [f"{bucket}/*"]))
    if scope.secrets_key_arn:
        actions = ("kms:Decrypt", "kms:Encrypt") if write else ("kms:Decrypt",)
        statements.append(_statement("Allow", "StateSecretsKey", actions, [scope.secrets_key_arn]))
    return statements


def iam_pipeline_boundary(scope: Scope, policies: Iterable[Document]) -> Document:
    """The permissions boundary of every pipeline role in one AWS account.

    It allows no more than the union of what the account's pipeline policies allow (IAM, in
    this account) and repeats their denies, so a pipeline role stays within it even if a policy
    were widened by hand.
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
    # The state backend and secrets key, as wide as the widest role's (deploy) access.
    statements += _state_access(scope, write=True)
    return _policy("aws", statements + _protections("aws", scope))


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
    scope = Scope(
        account=account_settings.account_id,
        prefix=settings.naming.prefix,
        system_policies=reach.system,
        managed_policy_arns=reach.managed,
        secret_parameters=reach.secret_parameters,
    )
    policy = deployer_policy(cloud, scope, types)
    pipeline = resolved.pipeline
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
