"""The policy pack, as the Pulumi engine runs it: ``pulumi preview --policy-pack policy``.

Only this module builds ``PolicyPack``: its constructor starts the analyzer server and never
returns, so tests and ``python -m baseline policy`` import ``policy.rules`` instead.
"""

import sys
from pathlib import Path

# The engine runs this file from the pack directory; the rules import `policy.rules` and the
# pure `baseline.analysis.evaluator`, which live one level up.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi_policy import PolicyPack

from policy.rules import POLICIES

PolicyPack(name="ecs-access-baseline", policies=POLICIES)
