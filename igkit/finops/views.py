"""The frames the FinOps notebook shows: burn over time, spend by component, unit costs."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from igkit.finops.ladder import DownshiftLadder, downshift_tiers
from igkit.finops.mtd import month_to_date
from igkit.finops.projection import project_month_end
from igkit.spec.models import BudgetBurn, PrometheusObjective

if TYPE_CHECKING:
    from igkit.explore import Run


def _utc(value: datetime | str) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def filter_range(
    costs: pd.DataFrame, start: datetime | str | None = None, end: datetime | str | None = None
) -> pd.DataFrame:
    """Rows with ``start <= time <= end``; a bound that is None or "" is open (naive = UTC)."""
    mask = np.ones(len(costs), dtype=bool)
    if start is not None and start != "":
        mask &= (costs["time"] >= _utc(start)).to_numpy()
    if end is not None and end != "":
        mask &= (costs["time"] <= _utc(end)).to_numpy()
    return costs[mask]


def burn(
    costs: pd.DataFrame,
    budget: str,
    budget_usd: float,
    *,
    alert_pct: float,
    ladder: DownshiftLadder | None = None,
    start: datetime | str | None = None,
    end: datetime | str | None = None,
) -> pd.DataFrame:
    """Month-to-date burn of one budget over time with its linear month-end projection.

    Columns: ``month_to_date_usd``, ``share_pct`` (of budget), ``projected_usd`` and
    ``projected_pct`` (spend × month length / elapsed, at each step), ``alert_usd``,
    ``over_alert`` and the downshift ``tier`` at that step. ``start``/``end`` trim the rows
    shown *after* month-to-date is computed from all of ``costs`` (spend before ``start``
    still counts toward its month). ``alert_pct`` is the budget's alert line (its
    :class:`Budget`'s, i.e. the matrix threshold), not a built-in number.
    """
    mtd = month_to_date(costs, budget)
    times = pd.DatetimeIndex(mtd.index).tz_convert("UTC")
    month_begin = times.normalize() - pd.to_timedelta(times.day - 1, unit="D")
    accrued = times + _row_period(costs)  # a row's cost is known at the end of its period
    elapsed = (accrued - month_begin).total_seconds().to_numpy()
    month_len = times.days_in_month.to_numpy(dtype=np.float64) * 86400.0
    spend_usd = mtd.to_numpy(dtype=np.float64)
    projected = project_month_end(spend_usd, elapsed, month_len)
    share = spend_usd / budget_usd
    proj_share = projected / budget_usd
    tiers = downshift_tiers(share, proj_share, ladder)
    out = pd.DataFrame(
        {
            "month_to_date_usd": spend_usd,
            "share_pct": 100 * share,
            "projected_usd": projected,
            "projected_pct": 100 * proj_share,
            "alert_usd": budget_usd * alert_pct / 100,
            "over_alert": 100 * share >= alert_pct,
            "tier": tiers,
        },
        index=pd.DatetimeIndex(times, name="time"),
    )
    keep = np.ones(len(out), dtype=bool)
    if start is not None and start != "":
        keep &= out.index >= _utc(start)
    if end is not None and end != "":
        keep &= out.index <= _utc(end)
    return out[keep]


def _row_period(costs: pd.DataFrame) -> pd.Timedelta:
    """The period a cost row covers: the commonest gap between row times (a counter step,
    a FOCUS day), zero when there is only one time."""
    times = pd.DatetimeIndex(costs["time"].drop_duplicates()).sort_values()
    gaps = times[1:] - times[:-1]
    return pd.Timedelta(0) if len(gaps) == 0 else pd.Series(gaps).mode().iloc[0]


def spend_by_component(costs: pd.DataFrame) -> pd.DataFrame:
    """Total spend per (budget, component), largest first."""
    out = costs.groupby(["budget", "component"])["cost"].sum().rename("cost_usd").reset_index()
    return out.sort_values("cost_usd", ascending=False, kind="stable").reset_index(drop=True)


def unit_costs_from_run(run: Run) -> pd.DataFrame:
    """G6 unit-cost objectives over time: one column per objective, in its threshold's unit."""
    columns = {}
    for gate in run.loaded.matrix.gates:
        for obj in gate.objectives:
            if (
                isinstance(obj, PrometheusObjective)
                and not isinstance(obj.rule, BudgetBurn)
                and obj.threshold.unit.value.startswith("USD/")
            ):
                frame = run.objective_frame(gate.id, obj.name)
                series = frame.groupby("time")["value"].max()
                columns[f"{obj.name} ({obj.threshold.unit.value})"] = series
    return pd.DataFrame(columns)


def unit_costs_from_focus(costs: pd.DataFrame, freq: str = "1D") -> pd.DataFrame:
    """Cost per consumed unit per component and period (needs ``ConsumedQuantity``)."""
    if "quantity" not in costs.columns:
        return pd.DataFrame()
    grouped = costs.groupby([pd.Grouper(key="time", freq=freq), "component"])[
        ["cost", "quantity"]
    ].sum()
    ratio = grouped["cost"] / grouped["quantity"].where(grouped["quantity"] > 0)
    return ratio.unstack("component")
