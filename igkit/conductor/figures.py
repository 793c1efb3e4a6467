"""The live figures of a status update, taken from what the cutover judged.

Every figure comes from a judgement (``judge.json``) or a trigger report (``triggers.json``)
and the matrix: the canary gate's gated objectives split by the dimension of their unit
(time units are the latency figures - p95 per operation type in the shipped matrix - ratio
units the availability figures), and the error-budget burn derived from the lowest canary
availability and the matrix's ``error_budget_burn`` trigger (its SLO ``objective`` and
``period``). Nothing is hard-coded: a matrix without such a trigger has no burn figure. A
figure that is not known is ``None`` and is rendered "unknown" - never 0.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from igkit.cutover.models import (
    JUDGE_FILE,
    Action,
    Judgement,
    TriggerOutcome,
    TriggerReport,
)
from igkit.spec.loader import LoadedMatrix
from igkit.spec.triggers import ErrorBudgetBurn
from igkit.strictdoc import DocumentError, load_model
from igkit.units import Unit, dimension, fmt

UNKNOWN = "unknown"
_SYMBOL = {"<=": "≤", ">=": "≥", "<": "<", ">": ">"}


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FigureRow(_Doc):
    """One objective of the canary gate as judged on the canary since the stage began."""

    name: str
    status: str
    value: float | None = Field(description="the worst value the judge observed, in ``unit``")
    unit: str | None = None
    threshold: float | None = None
    comparison: str | None = None


class Burn(_Doc):
    """Error-budget burn: share of the period's budget spent per hour at the worst canary
    availability, beside the rate at which the matrix's trigger rolls back."""

    trigger: str
    per_hour: float | None = Field(description="fraction of the period budget per hour")
    limit_per_hour: float
    period: timedelta
    status: str | None = Field(description="the trigger's status in the same judgement")


class StatusFigures(_Doc):
    """What a status update reports; ``None`` everywhere igkit does not know the value."""

    stage: int | None = None
    action: str | None = None
    evaluated_at: datetime | None = None
    gate: str | None = None
    gate_status: str | None = None
    latency: list[FigureRow] = Field(default_factory=list)
    availability: list[FigureRow] = Field(default_factory=list)
    burn: Burn | None = None
    triggers: dict[str, str] = Field(default_factory=dict)
    why: str | None = Field(default=None, description="the judgement's first reason unless PROMOTE")
    source: str | None = Field(default=None, description="the document the figures came from")
    problem: str | None = Field(default=None, description="why figures are missing, if known")

    @classmethod
    def unknown(cls, stage: int | None = None, problem: str | None = None) -> StatusFigures:
        """No judgement to report from (before the first one, or it could not be read)."""
        return cls(stage=stage, problem=problem)

    @classmethod
    def from_judgement(
        cls, judgement: Judgement, loaded: LoadedMatrix, *, source: str | None = None
    ) -> StatusFigures:
        """The figures of one ``cutover judge`` result."""
        latency: list[FigureRow] = []
        availability: list[FigureRow] = []
        canary = judgement.canary
        if canary is not None:
            comparisons = _gated(loaded, canary.gate)
            for o in canary.objectives:
                if o.name not in comparisons:
                    continue  # reported-only objectives and the request count
                row = FigureRow(
                    name=o.name,
                    status=o.status.value,
                    value=o.observed,
                    unit=o.unit,
                    threshold=o.threshold,
                    comparison=comparisons[o.name],
                )
                kind = _dimension(o.unit)
                if kind == "time":
                    latency.append(row)
                elif kind == "ratio":
                    availability.append(row)
        return cls(
            stage=judgement.stage,
            action=judgement.action.value,
            evaluated_at=judgement.evaluated_at,
            gate=canary.gate if canary else None,
            gate_status=canary.status.value if canary else None,
            latency=latency,
            availability=availability,
            burn=_burn(loaded, availability, judgement.triggers),
            triggers={t.id: t.status.value for t in judgement.triggers},
            why=None if judgement.action == Action.PROMOTE else _first(judgement.reasons),
            source=source,
        )

    @classmethod
    def from_triggers(
        cls,
        report: TriggerReport,
        loaded: LoadedMatrix,
        *,
        stage: int | None,
        source: str | None = None,
    ) -> StatusFigures:
        """The figures of a trigger check (post-deploy): trigger states only, the canary's
        numbers unknown, the burn figure unknown beside the trigger's state."""
        return cls(
            stage=stage,
            evaluated_at=report.evaluated_at,
            burn=_burn(loaded, [], report.triggers),
            triggers={t.id: t.status.value for t in report.triggers},
            source=source,
        )

    @classmethod
    def from_judge_dir(
        cls, judge_dir: Path, loaded: LoadedMatrix, *, source: str | None = None
    ) -> StatusFigures:
        """:meth:`from_judgement` of ``judge_dir/judge.json``; an unreadable one gives
        unknown figures naming the file and the cause (a status update is still written)."""
        path = judge_dir / JUDGE_FILE
        try:
            judgement = load_model(Judgement, path.read_bytes(), where=str(path))
        except OSError as exc:
            return cls.unknown(problem=f"{path}: unreadable ({exc.strerror})")
        except DocumentError as exc:
            return cls.unknown(problem=str(exc))
        return cls.from_judgement(judgement, loaded, source=source or str(judge_dir))

    def lines(self) -> dict[str, str]:
        """Each figure as igkit renders it (the values of the template placeholders)."""
        return {
            "stage": UNKNOWN if self.stage is None else str(self.stage),
            "action": self.action or UNKNOWN,
            "p95": _rows(self.latency),
            "availability": _rows(self.availability),
            "error_budget_burn": _burn_text(self.burn),
            "triggers": ", ".join(f"{k} {v}" for k, v in self.triggers.items()) or UNKNOWN,
            "gates": (
                f"{self.gate} {self.gate_status} on the canary"
                if self.gate and self.gate_status
                else UNKNOWN
            ),
        }


