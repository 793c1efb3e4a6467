"""Rule judgements on hand-built step grids: each table row is one situation a gate meets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from igkit.judge.rules import judge_budget, judge_steps
from igkit.spec.models import (
    Aggregate,
    AllSteps,
    BudgetBurn,
    Comparison,
    FractionOfSteps,
    ResolvedSettings,
    Threshold,
)
from igkit.units import Unit
from igkit.verdicts import Status

AT = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
STEP = 15
SETTINGS = ResolvedSettings(
    step=timedelta(seconds=STEP),
    rate=timedelta(minutes=5),
    min_coverage=0.9,
    max_staleness=timedelta(minutes=2),
    max_gap=timedelta(minutes=5),
)


def frame(columns: dict[str, np.ndarray], minutes: int = 60) -> pd.DataFrame:
    n = minutes * 60 // STEP + 1
    start = AT.timestamp() - minutes * 60
    index = pd.Index(np.round((start + np.arange(n) * STEP) * 1000).astype(np.int64))
    return pd.DataFrame({k: v[:n] for k, v in columns.items()}, index=index)


def steps(minutes: int = 60) -> int:
    return minutes * 60 // STEP + 1


def p95(values: np.ndarray) -> tuple[pd.DataFrame, dict[str, dict[str, str]]]:
    return frame({"a": values}), {"a": {"tenant": "acme"}}


ALL = AllSteps(kind="all_steps", window=timedelta(hours=1))
LE_350MS = Threshold(value=350, unit=Unit.MS)


def judge(values: np.ndarray, rule=ALL, comparison=Comparison.LE, threshold=LE_350MS):  # type: ignore[no-untyped-def]
    f, labels = p95(values)
    return judge_steps(
        f,
        labels,
        comparison=comparison,
        threshold=threshold,
        rule=rule,
        settings=SETTINGS,
        at=AT,
        what="G1 p95",
    )


def with_breach(start_min: int, end_min: int, value: float = 0.5) -> np.ndarray:
    v = np.full(steps(), 0.2)
    v[start_min * 4 : end_min * 4] = value
    return v


@pytest.mark.parametrize(
    ("values", "status"),
    [
        (np.full(steps(), 0.2), Status.PASS),
        (np.full(steps(), 0.35), Status.PASS),  # exactly at threshold meets <=
        (with_breach(20, 30), Status.FAIL),
        (with_breach(59, 60, 0.351), Status.FAIL),  # a single step is enough
        (with_breach(20, 35, np.nan), Status.NO_DATA),  # 15-minute gap
        (with_breach(55, 61, np.nan), Status.NO_DATA),  # stale: last 5 minutes missing
        (with_breach(10, 16, np.nan), Status.NO_DATA),  # 6-minute hole > max_gap, coverage 90%
        (with_breach(10, 12, np.inf), Status.FAIL),  # +Inf is never green
        (with_breach(10, 12, -np.inf), Status.FAIL),
        (np.full(steps(), np.nan), Status.NO_DATA),
    ],
)
def test_all_steps(values: np.ndarray, status: Status) -> None:
    assert judge(values).status is status


def test_all_steps_reason_names_value_threshold_time_and_count() -> None:
    j = judge(with_breach(20, 30))
    (reason,) = j.reasons
    assert "500 ms > 350 ms" in reason
    assert "11:20–11:29:45 UTC" in reason
    assert "40 of 241 steps" in reason
    s = j.series[0]
    assert s.first_violation == AT - timedelta(minutes=40)
    assert s.last_violation == AT - timedelta(minutes=30, seconds=15)
    assert s.steps_violating == 40
    assert j.observed == pytest.approx(500)


def test_violation_beats_missing_data() -> None:
    v = with_breach(20, 35, np.nan)
    v[40] = 0.9
    assert judge(v).status is Status.FAIL


def test_no_series_is_no_data() -> None:
    f = frame({})
    j = judge_steps(
        f,
        {},
        comparison=Comparison.LE,
        threshold=LE_350MS,
        rule=ALL,
        settings=SETTINGS,
        at=AT,
        what="x",
    )
    assert j.status is Status.NO_DATA
    assert "no series" in j.reasons[0]


FRAC = FractionOfSteps(kind="fraction_of_steps", window=timedelta(minutes=30), min_fraction=0.95)
GE_50MB = Threshold(value=50, unit=Unit.MB_PER_S)


def throughput(low_steps: int, missing: int = 0) -> np.ndarray:
    v = np.full(steps(30), 80e6)
    v[10 : 10 + low_steps] = 30e6
    v[100 : 100 + missing] = np.nan
    return v


@pytest.mark.parametrize(
    ("values", "status"),
    [
        (throughput(0), Status.PASS),
        (throughput(1), Status.PASS),
        (throughput(6), Status.PASS),  # 115/121 = 95.04%
        (throughput(7), Status.FAIL),
        (throughput(24), Status.FAIL),  # 20% of the window
        (throughput(0, missing=8), Status.NO_DATA),  # 113/121 met; the missing steps decide
        (throughput(7, missing=8), Status.FAIL),  # already lost on the data alone
    ],
)
def test_fraction_of_steps(values: np.ndarray, status: Status) -> None:
    f = frame({"w": values}, minutes=30)
    j = judge_steps(
        f,
        {"w": {"worker": "w2"}},
        comparison=Comparison.GE,
        threshold=GE_50MB,
        rule=FRAC,
        settings=SETTINGS,
        at=AT,
        what="G2 batch",
    )
    assert j.status is status, j.reasons


def test_fraction_reason_is_readable() -> None:
    f = frame({"w": throughput(24)}, minutes=30)
    j = judge_steps(
        f,
        {"w": {"worker": "w2"}},
        comparison=Comparison.GE,
        threshold=GE_50MB,
        rule=FRAC,
        settings=SETTINGS,
        at=AT,
        what="G2 batch",
    )
    assert "worker=w2" in j.reasons[0]
    assert "met in only 97 of 121 steps (80.2%, needs 95%)" in j.reasons[0]
    assert "30 MB/s" in j.reasons[0]


def test_worst_series_decides_and_is_reported() -> None:
    ok = np.full(steps(), 0.2)
    bad = with_breach(5, 6, 0.9)
    f = frame({"a": ok, "b": bad})
    j = judge_steps(
        f,
        {"a": {"tenant": "acme"}, "b": {"tenant": "globex"}},
        comparison=Comparison.LE,
        threshold=LE_350MS,
        rule=ALL,
        settings=SETTINGS,
        at=AT,
        what="G1 p95",
    )
    assert j.status is Status.FAIL
    assert [s.status for s in j.series] == [Status.PASS, Status.FAIL]
    assert len(j.reasons) == 1
    assert "tenant=globex" in j.reasons[0]
    assert j.observed == pytest.approx(900)


@pytest.mark.parametrize(
    ("function", "expected", "status"),
    [
        ("mean", 0.15e-3, Status.FAIL),
        ("median", 0.05e-3, Status.PASS),
        ("max", 1.05e-3, Status.FAIL),
        ("last", 0.05e-3, Status.PASS),
    ],
)
def test_aggregate(function: str, expected: float, status: Status) -> None:
    v = np.full(steps(), 0.05e-3)  # USD per event
    v[:25] = 1.05e-3
    rule = Aggregate(kind="aggregate", window=timedelta(hours=1), function=function)  # type: ignore[arg-type]
    thr = Threshold(value=0.10, unit=Unit.USD_PER_1K)
    f = frame({"c": v})
    j = judge_steps(
        f,
        {"c": {}},
        comparison=Comparison.LE,
        threshold=thr,
        rule=rule,
        settings=SETTINGS,
        at=AT,
        what="G6 unit",
    )
    assert j.status is status
    assert j.observed == pytest.approx(
        np.__dict__[function if function != "last" else "min"](v) * 1000
        if function != "mean"
        else v.mean() * 1000
    )
    assert expected * 1000 == pytest.approx(j.observed, rel=0.05)


BUDGET = BudgetBurn(kind="budget_burn", budget_usd=18000, step=timedelta(minutes=5))
LT_80 = Threshold(value=80, unit=Unit.PERCENT)
BUDGET_SETTINGS = SETTINGS.model_copy(
    update={
        "step": timedelta(minutes=5),
        "max_staleness": timedelta(minutes=10),
        "max_gap": timedelta(minutes=30),
    }
)


def budget_frame(series: dict[str, np.ndarray], at: datetime) -> pd.DataFrame:
    start = datetime(at.year, at.month, 1, tzinfo=UTC).timestamp()
    n = int((at.timestamp() - start) // 300) + 1
    index = pd.Index(np.round((start + np.arange(n) * 300) * 1000).astype(np.int64))
    return pd.DataFrame({k: v[:n] for k, v in series.items()}, index=index)


def test_budget_burn_counts_resets_and_projects() -> None:
    at = datetime(2025, 4, 11, 0, 0, tzinfo=UTC)  # 10 of 30 days elapsed
    n = 10 * 288 + 1
    spend = np.linspace(500.0, 500.0 + 9000.0, n)  # 9000 USD this month on top of 500 carried over
    reset = spend.copy()
    reset[n // 2 :] -= reset[n // 2]  # exporter restarted mid-way: counter from 0
    f = budget_frame({"a": spend, "b": np.full(n, 10.0)}, at)
    labels = {
        "a": {"budget": "infra", "component": "x"},
        "b": {"budget": "infra", "component": "y"},
    }
    j = judge_budget(
        f,
        labels,
        comparison=Comparison.LT,
        threshold=LT_80,
        rule=BUDGET,
        settings=BUDGET_SETTINGS,
        at=at,
        what="G6 infra",
    )
    assert j.status is Status.PASS
    assert j.details["month_to_date_usd"] == pytest.approx(9000)
    assert j.details["projected_month_end_usd"] == pytest.approx(27000)
    assert j.observed == pytest.approx(50.0)
    assert "budget=infra" in j.reasons[0]
    assert "projection $27,000 (150% of budget)" in j.reasons[0]

    f2 = budget_frame({"a": reset}, at)
    j2 = judge_budget(
        f2,
        labels,
        comparison=Comparison.LT,
        threshold=LT_80,
        rule=BUDGET,
        settings=BUDGET_SETTINGS,
        at=at,
        what="G6 infra",
    )
    assert j2.details["month_to_date_usd"] == pytest.approx(9000, rel=1e-3)


def test_budget_burn_over_threshold_fails_and_missing_is_no_data() -> None:
    at = datetime(2025, 4, 2, 12, 0, tzinfo=UTC)
    n = 36 * 12 + 1
    f = budget_frame({"a": np.linspace(0, 16200, n)}, at)
    kw = {
        "comparison": Comparison.LT,
        "threshold": LT_80,
        "rule": BUDGET,
        "settings": BUDGET_SETTINGS,
        "at": at,
        "what": "G6",
    }
    j = judge_budget(f, {"a": {"budget": "infra"}}, **kw)  # type: ignore[arg-type]
    assert j.status is Status.FAIL
    assert "= 90% of the $18,000 budget, >= 80%" in j.reasons[0]
    v = np.linspace(0, 1000, n)
    v[-5:] = np.nan  # exporter silent for 25 minutes
    assert judge_budget(budget_frame({"a": v}, at), {"a": {}}, **kw).status is Status.NO_DATA  # type: ignore[arg-type]
    assert judge_budget(budget_frame({}, at), {}, **kw).status is Status.NO_DATA  # type: ignore[arg-type]


def spikes(*idx: int) -> np.ndarray:
    return np.where(np.isin(np.arange(steps()), idx), 0.9, 0.2)


@pytest.mark.parametrize(
    ("values", "run_length", "status"),
    [
        (spikes(80), 2, Status.PASS),
        (spikes(80, 82, 84), 2, Status.PASS),  # never two in a row
        (spikes(80, 81), 2, Status.FAIL),
        (spikes(80, 81, 82, 83), 5, Status.PASS),
        (spikes(80, 81, 82, 83, 84), 5, Status.FAIL),
    ],
)
def test_all_steps_min_consecutive(values: np.ndarray, run_length: int, status: Status) -> None:
    rule = AllSteps(kind="all_steps", window=timedelta(hours=1), min_consecutive=run_length)
    j = judge(values, rule=rule)
    assert j.status is status, j.reasons
    if status is Status.PASS:
        assert "tolerated" in j.reasons[0]
    else:
        assert f"{run_length} in a row" in j.reasons[0]


# ---- freshness per cost series (issue #8 class 1) ---------------------------------------


def _budget_kw(at: datetime) -> dict[str, object]:
    return {
        "comparison": Comparison.LT,
        "threshold": LT_80,
        "rule": BUDGET,
        "settings": BUDGET_SETTINGS,
        "at": at,
        "what": "G6 infra_budget_burn",
    }


BUDGET_AT = datetime(2025, 4, 11, 0, 0, tzinfo=UTC)
BUDGET_N = 10 * 288 + 1
BUDGET_LABELS = {
    "a": {"budget": "infra", "component": "storage"},
    "b": {"budget": "infra", "component": "ingest"},
}


def _two_cost_series(stop_b_at: int | None = None, b_total: float = 1000.0) -> pd.DataFrame:
    a = np.linspace(0.0, 3000.0, BUDGET_N)
    b = np.linspace(0.0, b_total, BUDGET_N)
    if stop_b_at is not None:
        b[stop_b_at:] = np.nan
    return budget_frame({"a": a, "b": b}, BUDGET_AT)


def test_budget_burn_one_cost_series_stops_reporting_is_no_data() -> None:
    """The combined set stays fresh (series a reports), but b's spend since day 5 is unknown."""
    ok = judge_budget(_two_cost_series(), BUDGET_LABELS, **_budget_kw(BUDGET_AT))  # type: ignore[arg-type]
    assert ok.status is Status.PASS  # positive control
    stopped = _two_cost_series(stop_b_at=5 * 288)
    j = judge_budget(stopped, BUDGET_LABELS, **_budget_kw(BUDGET_AT))  # type: ignore[arg-type]
    assert j.status is Status.NO_DATA
    (reason,) = j.reasons
    assert "cost series {budget=infra, component=ingest} stopped reporting" in reason
    assert "last sample at 2025-04-05 23:55 UTC" in reason
    assert "month-to-date spend unknown" in reason


