"""The execute loop with a real (scripted) actuator process and a fake clock; the judge,
preflight and post-deploy steps are stand-ins here because these tests are about the loop:
its order of actions, its timing and its records (judgements from the session Prometheus
are in test_real_judges.py)."""

from __future__ import annotations

import json
from datetime import timedelta

from igkit.conductor.timeline import TimelineEntry
from igkit.cutover.models import Action
from igkit.verdicts import Status
from tests.conductor.conftest import T0, Rig, quiet_check


def of(entries: list[TimelineEntry], kind: str) -> list[TimelineEntry]:
    return [e for e in entries if e.kind == kind]


def test_every_stage_promotes_and_the_post_deploy_passes(rig: Rig) -> None:
    assert rig.run() == 0
    assert rig.world.weight == "100"
    assert rig.world.calls == ["set 5", "set 25", "set 50", "set 100"]
    entries = rig.timeline
    assert [e.weight for e in of(entries, "stage")] == [5, 25, 50, 100]
    assert [e.action for e in of(entries, "judgement")] == ["PROMOTE"] * 3
    assert [e.status for e in of(entries, "postdeploy")] == ["PASS"]
    assert entries[-1].kind == "end"
    assert (entries[-1].outcome, entries[-1].exit_code) == ("PROMOTED", 0)
    assert [e.seq for e in entries] == list(range(len(entries)))
    # one judgement per stage: interval 5m, hold 10m -> HOLD, PROMOTE ... the stand-in promotes
    # at once; the judgement comes an interval after the set-weight succeeded
    first_stage = of(entries, "stage")[0]
    assert rig.world.judged[0] == (5, first_stage.at + timedelta(minutes=5))
    # post-deploy: triggers every interval over the hour, the cadence updates T+15..60
    assert len([e for e in of(entries, "check")]) == 12
    scheduled = [e for e in of(entries, "status") if e.status_kind == "scheduled"]
    assert len(scheduled) == 4
    run = json.loads((rig.out / "run.json").read_text())
    assert run["schema"] == "igkit.cutover.run/v1"
    assert (run["stages"], run["hold"], run["max_hold"]) == ([5, 25, 50, 100], "10m", "20m")
    for e in of(entries, "actuator"):
        assert (rig.out / e.log).is_file()  # type: ignore[operator]
        assert e.log == f"actuators/{e.seq:04d}-{e.name}.log"
    for e in of(entries, "judgement"):
        assert e.dir == f"stages/{e.stage}/judge-{e.seq:04d}"
        assert (rig.out / str(e.dir) / "judge.json").is_file()


def test_a_rollback_judgement_runs_the_rollback_actuator_before_anything_else(rig: Rig) -> None:
    code = rig.run(parts=rig.parts({25: [Action.HOLD, Action.ROLLBACK]}))
    assert code == 1
    assert rig.world.weight == "0"
    assert rig.world.calls == ["set 5", "set 25", "rollback 0"]
    entries = rig.timeline
    verdicts = of(entries, "judgement")
    assert [(e.stage, e.action) for e in verdicts] == [
        (5, "PROMOTE"),
        (25, "HOLD"),
        (25, "ROLLBACK"),
    ]
    i = entries.index(verdicts[-1])
    after = entries[i + 1]
    assert (after.kind, after.name, after.exit_code) == ("actuator", "rollback", 0)
    assert after.at == verdicts[-1].at  # no wait before the actuator (the fake clock did not move)
    assert of(entries[i + 1 :], "judgement") == []  # no further evaluation
    assert [e.kind for e in entries[i + 2 :]] == ["rollback", "status", "end"]
    assert entries[-1].outcome == "ROLLED_BACK"
    assert of(entries, "status")[-1].status_kind == "rollback"
    assert len(rig.world.judged) == 3


