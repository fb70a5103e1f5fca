"""Intent tests: what each scenario's guide says a principal can and cannot do, in every stack.

Every request is decided by the offline evaluator (``baseline.analysis.access``) from the stack's
rendered plan. Names, regions, accounts, instance ids, OS users and tag values come from the
stack's own settings, so a stack that changes them is checked against its own values. A test is
skipped only where the stack does not enable the piece it is about.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

import pytest
from conftest import FIXTURES, STACKS, example_resolved, plan_of
from guides import GUIDE_000_ECS, GUIDE_000_OOS, GUIDE_000_SNAPSHOT

from baseline import limits
from baseline.analysis import access
from baseline.config import RawConfig, StackSettings, load_stack_file, resolve
from baseline.documents.alicloud import RESOURCE_KINDS
from baseline.errors import ConfigError
from baseline.naming import Naming
from baseline.plan import render

# --- the guides' own words -----------------------------------------------------------------------

# Seed 000: the actions of the patch-management policy, statement by statement.
PATCH_OOS, PATCH_ECS, PATCH_SNAPSHOTS = GUIDE_000_OOS, GUIDE_000_ECS, GUIDE_000_SNAPSHOT

PATCH_TEMPLATE = "ACS-ECS-BulkyApplyPatchBaseline"
OTHER_TEMPLATE = "ACS-ECS-SomethingElse"

# Seed 001: commands run by default as root (Linux) or system (Windows); those are the users
# the guide keeps out, and RAM compares the deny-privileged list without letter case.
RUN_COMMAND_ACTIONS = ("ecs:RunCommand", "ecs:InvokeCommand")
PRIVILEGED_SPELLINGS = ("root", "ROOT", "Root", "SYSTEM", "system", "System")
# The Windows administrator, whom an allow-list can never name (and a deny-list stack may add).
ALLOW_LIST_PRIVILEGED = ("Administrator", "administrator", "ADMINISTRATOR", "NT AUTHORITY\\SYSTEM")
RUN_AS = "ecs:CommandRunAs"
MODES = ("allow-list", "deny-privileged")

# Seed 003 step 6 and seed 002 section 5.
ATTACH_DETACH = ("ecs:AttachInstanceRamRole", "ecs:DetachInstanceRamRole")
PASS_ROLE = "ram:PassRole"
ECI_CREATE = "eci:CreateContainerGroup"
ECI_OPERATE = ("eci:DeleteContainerGroup", "eci:RestartContainerGroup", "eci:UpdateContainerGroup")

# Seed 004: the boundary's guide-given protected deletes and the one service roles are passed to.
PROTECTED_DELETES = ("ecs:DeleteCluster", "ecs:DeleteService", "ecs:DeregisterTaskDefinition")
ECS_TASKS = "ecs-tasks.amazonaws.com"

# An instance no stack lists: where a policy covers every instance of its region and account,
# any id stands for "an instance within scope".
ANY_INSTANCE = "i-intentcheck00000001"
RESOURCE_GROUP = "alicloud:resourcemanager/resourceGroup:ResourceGroup"
UNLISTED_INSTANCE = "i-notlisted000000001"


# --- reading a stack -----------------------------------------------------------------------------


@cache
def settings_of(stack: str) -> StackSettings:
    return example_resolved(stack).settings


def named(settings: StackSettings, base: str) -> str:
    """``base`` under the stack's naming rule, as the cloud sees it."""
    return Naming(settings.naming.prefix, settings.naming.suffix).name(base)


def acs(service: str, region: str, account: str, resource: str) -> str:
    return f"acs:{service}:{region}:{account}:{resource}"


def other_region(region: str, regions: Iterable[str]) -> str:
    return next(r for r in sorted(regions) if r != region)


def other_account(account: str) -> str:
    return "1" * len(account) if account != "1" * len(account) else "2" * len(account)


def grants_for(plan: Mapping[str, Any], cloud: str, name: str) -> access.Grants:
    found = [p for p in access.principals(plan) if p.cloud == cloud and p.name == name]
    assert found, f"{cloud} principal {name} is not in the plan"
    return access.grants_of(plan, found[0])


def can(grants: access.Grants, action: str, resource: str, **context: Any) -> bool:
    return grants.decide(action, resource, context or None).allowed


def denied_explicitly(grants: access.Grants, action: str, resource: str, **context: Any) -> bool:
    decision = grants.decide(action, resource, context or None)
    return not decision.allowed and decision.explicit_deny


def require(condition: Any, reason: str) -> None:
    if not condition:
        pytest.skip(reason)


def strict(stack: str) -> bool:
    alicloud = settings_of(stack).alicloud
    return alicloud is not None and alicloud.strict_scoping


def require_strict(stack: str) -> None:
    require(strict(stack), f"{stack} is not strict (alicloud.strictScoping): the guide's trial form uses '*'")


# --- S1 patch management (seed 000) --------------------------------------------------------------


def patch_principals(stack: str) -> list[tuple[str, access.Grants]]:
    settings = settings_of(stack)
    patch = settings.patch_management
    require(patch.enabled, f"{stack} does not enable patchManagement")
    plan = plan_of(stack)
    names = [p.name for p in (patch.operator_user, patch.automation_role) if p is not None]
    return [(named(settings, n), grants_for(plan, "alicloud", named(settings, n))) for n in names]


def runs_patches(stack: str, name: str) -> bool:
    """Who holds the guide's policy: the automation role, or an operator that has none."""
    patch = settings_of(stack).patch_management
    role = patch.automation_role
    return role is None or name == named(settings_of(stack), role.name)


