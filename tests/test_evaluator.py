"""The policy evaluator against the clouds' own documented examples.

Sources: AWS IAM User Guide "Policy evaluation logic", "Permissions boundaries for IAM entities"
and "IAM JSON policy elements: Condition operators" / "Multivalued context keys"; Alibaba Cloud
RAM "Policy elements"; and the conditions in the seeds (000-004).
"""

from __future__ import annotations

import pytest

from baseline.analysis import cloud_keys
from baseline.analysis.evaluator import NamedPolicy, PolicyError, condition_holds, evaluate, resource_matches


def policy(name: str, *statements: dict, version: str = "2012-10-17") -> NamedPolicy:
    return NamedPolicy(name, {"Version": version, "Statement": list(statements)})


def holds(operator: str, key: str, values, context: dict[str, list[str]] | None = None) -> bool:
    """One condition operator/key against a request context (key names as the request sends them)."""
    lowered = {k.lower(): tuple(v) for k, v in (context or {}).items()}
    return condition_holds(operator, key, values, lowered)


# --- Policy evaluation logic ----------------------------------------------------------------------

ALLOW_S3_READ = policy("read", {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})


def test_nothing_allows_means_an_implicit_deny():
    decision = evaluate([ALLOW_S3_READ], "s3:PutObject", "arn:aws:s3:::bucket/key")
    assert not decision.allowed and not decision.explicit_deny
    assert "implicit deny" in decision.reason


def test_an_explicit_deny_overrides_any_allow():
    deny = policy("deny", {"Sid": "NoReads", "Effect": "Deny", "Action": "s3:*", "Resource": "*"})
    decision = evaluate([ALLOW_S3_READ, deny], "s3:GetObject", "arn:aws:s3:::bucket/key")
    assert not decision.allowed and decision.explicit_deny
    assert [d.label for d in decision.deciding] == ["deny statement 0 (NoReads)"]


def test_an_allow_names_the_statement_that_decided():
    decision = evaluate([ALLOW_S3_READ], "s3:GetObject", "arn:aws:s3:::bucket/key")
    assert decision.allowed and decision.word == "allow"
    assert decision.deciding[0].label == "read statement 0"


def test_a_permissions_boundary_limits_what_the_identity_policy_grants():
    # The guide's example: the boundary allows S3, CloudWatch and EC2; the identity policy
    # allows iam:CreateUser, which the boundary does not, so the user cannot create users.
    boundary = policy(
        "boundary", {"Effect": "Allow", "Action": ["s3:*", "cloudwatch:*", "ec2:*"], "Resource": "*"}
    )
    identity = policy("identity", {"Effect": "Allow", "Action": "iam:CreateUser", "Resource": "*"})
    user = "arn:aws:iam::111122223333:user/Zhang"
    refused = evaluate([identity], "iam:CreateUser", user, boundary=[boundary])
    assert not refused.allowed and "permissions boundary" in refused.reason
    # Allowed only where both agree: the boundary alone grants nothing.
    assert not evaluate([], "s3:GetObject", "arn:aws:s3:::b/k", boundary=[boundary]).allowed
    both = evaluate([ALLOW_S3_READ], "s3:GetObject", "arn:aws:s3:::b/k", boundary=[boundary])
    assert both.allowed and "within the permissions boundary" in both.reason


def test_a_deny_in_the_boundary_wins_over_an_identity_allow():
    boundary = policy(
        "boundary",
        {"Effect": "Allow", "Action": "*", "Resource": "*"},
        {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "*"},
    )
    decision = evaluate([ALLOW_S3_READ], "s3:GetObject", "arn:aws:s3:::b/k", boundary=[boundary])
    assert decision.explicit_deny and decision.deciding[0].policy == "boundary"


def test_not_action_allows_everything_but_the_listed_actions():
    # "Allow everything except IAM" from the NotAction page.
    everything_but_iam = policy("not-iam", {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})
    assert evaluate([everything_but_iam], "ec2:RunInstances", "*").allowed
    assert not evaluate([everything_but_iam], "iam:CreateUser", "*").allowed


