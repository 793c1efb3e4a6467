"""``igkit cutover judge`` against the session Prometheus: one scenario per action, replay."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from igkit.cli.main import main
from igkit.timeutil import rfc3339
from tests.cutover.conftest import QUIET, matrix_copy, triggers_doc
from tests.support.prometheus import PrometheusServer
from tests.support.scenarios import SCENARIOS

pytestmark = pytest.mark.prometheus

STAGE_FOR = timedelta(minutes=15)


def judge(
    prom: PrometheusServer,
    tmp: Path,
    scenario: str,
    *,
    stage_for: timedelta = STAGE_FOR,
    triggers: dict[str, str] | None = None,
    **cutover: object,
) -> tuple[int, dict[str, object], Path]:
    at = SCENARIOS[scenario].eval_time
    start = at - stage_for
    out = tmp / "out"
    args = ["cutover", "judge", "--stage", "25", "--stage-start", rfc3339(start)]
    args += ["--at", rfc3339(at), "--prom-url", prom.url, "--out", str(out)]
    args += ["--matrix", str(matrix_copy(tmp, **cutover))]
    doc = triggers_doc(tmp, at, stage_for, triggers if triggers is not None else QUIET)
    code = main([*args, "--triggers", str(doc)])
    return code, json.loads((out / "judge.json").read_text()), out


def test_promote_when_hold_elapsed_quiet_and_canary_green(
    prometheus: PrometheusServer, tmp_path: Path
) -> None:
    code, doc, out = judge(prometheus, tmp_path, "all_green")
    assert (code, doc["action"]) == (0, "PROMOTE"), doc["reasons"]
    canary = doc["canary"]
    assert canary["status"] == "PASS"
    assert canary["select"] == 'tenant="acme"'
    assert canary["requests"] > canary["min_requests"]
    names = {o["name"] for o in canary["objectives"]}
    assert {"graphql_query_p95", "graphql_mutation_p95", "availability"} <= names
    verdicts = json.loads((out / "canary" / "verdicts.json").read_text())
    assert verdicts["select"] == 'tenant="acme"'
    assert verdicts["window"] == "PT15M"


def test_replay_gives_the_same_action(prometheus: PrometheusServer, tmp_path: Path) -> None:
    code, doc, out = judge(prometheus, tmp_path, "all_green")
    again = tmp_path / "again"
    matrix = tmp_path / "matrix.yaml"
    replay = ["cutover", "judge", "--stage", "25", "--stage-start", doc["stage_start"]]
    replay += ["--replay", str(out), "--out", str(again), "--matrix", str(matrix)]
    assert main(replay) == code == 0
    redo = json.loads((again / "judge.json").read_text())
    assert redo["action"] == doc["action"]
    assert redo["canary"] == doc["canary"]
    assert redo["evaluated_at"] == doc["evaluated_at"]


def test_hold_while_the_hold_has_not_elapsed(prometheus: PrometheusServer, tmp_path: Path) -> None:
    code, doc, _ = judge(prometheus, tmp_path, "all_green", stage_for=timedelta(minutes=5))
    assert (code, doc["action"]) == (4, "HOLD")
    assert any(r.startswith("hold not elapsed: 5m of 10m") for r in doc["reasons"]), doc
    assert doc["canary"]["status"] == "PASS"  # only the hold stands in the way


def test_hold_when_the_canary_served_too_few_requests(
    prometheus: PrometheusServer, tmp_path: Path
) -> None:
    code, doc, _ = judge(prometheus, tmp_path, "all_green", min_canary_requests=10**9)
    assert (code, doc["action"]) == (4, "HOLD")
    assert [r for r in doc["reasons"] if "fewer than 1000000000" in r], doc["reasons"]


def test_hold_when_a_trigger_has_no_data(prometheus: PrometheusServer, tmp_path: Path) -> None:
    code, doc, _ = judge(
        prometheus, tmp_path, "all_green", triggers={**QUIET, "latency_degradation": "NO_DATA"}
    )
    assert (code, doc["action"]) == (4, "HOLD")
    assert doc["reasons"] == [
        "trigger latency_degradation is NO_DATA: latency_degradation no_data (test document)"
    ]


def test_hold_when_the_canary_has_no_data(prometheus: PrometheusServer, tmp_path: Path) -> None:
    code, doc, _ = judge(prometheus, tmp_path, "scrape_gap_15m", stage_for=timedelta(minutes=40))
    assert (code, doc["action"]) == (4, "HOLD")
    assert doc["canary"]["status"] == "NO_DATA"


def test_hold_when_the_canary_misses_the_gate(prometheus: PrometheusServer, tmp_path: Path) -> None:
    code, doc, _ = judge(
        prometheus, tmp_path, "latency_breach_30m", stage_for=timedelta(minutes=45)
    )
    assert (code, doc["action"]) == (4, "HOLD")
    assert any(r.startswith("canary G1/graphql_query_p95 FAIL") for r in doc["reasons"])


def test_rollback_when_a_trigger_fired(prometheus: PrometheusServer, tmp_path: Path) -> None:
    code, doc, _ = judge(
        prometheus, tmp_path, "all_green", triggers={**QUIET, "error_budget_burn": "FIRED"}
    )
    assert (code, doc["action"]) == (1, "ROLLBACK")
    assert doc["reasons"][0].startswith("trigger error_budget_burn FIRED at ")


@pytest.mark.parametrize(
    ("why", "shift", "lookback"),
    [
        ("another instant", timedelta(minutes=1), STAGE_FOR),
        ("shorter", timedelta(0), timedelta(minutes=5)),
    ],
)
def test_a_trigger_report_that_does_not_cover_the_stage_holds(
    prometheus: PrometheusServer, tmp_path: Path, why: str, shift: timedelta, lookback: timedelta
) -> None:
    at = SCENARIOS["all_green"].eval_time
    doc = triggers_doc(tmp_path, at - shift, lookback, QUIET)
    out = tmp_path / "out"
    args = ["cutover", "judge", "--stage", "25", "--stage-start", rfc3339(at - STAGE_FOR)]
    args += ["--at", rfc3339(at), "--prom-url", prometheus.url, "--out", str(out)]
    code = main([*args, "--matrix", str(matrix_copy(tmp_path)), "--triggers", str(doc)])
    reasons = json.loads((out / "judge.json").read_text())["reasons"]
    assert code == 4
    assert reasons[0].startswith("triggers unknown: "), reasons


def test_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["cutover", "judge", "--stage-start", "2025-03-01T03:00:00Z", "--out", str(tmp_path)]
    base += ["--at", "2025-03-01T03:30:00Z", "--prom-url", "http://127.0.0.1:9"]
    assert main([*base, "--stage", "30"]) == 2
    assert "stage 30 is not one of the matrix's [5, 25, 50, 100]" in capsys.readouterr().err
    late = ["--stage", "5", "--at", "2025-03-01T02:00:00Z"]
    assert main([*base, *late]) == 2


def test_a_cutover_gate_the_matrix_lacks_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    matrix = matrix_copy(tmp_path, canary_gate="G9")
    args = ["cutover", "judge", "--stage", "5", "--stage-start", "2025-03-01T03:00:00Z"]
    args += ["--at", "2025-03-01T03:30:00Z", "--prom-url", "http://127.0.0.1:9"]
    assert main([*args, "--out", str(tmp_path / "o"), "--matrix", str(matrix)]) == 2
    assert "cutover: names gate(s) G9 the matrix lacks" in capsys.readouterr().err


def test_a_second_judge_into_the_same_directory_replaces_the_first(
    prometheus: PrometheusServer, tmp_path: Path
) -> None:
    first, _, out = judge(prometheus, tmp_path, "all_green", stage_for=timedelta(minutes=5))
    code, doc, _ = judge(prometheus, tmp_path, "all_green")
    assert (first, code, doc["action"]) == (4, 0, "PROMOTE")
    assert json.loads((out / "canary" / "verdicts.json").read_text())["window"] == "PT15M"
