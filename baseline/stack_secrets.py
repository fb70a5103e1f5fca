"""``python -m baseline secrets --stack S [--set NAME [--stdin]]``: the secrets a stack still needs.

Without ``--set`` it lists every secret the stack's settings reference (console passwords a user
chose instead of a generated one, S3's Windows logon password): its name, what it is for, whether
the stack file holds it yet, and the command that sets it. ``--set NAME`` asks for the value
without echo (twice), checks it against the limit the cloud applies, and stores it through the
Pulumi CLI with the Automation API (``stack.set_config(..., ConfigValue(secret=True),
path=True)``): the CLI encrypts it with the stack's secrets provider into the stack file. The
value reaches the CLI as an argument of that one short-lived process (that is how the Automation
API passes it); on a shared machine, `pulumi config set --secret --path 'secrets.NAME' -s S`
prompts inside the CLI instead.

Exit codes:
  0  listing: every secret is set; --set: stored
  1  listing: something is still to set; --set: the CLI failed (one line says why)
  2  bad input: unknown stack or secret name, empty or out-of-limit value, no Pulumi CLI
  130 cancelled at the prompt
"""

from __future__ import annotations

import getpass
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TextIO

from baseline import limits
from baseline.errors import BASELINE, PULUMI_INSTALL_URL, ConfigError, set_command
from baseline.spec import SecretNeed

EXIT_OK = 0
EXIT_NEEDED = 1
EXIT_FAILED = 1
EXIT_BAD = 2
EXIT_CANCELLED = 130


class CliMissing(Exception):
    """No ``pulumi`` executable on PATH."""


class StoreFailed(Exception):
    """The Pulumi CLI refused (no such stack, not logged in, wrong passphrase, ...)."""


class SecretStore(Protocol):
    """The one Automation API operation ``--set`` needs, on one selected stack."""

    def set_secret(self, path: str, value: str) -> None: ...


class AutomationStore:
    """The real store: the stack selected in the project directory through the Pulumi CLI."""

    def __init__(self, stack: str, work_dir: Path) -> None:
        if shutil.which("pulumi") is None:
            raise CliMissing
        from pulumi import automation as auto

        self._auto = auto
        try:
            self._stack = auto.select_stack(stack_name=stack, work_dir=str(work_dir))
        except auto.StackNotFoundError:
            raise StoreFailed(
                f"the backend has no stack {stack!r}; create it first: pulumi stack select {stack} "
                "--create --secrets-provider passphrase (or awskms://...)"
            ) from None
        except auto.CommandError as error:
            raise StoreFailed(_first_line(error)) from None

    def set_secret(self, path: str, value: str) -> None:
        try:
            self._stack.set_config(path, self._auto.ConfigValue(value=value, secret=True), path=True)
        except self._auto.CommandError as error:
            raise StoreFailed(_first_line(error)) from None


