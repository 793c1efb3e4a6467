"""Triggers judged against the real session Prometheus on the trigger scenario history, and
cross-checked with Prometheus's own evaluation of each condition's ``expr``."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Any

import pytest
import requests

from igkit.judge.triggers import TriggerStatus, condition_requests
from igkit.sources.prometheus import PrometheusSource
from igkit.spec.loader import load_matrix
from igkit.triggers import evaluate_triggers
from tests.support.prometheus import PrometheusServer
from tests.support.scenarios import CUTOVER_SCENARIOS, TRIGGER_SCENARIOS

pytestmark = pytest.mark.prometheus

LOOKBACK = timedelta(minutes=60)
Q, F, N = TriggerStatus.QUIET, TriggerStatus.FIRED, TriggerStatus.NO_DATA
ALL_QUIET = {
    "error_budget_burn": Q,
    "latency_degradation": Q,
    "security_policy_failure": Q,
    "cost_spike": Q,
}

# scenario -> (expected status per trigger, fired_at minutes relative to T per FIRED trigger)
EXPECTED: dict[str, tuple[dict[str, TriggerStatus], dict[str, float]]] = {
    "trig_quiet": (ALL_QUIET, {}),
    "trig_error_9m": (ALL_QUIET, {}),
    "trig_error_11m": ({**ALL_QUIET, "error_budget_burn": F}, {"error_budget_burn": -17.5}),
    "trig_error_3pct_40m": (ALL_QUIET, {}),
    "trig_latency_14m": (ALL_QUIET, {}),
    "trig_latency_16m": ({**ALL_QUIET, "latency_degradation": F}, {"latency_degradation": -7.5}),
    "trig_latency_plus20": (ALL_QUIET, {}),
    "trig_canary_missing": ({**ALL_QUIET, "latency_degradation": N}, {}),
    "trig_opa_bundle": (
        {**ALL_QUIET, "security_policy_failure": F},
        {"security_policy_failure": -20.0},
    ),
    "trig_webauthn_low": (
        {**ALL_QUIET, "security_policy_failure": F},
        {"security_policy_failure": -23.5},
    ),
    "trig_cost_35x": ({**ALL_QUIET, "cost_spike": F}, {"cost_spike": -6.0}),
    "trig_cost_25x": (ALL_QUIET, {}),
    "trig_scrape_gap": (
        {
            "error_budget_burn": N,
            "latency_degradation": N,
            "security_policy_failure": N,
            "cost_spike": Q,
        },
        {},
    ),
    # The cutover history: request series by tenant, track, shard and region.
    "cut_healthy": (ALL_QUIET, {}),
    "cut_canary_slow": ({**ALL_QUIET, "latency_degradation": F}, {"latency_degradation": -14.0}),
    "cut_canary_errors": (ALL_QUIET, {}),
    "cut_opa_errors": (ALL_QUIET, {}),
    "cut_tenant_missing": (ALL_QUIET, {}),
}
SCENARIO_AT = {**TRIGGER_SCENARIOS, **CUTOVER_SCENARIOS}

# scenario -> (trigger/condition, minutes its condition reads true per Prometheus)
TRUE_FOR = {
    "trig_error_9m": ("error_budget_burn/error_ratio", 9.0),
    "trig_error_11m": ("error_budget_burn/error_ratio", 11.0),
    "trig_latency_14m": ("latency_degradation/p95_ratio", 14.0),
    "trig_latency_16m": ("latency_degradation/p95_ratio", 16.0),
    "trig_cost_35x": ("cost_spike/spend_rate_ratio", 21.0),
}


def _prom_range(
    server: PrometheusServer, query: str, start: datetime, end: datetime, step: float
) -> list[dict[str, Any]]:
    resp = requests.get(
        f"{server.url}/api/v1/query_range",
        params={"query": query, "start": start.timestamp(), "end": end.timestamp(), "step": step},
        timeout=30,
    )
    resp.raise_for_status()
    body = resp.json()
    assert body["status"] == "success", body
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def _prometheus_fired_at(server: PrometheusServer, at: datetime) -> dict[str, float | None]:
    """Per trigger, the first instant (minutes from ``at``) at which Prometheus's own
    evaluation of ``expr`` has been true at every step of ``for`` — a plain loop over the
    steps Prometheus returned, independent of igkit's vectorised judge."""
    out: dict[str, float | None] = {}
    for t in load_matrix().matrix.triggers:
        first: float | None = None
        for cond, req in condition_requests(t, at, LOOKBACK):
            need = round(cond.for_.total_seconds() / req.step_seconds) + 1
            lookback_start = at.timestamp() - LOOKBACK.total_seconds()
            for series in _prom_range(server, cond.expr, req.start, req.end, req.step_seconds):
                times = [float(ts) for ts, _ in series["values"]]
                run, prev = 0, None
                for ts in times:
                    run = run + 1 if prev is not None and ts - prev == req.step_seconds else 1
                    prev = ts
                    if run >= need and ts >= lookback_start:
                        minutes = (ts - at.timestamp()) / 60
                        first = minutes if first is None else min(first, minutes)
                        break
        out[t.id] = first
    return out


