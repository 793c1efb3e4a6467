"""``igkit cutover execute`` end to end on the loopback world (issue 12): real services, a
real weighted proxy moved by a real actuator script, a real Prometheus scraping every second,
real client load, the conductor as a subprocess. Each case asserts on ``timeline.jsonl`` (read
with the conductor's own strict reader) AND on the weight the proxy actually holds.

Timing comes from tests/fixtures/cutover_e2e/matrix.yaml: holds of 20 s, triggers ``for: 20s``
over 30 s rates, G1 windows of 20 s. ``--post-deploy 20s``: shorter than the latency trigger's
30 s rate, because at 100 % the stable track serves nothing and a ``baseline: track`` ratio has
no denominator once its rate window has passed (NO_DATA, which fails the validation).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path

import pytest
import yaml

from igkit.conductor.timeline import TIMELINE_FILE, TimelineEntry, read_timeline
from tests.support.loopback.world import REPO_ROOT, LoopbackWorld

pytestmark = [pytest.mark.slow, pytest.mark.prometheus]

MATRIX = REPO_ROOT / "tests" / "fixtures" / "cutover_e2e" / "matrix.yaml"
STAGES = [5, 25, 50, 100]
FOR = timedelta(seconds=20)  # every trigger's `for` in the test matrix
WARM_UP_S = 30.0  # G1's 20 s window must hold data (Prometheus starts ~2 s in; a 20 s rate) before the preflight is GO
RUN_TIMEOUT_S = 480.0


@dataclass
class Cutover:
    code: int
    out: Path
    stdout: str
    stderr: str
    timeline: list[TimelineEntry]
    seconds: float

    def of(self, kind: str) -> list[TimelineEntry]:
        return [e for e in self.timeline if e.kind == kind]

    def end(self) -> TimelineEntry:
        ends = self.of("end")
        assert len(ends) == 1, self.explain()
        assert self.timeline[-1] is ends[0], self.explain()
        return ends[0]

    def explain(self) -> str:
        lines = [
            f"{e.seq} {e.at:%H:%M:%S.%f} {e.kind} {e.stage} {e.message}" for e in self.timeline
        ]
        return f"exit {self.code}\n" + "\n".join(lines) + f"\nstderr: {self.stderr[-2000:]}"


def actuator(world: LoopbackWorld, *args: str) -> str:
    base = [sys.executable, "-m", "tests.support.loopback.actuate", "--proxy", world.proxy_url]
    return shlex.join([*base, *args])


def execute(
    world: LoopbackWorld,
    tmp: Path,
    *extra: str,
    set_weight: str | None = None,
    during: Callable[[Path], None] | None = None,
) -> Cutover:
    """Run ``igkit cutover execute`` against ``world`` (after its warm-up) until it exits;
    ``during(out)`` runs in this process while the conductor works (e.g. kill Prometheus)."""
    world.wait_warm(WARM_UP_S)
    out = tmp / "cutover"
    argv = [sys.executable, "-m", "igkit", "cutover", "execute", "--strategy", "canary"]
    argv += ["--stages", ",".join(map(str, STAGES)), "--hold", "20s", "--interval", "5s"]
    argv += ["--auto-rollback", "--matrix", str(MATRIX), "--prom-url", world.prom_url]
    argv += ["--set-weight", set_weight or actuator(world, "set", "{weight}")]
    argv += ["--rollback", actuator(world, "rollback"), "--post-deploy", "20s"]
    argv += ["--out", str(out), *extra]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    t0 = time.monotonic()
    with (tmp / "conductor.out").open("w+") as stdout, (tmp / "conductor.err").open("w+") as stderr:
        proc = subprocess.Popen(argv, cwd=tmp, env=env, stdout=stdout, stderr=stderr, text=True)
        try:
            if during is not None:
                during(out)
            code = proc.wait(timeout=RUN_TIMEOUT_S)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        stdout.seek(0)
        stderr.seek(0)
        printed, errors = stdout.read(), stderr.read()
    seconds = time.monotonic() - t0
    print(f"cutover execute took {seconds:.0f}s (exit {code})")
    return Cutover(code, out, printed, errors, read_timeline(out / TIMELINE_FILE), seconds)


def wait_for_entry(
    out: Path, match: Callable[[TimelineEntry], bool], timeout: float
) -> TimelineEntry:
    """Poll the conductor's timeline until an entry matches (the run is still going)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        path = out / TIMELINE_FILE
        if path.is_file():
            found = [e for e in read_timeline(path) if match(e)]
            if found:
                return found[0]
        time.sleep(0.5)
    raise TimeoutError(f"no matching timeline entry in {out} after {timeout:.0f}s")


