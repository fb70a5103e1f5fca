"""The command line, ``python -m baseline <command>``: the offline plan and the operator commands.

One parser builder per command (``_plan_parser``, ...), listed in ``BUILDERS``; each command's
``--help`` page is its ``Page``: what it does, its exit codes and an example. Every command exits
2 on bad configuration or usage (one line on stderr per error, each naming the key and the fix,
nothing on stdout) and 3 when the strict mocks refuse a registration (a program bug: please report it);
each page lists the codes of its own. Faults are one line, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

from baseline.errors import ConfigError, Fault, PlanError, error_lines, missing_dependency
from baseline.stackfile import add_stack_arguments, checked_stack_file, source_option

EXIT_CONFIG = 2
EXIT_PLAN = 3
EXIT_UNKNOWN = 4  # can: a policy not on file could change the answer
# How every example and usage line spells the command: the interpreter `make plan` installs.
PROG = ".venv/bin/python -m baseline"
BAD_INPUT = (
    "2",
    "bad configuration or usage: one line on stderr per error (all of them), naming the key and the fix",
)
PROGRAM_BUG = ("3", "the strict mocks refused a registration: a program bug, please report it")


@dataclass(frozen=True)
class Page:
    """A command's --help page: one line for the command list, then what a person can act on."""

    summary: str
    description: str
    exit_codes: tuple[tuple[str, str], ...]
    examples: tuple[str, ...]

    def epilog(self) -> str:
        width = max(len(code) for code, _ in self.exit_codes)
        lines = ["exit codes:"]
        lines += [f"  {code:<{width}}  {meaning}" for code, meaning in self.exit_codes]
        lines += ["", "example:" if len(self.examples) == 1 else "examples:"]
        lines += [f"  {PROG} {example}" for example in self.examples]
        return "\n".join(lines)


def _command(commands: argparse._SubParsersAction, name: str, page: Page) -> argparse.ArgumentParser:
    command = commands.add_parser(name, help=page.summary)
    return _dress(command, page)


def _dress(command: argparse.ArgumentParser, page: Page) -> argparse.ArgumentParser:
    """Give a command (also one a module registers itself) its page."""
    command.description = page.description
    command.epilog = page.epilog()
    command.formatter_class = argparse.RawDescriptionHelpFormatter
    return command


def _path(args: argparse.Namespace):
    return checked_stack_file(args.stack, args.config_file, as_stack=args.as_stack)


def _raw(args: argparse.Namespace):
    from baseline.config import load_stack_file

    return load_stack_file(_path(args), args.stack, source_option(args.config_file))


def _plan(args: argparse.Namespace) -> int:
    from baseline.config import example_warnings, resolve, unset_note
    from baseline.plan import render, to_json, to_table

    resolved = resolve(_raw(args))
    plan = render(resolved, args.stack)
    sys.stdout.write(to_json(plan) if args.format == "json" else to_table(plan))
    if (note := unset_note(resolved)) is not None:
        print(note, file=sys.stderr)
    for warning in example_warnings(resolved):
        print(warning, file=sys.stderr)
    return 0


def _rendered(args: argparse.Namespace) -> dict:
    from baseline.plan import render

    return render(_resolved(args), args.stack)


