"""``python -m baseline``: the offline plan and the operator commands.

Exit codes: 0 success; 2 bad configuration or usage (one line on stderr, nothing rendered);
3 the strict mocks refused a registration (a program bug: please report it).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from baseline.errors import ConfigError, PlanError

ROOT = Path(__file__).resolve().parent.parent
EXIT_CONFIG = 2
EXIT_PLAN = 3


def stack_file(stack: str, config_file: str | None) -> Path:
    return Path(config_file) if config_file else ROOT / "stacks" / f"Pulumi.{stack}.yaml"


def _plan(args: argparse.Namespace) -> int:
    from baseline.config import load_stack_file, resolve
    from baseline.plan import render, to_json, to_table

    path = stack_file(args.stack, args.config_file)
    if not path.is_file():
        raise ConfigError(
            key="--stack",
            value=args.stack,
            problem=f"no stack file at {path}",
            fix="use dev, staging or prod, or pass --config-file PATH",
        )
    plan = render(resolve(load_stack_file(path)), args.stack)
    sys.stdout.write(to_json(plan) if args.format == "json" else to_table(plan))
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m baseline", description=__doc__.splitlines()[0])
    commands = root.add_subparsers(dest="command", required=True)
    plan = commands.add_parser("plan", help="render every resource a stack would create, offline")
    plan.add_argument("--stack", required=True, help="stack name: dev, staging, prod, ...")
    plan.add_argument("--format", choices=("table", "json"), default="table")
    plan.add_argument("--config-file", help="render this stack file instead of stacks/Pulumi.<stack>.yaml")
    plan.set_defaults(run=_plan)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_CONFIG
    except PlanError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_PLAN
