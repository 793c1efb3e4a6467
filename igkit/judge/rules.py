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

from igkit.judge.spend import month_progress, step_spend
from igkit.judge.spend import projection as month_end_projection
from igkit.snapshots import quote_label
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


def _longest_run(mask: np.ndarray) -> int:
    runs = _runs(mask)
    return max((b - a + 1 for a, b in runs), default=0)


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
    n, k = values.shape
    step = settings.step.total_seconds()
    present = ~np.isnan(values)
    coverage = present.sum(axis=0) / max(n, 1)
    gaps = np.array([_longest_run(~present[:, j]) for j in range(k)], dtype=np.float64) * step
    any_present = present.any(axis=0)
    last_idx = np.where(any_present, n - 1 - np.argmax(present[::-1], axis=0), -1)
    at_ms = at.timestamp() * 1000
    last_ts = np.where(last_idx >= 0, ts_ms[np.maximum(last_idx, 0)], -np.inf)
    stale = (at_ms - last_ts) / 1000 > settings.max_staleness.total_seconds()
    problems: list[str | None] = []
    for j in range(k):
        if not any_present[j]:
            problems.append("no samples in the window")
        elif coverage[j] < settings.min_coverage:
            problems.append(
                f"coverage {coverage[j]:.1%} ({int(present[:, j].sum())} of {n} steps) is below the "
                f"{settings.min_coverage:.0%} minimum; longest gap {human_duration(gaps[j])}"
            )
        elif stale[j]:
            problems.append(
                f"stale: newest sample at {short_time(last_ts[j] / 1000)} UTC, "
                f"{human_duration((at_ms - last_ts[j]) / 1000)} before evaluation "
                f"(max {human_duration(settings.max_staleness.total_seconds())})"
            )
        elif gaps[j] > settings.max_gap.total_seconds():
            problems.append(
                f"gap of {human_duration(gaps[j])} in the window (max {human_duration(settings.max_gap.total_seconds())})"
            )
        else:
            problems.append(None)
    return _Coverage(present, coverage, gaps, last_idx, stale, problems)


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
    """Judge ``all_steps``, ``fraction_of_steps`` or ``aggregate`` rules, series by series."""
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

    verdicts: list[SeriesVerdict] = []
    for j, column in enumerate(frame.columns):
        lab = labels.get(str(column), {})
        name = f"{what} {{{_label_text(lab)}}}" if _label_text(lab) else what
        col, pres, viol = values[:, j], present[:, j], violating[:, j]
        n_viol = int(viol.sum())
        runs = _runs(viol)
        problem = cov.data_problem[j]
        observed_base: float | None
        if isinstance(rule, AllSteps):
            observed_base = float(col[worst_idx[j]]) if pres.any() else None
            longest = max((b - a + 1 for a, b in runs), default=0)
            if n_viol and longest >= rule.min_consecutive:
                status = Status.FAIL
                in_a_row = f", {longest} in a row" if rule.min_consecutive > 1 else ""
                reason = (
                    f"{name}: {fmt(_disp(observed_base, unit), unit)} {comparison.negated_word} "
                    f"{fmt(threshold.value, unit)} at {_when(ts_ms, runs, with_date)}, {n_viol} of {n} steps"
                    f"{in_a_row} (worst at {short_time(ts_ms[worst_idx[j]] / 1000)} UTC)"
                )
            elif problem:
                status, reason = Status.NO_DATA, f"{name}: {problem}"
            else:
                status = Status.PASS
                tolerated = (
                    f"; {n_viol} isolated step(s) over target tolerated (fewer than "
                    f"{rule.min_consecutive} in a row) at {_when(ts_ms, runs, with_date)}"
                    if n_viol
                    else ""
                )
                reason = (
                    f"{name}: {comparison.value} {fmt(threshold.value, unit)} "
                    f"{'at all ' + str(int(pres.sum())) + ' steps' if not n_viol else 'in every run of ' + str(rule.min_consecutive) + ' steps'} "
                    f"(worst {fmt(_disp(observed_base, unit), unit)}, coverage {cov.coverage[j]:.1%}){tolerated}"
                )
        elif isinstance(rule, FractionOfSteps):
            met = int(ok[:, j].sum())
            need = rule.min_fraction
            q = (1 - need) if not higher_is_worse else need
            finite_vals = col[pres]
            observed_base = float(np.quantile(finite_vals, q)) if finite_vals.size else None
            if met / max(n, 1) >= need and not problem:
                status = Status.PASS
                reason = (
                    f"{name}: {comparison.value} {fmt(threshold.value, unit)} in {met} of {n} steps "
                    f"({met / n:.1%}, needs {need:.0%})"
                    + (f"; below target at {_when(ts_ms, runs, with_date)}" if runs else "")
                )
            elif (n - n_viol) / max(n, 1) < need:
                status = Status.FAIL
                reason = (
                    f"{name}: target {comparison.value} {fmt(threshold.value, unit)} met in only {met} of {n} steps "
                    f"({met / n:.1%}, needs {need:.0%}); {comparison.negated_word} target at "
                    f"{_when(ts_ms, runs, with_date)}, worst {fmt(_disp(float(col[worst_idx[j]]), unit), unit)}"
                )
            else:
                status = Status.NO_DATA
                reason = (
                    f"{name}: {problem or f'met in {met} of {n} steps; the missing steps decide'}"
                )
        elif isinstance(rule, Aggregate):
            observed_base = _aggregate(col[pres], rule.function) if pres.any() else None
            if problem:
                status, reason = Status.NO_DATA, f"{name}: {problem}"
            elif (
                observed_base is not None
                and np.isfinite(observed_base)
                and _OPS[comparison](np.float64(observed_base), thr)
            ):
                status = Status.PASS
                reason = (
                    f"{name}: {rule.function} {fmt(_disp(observed_base, unit), unit)} {comparison.value} "
                    f"{fmt(threshold.value, unit)} over {human_duration(rule.window.total_seconds())}"
                )
            else:
                status = Status.FAIL
                reason = (
                    f"{name}: {rule.function} over {human_duration(rule.window.total_seconds())} is "
                    f"{fmt(_disp(observed_base, unit), unit)}, {comparison.negated_word} {fmt(threshold.value, unit)}"
                )
        else:  # pragma: no cover - the union is closed
            raise TypeError(type(rule).__name__)
        wi = int(worst_idx[j])
        verdicts.append(
            SeriesVerdict(
                labels=lab,
                status=status,
                observed=_disp(observed_base, unit),
                coverage=float(cov.coverage[j]),
                steps_expected=n,
                steps_present=int(pres.sum()),
                steps_violating=n_viol,
                first_violation=_ts(ts_ms[runs[0][0]]) if runs else None,
                last_violation=_ts(ts_ms[runs[-1][1]]) if runs else None,
                worst_value=_disp(float(col[wi]), unit) if pres.any() else None,
                worst_at=_ts(ts_ms[wi]) if pres.any() else None,
                longest_gap_seconds=float(cov.longest_gap_s[j]),
                last_sample_at=_ts(ts_ms[cov.last_idx[j]]) if cov.last_idx[j] >= 0 else None,
                reason=reason,
            )
        )
    return _combine(verdicts, comparison, what, threshold)