def test_not_resource_excludes_the_listed_resources():
    allow = policy(
        "not-hr", {"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::HRBucket/Payroll*"}
    )
    assert evaluate([allow], "s3:GetObject", "arn:aws:s3:::HRBucket/Reports").allowed
    assert not evaluate([allow], "s3:GetObject", "arn:aws:s3:::HRBucket/Payroll2024").allowed


def test_actions_match_without_letter_case_and_with_wildcards():
    allow = policy("describe", {"Effect": "Allow", "Action": "ecs:Describe*", "Resource": "*"})
    assert evaluate([allow], "ECS:describeinstances", "*").allowed
    one_char = policy("q", {"Effect": "Allow", "Action": "ecs:Describe?nstances", "Resource": "*"})
    assert evaluate([one_char], "ecs:DescribeInstances", "*").allowed
    assert not evaluate([one_char], "ecs:DescribeXXInstances", "*").allowed


def test_resources_match_with_letter_case_and_part_by_part():
    assert resource_matches("acs:ecs:*:*:instance/*", "acs:ecs:cn-hangzhou:5012345678901234:instance/i-x")
    assert not resource_matches("acs:ecs:*:*:Instance/*", "acs:ecs:cn-hangzhou:5012345678901234:instance/i-x")
    assert resource_matches("arn:aws:ecs:*:*:task/prod/*", "arn:aws:ecs:us-east-1:111122223333:task/prod/abc")
    # A wildcard in the region part cannot swallow the account part.
    assert not resource_matches(
        "acs:ecs:cn-*:instance/*", "acs:ecs:cn-hangzhou:5012345678901234:instance/i-x"
    )
    assert resource_matches("acs:ecs:cn-????????:*:instance/i-?", "acs:ecs:cn-hangzhou:1:instance/i-x")
    assert resource_matches("*", "acs:oss:*:*:anything")


# --- Condition operators --------------------------------------------------------------------------


def test_values_of_one_key_are_alternatives():
    values = ["finance", "hr", "legal"]
    assert holds(
        "StringEquals", "aws:PrincipalTag/department", values, {"aws:PrincipalTag/department": ["hr"]}
    )
    assert not holds(
        "StringEquals", "aws:PrincipalTag/department", values, {"aws:PrincipalTag/department": ["it"]}
    )


def test_keys_and_operators_must_all_hold():
    window = {
        "DateGreaterThan": {"aws:CurrentTime": "2020-04-01T00:00:00Z"},
        "DateLessThan": {"aws:CurrentTime": "2020-06-30T23:59:59Z"},
    }
    allow = policy("window", {"Effect": "Allow", "Action": "ec2:*", "Resource": "*", "Condition": window})
    assert evaluate([allow], "ec2:StartInstances", "*", {"aws:CurrentTime": "2020-05-01T12:00:00Z"}).allowed
    late = evaluate([allow], "ec2:StartInstances", "*", {"aws:CurrentTime": "2020-07-01T00:00:00Z"})
    assert not late.allowed
    assert "DateLessThan aws:CurrentTime failed" in late.near_misses[0].detail


def test_condition_key_names_ignore_letter_case():
    assert holds("IpAddress", "AWS:SourceIp", "203.0.113.0/24", {"aws:sourceip": ["203.0.113.7"]})


def test_a_missing_key_fails_a_positive_operator_and_satisfies_a_negated_one():
    assert not holds("StringEquals", "aws:PrincipalTag/team", "blue")
    assert not holds("StringLike", "aws:PrincipalTag/team", "b*")
    # "If the key is not present and the operator is negated (StringNotEquals, ...), the
    # condition evaluates to true."
    assert holds("StringNotEquals", "aws:PrincipalTag/team", "blue")
    assert holds("StringNotLike", "aws:PrincipalTag/team", "b*")
    assert holds("ArnNotLike", "aws:SourceArn", "arn:aws:sns:*:*:topic")
    assert holds("NotIpAddress", "aws:SourceIp", "203.0.113.0/24")