def assert_bundle_replays(run: Cutover) -> None:
    """The sealed bundle verifies and ``--replay`` re-derives every judgement of the
    timeline, the preflight and the post-deploy verdict from its snapshots (ephemeral key:
    its public half lies beside the bundle)."""
    bundle = run.out / "bundle"
    argv = [sys.executable, "-m", "igkit", "bundle", "verify", "--replay", str(bundle)]
    argv += ["--key", str(run.out / "bundle.demo-key.pub.pem")]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    judged = len(run.of("judgement"))
    assert f"all {judged} judgements of the timeline re-derive identically" in done.stdout, (
        done.stdout
    )


def stage_began(run: Cutover, weight: int) -> TimelineEntry:
    (entry,) = [e for e in run.of("stage") if e.weight == weight]
    return entry


def actuator_calls(run: Cutover) -> list[tuple[str, list[str], int]]:
    return [
        (e.name or "", e.argv or [], e.exit_code if e.exit_code is not None else -1)
        for e in run.of("actuator")
    ]


def assert_rolled_back(
    run: Cutover, world: LoopbackWorld, at_stage: int, *, prometheus_up: bool = True
) -> TimelineEntry:
    """Exit 1, outcome ROLLED_BACK, the rollback actuator ran and succeeded, the proxy is
    back at 0 % (and Prometheus saw it, while it lives), no later stage began; the rollback
    entry."""
    assert run.code == 1, run.explain()
    end = run.end()
    assert (end.outcome, end.exit_code) == ("ROLLED_BACK", 1), run.explain()
    (rollback,) = run.of("rollback")
    assert rollback.stage == at_stage, run.explain()
    calls = actuator_calls(run)
    assert calls[-1][0] == "rollback", run.explain()
    assert calls[-1][2] == 0, run.explain()
    assert max(e.weight or 0 for e in run.of("stage")) <= at_stage, run.explain()
    assert world.weight() == 0
    if prometheus_up:
        world.wait_for('proxy_weight{track="canary"}', lambda v: v == 0, timeout=10)
    assert any(e.status_kind == "rollback" for e in run.of("status")), run.explain()
    return rollback


def test_a_healthy_canary_promotes_through_every_stage_then_rolls_back_on_command(
    world: LoopbackWorld, tmp_path: Path
) -> None:
    run = execute(world, tmp_path, "--max-hold", "90s")
    assert run.code == 0, run.explain()
    end = run.end()
    assert (end.outcome, end.exit_code) == ("PROMOTED", 0), run.explain()
    (preflight,) = run.of("preflight")
    assert preflight.decision == "GO"
    assert [e.weight for e in run.of("stage")] == STAGES, run.explain()
    assert [(n, c) for n, _, c in actuator_calls(run)] == [("set_weight", 0)] * len(STAGES)
    judged = run.of("judgement")
    assert judged, run.explain()
    assert all(j.action in ("HOLD", "PROMOTE") for j in judged), run.explain()
    promoted = [j.stage for j in judged if j.action == "PROMOTE"]
    assert promoted == STAGES[:-1], run.explain()  # 100 % has no hold: post-deploy follows
    for j in judged:  # every judgement left its directory, saying what the timeline says
        assert j.dir is not None
        doc = json.loads((run.out / j.dir / "judge.json").read_text())
        assert (doc["stage"], doc["action"], doc["reasons"]) == (j.stage, j.action, j.reasons)
        if j.action == "PROMOTE":  # never before the hold, counted from the weight being set
            began = datetime.fromisoformat(doc["stage_start"])
            assert datetime.fromisoformat(doc["evaluated_at"]) - began >= timedelta(seconds=20)
            assert began >= stage_began(run, doc["stage"]).at - timedelta(seconds=1)
    assert not run.of("rollback")
    (postdeploy,) = run.of("postdeploy")
    assert postdeploy.status == "PASS", run.explain()
    assert (run.out / "postdeploy" / "postdeploy.json").is_file()
    assert world.weight() == 100
    world.wait_for('proxy_weight{track="canary"}', lambda v: v == 100, timeout=10)
    assert_bundle_replays(run)
    rollback_on_command(world, run)


