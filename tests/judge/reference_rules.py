"""The per-series judging core as it was before vectorisation: the reference the vectorised
:func:`igkit.judge.rules.judge_steps` is checked against (``test_rules_vectorised.py``).

Deliberately simple: one Python pass per series. Do not use outside tests.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import numpy as np
import pandas as pd

from igkit.judge.rules import (
    _OPS,
    Judgement,
    _combine,
    _Coverage,
    _disp,
    _label_text,
    _runs,
    _ts,
    _when,
)
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
from igkit.units import fmt, to_base
from igkit.verdicts import SeriesVerdict, Status


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


def reference_judge_steps(
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


def _longest_run(mask: np.ndarray) -> int:
    runs = _runs(mask)
    return max((b - a + 1 for a, b in runs), default=0)


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
