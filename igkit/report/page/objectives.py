"""One objective of the gate page: its verdict, what was read (query, window, files, seals),
the series judged, its chart and its evidence, all as escaped HTML."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from igkit.redact import redact
from igkit.report.page.facts import facts_html
from igkit.report.page.markup import (
    DASH,
    Raw,
    badge,
    code,
    digest,
    esc,
    fields,
    label_text,
    percent,
    reasons,
    section,
    span,
    step,
    table,
    when,
)
from igkit.snapshots import EvidenceSnapshot, K6Snapshot, K6SummarySnapshot, Snapshot
from igkit.snapshots.store import SnapshotRef
from igkit.units import Unit, fmt
from igkit.verdicts import ObjectiveVerdict, SeriesVerdict, Status

if TYPE_CHECKING:
    from igkit.explore import Run

SYMBOLS = {"<=": "≤", "<": "<", ">=": "≥", ">": ">"}
ALL_ROWS_UP_TO = 25
"""Up to this many series every one gets a row; beyond, the failing ones do and the passing
ones are listed compactly (never a table of thousands of rows)."""

_CHECK = re.compile(r"^(?P<status>PASS|FAIL|NO_DATA|ERROR): (?P<detail>.*)$", re.DOTALL)


def value_text(value: float | None, unit: str | None) -> str:
    """A value in the objective's unit (``236 ms``, ``99.99%``); a dash when there is none."""
    if value is None:
        return DASH
    if unit and unit in Unit.__members__.values():
        return fmt(value, Unit(unit))
    return f"{value:,.6g}" + (f" {unit}" if unit else "")


def threshold_text(o: ObjectiveVerdict) -> str:
    if o.threshold is None:
        return DASH
    return f"{SYMBOLS.get(o.comparison or '', o.comparison or '')} {value_text(o.threshold, o.unit)}".strip()


def _refs(run: Run) -> dict[str, SnapshotRef]:
    index = run.replay.index
    return {} if index is None else {ref.id: ref for ref in index.snapshots}


def _seal_pairs(
    snapshot_id: str, ref: SnapshotRef | None, sha256: str | None
) -> list[tuple[str, str | Raw | None]]:
    return [
        ("Snapshot file", code(ref.file) if ref else "not listed in the run's index.json"),
        (
            "Snapshot SHA-256 (content seal)" if sha256 else "SHA-256 recorded in the index",
            digest(sha256 or (ref.sha256 if ref else None)),
        ),
        ("Snapshot id (hash of the request)", code(snapshot_id)),
    ]


def prometheus_read(run: Run, gate_id: str, o: ObjectiveVerdict) -> Raw:
    """Per snapshot: the exact PromQL sent, the absolute window, the step, the file and seals.

    An objective with no usable snapshot shows the request igkit planned (query, window, step,
    request id) and why there is no snapshot: what an auditor needs to see what was missing."""
    refs = _refs(run)
    planned = run.planned.get((gate_id, o.name))
    ids = list(o.snapshots) or ([planned.request.id] if planned is not None else [])
    parts: list[Raw] = []
    for sid in ids:
        snap = run.snapshots.get(sid)
        pairs: list[tuple[str, str | Raw | None]] = []
        if isinstance(snap, Snapshot):
            req = snap.request
            pairs += [
                ("PromQL sent", code(req.query)),
                ("Window (UTC)", span(req.start, req.end)),
                ("Step", step(req.step_seconds)),
            ]
            if req.tenant:
                pairs.append(("Tenant (X-Scope-OrgID)", req.tenant))
            pairs.append(("Fetched", f"{when(snap.fetched_at)} from {redact(snap.server)}"))
            if snap.status != "success":
                pairs.append(
                    ("Query outcome", f"error {snap.error_type or ''}: {snap.error or ''}".strip())
                )
            sha = snap.sha256
        else:
            if planned is not None and planned.request.id == sid:
                req = planned.request
                pairs += [
                    ("PromQL planned", code(req.query)),
                    ("Window (UTC)", span(req.start, req.end)),
                    ("Step", step(req.step_seconds)),
                ]
            why = run.replay.rejected.get(sid) or (
                f"{snap.kind}: {snap.message}" if snap is not None else "not in this run"
            )
            pairs.append(("No usable snapshot", why))
            sha = None
        parts.append(fields([*pairs, *_seal_pairs(sid, refs.get(sid), sha)]))
    if not parts:
        parts.append(Raw("<p>No snapshot was recorded for this objective.</p>"))
    return Raw("".join(parts))