def rollback_on_command(world: LoopbackWorld, run: Cutover) -> None:
    """``igkit cutover rollback`` on the finished run: refused without --confirm (nothing
    runs), then the actuator at once, the proxy back at 0 % when the command returns, the
    event appended to the run's timeline with a major-incident status update."""
    argv = [sys.executable, "-m", "igkit", "cutover", "rollback", "--to", "last-stable"]
    argv += ["--rollback", actuator(world, "rollback"), "--out", str(run.out)]
    argv += ["--matrix", str(MATRIX)]
    refused = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "--confirm" in refused.stderr
    assert world.weight() == 100
    done = subprocess.run(
        [*argv, "--confirm"], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert world.weight() == 0
    after = read_timeline(run.out / TIMELINE_FILE)
    added = after[len(run.timeline) :]
    kinds = [e.kind for e in added]
    assert "actuator" in kinds, kinds
    assert "rollback" in kinds, kinds
    call = next(e for e in added if e.kind == "actuator")
    assert (call.name, call.exit_code) == ("rollback", 0)
    assert kinds.index("actuator") < kinds.index("rollback")  # the actuator first, no wait
    assert any(e.kind == "status" and e.status_kind == "rollback" for e in added), kinds
    world.wait_for('proxy_weight{track="canary"}', lambda v: v == 0, timeout=10)


def test_a_canary_with_10_percent_errors_is_rolled_back_in_its_first_hold(
    world: LoopbackWorld, tmp_path: Path
) -> None:
    world.set_faults("canary", error_rate=0.1)
    run = execute(world, tmp_path, "--max-hold", "90s")
    rollback = assert_rolled_back(run, world, at_stage=STAGES[0])
    assert "error_budget_burn FIRED" in rollback.cause, run.explain()
    (judged,) = [j for j in run.of("judgement") if j.action == "ROLLBACK"]
    assert any("error_budget_burn FIRED" in r for r in judged.reasons or []), run.explain()
    assert all(j.action == "HOLD" for j in run.of("judgement") if j is not judged)
    assert rollback.at - stage_began(run, STAGES[0]).at < timedelta(seconds=90)  # not max-hold
    assert_bundle_replays(run)


def test_a_canary_with_50_percent_more_latency_is_rolled_back_after_the_sustain_not_before(
    world: LoopbackWorld, tmp_path: Path
) -> None:
    world.set_faults("canary", latency_factor=1.5)
    run = execute(world, tmp_path, "--max-hold", "90s")
    rollback = assert_rolled_back(run, world, at_stage=STAGES[0])
    assert "latency_degradation FIRED" in rollback.cause, run.explain()
    # The slow canary serves its first request once the set-weight actuator moved the proxy:
    # the onset is at latest when that call began (its entry is written when it returned).
    set5 = next(e for e in run.of("actuator") if e.name == "set_weight")
    onset = set5.at - timedelta(seconds=set5.duration_s or 0)
    assert rollback.at - onset >= FOR, run.explain()
    before = [j for j in run.of("judgement") if j.at < rollback.at and j.action != "ROLLBACK"]
    assert before, run.explain()  # it was judged, and HELD, before the trigger had sustained
    assert all(j.action == "HOLD" for j in before), run.explain()
    print(f"latency rollback {(rollback.at - onset).total_seconds():.1f}s after the onset")


def test_prometheus_down_mid_hold_holds_then_rolls_back(
    world: LoopbackWorld, tmp_path: Path
) -> None:
    killed: list[float] = []

    def kill_after_first_judgement(out: Path) -> None:
        wait_for_entry(out, lambda e: e.kind == "judgement" and e.stage == STAGES[0], timeout=240)
        world.kill_prometheus()
        killed.append(time.time())

    run = execute(world, tmp_path, during=kill_after_first_judgement)  # default max-hold: 40 s
    assert killed, run.explain()
    rollback = assert_rolled_back(run, world, at_stage=STAGES[0], prometheus_up=False)
    assert "max-hold" in rollback.cause, run.explain()
    after = [
        e for e in run.timeline if e.kind in ("judgement", "check") and e.at.timestamp() > killed[0]
    ]
    assert after, run.explain()  # it kept judging without Prometheus ...
    assert all(e.action in (None, "HOLD") for e in after), run.explain()  # ... and only HELD
    assert not any(e.action == "PROMOTE" for e in run.of("judgement")), run.explain()
    assert rollback.at - stage_began(run, STAGES[0]).at >= timedelta(seconds=40), run.explain()


def test_an_actuator_exiting_non_zero_rolls_back_and_exits_1(
    world: LoopbackWorld, tmp_path: Path
) -> None:
    failing = actuator(world, "--fail-at", "25", "set", "{weight}")
    run = execute(world, tmp_path, "--max-hold", "60s", set_weight=failing)
    rollback = assert_rolled_back(run, world, at_stage=25)
    assert "set-weight to 25% failed" in rollback.cause, run.explain()
    calls = actuator_calls(run)
    assert [(n, c) for n, _, c in calls] == [
        ("set_weight", 0),
        ("set_weight", 1),
        ("rollback", 0),
    ], run.explain()
    assert calls[1][1][-1] == "25"
    assert [e.weight for e in run.of("stage")] == [5], run.explain()  # 25 % never began
    failed = run.of("actuator")[1]
    assert failed.log is not None
    assert "injected failure setting weight 25" in (run.out / failed.log).read_text()


def journeys_matrix(tmp: Path) -> Path:
    """The e2e matrix plus the shipped synthetic journeys objective (reported only in G1)."""
    shipped = yaml.safe_load(resources.files("igkit.spec").joinpath("default.yaml").read_text())
    journeys = next(
        o for g in shipped["gates"] for o in g["objectives"] if o.get("type") == "journeys"
    )
    doc = yaml.safe_load(MATRIX.read_text())
    g1 = next(g for g in doc["gates"] if g["id"] == "G1")
    g1["objectives"].append(journeys)
    path = tmp / "journeys-matrix.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def test_the_synthetic_journeys_run_at_every_stage_and_after_the_post_deploy_window(
    world: LoopbackWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """login -> query -> write -> 2-hop traverse through the proxy with the pinned k6, at each
    stage (a stage promotes only once they PASS) and after post-deploy; each run a journeys
    line of the timeline and a directory holding its verdict."""
    monkeypatch.setenv("IGKIT_JOURNEY_PASSWORD", world.password)
    matrix = journeys_matrix(tmp_path)
    run = execute(
        world,
        tmp_path,
        "--max-hold",
        "120s",
        "--matrix",
        str(matrix),
        "--journeys-url",
        world.proxy_url,
        "--journeys-vus",
        "1",
        "--journeys-duration",
        "3s",
    )
    assert run.code == 0, run.explain()
    journeys = run.of("journeys")
    assert {j.stage for j in journeys} >= set(STAGES), run.explain()
    assert journeys[-1].status == "PASS", run.explain()
    for stage in STAGES[:-1]:  # the PROMOTE of each stage came after a PASSing journeys run
        promote = next(e for e in run.of("judgement") if e.stage == stage and e.action == "PROMOTE")
        passed = [j for j in journeys if j.stage == stage and j.status == "PASS"]
        assert passed, run.explain()
        assert passed[0].seq < promote.seq
    for j in journeys:
        assert j.dir is not None
        verdict = json.loads((run.out / j.dir / "journeys.json").read_text())
        assert verdict["status"] == j.status
    assert world.password not in "".join(
        p.read_text(errors="replace")
        for p in run.out.rglob("*")
        if p.is_file() and p.suffix != ".gz"
    )
