"""Look at the rendered reports the way a person would: in a browser, and as printed PDF pages."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from bs4 import BeautifulSoup, Tag
from PIL import Image

from igkit.judge.evidence.checks import combine
from igkit.report.pdf import run_chromium, verify_pdf
from igkit.report.render import UNTRUSTED_BANNER, render_reports
from igkit.verdicts import Status
from tests.report.conftest import KeyPair, run_verdicts, write_verdicts

WIDTH, HEIGHT = 1280, 2000


def _report(rendered: list[Path], name: str) -> Path:
    return next(p for p in rendered if p.name == name)


def dump_dom(html_path: Path) -> BeautifulSoup:
    proc = run_chromium(["--dump-dom", html_path.resolve().as_uri()])
    return BeautifulSoup(proc.stdout.decode("utf-8"), "html.parser")


def screenshot(html_path: Path, png: Path) -> Image.Image:
    run_chromium(
        [f"--screenshot={png}", f"--window-size={WIDTH},{HEIGHT}", html_path.resolve().as_uri()]
    )
    return Image.open(png).convert("RGB")


def count_pixels(img: Image.Image, box: tuple[int, int, int, int], kind: str) -> int:
    """Pixels in ``box`` that are non-white, or strongly red (the plot's line, the banner)."""
    px = np.asarray(img.crop(box), dtype=np.int16)
    r, g, b = px[..., 0], px[..., 1], px[..., 2]
    if kind == "nonwhite":
        return int((px.min(axis=-1) < 235).sum())
    return int(((r > 170) & (g < 90) & (b < 90)).sum())


def pdf_text(pdf: Path) -> str:
    out = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, check=True, timeout=60
    )
    return out.stdout.decode("utf-8")


def pdf_page_png(pdf: Path, tmp_path: Path, page: int = 1) -> Image.Image:
    prefix = tmp_path / f"{pdf.stem}-page"
    subprocess.run(
        ["pdftoppm", "-png", "-r", "50", "-f", str(page), "-l", str(page), str(pdf), str(prefix)],
        check=True,
        timeout=60,
    )
    (png,) = tmp_path.glob(f"{pdf.stem}-page*.png")
    return Image.open(png).convert("RGB")


@pytest.mark.chromium
def test_render_reports_writes_html_and_signed_pdfs(rendered: list[Path], run_dir: Path) -> None:
    reports = run_dir / "reports"
    assert sorted(p.relative_to(reports).as_posix() for p in rendered) == [
        "G1_slo_baseline.html",
        "G1_slo_baseline.pdf",
        "index.html",
        "index.pdf",
    ]
    assert all(p.is_file() and p.stat().st_size > 0 for p in rendered)


@pytest.mark.chromium
def test_gate_report_in_browser_dom(rendered: list[Path]) -> None:
    dom = dump_dom(_report(rendered, "G1_slo_baseline.html"))
    assert "DECISION: GO" in dom.get_text()
    table = dom.find("table", id="nb-gates")
    assert isinstance(table, Tag)
    cells = [td.get_text(strip=True) for td in table.find_all("td")]
    assert cells[:4] == ["G1", "PASS", "G2", "PASS"]
    assert len(table.find_all("tr")) == 9
    banner = dom.select(".igkit-banner")
    assert banner
    assert banner[0].get_text() == UNTRUSTED_BANNER


@pytest.mark.chromium
def test_index_in_browser_dom(rendered: list[Path]) -> None:
    dom = dump_dom(_report(rendered, "index.html"))
    decision = dom.find(id="decision")
    assert decision is not None
    assert decision.get_text() == "GO"
    rows = dom.select("table#gates tbody tr")
    assert [r.find_all(["th", "td"])[0].get_text() for r in rows] == [f"G{i}" for i in range(1, 9)]
    assert dom.select(".igkit-banner")[0].get_text() == UNTRUSTED_BANNER


@pytest.mark.chromium
def test_gate_report_screenshot_shows_banner_and_plot(rendered: list[Path], tmp_path: Path) -> None:
    img = screenshot(_report(rendered, "G1_slo_baseline.html"), tmp_path / "gate.png")
    assert img.size == (WIDTH, HEIGHT)
    # The banner: a red bar across the top of the page.
    assert count_pixels(img, (0, 0, WIDTH, 120), "red") > 20_000
    # The plot: its thick red line below the banner, in the left part of the page (800px wide).
    plot_red = count_pixels(img, (0, 150, 1000, 900), "red")
    assert plot_red > 1_500, f"plot line not visible ({plot_red} red pixels)"
    assert count_pixels(img, (0, 150, 1000, 900), "nonwhite") > 10_000  # axes, ticks, labels


@pytest.mark.chromium
@pytest.mark.poppler
def test_gate_pdf_text_and_pixels(rendered: list[Path], tmp_path: Path) -> None:
    pdf = _report(rendered, "G1_slo_baseline.pdf")
    text = pdf_text(pdf)
    assert UNTRUSTED_BANNER in text
    assert "DECISION: GO" in text
    assert "Gate" in text
    assert "Status" in text
    for gate in ("G1", "G8"):
        assert gate in text
    assert "PASS" in text
    assert "example.invalid" not in text
    assert SECRET not in text
    page = pdf_page_png(pdf, tmp_path)
    w, h = page.size
    assert count_pixels(page, (0, 0, w, h), "nonwhite") > 0.02 * w * h, "page 1 looks blank"
    assert count_pixels(page, (0, h // 8, w, h), "red") > 200, "plot not on page 1"


SECRET = "igkit_source_marker_must_not_render"


@pytest.mark.chromium
@pytest.mark.poppler
def test_index_pdf_text_and_pixels(rendered: list[Path], tmp_path: Path) -> None:
    pdf = _report(rendered, "index.pdf")
    text = pdf_text(pdf)
    assert UNTRUSTED_BANNER in text
    assert "Release go/no-go" in text
    assert "2026-11-27T12:30:00Z" in text
    lines = text.splitlines()
    for gate in (f"G{i}" for i in range(1, 9)):
        assert any(line.split()[:1] == [gate] and "PASS" in line for line in lines), gate
    page = pdf_page_png(pdf, tmp_path)
    w, h = page.size
    assert count_pixels(page, (0, 0, w, h), "nonwhite") > 0.02 * w * h, "page 1 looks blank"


@pytest.mark.chromium
def test_trusted_run_has_no_banner(tmp_path: Path, demo_key: KeyPair) -> None:
    write_verdicts(tmp_path, run_verdicts({"G4": Status.FAIL}))
    written = render_reports(
        tmp_path, key_pem=demo_key.key_pem, cert_pem=demo_key.cert_pem, untrusted=False
    )
    assert [p.name for p in written] == ["index.html", "index.pdf"]  # no notebooks: index only
    assert "igkit-banner" not in written[0].read_text(encoding="utf-8").split("</style>")[-1]
    assert combine(verify_pdf(written[1], cert_pem=demo_key.cert_pem)) is Status.PASS
