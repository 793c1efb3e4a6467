"""``igkit cutover execute`` as a real process with the real clock and a real SIGINT: a matrix
whose only gate is G8's comms templates (so the real preflight is GO without Prometheus),
the canary judged against a Prometheus that does not answer (HOLD), interrupted mid-hold."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from importlib import resources
from pathlib import Path

import yaml

from igkit.conductor.timeline import read_timeline
from tests.conductor.conftest import SCRIPT

ROOT = Path(__file__).resolve().parents[2]


def comms_matrix(tmp: Path) -> tuple[Path, Path]:
    """The shipped matrix cut to G8's comms objective; evidence holding the templates."""
    doc = yaml.safe_load(resources.files("igkit.spec").joinpath("default.yaml").read_text())
    g8 = next(g for g in doc["gates"] if g["id"] == "G8")
    g8["objectives"] = [o for o in g8["objectives"] if o["type"] == "comms"]
    doc["gates"] = [g8]
    doc["triggers"] = []
    doc["cutover"] = {**doc["cutover"], "canary_gate": "G8", "hold": "10s"}
    doc["cutover"]["postdeploy"] = {**doc["cutover"]["postdeploy"], "gates": ["G8"]}
    doc["cutover"]["postdeploy"].pop("triggers")  # it arms none: the matrix has no trigger
    matrix = tmp / "matrix.yaml"
    matrix.write_text(yaml.safe_dump(doc, sort_keys=False))
    evidence = tmp / "evidence"
    for role, rel in g8["objectives"][0]["templates"].items():
        (evidence / rel).parent.mkdir(parents=True, exist_ok=True)
        (evidence / rel).write_text(f"# {role}\n\nCutover at {{{{stage}}}}: {{{{action}}}}.\n")
    return matrix, evidence


def test_sigint_mid_hold_exits_130_then_resume_holds_past_max_hold_and_rolls_back(
    tmp_path: Path,
) -> None:
    matrix, evidence = comms_matrix(tmp_path)
    state = tmp_path / "weight"
    act = [sys.executable, str(SCRIPT), str(state)]
    out = tmp_path / "D"
    argv = [sys.executable, "-m", "igkit", "cutover", "execute", "--matrix", str(matrix)]
    argv += ["--evidence", str(evidence), "--stages", "5,25,50,100", "--hold", "10s"]
    argv += ["--interval", "1s", "--max-hold", "12s", "--auto-rollback", "--timeout", "2"]
    argv += ["--set-weight", shlex.join([*act, "set"]) + " {weight}"]
    argv += ["--rollback", shlex.join([*act, "rollback"]), "--prom-url", "http://127.0.0.1:9"]
    argv += ["--out", str(out)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        deadline = time.monotonic() + 60
        while not (state.exists() and state.read_text() == "5"):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the 5 % stage never began"
            time.sleep(0.1)
        time.sleep(1.5)  # inside the hold
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, (stdout, stderr)
    assert state.read_text() == "5"
    assert "INTERRUPTED: stopped at stage 5%; weight left at 5%" in stdout
    entries = read_timeline(out / "timeline.jsonl")
    assert entries[1].kind == "preflight"
    assert entries[1].decision == "GO"
    assert [e.kind for e in entries[-3:]] == ["interrupted", "status", "end"]
    assert entries[-3].signal == "SIGINT"
    stage_update = next(e for e in entries if e.kind == "status" and e.status_kind == "stage")
    assert "Cutover at 5: unknown." in (out / str(stage_update.file)).read_text()
    assert not (out / "bundle").exists()  # an interrupted run is not sealed: it may resume

    # --resume: the 5 % set-weight runs again, nothing can be judged (no Prometheus): HOLD
    # until --max-hold, then the rollback; the finished run is sealed
    again = [sys.executable, "-m", "igkit", "cutover", "execute", "--resume", str(out)]
    again += ["--matrix", str(matrix), "--evidence", str(evidence), "--timeout", "2"]
    again += ["--prom-url", "http://127.0.0.1:9"]
    done = subprocess.run(again, capture_output=True, text=True, env=env, timeout=120, check=False)
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert state.read_text() == "0"
    resumed = read_timeline(out / "timeline.jsonl")
    assert resumed[: len(entries)] == entries
    tail = resumed[len(entries) :]
    assert tail[0].kind == "start"
    assert [e.weight for e in tail if e.kind == "stage"] == [5]
    assert {e.action for e in tail if e.kind == "judgement"} == {"HOLD"}
    cause = next(e.cause for e in tail if e.kind == "rollback")
    assert "past --max-hold 12s" in str(cause)
    assert resumed[-1].outcome == "ROLLED_BACK"
    assert (out / "bundle" / "manifest.json").is_file()
