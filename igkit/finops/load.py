"""The notebook's input: a cost frame and the matrix budgets, from snapshots or a FOCUS CSV."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

import pandas as pd

from igkit.finops.budgets import Budget, matrix_budgets, run_budgets
from igkit.finops.costs import costs_from_run
from igkit.finops.focus import read_focus

if TYPE_CHECKING:
    from igkit.explore import Run


def load_costs(
    source: Literal["prometheus-snapshots", "focus-csv"],
    *,
    snapshot_dir: str | Path | None = None,
    matrix: str | Path | None = None,
    focus_csv: str | Path | None = None,
    cost_column: str = "",
) -> tuple[pd.DataFrame, dict[str, Budget]]:
    """The cost frame of ``source`` and the matrix budgets by name (limit per month, alert %).

    ``cost_column`` is accepted for old notebooks and ignored: the FOCUS reader takes
    EffectiveCost when the file has it, else BilledCost with purchases amortized."""
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
        read = read_focus(focus_csv, loaded.matrix.finops, budgets=budgets)
        return read.costs, budgets
    raise ValueError(f'source must be "prometheus-snapshots" or "focus-csv", not {source!r}')


def load_run_for(snapshot_dir: str | Path | None, matrix: str | Path | None = None) -> Run:
    """:func:`igkit.explore.load_run`, re-exported for the FinOps notebook."""
    from igkit.explore import load_run

    return load_run(snapshot_dir, matrix)
