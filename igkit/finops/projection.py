"""Budget figures: month-to-date, share, and two month-end projections per budget.

* **linear**: month-to-date × month length / time elapsed since the 1st (G6's projection);
* **run-rate**: month-to-date + the trailing ``run_rate_days`` daily rate × days left, so a
  step up in spend late in the month is not averaged away by the quiet days before it.
  The trailing window stays inside the month (a Prometheus G6 window starts on the 1st).

The matrix's ``finops.projection`` says which drives the ladder (``max``: the higher).
Less history than ``finops.min_history`` gives no projection: NO_DATA with the reason.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from igkit.finops.budgets import Budget
from igkit.finops.costs import UNALLOCATED
from igkit.finops.mtd import in_month, month_to_date_by_budget, tax_by_budget
from igkit.spec.finops import FinopsSpec
from igkit.timeutil import human_duration, month_end, month_start
from igkit.verdicts import Status


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


def linear_projection(spend: float, at: datetime) -> float | None:
    """Month-end projection of a month-to-date spend at ``at`` (None at 00:00 on the 1st)."""
    projected = float(project_month_end(spend, *month_progress(at)))
    return None if np.isnan(projected) else projected


def run_rate_window(at: datetime, days: int) -> tuple[datetime, datetime]:
    """The trailing run-rate window ``[max(1st of the month, at - days), at)``."""
    return max(month_start(at), at - timedelta(days=days)), at


def run_rate_projection(trailing_spend: float, mtd: float, at: datetime, days: int) -> float | None:
    """``mtd`` + the daily rate of ``trailing_spend`` over :func:`run_rate_window` × days left."""
    start, _ = run_rate_window(at, days)
    span = (at - start).total_seconds()
    if span <= 0:
        return None
    left = (month_end(at) - at).total_seconds()
    return mtd + trailing_spend / span * left


class BudgetFigures(BaseModel):
    """What a budget stands at: month-to-date, both projections, which drives, and why any
    figure is unknown. Money in the matrix's ``finops.currency``; shares of ``limit``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    budget: str
    limit: float | None
    currency: str
    at: datetime
    month_to_date: float | None
    share: float | None
    linear_projection: float | None
    run_rate_projection: float | None
    driver: Literal["linear", "run_rate"] | None
    projected_share: float | None
    tax: float = 0.0
    status: Status
    reasons: list[str] = Field(default_factory=list)


def _driver(
    linear: float | None, run_rate: float | None, spec: FinopsSpec
) -> Literal["linear", "run_rate"] | None:
    if linear is None or run_rate is None:
        return None
    if spec.projection == "max":
        return "run_rate" if run_rate > linear else "linear"
    return spec.projection


def _history_problem(
    history_start: pd.Timestamp | None, at: datetime, spec: FinopsSpec
) -> str | None:
    if history_start is None:
        return "no cost data this month"
    start = max(pd.Timestamp(month_start(at)), history_start)
    history = (pd.Timestamp(at) - start).total_seconds()
    need = spec.min_history.total_seconds()
    if history < need:
        return (
            f"only {human_duration(max(history, 0.0))} of cost history this month, "
            f"less than the {human_duration(need)} minimum (finops.min_history): no projection"
        )
    return None


