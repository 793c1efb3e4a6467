"""What the notebooks call: load a run's snapshots, re-evaluate it, and frame its data.

Everything here is a thin, tested layer over the pure evaluation: ``Run.verdicts()`` calls
:func:`igkit.judge.evaluate.evaluate` on the replayed snapshots exactly as ``igkit go-no-go
--replay`` does, so a notebook can never disagree with the command line. Frames are built
with vectorised pandas/numpy; nothing loops over rows.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from igkit.errors import ConfigError, IgkitError, SnapshotError
from igkit.judge.evaluate import evaluate
from igkit.judge.spend import step_spend
from igkit.snapshots import (
    FetchFailure,
    Snapshot,
    SnapshotSet,
    parse_range_result,
    series_labels,
    to_wide_frame,
)
from igkit.sources.replay import ReplaySource
from igkit.spec.loader import LoadedMatrix, load_matrix
from igkit.spec.models import BudgetBurn, Comparison, PrometheusObjective
from igkit.spec.plan import PlannedQuery, plan
from igkit.timeutil import human_duration
from igkit.trust import TrustStore
from igkit.units import Unit, fmt, from_base, to_base
from igkit.verdicts import GateVerdict, ObjectiveVerdict, RunVerdicts, Status

_OPS: dict[Comparison, Callable[[Any, float], Any]] = {
    Comparison.LE: operator.le,
    Comparison.LT: operator.lt,
    Comparison.GE: operator.ge,
    Comparison.GT: operator.gt,
}

FRAME_COLUMNS = ["time", "series", "value", "threshold", "unit", "present", "violating"]


def resolve_snapshot_dir(snapshot_dir: str | Path | None) -> Path:
    """A notebook's ``snapshot_dir`` parameter: empty means the shipped demo sample."""
    if snapshot_dir is None or str(snapshot_dir) == "":
        from igkit.demo import demo_snapshot_dir

        return demo_snapshot_dir()
    return Path(snapshot_dir)


