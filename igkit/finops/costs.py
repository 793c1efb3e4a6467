"""The cost frame: the one shape every FinOps figure is computed from.

Columns (:data:`COST_COLUMNS`): ``time`` (UTC, start of the charge period or of the counter
step), ``budget`` (:data:`UNALLOCATED` when no allocation rule matched), ``component``,
``category`` (usage, credit, adjustment, purchase, tax), ``cost`` (budget currency; credits
negative; purchases already amortized into per-day rows) and ``source`` (prometheus, focus).

From Prometheus (the G6 budget snapshots of a run: cumulative cost counters) a row is the
spend of one series over one step ``[time, time + step)``, as :func:`igkit.finops.mtd.step_spend`
counts it for the G6 rule; such rows are all "usage".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from igkit.errors import IgkitError
from igkit.finops.budgets import run_budgets
from igkit.finops.mtd import step_spend as _step_spend
from igkit.snapshots import Snapshot, series_labels, to_wide_frame

if TYPE_CHECKING:
    from igkit.explore import Run

COST_COLUMNS = ["time", "budget", "component", "category", "cost", "source"]
UNALLOCATED = "unallocated"
CATEGORIES = ("usage", "credit", "adjustment", "purchase", "tax")


class CostDataError(IgkitError):
    """A cost input (FOCUS export) that cannot be read or is refused; names file, row, cause."""


def empty_costs() -> pd.DataFrame:
    """A cost frame with no rows and the right dtypes."""
    return pd.DataFrame(
        {
            "time": pd.Series([], dtype="datetime64[ns, UTC]"),
            "budget": pd.Series([], dtype=object),
            "component": pd.Series([], dtype=object),
            "category": pd.Series([], dtype=object),
            "cost": pd.Series([], dtype=np.float64),
            "source": pd.Series([], dtype=object),
        }
    )


def step_spend(wide: pd.DataFrame) -> pd.DataFrame:
    """Per-step spend of cumulative cost counters on a step grid (one column per series),
    exactly as the G6 rule counts it (:func:`igkit.finops.mtd.step_spend`)."""
    return pd.DataFrame(_step_spend(wide.to_numpy()), index=wide.index, columns=wide.columns)


def cumulative_spend(wide: pd.DataFrame) -> pd.DataFrame:
    """Cumulative spend since the window's first step, per series (see :func:`step_spend`)."""
    return step_spend(wide).cumsum()


def costs_from_counters(
    wide: pd.DataFrame,
    labels: dict[str, dict[str, str]],
    *,
    step_s: float,
    default_budget: str,
) -> pd.DataFrame:
    """Cost frame of cumulative counters on a grid (index: step times in ms, one column per
    series): the spend of step *i* is a row at ``ts[i] - step`` (the step's start); the
    window's first step, the counters' baseline, gives no row. Budget and component come
    from the series' ``budget``/``component`` labels (``default_budget`` when absent)."""
    if wide.shape[1] == 0 or len(wide.index) < 2:
        return empty_costs()
    spend = _step_spend(wide.to_numpy())[1:]
    ts = wide.index.to_numpy(dtype=np.int64)[1:] - round(step_s * 1000)
    k = wide.shape[1]
    cols = [str(c) for c in wide.columns]
    budgets = np.array([labels.get(c, {}).get("budget", default_budget) for c in cols], object)
    components = np.array([labels.get(c, {}).get("component", "") for c in cols], object)
    n = len(ts)
    return pd.DataFrame(
        {
            "time": pd.to_datetime(np.repeat(ts, k), unit="ms", utc=True),
            "budget": np.tile(budgets, n),
            "component": np.tile(components, n),
            "category": "usage",
            "cost": spend.reshape(-1),
            "source": "prometheus",
        },
        columns=COST_COLUMNS,
    )


def costs_from_run(run: Run) -> pd.DataFrame:
    """Cost frame from the run's G6 budget snapshots (month start .. evaluation time)."""
    frames = []
    for budget in run_budgets(run):
        gate_id, name = budget.objective.split("/", 1)
        pq = run.planned[(gate_id, name)]
        snap = run.snapshots[pq.request.id]
        if not isinstance(snap, Snapshot) or snap.status == "error":
            continue
        wide = to_wide_frame(snap.result, pq.request.grid())
        frames.append(
            costs_from_counters(
                wide,
                series_labels(snap.result),
                step_s=pq.request.step_seconds,
                default_budget=budget.name,
            )
        )
    if not frames:
        return empty_costs()
    return pd.concat(frames, ignore_index=True)
