"""S3 Cloud Assistant on Windows (seed 001, Windows part), read like the guide, per stack."""

from __future__ import annotations

import json

import pulumi
import pulumi_alicloud as alicloud
import pytest
import yaml
from conftest import FIXTURES, plan_of, policy_documents, resources

from baseline.analysis.evaluator import NamedPolicy, evaluate
from baseline.config import PLAN_PLACEHOLDER, RawConfig, SecretValue, resolve
from baseline.documents.alicloud import CLOUD_ASSISTANT_ACTIONS, arn, secret_parameter_arn
from baseline.errors import ConfigError, PlanError
from baseline.mocks import StrictMocks
from baseline.plan import execute, render

COMPONENT = "cloud-assistant-windows"
ATTACHMENT = "alicloud:ecs/ramRoleAttachment:RamRoleAttachment"
PARAMETER = "alicloud:oos/secretParameter:SecretParameter"


def stack_config(stack: str) -> dict:
    document = yaml.safe_load((FIXTURES / f"Pulumi.{stack}.yaml").read_text())
    return {k.split(":", 1)[1]: v for k, v in document["config"].items()}


def prefix(stack: str) -> str:
    return (stack_config(stack).get("naming") or {}).get("prefix", "")


def windows(stack: str) -> dict:
    return stack_config(stack)["cloudAssistantWindows"]


def of_component(plan: dict, type_: str) -> list[dict]:
    return [
        r for r in resources(plan, type_) if r["parent"] == COMPONENT or r["parent"].startswith(COMPONENT)
    ]


def test_the_scenario_is_on_in_every_stack(stack):
    assert windows(stack)["enabled"] is True


def test_the_windows_user_gets_both_custom_policies_and_the_guides_reads(stack):
    attached = {
        (r["inputs"]["policyType"], r["inputs"]["policyName"])
        for r in of_component(plan_of(stack), "alicloud:ram/userPolicyAttachment:UserPolicyAttachment")
    }
    p = prefix(stack)
    own = {("Custom", f"{p}winCommandUserPolicy"), ("Custom", f"{p}kmsPolicy")}
    if stack == "dev":  # the guide's read-only system policies
        assert attached == own | {
            ("System", "AliyunECSReadOnlyAccess"),
            ("System", "AliyunOOSReadOnlyAccess"),
        }
    else:  # strict: no system policy wider than the task, the guide's reads as custom policies
        assert attached == own | {
            ("Custom", f"{p}winCommandUserReadPolicy"),
            ("Custom", f"{p}winCommandUserParameterReadPolicy"),
        }


def test_the_windows_user_is_not_the_linux_user(stack):
    plan = plan_of(stack)
    linux = {r["inputs"]["name"] for r in resources(plan, "alicloud:ram/user:User") if "linux" in r["parent"]}
    win = {r["inputs"]["name"] for r in resources(plan, "alicloud:ram/user:User") if "windows" in r["parent"]}
    assert win and not (win & linux)


def test_the_user_can_run_a_command_as_user01_on_a_windows_instance_and_not_as_system(stack):
    config, p = stack_config(stack), prefix(stack)
    document = policy_documents(plan_of(stack))[f"{p}winCommandUserPolicy"]
    statements = document["Statement"]
    assert sorted(a for st in statements for a in st["Action"]) == sorted(CLOUD_ASSISTANT_ACTIONS)
    instance = windows(stack)["windowsInstances"][0]
    region = instance.get("region", config["alicloud"]["region"])
    target = arn("ecs", region, config["alicloud"]["accountId"], f"instance/{instance['id']}")
    policies = [NamedPolicy("winCommandUserPolicy", document)]
    assert evaluate(policies, "ecs:RunCommand", target, {"ecs:CommandRunAs": "user01"}).allowed
    for privileged in ("system", "SYSTEM", "root"):
        assert not evaluate(policies, "ecs:RunCommand", target, {"ecs:CommandRunAs": privileged}).allowed


def test_the_user_reads_key_metadata_and_never_encrypts_or_decrypts(stack):
    """Pulumi writes the parameter and the instance role reads it: the guide's Encrypt, Decrypt
    and GenerateDataKey served only the hand-made parameter, so the user keeps key metadata."""
    config = stack_config(stack)
    account = config["alicloud"]["accountId"]
    region = windows(stack)["windowsInstances"][0].get("region", config["alicloud"]["region"])
    key_id = windows(stack)["secretParameter"].get("kmsKeyId", "key-default0000000001")
    key = f"acs:kms:{region}:{account}:key/{key_id}"
    document = policy_documents(plan_of(stack))[f"{prefix(stack)}kmsPolicy"]
    policies = [NamedPolicy("kmsPolicy", document)]
    assert evaluate(policies, "kms:DescribeKey", key).allowed
    for action in ("kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:ScheduleKeyDeletion"):
        assert not evaluate(policies, action, key).allowed, action
    if config["alicloud"].get("strictScoping", True):
        other = f"acs:kms:{region}:{'9' * 16}:key/{key_id}"
        assert not evaluate(policies, "kms:DescribeKey", other).allowed