@dataclass
class Run:
    """One run's replayed snapshots, its matrix and its evaluation time."""

    loaded: LoadedMatrix
    replay: ReplaySource
    at: datetime
    tenant: str | None
    trust: TrustStore | None = None
    _verdicts: RunVerdicts | None = field(default=None, repr=False)

    @property
    def gate_ids(self) -> list[str]:
        return [g.id for g in self.loaded.matrix.gates]

    @cached_property
    def snapshot_set(self) -> SnapshotSet:
        """Everything the run's judgement reads, captured from the replay (through the same
        source registry as ``igkit go-no-go --replay``, with the run's recorded overrides)."""
        from igkit.sources.registry import CaptureRequest, Recorded, capture

        index = self.replay.index
        return capture(
            CaptureRequest(
                matrix=self.loaded.matrix,
                gate_ids=self.gate_ids,
                at=self.at,
                tenant=self.tenant,
                select=index.select if index else None,
                window=index.window if index else None,
                prometheus=self.replay,
                recorded=Recorded(k6=self.replay.k6, evidence=self.replay.evidence),
            )
        )

    @cached_property
    def planned(self) -> dict[tuple[str, str], PlannedQuery]:
        overrides = self.snapshot_set
        return {
            (p.gate.id, p.objective.name): p
            for p in plan(
                self.loaded.matrix,
                self.gate_ids,
                self.at,
                self.tenant,
                select=overrides.select,
                window=overrides.window,
            )
        }

    @property
    def snapshots(self) -> dict[str, Snapshot | FetchFailure]:
        """Request id -> snapshot, or the FetchFailure saying why there is none."""
        return self.snapshot_set.prometheus

    def verdicts(self, gate_ids: list[str] | None = None) -> RunVerdicts:
        """The same verdicts ``igkit go-no-go --replay`` computes for these snapshots."""
        ids = gate_ids or self.gate_ids
        if gate_ids is None and self._verdicts is not None:
            return self._verdicts
        result = evaluate(
            self.loaded,
            self.snapshot_set,
            self.at,
            gate_ids=ids,
            tenant=self.tenant,
            trust=self.trust,
            source=f"replay {self.replay.directory}",
        )
        if gate_ids is None:
            self._verdicts = result
        return result

    def gate(self, gate_id: str) -> GateVerdict:
        for g in self.verdicts().gates:
            if g.id == gate_id:
                return g
        raise KeyError(f"gate {gate_id} is not in the matrix (known: {', '.join(self.gate_ids)})")

    def objective_names(self, gate_id: str, *, series_only: bool = False) -> list[str]:
        gate = self.loaded.matrix.gate(gate_id)
        return [
            o.name for o in gate.objectives if not series_only or isinstance(o, PrometheusObjective)
        ]

    def objective_frame(self, gate_id: str, objective_name: str) -> pd.DataFrame:
        """Long frame of one objective's snapshot on its step grid.

        Columns: ``time`` (UTC), ``series``, ``value`` and ``threshold`` (both in the
        threshold's unit), ``unit``, ``present`` (a finite or ±Inf sample exists) and
        ``violating`` (present and not meeting the threshold; ±Inf always violates). For a
        ``budget_burn`` objective the single series ``month_to_date`` is the cumulative spend
        of all cost series as a share of the budget, reset-aware like the rule.
        """
        pq = self.planned.get((gate_id, objective_name))
        if pq is None:
            raise KeyError(
                f"{gate_id}/{objective_name} is not a Prometheus objective of the matrix "
                "(k6 and evidence objectives have no step series)"
            )
        snap = self.snapshots[pq.request.id]
        obj = pq.objective
        unit = obj.threshold.unit
        empty = pd.DataFrame(index=pd.Index(np.round(pq.request.grid() * 1000).astype(np.int64)))
        labels: dict[str, dict[str, str]] = {}
        if isinstance(snap, FetchFailure) or snap.status == "error":
            wide = empty
        else:
            try:  # a malformed result is the objective's ERROR verdict; nothing to plot
                data = parse_range_result(snap.result)
                wide, labels = to_wide_frame(data, pq.request.grid()), series_labels(data)
            except SnapshotError:
                wide = empty
        if isinstance(obj.rule, BudgetBurn):
            spent = step_spend(wide.to_numpy()).cumsum(axis=0)
            spend = pd.DataFrame(spent, index=wide.index).sum(axis=1, min_count=1)
            share = spend / obj.rule.budget_usd
            wide = pd.DataFrame({"month_to_date": from_base(1.0, unit) * share})
            base = wide.to_numpy(dtype=np.float64) * to_base(1.0, unit)
        else:
            base = wide.to_numpy(dtype=np.float64)
            wide = wide * from_base(1.0, unit)
        thr = to_base(obj.threshold.value, unit)
        present = ~np.isnan(base)
        with np.errstate(invalid="ignore"):
            ok = np.isfinite(base) & _OPS[obj.comparison](base, thr)
        violating = present & ~ok
        n, k = base.shape
        times = pd.to_datetime(
            np.repeat(wide.index.to_numpy(dtype=np.int64), k), unit="ms", utc=True
        )
        frame = pd.DataFrame(
            {
                "time": times,
                "series": np.tile(np.asarray([str(c) for c in wide.columns], dtype=object), n),
                "value": wide.to_numpy(dtype=np.float64).ravel(),
                "threshold": obj.threshold.value,
                "unit": unit.value,
                "present": present.ravel(),
                "violating": violating.ravel(),
            },
            columns=FRAME_COLUMNS,
        )
        frame.attrs.update(
            gate=gate_id,
            objective=objective_name,
            comparison=obj.comparison.value,
            unit=unit.value,
            threshold=obj.threshold.value,
            window_start=pq.request.start,
            window_end=pq.request.end,
            status=self._objective_status(gate_id, objective_name),
            labels=labels,
        )
        return frame

    def _objective_status(self, gate_id: str, name: str) -> str:
        for o in self.gate(gate_id).objectives:
            if o.name == name:
                return o.status.value
        return Status.ERROR.value

    def gate_table(self, gate_id: str) -> pd.DataFrame:
        """One row per objective: status, observed, threshold (with unit), coverage, reasons."""
        gate = self.gate(gate_id)
        rows = [
            {
                "objective": o.name,
                "status": o.status.value,
                "observed": fmt(o.observed, Unit(o.unit)) if o.unit else _plain(o.observed),
                "threshold": f"{o.comparison or ''} {fmt(o.threshold, Unit(o.unit))}".strip()
                if o.unit and o.threshold is not None
                else _plain(o.threshold),
                "coverage": None if o.coverage is None else round(o.coverage, 4),
                "reasons": " | ".join(o.reasons),
            }
            for o in gate.objectives
        ]
        return pd.DataFrame(
            rows, columns=["objective", "status", "observed", "threshold", "coverage", "reasons"]
        )

    def summary_table(self) -> pd.DataFrame:
        """One row per gate: status, objective counts by status, first reason."""
        rows = []
        for g in self.verdicts().gates:
            counts = pd.Series([o.status.value for o in g.objectives], dtype=object).value_counts()
            rows.append(
                {
                    "gate": g.id,
                    "name": g.name,
                    "status": g.status.value,
                    "objectives": len(g.objectives),
                    "passing": int(counts.get(Status.PASS.value, 0)),
                    "first_reason": g.reasons[0] if g.reasons else "",
                }
            )
        return pd.DataFrame(
            rows, columns=["gate", "name", "status", "objectives", "passing", "first_reason"]
        )


