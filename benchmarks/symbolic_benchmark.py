"""Solver performance against its targets (a script, never a test).

Usage: .venv/bin/python benchmarks/symbolic_benchmark.py [--repeat N] [--json PATH]

Measures, each a median of N fresh processes (imports counted the way a user pays them):
- ``python -m baseline diff --stack prod`` with an example change (one more Windows
  instance), the whole command: both plans, the grants, and the solver's new and lost access for
  every principal whose documents changed; target <= 3 s;
- every stack's escalation proofs together (``tests/test_escalation_proofs.py``'s question for
  every principal of dev, staging, prod, pipeline and example, rendering included); target
  <= 10 s;
- the worst case ``diff`` can meet: every principal of every stack new (all access listed, up
  to the class limit), for reference.

The script first compiles the project's bytecode, as ``make test`` does, and exits 1 when a
target is missed.
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

import yaml

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
TARGET_DIFF_SECONDS = 3.0
TARGET_PROOFS_SECONDS = 10.0

PROOFS = """
import sys
sys.path.insert(0, ".")
from baseline.analysis import access, symbolic
from baseline.analysis.diff import ESCALATION_ACTIONS
from baseline.config import load_stack_file, resolve
from baseline.documents.alicloud import COMMAND_ACTIONS
from baseline.plan import render
from pathlib import Path
services = {"alicloud": ("ram", "ecs"), "aws": ("iam", "ecs")}
outside = 0
for stack in ("dev", "staging", "prod", "pipeline", "example"):
    plan = render(resolve(load_stack_file(Path(f"stacks/Pulumi.{stack}.yaml"))), stack)
    for principal in access.principals(plan):
        own = services[principal.cloud]
        actions = [a for a in (*ESCALATION_ACTIONS, *COMMAND_ACTIONS) if a.split(":")[0] in own]
        result = symbolic.escalation_reach(
            access.grants_of(plan, principal), actions, symbolic.intended_reach(principal)
        )
        outside += len(result.outside.classes) + len(result.unused)
sys.exit(1 if outside else 0)
"""

EVERYTHING_NEW = """
import sys
sys.path.insert(0, ".")
from baseline.analysis import diff
from baseline.config import load_stack_file, resolve
from baseline.plan import render
from pathlib import Path
for stack in ("dev", "staging", "prod", "pipeline"):
    plan = render(resolve(load_stack_file(Path(f"stacks/Pulumi.{stack}.yaml"))), stack)
    diff.compare({"resources": [], "outputs": {}}, plan, stack=stack, sources={})
"""


def timed(command: list[str], ok: tuple[int, ...] = (0,)) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode not in ok:
        raise SystemExit(
            f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr}{done.stdout[-2000:]}"
        )
    return elapsed


def median_of(command: list[str], repeat: int, ok: tuple[int, ...] = (0,)) -> float:
    return statistics.median(timed(command, ok) for _ in range(repeat))


def prod_plus_one_windows_instance(directory: Path) -> Path:
    document = yaml.safe_load((ROOT / "stacks" / "Pulumi.prod.yaml").read_text())
    document["config"]["ecs-access-baseline:cloudAssistantWindows"]["windowsInstances"].append(
        {"id": "i-bp1prodwin000000003"}
    )
    path = directory / "prod-plus-windows.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    subprocess.run(
        [PYTHON, "-m", "compileall", "-q", "baseline", "components", "policy"], cwd=ROOT, check=True
    )
    with tempfile.TemporaryDirectory() as tmp:
        new = prod_plus_one_windows_instance(Path(tmp))
        diff_command = [PYTHON, "-m", "baseline", "diff", "--stack", "prod", "--base-config-file",
                        "stacks/Pulumi.prod.yaml", "--config-file", str(new)]  # fmt: skip
        figures = {
            "diff_prod_seconds": median_of(diff_command, args.repeat, ok=(1,)),
            "escalation_proofs_seconds": median_of([PYTHON, "-c", PROOFS], args.repeat),
            "everything_new_seconds": median_of([PYTHON, "-c", EVERYTHING_NEW], 1),
        }
    for name, value in figures.items():
        print(f"{name:28} {value:6.2f}")
    missed = []
    if figures["diff_prod_seconds"] > TARGET_DIFF_SECONDS:
        missed.append(f"diff --stack prod {figures['diff_prod_seconds']:.2f} s > {TARGET_DIFF_SECONDS} s")
    if figures["escalation_proofs_seconds"] > TARGET_PROOFS_SECONDS:
        missed.append(
            f"escalation proofs {figures['escalation_proofs_seconds']:.2f} s > {TARGET_PROOFS_SECONDS} s"
        )
    if args.json:
        args.json.write_text(json.dumps({**figures, "missed": missed}, indent=2) + "\n")
    for line in missed:
        print(f"MISSED: {line}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
