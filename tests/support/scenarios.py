"""Deterministic synthetic metric history for igkit's gate scenarios.

Each :class:`Scenario` has an evaluation instant ``T`` and a table of :class:`Override`
entries that replace a model parameter (a request rate, a latency p95, a cost price, ...)
for the series matching some labels during a window relative to ``T``. Everything else
follows :data:`DEFAULTS`. Adding a scenario is one entry in :data:`SCENARIOS`.

Layout (keeps the backfilled TSDB to a few dozen 2h blocks):

* one *span* per calendar month that holds scenarios: cost metrics every 60 s from the
  month start (counters start at 0 there) until the span's last ``T`` + 10 min;
* one *slot* per scenario: app metrics every 15 s in ``[T-155m, T+5m]``, nothing between
  slots. App counters never reset: each slot continues from the previous slot's value.

Histograms use a uniform latency model: observations uniform on ``[0, a]`` with
``a = p95 / 0.95``, so a bucket ``le`` receives ``N * min(le / a, 1)`` of ``N``
observations and the sum grows by ``N * a / 2``.

k6 results arrive the way k6's Prometheus remote-write output (trend stats ``p(95)``)
delivers them: per-``scenario`` gauges ``k6_http_req_duration_p95`` (seconds) and
``k6_http_req_failed_rate`` (0..1) whose value at each scrape is the model parameter
itself, plus the counter ``k6_http_reqs_total``. They are app metrics (slots only).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Labels = tuple[tuple[str, str], ...]

APP_STEP_S = 15
COST_STEP_S = 60
SLOT_BEFORE = timedelta(minutes=155)
SLOT_AFTER = timedelta(minutes=5)
SPAN_TAIL = timedelta(minutes=10)
BLOCK_SECONDS = 2 * 3600  # promtool 2.42 always writes 2h blocks, aligned to the epoch

TENANTS = ("acme", "globex", "initech")
OPERATION_TYPES = ("query", "mutation")
HTTP_CODES = ("200", "500")
WORKERS = ("w1", "w2", "w3")
PODS = ("p1", "p2", "p3")
COST_COMPONENTS: tuple[tuple[str, str], ...] = (
    ("infra", "ingest"),
    ("infra", "graphql"),
    ("infra", "storage"),
    ("infra", "neo4j"),
    ("llm", "llm"),
)
INFRA_MONTHLY_BUDGET_USD = 18000.0

GRAPHQL_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.35, 0.5, 0.7, 1, 2.5, 5, 10)
PROCESSING_BUCKETS = (0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1)
OPA_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25)
K6_SCENARIOS = ("graphql_reads", "graphql_writes", "neo4j_1hop", "opa_decision")
K6_TESTID = "ga-rc1"

# Model parameters: a value, or (label name, {label value: value}).
DEFAULTS: dict[str, float | tuple[str, dict[str, float]]] = {
    "graphql_rps": ("operation_type", {"query": 50.0, "mutation": 10.0}),  # per tenant
    "graphql_p95": ("operation_type", {"query": 0.20, "mutation": 0.40}),
    "http_rps": 60.0,  # per tenant
    "http_error_fraction": 0.0001,
    "ingest_bytes_per_s": 80e6,  # per worker
    "stream_events_per_s": 1500.0,  # per pod
    "processing_obs_per_s": 4500.0,
    "processing_p95": 0.05,
    "opa_obs_per_s": 500.0,
    "opa_p95": 0.008,
    "k6_p95": (
        "scenario",
        {
            "graphql_reads": 0.180,
            "graphql_writes": 0.420,
            "neo4j_1hop": 0.150,
            "opa_decision": 0.012,
        },
    ),
    "k6_failed_rate": 0.0002,
    "k6_rps": 40.0,  # per k6 scenario
    "scraped": 1.0,  # app metrics only: 0 drops the samples (scrape gap)
    "cost_usd_per_1k_events": 0.0005,  # ingest component
    "cost_usd_per_graphql_request": 0.5e-6,  # graphql component
    "cost_usd_per_s": ("component", {"storage": 0.0006, "neo4j": 0.000532, "llm": 0.000965}),
    "cost_factor": 1.0,  # multiplies every cost component (trigger scenarios: cost spikes)
    "opa_bundle_failures": 0.0,  # OPA bundle load failures per scrape (trigger slots only)
    "webauthn_rps": 2.0,  # WebAuthn step-up attempts per second, all tenants
    "webauthn_failure_fraction": 0.002,  # 99.8 % success: above G4's 99 % objective
    "track_share": ("track", {"stable": 0.75, "canary": 0.25}),  # cutover slots: traffic split
    "opa_decision_errors_per_s": 0.0,  # cutover slots: OPA decision errors
}


@dataclass(frozen=True)
class Override:
    """Set ``param`` to ``value`` for sample timestamps in ``[T + start, T + end)``.

    Applies to series whose labels include all of ``match`` (``__name__`` is the metric
    family name). ``start``/``end`` of ``None`` are unbounded: the whole slot for app
    metrics, the whole month span for cost metrics.
    """

    param: str
    value: float
    start: timedelta | None = None
    end: timedelta | None = None
    match: Labels = ()


@dataclass(frozen=True)
class Scenario:
    """A named situation the gate evaluator is expected to judge at ``eval_time``."""

    name: str
    eval_time: datetime  # UTC, tz-aware
    description: str
    overrides: tuple[Override, ...] = ()

    def __post_init__(self) -> None:
        if self.eval_time.utcoffset() != timedelta(0):
            raise ValueError(f"{self.name}: eval_time must be tz-aware UTC")
        for ov in self.overrides:
            if ov.param not in DEFAULTS:
                raise ValueError(f"{self.name}: unknown parameter {ov.param!r}")

    @property
    def month_start(self) -> datetime:
        """00:00 UTC on the 1st of eval_time's month (where cost counters start at 0)."""
        return self.eval_time.replace(day=1, hour=0, minute=0, second=0, microsecond=0)

    @property
    def slot(self) -> tuple[datetime, datetime]:
        """Inclusive window holding this scenario's app-metric samples."""
        return self.eval_time - SLOT_BEFORE, self.eval_time + SLOT_AFTER


