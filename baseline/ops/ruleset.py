"""Is main still protected as the bootstrap set it? (docs/operations.md, section 8, step 7)

Every pipeline role trusts workflows read from main, so main's ruleset is part of each trust, and
a ruleset switched off, set to *evaluate* or loosened in the repository's settings changes no file
here. ``drift.yml`` therefore reads, daily, the rules GitHub applies to main (REST *Get rules for a
branch*: every active ruleset's rules, flattened; rules of rulesets in ``evaluate`` or ``disabled``
are not returned) and pipes them into::

    python -m baseline.ops.ruleset docs/bootstrap/ruleset-main.json

which prints one line per rule the file sets that GitHub no longer applies at least as strictly,
and exits 1 when there is any (0 when none, 2 when the input cannot be read). Stricter settings,
and rules from other rulesets, are fine. What it cannot see: bypass actors (the endpoint does not
list them; ``gh api repos/OWNER/REPO/rulesets/<id>`` does, with an administrator's token).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def _of_type(applied: list[dict], kind: str) -> list[dict]:
    return [rule.get("parameters") or {} for rule in applied if rule.get("type") == kind]


def _checks(parameters: dict) -> set[tuple[str, int | None]]:
    return {(c["context"], c.get("integration_id")) for c in parameters.get("required_status_checks") or []}


def shortfalls(wanted: dict, applied: list[dict]) -> list[str]:
    """What ``wanted`` (a ruleset body) sets that ``applied`` (GitHub's rules for the branch) lacks."""
    found = []
    for rule in wanted["rules"]:
        kind, parameters = rule["type"], rule.get("parameters") or {}
        present = _of_type(applied, kind)
        if not present:
            found.append(f"{kind}: not applied to main")
            continue
        for key, value in parameters.items():
            if kind == "required_status_checks" and key == "required_status_checks":
                have = set().union(*(_checks(p) for p in present))
                for context, app in sorted(_checks(parameters) - have, key=str):
                    found.append(f"{kind}: {context!r} (app {app}) is not required")
            elif isinstance(value, bool):
                # A setting the file turns on must be on in some applied rule; one it leaves off is
                # the file's choice, not a floor.
                if value and not any(p.get(key) is True for p in present):
                    found.append(f"{kind}: {key} is off (the bootstrap sets it on)")
            elif isinstance(value, int):
                best = max((p.get(key) or 0 for p in present), default=0)
                if best < value:
                    found.append(f"{kind}: {key} is {best} (the bootstrap sets {value})")
    return found


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: <rules JSON on stdin> | python -m baseline.ops.ruleset <ruleset file>", file=sys.stderr)
        return 2
    try:
        wanted = json.loads(Path(args[0]).read_text())
        applied = json.loads(sys.stdin.read())
    except (OSError, ValueError) as error:
        print(f"ruleset: cannot read the input ({error}); expected the file and `gh api` JSON on stdin")
        return 2
    if not isinstance(applied, list) or not all(isinstance(r, dict) for r in applied):
        print("ruleset: stdin is not GitHub's list of rules (gh api repos/OWNER/REPO/rules/branches/main)")
        return 2
    found = shortfalls(wanted, applied)
    for line in found:
        print(f"main's ruleset: {line} (docs/operations.md, section 8, step 7)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
