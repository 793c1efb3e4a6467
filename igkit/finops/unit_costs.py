"""Unit costs from a FOCUS export, over the window G6's unit-cost objectives use and in their
units (USD/1k events, USD/1M calls): the matrix says which component, which window, which
unit; nothing here is hard-coded.

An objective qualifies when it is a Prometheus objective with the ``unit_cost`` named query,
a ``USD/...`` threshold unit and an ``aggregate`` rule (its ``window``); its component is the
``component="..."`` matcher of its ``cost_selector``. A FOCUS row counts in proportion to the
part of its charge period inside ``[at - window, at)``, cost and quantity alike, so a daily
export gives the unit cost of the day that holds the window.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from igkit.spec.models import Aggregate, Comparison, Matrix, PrometheusObjective
from igkit.units import from_base
from igkit.verdicts import Status

_OPS: dict[Comparison, Callable[[float, float], bool]] = {
    Comparison.LE: operator.le,
    Comparison.LT: operator.lt,
    Comparison.GE: operator.ge,
    Comparison.GT: operator.gt,
}
_COMPONENT = re.compile(r"""component\s*=\s*["']([^"']*)["']""")


class UnitCostFigure(BaseModel):
    """One G6 unit-cost objective seen from cost data: cost and quantity in its window."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    objective: str
    component: str
    unit: str
    window_start: datetime
    window_end: datetime
    cost: float | None
    quantity: float | None
    value: float | None  # in ``unit``
    threshold: float
    status: Status
    reason: str


def unit_cost_objectives(matrix: Matrix) -> list[tuple[str, PrometheusObjective, str, timedelta]]:
    """(gate/objective, objective, component, window) of every qualifying objective."""
    out = []
    for gate, obj in matrix.objectives_of(PrometheusObjective):
        nq = obj.named_query
        if (
            nq is None
            or nq.name != "unit_cost"
            or not obj.threshold.unit.value.startswith("USD/")
            or not isinstance(obj.rule, Aggregate)
        ):
            continue
        match = _COMPONENT.search(nq.params.get("cost_selector", ""))
        if match:
            out.append((f"{gate.id}/{obj.name}", obj, match.group(1), obj.rule.window))
    return out


def focus_unit_costs(usage: pd.DataFrame, matrix: Matrix, at: datetime) -> list[UnitCostFigure]:
    """Unit cost per qualifying objective from :attr:`FocusCosts.usage` rows at ``at``; no
    quantity in the window is NO_DATA (never a division by zero)."""
    at_ts = pd.Timestamp(at)
    out = []
    for name, obj, component, window in unit_cost_objectives(matrix):
        start_ts = at_ts - pd.Timedelta(window)
        rows = usage[usage["component"] == component] if len(usage) else usage
        if len(rows):
            begin = rows["time"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
            end = rows["end"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
            lo = np.maximum(begin, start_ts.value)
            hi = np.minimum(end, at_ts.value)
            length = np.maximum(end - begin, 1)
            weight = np.clip(hi - lo, 0, None) / length
            cost = float((rows["cost"].to_numpy() * weight).sum())
            quantity = float((rows["quantity"].to_numpy() * weight).sum())
        else:
            cost = quantity = 0.0
        unit = obj.threshold.unit
        base = {
            "objective": name,
            "component": component,
            "unit": unit.value,
            "window_start": start_ts.to_pydatetime(),
            "window_end": at_ts.to_pydatetime(),
            "threshold": obj.threshold.value,
        }
        if quantity <= 0:
            out.append(
                UnitCostFigure(
                    **base,
                    cost=cost,
                    quantity=quantity,
                    value=None,
                    status=Status.NO_DATA,
                    reason=f"{name}: no ConsumedQuantity for component {component!r} in the "
                    f"{window} window before {at_ts:%Y-%m-%d %H:%M} UTC",
                )
            )
            continue
        value = from_base(cost / quantity, unit)
        passed = bool(_OPS[obj.comparison](value, obj.threshold.value))
        out.append(
            UnitCostFigure(
                **base,
                cost=cost,
                quantity=quantity,
                value=value,
                status=Status.PASS if passed else Status.FAIL,
                reason=f"{name}: {value:.4g} {unit.value} ({cost:,.2f} / {quantity:,.0f}) "
                f"{obj.comparison.value if passed else obj.comparison.negated_word} "
                f"{obj.threshold.value:g}",
            )
        )
    return out