def patch_requests(
    stack: str, region: str, account: str, template: str = PATCH_TEMPLATE
) -> list[tuple[str, str]]:
    """(action, resource) pairs the guide's policy serves, each action on the resources of its own
    types (RESOURCE_KINDS, the authorization reference's): OOS executions, the patch template and
    patch baselines, the stack's instances, and (when snapshots are on) their snapshots. Actions
    with no resource-level permission are left out: no region or account can bound them."""
    patch = settings_of(stack).patch_management
    oos = {
        "execution": "execution/exec-intentcheck",
        "template": f"template/{template}",
        "patchbaseline": "patchbaseline/pb-intentcheck",
    }
    requests = [
        (action, acs("oos", region, account, oos[kind]))
        for action in PATCH_OOS
        for kind in RESOURCE_KINDS[action]
        if kind in oos
    ]
    requests += [
        (action, acs("ecs", region, account, f"instance/{instance}"))
        for action in PATCH_ECS
        for instance in patch.instance_ids or [ANY_INSTANCE]
    ]
    if patch.whether_create_snapshot:
        requests += [(a, acs("ecs", region, account, "snapshot/s-intentcheck")) for a in PATCH_SNAPSHOTS]
    return requests


def test_the_patch_principals_can_scan_and_install_patches_on_their_own_resources(stack):
    alicloud = settings_of(stack).alicloud
    for name, grants in patch_principals(stack):
        for action, resource in patch_requests(stack, alicloud.region, alicloud.account_id):
            if runs_patches(stack, name) or action.startswith("oos:"):
                assert can(grants, action, resource), f"{name} cannot {action} on {resource}"


def test_an_operator_starts_executions_that_the_automation_role_runs(stack):
    """Seed 000 split (issue #10): the person starts the patch template with OOSAssumeRole set to
    the automation role and may pass that role only; ECS actions live in the role alone."""
    settings = settings_of(stack)
    patch = settings.patch_management
    require(patch.enabled and patch.operator_user and patch.automation_role, f"{stack}: no operator+role")
    alicloud = settings.alicloud
    grants = grants_for(plan_of(stack), "alicloud", named(settings, patch.operator_user.name))
    role = named(settings, patch.automation_role.name)
    assert can(grants, PASS_ROLE, role_arn(alicloud.account_id, role))
    for other in ("AliyunOOSDefaultRole", named(settings, "AxtSecretRamRole"), "AdminRole"):
        assert not can(grants, PASS_ROLE, role_arn(alicloud.account_id, other)), other
    template = acs("oos", alicloud.region, alicloud.account_id, f"template/{PATCH_TEMPLATE}")
    assert can(grants, "oos:StartExecution", template)
    # Under the older page's reading (template and execution) no other template starts.
    other = acs("oos", alicloud.region, alicloud.account_id, "template/ACS-ECS-BulkyRunCommand")
    assert not can(grants, "oos:StartExecution", other)
    # The current page authorises StartExecution on execution/* only and no key names the
    # template: the operator can start an inline template as the role. The role is the bound
    # (docs/scenarios.md; tests/test_tasks.py::test_s1_automation_role_reaches_only_the_stacks_instances).
    inline = acs("oos", alicloud.region, alicloud.account_id, "execution/exec-inline")
    assert can(grants, "oos:StartExecution", inline)
    instance = acs("ecs", alicloud.region, alicloud.account_id, f"instance/{ANY_INSTANCE}")
    for action in (*PATCH_ECS, "ecs:RunCommand"):
        assert not can(grants, action, instance), action


def test_in_a_strict_stack_the_patch_principals_stay_in_their_region_account_and_template(stack):
    require_strict(stack)
    alicloud = settings_of(stack).alicloud
    region, account = alicloud.region, alicloud.account_id
    elsewhere = [
        *patch_requests(stack, other_region(region, limits.ALICLOUD_REGIONS), account),
        *patch_requests(stack, region, other_account(account)),
        *[
            (a, acs("oos", region, account, f"template/{OTHER_TEMPLATE}"))
            for a in PATCH_OOS
            if RESOURCE_KINDS[a] != ("*",)  # no resource-level permission: nothing to bound
        ],
    ]
    for name, grants in patch_principals(stack):
        for action, resource in elsewhere:
            assert not can(grants, action, resource), f"{name} can {action} on {resource}"


def test_in_a_stack_that_lists_instances_the_patch_principals_reach_only_those(stack):
    require_strict(stack)
    patch = settings_of(stack).patch_management
    require(patch.instance_ids, f"{stack} patches every instance of its region (no instanceIds)")
    alicloud = settings_of(stack).alicloud
    unlisted = acs("ecs", alicloud.region, alicloud.account_id, f"instance/{UNLISTED_INSTANCE}")
    for name, grants in patch_principals(stack):
        # Listing (the template's SelectTargets) is checked on instance/*: it reads attributes.
        for action in (a for a in (*PATCH_ECS, "ecs:RunCommand") if a != "ecs:DescribeInstances"):
            assert not can(grants, action, unlisted), f"{name} can {action} on an unlisted instance"


def instances_of(stack: str) -> set[tuple[str, str]]:
    """(region, instance id) of every instance a stack names, in any scenario."""
    settings = settings_of(stack)
    home = settings.alicloud.region
    found = {(home, i) for i in settings.patch_management.instance_ids}
    found |= {(home, i) for i in settings.cloud_assistant_linux.instance_ids}
    found |= {(i.region or home, i.id) for i in settings.cloud_assistant_windows.windows_instances}
    found |= {(i.region or home, i.id) for i in settings.ecs_instance_role.instances}
    return found