def k6_files(run: Run, o: ObjectiveVerdict) -> Raw:
    """One line naming the k6 files (and their snapshots) an objective read."""
    by_id = {s.id: s for s in run.replay.k6}
    read = [f"{by_id[sid].file} (snapshot {sid})" for sid in o.snapshots if sid in by_id]
    missing = [sid for sid in o.snapshots if sid not in by_id]
    text = "; ".join(read + [f"snapshot {sid}, not in this run" for sid in missing])
    return Raw(f'<p><span class="igk-label">Read:</span> {esc(text or "no k6 file")}</p>')


def k6_read(run: Run, snapshot_ids: Sequence[str]) -> Raw:
    """The k6 files read (their own sha256) and the sealed snapshots made of them."""
    refs = _refs(run)
    by_id = {s.id: s for s in run.replay.k6}
    parts: list[Raw] = []
    for sid in snapshot_ids:
        snap = by_id.get(sid)
        pairs: list[tuple[str, str | Raw | None]] = []
        if isinstance(snap, K6Snapshot):
            pairs += [
                ("k6 results file", code(snap.file)),
                ("File SHA-256", digest(snap.file_sha256)),
                ("Read as", "per-window table" + (f" ({snap.format})" if snap.format else "")),
                ("Test run (UTC)", span(snap.run_start, snap.run_end)),
                ("Window length", step(snap.params.window_seconds)),
                ("Points read", f"{snap.points:,}"),
            ]
            if snap.problems:
                pairs.append(("Problems", "; ".join(snap.problems)))
        elif isinstance(snap, K6SummarySnapshot):
            pairs += [
                ("k6 summary file", code(snap.file)),
                ("File SHA-256", digest(snap.file_sha256)),
                ("Read as", f"end-of-test summary ({snap.summary_kind})"),
            ]
        parts.append(
            fields([*pairs, *_seal_pairs(sid, refs.get(sid), snap.sha256 if snap else None)])
        )
    return Raw("".join(parts))


def evidence_read(run: Run, o: ObjectiveVerdict) -> Raw:
    """Each evidence file read (path in the evidence dir, sha256) and the snapshot sealing them."""
    refs = _refs(run)
    by_id = {s.id: s for s in run.replay.evidence}
    parts: list[Raw] = []
    for sid in o.snapshots:
        snap = by_id.get(sid)
        if isinstance(snap, EvidenceSnapshot) and snap.files:
            parts.append(
                table(
                    ["Role", "File", "SHA-256", "Size", "Read error"],
                    [
                        [
                            role,
                            code(f.path),
                            digest(f.sha256),
                            None if f.size is None else f"{f.size:,} bytes",
                            f.error,
                        ]
                        for role, f in snap.files.items()
                    ],
                    full_width=["SHA-256"],
                )
            )
        parts.append(fields(_seal_pairs(sid, refs.get(sid), snap.sha256 if snap else None)))
    return Raw("".join(parts))


def checks_table(details: dict[str, float | str | None]) -> Raw:
    """Evidence checks recorded as ``"<subject>: <check>" -> "<STATUS>: <detail>"``, full text."""
    rows: list[list[str | Raw | None]] = []
    for key, value in details.items():
        subject, _, check = key.rpartition(": ")
        match = _CHECK.match(value) if isinstance(value, str) else None
        status: str | Raw | None = badge(match["status"]) if match else None
        detail = match["detail"] if match else (None if value is None else str(value))
        rows.append([subject or DASH, check, status, detail])
    return table(["Subject", "Check", "Status", "Detail"], rows) if rows else Raw("")


SERIES_COLUMNS = (
    "Series",
    "Status",
    "Observed",
    "Worst (when)",
    "Coverage",
    "Violating steps",
    "First violation",
    "Last violation",
    "Reason",
)