def _resolved(args: argparse.Namespace):
    from baseline.config import resolve

    return resolve(_raw(args))


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
            args.resource[0] if args.resource else "*",
            args.context,
            args.format,
            config_file=args.config_file,
        )
        sys.stdout.write(text)
        return 0 if allowed else 1
    for flag, value in (("--action", args.action), ("--resource", args.resource)):
        if not value:
            raise ConfigError(key=flag, problem="required unless --trust", fix=f"add {flag}, or --trust")
    resources = list(dict.fromkeys(args.resource))
    for resource in resources:
        access.check_request(principal, args.action, resource)
    context = access.parse_context(args.context)
    grants = access.grants_of(plan, principal)
    call = ref = None
    if resources == ["*"]:
        # "*" is not one resource a request names: read it as "any resource" (see decide_any).
        decision, allowed_on = grants.decide_any(args.action, context)
        result = access.report(args.stack, grants, args.action, "*", context, decision)
        result["allowedOn"] = allowed_on
    elif "*" in resources:
        raise ConfigError(
            key="--resource", value="*", problem="'*' is asked alone", fix="drop the other --resource"
        )
    elif (ref := access.check_call(principal, args.action, resources)) is None:
        decision = grants.decide(args.action, resources[0], context)
        result = access.report(args.stack, grants, args.action, resources[0], context, decision)
        result["reference"] = (
            f"{args.action} is in no authorization reference row: asked on the given resource only"
        )
    else:
        from baseline.analysis.evaluator import evaluate_call

        call = evaluate_call(
            grants.policies, principal.cloud, args.action, resources, context, boundary=grants.boundary
        )
        decision = call.decision
        result = access.report(args.stack, grants, call.action, ", ".join(resources), context, decision)
        result = access.call_report(result, call, ref, grants)
    unknown = access.unknown_line(grants, args.action, decision)
    result["unknown"] = unknown
    if args.format == "json":
        text = json.dumps(result, indent=2) + "\n"
    else:
        text = access.to_text(result, decision, principal)
        lines = text.splitlines()
        if call is not None:
            lines[4:4] = access.call_text(call)
        if "reference" in result:
            lines.insert(4, f"  reference: {result['reference']}")
        if unknown:
            names = ", ".join(unknown)
            lines[0] = (
                f"unknown: {names} {'is' if len(unknown) == 1 else 'are'} not modelled "
                f"(without {'it' if len(unknown) == 1 else 'them'}: {decision.word}; "
                f"{'it' if len(unknown) == 1 else 'they'} may allow {args.action})"
            )
        text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    if unknown:
        return EXIT_UNKNOWN
    return 0 if decision.allowed else 1


def _lint(args: argparse.Namespace) -> int:
    import json

    from baseline.analysis import lint

    if (args.stack is None) == (args.plan is None):
        raise ConfigError(
            key="--stack", problem="lint reads one stack or one plan", fix="give --stack S or --plan FILE"
        )
    if args.plan is not None:
        try:
            plan = json.loads(open(args.plan, encoding="utf-8").read())  # noqa: SIM115
            plan["resources"]
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise ConfigError(
                key="--plan",
                value=args.plan,
                problem=f"not a plan JSON ({error.__class__.__name__})",
                fix="write one with `plan --stack S --format json > FILE`",
            ) from None
        what = args.plan
    else:
        plan, what = _rendered(args), f"stack {args.stack}"
    result = lint.lint_plan(plan)
    sys.stdout.write(lint.to_json(result) if args.format == "json" else lint.to_text(result, what))
    return 1 if result.findings else 0


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

    return sweep.run(
        args.cloud,
        args.prefix,
        older_than=args.older_than,
        delete=args.delete,
        sandbox=args.sandbox,
        open_prs=args.open_prs,
        open_pr_max_age=args.open_pr_max_age,
    )


def _drift(args: argparse.Namespace) -> int:
    from baseline.ops import drift

    return drift.run(args.stack, config_file=args.config_file, as_stack=args.as_stack, state_file=args.state)


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


# --- the commands: a page and a parser builder each ---------------------------------------------

PLAN = Page(
    summary="render every resource a stack would create, offline (no Pulumi CLI, no cloud)",
    description="Runs the real program under strict mocks and prints every resource the stack would\n"
    'create: a table, or the JSON plan (byte-identical across runs; secrets are "[secret]").\n'
    "Unset secrets are named on stderr; the plan still renders.",
    exit_codes=(("0", "rendered"), BAD_INPUT, PROGRAM_BUG),
    examples=("plan --stack dev", "plan --stack prod --format json > prod-plan.json"),
)


def _plan_parser(commands: argparse._SubParsersAction) -> None:
    plan = _command(commands, "plan", PLAN)
    add_stack_arguments(plan, "render this stack file instead of stacks/Pulumi.<stack>.yaml")
    plan.add_argument(
        "--format",
        choices=("table", "json"),
        default="table",
        help="table: one line per resource, for reading (default); json: the whole plan, for tools",
    )
    plan.set_defaults(run=_plan)


