"""``igkit finops burn``: per budget month-to-date, budget, share, both month-end
projections, the downshift tier and what triggered it, and the unallocated spend.

From Prometheus the G6 budget ranges are planned and captured exactly as ``go-no-go`` does
(month start .. ``at``) and each is judged by the G6 rule, so the figures are the gate's; a
budget the gate cannot judge (stale series, fetch failure) is NO_DATA/ERROR with the gate's
reason. From a FOCUS export the matrix's ``finops`` section reads it (currency, allocation,
amortization, tax). Both end in :func:`igkit.finops.projection.budget_figures` and
:func:`igkit.finops.ladder.explain`.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_serializer

from igkit.finops.budgets import Budget, matrix_budgets
from igkit.finops.ladder import TierExplanation, explain
from igkit.finops.projection import BudgetFigures, unallocated_check
from igkit.spec.loader import LoadedMatrix
from igkit.spec.models import CostLadder
from igkit.timeutil import rfc3339
from igkit.verdicts import Status


class SourceFile(BaseModel):
    """What the figures were computed from: a G6 snapshot or the FOCUS file, by SHA-256."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    budget: str | None = Field(description="the budget a G6 snapshot was captured for")
    id: str = Field(description="snapshot id, or the FOCUS file's path")
    sha256: str
    gate_status: Status | None = Field(
        default=None, description="the G6 objective's verdict on this snapshot"
    )


class BudgetLine(BaseModel):
    """One budget: its figures and where it stands on the ladder."""

    model_config = ConfigDict(extra="forbid")

    figures: BudgetFigures
    ladder: TierExplanation


class BurnReport(BaseModel):
    """What ``igkit finops burn --format json`` prints (schema ``igkit.finops-burn/v1``)."""

    model_config = ConfigDict(extra="forbid")

    schema_: Literal["igkit.finops-burn/v1"] = Field(default="igkit.finops-burn/v1", alias="schema")
    at: datetime
    source: str
    matrix_source: str
    matrix_sha256: str
    currency: str
    budgets: list[BudgetLine]
    ladder: TierExplanation = Field(description="the worst budget decides")
    unallocated: float | None = Field(description="month-to-date spend no rule mapped")
    unallocated_status: Status
    unallocated_text: str
    inputs: list[SourceFile]
    known: bool = Field(description="every budget's figures PASS and unallocated within limits")

    @field_serializer("at")
    def _ser(self, v: datetime) -> str:
        return rfc3339(v)


def _ladder(loaded: LoadedMatrix) -> CostLadder:
    from igkit.errors import ConfigError

    ladder = loaded.matrix.cost_ladder
    if ladder is None:
        raise ConfigError("has no cost_ladder: no tier to explain", where=loaded.source)
    return ladder


def _budgets(loaded: LoadedMatrix) -> list[Budget]:
    from igkit.errors import ConfigError

    budgets = matrix_budgets(loaded.matrix)
    if not budgets:
        raise ConfigError("has no budget_burn objective: no budget to report", where=loaded.source)
    return budgets


def _report(
    loaded: LoadedMatrix,
    ladder: CostLadder,
    figures: list[BudgetFigures],
    costs: pd.DataFrame | None,
    at: datetime,
    source: str,
    inputs: list[SourceFile],
) -> BurnReport:
    from igkit.finops.projection import unallocated

    spec = loaded.matrix.finops
    lines = [BudgetLine(figures=f, ladder=explain([f], ladder)) for f in figures]
    if costs is None:
        amount, status, text = None, Status.ERROR, "no cost data read: unallocated spend unknown"
    else:
        amount = unallocated(costs, at, tax_in_burn=spec.tax_in_burn)
        status, text = unallocated_check(costs, at, spec)
    return BurnReport(
        at=at,
        source=source,
        matrix_source=loaded.source,
        matrix_sha256=loaded.sha256,
        currency=spec.currency,
        budgets=lines,
        ladder=explain(figures, ladder),
        unallocated=amount,
        unallocated_status=status,
        unallocated_text=text,
        inputs=inputs,
        known=all(f.status is Status.PASS for f in figures) and status is Status.PASS,
    )


def burn_from_focus(loaded: LoadedMatrix, path: Path, at: datetime) -> BurnReport:
    """Figures of the matrix's budgets from a FOCUS export at ``at``
    (:func:`igkit.finops.figures.figures_from_focus`); a file that cannot be read makes every
    budget ERROR with the one-line cause."""
    from igkit.finops.costs import CostDataError
    from igkit.finops.figures import figures_from_focus
    from igkit.finops.verify_tier import sha256_file

    ladder, budgets = _ladder(loaded), _budgets(loaded)
    spec = loaded.matrix.finops
    try:
        focus, figures = figures_from_focus(path, loaded.matrix, at)
    except CostDataError as exc:
        figures = [_error(b, spec.currency, at, str(exc)) for b in budgets]
        inputs = [SourceFile(budget=None, id=str(path), sha256=sha256_file(path))]
        return _report(loaded, ladder, figures, None, at, f"focus {path}", inputs)
    inputs = [SourceFile(budget=None, id=str(path), sha256=focus.sha256)]
    return _report(loaded, ladder, figures, focus.costs, at, f"focus {path}", inputs)