def _first(reasons: list[str], limit: int = 300) -> str | None:
    if not reasons:
        return None
    return reasons[0] if len(reasons[0]) <= limit else reasons[0][: limit - 1] + "…"


def _gated(loaded: LoadedMatrix, gate_id: str) -> dict[str, str]:
    """Name -> comparison of the gate's gated objectives (empty for a gate the matrix lacks)."""
    gates = [g for g in loaded.matrix.gates if g.id == gate_id]
    out: dict[str, str] = {}
    for gate in gates:
        for o in gate.objectives:
            if getattr(o, "gated", True) and (cmp := getattr(o, "comparison", None)) is not None:
                out[o.name] = str(getattr(cmp, "value", cmp))
    return out


def _dimension(unit: str | None) -> str | None:
    try:
        return dimension(Unit(unit)) if unit is not None else None
    except ValueError:
        return None


def _value(value: float | None, unit: str | None) -> str:
    if value is None or value != value:
        return UNKNOWN
    try:
        return fmt(value, Unit(unit)) if unit is not None else f"{value:g}"
    except ValueError:
        return f"{value:g} {unit}"


def _rows(rows: list[FigureRow]) -> str:
    if not rows:
        return UNKNOWN
    parts = []
    for r in rows:
        limit = ""
        if r.threshold is not None and r.comparison is not None:
            limit = (
                f" (SLO {_SYMBOL.get(r.comparison, r.comparison)} {_value(r.threshold, r.unit)})"
            )
        parts.append(f"{r.name} {_value(r.value, r.unit)}{limit}")
    return ", ".join(parts)


def _burn(
    loaded: LoadedMatrix, availability: list[FigureRow], triggers: list[TriggerOutcome]
) -> Burn | None:
    """Budget spent per hour at the lowest known canary availability; None without an
    ``error_budget_burn`` trigger in the matrix. A missing availability keeps it unknown."""
    spec = next((t for t in loaded.matrix.triggers if isinstance(t, ErrorBudgetBurn)), None)
    if spec is None:
        return None
    ratios = []
    for row in availability:
        if row.value is None or row.value != row.value or _dimension(row.unit) != "ratio":
            continue
        ratios.append(row.value / 100 if row.unit == Unit.PERCENT.value else row.value)
    per_hour: float | None = None
    if ratios and len(ratios) == len(availability):
        burn_rate = max(0.0, 1 - min(ratios)) / (1 - spec.objective)
        per_hour = burn_rate * 3600 / spec.period.total_seconds()
    status = next((t.status.value for t in triggers if t.id == spec.id), None)
    return Burn(
        trigger=spec.id,
        per_hour=per_hour,
        limit_per_hour=spec.budget_fraction_per_hour,
        period=spec.period,
        status=status,
    )


def _burn_text(burn: Burn | None) -> str:
    if burn is None:
        return UNKNOWN
    from igkit.timeutil import human_duration

    period = human_duration(burn.period.total_seconds())
    spent = UNKNOWN if burn.per_hour is None else f"{burn.per_hour * 100:.3g} %/h"
    state = f"; trigger {burn.trigger} {burn.status}" if burn.status else ""
    return (
        f"{spent} of the {period} budget (rollback above {burn.limit_per_hour * 100:.3g} %/h"
        f"{state})"
    )
