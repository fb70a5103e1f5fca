"""AWS escalation catalogue: every IAM principal of every stack is asked the known ways to raise
privileges, through the evaluator ``python -m baseline can`` uses (``baseline.analysis.access``), and
must be denied.

The methods are the ones cloudsplaining ships (``PRIVILEGE_ESCALATION_METHODS``, from Rhino
Security Labs' research) plus the requests issue #10 names: role creation without the
boundary, boundary removal or replacement, policy versions, assuming other roles, running
commands in others' tasks, repository policies and opening security groups. Each request is
aimed where it would escalate: other roles and policies of the account, the scenario's own roles
and boundary, roles the stack may create but with an administrator policy or another boundary.
The few requests the guide intends and that raise nothing (pass the named task roles to ECS
tasks; create an ``ecs-mcp-*`` role behind this very boundary with the task execution policy)
are checked to stay allowed, so the catalogue cannot pass by denying everything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

import pytest
from cloudsplaining.shared.constants import PRIVILEGE_ESCALATION_METHODS
from conftest import STACKS, example_resolved, plan_of
from test_s6_ecs_mcp_server import ALL_USE_CASES, plan

from baseline.analysis import access
from baseline.config import RawConfig, resolve
from baseline.documents import aws as documents
from baseline.documents.aws_actions import RESOURCE_ARNS
from baseline.naming import Naming

SOURCES = (*STACKS, "all-use-cases")
ADMIN_POLICY = "arn:aws:iam::aws:policy/AdministratorAccess"
# Services a passed role would work for; ECS tasks are the one the guide passes roles to.
PASSED_TO = (
    "ec2.amazonaws.com",
    "lambda.amazonaws.com",
    "glue.amazonaws.com",
    "cloudformation.amazonaws.com",
    "datapipeline.amazonaws.com",
    "apprunner.amazonaws.com",
    "codebuild.amazonaws.com",
    "sagemaker.amazonaws.com",
    "ecs-tasks.amazonaws.com",
)
ELSEWHERE = "escalation-check"  # a name no stack uses: "someone else's" resource


@dataclass(frozen=True)
class Request:
    action: str
    resource: str
    context: tuple[tuple[str, str], ...] = ()
    why: str = ""

    def decide(self, grants: access.Grants) -> access.Decision:
        context: dict[str, list[str]] = {}
        for key, value in self.context:
            context.setdefault(key, []).append(value)
        return grants.decide(self.action, self.resource, context)


@dataclass
class Stack:
    """What the requests are aimed at, from the stack's own settings."""

    name: str
    account: str
    region: str
    boundary_arn: str
    scenario_roles: list[str]
    pass_roles: list[str]
    owned_role: str  # a role the deployment use case may create (its name prefix)
    clusters: list[str] = field(default_factory=list)
    repositories: list[str] = field(default_factory=list)
    stacks: list[str] = field(default_factory=list)

    def arn(self, kind: str, name: str) -> str:
        return f"arn:aws:iam::{self.account}:{kind}/{name}"


@cache
def stack(source: str) -> Stack:
    if source == "all-use-cases":
        resolved = resolve(RawConfig(values=ALL_USE_CASES, secrets={}))
    else:
        resolved = example_resolved(source)
    settings = resolved.settings
    server = settings.ecs_mcp_server
    naming = Naming(settings.naming.prefix, settings.naming.suffix)
    account, region = settings.aws.account_id, settings.aws.region
    (spec,) = resolved.aws
    return Stack(
        name=source,
        account=account,
        region=region,
        boundary_arn=documents.policy_arn(account, naming.name(server.boundary.policy_name)),
        scenario_roles=[documents.role_arn(account, r.name) for r in spec.roles],
        pass_roles=[documents.role_arn(account, r) for r in server.pass_roles],
        owned_role=documents.role_arn(account, f"{naming.name(server.role_name_prefix)}web-task"),
        clusters=server.clusters,
        repositories=server.repositories,
        stacks=server.cloud_formation_stacks,
    )


def rendered(source: str) -> dict:
    return plan(source) if source == "all-use-cases" else plan_of(source)


def aws_principals(source: str) -> list[access.Principal]:
    return [p for p in access.principals(rendered(source)) if p.cloud == "aws"]


# --- The requests --------------------------------------------------------------------------------
def _region(s: Stack) -> tuple[tuple[str, str], ...]:
    return (("aws:RequestedRegion", s.region),)


