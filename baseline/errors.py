"""The one error type a user sees for bad configuration."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from baseline import PROJECT

_MISSING = object()
# Top-level keys of a stack file beside `config` (the secrets provider's state): no namespace.
STACK_FILE_KEYS = frozenset({"encryptionsalt", "encryptedkey", "secretsprovider"})


@dataclass
class ConfigError(Exception):
    """Bad configuration: the key, the value (unless secret), what is wrong and the fix."""

    key: str
    problem: str
    fix: str
    value: object = _MISSING
    as_written: bool = False  # a key the user wrote without the namespace: shown without it

    def __str__(self) -> str:
        # Config keys get their namespace; command-line options (--stack) and keys that already
        # carry one (aws:region) are shown as they are.
        bare = self.as_written or ":" in self.key or self.key.startswith("-") or self.key in STACK_FILE_KEYS
        key = self.key if bare else f"{PROJECT}:{self.key}"
        shown = "" if self.value is _MISSING else f" = {self.value!r}"
        return f"{key}{shown}: {self.problem}. Fix: {self.fix}"


class ConfigErrors(ConfigError):
    """Several independent configuration errors of one stack, found in one validation pass.

    A ConfigError itself (the first one's fields), so every caller that catches or inspects one
    keeps working; its text is one line per error.
    """

    def __init__(self, errors: list[ConfigError]) -> None:
        flat = [e for error in errors for e in (error.errors if isinstance(error, ConfigErrors) else [error])]
        first = flat[0]
        super().__init__(first.key, first.problem, first.fix, first.value, first.as_written)
        self.errors = flat

    def __str__(self) -> str:
        return "\n".join(ConfigError.__str__(error) for error in self.errors)


class Collector:
    """Gathers the ConfigErrors of independent checks, so one run reports them all.

    Each ``check()`` block stops at its own first error (what follows in it may rely on what it
    refused); the next block runs regardless. ``raise_any`` then raises what was gathered: the
    error itself when there is one, ConfigErrors when there are several.
    """

    def __init__(self) -> None:
        self.errors: list[ConfigError] = []

    @contextmanager
    def check(self) -> Iterator[None]:
        try:
            yield
        except ConfigError as error:
            self.add(error)

    def add(self, error: ConfigError) -> None:
        self.errors += error.errors if isinstance(error, ConfigErrors) else [error]

    def raise_any(self) -> None:
        if len(self.errors) == 1:
            raise self.errors[0]
        if self.errors:
            raise ConfigErrors(self.errors)


# How many configuration errors a run prints before "and N more": a screenful, so the first
# lines stay in view, yet enough that switching a stack to prod is one round of fixes.
SHOWN_ERRORS = 12


def error_lines(error: ConfigError, limit: int = SHOWN_ERRORS) -> list[str]:
    """The lines a run prints for ``error``: one per configuration error, at most ``limit``, then
    how many more there are."""
    errors = error.errors if isinstance(error, ConfigErrors) else [error]
    lines = [ConfigError.__str__(e) for e in errors[:limit]]
    if len(errors) > limit:
        lines.append(f"and {len(errors) - limit} more (fix these and run again to see the rest)")
    return lines


class PlanError(Exception):
    """The strict mocks refused a registration: the program produced what the cloud refuses."""


@dataclass
class Fault(Exception):
    """An operator command met an ordinary fault (no CLI, no credentials, no network, throttling,
    access denied): what failed, where the setting comes from, and what to do, in one line."""

    what: str
    fix: str
    where: str = ""
    code: int = 1

    def __str__(self) -> str:
        where = f" ({self.where})" if self.where else ""
        return f"{self.what}{where}. Fix: {self.fix}"


def set_command(name: str, stack: str) -> str:
    """The command that sets ``secrets.<name>``; the CLI prompts for the value (no shell history)."""
    return f"pulumi config set --secret --path 'secrets.{name}' -s {stack}"


# The one page every "install the Pulumi CLI" hint links (Pulumi's "Download & Install Pulumi";
# the older /docs/install/ address redirects to it).
PULUMI_INSTALL_URL = "https://www.pulumi.com/docs/iac/download-install/"

# How hints spell this program's commands: the interpreter `make plan` installs the dependencies
# into. A bare `python` is whatever is first on PATH, usually without them.
BASELINE = ".venv/bin/python -m baseline"
PROJECT_PACKAGES = frozenset({"baseline", "components", "policy"})


def missing_dependency(error: ModuleNotFoundError, argv: list[str]) -> str | None:
    """One line for a dependency this interpreter lacks (None: a project module is missing, a bug)."""
    import shlex
    import sys

    root = (error.name or "").partition(".")[0]
    if not root or root in PROJECT_PACKAGES:
        return None
    command = " ".join([BASELINE, *map(shlex.quote, argv)])
    return (
        f"error: this Python ({sys.executable}) lacks the project's dependencies (no module {root!r}). "
        f"Fix: run `make plan` once (it creates .venv and installs requirements.txt), then `{command}`"
    )