CAN = Page(
    summary="may a principal of the stack do an action on a resource? (offline)",
    description="Evaluates the request against everything attached to the principal in the stack's plan\n"
    "(and its permissions boundary): explicit Deny wins, then Allow, else an implicit deny.\n"
    "Prints the decision and what decided it: the statement for an allow or an explicit deny;\n"
    "for an implicit deny, that nothing allows it and the nearest miss. With --trust it asks the\n"
    "role's trust policy whether a GitHub Actions token with the --context claims may assume it.",
    exit_codes=(
        ("0", "allowed"),
        ("1", "denied"),
        (
            "2",
            "bad input: unknown principal, malformed action or ARN, a resource of a type the action is "
            "not authorised on, bad --context, bad config",
        ),
        PROGRAM_BUG,
        ("4", "unknown: a policy attached to the principal is not modelled and could allow it"),
    ),
    examples=(
        "can --stack dev --principal dev-commandUser --action ecs:RunCommand "
        "--resource acs:ecs:cn-hangzhou:5012345678901234:instance/i-x --context ecs:CommandRunAs=user01",
        "can --stack pipeline --principal aws:github-prod-deploy --trust "
        "--context token.actions.githubusercontent.com:sub=repository_owner_id:987654321"
        ":repository_id:123456789:environment:prod"
        ":job_workflow_ref:acme/ecs-access-baseline/.github/workflows/deploy.yml@refs/heads/main",
    ),
)


def _can_parser(commands: argparse._SubParsersAction) -> None:
    can = _command(commands, "can", CAN)
    add_stack_arguments(can, "use this stack file instead of stacks/Pulumi.<stack>.yaml")
    can.add_argument(
        "--principal",
        required=True,
        help="RAM user, RAM role or IAM role name as in the cloud (prefix alicloud: or aws: if both have it)",
    )
    can.add_argument(
        "--action", help="e.g. ecs:RunCommand (with --trust: the STS call, by default the cloud's)"
    )
    can.add_argument(
        "--resource",
        action="append",
        help="an acs:/arn: ARN, or * for any resource (not used with --trust); repeat it for a call on "
        "several resources (ecs:InvokeCommand: the instance and the command), one per resource type; "
        "a type left out is asked as any resource of that type",
    )
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
        help="request context, e.g. ecs:CommandRunAs=root, or a tag of the resource the call is on "
        "(acs:ResourceTag/fleet=web: an instance carrying fleet=web); repeat a key for a list",
    )
    can.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text: the decision and the deciding statement, for reading (default); json: for tools",
    )
    can.set_defaults(run=_can)


def _paths(args: argparse.Namespace) -> int:
    import json

    from baseline.analysis import graph
    from baseline.config import resolve
    from baseline.plan import render

    resolved = resolve(_raw(args))
    own = graph.source_from(args.stack, render(resolved, args.stack), resolved.settings)
    sources = [own]
    if args.shared:
        # Every checked-in stack that shares an account with this one, directly or through another.
        from baseline.stackfile import STACKS_DIR

        others = [
            graph.source_of(p.stem.removeprefix("Pulumi.")) for p in sorted(STACKS_DIR.glob("Pulumi.*.yaml"))
        ]
        candidates = [own, *(o for o in others if o.stack != args.stack)]
        sources = next(
            (list(g) for g in graph.shared_groups(candidates) if any(s is own for s in g)), sources
        )
    built = graph.build(sources)
    names = {n.name for n in built.nodes.values()} | set(built.nodes)
    for flag, value in (("--from", args.start), ("--to", args.to)):
        if value and value != "admin" and value not in names:
            raise ConfigError(
                key=flag,
                value=value,
                problem="no such node in this stack's graph",
                fix="name a principal of the stack (as `plan` lists it), or admin",
            )
    found = graph.paths(built, args.start, args.to)
    if args.shared:
        found = [p for p in found if args.stack in (built.nodes[p.source].stack, built.nodes[p.target].stack)]
    result = graph.report(args.stack, built, found, graph.exceptions())
    sys.stdout.write(json.dumps(result, indent=2) + "\n" if args.format == "json" else graph.to_text(result))
    return 1 if result["paths"] else 0


