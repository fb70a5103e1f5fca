"""What a stack will create, as plain data, before anything is registered.

Scenario builders (``baseline.scenarios``) turn validated settings into these specs; the
components turn specs into resources. The extra hop exists for one reason: the clouds' limits
span scenarios (a user name is account-global, ten custom policies per principal, one RAM role
per instance), so the whole stack must be checked at once, before the first registration, with
an error that names the config key. ``validate_alicloud`` does that; the strict mocks check the
same limits again at registration.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from baseline import limits
from baseline.documents.render import canonical_json
from baseline.errors import Collector, ConfigError, set_command

Document = dict[str, Any]
SECRETS_KEY = "secrets"
PrincipalKind = Literal["user", "role"]


@dataclass(frozen=True)
class ConsoleSpec:
    password_secret: str | None  # None: generated at deploy time (random.RandomPassword)
    password_reset_required: bool
    mfa_bind_required: bool


@dataclass(frozen=True)
class UserSpec:
    key: str  # logical name inside the scenario, e.g. "command-user"
    name: str  # cloud name, naming rule applied
    source: str  # config key the name came from, for error messages
    display_name: str
    console: ConsoleSpec | None = None
    access_key: bool = False
    pgp_key: str | None = None


@dataclass(frozen=True)
class RoleSpec:
    key: str
    name: str
    source: str
    trust: Document
    description: str = ""
    max_session_duration: int = 3600


@dataclass(frozen=True)
class PolicySpec:
    key: str
    name: str
    source: str
    document: Document
    description: str = ""
    # Created by another stack (the pipeline stack owns the sandbox's S6 boundary): this stack
    # only references it by this ARN and never writes it.
    external_arn: str | None = None
    # The list settings whose entries the document repeats (setting key -> its entries), so an
    # oversized document names the list that made it grow.
    grows_with: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def rendered(self) -> str:
        return canonical_json(self.document)


_JSON_STRING = re.compile(r'"[^"]*"')
# What separates an entry (an instance id, an OS user name) from the rest of an ARN or a value.
_SEPARATORS = re.compile(r"[^A-Za-z0-9_.@+=-]+")


def _oversize_fix(policy: PolicySpec) -> str:
    """What to shorten when ``policy`` exceeds RAM's document limit: the list the user filled."""
    # Each entry costs the JSON strings that hold it (an instance id its whole ARN) and a comma.
    # The strings are split into words once: a refused list of 10,000 ids is named at once, not
    # after one scan of the document per entry.
    strings = [(len(m) + 1, frozenset(_SEPARATORS.split(m))) for m in _JSON_STRING.findall(policy.rendered)]
    weights = []
    for key, entries in policy.grows_with:
        if not entries:
            continue
        words = {e for e in entries if not _SEPARATORS.search(e)}
        others = [e for e in entries if e not in words]
        chars = 0
        for cost, found in strings:
            chars += cost * len(found & words)
        for entry in others:
            chars += sum(len(m) + 1 for m in _JSON_STRING.findall(policy.rendered) if entry in m)
        weights.append((chars, key, len(entries)))
    if not weights:
        return f"shorten the lists of settings under {policy.source.split('.')[0]}, or split the grant"
    chars, key, count = max(weights)
    return f"list fewer entries in {key} (its {count} entries take {chars:,} of the document's characters)"


@dataclass(frozen=True)
class Grant:
    """Attach a policy to a principal of the same scenario.

    ``policy`` is a PolicySpec key for custom policies and the policy's name for system ones.
    """

    principal_kind: PrincipalKind
    principal: str
    policy_type: Literal["Custom", "System"]
    policy: str
    source: str


@dataclass(frozen=True)
class InstanceRoleSpec:
    """Attach a scenario's RAM role to ECS instances (one role per instance, VPC only)."""

    role: str  # RoleSpec key
    instance_ids: tuple[str, ...]
    region: str
    source: str


@dataclass(frozen=True)
class SecretParameterSpec:
    key: str
    name: str
    source: str
    secret: str  # entry of `secrets` holding the value
    region: str
    kms_key_id: str | None
    description: str = ""


