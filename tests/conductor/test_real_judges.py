"""The loop with the real judge (``cutover judge``: canary gate run + ``igkit triggers check``)
against the session Prometheus's trigger scenarios; the fake clock walks through the
scenario's history, so a 10-minute hold takes the time of one judgement. The preflight is a
stand-in (the scenario history holds no evidence documents for G3/G4/G7/G8)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from igkit.cli.main import main
from igkit.conductor.clock import Stop
from igkit.conductor.parts import Parts, Preflight, Settings, run_preflight
from igkit.spec.loader import LoadedMatrix
from tests.conductor.conftest import FakeClock, Rig, World, go
from tests.cutover.conftest import matrix_copy
from tests.support.prometheus import PrometheusServer
from tests.support.scenarios import TRIGGER_SCENARIOS

pytestmark = pytest.mark.prometheus


def rig_at(tmp: Path, scenario: str, before: timedelta) -> Rig:
    stop = Stop()
    start = TRIGGER_SCENARIOS[scenario].eval_time - before
    return Rig(World(tmp), FakeClock(start, stop), stop, tmp / "D")


def test_a_quiet_canary_promotes_and_a_post_deploy_without_data_is_not_passed(
    prometheus: PrometheusServer, tmp_path: Path
) -> None:
    rig = rig_at(tmp_path, "trig_quiet", timedelta(minutes=60))
    matrix = matrix_copy(tmp_path)
    options = rig.options(
        prom_url=prometheus.url,
        matrix=matrix,
        interval=timedelta(minutes=10),
        post_deploy=timedelta(minutes=30),
    )
    code = rig.run(options, Parts(preflight=go))
    entries = rig.timeline
    judged = [e for e in entries if e.kind == "judgement"]
    assert [(e.stage, e.action) for e in judged] == [
        (5, "PROMOTE"),
        (25, "PROMOTE"),
        (50, "PROMOTE"),
    ]
    checks = [e for e in entries if e.kind == "check"]
    assert [e.status for e in checks] == ["QUIET", "QUIET", "QUIET"]
    post = next(e for e in entries if e.kind == "postdeploy")
    assert rig.world.weight == "100"
    # the trigger slots carry no shard/region labels nor OPA decision counters: a post-deploy
    # hour without its data is never PASS, so the promoted cutover still exits 1
    assert post.status == "NO_DATA"
    assert (code, entries[-1].outcome) == (1, "POSTDEPLOY_FAILED")
    assert (rig.out / "postdeploy" / "postdeploy.json").is_file()


def recorded_preflight(settings: Settings, loaded: LoadedMatrix, at: datetime) -> Preflight:
    """The real go-no-go --validate-all, run and recorded in D/preflight; its decision is then
    taken as GO, because the scenario history holds no evidence documents for G3/G4/G7/G8
    (the refusal of a real NO-GO is tested in test_cli.py)."""
    run_preflight(settings, loaded, at)
    return Preflight(decision="GO", reasons=[])


def test_a_trigger_firing_in_the_50_percent_hold_rolls_back_seals_and_replays(
    prometheus: PrometheusServer, tmp_path: Path
) -> None:
    """The OPA bundle failure at T-20m fires security_policy_failure; the 50 % stage began at
    T-25m, its first judgement (T-15m) is ROLLBACK and the rollback actuator runs next. The
    run is sealed into D/bundle and ``bundle verify --replay`` re-derives every judgement."""
    from igkit.bundle.keys import generate_keypair
    from igkit.bundle.verify import verify_bundle
    from igkit.demo import demo_trust_dir

    rig = rig_at(tmp_path, "trig_opa_bundle", timedelta(minutes=45))
    matrix = matrix_copy(tmp_path)
    keys = generate_keypair(tmp_path / "keys", subject="CN=igkit conductor test")
    options = rig.options(
        prom_url=prometheus.url,
        matrix=matrix,
        interval=timedelta(minutes=10),
        key=keys.private_key,
        trust=demo_trust_dir(),  # the matrix names trust anchors; the bundle carries them
    )
    assert rig.run(options, Parts(preflight=recorded_preflight)) == 1
    entries = rig.timeline
    judged = [e for e in entries if e.kind == "judgement"]
    assert [(e.stage, e.action) for e in judged] == [
        (5, "PROMOTE"),
        (25, "PROMOTE"),
        (50, "ROLLBACK"),
    ]
    assert judged[-1].reasons is not None
    assert judged[-1].reasons[0].startswith("trigger security_policy_failure FIRED")
    nxt = entries[entries.index(judged[-1]) + 1]
    assert (nxt.kind, nxt.name, nxt.exit_code) == ("actuator", "rollback", 0)
    assert rig.world.weight == "0"
    assert entries[-1].outcome == "ROLLED_BACK"

    recorded = rig.out / str(judged[-1].dir)
    doc = json.loads((recorded / "judge.json").read_text())
    args = ["cutover", "judge", "--stage", "50", "--stage-start", doc["stage_start"]]
    args += ["--replay", str(recorded), "--out", str(tmp_path / "again"), "--matrix", str(matrix)]
    assert main(args) == 1
    assert json.loads((tmp_path / "again" / "judge.json").read_text()) == doc

    result = verify_bundle(rig.out / "bundle", key=keys.public_key, replay=True)
    assert [f"{c.name}: {c.detail}" for c in result.failures] == []
    names = " ".join(c.name for c in result.checks)
    assert "timeline" in names
    manifest = json.loads((rig.out / "bundle" / "manifest.json").read_text())
    assert manifest["outcome"] == "ROLLED_BACK"
