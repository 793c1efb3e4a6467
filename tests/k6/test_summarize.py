"""`igkit k6 summarize` on recorded real k6 output, and every kind of bad file."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from igkit.cli.main import main
from igkit.sources.k6.files import K6InputError
from igkit.sources.k6.points import read_points
from igkit.sources.k6.summary import parse_summary, read_summary

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "k6"
GREEN = FIXTURES / "green" / "points.json.gz"


def k6_export(run: str) -> dict[str, dict[str, object]]:
    data: dict[str, dict[str, object]] = json.loads(
        gzip.decompress((FIXTURES / run / "summary-export.json.gz").read_bytes())
    )
    return data["metrics"]


def test_json_output_is_k6s_summary_export_shape(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["k6", "summarize", str(GREEN), "--format", "json"]) == 0
    ours = json.loads(capsys.readouterr().out)
    theirs = k6_export("green")
    assert set(theirs) <= set(ours["metrics"])
    for key in ("http_req_duration{scenario:graphql_reads}", "http_req_failed", "http_reqs"):
        for stat, value in theirs[key].items():
            if stat in ("thresholds", "rate") and key == "http_reqs":
                continue
            if stat == "thresholds":
                continue
            assert ours["metrics"][key][stat] == pytest.approx(value, rel=1e-9), (key, stat)
    assert ours["igkit"]["points"] > 10_000
    assert ours["igkit"]["skipped_lines"] == 0


def test_by_tag_and_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["k6", "summarize", str(GREEN), "--by", "tenant"]) == 0
    out = capsys.readouterr().out
    assert "http_req_duration{tenant:acme}" in out
    assert "http_req_duration{tenant:globex}" in out
    assert "p(95)=" in out
    assert "✓ p(99)<1000" in out


def test_summary_files_are_read_in_all_three_shapes(tmp_path: Path) -> None:
    legacy = read_summary(FIXTURES / "mixed" / "summary-export.json.gz")
    handle = read_summary(FIXTURES / "mixed" / "handle-summary.json.gz")
    assert legacy.kind == "summary-export"
    assert handle.kind == "handle-summary"
    key = "http_req_duration{scenario:graphql_reads}"
    assert legacy.metrics[key].values["p(95)"] == handle.metrics[key].values["p(95)"]
    # legacy: `true` means the threshold FAILED; normalised to ok=False in both
    assert legacy.metrics[key].thresholds == handle.metrics[key].thresholds == {"p(95)<350": False}
    assert handle.duration_seconds is not None
    assert 13 < handle.duration_seconds < 20
    machine = parse_summary(
        {
            "version": "1.0.0",
            "metadata": {"generatedAt": "2025-01-15T10:30:45.123Z", "k6Version": "1.5.0"},
            "config": {"execution": "local", "duration": 60.0},
            "results": {
                "passed": False,
                "metrics": [
                    {
                        "name": "http_req_duration",
                        "type": "trend",
                        "contains": "time",
                        "category": "http",
                        "values": {"avg": 245.67, "p(95)": 421.32, "count": 1500},
                    },
                    {
                        "name": "http_req_failed",
                        "type": "rate",
                        "contains": "default",
                        "category": "http",
                        "values": {"rate": 0.02, "passes": 30, "fails": 1470},
                    },
                ],
            },
        },
        tmp_path / "summary.json",
    )
    assert machine.kind == "machine-readable-1"
    assert machine.metrics["http_req_duration"].values["p(95)"] == 421.32
    assert machine.duration_seconds == 60.0
    assert machine.passed is False


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def green_lines() -> list[bytes]:
    return gzip.decompress(GREEN.read_bytes()).splitlines(keepends=True)


@pytest.mark.parametrize(
    ("name", "make", "needle"),
    [
        ("empty.json", lambda lines: b"", "empty.json:1: empty file"),
        ("blank.json", lambda lines: b"\n\n  \n", "blank.json:1: empty file"),
        (
            "hello.json",
            lambda lines: b'{"hello": "world"}\n{"a": 1}\n',
            "hello.json:1: no k6 Metric or Point lines",
        ),
        ("image.png", lambda lines: b"\x89PNG\r\n\x1a\n....", "image.png:1: not k6 output"),
        (
            "summary-ish.json",
            lambda lines: b'{"metrics": 3}',
            "summary-ish.json: not a k6 summary (no 'metrics' object)",
        ),
        (
            "bad.json",
            lambda lines: b"".join(lines[:300]) + b'{"metric":"x", oops\n' + b"".join(lines[300:]),
            "bad.json:301: malformed JSON",
        ),
        ("cut.json", lambda lines: b"".join(lines[:-1]) + lines[-1][:40], "truncated last line"),
        (
            "cut.json.gz",
            lambda lines: gzip.compress(b"".join(lines))[:5000],
            "gzip stream ends early",
        ),
    ],
)
def test_bad_files_are_one_line_exit_2_under_strict(
    name: str, make: object, needle: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, name, make(green_lines()))  # type: ignore[operator]
    assert main(["k6", "summarize", str(path), "--strict"]) == 2
    err = capsys.readouterr().err
    assert needle in err
    assert err.count("\n") == 1
    assert "Traceback" not in err


def test_default_mode_skips_counts_and_reports_bad_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = green_lines()
    path = write(
        tmp_path,
        "bad.json",
        b"".join(lines[:300])
        + b"garbage\n"
        + b"".join(lines[300:600])
        + b"[1,2]\n"
        + b"".join(lines[600:]),
    )
    assert main(["k6", "summarize", str(path), "--format", "json"]) == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert out["igkit"]["skipped_lines"] == 2
    assert "line 301: malformed JSON" in captured.err
    assert "line 602: not a k6 Metric or Point line" in captured.err
    clean = read_points(GREEN)
    assert out["igkit"]["points"] == len(clean)  # the two junk lines held no points


def test_cut_gzip_keeps_what_inflates(tmp_path: Path) -> None:
    data = GREEN.read_bytes()
    path = write(tmp_path, "cut.json.gz", data[: len(data) // 2])
    points = read_points(path)
    assert points.truncated
    assert not points.complete
    assert 0 < len(points) < len(read_points(GREEN))


def test_missing_file_and_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["k6", "summarize", str(tmp_path / "nope.json")]) == 2
    assert "nope.json: no such file" in capsys.readouterr().err
    assert main(["k6", "summarize", str(tmp_path)]) == 2
    assert "not a regular file" in capsys.readouterr().err
    with pytest.raises(K6InputError):
        read_points(tmp_path)
