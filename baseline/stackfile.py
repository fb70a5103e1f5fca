"""Where a stack's file lives, and which stack a file belongs to.

Shared by the CLI and the operations package (``baseline/ops``). A stack file's identity is its
name, as for the Pulumi CLI: ``Pulumi.<stack>.yaml`` belongs to stack ``<stack>``. A file named
otherwise (``/tmp/candidate.yaml``) says nothing about its stack and is accepted for any.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

from baseline.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
STACKS_DIR = ROOT / "stacks"
_STACK_FILE = re.compile(r"Pulumi\.(?P<stack>[^/]+)\.ya?ml")


def stack_file(stack: str, config_file: str | None) -> Path:
    """``--config-file`` when given, else ``stacks/Pulumi.<stack>.yaml``."""
    return Path(config_file) if config_file else STACKS_DIR / f"Pulumi.{stack}.yaml"


def source_option(config_file: str | None) -> str:
    """The option that named the stack's file: errors about the file itself name it."""
    return "--config-file" if config_file else "--stack"


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


def read_yaml(text: str, source: str = "the stack file") -> Any:
    """``yaml.safe_load`` through libyaml when PyYAML was built with it (same safe constructors,
    same errors with line marks; the pure-Python parser is ~6x slower and every command, sweep
    check and test reads stack files), refusing a key written twice in one map.

    YAML keeps the last of two equal keys without a word, so a scenario block pasted twice (the
    second with ``enabled: false``) or a repeated ``runAsUsers`` silently replaces the first, while
    the Pulumi CLI's own reader refuses the file: the offline plan and the real run would disagree.
    """
    loader = _loader()(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _refuse_duplicate_keys(node, (), source)
        return loader.construct_document(node)
    finally:
        loader.dispose()


_MERGE_TAG = "tag:yaml.org,2002:merge"
_BOOL_TAG = "tag:yaml.org,2002:bool"


@cache
def _loader() -> type:
    """libyaml's safe loader with YAML 1.2's booleans: only true/True/TRUE/false/False/FALSE.

    PyYAML resolves YAML 1.1's ``yes``, ``no``, ``on`` and ``off`` to booleans; the Pulumi CLI's
    reader (go-yaml v3: "Booleans in YAML 1.2 are true/false only", yes/no/on/off "behave as a
    string" unless decoded into a typed bool) hands the program the string, which the settings
    refuse. Reading them as strings here makes the offline plan refuse them too.
    """
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    resolvers = {
        first: [(tag, regexp) for tag, regexp in entries if tag != _BOOL_TAG]
        for first, entries in base.yaml_implicit_resolvers.items()
    }
    loader = type("StackFileLoader", (base,), {"yaml_implicit_resolvers": resolvers})
    loader.add_implicit_resolver(
        _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
    )
    return loader


def _refuse_duplicate_keys(root: Any, path: tuple[str, ...], source: str) -> None:
    """Walk the composed nodes (before construction, so both lines are still known)."""
    import yaml

    todo, seen = [(root, path)], set()
    while todo:
        node, at = todo.pop()
        if id(node) in seen:  # an alias: its anchor was walked already
            continue
        seen.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            todo += [(item, (*at, f"[{i}]")) for i, item in enumerate(node.value)]
        elif isinstance(node, yaml.MappingNode):
            lines: dict[tuple[str, str], int] = {}
            for key, value in node.value:
                if not isinstance(key, yaml.ScalarNode) or key.tag == _MERGE_TAG:
                    continue  # `<<:` merges may be overridden; complex keys never appear here
                line = key.start_mark.line + 1
                if (key.tag, key.value) in lines:
                    raise _duplicate((*at, key.value), lines[key.tag, key.value], line, source)
                lines[key.tag, key.value] = line
                todo.append((value, (*at, key.value)))


def _duplicate(path: tuple[str, ...], first: int, second: int, source: str) -> ConfigError:
    # Under `config:` the key is shown as the program reads it (ecs-access-baseline:x.y); a key
    # that carries no namespace, or lies outside `config:`, is shown as written.
    inner = path[1:] if path[0] == "config" and len(path) > 1 else ()
    dotted = ".".join(inner or path).replace(".[", "[")
    lines = f"at lines {first} and {second}"
    why = "; YAML would keep only the second without a word, and the Pulumi CLI refuses the file"
    fix = f"keep one `{path[-1]}:` entry (with everything it should say) and delete the other"
    if inner and ":" in inner[0]:
        return ConfigError(key=dotted, problem=f"written twice in one map, {lines} of {source}{why}", fix=fix)
    return ConfigError(
        key="--config-file",
        value=source,
        problem=f"`{dotted}` is written twice in one map, {lines}{why}",
        fix=fix,
    )


def stack_of(path: Path) -> str | None:
    """The stack a file belongs to by its name, or None when the name does not say."""
    match = _STACK_FILE.fullmatch(path.name)
    return match["stack"] if match else None


def checked_stack_file(
    stack: str, config_file: str | None, *, as_stack: bool = False, option: str = "--config-file"
) -> Path:
    """The stack's file, refusing a missing file and another stack's file (unless ``as_stack``)."""
    if stack.endswith((".yaml", ".yml")):
        raise _file_as_stack(stack)
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


def _file_as_stack(given: str) -> ConfigError:
    """``--stack stacks/Pulumi.dev.yaml``: a file where the stack's name belongs (it would be looked
    for as stacks/Pulumi.stacks/Pulumi.dev.yaml.yaml). The fix names the stack, and --config-file
    for a file outside stacks/."""
    path = Path(given)
    name = stack_of(path) or "<name>"
    in_stacks = path.resolve().parent == STACKS_DIR.resolve() and stack_of(path) is not None
    fix = f"pass --stack {name}" if in_stacks else f"pass --stack {name} --config-file {given}"
    return ConfigError(
        key="--stack",
        value=given,
        problem="--stack takes a stack's name, not its file (the file of stack <name> is "
        "stacks/Pulumi.<name>.yaml)",
        fix=fix,
    )
