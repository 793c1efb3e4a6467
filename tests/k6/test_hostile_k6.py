"""Hostile k6 files (issue #8, class 2): absent metrics, nothing judged, far-away timestamps.

Every hostile file is derived from a recorded real k6 run (``tests/fixtures/k6``); each table
has the honest twin beside it, which still PASSes.
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from igkit.spec.loader import load_matrix
from igkit.spec.models import K6Settings
from tests.k6.test_g5_gate import FIXTURES, fast_matrix, g5

GREEN = gzip.decompress((FIXTURES / "green" / "points.json.gz").read_bytes()).splitlines(
    keepends=True
)
GREEN_CSV = gzip.decompress((FIXTURES / "green" / "points.csv.gz").read_bytes()).splitlines(
    keepends=True
)
POINT = (
    '{"metric":"http_req_duration","type":"Point","data":{"time":"TIME","value":4.2,'
    '"tags":{"scenario":"opa_decision","status":"200"}}}\n'
)


def _without(lines: list[bytes], drop: re.Pattern[bytes]) -> bytes:
    return b"".join(line for line in lines if not drop.search(line))


def variant(tmp_path: Path, kind: str) -> Path:
    """The green run, plain, with one hostile change (``honest`` = none)."""
    body = b"".join(GREEN)
    if kind == "no_failed_points":
        body = _without(GREEN, re.compile(rb'^\{"metric":"http_req_failed","type":"Point"'))
    elif kind == "no_failed_metric_at_all":
        body = _without(GREEN, re.compile(rb'"metric":"http_req_failed"'))
    elif kind == "no_latency_for_reads":
        body = _without(
            GREEN,
            re.compile(
                rb'^\{"metric":"http_req_duration","type":"Point".*"scenario":"graphql_reads"'
            ),
        )
    elif kind.startswith("point_at_"):
        when = {
            "point_at_year_later": "2027-11-27T16:54:50Z",
            "point_at_year_1": "0001-01-01T00:00:00Z",
            "point_at_year_9999": "9999-12-31T23:59:59.999999Z",
            "point_at_clock_jump": "2026-11-28T04:54:50Z",
        }[kind]
        body += POINT.replace("TIME", when).encode()
    path = tmp_path / f"{kind}.json"
    path.write_bytes(body)
    return path


def statuses(objs: dict[str, dict[str, object]]) -> dict[str, object]:
    return {n: o["status"] for n, o in objs.items()}


def reasons(objs: dict[str, dict[str, object]], name: str) -> str:
    got = objs[name]["reasons"]
    assert isinstance(got, list)
    return " ".join(got)


def test_honest_twin_passes(tmp_path: Path) -> None:
    rc, objs, _ = g5(
        ["--matrix", str(fast_matrix(tmp_path)), "--k6", str(variant(tmp_path, "honest"))],
        tmp_path / "out",
    )
    assert rc == 0
    assert set(statuses(objs).values()) == {"PASS"}
    assert all(o["observed"] is not None for o in objs.values())


@pytest.mark.parametrize("kind", ["no_failed_points", "no_failed_metric_at_all"])
def test_absent_failed_metric_is_no_data_naming_metric_and_file(kind: str, tmp_path: Path) -> None:
    """No ``http_req_failed`` points: the error rate is unknown, for every objective."""
    path = variant(tmp_path, kind)
    rc, objs, _ = g5(["--matrix", str(fast_matrix(tmp_path)), "--k6", str(path)], tmp_path / "out")
    assert rc == 1
    assert set(statuses(objs).values()) == {"NO_DATA"}, statuses(objs)
    for name in objs:
        text = reasons(objs, name)
        assert "no http_req_failed points" in text, text
        assert f"[{path.name}]" in text


def test_absent_latency_for_one_scenario_is_no_data(tmp_path: Path) -> None:
    """graphql_reads has requests but no ``http_req_duration`` points: NO_DATA, the rest PASS."""
    path = variant(tmp_path, "no_latency_for_reads")
    _, objs, _ = g5(["--matrix", str(fast_matrix(tmp_path)), "--k6", str(path)], tmp_path / "out")
    assert objs["graphql_reads"]["status"] == "NO_DATA"
    text = reasons(objs, "graphql_reads")
    assert "no http_req_duration points" in text
    assert f"[{path.name}]" in text
    assert objs["graphql_reads"]["observed"] is None
    others = {n: s for n, s in statuses(objs).items() if n != "graphql_reads"}
    assert set(others.values()) == {"PASS"}, others


@pytest.mark.parametrize(
    ("kind", "span"),
    [
        ("point_at_year_later", "timestamps span 365 days"),
        ("point_at_year_1", "timestamps span 739,946 days"),
        ("point_at_year_9999", "timestamps span 2,912,112 days"),
        ("point_at_clock_jump", "timestamps span 12 hours"),
    ],
)
def test_far_away_point_is_no_data_not_millions_of_windows(
    kind: str, span: str, tmp_path: Path
) -> None:
    path = variant(tmp_path, kind)
    rc, objs, _ = g5(["--matrix", str(fast_matrix(tmp_path)), "--k6", str(path)], tmp_path / "out")
    assert rc == 1
    assert set(statuses(objs).values()) == {"NO_DATA"}
    text = reasons(objs, "graphql_reads")
    assert f"{span}: damaged or mixed file" in text, text
    assert "k6.max_windows 10,000" in text
    snap = next((tmp_path / "out" / "snapshots").glob("k6_windows-*.json"))
    stored = json.loads(snap.read_text())
    assert stored["status"] == "no_data"
    assert stored["overall"] is None


def test_max_windows_is_the_matrix_field(tmp_path: Path) -> None:
    """The green run spans 7 windows of 2s: 7 allowed PASSes, 6 is NO_DATA (positive control)."""
    path = variant(tmp_path, "honest")
    rc, objs, _ = g5(
        ["--matrix", str(fast_matrix(tmp_path, max_windows=7)), "--k6", str(path)],
        tmp_path / "seven",
    )
    assert rc == 0, {n: o["reasons"] for n, o in objs.items()}
    rc, objs, _ = g5(
        ["--matrix", str(fast_matrix(tmp_path, max_windows=6)), "--k6", str(path)],
        tmp_path / "six",
    )
    assert rc == 1
    assert "7 windows > k6.max_windows 6" in reasons(objs, "graphql_reads")


def test_csv_with_a_far_away_row_is_no_data(tmp_path: Path) -> None:
    honest = tmp_path / "honest.csv"
    honest.write_bytes(b"".join(GREEN_CSV))
    rc, objs, _ = g5(["--matrix", str(fast_matrix(tmp_path)), "--k6", str(honest)], tmp_path / "a")
    assert rc == 0, {n: o["reasons"] for n, o in objs.items()}
    row = GREEN_CSV[2].split(b",")
    assert row[0] == b"http_req_duration"
    row[1] = str(int(row[1]) + 365 * 86_400).encode()
    hostile = tmp_path / "hostile.csv"
    hostile.write_bytes(b"".join(GREEN_CSV) + b",".join(row))
    rc, objs, _ = g5(["--matrix", str(fast_matrix(tmp_path)), "--k6", str(hostile)], tmp_path / "b")
    assert rc == 1
    assert set(statuses(objs).values()) == {"NO_DATA"}
    assert "timestamps span 365 days: damaged or mixed file" in reasons(objs, "graphql_reads")


@pytest.mark.parametrize(
    ("time", "needle"),
    [
        *[
            (t, f"line {len(GREEN) + 1}: time is not an RFC 3339 timestamp")
            for t in ("NaN", "infinity", "294247-01-10T04:00:54Z", "10000-01-01T00:00:00Z", "")
        ],
        ("2026-13-01T00:00:00Z", "1 Point lines without a finite numeric value or a valid time"),
        ("0000-01-01T00:00:00Z", "1 Point lines without a finite numeric value or a valid time"),
    ],
)
def test_unrepresentable_times_are_malformed_points(time: str, needle: str, tmp_path: Path) -> None:
    """A time no datetime holds is a malformed point (counted, file incomplete), not a window."""
    path = tmp_path / "t.json"
    path.write_bytes(b"".join(GREEN) + POINT.replace("TIME", time).encode())
    rc, objs, _ = g5(["--matrix", str(fast_matrix(tmp_path)), "--k6", str(path)], tmp_path / "out")
    assert rc == 1
    assert set(statuses(objs).values()) == {"NO_DATA"}
    assert needle in reasons(objs, "graphql_reads")


@pytest.mark.parametrize(
    ("field", "value", "ok"),
    [
        ("max_windows", 0, False),
        ("max_windows", 1, True),
        ("window", "500ms", False),
        ("window", "1s", True),
    ],
)
def test_k6_settings_bounds(field: str, value: object, ok: bool) -> None:
    """max_windows >= 1 and windows of at least 1s (a sub-microsecond window divided by 0);
    the other fields are the shipped matrix's, so only ``field`` can be refused."""
    settings = {**load_matrix(None).matrix.k6_settings().model_dump(), field: value}
    if ok:
        K6Settings.model_validate(settings)
    else:
        with pytest.raises(ValidationError, match=field):
            K6Settings.model_validate(settings)


