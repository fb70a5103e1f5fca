"""The RAM escalation catalogue (issue #10, item 6): every Alibaba Cloud principal of every stack
is asked the known ways to raise privileges in RAM, and must be denied.

Requests are decided by ``baseline.analysis.access`` (what ``python -m baseline can`` runs) on the offline
plan, so they cover exactly the documents a real run would attach. The catalogue follows the RAM
equivalents of the Rhino Security / cloudsplaining escalation methods: changing policies (new
versions, default versions, new policies), attaching or detaching them, credentials of other
users (AccessKeys, login profiles), creating or re-trusting roles, passing or assuming roles other
than a principal's own task needs, attaching instance roles, group membership, running commands
as a privileged OS user (or naming none), and reading keys, secrets and buckets beyond the task.

Staging and prod must deny all of it; dev too (the guides' broad "*" forms in dev never reach an
escalation). The one principal allowed to run a command as root is documented in
``RUN_AS_EXCEPTIONS`` with the reason, and a test fails when the exception is no longer needed.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

import pytest
from conftest import ROOT, STACKS, example_resolved, plan_of

from baseline.analysis import access
from baseline.cli import main
from baseline.config import StackSettings
from baseline.documents.alicloud import PATCH_TEMPLATE

OTHER_USER = "escalationVictimUser"
OTHER_ROLE = "AdminRole"
OTHER_POLICY = "AdministratorAccess"
OTHER_GROUP = "Administrators"
OTHER_BUCKET = "another-teams-bucket"
OTHER_KEY = "key-anotherteam000000001"
PRIVILEGED = ("root", "system", "Administrator", "ROOT")
# Templates a person could start with a passed role to run an arbitrary command.
COMMAND_TEMPLATES = ("ACS-ECS-BulkyRunCommand", "ACS-ECS-RunCommand")


@dataclass(frozen=True)
class Request:
    category: str
    action: str
    resource: str
    context: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def describe(self) -> str:
        ctx = ", ".join(f"{k}={'/'.join(v)}" for k, v in self.context) or "no context"
        return f"{self.category}: {self.action} on {self.resource} ({ctx})"


@cache
def settings_of(stack: str) -> StackSettings:
    return example_resolved(stack).settings


def ram(account: str, resource: str) -> str:
    return f"acs:ram::{account}:{resource}"


def acs(service: str, region: str, account: str, resource: str) -> str:
    return f"acs:{service}:{region}:{account}:{resource}"


@cache
def principals(stack: str) -> tuple[access.Principal, ...]:
    return tuple(p for p in access.principals(plan_of(stack)) if p.cloud == "alicloud")


def own_roles(settings: StackSettings, principal: access.Principal) -> set[str]:
    """Roles a principal's task passes (the guides' PassRole grants), and nothing else."""
    naming = settings.naming
    name = lambda n: f"{naming.prefix}{n}{naming.suffix}"  # noqa: E731
    mine: set[str] = set()
    s1, s4, s5 = settings.patch_management, settings.ecs_instance_role, settings.eci_access
    if (
        s1.enabled
        and s1.operator_user
        and s1.automation_role
        and principal.name == name(s1.operator_user.name)
    ):
        mine.add(name(s1.automation_role.name))
    if s4.enabled and s4.operator_user and principal.name == name(s4.operator_user.name):
        mine.add(name(s4.role.name))
    if s5.enabled and s5.instance_role:
        for user in s5.users:
            if user.pass_instance_role and principal.name == name(user.name):
                mine.add(name(s5.instance_role.name))
    return mine


def attaches_instance_roles(settings: StackSettings, principal: access.Principal) -> bool:
    """Seed 003 step 6: the S4 operator attaches (its one) role to instances; nobody else does."""
    s4 = settings.ecs_instance_role
    naming = settings.naming
    return bool(
        s4.enabled
        and s4.operator_user
        and principal.name == f"{naming.prefix}{s4.operator_user.name}{naming.suffix}"
    )


def own_secrets(settings: StackSettings, principal: access.Principal) -> set[str]:
    """The S3 instance role reads its one parameter (and the KMS secret OOS keeps it in)."""
    s3 = settings.cloud_assistant_windows
    naming = settings.naming
    if s3.enabled and principal.name == f"{naming.prefix}{s3.instance_role.name}{naming.suffix}":
        return {f"{naming.prefix}{s3.secret_parameter.name}{naming.suffix}"}
    return set()


def catalogue(stack: str, principal: access.Principal) -> list[Request]:
    settings = settings_of(stack)
    plan = plan_of(stack)
    account, region = settings.alicloud.account_id, settings.alicloud.region
    users = sorted(p.name for p in principals(stack) if p.kind == "user")
    roles = sorted(p.name for p in principals(stack) if p.kind == "role")
    policies = sorted(r["inputs"]["policyName"] for r in plan["resources"] if r["type"] == access.ALI_POLICY)
    others = [u for u in users if u != principal.name] + [OTHER_USER]
    requests: list[Request] = []
    add = lambda category, action, resource, **ctx: requests.append(  # noqa: E731
        Request(category, action, resource, tuple(sorted((k, tuple(v)) for k, v in ctx.items())))
    )

    # Policies: new versions or a new default version of any custom policy (its own included),
    # new policies, and attaching/detaching any policy to anyone.
    for policy in [*policies, OTHER_POLICY]:
        for action in ("ram:CreatePolicyVersion", "ram:SetDefaultPolicyVersion", "ram:DeletePolicyVersion"):
            add("policy versions", action, ram(account, f"policy/{policy}"))
    add("policy creation", "ram:CreatePolicy", ram(account, "policy/escalate"))
    for target in [*users, OTHER_USER]:
        add("attach/detach", "ram:AttachPolicyToUser", ram(account, f"user/{target}"))
        add("attach/detach", "ram:DetachPolicyFromUser", ram(account, f"user/{target}"))
    for target in [*roles, OTHER_ROLE]:
        add("attach/detach", "ram:AttachPolicyToRole", ram(account, f"role/{target}"))
        add("attach/detach", "ram:DetachPolicyFromRole", ram(account, f"role/{target}"))
    add("attach/detach", "ram:AttachPolicyToGroup", ram(account, f"group/{OTHER_GROUP}"))
    add("attach/detach", "ram:DetachPolicyFromGroup", ram(account, f"group/{OTHER_GROUP}"))
    add("groups", "ram:AddUserToGroup", ram(account, f"group/{OTHER_GROUP}"))
    add("groups", "ram:CreateGroup", ram(account, "group/escalate"))
    # Credentials of other users.
    for target in others:
        for action in (
            "ram:CreateAccessKey",
            "ram:UpdateAccessKey",
            "ram:CreateLoginProfile",
            "ram:UpdateLoginProfile",
            "ram:DeleteLoginProfile",
            "ram:UnbindMFADevice",
        ):
            add("other users' credentials", action, ram(account, f"user/{target}"))
    add("users", "ram:CreateUser", ram(account, "user/escalate"))
    # Roles: creating one, changing a trust policy, passing or assuming one the task does not need.
    add("roles", "ram:CreateRole", ram(account, "role/escalate"))
    mine = own_roles(settings, principal)
    for target in [*roles, OTHER_ROLE]:
        add("roles", "ram:UpdateRole", ram(account, f"role/{target}"))
        add("roles", "sts:AssumeRole", ram(account, f"role/{target}"))
        if target not in mine:
            add("pass other roles", "ram:PassRole", ram(account, f"role/{target}"))
    # Instance role attachment: only the S4 operator's task (its own role, through PassRole above).
    instance = acs("ecs", region, account, "instance/i-escalation000000001")
    if not attaches_instance_roles(settings, principal):
        add("instance roles", "ecs:AttachInstanceRamRole", instance)
    # Commands as a privileged OS user, or naming none (which runs as root/system).
    for action in ("ecs:InvokeCommand", "ecs:RunCommand"):
        for target in command_targets(settings):
            add("commands as root", action, target)
            for user in PRIVILEGED:
                add("commands as root", action, target, **{"ecs:CommandRunAs": [user]})
    for action in ("ecs:ModifyInstanceAttribute", "ecs:ReplaceSystemDisk", "ecs:ResetDisk"):
        add("instance takeover", action, instance)
    # OOS: templates that run arbitrary commands (with a passed role), other secret parameters.
    for template in COMMAND_TEMPLATES:
        add("other templates", "oos:StartExecution", acs("oos", region, account, f"template/{template}"))
    readable = own_secrets(settings, principal)
    for parameter in ("anotherSecretPassword", *sorted({"axtSecretPassword"} - readable)):
        add("secrets", "oos:GetSecretParameter", acs("oos", region, account, f"secretparameter/{parameter}"))
        add("secrets", "kms:GetSecretValue", acs("kms", region, account, f"secret/oos/{parameter}"))
    add("secrets", "kms:GetSecretValue", acs("kms", region, account, "secret/db-root-password"))
    # Keys: nobody encrypts or grants; the one reader of the parameter decrypts with its own
    # customer-managed key only (kms:GetSecretValue depends on it), never with another key.
    key_id = settings.cloud_assistant_windows.secret_parameter.kms_key_id
    for key in sorted({OTHER_KEY, key_id or "key-default0000000001"}):
        for action in ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:CreateGrant"):
            if action == "kms:Decrypt" and key == key_id and "axtSecretPassword" in readable:
                continue
            add("keys", action, acs("kms", region, account, f"key/{key}"))
    # Buckets nobody's task names.
    for action in ("oss:GetObject", "oss:ListObjects", "oss:PutObject", "oss:PutBucketPolicy"):
        suffix = "/object" if "Object" in action and action != "oss:ListObjects" else ""
        add("other buckets", action, f"acs:oss:*:{account}:{OTHER_BUCKET}{suffix}")
    return requests


def command_targets(settings: StackSettings) -> list[str]:
    """Instances of the stack's commands and patches, and one no setting lists."""
    account, region = settings.alicloud.account_id, settings.alicloud.region
    ids = {"i-escalation000000001"}
    for scenario in (settings.cloud_assistant_linux, settings.cloud_assistant_windows):
        if scenario.enabled:
            ids |= set(scenario.instance_ids)
    windows = settings.cloud_assistant_windows
    targets = [acs("ecs", region, account, f"instance/{i}") for i in sorted(ids)]
    if windows.enabled:
        for instance in windows.windows_instances:
            targets.append(acs("ecs", instance.region or region, account, f"instance/{instance.id}"))
    if settings.patch_management.enabled:
        targets += [
            acs("ecs", region, account, f"instance/{i}") for i in settings.patch_management.instance_ids
        ]
    return sorted(set(targets))


