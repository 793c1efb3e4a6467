"""The README's screenshots exist, are real PNGs of a rendered page, and are shown by README.md
(``python -m tests.support.screenshots`` makes them from the demo)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PIL import Image

from tests.support.screenshots import SHOTS, WIDTH

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(SHOTS))
def test_screenshot_is_a_png_of_a_rendered_page(name: str) -> None:
    png = ROOT / "docs" / name
    assert png.is_file(), f"docs/{name} is missing: run python -m tests.support.screenshots"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert 20_000 < png.stat().st_size < 2_000_000
    with Image.open(png) as img:
        assert img.width == WIDTH
        assert 400 <= img.height <= 2000
        gray = img.convert("L")
        dark = sum(gray.histogram()[:128])  # text and table rules, not a blank page
        assert dark > img.width * 10, f"docs/{name} looks blank"


@pytest.mark.parametrize("name", sorted(SHOTS))
def test_readme_shows_the_screenshot(name: str) -> None:
    assert re.search(rf"!\[[^\]]+\]\(docs/{re.escape(name)}\)", README), name


def test_every_image_the_readme_shows_exists() -> None:
    for target in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", README):
        assert (ROOT / target).is_file(), target


def test_the_readme_quotes_the_recorded_cutover_timeline_as_recorded() -> None:
    """The README's timeline block is igkit's own reading of the recorded timeline.jsonl
    (docs/cutover-healthy), which the board image beside it was drawn from."""
    from igkit.conductor.board import timeline_text

    block = re.search(
        r"<!-- cutover-timeline .*?-->\n```text\n(.*?)\n```\n<!-- /cutover-timeline -->",
        README,
        re.S,
    )
    assert block is not None
    assert block.group(1) == timeline_text(ROOT / "docs" / "cutover-healthy")
    board = ROOT / "docs" / "cutover-board.png"
    assert board.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
