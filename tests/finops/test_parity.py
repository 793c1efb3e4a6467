"""The Prometheus path (G6 snapshots of a live run) and the FOCUS path (an export written from
the same Prometheus's cost history) give the same budget figures, and both agree with what
G6's budget rule recorded."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import requests

from igkit.explore import load_run
from igkit.finops.figures import figures_from_focus, figures_from_run, figures_from_source
from igkit.finops.unit_costs import focus_unit_costs
from igkit.run import RunRequest, run_gates
from igkit.sources.prometheus import PrometheusSource
from igkit.verdicts import Status
from tests.support.prometheus import PrometheusServer

pytestmark = pytest.mark.prometheus

# the June span of the session history: cost counters from 2025-06-01 00:00, a week and more
# of history before this time, so the 7-day run-rate window is full
AT = datetime(2025, 6, 10, 3, 0, tzinfo=UTC)
MONTH = datetime(2025, 6, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)


def _instant(url: str, query: str, at: datetime) -> float:
    reply = requests.get(
        f"{url}/api/v1/query", params={"query": query, "time": at.timestamp()}, timeout=30
    )
    reply.raise_for_status()
    (sample,) = reply.json()["data"]["result"]
    return float(sample["value"][1])


def _last_hour_usage(url: str) -> dict[str, float]:
    """Usage in the last hour before AT of the components G6 prices per unit (the matrix's
    usage metrics, summed over their series: raw counter values at both ends)."""
    metrics = {"ingest": "ingest_stream_events_total", "graphql": "graphql_latency_count"}
    return {
        component: _instant(url, f"sum({m})", AT) - _instant(url, f"sum({m})", AT - HOUR)
        for component, m in metrics.items()
    }


def _focus_from_prometheus(url: str, path: Path) -> int:
    """Hourly FOCUS Usage rows from the raw cost counters (no resets in this history), with
    ConsumedQuantity on the last hour's rows of the unit-priced components."""
    usage = _last_hour_usage(url)
    reply = requests.get(
        f"{url}/api/v1/query_range",
        params={
            "query": "finops_cost_usd_total",
            "start": MONTH.timestamp(),
            "end": AT.timestamp(),
            "step": "3600",
        },
        timeout=30,
    )
    reply.raise_for_status()
    series = reply.json()["data"]["result"]
    rows = 0
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(
            [
                "BillingPeriodStart",
                "ChargePeriodStart",
                "ChargePeriodEnd",
                "ChargeCategory",
                "ServiceName",
                "BilledCost",
                "BillingCurrency",
                "ConsumedQuantity",
                "Tags",
            ]
        )
        for s in series:
            times = np.array([float(t) for t, _ in s["values"]])
            values = np.array([float(v) for _, v in s["values"]])
            assert times[0] == MONTH.timestamp()
            assert np.all(np.diff(times) == 3600)  # every hour present
            assert times[-1] == AT.timestamp()
            spend = np.diff(values)
            assert np.all(spend >= 0)
            tags = json.dumps({k: s["metric"][k] for k in ("budget", "component")})
            for t, cost in zip(times[:-1], spend, strict=True):
                start = datetime.fromtimestamp(t, UTC)
                last = start == AT - HOUR
                quantity = usage.get(s["metric"]["component"]) if last else None
                writer.writerow(
                    [
                        "2025-06-01T00:00:00Z",
                        start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                        (start + HOUR).strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "Usage",
                        s["metric"]["component"],
                        repr(float(cost)),
                        "USD",
                        "" if quantity is None else repr(quantity),
                        tags,
                    ]
                )
                rows += 1
    return rows


def test_prometheus_and_focus_paths_give_the_same_figures(
    prometheus: PrometheusServer, tmp_path: Path
) -> None:
    run_gates(RunRequest(out=tmp_path / "run", prom_url=prometheus.url, gates=["G6"], at=AT))
    run = load_run(tmp_path / "run")
    _, from_prometheus = figures_from_run(run)
    # the same figures fetched straight from the server (igkit finops burn --prom-url)
    _, live = figures_from_source(run.loaded.matrix, PrometheusSource(prometheus.url), AT)
    assert live == from_prometheus
    export = tmp_path / "focus.csv"
    assert _focus_from_prometheus(prometheus.url, export) == 5 * (
        9 * 24 + 3
    )  # 5 series, 9 days 3 hours
    read, from_focus = figures_from_focus(export, run.loaded.matrix, AT)
    assert read.conversions == {}
    assert [f.budget for f in from_prometheus] == [f.budget for f in from_focus] == ["infra", "llm"]
    for p, f in zip(from_prometheus, from_focus, strict=True):
        assert p.status is f.status is Status.PASS
        assert p.month_to_date is not None
        assert p.month_to_date > 0
        for field in ("month_to_date", "share", "linear_projection", "run_rate_projection"):
            assert getattr(p, field) == pytest.approx(getattr(f, field), rel=1e-9), field
        assert p.driver == f.driver
        # and G6 judged the same month-to-date and projections
        g6 = next(o for o in run.gate("G6").objectives if o.name == f"{p.budget}_budget_burn")
        assert g6.details["month_to_date_usd"] == pytest.approx(p.month_to_date, abs=1e-6)
        assert g6.details["projected_month_end_usd"] == pytest.approx(p.linear_projection, abs=0.01)
        assert g6.details["run_rate_projection_usd"] == pytest.approx(
            p.run_rate_projection, abs=0.01
        )
        assert g6.details["projection_driver"] == p.driver
    # unit costs over the gate's window (the last 60 m) in the matrix's units
    units = {u.objective: u for u in focus_unit_costs(read.usage, run.loaded.matrix, AT)}
    assert set(units) == {"G6/ingest_unit_cost", "G6/graphql_unit_cost"}
    for name, u in units.items():
        g6 = next(o for o in run.gate("G6").objectives if f"G6/{o.name}" == name)
        assert u.status is g6.status is Status.PASS
        assert u.value == pytest.approx(g6.observed, rel=1e-6), name
        assert u.unit == g6.unit


def test_an_unreachable_server_is_no_data_naming_the_failure() -> None:
    matrix = load_run(None).loaded.matrix
    _, figures = figures_from_source(matrix, PrometheusSource("http://127.0.0.1:9", timeout=2), AT)
    assert [f.status for f in figures] == [Status.NO_DATA, Status.NO_DATA]
    assert all(f.month_to_date is None for f in figures)
    assert "G6/infra_budget_burn" in figures[0].reasons[0]
    assert "spend unknown" in figures[0].reasons[0]


def test_a_focus_export_ending_before_at_is_no_data(
    prometheus: PrometheusServer, tmp_path: Path
) -> None:
    export = tmp_path / "focus.csv"
    _focus_from_prometheus(prometheus.url, export)
    run = load_run(None)
    later = AT + timedelta(days=3)
    _, figures = figures_from_focus(export, run.loaded.matrix, later)
    assert all(f.status is Status.NO_DATA for f in figures)
    assert "FOCUS data ends 2025-06-10 03:00 UTC" in figures[0].reasons[0]
    # positive control: evaluated at the data's end, the same file is PASS
    _, figures = figures_from_focus(export, run.loaded.matrix, AT)
    assert all(f.status is Status.PASS for f in figures)