def contexts(stack: str, request: Request) -> Iterator[dict[str, Any]]:
    """The request as asked, and once inside each resource group the stack grants in."""
    base = {k: list(v) for k, v in request.context}
    yield base
    for group in resource_groups(stack):
        yield {**base, access.RESOURCE_GROUP_KEY: group}


@cache
def resource_groups(stack: str) -> tuple[str, ...]:
    return tuple(
        sorted(
            {
                str(r["inputs"].get("resourceGroupId"))
                for r in plan_of(stack)["resources"]
                if r["type"] == access.ALI_RG_ATTACHMENT
            }
        )
    )


# The automation role of seed 000 runs the patch command, which needs root, and holds the
# guide's OOS actions (in dev on "*", the guide's trial form). It is no person: trusted by
# oos.aliyuncs.com only, started only through the patch template, passed only by the operator
# (all checked below), so its credentials only ever serve the patch template. Every other
# principal is denied both.
RUN_AS_EXCEPTIONS = {
    ("commands as root", "automation role"),
    ("other templates", "automation role"),
    ("secrets", "dev system policy"),
}
# dev keeps the guides' system policies (strict stacks replace them by the guide's reads): the
# Windows guide's AliyunOOSReadOnlyAccess grants oos:Get* on "*", so dev's Windows command user
# reads every OOS secret parameter of its account, which dev shares with staging (staging's
# parameters included). Bound: dev only, oos:GetSecretParameter only (kms:GetSecretValue on the
# KMS secret behind a parameter stays denied); the test below fails when it is no longer needed or
# reaches a strict stack.
DEV_SYSTEM_POLICY_SECRETS = ("oos:GetSecretParameter",)


