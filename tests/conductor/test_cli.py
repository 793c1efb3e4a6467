"""``igkit cutover rollback`` and the usage errors of ``igkit cutover execute`` through the
real command line (exit codes, one line on stderr)."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import pytest

from igkit.cli.main import main
from igkit.conductor.timeline import read_timeline
from tests.conductor.conftest import SCRIPT


def rollback_cmd(state: Path) -> str:
    return shlex.join([sys.executable, str(SCRIPT), str(state), "rollback"])


def test_rollback_without_confirm_runs_nothing_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "weight"
    args = ["cutover", "rollback", "--to", "last-stable", "--rollback", rollback_cmd(state)]
    assert main([*args, "--out", str(tmp_path / "D")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "--confirm" in err[0]
    assert not state.exists()
    assert not (tmp_path / "D").exists()
    # positive control: with --confirm it runs at once and records it
    assert main([*args, "--confirm", "--out", str(tmp_path / "D")]) == 0
    assert state.read_text() == "0"
    entries = read_timeline(tmp_path / "D" / "timeline.jsonl")
    assert [e.kind for e in entries] == ["start", "actuator", "rollback", "status", "end"]
    assert entries[-1].outcome == "ROLLED_BACK"


def test_rollback_to_anything_but_last_stable_is_a_usage_error(tmp_path: Path) -> None:
    args = ["cutover", "rollback", "--to", "v1.2.3", "--confirm", "--rollback", "true"]
    with pytest.raises(SystemExit) as caught:
        main(args)
    assert caught.value.code == 2


def test_rollback_appends_to_the_cutover_timeline(tmp_path: Path) -> None:
    from igkit.conductor.clock import Stop
    from igkit.cutover.models import Action
    from tests.conductor.conftest import T0, FakeClock, Rig, World

    stop = Stop()
    rig = Rig(World(tmp_path), FakeClock(T0, stop), stop, tmp_path / "D")
    assert rig.run(rig.options(auto_rollback=False), rig.parts({25: [Action.ROLLBACK]})) == 1
    assert rig.world.weight == "25"
    before = rig.timeline
    args = ["cutover", "rollback", "--to", "last-stable", "--confirm"]
    assert main([*args, "--rollback", rollback_cmd(rig.world.state), "--out", str(rig.out)]) == 0
    assert rig.world.weight == "0"
    after = rig.timeline
    assert after[: len(before)] == before
    new = after[len(before) :]
    assert [e.kind for e in new] == ["actuator", "rollback", "status", "end"]
    assert {e.stage for e in new} == {25}
    assert new[0].log == f"actuators/{new[0].seq:04d}-rollback.log"


def test_a_failing_rollback_verb_exits_1_loudly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["cutover", "rollback", "--to", "last-stable", "--confirm", "--rollback", "false"]
    assert main([*args, "--out", str(tmp_path / "D")]) == 1
    assert "ROLLBACK FAILED" in capsys.readouterr().err
    entries = read_timeline(tmp_path / "D" / "timeline.jsonl")
    assert [e.exit_code for e in entries if e.kind == "actuator"] == [1, 1]
    assert entries[-1].outcome == "ROLLBACK_FAILED"


@pytest.mark.parametrize(
    ("extra", "flag"),
    [
        (["--stages", "5,30,100"], "--stages"),
        (["--stages", "5,x"], "--stages"),
        (["--set-weight", "set 25"], "--set-weight"),
        (["--max-hold", "5m"], "--max-hold"),
        (["--hold", "ten minutes"], "--hold"),
        (["--prom-url", "http://user:pw@prom:9090"], "--prom-url"),
    ],
)
def test_execute_usage_errors_exit_2_before_any_actuator(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], flag: str
) -> None:
    state = tmp_path / "weight"
    set_weight = shlex.join([sys.executable, str(SCRIPT), str(state), "set"]) + " {weight}"
    args = ["cutover", "execute", "--stages", "5,25,50,100", "--hold", "10m", "--auto-rollback"]
    args += ["--set-weight", set_weight, "--rollback", rollback_cmd(state)]
    args += ["--prom-url", "http://127.0.0.1:9", "--out", str(tmp_path / "D")]
    assert main([*args, *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert flag in err[0]
    assert "pw" not in err[0]
    assert not state.exists()
    assert not (tmp_path / "D" / "run.json").exists()


def test_execute_refuses_when_the_preflight_is_not_go(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The real preflight (go-no-go --validate-all of the shipped matrix) against a server that
    does not answer: every gate is ERROR or NO_DATA, so the cutover never starts."""
    state = tmp_path / "weight"
    set_weight = shlex.join([sys.executable, str(SCRIPT), str(state), "set"]) + " {weight}"
    args = ["cutover", "execute", "--auto-rollback", "--set-weight", set_weight]
    args += ["--rollback", rollback_cmd(state), "--timeout", "2"]
    args += ["--prom-url", "http://127.0.0.1:9", "--out", str(tmp_path / "D")]
    assert main(args) == 1
    out = capsys.readouterr().out
    assert "preflight (go-no-go --validate-all): NO-GO" in out
    assert not state.exists()
    entries = read_timeline(tmp_path / "D" / "timeline.jsonl")
    assert [e.kind for e in entries] == ["start", "preflight", "end"]
    assert entries[-1].outcome == "REFUSED"
    verdicts = json.loads((tmp_path / "D" / "preflight" / "verdicts.json").read_text())
    assert verdicts["decision"] == "NO-GO"
    assert verdicts["scope"]["complete"] is True


def test_a_rollback_is_never_blocked_by_a_conductor_holding_the_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Another process holds D's run lock (a running conductor): the actuator still runs at
    once and the event is recorded beside D, with the holder's pid in a warning."""
    import subprocess
    import time

    from igkit.conductor.clock import Stop
    from tests.conductor.conftest import T0, FakeClock, Rig, World

    stop = Stop()
    stop.set("SIGINT")
    rig = Rig(World(tmp_path), FakeClock(T0, stop), stop, tmp_path / "D")
    assert rig.run() == 130  # a recorded cutover in D
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDWR); "
            "fcntl.flock(fd, fcntl.LOCK_EX); os.pwrite(fd, b'4242\\n', 0); print('locked', "
            "flush=True); time.sleep(60)",
            str(rig.out / ".igkit-run.lock"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        args = ["cutover", "rollback", "--to", "last-stable", "--confirm"]
        started = time.monotonic()
        code = main([*args, "--rollback", rollback_cmd(rig.world.state), "--out", str(rig.out)])
        assert time.monotonic() - started < 30
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    assert code == 0
    assert rig.world.weight == "0"
    err = capsys.readouterr().err
    assert "held by a running igkit (pid 4242)" in err
    beside = [p for p in tmp_path.iterdir() if p.name.startswith("D-rollback-")]
    assert len(beside) == 1
    entries = read_timeline(beside[0] / "timeline.jsonl")
    assert [e.kind for e in entries] == ["start", "actuator", "rollback", "status", "end"]
    assert rig.timeline[-1].outcome == "INTERRUPTED"  # D itself untouched
