"""S7 pipeline: GitHub OIDC in both clouds, roles scoped to one repository and one environment.

Intent, as docs/operations.md states it: the workflows of acme/ecs-access-baseline running in
the GitHub environment `prod` may assume prod's deploy roles; another repository, another
environment (dev, prod-preview) or another issuer may not. Deploy roles can do what their
environment's stack needs (every resource its plan registers) and nothing on another stack's
names, and no deployer can change the pipeline's own identities.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import re
from pathlib import Path

import pytest
import yaml
from conftest import FIXTURES, ROOT, STACKS, STACKS_DIR, plan_of, shipped_plan, shipped_stacks

from baseline.analysis import access
from baseline.analysis.evaluator import NamedPolicy, evaluate, evaluate_call
from baseline.cli import main
from baseline.documents import pipeline as documents

REPOSITORY = "acme/ecs-access-baseline"
REPOSITORY_ID, OWNER_ID = 123456789, 987654321  # stacks/Pulumi.pipeline.yaml
CLOUDS = ("alicloud", "aws")
OIDC_TYPES = {"alicloud": access.ALI_OIDC_PROVIDER, "aws": access.AWS_OIDC_PROVIDER}
ROLE_TYPES = {"alicloud": access.ALI_ROLE, "aws": access.AWS_ROLE}
TRUST_KEYS = {"alicloud": "assumeRolePolicyDocument", "aws": "assumeRolePolicy"}
SUBJECT_KEYS = {"alicloud": "oidc:sub", "aws": "token.actions.githubusercontent.com:sub"}


def pipeline_stack() -> dict:
    return yaml.safe_load((FIXTURES / "Pulumi.pipeline.yaml").read_text())["config"]


def environments() -> list[dict]:
    return pipeline_stack()["ecs-access-baseline:pipeline"]["environments"]


def plan() -> dict:
    return plan_of("pipeline")


def role(cloud: str, name: str) -> access.Principal:
    (found,) = access.find_principal(plan(), f"{cloud}:{name}")
    return found


MAIN = "refs/heads/main"


def workflow_ref(workflow: str, ref: str = MAIN, repository: str = REPOSITORY) -> str:
    return f"{repository}/.github/workflows/{workflow}@{ref}"


def subject(
    environment: str,
    repository_id: int = REPOSITORY_ID,
    owner_id: int = OWNER_ID,
    job_workflow_ref: str | None = None,
) -> str:
    """The `sub` GitHub issues, under the template the bootstrap step sets, to a run in
    ``environment``: deploy.yml on main, or a pull request's test-stack.yml in the sandbox (unless
    ``job_workflow_ref`` says otherwise)."""
    if job_workflow_ref is None:
        job_workflow_ref = (
            workflow_ref("test-stack.yml", "refs/pull/12/merge")
            if environment == "test"
            else workflow_ref("deploy.yml")
        )
    return issued_subject(
        {
            "repository_owner_id": str(owner_id),
            "repository_id": str(repository_id),
            "context": f"environment:{environment}",
            "job_workflow_ref": job_workflow_ref,
        }
    )


def bootstrap_claim_keys() -> list[str]:
    """The subject template's claims as docs/operations.md section 8 sets them (its `gh api` call)."""
    text = (ROOT / "docs" / "operations.md").read_text()
    call = re.search(
        r"gh api -X PUT repos/OWNER/REPO/actions/oidc/customization/sub(.*?)(?:\n\s*\n|```)", text, re.S
    )
    assert call, "section 8 does not set the repository's subject template"
    assert "use_default=false" in call.group(1)
    return re.findall(r"include_claim_keys\[\]=(\w+)", call.group(1))


def issued_subject(claims: dict[str, str]) -> str:
    """The `sub` GitHub issues under the documented template: each included claim as `key:value`,
    in the template's order; `context` is `environment:<name>` for a job in an environment."""
    return ":".join(
        f"{key}:{claims[key]}" if key != "context" else claims[key] for key in bootstrap_claim_keys()
    )


def may_assume(cloud: str, name: str, sub: str, **claims: str) -> bool:
    context = {SUBJECT_KEYS[cloud]: [sub]}
    prefix = "oidc" if cloud == "alicloud" else documents.GITHUB_ISSUER_HOST
    context.update({f"{prefix}:{k}": [v] for k, v in claims.items()})
    _, _, decision = access.decide_trust(plan(), role(cloud, name), access.ASSUME_ACTIONS[cloud], context)
    return decision.allowed


def can(cloud: str, name: str, action: str, resource: str, **context: str) -> bool:
    grants = access.grants_of(plan(), role(cloud, name))
    assert not grants.not_evaluated, grants.not_evaluated
    return grants.decide(action, resource, {k: [v] for k, v in context.items()}).allowed


# --- what the plan shows --------------------------------------------------------------------------


@pytest.mark.parametrize("cloud", CLOUDS)
def test_the_plan_registers_githubs_oidc_provider_in_every_account_of_each_cloud(cloud):
    key = "alicloudAccountId" if cloud == "alicloud" else "awsAccountId"
    accounts = {e[key] for e in environments() if e.get(key)}
    providers = [r for r in plan()["resources"] if r["type"] == OIDC_TYPES[cloud]]
    assert len(providers) == len(accounts) >= 2
    for provider in providers:
        inputs = provider["inputs"]
        issuer = inputs["issuerUrl"] if cloud == "alicloud" else inputs["url"]
        assert issuer == "https://token.actions.githubusercontent.com"
        clients = inputs["clientIds"] if cloud == "alicloud" else inputs["clientIdLists"]
        assert clients == ["sts.aliyuncs.com" if cloud == "alicloud" else "sts.amazonaws.com"]
        assert provider["protect"] is True
        assert provider["provider"].endswith(tuple(accounts))
    if cloud == "alicloud":
        for provider in providers:
            assert all(re.fullmatch(r"[0-9a-f]{40}", f) for f in provider["inputs"]["fingerprints"])
            assert provider["inputs"]["issuanceLimitTime"] == 1


@pytest.mark.parametrize("cloud", CLOUDS)
def test_every_role_trusts_one_repository_and_one_environment_exactly(cloud):
    roles = [r for r in plan()["resources"] if r["type"] == ROLE_TYPES[cloud]]
    names = {r["inputs"].get("roleName") or r["inputs"]["name"] for r in roles}
    expected = {
        f"github-{e['name']}-{access_}"
        for e in environments()
        for access_ in ("deploy", *(("preview",) if e.get("preview", True) else ()))
    }
    assert names == expected
    for resource in roles:
        name = resource["inputs"].get("roleName") or resource["inputs"]["name"]
        environment = name.removeprefix("github-").removesuffix("-deploy").removesuffix("-preview")
        github_environment = environment if name.endswith("-deploy") else f"{environment}-preview"
        (statement,) = json.loads(resource["inputs"][TRUST_KEYS[cloud]])["Statement"]
        assert statement["Effect"] == "Allow" and "Federated" in statement["Principal"]
        equals = statement["Condition"]["StringEquals"]
        if environment == "test":
            # The one wildcard: the pull request's number in the sandbox's merge ref.
            assert set(statement["Condition"]) == {"StringEquals", "StringLike"}
            subjects = statement["Condition"]["StringLike"][SUBJECT_KEYS[cloud]]
            assert sorted(subjects) == [
                subject("test", job_workflow_ref=workflow_ref("sandbox-sweep.yml")),
                subject("test", job_workflow_ref=workflow_ref("test-stack.yml")),
                subject("test", job_workflow_ref=workflow_ref("test-stack.yml", "refs/pull/*/merge")),
            ]
        else:
            assert set(statement["Condition"]) == {"StringEquals"}, "no StringLike: never a wildcard subject"
            subjects = equals[SUBJECT_KEYS[cloud]]
            workflows = ("deploy.yml",) if name.endswith("-deploy") else ("deploy.yml", "drift.yml")
            expected = [subject(github_environment, job_workflow_ref=workflow_ref(w)) for w in workflows]
            assert (subjects if isinstance(subjects, list) else [subjects]) == expected
            assert "*" not in json.dumps(statement)
        if cloud == "alicloud":
            assert equals["oidc:iss"] == documents.GITHUB_ISSUER and equals["oidc:aud"] == "sts.aliyuncs.com"
        else:
            assert equals["token.actions.githubusercontent.com:aud"] == "sts.amazonaws.com"