def _unix(dt: datetime) -> int:
    return int(dt.timestamp())


def _default(param: str, labels: Mapping[str, str]) -> float:
    spec = DEFAULTS[param]
    if isinstance(spec, tuple):
        key, table = spec
        return table[labels[key]]
    return spec


def param_at(
    param: str, labels: Mapping[str, str], t: IntArray, scope: Iterable[Scenario]
) -> FloatArray:
    """Value of ``param`` for a series with ``labels`` at unix times ``t``."""
    out = np.full(t.shape, _default(param, labels), dtype=np.float64)
    for sc in scope:
        eval_s = _unix(sc.eval_time)
        for ov in sc.overrides:
            if ov.param != param or any(labels.get(k) != v for k, v in ov.match):
                continue
            lo = -np.inf if ov.start is None else eval_s + ov.start.total_seconds()
            hi = np.inf if ov.end is None else eval_s + ov.end.total_seconds()
            out[(t >= lo) & (t < hi)] = ov.value
    return out


def _cost_rate(budget: str, component: str, t: IntArray, scope: Sequence[Scenario]) -> FloatArray:
    """USD/s of one cost component; ingest and graphql follow their usage rates."""
    lab = {"__name__": "finops_cost_usd", "budget": budget, "component": component}
    if component == "ingest":
        events = sum(
            param_at(
                "stream_events_per_s", {"__name__": "ingest_stream_events", "pod": p}, t, scope
            )
            for p in PODS
        )
        return events / 1000 * param_at("cost_usd_per_1k_events", lab, t, scope)
    if component == "graphql":
        reqs = sum(
            param_at(
                "graphql_rps",
                {"__name__": "graphql_latency", "operation_type": o, "tenant": n},
                t,
                scope,
            )
            for o in OPERATION_TYPES
            for n in TENANTS
        )
        return reqs * param_at("cost_usd_per_graphql_request", lab, t, scope)
    return param_at("cost_usd_per_s", lab, t, scope)


def _cost_spend(budget: str, component: str, t: IntArray, scope: Sequence[Scenario]) -> FloatArray:
    """USD/s as billed: the component's rate times the scenario's ``cost_factor``."""
    lab = {"__name__": "finops_cost_usd", "budget": budget, "component": component}
    return _cost_rate(budget, component, t, scope) * param_at("cost_factor", lab, t, scope)


def _nominal_cost_rate(budget: str, component: str) -> float:
    """USD/s of a cost component with no overrides."""
    return float(_cost_rate(budget, component, np.zeros(1, dtype=np.int64), ())[0])


def _budget_storage_rate(eval_time: datetime, target_fraction: float) -> float:
    """Storage USD/s making infra month-to-date spend at eval_time hit target_fraction."""
    month_start = eval_time.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    elapsed = (eval_time - month_start).total_seconds()
    others = sum(_nominal_cost_rate("infra", c) for c in ("ingest", "graphql", "neo4j"))
    return target_fraction * INFRA_MONTHLY_BUDGET_USD / elapsed - others


