"""The pull request's access-diff comment: the PR's plans judged by the default branch's code.

Three steps, so that the evidence a reviewer reads is not written by the code under review:

``export`` runs in ``.github/workflows/access-diff.yml`` (trigger ``pull_request``, read-only
token, no secrets, the PR's own code): the offline plan of every stack file of the PR, rendered by
the PR's program, with the stack files themselves and the PR's number and head commit, written into
a directory uploaded as an artifact. Everything in it is untrusted data.

``judge`` runs in ``.github/workflows/access-diff-comment.yml`` (trigger ``workflow_run``, so the
default branch's workflow and code; read-only token, no secrets): the default branch's analyzer
(``baseline diff``) compares the default branch's plan of each stack (its program on its stack
files) with the PR's plan, the default branch's CrossGuard pack judges the PR's plan, and the
default branch's program renders the PR's stack files too, so the comment says when the PR's
program renders a stack differently from the reviewed one. The comment says which code wrote what.
A PR that changes the program can export the plan the reviewed program would render and register
something else at run time, so the judge also lists the PR's files from GitHub's API (its read
token; never from the artifact) and puts first, in bold, that such a PR's plans are its own word.

``post`` runs in a second job of that workflow (``pull-requests: write``). It treats the rendered
comment as untrusted data: the number must be a PR whose head is the commit the triggering run
tested, the body is cut to GitHub's size limit and cannot mention anyone, and the marker that finds
the earlier comment is added here, not taken from the artifact. The earlier comment of this bot is
edited, so a PR has one diff comment however often it is pushed. ``post`` uses only the standard
library, so the job holding the write token installs nothing.

``render`` (the PR's program on both sides, one step) stays for a local run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

MARKER = "<!-- ecs-access-baseline:access-diff -->"
BODY_FILE = "body.md"
META_FILE = "pull-request.json"
MAX_BODY = 60_000  # GitHub refuses comments over 65,536 characters
BOT_LOGIN = "github-actions[bot]"
API = "https://api.github.com"
_SHA = re.compile(r"[0-9a-f]{40}")
_REPO = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")


# --- render (unprivileged) ---------------------------------------------------------------------


def comment_body(
    event: Mapping[str, Any],
    diffs: Iterable[Mapping[str, Any]],
    provenance: str | None = None,
    policy: Iterable[str] = (),
) -> str:
    """One comment for every stack: changed stacks first, each with its access and resources.
    ``provenance`` says which code rendered and judged what; ``policy`` is the pack's section."""
    from baseline.analysis import diff

    pr = event["pull_request"]
    diffs = list(diffs)
    changed = [d for d in diffs if d["changed"]]
    escalations = sum(d["summary"]["escalations"] for d in diffs)
    lines = [
        f"## Access diff for #{pr['number']} at {pr['head']['sha'][:12]}",
        "",
        provenance
        or f"Offline `baseline diff` of every stack file against `{pr['base']['ref']}` "
        "(no cloud credentials; the same program renders both sides).",
        "",
        *policy,
    ]
    if not changed:
        lines.append(f"No stack changes what it creates or grants ({', '.join(d['stack'] for d in diffs)}).")
    else:
        unchanged = [d["stack"] for d in diffs if not d["changed"]]
        lines.append(
            f"**{len(changed)} stack(s) change**: {', '.join(d['stack'] for d in changed)}"
            + (f"; unchanged: {', '.join(unchanged)}" if unchanged else "")
            + (f". **{escalations} escalation-relevant gain(s).**" if escalations else ".")
        )
        lines.append("")
        for result in changed:
            if "error" in result:
                lines += [f"### Stack `{result['stack']}`", "", "Does not render:", "", "```text"]
                lines += [result["error"].replace("```", "'''"), "```", ""]
            else:
                lines.append(diff.to_markdown(result))
    return "\n".join(lines).rstrip() + "\n"


def unrenderable(stack: str, error: str) -> dict[str, Any]:
    """A stack whose file does not render, in the shape ``comment_body`` reads."""
    return {"stack": stack, "changed": True, "error": error, "summary": {"escalations": 0}}


