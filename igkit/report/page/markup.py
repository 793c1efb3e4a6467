"""Small HTML builders for the gate page: every text value is escaped on the way in.

A value is either plain text (escaped here) or :class:`Raw` markup built by these functions,
so nothing a snapshot, a label or an evidence file holds can become markup."""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime

from igkit.report.palette import STATUS_COLOURS, STATUS_TEXT
from igkit.verdicts import Status

DASH = "—"


class Raw(str):
    """Markup already escaped by this module."""

    __slots__ = ()


Cell = str | int | float | None


def esc(value: Cell) -> Raw:
    """Escaped text of a value: markup passes through; ``None`` and blank text are a dash
    (a cell of spaces or tabs would read as nothing, and HTML parsers fold it to one space)."""
    if isinstance(value, Raw):
        return value
    if value is None or (isinstance(value, str) and not value.strip()):
        return Raw(DASH)
    return Raw(html.escape(str(value), quote=True))


def tag(name: str, content: Cell, cls: str = "") -> Raw:
    attr = f' class="{html.escape(cls)}"' if cls else ""
    return Raw(f"<{name}{attr}>{esc(content)}</{name}>")


def join(parts: Iterable[Cell], sep: str = "") -> Raw:
    return Raw(html.escape(sep).join(esc(p) for p in parts))


def code(text: str) -> Raw:
    return tag("code", text)


def digest(text: str | None) -> Raw | None:
    """A hash or digest, in a smaller monospace that keeps it on one line (pdftotext, search)."""
    return None if not text else tag("code", text, "igk-hash")


def badge(status: Status | str) -> Raw:
    """The status as a coloured badge, spelled out (colour is never the only signal)."""
    s = Status(status) if status in Status.__members__.values() else None
    if s is None:
        return tag("span", str(status), "igk-badge")
    style = f"background:{STATUS_COLOURS[s]};color:{STATUS_TEXT[s]}"
    return Raw(f'<span class="igk-badge" style="{style}">{html.escape(s.value)}</span>')


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[Cell]],
    cls: str = "",
    *,
    full_width: Sequence[str] = (),
) -> Raw:
    """A table; the columns named in ``full_width`` (hashes, digests) are given a line of
    their own under each row, across the table, so a 64-digit hash is never split."""
    wide = [i for i, h in enumerate(headers) if h in full_width]
    narrow = [i for i in range(len(headers)) if i not in wide]
    head = "".join(f'<th scope="col">{esc(headers[i])}</th>' for i in narrow)
    span = len(narrow)

    def row_html(row: Sequence[Cell]) -> str:
        main = "<tr>" + "".join(f"<td>{esc(row[i])}</td>" for i in narrow) + "</tr>"
        extra = "".join(
            f'<tr class="igk-wide"><td colspan="{span}">{esc(headers[i])}: {esc(row[i])}</td></tr>'
            for i in wide
            if row[i] is not None and row[i] != ""
        )
        return main + extra

    body = "".join(row_html(row) for row in rows)
    klass = f"igk-table {cls}".strip()
    return Raw(
        f'<table class="{klass}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
    )


def fields(pairs: Iterable[tuple[str, Cell]]) -> Raw:
    """A two-column key/value table (what a raw dict would have been)."""
    rows = "".join(f'<tr><th scope="row">{esc(k)}</th><td>{esc(v)}</td></tr>' for k, v in pairs)
    return Raw(f'<table class="igk-table igk-fields"><tbody>{rows}</tbody></table>')


def items(values: Iterable[Cell], cls: str = "") -> Raw:
    body = "".join(f"<li>{esc(v)}</li>" for v in values)
    return Raw(f'<ul class="{html.escape(cls)}">{body}</ul>' if cls else f"<ul>{body}</ul>")


def section(title: Cell, *parts: Cell, level: int = 3, cls: str = "igk-section") -> Raw:
    inner = "".join(esc(p) for p in parts if p is not None and p != "")
    return Raw(f'<section class="{cls}"><h{level}>{esc(title)}</h{level}>{inner}</section>')