def test_if_exists_is_true_when_the_key_is_missing_and_tests_it_otherwise():
    types = ["t1.*", "t2.*", "m3.*"]
    assert holds("StringLikeIfExists", "ec2:InstanceType", types)
    assert holds("StringLikeIfExists", "ec2:InstanceType", types, {"ec2:InstanceType": ["t2.micro"]})
    assert not holds("StringLikeIfExists", "ec2:InstanceType", types, {"ec2:InstanceType": ["m4.large"]})
    assert not holds(
        "BoolIfExists", "aws:MultiFactorAuthPresent", "false", {"aws:MultiFactorAuthPresent": ["true"]}
    )


def test_for_all_values_is_true_for_an_empty_set_and_for_any_value_is_not():
    keys = ["environment", "cost-center"]
    # The guide's warning: ForAllValues matches a request without any tags.
    assert holds("ForAllValues:StringEquals", "aws:TagKeys", keys)
    assert holds("ForAllValues:StringEquals", "aws:TagKeys", keys, {"aws:TagKeys": ["environment"]})
    assert not holds(
        "ForAllValues:StringEquals", "aws:TagKeys", keys, {"aws:TagKeys": ["environment", "owner"]}
    )
    assert not holds("ForAnyValue:StringEquals", "aws:TagKeys", keys)
    assert holds("ForAnyValue:StringEquals", "aws:TagKeys", keys, {"aws:TagKeys": ["owner", "environment"]})


def test_null_tests_whether_the_key_is_present():
    assert holds("Null", "aws:TokenIssueTime", "true")
    assert not holds("Null", "aws:TokenIssueTime", "true", {"aws:TokenIssueTime": ["2024-01-01T00:00:00Z"]})
    assert holds("Null", "aws:TokenIssueTime", "false", {"aws:TokenIssueTime": ["2024-01-01T00:00:00Z"]})


def test_numeric_bool_ip_and_arn_operators():
    assert holds("NumericLessThanEquals", "s3:max-keys", "10", {"s3:max-keys": ["7"]})
    assert not holds("NumericLessThanEquals", "s3:max-keys", "10", {"s3:max-keys": ["11"]})
    assert holds("NumericNotEquals", "s3:max-keys", "10", {"s3:max-keys": ["11"]})
    assert holds("Bool", "aws:SecureTransport", "true", {"aws:SecureTransport": ["true"]})
    assert not holds("Bool", "aws:SecureTransport", "true", {"aws:SecureTransport": ["false"]})
    assert not holds("NotIpAddress", "aws:SourceIp", ["203.0.113.0/24"], {"aws:SourceIp": ["203.0.113.9"]})
    trail = "arn:aws:cloudtrail:*:111122223333:trail/*"
    arn = "arn:aws:cloudtrail:us-east-1:111122223333:trail/main"
    assert holds("ArnLike", "aws:SourceArn", trail, {"aws:SourceArn": [arn]})
    assert holds("ArnEquals", "aws:SourceArn", trail, {"aws:SourceArn": [arn]})
    assert not holds("ArnNotLike", "aws:SourceArn", trail, {"aws:SourceArn": [arn]})
    assert holds(
        "DateGreaterThan", "aws:CurrentTime", "2020-01-01T00:00:00Z", {"aws:CurrentTime": ["1700000000"]}
    )


def test_an_unknown_operator_is_refused_not_ignored():
    with pytest.raises(PolicyError):
        holds("StringSortOf", "k", "v", {"k": ["v"]})


# --- the seeds' conditions ------------------------------------------------------------------------

COMMAND_ACTIONS = ["ecs:RunCommand", "ecs:InvokeCommand"]
INSTANCE = "acs:ecs:cn-hangzhou:5012345678901234:instance/i-bp1example"


