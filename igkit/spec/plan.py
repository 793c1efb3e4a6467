"""Plan: which range queries a set of gates needs at an evaluation time.

Both the fetch step and the pure evaluation derive requests from here, so a replay asks
for exactly the snapshots the live run stored (same query text, window and step).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from igkit.errors import ConfigError
from igkit.snapshots import RangeRequest
from igkit.spec.models import (
    BudgetBurn,
    Gate,
    Matrix,
    PrometheusObjective,
    ResolvedSettings,
    resolve_settings,
)
from igkit.spec.promql import render
from igkit.spec.selectors import apply_select
from igkit.timeutil import month_start


@dataclass(frozen=True)
class PlannedQuery:
    gate: Gate
    objective: PrometheusObjective
    settings: ResolvedSettings
    request: RangeRequest
    expect_request: RangeRequest | None = None  # the objective's ``expect.query``, if any

    @property
    def label(self) -> str:
        return f"{self.gate.id}-{self.objective.name}"

    @property
    def requests(self) -> list[tuple[str, RangeRequest]]:
        """Every range this objective needs, labelled for its snapshot file."""
        out = [(self.label, self.request)]
        if self.expect_request is not None:
            out.append((f"{self.label}-expect", self.expect_request))
        return out


def rule_window(obj: PrometheusObjective) -> timedelta | None:
    return None if isinstance(obj.rule, BudgetBurn) else obj.rule.window


def render_objective_query(obj: PrometheusObjective, settings: ResolvedSettings) -> str:
    named = (obj.named_query.name, dict(obj.named_query.params)) if obj.named_query else None
    return render(
        query=obj.query,
        named=named,
        window=rule_window(obj),
        rate=settings.rate,
        step=settings.step,
    )


def render_expect_query(obj: PrometheusObjective, settings: ResolvedSettings) -> str | None:
    """The ``expect.query`` text, with the same placeholders as the objective's query."""
    if obj.expect is None or obj.expect.query is None:
        return None
    return render(
        query=obj.expect.query,
        named=None,
        window=rule_window(obj),
        rate=settings.rate,
        step=settings.step,
    )


def window_bounds(obj: PrometheusObjective, at: datetime) -> tuple[datetime, datetime]:
    """Absolute [start, end] of an objective's window at evaluation time ``at``."""
    if isinstance(obj.rule, BudgetBurn):
        return month_start(at), at
    return at - obj.rule.window, at


def with_window(obj: PrometheusObjective, window: timedelta | None) -> PrometheusObjective:
    """``obj`` with its step rule's window replaced (a budget burn keeps its month)."""
    if window is None or isinstance(obj.rule, BudgetBurn):
        return obj
    return obj.model_copy(update={"rule": obj.rule.model_copy(update={"window": window})})


def plan(
    matrix: Matrix,
    gate_ids: list[str],
    at: datetime,
    tenant: str | None,
    *,
    select: str | None = None,
    window: timedelta | None = None,
) -> list[PlannedQuery]:
    """The range requests of ``gate_ids`` at ``at``. ``select`` (label matchers) is added to
    every vector selector of every query; ``window`` replaces every step rule's window. Both
    change the requests, so a run records them and its replay plans with the same ones."""
    if window is not None and window <= timedelta(0):
        raise ConfigError(f"window must be positive, not {window}", where="--window")
    planned = []
    for gate_id in gate_ids:
        gate = matrix.gate(gate_id)
        for declared in gate.objectives:
            if not isinstance(declared, PrometheusObjective):
                continue
            obj = with_window(declared, window)
            settings = resolve_settings(obj, matrix.defaults)
            start, end = window_bounds(obj, at)
            request = RangeRequest(
                query=apply_select(render_objective_query(obj, settings), select),
                start=start,
                end=end,
                step_seconds=settings.step.total_seconds(),
                tenant=tenant,
            )
            expect_text = render_expect_query(obj, settings)
            if expect_text is not None:
                expect_text = apply_select(expect_text, select)
            expect_request = (
                None if expect_text is None else request.model_copy(update={"query": expect_text})
            )
            planned.append(
                PlannedQuery(
                    gate=gate,
                    objective=obj,
                    settings=settings,
                    request=request,
                    expect_request=expect_request,
                )
            )
    return planned
