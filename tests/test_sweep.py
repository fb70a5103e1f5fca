"""The sweeper removes what failed test runs left behind, and never anything else.

AWS runs against moto (a real IAM API, in memory); Alibaba Cloud runs against a fake RAM client
that speaks the official SDK's request and response models and refuses deletes the way RAM does
(a user with keys, a policy with versions or attachments).
"""

from __future__ import annotations

import contextlib
import io
import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from alibabacloud_ram20150501 import models
from alibabacloud_resourcemanager20200331 import models as rm
from alibabacloud_tea_openapi.exceptions import ClientException
from conftest import FIXTURES, STACKS_DIR
from moto import mock_aws

from baseline import cli
from baseline.errors import ConfigError
from baseline.ops import sweep

PREFIX = "pr12-"
LATER = datetime.now(UTC) + timedelta(hours=3)  # every seeded identity is 3h old by then
TAGS = [{"Key": "managed-by", "Value": "pulumi"}]


def groups_of(cloud, client):
    """The fake RAM serves Resource Manager's policy-attachment calls too."""
    return client if cloud == "alicloud" else None


def run(cloud, client, *, delete=False, now=LATER, prefix=PREFIX, older_than="2h"):
    out = io.StringIO()
    code = sweep.run(
        cloud,
        prefix,
        older_than=older_than,
        delete=delete,
        client=client,
        groups=groups_of(cloud, client),
        now=now,
        out=out,
    )
    return code, out.getvalue()