def test_the_long_lived_stacks_are_unchanged_when_s7_is_off():
    for stack in STACKS:
        types = {r["type"] for r in plan_of(stack)["resources"]}
        assert not types & {*OIDC_TYPES.values(), "ecs-access-baseline:pipeline:Pipeline"}
        assert "pipeline" not in plan_of(stack)["outputs"]


def test_the_pipeline_stack_follows_prods_rules():
    config = pipeline_stack()
    assert config["ecs-access-baseline:environment"] == "prod"
    assert config["ecs-access-baseline:protectIdentities"] is True
    for resource in plan()["resources"]:
        if resource["type"] in (*OIDC_TYPES.values(), *ROLE_TYPES.values()):
            assert resource["protect"] is True, resource["name"]


def test_the_outputs_give_each_github_environment_its_variables():
    variables = plan()["outputs"]["pipeline"]["githubVariables"]
    assert variables["prod"]["AWS_ROLE_ARN"] == "arn:aws:iam::444455556666:role/github-prod-deploy"
    assert variables["prod"]["ALICLOUD_ROLE_ARN"] == "acs:ram::5098765432109876:role/github-prod-deploy"
    assert (
        variables["prod"]["ALICLOUD_OIDC_PROVIDER_ARN"]
        == "acs:ram::5098765432109876:oidc-provider/github-actions"
    )
    assert variables["prod-preview"]["AWS_ROLE_ARN"].endswith(":role/github-prod-preview")
    assert set(variables) == {
        "dev",
        "dev-preview",
        "staging",
        "staging-preview",
        "prod",
        "prod-preview",
        "test",
    }


# --- the environments match the stacks they deploy ------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_each_environment_names_its_stacks_accounts_and_prefix(stack):
    stack_config = yaml.safe_load((FIXTURES / f"Pulumi.{stack}.yaml").read_text())["config"]
    environment = next(e for e in environments() if e["name"] == stack)
    assert environment["alicloudAccountId"] == stack_config["ecs-access-baseline:alicloud"]["accountId"]
    assert environment["awsAccountId"] == stack_config["ecs-access-baseline:aws"]["accountId"]
    prefix = (stack_config.get("ecs-access-baseline:naming") or {}).get("prefix", "")
    assert environment.get("namePrefix", "") == prefix


def test_the_test_environment_covers_the_per_pr_stacks_names():
    from baseline.ops import ephemeral

    test = next(e for e in environments() if e["name"] == "test")
    assert test["sweep"] is True and test["preview"] is False
    assert ephemeral.naming_prefix(12).startswith(test["namePrefix"])


# --- trust: who may assume the roles (the issue's "Done when") ------------------------------------


@pytest.mark.parametrize("cloud", CLOUDS)
def test_the_prod_deploy_role_is_assumable_from_the_prod_environment_of_this_repository(cloud):
    assert may_assume(cloud, "github-prod-deploy", subject("prod"))


@pytest.mark.parametrize("cloud", CLOUDS)
@pytest.mark.parametrize(
    "sub",
    [
        "repo:other/repo:environment:prod",  # another repository
        # The name alone: what a renamed, re-created or transferred repository would present.
        f"repo:{REPOSITORY}:environment:prod",
        subject("prod", REPOSITORY_ID + 1),  # another repository of the same owner
        subject("prod", REPOSITORY_ID, OWNER_ID + 1),  # the same id under another owner
        f"repository_owner_id:{OWNER_ID}:repository_id:{REPOSITORY_ID}:environment:prod:x",
        # The template before the workflow was bound: the environment alone.
        f"repository_owner_id:{OWNER_ID}:repository_id:{REPOSITORY_ID}:environment:prod",
        subject("dev"),  # another environment
        subject("prod-preview"),  # the read-only environment
        f"repo:{REPOSITORY}:ref:refs/heads/main",  # main, outside any environment
        f"repo:{REPOSITORY}:pull_request",  # a pull request
    ],
)
def test_the_prod_deploy_role_refuses_other_repositories_and_environments(cloud, sub):
    assert not may_assume(cloud, "github-prod-deploy", sub)


def test_the_subject_template_binds_the_ids_the_environment_and_the_workflow():
    assert bootstrap_claim_keys() == list(documents.SUBJECT_CLAIM_KEYS)
    assert "job_workflow_ref" in documents.SUBJECT_CLAIM_KEYS


def _run(environment: str, job_workflow_ref: str) -> str:
    """The `sub` of a job in ``environment`` defined in ``job_workflow_ref``."""
    return subject(environment, job_workflow_ref=job_workflow_ref)


# A pull request with head `main` into a branch that adds a workflow: GitHub checks the environment's
# "main only" rule against the head, so the job gets the environment; its workflow is read from the
# pull request's merge ref. Likewise a workflow pushed to another branch, or main's own file read
# from a pull request's merge ref or a tag.
FOREIGN_WORKFLOWS = [
    workflow_ref("x.yml", "refs/pull/7/merge"),
    workflow_ref("deploy.yml", "refs/pull/7/merge"),
    workflow_ref("drift.yml", "refs/pull/7/merge"),
    workflow_ref("deploy.yml", "refs/heads/evil"),
    workflow_ref("deploy.yml", "refs/tags/main"),
    workflow_ref("test-stack.yml"),
    workflow_ref("deploy.yml", MAIN, "acme/other"),
]


@pytest.mark.parametrize("cloud", CLOUDS)
@pytest.mark.parametrize("environment", ["dev", "staging", "prod"])
@pytest.mark.parametrize("job_workflow_ref", FOREIGN_WORKFLOWS)
def test_a_workflow_main_did_not_review_gets_no_real_environments_role(cloud, environment, job_workflow_ref):
    """Finding 1 of the outside review: the environment in `sub` is not enough."""
    assert not may_assume(cloud, f"github-{environment}-deploy", _run(environment, job_workflow_ref))
    preview = f"{environment}-preview"
    assert not may_assume(cloud, f"github-{environment}-preview", _run(preview, job_workflow_ref))