def generic_resources(s: Stack, action: str) -> list[str]:
    """``*``, and every ARN the action takes, both someone else's and the stack's own names."""
    found = ["*"]
    formats = RESOURCE_ARNS.get(action, ())
    for names in ((ELSEWHERE,), None):
        placeholders = {p for f in formats for p in documents._PLACEHOLDER.findall(f)}
        own = {
            "ClusterName": tuple(s.clusters) or (ELSEWHERE,),
            "RepositoryName": tuple(s.repositories) or (ELSEWHERE,),
            "StackName": tuple(s.stacks) or (ELSEWHERE,),
        }
        filled = {p: names or own.get(p, ("*",)) for p in placeholders - {"Partition", "Region", "Account"}}
        scope = documents.Scope(s.account, s.region, filled or {"_": ("*",)})
        found += [a for a in scope.arns(action) if a not in found] if action in RESOURCE_ARNS else []
    return found


def role_targets(s: Stack) -> list[str]:
    """Roles whose permissions nobody here may touch: another role of the account, the
    scenario's own roles (their policies are the limit of the MCP server)."""
    return [s.arn("role", "AdministratorRole"), *s.scenario_roles]


def requests_for(s: Stack, action: str) -> list[Request]:
    """Escalating requests of one action, aimed where they would raise privileges.

    They name no ``aws:RequestedRegion``: the cloud sets it on every request, so the evaluator asks
    each one with every candidate value (the documents' regions and one they do not name; the
    region of a regional ARN), and any value that allows is an escalation.
    """
    region: tuple[tuple[str, str], ...] = ()
    other_boundary = s.arn("policy", "SomeOtherPolicy")
    if action == "iam:PassRole":
        everything = [
            Request(action, role, (*region, ("iam:PassedToService", service)), "pass another role")
            for role in role_targets(s)
            for service in PASSED_TO
        ]
        # The roles the stack passes (and may create) go to ECS tasks only.
        return everything + [
            Request(action, role, (*region, ("iam:PassedToService", service)), "pass to another service")
            for role in [*s.pass_roles, s.owned_role]
            for service in PASSED_TO
            if service != documents.ECS_TASKS_SERVICE
        ]
    if action in ("iam:AttachRolePolicy", "iam:PutRolePolicy"):
        attach = [
            Request(action, role, (("iam:PolicyARN", ADMIN_POLICY),), "administrator policy on a role")
            for role in [*role_targets(s), s.owned_role]
        ]
        attach += [
            Request(
                action,
                s.owned_role,
                (("iam:PolicyARN", ADMIN_POLICY), ("iam:PermissionsBoundary", s.boundary_arn)),
                "administrator policy on a role the stack may create",
            ),
            Request(
                action,
                s.owned_role,
                (("iam:PolicyARN", documents.TASK_EXECUTION_POLICY_ARN),),
                "a policy on a role without the boundary",
            ),
            Request(
                action,
                s.owned_role,
                (("iam:PermissionsBoundary", s.boundary_arn),),
                "an inline policy on a role the stack may create",
            ),
        ]
        return attach
    if action == "iam:CreateRole":
        return [
            Request(action, role, context, why)
            for role in [s.owned_role, s.arn("role", ELSEWHERE), s.arn("role", "ecsTaskExecutionRole")]
            for context, why in (
                ((), "a role without a boundary"),
                ((("iam:PermissionsBoundary", other_boundary),), "a role behind another boundary"),
            )
        ] + [
            Request(
                action,
                s.arn("role", ELSEWHERE),
                (("iam:PermissionsBoundary", s.boundary_arn),),
                "a role outside the stack's name prefix",
            )
        ]
    if action == "iam:PutRolePermissionsBoundary":
        return [
            Request(action, role, (("iam:PermissionsBoundary", other_boundary),), "replace the boundary")
            for role in [*role_targets(s), s.owned_role]
        ]
    if action == "iam:DeleteRolePermissionsBoundary":
        return [Request(action, role, (), "remove the boundary") for role in [*role_targets(s), s.owned_role]]
    if action in ("iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:DeletePolicy"):
        return [
            Request(action, arn, (), "rewrite a policy")
            for arn in (s.boundary_arn, s.arn("policy", ELSEWHERE), "*")
        ]
    if action in ("iam:UpdateAssumeRolePolicy", "sts:AssumeRole"):
        return [Request(action, role, (), "take over a role") for role in [*role_targets(s), s.owned_role]]
    if action == "cloudformation:CreateStack":
        # A stack run by a service role does what that role may, not what the caller may.
        return [
            Request(action, arn, (*region, ("cloudformation:RoleArn", role)), "stack with a service role")
            for arn in generic_resources(s, action)
            for role in role_targets(s)
        ] + [
            Request(action, arn, region, "stack not named in config")
            for arn in generic_resources(s, action)[:2]
        ]
    if action in ("ecs:RunTask", "ecs:StartTask"):
        other = documents.ecs_arn(s.region, s.account, f"cluster/{ELSEWHERE}")
        return [
            Request(action, arn, (*region, ("ecs:cluster", other)), "task in another cluster")
            for arn in generic_resources(s, action)
        ]
    if action == "ec2:AuthorizeSecurityGroupIngress":
        group = f"arn:aws:ec2:{s.region}:{s.account}:security-group/sg-0123456789abcdef0"
        return [
            Request(action, group, region, "open a security group no stack of ours made"),
            Request(
                action,
                group,
                (*region, (f"aws:ResourceTag/{documents.STACK_NAME_TAG}", ELSEWHERE)),
                "open another stack's security group",
            ),
            Request(action, "*", region, "open any security group"),
        ]
    return [Request(action, r, region, "escalating action") for r in generic_resources(s, action)]