def stacks_between(base: str | None) -> list[str]:
    """Every stack with a file in the work tree or at ``base`` (generated PR stacks excluded)."""
    from baseline.ops import review
    from baseline.ops.ephemeral import STACK_PREFIX
    from baseline.stackfile import STACKS_DIR, stack_of

    names = {stack_of(p) for p in STACKS_DIR.glob("Pulumi.*.yaml")}
    if base is not None:
        listed = review._git("ls-tree", "--name-only", f"{base}:stacks")
        names |= {stack_of(Path(line)) for line in listed.stdout.splitlines()}
    return sorted(n for n in names if n and not n.startswith(STACK_PREFIX))


def render(event_path: Path, base: str, out: Path) -> int:
    from baseline.analysis import diff
    from baseline.ops import review

    event = json.loads(event_path.read_text())
    pr = event["pull_request"]
    from baseline.errors import ConfigError, PlanError

    results = []
    for stack in stacks_between(base):
        try:
            base_plan, new_plan, sources = review.plans_at(stack, base)
        except (ConfigError, PlanError) as error:
            # The reviewer still gets the comment: this stack's section says why it cannot render.
            results.append(unrenderable(stack, str(error)))
            continue
        results.append(diff.compare(base_plan, new_plan, stack=stack, sources=sources))
    out.mkdir(parents=True, exist_ok=True)
    (out / BODY_FILE).write_text(comment_body(event, results))
    (out / META_FILE).write_text(json.dumps({"number": pr["number"], "headSha": pr["head"]["sha"]}) + "\n")
    print(f"rendered the access diff of {len(results)} stacks for #{pr['number']} into {out}")
    return 0


# --- export (the PR's code, unprivileged) and judge (the default branch's code, unprivileged) -----

PLANS_DIR = "plans"
STACKS_DIR_NAME = "stacks"
_STACK_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


def export(event_path: Path, out: Path) -> int:
    """The PR's plan of every stack file in the work tree, its stack files and its identity."""
    from baseline.config import load_stack_file, resolve
    from baseline.errors import ConfigError, PlanError
    from baseline.plan import render as render_plan
    from baseline.plan import to_json
    from baseline.stackfile import STACKS_DIR

    pr = json.loads(event_path.read_text())["pull_request"]
    (out / PLANS_DIR).mkdir(parents=True, exist_ok=True)
    (out / STACKS_DIR_NAME).mkdir(exist_ok=True)
    stacks = stacks_between(None)
    for stack in stacks:
        path = STACKS_DIR / f"Pulumi.{stack}.yaml"
        (out / STACKS_DIR_NAME / path.name).write_text(path.read_text())
        try:
            plan = render_plan(resolve(load_stack_file(path, stack)), stack)
        except (ConfigError, PlanError) as error:
            (out / PLANS_DIR / f"{stack}.error").write_text(str(error) + "\n")
            continue
        (out / PLANS_DIR / f"{stack}.json").write_text(to_json(plan))
    (out / META_FILE).write_text(json.dumps({"number": pr["number"], "headSha": pr["head"]["sha"]}) + "\n")
    print(f"exported the plans of {len(stacks)} stacks of #{pr['number']} into {out}")
    return 0


def _untrusted_plan(directory: Path, stack: str) -> tuple[dict[str, Any] | None, str | None]:
    """The PR's plan of ``stack`` from the artifact, or why there is none to judge.
    (None, None): the PR has no such stack file (it removes the stack)."""
    plan_file, error_file = directory / PLANS_DIR / f"{stack}.json", directory / PLANS_DIR / f"{stack}.error"
    if error_file.is_file():
        return None, "Does not render with the PR's program:\n" + error_file.read_text()[:4000]
    if not plan_file.is_file():
        return None, None
    try:
        plan = json.loads(plan_file.read_text())
    except ValueError:
        return None, "The PR's plan is not JSON."
    resources = plan.get("resources") if isinstance(plan, dict) else None
    if not isinstance(resources, list) or not all(isinstance(r, dict) for r in resources):
        return None, "The PR's plan has no list of resources."
    return plan, None


def _policy_lines(stack: str, plan: Mapping[str, Any] | None) -> list[str]:
    from policy import offline

    if plan is None:
        return []
    try:
        violations = offline.run(plan)
    except Exception as error:  # an untrusted plan may be any shape; the comment says so
        return [f"- `{stack}`: the pack could not read the PR's plan ({type(error).__name__})"]
    mandatory = sum(v.mandatory for v in violations)
    if not violations:
        return [f"- `{stack}`: no violation"]
    lines = [f"- `{stack}`: **{mandatory} mandatory**, {len(violations) - mandatory} advisory"]
    lines += [f"  - {v.level} `{v.rule}` {v.resource}: {v.message}" for v in violations]
    return lines