def section(output: str, header: str) -> list[str]:
    """The indented lines under a header such as ``Steps (9):``."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    block = []
    for line in lines[start + 1 :]:
        if not line.startswith("  "):
            break
        block.append(line.strip())
    return block


def dry_run_steps(output: str) -> list[str]:
    return section(output, "Steps")


def deletion_log(output: str) -> list[str]:
    return [line.removeprefix("done ") for line in section(output, "Steps") if line.startswith("done ")]


def swept_names(output: str) -> set[str]:
    return {line.split()[1] for line in section(output, "Identities to delete")}


# ---------------------------------------------------------------------------------------------
# AWS


@pytest.fixture
def iam(monkeypatch):
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        client = boto3.client("iam")
        seed_aws(client)
        yield client


def _policy(client, name, tags=TAGS):
    document = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecs:List*","Resource":"*"}]}'
    return client.create_policy(PolicyName=name, PolicyDocument=document, Tags=tags)["Policy"]["Arn"]


def seed_aws(client):
    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        }
    )
    document = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "ecs:Describe*", "Resource": "*"}],
        }
    )
    # What a failed run of test stack pr12 left: a user with everything, a role, a policy.
    policy = _policy(client, "pr12-ecs-readonly")
    client.create_policy_version(PolicyArn=policy, PolicyDocument=document, SetAsDefault=True)
    client.create_policy_version(PolicyArn=policy, PolicyDocument=document, SetAsDefault=False)
    client.create_user(UserName="pr12-operator", Tags=TAGS)
    client.attach_user_policy(UserName="pr12-operator", PolicyArn=policy)
    client.put_user_policy(UserName="pr12-operator", PolicyName="inline", PolicyDocument=document)
    client.create_access_key(UserName="pr12-operator")
    client.create_login_profile(UserName="pr12-operator", Password="Aa1!aaaaaaaaaaaa")
    client.create_group(GroupName="testers")
    client.add_user_to_group(UserName="pr12-operator", GroupName="testers")
    client.create_role(
        RoleName="pr12-mcp-readonly",
        AssumeRolePolicyDocument=trust,
        Tags=[{"Key": "ManagedBy", "Value": "Pulumi"}],
    )
    client.attach_role_policy(RoleName="pr12-mcp-readonly", PolicyArn=policy)
    client.put_role_policy(RoleName="pr12-mcp-readonly", PolicyName="inline", PolicyDocument=document)
    client.create_instance_profile(InstanceProfileName="pr12-profile")
    client.add_role_to_instance_profile(InstanceProfileName="pr12-profile", RoleName="pr12-mcp-readonly")
    # Decoys: the same name without the prefix, the prefix in the middle, an untagged one, and
    # a tagged policy that a principal outside the prefix still uses.
    client.create_user(UserName="operator", Tags=TAGS)
    client.create_user(UserName="app-pr12-operator", Tags=TAGS)
    client.create_user(UserName="pr12-handmade")
    shared = _policy(client, "pr12-shared")
    client.attach_user_policy(UserName="operator", PolicyArn=shared)
    client.create_role(RoleName="mcp-readonly", AssumeRolePolicyDocument=trust, Tags=TAGS)


def aws_names(client) -> set[str]:
    users = {u["UserName"] for u in client.list_users()["Users"]}
    roles = {r["RoleName"] for r in client.list_roles()["Roles"]}
    policies = {p["PolicyName"] for p in client.list_policies(Scope="Local")["Policies"]}
    return users | roles | policies


def test_aws_dry_run_lists_the_leftovers_and_deletes_nothing(iam):
    before = aws_names(iam)
    code, out = run("aws", iam)
    assert code == 0
    assert swept_names(out) == {"pr12-operator", "pr12-mcp-readonly", "pr12-ecs-readonly"}
    assert aws_names(iam) == before


def test_aws_delete_removes_exactly_what_the_dry_run_listed(iam):
    _, dry = run("aws", iam)
    code, out = run("aws", iam, delete=True)
    assert code == 0
    assert deletion_log(out) == dry_run_steps(dry)
    assert aws_names(iam) == {"operator", "app-pr12-operator", "pr12-handmade", "pr12-shared", "mcp-readonly"}
    assert iam.get_group(GroupName="testers")["Group"]["GroupName"] == "testers"
    assert iam.get_instance_profile(InstanceProfileName="pr12-profile")["InstanceProfile"]["Roles"] == []


def test_aws_names_outside_the_prefix_are_never_touched(iam):
    _, out = run("aws", iam)
    for step in dry_run_steps(out):
        _action, _kind, name, *_ = step.split()
        assert name.startswith(PREFIX), step


def test_aws_untagged_and_shared_identities_are_left_alone_with_a_reason(iam):
    _, out = run("aws", iam)
    left = "\n".join(section(out, "Left alone"))
    assert "pr12-handmade  no managed-by=pulumi marker" in left
    assert "pr12-shared  attached to user 'operator'" in left


def test_aws_steps_run_in_dependency_order(iam):
    _, out = run("aws", iam)
    steps = dry_run_steps(out)

    def index(prefix):
        return next(i for i, s in enumerate(steps) if s.startswith(prefix))

    assert index("delete user pr12-operator") > max(
        index("detach-policy user"),
        index("delete-inline-policy user"),
        index("remove-from-group user"),
        index("delete-access-key user"),
        index("delete-login-profile user"),
    )
    assert index("delete role pr12-mcp-readonly") > max(
        index("detach-policy role"), index("delete-inline-policy role"), index("remove-from-instance-profile")
    )
    assert index("delete policy pr12-ecs-readonly") > index("delete-policy-version policy pr12-ecs-readonly")
    assert index("delete user") < index("delete role") < index("delete policy")
    versions = [s for s in steps if s.startswith("delete-policy-version")]
    assert len(versions) == 2  # v1 and v3; v2 is the default and goes with the policy


def test_aws_identities_younger_than_the_threshold_are_spared(iam):
    code, out = run("aws", iam, now=datetime.now(UTC), delete=True)
    assert code == 0
    assert swept_names(out) == set()
    assert "pr12-operator" in aws_names(iam)
    assert "younger than 2h" in "\n".join(section(out, "Left alone"))


def test_aws_a_failed_step_skips_its_identity_only_and_exits_1(iam, monkeypatch, capsys):
    monkeypatch.setattr(
        iam, "delete_login_profile", lambda **kw: (_ for _ in ()).throw(RuntimeError("throttled"))
    )
    code, out = run("aws", iam, delete=True)
    err = capsys.readouterr().err
    assert code == 1
    assert "FAILED delete-login-profile user pr12-operator" in out
    assert "skipped delete user pr12-operator" in out
    assert "throttled" in err and "Fix:" in err and "user pr12-operator" in err
    assert "pr12-operator" in aws_names(iam)
    # The role and the policy after the failed user are still swept (the user's detach ran first).
    assert not {"pr12-mcp-readonly", "pr12-ecs-readonly"} & aws_names(iam)
    assert "Deleted 2 of 3 identities; 1 not (errors below)." in out


# ---------------------------------------------------------------------------------------------
# Alibaba Cloud


def created(hours_ago: float) -> str:
    return (LATER - timedelta(hours=hours_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


class FakeRam:
    """RAM over in-memory data; answers with the SDK's models, pages two items at a time."""

    PAGE = 2

    def __init__(self) -> None:
        self.users: dict[str, dict] = {}
        self.roles: dict[str, dict] = {}
        self.policies: dict[str, dict] = {}
        # Resource Management's resource-group-scoped attachments (AttachPolicy with a group id).
        self.group_attachments: list[dict] = []
        self.calls: list[str] = []

    # seeding
    def user(self, name, comments="Managed by Pulumi (ecs-access-baseline).", age=3, **extra):
        self.users[name] = {
            "comments": comments,
            "created": created(age),
            "policies": [],
            "keys": [],
            "login": False,
            "groups": [],
            **extra,
        }

    def role(self, name, tags=(("managed-by", "pulumi"),), age=3, trust=None):
        trust = trust or {"Service": ["oos.aliyuncs.com"]}
        document = {"Statement": [{"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": trust}]}
        self.roles[name] = {
            "tags": list(tags),
            "created": created(age),
            "policies": [],
            "trust": json.dumps({**document, "Version": "1"}),
        }

    def attach_in_group(self, kind, principal, policy, group="rg-aek2sandbox01", policy_type="System"):
        """Resource Management's AttachPolicy: names as its API spells them (<user>@<alias>...)."""
        principal_name = f"{principal}@acme-sandbox.onaliyun.com"
        if kind == "role":
            principal_name = f"{principal}@role.acme-sandbox.onaliyun.com"
        self.group_attachments.append(
            {
                "policy": policy,
                "type": policy_type,
                "principal": principal_name,
                "principal_type": "IMSUser" if kind == "user" else "ServiceRole",
                "group": group,
            }
        )

    def _in_groups(self, principal_type, name):
        return [
            a
            for a in self.group_attachments
            if a["principal_type"] == principal_type and a["principal"].partition("@")[0] == name
        ]

    def policy(self, name, tags=(("managed-by", "pulumi"),), versions=("v1",), default="v1", age=3):
        self.policies[name] = {
            "tags": list(tags),
            "created": created(age),
            "versions": list(versions),
            "default": default,
        }

    def attach(self, kind, principal, policy, policy_type="Custom"):
        (self.users if kind == "user" else self.roles)[principal]["policies"].append((policy, policy_type))

    # helpers
    @staticmethod
    def _page(items, marker):
        start = int(marker or 0)
        chunk = items[start : start + FakeRam.PAGE]
        more = start + FakeRam.PAGE < len(items)
        return chunk, more, str(start + FakeRam.PAGE) if more else None

    @staticmethod
    def _error(code):
        raise ClientException(code=code, message=code, status_code=409)

    def _tags(self, cls, tag_cls, tags):
        return cls(tag=[tag_cls(tag_key=k, tag_value=v) for k, v in tags])

    # the SDK surface the sweeper uses
    def list_users(self, request):
        assert isinstance(request, models.ListUsersRequest)
        chunk, more, marker = self._page(sorted(self.users), request.marker)
        users = [
            models.ListUsersResponseBodyUsersUser(
                user_name=n, comments=self.users[n]["comments"], create_date=self.users[n]["created"]
            )
            for n in chunk
        ]
        body = models.ListUsersResponseBody(
            users=models.ListUsersResponseBodyUsers(user=users), is_truncated=more, marker=marker
        )
        return models.ListUsersResponse(body=body)

    def list_roles(self, request):
        assert isinstance(request, models.ListRolesRequest)
        chunk, more, marker = self._page(sorted(self.roles), request.marker)
        roles = [
            models.ListRolesResponseBodyRolesRole(
                role_name=n,
                create_date=self.roles[n]["created"],
                tags=self._tags(
                    models.ListRolesResponseBodyRolesRoleTags,
                    models.ListRolesResponseBodyRolesRoleTagsTag,
                    self.roles[n]["tags"],
                ),
            )
            for n in chunk
        ]
        body = models.ListRolesResponseBody(
            roles=models.ListRolesResponseBodyRoles(role=roles), is_truncated=more, marker=marker
        )
        return models.ListRolesResponse(body=body)

    def list_policies(self, request):
        assert isinstance(request, models.ListPoliciesRequest) and request.policy_type == "Custom"
        chunk, more, marker = self._page(sorted(self.policies), request.marker)
        policies = [
            models.ListPoliciesResponseBodyPoliciesPolicy(
                policy_name=n,
                policy_type="Custom",
                create_date=self.policies[n]["created"],
                tags=self._tags(
                    models.ListPoliciesResponseBodyPoliciesPolicyTags,
                    models.ListPoliciesResponseBodyPoliciesPolicyTagsTag,
                    self.policies[n]["tags"],
                ),
            )
            for n in chunk
        ]
        body = models.ListPoliciesResponseBody(
            policies=models.ListPoliciesResponseBodyPolicies(policy=policies),
            is_truncated=more,
            marker=marker,
        )
        return models.ListPoliciesResponse(body=body)

    def get_role(self, request):
        assert isinstance(request, models.GetRoleRequest)
        role = models.GetRoleResponseBodyRole(
            role_name=request.role_name, assume_role_policy_document=self.roles[request.role_name]["trust"]
        )
        return models.GetRoleResponse(body=models.GetRoleResponseBody(role=role))

    def list_policy_attachments(self, request):
        assert isinstance(request, rm.ListPolicyAttachmentsRequest)
        # Pages of two whatever the size asked for, so the sweep's paging is exercised.
        # RAM's own (account-scoped) attachments are listed too, with the account id as group.
        account = [
            {
                "policy": policy,
                "type": policy_type,
                "principal": f"{user}@acme-sandbox.onaliyun.com",
                "principal_type": "IMSUser",
                "group": "5055556666777788",
            }
            for user, data in self.users.items()
            for policy, policy_type in data["policies"]
        ]
        every = self.group_attachments + account
        start = (request.page_number - 1) * FakeRam.PAGE
        chunk = every[start : start + FakeRam.PAGE]
        items = [
            rm.ListPolicyAttachmentsResponseBodyPolicyAttachmentsPolicyAttachment(
                policy_name=a["policy"],
                policy_type=a["type"],
                principal_name=a["principal"],
                principal_type=a["principal_type"],
                resource_group_id=a["group"],
            )
            for a in chunk
        ]
        body = rm.ListPolicyAttachmentsResponseBody(
            policy_attachments=rm.ListPolicyAttachmentsResponseBodyPolicyAttachments(policy_attachment=items),
            page_number=request.page_number,
            page_size=FakeRam.PAGE,
            total_count=len(every),
        )
        return rm.ListPolicyAttachmentsResponse(body=body)

    def detach_policy(self, request):
        assert isinstance(request, rm.DetachPolicyRequest)
        wanted = {
            "policy": request.policy_name,
            "type": request.policy_type,
            "principal": request.principal_name,
            "principal_type": request.principal_type,
            "group": request.resource_group_id,
        }
        if wanted not in self.group_attachments:
            self._error("EntityNotExist.Policy.Attachment")
        self.group_attachments.remove(wanted)

    def list_entities_for_policy(self, request):
        assert isinstance(request, models.ListEntitiesForPolicyRequest)
        name = request.policy_name
        users = [u for u, d in self.users.items() if any(p == name for p, _ in d["policies"])]
        roles = [r for r, d in self.roles.items() if any(p == name for p, _ in d["policies"])]
        body = models.ListEntitiesForPolicyResponseBody(
            users=models.ListEntitiesForPolicyResponseBodyUsers(
                user=[models.ListEntitiesForPolicyResponseBodyUsersUser(user_name=u) for u in users]
            ),
            roles=models.ListEntitiesForPolicyResponseBodyRoles(
                role=[models.ListEntitiesForPolicyResponseBodyRolesRole(role_name=r) for r in roles]
            ),
            groups=models.ListEntitiesForPolicyResponseBodyGroups(group=[]),
        )
        return models.ListEntitiesForPolicyResponse(body=body)

    def list_policies_for_user(self, request):
        assert isinstance(request, models.ListPoliciesForUserRequest)
        policies = [
            models.ListPoliciesForUserResponseBodyPoliciesPolicy(policy_name=p, policy_type=t)
            for p, t in self.users[request.user_name]["policies"]
        ]
        body = models.ListPoliciesForUserResponseBody(
            policies=models.ListPoliciesForUserResponseBodyPolicies(policy=policies)
        )
        return models.ListPoliciesForUserResponse(body=body)

    def list_policies_for_role(self, request):
        assert isinstance(request, models.ListPoliciesForRoleRequest)
        policies = [
            models.ListPoliciesForRoleResponseBodyPoliciesPolicy(policy_name=p, policy_type=t)
            for p, t in self.roles[request.role_name]["policies"]
        ]
        body = models.ListPoliciesForRoleResponseBody(
            policies=models.ListPoliciesForRoleResponseBodyPolicies(policy=policies)
        )
        return models.ListPoliciesForRoleResponse(body=body)

    def list_groups_for_user(self, request):
        assert isinstance(request, models.ListGroupsForUserRequest)
        groups = [
            models.ListGroupsForUserResponseBodyGroupsGroup(group_name=g)
            for g in self.users[request.user_name]["groups"]
        ]
        body = models.ListGroupsForUserResponseBody(
            groups=models.ListGroupsForUserResponseBodyGroups(group=groups)
        )
        return models.ListGroupsForUserResponse(body=body)

    def list_access_keys(self, request):
        assert isinstance(request, models.ListAccessKeysRequest)
        keys = [
            models.ListAccessKeysResponseBodyAccessKeysAccessKey(access_key_id=k, status="Active")
            for k in self.users[request.user_name]["keys"]
        ]
        body = models.ListAccessKeysResponseBody(
            access_keys=models.ListAccessKeysResponseBodyAccessKeys(access_key=keys)
        )
        return models.ListAccessKeysResponse(body=body)

    def get_login_profile(self, request):
        assert isinstance(request, models.GetLoginProfileRequest)
        if not self.users[request.user_name]["login"]:
            self._error("EntityNotExist.User.LoginProfile")
        return models.GetLoginProfileResponse(body=models.GetLoginProfileResponseBody())

    def list_policy_versions(self, request):
        assert isinstance(request, models.ListPolicyVersionsRequest)
        policy = self.policies[request.policy_name]
        versions = [
            models.ListPolicyVersionsResponseBodyPolicyVersionsPolicyVersion(
                version_id=v, is_default_version=v == policy["default"]
            )
            for v in policy["versions"]
        ]
        body = models.ListPolicyVersionsResponseBody(
            policy_versions=models.ListPolicyVersionsResponseBodyPolicyVersions(policy_version=versions)
        )
        return models.ListPolicyVersionsResponse(body=body)

    def detach_policy_from_user(self, request):
        assert isinstance(request, models.DetachPolicyFromUserRequest)
        self.calls.append(f"detach {request.user_name} {request.policy_name}")
        self.users[request.user_name]["policies"].remove((request.policy_name, request.policy_type))

    def detach_policy_from_role(self, request):
        assert isinstance(request, models.DetachPolicyFromRoleRequest)
        self.roles[request.role_name]["policies"].remove((request.policy_name, request.policy_type))

    def remove_user_from_group(self, request):
        assert isinstance(request, models.RemoveUserFromGroupRequest)
        self.users[request.user_name]["groups"].remove(request.group_name)

    def delete_access_key(self, request):
        assert isinstance(request, models.DeleteAccessKeyRequest)
        self.users[request.user_name]["keys"].remove(request.user_access_key_id)

    def delete_login_profile(self, request):
        assert isinstance(request, models.DeleteLoginProfileRequest)
        self.users[request.user_name]["login"] = False

    def update_user(self, request):
        """UpdateUser renames a user when NewUserName differs (RAM 2015-05-01's page)."""
        assert isinstance(request, models.UpdateUserRequest)
        if request.new_user_name and request.new_user_name != request.user_name:
            self.users[request.new_user_name] = self.users.pop(request.user_name)

    def delete_user(self, request):
        assert isinstance(request, models.DeleteUserRequest)
        user = self.users[request.user_name]
        if user["policies"] or user["keys"] or user["groups"] or user["login"]:
            self._error("DeleteConflict.User")
        if self._in_groups("IMSUser", request.user_name):
            self._error("DeleteConflict.User.Policy")
        del self.users[request.user_name]

    def delete_role(self, request):
        assert isinstance(request, models.DeleteRoleRequest)
        if self.roles[request.role_name]["policies"] or self._in_groups("ServiceRole", request.role_name):
            self._error("DeleteConflict.Role.Policy")
        del self.roles[request.role_name]

    def delete_policy_version(self, request):
        assert isinstance(request, models.DeletePolicyVersionRequest)
        policy = self.policies[request.policy_name]
        if request.version_id == policy["default"]:
            self._error("DeleteConflict.PolicyVersion.Default")
        policy["versions"].remove(request.version_id)

    def delete_policy(self, request):
        assert isinstance(request, models.DeletePolicyRequest)
        assert not request.cascading_delete, "cascading delete would detach principals outside the prefix"
        name = request.policy_name
        attached = any(
            p == name for d in (*self.users.values(), *self.roles.values()) for p, _ in d["policies"]
        )
        if attached or len(self.policies[name]["versions"]) > 1:
            self._error("DeleteConflict.Policy")
        del self.policies[name]

    def names(self) -> set[str]:
        return set(self.users) | set(self.roles) | set(self.policies)


