"""S4 ECS instance RAM role (seed 003), read like the guide, per stack."""

from __future__ import annotations

import json

import pulumi_alicloud as alicloud
import pytest
import yaml
from conftest import FIXTURES, plan_of, policy_documents, render_file, resources

from baseline.analysis.evaluator import NamedPolicy, evaluate
from baseline.config import RawConfig, SecretValue, resolve
from baseline.documents.alicloud import arn, role_arn
from baseline.errors import ConfigError, PlanError
from baseline.mocks import StrictMocks
from baseline.plan import execute
from baseline.scenarios.ecs_instance_role import InstanceSettings, attachments
from baseline.spec import RoleSpec, ScenarioSpec, validate_alicloud

COMPONENT = "ecs-instance-role"
ATTACHMENT = "alicloud:ecs/ramRoleAttachment:RamRoleAttachment"
ACCOUNT = "5012345678901234"


def stack_config(stack: str) -> dict:
    document = yaml.safe_load((FIXTURES / f"Pulumi.{stack}.yaml").read_text())
    return {k.split(":", 1)[1]: v for k, v in document["config"].items()}


def prefix(stack: str) -> str:
    return (stack_config(stack).get("naming") or {}).get("prefix", "")


def s4(stack: str) -> dict:
    return stack_config(stack)["ecsInstanceRole"]


def of_component(plan: dict, type_: str) -> list[dict]:
    return [r for r in resources(plan, type_) if r["parent"].startswith(COMPONENT)]


def test_the_scenario_is_on_in_every_stack(stack):
    assert s4(stack)["enabled"] is True


def test_the_role_is_trusted_by_ecs_and_reads_oss_only(stack):
    plan, p = plan_of(stack), prefix(stack)
    (role,) = of_component(plan, "alicloud:ram/role:Role")
    assert role["inputs"]["roleName"] == f"{p}EcsRamRoleDocumentTesting"
    trust = json.loads(role["inputs"]["assumeRolePolicyDocument"])
    assert [s["Principal"] for s in trust["Statement"]] == [{"Service": ["ecs.aliyuncs.com"]}]
    policies = [NamedPolicy("p", policy_documents(plan)[f"{p}EcsRamRoleDocumentTestingPolicy"])]
    account = stack_config(stack)["alicloud"]["accountId"]
    for bucket in s4(stack)["ossBuckets"]:
        assert evaluate(policies, "oss:GetObject", f"acs:oss:*:{account}:{bucket}/object").allowed
        assert evaluate(policies, "oss:ListObjects", f"acs:oss:*:{account}:{bucket}").allowed
        assert not evaluate(policies, "oss:PutObject", f"acs:oss:*:{account}:{bucket}/object").allowed
    # Only the buckets the stack names: another bucket of the account is out of reach.
    assert not evaluate(policies, "oss:GetObject", f"acs:oss:*:{account}:other-bucket/object").allowed
    (attached,) = of_component(plan, "alicloud:ram/rolePolicyAttachment:RolePolicyAttachment")
    assert (attached["inputs"]["policyType"], attached["inputs"]["policyName"]) == (
        "Custom",
        f"{p}EcsRamRoleDocumentTestingPolicy",
    )


def test_the_role_is_attached_to_each_listed_instance_through_its_regions_provider(stack):
    config, p = stack_config(stack), prefix(stack)
    attached = {a["inputs"]["instanceId"]: a for a in of_component(plan_of(stack), ATTACHMENT)}
    listed = s4(stack)["instances"]
    assert set(attached) == {i["id"] for i in listed}
    for instance in listed:
        attachment = attached[instance["id"]]
        assert attachment["parent"] == COMPONENT
        assert attachment["inputs"]["ramRoleName"] == f"{p}EcsRamRoleDocumentTesting"
        assert attachment["provider"] == f"alicloud-{instance.get('region', config['alicloud']['region'])}"


def test_dev_attaches_across_regions_with_one_provider_per_region():
    plan = plan_of("dev")
    providers = [r["name"] for r in resources(plan, "pulumi:providers:alicloud")]
    assert sorted(providers) == ["alicloud-cn-hangzhou", "alicloud-cn-shanghai"]
    assert len(set(providers)) == len(providers)


def test_no_instance_takes_two_roles_in_any_stack(stack):
    instances = [a["inputs"]["instanceId"] for a in resources(plan_of(stack), ATTACHMENT)]
    assert len(instances) == len(set(instances))


def test_the_operator_can_attach_and_detach_this_role_and_pass_no_other(stack):
    config = s4(stack)
    if "operatorUser" not in config:
        pytest.skip("no operator user in this stack")
    alicloud_config, p = stack_config(stack)["alicloud"], prefix(stack)
    account = alicloud_config["accountId"]
    policies = [
        NamedPolicy(
            "operator", policy_documents(plan_of(stack))[f"{p}EcsRamRoleDocumentTestingOperatorPolicy"]
        )
    ]
    for instance in config["instances"]:
        target = arn(
            "ecs", instance.get("region", alicloud_config["region"]), account, f"instance/{instance['id']}"
        )
        for action in (
            "ecs:AttachInstanceRamRole",
            "ecs:DetachInstanceRamRole",
            "ecs:DescribeInstanceRamRole",
        ):
            assert evaluate(policies, action, target).allowed, action
    own = f"acs:ram::{account}:role/{p}EcsRamRoleDocumentTesting"
    assert evaluate(policies, "ram:PassRole", own).allowed
    assert not evaluate(policies, "ram:PassRole", f"acs:ram::{account}:role/{p}AxtSecretRamRole").allowed
    assert not evaluate(policies, "ram:PassRole", f"acs:ram::{account}:role/AdministratorRole").allowed