@dataclass(frozen=True)
class ServiceLinkedRoleSpec:
    """A service-linked role: one per account and service, so a stack creates it or declares it."""

    service: str
    role_name: str
    create: bool  # False: it already exists in the account (another stack or the console made it)
    source: str


@dataclass(frozen=True)
class ResourceGroupSpec:
    key: str
    name: str  # naming rule applied; unique in the account
    display_name: str
    source: str


@dataclass(frozen=True)
class ResourceGroupGrantSpec:
    """A system policy attached to a RAM user with one resource group as its scope."""

    group: str  # ResourceGroupSpec key
    principal: str  # <user>@<account>.onaliyun.com
    policy: str  # system policy name
    source: str
    user: str | None = None  # UserSpec key when the scenario creates the user


@dataclass(frozen=True)
class ScenarioSpec:
    """Everything one Alibaba Cloud scenario creates."""

    scenario: str  # config key, e.g. "patchManagement"
    users: tuple[UserSpec, ...] = ()
    roles: tuple[RoleSpec, ...] = ()
    policies: tuple[PolicySpec, ...] = ()
    grants: tuple[Grant, ...] = ()
    instance_roles: tuple[InstanceRoleSpec, ...] = ()
    secret_parameters: tuple[SecretParameterSpec, ...] = ()
    service_linked_roles: tuple[ServiceLinkedRoleSpec, ...] = ()
    resource_groups: tuple[ResourceGroupSpec, ...] = ()
    resource_group_grants: tuple[ResourceGroupGrantSpec, ...] = ()
    extras: dict[str, Any] = field(default_factory=dict)

    def user(self, key: str) -> UserSpec:
        return next(u for u in self.users if u.key == key)

    def role(self, key: str) -> RoleSpec:
        return next(r for r in self.roles if r.key == key)

    def policy(self, key: str) -> PolicySpec:
        return next(p for p in self.policies if p.key == key)

    def principal_name(self, grant: Grant) -> str:
        if grant.principal_kind == "user":
            return self.user(grant.principal).name
        return self.role(grant.principal).name


def _check_unique(kind: str, items: list[tuple[str, str]]) -> None:
    """Refuse two specs of one kind with one cloud name (names are account-global)."""
    seen: dict[str, str] = {}
    for name, source in items:
        if name in seen:
            raise ConfigError(
                key=source,
                value=name,
                problem=f"the {kind} name {name!r} is also used by {seen[name]}; "
                "names are global to the account",
                fix="give one of them another name, or turn one scenario off",
            )
        seen[name] = source