def test_holding_past_max_hold_rolls_back(rig: Rig) -> None:
    parts = rig.parts({5: [Action.HOLD] * 10})
    assert rig.run(rig.options(max_hold=timedelta(minutes=15)), parts) == 1
    entries = rig.timeline
    holds = of(entries, "judgement")
    assert [e.action for e in holds] == ["HOLD", "HOLD", "HOLD"]  # at 5, 10 and 15 minutes
    cause = of(entries, "rollback")[0].cause
    assert cause is not None
    assert "past --max-hold 15m" in cause
    assert rig.world.calls == ["set 5", "rollback 0"]
    assert entries[-1].outcome == "ROLLED_BACK"


def test_a_judge_that_keeps_failing_is_a_hold_then_a_rollback(rig: Rig) -> None:
    """A judge raising (Prometheus unreachable in a way the judge did not absorb, a bug) is
    recorded as a check ERROR and never promotes; max-hold then rolls back."""

    def broken(request, loaded):  # type: ignore[no-untyped-def]
        raise RuntimeError("boom")

    assert rig.run(parts=rig.parts(judge=broken)) == 1
    entries = rig.timeline
    assert [e.status for e in of(entries, "check")] == ["ERROR"] * 4  # 5..20 minutes
    assert of(entries, "judgement") == []
    assert rig.world.calls == ["set 5", "rollback 0"]


def test_a_failing_set_weight_rolls_back(rig: Rig) -> None:
    rig.world.fail("set")
    assert rig.run() == 1
    entries = rig.timeline
    first = of(entries, "actuator")[0]
    assert (first.name, first.exit_code) == ("set_weight", 1)
    assert "the rollout controller said no" in (rig.out / str(first.log)).read_text()
    assert of(entries, "judgement") == []
    assert of(entries, "stage") == []
    assert rig.world.calls == ["set 5", "rollback 0"]
    assert entries[-1].outcome == "ROLLED_BACK"


def test_a_rollback_actuator_that_fails_is_retried_once(rig: Rig) -> None:
    rig.world.fail("rollback", times=1)
    assert rig.run(parts=rig.parts({5: [Action.ROLLBACK]})) == 1
    assert rig.world.calls == ["set 5", "rollback 0", "rollback 0"]
    assert rig.timeline[-1].outcome == "ROLLED_BACK"


def test_a_rollback_that_fails_twice_is_never_success(rig: Rig, capsys) -> None:  # type: ignore[no-untyped-def]
    rig.world.fail("rollback", times=5)
    assert rig.run(parts=rig.parts({5: [Action.PROMOTE], 25: [Action.ROLLBACK]})) == 1
    assert rig.world.calls == ["set 5", "set 25", "rollback 0", "rollback 0"]
    assert rig.world.weight == "25"
    end = rig.timeline[-1]
    assert (end.outcome, end.exit_code) == ("ROLLBACK_FAILED", 1)
    err = capsys.readouterr().err
    assert "ROLLBACK FAILED" in err
    assert "last weight known to be set is 25%" in err


def test_without_auto_rollback_nothing_is_run_and_it_says_so(rig: Rig, capsys) -> None:  # type: ignore[no-untyped-def]
    code = rig.run(rig.options(auto_rollback=False), rig.parts({5: [Action.ROLLBACK]}))
    assert code == 1
    assert rig.world.calls == ["set 5"]
    assert rig.world.weight == "5"
    assert rig.timeline[-1].outcome == "ROLLBACK_REQUIRED"
    assert "ROLLBACK REQUIRED (weight left at 5%)" in capsys.readouterr().err


def test_a_preflight_that_is_not_go_refuses_to_start(rig: Rig) -> None:
    from igkit.conductor.parts import Preflight

    def no_go(settings, loaded, at):  # type: ignore[no-untyped-def]
        return Preflight("NO-GO", ["G3 FAIL: SBOM missing"])

    assert rig.run(parts=rig.parts(preflight=no_go)) == 1
    assert rig.world.calls == []
    assert rig.kinds() == ["start", "preflight", "end"]
    assert rig.timeline[-1].outcome == "REFUSED"
    assert "  G3 FAIL: SBOM missing" in rig.lines


