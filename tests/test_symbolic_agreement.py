"""Trust: on every fixed request, the solver's verdict is the evaluator's.

Policies are generated from the grammar the project emits (Allow and Deny statements, Action /
NotAction lists with wildcards, ARN Resource / NotResource patterns with wildcards in fixed and
last parts, string, ARN, Null and Bool operators with IfExists, negated and ForAnyValue forms, a
permissions boundary) and requests from the same literals, mis-cased, widened and unrelated. A
bounded number of examples with a fixed seed, so the suite stays fast and reproducible.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from baseline.analysis import access, evaluator, symbolic
from baseline.analysis.cloud_keys import always_present
from baseline.analysis.evaluator import NamedPolicy, evaluate_request

ACTION_PATTERNS = [
    "ecs:RunCommand", "ecs:*", "ecs:Describe*", "ecs:?unCommand", "iam:PassRole", "iam:*Role", "*",
    "ram:CreatePolicy*",
]  # fmt: skip
ACTIONS = [
    "ecs:RunCommand", "ECS:runcommand", "ecs:DescribeInstances", "iam:PassRole", "iam:GetRole",
    "ram:CreatePolicyVersion", "oss:GetObject", "ecs:RunCommands",
]  # fmt: skip
RESOURCE_PATTERNS = [
    "*", "arn:aws:iam::111122223333:role/pr*", "arn:aws:iam::*:role/*", "arn:aws:ecs:*:*:cluster/x",
    "arn:aws:iam::111122223333:*", "arn:aws:s3:::bucket*", "arn:aws:iam::111122223333:role/a?c", "arn:aws:*",
]  # fmt: skip
RESOURCES = [
    "*", "arn:aws:iam::111122223333:role/pr1", "arn:aws:iam::111122223333:role/abc", "arn:aws:iam::9:role/pr",
    "arn:aws:ecs:us-east-1:1:cluster/x", "arn:aws:s3:::bucket/k:e:y", "arn:aws:iam::111122223333:policy/p",
    "arn:aws:ecs::1:cluster/x",
]  # fmt: skip
KEYS = {
    "ecs:CommandRunAs": ["user01", "USER01", "root", "Administrator", "user0*"],
    "aws:RequestedRegion": ["us-east-1", "eu-west-1"],
    "iam:PermissionsBoundary": [
        "arn:aws:iam::111122223333:policy/pr-b",
        "arn:aws:iam::9:policy/x",
        "not-an-arn",
    ],
    "aws:SecureTransport": ["true", "false", "TRUE"],
    "aws:TagKeys": ["team", "env", "team-a"],
}
OPERATORS = {
    "ecs:CommandRunAs": [
        "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase",
        "StringLike", "StringNotLike", "StringEqualsIfExists", "StringNotEqualsIfExists", "Null",
    ],
    "aws:RequestedRegion": ["StringEquals", "StringNotEquals"],
    "iam:PermissionsBoundary": ["ArnEquals", "ArnLike", "ArnNotEquals", "ArnLikeIfExists", "Null"],
    "aws:SecureTransport": ["Bool", "BoolIfExists"],
    "aws:TagKeys": ["ForAnyValue:StringEquals", "ForAllValues:StringLike", "ForAnyValue:StringNotEquals"],
}  # fmt: skip
POLICY_VALUES = {
    "ecs:CommandRunAs": ["user01", "user02", "root", "user*", "ADMINISTRATOR"],
    "aws:RequestedRegion": ["us-east-1"],
    "iam:PermissionsBoundary": [
        "arn:aws:iam::111122223333:policy/pr*", "arn:aws:iam::*:policy/x", "arn:aws:iam::9:policy/x",
    ],
    "aws:SecureTransport": ["true", "false"],
    "aws:TagKeys": ["team", "team*", "env"],
}  # fmt: skip


@st.composite
def conditions(draw):
    block: dict[str, dict[str, object]] = {}
    for key in draw(st.lists(st.sampled_from(sorted(KEYS)), max_size=2, unique=True)):
        operator = draw(st.sampled_from(OPERATORS[key]))
        if operator == "Null":
            values: object = draw(st.sampled_from(["true", "false"]))
        else:
            values = draw(st.lists(st.sampled_from(POLICY_VALUES[key]), min_size=1, max_size=2, unique=True))
        block.setdefault(operator, {})[key] = values
    return block


@st.composite
def statements(draw):
    statement: dict[str, object] = {"Effect": draw(st.sampled_from(["Allow", "Allow", "Allow", "Deny"]))}
    actions = draw(st.lists(st.sampled_from(ACTION_PATTERNS), min_size=1, max_size=3, unique=True))
    statement["NotAction" if draw(st.integers(0, 5)) == 0 else "Action"] = actions
    resources = draw(st.lists(st.sampled_from(RESOURCE_PATTERNS), min_size=1, max_size=3, unique=True))
    statement["NotResource" if draw(st.integers(0, 5)) == 0 else "Resource"] = resources
    if draw(st.booleans()) and (condition := draw(conditions())):
        statement["Condition"] = condition
    return statement


@st.composite
def requests(draw):
    context = {}
    for key, values in KEYS.items():
        if always_present(key):  # the cloud always sets it: a request always carries a value
            context[key] = [draw(st.sampled_from(values))]
        elif key == "aws:TagKeys" and draw(st.booleans()):
            context[key] = draw(st.lists(st.sampled_from(values), min_size=1, max_size=2, unique=True))
        elif key != "aws:TagKeys" and draw(st.booleans()):
            context[key] = [draw(st.sampled_from(values))]
    return draw(st.sampled_from(ACTIONS)), draw(st.sampled_from(RESOURCES)), context


@st.composite
def requests_for(draw, identity):
    """Half the requests aimed at what the first statement names, so allows are common too."""
    action, resource, context = draw(requests())
    first = identity[0]
    if draw(st.booleans()) and "Action" in first:
        named = [a for a in first["Action"] if "*" not in a and "?" not in a]
        action = draw(st.sampled_from(named)) if named else action
        fits = [r for r in RESOURCES if any(evaluator.arn_matches(p, r) for p in first.get("Resource", []))]
        resource = draw(st.sampled_from(fits)) if fits else resource
    return action, resource, context


class Grants:
    def __init__(self, identity: list[dict], boundary: list[dict] | None, cloud: str = "aws") -> None:
        self.principal = access.Principal(cloud, "role", "generated", "generated")
        self.policies = [NamedPolicy("identity", {"Version": "2012-10-17", "Statement": identity})]
        self.boundary = None if boundary is None else [NamedPolicy("boundary", {"Statement": boundary})]


@settings(max_examples=30, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    identity=st.lists(statements(), min_size=1, max_size=4),
    boundary=st.one_of(st.none(), st.lists(statements(), min_size=1, max_size=2)),
    data=st.data(),
)
def test_the_solver_and_the_evaluator_agree_on_every_fixed_request(identity, boundary, data):
    grants = Grants(identity, boundary)
    asked = data.draw(st.lists(requests_for(identity), min_size=1, max_size=4))
    for action, resource, context in asked:
        concrete = evaluate_request(
            grants.policies, "aws", action, resource, context, boundary=grants.boundary
        ).allowed
        assert symbolic.decide(grants, action, resource, context) == concrete, (action, resource, context)


def on_ram(value):
    """The same documents and requests in RAM's ARN shape (acs:service:region:account:resource)."""
    if isinstance(value, str):
        return (
            "acs:" + value.removeprefix("arn:aws:").removeprefix("arn:")
            if value.startswith("arn:")
            else value
        )
    if isinstance(value, list):
        return [on_ram(v) for v in value]
    if isinstance(value, tuple):
        return tuple(on_ram(v) for v in value)
    if isinstance(value, dict):
        return {k: on_ram(v) for k, v in value.items()}
    return value


