"""``python -m baseline teardown --stack NAME [--yes] [--config-file P]``: destroy a test stack.

Only a stack whose file says ``testStack: true`` can be torn down, and never one named ``prod``
or with ``environment: prod``. The command lists every resource in the stack's state, asks for
the stack name to be typed (``--yes`` skips that; without a terminal ``--yes`` is required),
unprotects the stack's resources in its state, destroys them with a line per resource, removes
the stack from the backend (the stack file is kept) and prints a summary.

It drives the Pulumi CLI through the Automation API, so the CLI, the backend login
(``PULUMI_BACKEND_URL``), the secrets passphrase or key and the cloud credentials must be
present, exactly as for ``pulumi destroy``.

Exit codes:
  0    destroyed and removed, or the backend has no such stack (nothing to tear down)
  1    the destroy failed; the stack is kept with whatever was not deleted, run again
  2    refused or bad input: prod, not a test stack, no stack file, no terminal without --yes
  130  cancelled: the typed name did not match, or interrupted
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TextIO

from baseline import PROJECT
from baseline.environments import is_production
from baseline.errors import ConfigError
from baseline.ops import faults
from baseline.stackfile import ROOT, checked_stack_file

EXIT_DONE = 0
EXIT_FAILED = 1
EXIT_REFUSED = 2
EXIT_CANCELLED = 130

ROOT_STACK_TYPE = "pulumi:pulumi:Stack"


@dataclass(frozen=True)
class Progress:
    """One resource event of the destroy: ``deleting``, ``deleted`` or ``failed``."""

    status: str
    type: str
    name: str

    def __str__(self) -> str:
        return f"  {self.status:<8} {self.type}  {self.name}"


class StackMissing(Exception):
    """The backend has no stack of that name."""


class DestroyFailed(Exception):
    """``pulumi destroy`` returned an error; the message is the engine's."""


class Workspace(Protocol):
    """The few Automation API operations teardown needs, for one selected stack."""

    def export_stack(self) -> dict[str, Any]: ...

    def import_stack(self, deployment: dict[str, Any]) -> None: ...

    def destroy(self, on_progress: Callable[[Progress], None]) -> None: ...

    def remove_stack(self) -> None: ...


def urn_name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


def progress_of(event: Any) -> Progress | None:
    """Translate an Automation API engine event into a progress line (None: not a delete)."""
    for attr, status in (
        ("resource_pre_event", "deleting"),
        ("res_outputs_event", "deleted"),
        ("res_op_failed_event", "failed"),
    ):
        inner = getattr(event, attr, None)
        if inner is None:
            continue
        meta = inner.metadata
        op = getattr(meta.op, "value", meta.op)
        if op not in ("delete", "delete-replaced") or meta.type == ROOT_STACK_TYPE:
            return None
        return Progress(status, meta.type, urn_name(meta.urn))
    return None


class AutomationWorkspace:
    """The real workspace: ``pulumi.automation`` over the project directory."""

    def __init__(self, stack: str, work_dir: Path, config_file: str | None = None) -> None:
        from pulumi import automation as auto

        self._auto = auto
        self._config_file = config_file
        self._version = 3
        try:
            self._stack = auto.select_stack(stack_name=stack, work_dir=str(work_dir))
        except auto.StackNotFoundError:
            raise StackMissing(stack) from None

    def export_stack(self) -> dict[str, Any]:
        exported = self._stack.export_stack()
        self._version = exported.version or self._version
        return dict(exported.deployment or {})

    def import_stack(self, deployment: dict[str, Any]) -> None:
        self._stack.import_stack(self._auto.Deployment(version=self._version, deployment=deployment))

    def destroy(self, on_progress: Callable[[Progress], None]) -> None:
        def on_event(event: Any) -> None:
            progress = progress_of(event)
            if progress is not None:
                on_progress(progress)

        try:
            self._stack.destroy(on_event=on_event, color="never", config_file=self._config_file)
        except self._auto.CommandError as error:
            raise DestroyFailed(str(error)) from None

    def remove_stack(self) -> None:
        # The stack file stays: it is the user's (or CI's) file, and git already tracks it.
        self._stack.workspace.remove_stack(self._stack.name, preserve_config=True)


def open_workspace(stack: str, config_file: str | None) -> Workspace:
    return AutomationWorkspace(stack, ROOT, config_file)


def refuse_prod_name(stack: str) -> None:
    if stack.rsplit("/", 1)[-1] == "prod":
        raise ConfigError(
            key="--stack",
            value=stack,
            problem="teardown never destroys the prod stack",
            fix="teardown is for test stacks; change prod through a reviewed pull request",
        )


