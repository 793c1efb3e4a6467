"""The frames the FinOps notebook shows, from a cost frame (:mod:`igkit.finops.costs`).

Plain, vectorised functions: spend per period by budget or component, month-to-date against
the budget with both projections, unit costs, unallocated spend and top movers; money and
shares formatted for people. Figures that decide anything (month-to-date, projections, the
tier) are never recomputed here: they come from :class:`BudgetFigures`.
:mod:`igkit.finops.explore` reads the notebook's input and formats its tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from igkit.errors import ConfigError
from igkit.finops.ladder import DownshiftLadder, downshift_tiers
from igkit.finops.mtd import in_month, month_to_date
from igkit.finops.projection import project_month_end
from igkit.spec.models import BudgetBurn, Matrix, PrometheusObjective
from igkit.units import dimension, to_base

if TYPE_CHECKING:
    from igkit.explore import Run
    from igkit.finops.projection import BudgetFigures


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


# --------------------------------------------------------------------------- notebook frames

CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}


def money(value: float | None, currency: str = "USD", *, decimals: int = 2) -> str:
    """``$18,000.00`` / ``-€12.50`` / ``1,234.00 CHF``; unknown (None, NaN, ±Inf) is ``—``."""
    if value is None or not np.isfinite(value):
        return "—"
    sign = "-" if value < 0 else ""
    amount = f"{abs(value):,.{decimals}f}"
    symbol = CURRENCY_SYMBOLS.get(currency)
    return f"{sign}{symbol}{amount}" if symbol else f"{sign}{amount} {currency}"


def percent(share: float | None, *, decimals: int = 1) -> str:
    """A share of a budget (1.0 = 100 %) as ``104.0 %``; unknown is ``—``."""
    if share is None or not np.isfinite(share):
        return "—"
    return f"{100 * share:,.{decimals}f} %"


def as_time(value: datetime | str | None, what: str = "time") -> pd.Timestamp | None:
    """``value`` as a UTC timestamp (naive = UTC); None or "" (an open bound) is None; text
    that is no time is a ConfigError naming ``what`` (the parameter)."""
    if value is None or value == "":
        return None
    try:
        return _utc(value)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{what} {value!r}: not a time (e.g. 2025-03-01 or RFC3339)") from exc


def period(freq: str) -> str:
    """``freq`` checked as a bar period (``1D``, ``6h``): a ConfigError names it otherwise."""
    try:
        pd.Timedelta(pd.tseries.frequencies.to_offset(freq).nanos)  # fixed: days, hours, ...
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"freq {freq!r}: not a fixed bar period such as 1D or 1h") from exc
    return freq


def select_costs(
    costs: pd.DataFrame,
    *,
    budgets: Sequence[str] | str = (),
    components: Sequence[str] | str = (),
    start: datetime | str | None = None,
    end: datetime | str | None = None,
) -> pd.DataFrame:
    """The rows of the chosen budgets and components with ``start <= time <= end``.

    An empty selection or bound is open; a single name may be given as a string; naive times
    are UTC. These are the notebook's filters (its parameters and widgets)."""
    mask = np.ones(len(costs), dtype=bool)
    for column, chosen in (("budget", budgets), ("component", components)):
        names = [chosen] if isinstance(chosen, str) else list(chosen)
        if [n for n in names if n]:
            mask &= costs[column].isin([n for n in names if n]).to_numpy()
    low, high = as_time(start, "start"), as_time(end, "end")
    if low is not None:
        mask &= (costs["time"] >= low).to_numpy()
    if high is not None:
        mask &= (costs["time"] <= high).to_numpy()
    return costs[mask]


def auto_freq(costs: pd.DataFrame) -> str:
    """``1D`` when the costs span two days or more, else ``1h``: a few hours of Prometheus
    counters would otherwise be one bar."""
    if costs.empty:
        return "1D"
    span = costs["time"].max() - costs["time"].min()
    return "1D" if span >= pd.Timedelta(days=2) else "1h"


def _periods(costs: pd.DataFrame, freq: str) -> pd.DatetimeIndex:
    times = pd.DatetimeIndex(costs["time"])
    return pd.date_range(times.min().floor(freq), times.max().floor(freq), freq=freq, name="time")