@pytest.fixture
def ram():
    fake = FakeRam()
    # What a failed run of test stack pr12 left (the S2 scenario's identities).
    fake.policy("pr12-commandUserPolicy", versions=["v1", "v2", "v3"], default="v3")
    fake.user("pr12-commandUser", keys=["LTAI-1", "LTAI-2"], login=True, groups=["testers"])
    fake.attach("user", "pr12-commandUser", "pr12-commandUserPolicy")
    fake.attach("user", "pr12-commandUser", "AliyunECSReadOnlyAccess", "System")
    fake.role("pr12-PatchAutomationRole")
    fake.attach("role", "pr12-PatchAutomationRole", "pr12-commandUserPolicy")
    # Decoys.
    fake.user("commandUser")
    fake.user("dev-pr12-commandUser")
    fake.user("pr12-handmade", comments="created by hand")
    fake.role("pr12-untagged", tags=())
    fake.role("pr12-fresh", age=0.5)
    fake.policy("pr12-shared")
    fake.attach("user", "commandUser", "pr12-shared")
    fake.policy("commandUserPolicy")
    return fake


def test_alicloud_dry_run_lists_the_leftovers_and_deletes_nothing(ram):
    before = ram.names()
    code, out = run("alicloud", ram)
    assert code == 0
    assert swept_names(out) == {"pr12-commandUser", "pr12-PatchAutomationRole", "pr12-commandUserPolicy"}
    assert ram.names() == before


def test_alicloud_delete_removes_exactly_what_the_dry_run_listed(ram):
    _, dry = run("alicloud", ram)
    code, out = run("alicloud", ram, delete=True)
    assert code == 0, out
    assert deletion_log(out) == dry_run_steps(dry)
    assert ram.names() == {
        "commandUser",
        "dev-pr12-commandUser",
        "pr12-handmade",
        "pr12-untagged",
        "pr12-fresh",
        "pr12-shared",
        "commandUserPolicy",
    }


