"""G5 from k6 result files: recorded real k6 runs (fixtures) and live k6 runs, plus bad input."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from igkit.cli.main import main
from igkit.spec.loader import load_matrix
from tests.support.k6_target import K6RunResult

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "k6"
NOWHERE = "http://127.0.0.1:9"  # G5 reads no Prometheus range; the URL is never contacted


def fast_matrix(tmp_path: Path, **k6: object) -> Path:
    """The shipped matrix with 2-second windows (the test runs last 14 s)."""
    text = load_matrix(None).text
    settings = {"window": "2s", "min_samples_per_window": 10, **k6}
    for key, value in settings.items():
        text = text.replace(
            next(line for line in text.splitlines() if line.strip().startswith(f"{key}:")),
            f"  {key}: {value}",
            1,
        )
    path = tmp_path / "matrix.yaml"
    path.write_text(text)
    return path


def g5(args: list[str], out: Path) -> tuple[int, dict[str, dict[str, Any]], dict[str, Any]]:
    rc = main(
        [
            "go-no-go",
            "--gate",
            "G5",
            "--prom-url",
            NOWHERE,
            "--at",
            "2026-11-27T18:00:00Z",
            "--out",
            str(out),
            *args,
        ]
    )
    verdicts = json.loads((out / "verdicts.json").read_text())
    gate = verdicts["gates"][0]
    # G5's k6 objectives; its reported-only journeys objective reads no k6 file (NO_DATA here)
    return rc, {o["name"]: o for o in gate["objectives"] if o["name"] != "synthetic_journeys"}, gate


def unpacked(tmp_path: Path, run: str, name: str) -> Path:
    target = tmp_path / run / name.removesuffix(".gz")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(gzip.decompress((FIXTURES / run / name).read_bytes()))
    return target


def test_green_run_passes_every_scenario(tmp_path: Path) -> None:
    rc, objs, gate = g5(
        [
            "--matrix",
            str(fast_matrix(tmp_path)),
            "--k6",
            str(FIXTURES / "green" / "points.json.gz"),
        ],
        tmp_path / "out",
    )
    assert rc == 0
    assert {n: o["status"] for n, o in objs.items()} == dict.fromkeys(objs, "PASS")
    assert objs["graphql_reads"]["observed"] < 350
    assert objs["graphql_reads"]["unit"] == "ms"
    assert gate["status"] == "PASS"


def test_mixed_run_two_windows_fail_one_window_is_tolerated(tmp_path: Path) -> None:
    summary = unpacked(tmp_path, "mixed", "handle-summary.json.gz")
    rc, objs, _ = g5(
        [
            "--matrix",
            str(fast_matrix(tmp_path)),
            "--k6",
            str(FIXTURES / "mixed" / "points.json.gz"),
            "--k6",
            str(summary),
        ],
        tmp_path / "out",
    )
    assert rc == 1
    status = {n: o["status"] for n, o in objs.items()}
    assert status == {
        "graphql_reads": "FAIL",
        "graphql_writes": "PASS",
        "neo4j_1hop": "PASS",
        "opa_decision": "FAIL",
        "error_rate_overall": "FAIL",
    }
    reads = " ".join(objs["graphql_reads"]["reasons"])
    assert "2 consecutive failing 2s windows" in reads
    assert "> 350 ms" in reads
    writes = objs["graphql_writes"]["reasons"][0]
    assert "1 isolated failing window(s) tolerated" in writes
    opa = " ".join(objs["opa_decision"]["reasons"])
    assert "whole-run error rate 0.357% > 0.1% (2 of 561 requests)" in opa
    assert not any("disagrees" in r for o in objs.values() for r in o["reasons"])
    assert (
        objs["graphql_reads"]["details"][
            "k6 threshold http_req_duration{scenario:graphql_reads}: p(95)<350"
        ]
        == "failed"
    )


def test_k6_disagreement_is_reported(tmp_path: Path) -> None:
    """With a looser igkit target k6's own p(95)<350 still fails: said beside the PASS."""
    matrix = fast_matrix(tmp_path)
    matrix.write_text(
        matrix.read_text().replace(
            "scenario: graphql_reads, p95: {value: 350", "scenario: graphql_reads, p95: {value: 600"
        )
    )
    summary = unpacked(tmp_path, "mixed", "summary-export.json.gz")
    _, objs, gate = g5(
        [
            "--matrix",
            str(matrix),
            "--k6",
            str(FIXTURES / "mixed" / "points.json.gz"),
            "--k6",
            str(summary),
        ],
        tmp_path / "out",
    )
    reads = objs["graphql_reads"]
    assert reads["status"] == "PASS"
    assert any("k6 disagrees" in w and "p(95)<350 failed" in w for w in reads["warnings"])
    assert any("k6 disagrees" in r for r in gate["reasons"])
    assert gate["status"] == "FAIL"  # opa still fails


