"""The judge and the post-deploy validation with the real trigger engine (``igkit triggers
check`` run by the verbs themselves) on the trigger scenarios of the session Prometheus, and
their replay. The canary stands in as tenant acme (the trigger slots have no track on HTTP
requests; test_shipped_matrix.py covers the real track); the triggers are the shipped matrix's, judged on the canary/stable tracks."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from igkit.cli.main import main
from igkit.timeutil import rfc3339
from tests.cutover.conftest import matrix_copy
from tests.support.prometheus import PrometheusServer
from tests.support.scenarios import TRIGGER_SCENARIOS

pytestmark = pytest.mark.prometheus


def judge(
    prom: PrometheusServer, tmp: Path, scenario: str, stage_for: timedelta
) -> tuple[int, dict[str, Any], Path]:
    at = TRIGGER_SCENARIOS[scenario].eval_time
    out = tmp / "out"
    args = ["cutover", "judge", "--stage", "50", "--stage-start", rfc3339(at - stage_for)]
    args += ["--at", rfc3339(at), "--prom-url", prom.url, "--out", str(out)]
    code = main([*args, "--matrix", str(matrix_copy(tmp))])
    return code, json.loads((out / "judge.json").read_text()), out


def test_quiet_triggers_and_a_green_canary_promote_and_replay(
    prometheus: PrometheusServer, tmp_path: Path
) -> None:
    code, doc, out = judge(prometheus, tmp_path, "trig_quiet", timedelta(minutes=15))
    assert (code, doc["action"]) == (0, "PROMOTE"), doc["reasons"]
    assert {t["status"] for t in doc["triggers"]} == {"QUIET"}
    assert len(doc["triggers"]) == 4
    written = json.loads((out / "triggers" / "triggers.json").read_text())
    assert written["lookback"] == "15m"

    again = tmp_path / "again"
    args = ["cutover", "judge", "--stage", "50", "--stage-start", doc["stage_start"]]
    args += ["--replay", str(out), "--out", str(again), "--matrix", str(tmp_path / "matrix.yaml")]
    assert main(args) == 0
    redo = json.loads((again / "judge.json").read_text())
    assert redo == doc


def test_a_stage_start_with_sub_millisecond_digits_is_covered(
    prometheus: PrometheusServer, tmp_path: Path
) -> None:
    """A conductor's stage start is ``now()`` (microseconds): the trigger report must cover
    that span, not one rounded down to the millisecond (was: "lookback 15m is shorter than
    15m", HOLD forever)."""
    span = timedelta(minutes=15, microseconds=300)
    code, doc, out = judge(prometheus, tmp_path, "trig_quiet", span)
    assert (code, doc["action"]) == (0, "PROMOTE"), doc["reasons"]
    assert json.loads((out / "triggers" / "triggers.json").read_text())["lookback"] == "900001ms"


def test_a_live_clock_instant_is_judged_at_the_engines_whole_second(
    prometheus: PrometheusServer, tmp_path: Path
) -> None:
    """A conductor judges at ``now()`` (microseconds); the engine judges whole seconds. Its
    report must be taken for that instant (was: "evaluated at 03:30:00Z, not
    03:30:00.645776Z", HOLD until max-hold rolled a healthy canary back)."""
    at = TRIGGER_SCENARIOS["trig_quiet"].eval_time + timedelta(microseconds=645_776)
    out = tmp_path / "out"
    args = [
        "cutover",
        "judge",
        "--stage",
        "50",
        "--stage-start",
        rfc3339(at - timedelta(minutes=15)),
    ]
    args += ["--at", rfc3339(at), "--prom-url", prometheus.url, "--out", str(out)]
    code = main([*args, "--matrix", str(matrix_copy(tmp_path))])
    doc = json.loads((out / "judge.json").read_text())
    assert (code, doc["action"]) == (0, "PROMOTE"), doc["reasons"]
    report = json.loads((out / "triggers" / "triggers.json").read_text())
    assert report["evaluated_at"] == rfc3339(at.replace(microsecond=0))
    assert report["lookback"] == "899355ms"  # the stage, from its start to 03:30:00Z


def test_an_opa_bundle_failure_in_the_stage_rolls_back(
    prometheus: PrometheusServer, tmp_path: Path
) -> None:
    code, doc, _ = judge(prometheus, tmp_path, "trig_opa_bundle", timedelta(minutes=25))
    assert (code, doc["action"]) == (1, "ROLLBACK"), doc["reasons"]
    assert doc["reasons"][0].startswith("trigger security_policy_failure FIRED at ")


def test_a_fire_before_the_stage_began_does_not_roll_it_back(
    prometheus: PrometheusServer, tmp_path: Path
) -> None:
    """The failure at T-20m lies before a stage that began at T-10m (positive control)."""
    code, doc, _ = judge(prometheus, tmp_path, "trig_opa_bundle", timedelta(minutes=10))
    assert (code, doc["action"]) == (0, "PROMOTE"), doc["reasons"]


def test_a_missing_canary_track_holds(prometheus: PrometheusServer, tmp_path: Path) -> None:
    code, doc, _ = judge(prometheus, tmp_path, "trig_canary_missing", timedelta(minutes=15))
    assert (code, doc["action"]) == (4, "HOLD")
    assert any(r.startswith("trigger latency_degradation is NO_DATA") for r in doc["reasons"])


def test_postdeploy_fails_when_a_trigger_fired_in_the_hour(
    prometheus: PrometheusServer, tmp_path: Path
) -> None:
    until = TRIGGER_SCENARIOS["trig_opa_bundle"].eval_time
    out = tmp_path / "pd"
    args = ["postdeploy", "validate", "--since", rfc3339(until - timedelta(minutes=60))]
    args += ["--prom-url", prometheus.url, "--out", str(out)]
    assert main([*args, "--matrix", str(matrix_copy(tmp_path))]) == 1
    doc = json.loads((out / "postdeploy.json").read_text())
    assert doc["status"] == "FAIL"
    assert any(r.startswith("trigger security_policy_failure FIRED") for r in doc["reasons"])