def _aggregate(values: np.ndarray, function: str) -> float:
    funcs: dict[str, Callable[[np.ndarray], float]] = {
        "mean": lambda v: float(np.mean(v)),
        "median": lambda v: float(np.median(v)),
        "max": lambda v: float(np.max(v)),
        "min": lambda v: float(np.min(v)),
        "last": lambda v: float(v[-1]),
    }
    with np.errstate(invalid="ignore"):
        return funcs[function](values)


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
) -> Judgement:
    """Month-to-date spend from cumulative USD counters, against a share of the budget.

    Spend per series is :func:`igkit.judge.spend.step_spend` summed over the month (resets,
    late series); a stale or silent cost series makes the spend unknown: NO_DATA.
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
    if np.isinf(values).any():
        return Judgement(
            Status.ERROR,
            [],
            None,
            None,
            [f"{what}: a cost counter holds ±Inf; spend is unknowable"],
        )
    spend_by_series = step_spend(values).sum(axis=0)
    spend = float(spend_by_series.sum())

    union = pd.DataFrame(
        {"any": np.where(~np.isnan(values).all(axis=1), 0.0, np.nan)}, index=frame.index
    )
    cov = _coverage(union.to_numpy(), ts_ms, settings, at)
    problem = cov.data_problem[0]
    if problem is None:
        problem = _unknown_spend(frame, labels, values, ts_ms, settings, at)

    share = spend / rule.budget_usd
    share_disp = from_base(share, unit)
    elapsed, month_len = month_progress(at)
    projected = month_end_projection(spend, at)
    details: dict[str, float | str | None] = {
        "month_to_date_usd": round(spend, 6),
        "budget_usd": rule.budget_usd,
        "projected_month_end_usd": round(projected, 2) if projected is not None else None,
        "projected_share_of_budget": round(projected / rule.budget_usd, 6)
        if projected is not None
        else None,
        "month_elapsed_share": round(elapsed / month_len, 6),
    }
    for column, amount in zip(frame.columns, spend_by_series, strict=True):
        lab = labels.get(str(column), {})
        details[f"spend_usd[{_label_text(lab)}]"] = round(float(amount), 6)
    common = _common_labels([labels.get(str(c), {}) for c in frame.columns])
    name = f"{what} {{{_label_text(common)}}}" if common else what
    projection = (
        f"; linear month-end projection ${projected:,.0f} ({projected / rule.budget_usd:.0%} of budget)"
        if projected is not None
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


def _unknown_spend(
    frame: pd.DataFrame,
    labels: dict[str, dict[str, str]],
    values: np.ndarray,
    ts_ms: np.ndarray,
    settings: ResolvedSettings,
    at: datetime,
) -> str | None:
    """Why month-to-date spend is unknown although the combined set looks fresh: one cost
    series stopped reporting (stale) or went silent longer than ``max_gap`` (its spend in
    between, across a reset, is lost). A series that starts mid-month is not a problem."""
    cov = _coverage(values, ts_ms, settings, at)
    present = cov.present
    first_idx = np.where(present.any(axis=0), np.argmax(present, axis=0), len(ts_ms))
    # gaps before a series' first sample are its late start, not a gap
    started = np.arange(len(ts_ms))[:, None] >= first_idx[None, :]
    silent = ~present & started
    padded = np.vstack(
        [
            np.zeros((1, silent.shape[1]), dtype=bool),
            silent,
            np.zeros((1, silent.shape[1]), dtype=bool),
        ]
    )
    edges = np.diff(padded.astype(np.int8), axis=0)
    step = settings.step.total_seconds()
    max_gap = settings.max_gap.total_seconds()
    longest = np.zeros(silent.shape[1])
    starts, cols = np.nonzero(edges == 1)
    ends, _ = np.nonzero(edges == -1)
    if len(starts):
        np.maximum.at(longest, cols, (ends - starts) * step)
    problems = []
    for j in np.flatnonzero(cov.stale | (longest > max_gap)).tolist():
        lab = labels.get(str(frame.columns[j]), {})
        name = f"{{{_label_text(lab)}}}"
        if cov.last_idx[j] < 0:
            continue
        last = short_time(ts_ms[cov.last_idx[j]] / 1000, with_date=True)
        if cov.stale[j]:
            problems.append(
                f"cost series {name} stopped reporting: last sample at {last} UTC "
                f"(max staleness {human_duration(settings.max_staleness.total_seconds())})"
            )
        else:
            problems.append(
                f"cost series {name} was silent for {human_duration(longest[j])} "
                f"(max gap {human_duration(max_gap)})"
            )
    if not problems:
        return None
    more = f" (+{len(problems) - 3} more)" if len(problems) > 3 else ""
    return "; ".join(problems[:3]) + more + "; month-to-date spend unknown"


def _common_labels(label_sets: list[dict[str, str]]) -> dict[str, str]:
    if not label_sets:
        return {}
    first = label_sets[0]
    return {
        k: v
        for k, v in first.items()
        if k != "__name__" and all(s.get(k) == v for s in label_sets[1:])
    }
