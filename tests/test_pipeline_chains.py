"""The pipeline cannot be turned into admin: the reported chains, asked of every pipeline role.

An outside review, done as an attacker with a pull request would try it, turned the pipeline
into admin of every account (issue 16). Each chain below is asked step by step of every role of
the shipped `stacks/Pulumi.pipeline.yaml`, through the evaluator exactly as
`python -m baseline can --stack pipeline --principal <cloud>:<role> --action ... --resource ...`
asks it (``baseline.analysis.access``). A chain is denied when one of its steps is; each test also
names the step that breaks it, so a widened policy fails here with the step that opened.

1. mint an admin: create a policy, create a principal (behind that policy as its boundary, on
   AWS), attach, use it (an AccessKey on RAM, assume on AWS);
2. re-trust an identity no stack creates (the organisation's admin role, a person's user), or
   hand out its credentials;
3. read, write or delete another stack's state.

Inside the sandbox (the `test` environment) a pull request may mint an admin of the sandbox on
RAM by design (its deployer is bound by prefix): what it reaches there leads nowhere, because the
sandbox's accounts are no other environment's and the pipeline refuses any layout where they are.
"""

from __future__ import annotations

import json
from functools import cache

import pytest
from conftest import ROOT, example_resolved, plan_of

from baseline.analysis import access, evaluator
from baseline.config import deployed_policies

PIPELINE = "pipeline"
PROJECT = "ecs-access-baseline"
ADMIN_ROLES = {"aws": "OrganizationAccountAccessRole", "alicloud": "resourcedirectoryaccountaccessrole"}


@cache
def pipeline():
    return example_resolved(PIPELINE)


def roles() -> list:
    return list(pipeline().pipeline.roles)


def ids(role) -> str:
    return f"{role.cloud}:{role.name}"


def environment(role):
    return next(e for e in pipeline().settings.pipeline.environments if e.name == role.environment)


def allowed(role, action: str, resource: str, **context: str) -> bool:
    """What `baseline can --stack pipeline --principal <cloud>:<name>` answers."""
    (principal,) = access.find_principal(plan_of(PIPELINE), f"{role.cloud}:{role.name}")
    grants = access.grants_of(plan_of(PIPELINE), principal)
    assert not grants.not_evaluated, grants.not_evaluated
    return grants.decide(action, resource, {k: [v] for k, v in context.items()}).allowed


def call_allowed(role, action: str, *resources: str) -> bool:
    """A call authorised on several resources at once, every one of them asked."""
    (principal,) = access.find_principal(plan_of(PIPELINE), f"{role.cloud}:{role.name}")
    grants = access.grants_of(plan_of(PIPELINE), principal)
    return evaluator.evaluate_call(
        grants.policies, role.cloud, action, resources, boundary=grants.boundary
    ).allowed


def iam(account: str, kind: str, name: str) -> str:
    return f"arn:aws:iam::{account}:{kind}/{name}"


def ram(account: str, kind: str, name: str) -> str:
    return f"acs:ram:*:{account}:{kind}/{name.lower() if kind == 'role' else name}"


def other_accounts(role) -> list[str]:
    """Every other account the pipeline names in the role's cloud."""
    attr = "aws_account_id" if role.cloud == "aws" else "alicloud_account_id"
    found = {getattr(e, attr) for e in pipeline().settings.pipeline.environments} - {role.account, None}
    found.add(pipeline().pipeline.home_accounts[role.cloud])
    return sorted(found)