PATHS = Page(
    summary="every path by which a principal of the stack becomes another, or admin (offline)",
    description="Builds the escalation graph of the stack's plan (credentials, assume, policy writes, new\n"
    "principals, roles passed to compute, commands on instances, exec into containers), each edge\n"
    "decided by the evaluator, and prints one shortest path per source and target with the statement\n"
    "that decides each step. Paths a guide needs are listed apart (baseline/analysis/exceptions.yaml).",
    exit_codes=(("0", "no path outside the exceptions"), ("1", "a path outside the exceptions"), BAD_INPUT),
    examples=(
        "paths --stack prod",
        "paths --stack staging --shared",
        "paths --stack dev --from dev-commandUser --format json",
    ),
)


def _paths_parser(commands: argparse._SubParsersAction) -> None:
    paths = _command(commands, "paths", PATHS)
    add_stack_arguments(paths, "use this stack file instead of stacks/Pulumi.<stack>.yaml")
    paths.add_argument("--from", dest="start", help="only paths from this principal")
    paths.add_argument("--to", help="admin (every admin sink), or a principal's name")
    paths.add_argument(
        "--shared",
        action="store_true",
        help="also build in every checked-in stack sharing an account with this one (the pipeline's too) "
        "and report the paths from or to this stack's principals and instances",
    )
    paths.add_argument("--format", choices=("text", "json"), default="text", help="text (default) or json")
    paths.set_defaults(run=_paths)


def _tasks(args: argparse.Namespace) -> int:
    from baseline.analysis import access, tasks

    resolved = _resolved(args)
    plan = _rendered_from(resolved, args.stack)
    if args.principal is not None:
        found = access.find_principal(plan, args.principal)
        if len(found) != 1:
            known = access.describe(access.principals(plan)) or "none"
            raise ConfigError(
                key="--principal",
                value=args.principal,
                problem="no such principal in this stack" if not found else "the name is ambiguous",
                fix=f"use one of: {known}" if not found else "prefix it with alicloud: or aws:",
            )
        args.principal = f"{found[0].cloud}:{found[0].name}"
    try:
        results = tasks.prove(plan, resolved.settings, args.principal)
    except tasks.CatalogueError as error:
        raise ConfigError(key="baseline/scenarios/tasks", problem=str(error), fix=error.fix) from None
    result = tasks.report(args.stack, results)
    sys.stdout.write(tasks.to_json(result) if args.format == "json" else tasks.to_text(result))
    return tasks.exit_code(results)


def _rendered_from(resolved, stack: str) -> dict:
    from baseline.plan import render

    return render(resolved, stack)


TASKS = Page(
    summary="can every principal of the stack still do its job? every task call, asked (offline)",
    description="Asks every call of each principal's job (baseline/scenarios/tasks/: the guide's steps,\n"
    "what the console sends for them, the OOS template's API calls; the pipeline roles' provider\n"
    "calls) as the cloud authorises it: the action on every resource the authorization reference\n"
    "names for it, with the context keys it carries, every reading of the reference in turn.\n"
    "Prints each call with its verdict and the deciding statement. A principal with no catalogue\n"
    "entry fails the command: nothing proves it can work. A call the reference cannot settle (its\n"
    "row is a placeholder, or no page names the resource it is made on, such as the KMS secret OOS\n"
    "keeps a secret parameter in) is 'unknown' with the reason, never allowed or denied.",
    exit_codes=(
        ("0", "every task call of every principal asked is allowed"),
        ("1", "a task call is denied, or a principal has no catalogue entry"),
        ("2", "bad input: unknown principal, bad config"),
        PROGRAM_BUG,
        ("4", "nothing denied, but a call is unknown: unsettled row, or no page names its resource"),
    ),
    examples=(
        "tasks --stack prod",
        "tasks --stack prod --principal patchOperator --format json",
    ),
)


