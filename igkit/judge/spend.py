"""Reset-aware spend of cumulative USD counters and its linear month-end projection, as G6
judges them; the implementation lives in :mod:`igkit.finops.mtd` and
:mod:`igkit.finops.projection` (re-exported here).

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

from igkit.finops.mtd import step_spend
from igkit.finops.projection import linear_projection, month_progress, project_month_end

if TYPE_CHECKING:
    from igkit.spec.models import CostLadder

__all__ = [
    "month_progress",
    "project_month_end",
    "projection",
    "projection_warning",
    "step_spend",
]


def projection(spend_usd: float, at: datetime) -> float | None:
    """Month-end projection of a month-to-date spend at ``at`` (None at 00:00 on the 1st)."""
    return linear_projection(spend_usd, at)


def projection_warning(
    details: Mapping[str, float | str | None],
    *,
    what: str,
    alert_share: float,
    ladder: CostLadder | None,
) -> str | None:
    """A warning when the month-end projection that drives the ladder (``projection_driver``:
    the higher of linear and run-rate by default, else the linear one) reaches the objective's
    alert share (the threshold, e.g. 80% of budget) or the budget itself, even while
    month-to-date burn passes: projected USD, % of budget and the downshift tier the matrix's
    ``cost_ladder`` calls for. None when the projection is unknown or below the alert."""
    driver = details.get("projection_driver")
    keys = ("projected_month_end_usd", "projected_share_of_budget")
    if driver in ("linear", "run_rate"):
        keys = ("driving_projection_usd", "driving_projected_share")
    label = "run-rate" if driver == "run_rate" else "linear"
    figures = [details.get(k) for k in (*keys, "budget_usd", "month_to_date_usd")]
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
        f"{what}: {label} month-end projection ${projected:,.0f} = {share:.0%} of the "
        f"${budget:,.0f} budget, {over}{tier}"
    )
