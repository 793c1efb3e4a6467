"""A go/no-go run: plan, fetch every snapshot first, evaluate offline, write the evidence.

:func:`run_gates` is the library's one entry point for a run (the CLI, the notebooks, the demo
and bundle replay call it): plan -> capture -> evaluate -> write ``verdicts.json``,
``junit.xml`` and ``snapshots/``. Reports and the bundle come afterwards and never change it.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from igkit import atomic, rundir
from igkit.errors import ConfigError, SourceError
from igkit.judge.evaluate import evaluate
from igkit.redact import redact, redact_data, secrets
from igkit.report.junit import to_junit
from igkit.snapshots import (
    INDEX_FILE,
    EvidenceSnapshot,
    K6Snapshot,
    K6SummarySnapshot,
    Snapshot,
    write_snapshots,
)
from igkit.sources import Source
from igkit.spec.loader import LoadedMatrix
from igkit.spec.plan import PlannedQuery, plan
from igkit.trust import TrustStore
from igkit.verdicts import RunVerdicts

VERDICTS_FILE = "verdicts.json"
JUNIT_FILE = "junit.xml"
ENV_PROM_URL = "IGKIT_PROM_URL"
_log = logging.getLogger("igkit")
_T = TypeVar("_T", str, timedelta)


class RunRequest(BaseModel):
    """What one gate run evaluates, from where, and where it writes (see :func:`run_gates`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    out: Path = Field(description="run directory (taken fresh unless the caller holds it)")
    matrix: Path | None = Field(default=None, description="None: the matrix shipped with igkit")
    gates: list[str] | None = Field(default=None, description="None: every gate of the matrix")
    at: datetime | None = Field(
        default=None, description="None: now (live) or the replayed run's evaluation time"
    )
    prom_url: str | None = Field(default=None, description="live Prometheus base URL")
    snapshot_dir: Path | None = Field(
        default=None, description="replay source: a run dir (with snapshots/) or a snapshots/ dir"
    )
    tenant: str | None = Field(default=None, description="sent as X-Scope-OrgID")
    select: str | None = Field(
        default=None, description='label matchers added to every selector, e.g. tenant="acme"'
    )
    window: timedelta | None = Field(default=None, description="replaces every step rule's window")
    k6_files: list[Path] = Field(default_factory=list)
    evidence_dir: Path | None = None
    trust_dir: Path | None = Field(
        default=None, description="None: $IGKIT_TRUST_DIR, then beside the matrix"
    )
    timeout: float = Field(default=30, description="seconds per HTTP request")

    @field_validator("timeout")
    @classmethod
    def _timeout(cls, value: float) -> float:
        if not math.isfinite(value) or not 0 < value <= 86_400:
            raise ValueError("a positive number of seconds, at most 86400")
        return value

    @field_validator("at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.utcoffset() is None:
            raise ValueError("needs a time zone (e.g. 2026-01-01T00:00:00Z)")
        return value


def gate_ids_of(loaded: LoadedMatrix, requested: Sequence[str] | None) -> list[str]:
    """The matrix's gate ids for ``requested`` (comma lists allowed, case-insensitive); every
    gate when None or empty; an id the matrix lacks is a ConfigError listing the known ones."""
    known = [g.id for g in loaded.matrix.gates]
    if not requested:
        return known
    by_upper = {k.upper(): k for k in known}
    ids: list[str] = []
    for raw in requested:
        for part in raw.split(","):
            gid = by_upper.get(part.strip().upper())
            if gid is None:
                raise ConfigError(
                    f"unknown gate {part.strip()!r} (matrix has {', '.join(known)})", where="--gate"
                )
            if gid not in ids:
                ids.append(gid)
    return ids


def fetch_all(
    planned: list[PlannedQuery], source: Source, workers: int = 4
) -> dict[str, Snapshot | str]:
    """Fetch each distinct request once; a source failure becomes a message, never a raise."""
    requests = {r.id: r for p in planned for _, r in p.requests}

    def one(request_id: str) -> tuple[str, Snapshot | str]:
        try:
            return request_id, redacted(source.fetch(requests[request_id]))
        except SourceError as exc:
            return request_id, redact(str(exc))

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(requests)))) as pool:
        return dict(pool.map(one, list(requests)))


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


def run_files(run: RunVerdicts) -> dict[Path, bytes]:
    """``verdicts.json`` and ``junit.xml`` of ``run`` (relative names), written as one set."""
    clean = RunVerdicts.model_validate(redact_data(run.model_dump(by_alias=True)))
    data = clean.model_dump(mode="json", by_alias=True)
    for unset in [k for k in ("select", "window") if data[k] is None]:
        del data[unset]  # a run without overrides writes what it wrote before they existed
    return {
        Path(VERDICTS_FILE): atomic.json_bytes(data),
        Path(JUNIT_FILE): to_junit(clean),
    }