@pytest.mark.parametrize("cloud", CLOUDS)
@pytest.mark.parametrize("environment", ["dev", "staging", "prod"])
def test_mains_deploy_and_drift_workflows_get_their_environments_roles(cloud, environment):
    assert may_assume(cloud, f"github-{environment}-deploy", _run(environment, workflow_ref("deploy.yml")))
    assert not may_assume(cloud, f"github-{environment}-deploy", _run(environment, workflow_ref("drift.yml")))
    for workflow in ("deploy.yml", "drift.yml"):
        assert may_assume(
            cloud, f"github-{environment}-preview", _run(f"{environment}-preview", workflow_ref(workflow))
        )


@pytest.mark.parametrize("cloud", CLOUDS)
def test_the_sandbox_role_trusts_test_stack_in_pull_requests_and_after_a_merge_only(cloud):
    for ref in ("refs/pull/1/merge", "refs/pull/4821/merge", MAIN):
        assert may_assume(cloud, "github-test-deploy", _run("test", workflow_ref("test-stack.yml", ref)))
    for job_workflow_ref in (
        workflow_ref("x.yml", "refs/pull/7/merge"),  # another workflow a pull request brings
        workflow_ref("deploy.yml"),
        workflow_ref("test-stack.yml", "refs/heads/evil"),  # pushed to a branch, no pull request
        workflow_ref("test-stack.yml", "refs/pull/7/head"),
    ):
        assert not may_assume(cloud, "github-test-deploy", _run("test", job_workflow_ref)), job_workflow_ref


@pytest.mark.parametrize("cloud", CLOUDS)
def test_a_token_for_another_audience_is_refused(cloud):
    assert not may_assume(cloud, "github-prod-deploy", subject("prod"), aud="https://github.com/acme")


def test_a_token_from_another_issuer_is_refused_on_ram():
    assert not may_assume("alicloud", "github-prod-deploy", subject("prod"), iss="https://gitlab.com")


@pytest.mark.parametrize("cloud", CLOUDS)
@pytest.mark.parametrize("environment", ["dev", "staging", "prod"])
def test_preview_roles_trust_only_their_preview_environment(cloud, environment):
    assert may_assume(cloud, f"github-{environment}-preview", subject(f"{environment}-preview"))
    assert not may_assume(cloud, f"github-{environment}-preview", subject(environment))


@pytest.mark.parametrize("cloud", CLOUDS)
def test_each_deploy_role_answers_to_its_own_environment_only(cloud):
    names = [e["name"] for e in environments()]
    for owner in names:
        for caller in names:
            allowed = may_assume(cloud, f"github-{owner}-deploy", subject(caller))
            assert allowed == (owner == caller), (owner, caller)


def test_can_trust_on_the_command_line():
    def run(*argv: str) -> tuple[int, str]:
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            code = main(["can", "--stack", "pipeline", "--trust", *argv])
        return code, out.getvalue()

    key = "token.actions.githubusercontent.com:sub"
    code, text = run("--principal", "aws:github-prod-deploy", "--context", f"{key}={subject('prod')}")
    assert code == 0 and text.startswith("allow")
    code, text = run(
        "--principal", "aws:github-prod-deploy", "--context", f"{key}=repo:other/repo:environment:prod"
    )
    # IAM's claim keys, never RAM's oidc:sub (the printed statement names the oidc-provider ARN).
    assert code == 1 and "oidc:" not in text and "sub failed" in text
    code, text = run("--principal", "alicloud:github-prod-deploy", "--context", f"oidc:sub={subject('dev')}")
    assert code == 1 and text.startswith("deny")
    code, text = run(
        "--principal",
        "alicloud:github-prod-deploy",
        "--format",
        "json",
        "--context",
        f"{key}={subject('prod')}",
    )
    result = json.loads(text)
    assert (
        code == 0
        and result["decision"] == "allow"
        and result["context"]["oidc:iss"] == [documents.GITHUB_ISSUER]
    )
    # No subject: the question cannot be answered (exit 2, one line).
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = main(["can", "--stack", "pipeline", "--trust", "--principal", "aws:github-prod-deploy"])
    assert code == 2 and "--context" in err.getvalue() and "Fix:" in err.getvalue()


# --- what the deploy and preview roles may do -----------------------------------------------------
PROD_ALI, DEV_ALI, PROD_AWS, DEV_AWS = "5098765432109876", "5012345678901234", "444455556666", "111122223333"
STAGING_ALI = "5023456789012345"  # RAM deployers are their account's admin: staging has its own
SANDBOX_ALI, SANDBOX_AWS = "5055556666777788", "222233334444"  # the test environment's own accounts


def test_prod_deploy_manages_prod_identities_and_nothing_in_other_accounts():
    assert can("alicloud", "github-prod-deploy", "ram:CreateUser", f"acs:ram:*:{PROD_ALI}:user/commandUser")
    assert not can(
        "alicloud", "github-prod-deploy", "ram:CreateUser", f"acs:ram:*:{DEV_ALI}:user/dev-commandUser"
    )
    assert can(
        "aws",
        "github-prod-deploy",
        "iam:CreatePolicy",
        f"arn:aws:iam::{PROD_AWS}:policy/EcsMcpReadOnlyMonitoringPolicy",
    )
    # prod owns its account, but its deployer reaches only its stack's names (issue 16).
    assert not can("alicloud", "github-prod-deploy", "ram:CreateUser", f"acs:ram:*:{PROD_ALI}:user/priya")
    assert not can("aws", "github-prod-deploy", "iam:CreatePolicy", f"arn:aws:iam::{PROD_AWS}:policy/Admin")
    assert not can("aws", "github-prod-deploy", "iam:CreatePolicy", f"arn:aws:iam::{DEV_AWS}:policy/dev-x")


def test_dev_deploy_cannot_touch_staging_names_in_either_account():
    assert can("alicloud", "github-dev-deploy", "ram:DeleteUser", f"acs:ram:*:{DEV_ALI}:user/dev-commandUser")
    for account in (DEV_ALI, STAGING_ALI):
        assert not can(
            "alicloud", "github-dev-deploy", "ram:DeleteUser", f"acs:ram:*:{account}:user/stg-commandUser"
        )
    assert not can("aws", "github-dev-deploy", "iam:DeleteRole", f"arn:aws:iam::{DEV_AWS}:role/stg-ecs-mcp")


@pytest.mark.parametrize("cloud", CLOUDS)
@pytest.mark.parametrize("deployer", ["github-prod-deploy", "github-test-deploy", "github-dev-deploy"])
def test_no_deployer_can_change_the_pipelines_own_identities(cloud, deployer):
    account = {("alicloud", "github-prod-deploy"): PROD_ALI, ("aws", "github-prod-deploy"): PROD_AWS}.get(
        (cloud, deployer), DEV_ALI if cloud == "alicloud" else DEV_AWS
    )
    for target in ("github-prod-deploy", "github-dev-deploy", deployer):
        if cloud == "alicloud":
            arn = f"acs:ram:*:{account}:role/{target}"
            for action in ("ram:UpdateRole", "ram:AttachPolicyToRole", "ram:DeleteRole"):
                assert not can(cloud, deployer, action, arn), (action, arn)
            provider = f"acs:ram::{account}:oidc-provider/github-actions"
            assert not can(cloud, deployer, "ram:UpdateOIDCProvider", provider)
        else:
            arn = f"arn:aws:iam::{account}:role/{target}"
            for action in (
                "iam:UpdateAssumeRolePolicy",
                "iam:AttachRolePolicy",
                "iam:DeleteRolePermissionsBoundary",
            ):
                assert not can(
                    cloud,
                    deployer,
                    action,
                    arn,
                    **{"iam:PolicyARN": "arn:aws:iam::aws:policy/ReadOnlyAccess"},
                )
            boundary = f"arn:aws:iam::{account}:policy/github-pipeline-boundary"
            assert not can(cloud, deployer, "iam:CreatePolicyVersion", boundary)