def _m(minutes: float) -> timedelta:
    return timedelta(minutes=minutes)


_SPAN_A = datetime(2025, 3, 1, 3, 30, tzinfo=UTC)
_SPAN_B_T = datetime(2025, 4, 2, 12, 0, tzinfo=UTC)
_SPAN_C_T = datetime(2025, 5, 1, 3, 30, tzinfo=UTC)
_QUERY = (("operation_type", "query"),)
_W2 = (("worker", "w2"),)
_K6_READS = (("scenario", "graphql_reads"),)
_K6_NEO4J = (("scenario", "neo4j_1hop"),)

# Span A: scenario k evaluated at 2025-03-01T03:30Z + k*4h. (name, description, overrides)
_SPAN_A_TABLE: tuple[tuple[str, str, tuple[Override, ...]], ...] = (
    ("all_green", "Every metric nominal.", ()),
    (
        "latency_breach_30m",
        "GraphQL query p95 0.50 s (all tenants) in [T-40m, T-30m): G1 red (60m window).",
        (Override("graphql_p95", 0.50, _m(-40), _m(-30), _QUERY),),
    ),
    (
        "latency_breach_2h",
        "Same breach in [T-130m, T-120m): outside G1's 60m window, G1 green.",
        (Override("graphql_p95", 0.50, _m(-130), _m(-120), _QUERY),),
    ),
    (
        "scrape_gap_15m",
        "No app-metric samples in [T-35m, T-20m) (cost metrics continue): NO_DATA.",
        (Override("scraped", 0.0, _m(-35), _m(-20)),),
    ),
    (
        "availability_995",
        "HTTP error fraction 0.005 for the whole slot: availability 99.5 %, G1 red.",
        (Override("http_error_fraction", 0.005),),
    ),
    (
        "ingest_worker_slow",
        "Worker w2 at 30 MB/s in [T-20m, T-14m): >= 10 % of G2's 30m steps below 50 MB/s.",
        (Override("ingest_bytes_per_s", 30e6, _m(-20), _m(-14), _W2),),
    ),
    (
        "ingest_worker_one_step",
        "Worker w2 at 47 MB/s for 4.75 min ending T-10m: 1..5 steps below 50 MB/s, G2 green.",
        (Override("ingest_bytes_per_s", 47e6, _m(-14.75), _m(-10), _W2),),
    ),
    (
        "opa_latency_breach",
        "OPA decision p95 0.040 s for the whole slot: G4 red.",
        (Override("opa_p95", 0.040),),
    ),
    (
        "ingest_backlog_p95",
        "Ingest processing p95 0.2 s in [T-25m, T-5m): G2 processing_p95 red.",
        (Override("processing_p95", 0.2, _m(-25), _m(-5)),),
    ),
    (
        "k6_one_bad_window",
        "k6 graphql_reads p95 0.50 s in [T-20m, T-19m) only: one bad 1m window, G5 green.",
        (Override("k6_p95", 0.50, _m(-20), _m(-19), _K6_READS),),
    ),
    (
        "k6_two_bad_windows",
        "k6 graphql_reads p95 0.50 s in [T-20m, T-17m) and neo4j_1hop failed rate 0.01 in"
        " [T-10m, T-8m): consecutive bad windows, G5 red.",
        (
            Override("k6_p95", 0.50, _m(-20), _m(-17), _K6_READS),
            Override("k6_failed_rate", 0.01, _m(-10), _m(-8), _K6_NEO4J),
        ),
    ),
)

SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        *(
            Scenario(name, _SPAN_A + k * timedelta(hours=4), desc, ovs)
            for k, (name, desc, ovs) in enumerate(_SPAN_A_TABLE)
        ),
        Scenario(
            "budget_mtd_90",
            _SPAN_B_T,
            "Storage cost raised over the month so infra MTD spend at T is 90 % of $18k: G6 red.",
            (
                Override(
                    "cost_usd_per_s",
                    _budget_storage_rate(_SPAN_B_T, 0.90),
                    match=(("component", "storage"),),
                ),
            ),
        ),
        Scenario(
            "unit_cost_breach",
            _SPAN_C_T,
            "Ingest cost $0.15 per 1k events over the month (target <= $0.10): G6 red.",
            (Override("cost_usd_per_1k_events", 0.15),),
        ),
    )
}


