"""Reset-aware spend of cumulative USD counters and its linear month-end projection.

The one definition used by the G6 ``budget_burn`` rule (:func:`igkit.judge.rules.judge_budget`),
by the objective frames of :mod:`igkit.explore` and by the FinOps views (:mod:`igkit.finops`),
so the notebook plots the very spend the gate judged. Over-counting is the safe side:

* an increase of a counter is spend;
* a drop is a reset, and the new value is all new spend;
* a series that appears after the window's first step counts its first value as spend;
* a missing step carries the last value forward (no spend until the counter is seen again).

Stale or silent series (spend unknown) are the rule's business: it says NO_DATA.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from igkit.timeutil import month_end, month_start

if TYPE_CHECKING:
    from igkit.spec.models import CostLadder


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


def project_month_end(
    spend: np.ndarray | float, elapsed_s: np.ndarray | float, month_s: np.ndarray | float
) -> np.ndarray:
    """Linear month-end projection ``spend × month length / elapsed``; NaN where nothing elapsed."""
    spend_a, elapsed_a = np.asarray(spend, np.float64), np.asarray(elapsed_s, np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(
            elapsed_a > 0, spend_a * np.asarray(month_s, np.float64) / elapsed_a, np.nan
        )


def month_progress(at: datetime) -> tuple[float, float]:
    """Seconds elapsed since the start of ``at``'s month (UTC) and the month's length."""
    start, end = month_start(at), month_end(at)
    return (at - start).total_seconds(), (end - start).total_seconds()


def projection(spend_usd: float, at: datetime) -> float | None:
    """Month-end projection of a month-to-date spend at ``at`` (None at 00:00 on the 1st)."""
    projected = float(project_month_end(spend_usd, *month_progress(at)))
    return None if np.isnan(projected) else projected


def projection_warning(
    details: Mapping[str, float | str | None],
    *,
    what: str,
    alert_share: float,
    ladder: CostLadder | None,
) -> str | None:
    """A warning when the linear month-end projection reaches the objective's alert share (the
    threshold, e.g. 80% of budget) or the budget itself, even while month-to-date burn passes:
    projected USD, % of budget and the downshift tier the matrix's ``cost_ladder`` calls for.
    None when the projection is unknown or below the alert."""
    figures = [
        details.get(k)
        for k in (
            "projected_month_end_usd",
            "projected_share_of_budget",
            "budget_usd",
            "month_to_date_usd",
        )
    ]
    numbers = [float(v) for v in figures if isinstance(v, int | float)]
    if len(numbers) != len(figures):
        return None
    projected, share, budget, spent = numbers
    if not np.isfinite(share) or share < alert_share:
        return None
    over = "over the budget itself" if share > 1 else f"at or over the {alert_share:.0%} alert"
    tier = ""
    if ladder is not None:
        from igkit.finops import downshift_tier, tier_name

        n = downshift_tier(spent / budget, share, ladder)
        tier = f"; downshift tier {n} {tier_name(n)} (cost_ladder)" if n else ""
    return (
        f"{what}: linear month-end projection ${projected:,.0f} = {share:.0%} of the "
        f"${budget:,.0f} budget, {over}{tier}"
    )