def validate_alicloud(
    specs: list[ScenarioSpec],
    secrets: set[str],
    values: Mapping[str, str] | None = None,
    stack: str = "<stack>",
) -> None:
    """Check a stack's Alibaba Cloud specs against the cloud's limits, across scenarios.

    ``values`` are the decrypted secrets of a real run; the offline plan cannot decrypt and
    passes None, and the strict mocks check the lengths again at registration. Secrets that are
    referenced but not set (``secrets`` lacks them) are not an error here: ``secret_needs``
    lists them, the plan notes them, and a real run refuses them (``config.require_secrets``).
    """
    found = Collector()
    users = [(u.name, u.source) for s in specs for u in s.users]
    roles = [(r.name, r.source) for s in specs for r in s.roles]
    policies = [(p.name, p.source) for s in specs for p in s.policies]
    with found.check():
        _check_unique("RAM user", users)
    with found.check():
        _check_unique("RAM role", roles)
    with found.check():
        _check_unique("custom policy", policies)
    for rule, items, kind in (
        (limits.RAM_USER, users, "RAM user"),
        (limits.RAM_ROLE, roles, "RAM role"),
        (limits.RAM_POLICY, policies, "policy"),
    ):
        for name, source in items:
            if (problem := rule.check(name)) is not None:
                found.add(
                    ConfigError(
                        key=source,
                        value=name,
                        problem=f"with the naming rule applied, the {kind} name {problem}",
                        fix="shorten the name or the naming prefix/suffix, or drop the characters",
                    )
                )

    custom: Counter[tuple[str, str]] = Counter()
    system: Counter[tuple[str, str]] = Counter()
    first_source: dict[tuple[str, str], str] = {}
    for spec in specs:
        for policy in spec.policies:
            size = len(policy.rendered)
            if size > limits.RAM_POLICY_DOCUMENT_MAX:
                found.add(
                    ConfigError(
                        key=policy.source,
                        value=policy.name,
                        problem=f"the policy document is {size} characters; RAM accepts at most "
                        f"{limits.RAM_POLICY_DOCUMENT_MAX}",
                        fix=_oversize_fix(policy),
                    )
                )
        for grant in spec.grants:
            principal = (grant.principal_kind, spec.principal_name(grant))
            counter = custom if grant.policy_type == "Custom" else system
            counter[principal] += 1
            first_source.setdefault(principal, grant.source)
    for counter, kind, limit in (
        (custom, "custom", limits.RAM_CUSTOM_POLICIES_PER_PRINCIPAL),
        (system, "system", limits.RAM_SYSTEM_POLICIES_PER_PRINCIPAL),
    ):
        for (principal_kind, name), count in sorted(counter.items()):
            if count > limit:
                found.add(
                    ConfigError(
                        key=first_source[(principal_kind, name)],
                        value=name,
                        problem=f"{count} {kind} policies would be attached to the RAM {principal_kind} "
                        f"{name!r}; RAM allows {limit}",
                        fix="merge policies or give the scenarios different principals",
                    )
                )

    claims: dict[str, str] = {}
    for spec in specs:
        for attachment in spec.instance_roles:
            role = spec.role(attachment.role)
            for instance in attachment.instance_ids:
                owner = f"{role.name} ({attachment.source})"
                if instance in claims and claims[instance] != owner:
                    found.add(
                        ConfigError(
                            key=attachment.source,
                            value=instance,
                            problem=f"instance {instance} is claimed by {claims[instance]} and "
                            f"{owner}; an ECS instance takes one RAM role",
                            fix="remove the instance from one of the two lists",
                        )
                    )
                    continue
                claims[instance] = owner

    parameters: dict[tuple[str, str], str] = {}
    for spec in specs:
        for parameter in spec.secret_parameters:
            if (problem := limits.oos_parameter_name_problem(parameter.name)) is not None:
                found.add(
                    ConfigError(
                        key=parameter.source,
                        value=parameter.name,
                        problem=f"an OOS parameter name {problem}",
                        fix="choose a name like 'axtSecretPassword'",
                    )
                )
                continue
            where = (parameter.region, parameter.name)
            if where in parameters:
                found.add(
                    ConfigError(
                        key=parameter.source,
                        value=parameter.name,
                        problem=f"the OOS parameter is also created by {parameters[where]}",
                        fix="give one of them another name",
                    )
                )
                continue
            parameters[where] = parameter.source
            value = (values or {}).get(parameter.secret)
            if value is not None and not 1 <= len(value) <= limits.OOS_VALUE_MAX:
                # The value is secret: the message gives its length only.
                found.add(
                    ConfigError(
                        key=f"{SECRETS_KEY}.{parameter.secret}",
                        problem=f"the value of OOS parameter {parameter.name!r} is {len(value)} characters; "
                        f"OOS accepts 1-{limits.OOS_VALUE_MAX}",
                        fix=f"set it again: {set_command(parameter.secret, stack)} "
                        "(it prompts for the value)",
                    )
                )

    with found.check():
        _check_regional_parameters(specs)
    with found.check():
        _check_service_linked_roles(specs)
    with found.check():
        _check_resource_groups(specs)
    found.raise_any()


@dataclass(frozen=True)
class SecretNeed:
    """A value the stack reads from ``secrets``: it must come from outside the program."""

    name: str  # entry under `secrets`
    key: str  # the config key that names it
    purpose: str