def check_test_stack(stack: str, path: Path) -> None:
    """Refuse anything that is not a throw-away test stack (raises ConfigError, exit 2)."""
    from baseline.config import load_stack_file

    refuse_prod_name(stack)
    if not path.is_file():
        raise ConfigError(
            key="--stack",
            value=stack,
            problem=f"no stack file at {path}",
            fix="pass the stack's file with --config-file PATH",
        )
    values = load_stack_file(path, stack).values
    environment = values.get("environment")
    # The same fail-closed reading as config and the policy pack: `prod`, or any name outside the
    # enumeration (a hand-edited `production`), is production and never torn down.
    if environment is not None and is_production(str(environment)):
        raise ConfigError(
            key=f"{PROJECT}:environment",
            value=environment,
            problem=f"stack {stack!r} is a production stack; teardown never destroys one",
            fix="teardown is for test stacks; change prod through a reviewed pull request",
        )
    if values.get("testStack") is not True:
        raise ConfigError(
            key=f"{PROJECT}:testStack",
            value=values.get("testStack", False),
            problem=f"stack {stack!r} ({path.name}) is not marked as a test stack",
            fix="only stacks created for tests (testStack: true) are torn down; use `pulumi destroy` "
            "deliberately for anything else",
        )


def resource_rows(deployment: dict[str, Any]) -> list[dict[str, Any]]:
    """Every resource teardown will destroy (the stack's root resource is not one)."""
    return [r for r in deployment.get("resources") or [] if r.get("type") != ROOT_STACK_TYPE]


def unprotect(deployment: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """A copy of the deployment with ``protect`` cleared everywhere, and how many were protected."""
    resources = []
    count = 0
    for resource in deployment.get("resources") or []:
        if resource.get("protect"):
            count += 1
            resource = {**resource, "protect": False}
        resources.append(resource)
    return {**deployment, "resources": resources}, count


def run(
    stack: str,
    *,
    yes: bool = False,
    config_file: str | None = None,
    as_stack: bool = False,
    workspace_factory: Callable[[str, str | None], Workspace] | None = None,
    stdin: TextIO | None = None,
    out: TextIO | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    stdin = stdin or sys.stdin
    out = out or sys.stdout
    err = sys.stderr
    refuse_prod_name(stack)
    check_test_stack(stack, checked_stack_file(stack, config_file, as_stack=as_stack))
    if not yes and not stdin.isatty():
        print(
            f"error: --stack {stack}: no terminal to confirm the teardown on. "
            "Fix: run it in a terminal, or pass --yes in automation",
            file=err,
        )
        return EXIT_REFUSED

    try:
        with faults.reported(f"opening stack {stack}"):
            workspace = (workspace_factory or open_workspace)(stack, config_file)
    except StackMissing:
        print(f"Stack {stack} does not exist in the backend: nothing to tear down.", file=out)
        return EXIT_DONE
    with faults.reported(f"exporting the state of {stack}"):
        deployment = workspace.export_stack()
    rows = resource_rows(deployment)
    print(f"Stack {stack}: {len(rows)} resources will be destroyed:", file=out)
    for row in rows:
        flag = "  (protected)" if row.get("protect") else ""
        print(f"  {row.get('type', '?')}  {urn_name(row.get('urn', ''))}{flag}", file=out)

    if not yes:
        out.write(f"Type the stack name ({stack}) to destroy them: ")
        out.flush()
        try:
            typed = stdin.readline().strip()
        except KeyboardInterrupt:
            typed = ""
        if typed != stack:
            print(f"Cancelled: {typed!r} is not {stack!r}; nothing was destroyed.", file=out)
            return EXIT_CANCELLED

    started = clock()
    unprotected, count = unprotect(deployment)
    if count:
        with faults.reported(f"unprotecting the resources of {stack}"):
            workspace.import_stack(unprotected)
        print(f"Unprotected {count} resources in the stack's state.", file=out)

    deleted: list[Progress] = []

    def on_progress(progress: Progress) -> None:
        print(progress, file=out, flush=True)
        if progress.status == "deleted":
            deleted.append(progress)

    try:
        workspace.destroy(on_progress)
    except DestroyFailed as error:
        first = next((line for line in str(error).splitlines() if line.strip()), "unknown error")
        print(
            f"error: destroying {stack} failed after {len(deleted)} of {len(rows)} resources: {first}. "
            f"Fix: read the engine output above, correct the cause and run teardown again "
            f"(the stack is kept)",
            file=err,
        )
        return EXIT_FAILED
    except KeyboardInterrupt:
        print(
            f"Interrupted after {len(deleted)} of {len(rows)} resources; the stack is kept. "
            "Run teardown again to finish.",
            file=out,
        )
        return EXIT_CANCELLED
    with faults.reported(f"removing stack {stack} from the backend"):
        workspace.remove_stack()
    elapsed = clock() - started
    print(
        f"Tore down {stack}: {len(deleted)} resources destroyed in {elapsed:.1f}s; stack removed.",
        file=out,
    )
    return EXIT_DONE
