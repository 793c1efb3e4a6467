"""Refresh the README's recorded cutover from a real run: copy RUN_DIR/timeline.jsonl to
docs/cutover-healthy/ and draw docs/cutover-board.png from it (igkit.conductor.board), then
print the README's timeline block. Run: python -m tests.support.cutover_docs RUN_DIR
(RUN_DIR: the --out of a real ``igkit cutover execute``, e.g. the healthy loopback e2e case
run with ``--basetemp``). tests/test_docs.py checks the README block against the copy."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from igkit.conductor.board import TIMELINE_FILE, stage_board, timeline_text

DOCS = Path(__file__).resolve().parents[2] / "docs"
RECORDED = DOCS / "cutover-healthy"
BOARD = DOCS / "cutover-board.png"


def refresh(run_dir: Path) -> str:
    RECORDED.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(run_dir / TIMELINE_FILE, RECORDED / TIMELINE_FILE)
    stage_board(RECORDED).savefig(BOARD, dpi=110)
    return timeline_text(RECORDED)


if __name__ == "__main__":
    print(refresh(Path(sys.argv[1])))
