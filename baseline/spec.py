"""What a stack will create, as plain data, before anything is registered.

Scenario builders (``baseline.scenarios``) turn validated settings into these specs; the
components turn specs into resources. The extra hop exists for one reason: the clouds' limits
span scenarios (a user name is account-global, ten custom policies per principal, one RAM role
per instance), so the whole stack must be checked at once, before the first registration, with
an error that names the config key. ``validate_alicloud`` does that; the strict mocks check the
same limits again at registration.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, Literal

from baseline import limits
from baseline.documents.render import canonical_json
from baseline.errors import ConfigError

Document = dict[str, Any]
PrincipalKind = Literal["user", "role"]


@dataclass(frozen=True)
class ConsoleSpec:
    password_secret: str
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

    @property
    def rendered(self) -> str:
        return canonical_json(self.document)


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
class ScenarioSpec:
    """Everything one Alibaba Cloud scenario creates."""

    scenario: str  # config key, e.g. "patchManagement"
    users: tuple[UserSpec, ...] = ()
    roles: tuple[RoleSpec, ...] = ()
    policies: tuple[PolicySpec, ...] = ()
    grants: tuple[Grant, ...] = ()
    instance_roles: tuple[InstanceRoleSpec, ...] = ()
    secret_parameters: tuple[SecretParameterSpec, ...] = ()
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


def validate_alicloud(specs: list[ScenarioSpec], secrets: set[str]) -> None:
    """Check a stack's Alibaba Cloud specs against the cloud's limits, across scenarios."""
    users = [(u.name, u.source) for s in specs for u in s.users]
    roles = [(r.name, r.source) for s in specs for r in s.roles]
    policies = [(p.name, p.source) for s in specs for p in s.policies]
    _check_unique("RAM user", users)
    _check_unique("RAM role", roles)
    _check_unique("custom policy", policies)
    for rule, items, kind in (
        (limits.RAM_USER, users, "RAM user"),
        (limits.RAM_ROLE, roles, "RAM role"),
        (limits.RAM_POLICY, policies, "policy"),
    ):
        for name, source in items:
            if (problem := rule.check(name)) is not None:
                raise ConfigError(
                    key=source,
                    value=name,
                    problem=f"with the naming rule applied, the {kind} name {problem}",
                    fix="shorten the name or the naming prefix/suffix, or drop the characters",
                )

    custom: Counter[tuple[str, str]] = Counter()
    system: Counter[tuple[str, str]] = Counter()
    first_source: dict[tuple[str, str], str] = {}
    for spec in specs:
        for policy in spec.policies:
            size = len(policy.rendered)
            if size > limits.RAM_POLICY_DOCUMENT_MAX:
                raise ConfigError(
                    key=policy.source,
                    value=policy.name,
                    problem=f"the policy document is {size} characters; RAM accepts at most "
                    f"{limits.RAM_POLICY_DOCUMENT_MAX}",
                    fix="list fewer instance ids or split the grant",
                )
        for user in spec.users:
            if user.console and user.console.password_secret not in secrets:
                name = user.console.password_secret
                raise ConfigError(
                    key=f"{user.source.rsplit('.', 1)[0]}.console.passwordSecret",
                    value=name,
                    problem=f"the console password secret {name!r} is not set",
                    fix=f"run: pulumi config set --secret --path 'secrets.{name}' <password>",
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
                raise ConfigError(
                    key=first_source[(principal_kind, name)],
                    value=name,
                    problem=f"{count} {kind} policies would be attached to the RAM {principal_kind} "
                    f"{name!r}; RAM allows {limit}",
                    fix="merge policies or give the scenarios different principals",
                )

    claims: dict[str, str] = {}
    for spec in specs:
        for attachment in spec.instance_roles:
            role = spec.role(attachment.role)
            for instance in attachment.instance_ids:
                owner = f"{role.name} ({attachment.source})"
                if instance in claims and claims[instance] != owner:
                    raise ConfigError(
                        key=attachment.source,
                        value=instance,
                        problem=f"instance {instance} is claimed by {claims[instance]} and "
                        f"{owner}; an ECS instance takes one RAM role",
                        fix="remove the instance from one of the two lists",
                    )
                claims[instance] = owner

    parameters: dict[tuple[str, str], str] = {}
    for spec in specs:
        for parameter in spec.secret_parameters:
            if (problem := limits.oos_parameter_name_problem(parameter.name)) is not None:
                raise ConfigError(
                    key=parameter.source,
                    value=parameter.name,
                    problem=f"an OOS parameter name {problem}",
                    fix="choose a name like 'axtSecretPassword'",
                )
            where = (parameter.region, parameter.name)
            if where in parameters:
                raise ConfigError(
                    key=parameter.source,
                    value=parameter.name,
                    problem=f"the OOS parameter is also created by {parameters[where]}",
                    fix="give one of them another name",
                )
            parameters[where] = parameter.source
            if parameter.secret not in secrets:
                raise ConfigError(
                    key=parameter.source,
                    value=parameter.name,
                    problem=f"the secret {parameter.secret!r} holding its value is not set",
                    fix=f"run: pulumi config set --secret --path 'secrets.{parameter.secret}' <value>",
                )


def by_kind(specs: list[ScenarioSpec]) -> dict[str, list[str]]:
    """Cloud names per kind, for reports and the cross-stack collision test."""
    names: dict[str, list[str]] = defaultdict(list)
    for spec in specs:
        names["user"] += [u.name for u in spec.users]
        names["role"] += [r.name for r in spec.roles]
        names["policy"] += [p.name for p in spec.policies]
    return {kind: sorted(values) for kind, values in names.items()}
