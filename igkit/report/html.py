"""Self-contained HTML for auditors: executed gate notebooks (outputs only) and the run index.

Every page loads nothing from anywhere: nbconvert's CDN scripts (require.js, MathJax, mermaid)
are removed with every other ``<script>``, external ``src``/``href``/``url(...)`` references are
dropped, and a Content-Security-Policy forbids any fetch that might slip through. Images stay,
as ``data:`` URIs. The price: interactive outputs (widgets, plotly) and LaTeX typesetting do not
render; a report must stand on its static outputs, which is what an auditor keeps anyway.
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import nbformat
from bs4 import BeautifulSoup, Comment, Tag
from nbconvert import HTMLExporter

from igkit.atomic import write_text
from igkit.errors import ConfigError
from igkit.report.palette import DECISION_COLOURS, STATUS_COLOURS, STATUS_TEXT
from igkit.strictdoc import DocumentError, load_model
from igkit.timeutil import rfc3339
from igkit.verdicts import RunVerdicts

# Defence in depth: even a reference the sanitiser missed cannot be fetched.
CSP = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:; "
    "media-src data:; form-action 'none'; base-uri 'none'"
)


def partial_banner(run: RunVerdicts) -> str | None:
    """The banner of a run that did not evaluate every gate (None for a complete run)."""
    if run.scope.complete:
        return None
    return (
        f"PARTIAL RUN — only {', '.join(run.scope.gates)} evaluated; this is not a GO for "
        "the release (every gate of the matrix must pass)"
    )


_CSS_URL = re.compile(r"url\(\s*(['\"]?)([^'\")]*)\1\s*\)", re.IGNORECASE)
_CSS_IMPORT = re.compile(r"@import\s+[^;]*;", re.IGNORECASE)
_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
# Attributes that make a browser fetch something (not <a href>, which only navigates on a click).
_FETCHING_ATTRS = {
    "img": ("src", "srcset"),
    "source": ("src", "srcset"),
    "video": ("src", "poster"),
    "audio": ("src",),
    "track": ("src",),
    "iframe": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "input": ("src",),
    "image": ("href", "xlink:href"),  # SVG
    "use": ("href", "xlink:href"),  # SVG
}

BANNER_CSS = """
.igkit-banner { background: #b3261e; color: #fff; font: 700 18px/1.4 system-ui, sans-serif;
  padding: 12px 20px; margin: 0 0 16px 0; border: 4px solid #7a1410; text-align: center;
  -webkit-print-color-adjust: exact; print-color-adjust: exact; }
"""

INDEX_CSS = """
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f1f1f;
  margin: 24px auto; max-width: 1100px; padding: 0 16px;
  -webkit-print-color-adjust: exact; print-color-adjust: exact; }
h1 { margin: 0 0 8px 0; }
.decision { display: inline-block; font-size: 28px; font-weight: 800; color: #fff;
  padding: 6px 18px; border-radius: 6px; }
table.gates { border-collapse: collapse; width: 100%; margin-top: 16px; }
table.gates th, table.gates td { border: 1px solid #c8c8c8; padding: 6px 10px; text-align: left;
  vertical-align: top; }