def test_alicloud_leaves_alone_what_is_unmarked_too_young_or_still_used(ram):
    _, out = run("alicloud", ram)
    left = "\n".join(section(out, "Left alone"))
    assert "pr12-handmade  no managed-by=pulumi marker" in left
    assert "pr12-untagged  no managed-by=pulumi marker" in left
    assert "pr12-fresh  younger than 2h" in left
    assert "pr12-shared  attached to user 'commandUser'" in left


def test_alicloud_removes_keys_login_and_non_default_versions_before_the_identities(ram):
    _, out = run("alicloud", ram)
    steps = dry_run_steps(out)
    assert steps.index("delete user pr12-commandUser") > max(
        steps.index("delete-access-key user pr12-commandUser LTAI-1"),
        steps.index("delete-access-key user pr12-commandUser LTAI-2"),
        steps.index("delete-login-profile user pr12-commandUser"),
        steps.index("detach-policy user pr12-commandUser AliyunECSReadOnlyAccess (System)"),
        steps.index("remove-from-group user pr12-commandUser testers"),
    )
    assert [s for s in steps if s.startswith("delete-policy-version")] == [
        "delete-policy-version policy pr12-commandUserPolicy v1",
        "delete-policy-version policy pr12-commandUserPolicy v2",
    ]
    assert steps[-1] == "delete policy pr12-commandUserPolicy"


def test_alicloud_without_credentials_is_refused(monkeypatch, capsys):
    monkeypatch.delenv("ALICLOUD_PROFILE", raising=False)
    monkeypatch.delenv("ALICLOUD_ACCESS_KEY", raising=False)
    monkeypatch.delenv("ALICLOUD_SECRET_KEY", raising=False)
    code = cli.main(["sweep", "--cloud", "alicloud", "--prefix", PREFIX])
    err = capsys.readouterr().err
    assert code == 2
    assert "ALICLOUD_ACCESS_KEY" in err and "Fix:" in err


# ---------------------------------------------------------------------------------------------
# Prefixes that could reach production or a long-lived stack


@pytest.mark.parametrize(
    ("prefix", "words"),
    [
        ("", "at least 3"),
        ("pr", "at least 3"),
        ("*", "at least 3"),
        ("prod-", "production"),
        ("Prod", "production"),
        ("dev-", "'dev'"),
        ("dev-comm", "'dev'"),
        ("stg", "'staging'"),
        ("commandUser", "that stack 'prod"),  # prod or prod-tags, whichever is read first
        ("Patch", "that stack 'prod"),
        ("EcsMcp", "that stack 'prod"),
        # The pipeline's own access: its OIDC providers and deploy/preview roles and policies.
        ("github-", "RAM OIDC provider 'github-actions' that stack 'pipeline'"),
        ("github-prod", "'github-prod-deploy-policy' that stack 'pipeline'"),
        ("GitHub-dev-deploy", "'github-dev-deploy"),
        ("Aliyun", "service-linked role 'AliyunServiceRoleForECI'"),
    ],
)
def test_a_prefix_that_could_reach_production_or_long_lived_stacks_is_refused(prefix, words, capsys):
    code = cli.main(["sweep", "--cloud", "aws", "--prefix", prefix, "--delete"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1
    assert "--prefix" in err and words in err and "Fix:" in err


@pytest.mark.shipped
def test_test_stack_prefixes_are_accepted():
    sweep.check_prefix("pr12-", STACKS_DIR)  # whatever stacks/ holds, test-pr-12's own file too


def test_a_short_test_prefix_is_accepted_where_no_stack_name_starts_with_it():
    sweep.check_prefix("pr1", FIXTURES)  # no example stack's name starts pr1 (a test-pr-12 file's would)


@pytest.mark.shipped
def test_every_name_a_shipped_plan_creates_is_known_to_the_sweep_check():
    """A resource type that creates a name must be in CREATED_NAMES, or the sweep could reach it."""
    from baseline.config import load_stack_file, resolve
    from baseline.plan import render

    unknown = set()
    for path in sorted(STACKS_DIR.glob("Pulumi.*.yaml")):
        stack = path.name.removeprefix("Pulumi.").removesuffix(".yaml")
        for resource in render(resolve(load_stack_file(path, stack)), stack)["resources"]:
            kind = resource["type"]
            if kind.startswith(("pulumi:", "ecs-access-baseline:")) or kind == sweep.SERVICE_LINKED_ROLE:
                continue
            if kind not in sweep.CREATED_NAMES and kind not in sweep.NAMES_NOTHING:
                unknown.add(kind)
    assert not unknown, f"say in sweep.CREATED_NAMES which input names these: {sorted(unknown)}"


def test_a_pr_stack_may_be_swept_with_its_own_prefix_only(tmp_path):
    from baseline.ops import ephemeral

    stacks = tmp_path / "stacks"
    stacks.mkdir()
    (stacks / "Pulumi.pipeline.yaml").write_text((FIXTURES / "Pulumi.pipeline.yaml").read_text())
    ephemeral.write(12, stacks_dir=stacks)
    sweep.check_prefix("pr12-", stacks)
    sweep.check_prefix("pr12-dev", stacks)
    # A shorter prefix would also take PR 12's live stack while sweeping, say, PR 1.
    with pytest.raises(ConfigError) as refused:
        sweep.check_prefix("pr1", stacks)
    assert "the naming prefix 'pr12-'" in str(refused.value) and "'test-pr-12'" in str(refused.value)


def test_a_stack_file_that_does_not_render_refuses_the_sweep(tmp_path):
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    (stacks / "Pulumi.mine.yaml").write_text("config:\n  ecs-access-baseline:environment: production\n")
    with pytest.raises(ConfigError) as refused:
        sweep.check_prefix("pr12-", stacks)
    assert "'mine'" in str(refused.value) and "does not render" in str(refused.value)


@pytest.mark.parametrize(("text", "expected"), [("2h", 7200), ("90m", 5400), ("1d12h", 129600), ("0s", 0)])
def test_older_than_reads_durations(text, expected):
    assert sweep.parse_age(text).total_seconds() == expected


@pytest.mark.parametrize("text", ["", "2", "2 h", "h2", "-1h", "2x"])
def test_older_than_refuses_what_is_not_a_duration(text, capsys):
    code = cli.main(["sweep", "--cloud", "aws", "--prefix", PREFIX, f"--older-than={text}"])
    assert code == 2
    assert "--older-than" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------
# The sandbox sweep: every identity named with the sandbox's prefix, marker or not, by age


def sandbox_run(cloud, client, *, delete=False, now=LATER, older_than="2h", stacks_dir=FIXTURES):
    out = io.StringIO()
    code = sweep.run(
        cloud,
        None,
        older_than=older_than,
        delete=delete,
        sandbox=True,
        client=client,
        groups=groups_of(cloud, client),
        now=now,
        stacks_dir=stacks_dir,
        out=out,
    )
    return code, out.getvalue()


# In a sandbox account the fixtures' decoys outside the prefix stand for identities that got there
# some other way: a sandbox sweep leaves them, lists them and fails (exit 1). Custom policies too:
# one outside the prefix is as much a sign of something gone wrong as a user.
DECOYS = {
    "alicloud": {("user", "commandUser"), ("user", "dev-pr12-commandUser"), ("policy", "commandUserPolicy")},
    "aws": {("role", "mcp-readonly"), ("user", "app-pr12-operator"), ("user", "operator")},
}


def escaped_of(output: str) -> set[tuple[str, str]]:
    return {tuple(line.split()) for line in section(output, "Not pr*, the pipeline's or the cloud's own")}


def assert_only_the_decoys_escaped(code: int, output: str, cloud: str = "alicloud") -> None:
    assert code == 1, output
    assert escaped_of(output) == DECOYS[cloud]


def test_alicloud_sandbox_sweep_removes_a_pull_requests_unmarked_identities_by_age(ram):
    # What a pull request's code leaves as the sandbox's deploy role: a user of its own naming,
    # without the marker, with an AccessKey and an administrator policy of its own.
    ram.policy("prx-admin", tags=())
    ram.user("prx", comments="", keys=["LTAI-X"])
    ram.attach("user", "prx", "prx-admin")
    code, out = sandbox_run("alicloud", ram, delete=True)
    assert_only_the_decoys_escaped(code, out)
    assert "names starting 'pr', any marker (the sandbox)" in out
    assert ram.names() == {
        "commandUser",
        "dev-pr12-commandUser",
        "pr12-fresh",
        "pr12-shared",
        "commandUserPolicy",
    }
    left = "\n".join(section(out, "Left alone"))
    assert "pr12-fresh  younger than 2h" in left
    assert "pr12-shared  attached to user 'commandUser'" in left
    assert "delete-access-key user prx LTAI-X" in deletion_log(out)


def test_alicloud_sandbox_sweep_runs_again_without_finding_anything_new(ram):
    ram.user("prx", comments="")
    assert_only_the_decoys_escaped(*sandbox_run("alicloud", ram, delete=True))
    code, out = sandbox_run("alicloud", ram, delete=True)
    assert_only_the_decoys_escaped(code, out)
    assert section(out, "Identities to delete") == []


def test_alicloud_sandbox_dry_run_deletes_nothing(ram):
    ram.user("prx", comments="")
    before = ram.names()
    code, out = sandbox_run("alicloud", ram)
    assert_only_the_decoys_escaped(code, out)
    assert {"prx", "pr12-handmade", "pr12-untagged"} <= swept_names(out)
    assert ram.names() == before


def test_aws_sandbox_sweep_takes_unmarked_identities_too(iam):
    iam.create_user(UserName="prx")
    code, out = sandbox_run("aws", iam, delete=True)
    assert_only_the_decoys_escaped(code, out, "aws")
    assert not {"prx", "pr12-handmade", "pr12-operator"} & aws_names(iam)
    assert {"operator", "app-pr12-operator", "mcp-readonly", "pr12-shared"} <= aws_names(iam)


def test_the_sandbox_sweep_spares_what_is_younger_than_the_threshold(ram):
    ram.user("prx", comments="", age=0.5)
    _, out = sandbox_run("alicloud", ram, older_than="1h")
    assert "prx" not in swept_names(out)
    assert "prx  younger than 1h" in "\n".join(section(out, "Left alone"))


def test_a_sweep_takes_a_prefix_or_the_sandbox_not_both(capsys):
    for both_or_neither in (["--prefix", PREFIX, "--sandbox"], []):
        code = cli.main(["sweep", "--cloud", "aws", *both_or_neither])
        err = capsys.readouterr().err.strip()
        assert code == 2
        assert len(err.splitlines()) == 1 and "--sandbox" in err and "Fix:" in err
    with pytest.raises(ConfigError) as refused:
        sweep.run("aws", PREFIX, sandbox=True, client=object(), stacks_dir=FIXTURES, out=io.StringIO())
    assert refused.value.key == "--prefix"


def test_the_sandbox_sweep_is_refused_without_a_sandbox_with_sweep_rights(tmp_path):
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    text = (FIXTURES / "Pulumi.pipeline.yaml").read_text().replace("sweep: true", "sweep: false")
    (stacks / "Pulumi.pipeline.yaml").write_text(text)
    with pytest.raises(ConfigError) as refused:
        sweep.run("aws", None, sandbox=True, client=object(), stacks_dir=stacks, out=io.StringIO())
    assert refused.value.key == "--sandbox" and "sweep: true" in str(refused.value)


def test_the_sandbox_prefix_is_refused_when_another_stack_creates_an_identity_with_it(tmp_path):
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    (stacks / "Pulumi.pipeline.yaml").write_text((FIXTURES / "Pulumi.pipeline.yaml").read_text())
    prod = (FIXTURES / "Pulumi.prod.yaml").read_text()
    assert "commandUser" in prod
    (stacks / "Pulumi.prod.yaml").write_text(prod.replace("commandUser", "prCommandUser"))
    with pytest.raises(ConfigError) as refused:
        sweep.check_prefix("pr", stacks, sandbox=True)
    assert "'prCommandUser'" in str(refused.value) and "'prod'" in str(refused.value)


def test_the_sandbox_sweep_spares_open_pull_requests_live_stacks_only(ram):
    ram.user("prx", comments="")
    ram.user("pr15-commandUser", comments="")
    code, out = sandbox_run_with(ram, open_prs="12, 15")
    assert_only_the_decoys_escaped(code, out)
    swept = swept_names(out)
    assert "prx" in swept and not {n for n in swept if n.startswith(("pr12-", "pr15-"))}
    assert "pr15-commandUser  an open pull request's stack (pr15-)" in "\n".join(section(out, "Left alone"))


def sandbox_run_with(client, open_prs, *, cloud="alicloud", delete=False, now=LATER, **options):
    out = io.StringIO()
    code = sweep.run(
        cloud,
        None,
        sandbox=True,
        open_prs=open_prs,
        delete=delete,
        client=client,
        groups=groups_of(cloud, client),
        now=LATER,
        stacks_dir=FIXTURES,
        out=out,
        **options,
    )
    return code, out.getvalue()


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--sandbox", "--open-prs", "12,x"], "by number"),
        (["--prefix", PREFIX, "--open-prs", "12"], "--sandbox"),
    ],
)
def test_open_pull_requests_are_numbers_and_for_the_sandbox_sweep_only(argv, words, capsys):
    code = cli.main(["sweep", "--cloud", "aws", *argv])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and "--open-prs" in err and words in err


