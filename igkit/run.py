"""A go/no-go run: plan, fetch every snapshot first, evaluate offline, write the evidence.

:func:`run_gates` is the library's one entry point for a run (the CLI, the notebooks, the demo
and bundle replay call it): plan -> capture -> evaluate -> write ``verdicts.json``,
``junit.xml`` and ``snapshots/``. Reports and the bundle come afterwards and never change it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from igkit import atomic, rundir
from igkit.errors import ConfigError
from igkit.judge.evaluate import evaluate
from igkit.redact import redact_data
from igkit.report.junit import to_junit
from igkit.snapshots import (
    INDEX_FILE,
    EvidenceSnapshot,
    K6Snapshot,
    K6SummarySnapshot,
    SealedSnapshot,
    Snapshot,
    SnapshotSet,
    write_snapshots,
)
from igkit.sources import Source
from igkit.sources.registry import CaptureRequest, Recorded, capture
from igkit.spec.loader import LoadedMatrix
from igkit.spec.plan import plan
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

    @field_validator(
        "matrix",
        "at",
        "prom_url",
        "snapshot_dir",
        "tenant",
        "select",
        "window",
        "evidence_dir",
        "trust_dir",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        """An empty parameter (a notebook's ``""``) means unset - never ``Path("")``, the cwd."""
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("window", mode="before")
    @classmethod
    def _promql_duration(cls, value: object) -> object:
        """``30m``, ``1h30m`` as in the matrix (ISO 8601 and seconds are accepted too)."""
        if isinstance(value, str) and value.strip() and not value.startswith("P"):
            from igkit.timeutil import parse_duration

            return parse_duration(value)
        return value

    @field_validator("window")
    @classmethod
    def _positive(cls, value: timedelta | None) -> timedelta | None:
        if value is not None and value <= timedelta(0):
            raise ValueError("must be a positive duration")
        return value

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


@dataclasses.dataclass(frozen=True)
class MissingInput:
    """An input flag a live run was not given, and the objectives it leaves NO_DATA: one console
    line per input instead of one reason per objective."""

    flag: str
    kind: str
    objectives: tuple[tuple[str, str], ...]
    """(gate id, objective name) of every selected objective that reads this input."""

    @property
    def gates(self) -> list[str]:
        return list(dict.fromkeys(g for g, _ in self.objectives))

    def line(self) -> str:
        return f"no {self.flag}: {' '.join(self.gates)} {self.kind} objectives are NO_DATA"


def missing_inputs(
    loaded: LoadedMatrix, gate_ids: Sequence[str], request: RunRequest
) -> list[MissingInput]:
    """``--evidence`` / ``--k6`` not given although a selected gate has objectives reading them
    (gate ids and objectives from the matrix). A replay re-reads what its run captured: none."""
    from typing import get_args

    from igkit.spec.models import EvidenceObjective, K6Objective

    if request.snapshot_dir is not None:
        return []
    wanted = [
        ("--evidence", "evidence", get_args(EvidenceObjective), request.evidence_dir is None),
        ("--k6", "k6", (K6Objective,), not request.k6_files),
    ]
    found = []
    for flag, kind, types, absent in wanted:
        objectives = tuple(
            (g.id, o.name)
            for g in loaded.matrix.gates
            if g.id in gate_ids
            for o in g.objectives
            if isinstance(o, types)
        )
        if absent and objectives:
            found.append(MissingInput(flag, kind, objectives))
    return found


def gate_ids_of(loaded: LoadedMatrix, requested: Sequence[str] | None) -> list[str]:
    """The matrix's gate ids for ``requested`` (comma lists allowed, case-insensitive); every
    gate when None; none, or an id the matrix lacks, is a ConfigError listing the known ones."""
    known = [g.id for g in loaded.matrix.gates]
    if requested is None:
        return known
    if not [part for raw in requested for part in raw.split(",") if part.strip()]:
        raise ConfigError(f"no gate selected (matrix has {', '.join(known)})", where="--gate")
    by_upper = {k.upper(): k for k in known}
    ids: list[str] = []
    for raw in requested:
        for part in raw.split(","):
            if not part.strip():
                continue
            gid = by_upper.get(part.strip().upper())
            if gid is None:
                raise ConfigError(
                    f"unknown gate {part.strip()!r} (matrix has {', '.join(known)})", where="--gate"
                )
            if gid not in ids:
                ids.append(gid)
    return ids


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
    snapshot_set: SnapshotSet,
    loaded: LoadedMatrix,
    *,
    server: str | None,
) -> RunVerdicts:
    """Write the snapshots, then ``verdicts.json`` (recording the index's sha256) and
    junit.xml; return the verdicts as written. Range snapshots are labelled by the objective
    that read them, k6 ones by kind and file, evidence by objective."""
    snap_dir = out / "snapshots"
    planned = plan(
        loaded.matrix,
        run.scope.gates,
        run.evaluated_at,
        run.tenant,
        select=snapshot_set.select,
        window=snapshot_set.window,
    )
    labelled: list[tuple[str, SealedSnapshot]] = [
        (label, s)
        for p in planned
        for label, r in p.requests
        if isinstance(s := snapshot_set.prometheus.get(r.id), Snapshot)
    ]
    labelled += [(f"{s.kind}-{s.file}", s) for s in snapshot_set.k6]
    labelled += [(f"{s.file}-evidence", s) for s in snapshot_set.evidence.values()]
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


