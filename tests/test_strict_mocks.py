"""The strict mocks refuse what the clouds refuse, each limit with its own case."""

from __future__ import annotations

import json

import pulumi
import pulumi_alicloud as alicloud
import pulumi_aws as aws
import pytest

from baseline.errors import PlanError
from baseline.mocks import StrictMocks
from baseline.plan import execute

DOC = json.dumps(
    {
        "Version": "1",
        "Statement": [{"Effect": "Allow", "Action": ["ecs:DescribeInstances"], "Resource": ["*"]}],
    }
)
TRUST = json.dumps(
    {
        "Version": "1",
        "Statement": [
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": ["ecs.aliyuncs.com"]}}
        ],
    }
)
AWS_TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
            }
        ],
    }
)


def run(program) -> list[dict]:
    monitor, _ = execute(program, "test", StrictMocks())
    return monitor.registrations


def refused(program, reason: str) -> None:
    with pytest.raises(PlanError, match=reason):
        run(program)


def test_a_valid_registration_passes():
    def program():
        user = alicloud.ram.User("u", name="commandUser")
        alicloud.ram.Policy("p", policy_name="commandUserPolicy", policy_document=DOC)
        alicloud.ram.UserPolicyAttachment(
            "a", user_name=user.name, policy_name="commandUserPolicy", policy_type="Custom"
        )
        return {}

    assert {r["type"] for r in run(program)} >= {"alicloud:ram/user:User", "alicloud:ram/policy:Policy"}


@pytest.mark.parametrize("name", ["", "a" * 65, "command user", "用户", "cmd/user"])
def test_ram_user_names_follow_the_pattern(name):
    refused(lambda: alicloud.ram.User("u", name=name) and {}, "name")


def test_ram_user_name_of_64_characters_is_accepted():
    run(lambda: alicloud.ram.User("u", name="a" * 64) and {})


@pytest.mark.parametrize("name", ["Patch_Role", "a" * 65, "role name"])
def test_ram_role_names_follow_the_pattern(name):
    refused(lambda: alicloud.ram.Role("r", role_name=name, assume_role_policy_document=TRUST) and {}, "name")


@pytest.mark.parametrize("name", ["command_user_policy", "a" * 129, "policy.v1"])
def test_ram_policy_names_follow_the_pattern(name):
    refused(lambda: alicloud.ram.Policy("p", policy_name=name, policy_document=DOC) and {}, "name")