# ---------------------------------------------------------------------------------------------
# The sandbox sweep as the sandbox's deploy role: what its policy and the account's control
# policies allow it, asked per call


SANDBOX_ACCOUNT = "5055556666777788"


class DeployerRam(FakeRam):
    """The sandbox's RAM as `github-test-deploy` meets it: each user-level call the sweep makes is
    asked of the pipeline plan's policy for that role under the account's control policies, and
    refused with RAM's NoPermission when denied."""

    def __init__(self) -> None:
        super().__init__()
        from conftest import plan_of

        from baseline.analysis import access, control_policies

        plan = plan_of("pipeline")
        (role,) = access.find_principal(plan, "alicloud:github-test-deploy")
        self.policies_of_role = access.grants_of(plan, role).policies
        self.ceiling, self.caller = control_policies.for_role(
            plan, "alicloud", SANDBOX_ACCOUNT, "github-test-deploy"
        )

    def _ask(self, action: str, *resources: str) -> None:
        from baseline.analysis.evaluator import evaluate_call

        context = {k: list(v) for k, v in self.caller.items()}
        decision = evaluate_call(
            self.policies_of_role, "alicloud", action, list(resources), context, boundary=self.ceiling
        )
        if not decision.allowed:
            raise ClientException(code="NoPermission", message=action, status_code=403)

    @staticmethod
    def _arn(kind: str, name: str) -> str:
        return f"acs:ram:*:{SANDBOX_ACCOUNT}:{kind}/{name}"

    def remove_user_from_group(self, request):
        self._ask(
            "ram:RemoveUserFromGroup",
            self._arn("user", request.user_name),
            self._arn("group", request.group_name),
        )
        super().remove_user_from_group(request)

    def delete_access_key(self, request):
        self._ask("ram:DeleteAccessKey", self._arn("user", request.user_name))
        super().delete_access_key(request)

    def update_user(self, request):
        # Authorised on the user named by UserName, the old name (reference/alicloud/ram.yaml).
        self._ask("ram:UpdateUser", self._arn("user", request.user_name))
        super().update_user(request)

    def delete_user(self, request):
        # DeleteUser's current page prints the ARN without a region (acs:ram::<account>:user/...).
        self._ask("ram:DeleteUser", f"acs:ram::{SANDBOX_ACCOUNT}:user/{request.user_name}")
        super().delete_user(request)

    def get_role(self, request):
        self._ask("ram:GetRole", self._arn("role", request.role_name))
        return super().get_role(request)

    def delete_role(self, request):
        self._ask("ram:DeleteRole", self._arn("role", request.role_name))
        super().delete_role(request)

    # Resource Management's policy-attachment calls, as the Resource Group authorization table
    # authorises them (baseline/analysis/reference/alicloud/ram.yaml): ListPolicyAttachments on
    # the account, DetachPolicy on the policy and the principal.
    def list_policy_attachments(self, request):
        self._ask("ram:ListPolicyAttachments", f"acs:ram:*:{SANDBOX_ACCOUNT}:*")
        return super().list_policy_attachments(request)

    def detach_policy(self, request):
        account = "system" if request.policy_type == "System" else SANDBOX_ACCOUNT
        user = request.principal_name.partition("@")[0]
        assert request.principal_type == "IMSUser", "the deploy role attaches in groups to users only"
        self._ask(
            "ram:DetachPolicy",
            f"acs:ram:*:{account}:policy/{request.policy_name}",
            f"acs:ims:*:{SANDBOX_ACCOUNT}:user/{user}",
        )
        super().detach_policy(request)


