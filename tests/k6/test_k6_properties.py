"""Properties of the k6 readers and of G5 on damaged files (issue #8, class 10).

1. Every k6 reader (NDJSON points plain and gzip, CSV points, summary JSON), given arbitrary
   bytes or a mutation of a real small k6 file, returns a result or raises igkit's own error
   (an :class:`~igkit.errors.IgkitError`) - never another exception, never MemoryError.
2. What G5 can guarantee on a damaged file, stated exactly:
   - a file with any line that is not a clean k6 line (checked here independently: strict
     JSON without duplicate keys, a Point with a metric name, a finite number and a time) is
     never PASS - whatever byte was replaced;
   - reordering lines changes no verdict (k6 statistics do not depend on line order);
   - dropping or duplicating whole valid lines leaves a valid k6 file that no reader can tell
     from a different run (k6 output carries no sequence numbers or checksums): it is judged
     as exactly the points it holds - a PASS then means every judged window held at least
     ``min_samples_per_window`` samples of every judged metric, with an observed value.
"""

from __future__ import annotations

import gzip
import json
import math
import random
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from igkit.errors import IgkitError
from igkit.judge.k6 import evaluate_k6
from igkit.sources.k6.points import read_points
from igkit.sources.k6.summary import read_summary
from igkit.sources.k6.windows import k6_snapshot
from igkit.spec.loader import load_matrix
from igkit.spec.models import K6Objective, K6Settings
from igkit.verdicts import Status
from tests.k6.test_g5_gate import FIXTURES

_GREEN = gzip.decompress((FIXTURES / "green" / "points.json.gz").read_bytes()).splitlines(
    keepends=True
)
_CSV = gzip.decompress((FIXTURES / "green" / "points.csv.gz").read_bytes()).splitlines(
    keepends=True
)
_SUMMARY = gzip.decompress((FIXTURES / "green" / "handle-summary.json.gz").read_bytes())


def _small_run() -> list[bytes]:
    """The recorded green run cut down to the two judged metrics, one point in six (chosen
    by the line's CRC, so every scenario keeps its share)."""
    judged = (b'{"metric":"http_req_duration"', b'{"metric":"http_req_failed"')
    return [
        line
        for line in _GREEN
        if b'"type":"Metric"' in line or (line.startswith(judged) and zlib.crc32(line) % 6 == 0)
    ]


SMALL = _small_run()
SHIPPED_K6 = load_matrix(None).matrix.k6_settings()
SETTINGS = K6Settings.model_validate(
    {**SHIPPED_K6.model_dump(), "window": timedelta(seconds=4), "min_samples_per_window": 3}
)
OBJECTIVES = [
    o
    for g in load_matrix(None).matrix.gates
    if g.id == "G5"
    for o in g.objectives
    if isinstance(o, K6Objective)
]


@contextmanager
def written(data: bytes, name: str) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="igkit-prop-") as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        yield path


def _reads_or_igkit_error(path: Path) -> None:
    with suppress(IgkitError):
        read_points(path)


def verdicts(path: Path) -> dict[str, Status]:
    snap = k6_snapshot(path, SETTINGS)
    return {o.name: evaluate_k6("G5", o, SETTINGS, [snap], []).status for o in OBJECTIVES}


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    if len({k for k, _ in pairs}) != len(pairs):
        raise ValueError("duplicate key")
    return dict(pairs)


def clean_k6_line(line: bytes) -> bool:
    """An independent statement of a line igkit may read (not igkit's own checker)."""
    if not line.strip():
        return True
    try:
        obj = json.loads(line, object_pairs_hook=_unique, parse_constant=float)
    except (ValueError, RecursionError):
        return False
    if not isinstance(obj, dict) or obj.get("type") not in ("Point", "Metric"):
        return False
    data = obj.get("data")
    if not isinstance(data, dict):
        return False
    if obj["type"] == "Metric":
        return True
    value = data.get("value")
    return (
        isinstance(obj.get("metric"), str)
        and type(value) in (int, float)
        and math.isfinite(float(value))
        and isinstance(data.get("time"), str)
    )


def test_the_small_run_passes_every_objective() -> None:
    """Positive control for the properties below: the undamaged small run is all PASS."""
    with written(b"".join(SMALL), "small.json") as path:
        assert read_points(path).complete
        assert set(verdicts(path).values()) == {Status.PASS}


# --- every reader, arbitrary bytes -----------------------------------------------------------


@pytest.mark.property
@given(st.binary(max_size=2000))
def test_ndjson_reader_arbitrary_bytes(data: bytes) -> None:
    with written(data, "points.json") as path:
        _reads_or_igkit_error(path)


@pytest.mark.property
@given(st.binary(max_size=2000), st.booleans())
def test_gzip_ndjson_reader_arbitrary_bytes(data: bytes, compress: bool) -> None:
    """A real gzip of arbitrary bytes, or arbitrary bytes that merely claim to be gzip."""
    payload = gzip.compress(data) if compress else b"\x1f\x8b" + data
    with written(payload, "points.json.gz") as path:
        _reads_or_igkit_error(path)