def write_run_files(out: Path, run: RunVerdicts) -> None:
    atomic.write_set({out / name: data for name, data in run_files(run).items()})


def write_outputs(
    out: Path,
    run: RunVerdicts,
    planned: list[PlannedQuery],
    snapshots: dict[str, Snapshot | str],
    *,
    server: str | None,
    k6: Sequence[K6Snapshot | K6SummarySnapshot] = (),
    evidence: Sequence[EvidenceSnapshot] = (),
) -> RunVerdicts:
    """Write snapshots, then ``verdicts.json`` (recording the index's sha256) and junit.xml;
    return the verdicts as written."""
    snap_dir = out / "snapshots"
    labelled: list[tuple[str, Snapshot | K6Snapshot | K6SummarySnapshot | EvidenceSnapshot]] = [
        (label, s)
        for p in planned
        for label, r in p.requests
        if isinstance(s := snapshots.get(r.id), Snapshot)
    ]
    labelled += [(f"G5-{s.kind}-{s.file}", s) for s in k6]
    labelled += [(f"{s.file}-evidence", s) for s in evidence]
    write_snapshots(  # the earlier run's files went when this run took ``out``
        snap_dir,
        labelled,
        evaluated_at=run.evaluated_at,
        tenant=run.tenant,
        server=server,
        matrix_sha256=run.matrix_sha256,
        select=run.select,
        window=run.window,
    )
    index_digest = hashlib.sha256((snap_dir / INDEX_FILE).read_bytes()).hexdigest()
    run = run.model_copy(update={"snapshots_index_sha256": index_digest})
    write_run_files(out, run)
    return run


def go_no_go(
    loaded: LoadedMatrix,
    gate_ids: list[str],
    at: datetime,
    source: Source,
    *,
    tenant: str | None,
    out: Path,
    source_label: str,
    server: str | None = None,
    k6: Sequence[K6Snapshot | K6SummarySnapshot] = (),
    evidence: Sequence[EvidenceSnapshot] = (),
    trust: TrustStore | None = None,
    select: str | None = None,
    window: timedelta | None = None,
) -> RunVerdicts:
    """Snapshot, then evaluate, then write ``verdicts.json``, ``junit.xml`` and ``snapshots/``.

    ``k6`` holds the k6 snapshots already captured (from ``--k6`` files, or a replay). ``out``
    is taken for this run (:func:`igkit.rundir.owned`) unless the caller already holds it."""
    with rundir.owned(out, fresh=True):
        at = at.replace(microsecond=0)
        planned = plan(loaded.matrix, gate_ids, at, tenant, select=select, window=window)
        snapshots = fetch_all(planned, source)
        run = evaluate(
            loaded,
            gate_ids,
            at,
            snapshots,
            tenant=tenant,
            source=source_label,
            k6=k6,
            evidence=evidence,
            trust=trust,
            select=select,
            window=window,
        )
        return write_outputs(out, run, planned, snapshots, server=server, k6=k6, evidence=evidence)


def run_gates(
    request: RunRequest, *, on_warning: Callable[[str], None] | None = None
) -> RunVerdicts:
    """plan -> capture (snapshots) -> evaluate -> write verdicts.json, junit.xml, snapshots/.

    Live with ``prom_url``; a replay of ``snapshot_dir`` otherwise (neither: ConfigError).
    Credentials come only from the environment. ``on_warning`` receives each one-line warning
    (default: the ``igkit`` logger)."""
    from igkit.spec.loader import load_matrix

    loaded = load_matrix(request.matrix)
    return run_loaded(request, loaded, on_warning=on_warning)


def run_loaded(
    request: RunRequest,
    loaded: LoadedMatrix,
    *,
    on_warning: Callable[[str], None] | None = None,
    source_label: str | None = None,
) -> RunVerdicts:
    """:func:`run_gates` with the matrix already loaded (``source_label`` names the source in
    verdicts.json when the default would not say enough, e.g. the shipped demo sample)."""
    from igkit.trust import resolve_trust, trust_dir_from

    warn = on_warning or _log.warning
    gate_ids = gate_ids_of(loaded, request.gates)
    _check_k6_gates(loaded, gate_ids, request.k6_files)
    trust_dir = trust_dir_from(request.trust_dir)
    # a replayed run is evidence too: an anchor inside it is never trusted
    evidence_side = request.evidence_dir or request.snapshot_dir
    trust = resolve_trust(loaded, trust_dir=trust_dir, evidence_dir=evidence_side)
    if request.snapshot_dir is not None:
        return _replay(request, loaded, gate_ids, trust, warn, source_label)
    if not request.prom_url:
        raise ConfigError(
            f"give --prom-url URL (or set {ENV_PROM_URL}), or --replay DIR", where="--prom-url"
        )
    from igkit.sources.prometheus import PrometheusSource

    prom = PrometheusSource(request.prom_url, tenant=request.tenant, timeout=request.timeout)
    with rundir.owned(request.out, fresh=True):
        k6: list[K6Snapshot | K6SummarySnapshot] = []
        if request.k6_files:
            from igkit.sources.k6.windows import capture

            k6 = capture(request.k6_files, loaded.matrix.k6)
        at = request.at or datetime.now(tz=UTC)
        return go_no_go(
            loaded,
            gate_ids,
            at,
            prom,
            tenant=request.tenant,
            out=request.out,
            source_label=source_label or f"prometheus {prom.url}",
            server=prom.url,
            k6=k6,
            evidence=capture_evidence(loaded, gate_ids, request.evidence_dir),
            trust=trust,
            select=request.select,
            window=request.window,
        )