def test_the_sandbox_sweep_takes_a_pull_requests_user_out_of_a_group_it_made_itself():
    """A PR-made `prx` that joined a group of its own naming (`zz`) before the control policy denied
    that: the deploy role may take a `pr*` user out of any group, so the sweep does not stop there
    and the user's key goes with it."""
    ram = DeployerRam()
    ram.user("prx", comments="", keys=["LTAI-X"], groups=["zz"])
    code, out = sandbox_run("alicloud", ram, delete=True)
    assert code == 0, out
    assert "prx" not in ram.users
    assert "remove-from-group user prx zz" in deletion_log(out)
    assert "delete-access-key user prx LTAI-X" in deletion_log(out)


def test_the_sandbox_sweep_still_cannot_touch_a_user_outside_its_prefix():
    ram = DeployerRam()
    with pytest.raises(ClientException, match="NoPermission"):
        ram.remove_user_from_group(models.RemoveUserFromGroupRequest(user_name="alice", group_name="zz"))


# ---------------------------------------------------------------------------------------------
# Review finding 3: the sweep can be neither blocked nor dodged


def test_a_resource_group_attachment_no_longer_blocks_the_sandbox_sweep():
    """(b) The deploy role may attach a listed system policy to a `pr*` user in a resource group
    (Resource Management's AttachPolicy), which RAM's ListPoliciesForUser does not show and which
    makes DeleteUser fail. The sweep lists and detaches it, as the deploy role may."""
    ram = DeployerRam()
    ram.user("prx", comments="", keys=["LTAI-X"])
    ram.attach_in_group("user", "prx", "AliyunECSReadOnlyAccess")
    ram.attach_in_group("user", "commandUser", "AliyunECSReadOnlyAccess")  # not the sweep's
    ram.attach("user", "prx", "AliyunECSReadOnlyAccess", "System")  # listed by both APIs
    code, out = sandbox_run("alicloud", ram, delete=True)
    assert code == 0, out
    assert "prx" not in ram.users
    log = deletion_log(out)
    assert "detach-group-policy user prx AliyunECSReadOnlyAccess (System) in rg-aek2sandbox01" in log
    # The account-scoped one is RAM's own attachment, detached once, through RAM.
    assert not [s for s in log if f"in {SANDBOX_ACCOUNT}" in s]
    assert [a["principal"].partition("@")[0] for a in ram.group_attachments] == ["commandUser"]


def test_an_identity_that_cannot_be_deleted_no_longer_shields_the_others(capsys):
    """(b) The sweep went on past nothing: one `pr*` user it could not take apart (here a group
    attachment of a policy the deploy role may not detach, made by an administrator) left every
    later user, role and policy standing. Now that user is reported and the rest are swept."""
    ram = DeployerRam()
    ram.user("pra", comments="")
    ram.attach_in_group("user", "pra", "AdministratorAccess")
    ram.user("prx", comments="", keys=["LTAI-X"])
    ram.role("pry", tags=())
    code, out = sandbox_run("alicloud", ram, delete=True)
    err = capsys.readouterr().err
    assert code == 1
    assert "FAILED detach-group-policy user pra AdministratorAccess (System) in rg-aek2sandbox01" in out
    assert "skipped delete user pra" in out
    assert "pra" in ram.users and "prx" not in ram.users and "pry" not in ram.roles
    assert err.startswith("error: user pra:") and "NoPermission" in err and "Fix:" in err
    assert len(err.splitlines()) == 1


def test_a_role_the_sweep_cannot_read_is_reported_and_the_others_are_swept(ram, monkeypatch, capsys):
    ram.user("prx", comments="")

    def denied(request):
        raise ClientException(code="NoPermission", message="ListPoliciesForRole", status_code=403)

    monkeypatch.setattr(ram, "list_policies_for_role", denied)
    code, out = sandbox_run("alicloud", ram, delete=True)
    err = capsys.readouterr().err
    assert code == 1
    assert "prx" not in ram.users
    assert "pr12-untagged" in ram.roles
    assert "role   pr12-untagged  Alibaba Cloud denied access" in "\n".join(
        section(out, "Could not be listed")
    )
    assert "role pr12-untagged:" in err


def test_an_open_pull_requests_prefix_shields_its_names_only_up_to_a_maximum_age(ram):
    """(a) Any PR's code may name `pr12-x` under long-lived PR 12's prefix: the shield expires."""
    ram.user("pr12-x", comments="", keys=["LTAI-X"], age=80)  # older than 3 days
    ram.user("pr12-live", comments="", age=30)
    code, out = sandbox_run_with(ram, "12", delete=True)
    assert_only_the_decoys_escaped(code, out)
    assert "pr12-x" not in ram.users and "pr12-live" in ram.users
    assert "Open pull requests' stacks spared up to 3d old" in out
    assert "pr12-live  an open pull request's stack (pr12-)" in "\n".join(section(out, "Left alone"))
    # A longer shield, asked for: the old name is spared again.
    ram.user("pr12-x", comments="", age=80)
    _, out = sandbox_run_with(ram, "12", open_pr_max_age="7d")
    assert "pr12-x" not in swept_names(out)


SANDBOX_TRUST_CASES = [
    ({"RAM": ["acs:ram::1999888877776666:root"]}, ["RAM acs:ram::1999888877776666:root"]),
    ({"RAM": "acs:ram::1999888877776666:role/anything"}, ["RAM acs:ram::1999888877776666:role/anything"]),
    (
        {"Federated": ["acs:ram::1999888877776666:oidc-provider/x"]},
        ["Federated acs:ram::1999888877776666:oidc-provider/x"],
    ),
    ({"Service": ["1999888877776666@ecs.aliyuncs.com"]}, ["Service 1999888877776666@ecs.aliyuncs.com"]),
    ({"RAM": ["acs:ram::5055556666777788:root"]}, []),
    ({"Service": ["ecs.aliyuncs.com"]}, []),
]


@pytest.mark.parametrize(("principal", "outside"), SANDBOX_TRUST_CASES)
def test_trusts_are_read_against_the_sandbox_account(principal, outside):
    document = {"Version": "1", "Statement": [{"Effect": "Allow", "Principal": principal}]}
    trusts = sweep.trust_principals(json.dumps(document))
    assert sweep.outside_principals(trusts, SANDBOX_ACCOUNT) == outside


@pytest.mark.parametrize(
    ("document", "outside"),
    [
        ({"Statement": [{"Effect": "Allow", "Principal": "*"}]}, ["* *"]),
        ({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}}]}, ["AWS *"]),
        (
            {"Statement": [{"Effect": "Allow", "Principal": {"Federated": "accounts.google.com"}}]},
            ["Federated accounts.google.com"],
        ),
        ({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "222233334444"}}]}, []),
        ({"Statement": [{"Effect": "Deny", "Principal": {"AWS": "111111111111"}}]}, []),
        ("not json", ["? unreadable trust document"]),
    ],
)
def test_anyone_a_public_identity_provider_and_an_unreadable_trust_count_as_outside(document, outside):
    text = document if isinstance(document, str) else json.dumps(document)
    assert sweep.outside_principals(sweep.trust_principals(text), "222233334444") == outside


