"""Issue 24's edges: policy writes reach the written principal's ceiling (admin without one),
ceilings (permissions boundaries, Resource Directory control policies), ECS task overrides, and new
principals asked with the boundary and policy their creator chooses. Each on a hand-made plan, then
on today's plans and on prod's and the pipeline's as they were before the documents were tightened
(tests/data/plans_before_issue24/, rendered from the fixture stacks), so a graph that stops seeing
a chain fails here whatever the live documents say."""

from __future__ import annotations

import json
from functools import cache

from conftest import ROOT, example_resolved, plan_of

from baseline.analysis import graph

ACCOUNT = "5012345678901234"
OTHER_ACCOUNT = "5099999999999999"
AWS = "111122223333"


# --- hand-made plans ------------------------------------------------------------------------------
def _ram_policy(name: str, *statements: dict) -> dict:
    document = {"Version": "1", "Statement": list(statements)}
    return {
        "type": "alicloud:ram/policy:Policy",
        "name": f"policy-{name}",
        "provider": None,
        "inputs": {"policyName": name, "policyDocument": json.dumps(document)},
    }


def _ram_user(name: str, *policies: str) -> list[dict]:
    found = [
        {"type": "alicloud:ram/user:User", "name": f"user-{name}", "provider": None, "inputs": {"name": name}}
    ]
    for policy in policies:
        inputs = {"userName": name, "policyName": policy, "policyType": "Custom"}
        found.append(
            {
                "type": "alicloud:ram/userPolicyAttachment:UserPolicyAttachment",
                "name": f"att-{name}-{policy}",
                "provider": None,
                "inputs": inputs,
            }
        )
    return found


def _ram_role(name: str, principal: dict, *policies: str) -> list[dict]:
    trust = {
        "Version": "1",
        "Statement": [{"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": principal}],
    }
    found = [
        {
            "type": "alicloud:ram/role:Role",
            "name": f"role-{name}",
            "provider": None,
            "inputs": {"roleName": name, "assumeRolePolicyDocument": json.dumps(trust)},
        }
    ]
    for policy in policies:
        inputs = {"roleName": name, "policyName": policy, "policyType": "Custom"}
        found.append(
            {
                "type": "alicloud:ram/rolePolicyAttachment:RolePolicyAttachment",
                "name": f"att-{name}-{policy}",
                "provider": None,
                "inputs": inputs,
            }
        )
    return found


def _allow(actions, resource="*", **condition) -> dict:
    statement = {"Effect": "Allow", "Action": actions, "Resource": resource}
    if condition:
        statement["Condition"] = {"StringEquals": condition}
    return statement


def _ram_graph(*resources: dict) -> graph.Graph:
    plan = {"resources": list(resources), "outputs": {"environment": "test"}}
    return graph.build([graph.Source("test", plan, {"alicloud": ACCOUNT}, {"alicloud": "cn-hangzhou"})])


def _admins(built: graph.Graph) -> list[str]:
    return sorted(built.nodes[p.source].name for p in graph.paths(built, to="admin"))


def _ram(kind: str, name: str) -> str:
    return f"acs:ram:*:{ACCOUNT}:{kind}/{name}"


def test_re_versioning_a_custom_policy_of_a_user_it_makes_keys_for_is_admin():
    built = _ram_graph(
        _ram_policy("app", _allow(["ecs:DescribeInstances"])),
        *_ram_user("app-user", "app"),
        _ram_policy(
            "keys-and-versions",
            _allow(["ram:CreatePolicyVersion"], _ram("policy", "app")),
            _allow(["ram:CreateAccessKey"], _ram("user", "app-user")),
        ),
        _ram_policy("versions-only", _allow(["ram:CreatePolicyVersion"], _ram("policy", "app"))),
        *_ram_user("deployer", "keys-and-versions"),
        *_ram_user("writer", "versions-only"),
    )
    # The writer rewrites app-user's grants but never becomes app-user: no path of its own.
    assert _admins(built) == ["deployer"]
    (path,) = [p for p in graph.paths(built, "deployer", to="admin")]
    assert [s.kind for s in path.steps] in (["policy-version"], ["credentials", "policy-version"])


