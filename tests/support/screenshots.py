"""Screenshots of what an auditor opens, for the README: ``python -m tests.support.screenshots``.

Renders the demo (``igkit demo``, the same command a user runs) into a temporary directory, or
takes an already rendered one (``--demo DIR``), and has headless Chromium (the browser igkit
prints its PDFs with) photograph the bundle's ``reports/index.html`` and the G1 gate report at
1280 px wide. The PNGs go to ``docs/`` (``tests/test_docs.py`` checks they are there, are PNGs
of a sensible size, and that README.md shows them).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from igkit.report.pdf import run_chromium

DOCS = Path(__file__).resolve().parents[2] / "docs"
WIDTH, HEIGHT = 1280, 2000
# docs/ file -> the report it shows (a file of the bundle's reports/)
SHOTS = {"index.png": "index.html", "gate-G1.png": "G1_slo_baseline.html"}


def screenshot(html: Path, png: Path) -> Path:
    """One page at WIDTH x HEIGHT CSS pixels, as headless Chromium draws it."""
    if not html.is_file():
        raise SystemExit(f"screenshots: no report {html}")
    png.unlink(missing_ok=True)
    run_chromium(
        [
            f"--screenshot={png.resolve()}",
            f"--window-size={WIDTH},{HEIGHT}",
            "--hide-scrollbars",
            html.resolve().as_uri(),
        ]
    )
    if not png.is_file():
        raise SystemExit(f"screenshots: Chromium wrote no {png}")
    trim_bottom(png)
    return png


def trim_bottom(png: Path, margin: int = 24) -> None:
    """Cut the blank page below the content (a short index leaves most of 2000 px white)."""
    from PIL import Image, ImageOps

    with Image.open(png) as img:
        rgb = img.convert("RGB")
    box = ImageOps.invert(rgb).getbbox()  # the bounding box of everything not white
    if box is not None and box[3] + margin < rgb.height:
        rgb.crop((0, 0, rgb.width, box[3] + margin)).save(png, optimize=True)


def take(demo: Path, docs: Path = DOCS) -> list[Path]:
    reports = demo / "bundle" / "reports"
    return [screenshot(reports / html, docs / png) for png, html in SHOTS.items()]


def render_demo(out: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "igkit", "demo", "--out", str(out)], check=False)
    if done.returncode != 0:
        raise SystemExit(f"screenshots: igkit demo exited {done.returncode}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", type=Path, help="an igkit demo output directory to reuse")
    parser.add_argument("--docs", type=Path, default=DOCS, help="where the PNGs go")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="igkit-screenshots-") as tmp:
        demo = args.demo
        if demo is None:
            demo = Path(tmp) / "demo"
            render_demo(demo)
        for png in take(demo, args.docs):
            print(f"wrote {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