def _check_k6_gates(loaded: LoadedMatrix, gate_ids: list[str], k6_files: Sequence[Path]) -> None:
    """k6 files with no selected gate that reads them are a usage error, not ignored input."""
    from igkit.spec.models import K6Objective

    if not k6_files:
        return
    readers = [
        g.id for g in loaded.matrix.gates if any(isinstance(o, K6Objective) for o in g.objectives)
    ]
    if any(g in gate_ids for g in readers):
        return
    if not readers:
        raise ConfigError("no gate of the matrix reads k6 files", where="--k6")
    verb = "reads" if len(readers) == 1 else "read"
    gates = " ".join(f"--gate {g}" for g in readers)
    raise ConfigError(
        f"only {', '.join(readers)} {verb} k6 files; add {gates} or use --validate-all",
        where="--k6",
    )


def _replay(
    request: RunRequest,
    loaded: LoadedMatrix,
    gate_ids: list[str],
    trust: TrustStore,
    warn: Callable[[str], None],
    source_label: str | None,
) -> RunVerdicts:
    from igkit.sources.replay import ReplaySource

    assert request.snapshot_dir is not None
    if request.prom_url:
        raise ConfigError("--replay evaluates offline; drop --prom-url", where="--prom-url")
    if request.k6_files:
        raise ConfigError("--replay reads the k6 window tables of the run; drop --k6", where="--k6")
    if request.evidence_dir:
        raise ConfigError(
            "--replay re-verifies the evidence captured in the run; drop --evidence",
            where="--evidence",
        )
    rundir.check_apart(request.out, [request.snapshot_dir], "--replay")
    replay = ReplaySource(request.snapshot_dir)
    for warning in replay.warnings:
        warn(f"--replay: {warning}")
    index = replay.index
    at = request.at or (index.evaluated_at if index else None)
    if at is None:
        raise ConfigError(
            "no snapshots/index.json to take the evaluation time from; pass --at",
            where=str(request.snapshot_dir),
        )
    select = _recorded("--select", request.select, index.select if index else None)
    window = _recorded("--window", request.window, index.window if index else None)
    with rundir.owned(request.out, fresh=True):
        return go_no_go(
            loaded,
            gate_ids,
            at,
            replay,
            tenant=request.tenant
            if request.tenant is not None
            else (index.tenant if index else None),
            out=request.out,
            source_label=source_label or f"replay {replay.directory}",
            server=index.server if index else None,
            k6=replay.k6,
            evidence=replay.evidence,
            trust=trust,
            select=select,
            window=window,
        )


def _recorded(flag: str, given: _T | None, recorded: _T | None) -> _T | None:
    """A replay plans with the run's recorded override; a different explicit one is refused."""
    if given is None or given == recorded:
        return recorded
    was = "none" if recorded is None else repr(str(recorded))
    raise ConfigError(
        f"the replayed run was planned with {flag} {was}; {str(given)!r} would ask for "
        "snapshots it never took (drop the flag)",
        where=flag,
    )


def capture_evidence(
    loaded: LoadedMatrix, gate_ids: list[str], evidence_dir: Path | None
) -> list[EvidenceSnapshot]:
    """Snapshot what every selected evidence objective reads (a missing dir is recorded too)."""
    from igkit.sources.evidence import capture_objective
    from igkit.spec.models import K6Objective, PrometheusObjective

    if evidence_dir is not None and not evidence_dir.is_dir():
        raise ConfigError(
            "evidence directory does not exist or is not a directory", where=str(evidence_dir)
        )
    return [
        capture_objective(gate.id, obj, evidence_dir)
        for gate in loaded.matrix.gates
        if gate.id in gate_ids
        for obj in gate.objectives
        if not isinstance(obj, PrometheusObjective | K6Objective)
    ]
