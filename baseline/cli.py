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

from baseline.errors import ConfigError, Fault, PlanError
from baseline.stackfile import add_stack_arguments, checked_stack_file

EXIT_CONFIG = 2
EXIT_PLAN = 3


def _path(args: argparse.Namespace):
    return checked_stack_file(args.stack, args.config_file, as_stack=args.as_stack)


def _plan(args: argparse.Namespace) -> int:
    from baseline.config import load_stack_file, resolve, unset_note
    from baseline.plan import render, to_json, to_table

    resolved = resolve(load_stack_file(_path(args), args.stack))
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

    return resolve(load_stack_file(_path(args), args.stack))


def _can(args: argparse.Namespace) -> int:
    import json

    from baseline.analysis import access

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
    if args.any:
        from baseline.analysis import symbolic

        text, allowed = symbolic.any_question(
            args.stack,
            access.grants_of(plan, principal),
            args.principal,
            args.action or "*",
            args.resource or "*",
            args.context,
            args.format,
            config_file=args.config_file,
        )
        sys.stdout.write(text)
        return 0 if allowed else 1
    for flag, value in (("--action", args.action), ("--resource", args.resource)):
        if value is None:
            raise ConfigError(key=flag, problem="required unless --trust", fix=f"add {flag}, or --trust")
    access.check_request(principal, args.action, args.resource)
    context = access.parse_context(args.context)
    grants = access.grants_of(plan, principal)
    if args.resource == "*":
        # "*" is not one resource a request names: read it as "any resource" (see decide_any).
        decision, allowed_on = grants.decide_any(args.action, context)
        result = access.report(args.stack, grants, args.action, args.resource, context, decision)
        result["allowedOn"] = allowed_on
    else:
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

    return teardown.run(args.stack, yes=args.yes, config_file=args.config_file, as_stack=args.as_stack)


def _sweep(args: argparse.Namespace) -> int:
    from baseline.ops import sweep

    return sweep.run(args.cloud, args.prefix, older_than=args.older_than, delete=args.delete)


def _diff(args: argparse.Namespace) -> int:
    from baseline.ops import review

    return review.run(
        args.stack,
        base=args.base,
        base_config_file=args.base_config_file,
        config_file=args.config_file,
        as_stack=args.as_stack,
        output=args.format,
    )


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m baseline", description=__doc__.splitlines()[0])
    commands = root.add_subparsers(dest="command", required=True)
    plan = commands.add_parser("plan", help="render every resource a stack would create, offline")
    add_stack_arguments(plan, "render this stack file instead of stacks/Pulumi.<stack>.yaml")
    plan.add_argument("--format", choices=("table", "json"), default="table")
    plan.set_defaults(run=_plan)
    can = commands.add_parser(
        "can", help="may a principal of the stack do an action on a resource? (offline)"
    )
    add_stack_arguments(can, "use this stack file instead of stacks/Pulumi.<stack>.yaml")
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
        "--any",
        action="store_true",
        help="ask every request at once (solver): --action/--resource may be patterns (default *), "
        "omitted context is any context; --context KEY=V, KEY!=V or !KEY constrain it. "
        "Allow with a witness, or deny with a proof",
    )
    can.add_argument(
        "--context",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="request context; repeat a key for a list",
    )
    can.add_argument("--format", choices=("text", "json"), default="text")
    can.set_defaults(run=_can)
    deployer = commands.add_parser(
        "deployer-policy", help="print the least-privilege policy a human needs to deploy the stack"
    )
    add_stack_arguments(deployer, "use this stack file instead of stacks/Pulumi.<stack>.yaml")
    deployer.add_argument("--cloud", required=True, choices=("alicloud", "aws"))
    deployer.set_defaults(run=_deployer_policy)
    policy = commands.add_parser("policy", help="run the CrossGuard policy pack over the offline plan")
    add_stack_arguments(policy, "use this stack file instead of stacks/Pulumi.<stack>.yaml")
    policy.set_defaults(run=_policy)
    teardown = commands.add_parser(
        "teardown", help="destroy a test stack (testStack: true) and remove it; never prod"
    )
    add_stack_arguments(teardown, "the stack file, instead of stacks/Pulumi.<stack>.yaml")
    teardown.add_argument("--yes", action="store_true", help="do not ask for the stack name (automation)")
    teardown.set_defaults(run=_teardown)
    sweep = commands.add_parser("sweep", help="list (or --delete) identities failed test runs left behind")
    sweep.add_argument("--cloud", required=True, choices=("aws", "alicloud"))
    sweep.add_argument("--prefix", required=True, help="name prefix of the test stack, e.g. pr12-")
    sweep.add_argument("--older-than", default="2h", help="spare anything younger (default 2h)")
    sweep.add_argument("--delete", action="store_true", help="delete what the dry run lists")
    sweep.set_defaults(run=_sweep)
    diff = commands.add_parser(
        "diff", help="what a change to a stack file adds, removes and grants (two offline plans)"
    )
    add_stack_arguments(
        diff, "the new side's stack file (default: stacks/Pulumi.<stack>.yaml in the work tree)"
    )
    base = diff.add_mutually_exclusive_group()
    base.add_argument(
        "--base",
        metavar="REV",
        help="git revision of the base stack file (default: git merge-base HEAD main)",
    )
    base.add_argument("--base-config-file", metavar="OLD", help="the base side's stack file")
    diff.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    diff.set_defaults(run=_diff)
    from baseline import adopt, stack_secrets

    stack_secrets.add_parser(commands)
    adopt.add_parser(commands)
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
    except Fault as error:
        print(f"error: {error}", file=sys.stderr)
        return error.code