# --- 1. create a policy, create a principal, attach, use ------------------------------------------
@pytest.mark.parametrize("role", [r for r in roles() if r.cloud == "aws"], ids=ids)
def test_no_iam_role_mints_a_role_behind_a_boundary_it_wrote(role):
    prefix, account = environment(role).name_prefix, role.account
    policy = iam(account, "policy", f"{prefix}chain")
    created = iam(account, "role", f"{prefix}chain")
    self_bounded = {"iam:PermissionsBoundary": policy}
    steps = {
        "create the policy": allowed(role, "iam:CreatePolicy", policy),
        "create a role behind it": allowed(role, "iam:CreateRole", created, **self_bounded),
        "attach it": allowed(
            role, "iam:AttachRolePolicy", created, **{"iam:PolicyARN": policy}, **self_bounded
        ),
        "use it": allowed(role, "sts:AssumeRole", created),
    }
    assert not all(steps.values()), steps
    if role.environment != "test":
        assert not any(steps.values()), steps  # held to its stack's names: not one step opens
    # The step that breaks it for every role: a boundary the deployer writes itself is refused.
    assert not steps["create a role behind it"]
    assert not allowed(role, "iam:CreateRole", created)  # nor a role without any boundary
    assert not steps["use it"]
    for admin in ("AdministratorAccess", "IAMFullAccess", "PowerUserAccess"):
        arn = f"arn:aws:iam::aws:policy/{admin}"
        for boundary in [self_bounded, *_own_boundaries(role)]:
            assert not allowed(role, "iam:AttachRolePolicy", created, **{"iam:PolicyARN": arn}, **boundary)


def _own_boundaries(role) -> list[dict[str, str]]:
    reach = pipeline_reach(role)
    return [{"iam:PermissionsBoundary": iam(role.account, "policy", b)} for b in reach.iam_boundaries]


def pipeline_reach(role):
    return _reach(role.environment)


@cache
def _reach(name: str):
    env = next(e for e in pipeline().settings.pipeline.environments if e.name == name)
    return deployed_policies(env.deployed_stack, "pipeline", sandbox=env if env.name == "test" else None)


@pytest.mark.parametrize("role", [r for r in roles() if r.cloud == "alicloud"], ids=ids)
def test_no_ram_role_outside_the_sandbox_mints_an_accesskey_with_a_policy_it_wrote(role):
    prefix, account = environment(role).name_prefix, role.account
    name = f"{prefix}chain"
    steps = {
        "create the policy": allowed(role, "ram:CreatePolicy", ram(account, "policy", name)),
        "create the user": allowed(role, "ram:CreateUser", ram(account, "user", name)),
        "attach": allowed(role, "ram:AttachPolicyToUser", ram(account, "policy", name))
        and allowed(role, "ram:AttachPolicyToUser", ram(account, "user", name)),
        "an AccessKey": allowed(role, "ram:CreateAccessKey", ram(account, "user", name)),
    }
    if role.environment == "test":
        # The sandbox's deployer is bound by its prefix, by design: the sandbox holds nothing else.
        assert role.account not in other_accounts(role)
        assert not allowed(
            role, "sts:AssumeRole", ram(other_accounts(role)[0], "role", ADMIN_ROLES["alicloud"])
        )
        return
    assert not any(steps.values()), steps  # held to its stack's names: not one step opens
    # Nor through a system policy that administers the account.
    for admin in ("AdministratorAccess", "AliyunRAMFullAccess", "AliyunSTSAssumeRoleAccess"):
        assert not allowed(role, "ram:AttachPolicyToUser", f"acs:ram:*:system:policy/{admin}")


# --- 2. re-trust an identity no stack creates, or take over a person's user ----------------------
def strangers(role) -> tuple[str, ...]:
    """Roles no stack creates in the role's account. The sandbox's prefix `pr` would match a
    `prod-breakglass` there, but the sandbox accounts hold nothing else (config refuses sharing
    them), so such a role exists only in other accounts, which are asked below."""
    return ("AdminRole",) if role.environment == "test" else ("prod-breakglass", "AdminRole")