def _tasks_parser(commands: argparse._SubParsersAction) -> None:
    command = _command(commands, "tasks", TASKS)
    add_stack_arguments(command, "use this stack file instead of stacks/Pulumi.<stack>.yaml")
    command.add_argument(
        "--principal",
        help="only this RAM user, RAM role or IAM role (prefix alicloud: or aws: if both have it)",
    )
    command.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text: each call, its verdict and deciding statement (default); json: for tools",
    )
    command.set_defaults(run=_tasks)


DEPLOYER_POLICY = Page(
    summary="print the least-privilege policy a human needs to deploy the stack",
    description="The policy an administrator's own identity needs to run `pulumi up` on the stack by hand:\n"
    "the same actions the pipeline's deploy roles get, for the resource types the stack's plan\n"
    "registers, in its account and naming prefix. Printed as JSON, to create a RAM or IAM policy.",
    exit_codes=(("0", "printed"), BAD_INPUT, PROGRAM_BUG),
    examples=("deployer-policy --stack prod --cloud alicloud > prod-deployer-ram.json",),
)


def _deployer_policy_parser(commands: argparse._SubParsersAction) -> None:
    deployer = _command(commands, "deployer-policy", DEPLOYER_POLICY)
    add_stack_arguments(deployer, "use this stack file instead of stacks/Pulumi.<stack>.yaml")
    deployer.add_argument(
        "--cloud",
        required=True,
        choices=("alicloud", "aws"),
        help="alicloud: a RAM policy document; aws: an IAM policy document",
    )
    deployer.set_defaults(run=_deployer_policy)


POLICY = Page(
    summary="run the CrossGuard policy pack over the offline plan",
    description="Runs every rule of the policy pack (policy/) over the stack's offline plan, as\n"
    "`pulumi preview --policy-pack policy` does on a real run, and prints each violation with\n"
    "its level; advisories are printed but do not fail.",
    exit_codes=(("0", "no mandatory rule is violated"), ("1", "a mandatory rule is violated"), BAD_INPUT),
    examples=("policy --stack prod",),
)


def _policy_parser(commands: argparse._SubParsersAction) -> None:
    policy = _command(commands, "policy", POLICY)
    add_stack_arguments(policy, "use this stack file instead of stacks/Pulumi.<stack>.yaml")
    policy.set_defaults(run=_policy)


LINT = Page(
    summary="lint the RAM policies of a stack or plan against Alibaba Cloud's authorization reference",
    description="Checks every statement of every RAM custom policy, action by action, against the\n"
    "authorization reference (baseline/analysis/reference/): unknown-action, resource-type,\n"
    "required-resource, condition-key, list-scope and dependency findings, less the exclusions\n"
    "(baseline/analysis/lint_exclusions.yaml). AWS documents are parliament's (make test).",
    exit_codes=(("0", "no finding"), ("1", "a finding"), BAD_INPUT, PROGRAM_BUG),
    examples=("lint --stack prod", "lint --plan prod-plan.json --format json"),
)


def _lint_parser(commands: argparse._SubParsersAction) -> None:
    lint = _command(commands, "lint", LINT)
    add_stack_arguments(lint, "use this stack file instead of stacks/Pulumi.<stack>.yaml")
    lint._option_string_actions["--stack"].required = False
    lint.add_argument("--plan", metavar="FILE", help="a plan JSON, as `plan --format json` prints it")
    lint.add_argument("--format", choices=("text", "json"), default="text", help="text (default) or json")
    lint.set_defaults(run=_lint)


TEARDOWN = Page(
    summary="destroy a test stack (testStack: true) and remove it; never prod",
    description="Destroys every resource of a test stack and removes the stack from the backend (the\n"
    "stack file is kept). Needs the Pulumi CLI, the backend login, the secrets passphrase or key\n"
    "and cloud credentials, as `pulumi destroy` does. Asks for the stack name unless --yes.",
    exit_codes=(
        ("0", "destroyed and removed, or the backend has no such stack"),
        ("1", "the destroy failed; the stack is kept, run it again"),
        ("2", "refused or bad input: prod, not a test stack, no stack file, no terminal without --yes"),
        ("130", "cancelled: the typed name did not match, or interrupted"),
    ),
    examples=("teardown --stack test-pr-12",),
)


