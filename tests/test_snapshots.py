"""Snapshot hashing and frame building from raw Prometheus results."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from igkit.errors import SnapshotError
from igkit.snapshots import (
    RangeRequest,
    Snapshot,
    read_snapshot,
    to_long_frame,
    to_wide_frame,
    write_snapshots,
)
from igkit.sources.prometheus import split_range, stitch

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
REQ = RangeRequest(query="up", start=T0, end=T0.replace(minute=1), step_seconds=15)


def result() -> list[dict[str, object]]:
    t = T0.timestamp()
    return [
        {
            "metric": {"__name__": "up", "job": "a"},
            "values": [[t, "1"], [t + 15, "NaN"], [t + 30, "+Inf"], [t + 45, "0.5"]],
        },
        {
            "metric": {"job": "b"},
            "values": [[t + 15, "2"], [t + 15, "9"], [t + 7, "3"], [t + 60, "-Inf"]],
        },
    ]


def test_wide_frame_places_samples_on_the_grid() -> None:
    wide = to_wide_frame(result(), REQ.grid())
    assert list(wide.columns) == ['up{job="a"}', '{job="b"}']
    a, b = wide['up{job="a"}'].to_numpy(), wide['{job="b"}'].to_numpy()
    np.testing.assert_array_equal(a, [1, np.nan, np.inf, 0.5, np.nan])
    np.testing.assert_array_equal(
        b, [np.nan, 2, np.nan, np.nan, -np.inf]
    )  # first duplicate wins, off-grid dropped
    assert len(wide) == 5


def test_long_frame_and_empty_results() -> None:
    long = to_long_frame(result())
    assert len(long) == 8
    assert to_long_frame([]).empty
    assert to_wide_frame([], REQ.grid()).shape == (5, 0)
    with pytest.raises(SnapshotError, match="malformed"):
        to_long_frame([{"metric": {}, "values": [[1.0, "x"]]}])
    with pytest.raises(SnapshotError, match="malformed"):
        to_long_frame([{"metric": {}, "values": [[1.0]]}])


def test_split_and_stitch_cover_the_grid_once() -> None:
    req = RangeRequest(query="up", start=T0, end=T0.replace(hour=13), step_seconds=1)
    pieces = split_range(req, max_points=1000)
    assert len(pieces) == 4
    points = np.concatenate([np.arange(a, b + 0.5, 1.0) for a, b in pieces])
    assert np.array_equal(points, req.grid())
    chunk = [{"metric": {"job": "a"}, "values": [[1.0, "1"], [2.0, "2"]]}]
    overlap = [{"metric": {"job": "a"}, "values": [[2.0, "2"], [3.0, "3"]]}]
    assert stitch([chunk, overlap]) == [
        {"metric": {"job": "a"}, "values": [[1.0, "1"], [2.0, "2"], [3.0, "3"]]}
    ]


def test_snapshot_hash_detects_any_change(tmp_path: Path) -> None:
    snap = Snapshot(
        id=REQ.id,
        request=REQ,
        server="http://127.0.0.1:9090",
        fetched_at=T0,
        status="success",
        result=result()[:1],
    ).sealed()
    write_snapshots(
        tmp_path,
        [("G1-x", snap)],
        evaluated_at=T0,
        tenant=None,
        server=None,
        matrix_sha256="0" * 64,
    )
    (path,) = tmp_path.glob("G1-x-*.json")
    assert read_snapshot(path) == snap
    data = json.loads(path.read_text())
    data["result"][0]["values"][0][1] = "0.9"
    path.write_text(json.dumps(data))
    with pytest.raises(SnapshotError, match="SHA-256"):
        read_snapshot(path)
    path.write_text("{not json")
    with pytest.raises(SnapshotError, match="not valid JSON"):
        read_snapshot(path)
    path.write_text('{"hello": 1}')
    with pytest.raises(SnapshotError, match="not an igkit snapshot"):
        read_snapshot(path)


def test_request_id_depends_on_every_field() -> None:
    ids = {
        REQ.id,
        REQ.model_copy(update={"query": "up "}).id,
        REQ.model_copy(update={"tenant": "acme"}).id,
        REQ.model_copy(update={"step_seconds": 30}).id,
        REQ.model_copy(update={"end": T0.replace(minute=2)}).id,
    }
    assert len(ids) == 5
