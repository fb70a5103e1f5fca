import gc
import sys

from baseline.cli import main

# One command is one short process, and nearly everything it allocates is the SDKs' modules and
# classes, alive until exit. With the default thresholds the cyclic collector re-walks them
# again and again while they load (~0.1 s of a plan); a larger first generation keeps cycles
# collected (memory stays flat, see benchmarks/plan_benchmark.py) with far fewer passes.
gc.set_threshold(10_000, 50, 100)
code = main()
if "baseline.plan" in sys.modules:
    # Close the SDK's event loops before interpreter teardown (see close_event_loops).
    sys.modules["baseline.plan"].close_event_loops()
# Interpreter teardown runs full collections over every object left (~0.15 s after a plan);
# nothing left needs them: output is flushed at exit regardless, and the loops are closed.
gc.freeze()
sys.exit(code)
