"""The per-gate report page an auditor reads: one self-contained HTML fragment per gate.

Built from the run's verdicts and its sealed snapshots (never re-deciding anything): the gate
and its full reasons, then per objective what was observed against which threshold, exactly
what was read (PromQL sent, absolute window, step, files, SHA-256 seals), the series judged,
a chart, and the evidence documents' facts. No scripts, inline CSS, every value escaped."""

from __future__ import annotations

from typing import TYPE_CHECKING

from igkit.report.page.markup import CSS, Raw, badge, esc, fields, reasons, when
from igkit.report.page.objectives import objective_html

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
    """The k6 per-window section (igkit.report.k6_section) when this igkit has it."""
    try:
        from igkit.report.k6_section import k6_section_html  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return Raw("")
    return Raw(str(k6_section_html(run, gate_id)))


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
