"""``igkit notebooks copy DIR``: editable copies, never over a file of yours unless --force."""

from __future__ import annotations

from pathlib import Path

import pytest

from igkit.cli.main import main
from igkit.report.notebooks import notebooks_dir

SHIPPED = sorted(p.name for p in notebooks_dir().glob("*.ipynb"))


def test_copies_every_shipped_notebook(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "mine" / "books"
    assert main(["notebooks", "copy", str(target)]) == 0
    assert sorted(p.name for p in target.iterdir()) == SHIPPED
    assert "gate.ipynb" in SHIPPED
    for name in SHIPPED:
        assert (target / name).read_bytes() == (notebooks_dir() / name).read_bytes()
    assert f"copied {len(SHIPPED)} notebooks" in capsys.readouterr().out


def test_refuses_to_overwrite_unless_forced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mine = tmp_path / "G1_slo_baseline.ipynb"
    mine.write_text("my edits")
    assert main(["notebooks", "copy", str(tmp_path)]) == 2
    assert "already exists; pass --force" in capsys.readouterr().err
    assert mine.read_text() == "my edits"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["G1_slo_baseline.ipynb"]  # all or nothing
    assert main(["notebooks", "copy", str(tmp_path), "--force"]) == 0  # positive control
    assert mine.read_bytes() == (notebooks_dir() / mine.name).read_bytes()


def test_never_writes_through_a_symlink_or_into_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("keep")
    target = tmp_path / "books"
    target.mkdir()
    (target / "gate.ipynb").symlink_to(outside)
    assert main(["notebooks", "copy", str(target), "--force"]) == 2
    assert "is a symlink or directory" in capsys.readouterr().err
    assert outside.read_text() == "keep"
    assert main(["notebooks", "copy", str(outside)]) == 2
    assert "is not a directory" in capsys.readouterr().err
    linked = tmp_path / "linked"
    linked.symlink_to(target)
    assert main(["notebooks", "copy", str(linked)]) == 2
