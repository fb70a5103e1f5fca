"""main's ruleset in the bootstrap (outside review, round 2, finding 1).

Every real pipeline role trusts only `deploy.yml`/`drift.yml` read from `refs/heads/main`, so the
trusts are exactly as strong as what may land on main: an unprotected main lets anyone with write
access push a workflow or program change that `push` runs in dev and staging (no reviewers) with
their deploy roles, which administer those accounts. The bootstrap (docs/operations.md, section 8)
creates a ruleset on the default branch from docs/bootstrap/ruleset-main.json; these checks hold
the step, the file and the CI job names it requires together.
"""

from __future__ import annotations

import copy
import io
import json
import re

import test_s7_pipeline as s7
import test_workflow_trust as trust
import test_workflows as wf
from conftest import ROOT
from test_workflow_gates import section

from baseline.ops import ruleset as ruleset_check

RULESET = ROOT / "docs" / "bootstrap" / "ruleset-main.json"
PULL_REQUEST = ROOT / ".github" / "workflows" / "pull-request.yml"
# Where GitHub looks for a CODEOWNERS file (GitHub's "About code owners").
CODEOWNERS = [ROOT / ".github" / "CODEOWNERS", ROOT / "CODEOWNERS", ROOT / "docs" / "CODEOWNERS"]
# The app id GitHub Actions' check runs carry: a required check bound to it cannot be satisfied by a
# commit status or a check run another app or token posts under the same name.
GITHUB_ACTIONS_APP_ID = 15368
_RULESET_CALL = re.compile(r"gh api -X POST repos/OWNER/REPO/rulesets --input (\S+)")


def ruleset() -> dict:
    return json.loads(RULESET.read_text())


def rules() -> dict[str, dict]:
    found: dict[str, dict] = {}
    for rule in ruleset()["rules"]:
        assert rule["type"] not in found, f"{rule['type']} twice"
        found[rule["type"]] = rule.get("parameters") or {}
    return found


def check_names(path=PULL_REQUEST) -> set[str]:
    """The check-run name of every job of a workflow, one per matrix combination: the job's
    `name` with the matrix expanded, or (without a name) its id; GitHub appends the matrix values
    in parentheses when the name does not use them."""
    workflow = wf.load(path)
    names = set()
    for job_id, job in workflow["jobs"].items():
        for matrix in wf.variants(job) or [{}]:
            name = str(job.get("name") or job_id)
            expanded = wf.expand(name, job, workflow, matrix)
            if matrix and expanded == name:
                expanded = f"{name} ({', '.join(matrix.values())})"
            names.add(expanded)
    return names


def bootstrap_steps() -> str:
    """The numbered bootstrap order of section 8, up to the first change merged."""
    text = section(8)
    start = text.index("**Bootstrap order**")
    return text[start : text.index("Only then merge the first change", start)]


def test_the_bootstrap_creates_mains_ruleset_from_the_file_before_the_first_merge():
    calls = _RULESET_CALL.findall(bootstrap_steps())
    assert calls == [str(RULESET.relative_to(ROOT))], calls


def test_the_ruleset_protects_the_default_branch_with_no_bypass():
    body = ruleset()
    assert body["target"] == "branch" and body["enforcement"] == "active"
    assert body["conditions"] == {"ref_name": {"include": ["~DEFAULT_BRANCH"], "exclude": []}}
    # Nobody, administrators included, merges around the review: a bypass actor is the same hole.
    assert body["bypass_actors"] == []


def test_every_change_to_main_is_a_reviewed_pull_request():
    found = rules()
    assert {"deletion", "non_fast_forward", "pull_request", "required_status_checks"} <= set(found)
    review = found["pull_request"]
    assert review["required_approving_review_count"] >= 1
    assert review["dismiss_stale_reviews_on_push"] is True
    # The last push is approved by someone else: an author cannot push after the approval and merge.
    assert review["require_last_push_approval"] is True
    # Code-owner review only with a real CODEOWNERS: one naming made-up teams would block every merge.
    assert review["require_code_owner_review"] is any(p.is_file() for p in CODEOWNERS)


def test_the_required_checks_are_the_pull_request_jobs_run_by_github_actions():
    required = rules()["required_status_checks"]["required_status_checks"]
    contexts = [c["context"] for c in required]
    assert len(contexts) == len(set(contexts)), contexts
    assert set(contexts) == check_names(), f"required {sorted(contexts)}, jobs {sorted(check_names())}"
    assert all(c.get("integration_id") == GITHUB_ACTIONS_APP_ID for c in required), required


def test_check_names_follow_githubs_rule_for_matrix_jobs(tmp_path):
    """The derivation itself: a name using the matrix is expanded, one that does not gets the values
    appended, a job without a name is its id (so a renamed job fails the comparison above)."""
    path = tmp_path / "w.yml"
    path.write_text(
        "jobs:\n"
        "  a: {name: 'lint ${{ matrix.py }}', strategy: {matrix: {py: ['3.11', '3.12']}}}\n"
        "  b: {name: build, strategy: {matrix: {os: [linux]}}}\n"
        "  c: {}\n"
    )
    assert check_names(path) == {"lint 3.11", "lint 3.12", "build (linux)", "c"}


