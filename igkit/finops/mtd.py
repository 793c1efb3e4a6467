"""The one month-to-date implementation, shared by G6's ``budget_burn`` rule, the FinOps
notebook and ``igkit finops burn``.

Cumulative cost counters (Prometheus) become per-step spend by :func:`step_spend`;
over-counting is the safe side:

* an increase of a counter is spend;
* a drop is a reset, and the new value is all new spend;
* a series that appears after the window's first step counts its first value as spend;
* a missing step carries the last value forward (no spend until the counter is seen again).

A cost series that stopped reporting or went silent longer than ``max_gap`` makes the spend
unknown (:func:`counter_month_to_date` says why; G6 turns it into NO_DATA).

A cost frame (:mod:`igkit.finops.costs`) row covers ``[time, time + its period)``; the
month-to-date at ``at`` sums the rows with ``month start <= time < at``. Tax rows count only
when the matrix says ``tax_in_burn``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from igkit.timeutil import human_duration, month_start, short_time


def step_spend(values: np.ndarray) -> np.ndarray:
    """Per-step spend (steps × series) of cumulative counters on a step grid; NaN = no sample.

    Row 0 holds only the first value of a series that starts late (on its first row)."""
    values = np.asarray(values, dtype=np.float64)
    n, k = values.shape
    if n == 0 or k == 0:
        return np.zeros((n, k))
    filled = pd.DataFrame(values).ffill().to_numpy(dtype=np.float64)
    diffs = np.diff(filled, axis=0)
    diffs = np.where(diffs < 0, filled[1:], diffs)
    spend = np.vstack([np.zeros((1, k)), np.nan_to_num(diffs, nan=0.0)])
    present = ~np.isnan(values)
    cols = np.flatnonzero(~present[0] & present.any(axis=0))
    first_row = np.argmax(present, axis=0)[cols]
    spend[first_row, cols] += values[first_row, cols]
    return spend


@dataclass(frozen=True)
class CounterSpend:
    """Month-to-date spend of cumulative counters: the total, per series, and why it is
    unknown (None when every series kept reporting)."""

    total: float
    by_series: np.ndarray
    problem: str | None


def _longest_silence(present: np.ndarray, step_s: float) -> np.ndarray:
    """Longest run of missing steps per series after its first sample (a late start is not
    a gap), in seconds."""
    n, k = present.shape
    first = np.where(present.any(axis=0), np.argmax(present, axis=0), n)
    silent = ~present & (np.arange(n)[:, None] >= first[None, :])
    pad = np.zeros((1, k), dtype=bool)
    edges = np.diff(np.vstack([pad, silent, pad]).astype(np.int8), axis=0)
    longest = np.zeros(k)
    starts, cols = np.nonzero(edges == 1)
    ends, _ = np.nonzero(edges == -1)
    if len(starts):
        np.maximum.at(longest, cols, (ends - starts) * step_s)
    return longest


def counter_month_to_date(
    values: np.ndarray,
    ts_ms: np.ndarray,
    names: Sequence[str],
    *,
    step_s: float,
    max_gap_s: float,
    max_staleness_s: float,
    at: datetime,
) -> CounterSpend:
    """Spend of cost counters over the month-start..``at`` grid ``ts_ms`` (steps × series),
    and the series that make it unknown: stopped reporting (stale) or silent longer than
    ``max_gap_s`` (their spend in between, across a reset, is lost). ``names`` label the
    series in the reason. ±Inf anywhere makes the spend unknowable (problem set, total NaN)."""
    values = np.asarray(values, dtype=np.float64)
    if np.isinf(values).any():
        return CounterSpend(float("nan"), np.full(values.shape[1], np.nan), "±Inf")
    by_series = step_spend(values).sum(axis=0)
    present = ~np.isnan(values)
    n = len(ts_ms)
    last_idx = np.where(present.any(axis=0), n - 1 - np.argmax(present[::-1], axis=0), -1)
    at_ms = at.timestamp() * 1000
    last_ts = np.where(last_idx >= 0, np.asarray(ts_ms)[np.maximum(last_idx, 0)], -np.inf)
    stale = (at_ms - last_ts) / 1000 > max_staleness_s
    longest = _longest_silence(present, step_s)
    problems = []
    for j in np.flatnonzero((stale | (longest > max_gap_s)) & (last_idx >= 0)).tolist():
        if stale[j]:
            last = short_time(last_ts[j] / 1000, with_date=True)
            problems.append(
                f"cost series {names[j]} stopped reporting: last sample at {last} UTC "
                f"(max staleness {human_duration(max_staleness_s)})"
            )
        else:
            problems.append(
                f"cost series {names[j]} was silent for {human_duration(longest[j])} "
                f"(max gap {human_duration(max_gap_s)})"
            )
    problem = None
    if problems:
        more = f" (+{len(problems) - 3} more)" if len(problems) > 3 else ""
        problem = "; ".join(problems[:3]) + more + "; month-to-date spend unknown"
    return CounterSpend(float(by_series.sum()), by_series, problem)


def in_month(costs: pd.DataFrame, at: datetime, *, tax_in_burn: bool) -> pd.DataFrame:
    """The rows of ``costs`` that count toward month-to-date burn at ``at``."""
    start = pd.Timestamp(month_start(at))
    times = costs["time"]
    keep = (times >= start) & (times < pd.Timestamp(at))
    if not tax_in_burn:
        keep &= costs["category"] != "tax"
    return costs[keep]


def month_to_date_by_budget(
    costs: pd.DataFrame, at: datetime, *, tax_in_burn: bool = False
) -> pd.Series:
    """Month-to-date spend per budget at ``at`` (budgets with no row this month are absent)."""
    rows = in_month(costs, at, tax_in_burn=tax_in_burn)
    return rows.groupby("budget", sort=True)["cost"].sum()


def tax_by_budget(costs: pd.DataFrame, at: datetime) -> pd.Series:
    """Month-to-date tax per budget at ``at`` (reported apart from burn)."""
    rows = in_month(costs, at, tax_in_burn=True)
    return rows[rows["category"] == "tax"].groupby("budget", sort=True)["cost"].sum()


def month_to_date(costs: pd.DataFrame, budget: str, *, tax_in_burn: bool = False) -> pd.Series:
    """Cumulative spend of one budget over time, restarting at 00:00 UTC on each 1st: the
    month-to-date at the end of each row's period start (the notebook's burn line)."""
    rows = costs[costs["budget"] == budget]
    if not tax_in_burn:
        rows = rows[rows["category"] != "tax"]
    per_time = rows.groupby("time", sort=True)["cost"].sum()
    if per_time.empty:
        return per_time.rename("month_to_date")
    month = pd.DatetimeIndex(per_time.index).tz_convert("UTC").strftime("%Y-%m")
    return per_time.groupby(month).cumsum().rename("month_to_date")