@settings(max_examples=15, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    identity=st.lists(statements(), min_size=1, max_size=4),
    boundary=st.one_of(st.none(), st.lists(statements(), min_size=1, max_size=2)),
    data=st.data(),
)
def test_on_ram_arns_too(identity, boundary, data):
    grants = Grants(on_ram(identity), on_ram(boundary), cloud="alicloud")
    asked = on_ram(data.draw(st.lists(requests_for(identity), min_size=1, max_size=4)))
    for action, resource, context in asked:
        concrete = evaluate_request(
            grants.policies, "alicloud", action, resource, context, boundary=grants.boundary
        ).allowed
        assert symbolic.decide(grants, action, resource, context) == concrete, (action, resource, context)


# --- keys a call never carries: absent for that action, whatever the question says ---------------
RAM_ACTIONS = ["ecs:CreateCommand", "ecs:InvokeCommand", "ecs:RunCommand", "ecs:DeleteCommand", "ecs:Foo"]
RAM_ACTION_PATTERNS = ["ecs:*Command", "ecs:CreateCommand", "ecs:*", "*", "ecs:RunCommand"]
RUN_AS = ["StringEquals", "StringNotEquals", "StringLike", "StringEqualsIfExists", "Null"]


@st.composite
def run_as_statements(draw):
    statement: dict[str, object] = {"Effect": draw(st.sampled_from(["Allow", "Allow", "Deny"]))}
    actions = draw(st.lists(st.sampled_from(RAM_ACTION_PATTERNS), min_size=1, max_size=2, unique=True))
    statement["NotAction" if draw(st.integers(0, 6)) == 0 else "Action"] = actions
    statement["Resource"] = "*"
    if draw(st.integers(0, 3)):
        operator = draw(st.sampled_from(RUN_AS))
        values = draw(st.sampled_from(["true", "false"])) if operator == "Null" else ["user01", "root"]
        statement["Condition"] = {operator: {"ecs:CommandRunAs": values}}
    return statement