def secret_needs(specs: list[ScenarioSpec]) -> list[SecretNeed]:
    """Every secret the stack's specs reference, in registration order, each once."""
    needs: dict[str, SecretNeed] = {}
    for spec in specs:
        for user in spec.users:
            if user.console and user.console.password_secret:
                name = user.console.password_secret
                needs.setdefault(
                    name,
                    SecretNeed(
                        name=name,
                        key=f"{user.source.rsplit('.', 1)[0]}.console.passwordSecret",
                        purpose=f"initial console password of RAM user {user.name} (8-32 characters)",
                    ),
                )
        for parameter in spec.secret_parameters:
            needs.setdefault(
                parameter.secret,
                SecretNeed(
                    name=parameter.secret,
                    key=f"{parameter.source.rsplit('.', 1)[0]}.valueSecret",
                    purpose=f"Windows logon password stored in the OOS parameter {parameter.name} "
                    f"(1-{limits.OOS_VALUE_MAX} characters)",
                ),
            )
    return list(needs.values())


def _check_regional_parameters(specs: list[ScenarioSpec]) -> None:
    """An OOS parameter is served only in its own region: the instances that read it must be there."""
    for spec in specs:
        for parameter in spec.secret_parameters:
            for attachment in spec.instance_roles:
                if attachment.region != parameter.region:
                    raise ConfigError(
                        key=attachment.source,
                        value=list(attachment.instance_ids),
                        problem=f"these instances are in {attachment.region} but read the OOS parameter "
                        f"{parameter.name!r} in {parameter.region}; OOS serves a parameter only in its "
                        "own region",
                        fix="keep the instances that share the password, and the parameter, in one region "
                        "(one stack per region)",
                    )


def _check_service_linked_roles(specs: list[ScenarioSpec]) -> None:
    """A service-linked role exists once per account: one stack setting may create it."""
    seen: dict[str, ServiceLinkedRoleSpec] = {}
    for spec in specs:
        for role in spec.service_linked_roles:
            first = seen.get(role.service)
            if first is not None and (first.create or role.create):
                problem = (
                    f"the service-linked role {role.role_name} is also created by {first.source}"
                    if first.create and role.create
                    else f"{first.source} and {role.source} disagree on whether the service-linked role "
                    f"{role.role_name} exists"
                )
                raise ConfigError(
                    key=role.source,
                    value=role.service,
                    problem=f"{problem}; an account has one per service",
                    fix="create it in one place only and declare it 'existing' everywhere else",
                )
            seen.setdefault(role.service, role)


def _check_resource_groups(specs: list[ScenarioSpec]) -> None:
    groups = [(g.name, g.source) for s in specs for g in s.resource_groups]
    _check_unique("resource group", groups)
    for name, source in groups:
        if (problem := limits.RESOURCE_GROUP.check(name)) is not None:
            raise ConfigError(
                key=source,
                value=name,
                problem=f"with the naming rule applied, the resource group name {problem}",
                fix="choose a name like 'production' and a prefix that starts with a letter",
            )
    administers: dict[str, str] = {}
    for spec in specs:
        names = {g.key: g.name for g in spec.resource_groups}
        for grant in spec.resource_group_grants:
            if (problem := limits.ram_user_principal_problem(grant.principal)) is not None:
                raise ConfigError(
                    key=grant.source,
                    value=grant.principal,
                    problem=f"a resource group principal {problem}",
                    fix="write the RAM user as <name>@<account-id>.onaliyun.com",
                )
            group = names[grant.group]
            previous = administers.setdefault(grant.principal, group)
            if previous != group:
                raise ConfigError(
                    key=grant.source,
                    value=grant.principal,
                    problem=f"{grant.principal} would administer both {previous!r} and {group!r}; "
                    "the guide makes each user the administrator of exactly one group",
                    fix="give each resource group its own administrator",
                )


def by_kind(specs: list[ScenarioSpec]) -> dict[str, list[str]]:
    """Cloud names per kind, for reports and the cross-stack collision test."""
    names: dict[str, list[str]] = defaultdict(list)
    for spec in specs:
        names["user"] += [u.name for u in spec.users]
        names["role"] += [r.name for r in spec.roles]
        names["policy"] += [p.name for p in spec.policies]
    return {kind: sorted(values) for kind, values in names.items()}


# --- AWS -----------------------------------------------------------------------------------------
# A customer-managed IAM policy has exactly a RAM custom policy's shape.
IamPolicySpec = PolicySpec


