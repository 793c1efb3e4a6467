"""Sources fetch what gates need and hand it over as snapshots; gates never see a source."""

from __future__ import annotations

from typing import Protocol

from igkit.snapshots import RangeRequest, Snapshot


class Source(Protocol):
    name: str

    def fetch(self, request: RangeRequest) -> Snapshot: ...


__all__ = ["Source"]
