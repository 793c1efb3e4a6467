"""``igkit cutover judge``: PROMOTE, HOLD or ROLLBACK for one canary stage (seed §3 ADR-003).

ROLLBACK when any trigger FIRED since the stage began. HOLD when any trigger is NO_DATA or
ERROR (or no trigger report could be had), the hold has not elapsed, the canary served fewer
than ``min_canary_requests``, or the canary does not meet ``canary_gate``'s thresholds on its
own. PROMOTE only when none of that holds. The canary is judged by a normal gate run (plan,
snapshots, verdicts.json under ``canary/``) of the canary gate with ``canary_select``
injected and its window replaced by the time since the stage began; the trigger engine's own
verb writes ``triggers/``; ``judge.json`` sums both up. A replay of the judge directory
re-evaluates both from their snapshots.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from igkit import atomic, rundir
from igkit.cutover.derive import CANARY_REQUESTS, derived, requests_objective, with_objectives
from igkit.cutover.models import (
    JUDGE_FILE,
    Action,
    Canary,
    CanaryObjective,
    Judgement,
    TriggerReport,
    TriggerStatus,
)
from igkit.cutover.triggers import TriggerCheck, check_triggers
from igkit.errors import ConfigError
from igkit.spec.cutover import CutoverSpec
from igkit.spec.loader import LoadedMatrix
from igkit.spec.models import PrometheusObjective
from igkit.timeutil import human_duration, rfc3339
from igkit.verdicts import RunVerdicts, Status, worst

CANARY_DIR = "canary"


@dataclass(frozen=True)
class JudgeRequest:
    stage: int
    stage_start: datetime
    at: datetime
    out: Path
    hold: timedelta | None = None
    prom_url: str | None = None
    replay: Path | None = None
    matrix: Path | None = None
    triggers: Path | None = None
    timeout: float = 30


def cutover_spec(loaded: LoadedMatrix) -> CutoverSpec:
    """The ``cutover:`` section, its gate names checked against the matrix's gates (here,
    not in the matrix model: a matrix without these verbs' gates stays valid for go-no-go)."""
    spec = loaded.matrix.cutover
    if spec is None:
        raise ConfigError("the matrix has no cutover: section", where=loaded.source)
    named = [spec.canary_gate, *(spec.postdeploy.gates if spec.postdeploy else [])]
    known = [g.id for g in loaded.matrix.gates]
    unknown = [g for g in dict.fromkeys(named) if g not in known]
    if unknown:
        raise ConfigError(
            f"cutover: names gate(s) {', '.join(unknown)} the matrix lacks "
            f"(it has {', '.join(known)})",
            where=loaded.source,
        )
    return spec


def judge(request: JudgeRequest, loaded: LoadedMatrix) -> Judgement:
    """Evaluate the stage and write ``out/judge.json`` (with ``canary/`` and ``triggers/``)."""
    spec = cutover_spec(loaded)
    if request.stage not in spec.stages:
        raise ConfigError(
            f"stage {request.stage} is not one of the matrix's {spec.stages}", where="--stage"
        )
    elapsed = request.at - request.stage_start
    if elapsed <= timedelta(0):
        raise ConfigError("the stage must start before --at", where="--stage-start")
    if request.replay is not None:
        rundir.check_apart(request.out, [request.replay], "--replay")
    with rundir.owned(request.out, fresh=True):
        run = canary_run(request, loaded, spec, elapsed)
        check = check_triggers(
            request.out,
            request.at,
            elapsed,
            prom_url=request.prom_url,
            replay=request.replay,
            matrix=request.matrix,
            given=request.triggers,
        )
        canary = canary_summary(run, spec)
        result = decide(
            stage=request.stage,
            stage_start=request.stage_start,
            at=request.at,
            hold=request.hold or spec.hold,
            triggers=check,
            canary=canary,
        )
        atomic.write_json(request.out / JUDGE_FILE, result.model_dump(mode="json", by_alias=True))
    return result


