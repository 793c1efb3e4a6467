"""Rules: judge a step grid of values against a threshold, vectorised over steps and series.

Pure functions of a wide frame (index = expected step timestamps in ms, one column per
series) plus the objective's settings and the evaluation time. NaN marks a step the
server did not return (a gap); ±Inf is present but never green.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from igkit.finops.budgets import Budget
from igkit.finops.figures import counter_figures
from igkit.finops.mtd import counter_month_to_date
from igkit.finops.projection import linear_projection as month_end_projection
from igkit.finops.projection import month_progress
from igkit.snapshots import quote_label
from igkit.spec.finops import FinopsSpec
from igkit.spec.models import (
    Aggregate,
    AllSteps,
    BudgetBurn,
    Comparison,
    FractionOfSteps,
    ResolvedSettings,
    Rule,
    Threshold,
)
from igkit.timeutil import human_duration, short_time
from igkit.units import Unit, fmt, from_base, to_base
from igkit.verdicts import SeriesVerdict, Status, worst

_OPS: dict[Comparison, Callable[[Any, float], Any]] = {
    Comparison.LE: operator.le,
    Comparison.LT: operator.lt,
    Comparison.GE: operator.ge,
    Comparison.GT: operator.gt,
}


@dataclass(frozen=True)
class Judgement:
    status: Status
    series: list[SeriesVerdict]
    observed: float | None
    coverage: float | None
    reasons: list[str]
    details: dict[str, float | str | None] = field(default_factory=dict)


def _ts(ms: float) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Inclusive index ranges of consecutive True values in a 1-D mask."""
    if not mask.any():
        return []
    padded = np.concatenate(([False], mask, [False])).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[0::2].tolist(), (edges[1::2] - 1).tolist(), strict=True))


def _longest_runs(mask: np.ndarray) -> np.ndarray:
    """Length of the longest run of True in each column of a (steps, series) mask."""
    n, k = mask.shape
    if n == 0:
        return np.zeros(k, dtype=np.int64)
    row = np.arange(1, n + 1, dtype=np.int64)[:, None]
    last_false = np.maximum.accumulate(np.where(mask, 0, row), axis=0)
    return np.asarray((row - last_false).max(axis=0), dtype=np.int64)


def _first_true(mask: np.ndarray) -> np.ndarray:
    """Row of the first True per column, -1 where there is none."""
    return np.where(mask.any(axis=0), np.argmax(mask, axis=0), -1)


def _last_true(mask: np.ndarray) -> np.ndarray:
    """Row of the last True per column, -1 where there is none."""
    return np.where(mask.any(axis=0), len(mask) - 1 - np.argmax(mask[::-1], axis=0), -1)


_PLAIN = re.compile(r"[A-Za-z0-9_.:/@-]+\Z")


def _label_text(labels: dict[str, str]) -> str:
    """``tenant=acme, worker=w1``; a name or value holding anything else is quoted, so two
    series can never read alike."""
    shown = {k: v for k, v in labels.items() if k != "__name__"}
    return ", ".join(
        f"{k if _PLAIN.match(k) else quote_label(k)}={v if _PLAIN.match(v) else quote_label(v)}"
        for k, v in sorted(shown.items())
    )


def _when(ts_ms: np.ndarray, runs: list[tuple[int, int]], with_date: bool, limit: int = 3) -> str:
    parts = []
    for a, b in runs[:limit]:
        first = short_time(ts_ms[a] / 1000, with_date=with_date)
        parts.append(first if a == b else f"{first}–{short_time(ts_ms[b] / 1000)}")
    more = f" (+{len(runs) - limit} more)" if len(runs) > limit else ""
    return ", ".join(parts) + " UTC" + more


@dataclass(frozen=True)
class _Coverage:
    present: np.ndarray  # (steps, series) bool
    coverage: np.ndarray  # (series,)
    longest_gap_s: np.ndarray
    last_idx: np.ndarray  # -1 when nothing present
    stale: np.ndarray
    data_problem: list[str | None]


