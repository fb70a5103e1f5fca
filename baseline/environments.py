"""The environments a stack can be, and which of them are production: one source of truth.

Configuration (``baseline.config``) accepts only these names, the program tags every resource
with the stack's name, and the policy pack (``policy/rules/common.py``) reads the tag back through
``is_production``. So prod-ness cannot be escaped by naming: a stack cannot call itself
``production`` to skip the config's prod rules while the pack enforces them, or the reverse.
"""

from __future__ import annotations

from typing import Literal, get_args

# dev: the development account, broad "*" allowed; test: throw-away per-pull-request stacks
# derived from dev (``baseline ephemeral``); staging: production-like; prod: production.
Environment = Literal["dev", "test", "staging", "prod"]
ENVIRONMENTS: tuple[str, ...] = get_args(Environment)
PRODUCTION = "prod"
# Where no person may run a command as a privileged OS user or without naming one (issue #10):
# allow-list mode only, deny-list mode refused.
STRICT: frozenset[str] = frozenset({"staging", PRODUCTION})
NON_PRODUCTION: frozenset[str] = frozenset(ENVIRONMENTS) - {PRODUCTION}


def is_production(environment: str | None) -> bool:
    """Whether an environment name is production.

    ``prod`` is; so is any name outside the enumeration (``production``, ``Prod``): configuration
    never produces one, so a resource tagged with it was made or edited by hand, and the pack
    fails closed. No name (an untagged resource) is not production.
    """
    return environment is not None and environment not in NON_PRODUCTION


def is_strict(environment: str) -> bool:
    """Staging and prod: people run commands only as allow-listed, unprivileged OS users."""
    return environment in STRICT or is_production(environment)
