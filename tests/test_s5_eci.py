"""S5 Elastic Container Instance access (seed 002), read like the guide, per stack."""

from __future__ import annotations

import json

import pulumi_alicloud as alicloud
import pytest
import yaml
from conftest import FIXTURES, STACKS, plan_of, policy_documents, resources

from baseline.analysis.evaluator import NamedPolicy, evaluate
from baseline.config import RawConfig, resolve
from baseline.errors import ConfigError, PlanError
from baseline.mocks import StrictMocks
from baseline.plan import execute
from baseline.spec import ScenarioSpec, ServiceLinkedRoleSpec, validate_alicloud

COMPONENT = "eci-access"
SLR = "alicloud:resourcemanager/serviceLinkedRole:ServiceLinkedRole"
GROUP = "alicloud:resourcemanager/resourceGroup:ResourceGroup"
GROUP_GRANT = "alicloud:resourcemanager/policyAttachment:PolicyAttachment"
USER_GRANT = "alicloud:ram/userPolicyAttachment:UserPolicyAttachment"
ACCOUNT = "5012345678901234"
SYSTEM = {"read-only": "AliyunECIReadOnlyAccess", "full": "AliyunECIFullAccess"}


def stack_config(stack: str) -> dict:
    document = yaml.safe_load((FIXTURES / f"Pulumi.{stack}.yaml").read_text())
    return {k.split(":", 1)[1]: v for k, v in document["config"].items()}


def prefix(stack: str) -> str:
    return (stack_config(stack).get("naming") or {}).get("prefix", "")


def eci(stack: str) -> dict:
    return stack_config(stack)["eciAccess"]


def of_component(plan: dict, type_: str) -> list[dict]:
    return [r for r in resources(plan, type_) if r["parent"].startswith(COMPONENT)]


def user_policies(plan: dict, user: str) -> set[tuple[str, str]]:
    return {
        (r["inputs"]["policyType"], r["inputs"]["policyName"])
        for r in resources(plan, USER_GRANT)
        if r["inputs"]["userName"] == user
    }


def test_the_scenario_is_on_in_every_stack(stack):
    assert eci(stack)["enabled"] is True


# --- section 1: the service-linked role ----------------------------------------------------------


def test_the_service_linked_role_is_created_only_where_the_stack_says_and_kept_on_destroy(stack):
    roles = of_component(plan_of(stack), SLR)
    creates = eci(stack).get("serviceLinkedRole", "existing") == "create"
    assert [r["inputs"]["serviceName"] for r in roles] == (["eci.aliyuncs.com"] if creates else [])
    for role in roles:
        assert role["parent"] == COMPONENT


def test_one_stack_per_account_creates_the_service_linked_role():
    creators: dict[str, list[str]] = {}
    for stack in STACKS:
        account = stack_config(stack)["alicloud"]["accountId"]
        if of_component(plan_of(stack), SLR):
            creators.setdefault(account, []).append(stack)
    assert all(len(stacks) == 1 for stacks in creators.values()), creators
    accounts = {stack_config(s)["alicloud"]["accountId"] for s in STACKS}
    assert set(creators) == accounts, "every account gets its service-linked role from exactly one stack"


def _config(**eci_settings) -> dict:
    return {
        "environment": "staging",
        "naming": {"prefix": "t-"},
        "alicloud": {"accountId": ACCOUNT, "region": "cn-hangzhou"},
        "eciAccess": {"enabled": True, **eci_settings},
    }


def _registrations(config: dict, secrets: dict | None = None) -> list[dict]:
    from baseline.program import build

    resolved = resolve(RawConfig(values=config, secrets=secrets or {}))
    monitor, _ = execute(lambda: build(resolved), "test", StrictMocks(alicloud_account=ACCOUNT))
    return monitor.registrations


def test_the_service_linked_role_is_retained_when_the_stack_is_destroyed():
    (role,) = [r for r in _registrations(_config(serviceLinkedRole="create")) if r["type"] == SLR]
    assert role["retain_on_delete"] is True


def test_two_scenarios_asking_to_create_the_role_are_refused_naming_both():
    first = ScenarioSpec(
        "eciAccess",
        service_linked_roles=(
            ServiceLinkedRoleSpec("eci.aliyuncs.com", "R", True, "eciAccess.serviceLinkedRole"),
        ),
    )
    second = ScenarioSpec(
        "other",
        service_linked_roles=(
            ServiceLinkedRoleSpec("eci.aliyuncs.com", "R", True, "other.serviceLinkedRole"),
        ),
    )
    with pytest.raises(ConfigError) as refused:
        validate_alicloud([first, second], set())
    assert "eciAccess.serviceLinkedRole" in str(refused.value) and "other.serviceLinkedRole" in str(
        refused.value
    )
    declared = ScenarioSpec(
        "x", service_linked_roles=(ServiceLinkedRoleSpec("eci.aliyuncs.com", "R", False, "x.s"),)
    )
    validate_alicloud([declared, declared], set())  # declaring it existing twice is fine


