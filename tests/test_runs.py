"""Runs cannot mislead (issue #8, classes 8 and 9): PARTIAL scope, reused and shared --out,
replay input protection, CLI ranges, atomic writes, exit 3, ±Inf in JSON, XML 1.0 junit.

Most runs replay the snapshots shipped with igkit (offline, fast); each hostile case has its
positive control beside it."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import textwrap
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from igkit import atomic
from igkit.cli.main import main
from igkit.demo import demo_snapshot_dir
from igkit.report.junit import to_junit, xml_text
from igkit.rundir import LOCK, MARKER
from igkit.snapshots import Snapshot, canonical_json, read_snapshot
from igkit.verdicts import (
    GateVerdict,
    ObjectiveVerdict,
    RunVerdicts,
    Scope,
    Status,
    decide,
)

REPO = Path(__file__).resolve().parents[1]
DEMO = demo_snapshot_dir()


def replay(out: Path, *gates: str, extra: tuple[str, ...] = (), src: Path = DEMO) -> int:
    which = [a for g in gates for a in ("--gate", g)] or ["--validate-all"]
    return main(["go-no-go", *which, "--replay", str(src), "--out", str(out), *extra])


def verdicts(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / "verdicts.json").read_text())
    return data


def tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


# --- 1. partial runs -------------------------------------------------------------------------


def test_partial_run_is_partial_never_go(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert replay(tmp_path / "p", "G1") == 0
    v = verdicts(tmp_path / "p")
    assert v["decision"] == "PARTIAL"
    assert v["scope"] == {"gates": ["G1"], "complete": False}
    assert "PARTIAL RUN: only G1 evaluated" in capsys.readouterr().out
    suite = ET.fromstring((tmp_path / "p" / "junit.xml").read_bytes()).find("testsuite")
    assert suite is not None
    assert suite.get("name") == "igkit go-no-go: PARTIAL"
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["scope"] == "G1"
    assert props["scope_complete"] == "false"
    # positive control: every gate evaluated -> complete scope, GO/NO-GO, never PARTIAL
    rc = replay(tmp_path / "all")
    full = verdicts(tmp_path / "all")
    assert full["scope"]["complete"] is True
    assert full["scope"]["gates"] == [f"G{i}" for i in range(1, 9)]
    assert full["decision"] in ("GO", "NO-GO")
    assert rc == (0 if full["decision"] == "GO" else 1)


def test_partial_run_with_a_failing_gate_is_no_go_exit_1(tmp_path: Path) -> None:
    # replayed at another time, G1's snapshots do not match its requests: ERROR
    assert replay(tmp_path, "G1", extra=("--at", "2025-03-02T03:30:00Z")) == 1
    v = verdicts(tmp_path)
    assert v["decision"] == "NO-GO"
    assert v["scope"] == {"gates": ["G1"], "complete": False}


def _gate(gid: str, status: Status) -> GateVerdict:
    return GateVerdict(id=gid, name=gid, status=status, reasons=["r"], objectives=[])


def _run(statuses: list[Status], complete: bool, decision: str | None = None) -> RunVerdicts:
    gates = [_gate(f"G{i}", s) for i, s in enumerate(statuses, 1)]
    return RunVerdicts.model_validate(
        {
            "decision": decision or decide(gates, complete=complete),
            "scope": {"gates": [g.id for g in gates], "complete": complete},
            "evaluated_at": "2025-03-01T00:00:00Z",
            "matrix_sha256": "0" * 64,
            "matrix_source": "m",
            "igkit_version": "0",
            "source": "s",
            "gates": [g.model_dump() for g in gates],
        }
    )


@pytest.mark.property
@given(st.lists(st.sampled_from(list(Status)), max_size=8), st.booleans())
def test_go_only_for_a_complete_run_of_passing_gates(
    statuses: list[Status], complete: bool
) -> None:
    gates = [_gate(f"G{i}", s) for i, s in enumerate(statuses, 1)]
    decision = decide(gates, complete=complete)
    all_pass = bool(gates) and all(s is Status.PASS for s in statuses)
    assert (decision == "GO") == (complete and all_pass)
    assert (decision == "PARTIAL") == (not complete and all_pass)


def test_verdicts_json_claiming_go_for_a_partial_scope_is_rejected() -> None:
    with pytest.raises(ValueError, match="contradicts"):
        _run([Status.PASS], complete=False, decision="GO")
    assert _run([Status.PASS], complete=False).decision == "PARTIAL"  # positive control
    assert _run([Status.PASS], complete=True).decision == "GO"


# --- 2. reused --out -------------------------------------------------------------------------


def test_reused_out_removes_only_the_earlier_runs_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert replay(out, "G1") == 0
    marker = json.loads((out / MARKER).read_text())
    assert marker["schema"] == "igkit.run/v1"
    assert "verdicts.json" in marker["files"]
    assert "junit.xml" in marker["files"]
    assert any(f.startswith("snapshots/G1-") for f in marker["files"])
    (out / "notes.txt").write_text("mine")  # not igkit's: it must survive
    assert replay(out, "G2") == 0
    names = sorted(p.name for p in (out / "snapshots").iterdir())
    assert names
    assert not any(n.startswith("G1-") for n in names)
    assert any(n.startswith("G2-") for n in names)
    assert (out / "notes.txt").read_text() == "mine"
    assert [g["id"] for g in verdicts(out)["gates"]] == ["G2"]


def test_bundle_of_a_reused_out_holds_no_file_of_the_earlier_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert replay(out, "G1") == 0
    assert main(["bundle", "build", str(out)]) == 0
    assert any(p.name.startswith("G1-") for p in (out / "bundle" / "snapshots").iterdir())
    assert replay(out, "G2") == 0  # the earlier bundle was registered: it goes too
    assert not (out / "bundle").exists()
    assert main(["bundle", "build", str(out)]) == 0
    bundled = [p.name for p in (out / "bundle" / "snapshots").iterdir()]
    assert not any(n.startswith("G1-") for n in bundled)
    assert any(n.startswith("G2-") for n in bundled)
    capsys.readouterr()
    key = str(out / "bundle.demo-key.pub.pem")
    assert main(["bundle", "verify", str(out / "bundle"), "--key", key, "--replay"]) == 0
    shown = capsys.readouterr().out
    assert "note: PARTIAL RUN: only G2 evaluated" in shown
    assert shown.rstrip().endswith("(PARTIAL RUN: not a release GO)")
    manifest = json.loads((out / "bundle" / "manifest.json").read_text())
    assert manifest["scope"] == {"gates": ["G2"], "complete": False}


def test_non_empty_directory_that_is_no_igkit_run_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "home"
    out.mkdir()
    (out / "thesis.tex").write_text("years of work")
    assert replay(out, "G1") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "not an igkit run directory" in err
    assert sorted(p.name for p in out.iterdir() if p.name != LOCK) == ["thesis.tex"]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert replay(empty, "G1") == 0  # positive control: an empty directory is fine


def test_marker_cannot_make_a_run_delete_outside_out(tmp_path: Path) -> None:
    out = tmp_path / "out"
    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "data.txt").write_text("keep")
    out.mkdir()
    (out / "link").symlink_to(elsewhere)
    (out / "old.json").write_text("an earlier output")
    listed = ["../victim.txt", str(victim), "link/data.txt", "old.json"]
    (out / MARKER).write_text(json.dumps({"schema": "igkit.run/v1", "files": listed}))
    assert replay(out, "G1") == 0
    assert victim.read_text() == "keep"
    assert (elsewhere / "data.txt").read_text() == "keep"
    assert not (out / "old.json").exists()  # positive control: its own listed file went


# --- 3. concurrent runs ----------------------------------------------------------------------


def test_second_run_into_a_locked_out_exits_2_naming_the_pid(tmp_path: Path) -> None:
    out = tmp_path / "out"
    ready = tmp_path / "ready"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import sys, time
                from pathlib import Path
                from igkit.rundir import owned
                with owned(Path({str(out)!r}), fresh=True):
                    Path({str(ready)!r}).write_text("x")
                    sys.stdin.read()
                """
            ),
        ],
        stdin=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        deadline = time.monotonic() + 60
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ready.exists()
        cmd = [sys.executable, "-m", "igkit", "go-no-go", "--gate", "G1", "--no-notebooks"]
        cmd += ["--replay", str(DEMO), "--out", str(out)]
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        second = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
        assert second.returncode == 2, second.stderr
        assert f"in use by pid {holder.pid}" in second.stderr
        assert second.stderr.count("\n") == 1
        assert not (out / "verdicts.json").exists()
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=60)
    third = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert third.returncode == 0, third.stderr  # positive control: free again
    assert verdicts(out)["decision"] == "PARTIAL"