def budget_figures(
    costs: pd.DataFrame,
    budgets: list[Budget],
    at: datetime,
    spec: FinopsSpec,
    *,
    unknown: Mapping[str, str] | None = None,
    history_start: datetime | None = None,
) -> list[BudgetFigures]:
    """Figures of every budget at ``at`` from a cost frame.

    ``unknown`` maps a budget to why its spend is unknown (a stale cost series, FOCUS data
    ending too early): its month-to-date is None and its status NO_DATA. ``history_start``
    is when the data begins (default: the frame's first row); a budget with no row this
    month is NO_DATA, not zero. Non-finite figures are ERROR."""
    unknown = dict(unknown or {})
    at_ts = pd.Timestamp(at)
    mtd = month_to_date_by_budget(costs, at, tax_in_burn=spec.tax_in_burn)
    tax = tax_by_budget(costs, at)
    present = set(in_month(costs, at, tax_in_burn=True)["budget"])
    start, _ = run_rate_window(at, spec.run_rate_days)
    trailing_rows = costs[(costs["time"] >= pd.Timestamp(start)) & (costs["time"] < at_ts)]
    if not spec.tax_in_burn:
        trailing_rows = trailing_rows[trailing_rows["category"] != "tax"]
    trailing = trailing_rows.groupby("budget")["cost"].sum()
    first = (
        pd.Timestamp(history_start)
        if history_start is not None
        else (costs["time"].min() if len(costs) else None)
    )
    history = _history_problem(first if first is not pd.NaT else None, at, spec)
    out = []
    for budget in budgets:
        base = {
            "budget": budget.name,
            "limit": budget.budget_usd,
            "currency": spec.currency,
            "at": at,
            "tax": float(tax.get(budget.name, 0.0)),
        }
        empty = {
            "month_to_date": None,
            "share": None,
            "linear_projection": None,
            "run_rate_projection": None,
            "driver": None,
            "projected_share": None,
        }
        if budget.name in unknown:
            out.append(
                BudgetFigures(
                    **base, **empty, status=Status.NO_DATA, reasons=[unknown[budget.name]]
                )
            )
            continue
        if budget.name not in present:
            reason = f"{budget.name}: no cost rows in {month_start(at):%Y-%m} before {at:%Y-%m-%d %H:%M} UTC; spend unknown"
            out.append(BudgetFigures(**base, **empty, status=Status.NO_DATA, reasons=[reason]))
            continue
        spent = float(mtd.get(budget.name, 0.0))
        if not math.isfinite(spent):
            reason = f"{budget.name}: month-to-date spend is not a finite number"
            out.append(BudgetFigures(**base, **empty, status=Status.ERROR, reasons=[reason]))
            continue
        share = spent / budget.budget_usd
        linear = run_rate = None
        reasons: list[str] = []
        if history is None:
            linear = linear_projection(spent, at)
            run_rate = run_rate_projection(
                float(trailing.get(budget.name, 0.0)), spent, at, spec.run_rate_days
            )
        else:
            reasons.append(f"{budget.name}: {history}")
        driver = _driver(linear, run_rate, spec)
        driving = {"linear": linear, "run_rate": run_rate, None: None}[driver]
        out.append(
            BudgetFigures(
                **base,
                month_to_date=spent,
                share=share,
                linear_projection=linear,
                run_rate_projection=run_rate,
                driver=driver,
                projected_share=None if driving is None else driving / budget.budget_usd,
                status=Status.PASS if history is None else Status.NO_DATA,
                reasons=reasons,
            )
        )
    return out


def unallocated(costs: pd.DataFrame, at: datetime, *, tax_in_burn: bool = False) -> float:
    """Month-to-date spend that no allocation rule mapped to a budget."""
    return float(month_to_date_by_budget(costs, at, tax_in_burn=tax_in_burn).get(UNALLOCATED, 0.0))


def unallocated_check(costs: pd.DataFrame, at: datetime, spec: FinopsSpec) -> tuple[Status, str]:
    """FAIL when the unallocated share of all month-to-date spend exceeds
    ``finops.unallocated_max_share``; PASS otherwise (also when no maximum is set)."""
    mtd = month_to_date_by_budget(costs, at, tax_in_burn=spec.tax_in_burn)
    total = float(mtd.sum())
    amount = float(mtd.get(UNALLOCATED, 0.0))
    share = amount / total if total > 0 else (0.0 if amount == 0 else math.inf)
    text = (
        f"unallocated spend {spec.currency} {amount:,.2f} = {share:.1%} of month-to-date "
        f"{spec.currency} {total:,.2f}"
    )
    limit = spec.unallocated_max_share
    if limit is None:
        return Status.PASS, f"{text} (no finops.unallocated_max_share)"
    if share > limit:
        return Status.FAIL, f"{text}, over the {limit:.1%} maximum (finops.unallocated_max_share)"
    return Status.PASS, f"{text} (<= {limit:.1%})"
