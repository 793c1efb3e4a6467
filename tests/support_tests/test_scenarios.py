"""The synthetic history, queried on the real Prometheus, does what each scenario claims."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
import requests

from tests.support.prometheus import PrometheusServer
from tests.support.scenarios import K6_SCENARIOS, SCENARIOS, Scenario

pytestmark = pytest.mark.prometheus

STEP = "15s"
P95 = "histogram_quantile(0.95, sum by (le{by})(rate({metric}_bucket{sel}[5m])))"
QUERY_P95 = P95.format(by=", tenant", metric="graphql_latency", sel='{operation_type="query"}')
MUTATION_P95 = P95.format(
    by=", tenant", metric="graphql_latency", sel='{operation_type="mutation"}'
)
OPA_P95 = P95.format(by="", metric="opa_decision_duration_seconds", sel="")
PROCESSING_P95 = P95.format(by="", metric="ingest_processing_duration_seconds", sel="")
AVAILABILITY = (
    'sum by (tenant)(rate(http_requests_total{code=~"2.."}[5m]))'
    " / sum by (tenant)(rate(http_requests_total[5m]))"
)
W2_RATE = 'rate(ingest_batch_bytes_total{worker="w2"}[5m])'
INGEST_USD_PER_1K = (
    'sum(rate(finops_cost_usd_total{component="ingest"}[5m]))'
    " / sum(rate(ingest_stream_events_total[5m])) * 1000"
)
HISTOGRAMS = (
    "graphql_latency",
    "ingest_processing_duration_seconds",
    "opa_decision_duration_seconds",
)
APP_SAMPLE_NAMES = (
    *(f"{h}_{suffix}" for h in HISTOGRAMS for suffix in ("bucket", "count", "sum")),
    "http_requests_total",
    "ingest_batch_bytes_total",
    "ingest_stream_events_total",
    "k6_http_reqs_total",
)
APP_GAUGE_NAMES = ("k6_http_req_duration_p95", "k6_http_req_failed_rate")
APP_SERIES = 130 + 3 * len(K6_SCENARIOS)
K6_P95 = "k6_http_req_duration_p95"
K6_FAILED = "k6_http_req_failed_rate"
K6_NORMAL_P95 = {
    "graphql_reads": 0.180,
    "graphql_writes": 0.420,
    "neo4j_1hop": 0.150,
    "opa_decision": 0.012,
}


def _m(minutes: float) -> timedelta:
    return timedelta(minutes=minutes)


def _get(server: PrometheusServer, path: str, params: dict[str, Any]) -> Any:
    resp = requests.get(f"{server.url}{path}", params=params, timeout=30)
    resp.raise_for_status()
    body = resp.json()
    assert body["status"] == "success", body
    return body["data"]["result"]


def instant(server: PrometheusServer, query: str, at: datetime) -> dict[str, float]:
    """Instant query -> {label set rendered as text: value}."""
    result = _get(server, "/api/v1/query", {"query": query, "time": at.timestamp()})
    return {_key(r["metric"]): float(r["value"][1]) for r in result}


def one(server: PrometheusServer, query: str, at: datetime) -> float:
    values = instant(server, query, at)
    assert len(values) == 1, f"{query} at {at}: {values}"
    return next(iter(values.values()))


def steps(
    server: PrometheusServer, query: str, start: datetime, end: datetime, step: str = STEP
) -> dict[str, list[float]]:
    """Range query (15 s steps by default) -> {label set: values} (missing steps dropped)."""
    return {k: [v for _, v in tv] for k, tv in timed_steps(server, query, start, end, step).items()}


def timed_steps(
    server: PrometheusServer, query: str, start: datetime, end: datetime, step: str = STEP
) -> dict[str, list[tuple[float, float]]]:
    """Range query -> {label set: [(unix time, value)]} (missing steps are dropped)."""
    result = _get(
        server,
        "/api/v1/query_range",
        {"query": query, "start": start.timestamp(), "end": end.timestamp(), "step": step},
    )
    return {_key(r["metric"]): [(float(t), float(v)) for t, v in r["values"]] for r in result}


def _key(metric: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(metric.items()))


def last_hour(server: PrometheusServer, query: str, sc: Scenario) -> dict[str, list[float]]:
    return steps(server, query, sc.eval_time - _m(60), sc.eval_time)


# --- layout and nominal values ------------------------------------------------------


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_every_scenario_has_full_app_and_cost_data_at_eval_time(
    prometheus: PrometheusServer, name: str
) -> None:
    at = SCENARIOS[name].eval_time
    counts = instant(prometheus, "count by (__name__)({__name__=~'.+'})", at)
    assert counts == {
        "__name__=finops_cost_usd_total": 5,
        "__name__=graphql_latency_bucket": 2 * 3 * 14,
        "__name__=graphql_latency_count": 6,
        "__name__=graphql_latency_sum": 6,
        "__name__=http_requests_total": 6,
        "__name__=ingest_batch_bytes_total": 3,
        "__name__=ingest_stream_events_total": 3,
        "__name__=ingest_processing_duration_seconds_bucket": 9,
        "__name__=ingest_processing_duration_seconds_count": 1,
        "__name__=ingest_processing_duration_seconds_sum": 1,
        "__name__=opa_decision_duration_seconds_bucket": 9,
        "__name__=opa_decision_duration_seconds_count": 1,
        "__name__=opa_decision_duration_seconds_sum": 1,
        "__name__=k6_http_req_duration_p95": 4,
        "__name__=k6_http_req_failed_rate": 4,
        "__name__=k6_http_reqs_total": 4,
        "__name__=webauthn_stepup_total": 2,  # hc block at the end of scenarios.py
    }


def test_nominal_rates_in_all_green(prometheus: PrometheusServer) -> None:
    at = SCENARIOS["all_green"].eval_time
    expected = {
        'sum by (operation_type)(rate(graphql_latency_count{tenant="acme"}[5m]))': {
            "operation_type=mutation": 10.0,
            "operation_type=query": 50.0,
        },
        "sum by (tenant)(rate(http_requests_total[5m]))": {
            f"tenant={t}": 60.0 for t in ("acme", "globex", "initech")
        },
        "rate(ingest_batch_bytes_total[5m])": {f"worker={w}": 80e6 for w in ("w1", "w2", "w3")},
        "rate(ingest_stream_events_total[5m])": {f"pod={p}": 1500.0 for p in ("p1", "p2", "p3")},
        "rate(ingest_processing_duration_seconds_count[5m])": {"": 4500.0},
        "rate(opa_decision_duration_seconds_count[5m])": {"": 500.0},
        "rate(k6_http_reqs_total[5m])": {f"scenario={s},testid=ga-rc1": 40.0 for s in K6_SCENARIOS},
        'sum(rate(finops_cost_usd_total{component="graphql"}[5m]))'
        " / sum(rate(graphql_latency_count[5m])) * 1e6": {"": 0.5},  # USD per 1M calls
    }
    for query, want in expected.items():
        got = instant(prometheus, query, at)
        assert got.keys() == want.keys(), query
        for k, v in want.items():
            assert got[k] == pytest.approx(v, rel=1e-6), (query, k)


def test_all_green_is_green_over_the_last_hour(prometheus: PrometheusServer) -> None:
    sc = SCENARIOS["all_green"]
    checks: list[
        tuple[str, Callable[[float], bool]]
    ] = [  # (query, predicate) for every step of [T-60m, T]
        (QUERY_P95, lambda v: v <= 0.35),
        (MUTATION_P95, lambda v: v <= 0.70),
        (AVAILABILITY, lambda v: v >= 0.999),
        ("sum by (worker)(rate(ingest_batch_bytes_total[5m]))", lambda v: v >= 50e6),
        ("sum by (pod)(rate(ingest_stream_events_total[5m]))", lambda v: v >= 1000),
        (PROCESSING_P95, lambda v: v <= 0.1),
        (OPA_P95, lambda v: v <= 0.025),
        (INGEST_USD_PER_1K, lambda v: v <= 0.10),
    ]
    for query, ok in checks:
        series = last_hour(prometheus, query, sc)
        assert series, query
        for key, values in series.items():
            assert len(values) == 241, (query, key)
            assert all(ok(v) for v in values), (query, key, min(values), max(values))


def test_app_counters_never_reset_and_cost_counters_reset_only_at_month_start(
    prometheus: PrometheusServer,
) -> None:
    end = max(s.eval_time for s in SCENARIOS.values()) + _m(10)
    for name in APP_SAMPLE_NAMES:
        assert one(prometheus, f"sum(resets({name}[70d]))", end) == 0, name
    for sc in SCENARIOS.values():
        span = f"{int((sc.eval_time - sc.month_start).total_seconds())}s"
        assert one(prometheus, f"sum(resets(finops_cost_usd_total[{span}]))", sc.eval_time) == 0
        at_start = instant(prometheus, "finops_cost_usd_total", sc.month_start)
        assert len(at_start) == 5
        assert set(at_start.values()) == {0.0}


# --- one test per scenario claim ------------------------------------------------------


def test_latency_breach_30m(prometheus: PrometheusServer) -> None:
    t = SCENARIOS["latency_breach_30m"].eval_time
    breach = instant(prometheus, QUERY_P95, t - _m(35))
    assert len(breach) == 3
    assert all(v > 0.35 for v in breach.values()), breach
    recovered = instant(prometheus, QUERY_P95, t - _m(5))
    assert len(recovered) == 3
    assert all(v < 0.35 for v in recovered.values()), recovered
    # Mutations are untouched.
    assert all(v <= 0.7 for v in instant(prometheus, MUTATION_P95, t - _m(35)).values())


def test_latency_breach_2h_is_outside_the_last_hour(prometheus: PrometheusServer) -> None:
    sc = SCENARIOS["latency_breach_2h"]
    breach = instant(prometheus, QUERY_P95, sc.eval_time - _m(125))
    assert len(breach) == 3
    assert all(v > 0.35 for v in breach.values()), breach
    hour = last_hour(prometheus, QUERY_P95, sc)
    assert len(hour) == 3
    assert all(max(v) < 0.35 for v in hour.values())


def test_scrape_gap_15m(prometheus: PrometheusServer) -> None:
    t_sc = SCENARIOS["scrape_gap_15m"]
    t = t_sc.eval_time
    gap_end = t - _m(20)

    def app_series_with_samples(window: str, at: datetime) -> int:
        return sum(
            len(instant(prometheus, f"count_over_time({name}[{window}])", at))
            for name in (*APP_SAMPLE_NAMES, *APP_GAUGE_NAMES)
        )

    # [T-35m, T-20m) holds no app sample: a 14m59s lookback ending just before T-20m is empty,
    assert app_series_with_samples("899s", gap_end - timedelta(seconds=1)) == 0
    # while the samples either side of the gap exist,
    assert app_series_with_samples("1s", t - _m(35) - timedelta(seconds=15)) == APP_SERIES
    assert app_series_with_samples("1s", gap_end) == APP_SERIES
    # and cost metrics go on through the gap.
    assert one(prometheus, "count(count_over_time(finops_cost_usd_total[14m]))", gap_end) == 5
    # A 15s range query loses the 40 steps in [T-30m, T-20m) that the 5m lookback can't bridge.
    (values,) = last_hour(
        prometheus, 'http_requests_total{code="200",tenant="acme"}', t_sc
    ).values()
    assert len(values) == 241 - 40


def test_availability_995(prometheus: PrometheusServer) -> None:
    sc = SCENARIOS["availability_995"]
    hour = last_hour(prometheus, AVAILABILITY, sc)
    assert len(hour) == 3
    for values in hour.values():
        assert min(values) == pytest.approx(0.995, abs=1e-6)
        assert max(values) == pytest.approx(0.995, abs=1e-6)


def _w2_steps_below(server: PrometheusServer, sc: Scenario) -> tuple[int, int]:
    (values,) = steps(server, W2_RATE, sc.eval_time - _m(30), sc.eval_time).values()
    return sum(v < 50e6 for v in values), len(values)


def test_ingest_worker_slow(prometheus: PrometheusServer) -> None:
    below, total = _w2_steps_below(prometheus, SCENARIOS["ingest_worker_slow"])
    assert total == 121
    assert below / total >= 0.10, below


def test_ingest_worker_one_step(prometheus: PrometheusServer) -> None:
    below, total = _w2_steps_below(prometheus, SCENARIOS["ingest_worker_one_step"])
    assert total == 121
    assert 1 <= below <= 5, below
    assert below / total < 0.05  # G2 fraction_of_steps (min 95%) stays green


def test_opa_latency_breach(prometheus: PrometheusServer) -> None:
    (values,) = last_hour(prometheus, OPA_P95, SCENARIOS["opa_latency_breach"]).values()
    assert min(values) > 0.025


def test_ingest_backlog_p95(prometheus: PrometheusServer) -> None:
    sc = SCENARIOS["ingest_backlog_p95"]
    assert one(prometheus, PROCESSING_P95, sc.eval_time - _m(30)) < 0.1
    assert one(prometheus, PROCESSING_P95, sc.eval_time - _m(10)) > 0.1
    (values,) = steps(prometheus, PROCESSING_P95, sc.eval_time - _m(30), sc.eval_time).values()
    assert sum(v > 0.1 for v in values) / len(values) > 0.05


def test_budget_mtd_90(prometheus: PrometheusServer) -> None:
    sc = SCENARIOS["budget_mtd_90"]
    infra = 'sum(finops_cost_usd_total{budget="infra"})'
    spent = one(prometheus, infra, sc.eval_time) - one(prometheus, infra, sc.month_start)
    assert spent / 18000 == pytest.approx(0.90, rel=0.005)
    llm = 'sum(finops_cost_usd_total{budget="llm"})'
    assert one(prometheus, llm, sc.eval_time) / 5000 < 0.8


def test_unit_cost_breach(prometheus: PrometheusServer) -> None:
    sc = SCENARIOS["unit_cost_breach"]
    (values,) = steps(prometheus, INGEST_USD_PER_1K, sc.eval_time - _m(60), sc.eval_time).values()
    assert len(values) == 241
    assert all(v == pytest.approx(0.15, rel=1e-6) for v in values)
    assert one(prometheus, INGEST_USD_PER_1K, SCENARIOS["all_green"].eval_time) == pytest.approx(
        0.0005, rel=1e-6
    )


# --- k6 (G5) --------------------------------------------------------------------------


def _k6(server: PrometheusServer, metric: str, at: datetime) -> dict[str, float]:
    """{k6 scenario: value} of a k6 gauge at ``at``."""
    result = _get(server, "/api/v1/query", {"query": metric, "time": at.timestamp()})
    return {r["metric"]["scenario"]: float(r["value"][1]) for r in result}


def test_k6_nominal_in_all_green(prometheus: PrometheusServer) -> None:
    sc = SCENARIOS["all_green"]
    assert instant(prometheus, f"count by (testid)({K6_P95})", sc.eval_time) == {"testid=ga-rc1": 4}
    assert _k6(prometheus, K6_P95, sc.eval_time) == K6_NORMAL_P95
    assert _k6(prometheus, K6_FAILED, sc.eval_time) == dict.fromkeys(K6_SCENARIOS, 0.0002)
    for query in (f"max_over_time({K6_P95}[60m])", f"min_over_time({K6_P95}[60m])"):
        assert _k6(prometheus, query, sc.eval_time) == K6_NORMAL_P95, query
    for query in (f"max_over_time({K6_FAILED}[60m])", f"min_over_time({K6_FAILED}[60m])"):
        assert _k6(prometheus, query, sc.eval_time) == dict.fromkeys(K6_SCENARIOS, 0.0002)


def test_k6_bad_windows(prometheus: PrometheusServer) -> None:
    one_bad = SCENARIOS["k6_one_bad_window"].eval_time
    two_bad = SCENARIOS["k6_two_bad_windows"].eval_time
    for t in (one_bad, two_bad):
        assert _k6(prometheus, K6_P95, t - _m(19.5)) == {**K6_NORMAL_P95, "graphql_reads": 0.5}
        assert _k6(prometheus, K6_P95, t - _m(20.25)) == K6_NORMAL_P95
        assert _k6(prometheus, K6_P95, t) == K6_NORMAL_P95
    assert _k6(prometheus, K6_P95, one_bad - _m(18.5))["graphql_reads"] == 0.18
    assert _k6(prometheus, K6_P95, two_bad - _m(18.5))["graphql_reads"] == 0.5
    assert _k6(prometheus, K6_P95, two_bad - _m(17))["graphql_reads"] == 0.18
    normal = dict.fromkeys(K6_SCENARIOS, 0.0002)
    assert _k6(prometheus, K6_FAILED, two_bad - _m(9)) == {**normal, "neo4j_1hop": 0.01}
    assert _k6(prometheus, K6_FAILED, two_bad - _m(8)) == normal
    assert _k6(prometheus, f"max_over_time({K6_FAILED}[60m])", one_bad) == normal


def _bad_runs(server: PrometheusServer, name: str) -> list[int]:
    """Lengths of the runs of consecutive 1m steps in [T-30m, T] whose 1m max p95 > 0.35."""
    t = SCENARIOS[name].eval_time
    query = f'max_over_time({K6_P95}{{scenario="graphql_reads"}}[1m])'
    (points,) = timed_steps(server, query, t - _m(30), t, "1m").values()
    assert len(points) == 31
    runs: list[int] = []
    prev = None
    for ts, v in points:
        if v > 0.35:
            if prev is not None and ts - prev == 60 and runs:
                runs[-1] += 1
            else:
                runs.append(1)
            prev = ts
    return runs


def test_k6_consecutive_bad_steps(prometheus: PrometheusServer) -> None:
    # The bad minute [T-20m, T-19m) is seen by two 1m steps: T-20m (its first sample is the
    # right edge of that step's window) and T-19m. An evaluator asking for two consecutive
    # failing max_over_time[1m] steps would therefore trip on it.
    assert _bad_runs(prometheus, "k6_one_bad_window") == [2]
    assert _bad_runs(prometheus, "k6_two_bad_windows") == [4]
    assert _bad_runs(prometheus, "all_green") == []
