"""Escalation-graph performance: every shipped stack's graph, built in one process from its plan.

Usage: .venv/bin/python benchmarks/graph_benchmark.py [--repeat N]

Renders each checked-in stack once (``plan``'s in-process path; reported apart), then times, as
the median of N rounds, building every stack's graph plus the graph of the stacks sharing an
account (dev, staging, prod and pipeline) and asking every path of each. Target: all of it < 5 s
together (the script exits 1 when missed). This is a script, not a test: timing targets never run
in the unit suite.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from baseline.analysis import graph  # noqa: E402

STACKS = ("dev", "staging", "prod", "pipeline", "example")
TARGET_SECONDS = 5.0


def main() -> int:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--repeat", type=int, default=5)
    args = options.parse_args()
    started = time.perf_counter()
    sources = {stack: graph.source_of(stack) for stack in STACKS}
    rendered = time.perf_counter() - started
    rounds = []
    counts: dict[str, tuple[int, int, int]] = {}
    for _ in range(args.repeat):
        begin = time.perf_counter()
        for stack in STACKS:
            built = graph.build([sources[stack]])
            counts[stack] = (len(built.nodes), len(built.edges), len(graph.paths(built)))
        for group in graph.shared_groups(list(sources.values())):  # stacks sharing an account
            built = graph.build(list(group))
            counts["+".join(s.stack for s in group)] = (
                len(built.nodes),
                len(built.edges),
                len(graph.paths(built)),
            )
        rounds.append(time.perf_counter() - begin)
    print(f"rendered {len(STACKS)} plans in process   {rendered:6.2f} s (not counted)")
    for name, (nodes, edges, paths) in counts.items():
        print(f"{name:<18} {nodes:4d} nodes {edges:4d} edges {paths:4d} paths")
    median = statistics.median(rounds)
    spread = f"min {min(rounds):.3f}, max {max(rounds):.3f}"
    print(f"all graphs, median of {args.repeat}   {median:6.3f} s ({spread})")
    ok = median < TARGET_SECONDS
    print(f"{'PASS' if ok else 'MISS'}  all graphs < {TARGET_SECONDS} s")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
