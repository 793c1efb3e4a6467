"""The post-deploy validation's own report section (``postdeploy validate`` writes it as
``report.html`` beside ``postdeploy.json``): the window, the verdict and every reason, each
gate objective and extra check with what was observed against which threshold and the
snapshot it was read from (file and SHA-256), the triggers, and the tenants sampled per
shard and region. Built only from ``postdeploy.json``, the gate run's ``verdicts.json`` and
its snapshot index: it never re-decides anything. Self-contained, no scripts, every value
escaped."""

from __future__ import annotations

from collections.abc import Iterable

from igkit.cutover.models import PostdeployVerdict, TriggerOutcome
from igkit.report.html import CSP
from igkit.report.page.markup import (
    CSS,
    DASH,
    Cell,
    Raw,
    badge,
    digest,
    esc,
    fields,
    join,
    reasons,
    section,
    span,
    table,
    when,
)
from igkit.report.page.objectives import threshold_text, value_text
from igkit.snapshots.store import SnapshotIndex, SnapshotRef
from igkit.timeutil import human_duration
from igkit.verdicts import GateVerdict, RunVerdicts

TITLE = "Post-deploy validation"


def _snapshot_cell(ids: Iterable[str], refs: dict[str, SnapshotRef]) -> Raw:
    """``file`` then its SHA-256, per snapshot the objective read; an id the index lacks is
    said to be missing (the report never invents a seal)."""
    parts: list[Cell] = []
    for sid in ids:
        ref = refs.get(sid)
        if ref is None:
            parts.append(Raw(f"{esc(sid)} (not in the snapshot index)"))
        else:
            parts.append(Raw(f"{esc(ref.file)} sha256 {digest(ref.sha256)}"))
    return join(parts, "; ") if parts else Raw(DASH)


def _objective_rows(
    gates: Iterable[GateVerdict], refs: dict[str, SnapshotRef], *, skip: frozenset[str]
) -> list[list[Cell]]:
    rows: list[list[Cell]] = []
    for gate in gates:
        for o in gate.objectives:
            if o.name in skip:
                continue
            rows.append(
                [
                    f"{gate.id}/{o.name}" + ("" if o.gated else " (reported only)"),
                    badge(o.status),
                    value_text(o.observed, o.unit),
                    threshold_text(o),
                    span(o.window_start, o.window_end),
                    join(o.reasons, " ") if o.reasons else None,
                    _snapshot_cell(o.snapshots, refs),
                ]
            )
    return rows


def _trigger_rows(triggers: Iterable[TriggerOutcome]) -> list[list[Cell]]:
    return [
        [
            t.id,
            badge(t.status.value),
            when(t.fired_at) if t.fired_at else DASH,
            join(t.reasons, " "),
        ]
        for t in triggers
    ]


def postdeploy_page(
    verdict: PostdeployVerdict,
    run: RunVerdicts,
    index: SnapshotIndex | None,
    *,
    checks_gate: str,
    tenant_sample: str,
    trigger_files: Iterable[tuple[str, str]] = (),
) -> str:
    """The whole section as one HTML document; ``trigger_files`` are the trigger check's
    snapshot files (path relative to the run, SHA-256)."""
    refs = {r.id: r for r in index.snapshots} if index else {}
    gate_ids = set(verdict.gates)
    header = fields(
        [
            ("Window", span(verdict.since, verdict.until)),
            ("Duration", human_duration(verdict.duration.total_seconds())),
            (
                "Verdicts and snapshots",
                f"{verdict.verdicts}/verdicts.json, {verdict.verdicts}/snapshots/",
            ),
            ("Gates judged", ", ".join(verdict.gates) or DASH),
        ]
    )
    objective_headers = [
        "Objective",
        "Status",
        "Observed",
        "Threshold",
        "Window",
        "Why",
        "Snapshot",
    ]
    gate_rows = _objective_rows([g for g in run.gates if g.id in gate_ids], refs, skip=frozenset())
    check_rows = _objective_rows(
        [g for g in run.gates if g.id == checks_gate], refs, skip=frozenset({tenant_sample})
    )
    shard_rows: list[list[Cell]] = [
        [s.label, s.value, ", ".join(s.tenants) or DASH, str(len(s.tenants)), badge(s.status)]
        for s in verdict.shards
    ]
    seals: list[list[Cell]] = [
        [f"{verdict.verdicts}/snapshots/{r.file}", r.label or r.kind, r.sha256]
        for r in refs.values()
    ]
    seals += [[name, "trigger check", sha] for name, sha in trigger_files]
    body = "".join(
        [
            f'<header class="igk-header"><h2>{esc(TITLE)} {badge(verdict.status)}</h2>',
            header,
            reasons(verdict.reasons, "Why"),
            "</header>",
            section(
                "Gates over the window",
                table(objective_headers, gate_rows, full_width=("Why", "Snapshot")),
            ),
            section(
                "Extra checks",
                table(objective_headers, check_rows, full_width=("Why", "Snapshot"))
                if check_rows
                else Raw("<p>The matrix names no extra check.</p>"),
            ),
            section(
                "Triggers (must stay QUIET throughout)",
                table(["Trigger", "Status", "Fired at", "Why"], _trigger_rows(verdict.triggers))
                if verdict.triggers
                else Raw("<p>No trigger report: the triggers are unknown.</p>"),
            ),
            section(
                "Tenants sampled across shards and regions",
                table(["Label", "Value", "Tenants judged", "Count", "Status"], shard_rows)
                if shard_rows
                else Raw("<p>No shard or region was found in the window.</p>"),
            ),
            section(
                "Snapshots read",
                table(["File", "Read", "SHA-256"], seals, full_width=("SHA-256",))
                if seals
                else Raw("<p>No snapshot index: nothing read can be checked.</p>"),
            ),
        ]
    )
    title = f"{TITLE}: {verdict.status.value} ({when(verdict.since)} + {human_duration(verdict.duration.total_seconds())})"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)}</title>
<style>{CSS}</style>
</head>
<body><div class="igk-page">{body}</div></body>
</html>
"""
