"""``python -m baseline``: the offline plan and the operator commands.

Exit codes: 0 success; 2 bad configuration or usage (one line on stderr, nothing rendered);
3 the strict mocks refused a registration (a program bug: please report it).
``teardown`` and ``sweep`` add 1 (a cloud operation failed) and 130 (cancelled); see their modules.
``can`` exits 0 when the request is allowed, 1 when it is denied, 2 on bad input (unknown
principal, malformed action or ARN, bad --context); ``can --trust`` answers whether a GitHub
Actions token may assume a role, with the same codes. ``policy`` exits 0 when no mandatory rule of
the policy pack is violated (advisories are printed), 1 when one is.
"""

from __future__ import annotations

import argparse
import sys

from baseline.errors import ConfigError, PlanError
from baseline.stackfile import stack_file

EXIT_CONFIG = 2
EXIT_PLAN = 3


def _plan(args: argparse.Namespace) -> int:
    from baseline.config import load_stack_file, resolve, unset_note
    from baseline.plan import render, to_json, to_table

    path = stack_file(args.stack, args.config_file)
    if not path.is_file():
        raise ConfigError(
            key="--stack",
            value=args.stack,
            problem=f"no stack file at {path}",
            fix="use dev, staging or prod, or pass --config-file PATH",
        )
    resolved = resolve(load_stack_file(path, args.stack))
    plan = render(resolved, args.stack)
    sys.stdout.write(to_json(plan) if args.format == "json" else to_table(plan))
    if (note := unset_note(resolved)) is not None:
        print(note, file=sys.stderr)
    return 0


def _rendered(args: argparse.Namespace) -> dict:
    from baseline.plan import render

    return render(_resolved(args), args.stack)


def _resolved(args: argparse.Namespace):
    from baseline.config import load_stack_file, resolve

    path = stack_file(args.stack, args.config_file)
    if not path.is_file():
        raise ConfigError(
            key="--stack",
            value=args.stack,
            problem=f"no stack file at {path}",
            fix="use dev, staging or prod, or pass --config-file PATH",
        )
    return resolve(load_stack_file(path, args.stack))


def _can(args: argparse.Namespace) -> int:
    import json

    from baseline import access

    plan = _rendered(args)
    found = access.find_principal(plan, args.principal)
    if len(found) != 1:
        known = access.describe(access.principals(plan)) or "none"
        raise ConfigError(
            key="--principal",
            value=args.principal,
            problem="no such principal in this stack" if not found else "the name is ambiguous",
            fix=f"use one of: {known}" if not found else "prefix it with alicloud: or aws:",
        )
    principal = found[0]
    if args.trust:
        text, allowed = access.trust_question(
            args.stack, plan, principal, args.action, args.context, args.format
        )
        sys.stdout.write(text)
        return 0 if allowed else 1
    for flag, value in (("--action", args.action), ("--resource", args.resource)):
        if value is None:
            raise ConfigError(key=flag, problem="required unless --trust", fix=f"add {flag}, or --trust")
    access.check_request(principal, args.action, args.resource)
    context = access.parse_context(args.context)
    grants = access.grants_of(plan, principal)
    decision = grants.decide(args.action, args.resource, context)
    result = access.report(args.stack, grants, args.action, args.resource, context, decision)
    text = (
        json.dumps(result, indent=2) + "\n"
        if args.format == "json"
        else access.to_text(result, decision, principal)
    )
    sys.stdout.write(text)
    return 0 if decision.allowed else 1


def _deployer_policy(args: argparse.Namespace) -> int:
    from baseline.documents import pipeline
    from baseline.plan import render

    resolved = _resolved(args)
    text = pipeline.human_deployer_policy(resolved, render(resolved, args.stack), args.cloud)
    sys.stdout.write(text)
    return 0


