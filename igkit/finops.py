"""FinOps views of G6: month-to-date burn over time, projection, unit costs, downshift tier.

Two inputs give the same frames:

* the G6 budget snapshots of a run (cumulative USD counters ``finops_cost_usd_total``),
  turned into per-step spend by :func:`igkit.judge.spend.step_spend`, the very function the
  G6 rule sums (a counter drop is a reset whose new value is all new spend; a series that
  appears after the window's first step counts its first value as spend);
* a FOCUS 1.x cost export (CSV): ``BilledCost`` (or ``EffectiveCost``), ``ChargePeriodStart``,
  ``ServiceName`` and ``Tags`` (JSON object; ``budget`` and ``component`` tags are used).

The common shape is a *cost frame*: one row per (time, budget, component) with the spend
``cost_usd`` incurred in that step. Everything else is a vectorised group-by over it.

The downshift ladder thresholds come from the matrix (``cost_ladder``), like every threshold.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from igkit.judge import spend
from igkit.snapshots import Snapshot, series_labels, to_wide_frame
from igkit.spec.models import BudgetBurn, CostLadder, Matrix, PrometheusObjective
from igkit.units import to_base

if TYPE_CHECKING:
    from igkit.explore import Run

COST_COLUMNS = ["time", "budget", "component", "cost_usd"]
TIER_NAMES = ("No action", "Observe", "Throttle", "Shed", "Degrade", "Protect", "Emergency")


# --------------------------------------------------------------------------- downshift ladder


DownshiftLadder = CostLadder  # the matrix's ``cost_ladder`` section (seed §8)


def default_ladder() -> DownshiftLadder:
    """The ladder of the matrix shipped with igkit (read when first needed, not at import)."""
    from igkit.spec.loader import load_matrix

    ladder = load_matrix(None).matrix.cost_ladder
    assert ladder is not None, "the shipped matrix defines cost_ladder"
    return ladder


def downshift_tier(
    burn_share: float, projected_share: float | None, ladder: DownshiftLadder | None = None
) -> int:
    """0 (no action) .. 6 (Emergency) for shares of the budget (1.0 = 100%).

    NaN or ±Inf burn is treated as the worst case (Emergency): spend unknown fails closed."""
    ladder = ladder or default_ladder()
    if not np.isfinite(burn_share):
        return 6
    by_burn = int(np.searchsorted(np.asarray(ladder.burn_share), burn_share, side="right"))
    by_projection = 0
    if projected_share is not None:
        if not np.isfinite(projected_share):
            return 6
        by_projection = int(
            np.searchsorted(np.asarray(ladder.projected_share), projected_share, side="right")
        )
    return max(by_burn, by_projection)


def downshift_tiers(
    burn_share: np.ndarray, projected_share: np.ndarray, ladder: DownshiftLadder | None = None
) -> np.ndarray:
    """:func:`downshift_tier` over arrays; a NaN projection (no elapsed time) is ignored."""
    ladder = ladder or default_ladder()
    burn_arr = np.asarray(burn_share, dtype=np.float64)
    proj = np.asarray(projected_share, dtype=np.float64)
    by_burn = np.searchsorted(np.asarray(ladder.burn_share), burn_arr, side="right")
    by_proj = np.searchsorted(
        np.asarray(ladder.projected_share), np.nan_to_num(proj, nan=-np.inf), side="right"
    )
    tiers = np.maximum(by_burn, by_proj)
    unknown = ~np.isfinite(burn_arr) | np.isinf(proj)
    return np.where(unknown, 6, tiers).astype(np.int64)


def tier_name(tier: int) -> str:
    return TIER_NAMES[tier]


# --------------------------------------------------------------------------- counters -> spend


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


class Budget(BaseModel):
    """A ``budget_burn`` objective seen as a budget: its monthly USD and its alert line, the
    objective's own threshold (percent of the budget), so the chart's line is the gate's."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    budget_usd: float = Field(gt=0)
    alert_pct: float = Field(gt=0)
    objective: str = ""


def matrix_budgets(matrix: Matrix) -> list[Budget]:
    """The ``budget_burn`` objectives of ``matrix`` (any gate), budget name from the objective."""
    return [
        Budget(
            name=obj.name.removesuffix("_budget_burn"),
            budget_usd=obj.rule.budget_usd,
            alert_pct=100 * to_base(obj.threshold.value, obj.threshold.unit),
            objective=f"{gate.id}/{obj.name}",
        )
        for gate, obj in matrix.objectives_of(PrometheusObjective)
        if isinstance(obj.rule, BudgetBurn)
    ]


def run_budgets(run: Run) -> list[Budget]:
    """The budgets of the run's matrix."""
    return matrix_budgets(run.loaded.matrix)


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


