"""``igkit journeys run`` end to end: the real k6 binary runs the shipped script against h1's
loopback service (real HTTP, real login), each case in its own process, five at once."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from igkit.journeys.replay import replay_journeys
from igkit.spec.loader import load_matrix
from tests.journeys.support import (
    PASSWORD,
    THRESHOLD_MS,
    CliRun,
    closed_port_url,
    journeys_matrix,
    loopback_service,
    run_cli,
)

SLOW_MS = THRESHOLD_MS + 600  # every GraphQL request: over the threshold, never the login

pytestmark = pytest.mark.slow  # real k6 runs against a live service: make test-slow (CI runs it)


def _case(
    root: Path, matrix: Path, name: str, *, faults: dict[str, float] | None = None, **kw: str
) -> CliRun:
    password = kw.pop("service_password", PASSWORD)
    with loopback_service(root / name / "service", password=password, faults=faults) as url:
        return run_cli(url, root / name / "out", matrix, **kw)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, CliRun]:
    root = tmp_path_factory.mktemp("journeys")
    matrix = journeys_matrix(root / "matrix.json")
    cases: dict[str, Callable[[], CliRun]] = {
        "healthy": lambda: _case(root, matrix, "healthy"),
        "errors": lambda: _case(root, matrix, "errors", faults={"error_rate": 0.3}),
        "slow": lambda: _case(
            root, matrix, "slow", faults={"extra_latency_ms": SLOW_MS}, duration="1s", vus="1"
        ),
        "wrong_password": lambda: _case(
            root, matrix, "wrong_password", service_password="another-password-1"
        ),
        "no_server": lambda: run_cli(
            closed_port_url(), root / "no_server" / "out", matrix, duration="1s", vus="1"
        ),
    }
    with ThreadPoolExecutor(max_workers=len(cases)) as pool:
        futures = {name: pool.submit(fn) for name, fn in cases.items()}
        return {name: f.result() for name, f in futures.items()}


def test_healthy_service_passes_every_step(runs: dict[str, CliRun]) -> None:
    run = runs["healthy"]
    assert run.rc == 0, run.stderr
    assert run.stdout.startswith("journeys JRN/synthetic_journeys PASS")
    steps = run.steps()
    assert list(steps) == ["login", "query", "write", "traverse"]
    for step in steps.values():
        assert step["status"] == "PASS"
        assert step["requests"] >= 1
        assert step["checks_failed"] == 0
        assert step["checks_passed"] == 2 * step["requests"]  # status and JSON shape
        assert 0 < step["p95_ms"] <= THRESHOLD_MS
    for name in ("journeys.json", "snapshots/journeys.json", "k6/summary.json"):
        assert (run.out / name).is_file()
    assert (run.out / "k6/points.json.gz").stat().st_size > 0


def test_a_recorded_run_replays_to_the_same_verdict(runs: dict[str, CliRun]) -> None:
    """Positive control for the tamper tests in test_judge.py: an untouched run replays."""
    for name in ("healthy", "errors", "no_server"):
        run = runs[name]
        matrix = load_matrix(run.out.parent.parent / "matrix.json")
        assert replay_journeys(run.out, matrix).status.value == run.result()["status"]


def test_errors_fail_naming_the_step_and_its_failed_checks(runs: dict[str, CliRun]) -> None:
    run = runs["errors"]
    assert run.rc == 1
    result = run.result()
    assert result["status"] == "FAIL"
    steps = run.steps()
    assert steps["login"]["status"] == "PASS"  # the login is never faulted: the control
    failing = [n for n in ("query", "write", "traverse") if steps[n]["status"] == "FAIL"]
    assert failing, steps
    for name in failing:
        reason = " ".join(steps[name]["reasons"])
        assert f"step {name}: " in reason
        assert "checks failed" in reason
        assert f"'{name}: status 200' failed" in reason
    assert any("checks failed" in r for r in result["verdict"]["reasons"])


def test_latency_over_the_threshold_fails_naming_the_p95(runs: dict[str, CliRun]) -> None:
    run = runs["slow"]
    assert run.rc == 1
    steps = run.steps()
    assert steps["login"]["status"] == "PASS"
    for name in ("query", "write", "traverse"):
        step = steps[name]
        assert step["status"] == "FAIL"
        assert step["checks_failed"] == 0  # slow, not broken: only the p95 fails it
        assert step["p95_ms"] > SLOW_MS
        assert any(f"step {name}: p95 " in r and "> 1,500 ms" in r for r in step["reasons"])


def test_a_wrong_password_fails_the_login_checks(runs: dict[str, CliRun]) -> None:
    run = runs["wrong_password"]
    assert run.rc == 1
    steps = run.steps()
    login = " ".join(steps["login"]["reasons"])
    assert steps["login"]["status"] == "FAIL"
    assert "'login: status 200' failed" in login
    assert "'login: JSON shape' failed" in login
    # no token: every later step is refused by the service and fails too
    assert {steps[n]["status"] for n in ("query", "write", "traverse")} == {"FAIL"}


def test_no_server_is_never_a_pass(runs: dict[str, CliRun]) -> None:
    run = runs["no_server"]
    assert run.rc == 1
    assert run.result()["status"] in ("FAIL", "ERROR")
    assert "'login: status 200' failed" in " ".join(run.steps()["login"]["reasons"])


def _holding(root: Path, secret: bytes) -> list[str]:
    """Every file under ``root`` whose bytes (gzip members decompressed) hold ``secret``."""
    found = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        if secret in data:
            found.append(str(path))
    return found


def test_the_password_is_in_no_output(runs: dict[str, CliRun], tmp_path: Path) -> None:
    # positive control of the search itself: a planted copy, plain and gzip, is found
    (tmp_path / "plain.txt").write_text(f"x{PASSWORD}x")
    (tmp_path / "points.json.gz").write_bytes(gzip.compress(PASSWORD.encode()))
    assert len(_holding(tmp_path, PASSWORD.encode())) == 2
    # the healthy run logged in with it (every login check passed), yet no file holds it
    assert runs["healthy"].steps()["login"]["checks_failed"] == 0
    for name, run in runs.items():
        assert _holding(run.out, PASSWORD.encode()) == [], name
        assert PASSWORD not in run.stdout + run.stderr, name


def _copy(run: CliRun, dest: Path) -> Path:
    import shutil

    shutil.copytree(run.out, dest)
    return dest


TAMPER = {
    "summary byte": ("k6/summary.json", lambda b: b.replace(b'"passes":', b'"passes": ', 1)),
    "snapshot figure": (
        "snapshots/journeys.json",
        lambda b: b.replace(b'"p95_ms":', b'"p95_ms":1', 1),
    ),
    "recorded status": ("journeys.json", lambda b: b.replace(b'"PASS"', b'"FAIL"', 1)),
}


@pytest.mark.parametrize("case", list(TAMPER))
def test_replay_refuses_a_tampered_run(runs: dict[str, CliRun], tmp_path: Path, case: str) -> None:
    from igkit.errors import SnapshotError

    run = runs["healthy"]
    matrix = load_matrix(run.out.parent.parent / "matrix.json")
    intact = _copy(run, tmp_path / "intact")
    assert replay_journeys(intact, matrix).status.value == "PASS"  # the positive control
    name, change = TAMPER[case]
    copy = _copy(run, tmp_path / "tampered")
    target = copy / name
    before = target.read_bytes()
    target.write_bytes(change(before))
    assert target.read_bytes() != before
    with pytest.raises(SnapshotError):
        replay_journeys(copy, matrix)


def test_replay_refuses_a_resealed_snapshot_whose_summary_differs(
    runs: dict[str, CliRun], tmp_path: Path
) -> None:
    """A forger who re-seals the snapshot still cannot change the figures: the kept summary is
    re-read and must give the same ones."""
    from igkit.errors import SnapshotError
    from igkit.journeys.replay import load_snapshot
    from igkit.journeys.run import seal

    run = runs["healthy"]
    matrix = load_matrix(run.out.parent.parent / "matrix.json")
    copy = _copy(run, tmp_path / "forged")
    snap = load_snapshot(copy)
    faster = [s.model_copy(update={"p95_ms": 1.0}) for s in snap.steps]
    forged = seal(snap.model_copy(update={"steps": faster}))
    (copy / "snapshots/journeys.json").write_bytes(forged.canonical())
    with pytest.raises(SnapshotError, match="another snapshot"):
        replay_journeys(copy, matrix)
    result = copy / "journeys.json"  # and pointed journeys.json at the forgery
    result.write_text(result.read_text().replace(snap.sha256, forged.sha256))
    with pytest.raises(SnapshotError, match="figures differ from the sealed snapshot"):
        replay_journeys(copy, matrix)


def test_run_journeys_from_python_writes_the_verdict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The conductor's entry point: the path of journeys.json, whose verdict replays."""
    from datetime import timedelta

    from igkit.journeys.replay import load_result
    from igkit.journeys.run import run_journeys

    monkeypatch.setenv("IGKIT_JOURNEY_PASSWORD", PASSWORD)
    matrix = load_matrix(journeys_matrix(tmp_path / "matrix.json"))
    with loopback_service(tmp_path / "service") as url:
        path = run_journeys(url, 1, timedelta(seconds=1), tmp_path / "out", matrix)
    assert path == tmp_path / "out" / "journeys.json"
    result = load_result(tmp_path / "out")
    assert result.status.value == "PASS", result.verdict.reasons
    assert replay_journeys(tmp_path / "out", matrix) == result