@pytest.mark.parametrize("role", roles(), ids=ids)
def test_no_role_re_trusts_or_takes_over_an_identity_no_stack_creates(role):
    account = role.account
    if role.cloud == "aws":
        for name in (ADMIN_ROLES["aws"], *strangers(role)):
            assert not allowed(role, "iam:UpdateAssumeRolePolicy", iam(account, "role", name)), name
        for name in (ADMIN_ROLES["aws"], "prod-breakglass", "AdminRole"):
            for other in other_accounts(role):
                assert not allowed(role, "iam:UpdateAssumeRolePolicy", iam(other, "role", name)), (
                    other,
                    name,
                )
                assert not allowed(role, "sts:AssumeRole", iam(other, "role", name)), (other, name)
        for action in ("iam:CreateAccessKey", "iam:CreateLoginProfile", "iam:UpdateLoginProfile"):
            assert not allowed(role, action, iam(account, "user", "priya")), action
        return
    for name in (ADMIN_ROLES["alicloud"], *strangers(role)):
        assert not allowed(role, "ram:UpdateRole", ram(account, "role", name)), name
    for name in (ADMIN_ROLES["alicloud"], "prod-breakglass", "AdminRole"):
        for other in other_accounts(role):
            assert not allowed(role, "sts:AssumeRole", ram(other, "role", name)), (other, name)
    for action in (
        "ram:CreateAccessKey",
        "ram:CreateLoginProfile",
        "ram:UpdateLoginProfile",
        "ram:DeleteLoginProfile",
        "ram:AddUserToGroup",
        "ram:RemoveUserFromGroup",
    ):
        # (The sandbox's prefix `pr` would match a person `priya` there, but it holds no one.)
        for user in ("alice", "admin") if role.environment == "test" else ("priya", "prod-admin", "admin"):
            assert not allowed(role, action, ram(account, "user", user)), (action, user)
    administrators = ram(account, "group", "Administrators")
    if role.environment == "test":
        # The sweeper takes a `pr*` user out of any group (a PR-made user may have joined one not
        # named so), never anyone else: the call is authorised on the user and the group together.
        assert call_allowed(role, "ram:RemoveUserFromGroup", ram(account, "user", "prx"), administrators)
        alice = ram(account, "user", "alice")
        assert not call_allowed(role, "ram:RemoveUserFromGroup", alice, administrators)
    else:
        assert not allowed(role, "ram:RemoveUserFromGroup", administrators)


@pytest.mark.parametrize(
    "role", [r for r in roles() if r.access == "deploy" and r.environment != "test"], ids=ids
)
def test_a_deploy_role_re_trusts_and_hands_credentials_to_its_own_stacks_identities_only(role):
    """Exactly the names its stack creates (``spec.deployer_reach``): one of them yes, the same
    action on a name inside its prefix that the stack does not create no."""
    reach, prefix, account = pipeline_reach(role), environment(role).name_prefix, role.account
    if role.cloud == "aws":
        mine = iam(account, "role", reach.iam_roles[0])
        assert allowed(role, "iam:UpdateAssumeRolePolicy", mine)
        assert not allowed(role, "iam:UpdateAssumeRolePolicy", iam(account, "role", f"{prefix}NotInTheStack"))
        return
    user, stranger = ram(account, "user", reach.ram_users[0]), ram(account, "user", f"{prefix}NotInTheStack")
    for action in ("ram:CreateAccessKey", "ram:CreateLoginProfile", "ram:UpdateLoginProfile"):
        assert allowed(role, action, user), action
        assert not allowed(role, action, stranger), action
    assert allowed(role, "ram:UpdateRole", ram(account, "role", reach.ram_roles[0]))
    assert not allowed(role, "ram:UpdateRole", ram(account, "role", f"{prefix}NotInTheStack"))


# --- 3. another stack's state ----------------------------------------------------------------------
STACKS_IN_STATE = ("dev", "staging", "prod", "pipeline", "test-pr-12")