def test_csv_gives_the_same_verdicts_as_ndjson(tmp_path: Path) -> None:
    matrix = str(fast_matrix(tmp_path))
    _, from_json, _ = g5(
        ["--matrix", matrix, "--k6", str(FIXTURES / "mixed" / "points.json.gz")], tmp_path / "a"
    )
    _, from_csv, _ = g5(
        ["--matrix", matrix, "--k6", str(FIXTURES / "mixed" / "points.csv.gz")], tmp_path / "b"
    )
    assert {n: o["status"] for n, o in from_csv.items()} == {
        n: o["status"] for n, o in from_json.items()
    }


def test_replay_reproduces_g5_without_the_k6_file(tmp_path: Path) -> None:
    matrix = str(fast_matrix(tmp_path))
    points = tmp_path / "points.json.gz"
    shutil.copy(FIXTURES / "mixed" / "points.json.gz", points)
    g5(["--matrix", matrix, "--k6", str(points)], tmp_path / "live")
    points.unlink()  # the window table in snapshots/ is the evidence, not the raw file
    rc = main(
        [
            "go-no-go",
            "--gate",
            "G5",
            "--matrix",
            matrix,
            "--replay",
            str(tmp_path / "live"),
            "--out",
            str(tmp_path / "again"),
        ]
    )
    assert rc == 1
    live = json.loads((tmp_path / "live" / "verdicts.json").read_text())
    again = json.loads((tmp_path / "again" / "verdicts.json").read_text())
    assert live["gates"] == again["gates"]
    snaps = list((tmp_path / "live" / "snapshots").glob("k6_windows-*.json"))
    assert len(snaps) == 1
    table = json.loads(snaps[0].read_text())
    assert table["file_sha256"]
    assert set(table["scenarios"]) == {
        "graphql_reads",
        "graphql_writes",
        "neo4j_1hop",
        "opa_decision",
    }


def test_replay_under_other_window_settings_is_error(tmp_path: Path) -> None:
    g5(
        [
            "--matrix",
            str(fast_matrix(tmp_path)),
            "--k6",
            str(FIXTURES / "green" / "points.json.gz"),
        ],
        tmp_path / "live",
    )
    other = fast_matrix(
        tmp_path / "m2" if (tmp_path / "m2").mkdir() is None else tmp_path, window="5s"
    )
    main(
        [
            "go-no-go",
            "--gate",
            "G5",
            "--matrix",
            str(other),
            "--replay",
            str(tmp_path / "live"),
            "--out",
            str(tmp_path / "again"),
        ]
    )
    gate = json.loads((tmp_path / "again" / "verdicts.json").read_text())["gates"][0]
    assert gate["status"] == "ERROR"
    assert "evaluate the k6 file again" in gate["reasons"][0]


