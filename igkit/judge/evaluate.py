"""The pure evaluation: (matrix, snapshots, evaluation time) -> verdicts.

Snapshots are looked up by the id of the request the plan derives, so the same inputs
always give the same verdicts, live or replayed. An exception while judging one objective
becomes that objective's ERROR verdict; it never aborts the run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from functools import partial

from igkit import __version__
from igkit.judge.evidence.gates import evaluate_evidence
from igkit.judge.k6 import evaluate_k6
from igkit.judge.prometheus import evaluate_prometheus
from igkit.snapshots import EvidenceSnapshot, K6Snapshot, K6SummarySnapshot, Snapshot
from igkit.spec.loader import LoadedMatrix
from igkit.spec.models import K6Objective, PrometheusObjective
from igkit.spec.plan import plan
from igkit.trust import TrustStore
from igkit.verdicts import ObjectiveVerdict, RunVerdicts, Status, decide, gate_verdict, scope_of


def _safe(gate_id: str, name: str, judge: Callable[[], ObjectiveVerdict]) -> ObjectiveVerdict:
    """Run one objective's judgement; a bug in it becomes that objective's ERROR, not a crash."""
    try:
        return judge()
    except Exception as exc:  # one objective's bug must not sink the run
        return ObjectiveVerdict(
            name=name,
            status=Status.ERROR,
            reasons=[f"{gate_id} {name}: evaluation failed: {type(exc).__name__}: {exc}"],
        )


def evaluate(
    loaded: LoadedMatrix,
    gate_ids: list[str],
    at: datetime,
    snapshots: Mapping[str, Snapshot | str],
    *,
    tenant: str | None,
    source: str,
    k6: Sequence[K6Snapshot | K6SummarySnapshot] = (),
    evidence: Sequence[EvidenceSnapshot] = (),
    trust: TrustStore | None = None,
    select: str | None = None,
    window: timedelta | None = None,
) -> RunVerdicts:
    """Judge ``gate_ids`` at ``at`` from ``snapshots`` (request id -> snapshot or failure text),
    the k6 and evidence snapshots of the run, and the trust anchors (keys, roots) that
    evidence signatures are verified with."""
    planned = {
        (p.gate.id, p.objective.name): p
        for p in plan(loaded.matrix, gate_ids, at, tenant, select=select, window=window)
    }
    tables = sorted((s for s in k6 if isinstance(s, K6Snapshot)), key=lambda s: s.file)
    summaries = sorted((s for s in k6 if isinstance(s, K6SummarySnapshot)), key=lambda s: s.file)
    settings = loaded.matrix.k6
    by_objective = {e.objective: e for e in evidence}
    gates = []
    for gate_id in gate_ids:
        gate = loaded.matrix.gate(gate_id)
        verdicts = []
        for obj in gate.objectives:
            if isinstance(obj, PrometheusObjective):
                pq = planned[(gate.id, obj.name)]
                snap = snapshots.get(pq.request.id, f"no snapshot for request {pq.request.id}")
                expect = None
                if pq.expect_request is not None:
                    rid = pq.expect_request.id
                    expect = snapshots.get(rid, f"no snapshot for expect query {rid}")
                judge_one = partial(evaluate_prometheus, pq, snap, at, expect=expect)
                verdicts.append(_safe(gate.id, obj.name, judge_one))
            elif isinstance(obj, K6Objective):
                judge = partial(evaluate_k6, gate.id, obj, settings, tables, summaries)
                verdicts.append(_safe(gate.id, obj.name, judge))
            else:
                found = by_objective.get(f"{gate.id}/{obj.name}")
                verdicts.append(
                    _safe(
                        gate.id,
                        obj.name,
                        partial(evaluate_evidence, gate.id, obj, found, at, trust),
                    )
                )
        gates.append(gate_verdict(gate.id, gate.name, verdicts))
    scope = scope_of(gate_ids, [g.id for g in loaded.matrix.gates])
    return RunVerdicts(
        decision=decide(gates, complete=scope.complete),
        scope=scope,
        evaluated_at=at,
        matrix_sha256=loaded.sha256,
        matrix_source=loaded.source,
        igkit_version=__version__,
        tenant=tenant,
        source=source,
        select=select,
        window=window,
        gates=gates,
    )
