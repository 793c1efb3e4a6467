"""The one source registry: objective type -> the function that captures what it reads.

Live capture and replay both go through :func:`capture`: a Prometheus objective's requests
are fetched from ``CaptureRequest.prometheus`` (a live server or a ReplaySource), k6 and
evidence objectives read their files, or the snapshots a replayed run recorded. Adding an
objective type touches one place per stage: its model (spec/models.py), its source (here),
its judge (judge/). A type with no source is a ConfigError listing the known ones.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from igkit.errors import ConfigError, SnapshotMissingError, SourceError
from igkit.redact import redact_data, secrets
from igkit.snapshots import (
    EvidenceSnapshot,
    FailureKind,
    FetchFailure,
    K6Snapshot,
    K6SummarySnapshot,
    RangeRequest,
    Snapshot,
    SnapshotSet,
)
from igkit.sources import Source
from igkit.spec.models import (
    EvidenceObjective,
    Gate,
    JourneysObjective,
    K6Objective,
    Matrix,
    PrometheusObjective,
)
from igkit.spec.plan import plan


@dataclass(frozen=True)
class Recorded:
    """Snapshots captured earlier (a replayed run's k6 and evidence), served as they are."""

    k6: Sequence[K6Snapshot | K6SummarySnapshot] = ()
    evidence: Sequence[EvidenceSnapshot] = ()


@dataclass(frozen=True)
class CaptureRequest:
    """What to capture: the plan (matrix, gates, time, tenant, overrides) and where from."""

    matrix: Matrix
    gate_ids: Sequence[str]
    at: datetime
    tenant: str | None = None
    select: str | None = None
    window: timedelta | None = None
    prometheus: Source | None = None
    k6_files: Sequence[Path] = ()
    evidence_dir: Path | None = None
    recorded: Recorded | None = None
    workers: int = 4


AnyObjective = PrometheusObjective | K6Objective | EvidenceObjective | JourneysObjective
Objectives = list[tuple[Gate, AnyObjective]]
CaptureFn = Callable[[CaptureRequest, Objectives], SnapshotSet]


def capture_prometheus(req: CaptureRequest, objectives: Objectives) -> SnapshotSet:
    """Fetch each distinct planned request once, in parallel; a failure is a FetchFailure."""
    gate_ids = list(dict.fromkeys(g.id for g, _ in objectives))
    planned = plan(req.matrix, gate_ids, req.at, req.tenant, select=req.select, window=req.window)
    requests = {r.id: r for p in planned for _, r in p.requests}
    return capture_ranges(req.prometheus, list(requests.values()), workers=req.workers)


def capture_ranges(
    source: Source | None, requests: Sequence[RangeRequest], *, workers: int = 4
) -> SnapshotSet:
    """Fetch each distinct range request once, in parallel (objectives and triggers alike);
    a failure is a FetchFailure saying why, never an exception."""
    by_id = {r.id: r for r in requests}

    def one(request_id: str) -> tuple[str, Snapshot | FetchFailure]:
        if source is None:
            return request_id, FetchFailure(
                request_id=request_id, kind="unsupported", message="no Prometheus source given"
            )
        try:
            return request_id, redacted(source.fetch(by_id[request_id]))
        except SnapshotMissingError as exc:
            unusable = request_id in getattr(source, "rejected", {})  # a replay's damaged file
            kind: FailureKind = "malformed" if unusable else "missing"
            return request_id, FetchFailure(request_id=request_id, kind=kind, message=str(exc))
        except SourceError as exc:
            return request_id, FetchFailure(request_id=request_id, kind="error", message=str(exc))

    if not by_id:
        return SnapshotSet()
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(by_id)))) as pool:
        fetched = dict(pool.map(one, list(by_id)))
    return SnapshotSet.of(fetched)


def capture_k6(req: CaptureRequest, objectives: Objectives) -> SnapshotSet:
    """The k6 files' window tables and summaries (once for every k6 objective)."""
    if req.recorded is not None:
        return SnapshotSet.of(k6=req.recorded.k6)
    if not req.k6_files:
        return SnapshotSet()
    from igkit.sources.k6.windows import capture

    return SnapshotSet.of(k6=capture(req.k6_files, req.matrix.k6_settings()))


def capture_evidence(req: CaptureRequest, objectives: Objectives) -> SnapshotSet:
    """Each evidence objective's documents (a missing directory or file is recorded too)."""
    if req.recorded is not None:
        wanted = {f"{g.id}/{o.name}" for g, o in objectives}
        return SnapshotSet.of(evidence=[e for e in req.recorded.evidence if e.objective in wanted])
    from igkit.sources.evidence import capture_objective

    return SnapshotSet.of(
        evidence=[
            capture_objective(g.id, o, req.evidence_dir)
            for g, o in objectives
            if not isinstance(o, PrometheusObjective | K6Objective | JourneysObjective)
        ]
    )


def capture_nothing(req: CaptureRequest, objectives: Objectives) -> SnapshotSet:
    """Objectives a go/no-go run has no input for (``journeys``: ``igkit journeys run``
    captures and judges them); they are judged NO_DATA."""
    return SnapshotSet()


SOURCES: dict[str, CaptureFn] = {
    "prometheus": capture_prometheus,
    "k6": capture_k6,
    "journeys": capture_nothing,
    **{
        kind: capture_evidence
        for kind in ("attestation", "sbom", "opa_bundle", "drill", "approvals", "comms")
    },
}


def source_for(kind: str) -> CaptureFn:
    try:
        return SOURCES[kind]
    except KeyError:
        raise ConfigError(
            f"no source captures objectives of type {kind!r} (known: {', '.join(sorted(SOURCES))})"
        ) from None


def capture(req: CaptureRequest) -> SnapshotSet:
    """Everything the selected gates read, as one SnapshotSet (with the plan's overrides)."""
    if req.evidence_dir is not None and not req.evidence_dir.is_dir():
        raise ConfigError(
            "evidence directory does not exist or is not a directory", where=str(req.evidence_dir)
        )
    by_source: dict[CaptureFn, Objectives] = {}
    for gate in req.matrix.gates:
        if gate.id not in req.gate_ids:
            continue
        for obj in gate.objectives:
            by_source.setdefault(source_for(obj.type), []).append((gate, obj))
    result = SnapshotSet(select=req.select, window=req.window)
    for fn, objectives in by_source.items():
        result = result.merged(fn(req, objectives))
    return result


def redacted(snap: Snapshot) -> Snapshot:
    """``snap`` with every configured secret removed from its data (a server may echo a token
    in an error body or a label), re-sealed so replay still verifies it."""
    found = secrets()
    if not found:
        return snap
    content = snap.content()
    clean = redact_data(content, found)
    if clean == content:
        return snap
    return Snapshot.model_validate(clean).sealed()
