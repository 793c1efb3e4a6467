"""Raw sample histories for the rule-agreement tests: each fires a trigger or stays just below.

Every scenario is a set of series sampled every ``interval`` seconds from its own time 0.
The same samples feed both sides: ``promtool test rules`` (as ``input_series``, time 0 = the
first sample) and a real Prometheus (backfilled at ``base`` + offset) that igkit queries.
Durations are how long the trigger's own PromQL condition reads true, per issue 11 (error
ratio 11 min FIRED / 9 min QUIET / 3 % for 40 min QUIET; latency 16 min FIRED / 14 min
QUIET / +20 % for an hour QUIET; WebAuthn < 99 % 11 min FIRED / 7 min QUIET; OPA bundle
failure FIRED at once / none QUIET; cost 3.5× for 20 min FIRED / 2.5× for 3 h QUIET).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

STEP = 30
MIN = 60 // STEP
"""Samples per minute at the 30 s scrape interval."""


@dataclass(frozen=True)
class RuleScenario:
    """One history: ``series`` maps a selector to its samples (one per ``interval``)."""

    name: str
    trigger: str
    condition: str
    fires: bool
    series: dict[str, list[float]]
    held_min: float = 0.0
    """How long Prometheus's own evaluation of the condition reads true (first to last true
    step), by design; the tests check it (±1 min) so "just below" really is just below."""
    interval: int = STEP
    labels: dict[str, str] = field(default_factory=dict)
    """Labels of the expression's result (the alert's labels besides the rule's own)."""

    @property
    def length(self) -> int:
        return len(next(iter(self.series.values())))

    @property
    def duration(self) -> int:
        """Seconds from the first to the last sample."""
        return (self.length - 1) * self.interval


def _counter(increments: Sequence[float] | np.ndarray, start: float = 1000.0) -> list[float]:
    """A counter from per-interval increments (it starts high: no extrapolation to zero)."""
    return [float(x) for x in start + np.concatenate([[0.0], np.cumsum(increments)])]


def _phases(*parts: tuple[int, float]) -> np.ndarray:
    """Per-interval values: (number of intervals, value) phases, concatenated."""
    return np.concatenate([np.full(n, v, dtype=float) for n, v in parts])


def error_burn(name: str, burst_min: int, ratio: float, fires: bool, held: float) -> RuleScenario:
    total = 300.0
    errors = _phases((15 * MIN, 0.0), (burst_min * MIN, total * ratio), (15 * MIN, 0.0))
    return RuleScenario(
        name,
        "error_budget_burn",
        "error_ratio",
        fires,
        {
            'http_requests_total{code="200",tenant="t1"}': _counter(total - errors),
            'http_requests_total{code="500",tenant="t1"}': _counter(errors),
        },
        held_min=held,
    )


# Cumulative bucket counts per interval (200 observations): stable p95 = 0.15 s.
_LE = ("0.1", "0.2", "0.3", "+Inf")
_STABLE = (180.0, 200.0, 200.0, 200.0)
_PLUS_20 = (150.0, 200.0, 200.0, 200.0)  # p95 0.18 s: 1.2 x stable
_DEGRADED = (170.0, 180.0, 200.0, 200.0)  # p95 0.25 s: 1.67 x stable


def latency(
    name: str, minutes: int, canary: tuple[float, ...], fires: bool, held: float
) -> RuleScenario:
    series: dict[str, list[float]] = {}
    pre, post = 15 * MIN, 15 * MIN
    for i, le in enumerate(_LE):
        sel = f'operation_type="query",track="{{}}",le="{le}"'
        series["graphql_latency_bucket{" + sel.format("stable") + "}"] = _counter(
            _phases((pre + minutes * MIN + post, _STABLE[i]))
        )
        series["graphql_latency_bucket{" + sel.format("canary") + "}"] = _counter(
            _phases((pre, _STABLE[i]), (minutes * MIN, canary[i]), (post, _STABLE[i]))
        )
    return RuleScenario(
        name,
        "latency_degradation",
        "p95_ratio",
        fires,
        series,
        held_min=held,
        labels={"operation_type": "query"},
    )


def webauthn(name: str, minutes: int, failure: float, fires: bool, held: float) -> RuleScenario:
    total = 100.0
    fail = _phases((15 * MIN, 0.0), (minutes * MIN, total * failure), (15 * MIN, 0.0))
    return RuleScenario(
        name,
        "security_policy_failure",
        "webauthn_success_ratio",
        fires,
        {
            'webauthn_stepup_total{result="success"}': _counter(total - fail),
            'webauthn_stepup_total{result="failure"}': _counter(fail),
        },
        held_min=held,
    )


def opa(name: str, failures: float, fires: bool, held: float) -> RuleScenario:
    inc = _phases((15 * MIN, 0.0), (1, failures), (15 * MIN, 0.0))
    return RuleScenario(
        name,
        "security_policy_failure",
        "opa_bundle_load_failures",
        fires,
        {'bundle_failed_load_counter{name="authz"}': _counter(inc, start=0.0)},
        held_min=held,
    )


COST_INTERVAL = 300
"""The finops exporter is scraped every 5 minutes (a 7-day history at 30 s would make
promtool read 20,000 samples per evaluation)."""


def cost(name: str, factor: float, spike_min: int, fires: bool, held: float) -> RuleScenario:
    per = COST_INTERVAL // 60
    history = (7 * 24 * 60 + 120) // per
    inc = _phases((history, 10.0), (spike_min // per, 10.0 * factor), (60 // per, 10.0))
    return RuleScenario(
        name,
        "cost_spike",
        "spend_rate_ratio",
        fires,
        {'finops_cost_usd_total{tenant="t1"}': _counter(inc, start=5000.0)},
        held_min=held,
        interval=COST_INTERVAL,
    )


SCENARIOS: tuple[RuleScenario, ...] = (
    error_burn("burn-11m-fires", 11, 0.10, True, 11),
    error_burn("burn-9m-quiet", 9, 0.10, False, 9),
    error_burn("burn-3pct-40m-quiet", 40, 0.03, False, 0),
    latency("latency-16m-fires", 16, _DEGRADED, True, 16),
    latency("latency-14m-quiet", 14, _DEGRADED, False, 14),
    latency("latency-plus20-60m-quiet", 60, _PLUS_20, False, 0),
    webauthn("webauthn-11m-fires", 12, 0.02, True, 11),
    webauthn("webauthn-7m-quiet", 8, 0.02, False, 7),
    opa("opa-failure-fires", 1.0, True, 5),
    opa("opa-no-failure-quiet", 0.0, False, 0),
    cost("cost-3.5x-20m-fires", 3.5, 50, True, 20),
    cost("cost-2.5x-3h-quiet", 2.5, 180, False, 0),
)

BASE = 1_767_225_600  # 2026-01-01T00:00:00Z, 2h-aligned
SPACING = 10 * 86_400
"""Scenarios lie 10 days apart in the backfilled TSDB, so none sees another's samples
(the cost trigger looks back 7 days and 1 hour)."""


def base_of(index: int) -> int:
    return BASE + index * SPACING


def write_openmetrics(scenario: RuleScenario, base: int, path: Path) -> None:
    """The scenario's samples at ``base`` + offset, as an OpenMetrics file for promtool."""
    lines: list[str] = []
    for selector, values in sorted(scenario.series.items()):
        for k, v in enumerate(values):
            lines.append(f"{selector} {v!r} {base + k * scenario.interval}\n")
    path.write_text("".join(lines) + "# EOF\n", encoding="ascii")