# What is NOT the program: the stack files (data the judge renders with the default branch's own
# program) and prose. Everything else is, unknown paths included: a new file at the repository's root
# (`yaml.py`, `conftest.py`) shadows a module of whatever Python runs there, a new build or pin file
# changes what is installed, so the rule is an allow-list of data, never a list of program paths.
_DATA = re.compile(r"stacks/Pulumi\.[^/]+\.yaml|docs/[^/].*\.md|[^/]+\.md")
MAX_FILES = 3000  # GitHub lists at most 3,000 files of a pull request


def changes_program(path: str) -> bool:
    return not _DATA.fullmatch(path)


def pr_files(request: Request, repository: str, number: int, head_sha: str) -> tuple[list[str], bool]:
    """The PR's changed paths (renames on both sides) from GitHub, and whether the list is whole.
    The number comes from the untrusted artifact, so the PR must be at the triggering run's head."""
    if not _REPO.fullmatch(repository) or not _SHA.fullmatch(head_sha):
        raise Refused("the repository or the triggering run's head commit is malformed")
    pull = request("GET", f"/repos/{repository}/pulls/{number}", None) or {}
    if pull.get("head", {}).get("sha") != head_sha:
        raise Refused(f"pull request #{number} is not at the commit the run tested ({head_sha[:12]})")
    paths, listed, page = [], 0, 1
    while True:
        files = request("GET", f"/repos/{repository}/pulls/{number}/files?per_page=100&page={page}", None)
        for entry in files or []:
            listed += 1
            paths += [
                entry["filename"],
                *([entry["previous_filename"]] if entry.get("previous_filename") else []),
            ]
        if not files or len(files) < 100 or listed >= MAX_FILES:
            break
        page += 1
    changed = pull.get("changed_files")
    return paths, isinstance(changed, int) and listed >= changed


def program_warning(paths: list[str], whole: bool) -> list[str]:
    """The comment's first lines: whether the PR changes the program, from its file list."""
    program = sorted({p for p in paths if changes_program(p)})
    if not program and whole:
        return [
            f"This PR changes no program file (GitHub's list of its {len(set(paths))} changed paths, "
            "read by the default branch's code): its plans are the reviewed program's.",
            "",
        ]
    why = []
    if program:
        more = f" and {len(program) - 20} more" if len(program) > 20 else ""
        why.append(f"Program files it changes: {', '.join(f'`{p}`' for p in program[:20])}{more}.")
    if not whole:
        why.append("GitHub's list of its files is incomplete, so it is treated as one that does.")
    why.append("(Listed by the default branch's code from GitHub's API, not from the PR's artifact.)")
    return [
        "**This PR changes the program: the plans below are its own word; read the code.**",
        "",
        " ".join(why),
        "",
    ]