# Issue #10's catalogue on top of cloudsplaining's methods.
NAMED_ACTIONS = (
    "iam:CreateRole",
    "iam:DeleteRolePermissionsBoundary",
    "iam:PutRolePermissionsBoundary",
    "iam:DeletePolicy",
    "iam:CreateUser",
    "sts:AssumeRole",
    "ecs:ExecuteCommand",
    "ecr:SetRepositoryPolicy",
    "ecr:PutRegistryPolicy",
    "ec2:AuthorizeSecurityGroupIngress",
    "ecs:RunTask",
    "ecs:StartTask",
    "lambda:InvokeFunction",
)


def escalating_actions() -> list[str]:
    """Actions that escalate on their own, aimed as ``requests_for`` aims them: cloudsplaining's
    one-action methods, iam:PassRole (every pass method's key) and issue #10's list. Actions that
    escalate only together with others (ecs:DescribeTasks beside ecs:ExecuteCommand) are judged
    by method, in the next test. Spelled as AWS does where the table knows the action."""
    spelled = {a.lower(): a for a in RESOURCE_ARNS}
    single = {m[0] for m in PRIVILEGE_ESCALATION_METHODS.values() if len(m) == 1}
    return sorted({spelled.get(a, a) for a in single} | {"iam:PassRole", *NAMED_ACTIONS}, key=str.lower)


@cache
def catalogue(source: str) -> tuple[Request, ...]:
    s = stack(source)
    return tuple(r for action in escalating_actions() for r in requests_for(s, action))


# --- The tests -----------------------------------------------------------------------------------
@pytest.mark.parametrize("source", SOURCES)
def test_every_principal_is_denied_every_escalation(source):
    allowed = []
    for principal in aws_principals(source):
        grants = access.grants_of(rendered(source), principal)
        # An AWS read-only policy attached beside the use case's own (all-use-cases does) is not
        # evaluated offline: it grants no IAM action, and the boundary caps it anyway.
        assert all("ReadOnlyAccess" in item for item in grants.not_evaluated), grants.not_evaluated
        assert grants.boundary, principal.name
        allowed += [
            (principal.name, r.action, r.resource, r.context, r.why)
            for r in catalogue(source)
            if r.decide(grants).allowed
        ]
    assert not allowed


@pytest.mark.parametrize("source", SOURCES)
def test_no_cloudsplaining_method_is_complete_for_any_principal(source):
    # A method escalates only when every one of its actions goes through; the per-request test
    # above is stricter, this one reads like cloudsplaining's report.
    s = stack(source)
    spelled = {a.lower(): a for a in RESOURCE_ARNS}
    actions = {a for method in PRIVILEGE_ESCALATION_METHODS.values() for a in method}
    requests = {a: requests_for(s, spelled.get(a, a)) for a in actions}
    for principal in aws_principals(source):
        grants = access.grants_of(rendered(source), principal)
        possible = {a: any(r.decide(grants).allowed for r in requests[a]) for a in actions}
        for method, needed in PRIVILEGE_ESCALATION_METHODS.items():
            assert not all(possible[a] for a in needed), (principal.name, method)