def test_a_trigger_firing_after_100_percent_rolls_back(rig: Rig) -> None:
    parts = rig.parts(check=quiet_check(rig.world, fire_at=3))
    assert rig.run(parts=parts) == 1
    assert rig.world.calls[-1] == "rollback 0"
    entries = rig.timeline
    assert [e.status for e in of(entries, "check")] == ["QUIET", "QUIET", "FIRED"]
    assert of(entries, "postdeploy") == []
    assert entries[-1].outcome == "ROLLED_BACK"


def test_a_post_deploy_that_does_not_pass_exits_1(rig: Rig) -> None:
    from tests.conductor.conftest import verdict

    parts = rig.parts(validate=lambda request, loaded, now: verdict(request, Status.NO_DATA))
    assert rig.run(parts=parts) == 1
    assert rig.timeline[-1].outcome == "POSTDEPLOY_FAILED"
    assert rig.world.weight == "100"


def test_sigint_mid_hold_stops_with_the_weight_where_it_is(rig: Rig) -> None:
    """A real SIGINT through the handler the CLI installs, sent while the 25 % hold sleeps."""
    import os
    import signal

    from igkit.conductor.clock import stop_on_signals

    def interrupt(clock):  # type: ignore[no-untyped-def]
        if rig.world.weight == "25":
            os.kill(os.getpid(), signal.SIGINT)

    rig.clock.on_sleep = interrupt
    with stop_on_signals(rig.stop):
        code = rig.run(parts=rig.parts({25: [Action.HOLD] * 5}))
    assert code == 130
    assert rig.world.weight == "25"
    assert rig.world.calls == ["set 5", "set 25"]
    entries = rig.timeline
    assert [e.kind for e in entries[-3:]] == ["interrupted", "status", "end"]
    assert entries[-3].signal == "SIGINT"
    assert entries[-3].stage == 25
    assert (entries[-1].outcome, entries[-1].exit_code) == ("INTERRUPTED", 130)
    assert any("stopped at stage 25%" in line for line in rig.lines)


def test_resume_continues_at_the_recorded_stage(rig: Rig) -> None:
    def interrupt(clock):  # type: ignore[no-untyped-def]
        if rig.world.weight == "50":
            rig.stop.set("SIGTERM")

    rig.clock.on_sleep = interrupt
    assert rig.run() == 130
    before = rig.timeline
    rig.stop.event.clear()
    rig.stop.signal = None
    rig.clock.on_sleep = None
    code = rig.run(rig.options(out=None, resume=rig.out, stages=None, hold=None))
    assert code == 0
    entries = rig.timeline
    assert entries[: len(before)] == before  # append-only
    assert entries[len(before)].kind == "start"
    assert entries[len(before)].args["resume_stage"] == 50  # type: ignore[index]
    assert rig.world.calls == ["set 5", "set 25", "set 50", "set 50", "set 100"]
    assert entries[-1].outcome == "PROMOTED"


def test_resume_refuses_a_finished_run(rig: Rig) -> None:
    import pytest

    from igkit.errors import ConfigError

    assert rig.run() == 0
    with pytest.raises(ConfigError, match=r"cannot resume: the cutover finished \(PROMOTED"):
        rig.run(rig.options(out=None, resume=rig.out))


