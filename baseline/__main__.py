import sys

from baseline.cli import main

code = main()
if "baseline.plan" in sys.modules:
    # Close the SDK's event loops before interpreter teardown (see close_event_loops).
    sys.modules["baseline.plan"].close_event_loops()
sys.exit(code)