def _error(budget: Budget, currency: str, at: datetime, reason: str) -> BudgetFigures:
    return BudgetFigures(
        budget=budget.name,
        limit=budget.budget_usd,
        currency=currency,
        at=at,
        month_to_date=None,
        share=None,
        linear_projection=None,
        run_rate_projection=None,
        driver=None,
        projected_share=None,
        status=Status.ERROR,
        reasons=[reason],
    )


def burn_from_prometheus(
    loaded: LoadedMatrix, url: str, at: datetime, *, timeout: float = 30.0
) -> BurnReport:
    """Capture the G6 budget ranges from ``url`` as go-no-go plans them, judge each with the
    G6 rule, and take the figures from the very counters the gate judged
    (:func:`igkit.finops.figures.counter_figures`, as the rule does); a budget the gate could
    not judge has an unknown month-to-date with the gate's reason."""
    from igkit.finops.figures import counter_figures
    from igkit.finops.ladder import unjudged
    from igkit.judge.prometheus import evaluate_prometheus
    from igkit.snapshots import (
        ResultError,
        Snapshot,
        check_range_snapshot,
        series_labels,
        to_wide_frame,
    )
    from igkit.sources.prometheus import PrometheusSource
    from igkit.sources.registry import capture_ranges
    from igkit.spec.models import BudgetBurn
    from igkit.spec.plan import plan

    ladder, budgets = _ladder(loaded), _budgets(loaded)
    spec = loaded.matrix.finops
    by_objective = {b.objective: b for b in budgets}
    gate_ids = list(dict.fromkeys(b.objective.split("/", 1)[0] for b in budgets))
    planned = [
        pq
        for pq in plan(loaded.matrix, gate_ids, at, None)
        if isinstance(pq.objective.rule, BudgetBurn)
    ]
    prom = PrometheusSource(url, timeout=timeout)
    snapshots = capture_ranges(prom, [pq.request for pq in planned])
    frames, figures, inputs = [], [], []
    for pq in planned:
        budget = by_objective[f"{pq.gate.id}/{pq.objective.name}"]
        snap = snapshots.range(pq.request)
        verdict = evaluate_prometheus(pq, snap, at, ladder=ladder, finops=spec)
        reason = "; ".join(verdict.reasons) or f"G6 verdict {verdict.status.value}"
        fig = _error(budget, spec.currency, at, reason)
        if isinstance(snap, Snapshot):
            inputs.append(
                SourceFile(
                    budget=budget.name, id=snap.id, sha256=snap.sha256, gate_status=verdict.status
                )
            )
            try:
                data = check_range_snapshot(snap)
            except ResultError:
                data = None  # the verdict is ERROR and says why
            if data is not None:
                costs, fig = counter_figures(
                    to_wide_frame(data, pq.request.grid()),
                    series_labels(data),
                    budget=budget,
                    settings=pq.settings,
                    at=at,
                    spec=spec,
                )
                frames.append(costs)
        if verdict.status in (Status.NO_DATA, Status.ERROR):
            fig = unjudged(fig, reason)
        figures.append(fig)
    every = pd.concat(frames, ignore_index=True) if frames else None
    return _report(loaded, ladder, figures, every, at, f"prometheus {prom.url}", inputs)


def _money(amount: float | None, currency: str) -> str:
    if amount is None:
        return "—"
    return f"${amount:,.2f}" if currency == "USD" else f"{amount:,.2f} {currency}"


def _share(share: float | None) -> str:
    return "—" if share is None else f"{share:.1%}"


def render_table(report: BurnReport) -> str:
    """The table a FinOps analyst reads: one row per budget, then the ladder's sentence."""
    cur = report.currency
    rows = [
        (
            "BUDGET",
            "STATUS",
            "MONTH-TO-DATE",
            "BUDGET",
            "SHARE",
            "LINEAR",
            "RUN-RATE",
            "DRIVES",
            "PROJ. SHARE",
            "TIER",
        )
    ]
    for line in report.budgets:
        f, e = line.figures, line.ladder
        rows.append(
            (
                f.budget,
                f.status.value,
                _money(f.month_to_date, cur),
                _money(f.limit, cur),
                _share(f.share),
                _money(f.linear_projection, cur),
                _money(f.run_rate_projection, cur),
                (f.driver or "—").replace("_", "-"),
                _share(f.projected_share),
                f"{e.tier} {e.name}",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = [
        f"FinOps burn at {rfc3339(report.at)}   source: {report.source}",
        f"matrix: {report.matrix_source} (sha256 {report.matrix_sha256[:12]})",
        "",
        *("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows),
        "",
        f"Unallocated: {_money(report.unallocated, cur)} — {report.unallocated_status.value}: "
        f"{report.unallocated_text}",
        "",
        "Why each tier:",
        *(f"  {line.ladder.text}" for line in report.budgets),
    ]
    reasons = [r for line in report.budgets for r in line.figures.reasons]
    if reasons:
        out += ["", "Figures unknown or partial:", *(f"  {r}" for r in reasons)]
    out += ["", f"LADDER: {report.ladder.text}"]
    return "\n".join(out)