def neighbours_instances(stack: str) -> list[str]:
    """ARNs of the instances other stacks in the same Alibaba Cloud account name (dev and
    staging share one), minus any this stack names itself."""
    account = settings_of(stack).alicloud.account_id
    own = instances_of(stack)
    return sorted(
        acs("ecs", region, account, f"instance/{instance}")
        for other in STACKS
        if other != stack and settings_of(other).alicloud.account_id == account
        for region, instance in instances_of(other) - own
    )


def test_nobody_runs_commands_or_patches_on_another_environments_instances(stack):
    """Accounts shared by two environments: a command on an instance yields that instance's role,
    so each environment's command users and patch principals reach only its own instances."""
    settings = settings_of(stack)
    others = neighbours_instances(stack)
    require(others, f"{stack} shares its account with no other stack")
    plan = plan_of(stack)
    principals = [(name, grants, PATCH_ECS) for name, grants in patch_principals(stack)]
    for scenario in COMMAND_SCENARIOS:
        command = getattr(settings, scenario)
        if command.enabled:
            user = named(settings, command.user.name)
            principals.append((user, command_user(plan, settings, scenario), RUN_COMMAND_ACTIONS))
    for name, grants, actions in principals:
        for instance in others:
            for action in actions:
                for run_as in ("user01", "root"):
                    assert not can(grants, action, instance, **{RUN_AS: [run_as]}), (
                        f"{name} can {action} on {instance}"
                    )


def test_nobody_can_delete_a_snapshot(stack):
    """Snapshots expire through retentionDays (seed 000); no RAM principal may delete one.

    Only Alibaba Cloud principals are asked: AWS's ``ecs`` is another service with no snapshots.
    """
    settings = settings_of(stack)
    require(settings.alicloud, f"{stack} has no Alibaba Cloud account")
    plan = plan_of(stack)
    region, account = settings.alicloud.region, settings.alicloud.account_id
    snapshots = [
        acs("ecs", region, account, "snapshot/s-intentcheck"),
        acs("ecs", other_region(region, limits.ALICLOUD_REGIONS), account, "snapshot/s-intentcheck"),
        acs("ecs", region, other_account(account), "snapshot/s-intentcheck"),
    ]
    # Ask from inside every resource group too, so group-scoped grants are weighed as well.
    groups = [f"{r['name']}-id" for r in plan["resources"] if r["type"] == RESOURCE_GROUP]
    principals = [p for p in access.principals(plan) if p.cloud == "alicloud"]
    assert principals
    for principal in principals:
        grants = access.grants_of(plan, principal)
        for snapshot in snapshots:
            for group in [None, *groups]:
                context = {access.RESOURCE_GROUP_KEY: [group]} if group else None
                assert not grants.decide("ecs:DeleteSnapshot", snapshot, context).allowed, principal.name
        # The one system policy a stack may add that would grant it is never attached here.
        assert not any("AliyunECSFullAccess" in item for item in grants.not_evaluated), principal.name


# --- S2 / S3 Cloud Assistant as a regular OS user (seed 001) -------------------------------------

COMMAND_SCENARIOS = ("cloud_assistant_linux", "cloud_assistant_windows")
COMMAND_KEYS = ("cloudAssistantLinux", "cloudAssistantWindows")


def command_home(settings: StackSettings, scenario: str) -> str:
    """The region the command policy is scoped to: S3's is its Windows instances' region."""
    command = getattr(settings, scenario)
    if scenario == "cloud_assistant_windows":
        first = command.windows_instances[0].region if command.windows_instances else None
        return command.secret_parameter.region or first or settings.alicloud.region
    return settings.alicloud.region


def command_instances(
    settings: StackSettings, scenario: str, region: str | None = None, account: str | None = None
) -> list[str]:
    """Instance ARNs the command user's policy is meant to cover (by default in its own region
    and account; pass another to ask about instances elsewhere)."""
    command = getattr(settings, scenario)
    ids = command.instance_ids
    if scenario == "cloud_assistant_windows":
        ids = ids or [i.id for i in command.windows_instances]
    region = region or command_home(settings, scenario)
    account = account or settings.alicloud.account_id
    return [acs("ecs", region, account, f"instance/{i}") for i in ids or [ANY_INSTANCE]]


def command_user(plan: Mapping[str, Any], settings: StackSettings, scenario: str) -> access.Grants:
    return grants_for(plan, "alicloud", named(settings, getattr(settings, scenario).user.name))


def privileged_users(settings: StackSettings, scenario: str) -> list[str]:
    """root and system in every spelling, and the stack's own denied users in every case."""
    command = getattr(settings, scenario)
    extra = command.denied_users if command.mode == "deny-privileged" else ALLOW_LIST_PRIVILEGED
    spellings = {v for u in extra for v in (u, u.lower(), u.upper(), u.capitalize())}
    return sorted(set(PRIVILEGED_SPELLINGS) | spellings)


def check_regular_users_only(plan: Mapping[str, Any], settings: StackSettings, scenario: str) -> None:
    command = getattr(settings, scenario)
    grants = command_user(plan, settings, scenario)
    for instance in command_instances(settings, scenario):
        for action in RUN_COMMAND_ACTIONS:
            for user in command.run_as_users:
                assert can(grants, action, instance, **{RUN_AS: [user]}), f"{action} as {user} refused"
            for user in privileged_users(settings, scenario):
                assert not can(grants, action, instance, **{RUN_AS: [user]}), f"{action} as {user} allowed"
            # Without ecs:CommandRunAs the command runs as root/system. Allow-list refuses that
            # request; the guide's deny-privileged form (StringNotEqualsIgnoreCase) holds for a
            # missing key, so it relies on RAM filling the key in, which cannot be checked offline.
            if command.mode == "allow-list":
                assert not can(grants, action, instance), f"{action} without {RUN_AS} allowed"