table.gates th { background: #eeeeee; }
td.status { font-weight: 700; text-align: center; white-space: nowrap; }
dl.meta { display: grid; grid-template-columns: max-content auto; gap: 2px 16px; margin: 12px 0; }
dl.meta dt { font-weight: 600; } dl.meta dd { margin: 0; font-family: monospace; }
ul.reasons { margin: 0; padding-left: 18px; }
"""


def _banner_html(banner: str | None) -> str:
    if not banner:
        return ""
    return f'<div class="igkit-banner" role="alert">{html.escape(banner)}</div>'


def _clean_css(css: str) -> str:
    css = _CSS_COMMENT.sub("", css)
    css = _CSS_IMPORT.sub("", css)
    return _CSS_URL.sub(
        lambda m: "none" if not m.group(2).strip().lower().startswith("data:") else m.group(0),
        css,
    )


def make_self_contained(document: str) -> str:
    """Drop scripts and every reference that would make a browser fetch something."""
    soup = BeautifulSoup(document, "html.parser")
    for script in soup.find_all("script"):
        script.decompose()
    for comment in soup.find_all(string=lambda s: isinstance(s, Comment)):
        comment.extract()
    for link in soup.find_all("link"):
        link.decompose()  # stylesheets, preloads, icons: nbconvert inlines its own CSS
    for tag in soup.find_all(["base", "meta"]):
        if tag.name == "base" or str(tag.get("http-equiv", "")).lower() == "refresh":
            tag.decompose()
    for tag in soup.find_all(True):
        for attr in _FETCHING_ATTRS.get(tag.name, ()):
            value = tag.get(attr)
            if value is not None and not str(value).strip().lower().startswith("data:"):
                del tag[attr]
        style = tag.get("style")
        if style is not None:
            tag["style"] = _clean_css(str(style))
        for attr in list(tag.attrs):
            if attr.lower().startswith("on"):  # inline event handlers are scripts too
                del tag[attr]
    for style_tag in soup.find_all("style"):
        style_tag.string = _clean_css(style_tag.get_text())
    head = soup.find("head")
    if isinstance(head, Tag):
        meta = soup.new_tag("meta", attrs={"http-equiv": "Content-Security-Policy", "content": CSP})
        head.insert(0, meta)
    return str(soup)


def _insert_banner_and_title(document: str, *, title: str, banner: str | None) -> str:
    soup = BeautifulSoup(document, "html.parser")
    head = soup.find("head")
    body = soup.find("body")
    if not isinstance(head, Tag) or not isinstance(body, Tag):
        raise ValueError("nbconvert produced HTML without <head>/<body>")
    title_tag = soup.find("title")
    if not isinstance(title_tag, Tag):
        title_tag = soup.new_tag("title")
        head.append(title_tag)
    title_tag.string = title
    style = soup.new_tag("style")
    style.string = BANNER_CSS
    head.append(style)
    header = BeautifulSoup(_banner_html(banner), "html.parser")
    body.insert(0, header)
    return str(soup)


def notebook_to_html(nb_path: Path, out_path: Path, *, title: str, banner: str | None) -> Path:
    """Render an executed notebook's outputs (no code, no prompts) to one self-contained file."""
    try:
        notebook = nbformat.read(nb_path, as_version=4)  # type: ignore[no-untyped-call]
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read notebook: {exc}", where=str(nb_path)) from exc
    exporter = HTMLExporter(  # type: ignore[no-untyped-call]
        template_name="lab",
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
    )
    body, _ = exporter.from_notebook_node(
        notebook, resources={"metadata": {"name": title, "path": str(nb_path.parent)}}
    )
    document = _insert_banner_and_title(body, title=title, banner=banner)
    document = make_self_contained(document)
    write_text(out_path, document)
    return out_path


def _report_for(gate_id: str, reports: Sequence[Path]) -> Path | None:
    """``G1`` -> ``G1_slo_baseline.html`` (stem equal to the id or starting ``G1_``/``G1-``)."""
    gid = gate_id.lower()
    for report in reports:
        stem = report.stem.lower()
        if stem == gid or stem.startswith((f"{gid}_", f"{gid}-")):
            return report
    return None


def render_index(
    run_dir: Path,
    out_path: Path,
    reports: Sequence[Path],
    *,
    banner: str | None = None,
    failures: Mapping[str, str] | None = None,
) -> Path:
    """Write the run's summary page: decision, gate table with status colours, report links;
    a gate whose report failed (``failures``: gate id -> reason) says so in its report cell."""
    failed = failures or {}
    verdicts_path = run_dir / "verdicts.json"
    try:
        run = load_model(RunVerdicts, verdicts_path.read_bytes(), where=str(verdicts_path))
    except OSError as exc:
        raise ConfigError(
            f"cannot read verdicts: {exc.strerror}", where=str(verdicts_path)
        ) from exc
    except DocumentError as exc:
        raise ConfigError(
            f"invalid verdicts.json: {exc.message}", where=str(verdicts_path)
        ) from exc

    def link(report: Path, text: str) -> str:
        href = os.path.relpath(report, out_path.parent).replace(os.sep, "/")
        return f'<a href="{html.escape(href)}">{html.escape(text)}</a>'

    rows = []
    linked: set[Path] = set()
    for gate in run.gates:
        bg, fg = STATUS_COLOURS[gate.status], STATUS_TEXT[gate.status]
        report = _report_for(gate.id, reports)
        if report is not None:
            linked.add(report)
        reasons = "".join(f"<li>{html.escape(r)}</li>" for r in gate.reasons)
        rows.append(
            "<tr>"
            f"<td><strong>{html.escape(gate.id)}</strong></td>"
            f"<td>{html.escape(gate.name)}</td>"
            f'<td class="status status-{gate.status.value}" style="background:{bg};color:{fg}">'
            f"{html.escape(gate.status.value)}</td>"
            f'<td><ul class="reasons">{reasons}</ul></td>'
            f"<td>{link(report, report.stem) if report else '—'}"
            + (
                f'<p class="report-failed"><strong>report failed:</strong> {html.escape(failed[gate.id])}</p>'
                if gate.id in failed
                else ""
            )
            + "</td>"
            "</tr>"
        )
    others = [r for r in reports if r not in linked]
    other_html = (
        "<h2>Other reports</h2><ul>"
        + "".join(f"<li>{link(r, r.stem)}</li>" for r in others)
        + "</ul>"
        if others
        else ""
    )
    decision_bg = DECISION_COLOURS[run.decision]
    title = f"igkit go/no-go: {run.decision}"
    document = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>{BANNER_CSS}{INDEX_CSS}</style>
</head>
<body>
{_banner_html(banner)}
{"" if banner and "PARTIAL" in banner else _banner_html(partial_banner(run))}
<h1>Release go/no-go</h1>
<p>Decision: <span class="decision" id="decision" style="background:{decision_bg}">{html.escape(run.decision)}</span></p>
<dl class="meta">
<dt>Evaluated at</dt><dd>{html.escape(rfc3339(run.evaluated_at))}</dd>
<dt>Source</dt><dd>{html.escape(run.source)}</dd>
<dt>Matrix</dt><dd>{html.escape(run.matrix_source)} (sha256 {html.escape(run.matrix_sha256)})</dd>
<dt>Tenant</dt><dd>{html.escape(run.tenant or "all")}</dd>
<dt>igkit</dt><dd>{html.escape(run.igkit_version)}</dd>
</dl>
<table class="gates" id="gates">
<thead><tr><th>Gate</th><th>Name</th><th>Status</th><th>Reasons</th><th>Report</th></tr></thead>
<tbody>
{"".join(rows)}
</tbody>
</table>
{other_html}
</body>
</html>
"""
    write_text(out_path, document)
    return out_path