def test_a_policy_it_creates_attached_to_a_role_it_assumes_is_admin():
    assumes = _allow(["sts:AssumeRole"], _ram("role", "App"))
    built = _ram_graph(
        *_ram_role("App", {"RAM": [f"acs:ram::{ACCOUNT}:root"]}),
        _ram_policy(
            "create-and-attach",
            _allow(["ram:CreatePolicy"], _ram("policy", "*")),
            _allow(["ram:AttachPolicyToRole"], [_ram("role", "App"), _ram("policy", "*")]),
            assumes,
        ),
        # The same without the attach: a policy of its own that no principal it uses holds.
        _ram_policy("create-only", _allow(["ram:CreatePolicy"], _ram("policy", "*")), assumes),
        *_ram_user("maker", "create-and-attach"),
        *_ram_user("drafter", "create-only"),
    )
    assert _admins(built) == ["maker"]
    step = graph.paths(built, "maker", to="admin")[0].steps[-1]
    assert step.kind == "policy-write" and ("ram:CreatePolicy", _ram("policy", "x")) in step.requests


def _control_policy(name: str, target: str, *statements: dict) -> list[dict]:
    document = {"Version": "1", "Statement": list(statements)}
    return [
        {
            "type": graph.CONTROL_POLICY,
            "name": f"cp-{name}",
            "provider": None,
            "inputs": {
                "controlPolicyName": name,
                "effectScope": "RAM",
                "policyDocument": json.dumps(document),
            },
        },
        {
            "type": graph.CONTROL_ATTACHMENT,
            "name": f"cp-{name}-{target}",
            "provider": None,
            "inputs": {"policyId": f"cp-{name}-id", "targetId": target},
        },
    ]


MAKER = (
    _ram_policy(
        "maker",
        _allow(["ram:CreateUser"], _ram("user", "*")),
        _allow(["ram:CreateAccessKey"], _ram("user", "pr*")),
        _allow(
            ["ram:AttachPolicyToUser"], [_ram("user", "pr*"), "acs:ram:*:system:policy/AdministratorAccess"]
        ),
    ),
    *_ram_user("maker", "maker"),
)
DENY_NEW_USERS = {"Effect": "Deny", "Action": ["ram:CreateUser"], "Resource": "*"}


def test_no_control_policy_leaves_the_graph_as_it_was():
    assert _admins(_ram_graph(*MAKER)) == ["maker"]
    # A control policy attached to another member account binds none of this account's principals.
    assert _admins(_ram_graph(*MAKER, *_control_policy("no-users", OTHER_ACCOUNT, DENY_NEW_USERS))) == [
        "maker"
    ]


def test_a_control_policy_on_the_account_is_a_ceiling_on_every_principal_there():
    built = _ram_graph(*MAKER, *_control_policy("no-users", ACCOUNT, DENY_NEW_USERS))
    assert _admins(built) == []
    assert not [e for e in built.edges if e.kind == "new-principal"]


# What a RAM identity could use to become another or the admin, each denied by a control policy.
ADMIN_WAYS = (
    "ram:CreateUser",
    "ram:CreateRole",
    "ram:CreateAccessKey",
    "ram:CreateLoginProfile",
    "ram:UpdateLoginProfile",
    "ram:AttachPolicyToUser",
    "ram:AttachPolicyToRole",
    "ram:AddUserToGroup",
    "ram:PassRole",
)


def test_a_policy_rewritten_under_a_control_policy_reaches_the_ceiling_not_admin():
    own = _ram_policy("own", _allow(["ram:CreatePolicyVersion"], _ram("policy", "own")))
    assert _admins(_ram_graph(own, *_ram_user("v", "own"))) == ["v"]
    fence = {"Effect": "Deny", "Action": [*ADMIN_WAYS, "ram:UpdateRole"], "Resource": "*"}
    built = _ram_graph(own, *_ram_user("v", "own"), *_control_policy("fence", ACCOUNT, fence))
    assert _admins(built) == []
    (path,) = graph.paths(built, "v")
    rewritten = built.nodes[path.target]
    assert rewritten.kind == "rewritten" and rewritten.name.startswith("v ")
    # The same ceiling less one Deny: the rewritten user re-trusts roles no stack creates.
    fence = {"Effect": "Deny", "Action": list(ADMIN_WAYS), "Resource": "*"}
    built = _ram_graph(own, *_ram_user("v", "own"), *_control_policy("fence", ACCOUNT, fence))
    (path,) = graph.paths(built, "v", to="admin")
    assert [s.kind for s in path.steps] == ["policy-version", "re-trust"]