def _teardown_parser(commands: argparse._SubParsersAction) -> None:
    teardown = _command(commands, "teardown", TEARDOWN)
    add_stack_arguments(teardown, "the stack file, instead of stacks/Pulumi.<stack>.yaml")
    teardown.add_argument("--yes", action="store_true", help="do not ask for the stack name (automation)")
    teardown.set_defaults(run=_teardown)


SWEEP = Page(
    summary="list (or --delete) identities failed test runs left behind",
    description="Lists the users, roles and custom policies in a test account whose names start with\n"
    "--prefix, carry this program's managed-by marker and are older than --older-than; --delete\n"
    "removes them in dependency order. A prefix that reaches any name a stack file in stacks/\n"
    "creates is refused (only a per-PR stack's own prefix, pr<n>-, is a sweep's). --sandbox\n"
    "instead sweeps every identity named with the sandbox's prefix (the pipeline stack's test\n"
    "environment, pr), marker or not, by age only, sparing the open pull requests of --open-prs\n"
    "up to --open-pr-max-age, and first removes every role trusting another account; any other\n"
    "user or role of the sandbox account (not pr*, the pipeline's or the cloud's own) is an error.",
    exit_codes=(
        ("0", "listed (dry run), or every step deleted; also when nothing matched"),
        (
            "1",
            "an identity could not be listed or deleted (the others were: run it again), or the sandbox "
            "holds a user or role it should not",
        ),
        ("2", "refused or bad input: the prefix, --older-than, missing credentials"),
    ),
    examples=(
        "sweep --cloud alicloud --prefix pr12-",
        "sweep --cloud aws --prefix pr12- --delete",
        "sweep --cloud alicloud --sandbox --open-prs 12,15 --older-than 6h --delete",
    ),
)


def _sweep_parser(commands: argparse._SubParsersAction) -> None:
    sweep = _command(commands, "sweep", SWEEP)
    sweep.add_argument(
        "--cloud",
        required=True,
        choices=("aws", "alicloud"),
        help="the test account's cloud: aws (boto3's credential chain) or alicloud "
        "(ALICLOUD_ACCESS_KEY/ALICLOUD_SECRET_KEY, else the ALICLOUD_PROFILE profile)",
    )
    # Neither or both is refused by the sweep itself, as one line naming the key and the fix.
    sweep.add_argument("--prefix", help="name prefix of the test stack, e.g. pr12-")
    sweep.add_argument(
        "--sandbox",
        action="store_true",
        help="every identity named with the sandbox's prefix (stacks/Pulumi.pipeline.yaml), any marker",
    )
    sweep.add_argument(
        "--open-prs",
        metavar="N,M",
        help="with --sandbox: open pull requests whose live stacks (pr<n>-) are spared",
    )
    sweep.add_argument(
        "--open-pr-max-age",
        metavar="DURATION",
        help="with --sandbox: an open pull request's identities older than this are swept too "
        "(default 3d; its next push recreates them)",
    )
    sweep.add_argument(
        "--older-than",
        default="2h",
        metavar="DURATION",
        help="spare anything younger, e.g. 30m, 2h, 1d (default 2h)",
    )
    sweep.add_argument("--delete", action="store_true", help="delete what the dry run lists")
    sweep.set_defaults(run=_sweep)


DRIFT = Page(
    summary="what the clouds hold that a refresh cannot see: extra AccessKeys, logins, attachments",
    description="For every user and role the stack declares (its offline plan) or holds (its state), reads\n"
    "the cloud's AccessKeys, login profile, attached policies and trust policy and prints one line\n"
    "per finding: an AccessKey the state does not hold, a login profile or attachment neither the\n"
    "plan nor the state declares, a trust that differs from both. Only reads. The state comes\n"
    "from `pulumi stack export` (secrets are not decrypted) or --state; credentials as for sweep.",
    exit_codes=(
        ("0", "no finding"),
        ("1", "a finding: one line each on stdout, `<stack> <cloud> <principal>: <what> (<fix>)`"),
        (
            "2",
            "bad configuration, or a fault: no Pulumi CLI, no credentials, network, throttling, access "
            "denied (one line)",
        ),
        PROGRAM_BUG,
    ),
    examples=("drift --stack prod", "drift --stack prod --state prod-state.json"),
)


