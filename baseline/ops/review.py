"""``python -m baseline diff``: find the two stack files, render both plans, print the difference.

The base is ``--base-config-file`` (a file, or a pipe such as ``<(git show REV:path)``), or the
stack file at ``--base REV``, or by default at ``git merge-base HEAD main``; the output says
which, and how to pick another; a stack file that did not exist at the base revision makes an
empty base (everything is added). The new side is ``--config-file`` or the work tree's
``stacks/Pulumi.<stack>.yaml``.

Exit codes: 0 no change; 1 a change; 2 bad input (a stack file that does not exist or does not
validate, an unknown revision); git missing or failing is one line too (exit 2).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, TextIO

from baseline.errors import ConfigError, ConfigErrors, Fault
from baseline.stackfile import ROOT, checked_stack_file

EXIT_SAME = 0
EXIT_CHANGED = 1
DEFAULT_BRANCH = "main"


def _git(*argv: str) -> subprocess.CompletedProcess[str]:
    git = shutil.which("git")
    if git is None:
        raise Fault(
            what="git is not installed or not on PATH",
            where="the default base is the stack file at `git merge-base HEAD main`",
            fix="install git, or pass --base-config-file OLD",
            code=2,
        )
    return subprocess.run([git, *argv], cwd=ROOT, capture_output=True, text=True, check=False)


def merge_base() -> str:
    result = _git("merge-base", "HEAD", DEFAULT_BRANCH)
    if result.returncode != 0:
        first = (result.stderr.strip().splitlines() or ["no common ancestor"])[0]
        raise Fault(
            what=f"git merge-base HEAD {DEFAULT_BRANCH} failed: {first}",
            where=f"the default base is the stack file where this branch left {DEFAULT_BRANCH}",
            fix="fetch main (git fetch origin main:main), or pass --base REV or --base-config-file OLD",
            code=2,
        )
    return result.stdout.strip()


def file_at(revision: str, stack: str) -> str | None:
    """The stack file's text at ``revision``; None when the file did not exist there."""
    check = _git("rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}")
    if check.returncode != 0:
        raise ConfigError(
            key="--base",
            value=revision,
            problem="not a git revision here",
            fix="pass a commit, branch or tag",
        )
    shown = _git("show", f"{revision}:stacks/Pulumi.{stack}.yaml")
    return shown.stdout if shown.returncode == 0 else None


def _render(path: Path | None, stack: str, side: str) -> dict[str, Any]:
    from baseline.config import load_stack_file, resolve
    from baseline.plan import render

    if path is None:
        return {"stack": stack, "resources": [], "outputs": {}}
    try:
        return render(resolve(load_stack_file(path, stack)), stack)
    except ConfigError as error:
        # Each line says which side's file it is about (a diff reads two).
        for each in [error, *(error.errors if isinstance(error, ConfigErrors) else [])]:
            each.problem = f"{each.problem} (in the {side} stack file {path})"
        raise


def _render_text(text: str | None, stack: str, side: str) -> dict[str, Any]:
    if text is None:
        return _render(None, stack, side)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"Pulumi.{stack}.yaml"
        path.write_text(text)
        return _render(path, stack, side)


def stack_files_at(revision: str) -> dict[str, str]:
    """Every ``stacks/*.yaml`` file's text at ``revision``, by file name."""
    listed = _git("ls-tree", "--name-only", f"{revision}:stacks")
    names = [n for n in listed.stdout.splitlines() if n.endswith(".yaml")] if listed.returncode == 0 else []
    found = {}
    for name in names:
        shown = _git("show", f"{revision}:stacks/{name}")
        if shown.returncode == 0:
            found[name] = shown.stdout
    return found


def _base_at(revision: str, stack: str, shown: str) -> tuple[dict[str, Any], str]:
    """The base plan from the stack file at ``revision`` (empty when absent there), and its label
    (``shown`` names the revision). A stack that reads other stack files (the pipeline stack
    reads each environment's) reads them at ``revision`` too: both sides of a diff are each their
    own revision, so a new identity in dev shows up in the pipeline stack's access diff."""
    from baseline.config import ENVIRONMENT_STACKS

    text = file_at(revision, stack)
    label = f"{shown}:stacks/Pulumi.{stack}.yaml" + (" (absent)" if text is None else "")
    with tempfile.TemporaryDirectory() as tmp:
        stacks = Path(tmp)
        for name, content in stack_files_at(revision).items():
            (stacks / name).write_text(content)
        token = ENVIRONMENT_STACKS.set(stacks)
        try:
            return _render_text(text, stack, "base"), label
        finally:
            ENVIRONMENT_STACKS.reset(token)


def plans_at(stack: str, revision: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """The stack's plan at ``revision`` and in the work tree; a missing file is an empty plan."""
    from baseline.stackfile import STACKS_DIR

    base_plan, base_label = _base_at(revision, stack, revision)
    new_path = STACKS_DIR / f"Pulumi.{stack}.yaml"
    new_text = new_path.read_text() if new_path.is_file() else None
    sources = {
        "base": base_label,
        "new": f"stacks/Pulumi.{stack}.yaml" + (" (absent)" if new_text is None else ""),
    }
    return base_plan, _render_text(new_text, stack, "new"), sources


def plans(
    stack: str,
    *,
    base: str | None = None,
    base_config_file: str | None = None,
    config_file: str | None = None,
    as_stack: bool = False,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """Both plans of the stack and a label of where each side came from."""
    new_path = checked_stack_file(stack, config_file, as_stack=as_stack)
    if base_config_file is not None:
        base_path = checked_stack_file(
            stack, base_config_file, as_stack=as_stack, option="--base-config-file"
        )
        base_plan = _render(base_path, stack, "base")
        label, how = str(base_config_file), "the file given with --base-config-file"
    else:
        revision = base or merge_base()
        base_plan, label = _base_at(revision, stack, revision[:12] if base is None else revision)
        how = (
            f"the merge base of HEAD and {DEFAULT_BRANCH} (git merge-base HEAD {DEFAULT_BRANCH})"
            if base is None
            else f"the revision given with --base {base}"
        )
    new_plan = _render(new_path, stack, "new")
    new_label = str(config_file) if config_file else f"stacks/Pulumi.{stack}.yaml (work tree)"
    return base_plan, new_plan, {"base": label, "new": new_label, "baseHow": how, "pick": pick_another(stack)}


def pick_another(stack: str) -> str:
    """How to compare with another base: the line every diff the CLI prints ends its header with."""
    return (
        f"--base REV (a commit, branch or tag), or --base-config-file FILE, "
        f"e.g. <(git show REV:stacks/Pulumi.{stack}.yaml)"
    )


def run(
    stack: str,
    *,
    base: str | None = None,
    base_config_file: str | None = None,
    config_file: str | None = None,
    as_stack: bool = False,
    output: str = "text",
    out: TextIO | None = None,
) -> int:
    from baseline.analysis import diff

    out = out or sys.stdout
    base_plan, new_plan, sources = plans(
        stack, base=base, base_config_file=base_config_file, config_file=config_file, as_stack=as_stack
    )
    files = {"base": base_config_file, "new": config_file}
    result = diff.compare(base_plan, new_plan, stack=stack, sources=sources, files=files)
    out.write(diff.FORMATS[output](result))
    return EXIT_CHANGED if result["changed"] else EXIT_SAME
