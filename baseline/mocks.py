"""Strict Pulumi mocks: they refuse what the clouds would refuse.

The providers validate almost nothing before calling the cloud, so without this a bad name or
an oversized document would first fail halfway through a real ``pulumi up``. Each check reads
``baseline.limits``; configuration validation reads the same module, so a refusal here means
the program produced something its configuration checks let through, which is a bug.
"""

from __future__ import annotations

import json
import threading
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

import pulumi
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor

from baseline import limits

Check = Callable[["StrictMocks", str, dict[str, Any]], None]
_CHECKS: dict[str, Check] = {}


class Refused(Exception):
    """The cloud would refuse this registration."""

    def __init__(self, type_: str, name: str, reason: str):
        super().__init__(f"{type_} {name!r}: {reason}")
        self.type_, self.name, self.reason = type_, name, reason


def unwrap(value: Any) -> Any:
    """Inputs as the cloud would see them: secrets unwrapped (for checks only, never shown)."""
    if rpc.is_rpc_secret(value):
        return unwrap(rpc.unwrap_rpc_secret(value))
    if isinstance(value, dict):
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    return value


def check(*types: str) -> Callable[[Check], Check]:
    def register(fn: Check) -> Check:
        for type_ in types:
            _CHECKS[type_] = fn
        return fn

    return register