def test_the_instance_role_is_trusted_by_ecs_and_reads_only_the_password(stack):
    plan, p = plan_of(stack), prefix(stack)
    (role,) = of_component(plan, "alicloud:ram/role:Role")
    assert role["inputs"]["roleName"] == f"{p}AxtSecretRamRole"
    trust = json.loads(role["inputs"]["assumeRolePolicyDocument"])
    assert [s["Principal"] for s in trust["Statement"]] == [{"Service": ["ecs.aliyuncs.com"]}]
    config = stack_config(stack)
    account = config["alicloud"]["accountId"]
    region = windows(stack)["windowsInstances"][0].get("region", config["alicloud"]["region"])
    document = policy_documents(plan)[f"{p}AxtSecretRamRolePolicy"]
    policies = [NamedPolicy("role", document)]
    own = secret_parameter_arn(region, account, f"{p}axtSecretPassword")
    assert evaluate(policies, "oos:GetSecretParameter", own).allowed
    own_secret = f"acs:kms:{region}:{account}:secret/oos/{p}axtSecretPassword"
    assert evaluate(policies, "kms:GetSecretValue", own_secret).allowed
    # Nothing else, in any stack: the role's credentials are every OS user's on the instance.
    other = secret_parameter_arn(region, account, "somebodyElsesPassword")
    assert not evaluate(policies, "oos:GetSecretParameter", other).allowed
    for secret in ("secret/oos/somebodyElsesPassword", "secret/db-root-password"):
        assert not evaluate(policies, "kms:GetSecretValue", f"acs:kms:{region}:{account}:{secret}").allowed


def test_the_role_is_attached_to_each_listed_windows_instance_in_its_region(stack):
    config, p = stack_config(stack), prefix(stack)
    attachments = of_component(plan_of(stack), ATTACHMENT)
    listed = windows(stack)["windowsInstances"]
    assert {a["inputs"]["instanceId"] for a in attachments} == {i["id"] for i in listed}
    assert len(attachments) == len(listed)
    for attachment in attachments:
        assert attachment["parent"] == COMPONENT
        assert attachment["inputs"]["ramRoleName"] == f"{p}AxtSecretRamRole"
        assert attachment["provider"] == f"alicloud-{config['alicloud']['region']}"


def test_the_password_parameter_is_an_encrypted_secret_in_the_instances_region(stack):
    config, p = stack_config(stack), prefix(stack)
    (parameter,) = of_component(plan_of(stack), PARAMETER)
    inputs = parameter["inputs"]
    assert inputs["secretParameterName"] == f"{p}axtSecretPassword"
    assert inputs["type"] == "Secret"
    assert inputs["value"] == "[secret]"
    assert inputs.get("keyId") == windows(stack)["secretParameter"].get("kmsKeyId")
    region = windows(stack)["windowsInstances"][0].get("region", config["alicloud"]["region"])
    assert parameter["provider"] == f"alicloud-{region}"


def test_prod_encrypts_with_its_own_key_and_dev_with_the_default_service_key():
    (prod,) = of_component(plan_of("prod"), PARAMETER)
    (dev,) = of_component(plan_of("dev"), PARAMETER)
    assert prod["inputs"]["keyId"].startswith("key-")
    assert "keyId" not in dev["inputs"]


def test_resource_counts_follow_the_config(stack):
    plan, config = plan_of(stack), windows(stack)
    user = config["user"]
    expected = {
        "alicloud:ram/user:User": 1,
        "alicloud:ram/loginProfile:LoginProfile": 1 if "console" in user else 0,
        # No passwordSecret: the password is generated (and handed out as a secret output).
        "random:index/randomPassword:RandomPassword": 1
        if "console" in user and not (user["console"] or {}).get("passwordSecret")
        else 0,
        "alicloud:ram/accessKey:AccessKey": 1 if "accessKey" in user else 0,
        # Strict stacks add the two read policies that replace the system policies.
        "alicloud:ram/policy:Policy": 3 if stack == "dev" else 5,
        "alicloud:ram/userPolicyAttachment:UserPolicyAttachment": 4,
        "alicloud:ram/role:Role": 1,
        "alicloud:ram/rolePolicyAttachment:RolePolicyAttachment": 1,
        ATTACHMENT: len(config["windowsInstances"]),
        PARAMETER: 1,
    }
    for type_, count in expected.items():
        assert len(of_component(plan, type_)) == count, type_