def require_command(stack: str, scenario: str) -> StackSettings:
    settings = settings_of(stack)
    require(getattr(settings, scenario).enabled, f"{stack} does not enable {scenario}")
    return settings


@pytest.mark.parametrize("scenario", COMMAND_SCENARIOS)
def test_the_command_user_runs_commands_as_a_regular_user_and_never_as_root_or_system(stack, scenario):
    settings = require_command(stack, scenario)
    check_regular_users_only(plan_of(stack), settings, scenario)


@pytest.mark.parametrize("scenario", COMMAND_SCENARIOS)
def test_in_allow_list_mode_a_command_without_a_run_as_user_is_refused(stack, scenario):
    settings = require_command(stack, scenario)
    command = getattr(settings, scenario)
    require(command.mode == "allow-list", f"{stack} runs {scenario} in {command.mode} mode")
    grants = command_user(plan_of(stack), settings, scenario)
    for instance in command_instances(settings, scenario):
        for action in RUN_COMMAND_ACTIONS:
            assert not can(grants, action, instance)


@pytest.mark.parametrize("scenario", COMMAND_SCENARIOS)
def test_in_a_strict_stack_the_command_user_stays_in_its_region_and_account(stack, scenario):
    settings = require_command(stack, scenario)
    require_strict(stack)
    command = getattr(settings, scenario)
    grants = command_user(plan_of(stack), settings, scenario)
    home = command_home(settings, scenario)
    elsewhere = [
        *command_instances(settings, scenario, region=other_region(home, limits.ALICLOUD_REGIONS)),
        *command_instances(settings, scenario, account=other_account(settings.alicloud.account_id)),
    ]
    for instance in elsewhere:
        for action in RUN_COMMAND_ACTIONS:
            assert not can(grants, action, instance, **{RUN_AS: [command.run_as_users[0]]}), instance


@cache
def _in_mode(stack: str, mode: str) -> tuple[dict, StackSettings]:
    """The stack's own Cloud Assistant settings with both scenarios switched to ``mode``."""
    raw = load_stack_file(FIXTURES / f"Pulumi.{stack}.yaml")
    keep = ("environment", "naming", "protectIdentities", "alicloud", *COMMAND_KEYS)
    values = {k: copy.deepcopy(v) for k, v in raw.values.items() if k in keep}
    for key in COMMAND_KEYS:
        if key in values:
            values[key]["mode"] = mode
            if mode == "allow-list":
                for irrelevant in ("deniedUsers", "allowCommandsWithoutRunAs"):
                    values[key].pop(irrelevant, None)
            else:
                values[key].pop("runAsUsers", None)
                values[key]["allowCommandsWithoutRunAs"] = True
    if mode != "allow-list":
        # The deny-list is a dev-only form (staging and prod refuse it, see the test below), so
        # its root/system refusal is checked on the stack's own settings as a dev stack.
        values["environment"] = "dev"
        values["protectIdentities"] = False
    resolved = resolve(RawConfig(values=values, secrets=raw.secrets))
    return render(resolved, stack), resolved.settings


@pytest.mark.parametrize("scenario", COMMAND_SCENARIOS)
@pytest.mark.parametrize("mode", MODES)
def test_both_policy_modes_keep_root_and_system_out(stack, mode, scenario):
    require_command(stack, scenario)
    plan, settings = _in_mode(stack, mode)
    assert getattr(settings, scenario).mode == mode
    check_regular_users_only(plan, settings, scenario)


@pytest.mark.parametrize("scenario", COMMAND_SCENARIOS)
def test_strict_stacks_refuse_the_deny_list_form(stack, scenario):
    """Staging and prod: a deny-list lets a command that names no OS user run as root/system."""
    settings = require_command(stack, scenario)
    require_strict_environment(settings)
    raw = load_stack_file(FIXTURES / f"Pulumi.{stack}.yaml")
    key = COMMAND_KEYS[COMMAND_SCENARIOS.index(scenario)]
    values = copy.deepcopy(raw.values)
    values[key] = {**values[key], "mode": "deny-privileged", "allowCommandsWithoutRunAs": True}
    values[key].pop("runAsUsers", None)
    with pytest.raises(ConfigError) as refused:
        resolve(RawConfig(values=values, secrets=raw.secrets))
    assert refused.value.key == f"{key}.mode"
    assert "requires allow-list mode" in refused.value.problem


def require_strict_environment(settings: StackSettings) -> None:
    require(settings.is_strict, f"{settings.environment} is not staging or prod")


# --- S3 the Windows logon password in OOS (seed 001) ---------------------------------------------


def secret_reader(stack: str) -> tuple[access.Grants, str, str, str]:
    """The instance role's grants, and the region, account and name of its secret parameter."""
    settings = require_command(stack, "cloud_assistant_windows")
    windows = settings.cloud_assistant_windows
    region = command_home(settings, "cloud_assistant_windows")
    grants = grants_for(plan_of(stack), "alicloud", named(settings, windows.instance_role.name))
    return grants, region, settings.alicloud.account_id, named(settings, windows.secret_parameter.name)


