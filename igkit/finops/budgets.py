"""The budgets of a matrix: its G6 ``budget_burn`` objectives."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from igkit.spec.models import BudgetBurn, Matrix, PrometheusObjective
from igkit.units import to_base

if TYPE_CHECKING:
    from igkit.explore import Run


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