# ---------------------------------------------------------------------------------------
# Trigger history (issue 11): a June 2025 span, scenario k evaluated at 2025-06-10T03:30Z +
# k*4h, so the cost counters hold over a week of history before the first T (cost_spike's
# trailing 7-day mean). Only these slots carry the canary/stable ``track`` histogram, OPA's
# ``bundle_failed_load_counter`` and ``webauthn_stepup_total{result}``. Durations in the
# descriptions are how long the trigger's own PromQL condition reads true (30 s steps), which
# with ``rate(...[5m])`` differs from the raw burst; tests/triggers check each against
# Prometheus's own evaluation of the condition.

TRACKS = ("stable", "canary")
_TRIGGER_T0 = datetime(2025, 6, 10, 3, 30, tzinfo=UTC)
_CANARY = (("track", "canary"),)
_CANARY_Q = (("track", "canary"), ("operation_type", "query"))
_CANARY_M = (("track", "canary"), ("operation_type", "mutation"))

_TRIGGER_TABLE: tuple[tuple[str, str, tuple[Override, ...]], ...] = (
    ("trig_quiet", "Every trigger input nominal: all QUIET.", ()),
    (
        "trig_error_9m",
        "HTTP error fraction 0.2 (all tenants) ending T-20m: error-ratio condition true ~9 min,"
        " error_budget_burn QUIET (for: 10m).",
        (Override("http_error_fraction", 0.2, _m(-26.5), _m(-20)),),
    ),
    (
        "trig_error_11m",
        "Same burst 2 min longer: condition true ~11 min, FIRED at the step it held 10 min.",
        (Override("http_error_fraction", 0.2, _m(-28.5), _m(-20)),),
    ),
    (
        "trig_error_3pct_40m",
        "HTTP error fraction 0.03 for 40 min ending T-5m: below 4.32 %, QUIET.",
        (Override("http_error_fraction", 0.03, _m(-45), _m(-5)),),
    ),
    (
        "trig_latency_14m",
        "Canary p95 2x stable (both operation types) ending T-10m: condition true ~14 min,"
        " latency_degradation QUIET (for: 15m).",
        (
            Override("graphql_p95", 0.40, _m(-21.5), _m(-10), _CANARY_Q),
            Override("graphql_p95", 0.80, _m(-21.5), _m(-10), _CANARY_M),
        ),
    ),
    (
        "trig_latency_16m",
        "Same, 2 min longer: condition true ~16 min, FIRED at the step it held 15 min.",
        (
            Override("graphql_p95", 0.40, _m(-23.5), _m(-10), _CANARY_Q),
            Override("graphql_p95", 0.80, _m(-23.5), _m(-10), _CANARY_M),
        ),
    ),
    (
        "trig_latency_plus20",
        "Canary p95 +20 % for the whole slot: below 1.3x, QUIET.",
        (
            Override("graphql_p95", 0.24, match=_CANARY_Q),
            Override("graphql_p95", 0.48, match=_CANARY_M),
        ),
    ),
    (
        "trig_canary_missing",
        "The canary track is not scraped at all: latency_degradation NO_DATA.",
        (Override("scraped", 0.0, match=_CANARY),),
    ),
    (
        "trig_opa_bundle",
        "One OPA bundle load failure at T-20m: security_policy_failure FIRED at once.",
        (Override("opa_bundle_failures", 1.0, _m(-20), _m(-19.75)),),
    ),
    (
        "trig_webauthn_low",
        "WebAuthn step-up failure fraction 0.03 (success 97 %) in [T-35m, T-15m):"
        " security_policy_failure FIRED after 10 min.",
        (Override("webauthn_failure_fraction", 0.03, _m(-35), _m(-15)),),
    ),
    (
        "trig_cost_35x",
        "Spend 3.5x from T-68m: the 1h spend rate exceeds 3x its 7-day mean ~20 min before T,"
        " cost_spike FIRED (for: 15m).",
        (Override("cost_factor", 3.5, _m(-68), _m(30)),),
    ),
    (
        "trig_cost_25x",
        "Spend 2.5x for the last 3 h: never 3x, cost_spike QUIET.",
        (Override("cost_factor", 2.5, _m(-180), _m(30)),),
    ),
    (
        "trig_scrape_gap",
        "No app samples in [T-40m, T-30m): rate-based conditions have a hole > max_gap, NO_DATA.",
        (Override("scraped", 0.0, _m(-40), _m(-30)),),
    ),
)

TRIGGER_SCENARIOS: dict[str, Scenario] = {
    name: Scenario(name, _TRIGGER_T0 + k * timedelta(hours=4), desc, ovs)
    for k, (name, desc, ovs) in enumerate(_TRIGGER_TABLE)
}
"""Trigger scenarios, apart from :data:`SCENARIOS` (whose tests enumerate the gate layout)."""