def _processes_under(root: Path) -> list[int]:
    """Pids whose working directory lies under ``root`` (k6 runs in igkit's temporary dir)."""
    import os

    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if cwd.startswith(str(root)):
            found.append(int(entry.name))
    return found


def test_an_interrupted_run_stops_k6_and_exits_130(tmp_path: Path) -> None:
    """SIGINT (the conductor's or a person's): k6 must not outlive igkit, nothing is judged."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from tests.journeys.support import ROOT

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    matrix = journeys_matrix(tmp_path / "matrix.json")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(scratch)}
    env["IGKIT_JOURNEY_PASSWORD"] = PASSWORD
    with loopback_service(tmp_path / "service") as url:
        cmd = [sys.executable, "-m", "igkit", "journeys", "run", "--base-url", url]
        cmd += ["--duration", "60s", "--matrix", str(matrix), "--out", str(tmp_path / "out")]
        proc = subprocess.Popen(
            cmd,
            env=env,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
            # a pytest-xdist worker ignores SIGINT and a child inherits that (Python then
            # installs no KeyboardInterrupt handler): give igkit the default a terminal gives
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        try:
            deadline = time.monotonic() + 60
            while not _processes_under(scratch):  # k6 started
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                assert time.monotonic() < deadline
                time.sleep(0.1)
            time.sleep(1)
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=60)
        finally:  # a failure here must not leave igkit or k6 running into the next test
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.communicate()
    assert proc.returncode == 130, err
    assert "interrupted" in err
    assert _processes_under(scratch) == []
    assert not (tmp_path / "out" / "journeys.json").exists()
