"""Evaluate a Prometheus objective from its snapshot (never from a client)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from igkit.judge.rules import Judgement, judge_budget, judge_steps
from igkit.judge.spend import projection_warning
from igkit.snapshots import (
    FetchFailure,
    ResultError,
    Snapshot,
    check_range_snapshot,
    one_line,
    series_labels,
    to_wide_frame,
)
from igkit.spec.finops import FinopsSpec
from igkit.spec.models import BudgetBurn, CostLadder
from igkit.spec.plan import PlannedQuery
from igkit.timeutil import human_duration, short_time
from igkit.units import to_base
from igkit.verdicts import ObjectiveVerdict, SeriesVerdict, Status, worst

if TYPE_CHECKING:
    import pandas as pd


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


def _snapshot_problem(snapshot: Snapshot | FetchFailure, what: str, role: str) -> str | None:
    """Why a snapshot cannot be judged (ERROR), or None."""
    if isinstance(snapshot, FetchFailure):
        return f"{what}: {snapshot.message}"
    if snapshot.status == "error":
        return f"{what}: {role}failed — {one_line(snapshot.error or '')} (snapshot {snapshot.id})"
    if snapshot.warnings:
        return (
            f"{what}: the server answered the {role}with warnings, so the data may be partial: "
            f"{one_line('; '.join(snapshot.warnings))} (snapshot {snapshot.id})"
        )
    return None


def _window_text(pq: PlannedQuery) -> str:
    start, end = pq.request.start.timestamp(), pq.request.end.timestamp()
    with_date = end - start > 86_400 or pq.request.start.date() != pq.request.end.date()
    return f"{short_time(start, with_date=with_date)}–{short_time(end, with_date=with_date)} UTC"


def _instant_text(moment: datetime, *, with_date: bool) -> str:
    """``2025-06-20T13:00Z`` (or ``14:00Z`` when the date is said already); seconds if any."""
    text = moment.strftime("%H:%M:%S" if moment.second else "%H:%M") + "Z"
    return f"{moment.strftime('%Y-%m-%d')}T{text}" if with_date else text


def no_series_reason(pq: PlannedQuery, what: str) -> str:
    """A query that matched nothing: the exact query and the absolute window, in one line (the
    usual cause is a wrong --at, a wrong --select or a renamed metric)."""
    start, end = pq.request.start.astimezone(UTC), pq.request.end.astimezone(UTC)
    same_day = start.date() == end.date()
    window = (
        f"between {_instant_text(start, with_date=True)} and "
        f"{_instant_text(end, with_date=not same_day)}"
    )
    spend = " (month-to-date spend unknown)" if isinstance(pq.objective.rule, BudgetBurn) else ""
    query = " ".join(pq.request.query.split())
    return f"{what}: no series for {query} {window}{spend} — is --at right?"


def _expected_values(
    pq: PlannedQuery, expect_snapshot: Snapshot | FetchFailure | None, what: str
) -> tuple[list[str] | None, str | None, Status | None]:
    """The declared values of ``expect.label``; or (None, reason, status) when unknown."""
    expect = pq.objective.expect
    if expect is None:
        return None, None, None
    if expect.values is not None:
        return list(expect.values), None, None
    if expect_snapshot is None:
        return None, f"{what}: the expect query was not fetched", Status.ERROR
    problem = _snapshot_problem(expect_snapshot, what, "expect query ")
    if problem:
        return None, problem, Status.ERROR
    assert isinstance(expect_snapshot, Snapshot)
    try:
        data = check_range_snapshot(expect_snapshot)
    except ResultError as exc:
        return (
            None,
            (f"{what}: malformed expect query answer: {exc} (snapshot {expect_snapshot.id})"),
            Status.ERROR,
        )
    values = sorted({lab[expect.label] for lab in data.labels if expect.label in lab})
    if not values:
        return (
            None,
            (
                f"{what}: the expect query returned no series with label {expect.label} in "
                f"{_window_text(pq)}: which series must exist is unknown (snapshot {expect_snapshot.id})"
            ),
            Status.NO_DATA,
        )
    return values, None, None


def _missing_series(
    pq: PlannedQuery,
    judgement: Judgement,
    labels: list[dict[str, str]],
    expected: list[str] | None,
    what: str,
) -> list[SeriesVerdict]:
    """NO_DATA verdicts for declared series without data, and for too few series."""
    obj = pq.objective
    n = len(pq.request.grid())

    def absent(series_labels: dict[str, str], reason: str) -> SeriesVerdict:
        return SeriesVerdict(
            labels=series_labels,
            status=Status.NO_DATA,
            observed=None,
            coverage=0.0,
            steps_expected=n,
            steps_present=0,
            steps_violating=0,
            reason=reason,
        )

    out: list[SeriesVerdict] = []
    if expected is not None and obj.expect is not None:
        label = obj.expect.label
        seen = {lab.get(label) for lab in labels}
        out += [
            absent({label: value}, f"{what}: {label} {value}: no series in {_window_text(pq)}")
            for value in expected
            if value not in seen
        ]
    if len(labels) < obj.min_series and labels:
        out.append(
            absent(
                {},
                f"{what}: {len(labels)} series in {_window_text(pq)}, fewer than "
                f"min_series {obj.min_series}",
            )
        )
    return out


def _with_expected(
    details: dict[str, float | str | None], pq: PlannedQuery, expected: list[str] | None
) -> dict[str, float | str | None]:
    """Record which series the objective declared, so the verdict shows what was required."""
    expect = pq.objective.expect
    if expect is None or expected is None:
        return details
    return {**details, f"expected_series[{expect.label}]": ", ".join(expected)}


def evaluate_prometheus(
    pq: PlannedQuery,
    snapshot: Snapshot | FetchFailure,
    at: datetime,
    *,
    expect: Snapshot | FetchFailure | None = None,
    ladder: CostLadder | None = None,
    finops: FinopsSpec | None = None,
) -> ObjectiveVerdict:
    """Turn one snapshot into an objective verdict; a FetchFailure says why none exists.

    ``expect`` is the snapshot of the objective's ``expect.query``; ``ladder`` (the matrix's
    ``cost_ladder``) names the downshift tier of a budget projected over its alert and, with
    ``finops`` (the matrix's section), records the tier and why in a budget verdict's details
    (:func:`igkit.finops.ladder.objective_ladder`). Every result is validated
    again here (a replayed snapshot can be forged and resealed): a malformed one is ERROR."""
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
    refs = [s.id for s in (snapshot, expect) if isinstance(s, Snapshot)]
    problem = _snapshot_problem(snapshot, what, "query ")
    if problem:
        return ObjectiveVerdict(status=Status.ERROR, reasons=[problem], snapshots=refs, **base)
    assert isinstance(snapshot, Snapshot)
    try:
        data = check_range_snapshot(snapshot)
    except ResultError as exc:
        reason = f"{what}: malformed query answer: {exc} (snapshot {snapshot.id})"
        return ObjectiveVerdict(status=Status.ERROR, reasons=[reason], snapshots=refs, **base)
    expected, expect_reason, expect_status = _expected_values(pq, expect, what)
    frame = to_wide_frame(data, pq.request.grid())
    labels = series_labels(data)
    kwargs = {
        "comparison": obj.comparison,
        "threshold": obj.threshold,
        "settings": pq.settings,
        "at": at,
        "what": what,
    }
    judgement: Judgement
    if isinstance(obj.rule, BudgetBurn):
        judgement = judge_budget(frame, labels, rule=obj.rule, finops=finops, **kwargs)  # type: ignore[arg-type]
    else:
        judgement = judge_steps(frame, labels, rule=obj.rule, **kwargs)  # type: ignore[arg-type]
    if frame.shape[1] == 0 and judgement.status is Status.NO_DATA:
        judgement = dataclasses.replace(judgement, reasons=[no_series_reason(pq, what)])
    extra = _missing_series(pq, judgement, data.labels, expected, what)
    reasons = [f"{r} (snapshot {snapshot.id})" for r in judgement.reasons]
    statuses = [judgement.status] + [v.status for v in extra]
    if expect_status is not None and expect_reason is not None:
        statuses.append(expect_status)
    status = worst(statuses)
    if status is not judgement.status:
        reasons = [r for r in reasons if judgement.status is not Status.PASS]
    reasons += [f"{v.reason} (snapshot {snapshot.id})" for v in extra]
    if expect_reason is not None:
        reasons.append(expect_reason)
    warnings = []
    details = judgement.details
    if isinstance(obj.rule, BudgetBurn):
        alert = to_base(obj.threshold.value, obj.threshold.unit)
        warning = projection_warning(judgement.details, what=what, alert_share=alert, ladder=None)
        if ladder is not None:
            own = _budget_ladder(pq, frame, labels, at, ladder, finops, status, reasons)
            details = {**details, **own}
            tier = own.get("downshift_tier")
            if warning and isinstance(tier, int) and tier:
                warning += f"; downshift tier {tier} {own['downshift_tier_name']} (cost_ladder)"
        warnings = [warning] if warning else []
    return ObjectiveVerdict(
        status=status,
        observed=judgement.observed,
        coverage=judgement.coverage,
        reasons=reasons,
        warnings=warnings,
        snapshots=refs,
        series=judgement.series + extra,
        details=_with_expected(details, pq, expected),
        **base,
    )


def _budget_ladder(
    pq: PlannedQuery,
    frame: pd.DataFrame,
    labels: dict[str, dict[str, str]],
    at: datetime,
    ladder: CostLadder,
    finops: FinopsSpec | None,
    status: Status,
    reasons: list[str],
) -> dict[str, float | str | None]:
    """The downshift tier of a budget objective and why (an unjudgeable spend is tier 6)."""
    from igkit.finops.ladder import objective_budget, objective_ladder

    unknown = None
    if status in (Status.NO_DATA, Status.ERROR):
        unknown = "; ".join(reasons) or f"G6 verdict {status.value}"
    return objective_ladder(
        frame,
        labels,
        budget=objective_budget(pq.gate, pq.objective),
        settings=pq.settings,
        at=at,
        spec=finops or FinopsSpec(),
        ladder=ladder,
        unknown=unknown,
    )
