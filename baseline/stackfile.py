"""Where a stack's file lives: shared by the CLI and the operations package (``baseline/ops``)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STACKS_DIR = ROOT / "stacks"


def stack_file(stack: str, config_file: str | None) -> Path:
    """``--config-file`` when given, else ``stacks/Pulumi.<stack>.yaml``."""
    return Path(config_file) if config_file else STACKS_DIR / f"Pulumi.{stack}.yaml"