def _first_line(error: Exception) -> str:
    """The CLI's own error line (``error: ...``) out of the Automation API's long message."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    errors = [line for line in lines if line.lower().startswith("error:")]
    return (errors or lines or ["the Pulumi CLI failed"])[0].removeprefix("error: ")


def open_store(stack: str) -> SecretStore:
    from baseline.stackfile import ROOT

    return AutomationStore(stack, ROOT)


@dataclass(frozen=True)
class Status:
    need: SecretNeed
    is_set: bool


def statuses(stack: str, config_file: str | None = None, as_stack: bool = False) -> list[Status]:
    """Every secret the stack references, and whether its file holds a value for it."""
    from baseline.config import load_stack_file, resolve
    from baseline.stackfile import checked_stack_file, source_option

    path = checked_stack_file(stack, config_file, as_stack=as_stack)
    raw = load_stack_file(path, stack, source_option(config_file))
    resolved = resolve(raw)
    unset = {need.name for need in resolved.unset_secrets}
    from baseline.spec import secret_needs

    return [Status(need, need.name not in unset) for need in secret_needs(resolved.alicloud)]


def limits_of(need: SecretNeed) -> tuple[int, int]:
    """The length the cloud accepts for this secret (checked before anything is stored)."""
    if need.key.endswith("valueSecret"):
        return 1, limits.OOS_VALUE_MAX
    return limits.RAM_PASSWORD_MIN, limits.RAM_PASSWORD_MAX


def report(stack: str, found: list[Status]) -> str:
    if not found:
        return f"Stack {stack} needs no secrets: console passwords are generated at deploy time.\n"
    missing = [s for s in found if not s.is_set]
    lines = [f"Stack {stack}: {len(found)} secret(s), {len(missing)} still to set."]
    for status in found:
        low, high = limits_of(status.need)
        state = "set" if status.is_set else "NOT SET"
        lines.append(f"  {status.need.name}  [{state}]  {status.need.purpose}; read by {status.need.key}")
        lines.append(f"      {BASELINE} secrets --stack {stack} --set {status.need.name}")
        lines.append(f"      or: {set_command(status.need.name, stack)}   ({low}-{high} characters)")
    return "\n".join(lines) + "\n"


def run(
    stack: str,
    *,
    set_name: str | None = None,
    from_stdin: bool = False,
    config_file: str | None = None,
    as_stack: bool = False,
    store_factory: Callable[[str], SecretStore] | None = None,
    prompt: Callable[[str], str] = getpass.getpass,
    stdin: TextIO | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    found = statuses(stack, config_file, as_stack)
    if set_name is None:
        out.write(report(stack, found))
        return EXIT_NEEDED if any(not s.is_set for s in found) else EXIT_OK

    by_name = {s.need.name: s.need for s in found}
    need = by_name.get(set_name)
    if need is None:
        known = ", ".join(by_name) or "none (console passwords are generated)"
        raise ConfigError(
            key="--set",
            value=set_name,
            problem=f"stack {stack} reads no secret of that name",
            fix=f"use one of: {known}",
        )
    # The Pulumi CLI and the stack first: nobody types a secret twice to learn that it cannot be
    # stored (no `pulumi` on PATH, no such stack on the backend, not logged in).
    try:
        store = (store_factory or open_store)(stack)
    except CliMissing:
        raise ConfigError(
            key="--set",
            value=set_name,
            problem="the Pulumi CLI is not installed (no `pulumi` on PATH); it encrypts and stores the value",
            fix=f"install it ({PULUMI_INSTALL_URL}) and run the command again",
        ) from None
    except StoreFailed as failure:
        return _store_failed(set_name, stack, failure, err)
    try:
        value = _read_value(need, from_stdin, prompt, stdin or sys.stdin)
    except (KeyboardInterrupt, EOFError):
        print("\ncancelled: nothing was stored", file=err)
        return EXIT_CANCELLED
    low, high = limits_of(need)
    if not low <= len(value) <= high:
        # The value itself is never echoed.
        raise ConfigError(
            key="--set",
            value=set_name,
            problem=f"the value is {len(value)} characters; "
            f"the {need.purpose.split(' (')[0]} takes {low}-{high}",
            fix="run the command again and enter a value of that length",
        )
    try:
        store.set_secret(f"secrets.{set_name}", value)
    except StoreFailed as failure:
        return _store_failed(set_name, stack, failure, err)
    print(f"secrets.{set_name} stored encrypted for stack {stack} (in its stack file).", file=out)
    return EXIT_OK


def _store_failed(set_name: str, stack: str, failure: StoreFailed, err: TextIO) -> int:
    print(
        f"error: storing secrets.{set_name} for stack {stack} failed: {failure}. "
        "Fix: correct that (backend login, PULUMI_CONFIG_PASSPHRASE, the stack) and run it again",
        file=err,
    )
    return EXIT_FAILED


def _read_value(need: SecretNeed, from_stdin: bool, prompt: Callable[[str], str], stdin: TextIO) -> str:
    if from_stdin:
        # For automation: the value is piped in, one line (the trailing newline is not part of it).
        return stdin.readline().rstrip("\r\n")
    first = prompt(f"{need.name} ({need.purpose}), not echoed: ")
    second = prompt(f"{need.name} again: ")
    if first != second:
        raise ConfigError(
            key="--set",
            value=need.name,
            problem="the two entries differ",
            fix="run the command again and type the same value twice",
        )
    return first


def add_parser(commands) -> None:
    """Register ``secrets`` on the CLI (baseline.cli keeps only this hook)."""
    from baseline.stackfile import add_stack_arguments

    parser = commands.add_parser(
        "secrets", help="list the secrets a stack still needs, or --set one (prompts)"
    )
    add_stack_arguments(parser)
    parser.add_argument(
        "--set", dest="set_name", metavar="NAME", help="store this secret; asks for it without echo"
    )
    parser.add_argument(
        "--stdin", action="store_true", help="with --set: read the value from standard input (automation)"
    )
    parser.set_defaults(
        run=lambda args: run(
            args.stack,
            set_name=args.set_name,
            from_stdin=args.stdin,
            config_file=args.config_file,
            as_stack=args.as_stack,
        )
    )
