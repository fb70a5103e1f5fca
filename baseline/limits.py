"""The clouds' limits, in one place.

Both the configuration checks (before anything is registered) and the strict mocks (at
registration) read these, so the offline plan refuses exactly what the cloud would refuse.
Sources: Alibaba Cloud RAM "Limits" and API references (CreateUser, CreateRole, CreatePolicy,
CreateAccessKey, OOS CreateSecretParameter), AWS IAM "IAM and AWS STS quotas".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# --- Alibaba Cloud RAM -------------------------------------------------------------------
RAM_USER_NAME = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
RAM_ROLE_NAME = re.compile(r"^[A-Za-z0-9.-]{1,64}$")
RAM_POLICY_NAME = re.compile(r"^[A-Za-z0-9-]{1,128}$")
RAM_DISPLAY_NAME_MAX = 128
RAM_POLICY_DOCUMENT_MAX = 6144
RAM_CUSTOM_POLICIES_PER_PRINCIPAL = 10
RAM_SYSTEM_POLICIES_PER_PRINCIPAL = 20
RAM_ACCESS_KEYS_PER_USER = 2
RAM_ROLE_SESSION_MIN = 3600
RAM_ROLE_SESSION_MAX = 43200
RAM_POLICY_VERSIONS = 5
RAM_PASSWORD_MIN = 8
RAM_PASSWORD_MAX = 32
# A RAM password policy (SetPasswordPolicy) may demand a minimum length up to 32, each of the four
# character classes, up to 8 different characters and no user name. Generated console passwords
# meet the strictest such policy, so they work whatever the account sets: 32 characters, at least
# one of each class (the rest random, so far more than 8 different characters), symbols from the
# plain ASCII set below (no quotes, backslash or space, which some consoles and shells mangle).
RAM_PASSWORD_CLASSES = ("lower", "upper", "numeric", "special")
RAM_PASSWORD_SYMBOLS = "!@#$%^&*()_+-="
GENERATED_PASSWORD_LENGTH = RAM_PASSWORD_MAX

ALICLOUD_ACCOUNT_ID = re.compile(r"^[0-9]{16}$")
# ECS instance ids are "i-" followed by lowercase letters and digits (20 in all today).
ECS_INSTANCE_ID = re.compile(r"^i-[a-z0-9]{8,30}$")
# An Amazon EC2 instance id: "i-" and 17 hexadecimal characters (the only form for instances
# created since 2018; AWS EC2 User Guide, "Resource IDs": i-1234567890abcdef0). Alibaba's ids are
# 20 characters after "i-" from its whole alphabet (i-bp1726beecvi8kak****, the ECS API reference),
# so one of this shape in an ECS list is an EC2 id pasted by mistake. (EC2's older 8-character
# form is not refused: Alibaba's own early ids were about that short.)
AWS_EC2_INSTANCE_ID = re.compile(r"^i-[0-9a-f]{17}$")
KMS_KEY_ID = re.compile(
    r"^(key-[A-Za-z0-9-]{8,64}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|alias/[A-Za-z0-9_/-]{1,255})$"
)
# OSS bucket naming: 3-63 lowercase letters, digits or '-', starting and ending with a letter or digit.
OSS_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
# Resource Manager CreateResourceGroup: 3-50 letters, digits or hyphens, starting with a letter.
RESOURCE_GROUP_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{2,49}$")
RESOURCE_GROUP_DISPLAY_NAME_MAX = 50
# Resource Manager names a RAM user principal by its logon name in the account's default domain.
RAM_USER_PRINCIPAL = re.compile(r"^(?P<user>[A-Za-z0-9._-]{1,64})@(?P<account>[0-9]{16})\.onaliyun\.com$")

# Public Alibaba Cloud regions (Endpoints, 2026). A region outside this list is almost always
# a typo; the provider's own region check is the fallback for new ones.
ALICLOUD_REGIONS = frozenset(
    {
        "cn-qingdao",
        "cn-beijing",
        "cn-zhangjiakou",
        "cn-huhehaote",
        "cn-wulanchabu",
        "cn-hangzhou",
        "cn-shanghai",
        "cn-nanjing",
        "cn-fuzhou",
        "cn-shenzhen",
        "cn-heyuan",
        "cn-guangzhou",
        "cn-chengdu",
        "cn-hongkong",
        "cn-wuhan-lr",
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-southeast-1",
        "ap-southeast-3",
        "ap-southeast-5",
        "ap-southeast-6",
        "ap-southeast-7",
        "us-west-1",
        "us-east-1",
        "eu-central-1",
        "eu-west-1",
        "me-east-1",
        "me-central-1",
        "na-south-1",
    }
)

# --- Alibaba Cloud OOS -----------------------------------------------------------------------
OOS_PARAMETER_NAME = re.compile(r"^[A-Za-z0-9_/-]{2,180}$")
OOS_RESERVED_PREFIXES = ("ALIYUN", "ACS", "ALIBABA", "ALICLOUD", "OOS")
OOS_VALUE_MAX = 4096

# --- AWS IAM ----------------------------------------------------------------------------------
IAM_ROLE_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")
IAM_POLICY_NAME = re.compile(r"^[\w+=,.@-]{1,128}$")
IAM_PATH = re.compile(r"^/([\x21-\x7e]{0,510}/)?$")
IAM_MANAGED_POLICY_MAX = 6144  # characters, whitespace not counted
IAM_TRUST_POLICY_MAX = 2048  # default quota, whitespace not counted
IAM_MANAGED_POLICIES_PER_ROLE = 10
IAM_ROLE_SESSION_MIN = 3600
IAM_ROLE_SESSION_MAX = 43200
IAM_TAGS_MAX = 50
AWS_ACCOUNT_ID = re.compile(r"^[0-9]{12}$")
# A managed policy ARN (customer-managed or AWS-managed), as a permissions boundary or attachment.
IAM_POLICY_ARN = re.compile(r"^arn:aws:iam::([0-9]{12}|aws):policy/([\x21-\x7e]*/)?[\w+=,.@-]{1,128}$")
AWS_REGIONS = frozenset(
    {
        "us-east-1",
        "us-east-2",
        "us-west-1",
        "us-west-2",
        "af-south-1",
        "ap-east-1",
        "ap-east-2",
        "ap-south-1",
        "ap-south-2",
        "ap-southeast-1",
        "ap-southeast-2",
        "ap-southeast-3",
        "ap-southeast-4",
        "ap-southeast-5",
        "ap-southeast-6",
        "ap-southeast-7",
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-northeast-3",
        "ca-central-1",
        "ca-west-1",
        "eu-central-1",
        "eu-central-2",
        "eu-west-1",
        "eu-west-2",
        "eu-west-3",
        "eu-south-1",
        "eu-south-2",
        "eu-north-1",
        "il-central-1",
        "me-south-1",
        "me-central-1",
        "mx-central-1",
        "sa-east-1",
        "us-gov-east-1",
        "us-gov-west-1",
    }
)


@dataclass(frozen=True)
class NameRule:
    """A name pattern with the words a message needs to explain it."""

    pattern: re.Pattern[str]
    described: str

    def check(self, value: str) -> str | None:
        """Return why ``value`` is refused, or None when the cloud accepts it."""
        if self.pattern.fullmatch(value):
            return None
        return f"must be {self.described}"


RAM_USER = NameRule(RAM_USER_NAME, "1-64 characters of letters, digits, '.', '_' or '-'")
RAM_ROLE = NameRule(RAM_ROLE_NAME, "1-64 characters of letters, digits, '.' or '-'")
RAM_POLICY = NameRule(RAM_POLICY_NAME, "1-128 characters of letters, digits or '-'")
RESOURCE_GROUP = NameRule(
    RESOURCE_GROUP_NAME, "3-50 characters of letters, digits or '-', starting with a letter"
)
IAM_ROLE = NameRule(IAM_ROLE_NAME, "1-64 characters of letters, digits or +=,.@_-")
IAM_POLICY = NameRule(IAM_POLICY_NAME, "1-128 characters of letters, digits or +=,.@_-")


def oos_parameter_name_problem(name: str) -> str | None:
    """Why OOS would refuse ``name`` as a (secret) parameter name, or None."""
    if not OOS_PARAMETER_NAME.fullmatch(name):
        return "must be 2-180 characters of letters, digits, '-', '_' or '/'"
    if name.upper().startswith(OOS_RESERVED_PREFIXES):
        return "must not start with ALIYUN, ACS, ALIBABA, ALICLOUD or OOS (any case)"
    return None


def ram_user_principal_problem(principal: str, account_id: str | None = None) -> str | None:
    """Why Resource Manager would refuse ``principal`` as an IMSUser principal, or None."""
    match = RAM_USER_PRINCIPAL.fullmatch(principal)
    if match is None:
        return "must be <RAM user name>@<16-digit account id>.onaliyun.com"
    if account_id is not None and match["account"] != account_id:
        return f"names account {match['account']}, not this stack's account {account_id}"
    return None


def iam_document_length(document: str) -> int:
    """IAM counts policy size without whitespace."""
    return len("".join(document.split()))


# --- Alibaba Cloud service-linked roles ------------------------------------------------------
# One per account and service; RAM names the role itself. Only the services the scenarios use.
SERVICE_LINKED_ROLES = {
    "eci.aliyuncs.com": "AliyunServiceRoleForECI",
    "vnode.eci.aliyuncs.com": "AliyunServiceRoleForECIVnode",
}


# --- OIDC identity providers (S7 pipeline) -------------------------------------------------
# RAM CreateOIDCProvider: name up to 128 letters, digits, '.' or '-'; issuer an https URL
# without query, fragment or user info; at most 5 fingerprints and 50 client ids; the earliest
# allowed issuance time 1-168 hours.
RAM_OIDC_PROVIDER_NAME = re.compile(r"^[A-Za-z0-9.-]{1,128}$")
RAM_OIDC_PROVIDER = NameRule(RAM_OIDC_PROVIDER_NAME, "1-128 characters of letters, digits, '.' or '-'")
OIDC_ISSUER_URL = re.compile(r"^https://[A-Za-z0-9.-]+(:[0-9]+)?(/[^?#@\s]*)?$")
OIDC_FINGERPRINT = re.compile(r"^[0-9A-Fa-f]{40}$")  # SHA-1 of the issuer's CA certificate
RAM_OIDC_FINGERPRINTS_MAX = 5
RAM_OIDC_CLIENT_IDS_MAX = 50
RAM_OIDC_ISSUANCE_HOURS = (1, 168)
# IAM CreateOpenIDConnectProvider: up to 100 client ids (each 1-255 characters), at most 5
# thumbprints; one provider per issuer URL in an account.
IAM_OIDC_CLIENT_IDS_MAX = 100
IAM_OIDC_CLIENT_ID_MAX_LENGTH = 255
IAM_OIDC_THUMBPRINTS_MAX = 5
# The alicloud provider's assume_role session: 900-3600 seconds.
ALICLOUD_ASSUME_ROLE_SESSION = (900, 3600)
# Role ARNs an explicit provider may assume (group "account" is the account it lands in).
RAM_ROLE_ARN = re.compile(r"^acs:ram::(?P<account>[0-9]{16}):role/[A-Za-z0-9.-]{1,64}$")
IAM_ROLE_ARN = re.compile(r"^arn:aws:iam::(?P<account>[0-9]{12}):role/([\x21-\x7e]*/)?[\w+=,.@-]{1,64}$")
# S3 bucket names (3-63 lowercase letters, digits, '.', '-'; letter or digit at both ends) and
# KMS key ARNs (a key id or an alias), for the pipeline's state backend.
S3_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
KMS_KEY_ARN = re.compile(
    r"^arn:aws:kms:[a-z0-9-]+:[0-9]{12}:(key/[0-9a-f-]{36}|key/mrk-[0-9a-f]{32}|alias/[A-Za-z0-9/_-]+)$"
)

# --- Resource Directory control policies (S7 pipeline) ---------------------------------------
# ROS ALIYUN::ResourceManager::ControlPolicy (alibabacloud.com/help/en/ros/developer-reference/
# aliyun-resourcemanager-controlpolicy): PolicyDocument up to 2,048 characters; name 1-128
# letters, digits or '-', starting with a letter; description 1-1,024 letters, digits, '_' or '-',
# starting with a letter; EffectScope RAM. pulumi-alicloud 4.0.0's ControlPolicy docs print 4,096
# characters and also the scope All (Alibaba Cloud accounts too): the stricter 2,048 is kept, and so
# is RAM alone: CreateControlPolicy's own pages (resourcemanager 2020-03-31, 2025-12-15, and
# resourcedirectorymaster 2022-04-19) take EffectScope "RAM" only; `All` appears only in
# GetControlPolicy's answer (a policy that binds the Alibaba Cloud account too: the system ones).
# AttachControlPolicy (api-resourcedirectorymaster-2022-04-19-attachcontrolpolicy): at most 10
# control policies on a folder or member; targets are the Root folder, its subfolders and members.
RD_CONTROL_POLICY_DOCUMENT_MAX = 2048
RD_CONTROL_POLICY_NAME = NameRule(
    re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,127}$"), "1-128 letters, digits or '-', starting with a letter"
)
RD_CONTROL_POLICY_DESCRIPTION = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,1023}$")
RD_CONTROL_POLICY_EFFECT_SCOPES = ("RAM",)
RD_CONTROL_POLICIES_PER_TARGET = 10
# A member is its 16-digit account id; folders are "r-..." (the Root folder) and "fd-...".
RD_CONTROL_POLICY_TARGET = re.compile(r"^([0-9]{16}|r-[A-Za-z0-9]+|fd-[A-Za-z0-9]+)$")