@dataclass(frozen=True)
class IamRoleSpec:
    """An IAM role with one managed policy of its scenario and a permissions boundary."""

    key: str
    name: str
    source: str
    trust: Document
    trust_source: str  # config key of the trusted principals, for size errors
    policy: str  # IamPolicySpec key of the role's own policy
    boundary: str  # IamPolicySpec key of the permissions boundary
    managed_policy_arns: tuple[str, ...] = ()  # existing policies attached as well
    managed_policy_source: str = ""
    max_session_duration: int = 3600
    description: str = ""

    @property
    def rendered_trust(self) -> str:
        return canonical_json(self.trust)

    @property
    def managed_policy_count(self) -> int:
        return 1 + len(self.managed_policy_arns)


@dataclass(frozen=True)
class AwsScenarioSpec:
    """Everything one AWS scenario creates, in one account and region."""

    scenario: str  # config key, e.g. "ecsMcpServer"
    account_id: str
    region: str
    policies: tuple[IamPolicySpec, ...] = ()
    roles: tuple[IamRoleSpec, ...] = ()
    tags: dict[str, str] = field(default_factory=dict)  # resource tags beyond the provider's
    extras: dict[str, Any] = field(default_factory=dict)

    def policy(self, key: str) -> IamPolicySpec:
        return next(p for p in self.policies if p.key == key)

    def role(self, key: str) -> IamRoleSpec:
        return next(r for r in self.roles if r.key == key)


def validate_aws(specs: list[AwsScenarioSpec]) -> None:
    """Check a stack's AWS specs against IAM's limits, across scenarios, before registration."""
    found = Collector()
    for spec in specs:
        if not limits.AWS_ACCOUNT_ID.fullmatch(spec.account_id):
            found.add(
                ConfigError(
                    key="aws.accountId",
                    value=spec.account_id,
                    problem="an AWS account id is 12 digits",
                    fix='write it as a quoted string, e.g. "123456789012"',
                )
            )
            continue
        if spec.region not in limits.AWS_REGIONS:
            found.add(
                ConfigError(
                    key="aws.region",
                    value=spec.region,
                    problem="not an AWS region",
                    fix="use a region id like 'us-east-1'",
                )
            )
    # IAM names are unique per account without regard to case.
    for kind, rule, items in (
        ("IAM role", limits.IAM_ROLE, [(r.name, r.source) for s in specs for r in s.roles]),
        ("IAM policy", limits.IAM_POLICY, [(p.name, p.source) for s in specs for p in s.policies]),
    ):
        seen: dict[str, str] = {}
        for name, source in items:
            if (problem := rule.check(name)) is not None:
                found.add(
                    ConfigError(
                        key=source,
                        value=name,
                        problem=f"with the naming rule applied, the {kind} name {problem}",
                        fix="shorten the name or the naming prefix/suffix, or drop the characters",
                    )
                )
                continue
            if name.lower() in seen:
                found.add(
                    ConfigError(
                        key=source,
                        value=name,
                        problem=f"the {kind} name {name!r} is also used by {seen[name.lower()]}; IAM names "
                        "are unique per account regardless of case",
                        fix="give one of them another name",
                    )
                )
                continue
            seen[name.lower()] = source
    for spec in specs:
        for policy in spec.policies:
            size = limits.iam_document_length(policy.rendered)
            if size > limits.IAM_MANAGED_POLICY_MAX:
                found.add(
                    ConfigError(
                        key=policy.source,
                        value=policy.name,
                        problem=f"the managed policy is {size} characters without whitespace; IAM accepts "
                        f"at most {limits.IAM_MANAGED_POLICY_MAX}",
                        fix="shorten the lists that feed it (passRoles, clusters, repositories, "
                        "cloudFormationStacks, taskDefinitionFamilies: a shared prefix such as 'web-*' "
                        "names several; "
                        "boundary.extraDenyStatements)",
                    )
                )
        for role in spec.roles:
            size = limits.iam_document_length(role.rendered_trust)
            if size > limits.IAM_TRUST_POLICY_MAX:
                found.add(
                    ConfigError(
                        key=role.trust_source,
                        problem=f"the trust policy of {role.name} is {size} characters without "
                        f"whitespace; IAM accepts at most {limits.IAM_TRUST_POLICY_MAX} by default",
                        fix="trust fewer principals (an account id trusts all of its identities), or "
                        "raise the 'Role trust policy length' quota and this limit together",
                    )
                )
                continue
            if role.managed_policy_count > limits.IAM_MANAGED_POLICIES_PER_ROLE:
                found.add(
                    ConfigError(
                        key=role.managed_policy_source or role.source,
                        problem=f"{role.managed_policy_count} managed policies would be attached to the IAM "
                        f"role {role.name}; IAM allows {limits.IAM_MANAGED_POLICIES_PER_ROLE}",
                        fix=f"list at most {limits.IAM_MANAGED_POLICIES_PER_ROLE - 1} extra policy ARNs",
                    )
                )
                continue
            if not limits.IAM_ROLE_SESSION_MIN <= role.max_session_duration <= limits.IAM_ROLE_SESSION_MAX:
                found.add(
                    ConfigError(
                        key=role.source,
                        value=role.max_session_duration,
                        problem="the session duration must be 3600-43200 seconds",
                        fix="use e.g. 3600",
                    )
                )
                continue
            # A role without its boundary would silently keep its full identity policy.
            keys = {p.key for p in spec.policies}
            if role.boundary not in keys or role.policy not in keys:
                raise ValueError(f"role {role.key} of {spec.scenario} names a policy its spec lacks")
    found.raise_any()