def _coverage(
    values: np.ndarray, ts_ms: np.ndarray, settings: ResolvedSettings, at: datetime
) -> _Coverage:
    """Coverage, gaps and staleness of every series at once; text only for the series that
    have a data problem."""
    n, k = values.shape
    step = settings.step.total_seconds()
    present = ~np.isnan(values)
    n_present = present.sum(axis=0)
    coverage = n_present / max(n, 1)
    gaps = _longest_runs(~present).astype(np.float64) * step
    last_idx = _last_true(present)
    at_ms = at.timestamp() * 1000
    last_ts = np.where(last_idx >= 0, ts_ms[np.maximum(last_idx, 0)], -np.inf)
    stale = (at_ms - last_ts) / 1000 > settings.max_staleness.total_seconds()
    max_gap = settings.max_gap.total_seconds()
    flawed = (last_idx < 0) | (coverage < settings.min_coverage) | stale | (gaps > max_gap)
    problems: list[str | None] = [None] * k
    for j in np.flatnonzero(flawed).tolist():
        if last_idx[j] < 0:
            problems[j] = "no samples in the window"
        elif coverage[j] < settings.min_coverage:
            problems[j] = (
                f"coverage {coverage[j]:.1%} ({int(n_present[j])} of {n} steps) is below the "
                f"{settings.min_coverage:.0%} minimum; longest gap {human_duration(gaps[j])}"
            )
        elif stale[j]:
            problems[j] = (
                f"stale: newest sample at {short_time(last_ts[j] / 1000)} UTC, "
                f"{human_duration((at_ms - last_ts[j]) / 1000)} before evaluation "
                f"(max {human_duration(settings.max_staleness.total_seconds())})"
            )
        else:
            problems[j] = (
                f"gap of {human_duration(gaps[j])} in the window (max {human_duration(max_gap)})"
            )
    return _Coverage(present, coverage, gaps, last_idx, stale, problems)