def test_aws_deployers_create_roles_only_behind_their_stacks_boundary():
    role = f"arn:aws:iam::{DEV_AWS}:role/dev-EcsMcpReadOnlyMonitoringRole"
    own = {"iam:PermissionsBoundary": f"arn:aws:iam::{DEV_AWS}:policy/dev-EcsMcpServerPermissionsBoundary"}
    assert can("aws", "github-dev-deploy", "iam:CreateRole", role, **own)
    assert not can("aws", "github-dev-deploy", "iam:CreateRole", role)  # no boundary
    # A policy of its own as the boundary: the first step of the reported chain.
    written = {"iam:PermissionsBoundary": f"arn:aws:iam::{DEV_AWS}:policy/dev-EcsMcpReadOnlyMonitoringPolicy"}
    assert not can("aws", "github-dev-deploy", "iam:CreateRole", role, **written)
    other = {"iam:PermissionsBoundary": f"arn:aws:iam::{DEV_AWS}:policy/stg-boundary"}
    assert not can("aws", "github-dev-deploy", "iam:CreateRole", role, **other)
    admin = {"iam:PolicyARN": "arn:aws:iam::aws:policy/AdministratorAccess"}
    assert not can("aws", "github-dev-deploy", "iam:AttachRolePolicy", role, **admin)


@pytest.mark.parametrize("cloud", CLOUDS)
@pytest.mark.parametrize("environment", ["dev", "staging", "prod"])
def test_preview_roles_read_and_never_write(cloud, environment):
    account = (PROD_ALI if cloud == "alicloud" else PROD_AWS) if environment == "prod" else None
    if environment == "staging" and cloud == "alicloud":
        account = STAGING_ALI
    account = account or (DEV_ALI if cloud == "alicloud" else DEV_AWS)
    name = f"github-{environment}-preview"
    prefix = {"dev": "dev-", "staging": "stg-", "prod": ""}[environment]
    if cloud == "alicloud":
        user = f"acs:ram:*:{account}:user/{prefix}commandUser"
        assert can(cloud, name, "ram:GetUser", user)
        for action in ("ram:CreateUser", "ram:DeleteUser", "ram:CreateAccessKey", "ram:AttachPolicyToUser"):
            assert not can(cloud, name, action, user), action
    else:
        arn = f"arn:aws:iam::{account}:role/{prefix}EcsMcpReadOnlyMonitoringRole"
        assert can(cloud, name, "iam:GetRole", arn)
        assert not can(cloud, name, "iam:GetRole", f"arn:aws:iam::{account}:role/{prefix}x")
        for action in (
            "iam:CreateRole",
            "iam:UpdateAssumeRolePolicy",
            "iam:AttachRolePolicy",
            "iam:PassRole",
        ):
            assert not can(cloud, name, action, arn), action


@pytest.mark.parametrize("stack", STACKS)
def test_each_deploy_role_can_create_every_identity_its_stack_plans(stack):
    """Derived from the stack's own plan: every user, role and policy name is within reach."""
    environment = next(e for e in environments() if e["name"] == stack)
    checks = {
        "alicloud:ram/user:User": ("alicloud", "ram:CreateUser", "name", "acs:ram:*:{a}:user/{n}"),
        "alicloud:ram/role:Role": ("alicloud", "ram:CreateRole", "roleName", "acs:ram:*:{a}:role/{l}"),
        "alicloud:ram/policy:Policy": (
            "alicloud",
            "ram:CreatePolicy",
            "policyName",
            "acs:ram:*:{a}:policy/{n}",
        ),
        "aws:iam/policy:Policy": ("aws", "iam:CreatePolicy", "name", "arn:aws:iam::{a}:policy/{n}"),
    }
    seen = 0
    for resource in plan_of(stack)["resources"]:
        if resource["type"] in checks:
            cloud, action, key, pattern = checks[resource["type"]]
            account = environment["alicloudAccountId" if cloud == "alicloud" else "awsAccountId"]
            name = resource["inputs"][key]
            arn = pattern.format(a=account, n=name, l=name.lower())
            assert can(cloud, f"github-{stack}-deploy", action, arn), (action, arn)
            seen += 1
        if resource["type"] == "aws:iam/role:Role":
            inputs = resource["inputs"]
            arn = f"arn:aws:iam::{environment['awsAccountId']}:role/{inputs['name']}"
            boundary = {"iam:PermissionsBoundary": inputs["permissionsBoundary"]}
            assert can("aws", f"github-{stack}-deploy", "iam:CreateRole", arn, **boundary), arn
            seen += 1
        if resource["type"] == "alicloud:ecs/ramRoleAttachment:RamRoleAttachment":
            role_name = resource["inputs"]["ramRoleName"]
            arn = f"acs:ram:*:{environment['alicloudAccountId']}:role/{role_name.lower()}"
            assert can("alicloud", f"github-{stack}-deploy", "ram:PassRole", arn), role_name
            seen += 1
    assert seen > 10


def test_the_test_deployer_sweeps_pr_leftovers_only():
    user = f"acs:ram:*:{SANDBOX_ALI}:user/pr12-commandUser"
    assert can("alicloud", "github-test-deploy", "ram:ListUsers", "*")
    assert can("alicloud", "github-test-deploy", "ram:DeleteUser", user)
    for account in (SANDBOX_ALI, DEV_ALI):
        assert not can(
            "alicloud", "github-test-deploy", "ram:DeleteUser", f"acs:ram:*:{account}:user/dev-commandUser"
        )
    assert can("aws", "github-test-deploy", "iam:DeleteUser", f"arn:aws:iam::{SANDBOX_AWS}:user/pr12-x")
    assert not can("aws", "github-test-deploy", "iam:DeleteUser", f"arn:aws:iam::{SANDBOX_AWS}:user/dev-x")
    assert not can("aws", "github-test-deploy", "iam:DeleteUser", f"arn:aws:iam::{DEV_AWS}:user/pr12-x")
    # Group membership and instance profiles: only what the prefix marks (issue 16, point 7).
    for action, kind in (
        ("iam:RemoveUserFromGroup", "group"),
        ("iam:RemoveRoleFromInstanceProfile", "instance-profile"),
    ):
        assert can("aws", "github-test-deploy", action, f"arn:aws:iam::{SANDBOX_AWS}:{kind}/pr12-x")
        assert not can("aws", "github-test-deploy", action, f"arn:aws:iam::{SANDBOX_AWS}:{kind}/Admins")
    # RAM: RemoveUserFromGroup is authorised on the user and the group together; a `pr*` user comes
    # out of any group (a PR-made user may have joined one not named so), no one else out of any.
    grants = access.grants_of(plan(), role("alicloud", "github-test-deploy"))
    admins = f"acs:ram:*:{SANDBOX_ALI}:group/Admins"
    for user, expected in (("pr12-commandUser", True), ("alice", False)):
        resources = [f"acs:ram:*:{SANDBOX_ALI}:user/{user}", admins]
        decision = evaluate_call(grants.policies, "alicloud", "ram:RemoveUserFromGroup", resources)
        assert decision.allowed is expected, user


