"""The synthetic journeys in the loop (``--journeys-url``): a stage promotes only once its
journeys PASSED; the post-deploy ends PROMOTED only with them PASSED too. The runner is a
stand-in here (the loop's rules); the real one is ``igkit journeys run`` (h2)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from igkit.conductor.parts import Settings
from igkit.spec.loader import LoadedMatrix
from tests.conductor.conftest import Rig

URL = "http://127.0.0.1:9/"


def scripted(results: list[str], default: str = "PASS") -> Callable[..., tuple[str, list[str]]]:
    def run(settings: Settings, loaded: LoadedMatrix, out: Path) -> tuple[str, list[str]]:
        out.mkdir(parents=True, exist_ok=True)
        status = results.pop(0) if results else default
        return status, [] if status == "PASS" else [f"login: 3 of 10 checks failed ({status})"]

    return run


def test_a_stage_promotes_once_its_journeys_pass(rig: Rig) -> None:
    parts = rig.parts(journeys=scripted(["FAIL", "FAIL"]))
    assert rig.run(rig.options(journeys_url=URL), parts) == 0
    entries = rig.timeline
    runs = [(e.stage, e.status) for e in entries if e.kind == "journeys"]
    # 5 %: FAIL (after the weight), FAIL (before the 5m judgement), PASS (before the 10m one)
    assert runs[:3] == [(5, "FAIL"), (5, "FAIL"), (5, "PASS")]
    assert runs[-1] == (100, "PASS")  # after the post-deploy window
    judged = [(e.stage, e.action) for e in entries if e.kind == "judgement"]
    assert judged[:3] == [(5, "PROMOTE"), (5, "PROMOTE"), (25, "PROMOTE")]  # the first withheld
    assert rig.world.calls == ["set 5", "set 25", "set 50", "set 100"]
    for e in entries:
        if e.kind == "journeys":
            assert (
                e.dir
                == f"{'postdeploy' if e.stage == 100 else f'stages/{e.stage}'}/journeys-{e.seq:04d}"
            )
    assert any("PROMOTE withheld at 5%" in line for line in rig.lines)


def test_journeys_that_never_pass_roll_back_at_max_hold(rig: Rig) -> None:
    parts = rig.parts(journeys=scripted([], default="FAIL"))
    assert rig.run(rig.options(journeys_url=URL, max_hold=timedelta(minutes=15)), parts) == 1
    rollback = next(e for e in rig.timeline if e.kind == "rollback")
    assert "the synthetic journeys did not pass" in str(rollback.cause)
    assert rig.world.calls == ["set 5", "rollback 0"]


def test_journeys_failing_after_the_post_deploy_window_fail_the_cutover(rig: Rig) -> None:
    parts = rig.parts(journeys=scripted(["PASS", "PASS", "PASS", "NO_DATA"]))
    assert rig.run(rig.options(journeys_url=URL), parts) == 1
    end = rig.timeline[-1]
    assert (end.outcome, end.exit_code) == ("POSTDEPLOY_FAILED", 1)
    assert "synthetic journeys did not pass" in end.message


def test_without_a_journeys_runner_nothing_promotes(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default runner goes through ``igkit journeys run``; when that verb is absent the
    journeys are ERROR (one line, and a note in the directory the timeline names)."""
    from igkit.cli import main as cli

    monkeypatch.setattr(cli, "VERBS", tuple(v for v in cli.VERBS if v != "journeys"))
    parts = rig.parts()
    parts.journeys = None  # the real runner
    assert rig.run(rig.options(journeys_url=URL, max_hold=timedelta(minutes=10)), parts) == 1
    first = next(e for e in rig.timeline if e.kind == "journeys")
    assert first.status == "ERROR"
    assert first.reasons == ["the journeys runner (igkit journeys run) is not installed"]
    assert (rig.out / str(first.dir) / "error.txt").is_file()
    assert rig.timeline[-1].outcome == "ROLLED_BACK"


@pytest.mark.parametrize("url", ["ftp://svc/", "http://user:pw@svc/", "svc:8080"])
def test_a_bad_journeys_url_is_a_usage_error(rig: Rig, url: str) -> None:
    from igkit.errors import ConfigError

    with pytest.raises(ConfigError, match="--journeys-url"):
        rig.run(rig.options(journeys_url=url))
    assert rig.world.calls == []
