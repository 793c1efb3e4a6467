"""Sources capture what gates need and hand it over as one SnapshotSet; gates never see a
source. :mod:`igkit.sources.registry` maps each objective type to its capture function; a
range source (live Prometheus or a replay) implements :class:`Source`."""

from __future__ import annotations

from typing import Protocol

from igkit.snapshots import RangeRequest, Snapshot


class Source(Protocol):
    name: str

    def fetch(self, request: RangeRequest) -> Snapshot: ...


__all__ = ["Source"]