def execute(
    loaded: LoadedMatrix,
    request: CaptureRequest,
    *,
    out: Path,
    source_label: str,
    server: str | None = None,
    trust: TrustStore | None = None,
) -> RunVerdicts:
    """Capture (one SnapshotSet), then evaluate it, then write ``verdicts.json``,
    ``junit.xml`` and ``snapshots/``. ``out`` is taken for this run
    (:func:`igkit.rundir.owned`) unless the caller already holds it."""
    with rundir.owned(out, fresh=True):
        request = dataclasses.replace(request, at=request.at.replace(microsecond=0))
        snapshot_set = capture(request)
        run = evaluate(
            loaded,
            snapshot_set,
            request.at,
            gate_ids=list(request.gate_ids),
            tenant=request.tenant,
            trust=trust,
            source=source_label,
        )
        return write_outputs(out, run, snapshot_set, loaded, server=server)


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
    """:func:`execute` with a range source and k6/evidence snapshots captured beforehand (a
    replay's, or a recorder's); :func:`run_gates` is the entry point for everything else."""
    request = CaptureRequest(
        matrix=loaded.matrix,
        gate_ids=gate_ids,
        at=at,
        tenant=tenant,
        select=select,
        window=window,
        prometheus=source,
        recorded=Recorded(k6=k6, evidence=evidence),
    )
    return execute(loaded, request, out=out, source_label=source_label, server=server, trust=trust)


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
    on_missing: Callable[[MissingInput], None] | None = None,
) -> RunVerdicts:
    """:func:`run_gates` with the matrix already loaded (``source_label`` names the source in
    verdicts.json when the default would not say enough, e.g. the shipped demo sample).
    ``on_missing`` hears each input not given (default: one ``on_warning`` line each)."""
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
    capture_request = CaptureRequest(
        matrix=loaded.matrix,
        gate_ids=gate_ids,
        at=request.at or datetime.now(tz=UTC),
        tenant=request.tenant,
        select=request.select,
        window=request.window,
        prometheus=prom,
        k6_files=request.k6_files,
        evidence_dir=request.evidence_dir,
    )
    run = execute(
        loaded,
        capture_request,
        out=request.out,
        source_label=source_label or f"prometheus {prom.url}",
        server=prom.url,
        trust=trust,
    )
    for missing in missing_inputs(loaded, gate_ids, request):
        (on_missing or (lambda m: warn(m.line())))(missing)
    return run


def _check_k6_gates(loaded: LoadedMatrix, gate_ids: list[str], k6_files: Sequence[Path]) -> None:
    """``--k6`` is read by every selected gate with k6 objectives; refused only when none of
    the selected gates has one (naming the gates that do), so the files are never ignored."""
    from igkit.spec.models import K6Objective

    if not k6_files:
        return
    holders = list(dict.fromkeys(g.id for g, _ in loaded.matrix.objectives_of(K6Objective)))
    if any(g in gate_ids for g in holders):
        return
    if not holders:
        raise ConfigError("no gate of the matrix has k6 objectives; drop --k6", where="--k6")
    raise ConfigError(
        f"none of the selected gates ({', '.join(gate_ids)}) has k6 objectives; "
        f"add --gate {' --gate '.join(holders)} or use --validate-all",
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
    capture_request = CaptureRequest(
        matrix=loaded.matrix,
        gate_ids=gate_ids,
        at=at,
        tenant=request.tenant if request.tenant is not None else (index.tenant if index else None),
        select=select,
        window=window,
        prometheus=replay,
        recorded=Recorded(k6=replay.k6, evidence=replay.evidence),
    )
    return execute(
        loaded,
        capture_request,
        out=request.out,
        source_label=source_label or f"replay {replay.directory}",
        server=index.server if index else None,
        trust=trust,
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