def _present_first(values: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Each column's present values moved to its top, in their original order (NaN below)."""
    order = np.argsort(~present, axis=0, kind="stable")
    return np.take_along_axis(values, order, axis=0)


def _by_count(
    values: np.ndarray, present: np.ndarray, reduce: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray:
    """``reduce`` applied to each column's present values; NaN where none is present.

    Columns with the same number of present values are reduced together as one contiguous
    (series, values) block, so each reduction sees exactly the 1-D data it would see for one
    series alone (same summation order, same result) — one call per distinct count, not
    one per series."""
    counts = present.sum(axis=0)
    packed = _present_first(values, present)
    out = np.full(values.shape[1], np.nan)
    for count in np.unique(counts[counts > 0]).tolist():
        cols = np.flatnonzero(counts == count)
        block = np.ascontiguousarray(packed[:count, cols].T)
        out[cols] = reduce(block)
    return out


_AGGREGATES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "mean": lambda b: np.mean(b, axis=1),
    "median": lambda b: np.median(b, axis=1),
    "max": lambda b: np.max(b, axis=1),
    "min": lambda b: np.min(b, axis=1),
    "last": lambda b: b[:, -1],
}


def judge_steps(
    frame: pd.DataFrame,
    labels: dict[str, dict[str, str]],
    *,
    comparison: Comparison,
    threshold: Threshold,
    rule: Rule,
    settings: ResolvedSettings,
    at: datetime,
    what: str,
) -> Judgement:
    """Judge ``all_steps``, ``fraction_of_steps`` or ``aggregate`` rules for every series.

    Counts, runs, worst values, observations and statuses are computed for all series at
    once over the (steps, series) matrix; the loop at the end only writes each series'
    verdict and reason."""
    if isinstance(rule, BudgetBurn):
        raise TypeError("budget_burn is judged by judge_budget")
    unit = threshold.unit
    thr = to_base(threshold.value, unit)
    ts_ms = frame.index.to_numpy(dtype=np.float64)
    n = len(ts_ms)
    if frame.shape[1] == 0:
        reason = f"{what}: the query returned no series for the window — nothing to judge"
        return Judgement(Status.NO_DATA, [], None, 0.0, [reason])
    values = frame.to_numpy(dtype=np.float64)
    k = values.shape[1]
    cov = _coverage(values, ts_ms, settings, at)
    present = cov.present
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(values) & _OPS[comparison](values, thr)
    violating = present & ~ok
    with_date = n > 0 and (ts_ms[-1] - ts_ms[0]) > 86_400_000
    higher_is_worse = comparison in (Comparison.LE, Comparison.LT)
    filler = -np.inf if higher_is_worse else np.inf
    masked = np.where(present, values, filler)
    worst_idx = np.argmax(masked, axis=0) if higher_is_worse else np.argmin(masked, axis=0)
    cols = np.arange(k)
    n_present = present.sum(axis=0)
    any_present = n_present > 0
    worst_value = np.where(any_present, values[worst_idx, cols], np.nan)
    n_viol = violating.sum(axis=0)
    met = ok.sum(axis=0)
    longest = np.zeros(k, dtype=np.int64)
    first_viol, last_viol = _first_true(violating), _last_true(violating)
    has_problem = np.array([p is not None for p in cov.data_problem], dtype=bool)

    if isinstance(rule, AllSteps):
        observed = worst_value
        longest = _longest_runs(violating)
        fail = (n_viol > 0) & (longest >= rule.min_consecutive)
        passed = ~fail & ~has_problem
    elif isinstance(rule, FractionOfSteps):
        need = rule.min_fraction
        q = (1 - need) if not higher_is_worse else need
        with np.errstate(invalid="ignore"):
            observed = _by_count(values, present, lambda b: np.quantile(b, q, axis=1))
        passed = (met / max(n, 1) >= need) & ~has_problem
        fail = ~passed & ((n - n_viol) / max(n, 1) < need)
    elif isinstance(rule, Aggregate):
        with np.errstate(invalid="ignore"):
            observed = _by_count(values, present, _AGGREGATES[rule.function])
            meets = np.isfinite(observed) & _OPS[comparison](observed, thr)
        passed = ~has_problem & any_present & meets
        fail = ~has_problem & ~passed
    else:  # pragma: no cover - the union is closed
        raise TypeError(type(rule).__name__)
    status = np.where(passed, 0, np.where(fail, 1, 2))
    statuses = (Status.PASS, Status.FAIL, Status.NO_DATA)

    verdicts: list[SeriesVerdict] = []
    for j, column in enumerate(frame.columns):
        lab = labels.get(str(column), {})
        text = _label_text(lab)
        name = f"{what} {{{text}}}" if text else what
        runs = _runs(violating[:, j]) if n_viol[j] else []
        observed_base = float(observed[j]) if any_present[j] else None
        verdict_status = statuses[status[j]]
        reason = _reason(
            rule,
            verdict_status,
            name=name,
            observed=observed_base,
            worst=float(worst_value[j]) if any_present[j] else None,
            worst_at=ts_ms[worst_idx[j]],
            present=int(n_present[j]),
            violations=int(n_viol[j]),
            met=int(met[j]),
            longest=int(longest[j]),
            n=n,
            runs=_when(ts_ms, runs, with_date) if runs else "",
            problem=cov.data_problem[j],
            coverage=float(cov.coverage[j]),
            comparison=comparison,
            threshold=threshold,
        )
        verdicts.append(
            SeriesVerdict(
                labels=lab,
                status=verdict_status,
                observed=_disp(observed_base, unit),
                coverage=float(cov.coverage[j]),
                steps_expected=n,
                steps_present=int(n_present[j]),
                steps_violating=int(n_viol[j]),
                first_violation=_ts(ts_ms[first_viol[j]]) if first_viol[j] >= 0 else None,
                last_violation=_ts(ts_ms[last_viol[j]]) if last_viol[j] >= 0 else None,
                worst_value=_disp(float(worst_value[j]), unit) if any_present[j] else None,
                worst_at=_ts(ts_ms[worst_idx[j]]) if any_present[j] else None,
                longest_gap_seconds=float(cov.longest_gap_s[j]),
                last_sample_at=_ts(ts_ms[cov.last_idx[j]]) if cov.last_idx[j] >= 0 else None,
                reason=reason,
            )
        )
    return _combine(verdicts, comparison, what, threshold)


def _reason(
    rule: Rule,
    status: Status,
    *,
    name: str,
    observed: float | None,
    worst: float | None,
    worst_at: float,
    present: int,
    violations: int,
    met: int,
    longest: int,
    n: int,
    runs: str,
    problem: str | None,
    coverage: float,
    comparison: Comparison,
    threshold: Threshold,
) -> str:
    """One series' reason, from the figures :func:`judge_steps` computed for it."""
    unit = threshold.unit
    limit = fmt(threshold.value, unit)
    if isinstance(rule, AllSteps):
        if status is Status.FAIL:
            in_a_row = f", {longest} in a row" if rule.min_consecutive > 1 else ""
            return (
                f"{name}: {fmt(_disp(observed, unit), unit)} {comparison.negated_word} "
                f"{limit} at {runs}, {violations} of {n} steps"
                f"{in_a_row} (worst at {short_time(worst_at / 1000)} UTC)"
            )
        if status is Status.NO_DATA:
            return f"{name}: {problem}"
        tolerated = (
            f"; {violations} isolated step(s) over target tolerated (fewer than "
            f"{rule.min_consecutive} in a row) at {runs}"
            if violations
            else ""
        )
        scope = (
            f"in every run of {rule.min_consecutive} steps"
            if violations
            else f"at all {present} steps"
        )
        return (
            f"{name}: {comparison.value} {limit} {scope} "
            f"(worst {fmt(_disp(observed, unit), unit)}, coverage {coverage:.1%}){tolerated}"
        )
    if isinstance(rule, FractionOfSteps):
        need = rule.min_fraction
        if status is Status.PASS:
            return (
                f"{name}: {comparison.value} {limit} in {met} of {n} steps "
                f"({met / n:.1%}, needs {need:.0%})" + (f"; below target at {runs}" if runs else "")
            )
        if status is Status.FAIL:
            return (
                f"{name}: target {comparison.value} {limit} met in only {met} of {n} steps "
                f"({met / n:.1%}, needs {need:.0%}); {comparison.negated_word} target at "
                f"{runs}, worst {fmt(_disp(worst, unit), unit)}"
            )
        return f"{name}: {problem or f'met in {met} of {n} steps; the missing steps decide'}"
    assert isinstance(rule, Aggregate)
    window = human_duration(rule.window.total_seconds())
    if status is Status.NO_DATA:
        return f"{name}: {problem}"
    if status is Status.PASS:
        return (
            f"{name}: {rule.function} {fmt(_disp(observed, unit), unit)} {comparison.value} "
            f"{limit} over {window}"
        )
    return (
        f"{name}: {rule.function} over {window} is "
        f"{fmt(_disp(observed, unit), unit)}, {comparison.negated_word} {limit}"
    )


def _disp(value: float | None, unit: Unit) -> float | None:
    return None if value is None else from_base(float(value), unit)


def _combine(
    verdicts: list[SeriesVerdict], comparison: Comparison, what: str, threshold: Threshold
) -> Judgement:
    status = worst([v.status for v in verdicts])
    observed_values = [v.observed for v in verdicts if v.observed is not None]
    observed: float | None = None
    if observed_values:
        observed = (
            max(observed_values)
            if comparison in (Comparison.LE, Comparison.LT)
            else min(observed_values)
        )
    coverage = min(v.coverage for v in verdicts) if verdicts else 0.0
    if status is Status.PASS:
        if len(verdicts) == 1:
            reasons = [verdicts[0].reason]
        else:
            reasons = [
                f"{what}: all {len(verdicts)} series PASS ({comparison.value} {fmt(threshold.value, threshold.unit)}); "
                f"worst {fmt(observed, threshold.unit)}, lowest coverage {coverage:.1%}"
            ]
            reasons += [v.reason for v in verdicts if v.steps_violating]
    else:
        reasons = [v.reason for v in verdicts if v.status is not Status.PASS]
    return Judgement(status, verdicts, observed, coverage, reasons)


def judge_budget(
    frame: pd.DataFrame,
    labels: dict[str, dict[str, str]],
    *,
    comparison: Comparison,
    threshold: Threshold,
    rule: BudgetBurn,
    settings: ResolvedSettings,
    at: datetime,
    what: str,
    finops: FinopsSpec | None = None,
) -> Judgement:
    """Month-to-date spend from cumulative USD counters, against a share of the budget.

    Spend is :func:`igkit.finops.mtd.counter_month_to_date`, the one month-to-date the
    FinOps views share (resets, late series); a stale or silent cost series makes the spend
    unknown: NO_DATA.
    """
    unit = threshold.unit
    ts_ms = frame.index.to_numpy(dtype=np.float64)
    n = len(ts_ms)
    if frame.shape[1] == 0:
        return Judgement(
            Status.NO_DATA,
            [],
            None,
            0.0,
            [f"{what}: no cost series for this month — spend unknown"],
        )
    values = frame.to_numpy(dtype=np.float64)
    names = [f"{{{_label_text(labels.get(str(c), {}))}}}" for c in frame.columns]
    counted = counter_month_to_date(
        values,
        ts_ms,
        names,
        step_s=settings.step.total_seconds(),
        max_gap_s=settings.max_gap.total_seconds(),
        max_staleness_s=settings.max_staleness.total_seconds(),
        at=at,
    )
    if not np.isfinite(counted.total):
        return Judgement(
            Status.ERROR,
            [],
            None,
            None,
            [f"{what}: a cost counter holds ±Inf; spend is unknowable"],
        )
    spend_by_series, spend = counted.by_series, counted.total

    union = pd.DataFrame(
        {"any": np.where(~np.isnan(values).all(axis=1), 0.0, np.nan)}, index=frame.index
    )
    cov = _coverage(union.to_numpy(), ts_ms, settings, at)
    problem = cov.data_problem[0] or counted.problem

    share = spend / rule.budget_usd
    share_disp = from_base(share, unit)
    elapsed, month_len = month_progress(at)
    extra = _projection_details(frame, labels, rule, settings, at, finops or FinopsSpec())
    note = extra["projection_note"]
    projected = month_end_projection(spend, at) if note is None else None
    details: dict[str, float | str | None] = {
        "month_to_date_usd": round(spend, 6),
        "budget_usd": rule.budget_usd,
        "projected_month_end_usd": round(projected, 2) if projected is not None else None,
        "projected_share_of_budget": round(projected / rule.budget_usd, 6)
        if projected is not None
        else None,
        "month_elapsed_share": round(elapsed / month_len, 6),
    }
    details.update(extra)
    for column, amount in zip(frame.columns, spend_by_series, strict=True):
        lab = labels.get(str(column), {})
        details[f"spend_usd[{_label_text(lab)}]"] = round(float(amount), 6)
    common = _common_labels([labels.get(str(c), {}) for c in frame.columns])
    name = f"{what} {{{_label_text(common)}}}" if common else what
    projection = (
        f"; linear month-end projection ${projected:,.0f} ({projected / rule.budget_usd:.0%} of budget)"
        if projected is not None
        else f"; {note}"
        if isinstance(note, str) and "min_history" in note
        else ""
    )
    breach = not _OPS[comparison](np.float64(share), to_base(threshold.value, unit))
    line = f"{name}: month-to-date ${spend:,.2f} = {fmt(share_disp, unit)} of the ${rule.budget_usd:,.0f} budget"
    if breach:
        status = Status.FAIL
        reason = f"{line}, {comparison.negated_word} {fmt(threshold.value, unit)}{projection}"
    elif problem:
        status, reason = Status.NO_DATA, f"{name}: {problem}"
    else:
        status = Status.PASS
        reason = f"{line} ({comparison.value} {fmt(threshold.value, unit)}){projection}"
    present = cov.present[:, 0]
    verdict = SeriesVerdict(
        labels=common,
        status=status,
        observed=share_disp,
        coverage=float(cov.coverage[0]),
        steps_expected=n,
        steps_present=int(present.sum()),
        steps_violating=0,
        longest_gap_seconds=float(cov.longest_gap_s[0]),
        last_sample_at=_ts(ts_ms[cov.last_idx[0]]) if cov.last_idx[0] >= 0 else None,
        reason=reason,
    )
    return Judgement(status, [verdict], share_disp, float(cov.coverage[0]), [reason], details)


def _projection_details(
    frame: pd.DataFrame,
    labels: dict[str, dict[str, str]],
    rule: BudgetBurn,
    settings: ResolvedSettings,
    at: datetime,
    finops: FinopsSpec,
) -> dict[str, float | str | None]:
    """Both month-end projections of :mod:`igkit.finops.projection` for the G6 details, and
    which one drives the ladder (``finops.projection``); the reason when there is none."""
    budget = Budget(name="budget", budget_usd=rule.budget_usd, alert_pct=100)
    _, fig = counter_figures(frame, labels, budget=budget, settings=settings, at=at, spec=finops)
    driving = {"linear": fig.linear_projection, "run_rate": fig.run_rate_projection}.get(
        fig.driver or ""
    )
    return {
        "run_rate_projection_usd": None
        if fig.run_rate_projection is None
        else round(fig.run_rate_projection, 2),
        "run_rate_days": float(finops.run_rate_days),
        "projection_driver": fig.driver,
        "driving_projection_usd": None if driving is None else round(driving, 2),
        "driving_projected_share": None
        if fig.projected_share is None
        else round(fig.projected_share, 6),
        "projection_note": "; ".join(r.removeprefix("budget: ") for r in fig.reasons) or None,
    }


def _common_labels(label_sets: list[dict[str, str]]) -> dict[str, str]:
    if not label_sets:
        return {}
    first = label_sets[0]
    return {
        k: v
        for k, v in first.items()
        if k != "__name__" and all(s.get(k) == v for s in label_sets[1:])
    }