def test_prod_protects_the_windows_identities_and_not_the_attachments():
    for resource in of_component(plan_of("prod"), "alicloud:ram/role:Role"):
        assert resource["protect"]
    for resource in of_component(plan_of("prod"), ATTACHMENT):
        assert not resource["protect"], "detaching must stay a config change"


def test_no_plan_contains_the_password_placeholder_or_a_ciphertext(stack):
    text = json.dumps(plan_of(stack))
    assert PLAN_PLACEHOLDER not in text
    assert "v1:" not in text


# --- a new key replaces the parameter, deleting the old one first --------------------------------


def _registrations(config: dict):
    resolved = resolve(RawConfig(values=config, secrets=_secrets()))
    from baseline.program import build

    monitor, _ = execute(lambda: build(resolved), "test", StrictMocks(alicloud_account=ACCOUNT))
    return monitor.registrations


ACCOUNT = "5012345678901234"


def _secrets(password: str = "Windows-Passw0rd!") -> dict[str, SecretValue]:
    return {
        "winCommandUserPassword": SecretValue("Console-Passw0rd!"),
        "axtSecretPassword": SecretValue(password),
    }


def _config(**windows_settings) -> dict:
    return {
        "environment": "dev",
        "naming": {"prefix": "t-"},
        "alicloud": {"accountId": ACCOUNT, "region": "cn-hangzhou", "strictScoping": False},
        "cloudAssistantWindows": {
            "enabled": True,
            "windowsInstances": [{"id": "i-bp1win00000000001"}],
            **windows_settings,
        },
    }


def test_changing_the_kms_key_replaces_the_parameter_and_deletes_the_old_one_first():
    (parameter,) = [r for r in _registrations(_config()) if r["type"] == PARAMETER]
    assert parameter["replace_on_changes"] == ["keyId"]
    assert parameter["delete_before_replace"] is True


def test_a_real_run_refuses_a_password_longer_than_oos_accepts_without_showing_it():
    secret = "P" * 4097
    with pytest.raises(ConfigError) as refused:
        resolve(RawConfig(values=_config(), secrets=_secrets(secret)))
    message = str(refused.value)
    assert "secrets.axtSecretPassword" in message and "4097" in message and "Fix:" in message
    assert secret not in message


def test_a_real_run_refuses_an_empty_password():
    with pytest.raises(ConfigError, match="1-4096"):
        resolve(RawConfig(values=_config(), secrets=_secrets("")))


def test_a_real_run_accepts_a_password_of_4096_characters():
    resolve(RawConfig(values=_config(), secrets=_secrets("P" * 4096)))


def test_the_strict_mock_refuses_a_parameter_value_over_4096_characters():
    def program():
        alicloud.oos.SecretParameter(
            "p",
            secret_parameter_name="axtSecretPassword",
            type="Secret",
            value=pulumi.Output.secret("x" * 4097),
        )

    with pytest.raises(PlanError, match="1-4096"):
        execute(program, "test", StrictMocks())


def test_the_strict_mock_refuses_a_reserved_parameter_name():
    def program():
        alicloud.oos.SecretParameter("p", secret_parameter_name="OOS-password", type="Secret", value="v")

    with pytest.raises(PlanError, match="must not start with"):
        execute(program, "test", StrictMocks())


def test_instances_in_two_regions_are_refused_naming_both():
    config = _config(
        windowsInstances=[{"id": "i-bp1win00000000001"}, {"id": "i-uf6win000000001", "region": "cn-shanghai"}]
    )
    with pytest.raises(ConfigError) as refused:
        resolve(RawConfig(values=config, secrets=_secrets()))
    assert "cn-shanghai" in str(refused.value) and "cn-hangzhou" in str(refused.value)


def test_strict_arn_scope_names_the_windows_instances_in_the_command_policy():
    config = _config(windowsInstances=[{"id": "i-uf6win000000001", "region": "cn-shanghai"}])
    config["alicloud"]["strictScoping"] = True
    plan = render(resolve(RawConfig(values=config, secrets=_secrets())), "test")
    allowed = {
        f"acs:ecs:cn-shanghai:{ACCOUNT}:instance/i-uf6win000000001",
        f"acs:ecs:cn-shanghai:{ACCOUNT}:command/*",
        f"acs:ecs:cn-shanghai:{ACCOUNT}:instance/*",  # listing (DescribeInstances) only
    }
    for statement in policy_documents(plan)["t-winCommandUserPolicy"]["Statement"]:
        assert set(statement["Resource"]) <= allowed
        if f"acs:ecs:cn-shanghai:{ACCOUNT}:instance/*" in statement["Resource"]:
            assert statement["Action"] == ["ecs:DescribeInstances"]
    (parameter,) = resources(plan, PARAMETER)
    assert parameter["provider"] == "alicloud-cn-shanghai"