def spend_over_time(
    costs: pd.DataFrame, by: Literal["budget", "component"], freq: str = "1D"
) -> pd.DataFrame:
    """Spend per period (rows: period start, UTC, every period of the span) per budget or
    component (columns, largest total first); a period without spend is 0."""
    if costs.empty:
        return pd.DataFrame(index=pd.DatetimeIndex([], tz="UTC", name="time"))
    period = costs["time"].dt.floor(freq)
    table = costs.groupby([period, costs[by]])["cost"].sum().unstack(by, fill_value=0)
    table = table.reindex(_periods(costs, freq), fill_value=0.0)
    order = table.sum().sort_values(ascending=False, kind="stable").index
    table = table[order]
    table.columns.name = by
    return table


def unallocated_over_time(costs: pd.DataFrame, freq: str = "1D") -> pd.DataFrame:
    """Per period: total spend, the part no allocation rule mapped (budget ``unallocated``) and
    its share of the total (NaN when nothing was spent)."""
    from igkit.finops.costs import UNALLOCATED

    if costs.empty:
        return pd.DataFrame(
            columns=["total", "unallocated", "share"],
            index=pd.DatetimeIndex([], tz="UTC", name="time"),
        )
    period = costs["time"].dt.floor(freq)
    unmapped = costs["cost"].where(costs["budget"] == UNALLOCATED, 0.0)
    frame = pd.DataFrame({"total": costs["cost"], "unallocated": unmapped}).groupby(period).sum()
    frame = frame.reindex(_periods(costs, freq), fill_value=0.0)
    frame["share"] = frame["unallocated"] / frame["total"].where(frame["total"] != 0)
    return frame


def top_movers(
    costs: pd.DataFrame,
    at: datetime | str,
    *,
    freq: str = "1D",
    trailing: int = 7,
    n: int = 5,
) -> pd.DataFrame:
    """Components whose spend in the last complete period before ``at`` rose most above their
    mean over the ``trailing`` periods before it (a week of days by default).

    Columns: ``component``, ``period`` (its start), ``spend``, ``trailing_mean``, ``change``
    (spend - mean) and ``change_share`` (change / mean, NaN when the mean is 0); rows with a
    rise only, largest first, at most ``n``. Empty when fewer than two complete periods exist:
    there is nothing to compare with."""
    columns = ["component", "period", "spend", "trailing_mean", "change", "change_share"]
    end = _utc(at).floor(
        freq
    )  # the period holding ``at`` is not complete yet (unless at == its start)
    done = costs[costs["time"] < end]
    table = spend_over_time(done, "component", freq)
    if len(table) < 2:
        return pd.DataFrame(columns=columns)
    table = table.reindex(
        pd.date_range(table.index[0], end - pd.Timedelta(freq), freq=freq, name="time"),
        fill_value=0.0,
    )
    last = table.iloc[-1]
    mean = table.iloc[-1 - trailing : -1].mean()
    change = last - mean
    out = pd.DataFrame(
        {
            "component": table.columns.astype(str),
            "period": table.index[-1],
            "spend": last.to_numpy(),
            "trailing_mean": mean.to_numpy(),
            "change": change.to_numpy(),
            "change_share": (change / mean.where(mean != 0)).to_numpy(),
        }
    )
    rose = (change > 0).to_numpy() & ~np.isclose(last.to_numpy(), mean.to_numpy(), rtol=1e-9)
    ranked: pd.DataFrame = out[rose].sort_values("change", ascending=False, kind="stable")
    return ranked.head(n).reset_index(drop=True)