# --- S7: the pipeline's own identities -----------------------------------------------------------
@dataclass(frozen=True)
class OidcProviderSpec:
    """GitHub's OIDC issuer registered in one account of one cloud."""

    cloud: Literal["alicloud", "aws"]
    account: str
    name: str  # RAM: the provider name; IAM: the issuer host (IAM names it so)
    arn: str
    issuer: str
    client_ids: tuple[str, ...]
    fingerprints: tuple[str, ...]
    source: str
    issuance_limit_hours: int | None = None  # RAM only


@dataclass(frozen=True)
class DeployerReach:
    """What a stack's deployer must reach that its name prefix does not say (S7): the policies it
    attaches but does not create (RAM system policy names; AWS managed policy ARNs, AWS-managed or
    existing customer ones) and the names of its secret parameters (for a stack without prefix)."""

    system: tuple[str, ...] = ()
    managed: tuple[str, ...] = ()
    secret_parameters: tuple[str, ...] = ()
    # The identities the stack creates, by exact name: what its deploy role may create, change,
    # re-trust, hand credentials to and attach (issue 16: held to its own stack's identities).
    ram_users: tuple[str, ...] = ()
    ram_roles: tuple[str, ...] = ()
    ram_policies: tuple[str, ...] = ()
    iam_roles: tuple[str, ...] = ()
    iam_policies: tuple[str, ...] = ()
    iam_boundaries: tuple[str, ...] = ()  # the IAM policies its roles carry as boundary
    # Boundaries the stack references but another stack must create (``PolicySpec.external_arn``):
    # the pipeline stack creates them, so no deploy role writes the boundary it is held to.
    external_boundaries: tuple[PolicySpec, ...] = ()
    # The ECS instances the stack attaches its instance roles to ("<region>/<instance id>") and
    # those roles: AttachInstanceRamRole is authorised on the instance and the role, both kept here.
    instances: tuple[str, ...] = ()
    instance_roles: tuple[str, ...] = ()
    # RAM users the stack grants a resource group's policy but does not create (prod's qa-lead):
    # the deployer may attach and detach policies for them, nothing else.
    attach_users: tuple[str, ...] = ()
    # Where the stack's OOS secret parameters live (regions) and the customer keys they use
    # ("<region>/<key id>"): the KMS calls OOS makes with the deployer's credentials.
    secret_regions: tuple[str, ...] = ()
    secret_keys: tuple[str, ...] = ()


