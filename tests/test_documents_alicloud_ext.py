"""S3-S5 documents as plain data, compared with the guides' own JSON (seeds 001, 002, 003).

The guide documents below are transcribed from the seeds independently of the module's
constants, so a typo in either shows up as a difference.
"""

from __future__ import annotations

import json

from baseline.analysis.evaluator import NamedPolicy, evaluate
from baseline.documents.alicloud import (
    eci_console_policy,
    eci_tag_policy,
    instance_role_operator_policy,
    kms_user_policy,
    oss_read_policy,
    pass_role_policy,
    role_arn,
    secret_parameter_arn,
    secret_reader_policy,
    service_trust_policy,
)
from baseline.documents.render import canonical_json

# seed 001, Windows step 3: kmsPolicy
GUIDE_001_KMS = json.loads(
    '{"Version": "1", "Statement": [{"Effect": "Allow", "Action": ["kms:List*", "kms:Describe*",'
    ' "kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"], "Resource": ["*"]}]}'
)
# seed 001, Windows step 5.1: the instance role's policy
GUIDE_001_ROLE = json.loads(
    '{"Version": "1", "Statement": [{"Action": ["kms:GetSecretValue"], "Resource": "*", "Effect": "Allow"},'
    ' {"Action": ["oos:GetSecretParameter"], "Effect": "Allow", "Resource": "*"}]}'
)
# seed 003 step 1 / seed 002 section 5: the trust policy of an instance role
GUIDE_ECS_TRUST = json.loads(
    '{"Statement": [{"Action": "sts:AssumeRole", "Effect": "Allow",'
    ' "Principal": {"Service": ["ecs.aliyuncs.com"]}}], "Version": "1"}'
)
# seed 003 step 2 and seed 002 section 5 (EcsRamRoleDocumentTestingPolicy / ECIRamRoleTestPolicy)
GUIDE_OSS_READ = json.loads(
    '{"Statement": [{"Action": ["oss:Get*", "oss:List*"], "Effect": "Allow", "Resource": "*"}],'
    ' "Version": "1"}'
)
# seed 002 section 5: PassRole on ECIRamRoleTest
GUIDE_002_PASS_ROLE = json.loads(
    '{"Statement": [{"Effect": "Allow", "Action": "ram:PassRole",'
    ' "Resource": "acs:ram:*:*:role/ECIRamRoleTest"}], "Version": "1"}'
)
# seed 002 section 2: the console policy
GUIDE_002_CONSOLE = json.loads(
    """{"Statement": [
      {"Action": "ram:ListRoles", "Effect": "Allow", "Resource": "*"},
      {"Action": "nas:DescribeFileSystems", "Effect": "Allow", "Resource": "*"},
      {"Action": "oss:ListBuckets", "Effect": "Allow", "Resource": "*"},
      {"Action": "vpc:DescribeCommonBandwidthPackages", "Effect": "Allow", "Resource": "*"},
      {"Action": ["cr:GetRepoList", "cr:GetRepoTags", "cr:GetImageManifest", "cr:SearchRepo"],
       "Effect": "Allow", "Resource": "*"}], "Version": "1"}"""
)
# seed 002 section 4: the full tag-based policy, for env=test
GUIDE_002_TAG_TEST = json.loads(
    """{"Version": "1", "Statement": [
      {"Effect": "Allow", "Action": "eci:Create*", "Resource": "*",
       "Condition": {"StringEquals": {"acs:RequestTag/env": "test"}}},
      {"Effect": "Allow", "Action": "eci:*", "Resource": "*",
       "Condition": {"StringEquals": {"acs:ResourceTag/env": "test"}}},
      {"Effect": "Allow", "Action": "eci:Describe*", "Resource": "*",
       "Condition": {"StringEquals": {"acs:RequestTag/env": "test"}}},
      {"Action": ["ecs:DescribeSecurityGroups"], "Resource": "*", "Effect": "Allow"},
      {"Action": ["vpc:DescribeVSwitches", "vpc:DescribeVpcs", "vpc:DescribeEipAddresses"],
       "Resource": "*", "Effect": "Allow"},
      {"Action": "ram:CreateServiceLinkedRole", "Resource": "*", "Effect": "Allow",
       "Condition": {"StringEquals": {"ram:ServiceName":
         ["eci.aliyuncs.com", "vnode.eci.aliyuncs.com"]}}}]}"""
)
# seed 003 step 6, less the guide's "[ECS RAM Action]" placeholder and its wrong Version
GUIDE_003_OPERATOR = ["ecs:CreateInstance", "ecs:AttachInstanceRamRole", "ecs:DetachInstanceRAMRole"]


