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

Modules: :mod:`.costs` (cost frame), :mod:`.budgets`, :mod:`.focus` (FOCUS reader),
:mod:`.mtd` (month-to-date), :mod:`.ladder` (downshift tiers), :mod:`.views`, :mod:`.load`.
"""

from __future__ import annotations

from igkit.finops.budgets import Budget, matrix_budgets, run_budgets
from igkit.finops.costs import (
    CATEGORIES,
    COST_COLUMNS,
    UNALLOCATED,
    CostDataError,
    costs_from_counters,
    costs_from_run,
    cumulative_spend,
    empty_costs,
    step_spend,
)
from igkit.finops.figures import (
    counter_figures,
    figures_from_focus,
    figures_from_run,
    figures_from_snapshots,
    figures_from_source,
)
from igkit.finops.focus import FocusCosts, read_focus, read_focus_csv
from igkit.finops.ladder import (
    TIER_NAMES,
    DownshiftLadder,
    default_ladder,
    downshift_tier,
    downshift_tiers,
    tier_name,
)
from igkit.finops.load import load_costs, load_run_for
from igkit.finops.mtd import month_to_date, month_to_date_by_budget
from igkit.finops.projection import (
    BudgetFigures,
    budget_figures,
    linear_projection,
    run_rate_projection,
    unallocated,
    unallocated_check,
)
from igkit.finops.unit_costs import UnitCostFigure, focus_unit_costs, unit_cost_objectives
from igkit.finops.views import (
    burn,
    filter_range,
    spend_by_component,
    unit_costs_from_focus,
    unit_costs_from_run,
)

__all__ = [
    "CATEGORIES",
    "COST_COLUMNS",
    "TIER_NAMES",
    "UNALLOCATED",
    "Budget",
    "BudgetFigures",
    "CostDataError",
    "DownshiftLadder",
    "FocusCosts",
    "UnitCostFigure",
    "budget_figures",
    "burn",
    "costs_from_counters",
    "costs_from_run",
    "counter_figures",
    "cumulative_spend",
    "default_ladder",
    "downshift_tier",
    "downshift_tiers",
    "empty_costs",
    "figures_from_focus",
    "figures_from_run",
    "figures_from_snapshots",
    "figures_from_source",
    "filter_range",
    "focus_unit_costs",
    "linear_projection",
    "load_costs",
    "load_run_for",
    "matrix_budgets",
    "month_to_date",
    "month_to_date_by_budget",
    "read_focus",
    "read_focus_csv",
    "run_budgets",
    "run_rate_projection",
    "spend_by_component",
    "step_spend",
    "tier_name",
    "unallocated",
    "unallocated_check",
    "unit_cost_objectives",
    "unit_costs_from_focus",
    "unit_costs_from_run",
]