def _plain(value: float | None) -> str:
    return "—" if value is None else f"{value:g}"


def load_run(
    snapshot_dir: str | Path | None,
    matrix: str | Path | None = None,
    trust: str | Path | None = None,
) -> Run:
    """Replay source + matrix (default: the packaged one) + evaluation time from ``index.json``
    + trust anchors (``trust`` dir, else ``$IGKIT_TRUST_DIR``, then beside the matrix; the
    shipped demo sample uses the demo's own trust directory)."""
    from igkit.trust import resolve_trust, trust_dir_from

    demo = snapshot_dir is None or str(snapshot_dir) == ""
    replay = ReplaySource(resolve_snapshot_dir(snapshot_dir))
    if replay.index is None:
        raise ConfigError(
            "no index.json: the evaluation time of the run is unknown", where=str(replay.directory)
        )
    loaded = load_matrix(Path(matrix) if matrix not in (None, "") else None)
    trust_dir = trust_dir_from(Path(trust) if trust not in (None, "") else None)
    if trust_dir is None and demo:
        from igkit.demo import demo_trust_dir

        trust_dir = demo_trust_dir()
    return Run(
        loaded=loaded,
        replay=replay,
        at=replay.index.evaluated_at.replace(microsecond=0),
        tenant=replay.index.tenant,
        trust=resolve_trust(loaded, trust_dir=trust_dir),
    )


def what_would_flip(run: Run) -> pd.DataFrame:
    """Every objective that is not PASS, and what it needs to pass.

    For a numeric verdict the ``needs`` column states the distance to the threshold in the
    threshold's unit; for NO_DATA/ERROR it states what is missing (from the reasons).
    """
    rows = []
    for g in run.verdicts().gates:
        for o in g.objectives:
            if o.status is Status.PASS or not o.gated:  # a reported-only one flips nothing
                continue
            rows.append(
                {
                    "gate": g.id,
                    "objective": o.name,
                    "status": o.status.value,
                    "observed": o.observed,
                    "threshold": o.threshold,
                    "unit": o.unit,
                    "needs": objective_needs(o),
                }
            )
        if not g.objectives:
            rows.append(
                {
                    "gate": g.id,
                    "objective": "",
                    "status": g.status.value,
                    "observed": None,
                    "threshold": None,
                    "unit": None,
                    "needs": "add at least one objective to the gate in the matrix",
                }
            )
    return pd.DataFrame(
        rows, columns=["gate", "objective", "status", "observed", "threshold", "unit", "needs"]
    )


