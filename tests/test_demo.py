"""`igkit demo`: runs with no server, and its shipped sample is what the real Prometheus says."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from igkit.cli.main import main
from igkit.demo import demo_snapshot_dir
from igkit.snapshots import read_snapshot
from tests.support.prometheus import PrometheusServer
from tests.support.record_demo import record


def test_demo_runs_offline_and_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # the verdicts only; the demo with notebooks, reports and bundle is tests/test_pipeline.py
    assert main(["demo", "--no-notebooks", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "DECISION: GO" in out
    verdicts = json.loads((tmp_path / "verdicts.json").read_text())
    assert [g["id"] for g in verdicts["gates"]] == [f"G{i}" for i in range(1, 9)]
    status = {g["id"]: g["status"] for g in verdicts["gates"]}
    assert status == dict.fromkeys([f"G{i}" for i in range(1, 9)], "PASS")
    assert (tmp_path / "junit.xml").is_file()


@pytest.mark.prometheus
def test_shipped_sample_matches_a_fresh_recording(
    prometheus: PrometheusServer, tmp_path: Path
) -> None:
    record(prometheus.url, tmp_path)

    def snapshots(directory: Path) -> dict[str, Any]:
        files = [p for p in directory.glob("*.json") if p.name != "index.json"]
        return {s.id: s for s in map(read_snapshot, files)}

    fresh = snapshots(tmp_path / "snapshots")
    shipped = snapshots(demo_snapshot_dir())
    assert fresh.keys() == shipped.keys()
    volatile = {"fetched_at", "captured_at", "server", "sha256"}  # when and where, not what
    for sid, snap in shipped.items():
        assert snap.model_dump(exclude=volatile) == fresh[sid].model_dump(exclude=volatile), (
            f"{sid}: re-record with `make demo-sample`"
        )