def test_the_catalogue_covers_every_method_and_every_principal():
    for source in SOURCES:
        assert aws_principals(source), source
        asked = {r.action.lower() for r in catalogue(source)}
        for method, actions in PRIVILEGE_ESCALATION_METHODS.items():
            # One-action methods and every pass method are asked request by request; the
            # others are judged as whole methods by the test above.
            if len(actions) == 1 or "iam:passrole" in actions:
                assert set(actions) & asked, (source, method)
    assert len(catalogue("prod")) > 100


def test_what_the_guide_intends_still_goes_through_in_prod():
    # The catalogue is not passing by denying everything: the deployment role passes the named,
    # pre-created task roles to ECS tasks and creates its CloudFormation stacks. It creates no
    # role in prod (a role with a trust of its choice would be a standing way back in).
    s = stack("prod")
    (deployer,) = [p for p in aws_principals("prod") if p.name == "EcsMcpDeploymentManagementRole"]
    grants = access.grants_of(plan_of("prod"), deployer)
    region = _region(s)
    with_boundary = ("iam:PermissionsBoundary", s.boundary_arn)
    to_tasks = ("iam:PassedToService", documents.ECS_TASKS_SERVICE)
    refused = [
        Request("iam:PassRole", s.owned_role, (*region, to_tasks)),
        Request("iam:CreateRole", s.owned_role, (with_boundary,)),
        Request(
            "iam:AttachRolePolicy",
            s.owned_role,
            (with_boundary, ("iam:PolicyARN", documents.TASK_EXECUTION_POLICY_ARN)),
        ),
    ]
    for request in refused:
        assert not request.decide(grants).allowed, request
    intended = [Request("iam:PassRole", role, (*region, to_tasks)) for role in s.pass_roles] + [
        Request(
            "cloudformation:CreateStack",
            f"arn:aws:cloudformation:{s.region}:{s.account}:stack/{s.stacks[0]}/1",
            region,
        ),
    ]
    for request in intended:
        assert request.decide(grants).allowed, request


@pytest.mark.parametrize(
    ("action", "resource", "context"),
    [
        # Issue #10, item 1: the deployment role could create an unbounded role, put *:* on it
        # and attach any customer policy.
        ("iam:CreateRole", "arn:aws:iam::444455556666:role/any", ()),
        ("iam:PutRolePolicy", "arn:aws:iam::444455556666:role/any", ()),
        (
            "iam:AttachRolePolicy",
            "arn:aws:iam::444455556666:role/any",
            (("iam:PolicyARN", "arn:aws:iam::444455556666:policy/AnyCustomerPolicy"),),
        ),
        # Item 5: ecs:*, ecr:* and elasticloadbalancing:* on "*".
        ("ecs:ExecuteCommand", "arn:aws:ecs:us-east-1:444455556666:task/prod-cluster/0123", ()),
        ("ecr:SetRepositoryPolicy", "arn:aws:ecr:us-east-1:444455556666:repository/web-api", ()),
        ("ec2:AuthorizeSecurityGroupIngress", "arn:aws:ec2:us-east-1:444455556666:security-group/sg-1", ()),
        (
            "elasticloadbalancing:DeleteLoadBalancer",
            "arn:aws:elasticloadbalancing:eu-west-1:444455556666:loadbalancer/app/web/1",
            (),
        ),
    ],
)
def test_the_requests_issue_10_names_are_denied_on_prod(action, resource, context):
    (deployer,) = [p for p in aws_principals("prod") if p.name == "EcsMcpDeploymentManagementRole"]
    grants = access.grants_of(plan_of("prod"), deployer)
    # No region given: the cloud sets it (a regional ARN's own), and every candidate is asked.
    decision = Request(action, resource, context).decide(grants)
    assert not decision.allowed


def test_the_proofs_page_gives_these_figures():
    from test_scanners_aws import readme_row

    stacks = ("dev", "staging", "prod")
    roles = [len(aws_principals(s)) for s in stacks]
    asked = [len(catalogue(s)) for s in stacks]
    assert readme_row("IAM roles") == [str(n) for n in roles]
    assert readme_row("IAM escalation requests asked of each role") == [str(n) for n in asked]
    assert readme_row("IAM decisions") == [str(r * a) for r, a in zip(roles, asked, strict=True)]
    assert readme_row("IAM requests allowed") == ["0", "0", "0"]  # the test above holds this
    assert readme_row("cloudsplaining escalation methods (of 59) a role could complete") == ["0", "0", "0"]
    assert len(PRIVILEGE_ESCALATION_METHODS) == 59