def test_budget_burn_cost_series_silent_mid_month_is_no_data_but_late_start_is_fine() -> None:
    silent = _two_cost_series()
    silent.iloc[1000:1100, 1] = np.nan  # 100 steps of 5m: over 8 hours without a sample
    j = judge_budget(silent, BUDGET_LABELS, **_budget_kw(BUDGET_AT))  # type: ignore[arg-type]
    assert j.status is Status.NO_DATA
    assert "component=ingest} was silent for 8h20m" in j.reasons[0]
    late = _two_cost_series()
    late.iloc[:1000, 1] = np.nan  # a component that started on day 4 is new spend, not a gap
    assert judge_budget(late, BUDGET_LABELS, **_budget_kw(BUDGET_AT)).status is Status.PASS  # type: ignore[arg-type]


def test_budget_burn_definite_breach_still_fails_with_a_stale_series() -> None:
    over = _two_cost_series(stop_b_at=5 * 288, b_total=30000.0)  # 15k by day 5, plus 3k
    j = judge_budget(over, BUDGET_LABELS, **_budget_kw(BUDGET_AT))  # type: ignore[arg-type]
    assert j.status is Status.FAIL


# ---- properties --------------------------------------------------------------------------


@pytest.mark.property
@given(
    st.lists(
        st.floats(min_value=0, max_value=0.35, allow_nan=False) | st.just(np.nan),
        min_size=steps(),
        max_size=steps(),
    ),
    st.integers(min_value=0, max_value=steps() - 1),
    st.floats(min_value=0.350001, allow_nan=False, allow_infinity=False),
)
def test_property_any_finite_violating_step_is_never_pass(
    values: list[float], where: int, violating: float
) -> None:
    series = np.asarray(values, dtype=np.float64)
    series[where] = violating
    assert judge(series).status is Status.FAIL