# --- the resource-type -> actions map covers every plan -------------------------------------------


def _all_stack_files() -> list[Path]:
    return [STACKS_DIR / f"Pulumi.{stack}.yaml" for stack in shipped_stacks()]


@pytest.mark.shipped
@pytest.mark.parametrize("path", _all_stack_files(), ids=lambda p: p.stem)
def test_every_resource_type_a_stack_plans_has_its_deployer_actions(path):
    stack = path.stem.removeprefix("Pulumi.")
    types = {r["type"] for r in shipped_plan(stack)["resources"]}
    missing = sorted(t for t in types if documents.actions_for(t) is None)
    assert not missing, f"add to baseline/documents/pipeline.py RESOURCE_ACTIONS: {missing}"
    for type_ in types:
        actions = documents.actions_for(type_)
        if actions.cloud:
            # Writes on the type's own ARNs, or (the resource-group attachment, authorised on the
            # policy and the principal) on other resources only.
            scope = documents.Scope(account="5012345678901234", prefix="dev-")
            assert actions.read and (actions.write or actions.extra(scope)), type_
            prefix = "ram:" if actions.cloud == "alicloud" else "iam:"
            assert all(":" in a and "*" not in a for a in (*actions.read, *actions.write)), type_
            # AWS types write through IAM; an Alibaba type may write only through `extra` (the
            # resource-group attachment: ram:AttachPolicy on the policy and the principal).
            assert actions.cloud == "alicloud" or any(a.startswith(prefix) for a in actions.write), type_


def test_every_mapped_type_is_registered_by_some_plan():
    """No stale entries: the map names only types the program registers."""
    types = {r["type"] for stack in shipped_stacks(FIXTURES) for r in plan_of(stack)["resources"]}
    stale = sorted(set(documents.RESOURCE_ACTIONS) - types - {"pulumi:providers:random"})
    assert not stale, stale


@pytest.mark.parametrize("cloud", CLOUDS)
@pytest.mark.parametrize("stack", [*STACKS, "pipeline"])
def test_deployer_policy_command_prints_the_policy_a_human_needs(cloud, stack):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["deployer-policy", "--stack", stack, "--cloud", cloud])
    assert code == 0
    policy = json.loads(out.getvalue())
    actions = {a for s in policy["Statement"] if s["Effect"] == "Allow" for a in s["Action"]}
    create = "ram:CreateRole" if cloud == "alicloud" else "iam:CreatePolicy"
    assert create in actions
    if stack == "pipeline":
        oidc = "ram:CreateOIDCProvider" if cloud == "alicloud" else "iam:CreateOpenIDConnectProvider"
        assert oidc in actions and "sts:AssumeRole" in actions
    else:
        assert not any("OIDC" in a or "OpenIDConnect" in a for a in actions)
        # A person attaches the stack's system policies (and no other) like the deploy role.
        system, _ = _attached_by_plan(plan_of(stack))
        attach = "ram:AttachPolicyToUser"
        for name in system if cloud == "alicloud" else ():
            assert evaluate([NamedPolicy("p", policy)], attach, documents.system_policy_arn(name)).allowed
        if cloud == "alicloud":
            admin = documents.system_policy_arn("AdministratorAccess")
            assert not evaluate([NamedPolicy("p", policy)], attach, admin).allowed


# --- the strict mocks refuse what RAM and IAM refuse for S7's types ----------------------------------
GITHUB = "https://token.actions.githubusercontent.com"
FINGERPRINT = "6938fd4d98bab03faadb97b34396831e3780aea1"


def _refused(program, reason: str) -> None:
    from baseline.errors import PlanError
    from baseline.mocks import StrictMocks
    from baseline.plan import execute

    with pytest.raises(PlanError, match=reason):
        execute(program, "test", StrictMocks())


def _ram_provider(
    name="github-actions", url=GITHUB, fingerprints=(FINGERPRINT,), clients=("sts.aliyuncs.com",), **kw
):
    import pulumi_alicloud as alicloud

    return alicloud.ims.OidcProvider(
        name,
        oidc_provider_name=name,
        issuer_url=url,
        fingerprints=list(fingerprints),
        client_ids=list(clients),
        **kw,
    )


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"url": "http://token.actions.githubusercontent.com"}, "https URL"),
        ({"url": "https://token.actions.githubusercontent.com?x=1"}, "https URL"),
        ({"fingerprints": ()}, "1-5 fingerprints"),
        ({"fingerprints": (FINGERPRINT,) * 6}, "1-5 fingerprints"),
        ({"fingerprints": ("not-hex",)}, "40 hexadecimal"),
        ({"clients": ()}, "client ids"),
        ({"issuance_limit_time": 200}, "issuanceLimitTime"),
        ({"name": "github actions"}, "name"),
    ],
)
def test_mocks_refuse_a_ram_oidc_provider_ram_would_refuse(kwargs, reason):
    _refused(lambda: _ram_provider(**kwargs), reason)


def test_mocks_refuse_two_ram_oidc_providers_of_one_name_in_one_account():
    def program():
        _ram_provider()
        import pulumi_alicloud as alicloud

        alicloud.ims.OidcProvider(
            "again",
            oidc_provider_name="github-actions",
            issuer_url=GITHUB,
            fingerprints=[FINGERPRINT],
            client_ids=["x"],
        )

    _refused(program, "already exists")


def test_mocks_accept_one_name_in_two_accounts_through_assume_role_providers():
    import pulumi
    import pulumi_alicloud as alicloud

    from baseline.mocks import StrictMocks
    from baseline.plan import execute

    def program():
        other = alicloud.Provider(
            "other",
            region="cn-hangzhou",
            assume_role=alicloud.ProviderAssumeRoleArgs(role_arn="acs:ram::5098765432109876:role/admin"),
        )
        _ram_provider()
        alicloud.ims.OidcProvider(
            "second",
            oidc_provider_name="github-actions",
            issuer_url=GITHUB,
            fingerprints=[FINGERPRINT],
            client_ids=["sts.aliyuncs.com"],
            opts=pulumi.ResourceOptions(provider=other),
        )

    monitor, _ = execute(program, "test", StrictMocks())
    assert sum(r["type"] == access.ALI_OIDC_PROVIDER for r in monitor.registrations) == 2


def test_mocks_refuse_a_second_iam_provider_for_one_issuer_and_bad_thumbprints():
    import pulumi_aws as aws

    def twice():
        aws.iam.OpenIdConnectProvider("a", url=GITHUB, client_id_lists=["sts.amazonaws.com"])
        aws.iam.OpenIdConnectProvider("b", url=GITHUB, client_id_lists=["sts.amazonaws.com"])

    _refused(twice, "already exists")
    _refused(
        lambda: aws.iam.OpenIdConnectProvider(
            "c", url=GITHUB, client_id_lists=["x"], thumbprint_lists=["ab"] * 6
        ),
        "at most 5",
    )
    _refused(lambda: aws.iam.OpenIdConnectProvider("d", url=GITHUB, client_id_lists=[]), "client ids")