# --- 4. replay input protection --------------------------------------------------------------


@pytest.mark.parametrize("where", ["same", "inside", "holds"])
def test_out_overlapping_the_replay_input_is_refused(
    where: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    assert replay(run, "G1") == 0
    before = tree(run)
    src = run if where != "holds" else run / "snapshots"
    out = {"same": run, "inside": run / "again", "holds": run}[where]
    assert replay(out, "G1", src=src) == 2
    err = capsys.readouterr().err
    assert "overlaps the --replay input" in err
    assert err.count("\n") == 1
    assert tree(run) == before
    assert replay(tmp_path / "sibling", "G1", src=run) == 0  # positive control


# --- 5. out-of-range values ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--at", "1e20"),
        ("--at", "0001-01-01T00:00:00Z"),
        ("--at", "9999-12-31T23:59:59Z"),
        ("--at", "-5"),
        ("--at", "1e12"),
        ("--at", "nan"),
        ("--timeout", "nan"),
        ("--timeout", "inf"),
        ("--timeout", "-1"),
        ("--timeout", "0"),
        ("--timeout", "1e300"),
        ("--timeout", "soon"),
        ("--workers", "0"),
        ("--workers", "-3"),
        ("--workers", "100000"),
        ("--workers", "two"),
    ],
)
def test_out_of_range_values_exit_2_naming_the_flag(
    flag: str, value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert replay(tmp_path / "out", "G1", extra=(f"{flag}={value}",)) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"igkit: error: {flag}: ")
    assert err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_in_range_values_are_accepted(tmp_path: Path) -> None:
    extra = ("--at", "2025-03-01T03:30:00Z", "--timeout", "5", "--workers", "2")
    assert replay(tmp_path / "a", "G1", extra=extra) == 0
    assert replay(tmp_path / "b", "G1", extra=("--at", "1740799800")) == 0