def exception_for(stack: str, principal: access.Principal, request: Request) -> str | None:
    if (
        request.category == "secrets"
        and request.action in DEV_SYSTEM_POLICY_SECRETS
        and not settings_of(stack).alicloud.strict_scoping
        and "AliyunOOSReadOnlyAccess (system)" in holds(stack, principal)
    ):
        return "dev system policy"
    s1 = settings_of(stack).patch_management
    naming = settings_of(stack).naming
    if (
        request.category in ("commands as root", "other templates")
        and s1.enabled
        and s1.automation_role
        and principal.kind == "role"
        and principal.name == f"{naming.prefix}{s1.automation_role.name}{naming.suffix}"
    ):
        return "automation role"
    return None


@cache
def holds(stack: str, principal: access.Principal) -> tuple[str, ...]:
    return tuple(p.name for p in access.grants_of(plan_of(stack), principal).policies)


def test_the_dev_system_policy_exception_is_needed_and_bounded():
    found = 0
    for stack in STACKS:
        strict = settings_of(stack).alicloud.strict_scoping
        for principal in principals(stack):
            grants = access.grants_of(plan_of(stack), principal)
            excepted = [
                r
                for r in catalogue(stack, principal)
                if exception_for(stack, principal, r) == "dev system policy"
            ]
            assert not (strict and excepted), (stack, principal.name)
            for request in excepted:
                found += 1
                assert grants.decide(request.action, request.resource, {}).allowed, request.describe()
                kms = request.resource.replace("acs:oos:", "acs:kms:").replace(
                    "secretparameter/", "secret/oos/"
                )
                assert not grants.decide("kms:GetSecretValue", kms, {}).allowed
    assert found  # drop the exception when dev no longer holds the system policy


@cache
def allowed(stack: str, principal: access.Principal) -> list[str]:
    grants = access.grants_of(plan_of(stack), principal)
    found = []
    for request in catalogue(stack, principal):
        if (request.category, exception_for(stack, principal, request)) in RUN_AS_EXCEPTIONS:
            continue
        for context in contexts(stack, request):
            if grants.decide(request.action, request.resource, context).allowed:
                found.append(request.describe())
                break
    return found


def cases() -> list[tuple[str, access.Principal]]:
    return [(stack, p) for stack in STACKS for p in principals(stack)]


@pytest.mark.parametrize(("stack", "principal"), cases(), ids=lambda v: v.name if hasattr(v, "name") else v)
def test_no_alicloud_principal_can_escalate(stack, principal):
    assert allowed(stack, principal) == []


def test_every_stack_has_its_principals_in_the_catalogue():
    for stack in STACKS:
        kinds = {p.kind for p in principals(stack)}
        assert kinds == {"user", "role"}, stack
        for principal in principals(stack):
            assert len(catalogue(stack, principal)) >= 60, principal