def deployer_reach(alicloud: Iterable[ScenarioSpec], aws: Iterable[AwsScenarioSpec]) -> DeployerReach:
    """Read off the stack's own specs (one place, so the pipeline's deploy roles cannot drift)."""
    alicloud = list(alicloud)
    system = {g.policy for spec in alicloud for g in spec.grants if g.policy_type == "System"}
    system |= {g.policy for spec in alicloud for g in spec.resource_group_grants}
    managed = {arn for spec in aws for role in spec.roles for arn in role.managed_policy_arns}
    parameters = {p.name for spec in alicloud for p in spec.secret_parameters}
    aws = list(aws)

    def names(items) -> tuple[str, ...]:
        return tuple(sorted({item.name for item in items}))

    boundaries = {
        policy.name
        for spec in aws
        for role in spec.roles
        for policy in spec.policies
        if policy.key == role.boundary
    }
    return DeployerReach(
        system=tuple(sorted(system)),
        managed=tuple(sorted(managed)),
        secret_parameters=tuple(sorted(parameters)),
        ram_users=names(u for spec in alicloud for u in spec.users),
        ram_roles=names(r for spec in alicloud for r in spec.roles),
        ram_policies=names(p for spec in alicloud for p in spec.policies),
        iam_roles=names(r for spec in aws for r in spec.roles),
        iam_policies=names(p for spec in aws for p in spec.policies if not p.external_arn),
        iam_boundaries=tuple(sorted(boundaries)),
        external_boundaries=tuple(p for spec in aws for p in spec.policies if p.external_arn),
        instances=tuple(
            sorted(
                {f"{a.region}/{i}" for spec in alicloud for a in spec.instance_roles for i in a.instance_ids}
            )
        ),
        instance_roles=names(spec.role(a.role) for spec in alicloud for a in spec.instance_roles),
        attach_users=tuple(
            sorted(
                {
                    g.principal.split("@", 1)[0]
                    for spec in alicloud
                    for g in spec.resource_group_grants
                    if g.user is None
                }
            )
        ),
        secret_regions=tuple(sorted({p.region for spec in alicloud for p in spec.secret_parameters})),
        secret_keys=tuple(
            sorted(
                {
                    f"{p.region}/{p.kms_key_id}"
                    for spec in alicloud
                    for p in spec.secret_parameters
                    if p.kms_key_id
                }
            )
        ),
    )


@dataclass(frozen=True)
class PipelineRoleSpec:
    """A role one GitHub environment of one repository assumes, with its one policy."""

    key: str  # unique in the stack, e.g. "alicloud-prod-deploy"
    cloud: Literal["alicloud", "aws"]
    account: str
    name: str
    arn: str
    environment: str  # the stack it deploys or previews
    github_environment: str
    subjects: tuple[str, ...]  # the `sub` claims the trust accepts (one per workflow and ref)
    access: Literal["deploy", "preview"]
    trust: Document
    policy_name: str
    policy: Document
    source: str
    max_session_duration: int = 3600
    description: str = ""
    boundary_arn: str | None = None  # IAM: the account's pipeline boundary

    @property
    def rendered_trust(self) -> str:
        return canonical_json(self.trust)

    @property
    def rendered_policy(self) -> str:
        return canonical_json(self.policy)


@dataclass(frozen=True)
class PipelineBoundarySpec:
    """The permissions boundary every pipeline IAM role of one account sits behind."""

    account: str
    name: str
    arn: str
    document: Document

    @property
    def rendered(self) -> str:
        return canonical_json(self.document)


@dataclass(frozen=True)
class ControlPolicySpec:
    """A Resource Directory control policy the pipeline stack writes from the management account
    and attaches to one member account (an environment's Alibaba Cloud account)."""

    name: str
    target: str  # the member's account id
    environment: str
    document: Document
    source: str
    description: str = ""

    @property
    def rendered(self) -> str:
        return canonical_json(self.document)


@dataclass(frozen=True)
class PipelineSpec:
    """Everything S7 creates: OIDC providers per account, preview and deploy roles per environment."""

    repository: str
    home_accounts: dict[str, str]  # cloud -> the account the administrator's credentials land in
    admin_roles: dict[str, str]  # cloud -> role assumed in every other account
    providers: tuple[OidcProviderSpec, ...] = ()
    roles: tuple[PipelineRoleSpec, ...] = ()
    boundaries: tuple[PipelineBoundarySpec, ...] = ()
    # Boundaries the deployed stacks' roles carry but no deploy role may write (the sandbox's).
    workload_boundaries: tuple[PipelineBoundarySpec, ...] = ()
    # Resource Directory control policies on the environments' Alibaba Cloud accounts.
    control_policies: tuple[ControlPolicySpec, ...] = ()

    def accounts(self, cloud: str) -> list[str]:
        return sorted({p.account for p in self.providers if p.cloud == cloud})