# --- 6. atomic writes, exit 3 ----------------------------------------------------------------


def test_failed_rename_leaves_no_half_written_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = os.replace

    def replace(src: Any, dst: Any) -> None:
        if str(dst).endswith("junit.xml"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(src, dst)

    monkeypatch.setattr(atomic.os, "replace", replace)
    out = tmp_path / "out"
    assert replay(out, "G1") == 3
    err = capsys.readouterr().err
    assert err == f"igkit: error: could not write {out / 'junit.xml'}: No space left on device\n"
    assert not (out / "verdicts.json").exists()
    assert not (out / "junit.xml").exists()
    assert not [p for p in out.rglob("*") if "igkit-tmp" in p.name]
    monkeypatch.setattr(atomic.os, "replace", real)
    assert replay(out, "G1") == 0  # positive control: same directory, disk "freed"
    assert (out / "verdicts.json").exists()
    assert (out / "junit.xml").exists()


def test_failed_write_part_way_cleans_its_temporaries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    real = atomic._write_file

    def write(path: Path, data: bytes) -> None:
        calls.append(path)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(path, data)

    monkeypatch.setattr(atomic, "_write_file", write)
    files = {tmp_path / "a.json": b"{}", tmp_path / "b.xml": b"<a/>"}
    with pytest.raises(atomic.OutputError, match=r"could not write .*b\.xml: No space"):
        atomic.write_set(files)
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setattr(atomic, "_write_file", real)
    atomic.write_set(files)  # positive control
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "b.xml"]


@pytest.mark.property
@given(st.integers(min_value=0, max_value=5), st.sampled_from(["write", "replace"]))
def test_write_set_is_all_or_nothing(fail_at: int, stage: str) -> None:
    import tempfile

    calls = [0]
    real_write, real_replace = atomic._write_file, atomic.os.replace

    def maybe_fail() -> None:
        calls[0] += 1
        if calls[0] == fail_at + 1:
            raise OSError(errno.ENOSPC, "No space left on device")

    def write(path: Path, data: bytes) -> None:
        if stage == "write":
            maybe_fail()
        real_write(path, data)

    def replace(src: Any, dst: Any) -> None:
        if stage == "replace":
            maybe_fail()
        real_replace(src, dst)

    with tempfile.TemporaryDirectory() as tmp:
        files = {Path(tmp) / f"f{i}": f"{i}".encode() for i in range(3)}
        atomic._write_file, atomic.os.replace = write, replace  # type: ignore[assignment]
        try:
            atomic.write_set(files)
            failed = False
        except atomic.OutputError:
            failed = True
        finally:
            atomic._write_file, atomic.os.replace = real_write, real_replace  # type: ignore[assignment]
        present = sorted(p.name for p in Path(tmp).iterdir())
        assert present == ([] if failed else ["f0", "f1", "f2"])
        assert failed == (fail_at < 3)