def series_table(o: ObjectiveVerdict) -> Raw:
    """One row per series judged; with many series, the failing ones and a compact list of the
    passing ones. A column no shown series has a value for is left out."""
    if not o.series:
        return Raw("")
    frame = pd.DataFrame(
        [_series_row(o, s) for s in o.series], columns=list(SERIES_COLUMNS), dtype=object
    )
    passing = np.array([s.status is Status.PASS for s in o.series], dtype=bool)
    shown = frame if len(frame) <= ALL_ROWS_UP_TO else frame[~passing]
    shown = shown.loc[:, shown.notna().any(axis=0)]
    out = [Raw(f'<p class="igk-label">Series judged ({len(frame):,})</p>')]
    if len(shown):
        out.append(table(list(shown.columns), shown.itertuples(index=False), "igk-series"))
    if len(frame) > ALL_ROWS_UP_TO and passing.any():
        rest = frame[passing]
        text = "; ".join(rest["Series"] + " (" + rest["Observed"].astype(str) + ")")
        out.append(
            Raw(
                f'<p class="igk-label">{int(passing.sum()):,} passing series</p>'
                f'<p class="igk-compact">{esc(text)}</p>'
            )
        )
    return Raw("".join(out))


def _series_row(o: ObjectiveVerdict, s: SeriesVerdict) -> list[str | Raw | None]:
    worst = None
    if s.worst_value is not None:
        at = f" at {when(s.worst_at)}" if s.worst_at else ""
        worst = value_text(s.worst_value, o.unit) + at
    return [
        label_text(s.labels),
        badge(s.status),
        value_text(s.observed, o.unit),
        worst,
        percent(s.coverage),
        f"{s.steps_violating:,} of {s.steps_expected:,}",
        when(s.first_violation) if s.first_violation else None,
        when(s.last_violation) if s.last_violation else None,
        None if s.status is Status.PASS else s.reason,
    ]


def chart(run: Run, gate_id: str, o: ObjectiveVerdict) -> Raw:
    """The objective's series over its window as an embedded PNG; a line when nothing to plot."""
    from igkit.report.plots import figure_img, plot_objective

    frame = run.objective_frame(gate_id, o.name)
    if frame.empty or not bool(np.asarray(frame["present"], dtype=bool).any()):
        return Raw("<p>No chart: the snapshot holds no sample in the window.</p>")
    alt = (
        f"{gate_id} {o.name}: {len(o.series)} series over the window against the threshold "
        f"{threshold_text(o)}; status {o.status.value}"
    )
    return Raw(figure_img(plot_objective(frame), alt))


def verdict_fields(o: ObjectiveVerdict) -> Raw:
    pairs: list[tuple[str, str | Raw | None]] = [
        ("Status", badge(o.status)),
        ("What it checks", o.description or None),
    ]
    if o.threshold is not None or o.observed is not None:
        pairs.append(
            ("Observed vs threshold", f"{value_text(o.observed, o.unit)}  {threshold_text(o)}")
        )
    pairs.append(("Coverage", percent(o.coverage)))
    if o.rule:
        pairs.append(("Rule", o.rule))
    if o.window_start is not None:
        pairs.append(("Judged window (UTC)", span(o.window_start, o.window_end)))
    return fields(pairs)


def other_details(details: dict[str, float | str | None], skip: Callable[[str], bool]) -> Raw:
    """Details no other part of the page shows, as a key/value table."""
    rest = [
        (k.replace("_", " "), v if isinstance(v, str) or v is None else f"{v:,.6g}")
        for k, v in details.items()
        if not skip(k)
    ]
    return fields(rest) if rest else Raw("")


def objective_html(run: Run, gate_id: str, o: ObjectiveVerdict, kind: str) -> Raw:
    """``kind``: ``prometheus``, ``k6`` or ``evidence`` (the matrix objective's source)."""
    from igkit.report.page.spend import is_spend_key, spend_html

    body: list[Raw] = [verdict_fields(o), reasons(o.reasons)]
    if o.warnings:
        body.append(reasons(o.warnings, "Warnings"))
    if kind == "prometheus":
        body += [
            section("What was read", prometheus_read(run, gate_id, o), level=4, cls="igk-read"),
            spend_html(run, o),
            chart(run, gate_id, o),
            series_table(o),
            other_details(o.details, is_spend_key),
        ]
    elif kind == "k6":  # files, windows and k6's thresholds: once per gate, after the objectives
        body += [k6_files(run, o), series_table(o)]
    else:
        body += [
            section("Evidence read", evidence_read(run, o), level=4, cls="igk-read"),
            section("Checks", checks_table(o.details), level=4) if o.details else Raw(""),
            facts_html(o.evidence),
        ]
    title = Raw(f"{esc(o.name)} {badge(o.status)}")
    return section(title, *body, level=3, cls="igk-objective")
