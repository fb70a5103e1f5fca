"""The operations package never imports the CLI, and the project's modules import no cycle.

Read from the source (every ``import``, including the lazy ones inside functions, which is where
the old cli -> sweep -> cli circle hid), not from ``sys.modules`` after an import.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("baseline", "components", "policy")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """Project modules ``path`` imports; ``from pkg import mod`` counts as importing ``pkg.mod``."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        else:
            continue
        found.update(t for t in targets if t in modules and t != name)
    return found


def graph() -> dict[str, set[str]]:
    files = [p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))]
    modules = {module_name(p) for p in files}
    return {module_name(p): imports_of(p, modules) for p in files}


def reachable(edges: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for target in edges.get(todo.pop(), ()):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """One path per module that can reach itself (depth-first, each cycle shown once per entry)."""
    found = []
    for start in sorted(edges):
        stack = [(start, [start])]
        seen: set[str] = set()
        while stack:
            node, path = stack.pop()
            for target in sorted(edges.get(node, ())):
                if target == start:
                    found.append([*path, start])
                elif target not in seen:
                    seen.add(target)
                    stack.append((target, [*path, target]))
    return found


def test_the_graph_sees_lazy_imports_inside_functions():
    edges = graph()
    # cli imports the operations modules only inside its subcommand functions.
    assert {"baseline.ops.sweep", "baseline.ops.teardown"} <= edges["baseline.cli"]


def test_no_operations_module_reaches_the_cli_module():
    edges = graph()
    ops = [m for m in edges if m == "baseline.ops" or m.startswith("baseline.ops.")]
    assert len(ops) >= 4
    for module in ops:
        assert "baseline.cli" not in reachable(edges, module), module


def test_the_project_imports_no_cycle():
    assert cycles(graph()) == []


def test_the_analysis_layer_is_imported_only_from_above():
    """Settings, spec, documents, scenarios, components and the program never reach the analysis
    package; it reads plans and documents, and only policy/, ops/ and the CLI may ask it."""
    edges = graph()
    analysis = {m for m in edges if m.startswith("baseline.analysis")}
    assert {"baseline.analysis.evaluator", "baseline.analysis.access", "baseline.analysis.diff"} <= analysis
    below = [
        m
        for m in edges
        if m.split(".")[0] == "components"
        or m
        in {"baseline.settings", "baseline.spec", "baseline.program", "baseline.config", "baseline.limits"}
        or m.startswith(("baseline.documents", "baseline.scenarios"))
    ]
    assert below
    for module in below:
        assert not (reachable(edges, module) & analysis), module
