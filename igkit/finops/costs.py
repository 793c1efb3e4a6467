"""The cost frame: one row per (time, budget, component) with the spend incurred in that step.

From the G6 budget snapshots of a run (cumulative USD counters ``finops_cost_usd_total``),
turned into per-step spend by :func:`igkit.judge.spend.step_spend`, the very function the G6
rule sums (a counter drop is a reset whose new value is all new spend; a series that appears
after the window's first step counts its first value as spend)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from igkit.finops.budgets import run_budgets
from igkit.judge import spend
from igkit.snapshots import Snapshot, series_labels, to_wide_frame

if TYPE_CHECKING:
    from igkit.explore import Run

COST_COLUMNS = ["time", "budget", "component", "cost_usd"]


def step_spend(wide: pd.DataFrame) -> pd.DataFrame:
    """Per-step spend (USD) of cumulative USD counters on a step grid (one column per series),
    exactly as the G6 rule counts it (:func:`igkit.judge.spend.step_spend`)."""
    return pd.DataFrame(spend.step_spend(wide.to_numpy()), index=wide.index, columns=wide.columns)


def cumulative_spend(wide: pd.DataFrame) -> pd.DataFrame:
    """Cumulative spend since the window's first step, per series (see :func:`step_spend`)."""
    return step_spend(wide).cumsum()


def _to_cost_frame(
    spend: pd.DataFrame, labels: dict[str, dict[str, str]], default_budget: str
) -> pd.DataFrame:
    """Wide per-step spend (index ms) -> cost frame rows (time, budget, component, cost_usd)."""
    if spend.shape[1] == 0:
        return pd.DataFrame(columns=COST_COLUMNS)
    stacked = spend.rename_axis(index="ts", columns="series").stack()
    long = pd.Series(stacked, name="cost_usd").reset_index()
    meta = pd.DataFrame(
        {
            "series": list(spend.columns.astype(str)),
            "budget": [labels.get(str(c), {}).get("budget", default_budget) for c in spend.columns],
            "component": [labels.get(str(c), {}).get("component", "") for c in spend.columns],
        }
    )
    long = long.merge(meta, on="series", how="left")
    long["time"] = pd.to_datetime(long["ts"].astype(np.int64), unit="ms", utc=True)
    return long[COST_COLUMNS].reset_index(drop=True)


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
        frames.append(_to_cost_frame(step_spend(wide), series_labels(snap.result), budget.name))
    if not frames:
        return pd.DataFrame(columns=COST_COLUMNS)
    return pd.concat(frames, ignore_index=True)