def test_the_strict_mock_refuses_a_second_service_linked_role_for_one_service():
    def program():
        alicloud.resourcemanager.ServiceLinkedRole("a", service_name="eci.aliyuncs.com")
        alicloud.resourcemanager.ServiceLinkedRole("b", service_name="eci.aliyuncs.com")

    with pytest.raises(PlanError, match="already exists"):
        execute(program, "test", StrictMocks())


# --- section 2: users ------------------------------------------------------------------------------


def test_each_user_gets_the_policy_of_its_access_level_and_console_users_the_console_policy(stack):
    plan, p = plan_of(stack), prefix(stack)
    for user in eci(stack)["users"]:
        attached = user_policies(plan, f"{p}{user['name']}")
        access = user.get("access", "read-only")
        if access == "tag-scoped":
            # Strict stacks: one policy per tag-scoped user, keyed on its creator tag too.
            own = f"-{user['name']}" if stack_config(stack)["alicloud"].get("strictScoping") else ""
            assert ("Custom", f"{p}ECITagPolicy{own}") in attached
            assert not any(name.startswith("AliyunECI") for _, name in attached)
        else:
            assert ("System", SYSTEM[access]) in attached
        assert (("Custom", f"{p}ECIConsolePolicy") in attached) is ("console" in user)


def test_console_users_can_browse_roles_file_systems_buckets_and_images(stack):
    document = policy_documents(plan_of(stack))[f"{prefix(stack)}ECIConsolePolicy"]
    policies = [NamedPolicy("console", document)]
    for action in ("ram:ListRoles", "nas:DescribeFileSystems", "oss:ListBuckets", "cr:GetRepoTags"):
        assert evaluate(policies, action, "*").allowed, action
    assert not evaluate(policies, "ram:CreateRole", "*").allowed


# --- section 3: resource groups ---------------------------------------------------------------------


def test_each_group_has_its_administrator_scoped_to_that_group_only(stack):
    plan, p = plan_of(stack), prefix(stack)
    account = stack_config(stack)["alicloud"]["accountId"]
    groups = {g["name"]: g for g in of_component(plan, GROUP)}
    grants = of_component(plan, GROUP_GRANT)
    configured = eci(stack)["resourceGroups"]
    assert sorted(g["inputs"]["resourceGroupName"] for g in groups.values()) == sorted(
        p + g["name"] for g in configured
    )
    assert len(grants) == sum(len(g.get("policies", ["AliyunECIFullAccess"])) for g in configured)
    for group in configured:
        logical = f"{COMPONENT}-rg-{group['name']}"
        admin = (
            group.get("administratorPrincipal")
            or f"{p}{group['administrator']['name']}@{account}.onaliyun.com"
        )
        (grant,) = [g for g in grants if g["inputs"]["resourceGroupId"] == f"{logical}-id"]
        assert grant["inputs"]["principalName"] == admin
        assert grant["inputs"]["principalType"] == "IMSUser"
        assert grant["inputs"]["policyName"] == "AliyunECIFullAccess"
        assert grant["inputs"]["resourceGroupId"] != account, "never account-wide"
        if "administrator" in group:
            assert f"{COMPONENT}-{group['administrator']['name']}-user" in grant["depends_on"]
            account_wide = user_policies(plan, admin.split("@")[0])
            assert not any(name.startswith("AliyunECI") for _, name in account_wide)


def test_groups_of_stacks_in_one_account_would_never_collide():
    # Environments no longer share an Alibaba Cloud account (a RAM deployer is its account's
    # admin), but a second stack in one account, e.g. a copy of dev, still gets names of its own.
    names = {
        s: {g["inputs"]["resourceGroupName"] for g in of_component(plan_of(s), GROUP)}
        for s in ("dev", "staging")
    }
    assert stack_config("dev")["alicloud"]["accountId"] != stack_config("staging")["alicloud"]["accountId"]
    assert not names["dev"] & names["staging"]


def test_prod_protects_its_resource_groups():
    assert all(g["protect"] for g in of_component(plan_of("prod"), GROUP))


