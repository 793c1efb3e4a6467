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


def _igkit_exceptions() -> dict[str, type[BaseException]]:
    """Every public exception class defined in an igkit module (all modules imported)."""
    import importlib
    import inspect
    import pkgutil

    import igkit

    found: dict[str, type[BaseException]] = {}
    for info in pkgutil.walk_packages(igkit.__path__, "igkit."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if (
                inspect.isclass(obj)
                and issubclass(obj, BaseException)
                and obj.__module__ == info.name
                and not name.startswith("_")
            ):
                found[name] = obj
    return found


def test_every_public_igkit_exception_is_in_the_tree() -> None:
    """One root: each public exception derives from IgkitError and is drawn in errors.py."""
    import igkit.errors
    from igkit.errors import IgkitError, ToolError

    found = _igkit_exceptions()
    assert {"ConfigError", "DocumentError", "OutputError", "K6InputError", "ResultError"} <= set(
        found
    )
    assert [n for n, cls in found.items() if not issubclass(cls, IgkitError)] == []
    tree = igkit.errors.__doc__ or ""
    assert [n for n in found if f" {n} " not in tree] == []
    tools = {n for n, cls in found.items() if issubclass(cls, ToolError)}
    assert {"ToolError", "OutputError", "ChromiumError"} <= tools
    assert not tools & {"ConfigError", "DocumentError", "K6InputError", "SnapshotError"}
    assert {cls.exit_code for n, cls in found.items() if n not in tools} == {2}
    assert {found[n].exit_code for n in tools} == {3}


@pytest.mark.parametrize(
    ("error", "code"),
    [
        ("igkit.atomic:OutputError", 3),
        ("igkit.report.pdf:ChromiumError", 3),
        ("igkit.errors:ConfigError", 2),
        ("igkit.strictdoc:DocumentError", 2),
        ("igkit.sources.k6.files:K6InputError", 2),
    ],
)
def test_main_maps_each_error_to_its_exit_code(
    error: str, code: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """main() prints one line and exits with the class's code: 2 input, 3 tool, never 1."""
    import errno
    import importlib

    import igkit.cli.matrix

    module, name = error.split(":")
    cls = getattr(importlib.import_module(module), name)
    if name == "OutputError":
        exc = cls(Path("/x/verdicts.json"), OSError(errno.ENOSPC, "No space left on device"))
    elif name == "K6InputError":
        exc = cls("not k6 output", path="/x/k6.json", line=3)
    else:
        exc = cls("broken")

    def boom(args: object) -> int:
        raise exc

    monkeypatch.setattr(igkit.cli.matrix, "run", boom)
    assert main(["matrix", "schema"]) == code
    err = capsys.readouterr().err
    assert err.startswith("igkit: error: ")
    assert err.count("\n") == 1


def test_unexpected_exception_is_exit_3_with_a_log(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import igkit.cli.matrix

    def boom(args: object) -> int:
        raise KeyError("surprise")

    monkeypatch.setattr(igkit.cli.matrix, "run", boom)
    assert main(["matrix", "schema"]) == 3
    err = capsys.readouterr().err
    assert err.startswith("igkit: internal error: KeyError: 'surprise' (traceback in ")
    log = Path(err.split("traceback in ")[1].rstrip(")\n"))
    assert "Traceback" in log.read_text()
    assert "surprise" in log.read_text()
    log.unlink()


def test_unknown_subcommand_reaching_run_is_a_config_error() -> None:
    """dispatch() names the known sub-commands instead of falling through to exit 1."""
    import argparse

    from igkit.cli import bundle
    from igkit.errors import ConfigError

    with pytest.raises(
        ConfigError, match=r"bundle: unknown bundle command 'sign' \(known: build, verify\)"
    ):
        bundle.run(argparse.Namespace(command="bundle", bundle_command="sign"))
