"""The one place a policy document becomes text."""

from __future__ import annotations

import json
from typing import Any


def canonical_json(document: dict[str, Any]) -> str:
    """Compact JSON with sorted keys.

    The provider compares documents as JSON, but a stable rendering also keeps plans, snapshots
    and the RAM policy-version history free of changes that are only formatting.
    """
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