def test_the_strict_mock_refuses_a_bad_group_name_and_a_principal_of_another_account():
    def bad_name():
        alicloud.resourcemanager.ResourceGroup("g", resource_group_name="1_production", display_name="p")

    with pytest.raises(PlanError, match="starting with a letter"):
        execute(bad_name, "test", StrictMocks())

    def other_account():
        group = alicloud.resourcemanager.ResourceGroup(
            "g", resource_group_name="production", display_name="p"
        )
        alicloud.resourcemanager.PolicyAttachment(
            "a",
            policy_name="AliyunECIFullAccess",
            policy_type="System",
            principal_type="IMSUser",
            principal_name="alice@5098765432109876.onaliyun.com",
            resource_group_id=group.id,
        )

    with pytest.raises(PlanError, match="not a user of account"):
        execute(other_account, "test", StrictMocks(alicloud_account=ACCOUNT))


# --- section 4: tags ------------------------------------------------------------------------------


def test_tag_scoped_users_work_only_on_their_environments_resources(stack):
    environment = stack_config(stack)["environment"]
    strict = stack_config(stack)["alicloud"].get("strictScoping")
    tag_scoped = next(u["name"] for u in eci(stack)["users"] if u.get("access") == "tag-scoped")
    name = f"ECITagPolicy-{tag_scoped}" if strict else "ECITagPolicy"
    policies = [NamedPolicy("tag", policy_documents(plan_of(stack))[f"{prefix(stack)}{name}"])]
    group = "acs:eci:cn-hangzhou:1:containergroup/eci-1"
    creator = {"owner": f"{prefix(stack)}{tag_scoped}"} if strict else {}
    mine, other = (
        {"acs:RequestTag/env": environment, **{f"acs:RequestTag/{k}": v for k, v in creator.items()}},
        {"acs:RequestTag/env": "prod" if environment != "prod" else "dev"},
    )
    own = {"acs:ResourceTag/env": environment, **{f"acs:ResourceTag/{k}": v for k, v in creator.items()}}
    assert evaluate(policies, "eci:CreateContainerGroup", "*", mine).allowed
    assert not evaluate(policies, "eci:CreateContainerGroup", "*").allowed, "no tag, no create"
    assert not evaluate(policies, "eci:CreateContainerGroup", "*", other).allowed
    assert evaluate(policies, "eci:DeleteContainerGroup", group, own).allowed
    assert not evaluate(policies, "eci:DeleteContainerGroup", group).allowed
    assert evaluate(policies, "vpc:DescribeVSwitches", "*").allowed
    slr = "ram:CreateServiceLinkedRole"
    assert evaluate(policies, slr, "*", {"ram:ServiceName": "eci.aliyuncs.com"}).allowed
    assert not evaluate(policies, slr, "*", {"ram:ServiceName": "ecs.aliyuncs.com"}).allowed


# --- section 5: the container groups' instance role ---------------------------------------------


def test_the_instance_role_reads_oss_and_only_container_group_creators_may_pass_it(stack):
    plan, p = plan_of(stack), prefix(stack)
    config = eci(stack)
    (role,) = of_component(plan, "alicloud:ram/role:Role")
    assert role["inputs"]["roleName"] == f"{p}{config['instanceRole']['name']}"
    trust = json.loads(role["inputs"]["assumeRolePolicyDocument"])
    assert trust["Statement"][0]["Principal"] == {"Service": ["ecs.aliyuncs.com"]}
    account = stack_config(stack)["alicloud"]["accountId"]
    own = f"acs:ram::{account}:role/{p}ECIRamRoleTest"
    pass_policy = [NamedPolicy("pass", policy_documents(plan)[f"{p}ECIRamRoleTestPassRolePolicy"])]
    assert evaluate(pass_policy, "ram:PassRole", own).allowed
    assert not evaluate(pass_policy, "ram:PassRole", f"acs:ram::{account}:role/{p}AxtSecretRamRole").allowed
    for user in config["users"]:
        attached = user_policies(plan, f"{p}{user['name']}")
        assert (("Custom", f"{p}ECIRamRoleTestPassRolePolicy") in attached) is user.get(
            "passInstanceRole", False
        )


def test_resource_counts_follow_the_config(stack):
    plan, config = plan_of(stack), eci(stack)
    admins = [g["administrator"] for g in config["resourceGroups"] if "administrator" in g]
    users = config["users"] + admins
    expected = {
        SLR: 1 if config.get("serviceLinkedRole") == "create" else 0,
        GROUP: len(config["resourceGroups"]),
        GROUP_GRANT: len(config["resourceGroups"]),
        "alicloud:ram/user:User": len(users),
        "alicloud:ram/loginProfile:LoginProfile": sum("console" in u for u in users),
        "alicloud:ram/accessKey:AccessKey": sum("accessKey" in u for u in users),
        "alicloud:ram/role:Role": 1,
        "alicloud:ram/policy:Policy": 4,  # console, tag, role, PassRole
    }
    for type_, count in expected.items():
        assert len(of_component(plan, type_)) == count, type_
