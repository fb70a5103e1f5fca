"""The pull request's access-diff comment: rendered from a pull_request event, posted once.

The event is a pull_request ``synchronize`` payload in the shape GitHub sends (fields the code
does not read are trimmed), from a fork, where previews cannot run and this comment is the
reviewer's view of what the change grants.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
import yaml
from conftest import FIXTURES, ROOT

from baseline import stackfile
from baseline.ops import pr_comment, review
from baseline.ops.pr_comment import MARKER, Refused

EVENT = ROOT / "tests" / "data" / "pull_request_synchronize_event.json"
HEAD = "9b2d6e1c4a7f3e8b5d0c2a9e6f1b4d7c8a3e5f20"
REPO = "example-org/ecs-access-baseline"
NEW_WINDOWS = "i-bp1prodwin000000003"


def commit(repo, message):
    for argv in (["add", "."], ["commit", "-qm", message]):
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *argv], cwd=repo, check=True
        )


@pytest.fixture
def pr_checkout(tmp_path, monkeypatch):
    """A checkout like the workflow's: HEAD is the PR's merge commit, HEAD^1 the base branch."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "checkout"
    stacks = repo / "stacks"
    stacks.mkdir(parents=True)
    shutil.copy(FIXTURES / "Pulumi.prod.yaml", stacks)
    (stacks / "Pulumi.example.yaml").write_text((FIXTURES / "Pulumi.example.yaml").read_text())
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
    commit(repo, "base")
    document = yaml.safe_load((stacks / "Pulumi.prod.yaml").read_text())
    document["config"]["ecs-access-baseline:cloudAssistantWindows"]["windowsInstances"].append(
        {"id": NEW_WINDOWS}
    )
    (stacks / "Pulumi.prod.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    commit(repo, "prod: a third Windows host")
    monkeypatch.setattr(review, "ROOT", repo)
    monkeypatch.setattr(stackfile, "STACKS_DIR", stacks)
    return repo


def test_the_comment_rendered_from_the_event_shows_what_the_change_grants(pr_checkout, tmp_path, capsys):
    out = tmp_path / "artifact"
    assert pr_comment.main(["render", "--event", str(EVENT), "--out", str(out)]) == 0
    body = (out / pr_comment.BODY_FILE).read_text()
    assert body.startswith("## Access diff for #42 at 9b2d6e1c4a7f")
    assert "**1 stack(s) change**: prod; unchanged: example." in body
    assert f"cloud-assistant-windows-secret-reader-{NEW_WINDOWS}" in body  # the new role attachment
    assert "! alicloud:ram/policy:Policy  cloud-assistant-windows-command-policy" in body  # widened policy
    assert f"Resource + acs:ecs:cn-hangzhou:5098765432109876:instance/{NEW_WINDOWS}" in body
    row = next(line for line in body.splitlines() if line.startswith("| `RAM user winCommandUser` | gains |"))
    assert "ecs:InvokeCommand" in row and "ecs:RunCommand" in row and NEW_WINDOWS in row
    # The same classes as `baseline diff`: every request, each with the command that reproduces it.
    solved = next(line for line in body.splitlines() if "| gains (solver) |" in line)
    assert "winCommandUser" in solved and "ecs:CommandRunAs=user01" in solved
    assert f"--resource acs:ecs:cn-hangzhou:5098765432109876:instance/{NEW_WINDOWS}" in solved
    assert "**no other new access (proved)**" in body
    assert MARKER not in body  # the trusted job adds it
    assert json.loads((out / pr_comment.META_FILE).read_text()) == {"number": 42, "headSha": HEAD}


def test_an_unchanged_pull_request_says_so(pr_checkout, tmp_path):
    out = tmp_path / "artifact"
    assert pr_comment.main(["render", "--event", str(EVENT), "--base", "HEAD", "--out", str(out)]) == 0
    assert (
        "No stack changes what it creates or grants (example, prod)."
        in (out / pr_comment.BODY_FILE).read_text()
    )


def test_a_stack_that_no_longer_renders_gets_its_error_in_the_comment(pr_checkout, tmp_path):
    prod = pr_checkout / "stacks" / "Pulumi.prod.yaml"
    prod.write_text(prod.read_text().replace("protectIdentities: true", "protectIdentities: false"))
    commit(pr_checkout, "unprotect prod")
    out = tmp_path / "artifact"
    assert pr_comment.main(["render", "--event", str(EVENT), "--out", str(out)]) == 0
    body = (out / pr_comment.BODY_FILE).read_text()
    assert "### Stack `prod`\n\nDoes not render:" in body
    assert "prod identities must be protected" in body and "(in the new stack file" in body


JUDGE = ["judge", "--base-label", "main@1a2b3c", "--repository", REPO, "--head-sha", HEAD]


@pytest.fixture(autouse=True)
def api(monkeypatch):
    """GitHub's REST API as the judge and the poster see it: a PR that changes one stack file."""
    fake = FakeGitHub(files=["stacks/Pulumi.prod.yaml"])
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_test")
    monkeypatch.setattr(pr_comment, "github", lambda token: fake)
    return fake


def export_then_judge(repo, tmp_path, edit=None):
    """The two workflows' unprivileged steps: the PR's code exports at the PR's head, then the
    default branch's code (the base commit here) judges the export; ``edit`` tampers in between."""
    export = tmp_path / "export"
    assert pr_comment.main(["export", "--event", str(EVENT), "--out", str(export)]) == 0
    subprocess.run(["git", "checkout", "-q", "HEAD^1"], cwd=repo, check=True)
    if edit is not None:
        edit(export)
    out = tmp_path / "judged"
    assert pr_comment.main([*JUDGE, "--dir", str(export), "--out", str(out)]) == 0
    assert json.loads((out / pr_comment.META_FILE).read_text()) == {"number": 42, "headSha": HEAD}
    return (out / pr_comment.BODY_FILE).read_text()


def test_the_default_branchs_analyzer_and_pack_judge_the_prs_plans(pr_checkout, tmp_path):
    body = export_then_judge(pr_checkout, tmp_path)
    assert "Base: main@1a2b3c's program on its stack files" in body
    assert "New: the PR's plans, rendered by the PR's own program (untrusted)" in body
    assert "Compared by the default branch's `baseline diff` and judged by its policy pack" in body
    assert "renders the PR's stack files exactly as the PR's does" in body
    assert "**1 stack(s) change**: prod; unchanged: example." in body
    assert f"Resource + acs:ecs:cn-hangzhou:5098765432109876:instance/{NEW_WINDOWS}" in body
    assert "### Policy pack (the default branch's) on the PR's plans" in body
    assert "- `prod`: no violation" in body


def _rewrite_prod_plan(change):
    def edit(export):
        path = export / pr_comment.PLANS_DIR / "prod.json"
        plan = json.loads(path.read_text())
        change(plan)
        path.write_text(json.dumps(plan))

    return edit


def test_a_plan_the_prs_program_renders_differently_is_named_and_judged_as_rendered(pr_checkout, tmp_path):
    """The PR's program is untrusted: it may hide a grant from its plan or drop a protection. The
    comment judges what it rendered, and says the reviewed program renders the stack otherwise."""

    def unprotect(plan):
        for resource in plan["resources"]:
            resource["protect"] = False

    body = export_then_judge(pr_checkout, tmp_path, _rewrite_prod_plan(unprotect))
    assert "The PR's program renders `prod` differently from the default branch's program" in body
    assert "- `prod`: **35 mandatory**, 0 advisory" in body
    assert "mandatory `identities-protected-in-prod` cloud-assistant-linux-command-policy" in body


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda plan: plan.update(resources="nothing here"), "The PR's plan has no list of resources."),
        (lambda plan: plan["resources"].append(["not", "a", "resource"]), "has no list of resources"),
    ],
)
def test_a_malformed_plan_is_reported_not_trusted(pr_checkout, tmp_path, change, words):
    body = export_then_judge(pr_checkout, tmp_path, _rewrite_prod_plan(change))
    assert "### Stack `prod`" in body and words in body


