"""HTML reports: auditor view of a notebook, self-contained, banner, index gate table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup, Tag

from igkit.errors import ConfigError
from igkit.report.html import notebook_to_html
from igkit.report.index import render_index
from igkit.report.palette import STATUS_COLOURS
from igkit.report.render import UNTRUSTED_BANNER
from igkit.verdicts import Status
from tests.report.conftest import SECRET_SOURCE_MARKER, run_verdicts, write_verdicts

CSS_URL = re.compile(r"url\(\s*['\"]?([^'\")]*)", re.IGNORECASE)
CSS_IMPORT = re.compile(r"@import\s+(?:url\()?\s*['\"]?([^'\");\s]*)", re.IGNORECASE)


def external_references(document: str) -> list[str]:
    """Every resource reference that would make a browser fetch from the network."""
    soup = BeautifulSoup(document, "html.parser")
    refs: list[str] = []
    for tag in soup.find_all(True):
        for attr in ("src", "href", "srcset", "data", "poster", "xlink:href"):
            if tag.name == "a" and attr == "href":
                continue  # a link navigates on a click; it loads nothing
            value = tag.get(attr)
            if value is not None:
                refs.append(f"<{tag.name} {attr}={value}>")
        style = tag.get("style")
        if style is not None:
            refs += [f"style attr url({u})" for u in CSS_URL.findall(str(style))]
    for style_tag in soup.find_all("style"):
        css = style_tag.get_text()
        refs += [f"css url({u})" for u in CSS_URL.findall(css)]
        refs += [f"css @import {u}" for u in CSS_IMPORT.findall(css)]
    return [r for r in refs if re.search(r"(https?:)?//", r, re.IGNORECASE) and "data:" not in r]


def test_reference_finder_sees_what_nbconvert_emits_by_default(executed_notebook: Path) -> None:
    """Guard the guard: the raw nbconvert output does reference CDNs, and the finder sees them."""
    import nbformat
    from nbconvert import HTMLExporter

    raw, _ = HTMLExporter().from_notebook_node(nbformat.read(executed_notebook, as_version=4))
    found = external_references(raw)
    assert any("cdnjs.cloudflare.com" in r for r in found), found
    assert any("example.invalid" in r for r in found), found


@pytest.fixture(scope="module")
def gate_html(tmp_path_factory: pytest.TempPathFactory, executed_notebook: Path) -> str:
    out = tmp_path_factory.mktemp("html") / "G1_slo_baseline.html"
    notebook_to_html(executed_notebook, out, title="G1 SLO baseline", banner=UNTRUSTED_BANNER)
    return out.read_text(encoding="utf-8")


def test_gate_html_is_self_contained(gate_html: str) -> None:
    assert external_references(gate_html) == []
    soup = BeautifulSoup(gate_html, "html.parser")
    assert soup.find_all("script") == []
    assert soup.find_all("link") == []
    csp = soup.find("meta", attrs={"http-equiv": "Content-Security-Policy"})
    assert isinstance(csp, Tag)
    assert "default-src 'none'" in str(csp["content"])
    assert "example.invalid" not in gate_html
    assert "cdnjs" not in gate_html
    assert "hostile-cell-rendered" in gate_html  # the content stays, only the fetches go


def test_gate_html_shows_outputs_not_code(gate_html: str) -> None:
    soup = BeautifulSoup(gate_html, "html.parser")
    assert "DECISION: GO" in soup.get_text()
    table = soup.find("table", id="nb-gates")
    assert isinstance(table, Tag)
    assert [td.get_text() for td in table.find_all("td")][:2] == ["G1", "PASS"]
    images = [str(img.get("src", "")) for img in soup.find_all("img")]
    assert any(src.startswith("data:image/png;base64,") for src in images)  # the plot, embedded
    assert "igkit_source_marker_must_not_render" not in gate_html  # inputs hidden
    assert SECRET_SOURCE_MARKER not in gate_html
    assert "plt.subplots" not in gate_html
    assert not soup.select(".jp-InputPrompt"), "input prompts must be hidden"
    assert "In&nbsp;[" not in gate_html
    assert "In [" not in soup.get_text()


def test_gate_html_banner_first_and_title(gate_html: str) -> None:
    soup = BeautifulSoup(gate_html, "html.parser")
    body = soup.find("body")
    assert isinstance(body, Tag)
    first = next(c for c in body.children if isinstance(c, Tag))
    assert "igkit-banner" in first.get("class", [])
    assert first.get_text() == UNTRUSTED_BANNER
    assert soup.title is not None
    assert soup.title.get_text() == "G1 SLO baseline"


def test_no_banner_when_none(tmp_path: Path, executed_notebook: Path) -> None:
    out = notebook_to_html(executed_notebook, tmp_path / "g.html", title="t", banner=None)
    soup = BeautifulSoup(out.read_text(encoding="utf-8"), "html.parser")
    assert soup.select(".igkit-banner") == []


def test_index_gate_table_colours_links_and_banner(tmp_path: Path) -> None:
    run = run_verdicts({"G3": Status.FAIL, "G5": Status.NO_DATA, "G7": Status.ERROR})
    write_verdicts(tmp_path, run)
    reports = tmp_path / "reports"
    reports.mkdir()
    g1 = reports / "G1_slo_baseline.html"
    g1.write_text("<html></html>", encoding="utf-8")
    extra = reports / "appendix.html"
    extra.write_text("<html></html>", encoding="utf-8")
    index = render_index(tmp_path, reports / "index.html", [g1, extra], banner="DEMO BANNER")
    document = index.read_text(encoding="utf-8")
    soup = BeautifulSoup(document, "html.parser")

    assert external_references(document) == []
    assert soup.select(".igkit-banner")[0].get_text() == "DEMO BANNER"
    decision = soup.find(id="decision")
    assert decision is not None
    assert decision.get_text() == "NO-GO"
    assert "2026-11-27T12:30:00Z" in soup.get_text()
    rows = soup.select("table#gates tbody tr")
    assert [r.find_all(["th", "td"])[0].get_text() for r in rows] == [f"G{i}" for i in range(1, 9)]
    for row in rows:
        cells = row.find_all(["th", "td"])
        gate_id, status_cell = cells[0].get_text(), cells[2]
        expected = {"G3": Status.FAIL, "G5": Status.NO_DATA, "G7": Status.ERROR}.get(
            gate_id, Status.PASS
        )
        assert status_cell.get_text() == expected.value
        assert f"background:{STATUS_COLOURS[expected]}" in str(status_cell.get("style"))
    g1_link = rows[0].find("a")
    assert g1_link is not None
    assert g1_link["href"] == "G1_slo_baseline.html"
    assert (reports / str(g1_link["href"])).is_file()
    assert rows[1].find("a") is None  # no G2 report: no dead link
    assert "G3 breached <b>x</b>" in soup.get_text()  # reasons are escaped, not markup
    assert soup.find("a", href="appendix.html") is not None


def test_index_without_verdicts_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read verdicts"):
        render_index(tmp_path, tmp_path / "index.html", [])


def test_unreadable_notebook_is_a_config_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ipynb"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigError, match="cannot read notebook"):
        notebook_to_html(bad, tmp_path / "bad.html", title="t", banner=None)


def test_markdown_image_next_to_notebook_is_embedded(tmp_path: Path) -> None:
    import nbformat
    from PIL import Image

    Image.new("RGB", (4, 4), (255, 0, 0)).save(tmp_path / "pic.png")
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell(
                "![a plot](pic.png)\n\n![remote](https://example.invalid/r.png)"
            )
        ]
    )
    nbformat.write(nb, tmp_path / "G9_x.ipynb")
    out = notebook_to_html(
        tmp_path / "G9_x.ipynb", tmp_path / "out" / "G9_x.html", title="t", banner=None
    )
    document = out.read_text(encoding="utf-8")
    assert external_references(document) == []
    srcs = [str(i.get("src", "")) for i in BeautifulSoup(document, "html.parser").find_all("img")]
    assert any(s.startswith("data:image/png;base64,") for s in srcs), srcs


def test_gate_html_images_have_a_meaningful_alt(gate_html: str) -> None:
    images = BeautifulSoup(gate_html, "html.parser").find_all("img")
    assert images
    assert all(img.get("alt") == "chart in G1 SLO baseline" for img in images)
    assert "No description has been provided" not in gate_html


def test_gate_html_table_headers_have_scope(gate_html: str) -> None:
    headers = BeautifulSoup(gate_html, "html.parser").select("table#nb-gates th")
    assert [th.get("scope") for th in headers] == ["col", "col"]


def test_header_scope_without_thead(tmp_path: Path) -> None:
    import nbformat

    table = (
        "<table id='t'><tr><th>Gate</th><th>Status</th></tr>"
        "<tr><th>G1</th><td>PASS</td></tr></table>"
    )
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "x",
                outputs=[
                    nbformat.v4.new_output(
                        "display_data", data={"text/html": table, "text/plain": "t"}
                    )
                ],
            )
        ]
    )
    nbformat.write(nb, tmp_path / "G9_x.ipynb")
    out = notebook_to_html(tmp_path / "G9_x.ipynb", tmp_path / "x.html", title="t", banner=None)
    soup = BeautifulSoup(out.read_text(encoding="utf-8"), "html.parser")
    assert [th.get("scope") for th in soup.select("table#t th")] == ["col", "col", "row"]
