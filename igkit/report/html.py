"""Self-contained HTML for auditors: executed gate notebooks (outputs only), the sanitiser
every page goes through, and the print CSS / print variant the PDFs are made from (the run
index itself is :mod:`igkit.report.index`).

Every page loads nothing from anywhere: nbconvert's CDN scripts (require.js, MathJax, mermaid)
are removed with every other ``<script>``, external ``src``/``href``/``url(...)`` references are
dropped, and a Content-Security-Policy forbids any fetch that might slip through. Images stay,
as ``data:`` URIs. The price: interactive outputs (widgets, plotly) and LaTeX typesetting do not
render; a report must stand on its static outputs, which is what an auditor keeps anyway.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import nbformat
from bs4 import BeautifulSoup, Comment, Tag
from nbconvert import HTMLExporter

from igkit.atomic import write_text
from igkit.errors import ConfigError
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

NBCONVERT_DEFAULT_ALT = "No description has been provided for this image"
"""What nbconvert writes as ``alt`` of an image whose output gave none; a screen reader would
read it out, so it is replaced with what the image is."""

BANNER_CSS = """
.igkit-banner { background: #b3261e; color: #fff; font: 700 18px/1.4 system-ui, sans-serif;
  padding: 12px 20px; margin: 0 0 16px 0; border: 4px solid #7a1410; text-align: center;
  -webkit-print-color-adjust: exact; print-color-adjust: exact; }
"""


def banner_html(banner: str | None) -> str:
    """The banner at the top of a page ('' for none)."""
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
    for img in soup.find_all("img"):
        if str(img.get("alt", "")).strip() in ("", NBCONVERT_DEFAULT_ALT):
            img["alt"] = f"chart in {title}"
    for th in soup.find_all("th"):
        if not th.get("scope"):  # a screen reader then knows which cells a header names
            row = th.find_parent("tr")
            header_row = row is not None and not row.find_all("td", recursive=False)
            th["scope"] = "col" if header_row or th.find_parent("thead") is not None else "row"
    style = soup.new_tag("style")
    style.string = BANNER_CSS
    head.append(style)
    header = BeautifulSoup(banner_html(banner), "html.parser")
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


def css_string(text: str) -> str:
    """``text`` as a CSS string literal: quotes, backslashes, line breaks and ``<`` (no
    ``</style>`` can end the rule early) escaped."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("<", "\\3c ")
    return '"' + re.sub(r"[\r\n\f]+", " ", escaped) + '"'


def print_css(*, banner: str | None, footer: str) -> str:
    """Paged-media CSS for the PDF: on EVERY page the banner (top margin) and a footer
    ``<footer> · page n of m`` (bottom margin), as real text that pdftotext reads."""
    top = (
        f"@top-center {{ content: {css_string(banner)}; color: #b3261e; "
        "font: 700 9pt/1.2 system-ui, sans-serif; vertical-align: middle; }"
        if banner
        else ""
    )
    return (
        "@page { margin: 20mm 12mm 16mm 12mm; "
        f"{top} "
        f'@bottom-center {{ content: {css_string(footer)} " · page " counter(page) " of " '
        "counter(pages); color: #333; font: 8pt/1.2 system-ui, sans-serif; } }\n"
        "@media print { body { margin-top: 0; } pre, code { white-space: pre-wrap; "
        "overflow-wrap: anywhere; } }"
    )


def _pdf_href(href: str) -> str:
    """A relative ``X.html`` link -> ``X.pdf`` (the fragment dropped: PDF pages have none);
    anything else unchanged."""
    parts = urlsplit(href)
    if parts.scheme or parts.netloc or parts.path.startswith("/") or not parts.path:
        return href
    if not parts.path.lower().endswith((".html", ".htm")):
        return href
    path = parts.path[: parts.path.rfind(".")] + ".pdf"
    return urlunsplit(("", "", path, parts.query, ""))


def with_print_css(document: str, *, banner: str | None, footer: str) -> str:
    """The page with its paged-media CSS, so printing it from a browser also puts the banner
    and the footer on every page (the CSS has no effect on screen)."""
    soup = BeautifulSoup(document, "html.parser")
    head = soup.find("head")
    if not isinstance(head, Tag):
        raise ValueError("a report page without <head>")
    if head.find("style", id="igkit-print") is None:
        style = soup.new_tag("style", id="igkit-print")
        style.string = print_css(banner=banner, footer=footer)
        head.append(style)
    return str(soup)


def print_variant(document: str, *, banner: str | None, footer: str) -> str:
    """The page as it is printed to PDF: relative links point at the PDF twins (``.pdf``),
    and the paged-media CSS puts banner and footer on every page."""
    soup = BeautifulSoup(with_print_css(document, banner=banner, footer=footer), "html.parser")
    for a in soup.find_all("a", href=True):
        a["href"] = _pdf_href(str(a["href"]))
    return str(soup)