# ---------------------------------------------------------------------------------------
# Cutover history (issue 11 §2): a July 2025 span, scenario k evaluated at 2025-07-10T03:30Z +
# k*4h (over a week of cost history before the first T). In these slots the app series carry
# every label a canary deployment exports: ``http_requests_total`` and ``graphql_latency`` by
# tenant, track, shard and region (the stable track takes 75 % of each tenant's traffic, the
# canary 25 %), plus ``opa_decision_errors_total``, so ``cutover judge`` and ``postdeploy
# validate`` run on the shipped matrix unchanged.

CUTOVER_TENANTS: tuple[tuple[str, str, str], ...] = (  # (tenant, shard, region)
    ("acme", "s1", "eu-west"),
    ("globex", "s1", "us-east"),
    ("initech", "s2", "eu-west"),
    ("umbrella", "s2", "us-east"),
)
_CUTOVER_T0 = datetime(2025, 7, 10, 3, 30, tzinfo=UTC)
_UMBRELLA = (("tenant", "umbrella"),)

_CUTOVER_TABLE: tuple[tuple[str, str, tuple[Override, ...]], ...] = (
    ("cut_healthy", "Canary and stable nominal, every shard and region has 2 tenants.", ()),
    (
        "cut_canary_slow",
        "Canary p95 2x stable (both operation types) from T-30m: latency_degradation FIRED"
        " about 15 min after its condition turns true, G1 red on the canary.",
        (
            Override("graphql_p95", 0.40, _m(-30), None, _CANARY_Q),
            Override("graphql_p95", 0.80, _m(-30), None, _CANARY_M),
        ),
    ),
    (
        "cut_canary_errors",
        "Canary HTTP error fraction 0.1 from T-20m: canary availability 90 %, but 2.5 % of all"
        " traffic, below error_budget_burn's 4.32 %: no trigger fires.",
        (Override("http_error_fraction", 0.1, _m(-20), None, _CANARY),),
    ),
    (
        "cut_opa_errors",
        "OPA decision errors at 0.02/s in [T-30m, T-25m): about 6 errors in the post-deploy hour.",
        (Override("opa_decision_errors_per_s", 0.02, _m(-30), _m(-25)),),
    ),
    (
        "cut_tenant_missing",
        "Tenant umbrella is not scraped in the slot: shard s2 and region us-east have 1 tenant.",
        (Override("scraped", 0.0, match=_UMBRELLA),),
    ),
)

CUTOVER_SCENARIOS: dict[str, Scenario] = {
    name: Scenario(name, _CUTOVER_T0 + k * timedelta(hours=4), desc, ovs)
    for k, (name, desc, ovs) in enumerate(_CUTOVER_TABLE)
}
"""Cutover scenarios: canary/stable tracks, shards and regions on the request series."""


# ---------------------------------------------------------------------------------------
# Series generation


@dataclass(frozen=True)
class Series:
    """One series: sample name, labels in render order, unix-second times, values."""

    name: str
    labels: Labels
    t: IntArray
    v: FloatArray


@dataclass(frozen=True)
class Family:
    """An OpenMetrics metric family (``# TYPE name type``) and its series."""

    name: str
    type: str
    series: list[Series]


def _spans(scenarios: Iterable[Scenario]) -> list[list[Scenario]]:
    ordered = sorted(scenarios, key=lambda s: s.eval_time)
    return [list(g) for _, g in itertools.groupby(ordered, key=lambda s: s.month_start)]


def _slot_grid(sc: Scenario) -> IntArray:
    lo, hi = (_unix(x) for x in sc.slot)
    return np.arange(lo, hi + 1, APP_STEP_S, dtype=np.int64)


# An app series' per-scrape increments for one slot: (labels, times, scope) -> increments.
_IncFn = Callable[[Mapping[str, str], IntArray, Sequence[Scenario]], FloatArray]


def _app_series(
    family: str,
    sample: str,
    base: Labels,
    inc: _IncFn,
    slots: Sequence[Scenario],
    extra: Labels = (),
) -> Series:
    """Counter-like series over all slots: cumulative, continuous, gaps dropped."""
    match = {"__name__": family, **dict(base)}
    grids = [_slot_grid(sc) for sc in slots]
    incs = [inc(match, t, (sc,)) for t, sc in zip(grids, slots, strict=True)]
    keep = [param_at("scraped", match, t, (sc,)) > 0 for t, sc in zip(grids, slots, strict=True)]
    t_all = np.concatenate(grids)
    v_all = np.cumsum(np.concatenate(incs))
    mask = np.concatenate(keep)
    return Series(sample, base + extra, t_all[mask], v_all[mask])