def test_resume_refuses_a_changed_matrix(rig: Rig, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from importlib import resources

    import pytest

    from igkit.errors import ConfigError

    matrix = tmp_path / "m.yaml"
    text = resources.files("igkit.spec").joinpath("default.yaml").read_text()
    matrix.write_text(text)
    rig.stop.set("SIGINT")
    assert rig.run(rig.options(matrix=matrix)) == 130
    rig.stop.event.clear()
    matrix.write_text(text + "\n# changed\n")
    with pytest.raises(ConfigError, match="the matrix changed since the cutover began"):
        rig.run(rig.options(out=None, resume=rig.out, matrix=matrix))
    matrix.write_text(text)  # positive control: the same matrix resumes
    assert rig.run(rig.options(out=None, resume=rig.out, matrix=matrix)) == 0


def test_resume_refuses_a_timeline_that_does_not_add_up(rig: Rig) -> None:
    import pytest

    from igkit.errors import ConfigError

    def interrupt(clock):  # type: ignore[no-untyped-def]
        if rig.world.weight == "25":
            rig.stop.set("SIGINT")

    rig.clock.on_sleep = interrupt
    assert rig.run() == 130
    rig.stop.event.clear()
    rig.clock.on_sleep = None
    path = rig.out / "timeline.jsonl"
    good = path.read_text()
    judged = next(e for e in rig.timeline if e.kind == "judgement")
    (rig.out / str(judged.dir) / "judge.json").unlink()
    with pytest.raises(ConfigError, match=r"holds no judge\.json"):
        rig.run(rig.options(out=None, resume=rig.out))
    path.write_text(good.replace('"seq": 3,', '"seq": 4,', 1))
    with pytest.raises(ConfigError, match=r"timeline.jsonl:4: seq 4 where 3 was due"):
        rig.run(rig.options(out=None, resume=rig.out))


def test_a_new_cutover_refuses_a_used_directory(rig: Rig) -> None:
    import pytest

    from igkit.errors import ConfigError

    rig.out.mkdir()
    (rig.out / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not empty"):
        rig.run()
    assert rig.world.calls == []


def test_stages_must_be_the_matrix_ladder_in_order(rig: Rig) -> None:
    import pytest

    from igkit.errors import ConfigError

    for stages, why in (([25, 5, 100], "subset"), ([5, 30, 100], "subset"), ([5, 25], "100")):
        with pytest.raises(ConfigError, match=why):
            rig.run(rig.options(stages=stages))
    assert rig.world.calls == []
    assert rig.run(rig.options(stages=[50, 100])) == 0  # positive control: a shorter ladder
    assert rig.world.calls == ["set 50", "set 100"]


def test_started_at_is_the_clock(rig: Rig) -> None:
    rig.run()
    run = json.loads((rig.out / "run.json").read_text())
    assert run["started_at"] == "2026-06-01T10:00:00Z" == T0.isoformat().replace("+00:00", "Z")


def test_a_conductor_that_crashes_with_traffic_on_the_canary_rolls_back_first(rig: Rig) -> None:
    import pytest

    def broken(settings, out, at, lookback):  # type: ignore[no-untyped-def]
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        rig.run(parts=rig.parts(check=broken))
    assert rig.world.calls[-1] == "rollback 0"
    assert rig.world.weight == "0"
    entries = rig.timeline
    assert "the conductor failed: RuntimeError: disk on fire" in str(
        of(entries, "rollback")[0].cause
    )
    assert entries[-1].outcome == "ROLLED_BACK"


def test_a_slow_judge_does_not_cause_a_burst_of_judgements(rig: Rig) -> None:
    """A judgement that takes longer than the interval: the next one is due an interval
    later on the stage's grid, not at once to catch up."""

    starts: list[float] = []

    def slow(request, loaded):  # type: ignore[no-untyped-def]
        from tests.conductor.conftest import judgement

        starts.append((request.at - request.stage_start).total_seconds() / 60)
        rig.clock.t += timedelta(minutes=12)  # the judge took 12 minutes of a 5-minute interval
        return judgement(request, Action.HOLD)

    assert rig.run(rig.options(max_hold=timedelta(minutes=40)), rig.parts(judge=slow)) == 1
    assert starts == [5, 20, 35]  # on the stage's 5-minute grid, never back to back