# --- S7: the pipeline's own IAM roles ---------------------------------------------------------------
# As in the RAM catalogue: a deploy role manages its stack's roles and policies (names
# <prefix>*, behind a boundary of its own prefix) and nothing else; each by-design exception is
# asked again just outside its bound, which must be denied. Preview roles get no exception.

PIPELINE = "pipeline"
AWS_PIPELINE_EXCEPTIONS = {
    "own-prefix roles": "creates, re-trusts and deletes its stack's roles (<prefix>*, behind a "
    "<prefix>* boundary)",
    "own-prefix policies": "creates and versions its stack's customer policies (<prefix>*)",
    "own-prefix attachments": "attaches its stack's customer policies (and the managed ones it "
    "lists) to its roles",
}
NEVER_ATTACHABLE = (
    "arn:aws:iam::aws:policy/AdministratorAccess",
    "arn:aws:iam::aws:policy/IAMFullAccess",
    "arn:aws:iam::aws:policy/PowerUserAccess",
    "arn:aws:iam::aws:policy/ReadOnlyAccess",
    "arn:aws:iam::aws:policy/AmazonS3FullAccess",
)


@dataclass(frozen=True)
class PipelineRequest:
    request: Request
    exception: str | None = None


@cache
def pipeline_roles() -> tuple[tuple[access.Principal, object, str], ...]:
    resolved = example_resolved(PIPELINE)
    prefixes = {e.name: e.name_prefix for e in resolved.settings.pipeline.environments}
    found = []
    for role in resolved.pipeline.roles:
        if role.cloud == "aws":
            [principal] = access.find_principal(plan_of(PIPELINE), f"aws:{role.name}")
            found.append((principal, role, prefixes[role.environment]))
    return tuple(found)