def judge(
    directory: Path,
    out: Path,
    base_label: str,
    request: Request,
    repository: str,
    head_sha: str,
) -> int:
    """The default branch's analyzer and pack over the PR's exported plans and stack files."""
    from baseline.analysis import diff
    from baseline.config import ENVIRONMENT_STACKS
    from baseline.errors import ConfigError, PlanError
    from baseline.ops import review
    from baseline.stackfile import STACKS_DIR

    number, head, _ = read_artifact(directory, body=False)
    if head != head_sha:
        raise Refused(f"the export is for commit {head[:12]}, the run tested {head_sha[:12]}")
    try:
        warning = program_warning(*pr_files(request, repository, number, head_sha))
    except (OSError, ValueError, KeyError, TypeError) as error:  # urllib's errors are OSErrors
        # No comment rather than one that cannot say whether the PR changes the program.
        raise Unlisted(f"listing the PR's files failed: {error!r}") from error
    pr_stacks = directory / STACKS_DIR_NAME
    theirs = {p.name[len("Pulumi.") : -len(".yaml")] for p in pr_stacks.glob("Pulumi.*.yaml")}
    names = sorted(n for n in set(stacks_between(None)) | theirs if _STACK_NAME.fullmatch(n))
    results, policy = [], ["### Policy pack (the default branch's) on the PR's plans", ""]
    for stack in names:
        ours = STACKS_DIR / f"Pulumi.{stack}.yaml"
        plan, problem = _untrusted_plan(directory, stack)
        if plan is None and problem is None:
            plan = {"stack": stack, "resources": [], "outputs": {}}
        policy += _policy_lines(stack, plan)
        try:
            base_plan = review._render(ours if ours.is_file() else None, stack, "base")
        except (ConfigError, PlanError) as error:
            results.append(unrenderable(stack, f"The default branch's stack file does not render: {error}"))
            continue
        if problem is not None:
            results.append(unrenderable(stack, problem))
            continue
        theirs_file = pr_stacks / f"Pulumi.{stack}.yaml"
        sources = {
            "base": f"{base_label}: stacks/Pulumi.{stack}.yaml",
            "new": "the PR's plan (its own program)",
        }
        try:
            result = diff.compare(base_plan, plan, stack=stack, sources=sources)
        except Exception as error:  # an untrusted plan may be any shape
            results.append(
                unrenderable(stack, f"The analyzer could not read the PR's plan ({type(error).__name__})")
            )
            continue
        # The default branch's program on the PR's stack file: does the PR's program agree with it?
        token = ENVIRONMENT_STACKS.set(pr_stacks)
        try:
            reviewed = review._render_text(
                theirs_file.read_text() if theirs_file.is_file() else None, stack, "new"
            )
        except (ConfigError, PlanError) as error:
            reviewed = {"error": str(error)}
        finally:
            ENVIRONMENT_STACKS.reset(token)
        results.append(dict(result, programNote=reviewed != plan))
    differs = [r["stack"] for r in results if r.get("programNote")]
    provenance = (
        f"Offline. Base: {base_label}'s program on its stack files. New: the PR's plans, rendered by "
        "the PR's own program (untrusted). Compared by the default branch's `baseline diff` and "
        "judged by its policy pack; no cloud credentials."
        + (
            f" **The PR's program renders {', '.join(f'`{s}`' for s in differs)} differently from the "
            "default branch's program on the same stack file: the PR changes the program, read it.**"
            if differs
            else " The default branch's program renders the PR's stack files exactly as the PR's does."
        )
    )
    event = {"pull_request": {"number": number, "head": {"sha": head}, "base": {"ref": base_label}}}
    out.mkdir(parents=True, exist_ok=True)
    body = comment_body(event, results, provenance, [*policy, ""])
    (out / BODY_FILE).write_text("\n".join(warning) + "\n" + body)
    (out / META_FILE).write_text(json.dumps({"number": number, "headSha": head}) + "\n")
    print(f"judged the plans of {len(results)} stacks of #{number} into {out}")
    return 0


# --- post (trusted job, untrusted artifact) ------------------------------------------------------


class Refused(Exception):
    """The artifact does not describe the pull request the triggering run tested."""


class Unlisted(Exception):
    """GitHub's list of the PR's files could not be read."""


Request = Callable[[str, str, Any], Any]  # (method, path, json body) -> parsed JSON


def github(token: str, api: str = API) -> Request:
    def request(method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            f"{api}{path}",
            data=data,
            method=method,
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
                "Content-Type": "application/json",
            },
        )
        with urllib.request.urlopen(req, timeout=30) as response:
            return json.loads(response.read() or b"null")

    return request


def safe_body(text: str) -> str:
    """Untrusted Markdown made harmless to post: no mentions, no marker of ours, bounded size."""
    text = text.replace(MARKER, "")
    # A word joiner after "@" keeps "@someone" readable without notifying anyone.
    text = re.sub(r"@(?=[A-Za-z0-9-])", "@\u2060", text)
    if len(text) > MAX_BODY:
        text = (
            text[:MAX_BODY]
            + "\n\n… cut to GitHub's comment size; run `.venv/bin/python -m baseline diff` locally.\n"
        )
    return f"{MARKER}\n{text}"


def read_artifact(directory: Path, body: bool = True) -> tuple[int, str, str]:
    meta = json.loads((directory / META_FILE).read_text())
    number, head = meta.get("number"), meta.get("headSha")
    if not isinstance(number, int) or isinstance(number, bool) or number < 1:
        raise Refused(f"the artifact's pull request number {number!r} is not a number")
    if not isinstance(head, str) or not _SHA.fullmatch(head):
        raise Refused("the artifact's head commit is not a commit id")
    return number, head, (directory / BODY_FILE).read_text() if body else ""