def test_mocks_refuse_an_assume_role_provider_the_provider_would_refuse():
    import pulumi_alicloud as alicloud
    import pulumi_aws as aws

    _refused(
        lambda: alicloud.Provider(
            "p",
            region="cn-hangzhou",
            assume_role=alicloud.ProviderAssumeRoleArgs(
                role_arn="acs:ram::5098765432109876:role/admin", session_expiration=7200
            ),
        ),
        "900-3600",
    )
    _refused(
        lambda: aws.Provider(
            "q", region="us-east-1", assume_roles=[aws.ProviderAssumeRoleArgs(role_arn="admin")]
        ),
        "not a role ARN",
    )


# --- third-party linter: parliament finds nothing in the pipeline's IAM documents ---------------------
def test_parliament_finds_nothing_in_the_pipelines_iam_documents():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # parliament imports pkg_resources
        import parliament

    findings = []
    for resource in plan()["resources"]:
        if resource["type"] == "aws:iam/policy:Policy":
            for finding in parliament.analyze_policy_string(resource["inputs"]["policy"]).findings:
                finding = parliament.enhance_finding(finding)
                findings.append((resource["inputs"]["name"], finding.issue, finding.severity, finding.detail))
    assert not findings


def test_every_github_environment_a_cloud_job_runs_in_has_roles_in_the_pipeline_stack():
    import test_workflows as workflows

    variables = plan()["outputs"]["pipeline"]["githubVariables"]
    seen = set()
    for path, name, job, workflow in workflows.jobs():
        if (job.get("permissions") or {}).get("id-token") != "write":
            continue
        for matrix in workflows.variants(job) or [{}]:
            environment = workflows.environment(job, workflow, matrix)
            assert environment in variables, f"{path.name}:{name} runs in {environment!r}, which has no roles"
            assert set(variables[environment]) == {
                "ALICLOUD_ROLE_ARN",
                "ALICLOUD_OIDC_PROVIDER_ARN",
                "AWS_ROLE_ARN",
            }
            seen.add(environment)
    assert seen == set(variables), f"roles no workflow uses: {sorted(set(variables) - seen)}"


@pytest.mark.parametrize(
    ("name", "bucket", "stack"),
    [
        ("github-prod-deploy", "acme-pulumi-state", "prod"),
        ("github-prod-preview", "acme-pulumi-state", "prod"),
        ("github-test-deploy", "acme-pulumi-sandbox-state", "test-pr-12"),
    ],
)
def test_every_aws_pipeline_role_reads_and_locks_its_stacks_state_and_no_other_bucket(name, bucket, stack):
    state = f"arn:aws:s3:::{bucket}"
    project = "ecs-access-baseline"
    assert can("aws", name, "s3:ListBucket", state)
    assert can("aws", name, "s3:GetObject", f"{state}/{project}/.pulumi/stacks/{project}/{stack}.json")
    # A deploy takes its stack's lock; a preview takes none (the DIY backend's Preview never locks).
    deploy = name.endswith("-deploy")
    for action in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject"):
        lock = f"{state}/{project}/.pulumi/locks/{project}/{stack}/x.json"
        assert can("aws", name, action, lock) == deploy, action
        assert not can("aws", name, action, "arn:aws:s3:::prod-eci-artifacts/x"), action
    assert not can("aws", name, "s3:DeleteBucket", state)


def test_the_secrets_key_is_decrypt_only_for_previews():
    key = "arn:aws:kms:us-east-1:444455556666:key/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
    scope = documents.Scope(account=PROD_AWS, secrets_key_arn=key)
    preview = documents.deployer_policy("aws", scope, write=False)
    deploy = documents.deployer_policy("aws", scope)
    from baseline.analysis.evaluator import NamedPolicy, evaluate

    def allowed(policy, action):
        return evaluate([NamedPolicy("p", policy)], action, key).allowed

    assert allowed(preview, "kms:Decrypt") and not allowed(preview, "kms:Encrypt")
    assert allowed(deploy, "kms:Decrypt") and allowed(deploy, "kms:Encrypt")
    assert not allowed(deploy, "kms:CreateGrant")


# --- the trust evaluator's rules, on hand-written documents ------------------------------------------
def _trust(*statements: dict):
    from baseline.analysis.evaluator import NamedPolicy

    return NamedPolicy("t", {"Version": "2012-10-17", "Statement": list(statements)})


PROVIDER = f"arn:aws:iam::{PROD_AWS}:oidc-provider/token.actions.githubusercontent.com"
GITHUB_TOKEN = {"token.actions.githubusercontent.com:sub": ["repo:a/b:environment:prod"]}


def _is_github(kind: str, value: str) -> bool:
    return kind == "Federated" and value == PROVIDER


def test_trust_evaluation_an_explicit_deny_wins_over_the_allow():
    from baseline.analysis.evaluator import evaluate_trust

    allow = {
        "Effect": "Allow",
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Principal": {"Federated": PROVIDER},
    }
    deny = {
        **allow,
        "Effect": "Deny",
        "Condition": {"StringLike": {"token.actions.githubusercontent.com:sub": "repo:a/b:*"}},
    }
    decision = evaluate_trust(_trust(allow, deny), "sts:AssumeRoleWithWebIdentity", _is_github, GITHUB_TOKEN)
    assert not decision.allowed and decision.explicit_deny