def test_seed_001_allow_list_runs_as_user01_and_not_as_root():
    allow_list = policy(
        "commandUserPolicy",
        {
            "Effect": "Allow",
            "Action": COMMAND_ACTIONS,
            "Resource": ["acs:ecs:*:*:instance/*"],
            "Condition": {"StringEquals": {"ecs:CommandRunAs": ["user01", "user02"]}},
        },
        version="1",
    )
    assert evaluate([allow_list], "ecs:RunCommand", INSTANCE, {"ecs:CommandRunAs": "user01"}).allowed
    as_root = evaluate([allow_list], "ecs:RunCommand", INSTANCE, {"ecs:CommandRunAs": "root"})
    assert not as_root.allowed and "StringEquals ecs:CommandRunAs failed" in as_root.near_misses[0].detail
    assert not evaluate([allow_list], "ecs:RunCommand", INSTANCE).allowed  # no run-as user given


def test_seed_001_deny_privileged_refuses_root_in_any_letter_case():
    deny_privileged = policy(
        "commandUserPolicy",
        {
            "Effect": "Allow",
            "Action": COMMAND_ACTIONS,
            "Resource": ["acs:ecs:*:*:instance/*"],
            "Condition": {"StringNotEqualsIgnoreCase": {"ecs:CommandRunAs": ["root", "system"]}},
        },
        version="1",
    )
    assert evaluate([deny_privileged], "ecs:RunCommand", INSTANCE, {"ecs:CommandRunAs": "user01"}).allowed
    for user in ("root", "ROOT", "System"):
        assert not evaluate([deny_privileged], "ecs:RunCommand", INSTANCE, {"ecs:CommandRunAs": user}).allowed
    # Negated operator, missing key: true, as documented. Cloud Assistant always sends the
    # run-as user, so this only matters to a caller who forgets the context.
    assert evaluate([deny_privileged], "ecs:RunCommand", INSTANCE).allowed


def test_seed_002_creates_only_with_the_env_request_tag_and_operates_only_on_tagged_resources():
    tagged = policy(
        "eci-tag-policy",
        {
            "Effect": "Allow",
            "Action": "eci:Create*",
            "Resource": "*",
            "Condition": {"StringEquals": {"acs:RequestTag/env": "test"}},
        },
        {
            "Effect": "Allow",
            "Action": "eci:*",
            "Resource": "*",
            "Condition": {"StringEquals": {"acs:ResourceTag/env": "test"}},
        },
        version="1",
    )
    group = "acs:eci:cn-hangzhou:5012345678901234:containergroup/eci-x"
    assert evaluate([tagged], "eci:CreateContainerGroup", group, {"acs:RequestTag/env": "test"}).allowed
    assert not evaluate([tagged], "eci:CreateContainerGroup", group, {"acs:RequestTag/env": "prod"}).allowed
    assert not evaluate([tagged], "eci:CreateContainerGroup", group).allowed
    assert evaluate([tagged], "eci:DeleteContainerGroup", group, {"acs:ResourceTag/env": "test"}).allowed
    assert not evaluate([tagged], "eci:DeleteContainerGroup", group, {"acs:ResourceTag/env": "dev"}).allowed


SEED_004_BOUNDARY = policy(
    "boundary",
    {
        "Sid": "RegionRestriction",
        "Effect": "Deny",
        "Action": "ecs:*",
        "Resource": "*",
        "Condition": {"StringNotEquals": {"aws:RequestedRegion": "us-east-1"}},
    },
    {
        "Sid": "ProductionProtection",
        "Effect": "Deny",
        "Action": ["ecs:DeleteCluster", "ecs:DeleteService", "ecs:DeregisterTaskDefinition"],
        "Resource": "*",
        "Condition": {"StringLike": {"aws:ResourceTag/Environment": "production"}},
    },
    {"Sid": "Ceiling", "Effect": "Allow", "Action": "*", "Resource": "*"},
)
ECS_FULL = policy(
    "deployment", {"Sid": "ECSFullAccess", "Effect": "Allow", "Action": ["ecs:*"], "Resource": "*"}
)
SERVICE = "arn:aws:ecs:us-east-1:111122223333:service/web/api"