def test_prod_operator_touches_only_the_listed_instances():
    config, account = stack_config("prod"), stack_config("prod")["alicloud"]["accountId"]
    policies = [
        NamedPolicy("operator", policy_documents(plan_of("prod"))["EcsRamRoleDocumentTestingOperatorPolicy"])
    ]
    unlisted = arn("ecs", config["alicloud"]["region"], account, "instance/i-bp1prodwin000000001")
    assert not evaluate(policies, "ecs:AttachInstanceRamRole", unlisted).allowed
    assert not evaluate(policies, "ecs:CreateInstance", "*").allowed, "prod does not allow CreateInstance"


def test_resource_counts_follow_the_config(stack):
    plan, config = plan_of(stack), s4(stack)
    operator = config.get("operatorUser")
    expected = {
        "alicloud:ram/role:Role": 1,
        "alicloud:ram/policy:Policy": 2 if operator else 1,
        "alicloud:ram/rolePolicyAttachment:RolePolicyAttachment": 1,
        "alicloud:ram/user:User": 1 if operator else 0,
        "alicloud:ram/userPolicyAttachment:UserPolicyAttachment": 1 if operator else 0,
        ATTACHMENT: len(config["instances"]),
    }
    for type_, count in expected.items():
        assert len(of_component(plan, type_)) == count, type_


# --- detaching is removing an instance from the config ---------------------------------------------


def test_removing_an_instance_detaches_only_that_one(tmp_path):
    document = yaml.safe_load((FIXTURES / "Pulumi.dev.yaml").read_text())
    before = {r["name"]: r for r in resources(plan_of("dev"), ATTACHMENT)}
    removed = document["config"]["ecs-access-baseline:ecsInstanceRole"]["instances"].pop(0)
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text(yaml.safe_dump(document))
    after = {r["name"]: r for r in resources(render_file(path, "dev"), ATTACHMENT)}
    gone = set(before) - set(after)
    assert [before[name]["inputs"]["instanceId"] for name in gone] == [removed["id"]]
    for name, attachment in after.items():
        assert before[name]["inputs"] == attachment["inputs"], "the others keep their logical names"


# --- one RAM role per instance ------------------------------------------------------------------


def _config(**scenarios) -> dict:
    return {
        "environment": "dev",
        "naming": {"prefix": "t-"},
        "alicloud": {"accountId": ACCOUNT, "region": "cn-hangzhou", "strictScoping": False},
        **scenarios,
    }


def test_an_instance_claimed_by_s3_and_s4_is_refused_naming_both_roles():
    config = _config(
        cloudAssistantWindows={"enabled": True, "windowsInstances": [{"id": "i-bp1shared00000001"}]},
        ecsInstanceRole={"enabled": True, "instances": [{"id": "i-bp1shared00000001"}]},
    )
    secrets = {"winCommandUserPassword": SecretValue("x" * 12), "axtSecretPassword": SecretValue("y" * 12)}
    with pytest.raises(ConfigError) as refused:
        resolve(RawConfig(values=config, secrets=secrets))
    message = str(refused.value)
    assert "t-AxtSecretRamRole" in message and "t-EcsRamRoleDocumentTesting" in message
    assert "i-bp1shared00000001" in message and "Fix:" in message


def test_the_same_instance_in_two_regions_of_one_scenario_is_still_one_claim():
    from baseline.naming import Naming
    from baseline.scenarios import AlicloudContext

    ctx = AlicloudContext("dev", Naming(), ACCOUNT, "cn-hangzhou", False)
    role = RoleSpec("r", "R", "s4.role.name", {})
    specs = [
        ScenarioSpec(
            "a",
            roles=(role,),
            instance_roles=attachments("r", [InstanceSettings(id="i-bp1aaaaaaaa1")], ctx, "a"),
        ),
        ScenarioSpec(
            "b",
            roles=(RoleSpec("r", "Other", "b.role.name", {}),),
            instance_roles=attachments(
                "r", [InstanceSettings(id="i-bp1aaaaaaaa1", region="cn-shanghai")], ctx, "b"
            ),
        ),
    ]
    with pytest.raises(ConfigError, match="claimed by R"):
        validate_alicloud(specs, set())


def test_the_strict_mock_refuses_a_second_role_on_one_instance():
    def program():
        alicloud.ecs.RamRoleAttachment("a", instance_id="i-bp1aaaaaaaa1", ram_role_name="A")
        alicloud.ecs.RamRoleAttachment("b", instance_id="i-bp1aaaaaaaa1", ram_role_name="B")

    with pytest.raises(PlanError, match="already has RAM role"):
        execute(program, "test", StrictMocks())


def test_pass_role_names_the_role_in_the_stacks_account_in_every_stack():
    assert role_arn(ACCOUNT, "R") == f"acs:ram::{ACCOUNT}:role/R"
    dev = policy_documents(plan_of("dev"))["dev-EcsRamRoleDocumentTestingOperatorPolicy"]
    prod = policy_documents(plan_of("prod"))["EcsRamRoleDocumentTestingOperatorPolicy"]
    pass_dev = [s for s in dev["Statement"] if s["Action"] == ["ram:PassRole"]]
    pass_prod = [s for s in prod["Statement"] if s["Action"] == ["ram:PassRole"]]
    dev_account = stack_config("dev")["alicloud"]["accountId"]
    assert pass_dev[0]["Resource"] == [f"acs:ram::{dev_account}:role/dev-EcsRamRoleDocumentTesting"]
    prod_account = stack_config("prod")["alicloud"]["accountId"]
    assert pass_prod[0]["Resource"] == [f"acs:ram::{prod_account}:role/EcsRamRoleDocumentTesting"]