def test_a_role_trusting_another_account_is_swept_first_whatever_its_age_or_prefix():
    """(a) A PR-made role trusting the attacker's account is the way out of the sandbox: swept
    under an open PR's prefix and younger than --older-than, before anything else."""
    ram = DeployerRam()
    ram.user("pra", comments="")
    ram.role("pr12-x", tags=(), age=0.1, trust={"RAM": ["acs:ram::1999888877776666:root"]})
    ram.role("pr12-own", tags=(), age=0.1, trust={"RAM": [f"acs:ram::{SANDBOX_ACCOUNT}:root"]})
    code, out = sandbox_run_with(ram, "12", delete=True)
    assert code == 0, out
    assert section(out, "Trusting principals outside") == [
        "role   pr12-x  trusts RAM acs:ram::1999888877776666:root"
    ]
    assert deletion_log(out)[0] == "delete role pr12-x"
    assert "pr12-x" not in ram.roles and "pr12-own" in ram.roles


def test_aws_a_role_trusting_another_account_is_swept_under_an_open_pull_request_too(iam):
    def trust(principal):
        statement = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
        return json.dumps({"Version": "2012-10-17", "Statement": [statement]})

    iam.create_role(
        RoleName="pr12-exfil", AssumeRolePolicyDocument=trust({"AWS": "arn:aws:iam::999988887777:root"})
    )
    iam.create_role(
        RoleName="pr12-own", AssumeRolePolicyDocument=trust({"AWS": "arn:aws:iam::222233334444:root"})
    )
    out = io.StringIO()
    code = sweep.run(
        "aws", None, sandbox=True, open_prs="12", delete=True, client=iam, stacks_dir=FIXTURES, out=out
    )
    assert_only_the_decoys_escaped(code, out.getvalue(), "aws")
    assert "pr12-exfil" not in aws_names(iam) and "pr12-own" in aws_names(iam)


DEV_SSO = (
    "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/"
    "AWSReservedSSO_EcsDeveloper_0123456789abcdef"
)


def test_a_test_stacks_own_outside_trusts_are_accepted_on_its_role_names_only(iam):
    """dev's AWS MCP roles trust dev's SSO developer role, and so does each PR's copy: the sweep
    renders that copy and accepts exactly those principals on exactly those role names. The same
    principal on a role the test stack does not make is swept."""
    accepted = sweep.expected_trusts(FIXTURES, "aws", "222233334444")
    assert accepted["EcsMcpReadOnlyMonitoringRole"] == {f"AWS {DEV_SSO}"}
    assert {name for name, principals in accepted.items() if principals} == {
        "EcsMcpReadOnlyMonitoringRole",
        "EcsMcpTroubleshootingRole",
    }
    assert not any(sweep.expected_trusts(FIXTURES, "alicloud", SANDBOX_ACCOUNT).values())
    trust = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": DEV_SSO}}]}
    )
    iam.create_role(RoleName="pr12-EcsMcpReadOnlyMonitoringRole", AssumeRolePolicyDocument=trust)
    iam.create_role(RoleName="pr12-x", AssumeRolePolicyDocument=trust)
    code, out = sandbox_run_with(iam, "12", cloud="aws", delete=True)
    assert_only_the_decoys_escaped(code, out, "aws")
    assert "pr12-x" not in aws_names(iam) and "pr12-EcsMcpReadOnlyMonitoringRole" in aws_names(iam)


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--prefix", PREFIX, "--open-pr-max-age", "7d"], "--sandbox"),
        (["--sandbox", "--open-pr-max-age", "7 days"], "not a duration"),
    ],
)
def test_the_open_pull_request_cap_is_a_duration_for_the_sandbox_sweep_only(argv, words, capsys):
    code = cli.main(["sweep", "--cloud", "aws", *argv])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and "--open-pr-max-age" in err and words in err


def test_the_sandbox_sweep_is_refused_without_the_sandboxs_account(tmp_path):
    """The outside-trust rule needs the sandbox's own account: without it, refused, never guessed."""
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    text = (FIXTURES / "Pulumi.pipeline.yaml").read_text()
    assert text.count('awsAccountId: "222233334444"') == 1
    (stacks / "Pulumi.pipeline.yaml").write_text(text.replace('awsAccountId: "222233334444"', ""))
    with pytest.raises(ConfigError) as refused:
        sweep.run("aws", None, sandbox=True, client=object(), stacks_dir=stacks, out=io.StringIO())
    assert refused.value.key == "--sandbox" and "names no awsAccountId" in str(refused.value)


# ---------------------------------------------------------------------------------------------
# Review round 3, finding 1: a PR's user renamed out of the prefix


def test_the_deploy_role_cannot_rename_a_pull_requests_user_out_of_the_prefix():
    """As `github-test-deploy` under the sandbox's control policies: UpdateUser is authorised on the
    old name only, so on `user/pr*` it could rename `pr90-x` (its key and an `Action: *` policy with
    it) to `backup-svc`, which no sandbox sweep lists. Only the administrator updates a user."""
    ram = DeployerRam()
    ram.user("pr90-x", comments="", keys=["LTAI-X"])
    with pytest.raises(ClientException, match="NoPermission"):
        ram.update_user(models.UpdateUserRequest(user_name="pr90-x", new_user_name="backup-svc"))
    assert "pr90-x" in ram.users and "backup-svc" not in ram.users


def _sandbox_ram_with_its_standing_identities() -> FakeRam:
    ram = DeployerRam()
    ram.role(
        "github-test-deploy", tags=(), trust={"Federated": ["acs:ram::5055556666777788:oidc-provider/x"]}
    )
    ram.role("ResourceDirectoryAccountAccessRole", tags=(), trust={"RAM": ["acs:ram::5011112222333344:root"]})
    ram.role("AliyunServiceRoleForECI", tags=(), trust={"Service": ["eci.aliyuncs.com"]})
    return ram


def test_the_sandbox_sweep_reports_a_user_that_escaped_the_prefix_and_fails():
    """Whatever way it got there, a user or role of the sandbox account that is neither `pr*`, the
    pipeline stack's own there, the administrator's role nor a service-linked role is an `error:`
    line and exit 1: never deleted (the sweep cannot tell what it is), never silent."""
    ram = _sandbox_ram_with_its_standing_identities()
    ram.user("backup-svc", comments="", keys=["LTAI-B"])  # renamed from pr90-x before this fix
    ram.user("prx", comments="", keys=["LTAI-X"])
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err):
        code = sweep.run(
            "alicloud",
            None,
            sandbox=True,
            delete=True,
            client=ram,
            groups=ram,
            now=LATER,
            stacks_dir=FIXTURES,
            out=out,
        )
    assert code == 1, out.getvalue()
    assert escaped_of(out.getvalue()) == {("user", "backup-svc")}
    (line,) = [line for line in err.getvalue().splitlines() if "backup-svc" in line]
    assert line.startswith("error: user backup-svc ") and "Fix:" in line
    assert "backup-svc" in ram.users and "prx" not in ram.users  # the rest is still swept
    # The pipeline's role, the administrator's and a service-linked role are the account's own.
    del ram.users["backup-svc"]
    code, output = sandbox_run("alicloud", ram, delete=True)
    assert code == 0, output
    assert "Not pr*" not in output


def test_a_role_named_like_a_service_linked_one_is_standing_only_in_ram_by_its_reserved_name():
    """RAM names service-linked roles AliyunServiceRoleFor<service>; a PR cannot make one (its
    CreateRole is held to `role/pr*`, the control policy keeps CreateServiceLinkedRole to the deploy
    role and its policy to ECI's)."""
    principals = [
        ("role", "AliyunServiceRoleForECI", ""),
        ("role", "github-test-deploy", ""),
        ("role", "resourcedirectoryaccountaccessrole", ""),  # any case: RAM names ignore it
        ("role", "github-dev-deploy", ""),  # the pipeline's, but in dev's account
        ("user", "AliyunServiceRoleForECI", ""),  # a user is never a service-linked role
    ]
    owned = sweep.pipeline_principals(FIXTURES, "alicloud", SANDBOX_ACCOUNT)
    assert ("role", "github-test-deploy") in owned and ("role", "github-dev-deploy") not in owned
    assert sweep.escaped(principals, "pr", owned, "alicloud") == [
        ("role", "github-dev-deploy"),
        ("user", "AliyunServiceRoleForECI"),
    ]