def pipeline_catalogue(role, prefix: str) -> list[PipelineRequest]:
    from baseline.scenarios.pipeline import boundary_name, role_names

    settings = example_resolved(PIPELINE).settings.pipeline
    account, deploy = role.account, role.access == "deploy"
    arn = lambda kind, name, acct=account: f"arn:aws:iam::{acct}:{kind}/{name}"  # noqa: E731
    own_roles = role_names(settings)
    own_policies = [*(f"{r}-policy" for r in own_roles), boundary_name(settings)]
    mine = mine_role = mine_policy = f"{prefix}escalate"
    foreign = ["zz-escalate", "AdminRole"] if prefix else []
    other_account = "999988887777"
    # The sandbox's boundary is the pipeline stack's (sandbox-workload-boundary); a policy of its
    # own prefix as a boundary (the reported chain: create pr-x, a role behind pr-x) is foreign.
    own_boundary = ("iam:PermissionsBoundary", arn("policy", "sandbox-workload-boundary"))
    requests: list[PipelineRequest] = []
    self_written = ("iam:PermissionsBoundary", arn("policy", f"{prefix}escalate"))
    chain = Request("iam:CreateRole", arn("role", mine_role), (self_written,), "chain")
    requests.append(PipelineRequest(chain))
    if role.environment != "test":
        # Held to its stack's roles, policies and boundary by exact name (issue 16): a name inside
        # its prefix that its stack does not create is foreign, and so is the boundary itself as
        # a policy to attach or re-version.
        from baseline.config import deployed_policies

        reach = deployed_policies(role.environment, "pipeline")
        [boundary] = reach.iam_boundaries
        mine_role = reach.iam_roles[0]
        mine_policy = next(p for p in reach.iam_policies if p != boundary)
        own_boundary = ("iam:PermissionsBoundary", arn("policy", boundary))
        foreign = [*foreign, f"{prefix}escalate", "OrganizationAccountAccessRole"]
        # Its boundary: created by its first deployment (the residue docs/operations.md section 8
        # names), never re-versioned, deleted or attached as a policy.
        for action in (
            "iam:CreatePolicyVersion",
            "iam:SetDefaultPolicyVersion",
            "iam:DeletePolicyVersion",
            "iam:DeletePolicy",
        ):
            requests.append(
                PipelineRequest(Request(action, arn("policy", boundary), (), "re-write its boundary"))
            )
        requests.append(
            PipelineRequest(
                Request(
                    "iam:AttachRolePolicy",
                    arn("role", mine_role),
                    (("iam:PolicyARN", arn("policy", boundary)), own_boundary),
                    "its boundary as a permission",
                )
            )
        )

    def add(action, resource, context=(), exception=None, why="escalation"):
        requests.append(
            PipelineRequest(Request(action, resource, tuple(context), why), exception if deploy else None)
        )

    # Creating roles: never the pipeline's, never outside the prefix or another account, never
    # without a boundary or behind the pipeline's or a foreign one.
    for name in [*own_roles, *foreign]:
        add("iam:CreateRole", arn("role", name), (own_boundary,), why="a role outside the prefix")
    add("iam:CreateRole", arn("role", mine_role, other_account), (own_boundary,), why="another account")
    add("iam:CreateRole", arn("role", mine_role), why="no boundary")
    for boundary in [*own_policies, "zz-boundary"] if prefix else own_policies:
        add("iam:CreateRole", arn("role", mine_role), (("iam:PermissionsBoundary", arn("policy", boundary)),))
    add("iam:CreateRole", arn("role", mine_role), (own_boundary,), "own-prefix roles")
    # Changing roles: trust, boundary, inline policies, passing and assuming.
    for name in [*own_roles, *foreign]:
        for action in ("iam:UpdateAssumeRolePolicy", "iam:DeleteRole", "iam:DeleteRolePermissionsBoundary"):
            add(action, arn("role", name))
        add("iam:PutRolePermissionsBoundary", arn("role", name), (own_boundary,))
    add("iam:UpdateAssumeRolePolicy", arn("role", mine_role), exception="own-prefix roles")
    add("iam:UpdateAssumeRolePolicy", arn("role", mine_role, other_account))
    add("iam:DeleteRolePermissionsBoundary", arn("role", mine_role), why="remove the boundary")
    for boundary in own_policies:
        add(
            "iam:PutRolePermissionsBoundary",
            arn("role", mine_role),
            (("iam:PermissionsBoundary", arn("policy", boundary)),),
        )
    for name in [*own_roles, *foreign, mine_role]:
        add("iam:PutRolePolicy", arn("role", name), why="inline policy")
        add("sts:AssumeRole", arn("role", name))
        for service in PASSED_TO:
            add("iam:PassRole", arn("role", name), (("iam:PassedToService", service),))
    # Attaching: only its own customer policies (and the managed ones its stack lists) to its roles.
    for policy in [*NEVER_ATTACHABLE, *(arn("policy", p) for p in own_policies)]:
        for name in [*own_roles, mine_role]:
            add("iam:AttachRolePolicy", arn("role", name), (("iam:PolicyARN", policy), own_boundary))
    for name in foreign:
        add("iam:AttachRolePolicy", arn("policy", name), (("iam:PolicyARN", arn("policy", mine_policy)),))
        add("iam:AttachRolePolicy", arn("role", mine_role), (("iam:PolicyARN", arn("policy", name)),))
    own_policy = ("iam:PolicyARN", arn("policy", mine_policy))
    add("iam:AttachRolePolicy", arn("role", mine_role), (own_policy, own_boundary), "own-prefix attachments")
    # ... only onto a role behind its stack's boundary: not one without a boundary, nor one behind
    # the pipeline's own policies.
    for action in ("iam:AttachRolePolicy", "iam:DetachRolePolicy", "iam:DeleteRolePolicy"):
        add(action, arn("role", mine_role), (own_policy,), why="a role with no boundary")
        for boundary in own_policies:
            pipeline_boundary = ("iam:PermissionsBoundary", arn("policy", boundary))
            add(action, arn("role", mine_role), (own_policy, pipeline_boundary), why="behind the pipeline's")
    # Policies: versions of the pipeline's own, foreign ones; its own by design.
    for action in ("iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:DeletePolicy"):
        for name in [*own_policies, *foreign]:
            add(action, arn("policy", name))
        add(action, arn("policy", mine_policy, other_account))
    add("iam:CreatePolicyVersion", arn("policy", mine_policy), exception="own-prefix policies")
    add("iam:CreatePolicy", arn("policy", mine_policy), exception="own-prefix policies")
    add("iam:CreatePolicy", arn("policy", mine_policy, other_account))
    for name in [*own_policies, *foreign]:
        add("iam:CreatePolicy", arn("policy", name))
    # Users, groups, keys, identity providers: no deployer has any.
    for action in (
        "iam:CreateUser",
        "iam:CreateAccessKey",
        "iam:CreateLoginProfile",
        "iam:UpdateLoginProfile",
        "iam:AttachUserPolicy",
        "iam:PutUserPolicy",
        "iam:AddUserToGroup",
    ):
        add(action, arn("user", mine))
    add("iam:AttachGroupPolicy", arn("group", "Administrators"), (("iam:PolicyARN", NEVER_ATTACHABLE[0]),))
    provider = f"arn:aws:iam::{account}:oidc-provider/token.actions.githubusercontent.com"
    for action in (
        "iam:CreateOpenIDConnectProvider",
        "iam:UpdateOpenIDConnectProviderThumbprint",
        "iam:AddClientIDToOpenIDConnectProvider",
        "iam:DeleteOpenIDConnectProvider",
    ):
        add(action, provider)
    # cloudsplaining's one-action methods, on anything.
    for action in escalating_actions():
        add(action, "*")
    # Data beyond the state backend.
    add("s3:GetObject", "arn:aws:s3:::another-teams-bucket/object")
    add("s3:PutBucketPolicy", f"arn:aws:s3:::{settings.aws_state_bucket or 'state'}")
    add("kms:Decrypt", f"arn:aws:kms:us-east-1:{account}:key/another")
    return requests