def test_the_run_as_exception_is_still_needed_and_bounded():
    """The automation role does run commands as root (else drop the exception), and only OOS can
    assume it, only the operator may pass it; under the older page's reading only the patch
    template starts with it (the current one: any execution, bounded by the role's own reach)."""
    for stack in STACKS:
        settings = settings_of(stack)
        s1 = settings.patch_management
        if not (s1.enabled and s1.automation_role):
            continue
        plan = plan_of(stack)
        name = f"{settings.naming.prefix}{s1.automation_role.name}{settings.naming.suffix}"
        [role] = access.find_principal(plan, f"alicloud:{name}")
        grants = access.grants_of(plan, role)
        instance = s1.instance_ids[0] if s1.instance_ids else "i-escalation000000001"
        target = acs("ecs", settings.alicloud.region, settings.alicloud.account_id, f"instance/{instance}")
        assert grants.decide("ecs:InvokeCommand", target, {}).allowed, stack
        trust = next(
            r["inputs"]["assumeRolePolicyDocument"]
            for r in plan["resources"]
            if r["type"] == access.ALI_ROLE and r["inputs"].get("roleName") == name
        )
        assert '"Service":["oos.aliyuncs.com"]' in trust.replace(" ", ""), stack
        for principal in principals(stack):
            passes = access.grants_of(plan, principal).decide(
                "ram:PassRole", ram(settings.alicloud.account_id, f"role/{name}"), {}
            )
            operator = (
                s1.operator_user and principal.name == f"{settings.naming.prefix}{s1.operator_user.name}"
            )
            assert passes.allowed == bool(operator), (stack, principal.name)
            if operator:
                region, account = settings.alicloud.region, settings.alicloud.account_id
                template = acs("oos", region, account, "template/x")
                # Under the older page's reading (template and execution) no other template starts.
                # The current page authorises StartExecution on execution/* only, so an inline
                # template (TemplateContent/TemplateURL) starts too: the automation role is the
                # bound (docs/scenarios.md; exception s1-operator-runs-executions-as-the-automation-role;
                # test_tasks.py::test_s1_automation_role_reaches_only_the_stacks_instances).
                for other in (template, "*"):
                    decided = access.grants_of(plan, principal).decide("oos:StartExecution", other, {})
                    assert not decided.allowed, (stack, other)
                inline = acs("oos", region, account, "execution/exec-inline")
                assert access.grants_of(plan, principal).decide("oos:StartExecution", inline, {}).allowed
                patch = template.replace("template/x", f"template/{PATCH_TEMPLATE}")
                assert access.grants_of(plan, principal).decide("oos:StartExecution", patch, {}).allowed


PROD, STAGING = "5098765432109876", "5012345678901234"
# Issue #10, points 2-4, as the reviewer asked them: each must be denied by `baseline can`.
ISSUE_10_REQUESTS = [
    # 2. a person runs commands on prod instances (naming no OS user: root)
    (
        "prod",
        "patchOperator",
        "ecs:InvokeCommand",
        f"acs:ecs:cn-hangzhou:{PROD}:instance/i-bp1prodweb0000000001",
        (),
    ),
    (
        "prod",
        "patchOperator",
        "ecs:InvokeCommand",
        f"acs:ecs:cn-hangzhou:{PROD}:instance/i-bp1proddb00000000001",
        (),
    ),
    # 3. KMS and OSS open account-wide
    (
        "prod",
        "winCommandUser",
        "kms:Decrypt",
        f"acs:kms:cn-hangzhou:{PROD}:key/key-hzz6prodcmk0000000001",
        (),
    ),
    ("prod", "winCommandUser", "kms:Encrypt", f"acs:kms:cn-hangzhou:{PROD}:key/{OTHER_KEY}", ()),
    ("prod", "winCommandUser", "kms:GenerateDataKey", f"acs:kms:cn-hangzhou:{PROD}:key/{OTHER_KEY}", ()),
    (
        "prod",
        "AxtSecretRamRole",
        "kms:GetSecretValue",
        f"acs:kms:cn-hangzhou:{PROD}:secret/db-root-password",
        (),
    ),
    ("prod", "EcsRamRoleDocumentTesting", "oss:GetObject", f"acs:oss:*:{PROD}:{OTHER_BUCKET}/object", ()),
    ("prod", "ECIRamRoleTest", "oss:ListObjects", f"acs:oss:*:{PROD}:{OTHER_BUCKET}", ()),
    # 4. staging: a command that names no OS user, and Administrator
    (
        "staging",
        "stg-commandUser",
        "ecs:RunCommand",
        f"acs:ecs:cn-shanghai:{STAGING}:instance/i-uf6stgapp0000000001",
        (),
    ),
    (
        "staging",
        "stg-winCommandUser",
        "ecs:RunCommand",
        f"acs:ecs:cn-shanghai:{STAGING}:instance/i-uf6stgwin0000000001",
        ("ecs:CommandRunAs=Administrator",),
    ),
]