def test_seed_004_boundary_denies_ecs_outside_the_stack_region():
    home = evaluate(
        [ECS_FULL],
        "ecs:UpdateService",
        SERVICE,
        {"aws:RequestedRegion": "us-east-1"},
        boundary=[SEED_004_BOUNDARY],
    )
    assert home.allowed
    away = evaluate(
        [ECS_FULL],
        "ecs:UpdateService",
        SERVICE,
        {"aws:RequestedRegion": "eu-west-1"},
        boundary=[SEED_004_BOUNDARY],
    )
    assert away.explicit_deny and away.deciding[0].sid == "RegionRestriction"


def test_seed_004_boundary_protects_resources_tagged_production():
    region = {"aws:RequestedRegion": "us-east-1"}
    production = {**region, "aws:ResourceTag/Environment": "production"}
    refused = evaluate([ECS_FULL], "ecs:DeleteService", SERVICE, production, boundary=[SEED_004_BOUNDARY])
    assert refused.explicit_deny and refused.deciding[0].sid == "ProductionProtection"
    staging = {**region, "aws:ResourceTag/Environment": "staging"}
    assert evaluate([ECS_FULL], "ecs:DeleteService", SERVICE, staging, boundary=[SEED_004_BOUNDARY]).allowed


def test_multi_valued_context_keys_need_every_value_outside_a_negated_list():
    deny_tags = policy(
        "p",
        {
            "Effect": "Allow",
            "Action": "ec2:CreateTags",
            "Resource": "*",
            "Condition": {"StringNotEquals": {"aws:TagKeys": ["owner"]}},
        },
    )
    assert evaluate([deny_tags], "ec2:CreateTags", "*", {"aws:TagKeys": ["env", "team"]}).allowed
    assert not evaluate([deny_tags], "ec2:CreateTags", "*", {"aws:TagKeys": ["env", "owner"]}).allowed


# --- Keys the cloud sets on every request (issue: "Access answers for every request") -------------
# AWS, "AWS global condition context keys": aws:RequestedRegion, aws:SecureTransport and
# aws:CurrentTime are "always included in the request context". A question that leaves one out is
# asked with every value that can change the answer, never as a request without the key.


def test_an_omitted_region_is_not_read_as_absent_by_the_boundarys_region_deny():
    # Before: StringNotEquals held on the missing key and the boundary denied everything.
    decision = evaluate([ECS_FULL], "ecs:UpdateService", "*", boundary=[SEED_004_BOUNDARY])
    assert decision.allowed, decision.reason
    [assumed] = decision.assumed
    assert assumed.key == "aws:RequestedRegion"
    assert assumed.asked == ("us-east-1", cloud_keys.OTHER_VALUE)
    assert assumed.allowing == ("us-east-1",)
    assert decision.values == {"aws:RequestedRegion": ("us-east-1",)}
    assert "allow for aws:RequestedRegion=us-east-1 only" in decision.reason


def test_a_regional_arn_fixes_the_region_the_cloud_sets():
    home = evaluate([ECS_FULL], "ecs:UpdateService", SERVICE, boundary=[SEED_004_BOUNDARY])
    assert home.allowed and [a.asked for a in home.assumed] == [("us-east-1",)]
    away = SERVICE.replace("us-east-1", "eu-west-1")
    decision = evaluate([ECS_FULL], "ecs:UpdateService", away, boundary=[SEED_004_BOUNDARY])
    assert decision.explicit_deny and decision.deciding[0].sid == "RegionRestriction"
    assert "deny for every aws:RequestedRegion asked (eu-west-1)" in decision.reason


def test_an_explicit_value_is_asked_as_given():
    decision = evaluate(
        [ECS_FULL],
        "ecs:UpdateService",
        "*",
        {"aws:RequestedRegion": "eu-west-1"},
        boundary=[SEED_004_BOUNDARY],
    )
    assert decision.explicit_deny and decision.assumed == ()