def validate_pipeline(spec: PipelineSpec) -> None:
    """The clouds' limits on S7's names and documents, before anything is registered."""
    found = Collector()
    seen: dict[tuple[str, str, str], str] = {}
    for role in spec.roles:
        rule = limits.RAM_ROLE if role.cloud == "alicloud" else limits.IAM_ROLE
        policy_rule = limits.RAM_POLICY if role.cloud == "alicloud" else limits.IAM_POLICY
        for kind, name, check in (("role", role.name, rule), ("policy", role.policy_name, policy_rule)):
            if (problem := check.check(name)) is not None:
                found.add(
                    ConfigError(
                        key=role.source,
                        value=name,
                        problem=f"the {role.cloud} {kind} name {problem}",
                        fix="shorten pipeline.roleNamePrefix or the environment name",
                    )
                )
                continue
            where = (role.cloud, role.account, f"{kind}:{name.lower()}")
            if where in seen:
                found.add(
                    ConfigError(
                        key=role.source,
                        value=name,
                        problem=f"the {kind} name is also used by {seen[where]} in account {role.account}",
                        fix="give each environment its own name",
                    )
                )
                continue
            seen[where] = role.source
        if role.cloud == "alicloud":
            size, limit = len(role.rendered_policy), limits.RAM_POLICY_DOCUMENT_MAX
        else:
            size, limit = limits.iam_document_length(role.rendered_policy), limits.IAM_MANAGED_POLICY_MAX
        if size > limit:
            found.add(
                ConfigError(
                    key=role.source,
                    value=role.policy_name,
                    problem=f"the {role.access} policy is {size} characters; the cloud accepts {limit}",
                    fix="report this: the deployer policy outgrew one document",
                )
            )
            continue
        if (
            role.cloud == "aws"
            and limits.iam_document_length(role.rendered_trust) > limits.IAM_TRUST_POLICY_MAX
        ):
            found.add(
                ConfigError(
                    key=role.source,
                    problem=f"the trust policy of {role.name} exceeds {limits.IAM_TRUST_POLICY_MAX} "
                    "characters",
                    fix="shorten the repository or environment name",
                )
            )
    for boundary in (*spec.boundaries, *spec.workload_boundaries):
        size = limits.iam_document_length(boundary.rendered)
        if size > limits.IAM_MANAGED_POLICY_MAX:
            found.add(
                ConfigError(
                    key="pipeline.environments",
                    value=boundary.name,
                    problem=f"the pipeline boundary of account {boundary.account} is {size} characters; IAM "
                    f"accepts {limits.IAM_MANAGED_POLICY_MAX}",
                    fix="report this: the boundary outgrew one document",
                )
            )
    per_target: dict[str, int] = {}
    for control in spec.control_policies:
        size = len(control.rendered)
        if size > limits.RD_CONTROL_POLICY_DOCUMENT_MAX:
            found.add(
                ConfigError(
                    key=control.source,
                    value=control.name,
                    problem=f"the control policy is {size} characters; Resource Directory accepts "
                    f"{limits.RD_CONTROL_POLICY_DOCUMENT_MAX}",
                    fix="shorten pipeline.roleNamePrefix or the environment names (each is named in it)",
                )
            )
        per_target[control.target] = per_target.get(control.target, 0) + 1
        # FullAliyunAccess stays attached to every member beside ours.
        if per_target[control.target] + 1 > limits.RD_CONTROL_POLICIES_PER_TARGET:
            found.add(
                ConfigError(
                    key=control.source,
                    value=control.target,
                    problem="more control policies on this account than Resource Directory attaches "
                    f"({limits.RD_CONTROL_POLICIES_PER_TARGET}, FullAliyunAccess included)",
                    fix="give each environment an Alibaba Cloud account of its own",
                )
            )
    found.raise_any()