@pytest.mark.parametrize(("stack", "principal", "action", "resource", "context"), ISSUE_10_REQUESTS)
def test_the_issue_10_requests_are_denied(stack, principal, action, resource, context):
    """What ``baseline can`` runs after rendering: find the principal, collect, decide."""
    plan = plan_of(stack)
    [found] = access.find_principal(plan, principal)
    decision = access.grants_of(plan, found).decide(action, resource, access.parse_context(context))
    assert not decision.allowed, decision.reason


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_baseline_can_answers_deny_to_the_issue_10_requests(stack):
    """And through the command itself (exit 1, "deny"), one request per stack."""
    _, principal, action, resource, context = next(r for r in ISSUE_10_REQUESTS if r[0] == stack)
    argv = ["can", "--stack", stack, "--principal", principal, "--action", action, "--resource", resource]
    argv += [arg for pair in context for arg in ("--context", pair)]
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        assert main(argv) == 1, out.getvalue()
    assert out.getvalue().startswith("deny")


def catalogue_size(stack: str) -> int:
    """Requests asked of one stack (docs/proofs.md figure): every principal's catalogue, every context."""
    return sum(len(list(contexts(stack, r))) for p in principals(stack) for r in catalogue(stack, p))


def test_the_proofs_page_gives_these_figures():
    page = (ROOT / "docs" / "proofs.md").read_text()
    rows = {
        "RAM users and roles": [len(principals(s)) for s in STACKS],
        "RAM escalation requests asked": [sum(len(catalogue(s, p)) for p in principals(s)) for s in STACKS],
        "decisions (each request also inside every resource group the stack grants in)": [
            catalogue_size(s) for s in STACKS
        ],
        "allowed": [sum(len(allowed(s, p)) for p in principals(s)) for s in STACKS],
    }
    for label, figures in rows.items():
        line = f"| {label} | " + " | ".join(f"{n:,}" for n in figures) + " |"
        assert line in page, f"docs/proofs.md should read: {line}"


# --- S7: the pipeline's own RAM roles --------------------------------------------------------------
# A deploy role manages identities within its environment's name prefix: that is its task, and the
# by-design residue (docs/operations.md, section 8, "What a deploy role can still do"). Every request
# below is either denied, or a reasoned exception whose bound the catalogue proves by asking the
# same action just outside it (another prefix, the pipeline's own roles and policies, an
# administrator system policy, another account). Preview roles get no exception at all.

PIPELINE = "pipeline"
# Administrator-grade system policies, and system policies no stack attaches.
RAM_NEVER_ATTACHABLE = (
    "AdministratorAccess",
    "AliyunRAMFullAccess",
    "AliyunSTSAssumeRoleAccess",
    "AliyunECSFullAccess",
    "AliyunOOSFullAccess",
    "AliyunKMSFullAccess",
)
PIPELINE_EXCEPTIONS = {
    "own-prefix policies": "creates and versions the custom policies of its stack (names <prefix>*)",
    "own-prefix principals": "creates, changes and deletes its stack's users and roles (<prefix>*)",
    "own-prefix credentials": "creates its stack's AccessKeys and console logins (<prefix>* users)",
    "stack system policies": "attaches the system policies its stack's plan attaches, exactly those",
    # Attaching is held to the stack's own instances and roles (both resources of the call); only
    # the sandbox's deployer, whose per-PR account holds nothing else, reaches any of its instances.
    "instance roles": "passes its stack's instance roles (the listed ones, or <prefix>* in the sandbox); "
    "the sandbox's deployer attaches them to any instance of its own per-PR account",
}


@dataclass(frozen=True)
class PipelineRequest:
    request: Request
    exception: str | None = None  # key of PIPELINE_EXCEPTIONS: allowed by design, bounded


@cache
def pipeline_roles() -> tuple[tuple[access.Principal, Any], ...]:
    spec = example_resolved(PIPELINE).pipeline
    plan = plan_of(PIPELINE)
    found = []
    for role in spec.roles:
        if role.cloud == "alicloud":
            [principal] = access.find_principal(plan, f"alicloud:{role.name}")
            found.append((principal, role))
    return tuple(found)


@cache
def pipeline_environment(name: str) -> Any:
    settings = settings_of(PIPELINE).pipeline
    return next(e for e in settings.environments if e.name == name)


def pipeline_names() -> tuple[list[str], list[str]]:
    """The pipeline's own roles and policies (every environment's, plus the IAM boundary name)."""
    from baseline.scenarios.pipeline import boundary_name, role_names

    settings = settings_of(PIPELINE).pipeline
    roles = role_names(settings)
    return roles, [*(f"{r}-policy" for r in roles), boundary_name(settings)]