def test_policy_document_over_6144_characters_is_refused():
    actions = [f"ecs:DescribeSomething{i:05d}" for i in range(300)]
    big = json.dumps(
        {"Version": "1", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": ["*"]}]}
    )
    assert len(big) > 6144
    refused(lambda: alicloud.ram.Policy("p", policy_name="big", policy_document=big) and {}, "6144")


def test_more_than_10_custom_policies_on_one_user_is_refused():
    def program():
        for i in range(11):
            alicloud.ram.UserPolicyAttachment(
                f"a{i}", user_name="commandUser", policy_name=f"p{i}", policy_type="Custom"
            )
        return {}

    refused(program, "more than 10 custom policies")


def test_ten_custom_policies_on_one_user_are_accepted():
    def program():
        for i in range(10):
            alicloud.ram.UserPolicyAttachment(
                f"a{i}", user_name="commandUser", policy_name=f"p{i}", policy_type="Custom"
            )
        return {}

    assert len(run(program)) == 11  # ten attachments and the stack


def test_more_than_20_system_policies_on_one_role_is_refused():
    def program():
        for i in range(21):
            alicloud.ram.RolePolicyAttachment(
                f"a{i}", role_name="r", policy_name=f"Aliyun{i}", policy_type="System"
            )
        return {}

    refused(program, "more than 20 system policies")


def test_the_same_policy_attached_twice_is_refused():
    def program():
        for i in range(2):
            alicloud.ram.UserPolicyAttachment(f"a{i}", user_name="u", policy_name="p", policy_type="Custom")
        return {}

    refused(program, "already attached")


def test_a_third_access_key_is_refused():
    def program():
        for i in range(3):
            alicloud.ram.AccessKey(f"k{i}", user_name="commandUser")
        return {}

    refused(program, "2 AccessKeys")


@pytest.mark.parametrize("seconds", [3599, 43201])
def test_role_session_duration_outside_3600_43200_is_refused(seconds):
    refused(
        lambda: (
            alicloud.ram.Role(
                "r", role_name="r", assume_role_policy_document=TRUST, max_session_duration=seconds
            )
            and {}
        ),
        "maxSessionDuration",
    )


def test_duplicate_user_names_are_refused():
    def program():
        alicloud.ram.User("a", name="commandUser")
        alicloud.ram.User("b", name="commandUser")
        return {}

    refused(program, "already exists")


def test_login_password_length_is_checked_without_showing_it():
    with pytest.raises(PlanError) as error:
        run(
            lambda: (
                alicloud.ram.LoginProfile("l", user_name="u", password=pulumi.Output.secret("short")) and {}
            )
        )
    assert "short" not in str(error.value)


@pytest.mark.parametrize(
    "name", ["ALIYUN-pass", "acs_pass", "Alibaba/x", "alicloudpw", "oos-secret", "a", "has space", "x" * 181]
)
def test_oos_parameter_names_are_checked(name):
    refused(
        lambda: (
            alicloud.oos.SecretParameter(
                "s", secret_parameter_name=name, value=pulumi.Output.secret("pw"), type="Secret"
            )
            and {}
        ),
        "parameter name",
    )


def test_oos_parameter_value_over_4096_characters_is_refused():
    refused(
        lambda: (
            alicloud.oos.SecretParameter(
                "s",
                secret_parameter_name="axtSecretPassword",
                value=pulumi.Output.secret("x" * 4097),
                type="Secret",
            )
            and {}
        ),
        "4096",
    )


def test_an_instance_takes_one_ram_role():
    def program():
        alicloud.ecs.RamRoleAttachment("a", instance_id="i-bp1abcdefgh12345678", ram_role_name="RoleA")
        alicloud.ecs.RamRoleAttachment("b", instance_id="i-bp1abcdefgh12345678", ram_role_name="RoleB")
        return {}

    refused(program, "already has RAM role")


def test_resource_group_principal_must_be_name_at_account_onaliyun():
    refused(
        lambda: (
            alicloud.resourcemanager.PolicyAttachment(
                "a",
                policy_name="AliyunECIFullAccess",
                policy_type="System",
                principal_name="eciAdmin",
                principal_type="IMSUser",
                resource_group_id="rg-123",
            )
            and {}
        ),
        "onaliyun.com",
    )


@pytest.mark.parametrize("name", ["ecs mcp", "a" * 65, "role/readonly"])
def test_iam_role_names_follow_the_pattern(name):
    refused(lambda: aws.iam.Role("r", name=name, assume_role_policy=AWS_TRUST) and {}, "name")


def test_iam_trust_policy_over_2048_characters_is_refused():
    principals = [f"arn:aws:iam::123456789012:role/caller-{i:04d}" for i in range(60)]
    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": principals}}],
        }
    )
    refused(lambda: aws.iam.Role("r", name="r", assume_role_policy=trust) and {}, "2048")


def test_iam_managed_policy_size_ignores_whitespace():
    actions = [f"ecs:Describe{i:04d}" for i in range(300)]
    spaced = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]},
        indent=8,
    )
    assert len(spaced) > 6144 and len("".join(spaced.split())) <= 6144
    run(lambda: aws.iam.Policy("p", name="p", policy=spaced) and {})


def test_more_than_10_managed_policies_on_an_iam_role_is_refused():
    def program():
        for i in range(11):
            aws.iam.RolePolicyAttachment(
                f"a{i}", role="mcp", policy_arn=f"arn:aws:iam::123456789012:policy/p{i}"
            )
        return {}

    refused(program, "more than 10 managed policies")


def test_programs_may_not_read_the_cloud():
    with pytest.raises(Exception, match="must not read the cloud"):
        run(lambda: alicloud.ram.get_policy_document(statements=[]) and {})


def test_registrations_from_many_threads_keep_each_ones_account():
    """The SDK registers resources from an executor's threads. Each registration sets the account
    its provider acts in and then checks the name in that account: two at once must not see each
    other's account (one IAM policy name in two accounts is fine; read in one account, it "exists")."""
    import json
    import sys
    from concurrent.futures import ThreadPoolExecutor

    from pulumi.runtime import MockResourceArgs

    from baseline.mocks import StrictMocks

    mocks = StrictMocks(aws_account="111122223333")
    for provider, account in (("aws-a", "111122223333"), ("aws-b", "444455556666")):
        role = f"arn:aws:iam::{account}:role/admin"
        mocks.new_resource(
            MockResourceArgs("pulumi:providers:aws", provider, {"assumeRoles": [{"roleArn": role}]}, "", "")
        )

    def register(i: int) -> None:
        statement = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
        document = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
        for provider in ("aws-a", "aws-b"):
            urn = f"urn:pulumi:s::p::pulumi:providers:aws::{provider}::id"
            mocks.new_resource(
                MockResourceArgs(
                    "aws:iam/policy:Policy",
                    f"{provider}-p{i}",
                    {"name": f"p{i}", "policy": document},
                    urn,
                    "",
                )
            )

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as the interpreter can: the race shows
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(register, range(400)))
    finally:
        sys.setswitchinterval(interval)