@pytest.mark.parametrize("role", [r for r in roles() if r.cloud == "aws"], ids=ids)
def test_no_role_reads_writes_or_deletes_another_stacks_state(role):
    settings = pipeline().settings.pipeline
    env = environment(role)
    own = "test-pr-12" if role.environment == "test" else env.deployed_stack
    root = settings.aws_state_path
    for bucket in {settings.aws_state_bucket, env.aws_state_bucket} - {None}:
        for stack in STACKS_IN_STATE:
            checkpoint = f"arn:aws:s3:::{bucket}/{root}/.pulumi/stacks/{PROJECT}/{stack}.json"
            history = f"arn:aws:s3:::{bucket}/{root}/.pulumi/history/{PROJECT}/{stack}/{stack}-1.history.json"
            mine = stack == own and bucket == (env.aws_state_bucket or settings.aws_state_bucket)
            assert allowed(role, "s3:GetObject", checkpoint) == mine, (bucket, stack)
            assert allowed(role, "s3:PutObject", checkpoint) == (mine and role.access == "deploy"), stack
            # Nobody deletes a stack's state but the sandbox's deployer its own (teardown).
            deletes = mine and role.environment == "test" and role.access == "deploy"
            assert allowed(role, "s3:DeleteObject", checkpoint) == deletes, (bucket, stack)
            assert allowed(role, "s3:DeleteObject", history) == deletes, (bucket, stack)
        assert not allowed(role, "s3:DeleteBucket", f"arn:aws:s3:::{bucket}")
        assert not allowed(role, "s3:PutBucketPolicy", f"arn:aws:s3:::{bucket}")


def test_the_sandbox_holds_its_own_state_and_accounts():
    settings = pipeline().settings.pipeline
    (sandbox,) = [e for e in settings.environments if e.name == "test"]
    others = [e for e in settings.environments if e.name != "test"]
    assert sandbox.aws_state_bucket and sandbox.aws_state_bucket != settings.aws_state_bucket
    for attr in ("alicloud_account_id", "aws_account_id"):
        assert getattr(sandbox, attr) not in {getattr(e, attr) for e in others}
    home = pipeline().pipeline.home_accounts
    assert sandbox.alicloud_account_id != home["alicloud"] and sandbox.aws_account_id != home["aws"]


# --- 4. the sandbox's boundary: a pull request's roles sit behind the pipeline stack's ------------
def _sandbox_deploy_role():
    (role,) = [r for r in roles() if r.cloud == "aws" and r.environment == "test" and r.access == "deploy"]
    return role


def _sandbox_requests(account: str, prefix: str) -> dict[str, tuple[str, str, dict[str, str]]]:
    """The steps that would leave a standing identity in the sandbox: write the boundary, or give a
    role or user permissions behind a boundary of the pull request's own (or none), or take the
    boundary off a role."""
    workload = iam(account, "policy", "sandbox-workload-boundary")
    own = iam(account, "policy", f"{prefix}admin")
    role, user = iam(account, "role", f"{prefix}x"), iam(account, "user", f"{prefix}x")
    self_bounded = {"iam:PermissionsBoundary": own}
    behind = {"iam:PermissionsBoundary": workload}
    pathed_role, pathed_policy = (
        iam(account, "role", f"{prefix}/ci-reader"),
        iam(account, "policy", f"{prefix}/x"),
    )
    return {
        "re-version the boundary": ("iam:CreatePolicyVersion", workload, {}),
        "make it the default": ("iam:SetDefaultPolicyVersion", workload, {}),
        "delete the boundary": ("iam:DeletePolicy", workload, {}),
        "create a role behind its own policy": ("iam:CreateRole", role, self_bounded),
        "create a role without a boundary": ("iam:CreateRole", role, {}),
        "create a user": ("iam:CreateUser", user, {}),
        "swap the role's boundary": ("iam:PutRolePermissionsBoundary", role, self_bounded),
        "remove the role's boundary": ("iam:DeleteRolePermissionsBoundary", role, {}),
        "remove a user's boundary": ("iam:DeleteUserPermissionsBoundary", user, {}),
        "attach to a role behind its own policy": (
            "iam:AttachRolePolicy",
            role,
            {"iam:PolicyARN": own, **self_bounded},
        ),
        "put an inline policy": ("iam:PutRolePolicy", role, self_bounded),
        "attach to a user": ("iam:AttachUserPolicy", user, {"iam:PolicyARN": own}),
        "put a user's inline policy": ("iam:PutUserPolicy", user, {}),
        # IAM ARNs carry the path: role/pr/ci-reader (Path=/pr/) matches role/pr*, yet its name does
        # not start with the prefix the sweep takes. Behind the sandbox's own boundary, too.
        "create a role on a /pr path": ("iam:CreateRole", pathed_role, behind),
        "re-trust a role on a /pr path": ("iam:UpdateAssumeRolePolicy", pathed_role, {}),
        "create a policy on a /pr path": ("iam:CreatePolicy", pathed_policy, {}),
        "re-version a policy on a /pr path": ("iam:CreatePolicyVersion", pathed_policy, {}),
        "attach to a role on a /pr path": (
            "iam:AttachRolePolicy",
            pathed_role,
            {"iam:PolicyARN": iam(account, "policy", f"{prefix}x"), **behind},
        ),
        "create a user on a /pr path": ("iam:CreateUser", iam(account, "user", f"{prefix}/x"), behind),
        "create an instance profile on a /pr path": (
            "iam:CreateInstanceProfile",
            iam(account, "instance-profile", f"{prefix}/x"),
            {},
        ),
    }