def pipeline_catalogue(role: Any) -> list[PipelineRequest]:
    environment = pipeline_environment(role.environment)
    prefix, account = environment.name_prefix, role.account
    deploy = role.access == "deploy"
    deployer = next(
        r for _, r in pipeline_roles() if r.environment == role.environment and r.access == "deploy"
    )
    attached = set(_deploy_scope_system_policies(deployer))  # a preview role is asked them too
    own_roles, own_policies = pipeline_names()
    # Its own: the sandbox's deployer is held to its prefix; every other deployer to the names its
    # stack creates, by exact name (issue 16). Everything else is foreign: another prefix, a
    # person's user (priya), and for an exact deployer a name inside its prefix its stack does
    # not create (prod: any such name, e.g. an administrator role).
    mine_user = mine_policy = mine_role = f"{prefix}escalate"
    foreign = ["zz-escalate", "AdminRole", "escalationVictimUser"] if prefix else []
    if environment.name != "test":
        from baseline.config import deployed_policies

        reach = deployed_policies(environment.deployed_stack, "pipeline")
        mine_user, mine_policy, mine_role = reach.ram_users[0], reach.ram_policies[0], reach.ram_roles[0]
        foreign = [*foreign, f"{prefix}escalate", "priya", "OrganizationAdmin"]
    other_account = "5000000000000009"
    requests: list[PipelineRequest] = []

    def add(category, action, resource, exception=None, **ctx):
        context = tuple(sorted((k, tuple(v)) for k, v in ctx.items()))
        requests.append(
            PipelineRequest(Request(category, action, resource, context), exception if deploy else None)
        )

    def role_arn(name, acct=account):
        return f"acs:ram:*:{acct}:role/{name.lower()}"

    # Policies: versions and default versions of the pipeline's own, someone else's, its own prefix.
    for action in (
        "ram:CreatePolicyVersion",
        "ram:SetDefaultPolicyVersion",
        "ram:DeletePolicyVersion",
        "ram:DeletePolicy",
    ):
        for name in own_policies:
            add("pipeline policies", action, ram(account, f"policy/{name}"))
        for name in foreign:
            add("other policies", action, ram(account, f"policy/{name}"))
        add("own-prefix policies", action, ram(account, f"policy/{mine_policy}"), "own-prefix policies")
        add("other accounts", action, ram(other_account, f"policy/{mine_policy}"))
    add(
        "own-prefix policies",
        "ram:CreatePolicy",
        ram(account, f"policy/{mine_policy}"),
        "own-prefix policies",
    )
    for name in foreign:
        add("other policies", "ram:CreatePolicy", ram(account, f"policy/{name}"))
    add("other accounts", "ram:CreatePolicy", ram(other_account, f"policy/{mine_policy}"))
    # Attachments: the policy side (system policies, the pipeline's own) and the principal side.
    for action, kind in (
        ("ram:AttachPolicyToUser", "user"),
        ("ram:AttachPolicyToRole", "role"),
        ("ram:AttachPolicy", None),
    ):
        for name in RAM_NEVER_ATTACHABLE:
            if name not in attached:
                add("administrator system policies", action, system_policy_arn(name))
        for name in sorted(attached):
            add("stack system policies", action, system_policy_arn(name), "stack system policies")
        for name in own_policies:
            add("pipeline policies", action, ram(account, f"policy/{name}"))
        if kind:
            for name in own_roles if kind == "role" else []:
                add("pipeline roles", action, role_arn(name))
            for name in foreign:
                add(
                    "other principals",
                    action,
                    ram(account, f"{kind}/{name}") if kind == "user" else role_arn(name),
                )
            target = ram(account, f"user/{mine_user}") if kind == "user" else role_arn(mine_role)
            add("own-prefix principals", action, target, "own-prefix principals")
    add("groups", "ram:AttachPolicyToGroup", ram(account, f"group/{OTHER_GROUP}"))
    add("groups", "ram:AddUserToGroup", ram(account, f"group/{OTHER_GROUP}"))
    add("groups", "ram:CreateGroup", ram(account, "group/escalate"))
    # Credentials: other users' (denied), its own prefix's (by design), MFA never.
    for action in (
        "ram:CreateAccessKey",
        "ram:UpdateAccessKey",
        "ram:CreateLoginProfile",
        "ram:UpdateLoginProfile",
        "ram:DeleteLoginProfile",
    ):
        for name in foreign:
            add("other users' credentials", action, ram(account, f"user/{name}"))
        add("own-prefix credentials", action, ram(account, f"user/{mine_user}"), "own-prefix credentials")
        add("other accounts", action, ram(other_account, f"user/{mine_user}"))
    # A forced user delete unbinds MFA first (the provider's delete): on its stack's own users, as
    # their credentials are; never on anyone else's.
    for name in foreign:
        add("other users' credentials", "ram:UnbindMFADevice", ram(account, f"user/{name}"))
    add(
        "own-prefix credentials",
        "ram:UnbindMFADevice",
        ram(account, f"user/{mine_user}"),
        "own-prefix credentials",
    )
    # Roles: the pipeline's own (trust included), others, its own prefix; assuming any; passing.
    for action in ("ram:CreateRole", "ram:UpdateRole", "ram:DeleteRole"):
        for name in own_roles:
            add("pipeline roles", action, role_arn(name))
        for name in foreign:
            add("other roles", action, role_arn(name))
        add("own-prefix principals", action, role_arn(mine_role), "own-prefix principals")
        add("other accounts", action, role_arn(mine_role, other_account))
    add("own-prefix principals", "ram:CreateUser", ram(account, f"user/{mine_user}"), "own-prefix principals")
    for name in foreign:
        add("users", "ram:CreateUser", ram(account, f"user/{name}"))
    add("other accounts", "ram:CreateUser", ram(other_account, f"user/{mine_user}"))
    passable = {r.lower() for r in environment.instance_roles}
    if not passable and environment.name != "test":
        passable = {r.lower() for r in reach.ram_roles}  # its stack's own roles, by exact name
    for name in [*own_roles, *foreign, mine_role, OTHER_ROLE]:
        add("assume roles", "sts:AssumeRole", role_arn(name))
        in_prefix = not passable and prefix and name.lower().startswith(prefix.lower())
        if name.lower() in passable or (in_prefix and name not in own_roles):
            add("instance roles", "ram:PassRole", role_arn(name), "instance roles")
        else:
            add("pass other roles", "ram:PassRole", role_arn(name))
    instance = acs("ecs", "cn-hangzhou", account, "instance/i-escalation000000001")
    if environment.name == "test":
        add("instance roles", "ecs:AttachInstanceRamRole", instance, "instance roles")
    else:  # an instance its stack does not name: denied, whatever role is handed over
        add("other instances", "ecs:AttachInstanceRamRole", instance)
    # Its own identity provider and everyone else's.
    for action in (
        "ram:CreateOIDCProvider",
        "ram:UpdateOIDCProvider",
        "ram:DeleteOIDCProvider",
        "ram:AddFingerprintToOIDCProvider",
        "ram:AddClientIdToOIDCProvider",
    ):
        for name in ("github-actions", "escalate"):
            add("identity providers", action, ram(account, f"oidc-provider/{name}"))
    add(
        "service-linked roles",
        "ram:CreateServiceLinkedRole",
        role_arn("aliyunserviceroleforecs"),
        **{"ram:ServiceName": ["ecs.aliyuncs.com"]},
    )
    # Resource groups' policies are attached as ram:AttachPolicy on the policy and the principal
    # (bounded above); Resource Manager's own action is granted to no deployer.
    add(
        "resource-group attachments",
        "resourcemanager:AttachPolicy",
        acs("resourcemanager", "*", account, "resourcegroup/rg-escalation"),
    )
    # Commands, keys, secrets, buckets: nothing of the workload's data plane.
    for action in ("ecs:InvokeCommand", "ecs:RunCommand"):
        add("commands as root", action, instance)
        for user in PRIVILEGED:
            add("commands as root", action, instance, **{"ecs:CommandRunAs": [user]})
    for action in ("ecs:ModifyInstanceAttribute", "ecs:ReplaceSystemDisk", "ecs:ResetDisk"):
        add("instance takeover", action, instance)
    for template in COMMAND_TEMPLATES:
        add(
            "other templates",
            "oos:StartExecution",
            acs("oos", "cn-hangzhou", account, f"template/{template}"),
        )
    parameter = acs("oos", "cn-hangzhou", account, "secretparameter/anotherSecretPassword")
    for action in ("oos:GetSecretParameter", "oos:UpdateSecretParameter", "oos:DeleteSecretParameter"):
        add("secrets", action, parameter)
    add("secrets", "kms:GetSecretValue", acs("kms", "cn-hangzhou", account, "secret/db-root-password"))
    for action in ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:CreateGrant"):
        add("keys", action, acs("kms", "cn-hangzhou", account, f"key/{OTHER_KEY}"))
    for action in ("oss:GetObject", "oss:ListObjects", "oss:PutObject", "oss:PutBucketPolicy"):
        add("other buckets", action, f"acs:oss:*:{account}:{OTHER_BUCKET}/object")
    return requests