@cache
def pipeline_outcomes(name: str) -> tuple[list, list, list]:
    principal, role, prefix = next(t for t in pipeline_roles() if t[1].name == name)
    grants = access.grants_of(plan_of(PIPELINE), principal)
    assert grants.boundary, name  # every pipeline role sits behind the account's pipeline boundary
    escalations, excepted, unneeded = [], [], []
    for item in pipeline_catalogue(role, prefix):
        allowed = item.request.decide(grants).allowed
        if item.exception is None and allowed:
            escalations.append(item.request)
        elif item.exception is not None:
            (excepted if allowed else unneeded).append(item)
    return escalations, excepted, unneeded


def _names() -> list[str]:
    return [t[1].name for t in pipeline_roles()]


@pytest.mark.parametrize("name", _names())
def test_no_pipeline_iam_role_escalates_beyond_its_reasoned_exceptions(name):
    assert pipeline_outcomes(name)[0] == []


@pytest.mark.parametrize("name", [n for n in _names() if n.endswith("-deploy")])
def test_every_iam_deploy_exception_is_needed_and_bounded(name):
    _, role, prefix = next(t for t in pipeline_roles() if t[1].name == name)
    _, excepted, unneeded = pipeline_outcomes(name)
    assert unneeded == []
    assert {item.exception for item in excepted} == set(AWS_PIPELINE_EXCEPTIONS)
    denied = {item.request.action for item in pipeline_catalogue(role, prefix) if item.exception is None}
    for item in excepted:
        assert item.request.action in denied, item  # the same action is asked outside the bound


@pytest.mark.parametrize("name", [n for n in _names() if n.endswith("-preview")])
def test_iam_preview_roles_write_nothing(name):
    _, role, prefix = next(t for t in pipeline_roles() if t[1].name == name)
    assert all(item.exception is None for item in pipeline_catalogue(role, prefix))
    assert pipeline_outcomes(name)[0] == []


def test_iam_pipeline_catalogue_figures():
    asked = sum(len(pipeline_catalogue(r, p)) for _, r, p in pipeline_roles())
    excepted = sum(len(pipeline_outcomes(r.name)[1]) for _, r, _ in pipeline_roles())
    assert asked > 500 and 0 < excepted < asked / 20, (asked, excepted)


def test_the_catalogue_leaves_the_region_to_the_cloud_and_asks_every_candidate():
    # aws:RequestedRegion is on every request: a catalogue that named the stack's region asked one
    # value only. Requests name none; the evaluator asks each candidate (a regional ARN: its region).
    from baseline.analysis import cloud_keys

    s = stack("prod")
    assert not [r for r in catalogue("prod") if any(k == "aws:RequestedRegion" for k, _ in r.context)]
    (deployer,) = [p for p in aws_principals("prod") if p.name == "EcsMcpDeploymentManagementRole"]
    grants = access.grants_of(plan_of("prod"), deployer)
    asked = {
        tuple(a.asked)
        for r in catalogue("prod")
        for a in r.decide(grants).assumed
        if a.key.lower() == "aws:requestedregion"
    }
    assert (s.region, cloud_keys.OTHER_VALUE) in asked, asked