def read_focus_csv(
    path: str | Path,
    *,
    cost_column: Literal["BilledCost", "EffectiveCost"] = "BilledCost",
    default_budget: str = "all",
) -> pd.DataFrame:
    """A FOCUS 1.x cost export (CSV) -> cost frame.

    ``time`` = ``ChargePeriodStart`` (UTC), ``cost_usd`` = ``cost_column``, ``component`` =
    the ``component`` tag or else ``ServiceName``, ``budget`` = the ``budget`` tag or
    ``default_budget``. ``Tags`` is a JSON object per row (empty or missing = no tags).
    If ``ConsumedQuantity`` is present it is kept as ``quantity`` for unit costs, and
    ``ChargePeriodEnd`` (exclusive) as ``period_end``: the projection counts a period's cost
    as accrued at its end, not its start.
    """
    raw = pd.read_csv(path, dtype={"Tags": "string", "ServiceName": "string"}, keep_default_na=True)
    missing = {cost_column, "ChargePeriodStart", "ServiceName"} - set(raw.columns)
    if missing:
        raise ValueError(
            f"{path}: not a FOCUS export, missing column(s) {', '.join(sorted(missing))}"
        )
    tags_text = (
        raw["Tags"].fillna("{}") if "Tags" in raw.columns else pd.Series("{}", index=raw.index)
    )
    tags = pd.json_normalize(tags_text.map(json.loads).tolist()).reindex(
        columns=["budget", "component"]
    )
    tags.index = raw.index
    service = raw["ServiceName"].fillna("").astype(str)
    frame = pd.DataFrame(
        {
            "time": pd.to_datetime(raw["ChargePeriodStart"], utc=True),
            "budget": tags["budget"].fillna(default_budget).astype(str),
            "component": tags["component"].fillna(service).astype(str),
            "cost_usd": pd.to_numeric(raw[cost_column], errors="raise").astype(np.float64),
        }
    )
    if "ChargePeriodEnd" in raw.columns:
        frame["period_end"] = pd.to_datetime(raw["ChargePeriodEnd"], utc=True).fillna(frame["time"])
    if "ConsumedQuantity" in raw.columns:
        frame["quantity"] = pd.to_numeric(raw["ConsumedQuantity"], errors="coerce")
    return frame.sort_values("time", kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------- views


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


def month_to_date(costs: pd.DataFrame, budget: str) -> pd.Series:
    """Cumulative spend of one budget over time, restarting at 00:00 UTC on each 1st."""
    rows = costs[costs["budget"] == budget]
    per_time = rows.groupby("time", sort=True)["cost_usd"].sum()
    if per_time.empty:
        return per_time.rename("month_to_date_usd")
    month = pd.DatetimeIndex(per_time.index).tz_convert("UTC").strftime("%Y-%m")
    return per_time.groupby(month).cumsum().rename("month_to_date_usd")


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
    accrued = times
    if "period_end" in costs.columns:  # FOCUS: a charge period's cost is known at its end
        ends = costs[costs["budget"] == budget].groupby("time", sort=True)["period_end"].max()
        accrued = pd.DatetimeIndex(ends.reindex(times).fillna(pd.Series(times, index=times)))
    elapsed = (accrued - month_begin).total_seconds().to_numpy()
    month_len = times.days_in_month.to_numpy(dtype=np.float64) * 86400.0
    spend_usd = mtd.to_numpy(dtype=np.float64)
    projected = spend.project_month_end(spend_usd, elapsed, month_len)
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


def spend_by_component(costs: pd.DataFrame) -> pd.DataFrame:
    """Total spend per (budget, component), largest first."""
    out = costs.groupby(["budget", "component"])["cost_usd"].sum().reset_index()
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
        ["cost_usd", "quantity"]
    ].sum()
    ratio = grouped["cost_usd"] / grouped["quantity"].where(grouped["quantity"] > 0)
    return ratio.unstack("component")


def load_costs(
    source: Literal["prometheus-snapshots", "focus-csv"],
    *,
    snapshot_dir: str | Path | None = None,
    matrix: str | Path | None = None,
    focus_csv: str | Path | None = None,
    cost_column: Literal["BilledCost", "EffectiveCost"] = "BilledCost",
) -> tuple[pd.DataFrame, dict[str, Budget]]:
    """The cost frame of ``source`` and the matrix budgets by name (USD per month, alert %)."""
    from igkit.explore import load_run
    from igkit.spec.loader import load_matrix

    if source == "prometheus-snapshots":
        run = load_run(snapshot_dir, matrix)
        return costs_from_run(run), {b.name: b for b in run_budgets(run)}
    if source == "focus-csv":
        if focus_csv is None or str(focus_csv) == "":
            raise ValueError('source "focus-csv" needs focus_csv: the path of a FOCUS CSV export')
        loaded = load_matrix(Path(matrix) if matrix not in (None, "") else None)
        budgets = {b.name: b for b in matrix_budgets(loaded.matrix)}
        return read_focus_csv(focus_csv, cost_column=cost_column), budgets
    raise ValueError(f'source must be "prometheus-snapshots" or "focus-csv", not {source!r}')


def load_run_for(snapshot_dir: str | Path | None, matrix: str | Path | None = None) -> Run:
    """:func:`igkit.explore.load_run`, re-exported for the FinOps notebook."""
    from igkit.explore import load_run

    return load_run(snapshot_dir, matrix)