def test_a_deny_on_plain_http_is_not_dodged_by_leaving_the_transport_out():
    https_only = policy(
        "tls",
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
        {
            "Effect": "Deny",
            "Action": "s3:*",
            "Resource": "*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
    )
    decision = evaluate([https_only], "s3:GetObject", "arn:aws:s3:::bucket/key")
    assert decision.allowed and decision.values == {"aws:SecureTransport": ("true",)}
    # ... and an IfExists Allow on an always-present key does not hold "because it is missing".
    window = policy(
        "window",
        {
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": "*",
            "Condition": {"DateLessThanIfExists": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}},
        },
    )
    decision = evaluate([window], "s3:GetObject", "arn:aws:s3:::bucket/key")
    [assumed] = decision.assumed
    assert decision.allowed and assumed.only
    assert all(value < "2020-01-01T00:00:00Z" for value in assumed.allowing), assumed


def test_a_key_only_some_requests_carry_is_still_read_as_absent():
    # ecs:CommandRunAs is absent when a command names no OS user: seed 001's allow-list denies it.
    allow_list = policy(
        "s2",
        {
            "Effect": "Allow",
            "Action": "ecs:RunCommand",
            "Resource": "*",
            "Condition": {"StringEquals": {"ecs:CommandRunAs": ["user01"]}},
        },
        version="1",
    )
    decision = evaluate([allow_list], "ecs:RunCommand", "acs:ecs:cn-hangzhou:1:instance/i-1")
    assert not decision.allowed and decision.assumed == ()


def test_always_present_names_the_documented_keys():
    for key in ("aws:RequestedRegion", "AWS:requestedregion", "aws:CurrentTime", "acs:SourceIp"):
        assert cloud_keys.always_present(key), key
    for key in (
        "aws:SourceIp",
        "aws:username",
        "aws:PrincipalOrgID",
        "aws:ResourceTag/env",
        "acs:MFAPresent",
    ):
        assert not cloud_keys.always_present(key), key
    assert cloud_keys.implied_value("aws:RequestedRegion", SERVICE) == "us-east-1"
    assert cloud_keys.implied_value("aws:RequestedRegion", "arn:aws:iam::111122223333:role/x") is None
    assert cloud_keys.implied_value("aws:RequestedRegion", "arn:aws:ecs:*:111122223333:service/x") is None


# --- calls as the cloud authorises them (evaluate_call) -------------------------------------------
from baseline.analysis.evaluator import UnknownAction, WrongResourceType, evaluate_call  # noqa: E402

ECS = "acs:ecs:cn-hangzhou:5012345678901234"
INSTANCE = f"{ECS}:instance/i-1"
ROLE = "acs:ram::5012345678901234:role/App"


def ram(*statements: dict) -> list[NamedPolicy]:
    return [policy("p", *statements, version="1")]


def allow(actions, resources, **condition) -> dict:
    statement = {"Effect": "Allow", "Action": actions, "Resource": resources}
    if condition:
        statement["Condition"] = {"StringEquals": condition}
    return statement


def test_a_call_is_allowed_only_when_every_resource_it_is_authorised_on_is():
    on_instance = ram(allow("ecs:AttachInstanceRamRole", INSTANCE))
    call = evaluate_call(on_instance, "alicloud", "ecs:AttachInstanceRamRole", [INSTANCE, ROLE])
    assert not call.allowed
    assert [(r, d.allowed) for r, d in call.asked] == [(INSTANCE, True), (ROLE, False)]
    assert call.decision.reason.startswith("no identity policy statement allows")
    both = ram(allow("ecs:AttachInstanceRamRole", [INSTANCE, ROLE]))
    assert evaluate_call(both, "alicloud", "ecs:AttachInstanceRamRole", [ROLE, INSTANCE]).allowed


def test_a_required_type_left_out_is_asked_as_any_of_that_type_in_the_calls_region_and_account():
    commands = f"{ECS}:command/*"
    call = evaluate_call(
        ram(allow("ecs:InvokeCommand", [INSTANCE, commands])), "alicloud", "ecs:InvokeCommand", [INSTANCE]
    )
    assert call.allowed and call.filled == (commands,)
    one_command = ram(allow("ecs:InvokeCommand", [INSTANCE, f"{ECS}:command/c-1"]))
    assert not evaluate_call(one_command, "alicloud", "ecs:InvokeCommand", [INSTANCE]).allowed
    # Nothing named: the principal's own region and account.
    alone = evaluate_call(
        ram(allow("ecs:CreateCommand", "*")), "alicloud", "ecs:CreateCommand", [], scope=("cn-beijing", "1")
    )
    assert alone.filled == ("acs:ecs:cn-beijing:1:command/*",)