def month_bounds(at: datetime | str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Start of the UTC month holding ``at`` and start of the next one."""
    moment = _utc(at)
    start = moment.normalize() - pd.Timedelta(days=moment.day - 1)
    return start, start + pd.offsets.MonthBegin(1)


def month_to_date_frame(
    costs: pd.DataFrame,
    figures: BudgetFigures,
    *,
    alert_share: float | None,
    include_tax: bool = False,
) -> pd.DataFrame:
    """One budget's month so far against its limit, with both month-end projections.

    Rows (UTC): the 1st, the end of each charge period (FOCUS) or counter step (Prometheus) of
    the month before ``figures.at``, ``at`` and the end of the month. Columns: ``month_to_date`` (running spend, None after ``at``; its value
    at ``at`` is the figures' own), ``linear`` and ``run_rate`` (each a segment from the
    month-to-date at ``at`` to its month-end projection; absent projections stay NaN),
    ``limit`` and ``alert`` (``alert_share`` × limit). ``attrs`` carries ``driver``,
    ``alert_share``, ``currency`` and ``budget``. The month-end figures are
    :class:`BudgetFigures`', never recomputed here."""
    at = _utc(figures.at)
    start, end = month_bounds(at)
    month = in_month(costs, at.to_pydatetime(), tax_in_burn=include_tax)
    rows = month[month["budget"] == figures.budget]
    running = rows.groupby("time", sort=True)["cost"].sum().cumsum()
    running.index = running.index + _step(costs)  # a row is spent by the end of its period
    running = running[running.index < at]
    index = pd.DatetimeIndex([start, *running.index, at, end], name="time").tz_convert("UTC")
    mtd = np.concatenate(
        [
            [0.0],
            running.to_numpy(dtype=np.float64),
            [np.nan if figures.month_to_date is None else figures.month_to_date, np.nan],
        ]
    )
    frame = pd.DataFrame({"month_to_date": mtd}, index=index)
    frame = frame[~frame.index.duplicated(keep="last")]
    for column, projected in (
        ("linear", figures.linear_projection),
        ("run_rate", figures.run_rate_projection),
    ):
        frame[column] = np.nan
        if projected is not None and figures.month_to_date is not None:
            frame.loc[at, column] = figures.month_to_date
            frame.loc[end, column] = projected
    limit = np.nan if figures.limit is None else float(figures.limit)
    frame["limit"] = limit
    frame["alert"] = limit * alert_share if alert_share is not None else np.nan
    frame.attrs.update(
        driver=figures.driver,
        alert_share=alert_share,
        currency=figures.currency,
        budget=figures.budget,
    )
    return frame


def _step(costs: pd.DataFrame) -> pd.Timedelta:
    """The data's granularity: the shortest gap between two charge times (a day if one)."""
    times = pd.DatetimeIndex(costs["time"].drop_duplicates().sort_values())
    steps = times[1:] - times[:-1]
    return pd.Timedelta(steps.min()) if len(steps) else pd.Timedelta(days=1)


def unallocated_month(
    costs: pd.DataFrame, at: datetime | str, *, tax_in_burn: bool = False
) -> tuple[float, float | None]:
    """Month-to-date spend (to ``at``) no allocation rule mapped, and its share of all
    month-to-date spend (None when nothing was spent), counted as the budgets' burn is."""
    from igkit.finops.costs import UNALLOCATED
    from igkit.finops.mtd import month_to_date_by_budget

    by_budget = month_to_date_by_budget(costs, _utc(at).to_pydatetime(), tax_in_burn=tax_in_burn)
    total = float(by_budget.sum())
    unmapped = float(by_budget.get(UNALLOCATED, 0.0))
    return unmapped, (unmapped / total if total else None)


def unit_cost_limits(matrix: Matrix) -> dict[str, float]:
    """Column label of each unit-cost objective -> its threshold, in its own unit."""
    return {
        f"{obj.name} ({obj.threshold.unit.value})": float(obj.threshold.value)
        for _gate, obj in matrix.objectives_of(PrometheusObjective)
        if dimension(obj.threshold.unit) == "unit_cost"
    }


def unit_costs_over_time(usage: pd.DataFrame, matrix: Matrix, freq: str = "1D") -> pd.DataFrame:
    """Unit cost per period of each G6 unit-cost objective (its component, its unit: USD/1k,
    USD/1M) from a FOCUS export's usage rows (:attr:`FocusCosts.usage`: cost and consumed
    quantity of the same rows, so a credit never makes a unit cost negative); a period
    without quantity has no value. Columns are :func:`unit_costs_from_run`'s labels."""
    from igkit.finops.unit_costs import unit_cost_objectives

    columns = {}
    for _name, obj, component, _window in unit_cost_objectives(matrix):
        rows = usage[usage["component"] == component]
        sums = rows.groupby(rows["time"].dt.floor(freq))[["cost", "quantity"]].sum()
        ratio = sums["cost"] / sums["quantity"].where(sums["quantity"] > 0)
        label = f"{obj.name} ({obj.threshold.unit.value})"
        columns[label] = ratio.dropna() / to_base(1.0, obj.threshold.unit)
    frame = pd.DataFrame(columns)
    frame.index.name = "time"
    return frame