@pytest.mark.property
@given(st.binary(max_size=2000))
def test_csv_reader_arbitrary_bytes(data: bytes) -> None:
    with written(_CSV[0] + data, "points.csv") as path:
        _reads_or_igkit_error(path)


@pytest.mark.property
@given(st.binary(max_size=2000))
def test_summary_reader_arbitrary_bytes(data: bytes) -> None:
    with written(data, "summary.json") as path, suppress(IgkitError):
        read_summary(path)


@pytest.mark.property
@given(st.integers(0, len(_SUMMARY) - 1), st.integers(0, 255))
def test_summary_reader_one_byte_replaced(pos: int, byte: int) -> None:
    data = _SUMMARY[:pos] + bytes([byte]) + _SUMMARY[pos + 1 :]
    with written(data, "summary.json") as path, suppress(IgkitError):
        read_summary(path)


@pytest.mark.property
@given(st.integers(0, 10**9), st.integers(0, 255), st.sampled_from(["json", "json.gz", "csv"]))
def test_point_readers_one_byte_replaced(seed: int, byte: int, kind: str) -> None:
    raw = b"".join(SMALL if kind != "csv" else _CSV[:400])
    pos = seed % len(raw)
    data = raw[:pos] + bytes([byte]) + raw[pos + 1 :]
    if kind == "json.gz":
        data = gzip.compress(data)
    with written(data, f"points.{kind}") as path:
        _reads_or_igkit_error(path)


@pytest.mark.property
@given(st.integers(0, 10**9), st.integers(1, 5000))
def test_gzip_cut_or_corrupted_anywhere(seed: int, length: int) -> None:
    packed = gzip.compress(b"".join(SMALL))
    pos = seed % len(packed)
    data = packed[:pos] + bytes([packed[pos] ^ 0xFF]) + packed[pos + 1 : pos + length]
    with written(data, "points.json.gz") as path:
        _reads_or_igkit_error(path)


# --- G5 on damaged files -------------------------------------------------------------------


@pytest.mark.property
@given(st.integers(0, 10**9), st.integers(0, 255))
@example(seed=916, byte=32)  # '"type"' -> '" ype"' on a Metric line of an unjudged metric
def test_g5_one_byte_replaced_is_never_pass_when_a_line_is_broken(seed: int, byte: int) -> None:
    raw = b"".join(SMALL)
    pos = seed % len(raw)
    data = raw[:pos] + bytes([byte]) + raw[pos + 1 :]
    with written(data, "points.json") as path:
        try:
            result = verdicts(path)
        except IgkitError:
            return
    lines = data.split(b"\n")
    if not all(clean_k6_line(line) for line in lines):
        assert Status.PASS not in result.values(), result


@pytest.mark.property
@given(st.randoms(use_true_random=False))
def test_g5_reordered_lines_change_no_verdict(rnd: random.Random) -> None:
    lines = list(SMALL)
    rnd.shuffle(lines)
    with written(b"".join(lines), "points.json") as path:
        assert set(verdicts(path).values()) == {Status.PASS}


@pytest.mark.property
@given(
    st.lists(st.integers(0, len(SMALL) - 1), max_size=60),
    st.lists(st.integers(0, len(SMALL) - 1), max_size=60),
)
def test_g5_dropped_or_duplicated_lines_pass_only_on_full_windows(
    drop: list[int], dup: list[int]
) -> None:
    lines = [line for i, line in enumerate(SMALL) if i not in set(drop)]
    lines += [SMALL[i] for i in dup]
    with written(b"".join(lines), "points.json") as path:
        try:
            snap = k6_snapshot(path, SETTINGS)
        except IgkitError:
            return
        for obj in OBJECTIVES:
            verdict = evaluate_k6("G5", obj, SETTINGS, [snap], [])
            if verdict.status is not Status.PASS:
                continue
            assert snap.complete
            assert verdict.observed is not None
            table = snap.overall if obj.scenario is None else snap.scenarios[obj.scenario]
            assert table is not None
            for w in table.windows:
                assert w.requests >= SETTINGS.min_samples_per_window
                if obj.p95 is not None:
                    assert w.latency_samples >= SETTINGS.min_samples_per_window


@pytest.mark.property
@given(st.integers(0, len(SMALL) - 1), st.sampled_from(['"value":"{}"', '"value":true']))
def test_g5_a_value_that_is_not_a_number_is_never_read(index: int, shape: str) -> None:
    """Any one point's value as a string or a boolean: that line is skipped and named."""
    line = SMALL[index]
    if b'"type":"Point"' not in line:
        return
    head, _, rest = line.partition(b'"value":')
    number, _, tail = rest.partition(b",")
    hostile = head + shape.format(number.decode()).encode() + b"," + tail
    lines = list(SMALL)
    lines[index] = hostile
    with written(b"".join(lines), "points.json") as path:
        points = read_points(path)
        assert points.skipped_lines == 1
        assert any(p.line == index + 1 for p in points.problems)
        assert Status.PASS not in verdicts(path).values()