def objective_needs(o: ObjectiveVerdict) -> str:
    """What objective ``o`` (not PASS) needs to pass, in one line: a distance to the threshold
    only for a value that misses it now; for a breach in the past of a sliding window, when the
    window clears; for NO_DATA/ERROR what is missing (from the reasons)."""
    first = o.reasons[0] if o.reasons else ""
    if o.status is Status.NO_DATA:
        return f"data: {first}"
    if o.status is Status.ERROR:
        return f"fix the error: {first}"
    if o.status is not Status.FAIL:
        return f"{o.status.value}: {first}"
    clears = _window_clears(o)
    if clears is not None:
        return clears
    if o.observed is None or o.threshold is None or not o.comparison:
        return f"FAIL: {first}"
    u = Unit(o.unit) if o.unit else None

    def shown(v: float) -> str:
        return fmt(v, u) if u else f"{v:g}"

    if not np.isfinite(o.observed):
        return f"a finite value {o.comparison} {shown(o.threshold)} (observed {o.observed})"
    lower = o.comparison in ("<=", "<")
    if _meets(o.observed, o.comparison, o.threshold):
        return (
            f"{shown(o.observed)} already meets {o.comparison} {shown(o.threshold)}; "
            f"it fails on: {first}"
        )
    delta = o.observed - o.threshold if lower else o.threshold - o.observed
    direction = "down" if lower else "up"
    return (
        f"bring it {direction} to {o.comparison} {shown(o.threshold)}: at least "
        f"{shown(abs(delta))} {direction} from {shown(o.observed)}"
    )


def _meets(value: float, comparison: str, threshold: float) -> bool:
    return {
        "<=": value <= threshold,
        "<": value < threshold,
        ">=": value >= threshold,
        ">": value > threshold,
    }.get(comparison, False)


def _window_clears(o: ObjectiveVerdict) -> str | None:
    """ "clears at 14:52 UTC if no new breach" when every failing series' breach is over (its
    latest sample meets the target): the last violation plus the window length; else None."""
    failing = [s for s in o.series if s.status is Status.FAIL]
    if not failing or o.window_start is None or o.window_end is None:
        return None
    if any(
        s.last_violation is None or s.last_sample_at is None or s.last_sample_at <= s.last_violation
        for s in failing
    ):
        return None
    window = o.window_end - o.window_start
    last = max(s.last_violation for s in failing if s.last_violation is not None)
    clears = last + window
    when = "%Y-%m-%d %H:%M" if clears.date() != o.window_end.date() else "%H:%M"
    return (
        f"nothing to bring down now (the latest values meet the target); the breach last seen "
        f"at {last.strftime('%H:%M')} UTC stays in the {human_duration(window.total_seconds())} "
        f"window: clears at {clears.strftime(when)} UTC if no new breach"
    )


def record_verdict(verdict: GateVerdict | RunVerdicts, path: str | Path | None) -> Path | None:
    """Write ``verdict`` as JSON (its exact model dump) to ``path``; "" or None writes nothing."""
    if path is None or str(path) == "":
        return None
    from igkit.atomic import write_bytes

    target = Path(path)
    write_bytes(target, verdict.model_dump_json(indent=2, by_alias=True).encode() + b"\n")
    return target


K6_WINDOW_COLUMNS = [
    "objective",
    "scenario",
    "file",
    "start",
    "end",
    "requests",
    "failed",
    "error_rate_pct",
    "max_error_rate_pct",
    "latency_samples",
    "p95_ms",
    "p95_threshold_ms",
    "status",
    "snapshot",
    "snapshot_sha256",
]