def _drift_parser(commands: argparse._SubParsersAction) -> None:
    drift = _command(commands, "drift", DRIFT)
    add_stack_arguments(drift, "the stack file, instead of stacks/Pulumi.<stack>.yaml")
    drift.add_argument(
        "--state",
        metavar="FILE",
        help="the stack's state as `pulumi stack export --file FILE` wrote it (default: export it now)",
    )
    drift.set_defaults(run=_drift)


DIFF = Page(
    summary="what a change to a stack file adds, removes and grants (two offline plans)",
    description="Compares two offline plans of one stack: resources added, removed and changed (policy\n"
    "documents statement by statement), and per principal the grants and credentials it gains\n"
    "or loses, escalation-relevant gains flagged. The base is the stack file at the merge base of\n"
    "HEAD and main unless --base or --base-config-file says otherwise; the output names it.",
    exit_codes=(
        ("0", "no change"),
        ("1", "a change"),
        ("2", "bad input: a stack file or revision"),
        PROGRAM_BUG,
    ),
    examples=(
        "diff --stack prod",
        "diff --stack prod --base HEAD~1 --format markdown",
        "diff --stack prod --base-config-file <(git show v1.2:stacks/Pulumi.prod.yaml)",
    ),
)


def _diff_parser(commands: argparse._SubParsersAction) -> None:
    diff = _command(commands, "diff", DIFF)
    add_stack_arguments(
        diff, "the new side's stack file (default: stacks/Pulumi.<stack>.yaml in the work tree)"
    )
    base = diff.add_mutually_exclusive_group()
    base.add_argument(
        "--base",
        metavar="REV",
        help="git revision of the base stack file (default: git merge-base HEAD main)",
    )
    base.add_argument(
        "--base-config-file",
        metavar="OLD",
        help="the base side's stack file: a path, or a pipe: <(git show REV:stacks/Pulumi.<stack>.yaml)",
    )
    diff.add_argument(
        "--format",
        choices=("text", "markdown", "json"),
        default="text",
        help="text for reading (default), markdown for a pull request comment, json for tools",
    )
    diff.set_defaults(run=_diff)


EPHEMERAL = Page(
    summary="write a pull request's test stack file, stacks/Pulumi.test-pr-<n>.yaml, from dev's",
    description="Writes the per-PR test stack's file: dev's scenarios with testStack: true, the naming\n"
    "prefix pr<n>-, no instance attachments and account singletons declared existing. Create\n"
    "it before `pulumi up`, `teardown` or `secrets` on test-pr-<n>; it is git-ignored.",
    exit_codes=(
        ("0", "written"),
        ("2", "bad input: not a pull request number, an unreadable dev stack file"),
    ),
    examples=("ephemeral --pr 12", "ephemeral --pr 12 --alicloud-account-id 5000000000000123"),
)


def _ephemeral_parser(commands: argparse._SubParsersAction) -> None:
    from baseline.ops import ephemeral

    command = _command(commands, "ephemeral", EPHEMERAL)
    ephemeral.add_arguments(command)
    command.set_defaults(run=ephemeral.run)


SECRETS = Page(
    summary="list the secrets a stack still needs, or --set one (prompts)",
    description="Lists every secret the stack's settings reference, what it is for, whether the stack\n"
    "file holds it, and the command that sets it. --set NAME asks for the value without echo and\n"
    "stores it encrypted in the stack file through the Pulumi CLI.",
    exit_codes=(
        ("0", "listing: every secret is set; --set: stored"),
        ("1", "listing: something is still to set; --set: the Pulumi CLI failed"),
        ("2", "bad input: unknown stack or secret name, a bad value, no Pulumi CLI"),
        ("130", "cancelled at the prompt"),
    ),
    examples=("secrets --stack dev", "secrets --stack dev --set axtSecretPassword"),
)