def test_aws_the_sandbox_sweep_reports_what_escaped_and_spares_what_aws_itself_makes(iam):
    """AWS: the administrator's OrganizationAccountAccessRole, service-linked roles and Identity
    Center's roles by their reserved paths, and the pipeline's github-test-deploy are the account's
    own; a name alone proves nothing (AWSReservedSSO_ on the root path is flagged)."""
    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": "arn:aws:iam::222233334444:root"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )
    for name, path in (
        ("OrganizationAccountAccessRole", "/"),
        ("github-test-deploy", "/"),
        ("AWSReservedSSO_AdministratorAccess_0123456789abcdef", "/aws-reserved/sso.amazonaws.com/"),
        ("AWSReservedSSO_Fake_0123456789abcdef", "/"),
    ):
        iam.create_role(RoleName=name, Path=path, AssumeRolePolicyDocument=trust)
    iam.create_service_linked_role(AWSServiceName="autoscaling.amazonaws.com")
    iam.create_user(UserName="backup-svc")
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err):
        code = sweep.run("aws", None, sandbox=True, client=iam, now=LATER, stacks_dir=FIXTURES, out=out)
    expected = DECOYS["aws"] | {("user", "backup-svc"), ("role", "AWSReservedSSO_Fake_0123456789abcdef")}
    assert code == 1
    assert escaped_of(out.getvalue()) == expected
    assert sum(line.startswith("error: ") for line in err.getvalue().splitlines()) == len(expected)


# ---------------------------------------------------------------------------------------------
# Review round 4, findings 2 and 3: IAM paths and identity providers


def _aws_trust(principal, condition=None):
    statement = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
    if condition:
        statement["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def test_aws_the_sandbox_sweep_takes_a_role_and_policy_on_a_pr_path_whatever_their_names(iam):
    """`role/pr*` covers `role/pr/ci-reader` (Path=/pr/): the ARN carries the path. Such a role and
    policy are the prefix's as a `pr*` name is, and are swept (here, the role trusting another
    account first); a customer policy outside the prefix is reported like a user or role."""
    policy = iam.create_policy(
        PolicyName="ci-admin",
        Path="/pr/",
        PolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}',
    )["Policy"]["Arn"]
    iam.create_role(
        RoleName="ci-reader", Path="/pr/", AssumeRolePolicyDocument=_aws_trust({"AWS": "999988887777"})
    )
    iam.attach_role_policy(RoleName="ci-reader", PolicyArn=policy)
    iam.create_role(
        RoleName="ci-writer", Path="/prx/a/", AssumeRolePolicyDocument=_aws_trust({"AWS": "222233334444"})
    )
    _policy(iam, "backup-read", tags=[])
    code, out = sandbox_run("aws", iam, delete=True)
    assert code == 1, out
    assert section(out, "Trusting principals outside") == ["role   pr/ci-reader  trusts AWS 999988887777"]
    assert {"pr/ci-reader", "prx/a/ci-writer", "pr/ci-admin"} <= swept_names(out)
    assert not {"ci-reader", "ci-writer", "ci-admin"} & aws_names(iam)
    assert escaped_of(out) == DECOYS["aws"] | {("policy", "backup-read")}
    # The pipeline's own policies there are its own, not escaped.
    owned = sweep.pipeline_principals(FIXTURES, "aws", "222233334444")
    assert {("policy", "github-test-deploy-policy"), ("policy", "sandbox-workload-boundary")} <= owned


def test_aws_a_path_under_an_open_pull_requests_prefix_is_spared_as_its_names_are(iam):
    iam.create_role(
        RoleName="x", Path="/pr12-a/", AssumeRolePolicyDocument=_aws_trust({"AWS": "222233334444"})
    )
    iam.create_role(
        RoleName="y", Path="/pr13-a/", AssumeRolePolicyDocument=_aws_trust({"AWS": "222233334444"})
    )
    code, out = sandbox_run_with(iam, "12", cloud="aws", delete=True)
    assert_only_the_decoys_escaped(code, out, "aws")
    assert "pr12-a/x  an open pull request's stack (pr12-)" in "\n".join(section(out, "Left alone"))
    assert "pr13-a/y" in swept_names(out)
    assert "x" in aws_names(iam) and "y" not in aws_names(iam)


def test_an_escaped_identity_on_a_path_is_reported_with_it():
    principals = [("policy", "ci-admin", "/pr/"), ("policy", "ci-admin", "/ops/"), ("role", "r", "/")]
    assert sweep.escaped(principals, "pr", frozenset(), "aws") == [("policy", "ops/ci-admin"), ("role", "r")]


SANDBOX_OIDC = "acs:ram::5055556666777788:oidc-provider/github-actions"
AWS_SANDBOX_OIDC = "arn:aws:iam::222233334444:oidc-provider/token.actions.githubusercontent.com"


@pytest.mark.parametrize(
    "provider",
    [
        SANDBOX_OIDC,
        "acs:ram::5055556666777788:saml-provider/idp",
        AWS_SANDBOX_OIDC,
    ],
)
def test_an_identity_provider_is_outside_even_the_sandbox_accounts_own(provider):
    """GitHub's issuer signs for every repository on GitHub: a `pr*` role trusting the sandbox's own
    GitHub provider with `sub` `repo:attacker/*` is a way in from the attacker's own workflows."""
    document = {"Version": "1", "Statement": [{"Effect": "Allow", "Principal": {"Federated": [provider]}}]}
    trusts = sweep.trust_principals(json.dumps(document))
    account = "222233334444" if provider.startswith("arn:aws:") else SANDBOX_ACCOUNT
    assert sweep.outside_principals(trusts, account) == [f"Federated {provider}"]


def test_alicloud_a_pr_role_trusting_the_sandboxs_own_oidc_provider_is_swept_first():
    ram = DeployerRam()
    ram.role("pr12-gh", tags=(), age=0.1, trust={"Federated": [SANDBOX_OIDC]})
    ram.role("pr12-own", tags=(), age=0.1, trust={"RAM": [f"acs:ram::{SANDBOX_ACCOUNT}:root"]})
    code, out = sandbox_run_with(ram, "12", delete=True)
    assert code == 0, out
    assert section(out, "Trusting principals outside") == [f"role   pr12-gh  trusts Federated {SANDBOX_OIDC}"]
    assert deletion_log(out)[0] == "delete role pr12-gh"
    assert "pr12-gh" not in ram.roles and "pr12-own" in ram.roles


def test_aws_a_pr_role_trusting_the_sandboxs_own_oidc_provider_is_swept_first(iam):
    condition = {"StringLike": {"token.actions.githubusercontent.com:sub": "repo:attacker/*"}}
    iam.create_role(
        RoleName="pr12-gh", AssumeRolePolicyDocument=_aws_trust({"Federated": AWS_SANDBOX_OIDC}, condition)
    )
    code, out = sandbox_run_with(iam, "12", cloud="aws", delete=True)
    assert_only_the_decoys_escaped(code, out, "aws")
    assert section(out, "Trusting principals outside") == [
        f"role   pr12-gh  trusts Federated {AWS_SANDBOX_OIDC}"
    ]
    assert "pr12-gh" not in aws_names(iam)
    # No per-PR stack trusts an identity provider today: nothing of the kind is accepted.
    for cloud, account in (("aws", "222233334444"), ("alicloud", SANDBOX_ACCOUNT)):
        accepted = sweep.expected_trusts(FIXTURES, cloud, account)
        assert not any(p.startswith("Federated ") for principals in accepted.values() for p in principals)