def test_an_export_that_names_no_pull_request_is_refused(pr_checkout, tmp_path, capsys):
    def forge(export):
        (export / pr_comment.META_FILE).write_text(json.dumps({"number": "42", "headSha": HEAD}))

    export = tmp_path / "export"
    pr_comment.main(["export", "--event", str(EVENT), "--out", str(export)])
    forge(export)
    code = pr_comment.main([*JUDGE, "--dir", str(export), "--out", str(tmp_path / "o")])
    assert code == 1 and "refused to judge" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


FIRST = "**This PR changes the program: the plans below are its own word; read the code.**"


def test_a_pr_that_changes_the_program_is_flagged_first_whatever_its_plans_say(pr_checkout, tmp_path, api):
    """Review finding 4: the PR's program writes both its plans and what the program check reads,
    so a program change is judged from GitHub's file list, which the PR cannot write."""
    api.files = [{"filename": "stacks/Pulumi.prod.yaml"}, {"filename": "baseline/plan.py"}]
    body = export_then_judge(pr_checkout, tmp_path)
    assert body.startswith(FIRST + "\n"), body[:300]
    assert "Program files it changes: `baseline/plan.py`." in body
    # The exported plans are the reviewed program's own: only the file list tells.
    assert "renders the PR's stack files exactly as the PR's does" in body
    assert ("GET", f"/repos/{REPO}/pulls/42/files?per_page=100&page=1") in api.calls