def test_the_windows_instance_role_reads_its_own_secret_parameter(stack):
    grants, region, account, name = secret_reader(stack)
    assert can(grants, "oos:GetSecretParameter", acs("oos", region, account, f"secretparameter/{name}"))
    # OOS keeps a secret parameter as the KMS secret oos/<name>; the role reads that one only.
    assert can(grants, "kms:GetSecretValue", acs("kms", region, account, f"secret/oos/{name}"))
    assert not can(grants, "kms:GetSecretValue", acs("kms", region, account, "secret/any"))


def test_in_a_strict_stack_the_windows_instance_role_reads_no_other_secret_parameter(stack):
    require_strict(stack)
    grants, region, account, name = secret_reader(stack)
    for other in (
        acs("oos", region, account, "secretparameter/anotherSecretPassword"),
        acs("oos", other_region(region, limits.ALICLOUD_REGIONS), account, f"secretparameter/{name}"),
        acs("oos", region, other_account(account), f"secretparameter/{name}"),
    ):
        assert not can(grants, "oos:GetSecretParameter", other), other


# --- S4 instance RAM role (seed 003) -------------------------------------------------------------


def role_operator(stack: str) -> tuple[StackSettings, access.Grants]:
    settings = settings_of(stack)
    role = settings.ecs_instance_role
    require(role.enabled, f"{stack} does not enable ecsInstanceRole")
    require(role.operator_user, f"{stack} has no ecsInstanceRole.operatorUser (the pipeline attaches)")
    return settings, grants_for(plan_of(stack), "alicloud", named(settings, role.operator_user.name))


def role_arn(account: str, name: str) -> str:
    """A RAM role's ARN: RAM is global, so the region part is empty."""
    return f"acs:ram::{account}:role/{name}"


def other_roles(settings: StackSettings, mine: str) -> list[str]:
    """Role names a PassRole grant on ``mine`` must not cover: the stack's other roles, a role
    of the same base name without the naming rule, and an administrator's."""
    names = {named(settings, "AdministratorRole"), named(settings, mine + "2")}
    if named(settings, mine) != mine:
        names.add(mine)
    if settings.cloud_assistant_windows.enabled:
        names.add(named(settings, settings.cloud_assistant_windows.instance_role.name))
    if settings.ecs_instance_role.enabled:
        names.add(named(settings, settings.ecs_instance_role.role.name))
    if settings.eci_access.enabled and settings.eci_access.instance_role:
        names.add(named(settings, settings.eci_access.instance_role.name))
    return sorted(names - {named(settings, mine)})


def test_the_instance_role_operator_attaches_and_detaches_the_role_on_its_instances(stack):
    settings, grants = role_operator(stack)
    cloud = settings.alicloud
    instances = [(i.region or cloud.region, i.id) for i in settings.ecs_instance_role.instances]
    for region, instance in instances or [(cloud.region, ANY_INSTANCE)]:
        arn = acs("ecs", region, cloud.account_id, f"instance/{instance}")
        for action in ATTACH_DETACH:
            assert can(grants, action, arn), f"cannot {action} on {arn}"


def test_the_instance_role_operator_can_pass_only_that_role(stack):
    settings, grants = role_operator(stack)
    account = settings.alicloud.account_id
    mine = settings.ecs_instance_role.role.name
    assert can(grants, PASS_ROLE, role_arn(account, named(settings, mine)))
    for other in other_roles(settings, mine):
        assert not can(grants, PASS_ROLE, role_arn(account, other)), f"can pass {other}"


def test_in_a_strict_stack_the_instance_role_operator_reaches_only_its_instances(stack):
    require_strict(stack)
    settings, grants = role_operator(stack)
    cloud = settings.alicloud
    mine = named(settings, settings.ecs_instance_role.role.name)
    for arn in (
        acs("ecs", cloud.region, cloud.account_id, f"instance/{UNLISTED_INSTANCE}"),
        acs("ecs", cloud.region, other_account(cloud.account_id), f"instance/{UNLISTED_INSTANCE}"),
    ):
        for action in ATTACH_DETACH:
            assert not can(grants, action, arn), f"can {action} on {arn}"
    assert not can(grants, PASS_ROLE, role_arn(other_account(cloud.account_id), mine))


# --- S5 Elastic Container Instance (seed 002) ----------------------------------------------------


def eci(stack: str) -> StackSettings:
    settings = settings_of(stack)
    require(settings.eci_access.enabled, f"{stack} does not enable eciAccess")
    return settings


def group_administrators(stack: str) -> dict[str, tuple[access.Grants, str]]:
    """Group name -> (its administrator's grants, the group's id in the plan)."""
    settings = eci(stack)
    plan = plan_of(stack)
    found = {}
    for group in settings.eci_access.resource_groups:
        resource = next(
            r
            for r in plan["resources"]
            if r["type"] == RESOURCE_GROUP and r["inputs"]["resourceGroupName"] == named(settings, group.name)
        )
        if group.administrator is not None:
            admin = named(settings, group.administrator.name)
        else:
            admin = str(group.administrator_principal).partition("@")[0]
        # An administrator that already exists is not in the plan; its grants are still the
        # attachments the plan makes for it.
        principal = access.Principal("alicloud", "user", admin, "")
        # The plan stands for an id the cloud assigns with "<resource name>-id".
        found[group.name] = (access.grants_of(plan, principal), f"{resource['name']}-id")
    return found