def _secrets_parser(commands: argparse._SubParsersAction) -> None:
    from baseline import stack_secrets

    stack_secrets.add_parser(commands)
    _dress(commands.choices["secrets"], SECRETS)


ADOPT = Page(
    summary="write the `pulumi import --file` document for identities created by hand",
    description="Writes the document `pulumi import --file` reads, so identities someone created by hand\n"
    "get the URNs the program registers. Ids only the cloud knows are named on stderr, or read\n"
    "with --lookup (which also leaves out what does not exist yet).",
    exit_codes=(
        ("0", "written"),
        ("1", "a lookup failed (one line says why; nothing written)"),
        BAD_INPUT,
    ),
    examples=(
        "adopt --stack prod --out adopt-prod.json",
        "adopt --stack prod --lookup --out adopt-prod.json",
    ),
)


def _adopt_parser(commands: argparse._SubParsersAction) -> None:
    from baseline import adopt

    adopt.add_parser(commands)
    _dress(commands.choices["adopt"], ADOPT)


# A new command: a Page, a handler and a builder, and its builder here.
BUILDERS = (
    _plan_parser,
    _lint_parser,
    _can_parser,
    _paths_parser,
    _tasks_parser,
    _deployer_policy_parser,
    _policy_parser,
    _diff_parser,
    _secrets_parser,
    _adopt_parser,
    _teardown_parser,
    _sweep_parser,
    _drift_parser,
    _ephemeral_parser,
)


class _Version(argparse.Action):
    """``--version``: the project's revision and the SDKs it runs on, looked up only when asked."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS, **kwargs) -> None:
        super().__init__(option_strings, dest=dest, default=argparse.SUPPRESS, nargs=0, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        print(version())
        parser.exit()


def version() -> str:
    import platform
    import shutil
    import subprocess
    from importlib import metadata

    from baseline import PROJECT
    from baseline.stackfile import ROOT

    revision = "(no git revision)"
    git = shutil.which("git")
    if git is not None:
        described = subprocess.run(
            [git, "describe", "--always", "--dirty", "--tags"], cwd=ROOT, capture_output=True, text=True
        )
        if described.returncode == 0 and described.stdout.strip():
            revision = described.stdout.strip()
    sdks = []
    for name in ("pulumi", "pulumi-alicloud", "pulumi-aws"):
        try:
            sdks.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            sdks.append(f"{name} not installed")
    return f"{PROJECT} {revision} ({', '.join(sdks)}; Python {platform.python_version()})"


ROOT_DESCRIPTION = """\
Identities for the ECS operations guides, as a Pulumi program. Most commands run offline
from a stack file (stacks/Pulumi.<stack>.yaml): no Pulumi CLI and no cloud account needed.
Start with `plan --stack dev`; each command's --help says what it does, its exit codes and
an example."""

ROOT_EPILOG = f"""\
exit codes (every command; each --help lists its own):
  0  done (plan rendered, request allowed, no change, ...)
  1  the answer is no or a cloud operation failed (can: denied; diff: a change; policy: violated)
  2  bad configuration or usage: one line on stderr per error (all of them), naming the key and the fix
  3  the strict mocks refused a registration: a program bug, please report it

example:
  {PROG} plan --stack dev"""


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog=PROG,
        description=ROOT_DESCRIPTION,
        epilog=ROOT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    root.add_argument("--version", action=_Version, help="print the project's revision and SDK versions")
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND", title="commands")
    for build in BUILDERS:
        build(commands)
    return root


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except ModuleNotFoundError as error:
        # `python -m baseline` with an interpreter that lacks the dependencies (the system one).
        if (line := missing_dependency(error, sys.argv[1:] if argv is None else argv)) is None:
            raise
        print(line, file=sys.stderr)
        return EXIT_CONFIG


def _main(argv: list[str] | None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except ConfigError as error:
        # Every configuration error of the stack, one line each, so one run shows all there is to fix.
        for line in error_lines(error):
            print(f"error: {line}", file=sys.stderr)
        return EXIT_CONFIG
    except PlanError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_PLAN
    except Fault as error:
        print(f"error: {error}", file=sys.stderr)
        return error.code