# The sandbox's control policy in small: identity writes denied to every identity but the maker.
def _fence_but(name: str) -> dict:
    return {
        "Effect": "Deny",
        "Action": [*ADMIN_WAYS, "ram:CreatePolicy", "ram:UpdateRole"],
        "Resource": "*",
        "Condition": {"StringNotLike": {"acs:PrincipalARN": [f"acs:ram:*:{ACCOUNT}:user/{name}"]}},
    }


CONTROLLED = "new principal within the account's control policies"


def test_a_new_principal_holds_the_accounts_control_policies_not_its_creators_choice():
    built = _ram_graph(*MAKER, *_control_policy("fence", ACCOUNT, _fence_but("maker")))
    # The maker is exempt by its own acs:PrincipalARN: it creates and fills the user...
    assert _reached(built, "maker") == {CONTROLLED: ["new-principal"]}
    (new,) = [n for n in built.nodes.values() if n.name == CONTROLLED]
    assert new.kind == "new" and "control policies" in new.label
    # ...which is not: it makes no user, key or policy and attaches nothing, so reaches nothing.
    assert not [e for e in built.edges if e.source == new.id]
    assert _admins(built) == []


def test_a_control_policy_exempting_one_identity_binds_every_other():
    # The same grants on a user the fence does not exempt: the cloud sets acs:PrincipalARN from the
    # caller, so the Deny holds for it (never read as "some value", which would pick the exempt one).
    built = _ram_graph(*MAKER, *_control_policy("fence", ACCOUNT, _fence_but("someone-else")))
    assert _reached(built, "maker") == {}
    assert not [e for e in built.edges if e.kind == "new-principal"]


# --- AWS: boundaries as ceilings, task overrides, chosen boundaries ------------------------------
def _iam(kind: str, name: str) -> str:
    return f"arn:aws:iam::{AWS}:{kind}/{name}"