def reasons(lines: Sequence[str], title: str = "Reasons") -> Raw:
    """Full reason text, one item a line, wrapped by CSS (never cut)."""
    if not lines:
        return Raw("")
    return Raw(f'<p class="igk-label">{esc(title)}</p>' + items(lines, "igk-reasons"))


def when(value: datetime | str | None) -> str:
    """``2025-03-01 02:30:00 UTC`` for a datetime or RFC 3339 text; other text unchanged."""
    if value is None or value == "":
        return DASH
    dt = value
    if isinstance(value, str):
        try:
            dt = datetime.fromisoformat(value)
        except ValueError:
            return value
    assert isinstance(dt, datetime)
    if dt.tzinfo is None:
        return value if isinstance(value, str) else f"{dt:%Y-%m-%d %H:%M:%S}"
    return f"{dt.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def span(start: datetime | None, end: datetime | None) -> str:
    """``2025-03-01 02:30:00 UTC – 03:30:00 UTC`` (the date once when both fall on it)."""
    if start is None or end is None:
        return DASH
    a, b = start.astimezone(UTC), end.astimezone(UTC)
    tail = f"{b:%H:%M:%S} UTC" if a.date() == b.date() else when(b)
    return f"{when(a)} – {tail}"


def step(seconds: float) -> str:
    """``15 s``, ``5 min``, ``1 h``."""
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds / 3600:g} h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"


def percent(share: float | None) -> str:
    """A share (1.0 = all) as ``100.0%``; a dash when not applicable."""
    if share is None or share != share:
        return DASH
    return f"{share * 100:.1f}%"


def label_text(labels: Mapping[str, str]) -> str:
    """``tenant=acme, worker=w1``; a series without labels is the objective's single series."""
    if not labels:
        return "(single series)"
    return ", ".join(f"{k}={v}" for k, v in sorted(labels.items()))


CSS = """
.igk-page{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f1f1f;
 line-height:1.4;max-width:100%}
.igk-page h2{margin:.2em 0}.igk-page h3{margin:1.2em 0 .3em;border-bottom:1px solid #ccc}
.igk-page h4{margin:.9em 0 .3em}
.igk-badge{display:inline-block;white-space:nowrap;padding:.1em .5em;border-radius:.3em;font-weight:600;
 background:#555;color:#fff}
.igk-page table.igk-table{border-collapse:collapse;margin:.4em 0;width:100%;table-layout:auto;
 font-size:inherit}
.igk-page table.igk-table th,.igk-page table.igk-table td{border:1px solid #ccc;
 padding:.25em .45em;text-align:left;vertical-align:top;overflow-wrap:break-word;
 white-space:normal;max-width:none}
.igk-page table.igk-table td:last-child{overflow-wrap:anywhere}
.igk-page table.igk-table th{background:#f2f2f2}
.igk-page table.igk-fields th{width:11em}
.igk-page code{font-family:ui-monospace,Menlo,Consolas,monospace;white-space:pre-wrap;
 overflow-wrap:anywhere;background:#f6f6f6}
.igk-page code.igk-hash{white-space:nowrap;font-size:.72em;overflow-wrap:normal}
.igk-page table.igk-table tr.igk-wide td{border-top:none;padding-left:1.5em}
.igk-reasons li,.igk-page p{overflow-wrap:anywhere;white-space:normal}
.igk-label{font-weight:600;margin:.5em 0 .1em}
.igk-unverified{color:#b3261e;font-weight:600}
.igk-warn{color:#8a5a00}
.igk-page img{max-width:100%;height:auto}
@media print{
 .jp-OutputArea-child:has(.igk-page){break-inside:auto}
 .igk-page img,.igk-page tr,.igk-page table.igk-fields{break-inside:avoid}
 .igk-page h2,.igk-page h3,.igk-page h4,.igk-label{break-after:avoid}
}
"""