def test_the_sandbox_deploy_role_keeps_every_pr_identity_behind_the_sandbox_boundary():
    # Held today by what the policy allows (issue 24, point 4: what was already there).
    role = _sandbox_deploy_role()
    prefix = environment(role).name_prefix
    opened = {
        step: allowed(role, action, resource, **context)
        for step, (action, resource, context) in _sandbox_requests(role.account, prefix).items()
    }
    assert not any(opened.values()), opened
    # And its job still works: a pr* role behind the sandbox's boundary, with a pr* policy.
    behind = {"iam:PermissionsBoundary": iam(role.account, "policy", "sandbox-workload-boundary")}
    created = iam(role.account, "role", f"{prefix}x")
    assert allowed(role, "iam:CreateRole", created, **behind)
    own = {"iam:PolicyARN": iam(role.account, "policy", f"{prefix}x"), **behind}
    assert allowed(role, "iam:AttachRolePolicy", created, **own)


def test_a_widened_sandbox_deploy_policy_still_leaves_no_identity_outside_the_sandbox_boundary():
    # The pipeline boundary is the ceiling whatever the role's policy becomes (widened by hand, or
    # an allow added later): the boundary alone refuses every step.
    role = _sandbox_deploy_role()
    prefix = environment(role).name_prefix
    (boundary,) = [
        r
        for r in plan_of(PIPELINE)["resources"]
        if r["type"] == "aws:iam/policy:Policy"
        and r["inputs"]["policy"]
        and r["name"].endswith(f"{role.account}-boundary")
    ]
    widened = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    policies = [evaluator.NamedPolicy("widened", widened)]
    ceiling = [evaluator.NamedPolicy("boundary", json.loads(boundary["inputs"]["policy"]))]

    def opens(action: str, resource: str, context: dict[str, str]) -> bool:
        return evaluator.evaluate(policies, action, resource, context, boundary=ceiling).allowed

    opened = {step: opens(*request) for step, request in _sandbox_requests(role.account, prefix).items()}
    assert not any(opened.values()), opened
    behind = {"iam:PermissionsBoundary": iam(role.account, "policy", "sandbox-workload-boundary")}
    assert opens("iam:CreateRole", iam(role.account, "role", f"{prefix}x"), behind)


def test_the_proofs_figure_names_every_pipeline_role():
    page = " ".join((ROOT / "docs" / "proofs.md").read_text().split())
    assert f"Asked of all {len(roles())} pipeline roles" in page
    assert len(roles()) == len({(r.cloud, r.name) for r in roles()})
