"""SnapshotSet: everything one judgement reads, captured before anything is judged.

The one hand-off between ``sources/`` (which capture) and ``judge/`` (which never fetches):
Prometheus range snapshots by request id (or the FetchFailure saying why there is none), the
k6 window tables and summaries, and the evidence snapshots by objective (``G3/provenance``).
``select`` and ``window`` are the plan overrides the set was captured with, so a judgement
plans exactly the requests the set answers.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import timedelta
from typing import Self

from pydantic import BaseModel, ConfigDict, Field

from igkit.snapshots.failure import FetchFailure
from igkit.snapshots.models import (
    EvidenceSnapshot,
    K6Snapshot,
    K6SummarySnapshot,
    RangeRequest,
    SealedSnapshot,
    Snapshot,
)


class SnapshotSet(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    prometheus: dict[str, Snapshot | FetchFailure] = Field(default_factory=dict)
    k6_tables: list[K6Snapshot] = Field(default_factory=list)
    k6_summaries: list[K6SummarySnapshot] = Field(default_factory=list)
    evidence: dict[str, EvidenceSnapshot] = Field(default_factory=dict)
    select: str | None = None
    window: timedelta | None = None

    @classmethod
    def of(
        cls,
        prometheus: Mapping[str, Snapshot | FetchFailure] | None = None,
        *,
        k6: Iterable[K6Snapshot | K6SummarySnapshot] = (),
        evidence: Iterable[EvidenceSnapshot] = (),
        select: str | None = None,
        window: timedelta | None = None,
    ) -> Self:
        """A set from loose parts (k6 tables and summaries sorted by file, evidence keyed by
        objective; a second snapshot for the same objective keeps the first)."""
        k6 = list(k6)
        by_objective: dict[str, EvidenceSnapshot] = {}
        for e in evidence:
            by_objective.setdefault(e.objective, e)
        return cls(
            prometheus=dict(prometheus or {}),
            k6_tables=sorted((s for s in k6 if isinstance(s, K6Snapshot)), key=lambda s: s.file),
            k6_summaries=sorted(
                (s for s in k6 if isinstance(s, K6SummarySnapshot)), key=lambda s: s.file
            ),
            evidence=by_objective,
            select=select,
            window=window,
        )

    def merged(self, other: SnapshotSet) -> Self:
        """This set plus ``other``'s parts (the overrides of ``self`` are kept)."""
        return self.of(
            {**self.prometheus, **other.prometheus},
            k6=[*self.k6_tables, *self.k6_summaries, *other.k6_tables, *other.k6_summaries],
            evidence=[*self.evidence.values(), *other.evidence.values()],
            select=self.select,
            window=self.window,
        )

    def range(self, request: RangeRequest, role: str = "request") -> Snapshot | FetchFailure:
        """The snapshot answering ``request``, or the failure saying why there is none."""
        return self.prometheus.get(request.id) or FetchFailure(
            request_id=request.id, kind="missing", message=f"no snapshot for {role} {request.id}"
        )

    def evidence_for(self, objective: str) -> EvidenceSnapshot | None:
        """The evidence snapshot of ``objective`` (``"G3/provenance"``), if one was captured."""
        return self.evidence.get(objective)

    @property
    def k6(self) -> list[K6Snapshot | K6SummarySnapshot]:
        return [*self.k6_tables, *self.k6_summaries]

    def sealed(self) -> Iterator[SealedSnapshot]:
        """Every snapshot of the set (failures have none), for writing."""
        yield from (s for s in self.prometheus.values() if isinstance(s, Snapshot))
        yield from self.k6
        yield from self.evidence.values()