def _gauge(family: str, param: str, bases: Iterable[Labels], slots: Sequence[Scenario]) -> Family:
    """Gauge whose sample at each scrape is the parameter's value then; gaps dropped."""
    series: list[Series] = []
    for base in bases:
        match = {"__name__": family, **dict(base)}
        grids = [_slot_grid(sc) for sc in slots]
        vals = [param_at(param, match, t, (sc,)) for t, sc in zip(grids, slots, strict=True)]
        keep = [
            param_at("scraped", match, t, (sc,)) > 0 for t, sc in zip(grids, slots, strict=True)
        ]
        mask = np.concatenate(keep)
        series.append(Series(family, base, np.concatenate(grids)[mask], np.concatenate(vals)[mask]))
    return Family(family, "gauge", series)


def _histogram(
    family: str,
    bases: Iterable[Labels],
    rate_param: str,
    p95_param: str,
    buckets: Sequence[float],
    slots: Sequence[Scenario],
    share: _IncFn | None = None,
) -> Family:
    def n_obs(lab: Mapping[str, str], t: IntArray, scope: Sequence[Scenario]) -> FloatArray:
        n = param_at(rate_param, lab, t, scope) * APP_STEP_S
        return n * share(lab, t, scope) if share is not None else n

    def width(lab: Mapping[str, str], t: IntArray, scope: Sequence[Scenario]) -> FloatArray:
        return param_at(p95_param, lab, t, scope) / 0.95

    def bucket_inc(le: float) -> _IncFn:
        return lambda lab, t, scope: (
            n_obs(lab, t, scope) * np.minimum(le / width(lab, t, scope), 1.0)
        )

    def sum_inc(lab: Mapping[str, str], t: IntArray, scope: Sequence[Scenario]) -> FloatArray:
        return n_obs(lab, t, scope) * width(lab, t, scope) / 2

    series: list[Series] = []
    for base in bases:
        for le in buckets:
            series.append(
                _app_series(
                    family, f"{family}_bucket", base, bucket_inc(le), slots, (("le", f"{le:g}"),)
                )
            )
        series.append(
            _app_series(family, f"{family}_bucket", base, n_obs, slots, (("le", "+Inf"),))
        )
        series.append(_app_series(family, f"{family}_count", base, n_obs, slots))
        series.append(_app_series(family, f"{family}_sum", base, sum_inc, slots))
    return Family(family, "histogram", series)


def _per_second(
    param: str,
    factor: Callable[[Mapping[str, str], IntArray, Sequence[Scenario]], FloatArray] | None = None,
) -> _IncFn:
    def inc(lab: Mapping[str, str], t: IntArray, scope: Sequence[Scenario]) -> FloatArray:
        v = param_at(param, lab, t, scope) * APP_STEP_S
        return v * factor(lab, t, scope) if factor is not None else v

    return inc


def _http_share(lab: Mapping[str, str], t: IntArray, scope: Sequence[Scenario]) -> FloatArray:
    err = param_at("http_error_fraction", lab, t, scope)
    return err if lab["code"] == "500" else 1.0 - err


def _cost_family(scenarios: Iterable[Scenario]) -> Family:
    spans = _spans(scenarios)
    series: list[Series] = []
    for budget, component in COST_COMPONENTS:
        ts: list[IntArray] = []
        vs: list[FloatArray] = []
        for span in spans:
            lo = _unix(span[0].month_start)
            hi = _unix(span[-1].eval_time + SPAN_TAIL)
            t = np.arange(lo, hi + 1, COST_STEP_S, dtype=np.int64)
            rate = _cost_spend(budget, component, t, span)
            v = np.concatenate(([0.0], np.cumsum(rate[1:] * COST_STEP_S)))
            ts.append(t)
            vs.append(v)
        labels = (("budget", budget), ("component", component))
        series.append(
            Series("finops_cost_usd_total", labels, np.concatenate(ts), np.concatenate(vs))
        )
    return Family("finops_cost_usd", "counter", series)


