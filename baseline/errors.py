"""The one error type a user sees for bad configuration."""

from __future__ import annotations

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
