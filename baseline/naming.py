"""One naming function for every account-global name.

RAM and IAM names are global to an account, so two stacks that share an account must produce
disjoint names. A stack sets a prefix and/or suffix; prod may keep the guides' exact names by
leaving both empty (and is then expected to own its account, see docs/configuration.md, "Naming").
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Naming:
    prefix: str = ""
    suffix: str = ""

    def name(self, base: str) -> str:
        """The cloud name for ``base`` (a guide's example name or a configured one)."""
        return f"{self.prefix}{base}{self.suffix}"

    @property
    def keeps_guide_names(self) -> bool:
        return not (self.prefix or self.suffix)
