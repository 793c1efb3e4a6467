"""Bad input at the command line: exit 2, one line naming the flag/file, nothing lost."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from igkit.cli.main import main

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (
            ["go-no-go", "--gate", "G9", "--replay", "{demo}"],
            "--gate: unknown gate 'G9' (matrix has G1, G2",
        ),
        (
            ["go-no-go", "--gate", "G1", "--at", "yesterday", "--replay", "{demo}"],
            "--at: invalid time 'yesterday'",
        ),
        (
            [
                "go-no-go",
                "--gate",
                "G1",
                "--at",
                "2025-03-01T00:00:00",
                "--prom-url",
                "http://127.0.0.1:9",
            ],
            "no UTC offset",
        ),
        (["go-no-go", "--gate", "G1"], "--prom-url: give --prom-url URL"),
        (
            ["go-no-go", "--gate", "G1", "--replay", "/nonexistent/run"],
            "/nonexistent/run: replay directory does not exist",
        ),
        (
            ["go-no-go", "--gate", "G1", "--replay", "{demo}", "--prom-url", "http://x"],
            "drop --prom-url",
        ),
        (["go-no-go", "--gate", "G1", "--prom-url", "ftp://host"], "is not an http(s) URL"),
        (
            ["go-no-go", "--gate", "G1", "--prom-url", "http://127.0.0.1:9", "--timeout", "0"],
            "--timeout: must be a positive",
        ),
        (
            ["go-no-go", "--gate", "G1", "--matrix", "/nonexistent.yaml", "--replay", "{demo}"],
            "/nonexistent.yaml: matrix file not found",
        ),
        (["matrix", "validate", "--matrix", "/nonexistent.yaml"], "matrix file not found"),
    ],
)
def test_usage_errors_exit_2_with_one_line(
    args: list[str], needle: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from igkit.demo import demo_snapshot_dir

    argv = [a.replace("{demo}", str(demo_snapshot_dir())) for a in args]
    if argv[0] == "go-no-go":
        argv += ["--out", str(tmp_path / "out")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert needle in err
    assert err.count("\n") == 1
    assert err.startswith("igkit: error: ")


@pytest.mark.parametrize(
    "args",
    [
        ["go-no-go", "--out", "x"],  # neither --validate-all nor --gate
        ["go-no-go", "--validate-all", "--gate", "G1", "--out", "x"],
        ["go-no-go", "--validate-all"],  # --out missing
        ["frobnicate"],
        ["go-no-go", "--validate-all", "--out", "x", "--bogus"],
    ],
)
def test_argparse_errors_are_one_line_exit_2(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(args)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "error:" in err


def test_config_error_loses_nothing_already_written(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "verdicts.json").write_text("previous run")
    bad = tmp_path / "bad.yaml"
    bad.write_text("gates:\n  - id: G1\n    name: x\n    colour: red\n")
    assert (
        main(
            [
                "go-no-go",
                "--validate-all",
                "--matrix",
                str(bad),
                "--prom-url",
                "http://127.0.0.1:9",
                "--out",
                str(out),
            ]
        )
        == 2
    )
    assert (out / "verdicts.json").read_text() == "previous run"
    assert sorted(p.name for p in out.iterdir()) == ["verdicts.json"]


def test_out_that_is_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from igkit.demo import demo_snapshot_dir

    target = tmp_path / "file"
    target.write_text("keep me")
    assert (
        main(
            ["go-no-go", "--gate", "G1", "--replay", str(demo_snapshot_dir()), "--out", str(target)]
        )
        == 2
    )
    assert "is not a directory" in capsys.readouterr().err
    assert target.read_text() == "keep me"


def test_bad_matrix_from_the_shell_has_no_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "gates:\n  - id: G1\n    name: x\n    objectives:\n      - name: p\n        query: up\n        comparison: '<='\n        threshold: {value: 1}\n        rule: {kind: all_steps, window: 1h}\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "igkit", "matrix", "validate", "--matrix", str(bad)],
        capture_output=True,
        text=True,
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert proc.returncode == 2
    assert (
        proc.stderr
        == f"igkit: error: {bad}: gates[0](G1).objectives[0](p).threshold.unit: required field is missing\n"
    )


def test_matrix_schema_show_validate(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    import yaml

    assert main(["matrix", "schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["title"] == "Matrix"
    assert main(["matrix", "show"]) == 0
    shown = yaml.safe_load(capsys.readouterr().out)
    g1 = shown["gates"][0]["objectives"][0]
    assert g1["resolved"]["promql"].startswith(
        "histogram_quantile(0.95, sum by (le, tenant)(rate(graphql_latency_bucket"
    )
    assert g1["resolved"]["step"] == "15s"
    assert main(["matrix", "validate"]) == 0
    assert "valid (8 gates" in capsys.readouterr().out