def test_every_real_trust_and_environment_binds_the_branch_the_ruleset_protects():
    """Finding 2's chain: GitHub matches an environment's branch rule against the run's GITHUB_REF
    (a pull request's is refs/pull/<n>/merge), and the real roles trust only workflows read from
    refs/heads/main. Both therefore rest on main, which is the default branch the ruleset covers;
    a real environment open to a pull request's ref, or a real role trusting another ref, would
    step around it."""
    assert ruleset()["conditions"]["ref_name"]["include"] == ["~DEFAULT_BRANCH"]
    call = r"gh api -X POST repos/OWNER/REPO/environments/([\w-]+)/deployment-branch-policies -f name=(\S+)"
    rules_by_env: dict[str, set[str]] = {}
    for environment, name in re.findall(call, section(8)):
        rules_by_env.setdefault(environment, set()).add(name)
    real = {e for e in rules_by_env if e != wf.SANDBOX}
    assert real and all(rules_by_env[e] == {"main"} for e in real), rules_by_env
    refs = {}
    for resource in s7.plan()["resources"]:
        for cloud, kind in s7.ROLE_TYPES.items():
            if resource["type"] == kind:
                for sub in trust.trusted_subjects(resource["inputs"][s7.TRUST_KEYS[cloud]], cloud):
                    match = trust.SUBJECT.fullmatch(sub)
                    refs.setdefault(match["environment"], set()).add(match["ref"])
    assert set(refs) - {wf.SANDBOX} == real, (sorted(refs), sorted(real))
    assert all(refs[e] == {"refs/heads/main"} for e in real), refs


def _applied(body: dict) -> list[dict]:
    """GitHub's "Get rules for a branch" answer for a branch one ruleset with ``body`` covers."""
    return [{**rule, "ruleset_source_type": "Repository", "ruleset_source": "o/r", "ruleset_id": 7}
            for rule in body["rules"]]  # fmt: skip


def _run(capsys, monkeypatch, stdin: str) -> tuple[int, list[str]]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = ruleset_check.main([str(RULESET)])
    return code, capsys.readouterr().out.splitlines()


def test_the_daily_check_accepts_the_ruleset_as_the_bootstrap_creates_it(capsys, monkeypatch):
    assert _run(capsys, monkeypatch, json.dumps(_applied(ruleset()))) == (0, [])
    # Stricter settings and another ruleset's rules are fine.
    stricter = copy.deepcopy(ruleset())
    rules_of = {r["type"]: r for r in stricter["rules"]}
    rules_of["pull_request"]["parameters"]["required_approving_review_count"] = 2
    rules_of["pull_request"]["parameters"]["require_code_owner_review"] = True
    assert ruleset_check.shortfalls(ruleset(), [*_applied(stricter), {"type": "required_signatures"}]) == []


def test_the_daily_check_names_every_rule_loosened_or_gone(capsys, monkeypatch):
    loose = copy.deepcopy(ruleset())
    loose["rules"] = [r for r in loose["rules"] if r["type"] != "non_fast_forward"]
    rules_of = {r["type"]: r for r in loose["rules"]}
    review = rules_of["pull_request"]["parameters"]
    review.update(required_approving_review_count=0, require_last_push_approval=False)
    checks = rules_of["required_status_checks"]["parameters"]["required_status_checks"]
    dropped = checks.pop(0)["context"]
    checks[0] = {"context": checks[0]["context"]}  # any app may now post it
    code, lines = _run(capsys, monkeypatch, json.dumps(_applied(loose)))
    assert code == 1
    assert len(lines) == 5 and all(line.startswith("main's ruleset: ") for line in lines), lines
    text = "\n".join(lines)
    assert "non_fast_forward: not applied to main" in text
    assert "required_approving_review_count is 0 (the bootstrap sets 1)" in text
    assert "require_last_push_approval is off" in text
    assert f"{dropped!r} (app {GITHUB_ACTIONS_APP_ID}) is not required" in text


def test_a_ruleset_set_to_evaluate_or_disabled_counts_as_gone(capsys, monkeypatch):
    """GitHub's endpoint leaves out the rules of rulesets in evaluate or disabled mode."""
    code, lines = _run(capsys, monkeypatch, "[]")
    assert code == 1 and len(lines) == len(ruleset()["rules"])


def test_unreadable_input_is_one_line_and_exit_2(capsys, monkeypatch):
    for stdin in ("not json", json.dumps({"message": "Not Found"})):
        code, lines = _run(capsys, monkeypatch, stdin)
        assert code == 2 and len(lines) == 1, lines


def test_the_drift_workflow_checks_mains_rules_daily_against_the_bootstrap_file():
    workflow = wf.load(ROOT / ".github" / "workflows" / "drift.yml")
    assert "schedule" in wf.triggers(workflow)
    (job,) = [j for j in workflow["jobs"].values() if any("-m baseline.ops.ruleset" in c for c in wf.runs(j))]
    assert not job.get("environment") and "id-token" not in (job.get("permissions") or {})
    commands = wf.runs(job)
    fetch = next(i for i, c in enumerate(commands) if "rules/branches/main" in c)
    check = next(i for i, c in enumerate(commands) if "-m baseline.ops.ruleset" in c)
    assert fetch < check and f"-m baseline.ops.ruleset {RULESET.relative_to(ROOT)} " in commands[check] + " "