@pytest.mark.parametrize("name", list(EXPECTED))
def test_trigger_scenario_verdicts_agree_with_prometheus(
    prometheus: PrometheusServer, name: str
) -> None:
    at = SCENARIO_AT[name].eval_time
    statuses, fired = EXPECTED[name]
    run, _ = evaluate_triggers(load_matrix(), PrometheusSource(prometheus.url), at, LOOKBACK)
    got = {v.id: v.status for v in run.verdicts}
    assert got == statuses, [r for v in run.verdicts for r in v.reasons]
    for v in run.verdicts:
        assert v.reasons
        assert all(v.id in r and "snapshot" in r for r in v.reasons)
        if v.id in fired:
            assert v.fired_at is not None
            assert (v.fired_at - at).total_seconds() / 60 == pytest.approx(fired[v.id])
            assert any("since" in r and "worst" in r for r in v.reasons)
        else:
            assert v.fired_at is None
    prom = _prometheus_fired_at(prometheus, at)
    for tid, status in statuses.items():
        if status is F:
            assert prom[tid] == pytest.approx(fired[tid]), (tid, prom)
        elif status is Q:
            assert prom[tid] is None, (tid, prom)


@pytest.mark.parametrize("name", list(TRUE_FOR))
def test_condition_reads_true_for_the_stated_duration(
    prometheus: PrometheusServer, name: str
) -> None:
    at = TRIGGER_SCENARIOS[name].eval_time
    key, minutes = TRUE_FOR[name]
    tid, cname = key.split("/")
    (trigger,) = [t for t in load_matrix().matrix.triggers if t.id == tid]
    ((cond, req),) = [
        (c, r) for c, r in condition_requests(trigger, at, LOOKBACK) if c.name == cname
    ]
    result = _prom_range(prometheus, cond.expr, req.start, req.end, req.step_seconds)
    assert result
    for series in result:
        times = [float(ts) for ts, _ in series["values"]]
        assert (times[-1] - times[0]) / 60 == pytest.approx(minutes), series["metric"]
        assert len(times) == round(minutes * 2) + 1  # contiguous 30 s steps


@pytest.mark.parametrize(
    "baseline",
    [
        {"baseline": "offset", "offset": "1h"},
        {"baseline": "window", "window_start": -150, "window_end": -90},
    ],
)
def test_offset_and_window_baselines_run_on_prometheus(
    prometheus: PrometheusServer, baseline: dict[str, Any]
) -> None:
    """The alternative baselines are PromQL Prometheus accepts (``offset``, ``@``) and judge
    the canary against its own past: the 16-minute canary slowdown FIRES, the +20 % twin and
    the nominal slot stay QUIET."""
    from igkit.spec.triggers import LatencyDegradation

    matrix = load_matrix().matrix
    base = matrix.triggers[1].model_dump(mode="json", by_alias=True)
    for name, status in (
        ("trig_latency_16m", F),
        ("trig_latency_plus20", Q),
        ("trig_quiet", Q),
    ):
        at = TRIGGER_SCENARIOS[name].eval_time
        change = dict(baseline)
        for key in ("window_start", "window_end"):
            if key in change:
                change[key] = (at + timedelta(minutes=change[key])).isoformat()
        trigger = LatencyDegradation.model_validate({**base, **change})
        loaded = dataclasses.replace(
            load_matrix(), matrix=matrix.model_copy(update={"triggers": [trigger]})
        )
        run, _ = evaluate_triggers(loaded, PrometheusSource(prometheus.url), at, LOOKBACK)
        (verdict,) = run.verdicts
        assert verdict.status is status, (name, verdict.reasons)
