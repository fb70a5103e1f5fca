"""Fleets, ids against tags: plan time and the largest policy as the fleet grows (a script, never a test).

Usage: .venv/bin/python benchmarks/fleet_benchmark.py [--repeat N] [--json PATH]

For each fleet size in FLEETS, prod (``tests/fixtures/stacks/Pulumi.prod.yaml``) with the fleet
listed in ``cloudAssistantLinux.instanceIds``, against prod with ``instanceTags`` instead
(``Pulumi.prod-tags.yaml``: the same file whatever the fleet, since the instances are selected by
their tag). Each tag-scoped plan is a median of N fresh processes;
each listed fleet is planned once, and one RAM would refuse (a policy over 6,144 characters)
exits 2 without a plan: its largest policy is computed from the documents instead. Then
``diff`` (ids -> tags), ``paths`` and ``tasks`` on the tag-scoped stack, each a fresh process.

Targets (exit 1 when one is missed): the tag-scoped plan at the largest fleet <= 1.2x today's prod
plan (measured in alternation, run by run); every policy of it <= half of RAM's 6,144 characters;
``diff`` <= 3 s (its budget, benchmarks/symbolic_benchmark.py), ``paths`` <= 5 s (the graph
budget, benchmarks/graph_benchmark.py), ``tasks`` <= 3 s (no budget of its own: held to diff's).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from baseline import limits  # noqa: E402
from baseline.documents.alicloud import (  # noqa: E402
    arn,
    command_user_policy,
    command_user_read_policy,
)
from baseline.documents.render import canonical_json  # noqa: E402
from benchmarks.plan_benchmark import plan_command  # noqa: E402

PYTHON = sys.executable
FIXTURES = ROOT / "tests" / "fixtures" / "stacks"
FLEETS = (10, 20, 80, 120, 1_000, 10_000)
ACCOUNT, REGION = "5098765432109876", "cn-hangzhou"
TARGET_RATIO = 1.2
TARGET_POLICY = limits.RAM_POLICY_DOCUMENT_MAX // 2
TARGET_DIFF, TARGET_PATHS, TARGET_TASKS = 3.0, 5.0, 3.0


def fleet_ids(size: int) -> list[str]:
    return [f"i-bp1fleet{n:011d}" for n in range(size)]


def listed_stack(size: int) -> str:
    """Today's prod with ``cloudAssistantLinux.instanceIds`` listing the fleet (patching keeps prod's)."""
    text = (FIXTURES / "Pulumi.prod.yaml").read_text()
    today = "    instanceIds:\n      - i-bp1prodweb0000000001\n      - i-bp1prodweb0000000002\n    user:\n"
    assert text.count(today) == 1
    listed = "    instanceIds:\n" + "".join(f"      - {i}\n" for i in fleet_ids(size)) + "    user:\n"
    return text.replace(today, listed)


def computed_largest(size: int) -> int:
    """The larger of the two documents a listed fleet grows (what RAM would be asked to take)."""
    instances = [arn("ecs", REGION, ACCOUNT, f"instance/{i}") for i in fleet_ids(size)]
    resources = (*instances, arn("ecs", REGION, ACCOUNT, "command/*"))
    command = command_user_policy(mode="allow-list", resources=resources, run_as_users=["user01", "user02"])
    read = command_user_read_policy(resources, [arn("ecs", REGION, ACCOUNT, "instance/*")])
    return max(len(canonical_json(command)), len(canonical_json(read)))


def timed(command: list[str]) -> tuple[float, int, str]:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    return time.perf_counter() - start, done.returncode, done.stdout


def largest_policy(plan_json: str) -> int:
    documents = [r["inputs"].get("policyDocument") for r in json.loads(plan_json)["resources"]]
    return max(len(d) for d in documents if isinstance(d, str))


RESULTS = ROOT / "benchmarks" / "fleet_results.json"


def readme_table(results: dict) -> str:
    """The README's performance figures, from the benchmark's JSON (tests/test_readme.py holds the
    README to this text, so its figures are the last run's)."""
    rows = [
        "| instances | by id: plan | by id: largest policy | by tag: plan | by tag: largest policy |",
        "| --- | --- | --- | --- | --- |",
    ]
    for size, row in results["fleets"].items():
        ids = f"{row['ids_seconds']:.2f} s" + (", refused" if row["ids_refused"] else "")
        rows.append(
            f"| {int(size):,} | {ids} | {row['ids_largest_policy']:,} | {row['tags_seconds']:.2f} s "
            f"| {row['tags_largest_policy']:,} |"
        )
    rows.append("")
    rows.append(
        f"Prod today plans in {results['prod_seconds']:.2f} s; by tag, a fleet of "
        f"{int(max(results['fleets'], key=int)):,} instances plans in {results['tags_ratio_to_prod']:.2f}x "
        f"that, and on it `diff` takes {results['diff_seconds']:.2f} s, `paths` "
        f"{results['paths_seconds']:.2f} s and `tasks` {results['tasks_seconds']:.2f} s."
    )
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per measurement (median)")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    subprocess.run([PYTHON, "-m", "compileall", "-q", "baseline", "components"], cwd=ROOT, check=True)
    tags_file = FIXTURES / "Pulumi.prod-tags.yaml"
    results: dict[str, object] = {"fleets": {}}
    commands = {"prod": plan_command("prod", FIXTURES / "Pulumi.prod.yaml")}
    commands |= {f"tags {size}": plan_command("prod-tags", tags_file) for size in FLEETS}
    runs: dict[str, list[tuple[float, int, str]]] = {name: [] for name in commands}
    for _ in range(args.repeat):  # in alternation: a passing load weighs on every figure alike
        for name, command in commands.items():
            runs[name].append(timed(command))
    seconds = {name: statistics.median(t for t, _, _ in r) for name, r in runs.items()}
    # A listed fleet is planned once: beyond RAM's limit the plan is refused, after validating
    # every id (10,000 take minutes), so repeating it would measure nothing new.
    with tempfile.TemporaryDirectory() as tmp:
        for size in FLEETS:
            path = Path(tmp) / f"Pulumi.ids{size}.yaml"
            path.write_text(listed_stack(size))
            runs[f"ids {size}"] = [timed(plan_command(f"ids{size}", path))]
            seconds[f"ids {size}"] = runs[f"ids {size}"][0][0]
    prod = seconds["prod"]
    print(f"prod today (3 listed instances)  plan {prod:6.3f} s")
    print(f"{'fleet':>7}  {'ids: plan':>16}  {'largest':>9}  {'tags: plan':>10}  {'largest':>7}")
    for size in FLEETS:
        _, code, out = runs[f"ids {size}"][0]
        ids_largest = largest_policy(out) if code == 0 else computed_largest(size)
        ids_plan = f"{seconds[f'ids {size}']:.3f} s" + ("" if code == 0 else " refused")
        tags_largest = largest_policy(runs[f"tags {size}"][0][2])
        results["fleets"][size] = {
            "ids_seconds": round(seconds[f"ids {size}"], 3),
            "ids_refused": code != 0,
            "ids_largest_policy": ids_largest,
            "tags_seconds": round(seconds[f"tags {size}"], 3),
            "tags_largest_policy": tags_largest,
        }
        tags_plan = f"{seconds[f'tags {size}']:.3f} s"
        print(f"{size:>7,}  {ids_plan:>16}  {ids_largest:>9,}  {tags_plan:>10}  {tags_largest:>7,}")
    tags_file_arg = ["--config-file", str(tags_file)]
    analyses = {
        "diff": [PYTHON, "-m", "baseline", "diff", "--stack", "prod-tags", *tags_file_arg,
                 "--base-config-file", str(FIXTURES / "Pulumi.prod.yaml"), "--as-stack"],
        "paths": [PYTHON, "-m", "baseline", "paths", "--stack", "prod-tags", *tags_file_arg],
        "tasks": [PYTHON, "-m", "baseline", "tasks", "--stack", "prod-tags", *tags_file_arg],
    }  # fmt: skip
    for name, command in analyses.items():
        measured = [timed(command) for _ in range(max(1, args.repeat // 2))]
        results[f"{name}_seconds"] = round(statistics.median(t for t, _, _ in measured), 3)
        print(f"{name:<6} prod-tags  {results[f'{name}_seconds']:6.3f} s  (exit {measured[0][1]})")
    largest = FLEETS[-1]
    ratio = seconds[f"tags {largest}"] / prod
    results["prod_seconds"] = round(prod, 3)
    results["tags_ratio_to_prod"] = round(ratio, 2)
    checks = {
        f"tag-scoped plan <= {TARGET_RATIO}x prod": ratio <= TARGET_RATIO,
        f"every policy <= {TARGET_POLICY} characters": results["fleets"][largest]["tags_largest_policy"]
        <= TARGET_POLICY,
        f"diff <= {TARGET_DIFF} s": results["diff_seconds"] <= TARGET_DIFF,
        f"paths <= {TARGET_PATHS} s": results["paths_seconds"] <= TARGET_PATHS,
        f"tasks <= {TARGET_TASKS} s": results["tasks_seconds"] <= TARGET_TASKS,
    }
    print(f"tag-scoped plan at {largest:,} instances: {ratio:.2f}x prod")
    for name, ok in checks.items():
        print(f"{'PASS' if ok else 'MISS'}  {name}")
    results["targets"] = checks
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
