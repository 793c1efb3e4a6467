"""Budget figures in one call, from either input: the G6 cost counters (a run's snapshots, or
one objective's frame inside the G6 rule) or a FOCUS export. Both go through the same cost
frame, :mod:`igkit.finops.mtd` and :func:`igkit.finops.projection.budget_figures`, so the
gate, ``igkit finops burn`` and the notebook show one set of numbers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from igkit.errors import SnapshotError
from igkit.finops.budgets import Budget, matrix_budgets
from igkit.finops.costs import costs_from_counters, empty_costs
from igkit.finops.focus import FocusCosts, read_focus
from igkit.finops.mtd import counter_month_to_date
from igkit.finops.projection import BudgetFigures, budget_figures
from igkit.snapshots import (
    FetchFailure,
    Snapshot,
    parse_range_result,
    series_labels,
    to_wide_frame,
)
from igkit.spec.finops import FinopsSpec
from igkit.spec.models import Matrix, ResolvedSettings

if TYPE_CHECKING:
    from igkit.explore import Run
    from igkit.sources import Source
    from igkit.spec.plan import PlannedQuery


def _label_text(labels: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(labels.items()) if k != "__name__")


def counter_figures(
    wide: pd.DataFrame,
    labels: dict[str, dict[str, str]],
    *,
    budget: Budget,
    settings: ResolvedSettings,
    at: datetime,
    spec: FinopsSpec,
) -> tuple[pd.DataFrame, BudgetFigures]:
    """Cost frame and figures of one budget's cost counters on the G6 grid (month start ..
    ``at``; index ms). A stale or long-silent series makes the spend unknown (NO_DATA)."""
    values = wide.to_numpy(dtype=np.float64)
    ts_ms = wide.index.to_numpy(dtype=np.float64)
    unknown: dict[str, str] = {}
    if wide.shape[1] == 0:
        unknown[budget.name] = f"{budget.name}: no cost series this month; spend unknown"
    else:
        names = [f"{{{_label_text(labels.get(str(c), {}))}}}" for c in wide.columns]
        counted = counter_month_to_date(
            values,
            ts_ms,
            names,
            step_s=settings.step.total_seconds(),
            max_gap_s=settings.max_gap.total_seconds(),
            max_staleness_s=settings.max_staleness.total_seconds(),
            at=at,
        )
        if counted.problem == "±Inf":
            unknown[budget.name] = f"{budget.name}: a cost counter holds ±Inf; spend unknowable"
        elif counted.problem is not None:
            unknown[budget.name] = f"{budget.name}: {counted.problem}"
    present = ~np.isnan(values).all(axis=1) if values.size else np.zeros(0, dtype=bool)
    history_start = (
        pd.Timestamp(int(ts_ms[np.argmax(present)]), unit="ms", tz="UTC") if present.any() else None
    )
    costs = costs_from_counters(
        wide, labels, step_s=settings.step.total_seconds(), default_budget=budget.name
    )
    costs = costs.assign(budget=budget.name) if len(costs) else costs
    (figures,) = budget_figures(
        costs,
        [budget],
        at,
        spec,
        unknown=unknown,
        history_start=None if history_start is None else history_start.to_pydatetime(),
    )
    return costs, figures


def figures_from_snapshots(
    matrix: Matrix,
    planned: Mapping[tuple[str, str], PlannedQuery],
    snapshot_of: Callable[[PlannedQuery], Snapshot | FetchFailure | None],
    at: datetime,
) -> tuple[pd.DataFrame, list[BudgetFigures]]:
    """Cost frame and figures of every budget of ``matrix`` from its budget objectives'
    snapshots (``planned`` by (gate id, objective name)); a budget whose snapshot is missing
    or failed is NO_DATA with the reason."""
    spec = matrix.finops
    frames, figures = [], []
    for budget in matrix_budgets(matrix):
        pq = planned.get(tuple(budget.objective.split("/", 1)))  # type: ignore[arg-type]
        snap = None if pq is None else snapshot_of(pq)
        if pq is None or not isinstance(snap, Snapshot) or snap.status == "error":
            why = snap.message if isinstance(snap, FetchFailure) else "no usable snapshot"
            reason = f"{budget.name}: {budget.objective}: {why}; spend unknown"
            (fig,) = budget_figures(
                empty_costs(), [budget], at, spec, unknown={budget.name: reason}
            )
            figures.append(fig)
            continue
        try:
            data = parse_range_result(snap.result)
        except SnapshotError as exc:
            reason = f"{budget.name}: {budget.objective}: malformed snapshot: {exc}"
            (fig,) = budget_figures(
                empty_costs(), [budget], at, spec, unknown={budget.name: reason}
            )
            figures.append(fig)
            continue
        wide = to_wide_frame(data, pq.request.grid())
        costs, fig = counter_figures(
            wide, series_labels(data), budget=budget, settings=pq.settings, at=at, spec=spec
        )
        frames.append(costs)
        figures.append(fig)
    costs = pd.concat(frames, ignore_index=True) if frames else empty_costs()
    return costs, figures


def figures_from_run(run: Run) -> tuple[pd.DataFrame, list[BudgetFigures]]:
    """:func:`figures_from_snapshots` of a run (its replayed G6 budget snapshots)."""
    snapshots = run.snapshots
    return figures_from_snapshots(
        run.loaded.matrix, run.planned, lambda pq: snapshots.get(pq.request.id), run.at
    )


def figures_from_source(
    matrix: Matrix, source: Source, at: datetime, *, tenant: str | None = None
) -> tuple[pd.DataFrame, list[BudgetFigures]]:
    """Figures straight from a Prometheus source (``igkit finops burn --prom-url``): the
    budget objectives' range requests as G6 plans them, fetched once each."""
    from igkit.sources.registry import capture_ranges
    from igkit.spec.plan import plan

    gate_ids = list(dict.fromkeys(b.objective.split("/", 1)[0] for b in matrix_budgets(matrix)))
    pqs = plan(matrix, gate_ids, at, tenant) if gate_ids else []
    planned = {(p.gate.id, p.objective.name): p for p in pqs}
    wanted = {pq.request.id: pq.request for pq in planned.values()}
    snapshots = capture_ranges(source, list(wanted.values()))
    return figures_from_snapshots(matrix, planned, lambda pq: snapshots.range(pq.request), at)


def figures_from_focus(
    path: str | Path, matrix: Matrix, at: datetime
) -> tuple[FocusCosts, list[BudgetFigures]]:
    """The FOCUS export read for ``matrix``'s budgets and their figures at ``at``; data that
    ends more than ``finops.max_lag`` before ``at`` makes every budget NO_DATA."""
    spec = matrix.finops
    budgets = matrix_budgets(matrix)
    read = read_focus(path, spec, budgets=[b.name for b in budgets])
    lag = read.lag_problem(pd.Timestamp(at), spec)
    unknown = {b.name: lag for b in budgets} if lag else None
    return read, budget_figures(read.costs, budgets, at, spec, unknown=unknown)
