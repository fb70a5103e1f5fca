"""Throw-away stacks for pull requests: ``python -m baseline ephemeral --pr 12``.

Writes ``stacks/Pulumi.test-pr-12.yaml`` from the dev stack: the same scenarios, but none of dev's
secrets: dev's ``encryptionsalt``/``encryptedkey``/``secretsprovider`` and its ``secrets`` values
are left out, because a PR stack runs the PR's unreviewed code in the sandbox, with the sandbox's
own passphrase, and must never hold a key to dev's ciphertext (docs/operations.md, section 3). What
``python -m baseline secrets`` lists is set on the test stack from the `test` environment's own
secrets (generated console passwords need none), ``testStack: true`` so ``baseline teardown`` may
destroy it, the naming prefix ``pr12-`` so its names never collide with another PR's in the sandbox
account, and ``protectIdentities: false``. Two things cannot be copied: instance attachments (an ECS
instance takes one RAM role, and dev's instances already have dev's) are emptied, and account
singletons (the ECI service-linked role) are declared existing, so tearing a PR stack down never
deletes what dev relies on. The account ids are the sandbox's (the `test` environment's variables;
the pipeline stack refuses a sandbox that shares an account). The file is generated in CI and
git-ignored; never commit one.

Exit codes: 0 written; 2 bad input (one line on stderr).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

from baseline import PROJECT, stackfile
from baseline.errors import ConfigError, error_lines
from baseline.stackfile import ROOT

SOURCE_STACK = "dev"
ENVIRONMENT = "test"
# scenario key -> settings listing ECS instances that get a RAM role attached.
INSTANCE_LISTS = {"ecsInstanceRole": "instances", "cloudAssistantWindows": "windowsInstances"}
# scenario key -> (setting, value) for resources of which an account holds only one.
ACCOUNT_SINGLETONS = {"eciAccess": ("serviceLinkedRole", "existing")}
# The permissions boundary of the PR stacks' IAM roles: created in the sandbox account by the
# pipeline stack (never by a deploy role, so a pull request cannot write the boundary it is held
# to); every PR stack's S6 roles carry it instead of a boundary of their own.
SANDBOX_BOUNDARY = "sandbox-workload-boundary"
S6 = "ecsMcpServer"
# What makes a stack file's ciphertext readable: never copied into the sandbox.
DEV_SECRETS_KEYS = ("encryptionsalt", "encryptedkey", "secretsprovider")


def sandbox_boundary_arn(account: str) -> str:
    return f"arn:aws:iam::{account}:policy/{SANDBOX_BOUNDARY}"


# Every per-PR stack is ``test-pr-<n>`` and every name it creates starts ``pr<n>-``: the one
# prefix ``baseline sweep`` may clear (it refuses any prefix that reaches another stack's names).
STACK_PREFIX = "test-pr-"
NAME_PREFIX = "pr"


def stack_name(pr: int) -> str:
    return f"{STACK_PREFIX}{pr}"


def naming_prefix(pr: int) -> str:
    return f"{NAME_PREFIX}{pr}-"


def is_stack(stack: str) -> bool:
    """Whether ``stack`` is a per-PR test stack (``test-pr-<n>``)."""
    number = stack.removeprefix(STACK_PREFIX)
    return stack != number and number.isdigit()


def sweeps_own_stack(prefix: str, stack: str) -> bool:
    """Whether ``stack`` is a per-PR test stack and ``prefix`` lies within its own names."""
    number = stack.removeprefix(STACK_PREFIX)
    if stack == number or not number.isdigit():
        return False
    return prefix.startswith(naming_prefix(int(number)))


def document(
    pr: int,
    source: Path | None = None,
    alicloud_account_id: str | None = None,
    aws_account_id: str | None = None,
) -> dict[str, Any]:
    """The test stack's file contents, derived from the dev stack file."""
    if pr < 1:
        raise ConfigError(key="--pr", value=pr, problem="not a pull request number", fix="pass e.g. --pr 12")
    source = source or stackfile.STACKS_DIR / f"Pulumi.{SOURCE_STACK}.yaml"
    base = yaml.safe_load(source.read_text()) or {}
    config = dict(base.get("config") or {})

    def key(name: str) -> str:
        return f"{PROJECT}:{name}"

    config[key("environment")] = ENVIRONMENT
    # dev's ciphertext stays dev's: the sandbox sets its own values under its own passphrase.
    config.pop(key("secrets"), None)
    config[key("naming")] = {"prefix": naming_prefix(pr)}
    config[key("testStack")] = True
    config[key("protectIdentities")] = False
    for scenario, setting in INSTANCE_LISTS.items():
        if isinstance(config.get(key(scenario)), dict):
            config[key(scenario)] = {**config[key(scenario)], setting: []}
    for scenario, (setting, value) in ACCOUNT_SINGLETONS.items():
        if isinstance(config.get(key(scenario)), dict):
            config[key(scenario)] = {**config[key(scenario)], setting: value}
    for cloud, account in (("alicloud", alicloud_account_id), ("aws", aws_account_id)):
        if account and config.get(key(cloud)):
            config[key(cloud)] = {**config[key(cloud)], "accountId": account}
    s6, aws = config.get(key(S6)), config.get(key("aws"))
    if isinstance(s6, dict) and isinstance(aws, dict) and aws.get("accountId"):
        boundary = {**(s6.get("boundary") or {}), "arn": sandbox_boundary_arn(str(aws["accountId"]))}
        config[key(S6)] = {**s6, "boundary": boundary}
    result = {k: v for k, v in base.items() if k not in ("config", *DEV_SECRETS_KEYS)}
    result["config"] = config
    return result


def write(pr: int, stacks_dir: Path | None = None, **overrides: Any) -> Path:
    path = (stacks_dir or stackfile.STACKS_DIR) / f"Pulumi.{stack_name(pr)}.yaml"
    header = (
        f"# Generated by `python -m baseline ephemeral --pr {pr}` from Pulumi.{SOURCE_STACK}.yaml "
        "for one pull request.\n# Destroyed with `python -m baseline teardown`; never commit it.\n"
    )
    path.write_text(header + yaml.safe_dump(document(pr, **overrides), sort_keys=False))
    return path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``python -m baseline ephemeral`` (and of ``python -m baseline.ephemeral``)."""
    parser.add_argument("--pr", type=int, required=True, help="pull request number, e.g. 12")
    # Empty strings (an unset repository variable) mean "keep dev's account".
    parser.add_argument(
        "--alicloud-account-id", default="", help="test account for Alibaba Cloud (default: dev's account)"
    )
    parser.add_argument("--aws-account-id", default="", help="test account for AWS (default: dev's account)")


def run(args: argparse.Namespace) -> int:
    path = write(
        args.pr,
        alicloud_account_id=args.alicloud_account_id or None,
        aws_account_id=args.aws_account_id or None,
    )
    print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m baseline.ephemeral``, kept for older callers: ``python -m baseline ephemeral``."""
    parser = argparse.ArgumentParser(prog="python -m baseline.ephemeral", description=__doc__.splitlines()[0])
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except ConfigError as error:
        for line in error_lines(error):
            print(f"error: {line}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
