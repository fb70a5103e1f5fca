"""The CrossGuard pack: every rule with a compliant and a non-compliant case, built by hand as
the engine would hand them over, then the pack over the checked-in and deliberately bad stacks."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
from conftest import ROOT, plan_of, render_file, shipped_plan, shipped_stacks
from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from baseline.cli import main
from policy import offline
from policy.rules import POLICIES, common
from policy.rules import alicloud as ali_rules
from policy.rules import aws as aws_rules

BAD_STACKS = sorted((ROOT / "tests" / "policy_bad_stacks").glob("*.yaml"))
PROD_TAGS = {"environment": "prod", "project": "ecs-access-baseline"}
DEV_TAGS = {"environment": "dev", "project": "ecs-access-baseline"}


def options(protect: bool = False, secrets: tuple[str, ...] = ()) -> PolicyResourceOptions:
    return PolicyResourceOptions(protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), list(secrets), None)


def defaults(policy) -> dict:
    schema = policy.config_schema
    return {k: v["default"] for k, v in schema.properties.items()} if schema else {}


def urn(type_: str, name: str, component: str | None = None) -> str:
    chain = f"{component}${type_}" if component else type_
    return f"urn:pulumi:test::ecs-access-baseline::{chain}::{name}"


def check(policy: ResourceValidationPolicy, type_: str, props: dict, **kw) -> list[str]:
    """Messages ``policy`` reports for one resource."""
    name = kw.get("name", "r")
    provider = kw.get("provider")
    args = ResourceValidationArgs(
        type_,
        props,
        urn(type_, name, kw.get("component")),
        name,
        options(kw.get("protect", False), kw.get("secrets", ())),
        PolicyProviderResource("pulumi:providers:aws", provider, "urn:p", "p") if provider else None,
        {**defaults(policy), **kw.get("config", {})},
    )
    found: list[str] = []
    policy.validate(args, lambda message, urn=None: found.append(message))
    return found


def stack(policy: StackValidationPolicy, *resources: tuple, config: dict | None = None) -> list[str]:
    """Messages ``policy`` reports for a stack of (type, props[, name]) resources."""
    built = []
    for index, (type_, props, *rest) in enumerate(resources):
        name = rest[0] if rest else f"r{index}"
        built.append(PolicyResource(type_, props, urn(type_, name), name, options(), None, None, [], {}))
    args = StackValidationArgs(built, {**defaults(policy), **(config or {})})
    found: list[str] = []
    policy.validate(args, lambda message, urn=None: found.append(message))
    return found


def doc(*statements: dict, version: str = "1") -> str:
    return json.dumps({"Version": version, "Statement": list(statements)})


def ali_policy(*statements: dict, tags: dict | None = None) -> dict:
    return {"policyName": "p", "policyDocument": doc(*statements), "tags": tags or DEV_TAGS}


def aws_policy(name: str, *statements: dict) -> dict:
    return {"name": name, "policy": doc(*statements, version="2012-10-17")}


# --- the pack ------------------------------------------------------------------------------------


def test_the_pack_has_at_least_ten_named_rules_with_explicit_levels():
    names = [p.name for p in POLICIES]
    assert len(names) >= 10 and len(set(names)) == len(names)
    for policy in POLICIES:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", policy.name), policy.name
        assert policy.description and policy.enforcement_level in (
            EnforcementLevel.MANDATORY,
            EnforcementLevel.ADVISORY,
        )


def test_only_the_pack_main_builds_the_policy_pack():
    # Its constructor starts a gRPC server and never returns; importing it would hang a test.
    builders = [p for p in (ROOT / "policy").rglob("*.py") if "PolicyPack(" in p.read_text()]
    assert [p.relative_to(ROOT) for p in builders] == [Path("policy/__main__.py")]


def test_the_docs_table_lists_every_rule_with_its_level():
    text = (ROOT / "docs" / "policy-pack.md").read_text()
    for policy in POLICIES:
        row = next((line for line in text.splitlines() if line.startswith(f"| `{policy.name}`")), "")
        assert policy.enforcement_level.value in row.lower(), policy.name


# --- documents -----------------------------------------------------------------------------------


def test_no_wildcard_action_refuses_action_star_but_not_a_boundary_ceiling():
    admin = ali_policy({"Effect": "Allow", "Action": "*", "Resource": "*"})
    assert stack(common.NO_WILDCARD_ACTION, (common.ALI_POLICY, admin))
    listed = ali_policy({"Effect": "Allow", "Action": ["ecs:DescribeInstances"], "Resource": "*"})
    assert not stack(common.NO_WILDCARD_ACTION, (common.ALI_POLICY, listed))
    deny_all = ali_policy({"Effect": "Deny", "Action": "*", "Resource": "*"})
    assert not stack(common.NO_WILDCARD_ACTION, (common.ALI_POLICY, deny_all))
    ceiling = aws_policy("Boundary", {"Effect": "Allow", "Action": "*", "Resource": "*"})
    role = {"name": "R", "permissionsBoundary": "arn:aws:iam::111122223333:policy/Boundary"}
    assert not stack(common.NO_WILDCARD_ACTION, (common.AWS_POLICY, ceiling), (common.AWS_ROLE, role))
    assert stack(common.NO_WILDCARD_ACTION, (common.AWS_POLICY, ceiling))


def test_a_service_wildcard_passes_with_the_seeds_tag_condition_and_is_flagged_without():
    tagged = ali_policy(
        {
            "Effect": "Allow",
            "Action": "eci:*",
            "Resource": "*",
            "Condition": {"StringEquals": {"acs:ResourceTag/env": "test"}},
        }
    )
    assert not stack(common.NO_UNCONDITIONED_SERVICE_WILDCARD, (common.ALI_POLICY, tagged))
    deployment = aws_policy(
        "Deploy", {"Sid": "ECSFullAccess", "Effect": "Allow", "Action": ["ecs:*"], "Resource": "*"}
    )
    [message] = stack(common.NO_UNCONDITIONED_SERVICE_WILDCARD, (common.AWS_POLICY, deployment))
    assert "ECSFullAccess" in message and "ecs:*" in message
    assert common.NO_UNCONDITIONED_SERVICE_WILDCARD.enforcement_level == EnforcementLevel.ADVISORY


def test_passrole_needs_passed_to_service_or_named_roles():
    seed_004 = {
        "Effect": "Allow",
        "Action": ["iam:PassRole"],
        "Resource": "*",
        "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
    }
    assert not stack(common.PASSROLE_CONDITIONED, (common.AWS_POLICY, aws_policy("Deploy", seed_004)))
    named = {
        "Effect": "Allow",
        "Action": "iam:PassRole",
        "Resource": "arn:aws:iam::*:role/ecsTaskExecutionRole",
    }
    assert not stack(common.PASSROLE_CONDITIONED, (common.AWS_POLICY, aws_policy("Express", named)))
    bare = {"Effect": "Allow", "Action": "iam:*", "Resource": "*"}
    [message] = stack(common.PASSROLE_CONDITIONED, (common.AWS_POLICY, aws_policy("Wide", bare)))
    assert "iam:PassedToService" in message


def test_ram_passrole_names_the_role_arn():
    seed_002 = {"Effect": "Allow", "Action": "ram:PassRole", "Resource": "acs:ram:*:*:role/ECIRamRoleTest"}
    assert not stack(common.PASSROLE_CONDITIONED, (common.ALI_POLICY, ali_policy(seed_002)))
    for resource in ("*", "acs:ram:*:*:role/*"):
        wide = {"Effect": "Allow", "Action": "ram:PassRole", "Resource": resource}
        assert stack(common.PASSROLE_CONDITIONED, (common.ALI_POLICY, ali_policy(wide)))


def test_a_trust_policy_names_a_service_or_account():
    seed_003 = doc(
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": ["ecs.aliyuncs.com"]}}
    )
    assert not check(common.TRUST_NAMES_PRINCIPAL, common.ALI_ROLE, {"assumeRolePolicyDocument": seed_003})
    for principal in ("*", {"RAM": ["*"]}, {"Service": ["*.aliyuncs.com"]}):
        anyone = doc({"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": principal})
        assert check(common.TRUST_NAMES_PRINCIPAL, common.ALI_ROLE, {"assumeRolePolicyDocument": anyone})
    account = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "sts:AssumeRole",
                    "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
                }
            ],
        }
    )
    assert not check(common.TRUST_NAMES_PRINCIPAL, common.AWS_ROLE, {"assumeRolePolicy": account})
    everyone = account.replace('"arn:aws:iam::111122223333:root"', '"*"')
    assert check(common.TRUST_NAMES_PRINCIPAL, common.AWS_ROLE, {"assumeRolePolicy": everyone})


# --- identities and secrets ----------------------------------------------------------------------


def test_production_identities_are_protected():
    user = {"name": "commandUser", "tags": PROD_TAGS}
    assert check(common.IDENTITIES_PROTECTED_IN_PROD, common.ALI_USER, user)
    assert not check(common.IDENTITIES_PROTECTED_IN_PROD, common.ALI_USER, user, protect=True)
    assert not check(common.IDENTITIES_PROTECTED_IN_PROD, common.ALI_USER, {"name": "u", "tags": DEV_TAGS})
    # AWS roles carry the environment in the provider's default tags.
    aws_prod = {"defaultTags": json.dumps({"tags": {"Environment": "prod"}})}
    assert check(common.IDENTITIES_PROTECTED_IN_PROD, common.AWS_ROLE, {"name": "R"}, provider=aws_prod)
    # The pack config can say which stack this is when nothing is tagged.
    assert check(
        common.IDENTITIES_PROTECTED_IN_PROD, common.AWS_POLICY, {"name": "P"}, config={"environment": "prod"}
    )


def test_secret_inputs_travel_as_secrets():
    login = {"userName": "u", "password": "correct horse battery"}
    [message] = check(common.NO_PLAINTEXT_SECRET_INPUTS, common.ALI_LOGIN, login)
    assert "password is not marked secret" in message and "correct horse" not in message
    assert not check(common.NO_PLAINTEXT_SECRET_INPUTS, common.ALI_LOGIN, login, secrets=("password",))
    assert not check(
        common.NO_PLAINTEXT_SECRET_INPUTS, common.ALI_LOGIN, {"userName": "u", "password": "[secret]"}
    )
    parameter = {"secretParameterName": "axtSecretPassword", "value": "plain", "type": "Secret"}
    assert check(common.NO_PLAINTEXT_SECRET_INPUTS, common.ALI_SECRET_PARAMETER, parameter)
    assert not check(
        common.NO_PLAINTEXT_SECRET_INPUTS, common.ALI_SECRET_PARAMETER, parameter, secrets=("value",)
    )


def test_no_ram_user_is_an_administrator():
    admin = {"userName": "u", "policyName": "AdministratorAccess", "policyType": "System"}
    assert check(ali_rules.NO_ADMINISTRATOR_ON_USER, common.ALI_USER_ATTACHMENT, admin)
    read_only = {**admin, "policyName": "AliyunECSReadOnlyAccess"}
    assert not check(ali_rules.NO_ADMINISTRATOR_ON_USER, common.ALI_USER_ATTACHMENT, read_only)


def test_prod_console_users_bind_mfa_read_from_their_users_tags():
    user = (common.ALI_USER, {"name": "commandUser", "tags": PROD_TAGS})
    without = (common.ALI_LOGIN, {"userName": "commandUser", "mfaBindRequired": False})
    with_mfa = (common.ALI_LOGIN, {"userName": "commandUser", "mfaBindRequired": True})
    [message] = stack(ali_rules.PROD_CONSOLE_MFA, user, without)
    assert "commandUser" in message and "mfaBindRequired" in message
    assert not stack(ali_rules.PROD_CONSOLE_MFA, user, with_mfa)
    dev_user = (common.ALI_USER, {"name": "commandUser", "tags": DEV_TAGS})
    assert not stack(ali_rules.PROD_CONSOLE_MFA, dev_user, without)
    assert stack(ali_rules.PROD_CONSOLE_MFA, dev_user, without, config={"environment": "prod"})


def test_prod_scoped_scenarios_name_region_and_account():
    patch = "ecs-access-baseline:alicloud:PatchManagement"
    arn = "acs:ecs:cn-hangzhou:5098765432109876:instance/*"
    scoped = ali_policy({"Effect": "Allow", "Action": "ecs:InvokeCommand", "Resource": [arn]}, tags=PROD_TAGS)
    rule, kind = ali_rules.PROD_SCOPED_RESOURCES, common.ALI_POLICY
    assert not check(rule, kind, scoped, component=patch, name="patch-management-policy")
    for wide in ("*", "acs:ecs:*:*:instance/*"):
        props = ali_policy(
            {"Effect": "Allow", "Action": "ecs:InvokeCommand", "Resource": [wide]}, tags=PROD_TAGS
        )
        assert check(rule, kind, props, component=patch, name="patch-management-policy")
        # The same "*" is the guide's form in dev, and outside the scoped scenarios.
        dev = {**props, "tags": DEV_TAGS}
        assert not check(rule, kind, dev, component=patch, name="patch-management-policy")
        assert not check(rule, kind, props, component="ecs-access-baseline:alicloud:EciAccess", name="eci-x")
    # Actions with no resource-level permission (the reference prints * only) cannot be scoped.
    states = ["oos:ListInstancePatches", "oos:ListInstancePatchStates"]
    unscoped = ali_policy({"Effect": "Allow", "Action": states, "Resource": "*"}, tags=PROD_TAGS)
    assert not check(rule, kind, unscoped, component=patch, name="patch-management-policy")
    mixed = ali_policy(
        {"Effect": "Allow", "Action": [*states, "oos:ListExecutions"], "Resource": "*"}, tags=PROD_TAGS
    )
    assert check(rule, kind, mixed, component=patch, name="patch-management-policy")
    windows = "ecs-access-baseline:alicloud:CloudAssistantWindows"
    star = ali_policy({"Effect": "Allow", "Action": "ecs:RunCommand", "Resource": "*"}, tags=PROD_TAGS)
    assert check(rule, kind, star, component=windows, name="cloud-assistant-windows-command-policy")
    # Since issue #10 the S3 KMS and secret-reader policies are scoped in prod as well.
    assert check(rule, kind, star, component=windows, name="cloud-assistant-windows-kms-policy")
    # OSS ARNs carry region "*" (a bucket is named account-wide): a named bucket of the account is
    # scoped, any bucket or any account is not.
    s4 = "ecs-access-baseline:alicloud:EcsInstanceRole"
    for resource, wide in (
        ("acs:oss:*:5098765432109876:prod-web-assets/*", False),
        ("acs:oss:*:*:prod-web-assets", True),
        ("acs:oss:*:5098765432109876:*", True),
        ("*", True),
    ):
        read = ali_policy(
            {"Effect": "Allow", "Action": "oss:GetObject", "Resource": [resource]}, tags=PROD_TAGS
        )
        assert bool(check(rule, kind, read, component=s4, name="ecs-instance-role-instance-policy")) is wide


def test_oos_secrets_are_encrypted_secret_parameters():
    rule = ali_rules.SECRET_PARAMETER_ENCRYPTED
    good = {"secretParameterName": "axtSecretPassword", "type": "Secret", "value": "[secret]"}
    assert not check(rule, common.ALI_SECRET_PARAMETER, good)
    assert not check(rule, common.ALI_SECRET_PARAMETER, {**good, "keyId": "key-hzz123"})
    assert check(rule, common.ALI_SECRET_PARAMETER, {**good, "type": "String"})
    assert check(rule, common.ALI_SECRET_PARAMETER, {**good, "keyId": " "})
    plain = {"parameterName": "axtSecretPassword", "type": "String", "value": "x"}
    assert check(rule, common.ALI_PARAMETER, plain)
    assert not check(rule, common.ALI_PARAMETER, {**plain, "parameterName": "patchWindow"})


def test_prod_console_users_should_not_hold_access_keys():
    user = (common.ALI_USER, {"name": "u", "tags": PROD_TAGS})
    login = (common.ALI_LOGIN, {"userName": "u", "mfaBindRequired": True})
    key = (common.ALI_ACCESS_KEY, {"userName": "u"})
    assert stack(ali_rules.ACCESS_KEY_WITH_CONSOLE_IN_PROD, user, login, key)
    assert not stack(ali_rules.ACCESS_KEY_WITH_CONSOLE_IN_PROD, user, key)
    assert not stack(
        ali_rules.ACCESS_KEY_WITH_CONSOLE_IN_PROD,
        (common.ALI_USER, {"name": "u", "tags": DEV_TAGS}),
        login,
        key,
    )
    assert ali_rules.ACCESS_KEY_WITH_CONSOLE_IN_PROD.enforcement_level == EnforcementLevel.ADVISORY


@pytest.mark.parametrize("environment", ["staging", "prod", "production"])
def test_in_strict_stacks_people_run_commands_only_as_allow_listed_regular_users(environment):
    rule = ali_rules.COMMANDS_AS_NAMED_USERS
    tags = {"environment": environment}
    run = {"Effect": "Allow", "Action": ["ecs:RunCommand", "ecs:DescribeInstances"], "Resource": "*"}

    def verdict(statement: dict, kind: str = common.ALI_USER_ATTACHMENT) -> list[str]:
        policy = (common.ALI_POLICY, {"policyName": "cmd", "policyDocument": doc(statement), "tags": tags})
        key = "userName" if kind == common.ALI_USER_ATTACHMENT else "roleName"
        attachment = (kind, {key: "u", "policyName": "cmd", "policyType": "Custom"})
        return stack(rule, (common.ALI_USER, {"name": "u", "tags": tags}), policy, attachment)

    allow_list = {**run, "Condition": {"StringEquals": {"ecs:CommandRunAs": ["user01"]}}}
    assert not verdict(allow_list)
    # The guide's deny-list, no condition at all, or a privileged account in the allow-list.
    deny_list = {**run, "Condition": {"StringNotEqualsIgnoreCase": {"ecs:CommandRunAs": ["root", "system"]}}}
    assert "naming no OS user" in verdict(deny_list)[0]
    assert verdict({**run, "Action": "ecs:*"})
    not_action = {"Effect": "Allow", "NotAction": ["ram:*"], "Resource": "*"}
    assert verdict(not_action)
    admin = {**run, "Condition": {"StringEquals": {"ecs:CommandRunAs": ["user01", "Administrator"]}}}
    assert "'Administrator'" in verdict(admin)[0]
    # A service role is no person (the OOS patch role runs the patch command as root by design).
    assert not verdict(run, common.ALI_ROLE_ATTACHMENT)
    # dev keeps the guide's forms.
    tags["environment"] = "dev"
    assert not verdict(deny_list)


def test_full_access_system_policies_are_not_account_wide_in_prod():
    user = (common.ALI_USER, {"name": "op", "tags": PROD_TAGS})
    full = (
        common.ALI_USER_ATTACHMENT,
        {"userName": "op", "policyName": "AliyunECSFullAccess", "policyType": "System"},
    )
    [message] = stack(ali_rules.NO_ACCOUNT_WIDE_FULL_ACCESS_IN_PROD, user, full)
    assert "AliyunECSFullAccess" in message
    read = (
        common.ALI_USER_ATTACHMENT,
        {"userName": "op", "policyName": "AliyunECSReadOnlyAccess", "policyType": "System"},
    )
    assert not stack(ali_rules.NO_ACCOUNT_WIDE_FULL_ACCESS_IN_PROD, user, read)
    assert not stack(
        ali_rules.NO_ACCOUNT_WIDE_FULL_ACCESS_IN_PROD,
        (common.ALI_USER, {"name": "op", "tags": DEV_TAGS}),
        full,
    )


def test_every_iam_role_has_a_permissions_boundary():
    role = {"name": "EcsMcpTroubleshootingRole", "assumeRolePolicy": "{}"}
    [message] = check(aws_rules.ROLE_PERMISSIONS_BOUNDARY, common.AWS_ROLE, role)
    assert "EcsMcpTroubleshootingRole" in message
    bounded = {**role, "permissionsBoundary": "arn:aws:iam::111122223333:policy/Boundary"}
    assert not check(aws_rules.ROLE_PERMISSIONS_BOUNDARY, common.AWS_ROLE, bounded)


def test_no_aws_principal_gets_administrator_access():
    admin = "arn:aws:iam::aws:policy/AdministratorAccess"
    attachment = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
    assert check(aws_rules.NO_AWS_ADMINISTRATOR_ACCESS, attachment, {"role": "R", "policyArn": admin})
    assert check(
        aws_rules.NO_AWS_ADMINISTRATOR_ACCESS, common.AWS_ROLE, {"name": "R", "managedPolicyArns": [admin]}
    )
    own = "arn:aws:iam::111122223333:policy/EcsMcpReadOnlyMonitoringPolicy"
    assert not check(aws_rules.NO_AWS_ADMINISTRATOR_ACCESS, attachment, {"role": "R", "policyArn": own})


# --- the pack over plans -------------------------------------------------------------------------


# Every stack file in stacks/ (the pipeline stack and the starter too: the PR workflow runs the pack
# on them), found on disk so a new stack file, or an organisation's own, is covered as it is.
@pytest.mark.shipped
@pytest.mark.parametrize("name", shipped_stacks())
def test_the_checked_in_stacks_pass_every_mandatory_rule(name):
    mandatory = [v for v in offline.run(shipped_plan(name)) if v.mandatory]
    assert mandatory == []


def test_the_adapter_hands_rules_what_the_engine_would():
    plan = plan_of("prod")
    adapted = {a.name: a for a in offline.adapt(plan)}
    login = adapted["cloud-assistant-linux-command-user-login"].resource_args
    assert login.opts.additional_secret_outputs == ["password"]
    assert (
        "ecs-access-baseline:alicloud:CloudAssistantLinux$ecs-access-baseline:alicloud:RamUser$" in login.urn
    )
    policy = adapted["patch-management-policy"].resource_args
    assert policy.opts.protect and policy.provider.resource_type == "pulumi:providers:alicloud"
    assert adapted["patch-management-policy"].stack_resource.parent.name == "patch-management"


def test_a_prod_plan_with_an_unprotected_user_fails(capsys):
    # Config validation refuses protectIdentities: false in prod, so the test mutates the plan.
    plan = copy.deepcopy(plan_of("prod"))
    user = next(r for r in plan["resources"] if r["type"] == common.ALI_USER)
    user["protect"] = False
    [violation] = [v for v in offline.run(plan) if v.mandatory]
    assert (violation.rule, violation.resource) == ("identities-protected-in-prod", user["name"])


@pytest.mark.parametrize("path", BAD_STACKS, ids=lambda p: p.stem)
def test_a_bad_stack_that_config_validation_allows_fails_the_pack(path, capsys):
    rule, words = (
        part.strip() for part in path.read_text().splitlines()[0].removeprefix("# expect-rule:").split("|")
    )
    render_file(path)  # configuration validation lets it through
    code = main(["policy", "--stack", "bad", "--config-file", str(path)])
    out = capsys.readouterr().out
    assert code == 1
    line = next(line for line in out.splitlines() if line.startswith("MANDATORY") and f"  {rule}  " in line)
    assert words in line


def test_advisories_are_reported_but_only_mandatory_rules_fail(capsys):
    plan = copy.deepcopy(plan_of("dev"))
    wide = {"Effect": "Allow", "Action": ["ecs:*"], "Resource": "*"}
    policy = next(r for r in plan["resources"] if r["type"] == common.ALI_POLICY)
    policy["inputs"]["policyDocument"] = doc(wide)
    violations = offline.run(plan)
    assert [(v.rule, v.level) for v in violations] == [("no-unconditioned-service-wildcard", "advisory")]
    assert "ADVISORY" in offline.to_text(violations, "dev")
    assert main(["policy", "--stack", "prod"]) == 0
    assert "MANDATORY" not in capsys.readouterr().out


# --- the pack as the engine drives it -----------------------------------------------------------


def _analyzer():
    from pulumi_policy.policy import _PolicyAnalyzerServicer

    return _PolicyAnalyzerServicer(
        "ecs-access-baseline", "0.1.0", POLICIES, EnforcementLevel.ADVISORY, *([None] * 7)
    )


def test_the_engine_sees_every_rule_with_its_config_schema():
    info = _analyzer().GetAnalyzerInfo(None, None)
    assert [p.name for p in info.policies] == [p.name for p in POLICIES]
    scoped = next(p for p in info.policies if p.name == "prod-scoped-resources")
    assert "scopedPolicies" in scoped.configSchema.properties


def test_a_secret_input_reaches_validators_as_plaintext_so_the_rule_reads_secret_outputs():
    from google.protobuf import struct_pb2
    from pulumi.runtime.proto import analyzer_pb2

    secret = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "value": "s3cret-pass"}
    properties = struct_pb2.Struct()
    properties.update({"userName": "commandUser", "password": secret, "mfaBindRequired": True})

    def analyze(secret_outputs: list[str]) -> list[str]:
        request = analyzer_pb2.AnalyzeRequest(
            type=common.ALI_LOGIN,
            properties=properties,
            urn=urn(common.ALI_LOGIN, "login"),
            name="login",
            options=analyzer_pb2.AnalyzerResourceOptions(additionalSecretOutputs=secret_outputs),
        )
        response = _analyzer().Analyze(request, None)
        return [d.policyName for d in response.diagnostics]

    # Marked secret by the SDK's wire format alone, the value still arrives as plaintext...
    assert "no-plaintext-secret-inputs" in analyze([])
    # ...so the component lists it in additionalSecretOutputs, which the engine forwards.
    assert "no-plaintext-secret-inputs" not in analyze(["password"])


def test_role_changes_need_the_boundary_condition_and_never_put_role_policy():
    rule = aws_rules.ROLE_CHANGES_NEED_BOUNDARY
    guide = aws_policy(
        "Deploy",
        {
            "Sid": "IAMRoleManagement",
            "Effect": "Allow",
            "Action": ["iam:CreateRole", "iam:AttachRolePolicy"],
            "Resource": "*",
        },
    )
    [message] = stack(rule, (common.AWS_POLICY, guide))
    assert "IAMRoleManagement" in message and "iam:PermissionsBoundary" in message
    bounded = aws_policy(
        "Deploy",
        {
            "Effect": "Allow",
            "Action": ["iam:CreateRole"],
            "Resource": "arn:aws:iam::111122223333:role/ecs-mcp-*",
            "Condition": {"ArnEquals": {"iam:PermissionsBoundary": "arn:aws:iam::111122223333:policy/B"}},
        },
    )
    assert not stack(rule, (common.AWS_POLICY, bounded))
    inline = aws_policy("Deploy", {"Effect": "Allow", "Action": "iam:PutRolePolicy", "Resource": "*"})
    [message] = stack(rule, (common.AWS_POLICY, inline))
    assert "PutRolePolicy" in message
    # iam:* grants role changes too; a boundary's own ceiling is not a grant.
    assert stack(
        rule, (common.AWS_POLICY, aws_policy("Wide", {"Effect": "Allow", "Action": "iam:*", "Resource": "*"}))
    )
    ceiling = aws_policy("Boundary", {"Effect": "Allow", "Action": "iam:CreateRole", "Resource": "*"})
    role = {"name": "R", "permissionsBoundary": "arn:aws:iam::111122223333:policy/Boundary"}
    assert not stack(rule, (common.AWS_POLICY, ceiling), (common.AWS_ROLE, role))
    assert rule.enforcement_level == EnforcementLevel.MANDATORY


def test_a_named_ram_role_of_a_named_account_is_scoped_whatever_its_region_part():
    """RAM is global; ECS names the role of AttachInstanceRamRole with the call's region, so a prod
    statement names the role with '*' there. A wildcard account or role name is still wide."""
    from policy.rules.alicloud import _wide

    assert _wide("acs:ram:*:5098765432109876:role/EcsRamRoleDocumentTesting") is None
    assert _wide("acs:ram:*:*:role/EcsRamRoleDocumentTesting") == "every region or account"
    assert _wide("acs:ram:*:5098765432109876:role/*") == "every region or account"
    assert _wide("acs:ecs:*:5098765432109876:instance/i-1") == "every region or account"
