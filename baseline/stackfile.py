"""Where a stack's file lives, and which stack a file belongs to.

Shared by the CLI and the operations package (``baseline/ops``). A stack file's identity is its
name, as for the Pulumi CLI: ``Pulumi.<stack>.yaml`` belongs to stack ``<stack>``. A file named
otherwise (``/tmp/candidate.yaml``) says nothing about its stack and is accepted for any.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from baseline.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
STACKS_DIR = ROOT / "stacks"
_STACK_FILE = re.compile(r"Pulumi\.(?P<stack>[^/]+)\.ya?ml")


def stack_file(stack: str, config_file: str | None) -> Path:
    """``--config-file`` when given, else ``stacks/Pulumi.<stack>.yaml``."""
    return Path(config_file) if config_file else STACKS_DIR / f"Pulumi.{stack}.yaml"


def add_stack_arguments(
    command: Any, config_help: str = "use this stack file instead of stacks/Pulumi.<stack>.yaml"
) -> None:
    """``--stack``, ``--config-file`` and ``--as-stack``, the same on every command that reads one."""
    found = sorted(s for p in STACKS_DIR.glob("Pulumi.*.yaml") if (s := stack_of(p)))
    command.add_argument(
        "--stack",
        required=True,
        help=f"stack name; stack files in stacks/: {', '.join(found) or 'none'}",
    )
    command.add_argument("--config-file", metavar="FILE", help=config_help)
    command.add_argument(
        "--as-stack",
        action="store_true",
        help="use --config-file although its name (Pulumi.<other>.yaml) says it is another stack's",
    )


def read_yaml(text: str) -> Any:
    """``yaml.safe_load`` through libyaml when PyYAML was built with it (same safe constructors,
    same errors with line marks; the pure-Python parser is ~6x slower and every command, sweep
    check and test reads stack files)."""
    import yaml

    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def stack_of(path: Path) -> str | None:
    """The stack a file belongs to by its name, or None when the name does not say."""
    match = _STACK_FILE.fullmatch(path.name)
    return match["stack"] if match else None


def checked_stack_file(
    stack: str, config_file: str | None, *, as_stack: bool = False, option: str = "--config-file"
) -> Path:
    """The stack's file, refusing a missing file and another stack's file (unless ``as_stack``)."""
    path = stack_file(stack, config_file)
    if config_file is None:
        if not path.is_file():
            known = sorted(s for p in STACKS_DIR.glob("Pulumi.*.yaml") if (s := stack_of(p)))
            raise ConfigError(
                key="--stack",
                value=stack,
                problem=f"no stack file at {path}",
                fix=f"use one of {', '.join(known)}, or pass {option} PATH",
            )
        return path
    # Not only a regular file: a pipe such as `--base-config-file <(git show REV:path)` is
    # /dev/fd/N, read once like any file.
    if not path.exists() or path.is_dir():
        raise ConfigError(
            key=option,
            value=config_file,
            problem="no such file" if not path.exists() else "a directory, not a file",
            fix=f"check the path, or leave {option} out to use stacks/Pulumi.{stack}.yaml",
        )
    owner = stack_of(path)
    bare = stack.rsplit("/", 1)[-1]  # org/project/stack: Pulumi names the file by the last part
    if owner is not None and owner != bare and not as_stack:
        raise ConfigError(
            key=option,
            value=config_file,
            problem=f"this is stack {owner!r}'s file (by its name), but --stack is {stack!r}",
            fix=f"pass --stack {owner}, or add --as-stack to use it as {stack!r} on purpose",
        )
    return path
