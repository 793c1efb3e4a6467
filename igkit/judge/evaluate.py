"""The pure evaluation: (matrix, SnapshotSet, evaluation time) -> verdicts.

Snapshots are looked up by the id of the request the plan derives, so the same inputs
always give the same verdicts, live or replayed. An exception while judging one objective
becomes that objective's ERROR verdict; it never aborts the run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from functools import partial

from igkit import __version__
from igkit.judge.evidence.gates import evaluate_evidence
from igkit.judge.k6 import evaluate_k6
from igkit.judge.prometheus import evaluate_prometheus
from igkit.snapshots import SnapshotSet
from igkit.spec.loader import LoadedMatrix
from igkit.spec.models import JourneysObjective, K6Objective, PrometheusObjective
from igkit.spec.plan import plan
from igkit.trust import TrustStore
from igkit.verdicts import (
    ObjectiveVerdict,
    RunVerdicts,
    Status,
    change_ticket,
    decide,
    gate_verdict,
    reported_only,
    scope_of,
)


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


def _journeys(gate_id: str, obj: JourneysObjective) -> ObjectiveVerdict:
    """A go/no-go run has no journeys run: NO_DATA saying which verb judges it."""
    from igkit.journeys.judge import judge_journeys

    return judge_journeys(gate_id, obj, None)[0]


def evaluate(
    loaded: LoadedMatrix,
    snapshot_set: SnapshotSet,
    at: datetime,
    *,
    gate_ids: Sequence[str] | None = None,
    tenant: str | None,
    trust: TrustStore | None = None,
    source: str,
) -> RunVerdicts:
    """Judge ``gate_ids`` (None: every gate of the matrix) at ``at`` from ``snapshot_set``
    alone, with the trust anchors (keys, roots) evidence signatures are verified with.

    Requests are planned with the set's ``select``/``window``, so the judgement reads exactly
    the snapshots that were captured for it. A request without a snapshot is that objective's
    ERROR (the FetchFailure's message names it)."""
    ids = list(gate_ids) if gate_ids is not None else [g.id for g in loaded.matrix.gates]
    planned = {
        (p.gate.id, p.objective.name): p
        for p in plan(
            loaded.matrix,
            ids,
            at,
            tenant,
            select=snapshot_set.select,
            window=snapshot_set.window,
        )
    }
    gates = []
    for gate_id in ids:
        gate = loaded.matrix.gate(gate_id)
        verdicts = []
        for obj in gate.objectives:
            judge: Callable[[], ObjectiveVerdict]
            if isinstance(obj, PrometheusObjective):
                pq = planned[(gate.id, obj.name)]
                snap = snapshot_set.range(pq.request)
                expect = None
                if pq.expect_request is not None:
                    expect = snapshot_set.range(pq.expect_request, "expect query")
                judge = partial(
                    evaluate_prometheus,
                    pq,
                    snap,
                    at,
                    expect=expect,
                    ladder=loaded.matrix.cost_ladder,
                    finops=loaded.matrix.finops,
                )
            elif isinstance(obj, K6Objective):
                judge = partial(
                    evaluate_k6,
                    gate.id,
                    obj,
                    loaded.matrix.k6_settings(),
                    snapshot_set.k6_tables,
                    snapshot_set.k6_summaries,
                )
            elif isinstance(obj, JourneysObjective):
                judge = partial(_journeys, gate.id, obj)
            else:
                found = snapshot_set.evidence_for(f"{gate.id}/{obj.name}")
                judge = partial(evaluate_evidence, gate.id, obj, found, at, trust)
            verdict = _safe(gate.id, obj.name, judge)
            if isinstance(obj, PrometheusObjective | JourneysObjective) and not obj.gated:
                verdict = reported_only(gate.id, verdict)
            verdicts.append(verdict)
        gates.append(gate_verdict(gate.id, gate.name, verdicts))
    scope = scope_of(ids, [g.id for g in loaded.matrix.gates])
    return RunVerdicts(
        decision=decide(gates, complete=scope.complete),
        scope=scope,
        evaluated_at=at,
        matrix_sha256=loaded.sha256,
        matrix_source=loaded.source,
        igkit_version=__version__,
        tenant=tenant,
        source=source,
        select=snapshot_set.select,
        window=snapshot_set.window,
        change_ticket=change_ticket(gates),
        gates=gates,
    )