def test_unwritable_out_is_exit_3_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A read-only file system, as the writer sees it (the tests may run as root, for whom
    chmod does not make a directory read-only)."""

    def refuse(path: Path, data: bytes) -> None:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(atomic, "_write_file", refuse)
    assert replay(tmp_path / "out", "G1") == 3
    err = capsys.readouterr().err
    assert err.startswith("igkit: error: could not write ")
    assert err.count("\n") == 1
    assert "Read-only file system" in err
    assert "Traceback" not in err


def test_out_that_cannot_be_created_is_exit_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert replay(blocker / "out", "G1") == 3
    err = capsys.readouterr().err
    assert err == f"igkit: error: could not write {blocker / 'out'}: Not a directory\n"
    assert replay(tmp_path / "out", "G1") == 0  # positive control


def test_unexpected_exception_is_exit_3_with_a_logged_redacted_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    canary = "canary-7f3a9e1c-secret"
    monkeypatch.setenv("IGKIT_PROM_TOKEN", canary)

    def boom(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError(f"kaboom {canary}")

    monkeypatch.setattr("igkit.run.evaluate", boom)
    assert replay(tmp_path / "out", "G1") == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert canary not in err
    assert err.startswith("igkit: internal error: RuntimeError: kaboom [REDACTED] (traceback in ")
    log = Path(err.rsplit("traceback in ", 1)[1].rstrip(")\n"))
    text = log.read_text()
    assert "Traceback" in text
    assert "boom" in text
    assert canary not in text
    log.unlink()


@pytest.mark.parametrize("value", ["abc", "abcd-long-enough"])
def test_too_short_secret_is_refused_at_start(
    value: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("IGKIT_PROM_PASSWORD", value)
    rc = replay(tmp_path / "out", "G1")
    if len(value) < 4:
        assert rc == 2
        assert capsys.readouterr().err.startswith("igkit: error: IGKIT_PROM_PASSWORD: shorter")
        assert not (tmp_path / "out").exists()
    else:
        assert rc == 0  # positive control


# --- 8. ±Inf / NaN in JSON -------------------------------------------------------------------


def test_non_finite_floats_are_documented_strings_and_read_back() -> None:
    obj = ObjectiveVerdict(
        name="p95",
        status=Status.FAIL,
        observed=float("inf"),
        threshold=1.0,
        reasons=["x"],
        details={"low": float("-inf"), "odd": float("nan"), "fine": 2.5, "text": "PASS"},
    )
    data = json.loads(obj.model_dump_json())
    assert data["observed"] == "+Inf"
    assert data["details"]["low"] == "-Inf"
    assert data["details"]["odd"] == "NaN"
    assert data["details"]["fine"] == 2.5
    again = ObjectiveVerdict.model_validate_json(obj.model_dump_json())
    assert again.observed == float("inf")
    assert json.loads(again.model_dump_json()) == data
    assert json.loads(atomic.json_bytes({"v": float("inf")})) == {"v": "+Inf"}


def _inf_replay_input(tmp_path: Path) -> Path:
    """The shipped sample with G1's query latency at +Inf throughout, re-sealed and indexed."""
    src = tmp_path / "inf"
    src.mkdir()
    index = json.loads((DEMO / "index.json").read_text())
    for ref in index["snapshots"]:
        data = (DEMO / ref["file"]).read_bytes()
        if ref["label"] == "G1-graphql_query_p95":
            snap = read_snapshot(DEMO / ref["file"])
            assert isinstance(snap, Snapshot)
            content = snap.content()
            for series in content["result"]:
                series["values"] = [[t, "+Inf"] for t, _ in series["values"]]
            snap = Snapshot.model_validate(content).sealed()
            data = canonical_json(snap.model_dump(mode="json", by_alias=True)) + b"\n"
            ref["sha256"] = snap.sha256
        (src / ref["file"]).write_bytes(data)
    (src / "index.json").write_text(json.dumps(index, indent=2, sort_keys=True) + "\n")
    return src


def test_infinite_observation_fails_bundles_and_replays(tmp_path: Path) -> None:
    src = _inf_replay_input(tmp_path)
    out = tmp_path / "out"
    assert replay(out, "G1", src=src) == 1
    g1 = verdicts(out)["gates"][0]
    p95 = next(o for o in g1["objectives"] if o["name"] == "graphql_query_p95")
    assert p95["status"] == "FAIL"
    assert p95["observed"] == "+Inf"
    assert "Infinity" not in (out / "verdicts.json").read_text()
    assert main(["bundle", "build", str(out)]) == 0
    key = str(out / "bundle.demo-key.pub.pem")
    assert main(["bundle", "verify", str(out / "bundle"), "--key", key, "--replay"]) == 0
    # positive control: the untouched sample passes G1
    assert replay(tmp_path / "ok", "G1") == 0


# --- 9. junit.xml is XML 1.0 -----------------------------------------------------------------

HOSTILE = "a\x00b\x1b[31mc\x7f\ud800d\ufffe\uffff\x08e"