@settings(max_examples=20, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(identity=st.lists(run_as_statements(), min_size=1, max_size=3), data=st.data())
def test_a_key_the_action_never_carries_is_absent_to_both(identity, data):
    grants = Grants(identity, None, cloud="alicloud")
    action = data.draw(st.sampled_from(RAM_ACTIONS))
    context = data.draw(
        st.sampled_from([{}, {"ecs:CommandRunAs": ["user01"]}, {"ecs:CommandRunAs": ["root"]}])
    )
    resource = "acs:ecs:cn-hangzhou:1:command/c-1"
    concrete = evaluate_request(grants.policies, "alicloud", action, resource, context).allowed
    assert symbolic.decide(grants, action, resource, context) == concrete, (action, context)


def test_string_equals_run_as_on_create_command_never_matches():
    allow = {"Effect": "Allow", "Action": "ecs:*", "Resource": "*",
             "Condition": {"StringEquals": {"ecs:CommandRunAs": "user01"}}}  # fmt: skip
    grants = Grants([allow], None, cloud="alicloud")
    asked = {"ecs:CommandRunAs": ["user01"]}
    assert not symbolic.decide(grants, "ecs:CreateCommand", "*", asked)
    assert symbolic.decide(grants, "ecs:RunCommand", "*", asked)
    # No request of CreateCommand is allowed at all; RunCommand as user01 is.
    create = symbolic.any_allowed(grants, "ecs:CreateCommand")
    assert create.proved_none
    run = symbolic.any_allowed(grants, "ecs:RunCommand", limit=3)
    assert [c.witness.context for c in run.classes] == [{"ecs:CommandRunAs": ["user01"]}]


def test_a_deny_on_a_key_the_action_never_carries_never_fires():
    allow = {"Effect": "Allow", "Action": "ecs:*Command", "Resource": "*"}
    deny = {"Effect": "Deny", "Action": "ecs:*Command", "Resource": "*",
            "Condition": {"StringEquals": {"ecs:CommandRunAs": "root"}}}  # fmt: skip
    grants = Grants([allow, deny], None, cloud="alicloud")
    root = {"ecs:CommandRunAs": ["root"]}
    assert symbolic.decide(grants, "ecs:CreateCommand", "*", root)  # the Deny never fires
    assert not symbolic.decide(grants, "ecs:RunCommand", "*", root)
    # No CreateCommand request carries ecs:CommandRunAs at all, root or any other value.
    assert symbolic.any_allowed(
        grants, "ecs:CreateCommand", constraints=[symbolic.Constraint.parse("ecs:CommandRunAs=root")]
    ).proved_none