def test_a_resource_group_administrator_manages_eci_only_in_their_group(stack):
    admins = group_administrators(stack)
    require(admins, f"{stack} has no ECI resource groups")
    groups = [group_id for _, group_id in admins.values()]
    for name, (grants, mine) in admins.items():
        assert can(grants, ECI_CREATE, "*", **{access.RESOURCE_GROUP_KEY: [mine]}), name
        assert not can(grants, ECI_CREATE, "*"), f"the {name} administrator acts outside any group"
        for other in set(groups) - {mine}:
            for action in (ECI_CREATE, *ECI_OPERATE):
                assert not can(grants, action, "*", **{access.RESOURCE_GROUP_KEY: [other]}), name


def test_the_test_group_administrator_cannot_touch_the_production_group(stack):
    admins = group_administrators(stack)
    require({"test", "production"} <= set(admins), f"{stack} lacks the guide's test and production groups")
    grants, _ = admins["test"]
    _, production = admins["production"]
    for action in (ECI_CREATE, *ECI_OPERATE, "eci:DescribeContainerGroups"):
        assert not can(grants, action, "*", **{access.RESOURCE_GROUP_KEY: [production]}), action


def tag_scoped_users(stack: str) -> list[tuple[str, access.Grants]]:
    settings = eci(stack)
    users = [u for u in settings.eci_access.users if u.access == "tag-scoped"]
    require(users, f"{stack} has no tag-scoped ECI user")
    plan = plan_of(stack)
    return [(named(settings, u.name), grants_for(plan, "alicloud", named(settings, u.name))) for u in users]


def tag(stack: str) -> tuple[str, str, list[str]]:
    """The tag key, this stack's value, and the values of the other environments."""
    settings = eci(stack)
    key = settings.eci_access.tag_key
    value = settings.eci_access.tag_value or settings.environment
    others = sorted(({settings_of(s).environment for s in STACKS} | {"prod"}) - {value})
    return key, value, others


def owner_tags(stack: str, name: str, kind: str) -> dict[str, list[str]]:
    """Strict stacks: the creator tag a tag-scoped user sets on (and needs on) its own groups."""
    if not strict(stack):
        return {}
    return {f"acs:{kind}/{eci(stack).eci_access.owner_tag_key}": [name]}


def test_a_tag_scoped_user_creates_container_groups_only_with_the_environment_tag(stack):
    key, value, others = tag(stack)
    for name, grants in tag_scoped_users(stack):
        mine = owner_tags(stack, name, "RequestTag")
        assert can(grants, ECI_CREATE, "*", **{f"acs:RequestTag/{key}": [value]}, **mine), name
        assert not can(grants, ECI_CREATE, "*"), f"{name} creates untagged container groups"
        for other in others:
            assert not can(grants, ECI_CREATE, "*", **{f"acs:RequestTag/{key}": [other]}, **mine), (
                name,
                other,
            )


def test_a_tag_scoped_user_operates_only_on_resources_of_its_environment(stack):
    key, value, others = tag(stack)
    for name, grants in tag_scoped_users(stack):
        mine = owner_tags(stack, name, "ResourceTag")
        for action in ECI_OPERATE:
            assert can(grants, action, "*", **{f"acs:ResourceTag/{key}": [value]}, **mine), (name, action)
            assert not can(grants, action, "*"), f"{name} can {action} on untagged resources"
            for other in others:  # from dev and staging this includes env=prod
                assert not can(grants, action, "*", **{f"acs:ResourceTag/{key}": [other]}, **mine), (
                    name,
                    other,
                )


def test_in_a_strict_stack_the_deployer_works_only_on_the_container_groups_it_created(stack):
    """S5: a long-lived AccessKey may create, describe, delete and exec into its own groups only;
    a group of its environment that someone else created (no creator tag, or another's) is out."""
    require_strict(stack)
    key, value, _ = tag(stack)
    owner_key = eci(stack).eci_access.owner_tag_key
    for name, grants in tag_scoped_users(stack):
        env = {f"acs:ResourceTag/{key}": [value]}
        own = {**env, f"acs:ResourceTag/{owner_key}": [name]}
        for action in (*ECI_OPERATE, "eci:ExecContainerCommand", "eci:DescribeContainerGroups"):
            assert can(grants, action, "*", **own), (name, action)
            assert not can(grants, action, "*", **env), f"{name} can {action} on a group it did not create"
            other = {**env, f"acs:ResourceTag/{owner_key}": ["someoneElse"]}
            assert not can(grants, action, "*", **other), (name, action)
        # It creates groups only with its own creator tag, never another's.
        create = {f"acs:RequestTag/{key}": [value]}
        assert not can(grants, ECI_CREATE, "*", **create), name
        assert not can(grants, ECI_CREATE, "*", **create, **{f"acs:RequestTag/{owner_key}": ["someoneElse"]})
        # Nor puts its creator tag on a group someone else created.
        assert not can(grants, "eci:TagResources", "*", **env), name


def test_the_container_group_creator_can_pass_only_the_eci_instance_role(stack):
    settings = eci(stack)
    eci_access = settings.eci_access
    passers = [u for u in eci_access.users if u.pass_instance_role]
    require(passers and eci_access.instance_role, f"{stack} has no ECI user with passInstanceRole")
    plan = plan_of(stack)
    account = settings.alicloud.account_id
    mine = eci_access.instance_role.name
    for user in passers:
        grants = grants_for(plan, "alicloud", named(settings, user.name))
        assert can(grants, PASS_ROLE, role_arn(account, named(settings, mine))), user.name
        for other in other_roles(settings, mine):
            assert not can(grants, PASS_ROLE, role_arn(account, other)), (user.name, other)


# --- S6 ECS MCP server roles behind the permissions boundary (seed 004) --------------------------