def k6_window_frame(run: Run, gate_id: str) -> pd.DataFrame:
    """The k6 per-window table of a gate's k6 objectives, one row per (objective, file, window).

    ``error_rate_pct`` and ``p95_ms`` are the window's figures; ``max_error_rate_pct`` and
    ``p95_threshold_ms`` the objective's thresholds from the matrix (NaN: no p95 judged).
    ``scenario`` is ``*`` for the objective over every request. ``status`` is the window's
    PASS/FAIL/NO_DATA/ERROR by the judge's own per-window test
    (:func:`igkit.judge.k6.window_statuses`); ``snapshot``/``snapshot_sha256`` the sealed
    window table the row comes from. Empty when the gate has no k6 objective or the run
    holds no k6 window table."""
    from igkit.judge.k6 import window_statuses
    from igkit.snapshots import ALL, K6Snapshot
    from igkit.spec.models import K6Objective

    settings = run.loaded.matrix.k6_settings()
    tables = [s for s in run.replay.k6 if isinstance(s, K6Snapshot) and s.status == "success"]
    rows: list[pd.DataFrame] = []
    for obj in run.loaded.matrix.gate(gate_id).objectives:
        if not isinstance(obj, K6Objective):
            continue
        max_err = obj.max_error_rate or settings.max_error_rate
        for snap in tables:
            table = snap.overall if obj.scenario is None else snap.scenarios.get(obj.scenario)
            if table is None or not table.windows:
                continue
            requests = np.array([w.requests for w in table.windows], dtype=np.float64)
            failed = np.array([w.failed for w in table.windows], dtype=np.float64)
            p95 = np.array(
                [np.nan if w.p95_seconds is None else w.p95_seconds for w in table.windows],
                dtype=np.float64,
            )
            rate = np.divide(
                failed, requests, out=np.full_like(requests, np.nan), where=requests > 0
            )
            rows.append(
                pd.DataFrame(
                    {
                        "objective": obj.name,
                        "scenario": obj.scenario or ALL,
                        "file": snap.file,
                        "start": pd.to_datetime([w.start for w in table.windows], utc=True),
                        "end": pd.to_datetime([w.end for w in table.windows], utc=True),
                        "requests": requests.astype(np.int64),
                        "failed": failed.astype(np.int64),
                        "error_rate_pct": rate * 100.0,
                        "max_error_rate_pct": from_base(
                            to_base(max_err.value, max_err.unit), Unit.PERCENT
                        ),
                        "latency_samples": [w.latency_samples for w in table.windows],
                        "p95_ms": p95 * 1000.0,
                        "p95_threshold_ms": np.nan
                        if obj.p95 is None
                        else from_base(to_base(obj.p95.value, obj.p95.unit), Unit.MS),
                        "status": [st.value for st in window_statuses(snap, table, obj, settings)],
                        "snapshot": snap.id,
                        "snapshot_sha256": snap.sha256,
                    },
                    columns=K6_WINDOW_COLUMNS,
                )
            )
    if not rows:
        return pd.DataFrame(columns=K6_WINDOW_COLUMNS)
    return pd.concat(rows, ignore_index=True)


def evidence_frame(run: Run, gate_id: str) -> pd.DataFrame:
    """The checks of a gate's evidence objectives (attestations, SBOMs, policy bundles, drill,
    approvals, comms): one row per recorded detail, with the objective's status."""
    from igkit.spec.models import K6Objective

    kinds = {
        o.name: getattr(o, "type", "")
        for o in run.loaded.matrix.gate(gate_id).objectives
        if not isinstance(o, PrometheusObjective | K6Objective)
    }
    rows = [
        {
            "objective": o.name,
            "type": kinds[o.name],
            "status": o.status.value,
            "check": key,
            "value": value,
        }
        for o in run.gate(gate_id).objectives
        if o.name in kinds
        for key, value in (o.details or {"reasons": " | ".join(o.reasons)}).items()
    ]
    return pd.DataFrame(rows, columns=["objective", "type", "status", "check", "value"])


