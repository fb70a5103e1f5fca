"""Each pipeline role trusts exactly the workflows that run in its GitHub environment, read from
the refs those workflows run at (issue 24, the outside review's finding 1).

Derived from .github/workflows (every job's environment, matrix expanded, and the workflow's
triggers) and compared with the subjects the pipeline stack's plan trusts: a workflow that starts
using an environment, or a role that trusts a workflow no longer using it, fails here until the
pipeline's trusts (``TRUSTED_WORKFLOWS``) follow.
"""

from __future__ import annotations

import json
import re

import test_s7_pipeline as s7
import test_workflows as wf

from baseline.scenarios import pipeline as scenario

# `sub` under the repository's subject template (docs/operations.md section 8).
SUBJECT = re.compile(
    r"repository_owner_id:(?P<owner>\d+):repository_id:(?P<repository>\d+)"
    r":environment:(?P<environment>[\w-]+)"
    r":job_workflow_ref:(?P<repo>[\w.-]+/[\w.-]+)/\.github/workflows/(?P<workflow>[\w.-]+)@(?P<ref>\S+)"
)
DEFAULT_BRANCH = "refs/heads/main"


def refs(path_name: str, workflow: dict) -> set[str]:
    """The refs a run of ``workflow`` reads its file from (GitHub's "Events that trigger workflows":
    GITHUB_REF per event), for the triggers it has; an unknown trigger fails the derivation."""
    found: set[str] = set()
    for event, spec in wf.triggers(workflow).items():
        spec = spec or {}
        if event == "push":
            branches = spec.get("branches")
            assert branches, f"{path_name}: a push trigger without a branch filter runs from any branch"
            found |= {f"refs/heads/{b}" for b in branches}
        elif event in ("schedule", "workflow_run"):
            found.add(DEFAULT_BRANCH)  # the default branch's file
        elif event == "workflow_dispatch":
            found.add(DEFAULT_BRANCH)  # a dispatch on another branch is refused on purpose
        elif event == "pull_request":
            found.add("refs/pull/*/merge")
            # A merged pull request's `closed` run: GITHUB_REF is the branch it was merged into.
            if "closed" in (spec.get("types") or []):
                found |= {f"refs/heads/{b}" for b in spec.get("branches") or ["*"]}
        else:
            raise AssertionError(f"{path_name}: no ref model for the {event} trigger")
    return found


def workflow_environments() -> dict[str, set[tuple[str, str]]]:
    """GitHub environment -> {(workflow file, ref)} of every job that runs in it."""
    found: dict[str, set[tuple[str, str]]] = {}
    for path, _, job, workflow in wf.jobs():
        for matrix in wf.variants(job) or [{}]:
            environment = wf.environment(job, workflow, matrix)
            if environment:
                found.setdefault(environment, set()).update((path.name, r) for r in refs(path.name, workflow))
    return found


def trusted_subjects(document: str, cloud: str) -> list[str]:
    (statement,) = json.loads(document)["Statement"]
    values = [
        value
        for operator in ("StringEquals", "StringLike")
        for value in [(statement["Condition"].get(operator) or {}).get(s7.SUBJECT_KEYS[cloud])]
        if value is not None
    ]
    assert len(values) == 1, f"one subject condition per trust: {statement['Condition']}"
    return values[0] if isinstance(values[0], list) else [values[0]]


def plan_trusts() -> dict[str, set[tuple[str, str]]]:
    """GitHub environment -> {(workflow file, ref)} the pipeline plan's roles trust (in both clouds,
    which must agree); every subject must be the repository's, by its ids and its name."""
    stack = s7.pipeline_stack()["ecs-access-baseline:pipeline"]
    per_cloud: dict[str, dict[str, set[tuple[str, str]]]] = {}
    for cloud in s7.CLOUDS:
        found = per_cloud.setdefault(cloud, {})
        for resource in (r for r in s7.plan()["resources"] if r["type"] == s7.ROLE_TYPES[cloud]):
            for sub in trusted_subjects(resource["inputs"][s7.TRUST_KEYS[cloud]], cloud):
                match = SUBJECT.fullmatch(sub)
                assert match, f"not a subject of the documented template: {sub}"
                assert int(match["owner"]) == stack["repositoryOwnerId"]
                assert int(match["repository"]) == stack["repositoryId"]
                assert match["repo"] == stack["repository"]
                found.setdefault(match["environment"], set()).add((match["workflow"], match["ref"]))
    assert per_cloud["alicloud"] == per_cloud["aws"], per_cloud
    return per_cloud["aws"]


def test_every_role_trusts_exactly_the_workflows_that_run_in_its_environment():
    derived, trusted = workflow_environments(), plan_trusts()
    # The derivation must see the environments the roles serve, or the comparison proves nothing.
    assert {"dev", "staging", "prod", "test", "prod-preview"} <= set(derived), sorted(derived)
    assert trusted == derived, {
        e: {"trusted only": sorted(trusted.get(e, set()) - derived.get(e, set())),
            "run only": sorted(derived.get(e, set()) - trusted.get(e, set()))}
        for e in sorted(set(trusted) | set(derived)) if trusted.get(e) != derived.get(e)
    }  # fmt: skip


def test_only_the_sandbox_trusts_a_ref_other_than_main():
    for environment, pairs in plan_trusts().items():
        others = {ref for _, ref in pairs if ref != DEFAULT_BRANCH}
        if environment == scenario.SANDBOX:
            assert others == {scenario.PULL_REQUEST_MERGE}
        else:
            assert not others, (environment, others)
