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
    when,
)
from igkit.report.page.objectives import k6_read, objective_html

if TYPE_CHECKING:
    from igkit.explore import Run
    from igkit.verdicts import GateVerdict

PROMETHEUS, K6, EVIDENCE = "prometheus", "k6", "evidence"


def objective_kinds(run: Run, gate_id: str) -> dict[str, str]:
    """Objective name -> where its data comes from, by the matrix objective's type."""
    from igkit.spec.models import K6Objective, PrometheusObjective

    def kind(o: object) -> str:
        if isinstance(o, PrometheusObjective):
            return PROMETHEUS
        return K6 if isinstance(o, K6Objective) else EVIDENCE

    return {o.name: kind(o) for o in run.loaded.matrix.gate(gate_id).objectives}


def k6_part(run: Run, gate_id: str, gate: GateVerdict, kinds: dict[str, str]) -> Raw:
    """Every k6 file the gate's k6 objectives read, with its seals, then the k6 section
    (per-window table, k6's own thresholds beside igkit's, a chart per scenario)."""
    from igkit.report.k6_section import k6_section_html

    ids = [s for o in gate.objectives if kinds.get(o.name) == K6 for s in o.snapshots]
    files = section("k6 files read", k6_read(run, list(dict.fromkeys(ids))), level=3)
    return Raw(files + k6_section_html(run, gate_id))


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
        parts.append(k6_part(run, gate_id, gate, kinds))
    return f'<div class="igk-page" lang="en"><style>{CSS}</style>{header}{"".join(parts)}</div>'