def normalised(document: dict) -> list[tuple]:
    """Statements as comparable data: single values become lists, action case is ignored."""

    def listed(value):
        return sorted(value if isinstance(value, list) else [value])

    return sorted(
        (
            s["Effect"],
            tuple(a.lower() for a in listed(s["Action"])),
            tuple(listed(s.get("Resource", []))),
            json.dumps(s.get("Condition"), sort_keys=True),
            json.dumps(s.get("Principal"), sort_keys=True),
        )
        for s in document["Statement"]
    )


def same_as_guide(ours: dict, guide: dict) -> None:
    assert ours["Version"] == guide["Version"] == "1"
    assert normalised(ours) == normalised(guide)


def test_kms_policy_is_the_guides():
    same_as_guide(kms_user_policy(), GUIDE_001_KMS)


def test_the_windows_role_policy_is_the_guides_in_its_wildcard_form():
    same_as_guide(secret_reader_policy(["*"]), GUIDE_001_ROLE)


def test_the_strict_windows_role_reads_only_its_own_parameter():
    parameter = secret_parameter_arn("cn-hangzhou", "5098765432109876", "axtSecretPassword")
    document = secret_reader_policy([parameter])
    policies = [NamedPolicy("role", document)]
    assert evaluate(policies, "oos:GetSecretParameter", parameter).allowed
    other = secret_parameter_arn("cn-hangzhou", "5098765432109876", "dbRootPassword")
    assert not evaluate(policies, "oos:GetSecretParameter", other).allowed
    assert not evaluate(policies, "oos:SetSecretParameter", parameter).allowed


def test_instance_roles_trust_ecs_as_the_guides_do():
    same_as_guide(service_trust_policy(["ecs.aliyuncs.com"]), GUIDE_ECS_TRUST)


def test_the_oss_read_policy_is_the_guides():
    same_as_guide(oss_read_policy(), GUIDE_OSS_READ)


def test_pass_role_is_the_guides_for_eci():
    same_as_guide(pass_role_policy(["acs:ram:*:*:role/ECIRamRoleTest"]), GUIDE_002_PASS_ROLE)


def test_the_console_policy_is_the_guides():
    same_as_guide(eci_console_policy(), GUIDE_002_CONSOLE)


def test_the_tag_policy_is_the_guides_with_the_environment_as_value():
    same_as_guide(eci_tag_policy("env", "test"), GUIDE_002_TAG_TEST)
    prod = json.dumps(eci_tag_policy("env", "prod"))
    assert '"test"' not in prod


def test_the_operator_has_the_guides_attach_and_detach_actions_and_pass_role_on_one_role():
    role = role_arn("5098765432109876", "EcsRamRoleDocumentTesting")
    document = instance_role_operator_policy(
        instance_resources=["*"], role_arns=[role], create_instance_resources=["*"]
    )
    actions = {a.lower() for s in document["Statement"] for a in s["Action"]}
    assert {a.lower() for a in GUIDE_003_OPERATOR} <= actions
    assert "ram:passrole" in actions
    policies = [NamedPolicy("operator", document)]
    assert evaluate(policies, "ram:PassRole", role).allowed
    assert not evaluate(policies, "ram:PassRole", role_arn("5098765432109876", "AdminRole")).allowed


def test_create_instance_only_when_asked():
    document = instance_role_operator_policy(instance_resources=["*"], role_arns=["acs:ram:*:*:role/R"])
    assert all("ecs:CreateInstance" not in s["Action"] for s in document["Statement"])


def test_documents_render_canonically():
    for document in (kms_user_policy(), eci_tag_policy("env", "dev"), eci_console_policy()):
        text = canonical_json(document)
        assert json.loads(text) == document
        assert ": " not in text and ", " not in text
