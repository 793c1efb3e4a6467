"""The per-gate report page an auditor reads: one self-contained HTML fragment per gate.

Built from the run's verdicts and its sealed snapshots (never re-deciding anything): the gate
and its full reasons, then per objective what was observed against which threshold, exactly
what was read (PromQL sent, absolute window, step, files, SHA-256 seals), the series judged,
a chart, and the evidence documents' facts. No scripts, inline CSS, every value escaped."""

from __future__ import annotations

from typing import TYPE_CHECKING

from igkit.report.page.markup import (
    CSS,
    Raw,
    badge,
    esc,
    fields,
    reasons,
    section,
    span,
    table,
    when,
)
from igkit.report.page.objectives import objective_html
from igkit.units import Unit, fmt

if TYPE_CHECKING:
    from igkit.explore import Run

PROMETHEUS, K6, EVIDENCE = "prometheus", "k6", "evidence"


def objective_kinds(run: Run, gate_id: str) -> dict[str, str]:
    """Objective name -> where its data comes from, by the matrix objective's type."""
    from igkit.spec.models import K6Objective, PrometheusObjective

    def kind(o: object) -> str:
        if isinstance(o, PrometheusObjective):
            return PROMETHEUS
        return K6 if isinstance(o, K6Objective) else EVIDENCE

    return {o.name: kind(o) for o in run.loaded.matrix.gate(gate_id).objectives}


def k6_section(run: Run, gate_id: str) -> Raw:
    """The k6 per-window section: ``igkit.report.k6_section`` when this igkit has it, else the
    window table of :func:`igkit.explore.k6_window_frame`."""
    try:
        from igkit.report.k6_section import (  # type: ignore[import-not-found,unused-ignore]
            k6_section_html,
        )
    except ImportError:
        return k6_windows_table(run, gate_id)
    return Raw(str(k6_section_html(run, gate_id)))


def k6_windows_table(run: Run, gate_id: str) -> Raw:
    """One row per (objective, file, window): requests, error rate and p95 against the matrix."""
    from igkit.explore import k6_window_frame

    w = k6_window_frame(run, gate_id)
    if w.empty:
        return section("k6 windows", Raw("<p>No k6 window table in this run.</p>"), level=3)
    span_text = [
        span(a.to_pydatetime(), b.to_pydatetime())
        for a, b in zip(w["start"], w["end"], strict=True)
    ]
    p95 = w["p95_ms"].map(lambda v: "—" if v != v else fmt(float(v), Unit.MS))
    p95_max = w["p95_threshold_ms"].map(lambda v: "—" if v != v else "≤ " + fmt(float(v), Unit.MS))
    rate = w["error_rate_pct"].map(lambda v: "—" if v != v else fmt(float(v), Unit.PERCENT))
    rate_max = w["max_error_rate_pct"].map(lambda v: "≤ " + fmt(float(v), Unit.PERCENT))
    rows = zip(
        w["objective"],
        w["scenario"],
        w["file"],
        span_text,
        w["requests"].map("{:,}".format),
        w["failed"].map("{:,}".format),
        rate,
        rate_max,
        p95,
        p95_max,
        strict=True,
    )
    headers = [
        "Objective",
        "Scenario",
        "File",
        "Window (UTC)",
        "Requests",
        "Failed",
        "Error rate",
        "Max error rate",
        "p95",
        "p95 threshold",
    ]
    return section("k6 windows", table(headers, rows), level=3)


def gate_page_html(run: Run, gate_id: str) -> str:
    """The whole report of ``gate_id`` for ``run`` as one HTML fragment."""
    verdicts = run.verdicts()
    gate = run.gate(gate_id)
    kinds = objective_kinds(run, gate_id)
    scope = [
        ("Evaluated at", when(verdicts.evaluated_at)),
        ("Objectives", str(len(gate.objectives))),
    ]
    if verdicts.tenant:
        scope.append(("Tenant (X-Scope-OrgID)", verdicts.tenant))
    if verdicts.select:
        scope.append(("Label matchers added to every query (--select)", verdicts.select))
    header = (
        f'<header class="igk-header"><h2>{esc(gate.id)} — {esc(gate.name)} {badge(gate.status)}</h2>'
        f"{fields(scope)}{reasons(gate.reasons, 'Why')}</header>"
    )
    parts = [objective_html(run, gate_id, o, kinds.get(o.name, EVIDENCE)) for o in gate.objectives]
    if K6 in kinds.values():
        parts.append(k6_section(run, gate_id))
    return f'<div class="igk-page" lang="en"><style>{CSS}</style>{header}{"".join(parts)}</div>'