def open_run(
    *,
    gate: str = "",
    prom_url: str = "",
    at: str = "",
    window: str = "",
    tenant: str = "",
    select: str = "",
    snapshot_dir: str | Path = "",
    k6_files: str | Path | Sequence[str | Path] = (),
    evidence_dir: str | Path = "",
    trust_dir: str | Path = "",
    matrix: str | Path = "",
    out_dir: str | Path = "",
) -> Run:
    """A gate notebook's parameters -> the run it shows ("" means not given; ``gate`` ""
    means the first gate of the matrix, :func:`shown_gate`).

    A plain replay (only ``snapshot_dir``, ``matrix``, ``trust_dir``) re-evaluates the run's
    snapshots in memory — how ``go-no-go`` renders its reports. Anything more (``prom_url``,
    ``at``/``window``/``tenant``/``select``, files, ``out_dir``) is a full
    :func:`igkit.run.run_gates` of ``gate`` into ``out_dir`` (a new temp dir when empty) —
    exactly what ``igkit go-no-go`` does — and the run shown is that run's snapshots, whose
    verdict must equal the one run_gates wrote. Credentials come only from the environment."""
    listed: Sequence[str | Path] = [k6_files] if isinstance(k6_files, str | Path) else k6_files
    files = [Path(f) for f in listed if str(f)]
    overrides = (prom_url, at, window, tenant, select, str(evidence_dir), str(out_dir))
    if not files and not any(overrides):
        run = load_run(snapshot_dir, matrix, trust_dir)
        _known_gate(run, gate)
        return run
    gate = gate or load_matrix(Path(matrix) if str(matrix) else None).matrix.gates[0].id
    from igkit.trust import trust_dir_from

    trust = trust_dir_from(Path(trust_dir) if str(trust_dir) else None)
    if trust is None and not prom_url and str(snapshot_dir) == "":
        from igkit.demo import demo_trust_dir

        trust = demo_trust_dir()  # the shipped sample's anchors, as load_run takes them
    if prom_url and str(snapshot_dir):
        raise ConfigError(
            "give prom_url (fetch now) or snapshot_dir (replay), not both", where="snapshot_dir"
        )
    import tempfile

    from igkit.redact import redact_data
    from igkit.run import RunRequest, run_gates
    from igkit.timeutil import parse_duration, parse_instant

    out = Path(out_dir) if str(out_dir) else Path(tempfile.mkdtemp(prefix="igkit-notebook-run-"))
    try:
        request = RunRequest(
            out=out,
            matrix=Path(matrix) if str(matrix) else None,
            gates=[gate],
            at=parse_instant(at) if at else None,
            prom_url=prom_url or None,
            snapshot_dir=None if prom_url else resolve_snapshot_dir(snapshot_dir),
            tenant=tenant or None,
            select=select or None,
            window=parse_duration(window) if window else None,
            k6_files=files,
            evidence_dir=Path(evidence_dir) if str(evidence_dir) else None,
            trust_dir=trust,
        )
    except ValueError as exc:  # a malformed at/window, or a field RunRequest refuses
        first = str(exc).strip().splitlines()
        raise ConfigError(
            " ".join(first[-2:]) if first else str(exc), where="notebook parameters"
        ) from None
    written = run_gates(request)
    run = load_run(out, matrix, trust)
    _known_gate(run, gate)
    recorded = next(g for g in written.gates if g.id == gate)
    shown, wrote = (redact_data(v.model_dump(mode="json")) for v in (run.gate(gate), recorded))
    if shown != wrote:
        raise IgkitError(
            f"{gate}: the verdict replayed from {out} differs from the one run_gates wrote"
        )
    return run


def shown_gate(run: Run, gate: str) -> str:
    """The gate a notebook shows: ``gate``, or the first gate of the matrix when ""."""
    return gate or run.gate_ids[0]


def _known_gate(run: Run, gate: str) -> None:
    """ "" (the first gate of the matrix) or one of its gates; else a ConfigError listing them."""
    if gate and gate not in run.gate_ids:
        raise ConfigError(
            f"unknown gate {gate!r} (matrix has {', '.join(run.gate_ids)})", where="gate"
        )


def series_frame(run: Run, gate_id: str) -> pd.DataFrame:
    """Every Prometheus objective of a gate as one long frame (:meth:`Run.objective_frame`
    rows with an ``objective`` column first); empty when the gate has none."""
    frames = [
        run.objective_frame(gate_id, name).assign(objective=name)
        for name in run.objective_names(gate_id, series_only=True)
    ]
    columns = ["objective", *FRAME_COLUMNS]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]