def _policy(args: argparse.Namespace) -> int:
    from policy import offline

    violations = offline.run(_rendered(args))
    sys.stdout.write(offline.to_text(violations, args.stack))
    return 1 if any(v.mandatory for v in violations) else 0


def _teardown(args: argparse.Namespace) -> int:
    from baseline.ops import teardown

    return teardown.run(args.stack, yes=args.yes, config_file=args.config_file)


def _sweep(args: argparse.Namespace) -> int:
    from baseline.ops import sweep

    return sweep.run(args.cloud, args.prefix, older_than=args.older_than, delete=args.delete)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m baseline", description=__doc__.splitlines()[0])
    commands = root.add_subparsers(dest="command", required=True)
    plan = commands.add_parser("plan", help="render every resource a stack would create, offline")
    plan.add_argument("--stack", required=True, help="stack name: dev, staging, prod, ...")
    plan.add_argument("--format", choices=("table", "json"), default="table")
    plan.add_argument("--config-file", help="render this stack file instead of stacks/Pulumi.<stack>.yaml")
    plan.set_defaults(run=_plan)
    can = commands.add_parser(
        "can", help="may a principal of the stack do an action on a resource? (offline)"
    )
    can.add_argument("--stack", required=True, help="stack name: dev, staging, prod, ...")
    can.add_argument("--principal", required=True, help="RAM user, RAM role or IAM role name as in the cloud")
    can.add_argument(
        "--action", help="e.g. ecs:RunCommand (with --trust: the STS call, by default the cloud's)"
    )
    can.add_argument("--resource", help="an acs:/arn: ARN, or * (not used with --trust)")
    can.add_argument(
        "--trust",
        action="store_true",
        help="ask the role's trust policy instead: may a GitHub Actions token with the --context "
        "claims (token.actions.githubusercontent.com:sub=..., or oidc:sub=...) assume it?",
    )
    can.add_argument(
        "--context",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="request context; repeat a key for a list",
    )
    can.add_argument("--format", choices=("text", "json"), default="text")
    can.add_argument("--config-file", help="use this stack file instead of stacks/Pulumi.<stack>.yaml")
    can.set_defaults(run=_can)
    deployer = commands.add_parser(
        "deployer-policy", help="print the least-privilege policy a human needs to deploy the stack"
    )
    deployer.add_argument("--stack", required=True, help="stack name: dev, staging, prod, pipeline, ...")
    deployer.add_argument("--cloud", required=True, choices=("alicloud", "aws"))
    deployer.add_argument("--config-file", help="use this stack file instead of stacks/Pulumi.<stack>.yaml")
    deployer.set_defaults(run=_deployer_policy)
    policy = commands.add_parser("policy", help="run the CrossGuard policy pack over the offline plan")
    policy.add_argument("--stack", required=True, help="stack name: dev, staging, prod, ...")
    policy.add_argument("--config-file", help="use this stack file instead of stacks/Pulumi.<stack>.yaml")
    policy.set_defaults(run=_policy)
    teardown = commands.add_parser(
        "teardown", help="destroy a test stack (testStack: true) and remove it; never prod"
    )
    teardown.add_argument("--stack", required=True, help="the test stack, e.g. test-pr-12")
    teardown.add_argument("--yes", action="store_true", help="do not ask for the stack name (automation)")
    teardown.add_argument("--config-file", help="the stack file, instead of stacks/Pulumi.<stack>.yaml")
    teardown.set_defaults(run=_teardown)
    sweep = commands.add_parser("sweep", help="list (or --delete) identities failed test runs left behind")
    sweep.add_argument("--cloud", required=True, choices=("aws", "alicloud"))
    sweep.add_argument("--prefix", required=True, help="name prefix of the test stack, e.g. pr12-")
    sweep.add_argument("--older-than", default="2h", help="spare anything younger (default 2h)")
    sweep.add_argument("--delete", action="store_true", help="delete what the dry run lists")
    sweep.set_defaults(run=_sweep)
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
