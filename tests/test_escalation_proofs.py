"""The escalation catalogues as proofs: every request, not the requests someone listed.

For every principal of every stack, the solver proves that no request whose action is in the
escalation set (both clouds: role passing, policy and role writes, credentials, commands on
instances) is allowed, on any resource and in any context, outside the principal's intended reach
(baseline/analysis/intended_reach.yaml, stated once). Every bound is used by some allowed request,
so a stale bound fails too. The request catalogues (test_escalation_aws.py, test_escalation_ram.py)
stay as a cross-check: the same answers, asked one request at a time.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
from conftest import FIXTURES, STACKS_DIR, render_from, shipped_stacks

from baseline.analysis import access, symbolic
from baseline.analysis.diff import ESCALATION_ACTIONS
from baseline.documents.alicloud import COMMAND_ACTIONS

STACKS = ("dev", "staging", "prod", "pipeline", "example")  # the examples, in tests/fixtures/stacks
SERVICES = {"alicloud": ("ram", "ecs"), "aws": ("iam", "ecs")}


@cache
def plan(stack: str, directory: Path = FIXTURES) -> dict:
    return render_from(directory, stack)


def escalation_set(cloud: str) -> list[str]:
    return [a for a in (*ESCALATION_ACTIONS, *COMMAND_ACTIONS) if a.split(":")[0] in SERVICES[cloud]]


@cache
def reach(stack: str) -> tuple[tuple[access.Principal, symbolic.Reach], ...]:
    """Every principal's escalation reach in ``stacks/Pulumi.<stack>.yaml``, whatever stacks/ holds."""
    found = []
    for principal in access.principals(plan(stack, STACKS_DIR)):
        grants = access.grants_of(plan(stack, STACKS_DIR), principal)
        bounds = symbolic.intended_reach(principal)
        found.append((principal, symbolic.escalation_reach(grants, escalation_set(principal.cloud), bounds)))
    return tuple(found)


@pytest.mark.shipped
@pytest.mark.parametrize("stack", shipped_stacks())
def test_no_principal_reaches_an_escalation_beyond_its_stated_reach(stack):
    beyond = {
        principal.label: [c.describe() for c in result.outside.classes]
        for principal, result in reach(stack)
        if result.outside.classes
    }
    assert beyond == {}
    assert all(not result.outside.approximations for _, result in reach(stack))


@pytest.mark.shipped
@pytest.mark.parametrize("stack", shipped_stacks())
def test_every_bound_a_principal_has_is_used(stack):
    stale = {principal.label: result.unused for principal, result in reach(stack) if result.unused}
    assert stale == {}


def test_every_entry_of_the_reach_file_names_a_principal_of_some_stack():
    names = [(p.cloud, p.name) for stack in STACKS for p in access.principals(plan(stack))]
    for entry in symbolic._reach_entries():
        matched = [n for c, n in names if c == entry["cloud"] and symbolic.glob_match(entry["principal"], n)]
        assert matched, entry["why"]


def test_a_bound_narrower_than_the_grant_is_caught_with_a_witness():
    # The proof is not passing by asking too little: drop user02 from S2's bound and the solver
    # names the request it now falls outside, one the catalogue would ask only if listed.
    principal = access.find_principal(plan("prod"), "commandUser")[0]
    grants = access.grants_of(plan("prod"), principal)
    [bound] = symbolic.intended_reach(principal)
    narrower = {**bound, "Condition": {"StringEquals": {"ecs:CommandRunAs": ["user01"]}}}
    result = symbolic.escalation_reach(grants, escalation_set("alicloud"), [narrower])
    assert result.outside.classes
    assert all(c.witness.context == {"ecs:CommandRunAs": ["user02"]} for c in result.outside.classes)


def test_without_a_bound_the_intended_reach_is_what_the_solver_finds():
    # S6's deployment role in prod creates no role (createRoles is refused there): passing the
    # pre-created task roles is its one escalation-relevant reach, and the file states exactly it.
    principal = access.find_principal(plan("prod"), "EcsMcpDeploymentManagementRole")[0]
    grants = access.grants_of(plan("prod"), principal)
    result = symbolic.escalation_reach(grants, escalation_set("aws"), [])
    actions = {a for c in result.outside.classes for a in c.actions}
    assert actions == {"iam:PassRole"}