def access_level(action: str) -> str | None:
    from baseline.analysis import reference

    row = reference.lookup("alicloud", action)
    return row.access if row else None


def system_policy_arn(name: str) -> str:
    return f"acs:ram:*:system:policy/{name}"


def _deploy_scope_system_policies(role: Any) -> list[str]:
    """The system policies the role's own document lets it attach (its stack's, test_s7 proves)."""
    return sorted(
        r.removeprefix("acs:ram:*:system:policy/")
        for s in role.policy["Statement"]
        if s["Effect"] == "Allow" and "ram:AttachPolicyToUser" in s["Action"]
        for r in s["Resource"]
        if r.startswith("acs:ram:*:system:policy/")
    )


@cache
def pipeline_outcomes(name: str) -> tuple[list[str], list[str], list[str]]:
    """(allowed although not excepted, excepted and allowed, excepted but denied) for one role."""
    principal, role = next((p, r) for p, r in pipeline_roles() if r.name == name)
    grants = access.grants_of(plan_of(PIPELINE), principal)
    assert not grants.not_evaluated, grants.not_evaluated
    escalations, excepted, unneeded = [], [], []
    for item in pipeline_catalogue(role):
        context = {k: list(v) for k, v in item.request.context}
        allowed_ = grants.decide(item.request.action, item.request.resource, context).allowed
        if item.exception is None and allowed_:
            escalations.append(item.request.describe())
        elif item.exception is not None:
            (excepted if allowed_ else unneeded).append(f"{item.exception}: {item.request.describe()}")
    return escalations, excepted, unneeded


def pipeline_role_names() -> list[str]:
    return [r.name for _, r in pipeline_roles()]


@pytest.mark.parametrize("name", pipeline_role_names())
def test_no_pipeline_role_can_escalate_beyond_its_reasoned_exceptions(name):
    escalations, _, _ = pipeline_outcomes(name)
    assert escalations == []


