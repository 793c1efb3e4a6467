"""What the notebooks call: load a run's snapshots, re-evaluate it, and frame its data.

Everything here is a thin, tested layer over the pure evaluation: ``Run.verdicts()`` calls
:func:`igkit.judge.evaluate.evaluate` on the replayed snapshots exactly as ``igkit go-no-go
--replay`` does, so a notebook can never disagree with the command line. Frames are built
with vectorised pandas/numpy; nothing loops over rows.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from igkit.errors import ConfigError, SnapshotError, SourceError
from igkit.judge.evaluate import evaluate
from igkit.judge.spend import step_spend
from igkit.snapshots import Snapshot, parse_range_result, series_labels, to_wide_frame
from igkit.sources.replay import ReplaySource
from igkit.spec.loader import LoadedMatrix, load_matrix
from igkit.spec.models import BudgetBurn, Comparison, PrometheusObjective
from igkit.spec.plan import PlannedQuery, plan
from igkit.trust import TrustStore
from igkit.units import Unit, fmt, from_base, to_base
from igkit.verdicts import GateVerdict, RunVerdicts, Status

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
    def planned(self) -> dict[tuple[str, str], PlannedQuery]:
        return {
            (p.gate.id, p.objective.name): p
            for p in plan(self.loaded.matrix, self.gate_ids, self.at, self.tenant)
        }

    @cached_property
    def snapshots(self) -> dict[str, Snapshot | str]:
        """Request id -> snapshot, or the failure text (as ``igkit.run.fetch_all`` gives)."""
        out: dict[str, Snapshot | str] = {}
        for pq in self.planned.values():
            for _, request in pq.requests:
                try:
                    out[request.id] = self.replay.fetch(request)
                except SourceError as exc:
                    out[request.id] = str(exc)
        return out

    def verdicts(self, gate_ids: list[str] | None = None) -> RunVerdicts:
        """The same verdicts ``igkit go-no-go --replay`` computes for these snapshots."""
        ids = gate_ids or self.gate_ids
        if gate_ids is None and self._verdicts is not None:
            return self._verdicts
        result = evaluate(
            self.loaded,
            ids,
            self.at,
            self.snapshots,
            tenant=self.tenant,
            source=f"replay {self.replay.directory}",
            k6=self.replay.k6,
            evidence=self.replay.evidence,
            trust=self.trust,
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
        if isinstance(snap, str) or snap.status == "error":
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
            if o.status is Status.PASS:
                continue
            rows.append(
                {
                    "gate": g.id,
                    "objective": o.name,
                    "status": o.status.value,
                    "observed": o.observed,
                    "threshold": o.threshold,
                    "unit": o.unit,
                    "needs": _needs(
                        o.status, o.observed, o.threshold, o.comparison, o.unit, o.reasons
                    ),
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


def _needs(
    status: Status,
    observed: float | None,
    threshold: float | None,
    comparison: str | None,
    unit: str | None,
    reasons: list[str],
) -> str:
    first = reasons[0] if reasons else ""
    if status is Status.FAIL and observed is not None and threshold is not None and comparison:
        u = Unit(unit) if unit else None

        def shown(v: float) -> str:
            return fmt(v, u) if u else f"{v:g}"

        if not np.isfinite(observed):
            return f"a finite value {comparison} {shown(threshold)} (observed {observed})"
        lower = comparison in ("<=", "<")
        delta = observed - threshold if lower else threshold - observed
        direction = "down" if lower else "up"
        return (
            f"bring it {direction} to {comparison} {shown(threshold)}: at least "
            f"{shown(abs(delta))} {direction} from {shown(observed)}"
        )
    if status is Status.NO_DATA:
        return f"data: {first}"
    if status is Status.ERROR:
        return f"fix the error: {first}"
    return f"{status.value}: {first}"


def record_verdict(verdict: GateVerdict | RunVerdicts, path: str | Path | None) -> Path | None:
    """Write ``verdict`` as JSON (its exact model dump) to ``path``; "" or None writes nothing."""
    if path is None or str(path) == "":
        return None
    from igkit.atomic import write_bytes

    target = Path(path)
    write_bytes(target, verdict.model_dump_json(indent=2, by_alias=True).encode() + b"\n")
    return target