def test_trust_evaluation_needs_the_caller_named_and_the_action_listed():
    from baseline.analysis.evaluator import evaluate_trust

    other = {
        "Effect": "Allow",
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Principal": {"Federated": "arn:x"},
    }
    assert not evaluate_trust(
        _trust(other), "sts:AssumeRoleWithWebIdentity", _is_github, GITHUB_TOKEN
    ).allowed
    wrong_action = {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Federated": PROVIDER}}
    assert not evaluate_trust(
        _trust(wrong_action), "sts:AssumeRoleWithWebIdentity", _is_github, GITHUB_TOKEN
    ).allowed
    anyone = {"Effect": "Allow", "Action": "sts:*", "Principal": "*"}
    assert evaluate_trust(_trust(anyone), "sts:AssumeRoleWithWebIdentity", _is_github, GITHUB_TOKEN).allowed


def test_trust_evaluation_refuses_to_guess_about_not_principal():
    from baseline.analysis.evaluator import PolicyError, evaluate_trust

    statement = {
        "Effect": "Allow",
        "Action": "sts:AssumeRole",
        "NotPrincipal": {"AWS": "arn:aws:iam::1:root"},
    }
    with pytest.raises(PolicyError, match="NotPrincipal"):
        evaluate_trust(_trust(statement), "sts:AssumeRole", _is_github, {})


# --- system and managed policies: only those the environment's stack attaches ---------------------


def _attached_by_plan(stack_plan: dict) -> tuple[set[str], set[str]]:
    """What a stack's plan attaches that it does not create, read off its attachment resources:
    RAM system policy names, AWS policy ARNs other than the stack's own policies."""
    own = {r["inputs"]["name"] for r in stack_plan["resources"] if r["type"] == "aws:iam/policy:Policy"}
    system = {
        r["inputs"]["policyName"]
        for r in stack_plan["resources"]
        if r["type"].endswith("olicyAttachment:UserPolicyAttachment")
        or r["type"].endswith("olicyAttachment:RolePolicyAttachment")
        or r["type"] == "alicloud:resourcemanager/policyAttachment:PolicyAttachment"
        if r["inputs"].get("policyType") == "System"
    }
    managed = {
        r["inputs"]["policyArn"]
        for r in stack_plan["resources"]
        if r["type"] == "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
        and r["inputs"]["policyArn"].split("/")[-1] not in own
    }
    return system, managed


def _deploy_policy(cloud: str, environment: str) -> dict:
    type_ = "alicloud:ram/policy:Policy" if cloud == "alicloud" else "aws:iam/policy:Policy"
    key = "policyName" if cloud == "alicloud" else "name"
    doc = "policyDocument" if cloud == "alicloud" else "policy"
    (resource,) = [
        r
        for r in plan()["resources"]
        if r["type"] == type_ and r["inputs"][key] == f"github-{environment}-deploy-policy"
    ]
    return json.loads(resource["inputs"][doc])


def _attachable_by_deployer(environment: str) -> tuple[set[str], set[str]]:
    """System/managed policies the deploy role's own documents let it attach."""
    ram = _deploy_policy("alicloud", environment)
    system = {
        r.removeprefix("acs:ram:*:system:policy/")
        for s in ram["Statement"]
        if s["Effect"] == "Allow" and any(a.startswith("ram:AttachPolicy") for a in s["Action"])
        for r in s["Resource"]
        if r.startswith("acs:ram:*:system:policy/")
    }
    iam = _deploy_policy("aws", environment)
    managed = {
        arn
        for s in iam["Statement"]
        if s["Effect"] == "Allow" and "iam:AttachRolePolicy" in s["Action"]
        for arn in s.get("Condition", {}).get("ArnLike", {}).get("iam:PolicyARN", [])
        if not arn.endswith("*") and arn.startswith("arn:aws:iam::aws:")
    }
    return system, managed


@functools.cache
def _ephemeral_plan() -> dict:
    """The plan of a generated per-PR stack (what the test environment deploys)."""
    import tempfile

    from conftest import render_file

    from baseline.ops import ephemeral

    with tempfile.TemporaryDirectory() as tmp:
        return render_file(ephemeral.write(12, stacks_dir=Path(tmp)), ephemeral.stack_name(12))


@pytest.mark.parametrize("environment", ["dev", "staging", "prod", "test"])
def test_each_deployer_attaches_exactly_the_system_and_managed_policies_its_stack_attaches(environment):
    """Derived from the stacks' own plans (the test environment: a generated per-PR stack), so
    a stack that starts attaching another system policy fails here until the pipeline stack
    (re-resolved from that stack) lets its deployer attach it; nothing else is attachable."""
    stack_plan = _ephemeral_plan() if environment == "test" else plan_of(environment)
    system, managed = _attached_by_plan(stack_plan)
    assert system, environment  # every stack attaches some system policy: the check bites
    assert _attachable_by_deployer(environment) == (system, managed)


def test_every_system_policy_any_stack_attaches_is_attachable_by_its_deployer():
    attached = set().union(*(_attached_by_plan(plan_of(s))[0] for s in STACKS))
    attachable = set().union(*(_attachable_by_deployer(e)[0] for e in ("dev", "staging", "prod", "test")))
    assert attached == attachable
    assert not attachable & set(documents.RAM_ADMIN_POLICIES)


@pytest.mark.parametrize("cloud", CLOUDS)
@pytest.mark.parametrize(
    "deployer", ["github-dev-deploy", "github-staging-deploy", "github-prod-deploy", "github-test-deploy"]
)
def test_no_deployer_attaches_an_administrator_policy_to_anyone(cloud, deployer):
    """The reported hole: `can --stack pipeline` allowed AdministratorAccess (any system policy)."""
    account = {
        "github-prod-deploy": PROD_ALI if cloud == "alicloud" else PROD_AWS,
        "github-test-deploy": SANDBOX_ALI if cloud == "alicloud" else SANDBOX_AWS,
        "github-staging-deploy": STAGING_ALI if cloud == "alicloud" else DEV_AWS,
    }.get(deployer, DEV_ALI if cloud == "alicloud" else DEV_AWS)
    prefix = {
        "github-dev-deploy": "dev-",
        "github-staging-deploy": "stg-",
        "github-test-deploy": "pr12-",
    }.get(deployer, "")
    # Its own principals and policy: the sandbox's prefix, or its stack's names exactly.
    own_user, own_ram_role = f"{prefix}x", f"{prefix.lower()}x"
    own_role, own_policy = f"{prefix}x", f"{prefix}x"
    if deployer != "github-test-deploy":
        from baseline.config import deployed_policies

        reach = deployed_policies(deployer.split("-")[1], "pipeline")
        own_user, own_ram_role = reach.ram_users[0], reach.ram_roles[0].lower()
        own_role = reach.iam_roles[0]
        own_policy = next(p for p in reach.iam_policies if p not in reach.iam_boundaries)
    if cloud == "alicloud":
        for name in (*documents.RAM_ADMIN_POLICIES, "AliyunECSFullAccess", "AliyunOOSFullAccess"):
            policy = documents.system_policy_arn(name)
            for action, kind in (("ram:AttachPolicyToUser", "user"), ("ram:AttachPolicyToRole", "role")):
                assert not can(cloud, deployer, action, policy), (action, name)
                # RAM checks the principal and the policy: the principal's side alone is mine
                mine = own_user if kind == "user" else own_ram_role
                assert can(cloud, deployer, action, f"acs:ram:*:{account}:{kind}/{mine}")
            assert not can(cloud, deployer, "ram:AttachPolicyToGroup", policy)
    else:
        role = f"arn:aws:iam::{account}:role/{own_role}"
        stack_boundary = f"arn:aws:iam::{account}:policy/{prefix}EcsMcpServerPermissionsBoundary"
        if deployer == "github-test-deploy":  # the sandbox's, which the pipeline stack creates
            stack_boundary = f"arn:aws:iam::{account}:policy/sandbox-workload-boundary"
        behind = {"iam:PermissionsBoundary": stack_boundary}
        for arn in (
            *documents.AWS_ADMIN_POLICIES,
            "arn:aws:iam::aws:policy/ReadOnlyAccess",
            # prod owns its account (no prefix): every customer policy there is its stack's
            *([f"arn:aws:iam::{account}:policy/SomeoneElsesPolicy"] if prefix else []),
            f"arn:aws:iam::{account}:policy/github-pipeline-boundary",
            f"arn:aws:iam::{account}:policy/github-prod-deploy-policy",
        ):
            assert not can(
                cloud, deployer, "iam:AttachRolePolicy", role, **{"iam:PolicyARN": arn}, **behind
            ), arn
        own = f"arn:aws:iam::{account}:policy/{own_policy}"
        assert can(cloud, deployer, "iam:AttachRolePolicy", role, **{"iam:PolicyARN": own}, **behind)
        # Only onto a role behind its stack's boundary.
        assert not can(cloud, deployer, "iam:AttachRolePolicy", role, **{"iam:PolicyARN": own})
        pipeline_boundary = {
            "iam:PermissionsBoundary": f"arn:aws:iam::{account}:policy/github-pipeline-boundary"
        }
        assert not can(cloud, deployer, "iam:CreateRole", role, **pipeline_boundary)
        assert not can(
            cloud, deployer, "iam:AttachRolePolicy", role, **{"iam:PolicyARN": own}, **pipeline_boundary
        )


def test_a_managed_policy_a_stack_attaches_is_the_only_one_its_deployer_may_attach():
    read_only = "arn:aws:iam::aws:policy/ReadOnlyAccess"
    scope = documents.Scope(
        account=DEV_AWS,
        prefix="dev-",
        managed_policy_arns=(read_only,),
        boundaries=("dev-EcsMcpServerPermissionsBoundary",),
    )
    policies = [NamedPolicy("p", documents.deployer_policy("aws", scope))]
    role = f"arn:aws:iam::{DEV_AWS}:role/dev-x"
    boundary = f"arn:aws:iam::{DEV_AWS}:policy/dev-EcsMcpServerPermissionsBoundary"
    context = lambda arn: {"iam:PolicyARN": [arn], "iam:PermissionsBoundary": [boundary]}  # noqa: E731
    decide = lambda arn: evaluate(policies, "iam:AttachRolePolicy", role, context(arn)).allowed  # noqa: E731
    assert decide(read_only)
    assert not decide("arn:aws:iam::aws:policy/ReadOnlyAccessPlus")
    assert not decide("arn:aws:iam::aws:policy/AdministratorAccess")


def test_a_pr_stack_carries_none_of_devs_secrets_or_its_key(tmp_path):
    """The sandbox runs the PR's code with its own passphrase: dev's salt, key and ciphertext never
    reach a PR stack file (issue 16: a pull request reads no real environment's secrets)."""
    from baseline.ops import ephemeral

    dev = yaml.safe_load((FIXTURES / "Pulumi.dev.yaml").read_text())
    dev["encryptionsalt"] = "v1:c2FsdA==:v1:bm9uY2U=:Y2lwaGVy"
    dev["secretsprovider"] = "awskms://alias/dev"
    dev["encryptedkey"] = "a2V5"
    dev["config"]["ecs-access-baseline:secrets"] = {"axtSecretPassword": {"secure": "v1:bm9uY2U=:Y2lwaGVy"}}
    source = tmp_path / "Pulumi.dev.yaml"
    source.write_text(yaml.safe_dump(dev))
    written = ephemeral.document(12, source=source)
    assert not {"encryptionsalt", "encryptedkey", "secretsprovider"} & set(written)
    assert "ecs-access-baseline:secrets" not in written["config"]
    assert "Y2lwaGVy" not in yaml.safe_dump(written)


def test_pr_stacks_roles_carry_the_sandbox_boundary_the_pipeline_stack_creates():
    """No deploy role writes the boundary it is held to: a PR stack creates no boundary of its own,
    its roles carry the pipeline stack's, and that one denies IAM writes outside the sandbox's
    names and every sts:AssumeRole out of the sandbox account."""
    resources = _ephemeral_plan()["resources"]
    roles = [r for r in resources if r["type"] == "aws:iam/role:Role"]
    assert roles
    boundary = {r["inputs"]["permissionsBoundary"] for r in roles}
    assert boundary == {f"arn:aws:iam::{DEV_AWS}:policy/sandbox-workload-boundary"}
    created = [r["inputs"]["name"] for r in resources if r["type"] == "aws:iam/policy:Policy"]
    assert not [name for name in created if "oundary" in name], created
    (sandbox,) = [
        r
        for r in plan()["resources"]
        if r["type"] == "aws:iam/policy:Policy" and r["inputs"]["name"] == "sandbox-workload-boundary"
    ]
    assert sandbox["protect"] is True
    raw = json.loads(sandbox["inputs"]["policy"])
    denies = {s["Sid"] for s in raw["Statement"] if s["Effect"] == "Deny"}
    assert {"DenyIamWritesOutsideTheStack", "DenyAssumeRoleOutOfTheAccount", "DenyPolicyChanges"} <= denies
    document = NamedPolicy("sandbox", raw)
    role_arn = f"arn:aws:iam::{SANDBOX_AWS}:role/"
    assert not evaluate([document], "sts:AssumeRole", f"arn:aws:iam::{PROD_AWS}:role/Admin", {}).allowed
    assert not evaluate(
        [document], "iam:CreatePolicyVersion", f"arn:aws:iam::{SANDBOX_AWS}:policy/x", {}
    ).allowed
    assert not evaluate([document], "iam:UpdateAssumeRolePolicy", f"{role_arn}x", {}).allowed


@pytest.mark.parametrize(
    ("stack", "role", "boundary"),
    [
        ("prod", "EcsMcpReadOnlyMonitoringRole", "EcsMcpServerPermissionsBoundary"),
        ("dev", "dev-EcsMcpReadOnlyMonitoringRole", "dev-EcsMcpServerPermissionsBoundary"),
        ("pipeline", "github-prod-deploy", "github-pipeline-boundary"),
    ],
)
def test_a_human_deployer_creates_its_stacks_roles_behind_their_boundary_only(stack, role, boundary, capsys):
    assert main(["deployer-policy", "--stack", stack, "--cloud", "aws"]) == 0
    policy = NamedPolicy("human", json.loads(capsys.readouterr().out))
    account = policy.document["Statement"][0]["Resource"][0].split(":")[4]
    arn = f"arn:aws:iam::{account}:role/{role}"
    behind = {"iam:PermissionsBoundary": [f"arn:aws:iam::{account}:policy/{boundary}"]}
    assert evaluate([policy], "iam:CreateRole", arn, behind).allowed
    assert not evaluate([policy], "iam:CreateRole", arn, {}).allowed


def test_operations_states_the_pipeline_stacks_resource_count():
    operations = (ROOT / "docs" / "operations.md").read_text()
    count = len(plan()["resources"])  # as `plan` prints it
    assert f"`.venv/bin/python -m baseline plan --stack pipeline`, {count} resources" in operations


def test_the_sandbox_state_glob_is_the_per_pr_stacks_own_prefix():
    # scenarios may not import ops: the glob repeats the prefix, and this holds the two together.
    from baseline.ops.ephemeral import STACK_PREFIX, stack_name
    from baseline.scenarios.pipeline import SANDBOX_STACKS

    assert f"{STACK_PREFIX}*" == SANDBOX_STACKS and stack_name(12).startswith(STACK_PREFIX)


def test_the_pipelines_policies_name_only_pipeline_roles_it_creates():
    """The guards, deny lists and control policies protect the pipeline's roles by name: a name
    of a role the stack never creates (the sandbox has no preview role) is protection of nothing
    and suggests a role that does not exist."""
    plan = plan_of("pipeline")
    created = {
        r["inputs"].get("name") or r["inputs"].get("roleName")
        for r in plan["resources"]
        if r["type"] in (access.ALI_ROLE, access.AWS_ROLE)
    }
    assert "github-test-deploy" in created and "github-test-preview" not in created
    named: set[str] = set()
    pattern = re.compile(r"(?:role|policy)/(github-[a-z]+-(?:deploy|preview))(?:-policy)?\b", re.IGNORECASE)
    for resource in plan["resources"]:
        named.update(m.group(1) for m in pattern.finditer(json.dumps(resource["inputs"])))
    assert {"github-test-deploy", "github-prod-preview"} <= named
    assert named <= created, sorted(named - created)