@pytest.mark.parametrize("name", [n for n in pipeline_role_names() if n.endswith("-preview")])
def test_preview_roles_get_no_exception_and_write_nothing(name):
    _, role = next((p, r) for p, r in pipeline_roles() if r.name == name)
    assert all(item.exception is None for item in pipeline_catalogue(role))
    grants = access.grants_of(plan_of(PIPELINE), next(p for p, r in pipeline_roles() if r.name == name))
    allowed_ = [s for s in role.policy["Statement"] if s["Effect"] == "Allow"]
    # Reads are what the reference's access level says (get, list), never a name's prefix.
    non_reads = {a for s in allowed_ for a in s["Action"] if access_level(a) not in ("get", "list")}
    # The one exception: kms:Decrypt (the reference's `update`, as AWS's own reference classes it:
    # Write) reads a secret parameter's value with its customer key; it changes nothing, and is held
    # to exactly the keys of the parameters the environment's stack declares.
    assert non_reads <= {"kms:Decrypt"}, sorted(non_reads)
    keys = {
        f"key/{r['inputs']['keyId']}"
        for r in plan_of(role.environment)["resources"]
        if r["type"] == "alicloud:oos/secretParameter:SecretParameter" and r["inputs"].get("keyId")
    }
    decrypt_on = {r for s in allowed_ if "kms:Decrypt" in s["Action"] for r in s["Resource"]}
    assert {r.rsplit(":", 1)[1] for r in decrypt_on} == keys
    assert all(r.split(":")[3] == role.account for r in decrypt_on)
    assert pipeline_outcomes(name)[0] == []
    assert grants.policies


@pytest.mark.parametrize("name", [n for n in pipeline_role_names() if n.endswith("-deploy")])
def test_every_deploy_exception_is_needed_and_bounded(name):
    """Each excepted request is really allowed (else drop the exception), and for each one the
    catalogue asks the same action just outside the bound, which must be denied."""
    _, role = next((p, r) for p, r in pipeline_roles() if r.name == name)
    _, excepted, unneeded = pipeline_outcomes(name)
    assert unneeded == []
    catalogue_ = pipeline_catalogue(role)
    bounded = {item.request.action for item in catalogue_ if item.exception is None}
    for item in catalogue_:
        if item.exception is not None:
            assert item.exception in PIPELINE_EXCEPTIONS
            if item.exception not in ("prod secret parameters", "instance roles"):
                assert item.request.action in bounded, item.request.describe()
    kinds = {e.split(":")[0] for e in excepted}
    assert {"own-prefix principals", "stack system policies", "own-prefix credentials"} <= kinds


@pytest.mark.parametrize("name", [n for n in pipeline_role_names() if n.endswith("-deploy")])
def test_no_deployer_attaches_administratoraccess_or_touches_the_pipeline(name):
    principal, role = next((p, r) for p, r in pipeline_roles() if r.name == name)
    grants = access.grants_of(plan_of(PIPELINE), principal)
    for action in (
        "ram:AttachPolicyToUser",
        "ram:AttachPolicyToRole",
        "ram:AttachPolicyToGroup",
        "ram:AttachPolicy",
    ):
        assert not grants.decide(action, system_policy_arn("AdministratorAccess"), {}).allowed
    own_roles, _ = pipeline_names()
    for target in own_roles:
        for action in ("ram:UpdateRole", "ram:PassRole", "ram:DeleteRole", "ram:AttachPolicyToRole"):
            assert not grants.decide(action, f"acs:ram:*:{role.account}:role/{target.lower()}", {}).allowed


def test_pipeline_catalogue_figures():
    """Measured for the closing note and docs: asked, denied, excepted over the RAM pipeline roles."""
    asked = sum(len(pipeline_catalogue(r)) for _, r in pipeline_roles())
    excepted = sum(len(pipeline_outcomes(r.name)[1]) for _, r in pipeline_roles())
    escalations = sum(len(pipeline_outcomes(r.name)[0]) for _, r in pipeline_roles())
    assert escalations == 0
    assert asked > 600 and 0 < excepted < asked / 4, (asked, excepted)


@pytest.mark.parametrize("name", [n for n in pipeline_role_names() if n.endswith("-deploy")])
def test_deployers_attach_no_instance_role_elsewhere_and_no_resource_group_policy_by_group(name):
    """The two exceptions the reference made unneeded stay denied: an exact deployer attaches
    instance roles to its stack's instances only, and no deployer holds Resource Manager's
    AttachPolicy (resource groups' policies go through ram:AttachPolicy on policy and principal)."""
    _, role = next((p, r) for p, r in pipeline_roles() if r.name == name)
    asked = [i.request for i in pipeline_catalogue(role) if i.exception is None]
    principal = next(p for p, r in pipeline_roles() if r.name == name)
    grants = access.grants_of(plan_of(PIPELINE), principal)
    categories = {"resource-group attachments"} | (
        {"other instances"} if role.environment != "test" else set()
    )
    checked = [r for r in asked if r.category in categories]
    assert {r.category for r in checked} == categories
    assert not [r.describe() for r in checked if grants.decide(r.action, r.resource).allowed]
