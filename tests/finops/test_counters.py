"""Cost counters -> budget figures: the same month-to-date G6 judges, stale series NO_DATA,
and both projections in G6's details."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from igkit.finops import Budget
from igkit.finops.figures import counter_figures
from igkit.judge.rules import judge_budget
from igkit.spec.finops import FinopsSpec
from igkit.spec.models import BudgetBurn, Comparison, ResolvedSettings, Threshold
from igkit.units import Unit
from igkit.verdicts import Status

MONTH = datetime(2025, 4, 1, tzinfo=UTC)
STEP = timedelta(hours=1)
SETTINGS = ResolvedSettings(
    step=STEP,
    rate=STEP,
    max_gap=timedelta(hours=3),
    max_staleness=timedelta(hours=2),
    min_coverage=0.5,
)
BUDGET = Budget(name="infra", budget_usd=18000, alert_pct=80)
SPEC = FinopsSpec()


def _wide(
    days: float, per_hour: dict[str, float], *, stop_after: dict[str, int] | None = None
) -> pd.DataFrame:
    n = int(days * 24) + 1
    index = pd.Index(
        (MONTH.timestamp() + np.arange(n) * 3600).astype(np.int64) * 1000, name="timestamp_ms"
    )
    columns = {}
    for name, rate in per_hour.items():
        values = np.arange(n, dtype=np.float64) * rate
        if stop_after and name in stop_after:
            values[stop_after[name] :] = np.nan
        columns[name] = values
    return pd.DataFrame(columns, index=index)


LABELS = {
    "a": {"budget": "infra", "component": "ingest"},
    "b": {"budget": "infra", "component": "storage"},
}


def test_counter_figures_match_plain_arithmetic() -> None:
    at = MONTH + timedelta(days=10)
    wide = _wide(10, {"a": 3.0, "b": 2.0})
    costs, fig = counter_figures(wide, LABELS, budget=BUDGET, settings=SETTINGS, at=at, spec=SPEC)
    assert fig.status is Status.PASS
    assert fig.month_to_date == pytest.approx(240 * 5.0)  # 240 hours x 5 USD
    assert fig.linear_projection == pytest.approx(1200 * 30 / 10)
    assert fig.run_rate_projection == pytest.approx(1200 + 5.0 * 24 * 20)
    assert set(costs["category"]) == {"usage"}
    assert set(costs["source"]) == {"prometheus"}
    assert costs["time"].min() == pd.Timestamp(MONTH)  # a row is the step [time, time + step)


def test_a_stale_cost_series_makes_the_figures_no_data() -> None:
    at = MONTH + timedelta(days=10)
    wide = _wide(10, {"a": 3.0, "b": 2.0}, stop_after={"b": 200})
    _, fig = counter_figures(wide, LABELS, budget=BUDGET, settings=SETTINGS, at=at, spec=SPEC)
    assert fig.status is Status.NO_DATA
    assert fig.month_to_date is None
    assert "cost series {budget=infra, component=storage} stopped reporting" in fig.reasons[0]
    # positive control: the same series reporting to the end
    _, honest = counter_figures(
        _wide(10, {"a": 3.0, "b": 2.0}), LABELS, budget=BUDGET, settings=SETTINGS, at=at, spec=SPEC
    )
    assert honest.status is Status.PASS


def test_a_series_appearing_mid_month_counts_from_its_first_value() -> None:
    at = MONTH + timedelta(days=10)
    wide = _wide(10, {"a": 3.0, "b": 2.0})
    wide.iloc[:100, 1] = np.nan  # b appears at hour 100 holding 200 USD already
    _, fig = counter_figures(wide, LABELS, budget=BUDGET, settings=SETTINGS, at=at, spec=SPEC)
    assert fig.status is Status.PASS
    assert fig.month_to_date == pytest.approx(240 * 3.0 + 240 * 2.0)


def _judge(wide: pd.DataFrame, at: datetime) -> dict[str, float | str | None]:
    judged = judge_budget(
        wide,
        LABELS,
        comparison=Comparison.LT,
        threshold=Threshold(value=80, unit=Unit("percent")),
        rule=BudgetBurn(kind="budget_burn", budget_usd=18000, step=STEP),
        settings=SETTINGS,
        at=at,
        what="G6 infra_budget_burn",
        finops=SPEC,
    )
    return judged.details


def test_g6_details_carry_both_projections_and_the_driver() -> None:
    at = MONTH + timedelta(days=10)
    wide = _wide(10, {"a": 3.0, "b": 2.0})
    wide.iloc[-72:, 0] += np.arange(72) * 10.0  # the last 3 days: a spends 13/h
    details = _judge(wide, at)
    mtd = 240 * 5.0 + 71 * 10.0
    assert details["month_to_date_usd"] == pytest.approx(mtd)
    assert details["projected_month_end_usd"] == pytest.approx(mtd * 3, abs=0.01)
    trailing = 168 * 5.0 + 71 * 10.0  # the last 7 days
    assert details["run_rate_projection_usd"] == pytest.approx(mtd + trailing / 7 * 20, abs=0.01)
    assert details["projection_driver"] == "run_rate"
    assert details["driving_projected_share"] == pytest.approx(
        (mtd + trailing / 7 * 20) / 18000, abs=1e-6
    )


def test_g6_refuses_to_project_under_min_history() -> None:
    at = MONTH + timedelta(hours=20)
    details = _judge(_wide(20 / 24, {"a": 3.0, "b": 2.0}), at)
    assert details["projected_month_end_usd"] is None
    assert details["run_rate_projection_usd"] is None
    assert "only 20h of cost history" in str(details["projection_note"])
    # positive control: a day in, both projections are there
    later = _judge(_wide(1, {"a": 3.0, "b": 2.0}), MONTH + timedelta(days=1))
    assert later["projected_month_end_usd"] == pytest.approx(120.0 * 30, abs=0.01)
    assert later["projection_note"] is None


def test_the_projection_warning_names_the_driving_projection() -> None:
    from igkit.judge.spend import projection_warning
    from igkit.spec.loader import load_matrix

    ladder = load_matrix(None).matrix.cost_ladder
    at = MONTH + timedelta(days=18)
    wide = _wide(18, {"a": 5.0, "b": 2.0})
    wide.iloc[-168:, 0] += np.arange(168) * 30.0  # the last 7 days: a spends 35/h
    details = _judge(wide, at)
    assert details["projection_driver"] == "run_rate"
    warning = projection_warning(
        details, what="G6 infra_budget_burn", alert_share=0.8, ladder=ladder
    )
    assert warning is not None
    driving = float(details["driving_projection_usd"])  # type: ignore[arg-type]
    assert f"run-rate month-end projection ${driving:,.0f}" in warning
    # the linear projection alone stays under the alert: only the run-rate warns
    linear = float(details["projected_month_end_usd"])  # type: ignore[arg-type]
    assert linear / 18000 < 0.8 <= driving / 18000
    # positive control: a steady month warns about nothing
    steady = _judge(_wide(18, {"a": 5.0, "b": 2.0}), at)
    assert projection_warning(steady, what="G6 x", alert_share=0.8, ladder=ladder) is None