def canary_run(
    request: JudgeRequest, loaded: LoadedMatrix, spec: CutoverSpec, elapsed: timedelta
) -> RunVerdicts:
    """The canary gate's Prometheus objectives plus the request count, canary-selected, over
    the time since the stage began (live, or replaying ``replay/canary``)."""
    from igkit.run import RunRequest, run_loaded

    gate = loaded.matrix.gate(spec.canary_gate)
    objectives = [o for o in gate.objectives if isinstance(o, PrometheusObjective)]
    extra = requests_objective(spec.requests_query, spec.min_canary_requests)
    canary_gate = with_objectives(gate.model_copy(update={"objectives": objectives}), [extra])
    canary_matrix = derived(loaded, [canary_gate], "cutover canary")
    run_request = RunRequest(
        out=request.out / CANARY_DIR,
        gates=[gate.id],
        at=request.at,
        prom_url=None if request.replay else request.prom_url,
        snapshot_dir=request.replay / CANARY_DIR if request.replay else None,
        select=spec.canary_select,
        window=elapsed,
        timeout=request.timeout,
    )
    return run_loaded(run_request, canary_matrix, on_warning=lambda _: None)


def canary_summary(run: RunVerdicts, spec: CutoverSpec) -> Canary:
    gate = next(g for g in run.gates if g.id == spec.canary_gate)
    rows = [
        CanaryObjective(
            name=o.name,
            status=o.status,
            observed=o.observed,
            threshold=o.threshold,
            unit=o.unit,
            reasons=o.reasons,
            gated=o.gated,
        )
        for o in gate.objectives
    ]
    count = next((o for o in rows if o.name == CANARY_REQUESTS), None)
    judged = [o for o in rows if o.name != CANARY_REQUESTS and o.gated]
    return Canary(
        gate=spec.canary_gate,
        select=spec.canary_select,
        status=worst([o.status for o in judged]),
        requests=count.observed if count and count.status != Status.ERROR else None,
        min_requests=spec.min_canary_requests,
        objectives=rows,
        verdicts=CANARY_DIR,
    )


def decide(
    *,
    stage: int,
    stage_start: datetime,
    at: datetime,
    hold: timedelta,
    triggers: TriggerCheck,
    canary: Canary | None,
) -> Judgement:
    """The action and every reason for it (all are listed, the strongest decides)."""
    rollback: list[str] = []
    holds: list[str] = []
    report: TriggerReport | None = triggers.report
    if report is None:
        holds.append(f"triggers unknown: {triggers.problem}")
    outcomes = list(report.triggers) if report else []
    for t in outcomes:
        why = "; ".join(t.reasons) or "no reason given"
        if t.status == TriggerStatus.FIRED:
            when = f" at {rfc3339(t.fired_at)}" if t.fired_at else ""
            rollback.append(f"trigger {t.id} FIRED{when}: {why}")
        elif t.status != TriggerStatus.QUIET:
            holds.append(f"trigger {t.id} is {t.status.value}: {why}")
    elapsed = at - stage_start
    if elapsed < hold:
        holds.append(
            f"hold not elapsed: {human_duration(elapsed.total_seconds())} of "
            f"{human_duration(hold.total_seconds())} at {stage}%"
        )
    if canary is None:
        holds.append("canary not judged")
    else:
        if canary.requests is None:
            holds.append(f"canary request count unknown ({canary.select})")
        elif canary.requests < canary.min_requests:
            holds.append(
                f"canary served {canary.requests:.0f} requests, fewer than {canary.min_requests}"
            )
        if canary.status != Status.PASS:
            bad = [o for o in canary.objectives if o.name != CANARY_REQUESTS and o.gated]
            bad = [o for o in bad if o.status != Status.PASS]
            for o in bad or []:
                holds.append(
                    f"canary {canary.gate}/{o.name} {o.status.value}: "
                    f"{'; '.join(o.reasons) or 'no reason given'}"
                )
            if not bad:
                holds.append(f"canary {canary.gate}: nothing was judged")
    if rollback:
        action, reasons = Action.ROLLBACK, rollback + holds
    elif holds:
        action, reasons = Action.HOLD, holds
    else:
        action = Action.PROMOTE
        reasons = [
            f"hold of {human_duration(hold.total_seconds())} elapsed, "
            f"{len(outcomes)} triggers QUIET, canary meets {canary.gate if canary else '?'}"
        ]
    return Judgement(
        stage=stage,
        stage_start=stage_start,
        evaluated_at=at,
        hold=hold,
        elapsed=elapsed,
        action=action,
        reasons=reasons,
        triggers=outcomes,
        canary=canary,
    )
