"""Evaluate a Prometheus objective from its snapshot (never from a client)."""

from __future__ import annotations

from datetime import datetime

from igkit.matrix.models import BudgetBurn
from igkit.plan import PlannedQuery
from igkit.rules import Judgement, judge_budget, judge_steps
from igkit.snapshots import Snapshot, series_labels, to_wide_frame
from igkit.timeutil import human_duration
from igkit.verdicts import ObjectiveVerdict, Status


def _rule_text(pq: PlannedQuery) -> str:
    rule = pq.objective.rule
    step = human_duration(pq.settings.step.total_seconds())
    if isinstance(rule, BudgetBurn):
        return f"budget_burn: month-to-date spend vs ${rule.budget_usd:,.0f}, step {step}"
    window = human_duration(rule.window.total_seconds())
    extra = {
        "all_steps": "every step",
        "fraction_of_steps": f"≥{getattr(rule, 'min_fraction', 0):.0%} of steps",
        "aggregate": f"{getattr(rule, 'function', '')} of steps",
    }[rule.kind]
    return f"{rule.kind}: {extra} over the last {window}, step {step}"


def evaluate_prometheus(
    pq: PlannedQuery, snapshot: Snapshot | str, at: datetime
) -> ObjectiveVerdict:
    """Turn one snapshot into an objective verdict; ``snapshot`` is a message when none exists."""
    obj = pq.objective
    base = {
        "name": obj.name,
        "description": obj.description,
        "threshold": obj.threshold.value,
        "unit": obj.threshold.unit.value,
        "comparison": obj.comparison.value,
        "rule": _rule_text(pq),
        "window_start": pq.request.start,
        "window_end": pq.request.end,
    }
    what = f"{pq.gate.id} {obj.name}"
    if isinstance(snapshot, str):
        return ObjectiveVerdict(status=Status.ERROR, reasons=[f"{what}: {snapshot}"], **base)
    refs = [snapshot.id]
    if snapshot.status == "error":
        reason = f"{what}: query failed — {snapshot.error} (snapshot {snapshot.id})"
        return ObjectiveVerdict(status=Status.ERROR, reasons=[reason], snapshots=refs, **base)
    if snapshot.warnings:
        reason = (
            f"{what}: the server answered with warnings, so the data may be partial: "
            f"{'; '.join(snapshot.warnings)} (snapshot {snapshot.id})"
        )
        return ObjectiveVerdict(status=Status.ERROR, reasons=[reason], snapshots=refs, **base)
    frame = to_wide_frame(snapshot.result, pq.request.grid())
    labels = series_labels(snapshot.result)
    kwargs = {
        "comparison": obj.comparison,
        "threshold": obj.threshold,
        "settings": pq.settings,
        "at": at,
        "what": what,
    }
    judgement: Judgement
    if isinstance(obj.rule, BudgetBurn):
        judgement = judge_budget(frame, labels, rule=obj.rule, **kwargs)  # type: ignore[arg-type]
    else:
        judgement = judge_steps(frame, labels, rule=obj.rule, **kwargs)  # type: ignore[arg-type]
    return ObjectiveVerdict(
        status=judgement.status,
        observed=judgement.observed,
        coverage=judgement.coverage,
        reasons=[f"{r} (snapshot {snapshot.id})" for r in judgement.reasons],
        snapshots=refs,
        series=judgement.series,
        details=judgement.details,
        **base,
    )