def mcp(stack: str) -> StackSettings:
    settings = settings_of(stack)
    require(settings.ecs_mcp_server.enabled, f"{stack} does not enable ecsMcpServer")
    return settings


USE_CASE_ATTRS = (
    "read_only_monitoring",
    "troubleshooting",
    "deployment_management",
    "service_specific",
    "express_mode",
)


def mcp_roles(stack: str) -> dict[str, access.Grants]:
    """Use case -> the grants of its role (with the permissions boundary)."""
    settings = mcp(stack)
    plan = plan_of(stack)
    server = settings.ecs_mcp_server
    return {
        attr: grants_for(plan, "aws", named(settings, getattr(server, attr).role_name))
        for attr in USE_CASE_ATTRS
        if getattr(server, attr).enabled
    }


def service_arn(settings: StackSettings, region: str | None = None) -> str:
    aws = settings.aws
    specific = settings.ecs_mcp_server.service_specific
    cluster, service = specific.cluster or "intent-cluster", specific.service or "intent-service"
    return f"arn:aws:ecs:{region or aws.region}:{aws.account_id}:service/{cluster}/{service}"


def here(settings: StackSettings) -> dict[str, list[str]]:
    return {"aws:RequestedRegion": [settings.aws.region]}


def test_the_boundary_keeps_every_role_out_of_other_regions(stack):
    settings = mcp(stack)
    elsewhere = other_region(settings.aws.region, limits.AWS_REGIONS)
    service = service_arn(settings, elsewhere)
    for use_case, grants in mcp_roles(stack).items():
        for action in ("ecs:DescribeServices", "ecs:ListTasks", "ecs:UpdateService", "ecs:CreateService"):
            assert denied_explicitly(grants, action, service, **{"aws:RequestedRegion": [elsewhere]}), (
                use_case,
                action,
            )


def test_the_boundary_stops_every_role_deleting_production_tagged_resources(stack):
    settings = mcp(stack)
    boundary = settings.ecs_mcp_server.boundary
    production = {"aws:ResourceTag/Environment": [boundary.production_tag_value], **here(settings)}
    service = service_arn(settings)
    for use_case, grants in mcp_roles(stack).items():
        for action in (*PROTECTED_DELETES, *boundary.additional_protected_actions):
            assert denied_explicitly(grants, action, service, **production), (use_case, action)


def test_the_deployment_role_may_delete_but_the_boundary_wins_on_production_resources(stack):
    roles = mcp_roles(stack)
    require("deployment_management" in roles, f"{stack} has no deployment role (allowWrite is off)")
    settings = settings_of(stack)
    deployer = roles["deployment_management"]
    service = service_arn(settings)
    tag_value = settings.ecs_mcp_server.boundary.production_tag_value
    for action in PROTECTED_DELETES:
        # The identity policy's ecs:* allows it on an untagged resource in the stack's region ...
        assert can(deployer, action, service, **here(settings)), action
        # ... and the boundary's ProductionProtection refuses it once the resource is production.
        tagged = {**here(settings), "aws:ResourceTag/Environment": [tag_value]}
        assert denied_explicitly(deployer, action, service, **tagged), action
    assert can(deployer, "ecs:UpdateService", service, **here(settings))


def test_the_read_only_role_describes_services_but_never_updates_them(stack):
    roles = mcp_roles(stack)
    require("read_only_monitoring" in roles, f"{stack} has no read-only monitoring role")
    settings = settings_of(stack)
    reader = roles["read_only_monitoring"]
    service = service_arn(settings)
    assert can(reader, "ecs:DescribeServices", service, **here(settings))
    for action in ("ecs:UpdateService", "ecs:DeleteService", "ecs:CreateService", "ecs:StopTask"):
        assert not can(reader, action, service, **here(settings)), action


def pass_role_arns(settings: StackSettings) -> list[str]:
    account = settings.aws.account_id
    return [
        r if r.startswith("arn:") else f"arn:aws:iam::{account}:role/{r}"
        for r in settings.ecs_mcp_server.pass_roles
    ]


def test_no_role_passes_a_role_except_to_ecs_tasks(stack):
    settings = mcp(stack)
    administrator = f"arn:aws:iam::{settings.aws.account_id}:role/AdministratorRole"
    to_tasks = {**here(settings), "iam:PassedToService": [ECS_TASKS]}
    for use_case, grants in mcp_roles(stack).items():
        for role in [*pass_role_arns(settings), administrator]:
            assert not can(grants, "iam:PassRole", role, **here(settings)), (use_case, role)
            for service in ("ec2.amazonaws.com", "lambda.amazonaws.com"):
                context = {**here(settings), "iam:PassedToService": [service]}
                assert not can(grants, "iam:PassRole", role, **context), (use_case, role, service)
        assert not can(grants, "iam:PassRole", administrator, **to_tasks), use_case


def test_the_deployment_role_passes_the_configured_roles_to_ecs_tasks(stack):
    roles = mcp_roles(stack)
    require("deployment_management" in roles, f"{stack} has no deployment role (allowWrite is off)")
    settings = settings_of(stack)
    require(settings.ecs_mcp_server.pass_roles, f"{stack} lists no passRoles")
    to_tasks = {**here(settings), "iam:PassedToService": [ECS_TASKS]}
    for role in pass_role_arns(settings):
        assert can(roles["deployment_management"], "iam:PassRole", role, **to_tasks), role


