"""Month-to-date spend of a cost frame."""

from __future__ import annotations

import pandas as pd


def month_to_date(costs: pd.DataFrame, budget: str) -> pd.Series:
    """Cumulative spend of one budget over time, restarting at 00:00 UTC on each 1st."""
    rows = costs[costs["budget"] == budget]
    per_time = rows.groupby("time", sort=True)["cost_usd"].sum()
    if per_time.empty:
        return per_time.rename("month_to_date_usd")
    month = pd.DatetimeIndex(per_time.index).tz_convert("UTC").strftime("%Y-%m")
    return per_time.groupby(month).cumsum().rename("month_to_date_usd")
