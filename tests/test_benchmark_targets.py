"""The plan benchmark judges the prod plan against the resource floor, not the bare import floor.

No timing runs here (timings never run in the unit suite): the benchmark's own judgement is fed
figures like those measured on a quiet 2-core machine, where the resource classes alone cost more
than 1.5x the import floor.
"""

from __future__ import annotations

import importlib.util

from conftest import ROOT


def benchmark():
    spec = importlib.util.spec_from_file_location("plan_benchmark", ROOT / "benchmarks" / "plan_benchmark.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SYNTHETIC = {100: {"seconds": 1.0}, 1000: {"seconds": 4.0}}


def stacks(prod_to_import_floor: float, prod_to_resource_floor: float) -> dict[str, dict]:
    figures = {"ratio": prod_to_import_floor, "ratio_to_resource_floor": prod_to_resource_floor}
    return {"dev": dict(figures), "staging": dict(figures), "prod": figures}


def test_a_prod_plan_within_1_2x_of_the_resource_floor_passes_however_far_from_the_import_floor():
    checks = benchmark().targets(stacks(1.8, 1.12), SYNTHETIC, 4.0)
    assert checks == {
        "prod plan <= 1.2x resource floor": True,
        "1000 attachments < 10.0 s": True,
        "growth ratio <= 12.0": True,
    }


def test_a_prod_plan_beyond_1_2x_of_the_resource_floor_is_missed():
    checks = benchmark().targets(stacks(1.3, 1.25), SYNTHETIC, 4.0)
    assert checks["prod plan <= 1.2x resource floor"] is False