def test_a_one_of_choice_is_required_as_a_whole_and_asked_on_the_type_given():
    policy_arn = "acs:ram:*:5012345678901234:policy/p1"
    user = "acs:ims:*:5012345678901234:user/bob"
    grants = ram(allow("ram:AttachPolicy", [policy_arn, user]))
    call = evaluate_call(grants, "alicloud", "ram:AttachPolicy", [policy_arn, user])
    assert call.allowed and [r for r, _ in call.asked] == [policy_arn, user] and call.filled == ()
    left_out = evaluate_call(grants, "alicloud", "ram:AttachPolicy", [policy_arn])
    # The user type is printed acs:ims:*:$AccountId:user/*: filled with the call's account too.
    assert not left_out.allowed and left_out.filled == ("acs:ims:*:5012345678901234:user/*",)


def test_an_action_whose_types_are_all_optional_is_asked_on_the_one_it_names():
    objects = [policy("read", {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"})]
    call = evaluate_call(objects, "aws", "s3:GetObject", ["arn:aws:s3:::b/key"])
    assert call.allowed and [r for r, _ in call.asked] == ["arn:aws:s3:::b/key"] and call.filled == ()
    assert not evaluate_call(objects, "aws", "s3:GetObject", ["arn:aws:s3:::other/key"]).allowed


def test_readings_strict_needs_every_one_permissive_any_one():
    # ecs:CreateSnapshot: the current page names the disk and snapshot/*, the 2021 table a volume too.
    grants = ram(allow("ecs:CreateSnapshot", [f"{ECS}:disk/*", f"{ECS}:snapshot/*"]))
    disk = f"{ECS}:disk/d-1"
    permissive = evaluate_call(grants, "alicloud", "ecs:CreateSnapshot", [disk], mode="permissive")
    strict = evaluate_call(grants, "alicloud", "ecs:CreateSnapshot", [disk], mode="strict")
    assert permissive.allowed and permissive.reading == "current"
    assert not strict.allowed and strict.reading == "auth-rules-2021"


def test_a_context_key_the_call_never_carries_is_dropped():
    run_as = {"ecs:CommandRunAs": ["user01"]}
    grants = ram(allow(["ecs:CreateCommand", "ecs:RunCommand"], "*", **{"ecs:CommandRunAs": "user01"}))
    create = evaluate_call(grants, "alicloud", "ecs:CreateCommand", [f"{ECS}:command/*"], run_as)
    assert not create.allowed and create.dropped == ("ecs:CommandRunAs",)
    run = evaluate_call(grants, "alicloud", "ecs:RunCommand", [INSTANCE], run_as)
    assert run.allowed and run.dropped == ()
    deny_root = ram(
        allow("ecs:CreateCommand", "*"),
        {"Effect": "Deny", "Action": "ecs:CreateCommand", "Resource": "*",
         "Condition": {"StringEquals": {"ecs:CommandRunAs": "root"}}},
    )  # fmt: skip
    root = {"ecs:CommandRunAs": ["root"]}
    assert evaluate_call(deny_root, "alicloud", "ecs:CreateCommand", [f"{ECS}:command/*"], root).allowed


def test_a_resource_of_a_type_the_action_is_not_authorised_on_is_refused_and_an_unknown_action_too():
    with pytest.raises(WrongResourceType, match=r"ecs:CreateCommand is authorised on .*command/\*, not on"):
        evaluate_call(ram(allow("*", "*")), "alicloud", "ecs:CreateCommand", [INSTANCE])
    with pytest.raises(UnknownAction):
        evaluate_call(ram(allow("*", "*")), "alicloud", "ecs:NoSuchCall", [INSTANCE])
