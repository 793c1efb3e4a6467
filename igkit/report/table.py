"""The console summary a release lead reads: decision, one row per objective, the reasons."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from igkit.timeutil import rfc3339
from igkit.units import Unit, fmt
from igkit.verdicts import ObjectiveVerdict, RunVerdicts, SeriesVerdict, Status

if TYPE_CHECKING:
    from igkit.run import MissingInput


def _cell(value: float | None, unit: str | None) -> str:
    if value is None or unit is None:
        return "—"
    return fmt(value, Unit(unit))


def _shown_series(obj: ObjectiveVerdict) -> SeriesVerdict | None:
    """The series whose value the OBSERVED cell shows: for a FAIL the worst failing series,
    else the series the objective's observed value comes from."""
    judged = [s for s in obj.series if s.observed is not None]
    if obj.status is Status.FAIL:
        judged = [s for s in judged if s.status is Status.FAIL] or judged
    if not judged:
        return None
    higher_is_worse = obj.comparison in ("<=", "<")
    values = [s.observed for s in judged if s.observed is not None]
    pick = max(values) if higher_is_worse else min(values)
    if obj.status is not Status.FAIL and obj.observed is not None:
        pick = obj.observed
    return next((s for s in judged if s.observed == pick), judged[0])


def _distinguishing(series: SeriesVerdict, all_series: Sequence[SeriesVerdict]) -> str:
    """``tenant=globex``: the labels that tell this series from the objective's others."""
    others = [s.labels for s in all_series if s is not series]
    if not others:
        return ""
    keys = [
        k
        for k, v in series.labels.items()
        if k != "__name__" and any(o.get(k) != v for o in others)
    ]
    return ", ".join(f"{k}={series.labels[k]}" for k in keys)


def observed_cell(obj: ObjectiveVerdict) -> str:
    """``656 ms (tenant=globex)``; ``6/7 checks (failed: signature)`` for evidence."""
    if obj.unit is None and obj.details:  # evidence objectives: how many checks held
        held = [str(v).startswith("PASS") for v in obj.details.values()]
        text = f"{sum(held)}/{len(held)} checks"
        failed = [k for k, ok in zip(obj.details, held, strict=True) if not ok]
        if failed and obj.status is not Status.PASS:
            more = f" +{len(failed) - 1}" if len(failed) > 1 else ""
            text += f" (failed: {failed[0]}{more})"
        return text
    series = _shown_series(obj)
    if series is None:
        return _cell(obj.observed, obj.unit)
    where = _distinguishing(series, obj.series)
    value = _cell(series.observed, obj.unit)
    return f"{value} ({where})" if where else value


def render_table(run: RunVerdicts, *, missing: Sequence[MissingInput] = ()) -> str:
    """The decision, one row per objective, then "Why:" (each input not given once, then the
    reasons of the objectives that did not pass), "Warnings:" (shown even when passing) and
    the cost ladder's tier with its reason and actions."""
    rows = [("GATE", "STATUS", "OBJECTIVE", "OBSERVED", "THRESHOLD", "COVERAGE")]
    for gate in run.gates:
        if not gate.objectives:
            rows.append((gate.id, gate.status.value, "(none)", "—", "—", "—"))
        for obj in gate.objectives:
            threshold = (
                f"{obj.comparison} {_cell(obj.threshold, obj.unit)}" if obj.comparison else "—"
            )
            coverage = f"{obj.coverage:.1%}" if obj.coverage is not None else "—"
            rows.append(
                (gate.id, obj.status.value, obj.name, observed_cell(obj), threshold, coverage)
            )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    if not run.scope.complete:
        lines += [
            f"*** PARTIAL RUN: only {', '.join(run.scope.gates)} evaluated — not a release GO "
            "(every gate of the matrix must pass) ***",
            "",
        ]
    lines += [
        f"DECISION: {run.decision}   evaluated at {rfc3339(run.evaluated_at)}   source: {run.source}",
        f"matrix: {run.matrix_source} (sha256 {run.matrix_sha256[:12]})",
        "",
    ]
    lines += [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    gate_status = "  ".join(f"{g.id}={g.status.value}" for g in run.gates)
    lines += ["", f"gates: {gate_status}"]
    why = _why(run, missing)
    if why:
        lines += ["", "Why:", *why]
    warnings = [
        f"  {g.id} {o.name}: {w}" for g in run.gates for o in g.objectives for w in o.warnings
    ]
    if warnings:
        lines += ["", "Warnings:", *warnings]
    ladder = _ladder_line(run)
    if ladder:
        lines += ["", ladder]
    return "\n".join(lines)


def _ladder_line(run: RunVerdicts) -> str | None:
    """``Cost ladder (G6 infra_budget_burn): Tier 3 Shed: ...``: where the downshift ladder
    stands (the worst budget) and why, shown whether or not the gate passes."""
    from igkit.finops.ladder import TEXT_DETAIL, worst_budget_tier

    found = worst_budget_tier(run)
    if found is None:
        return None
    gate, obj = found
    return f"Cost ladder ({gate.id} {obj.name}): {obj.details[TEXT_DETAIL]}"


def _why(run: RunVerdicts, missing: Sequence[MissingInput]) -> list[str]:
    """One line per input not given (its NO_DATA objectives folded into it), then each reason
    of every objective that did not pass."""
    folded = {key for m in missing for key in m.objectives}
    lines = [f"  {m.line()}" for m in missing]
    for g in run.gates:
        if g.status is Status.PASS:
            continue
        if not g.objectives:
            lines += [f"  {g.id} {g.status.value}: {r}" for r in g.reasons]
        for o in g.objectives:
            if o.status is Status.PASS or (o.status is Status.NO_DATA and (g.id, o.name) in folded):
                continue
            lines += [f"  {g.id} {o.status.value}: {r}" for r in o.reasons]
    return lines