def test_in_prod_the_deployment_role_creates_no_role_and_passes_only_the_pre_created_ones(stack):
    """S6: a role that creates roles with a trust of its choice is a standing way back in; prod's
    deployment role passes only the roles named in passRoles, created beforehand."""
    roles = mcp_roles(stack)
    require("deployment_management" in roles, f"{stack} has no deployment role (allowWrite is off)")
    settings = settings_of(stack)
    require(settings.environment == "prod", f"{stack} may create ecs-mcp-* roles behind the boundary")
    deployer = roles["deployment_management"]
    account = settings.aws.account_id
    boundary = f"arn:aws:iam::{account}:policy/{settings.ecs_mcp_server.boundary.policy_name}"
    created = (
        f"arn:aws:iam::{account}:role/{named(settings, settings.ecs_mcp_server.role_name_prefix)}backdoor"
    )
    with_boundary = {**here(settings), "iam:PermissionsBoundary": [boundary]}
    for action in ("iam:CreateRole", "iam:AttachRolePolicy", "iam:DeleteRole", "iam:UpdateAssumeRolePolicy"):
        assert not can(deployer, action, created, **with_boundary), action
    to_tasks = {**here(settings), "iam:PassedToService": [ECS_TASKS]}
    assert not can(deployer, "iam:PassRole", created, **to_tasks)


def test_no_role_lifts_the_delete_guard_by_removing_or_overwriting_its_tag(stack):
    """S6: ProductionProtection keys on the Environment tag; removing it (RemoveTags,
    UntagResource) or overwriting its value would let the delete through."""
    settings = mcp(stack)
    value = settings.ecs_mcp_server.boundary.production_tag_value
    aws = settings.aws
    resources = {
        "ecs": f"arn:aws:ecs:{aws.region}:{aws.account_id}:cluster/intent-cluster",
        "ecr": f"arn:aws:ecr:{aws.region}:{aws.account_id}:repository/intent-repository",
        "elasticloadbalancing": f"arn:aws:elasticloadbalancing:{aws.region}:{aws.account_id}:"
        "loadbalancer/app/intent/0123456789abcdef",
    }
    guarded = {**here(settings), "aws:ResourceTag/Environment": [value], "aws:TagKeys": ["Environment"]}
    for use_case, grants in mcp_roles(stack).items():
        for action in (
            "ecs:UntagResource",
            "ecs:TagResource",
            "ecr:UntagResource",
            "ecr:TagResource",
            "elasticloadbalancing:RemoveTags",
            "elasticloadbalancing:AddTags",
        ):
            resource = resources[action.split(":")[0]]
            assert not can(grants, action, resource, **guarded), (use_case, action)


def test_in_prod_the_deployment_role_writes_only_the_load_balancers_the_stack_names(stack):
    """S6: elasticloadbalancing writes on the load balancers and target groups of loadBalancers
    and targetGroups, never on every one of the account."""
    roles = mcp_roles(stack)
    require("deployment_management" in roles, f"{stack} has no deployment role (allowWrite is off)")
    settings = settings_of(stack)
    require(settings.environment == "prod", f"{stack} may write every load balancer of its account")
    server, aws = settings.ecs_mcp_server, settings.aws
    deployer = roles["deployment_management"]
    elb = f"arn:aws:elasticloadbalancing:{aws.region}:{aws.account_id}"
    mine = f"{elb}:loadbalancer/app/{server.load_balancers[0].replace('*', 'x')}/0123456789abcdef"
    other = f"{elb}:loadbalancer/app/payments/0123456789abcdef"
    listener = f"{elb}:listener/app/payments/0123456789abcdef/fedcba9876543210"
    group = f"{elb}:targetgroup/payments/0123456789abcdef"
    assert can(deployer, "elasticloadbalancing:ModifyLoadBalancerAttributes", mine, **here(settings))
    for action, resource in (
        ("elasticloadbalancing:ModifyLoadBalancerAttributes", other),
        ("elasticloadbalancing:DeleteLoadBalancer", other),
        ("elasticloadbalancing:ModifyListener", listener),
        ("elasticloadbalancing:RegisterTargets", group),
        ("elasticloadbalancing:AddTags", other),
    ):
        assert not can(deployer, action, resource, **here(settings)), (action, resource)


def test_in_prod_the_deployment_role_writes_only_its_log_groups_and_no_capacity_provider(stack):
    """S6: log writes on the log groups of logGroups only; no tag write on a capacity provider."""
    roles = mcp_roles(stack)
    require("deployment_management" in roles, f"{stack} has no deployment role (allowWrite is off)")
    settings = settings_of(stack)
    require(settings.environment == "prod", f"{stack} may write every log group of its account")
    server, aws = settings.ecs_mcp_server, settings.aws
    deployer = roles["deployment_management"]
    logs = f"arn:aws:logs:{aws.region}:{aws.account_id}:log-group:"
    mine = f"{logs}{server.log_groups[0].replace('*', 'x')}"
    assert can(deployer, "logs:CreateLogGroup", mine, **here(settings))
    assert can(deployer, "logs:PutLogEvents", f"{mine}:log-stream:task-1", **here(settings))
    for group in ("/aws/lambda/payments", "CloudTrail/audit"):
        assert not can(deployer, "logs:CreateLogGroup", f"{logs}{group}", **here(settings)), group
        assert not can(deployer, "logs:PutLogEvents", f"{logs}{group}:log-stream:x", **here(settings)), group
    provider = f"arn:aws:ecs:{aws.region}:{aws.account_id}:capacity-provider/FARGATE_SPOT"
    for action in ("ecs:TagResource", "ecs:UntagResource"):
        assert not can(deployer, action, provider, **here(settings)), action