def test_thousands_of_scenario_values_over_a_long_span_stay_small(tmp_path: Path) -> None:
    """5,000 distinct scenario values over 9,000 windows would be 45M scenario x window cells;
    a scenario too sparse to fill its windows is kept whole-run only, so memory stays small.
    Positive control: the honest run's scenarios keep their windows."""
    import tracemalloc
    from datetime import UTC, datetime, timedelta

    from igkit.sources.k6.windows import k6_snapshot

    shipped = load_matrix(None).matrix.k6_settings().model_dump()
    settings = K6Settings.model_validate(
        {**shipped, "window": timedelta(seconds=2), "min_samples_per_window": 10}
    )
    honest = variant(tmp_path, "honest")
    assert all(t.windows for t in k6_snapshot(honest, settings).scenarios.values())
    start = datetime(2026, 11, 27, 16, 54, 48, tzinfo=UTC)
    extra = "".join(
        POINT.replace(
            "TIME", (start + timedelta(seconds=3.6 * i)).isoformat().replace("+00:00", "Z")
        ).replace('"opa_decision"', f'"s{i}"')
        for i in range(5000)
    )
    path = tmp_path / "many.json"
    path.write_bytes(b"".join(GREEN) + extra.encode())
    tracemalloc.start()
    try:
        snap = k6_snapshot(path, settings)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert snap.status == "success"
    assert snap.overall is not None
    assert len(snap.overall.windows) > 8_000
    assert len(snap.scenarios) == 5004
    assert not any(t.windows for t in snap.scenarios.values())
    assert peak < 300 * 2**20, peak