def generate(scenarios: Iterable[Scenario] | None = None) -> list[Family]:
    """All metric families of the synthetic history, series samples in time order."""
    scs = list(
        [*SCENARIOS.values(), *TRIGGER_SCENARIOS.values(), *CUTOVER_SCENARIOS.values()]
        if scenarios is None
        else scenarios
    )
    slots = sorted(scs, key=lambda s: s.eval_time)
    tenant_slots = [s for s in slots if s.name not in CUTOVER_SCENARIOS]
    for prev, nxt in itertools.pairwise(slots):
        if nxt.slot[0] <= prev.slot[1]:  # promtool silently drops out-of-order samples
            raise ValueError(f"slots of {prev.name} and {nxt.name} overlap")
    k6_bases = [(("scenario", s), ("testid", K6_TESTID)) for s in K6_SCENARIOS]
    fams: list[Family] = [
        _histogram(
            "graphql_latency",
            [(("operation_type", o), ("tenant", n)) for o in OPERATION_TYPES for n in TENANTS],
            "graphql_rps",
            "graphql_p95",
            GRAPHQL_BUCKETS,
            tenant_slots,
        ),
        Family(
            "http_requests",
            "counter",
            [
                _app_series(
                    "http_requests",
                    "http_requests_total",
                    (("code", c), ("tenant", n)),
                    _per_second("http_rps", _http_share),
                    tenant_slots,
                )
                for c in HTTP_CODES
                for n in TENANTS
            ],
        ),
        Family(
            "ingest_batch_bytes",
            "counter",
            [
                _app_series(
                    "ingest_batch_bytes",
                    "ingest_batch_bytes_total",
                    (("worker", w),),
                    _per_second("ingest_bytes_per_s"),
                    slots,
                )
                for w in WORKERS
            ],
        ),
        Family(
            "ingest_stream_events",
            "counter",
            [
                _app_series(
                    "ingest_stream_events",
                    "ingest_stream_events_total",
                    (("pod", p),),
                    _per_second("stream_events_per_s"),
                    slots,
                )
                for p in PODS
            ],
        ),
        _histogram(
            "ingest_processing_duration_seconds",
            [()],
            "processing_obs_per_s",
            "processing_p95",
            PROCESSING_BUCKETS,
            slots,
        ),
        _histogram(
            "opa_decision_duration_seconds",
            [()],
            "opa_obs_per_s",
            "opa_p95",
            OPA_BUCKETS,
            slots,
        ),
        _gauge("k6_http_req_duration_p95", "k6_p95", k6_bases, slots),
        _gauge("k6_http_req_failed_rate", "k6_failed_rate", k6_bases, slots),
        Family(
            "k6_http_reqs",
            "counter",
            [
                _app_series(
                    "k6_http_reqs", "k6_http_reqs_total", base, _per_second("k6_rps"), slots
                )
                for base in k6_bases
            ],
        ),
        _cost_family(scs),
    ]
    fams.append(_webauthn_family(slots))
    trigger_slots = [s for s in slots if s.name in TRIGGER_SCENARIOS]
    cutover_slots = [s for s in slots if s.name in CUTOVER_SCENARIOS]
    if trigger_slots or cutover_slots:
        _add_trigger_families(fams, trigger_slots, cutover_slots)
    if cutover_slots:
        _add_cutover_families(fams, cutover_slots)
    return [f for f in fams if f.series]


def _add_trigger_families(
    fams: list[Family], slots: Sequence[Scenario], cutover_slots: Sequence[Scenario]
) -> None:
    """Canary/stable ``track`` histogram series (in the graphql_latency family) over the
    trigger slots; OPA's bundle failure counter over the trigger and cutover slots."""
    if slots:
        tracked = _histogram(
            "graphql_latency",
            [(("operation_type", o), ("track", tr)) for o in OPERATION_TYPES for tr in TRACKS],
            "graphql_rps",
            "graphql_p95",
            GRAPHQL_BUCKETS,
            slots,
        )
        fams[0].series.extend(tracked.series)
    opa_slots = sorted([*slots, *cutover_slots], key=lambda s: s.eval_time)
    fams.append(
        Family(
            "bundle_failed_load_counter",
            "gauge",  # OPA's counter has no _total suffix; OpenMetrics wants one for counters
            [
                _app_series(
                    "bundle_failed_load_counter",
                    "bundle_failed_load_counter",
                    (("name", "authz"),),
                    lambda lab, t, scope: param_at("opa_bundle_failures", lab, t, scope),
                    opa_slots,
                )
            ],
        )
    )


# ---------------------------------------------------------------------------------------
# OpenMetrics rendering