def test_a_pr_that_changes_only_stack_files_says_so(pr_checkout, tmp_path, api):
    body = export_then_judge(pr_checkout, tmp_path)
    assert FIRST not in body
    assert body.startswith("This PR changes no program file (GitHub's list of its 1 changed paths")


@pytest.mark.parametrize(
    ("files", "program"),
    [
        (["baseline/analysis/diff.py"], ["baseline/analysis/diff.py"]),
        (["components/ram.py", "docs/x.md"], ["components/ram.py"]),
        (["__main__.py"], ["__main__.py"]),
        (["Pulumi.yaml"], ["Pulumi.yaml"]),
        (["policy/__main__.py"], ["policy/__main__.py"]),
        (["requirements.txt", "requirements-dev.txt"], ["requirements-dev.txt", "requirements.txt"]),
        ([".github/workflows/deploy.yml"], [".github/workflows/deploy.yml"]),
        (["Makefile"], ["Makefile"]),
        # A rename changes the program on both sides.
        (
            [{"filename": "docs/old.py", "previous_filename": "baseline/old.py"}],
            ["baseline/old.py", "docs/old.py"],
        ),
        # Whatever is not a stack file or prose is the program, a path never seen before included: a
        # root-level module shadows one of the standard library or a dependency for everything run there.
        (["yaml.py", "conftest.py"], ["conftest.py", "yaml.py"]),
        (
            ["pyproject.toml", ".pulumi-version", "tests/test_x.py", "sub/Makefile"],
            [".pulumi-version", "pyproject.toml", "sub/Makefile", "tests/test_x.py"],
        ),
        (["docs/bootstrap/ruleset-main.json"], ["docs/bootstrap/ruleset-main.json"]),
        (["stacks/Pulumi.dev.yaml", "docs/operations.md", "README.md"], []),
    ],
)
def test_the_program_is_everything_but_the_stack_files_and_prose(files, program):
    fake = FakeGitHub(files=files)
    paths, whole = pr_comment.pr_files(fake, REPO, 42, HEAD)
    lines = pr_comment.program_warning(paths, whole)
    assert whole and (lines[0] == FIRST) == bool(program)
    if program:
        assert lines[2].startswith("Program files it changes: " + ", ".join(f"`{p}`" for p in program) + ".")


def test_every_page_of_the_file_list_is_read_and_an_incomplete_list_counts_as_a_program_change():
    fake = FakeGitHub(files=[f"docs/{i}.md" for i in range(100)] + ["baseline/late.py"])
    paths, whole = pr_comment.pr_files(fake, REPO, 42, HEAD)
    assert whole and "baseline/late.py" in paths
    assert ("GET", f"/repos/{REPO}/pulls/42/files?per_page=100&page=2") in fake.calls
    # GitHub lists at most 3,000 files; a PR with more may hide its program change past them.
    paths, whole = pr_comment.pr_files(FakeGitHub(files=["docs/a.md"], changed_files=3001), REPO, 42, HEAD)
    lines = pr_comment.program_warning(paths, whole)
    assert not whole and lines[0] == FIRST and "list of its files is incomplete" in lines[2]