class StrictMocks(pulumi.runtime.Mocks):
    """Returns deterministic ids and computed outputs; refuses what the cloud refuses."""

    def __init__(self, alicloud_account: str = "1234567890123456", aws_account: str = "123456789012"):
        self.alicloud_account = alicloud_account
        self.aws_account = aws_account
        self.attachments: dict[str, Counter[tuple[str, str]]] = defaultdict(Counter)
        self.attached: set[tuple[str, ...]] = set()
        self.access_keys: Counter[str] = Counter()
        self.instance_roles: dict[str, str] = {}
        self.names: dict[tuple[str, str, str], str] = {}
        # Explicit providers that act in another account (S7 assumes an administrator role
        # there): provider name -> account. Names are unique per account, not per stack.
        self.provider_accounts: dict[str, str] = {}
        self.account: dict[str, str] = {"alicloud": alicloud_account, "aws": aws_account}
        self._lock = threading.Lock()

    # The engine calls this once per custom resource.
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict]:
        # The SDK registers resources from an executor's threads: the current account (set here,
        # read by the checks and the computed ARNs) and the name registry are one critical section.
        with self._lock:
            return self._new_resource(args)

    def _new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict]:
        inputs = unwrap(args.inputs)
        if args.typ.startswith("pulumi:providers:"):
            self._provider(args.typ.rsplit(":", 1)[1], args.name, inputs)
        cloud = args.typ.split(":", 1)[0]
        # The provider reference is "<urn>::<id>"; the URN ends with the provider's name.
        provider = (args.provider or "").rsplit("::", 2)[-2] if args.provider else ""
        default = {"alicloud": self.alicloud_account, "aws": self.aws_account}.get(cloud, "")
        self.account = {**self.account, cloud: self.provider_accounts.get(provider, default)}
        if (fn := _CHECKS.get(args.typ)) is not None:
            fn(self, args.name, inputs)
        state = dict(args.inputs)
        state.update(self._computed(args.typ, args.name, inputs))
        return f"{args.name}-id", state

    def _provider(self, cloud: str, name: str, inputs: dict[str, Any]) -> None:
        """Record the account an explicit provider acts in; refuse an impossible assume-role."""
        type_ = f"pulumi:providers:{cloud}"
        assume = inputs.get("assumeRole") if cloud == "alicloud" else inputs.get("assumeRoles")
        if isinstance(assume, str):
            assume = json.loads(assume)
        if not assume:
            return
        first = assume if isinstance(assume, dict) else assume[0]
        role_arn = str(first.get("roleArn", ""))
        pattern = limits.RAM_ROLE_ARN if cloud == "alicloud" else limits.IAM_ROLE_ARN
        if not (match := pattern.fullmatch(role_arn)):
            raise Refused(type_, name, f"assume-role ARN {role_arn!r} is not a role ARN")
        if cloud == "alicloud":
            low, high = limits.ALICLOUD_ASSUME_ROLE_SESSION
            expiration = first.get("sessionExpiration")
            if expiration is not None and not low <= int(expiration) <= high:
                raise Refused(type_, name, f"assume_role session_expiration must be {low}-{high} seconds")
        self.provider_accounts[name] = match.group("account")

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, list | None]:
        raise Refused("invoke", args.token, "the program must not read the cloud (no data sources)")

    def _computed(self, type_: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        if type_ == "alicloud:ram/role:Role":
            role = inputs["roleName"]
            return {
                "arn": f"acs:ram::{self.account['alicloud']}:role/{role.lower()}",
                "roleId": f"3{zlib.crc32(role.encode()):017d}",
                "name": role,
            }
        if type_ == "alicloud:ram/policy:Policy":
            return {"type": "Custom", "name": inputs["policyName"], "defaultVersion": "v1"}
        if type_ == "alicloud:resourcemanager/serviceLinkedRole:ServiceLinkedRole":
            role = limits.SERVICE_LINKED_ROLES.get(inputs["serviceName"], "AliyunServiceRoleForUnknown")
            return {"roleName": role, "arn": f"acs:ram::{self.alicloud_account}:role/{role.lower()}"}
        if type_ == "alicloud:resourcemanager/resourceGroup:ResourceGroup":
            return {"accountId": self.alicloud_account, "status": "OK"}
        if type_ == "alicloud:ram/accessKey:AccessKey":
            secret = "mock-secret-never-shown"
            encrypted = "bW9jay1lbmNyeXB0ZWQ=" if inputs.get("pgpKey") else None
            return {"secret": secret, "encryptedSecret": encrypted, "status": "Active"}
        if type_ == RANDOM_PASSWORD:
            return {"result": _mock_password(name, inputs)}
        if type_ == "aws:iam/role:Role":
            return {
                "arn": f"arn:aws:iam::{self.account['aws']}:role{inputs.get('path', '/')}{inputs['name']}"
            }
        if type_ == "aws:iam/policy:Policy":
            return {
                "arn": f"arn:aws:iam::{self.account['aws']}:policy{inputs.get('path', '/')}{inputs['name']}"
            }
        if type_ == "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
            host = str(inputs["url"]).removeprefix("https://")
            return {"arn": f"arn:aws:iam::{self.account['aws']}:oidc-provider/{host}"}
        if type_ == "alicloud:ims/oidcProvider:OidcProvider":
            return {"arn": f"acs:ram::{self.account['alicloud']}:oidc-provider/{inputs['oidcProviderName']}"}
        return {}

    def unique(self, kind: str, name: str, owner: str) -> None:
        cloud = "aws" if kind.startswith("iam") else "alicloud"
        key = (kind, self.account.get(cloud, ""), name.lower() if kind.startswith("iam") else name)
        if key in self.names:
            raise Refused(kind, owner, f"{kind} name {name!r} already exists ({self.names[key]})")
        self.names[key] = owner


def _name(type_: str, rule: limits.NameRule, value: Any, owner: str) -> None:
    if not isinstance(value, str):
        raise Refused(type_, owner, "a name is required")
    if (problem := rule.check(value)) is not None:
        raise Refused(type_, owner, f"name {value!r} {problem}")


def _json_document(
    type_: str, owner: str, text: Any, limit: int, measure: Callable[[str], int] = len
) -> dict:
    if not isinstance(text, str):
        raise Refused(type_, owner, "a policy document is required")
    size = measure(text)
    if size > limit:
        raise Refused(type_, owner, f"policy document is {size} characters; the limit is {limit}")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise Refused(type_, owner, f"policy document is not JSON ({error.msg})") from None
    statements = document.get("Statement")
    if not isinstance(statements, list) or not statements:
        raise Refused(type_, owner, "policy document has no Statement list")
    for statement in statements:
        if statement.get("Effect") not in ("Allow", "Deny"):
            raise Refused(type_, owner, "every statement needs Effect Allow or Deny")
        if not statement.get("Action") and not statement.get("NotAction"):
            raise Refused(type_, owner, "every statement needs an Action")
    return document


@check("alicloud:ram/user:User")
def _ram_user(m: StrictMocks, owner: str, inputs: dict[str, Any]) -> None:
    type_ = "alicloud:ram/user:User"
    _name(type_, limits.RAM_USER, inputs.get("name"), owner)
    display = inputs.get("displayName")
    if display is not None and not 1 <= len(display) <= limits.RAM_DISPLAY_NAME_MAX:
        raise Refused(type_, owner, "display name must be 1-128 characters")
    m.unique("RAM user", inputs["name"], owner)


@check("alicloud:ram/loginProfile:LoginProfile")
def _login_profile(m: StrictMocks, owner: str, inputs: dict[str, Any]) -> None:
    password = inputs.get("password")
    if (
        not isinstance(password, str)
        or not limits.RAM_PASSWORD_MIN <= len(password) <= limits.RAM_PASSWORD_MAX
    ):
        # The value itself is never part of the message.
        raise Refused("alicloud:ram/loginProfile:LoginProfile", owner, "password must be 8-32 characters")


RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword"
# pulumi-random's input names for the character classes: (toggle, minimum count).
_PASSWORD_CLASSES = {
    "lower": ("lower", "minLower"),
    "upper": ("upper", "minUpper"),
    "numeric": ("numeric", "minNumeric"),
    "special": ("special", "minSpecial"),
}


@check(RANDOM_PASSWORD)
def _random_password(m: StrictMocks, owner: str, inputs: dict[str, Any]) -> None:
    """Only console passwords are generated: RAM must accept them whatever the account's policy."""
    length = _whole(inputs.get("length"))
    if length is None or not limits.RAM_PASSWORD_MIN <= length <= limits.RAM_PASSWORD_MAX:
        raise Refused(RANDOM_PASSWORD, owner, f"length {length!r}: a RAM password is 8-32 characters")
    if length < limits.GENERATED_PASSWORD_LENGTH:
        raise Refused(
            RANDOM_PASSWORD,
            owner,
            f"length {length}: a password policy may demand up to {limits.GENERATED_PASSWORD_LENGTH}",
        )
    required = 0
    for name in limits.RAM_PASSWORD_CLASSES:
        toggle, minimum = _PASSWORD_CLASSES[name]
        count = _whole(inputs.get(minimum, 0))
        if inputs.get(toggle, True) is False or count is None or count < 1:
            raise Refused(
                RANDOM_PASSWORD, owner, f"no {minimum} >= 1: a password policy may require {name} characters"
            )
        required += count
    if required > length:
        raise Refused(RANDOM_PASSWORD, owner, f"the class minimums add up to {required} > length {length}")
    symbols = inputs.get("overrideSpecial")
    if not isinstance(symbols, str) or not symbols or set(symbols) - set(limits.RAM_PASSWORD_SYMBOLS):
        raise Refused(
            RANDOM_PASSWORD, owner, f"overrideSpecial must use only {limits.RAM_PASSWORD_SYMBOLS!r}"
        )


def _whole(value: Any) -> int | None:
    """Numbers cross the wire as floats; a whole one is the int the program passed."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
        return None
    return int(value)


def _mock_password(name: str, inputs: dict[str, Any]) -> str:
    """A deterministic stand-in meeting the requested classes; secret, never rendered."""
    length = _whole(inputs.get("length")) or limits.GENERATED_PASSWORD_LENGTH
    seed = f"{zlib.crc32(name.encode()):010d}"
    stem = "Aa" + seed + (inputs.get("overrideSpecial") or "!")[0]
    return (stem * (length // len(stem) + 1))[:length]


@check("alicloud:ram/accessKey:AccessKey")
def _access_key(m: StrictMocks, owner: str, inputs: dict[str, Any]) -> None:
    user = inputs.get("userName")
    m.access_keys[user] += 1
    if m.access_keys[user] > limits.RAM_ACCESS_KEYS_PER_USER:
        raise Refused(
            "alicloud:ram/accessKey:AccessKey", owner, f"RAM user {user!r} already has 2 AccessKeys"
        )


@check("alicloud:ram/role:Role")
def _ram_role(m: StrictMocks, owner: str, inputs: dict[str, Any]) -> None:
    type_ = "alicloud:ram/role:Role"
    _name(type_, limits.RAM_ROLE, inputs.get("roleName"), owner)
    duration = inputs.get("maxSessionDuration", 3600)
    if not limits.RAM_ROLE_SESSION_MIN <= duration <= limits.RAM_ROLE_SESSION_MAX:
        raise Refused(type_, owner, f"maxSessionDuration {duration} is outside 3600-43200")
    _json_document(type_, owner, inputs.get("assumeRolePolicyDocument"), limits.RAM_POLICY_DOCUMENT_MAX)
    m.unique("RAM role", inputs["roleName"], owner)


@check("alicloud:ram/policy:Policy")
def _ram_policy(m: StrictMocks, owner: str, inputs: dict[str, Any]) -> None:
    type_ = "alicloud:ram/policy:Policy"
    _name(type_, limits.RAM_POLICY, inputs.get("policyName"), owner)
    document = _json_document(type_, owner, inputs.get("policyDocument"), limits.RAM_POLICY_DOCUMENT_MAX)
    if document.get("Version") != "1":
        raise Refused(type_, owner, 'RAM policy documents use "Version": "1"')
    m.unique("RAM policy", inputs["policyName"], owner)


@check(
    "alicloud:ram/userPolicyAttachment:UserPolicyAttachment",
    "alicloud:ram/rolePolicyAttachment:RolePolicyAttachment",
)
def _ram_attachment(m: StrictMocks, owner: str, inputs: dict[str, Any]) -> None:
    is_user = "userName" in inputs
    type_ = "alicloud:ram/" + (
        "userPolicyAttachment:UserPolicyAttachment"
        if is_user
        else "rolePolicyAttachment:RolePolicyAttachment"
    )
    principal = ("user", inputs["userName"]) if is_user else ("role", inputs["roleName"])
    policy_type = inputs.get("policyType")
    if policy_type not in ("Custom", "System"):
        raise Refused(type_, owner, "policyType must be Custom or System")
    key = (*principal, policy_type, inputs.get("policyName"))
    if key in m.attached:
        raise Refused(
            type_, owner, f"policy {inputs.get('policyName')!r} is already attached to {principal[1]!r}"
        )
    m.attached.add(key)
    counter = m.attachments[policy_type]
    counter[principal] += 1
    limit = (
        limits.RAM_CUSTOM_POLICIES_PER_PRINCIPAL
        if policy_type == "Custom"
        else limits.RAM_SYSTEM_POLICIES_PER_PRINCIPAL
    )
    if counter[principal] > limit:
        raise Refused(
            type_,
            owner,
            f"more than {limit} {policy_type.lower()} policies on RAM {principal[0]} {principal[1]!r}",
        )


@check("alicloud:ecs/ramRoleAttachment:RamRoleAttachment")
def _instance_role(m: StrictMocks, owner: str, inputs: dict[str, Any]) -> None:
    type_ = "alicloud:ecs/ramRoleAttachment:RamRoleAttachment"
    instance = inputs.get("instanceId")
    if not isinstance(instance, str) or not limits.ECS_INSTANCE_ID.fullmatch(instance):
        raise Refused(type_, owner, f"{instance!r} is not an ECS instance id")
    role = inputs.get("ramRoleName")
    if instance in m.instance_roles:
        raise Refused(
            type_, owner, f"instance {instance} already has RAM role {m.instance_roles[instance]!r}"
        )
    m.instance_roles[instance] = role


@check("alicloud:oos/secretParameter:SecretParameter")
def _secret_parameter(m: StrictMocks, owner: str, inputs: dict[str, Any]) -> None:
    type_ = "alicloud:oos/secretParameter:SecretParameter"
    name = inputs.get("secretParameterName", "")
    if (problem := limits.oos_parameter_name_problem(name)) is not None:
        raise Refused(type_, owner, f"parameter name {name!r} {problem}")
    value = inputs.get("value")
    if not isinstance(value, str) or not 1 <= len(value) <= limits.OOS_VALUE_MAX:
        raise Refused(type_, owner, "value must be 1-4096 characters")
    if inputs.get("type", "Secret") != "Secret":
        raise Refused(type_, owner, "an encrypted parameter has type Secret")


@check("alicloud:resourcemanager/policyAttachment:PolicyAttachment")
def _rg_attachment(m: StrictMocks, owner: str, inputs: dict[str, Any]) -> None:
    type_ = "alicloud:resourcemanager/policyAttachment:PolicyAttachment"
    principal = inputs.get("principalName", "")
    kind = inputs.get("principalType")
    suffix = ".onaliyun.com"
    if kind not in ("IMSUser", "IMSGroup", "ServiceRole"):
        raise Refused(type_, owner, "principalType must be IMSUser, IMSGroup or ServiceRole")
    local, _, domain = principal.partition("@")
    account = domain.removesuffix(suffix)
    if not (local and domain.endswith(suffix) and limits.ALICLOUD_ACCOUNT_ID.fullmatch(account)):
        raise Refused(type_, owner, f"principal {principal!r} must be <name>@<account-id>.onaliyun.com")
    if kind == "IMSUser" and account != m.alicloud_account:
        raise Refused(type_, owner, f"principal {principal!r} is not a user of account {m.alicloud_account}")
    if not inputs.get("resourceGroupId"):
        raise Refused(type_, owner, "a resource group id is required")


@check("alicloud:resourcemanager/serviceLinkedRole:ServiceLinkedRole")
def _service_linked_role(m: StrictMocks, owner: str, inputs: dict[str, Any]) -> None:
    type_ = "alicloud:resourcemanager/serviceLinkedRole:ServiceLinkedRole"
    service = inputs.get("serviceName")
    if service not in limits.SERVICE_LINKED_ROLES:
        raise Refused(type_, owner, f"no service-linked role is known for service {service!r}")
    # One per account and service: a second CreateServiceLinkedRole fails with "already exists".
    m.unique("service-linked role", service, owner)


@check("alicloud:resourcemanager/resourceGroup:ResourceGroup")
def _resource_group(m: StrictMocks, owner: str, inputs: dict[str, Any]) -> None:
    type_ = "alicloud:resourcemanager/resourceGroup:ResourceGroup"
    _name(type_, limits.RESOURCE_GROUP, inputs.get("resourceGroupName"), owner)
    display = inputs.get("displayName")
    if not isinstance(display, str) or not 1 <= len(display) <= limits.RESOURCE_GROUP_DISPLAY_NAME_MAX:
        raise Refused(type_, owner, "display name must be 1-50 characters")
    m.unique("resource group", inputs["resourceGroupName"], owner)


@check("aws:iam/role:Role")
def _iam_role(m: StrictMocks, owner: str, inputs: dict[str, Any]) -> None:
    type_ = "aws:iam/role:Role"
    _name(type_, limits.IAM_ROLE, inputs.get("name"), owner)
    duration = inputs.get("maxSessionDuration", 3600)
    if not limits.IAM_ROLE_SESSION_MIN <= duration <= limits.IAM_ROLE_SESSION_MAX:
        raise Refused(type_, owner, f"maxSessionDuration {duration} is outside 3600-43200")
    _json_document(
        type_, owner, inputs.get("assumeRolePolicy"), limits.IAM_TRUST_POLICY_MAX, limits.iam_document_length
    )
    if len(inputs.get("tags") or {}) > limits.IAM_TAGS_MAX:
        raise Refused(type_, owner, "more than 50 tags")
    boundary = inputs.get("permissionsBoundary")
    if boundary is not None and not (isinstance(boundary, str) and limits.IAM_POLICY_ARN.fullmatch(boundary)):
        raise Refused(type_, owner, f"permissionsBoundary {boundary!r} is not a managed policy ARN")
    m.unique("iam role", inputs["name"], owner)


@check("aws:iam/policy:Policy")
def _iam_policy(m: StrictMocks, owner: str, inputs: dict[str, Any]) -> None:
    type_ = "aws:iam/policy:Policy"
    _name(type_, limits.IAM_POLICY, inputs.get("name"), owner)
    document = _json_document(
        type_, owner, inputs.get("policy"), limits.IAM_MANAGED_POLICY_MAX, limits.iam_document_length
    )
    if document.get("Version") != "2012-10-17":
        raise Refused(type_, owner, 'IAM policy documents use "Version": "2012-10-17"')
    m.unique("iam policy", inputs["name"], owner)


@check("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
def _iam_attachment(m: StrictMocks, owner: str, inputs: dict[str, Any]) -> None:
    role = inputs.get("role")
    policy = inputs.get("policyArn")
    if not (isinstance(policy, str) and limits.IAM_POLICY_ARN.fullmatch(policy)):
        raise Refused(
            "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
            owner,
            f"policyArn {policy!r} is not a managed policy ARN",
        )
    counter = m.attachments["iam-managed"]
    counter[("role", role)] += 1
    if counter[("role", role)] > limits.IAM_MANAGED_POLICIES_PER_ROLE:
        raise Refused(
            "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
            owner,
            f"more than 10 managed policies on IAM role {role!r}",
        )


@check("alicloud:ims/oidcProvider:OidcProvider")
def _ram_oidc_provider(m: StrictMocks, owner: str, inputs: dict[str, Any]) -> None:
    type_ = "alicloud:ims/oidcProvider:OidcProvider"
    _name(type_, limits.RAM_OIDC_PROVIDER, inputs.get("oidcProviderName"), owner)
    _issuer(type_, owner, inputs.get("issuerUrl"))
    fingerprints = inputs.get("fingerprints") or []
    if not 1 <= len(fingerprints) <= limits.RAM_OIDC_FINGERPRINTS_MAX:
        raise Refused(type_, owner, "RAM needs 1-5 fingerprints of the issuer's CA certificate")
    _fingerprints(type_, owner, fingerprints)
    clients = inputs.get("clientIds") or []
    if not 1 <= len(clients) <= limits.RAM_OIDC_CLIENT_IDS_MAX:
        raise Refused(type_, owner, "RAM needs 1-50 client ids (the audiences tokens may carry)")
    hours = inputs.get("issuanceLimitTime")
    low, high = limits.RAM_OIDC_ISSUANCE_HOURS
    if hours is not None and not low <= hours <= high:
        raise Refused(type_, owner, f"issuanceLimitTime must be {low}-{high} hours")
    m.unique("oidc provider", inputs["oidcProviderName"], owner)


CONTROL_POLICY = "alicloud:resourcemanager/controlPolicy:ControlPolicy"
CONTROL_POLICY_ATTACHMENT = "alicloud:resourcemanager/controlPolicyAttachment:ControlPolicyAttachment"


@check(CONTROL_POLICY)
def _control_policy(m: StrictMocks, owner: str, inputs: dict[str, Any]) -> None:
    _name(CONTROL_POLICY, limits.RD_CONTROL_POLICY_NAME, inputs.get("controlPolicyName"), owner)
    scope = inputs.get("effectScope")
    if scope not in limits.RD_CONTROL_POLICY_EFFECT_SCOPES:
        raise Refused(
            CONTROL_POLICY,
            owner,
            f"effectScope {scope!r} is not RAM, the only value CreateControlPolicy takes (a custom "
            "control policy cannot bind a member's Alibaba Cloud account itself)",
        )
    description = inputs.get("description")
    if description is not None and not limits.RD_CONTROL_POLICY_DESCRIPTION.fullmatch(str(description)):
        raise Refused(
            CONTROL_POLICY,
            owner,
            "description must be 1-1024 letters, digits, '_' or '-', starting with a letter",
        )
    _json_document(CONTROL_POLICY, owner, inputs.get("policyDocument"), limits.RD_CONTROL_POLICY_DOCUMENT_MAX)
    # Only the directory's management account writes control policies: a provider that assumed a
    # member's role has no directory to write them in.
    if m.account["alicloud"] != m.alicloud_account:
        raise Refused(CONTROL_POLICY, owner, "control policies are written from the management account only")
    m.unique("control policy", inputs["controlPolicyName"], owner)


@check(CONTROL_POLICY_ATTACHMENT)
def _control_policy_attachment(m: StrictMocks, owner: str, inputs: dict[str, Any]) -> None:
    target = inputs.get("targetId")
    if not isinstance(target, str) or not limits.RD_CONTROL_POLICY_TARGET.fullmatch(target):
        raise Refused(
            CONTROL_POLICY_ATTACHMENT,
            owner,
            f"targetId {target!r} is not a member account id (16 digits) or a folder id (r-..., fd-...)",
        )
    if not inputs.get("policyId"):
        raise Refused(CONTROL_POLICY_ATTACHMENT, owner, "a policyId is required")
    counter = m.attachments["control-policy"]
    counter[("target", target)] += 1
    # FullAliyunAccess is attached to every member beside these.
    if counter[("target", target)] + 1 > limits.RD_CONTROL_POLICIES_PER_TARGET:
        raise Refused(CONTROL_POLICY_ATTACHMENT, owner, f"more than 10 control policies on {target}")


@check("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
def _iam_oidc_provider(m: StrictMocks, owner: str, inputs: dict[str, Any]) -> None:
    type_ = "aws:iam/openIdConnectProvider:OpenIdConnectProvider"
    url = inputs.get("url")
    _issuer(type_, owner, url)
    clients = inputs.get("clientIdLists") or []
    if not 1 <= len(clients) <= limits.IAM_OIDC_CLIENT_IDS_MAX:
        raise Refused(type_, owner, "IAM needs 1-100 client ids")
    if any(not 1 <= len(c) <= limits.IAM_OIDC_CLIENT_ID_MAX_LENGTH for c in clients):
        raise Refused(type_, owner, "a client id is 1-255 characters")
    thumbprints = inputs.get("thumbprintLists") or []
    if len(thumbprints) > limits.IAM_OIDC_THUMBPRINTS_MAX:
        raise Refused(type_, owner, "at most 5 thumbprints")
    _fingerprints(type_, owner, thumbprints)
    # IAM keys the provider by its URL: a second one for the same issuer is EntityAlreadyExists.
    m.unique("iam oidc provider", str(url).removeprefix("https://").rstrip("/"), owner)


def _issuer(type_: str, owner: str, url: Any) -> None:
    if not (isinstance(url, str) and limits.OIDC_ISSUER_URL.fullmatch(url)):
        raise Refused(type_, owner, f"issuer {url!r} must be an https URL without query, fragment or user")


def _fingerprints(type_: str, owner: str, values: list[Any]) -> None:
    for value in values:
        if not (isinstance(value, str) and limits.OIDC_FINGERPRINT.fullmatch(value)):
            raise Refused(type_, owner, f"fingerprint {value!r} is not 40 hexadecimal digits")


class RecordingMonitor(MockMonitor):
    """A mock monitor that also keeps what the engine would see of each registration."""

    def __init__(self, mocks: StrictMocks):
        super().__init__(mocks)
        self.registrations: list[dict[str, Any]] = []
        self.refusals: list[Refused] = []

    def RegisterResource(self, request):  # noqa: N802 - gRPC method name
        try:
            response = super().RegisterResource(request)
        except Refused as refused:
            self.refusals.append(refused)
            raise
        property_urns = {u for deps in request.propertyDependencies.values() for u in deps.urns}
        self.registrations.append(
            {
                "urn": response.urn,
                "id": response.id,
                "type": request.type,
                "name": request.name,
                "parent": request.parent or None,
                "provider": request.provider or None,
                "custom": request.custom,
                "protect": request.protect,
                # Lifecycle options a test may assert on; not part of the rendered plan.
                "retain_on_delete": request.retainOnDelete,
                "delete_before_replace": request.deleteBeforeReplace,
                "replace_on_changes": list(request.replaceOnChanges),
                "depends_on": sorted(set(request.dependencies) - property_urns),
                "inputs": rpc.deserialize_properties(request.object, keep_unknowns=True),
            }
        )
        return response
