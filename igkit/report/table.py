"""The console summary a release lead reads: decision, one row per objective, the reasons."""

from __future__ import annotations

from igkit.timeutil import rfc3339
from igkit.units import Unit, fmt
from igkit.verdicts import RunVerdicts, Status


def _cell(value: float | None, unit: str | None) -> str:
    if value is None or unit is None:
        return "—"
    return fmt(value, Unit(unit))


def render_table(run: RunVerdicts) -> str:
    rows = [("GATE", "STATUS", "OBJECTIVE", "OBSERVED", "THRESHOLD", "COVERAGE")]
    for gate in run.gates:
        if not gate.objectives:
            rows.append((gate.id, gate.status.value, "(none)", "—", "—", "—"))
        for obj in gate.objectives:
            threshold = (
                f"{obj.comparison} {_cell(obj.threshold, obj.unit)}" if obj.comparison else "—"
            )
            coverage = f"{obj.coverage:.1%}" if obj.coverage is not None else "—"
            observed = _cell(obj.observed, obj.unit)
            if obj.unit is None and obj.details:  # evidence objectives: how many checks held
                held = sum(str(v).startswith("PASS") for v in obj.details.values())
                observed = f"{held}/{len(obj.details)} checks"
            rows.append((gate.id, obj.status.value, obj.name, observed, threshold, coverage))
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
    why = [(g, r) for g in run.gates if g.status is not Status.PASS for r in g.reasons]
    if why:
        lines += ["", "Why:"]
        lines += [f"  {g.id} {g.status.value}: {r}" for g, r in why]
    return "\n".join(lines)
