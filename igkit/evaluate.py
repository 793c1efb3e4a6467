"""The pure evaluation: (matrix, snapshots, evaluation time) -> verdicts.

Snapshots are looked up by the id of the request the plan derives, so the same inputs
always give the same verdicts, live or replayed. An exception while judging one objective
becomes that objective's ERROR verdict; it never aborts the run.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from igkit import __version__
from igkit.gates.prometheus import evaluate_prometheus
from igkit.matrix.loader import LoadedMatrix
from igkit.matrix.models import PendingObjective, PrometheusObjective
from igkit.plan import PlannedQuery, plan
from igkit.snapshots import Snapshot
from igkit.verdicts import ObjectiveVerdict, RunVerdicts, Status, decide, gate_verdict


def _pending(gate_id: str, obj: PendingObjective) -> ObjectiveVerdict:
    return ObjectiveVerdict(
        name=obj.name,
        description=obj.description,
        status=Status.ERROR,
        reasons=[
            f"{gate_id} {obj.name}: {obj.type} checks are not implemented in igkit {__version__}; "
            "this objective cannot pass yet"
        ],
    )


def _safe(pq: PlannedQuery, snap: Snapshot | str, at: datetime) -> ObjectiveVerdict:
    try:
        return evaluate_prometheus(pq, snap, at)
    except Exception as exc:
        return ObjectiveVerdict(
            name=pq.objective.name,
            status=Status.ERROR,
            reasons=[
                f"{pq.gate.id} {pq.objective.name}: evaluation failed: {type(exc).__name__}: {exc}"
            ],
            snapshots=[snap.id] if isinstance(snap, Snapshot) else [],
        )


def evaluate(
    loaded: LoadedMatrix,
    gate_ids: list[str],
    at: datetime,
    snapshots: Mapping[str, Snapshot | str],
    *,
    tenant: str | None,
    source: str,
) -> RunVerdicts:
    """Judge ``gate_ids`` at ``at`` from ``snapshots`` (request id -> snapshot or failure text)."""
    planned = {(p.gate.id, p.objective.name): p for p in plan(loaded.matrix, gate_ids, at, tenant)}
    gates = []
    for gate_id in gate_ids:
        gate = loaded.matrix.gate(gate_id)
        verdicts = []
        for obj in gate.objectives:
            if isinstance(obj, PrometheusObjective):
                pq = planned[(gate.id, obj.name)]
                snap = snapshots.get(pq.request.id, f"no snapshot for request {pq.request.id}")
                verdicts.append(_safe(pq, snap, at))
            else:
                verdicts.append(_pending(gate.id, obj))
        gates.append(gate_verdict(gate.id, gate.name, verdicts))
    return RunVerdicts(
        decision=decide(gates),
        evaluated_at=at,
        matrix_sha256=loaded.sha256,
        matrix_source=loaded.source,
        igkit_version=__version__,
        tenant=tenant,
        source=source,
        gates=gates,
    )