def _document(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _aws_policy(name: str, *statements: dict) -> dict:
    return {
        "type": "aws:iam/policy:Policy",
        "name": f"policy-{name}",
        "provider": None,
        "inputs": {"name": name, "policy": _document(*statements)},
    }


def _aws_role(name: str, trusted: dict, *managed: str, boundary: str = "", inline: tuple = ()) -> dict:
    trust = {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": trusted}
    inputs = {"name": name, "assumeRolePolicy": _document(trust), "managedPolicyArns": list(managed)}
    if boundary:
        inputs["permissionsBoundary"] = boundary
    if inline:
        inputs["inlinePolicies"] = [{"name": f"{name}-inline", "policy": _document(*inline)}]
    return {"type": "aws:iam/role:Role", "name": f"role-{name}", "provider": None, "inputs": inputs}


def _aws_graph(*resources: dict) -> graph.Graph:
    plan = {"resources": list(resources), "outputs": {"environment": "test"}}
    return graph.build([graph.Source("test", plan, {"aws": AWS}, {"aws": "us-east-1"})])


def _reached(built: graph.Graph, start: str) -> dict[str, list[str]]:
    """Target name -> the edge kinds of the path ``start`` reaches it by."""
    return {built.nodes[p.target].name: [s.kind for s in p.steps] for p in graph.paths(built, start)}


SERVICE = {"Service": "ecs-tasks.amazonaws.com"}


def test_a_re_versioned_policy_on_a_bounded_role_reaches_what_the_boundary_allows():
    boundary = _aws_policy(
        "app-boundary",
        _allow(["iam:PassRole"], _iam("role", "*")),
        _allow(["cloudformation:CreateStack"], "*"),
    )
    built = _aws_graph(
        boundary,
        _aws_policy("app-policy", _allow(["logs:PutLogEvents"], "*")),
        _aws_role("App", SERVICE, _iam("policy", "app-policy"), boundary=_iam("policy", "app-boundary")),
        _aws_role("StackRole", {"Service": "cloudformation.amazonaws.com"}),
        _aws_role(
            "Deployer",
            SERVICE,
            inline=(
                _allow(["iam:CreatePolicyVersion"], _iam("policy", "app-policy")),
                _allow(["iam:UpdateAssumeRolePolicy"], _iam("role", "App")),
            ),
        ),
    )
    reached = _reached(built, "Deployer")
    assert reached["App rewritten within its ceiling"] == ["policy-version"]
    # What App's policy allows today passes nothing; its boundary lets a rewritten App pass any role.
    assert reached["StackRole"] == ["policy-version", "pass-role"]
    assert "admin" not in reached


def _task_definition(family: str, role: str) -> dict:
    return {
        "type": graph.TASK_DEFINITION,
        "name": f"td-{family}",
        "provider": None,
        "inputs": {"family": family, "taskRoleArn": _iam("role", role), "containerDefinitions": "[]"},
    }


def test_running_a_task_of_a_definition_reaches_its_task_role_without_pass_role():
    cluster = f"arn:aws:ecs:us-east-1:{AWS}:cluster/app"
    run = ["ecs:RunTask", "ecs:StartTask"]
    built = _aws_graph(
        _task_definition("web", "WebTask"),
        _aws_role("WebTask", SERVICE),
        _aws_role(
            "Runner",
            SERVICE,
            inline=(
                {
                    **_allow(run, f"arn:aws:ecs:us-east-1:{AWS}:task-definition/web:*"),
                    "Condition": {"ArnEquals": {"ecs:cluster": cluster}},
                },
            ),
        ),
        _aws_role(
            "Stranger", SERVICE, inline=(_allow(run, f"arn:aws:ecs:us-east-1:{AWS}:task-definition/api:*"),)
        ),
        _aws_role(
            "Anything", SERVICE, inline=(_allow(run, f"arn:aws:ecs:us-east-1:{AWS}:task-definition/*"),)
        ),
    )
    assert _reached(built, "Runner") == {"WebTask": ["task-override"]}
    # A family no plan registers and no principal of the graph may register: its definitions are
    # made outside the plans, so their task role is unknown (a finding), never "no path".
    unknown = f"{graph.OTHER} role trusting ecs-tasks.amazonaws.com"
    assert _reached(built, "Stranger") == {unknown: ["task-override"]}
    # Any definition of the account: every role that may trust ecs-tasks, the unknown one too.
    assert set(_reached(built, "Anything")) >= {"WebTask", "Runner", "Stranger", unknown}


def test_a_family_registered_at_deploy_time_reaches_the_roles_its_registrant_may_pass():
    family = f"arn:aws:ecs:us-east-1:{AWS}:task-definition/web-api:*"
    to_tasks = {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}
    built = _aws_graph(
        # Asked before the registrant (by name): what it reaches must not hang on who is asked first.
        _aws_role("Caller", {"Service": "ec2.amazonaws.com"}, inline=(_allow(["ecs:StartTask"], family),)),
        _aws_role("AppTask", SERVICE),
        _aws_role("Elsewhere", SERVICE),  # trusts ecs-tasks, but nobody may pass it
        _aws_role(
            "Deployer",
            {"Service": "ec2.amazonaws.com"},
            inline=(
                _allow(["ecs:RegisterTaskDefinition"], family),
                {
                    # ExecRole: a role no plan creates, named by this statement only.
                    **_allow(["iam:PassRole"], [_iam("role", "AppTask"), _iam("role", "ExecRole")]),
                    "Condition": to_tasks,
                },
            ),
        ),
        # A family no principal of the graph may register.
        _aws_role(
            "OtherFamily",
            {"Service": "ec2.amazonaws.com"},
            inline=(_allow(["ecs:RunTask"], f"arn:aws:ecs:us-east-1:{AWS}:task-definition/batch:*"),),
        ),
    )
    # No plan registers web-api; Deployer may, with exactly AppTask and ExecRole as task roles.
    assert _reached(built, "Caller") == {"AppTask": ["task-override"], "ExecRole": ["task-override"]}
    step = graph.paths(built, "Caller", to="AppTask")[0].steps[0]
    assert step.requests == (("ecs:StartTask", f"arn:aws:ecs:us-east-1:{AWS}:task-definition/web-api:1"),)
    unknown = f"{graph.OTHER} role trusting ecs-tasks.amazonaws.com"
    assert _reached(built, "OtherFamily") == {unknown: ["task-override"]}


def test_a_service_updated_to_a_definition_runs_its_task_role_without_pass_role():
    services = ["ecs:UpdateService"]
    in_app = f"arn:aws:ecs:us-east-1:{AWS}:service/app/*"
    web = f"arn:aws:ecs:us-east-1:{AWS}:task-definition/web:*"
    built = _aws_graph(
        _task_definition("web", "WebTask"),
        _task_definition("billing", "BillingTask"),
        _aws_role("WebTask", SERVICE),
        _aws_role("BillingTask", SERVICE),
        _aws_role(
            "Pinned",
            SERVICE,
            inline=(
                {**_allow(services, in_app), "Condition": {"ArnLikeIfExists": {"ecs:task-definition": web}}},
            ),
        ),
        _aws_role("Unpinned", SERVICE, inline=(_allow(services, in_app),)),
    )
    assert _reached(built, "Pinned") == {"WebTask": ["task-override"]}
    reached = _reached(built, "Unpinned")
    unknown = f"{graph.OTHER} role trusting ecs-tasks.amazonaws.com"
    assert set(reached) >= {"WebTask", "BillingTask", unknown}
    edge = next(
        e for e in built.edges if e.source.endswith("/Unpinned") and e.target.endswith("/BillingTask")
    )
    assert edge.requests[0][0] == "ecs:UpdateService"


def _creator(*extra: dict) -> dict:
    bounded = {"ArnLike": {"iam:PermissionsBoundary": _iam("policy", "bnd")}}
    return _aws_role(
        "Creator",
        SERVICE,
        inline=(
            {**_allow(["iam:CreateRole"], _iam("role", "pr*")), "Condition": bounded},
            {
                **_allow(["iam:AttachRolePolicy"], _iam("role", "pr*")),
                "Condition": {"ArnLike": {**bounded["ArnLike"], "iam:PolicyARN": _iam("policy", "pr*")}},
            },
            _allow(["iam:CreatePolicy"], _iam("policy", "pr*")),
            *extra,
        ),
    )


def test_a_new_role_behind_a_boundary_its_creator_chooses_holds_the_boundary():
    boundary = _aws_policy("bnd", _allow(["logs:PutLogEvents"], "*"))
    # A pr* role without a boundary that the creator assumes: its attach condition asks for the
    # role's own boundary, which IAM sets (none here), so the creator cannot choose one for it.
    unbounded = _aws_role("prOld", {"AWS": f"arn:aws:iam::{AWS}:role/Creator"})
    assume = _allow(["sts:AssumeRole"], _iam("role", "prOld"))
    built = _aws_graph(boundary, unbounded, _creator(assume))
    reached = _reached(built, "Creator")
    assert reached == {"new principal behind bnd": ["new-principal"], "prOld": ["assume"]}
    (edge,) = [e for e in built.edges if e.kind == "new-principal"]
    assert ("iam:CreatePolicy", _iam("policy", "prx")) in edge.requests


def test_a_boundary_the_creator_writes_itself_is_no_ceiling():
    boundary = _aws_policy("bnd", _allow(["logs:PutLogEvents"], "*"))
    built = _aws_graph(boundary, _creator(_allow(["iam:CreatePolicyVersion"], _iam("policy", "bnd"))))
    assert _reached(built, "Creator")["admin"] == ["new-principal", "new-principal"]


# --- today's plans, and prod's and the pipeline's before the documents were tightened ------------
BEFORE = ROOT / "tests" / "data" / "plans_before_issue24"


@cache
def shared_today() -> graph.Graph:
    stacks = ("dev", "staging", "prod", "pipeline")
    return graph.build([graph.source_from(s, plan_of(s), example_resolved(s).settings) for s in stacks])


@cache
def before(*stacks: str) -> graph.Graph:
    return graph.build(
        [
            graph.source_from(s, json.loads((BEFORE / f"{s}.json").read_text()), example_resolved(s).settings)
            for s in stacks
        ]
    )


def test_each_ram_deploy_role_is_admin_of_its_own_account_only():
    built = shared_today()
    home = example_resolved("pipeline").settings.alicloud.account_id
    for environment in ("dev", "staging", "prod"):
        own = example_resolved(environment).settings.alicloud.account_id
        reached = [built.nodes[p.target] for p in graph.paths(built, f"github-{environment}-deploy")]
        ram = [n for n in reached if n.cloud == "alicloud"]
        assert f"admin:alicloud:{own}" in {n.id for n in ram}, environment
        # The bound: its own account, nothing of another environment's nor of the pipeline's home.
        assert {n.account for n in ram} == {own}, environment
        assert {n.environment for n in ram} <= {environment, ""}, environment
        if environment != "prod":
            assert home not in {n.account for n in reached}, environment


def test_prods_deploy_role_rewrites_the_bounded_s6_role_and_gets_its_boundary():
    built = before("prod", "pipeline")
    reached = _reached(built, "github-prod-deploy")
    assert reached["EcsMcpDeploymentManagementRole rewritten within its ceiling"] == ["policy-version"]
    cloudformation = f"{graph.OTHER} role trusting cloudformation.amazonaws.com"
    assert reached[cloudformation] == ["policy-version", "pass-role"]


def test_s6_roles_run_any_task_definition_of_prod_as_its_task_role():
    built = before("prod")
    unknown = f"{graph.OTHER} role trusting ecs-tasks.amazonaws.com"
    for role, action in (
        ("EcsMcpServiceAccessRole", "ecs:StartTask"),
        ("EcsMcpDeploymentManagementRole", "ecs:RunTask"),
    ):
        (path,) = [p for p in graph.paths(built, role) if built.nodes[p.target].name == unknown]
        assert [s.kind for s in path.steps] == ["task-override"]
        assert path.steps[0].requests[0][0] == action


def test_prods_s6_roles_start_web_api_tasks_as_the_two_roles_its_deployer_passes():
    # Today's prod names the web-api family only and registers no definition: the definitions are
    # the deployment role's, which passes the two pre-created roles to ecs-tasks and nothing else.
    built = shared_today()
    for role, action in (
        ("EcsMcpServiceAccessRole", "ecs:StartTask"),
        ("EcsMcpDeploymentManagementRole", "ecs:RunTask"),
    ):
        (node,) = [n for n in built.nodes.values() if n.name == role]
        # Targets by their ARN: a role no plan creates is a node once a query asks for paths.
        overrides = {
            e.target.rsplit("/", 1)[-1]: e.requests[0]
            for e in built.edges
            if e.source == node.id
            and e.kind == "task-override"
            and e.requests[0][0] in graph.OVERRIDE_ACTIONS
        }
        assert set(overrides) == {"web-api-task-role", "ecsTaskExecutionRole"}, role
        assert {a for a, _ in overrides.values()} == {action}
        assert all(r.endswith(":task-definition/web-api:1") for _, r in overrides.values())


def test_prods_s6_services_run_only_the_stacks_families():
    # Before: UpdateService on every service of prod-cluster with any definition of the account.
    unknown = f"{graph.OTHER} role trusting ecs-tasks.amazonaws.com"
    for built, reaches in ((before("prod"), True), (shared_today(), False)):
        for role in ("EcsMcpServiceAccessRole", "EcsMcpDeploymentManagementRole"):
            found = {
                e.requests[0][0]
                for e in built.edges
                if built.nodes[e.source].name == role and built.nodes[e.target].name == unknown
            }
            assert ("ecs:UpdateService" in found) is reaches, role


def test_the_sandbox_deploy_role_creates_a_pr_role_behind_the_sandbox_boundary():
    built = before("pipeline")
    reached = _reached(built, "github-test-deploy")
    assert reached["new principal behind sandbox-workload-boundary"] == ["new-principal"]
    assert "admin" not in {
        built.nodes[p.target].name
        for p in graph.paths(built, "github-test-deploy")
        if built.nodes[p.target].cloud == "aws"
    }
