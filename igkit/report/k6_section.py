"""G5's k6 evidence as an auditor reads it: the window table, k6's own thresholds beside
igkit's, and a chart per scenario.

One self-contained HTML fragment (inline styles, charts as data: URIs, every value escaped)
that the gate page embeds. It shows what the judge read — the sealed window-table snapshots
of the run — and marks each window with the judge's own per-window test, so the page and the
verdict cannot disagree. igkit decides; k6's threshold results are shown for comparison.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from typing import TYPE_CHECKING

import pandas as pd

from igkit.judge.k6 import concerns
from igkit.report.palette import STATUS_COLOURS, STATUS_TEXT
from igkit.report.plots import figure_img, plot_k6_windows
from igkit.snapshots import ALL, K6Snapshot, K6SummarySnapshot
from igkit.spec.models import K6Objective, K6Settings
from igkit.units import Unit, fmt
from igkit.verdicts import ObjectiveVerdict, Status

if TYPE_CHECKING:
    from igkit.explore import Run

_TABLE = "border-collapse:collapse;margin:0.4em 0 1em 0;font-size:9pt;width:100%"
_CELL = "border:1px solid #9e9e9e;padding:2px 4px;text-align:left;vertical-align:top"
_HEAD = _CELL + ";background:#eeeeee"
_NUM = _CELL + ";text-align:right;white-space:nowrap"
_CAPTION = (
    "caption-side:top;text-align:left;font-weight:bold;padding:0.3em 0;overflow-wrap:anywhere"
)
_NOTE = "margin:0.4em 0;font-size:10pt"


def _status_cell(status: str) -> str:
    try:
        known = Status(status)
    except ValueError:
        known = Status.ERROR
    style = (
        f"{_CELL};background:{STATUS_COLOURS[known]};color:{STATUS_TEXT[known]};font-weight:bold"
    )
    return f'<td style="{style}">{escape(status)}</td>'


def _table(caption: str, headers: Sequence[str], rows: Iterable[str]) -> str:
    head = "".join(f'<th scope="col" style="{_HEAD}">{escape(h)}</th>' for h in headers)
    return (
        f'<table style="{_TABLE}"><caption style="{_CAPTION}">{caption}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _td(text: str, style: str = _CELL) -> str:
    return f'<td style="{style}">{escape(text)}</td>'


def _window(start: pd.Timestamp, end: pd.Timestamp, *, date: bool) -> str:
    """``16:54:47–16:55:47`` (the date in front when the table spans several days)."""
    day = "%Y-%m-%d " if date else ""
    end_day = day if end.date() == start.date() or not date else "%Y-%m-%d "
    return f"{start.strftime(day + '%H:%M:%S')}–{end.strftime(end_day + '%H:%M:%S')}"


def _num(value: float, unit: Unit) -> str:
    return "—" if pd.isna(value) else fmt(float(value), unit)


def _snapshot_line(snap: K6Snapshot | K6SummarySnapshot) -> str:
    return (
        f"k6 file <code>{escape(snap.file)}</code> (file SHA-256 <code>{escape(snap.file_sha256 or '—')}</code>); "
        f"snapshot id <code>{escape(snap.id)}</code>, snapshot SHA-256 <code>{escape(snap.sha256)}</code>"
    )


def _settings_note(settings: K6Settings) -> str:
    seconds = int(settings.window.total_seconds())
    return (
        f'<p style="{_NOTE}">Windows of {seconds} s from the run\'s first point. A window FAILs '
        f"when its p95 or error rate is over the matrix threshold; a scenario FAILs on "
        f"{settings.consecutive_failing_windows} consecutive failing windows or a failing whole "
        f"run. A window with fewer than {settings.min_samples_per_window} samples is not judged "
        "(NO_DATA), never counted as passing.</p>"
    )


def _objective(name: str, scenario: str) -> str:
    if scenario == name:
        return name
    return f"{name} ({'all requests' if scenario == ALL else scenario})"


def _window_headers(rows: pd.DataFrame) -> tuple[list[str], bool]:
    """The headers, and whether window cells carry their date (the table spans days)."""
    days = {t.date() for t in pd.concat([rows["start"], rows["end"]])}
    window = "Window (UTC)" if len(days) > 1 else f"Window (UTC, {min(days):%Y-%m-%d})"
    return [WINDOW_HEADERS[0], window, *WINDOW_HEADERS[2:]], len(days) > 1


def _window_rows(rows: pd.DataFrame, *, date: bool) -> list[str]:
    out = []
    for r in rows.to_dict("records"):
        p95_limit = (
            "not judged"
            if pd.isna(r["p95_threshold_ms"])
            else f"≤ {_num(r['p95_threshold_ms'], Unit.MS)}"
        )
        out.append(
            "<tr>"
            + _td(_objective(str(r["objective"]), str(r["scenario"])))
            + _td(_window(r["start"], r["end"], date=date), _CELL + ";white-space:nowrap")
            + _td(f"{int(r['requests']):,}", _NUM)
            + _td(f"{int(r['failed']):,}", _NUM)
            + _td(_num(r["error_rate_pct"], Unit.PERCENT), _NUM)
            + _td(f"≤ {_num(r['max_error_rate_pct'], Unit.PERCENT)}", _NUM)
            + _td(f"{int(r['latency_samples']):,}", _NUM)
            + _td(_num(r["p95_ms"], Unit.MS), _NUM)
            + _td(p95_limit, _NUM)
            + _status_cell(str(r["status"]))
            + "</tr>"
        )
    return out


WINDOW_HEADERS = (
    "Objective (scenario)",
    "Window (UTC)",
    "Requests",
    "Failed",
    "Error rate",
    "Max error rate (igkit)",
    "Latency samples",
    "p95",
    "p95 threshold (igkit)",
    "Window status",
)


def _window_tables(run: Run, windows: pd.DataFrame) -> str:
    snaps = {s.id: s for s in run.replay.k6 if isinstance(s, K6Snapshot)}
    parts = []
    for snapshot_id, rows in windows.groupby("snapshot", sort=False):
        snap = snaps[str(snapshot_id)]
        caption = f"Per-window table — {_snapshot_line(snap)}"
        if not snap.complete:
            caption += escape(
                f"; the file is incomplete ({'; '.join(snap.problems) or 'lines skipped'}): "
                "a window that would pass is shown NO_DATA"
            )
        headers, date = _window_headers(rows)
        parts.append(_table(caption, headers, _window_rows(rows, date=date)))
    return "".join(parts)


def _igkit_threshold(
    metric: str, expression: str, obj: K6Objective, settings: K6Settings
) -> tuple[str, bool]:
    """igkit's threshold on the statistic a k6 threshold checks, and whether igkit judges
    that statistic at all (its status is shown only then)."""
    stat = expression.replace(" ", "")
    if metric.startswith(settings.latency_metric):
        if obj.p95 is None:
            return f"not judged: {obj.name} judges the error rate only", False
        shown = f"p95 ≤ {fmt(obj.p95.value, obj.p95.unit)}"
        if stat.startswith("p(95)"):
            return shown, True
        return f"{shown} (igkit judges p95, not this statistic)", False
    err = obj.max_error_rate or settings.max_error_rate
    shown = f"error rate ≤ {fmt(err.value, err.unit)}"
    return (shown, True) if stat.startswith("rate") else (f"{shown} (not this statistic)", False)


def _thresholds_table(
    summaries: list[K6SummarySnapshot],
    objectives: list[K6Objective],
    verdicts: dict[str, ObjectiveVerdict],
    settings: K6Settings,
) -> str:
    if not summaries:
        return (
            f'<p style="{_NOTE}">k6\'s own thresholds: no k6 end-of-test summary '
            "(handleSummary or --summary-export JSON) was given, so there are none to show "
            "beside igkit's.</p>"
        )
    headers = (
        "k6 metric",
        "k6 expression",
        "k6 result",
        "igkit objective",
        "igkit threshold",
        "igkit status",
    )
    parts = [
        f'<p style="{_NOTE}"><strong>igkit decides the gate; k6\'s own threshold results are '
        "shown for comparison only.</strong> Where they point different ways, the verdict says "
        "so.</p>"
    ]
    for summary in summaries:
        rows = []
        for t in summary.thresholds:
            matched = [o for o in objectives if concerns(t.metric, o, settings)]
            k6_result = "ok" if t.ok else "failed"
            k6_style = f"{_CELL};color:{STATUS_COLOURS[Status.PASS if t.ok else Status.FAIL]};font-weight:bold"
            if not matched:
                rows.append(
                    "<tr>"
                    + _td(t.metric)
                    + _td(t.expression)
                    + _td(k6_result, k6_style)
                    + _td("— (no igkit objective judges this metric)")
                    + _td("—")
                    + _td("—")
                    + "</tr>"
                )
            for obj in matched:
                verdict = verdicts.get(obj.name)
                threshold, compared = _igkit_threshold(t.metric, t.expression, obj, settings)
                rows.append(
                    "<tr>"
                    + _td(t.metric)
                    + _td(t.expression)
                    + _td(k6_result, k6_style)
                    + _td(obj.name)
                    + _td(threshold)
                    + (
                        _status_cell(verdict.status.value)
                        if verdict and compared
                        else _td("— (not compared)")
                    )
                    + "</tr>"
                )
        if not rows:
            rows.append(
                f'<tr><td colspan="6" style="{_CELL}">the summary records no thresholds</td></tr>'
            )
        overall = {True: "passed", False: "failed", None: "not recorded"}[summary.passed]
        caption = f"k6's own thresholds (k6 run {overall}) — {_snapshot_line(summary)}"
        parts.append(_table(caption, headers, rows))
    warnings = [w for v in verdicts.values() for w in v.warnings if "k6 disagrees" in w]
    if warnings:
        items = "".join(f"<li>{escape(w)}</li>" for w in warnings)
        parts.append(f'<ul style="{_NOTE}">{items}</ul>')
    return "".join(parts)


def _chart_alt(rows: pd.DataFrame) -> str:
    first = rows.iloc[0].to_dict()
    failing = int((rows["status"] == Status.FAIL.value).sum())
    p95 = (
        f"p95 per window against the {_num(first['p95_threshold_ms'], Unit.MS)} threshold and "
        if pd.notna(first["p95_threshold_ms"])
        else ""
    )
    return (
        f"k6 {first['objective']}: {p95}error rate per window against "
        f"{_num(first['max_error_rate_pct'], Unit.PERCENT)}; {failing} of {len(rows)} windows fail"
    )


def _charts(windows: pd.DataFrame) -> str:
    parts = []
    for objective, rows in windows.groupby("objective", sort=False):
        parts.append(
            f'<figure style="margin:0.6em 0">{figure_img(plot_k6_windows(rows), _chart_alt(rows))}'
            f'<figcaption style="{_NOTE}">{escape(str(objective))}: {escape(_chart_alt(rows))}'
            "</figcaption></figure>"
        )
    return "".join(parts)


def _without_windows(
    objectives: list[K6Objective], windows: pd.DataFrame, verdicts: dict[str, ObjectiveVerdict]
) -> str:
    """One line per k6 objective the window table has no row for, with the verdict's reason
    (e.g. its scenario is too thin to cut into windows)."""
    shown = set(windows["objective"])
    items = []
    for obj in objectives:
        if obj.name in shown:
            continue
        verdict = verdicts.get(obj.name)
        status = verdict.status.value if verdict else Status.NO_DATA.value
        reason = "; ".join(verdict.reasons) if verdict and verdict.reasons else "no reason recorded"
        items.append(f"<li>{escape(f'{obj.name}: no window rows ({status}): {reason}')}</li>")
    return f'<ul style="{_NOTE}">{"".join(items)}</ul>' if items else ""


def _why_no_windows(run: Run, objectives: list[K6Objective]) -> str:
    """One sentence: why the run holds no window table for these objectives."""
    tables = [s for s in run.replay.k6 if isinstance(s, K6Snapshot)]
    if not tables:
        return (
            "This run holds no k6 window table: no k6 points file (NDJSON from "
            "k6 run --out json, or CSV from --out csv) was given (igkit go-no-go --k6 FILE), "
            "so its k6 objectives are NO_DATA."
        )
    unread = [s for s in tables if s.status != "success"]
    if unread:
        return (
            "This run holds no usable k6 window table: "
            + "; ".join(
                f"{s.file} (snapshot {s.id}) could not be cut into windows: {s.error or s.status}"
                for s in unread
            )
            + "."
        )
    names = ", ".join(sorted({o.scenario or ALL for o in objectives}))
    files = ", ".join(s.file for s in tables)
    return f"The k6 files ({files}) hold no windows of the scenarios this gate judges ({names})."


def k6_section_html(run: Run, gate_id: str) -> str:
    """The k6 evidence of ``gate_id`` as one HTML fragment: per-window table (scenario x
    window: requests, error rate, p95, igkit's thresholds, PASS/FAIL), k6's own thresholds
    beside igkit's, a chart per scenario, with the k6 file, snapshot id and SHA-256 of each
    table. A gate without k6 objectives gives ""."""
    from igkit.explore import k6_window_frame

    matrix = run.loaded.matrix
    objectives = [o for o in matrix.gate(gate_id).objectives if isinstance(o, K6Objective)]
    if not objectives:
        return ""
    settings = matrix.k6_settings()
    verdicts = {o.name: o for o in run.gate(gate_id).objectives}
    summaries = [s for s in run.replay.k6 if isinstance(s, K6SummarySnapshot)]
    windows = k6_window_frame(run, gate_id)
    parts = [f'<section class="igkit-k6" aria-label="{escape(gate_id)} k6 results">']
    parts.append("<h3>k6 results per window</h3>")
    if windows.empty:
        parts.append(f'<p style="{_NOTE}">{escape(_why_no_windows(run, objectives))}</p>')
    else:
        parts.append(_settings_note(settings))
        parts.append(_window_tables(run, windows))
        parts.append(_without_windows(objectives, windows, verdicts))
    parts.append("<h3>k6's own thresholds beside igkit's</h3>")
    parts.append(_thresholds_table(summaries, objectives, verdicts, settings))
    if not windows.empty:
        parts.append("<h3>Charts per scenario</h3>")
        parts.append(_charts(windows))
    parts.append("</section>")
    return "".join(parts)
