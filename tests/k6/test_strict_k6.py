"""Strict k6 documents (issue #8, class 3): duplicate keys, wrong shapes, non-numbers.

Summaries (all three shapes) go through ``igkit.strictdoc.load_json``; NDJSON point lines
with a duplicate key or a value that is not a finite JSON number are malformed lines,
named, skipped by default and an error under ``--strict``. Each hostile case has its
honest twin, which still reads and PASSes.
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path
from typing import Any

import pytest

from igkit.cli.main import main
from igkit.sources.k6.files import K6InputError
from igkit.sources.k6.points import read_points
from igkit.sources.k6.summary import read_summary
from tests.k6.test_g5_gate import FIXTURES, fast_matrix, g5

MACHINE: dict[str, Any] = {
    "version": "1.0.0",
    "config": {"execution": "local", "duration": 14.0},
    "results": {
        "passed": True,
        "metrics": [
            {"name": "http_req_duration", "type": "trend", "values": {"avg": 5.0, "p(95)": 9.0}},
            {"name": "http_req_failed", "type": "rate", "values": {"rate": 0.0, "passes": 0}},
        ],
    },
}


def summary_text(shape: str) -> str:
    if shape == "machine-readable":
        return json.dumps(MACHINE, indent=1)
    data = json.loads(gzip.decompress((FIXTURES / "green" / f"{shape}.json.gz").read_bytes()))
    return json.dumps(data, indent=1)


def duplicate(text: str, where: str) -> str:
    """Repeat one key of ``text`` (pretty-printed JSON) at the named depth."""
    if where == "top":
        first = re.match(r'\{\s*("[^"]+"): ', text)
        assert first
        return "{" + first.group(1) + ": null, " + text[1:]
    if where == "statistic":
        m = re.search(r'"p\(95\)": ', text)
        assert m
        return text[: m.start()] + '"p(95)": 1.0, ' + text[m.start() :]
    if where == "threshold":
        m = re.search(r'"thresholds": \{\s*("[^"]+"): ', text)
        assert m, "no threshold in this shape"
        return text[: m.end(1)] + ": false, " + m.group(1) + text[m.end(1) :]
    raise AssertionError(where)


SHAPES = ["summary-export", "handle-summary", "machine-readable"]
CASES = [
    (shape, where)
    for shape in SHAPES
    for where in ("top", "statistic", "threshold")
    if not (shape == "machine-readable" and where == "threshold")
]


@pytest.mark.parametrize("shape", SHAPES)
def test_honest_summaries_read(shape: str, tmp_path: Path) -> None:
    path = tmp_path / f"{shape}.json"
    path.write_text(summary_text(shape))
    assert read_summary(path).metrics


@pytest.mark.parametrize(("shape", "where"), CASES)
def test_summary_with_a_duplicate_key_is_refused(
    shape: str, where: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / f"{shape}.json"
    path.write_text(duplicate(summary_text(shape), where))
    with pytest.raises(K6InputError, match="duplicate key"):
        read_summary(path)
    assert main(["k6", "summarize", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path.name}: duplicate key" in err
    assert err.count("\n") == 1


def test_g5_with_a_duplicate_key_summary_is_error_naming_it(tmp_path: Path) -> None:
    matrix = str(fast_matrix(tmp_path))
    points = str(FIXTURES / "green" / "points.json.gz")
    honest = tmp_path / "honest.json"
    honest.write_text(summary_text("handle-summary"))
    rc, _, _ = g5(["--matrix", matrix, "--k6", points, "--k6", str(honest)], tmp_path / "a")
    assert rc == 0
    hostile = tmp_path / "hostile.json"
    hostile.write_text(duplicate(summary_text("handle-summary"), "threshold"))
    rc, _, gate = g5(["--matrix", matrix, "--k6", points, "--k6", str(hostile)], tmp_path / "b")
    assert rc == 1
    assert gate["status"] == "ERROR"
    assert any("hostile.json: duplicate key" in r for r in gate["reasons"]), gate["reasons"]


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (
            lambda d: d["results"].__setitem__("metrics", {"a": 1}),
            "results.metrics: expected a list",
        ),
        (lambda d: d.__setitem__("config", [1]), "config: expected an object"),
        (lambda d: d["results"].__setitem__("passed", "yes"), "results.passed"),
        (lambda d: d["results"]["metrics"][0].__setitem__("type", "histogram"), "unknown metric"),
        (lambda d: d["results"]["metrics"][0]["values"].__setitem__("avg", 10**400), "finite"),
        (lambda d: d["results"]["metrics"][0]["values"].__setitem__("avg", True), "a number"),
        (lambda d: d["results"]["metrics"].append(d["results"]["metrics"][0]), "listed twice"),
    ],
)
def test_summary_sections_of_the_wrong_shape_are_named(
    mutate: Any, needle: str, tmp_path: Path
) -> None:
    data = json.loads(json.dumps(MACHINE))
    mutate(data)
    path = tmp_path / "s.json"
    path.write_text(json.dumps(data))
    with pytest.raises(K6InputError, match=re.escape(needle)):
        read_summary(path)


def test_handle_summary_threshold_ok_must_be_a_bool(tmp_path: Path) -> None:
    text = summary_text("handle-summary")
    assert '"ok": true' in text
    path = tmp_path / "s.json"
    path.write_text(text.replace('"ok": true', '"ok": "false"', 1))
    with pytest.raises(K6InputError, match=re.escape("ok: true|false")):
        read_summary(path)


# --- NDJSON points -------------------------------------------------------------------------

GREEN = gzip.decompress((FIXTURES / "green" / "points.json.gz").read_bytes()).splitlines(
    keepends=True
)
AT = 300  # the hostile line replaces line AT + 1 of the green run


def _reads_point(line: bytes) -> bool:
    return (
        line.startswith(b'{"metric":"http_req_duration","type":"Point"')
        and b"graphql_reads" in line
    )


TARGET = next(i for i, line in enumerate(GREEN) if i >= AT and _reads_point(line))
LINE = GREEN[TARGET].decode()
HOSTILE_LINES = {
    "value_twice": LINE.replace('"value":', '"value":0,"value":', 1),
    "metric_twice": LINE.replace('"metric":', '"metric":"http_req_failed","metric":', 1),
    "type_twice": LINE.replace('"type":"Point"', '"type":"Point","type":"Metric"', 1),
    "scenario_twice": LINE.replace('"scenario":', '"scenario":"opa_decision","scenario":', 1),
    "data_twice": LINE.rstrip().removesuffix("}") + ',"data":{"value":0}}\n',
    "escaped_key_twice": LINE.replace('"value":', '"value":0,"val\\u0075e":', 1),
    "value_string": re.sub(r'"value":([0-9.e+-]+)', r'"value":"\1"', LINE, count=1),
    "value_bool": re.sub(r'"value":([0-9.e+-]+)', '"value":true', LINE, count=1),
    "value_null": re.sub(r'"value":([0-9.e+-]+)', '"value":null', LINE, count=1),
    "value_nan_literal": re.sub(r'"value":([0-9.e+-]+)', '"value":NaN', LINE, count=1),
    "value_minus_infinity": re.sub(r'"value":([0-9.e+-]+)', '"value":-Infinity', LINE, count=1),
    "value_minus_inf_string": re.sub(r'"value":([0-9.e+-]+)', '"value":"-inf"', LINE, count=1),
    "value_overflow": re.sub(r'"value":([0-9.e+-]+)', '"value":-1e400', LINE, count=1),
    "value_missing": re.sub(r'"value":([0-9.e+-]+),', "", LINE, count=1),
}


def hostile_file(tmp_path: Path, kind: str) -> Path:
    lines = list(GREEN)
    if kind != "honest":
        lines[TARGET] = HOSTILE_LINES[kind].encode()
    path = tmp_path / f"{kind}.json"
    path.write_bytes(b"".join(lines))
    return path


@pytest.fixture(scope="module")
def honest_points(tmp_path_factory: pytest.TempPathFactory) -> int:
    """How many points the honest file holds: read once, compared by every hostile twin."""
    return len(read_points(hostile_file(tmp_path_factory.mktemp("honest"), "honest")))


def test_the_hostile_lines_differ_from_the_honest_one() -> None:
    for kind, line in HOSTILE_LINES.items():
        assert line != LINE, kind
        assert line.endswith("\n"), kind


def test_honest_points_file_passes(tmp_path: Path) -> None:
    path = hostile_file(tmp_path, "honest")
    assert read_points(path).complete
    rc, _, _ = g5(["--matrix", str(fast_matrix(tmp_path)), "--k6", str(path)], tmp_path / "out")
    assert rc == 0


@pytest.mark.parametrize("kind", sorted(HOSTILE_LINES))
def test_points_line_with_duplicate_key_or_non_number_is_a_named_malformed_line(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], honest_points: int
) -> None:
    path = hostile_file(tmp_path, kind)
    points = read_points(path)
    assert not points.complete
    assert points.skipped_lines == 1
    assert any(p.line == TARGET + 1 for p in points.problems), points.problems
    assert len(points) == honest_points - 1  # that line, and only it, is not read
    assert main(["k6", "summarize", str(path), "--strict"]) == 2
    err = capsys.readouterr().err
    assert f"{path.name}:{TARGET + 1}: " in err
    assert err.count("\n") == 1
    rc, objs, _ = g5(["--matrix", str(fast_matrix(tmp_path)), "--k6", str(path)], tmp_path / "g")
    assert rc == 1
    assert objs["graphql_reads"]["status"] == "NO_DATA"
    assert f"line {TARGET + 1}: " in " ".join(objs["graphql_reads"]["reasons"])


def test_duplicate_key_line_beside_a_garbage_line_is_still_not_read(
    tmp_path: Path, honest_points: int
) -> None:
    """DuckDB's ignore_errors mode reads a duplicate-key line as its first key: never used."""
    lines = list(GREEN)
    lines[TARGET] = HOSTILE_LINES["value_twice"].encode()
    lines.insert(10, b"{garbage\n")
    path = tmp_path / "both.json"
    path.write_bytes(b"".join(lines))
    points = read_points(path)
    assert points.skipped_lines == 2
    assert {p.line for p in points.problems} >= {11, TARGET + 2}
    assert len(points) == honest_points - 1


def test_csv_header_with_a_duplicate_column_is_refused(tmp_path: Path) -> None:
    """DuckDB reads the first of two same-named CSV columns: refused, like a duplicate key."""
    rows = gzip.decompress((FIXTURES / "green" / "points.csv.gz").read_bytes()).splitlines(
        keepends=True
    )
    honest = tmp_path / "honest.csv"
    honest.write_bytes(b"".join(rows))
    assert read_points(honest).complete
    header = rows[0].replace(b",metadata", b",metric_value")
    assert header != rows[0]
    hostile = tmp_path / "hostile.csv"
    hostile.write_bytes(header + b"".join(rows[1:]))
    with pytest.raises(K6InputError, match="names column 'metric_value' twice"):
        read_points(hostile)