def test_the_file_list_is_of_the_commit_the_run_tested_or_nothing_is_judged(
    pr_checkout, tmp_path, api, capsys
):
    export = tmp_path / "export"
    assert pr_comment.main(["export", "--event", str(EVENT), "--out", str(export)]) == 0
    api.head = "0" * 40  # pushed again since: its files are not the exported plans' files
    code = pr_comment.main([*JUDGE, "--dir", str(export), "--out", str(tmp_path / "o")])
    assert code == 1 and "is not at the commit the run tested" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
    api.head, api.files = HEAD, None  # GitHub answered something that is not a list of files
    code = pr_comment.main([*JUDGE, "--dir", str(export), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 1 and "listing the PR's files failed" in err and err.count("\n") == 1
    assert not (tmp_path / "o").exists()


class FakeGitHub:
    """The REST calls the poster and the judge make, over in-memory comments and PR files."""

    def __init__(self, head=HEAD, comments=(), files=(), changed_files=None):
        self.head = head
        self.comments = list(comments)
        self.files = [{"filename": f} if isinstance(f, str) else f for f in files]
        self.changed_files = changed_files
        self.calls = []

    def __call__(self, method, path, body):
        self.calls.append((method, path))
        if method == "GET" and path == f"/repos/{REPO}/pulls/42":
            changed = len(self.files or ()) if self.changed_files is None else self.changed_files
            return {"number": 42, "head": {"sha": self.head}, "changed_files": changed}
        if method == "GET" and path.startswith(f"/repos/{REPO}/pulls/42/files?per_page=100&page="):
            if self.files is None:
                return {"message": "Server Error"}
            page = int(path.rsplit("=", 1)[1])
            return self.files[(page - 1) * 100 : page * 100]
        if method == "GET" and path.startswith(f"/repos/{REPO}/issues/42/comments"):
            return self.comments if "page=1" in path else []
        if method == "PATCH":
            comment = next(c for c in self.comments if path.endswith(f"/comments/{c['id']}"))
            comment["body"] = body["body"]
            return comment
        if method == "POST":
            self.comments.append({"id": 900 + len(self.comments), "user": {"login": "github-actions[bot]"},
                                  "body": body["body"]})  # fmt: skip
            return self.comments[-1]
        raise AssertionError(f"unexpected call {method} {path}")


def artifact(tmp_path, body="### Stack `prod`\n", number=42, head=HEAD):
    (tmp_path / pr_comment.BODY_FILE).write_text(body)
    (tmp_path / pr_comment.META_FILE).write_text(json.dumps({"number": number, "headSha": head}))
    return tmp_path


def test_the_first_push_creates_the_comment_and_later_pushes_edit_it(tmp_path):
    github = FakeGitHub(comments=[{"id": 1, "user": {"login": "reviewer"}, "body": "looks fine"}])
    assert pr_comment.post(artifact(tmp_path), REPO, HEAD, github).startswith("created comment")
    assert pr_comment.post(
        artifact(tmp_path, body="### Stack `prod`\nsecond push\n"), REPO, HEAD, github
    ).startswith("updated comment")
    ours = [c for c in github.comments if c["body"].startswith(MARKER)]
    assert len(ours) == 1 and ours[0]["body"].endswith("second push\n")


def test_a_marker_copied_into_someone_elses_comment_is_not_ours(tmp_path):
    forged = {"id": 5, "user": {"login": "attacker"}, "body": f"{MARKER}\nfake"}
    github = FakeGitHub(comments=[forged])
    assert pr_comment.post(artifact(tmp_path), REPO, HEAD, github).startswith("created comment")
    assert forged["body"].endswith("fake")


def test_the_artifact_cannot_mention_anyone_or_forge_the_marker_or_overflow(tmp_path):
    body = f"{MARKER}\n@maintainers please merge\n" + "x" * 70_000
    github = FakeGitHub()
    pr_comment.post(artifact(tmp_path, body=body), REPO, HEAD, github)
    posted = github.comments[-1]["body"]
    assert posted.count(MARKER) == 1 and posted.startswith(MARKER)
    assert "@maintainers" not in posted and "@\u2060maintainers" in posted
    assert len(posted) < 65_536 and "cut to GitHub's comment size" in posted


@pytest.mark.parametrize(
    ("number", "claimed", "actual", "words"),
    [
        ("42", HEAD, HEAD, "not a number"),
        (42, "f" * 40, HEAD, "the artifact is for commit ffffffffffff"),
        (42, HEAD, "e" * 40, "is not at the commit the run tested"),
        (42, "not-a-sha", HEAD, "not a commit id"),
    ],
)
def test_an_artifact_that_does_not_match_the_triggering_run_is_refused(
    tmp_path, number, claimed, actual, words
):
    github = FakeGitHub(head=actual)
    with pytest.raises(Refused, match=words):
        pr_comment.post(artifact(tmp_path, number=number, head=claimed), REPO, HEAD, github)
    assert not any(method in ("POST", "PATCH") for method, _ in github.calls)


def test_posting_without_a_token_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    code = pr_comment.main(
        ["post", "--dir", str(artifact(tmp_path)), "--repository", REPO, "--head-sha", HEAD]
    )
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "GITHUB_TOKEN is not set" in err


WORKFLOWS = ROOT / ".github" / "workflows"


def workflow(name: str) -> dict:
    document = yaml.safe_load((WORKFLOWS / name).read_text())
    document["on"] = document.pop(True, document.get("on"))  # YAML 1.1 reads `on` as true
    return document


def test_the_export_workflow_runs_the_prs_code_with_a_read_only_token_and_no_secrets():
    text = (WORKFLOWS / "access-diff.yml").read_text()
    document = workflow("access-diff.yml")
    assert list(document["on"]) == ["pull_request"]
    [job] = document["jobs"].values()
    assert job["permissions"] == {"contents": "read"}
    assert "secrets." not in text and "id-token" not in text
    runs = [s["run"] for s in job["steps"] if "run" in s]
    # It exports data; it renders no comment and judges nothing.
    assert any(r.startswith(".venv/bin/python -m baseline.ops.pr_comment export ") for r in runs)
    assert not any(" render " in r or " judge " in r or "baseline diff" in r for r in runs)
    upload = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload["with"]["name"] == "pr-plans"


def test_the_comment_workflow_runs_only_default_branch_code_and_reads_the_artifacts_as_data():
    document = workflow("access-diff-comment.yml")
    assert document["on"] == {"workflow_run": {"workflows": ["access-diff"], "types": ["completed"]}}
    judge, comment = document["jobs"]["judge"], document["jobs"]["comment"]
    # Reading the PR's file list needs the PR read scope; the judge never holds a write token.
    assert judge["permissions"] == {"actions": "read", "contents": "read", "pull-requests": "read"}
    assert comment["permissions"] == {"contents": "read", "pull-requests": "write"}
    assert "conclusion == 'success'" in judge["if"] and comment["needs"] == "judge"
    for job in (judge, comment):
        checkout = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/checkout@"))
        assert set(checkout["with"]) == {"persist-credentials"}  # no ref: never the PR's code
    download = next(s for s in judge["steps"] if s.get("uses", "").startswith("actions/download-artifact@"))
    assert download["with"]["name"] == "pr-plans"
    assert download["with"]["run-id"] == "${{ github.event.workflow_run.id }}"
    [_, run] = [s for s in judge["steps"] if "run" in s]
    assert run["run"].startswith(".venv/bin/python -m baseline.ops.pr_comment judge ")
    # The file list is GitHub's for the commit the triggering run tested, never the artifact's.
    assert '--repository "$GITHUB_REPOSITORY" --head-sha "$HEAD_SHA"' in run["run"]
    assert run["env"]["GITHUB_TOKEN"] == "${{ github.token }}"
    assert run["env"]["HEAD_SHA"] == "${{ github.event.workflow_run.head_sha }}"
    # The poster reads the judge's output from this run, never the PR's run.
    download = next(s for s in comment["steps"] if s.get("uses", "").startswith("actions/download-artifact@"))
    assert download["with"]["name"] == "access-diff" and "run-id" not in download["with"]
    [post] = [s for s in comment["steps"] if "run" in s]
    assert post["run"].startswith("python3 -m baseline.ops.pr_comment post")  # nothing installed
    assert post["env"]["HEAD_SHA"] == "${{ github.event.workflow_run.head_sha }}"