def _render_series(s: Series, lo: int | None, hi: int | None) -> str:
    i0 = 0 if lo is None else int(np.searchsorted(s.t, lo, side="left"))
    i1 = len(s.t) if hi is None else int(np.searchsorted(s.t, hi, side="left"))
    if i0 >= i1:
        return ""
    labels = ",".join(f'{k}="{v}"' for k, v in s.labels)
    prefix = f"{s.name}{{{labels}}} " if labels else f"{s.name} "
    values = np.round(s.v[i0:i1], 6).tolist()
    times = s.t[i0:i1].tolist()
    return "".join([f"{prefix}{v!r} {t}\n" for v, t in zip(values, times, strict=True)])


def _write(
    families: Sequence[Family], path: Path, lo: int | None = None, hi: int | None = None
) -> bool:
    """Write samples with lo <= t < hi; False (and no file) if there are none."""
    chunks: list[str] = []
    for fam in families:
        body = [_render_series(s, lo, hi) for s in fam.series]
        if any(body):
            chunks.append(f"# TYPE {fam.name} {fam.type}\n")
            chunks.extend(body)
    if not chunks:
        return False
    chunks.append("# EOF\n")
    with path.open("w", encoding="ascii", newline="\n") as f:
        f.writelines(chunks)
    return True


def write_openmetrics(path: Path) -> None:
    """Write the whole history (all scenarios) as one OpenMetrics text file."""
    _write(generate(), path)


def write_openmetrics_blocks(directory: Path, block_seconds: int = BLOCK_SECONDS) -> list[Path]:
    """Write the history split into one file per epoch-aligned block range.

    promtool 2.42 re-parses its whole input once per 2h range between the first and
    last sample (including empty ones), so one file per range keeps backfill linear.
    """
    families = generate()
    t_min = min(int(s.t[0]) for f in families for s in f.series)
    t_max = max(int(s.t[-1]) for f in families for s in f.series)
    paths: list[Path] = []
    for lo in range(t_min // block_seconds * block_seconds, t_max + 1, block_seconds):
        path = directory / f"block-{lo}.om.txt"
        if _write(families, path, lo, lo + block_seconds):
            paths.append(path)
    return paths


# ---------------------------------------------------------------------------------------
# WebAuthn step-up outcomes, every slot: G4's objective (seed §9, E3.S1) and the
# security_policy_failure trigger read the same counters; a scenario overrides the two
# parameters.

WEBAUTHN_RESULTS = ("success", "failure")


def _webauthn_share(lab: Mapping[str, str], t: IntArray, scope: Sequence[Scenario]) -> FloatArray:
    fail = param_at("webauthn_failure_fraction", lab, t, scope)
    return fail if lab["result"] == "failure" else 1.0 - fail


def _webauthn_family(slots: Sequence[Scenario]) -> Family:
    return Family(
        "webauthn_stepup",
        "counter",
        [
            _app_series(
                "webauthn_stepup",
                "webauthn_stepup_total",
                (("result", r),),
                _per_second("webauthn_rps", _webauthn_share),
                slots,
            )
            for r in WEBAUTHN_RESULTS
        ],
    )


# ---------------------------------------------------------------------------------------
# Cutover slots: request series by tenant, track, shard and region; OPA decision errors.


def _track_share(lab: Mapping[str, str], t: IntArray, scope: Sequence[Scenario]) -> FloatArray:
    return param_at("track_share", lab, t, scope)


def _add_cutover_families(fams: list[Family], slots: Sequence[Scenario]) -> None:
    placed = [
        (("tenant", n), ("track", tr), ("shard", sh), ("region", rg))
        for n, sh, rg in CUTOVER_TENANTS
        for tr in TRACKS
    ]
    graphql = _histogram(
        "graphql_latency",
        [(("operation_type", o), *p) for o in OPERATION_TYPES for p in placed],
        "graphql_rps",
        "graphql_p95",
        GRAPHQL_BUCKETS,
        slots,
        share=_track_share,
    )
    by_name = {f.name: f for f in fams}
    by_name["graphql_latency"].series.extend(graphql.series)

    def http_share(lab: Mapping[str, str], t: IntArray, scope: Sequence[Scenario]) -> FloatArray:
        return _http_share(lab, t, scope) * _track_share(lab, t, scope)

    by_name["http_requests"].series.extend(
        _app_series(
            "http_requests",
            "http_requests_total",
            (("code", c), *p),
            _per_second("http_rps", http_share),
            slots,
        )
        for c in HTTP_CODES
        for p in placed
    )
    fams.append(
        Family(
            "opa_decision_errors",
            "counter",
            [
                _app_series(
                    "opa_decision_errors",
                    "opa_decision_errors_total",
                    (),
                    _per_second("opa_decision_errors_per_s"),
                    slots,
                )
            ],
        )
    )
