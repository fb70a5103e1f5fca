"""One explicit Alibaba Cloud provider per region, created on first use."""

from __future__ import annotations

import pulumi_alicloud as alicloud


class RegionalProviders:
    """``providers(region)`` returns the stack's provider for ``region``, creating it once.

    RAM and Resource Manager are global and use the stack's region; regional resources (an
    instance's role attachment, an OOS parameter) must be created through their own region's
    provider. Every provider is explicit: the region comes from the stack file, never from the
    environment of whoever runs ``pulumi up``.
    """

    def __init__(self) -> None:
        self._cache: dict[str, alicloud.Provider] = {}

    def __call__(self, region: str) -> alicloud.Provider:
        if region not in self._cache:
            self._cache[region] = alicloud.Provider(f"alicloud-{region}", region=region)
        return self._cache[region]

    @property
    def regions(self) -> list[str]:
        return list(self._cache)