def test_junit_is_valid_xml_whatever_the_text() -> None:
    gate = GateVerdict(
        id="G1",
        name=f"name {HOSTILE}",
        status=Status.ERROR,
        reasons=[HOSTILE],
        objectives=[
            ObjectiveVerdict(name=f"o{HOSTILE}", status=Status.ERROR, reasons=[HOSTILE]),
            ObjectiveVerdict(name="plain", status=Status.FAIL, reasons=["p95 <= 350 ms & more"]),
        ],
    )
    run = RunVerdicts(
        decision="NO-GO",
        scope=Scope(gates=["G1"], complete=False),
        evaluated_at="2025-03-01T00:00:00Z",  # type: ignore[arg-type]
        matrix_sha256="0" * 64,
        matrix_source="m",
        igkit_version="0",
        source=f"stub {HOSTILE}",
        gates=[gate],
    )
    root = ET.fromstring(to_junit(run))
    error = root.find(".//testcase/error")
    assert error is not None
    assert error.text is not None
    assert error.text == "a\\u0000b\\u001b[31mc\x7f\\ud800d\\ufffe\\uffff\\u0008e"
    failure = root.find(".//testcase[@name='plain']/failure")
    assert failure is not None
    assert failure.get("message") == "p95 <= 350 ms & more"


@pytest.mark.property
@given(st.text())
def test_xml_text_always_parses(text: str) -> None:
    element = ET.Element("t", value=xml_text(text))
    element.text = xml_text(text)
    body = ET.tostring(element, encoding="utf-8")
    parsed = ET.fromstring(body)
    assert parsed.get("value") is not None


# --- the library entry point: igkit.run_gates ---------------------------------------------


def test_run_gates_replays_the_demo_to_go_without_the_cli(tmp_path: Path) -> None:
    import igkit
    from igkit.demo import demo_trust_dir

    request = igkit.RunRequest(out=tmp_path / "r", snapshot_dir=DEMO, trust_dir=demo_trust_dir())
    run = igkit.run_gates(request)
    assert run.decision == "GO"
    assert run.select is None
    assert run.window is None
    written = verdicts(tmp_path / "r")
    assert written["decision"] == "GO"
    assert "select" not in written
    assert "window" not in written
    assert (tmp_path / "r" / "junit.xml").is_file()
    assert (tmp_path / "r" / "snapshots" / "index.json").is_file()


def test_run_gates_refuses_what_it_cannot_run(tmp_path: Path) -> None:
    from pydantic import ValidationError

    from igkit.errors import ConfigError
    from igkit.run import RunRequest, run_gates

    with pytest.raises(ConfigError, match="--prom-url"):
        run_gates(RunRequest(out=tmp_path / "a"))  # neither live nor replay
    with pytest.raises(ConfigError, match=r"unknown gate 'G99' \(matrix has G1, G2"):
        run_gates(RunRequest(out=tmp_path / "b", snapshot_dir=DEMO, gates=["G99"]))
    with pytest.raises(ConfigError, match="drop --prom-url"):
        run_gates(RunRequest(out=tmp_path / "c", snapshot_dir=DEMO, prom_url="http://x"))
    with pytest.raises(ValidationError):
        RunRequest(out=tmp_path, tennant="acme")  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        RunRequest(out=tmp_path, timeout=float("nan"))
    assert not (tmp_path / "a").exists()
    assert not (tmp_path / "b").exists()
    # positive control: a selection of the matrix's gates (any case) runs
    run = run_gates(RunRequest(out=tmp_path / "d", snapshot_dir=DEMO, gates=["g1,G2"]))
    assert run.scope.gates == ["G1", "G2"]
    assert run.decision == "PARTIAL"


def test_replay_with_a_different_override_than_recorded_is_refused(tmp_path: Path) -> None:
    from datetime import timedelta

    from igkit.errors import ConfigError
    from igkit.run import RunRequest, run_gates

    with pytest.raises(
        ConfigError, match=r"--select: the replayed run was planned with --select none"
    ):
        run_gates(RunRequest(out=tmp_path / "s", snapshot_dir=DEMO, select='tenant="acme"'))
    with pytest.raises(ConfigError, match="--window"):
        run_gates(RunRequest(out=tmp_path / "w", snapshot_dir=DEMO, window=timedelta(minutes=5)))
    assert replay(tmp_path / "cli", extra=("--select", 'tenant="acme"')) == 2
    assert replay(tmp_path / "bad", extra=("--select", "tenant=")) == 2  # not a matcher
    assert replay(tmp_path / "ok", "G1") == 0  # positive control: no override, recorded none
