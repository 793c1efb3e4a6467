"""``igkit postdeploy validate`` against the session Prometheus: PASS, FAIL, NO_DATA, replay.

These run on the gate scenarios (series by tenant only), so the matrix copy samples tenants per
``code`` (two values, three tenants each) and checks the count of HTTP 500s: the machinery over
other labels. test_shipped_matrix.py runs the shipped matrix (shard, region, OPA decision
errors) unchanged over the cutover history."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from igkit.cli.main import main
from igkit.timeutil import rfc3339
from tests.cutover.conftest import QUIET, matrix_copy, triggers_doc
from tests.support.prometheus import PrometheusServer
from tests.support.scenarios import SCENARIOS

pytestmark = pytest.mark.prometheus

DURATION = timedelta(minutes=60)
CHECK_500 = {
    "name": "http_500s",
    "description": "HTTP 500s over the window (stand-in for OPA decision errors)",
    "query": 'sum(increase(http_requests_total{code="500"}[$window]))',
    "comparison": "<=",
    "threshold": {"value": 5000, "unit": "count"},
    "rule": {"kind": "aggregate", "window": "60m", "function": "last"},
}


def postdeploy(**over: Any) -> dict[str, Any]:
    if "triggers_" in over:  # the matrix field (the helpers' `triggers` is a trigger report)
        over["triggers"] = over.pop("triggers_")
    return {
        "gates": ["G1", "G2", "G4"],
        "duration": "60m",
        "checks": [CHECK_500],
        "tenant_label": "tenant",
        "shard_labels": ["code"],
        "tenants_query": "group by (code, tenant) (http_requests_total)",
        "min_tenants_per_shard": 3,
        **over,
    }


def validate(
    prom: PrometheusServer,
    tmp: Path,
    scenario: str,
    *,
    triggers: dict[str, str] | None = None,
    **over: Any,
) -> tuple[int, dict[str, Any], Path]:
    until = SCENARIOS[scenario].eval_time
    out = tmp / "out"
    doc = triggers_doc(tmp, until, DURATION, triggers if triggers is not None else QUIET)
    args = ["postdeploy", "validate", "--since", rfc3339(until - DURATION)]
    args += ["--prom-url", prom.url, "--out", str(out), "--triggers", str(doc)]
    code = main([*args, "--matrix", str(matrix_copy(tmp, postdeploy=postdeploy(**over)))])
    return code, json.loads((out / "postdeploy.json").read_text()), out


def test_pass_when_everything_stayed_green(prometheus: PrometheusServer, tmp_path: Path) -> None:
    code, doc, out = validate(prometheus, tmp_path, "all_green")
    assert (code, doc["status"]) == (0, "PASS"), doc["reasons"]
    assert doc["gates"] == {"G1": "PASS", "G2": "PASS", "G4": "PASS"}
    assert doc["checks"] == {"http_500s": "PASS"}
    assert {(s["value"], tuple(s["tenants"])) for s in doc["shards"]} == {
        ("200", ("acme", "globex", "initech")),
        ("500", ("acme", "globex", "initech")),
    }
    verdicts = json.loads((out / "gates" / "verdicts.json").read_text())
    assert verdicts["window"] == "PT1H"

    again = tmp_path / "again"
    replay = ["postdeploy", "validate", "--since", doc["since"], "--replay", str(out)]
    assert main([*replay, "--out", str(again), "--matrix", str(tmp_path / "matrix.yaml")]) == 0
    redo = json.loads((again / "postdeploy.json").read_text())
    assert redo == doc


@pytest.mark.parametrize(
    ("scenario", "status", "culprit"),
    [
        ("availability_995", "FAIL", "G1/availability FAIL"),
        ("opa_latency_breach", "FAIL", "G4/opa_decision_p95 FAIL"),
        ("ingest_worker_slow", "FAIL", "G2/batch_throughput FAIL"),
        ("scrape_gap_15m", "FAIL", "G1/graphql_query_p95 NO_DATA"),  # and G2 red
    ],
)
def test_a_red_gate_inside_the_window_fails(
    prometheus: PrometheusServer, tmp_path: Path, scenario: str, status: str, culprit: str
) -> None:
    code, doc, _ = validate(prometheus, tmp_path, scenario)
    assert code == 1
    assert doc["status"] == status
    assert any(r.startswith(culprit) for r in doc["reasons"]), doc["reasons"]


def test_a_trigger_that_fired_fails(prometheus: PrometheusServer, tmp_path: Path) -> None:
    code, doc, _ = validate(
        prometheus, tmp_path, "all_green", triggers={**QUIET, "cost_spike": "FIRED"}
    )
    assert (code, doc["status"]) == (1, "FAIL")
    assert doc["reasons"][0].startswith("trigger cost_spike FIRED at ")


def test_too_few_tenants_on_a_shard_fails(prometheus: PrometheusServer, tmp_path: Path) -> None:
    code, doc, _ = validate(prometheus, tmp_path, "all_green", min_tenants_per_shard=4)
    assert (code, doc["status"]) == (1, "FAIL")
    assert "code=200: 3 tenant(s) judged, fewer than 4" in doc["reasons"]


def test_a_shard_label_absent_from_the_data_is_no_data(
    prometheus: PrometheusServer, tmp_path: Path
) -> None:
    code, doc, _ = validate(prometheus, tmp_path, "all_green", shard_labels=["code", "region"])
    assert (code, doc["status"]) == (1, "NO_DATA")
    assert "no region label on any series of the tenant sample" in doc["reasons"]


def test_a_check_over_its_threshold_fails(prometheus: PrometheusServer, tmp_path: Path) -> None:
    strict = {**CHECK_500, "threshold": {"value": 0, "unit": "count"}}
    code, doc, _ = validate(prometheus, tmp_path, "all_green", checks=[strict])
    assert (code, doc["status"]) == (1, "FAIL")
    assert doc["checks"] == {"http_500s": "FAIL"}


ARMED = ["error_budget_burn", "security_policy_failure", "cost_spike"]


def test_a_trigger_not_armed_after_100_percent_does_not_decide(
    prometheus: PrometheusServer, tmp_path: Path
) -> None:
    """latency_degradation has no stable track to compare with at 100 %: NO_DATA there does
    not fail the hour when the matrix arms only the other triggers (the shipped matrix)."""
    triggers = {**QUIET, "latency_degradation": "NO_DATA"}
    code, doc, _ = validate(prometheus, tmp_path, "all_green", triggers=triggers, triggers_=ARMED)
    assert (code, doc["status"]) == (0, "PASS"), doc["reasons"]
    assert doc["reasons"][-1] == (
        "not armed after 100 % (cutover.postdeploy.triggers): latency_degradation"
    )
    assert {t["id"] for t in doc["triggers"]} == set(QUIET)  # all recorded as evidence


def test_an_armed_trigger_without_data_still_fails_closed(
    prometheus: PrometheusServer, tmp_path: Path
) -> None:
    triggers = {**QUIET, "error_budget_burn": "NO_DATA"}
    code, doc, _ = validate(prometheus, tmp_path, "all_green", triggers=triggers, triggers_=ARMED)
    assert (code, doc["status"]) == (1, "NO_DATA")
    assert doc["reasons"][0].startswith("trigger error_budget_burn NO_DATA")


def test_an_unknown_armed_trigger_is_a_usage_error(
    prometheus: PrometheusServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(FileNotFoundError):  # nothing judged, nothing written
        validate(prometheus, tmp_path, "all_green", triggers_=["error_budget_burn", "nope"])
    assert "cutover.postdeploy.triggers names nope" in capsys.readouterr().err


def test_a_post_deploy_check_is_summed_up_over_the_armed_triggers_only() -> None:
    """The conductor records this summary and bundle verify --replay re-derives it: both
    ignore a trigger the matrix does not arm after 100 %, and both fail closed on one it does."""
    from igkit.cutover.models import TriggerOutcome, TriggerStatus
    from igkit.cutover.postdeploy import check_summary
    from igkit.spec.loader import load_matrix

    spec = load_matrix(None).matrix.cutover.postdeploy  # type: ignore[union-attr]
    assert spec is not None
    quiet = [TriggerOutcome(id=t, status=TriggerStatus.QUIET) for t in ARMED]
    idle = TriggerOutcome(id="latency_degradation", status=TriggerStatus.NO_DATA, reasons=["x"])
    assert check_summary(spec, [*quiet, idle]) == (TriggerStatus.QUIET, [])
    silent = TriggerOutcome(id="cost_spike", status=TriggerStatus.NO_DATA, reasons=["no cost"])
    worst, reasons = check_summary(spec, [*quiet[:2], silent, idle])
    assert (worst, reasons) == (TriggerStatus.NO_DATA, ["trigger cost_spike NO_DATA: no cost"])