def post(directory: Path, repository: str, head_sha: str, request: Request) -> str:
    """Create or edit the one access-diff comment; returns what was done."""
    if not _REPO.fullmatch(repository) or not _SHA.fullmatch(head_sha):
        raise Refused("the repository or the triggering run's head commit is malformed")
    number, claimed, text = read_artifact(directory)
    if claimed != head_sha:
        raise Refused(f"the artifact is for commit {claimed[:12]}, the run tested {head_sha[:12]}")
    pull = request("GET", f"/repos/{repository}/pulls/{number}", None)
    if (pull or {}).get("head", {}).get("sha") != head_sha:
        raise Refused(f"pull request #{number} is not at the commit the run tested ({head_sha[:12]})")
    body = safe_body(text)
    page = 1
    while True:
        comments = request(
            "GET", f"/repos/{repository}/issues/{number}/comments?per_page=100&page={page}", None
        )
        for comment in comments or []:
            if comment.get("user", {}).get("login") == BOT_LOGIN and str(comment.get("body", "")).startswith(
                MARKER
            ):
                request("PATCH", f"/repos/{repository}/issues/comments/{comment['id']}", {"body": body})
                return f"updated comment {comment['id']} on #{number}"
        if not comments or len(comments) < 100:
            break
        page += 1
    created = request("POST", f"/repos/{repository}/issues/{number}/comments", {"body": body})
    return f"created comment {created.get('id')} on #{number}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m baseline.ops.pr_comment", description=__doc__.splitlines()[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    r = commands.add_parser("render", help="write the comment body and PR metadata (unprivileged job)")
    r.add_argument(
        "--event", type=Path, required=True, help="the pull_request event JSON ($GITHUB_EVENT_PATH)"
    )
    r.add_argument("--base", default="HEAD^1", help="git revision of the base side (default: HEAD^1)")
    r.add_argument("--out", type=Path, required=True, help="directory to upload as the artifact")
    e = commands.add_parser(
        "export", help="write the PR's plans and stack files (the PR's code, unprivileged)"
    )
    e.add_argument(
        "--event", type=Path, required=True, help="the pull_request event JSON ($GITHUB_EVENT_PATH)"
    )
    e.add_argument("--out", type=Path, required=True, help="directory to upload as the artifact")
    j = commands.add_parser("judge", help="the default branch's diff and pack over an export (unprivileged)")
    j.add_argument("--dir", type=Path, required=True, help="the downloaded export")
    j.add_argument("--base-label", required=True, help="names the default branch's side, e.g. main@<sha>")
    j.add_argument("--out", type=Path, required=True, help="directory to upload for the poster")
    j.add_argument("--repository", required=True, help="owner/name ($GITHUB_REPOSITORY)")
    j.add_argument("--head-sha", required=True, help="the triggering run's head commit")
    p = commands.add_parser("post", help="create or update the PR comment from an artifact (trusted job)")
    p.add_argument("--dir", type=Path, required=True, help="the downloaded artifact")
    p.add_argument("--repository", required=True, help="owner/name ($GITHUB_REPOSITORY)")
    p.add_argument("--head-sha", required=True, help="the triggering run's head commit")
    args = parser.parse_args(argv)
    token = os.environ.get("GITHUB_TOKEN", "")
    if args.command in ("judge", "post") and not token:
        print("error: GITHUB_TOKEN is not set. Fix: pass the job's token in the environment", file=sys.stderr)
        return 2
    if args.command in ("export", "judge"):
        from baseline.errors import ConfigError, Fault

        try:
            if args.command == "export":
                return export(args.event, args.out)
            return judge(args.dir, args.out, args.base_label, github(token), args.repository, args.head_sha)
        except Refused as error:
            print(
                f"error: refused to judge: {error}. Fix: nothing to do; the export is not trusted",
                file=sys.stderr,
            )
            return 1
        except Unlisted as error:
            print(f"error: {error}. Fix: re-run the workflow", file=sys.stderr)
            return 1
        except (ConfigError, Fault) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    if args.command == "render":
        from baseline.errors import ConfigError, Fault

        try:
            return render(args.event, args.base, args.out)
        except (ConfigError, Fault) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    try:
        print(post(args.dir, args.repository, args.head_sha, github(token)))
    except Refused as error:
        print(
            f"error: refused to post: {error}. Fix: nothing to do; the artifact is not trusted",
            file=sys.stderr,
        )
        return 1
    except (OSError, ValueError, urllib.error.URLError) as error:
        print(f"error: posting the comment failed: {error}. Fix: re-run the workflow", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