def damaged(tmp_path: Path, kind: str) -> Path:
    text = gzip.decompress((FIXTURES / "green" / "points.json.gz").read_bytes())
    lines = text.splitlines(keepends=True)
    path = tmp_path / f"{kind}.json"
    if kind == "truncated":
        path.write_bytes(b"".join(lines[:-1]) + lines[-1][: len(lines[-1]) // 2])
    elif kind == "garbage":
        path.write_bytes(b"".join(lines[:500]) + b"{not json at all\n" + b"".join(lines[500:]))
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "not_k6":
        path.write_bytes(b'{"hello": "world"}\n{"hello": "again"}\n')
    elif kind == "cut_gzip":
        path = tmp_path / "cut.json.gz"
        data = (FIXTURES / "green" / "points.json.gz").read_bytes()
        path.write_bytes(data[: len(data) // 2])
    return path


@pytest.mark.parametrize(
    ("kind", "status", "needle"),
    [
        ("truncated", "NO_DATA", "truncated last line"),
        ("garbage", "NO_DATA", "line 501: malformed JSON"),
        ("cut_gzip", "NO_DATA", "gzip stream ends early"),
        ("empty", "ERROR", "empty file"),
        ("not_k6", "ERROR", "no k6 Metric or Point lines"),
    ],
)
def test_damaged_files_never_pass(kind: str, status: str, needle: str, tmp_path: Path) -> None:
    rc, objs, gate = g5(
        ["--matrix", str(fast_matrix(tmp_path)), "--k6", str(damaged(tmp_path, kind))],
        tmp_path / "out",
    )
    assert rc == 1
    assert gate["status"] == status
    assert all(o["status"] != "PASS" for o in objs.values())
    assert any(needle in r for o in objs.values() for r in o["reasons"]), gate["reasons"]


def test_absent_scenario_and_thin_windows_are_no_data(tmp_path: Path) -> None:
    matrix = fast_matrix(tmp_path, min_samples_per_window=1000)
    text = matrix.read_text().replace(
        "name: neo4j_1hop, scenario: neo4j_1hop", "name: neo4j_1hop, scenario: checkout"
    )
    matrix.write_text(text)
    _, objs, _ = g5(
        ["--matrix", str(matrix), "--k6", str(FIXTURES / "green" / "points.json.gz")],
        tmp_path / "out",
    )
    assert objs["neo4j_1hop"]["status"] == "NO_DATA"
    assert "scenario 'checkout' named in the matrix is absent" in objs["neo4j_1hop"]["reasons"][0]
    assert objs["graphql_reads"]["status"] == "NO_DATA"
    assert "fewer than 1000 samples" in objs["graphql_reads"]["reasons"][0]


def test_no_k6_file_is_no_data(tmp_path: Path) -> None:
    rc, objs, _ = g5([], tmp_path / "out")
    assert rc == 1
    assert {o["status"] for o in objs.values()} == {"NO_DATA"}


def test_k6_flag_without_g5_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(
        [
            "go-no-go",
            "--gate",
            "G1",
            "--prom-url",
            NOWHERE,
            "--k6",
            "x.json",
            "--out",
            str(tmp_path),
        ]
    )
    assert rc == 2
    err = capsys.readouterr().err
    assert "--k6: none of the selected gates (G1) has k6 objectives; add --gate G5" in err


def test_live_k6_runs_through_the_cli(k6_runs: dict[str, K6RunResult], tmp_path: Path) -> None:
    """The real k6 binary's fresh output, straight into the gate."""
    matrix = str(fast_matrix(tmp_path))
    green = k6_runs["green"]
    assert green.points_json is not None
    rc, objs, _ = g5(
        ["--matrix", matrix, "--k6", str(green.points_json), "--k6", str(green.handle_summary)],
        tmp_path / "g",
    )
    assert rc == 0, {n: o["reasons"] for n, o in objs.items()}
    mixed = k6_runs["mixed"]
    assert mixed.points_json is not None
    rc, objs, _ = g5(["--matrix", matrix, "--k6", str(mixed.points_json)], tmp_path / "m")
    assert rc == 1
    assert objs["graphql_reads"]["status"] == "FAIL"
    assert objs["opa_decision"]["status"] == "FAIL"
    assert objs["neo4j_1hop"]["status"] == "PASS"
