"""Hypothesis properties of the one month-to-date and the FOCUS reader."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from igkit import finops
from igkit.finops.mtd import counter_month_to_date, month_to_date_by_budget, step_spend
from igkit.spec.finops import FinopsSpec

APRIL = datetime(2025, 4, 1, tzinfo=UTC)
money = st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False)


def _frame(daily: list[float], category: str = "usage") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "time": pd.to_datetime(
                [APRIL + timedelta(days=i) for i in range(len(daily))], utc=True
            ),
            "budget": "infra",
            "component": "x",
            "category": category,
            "cost": daily,
            "source": "focus",
        },
        columns=finops.COST_COLUMNS,
    )


@pytest.mark.property
@given(st.lists(money, min_size=1, max_size=30), st.integers(1, 29), st.integers(1, 29))
def test_month_to_date_is_monotone_in_time_for_non_negative_usage(
    daily: list[float], a: int, b: int
) -> None:
    costs = _frame(daily)
    early, late = sorted((a, b))
    at_early, at_late = APRIL + timedelta(days=early), APRIL + timedelta(days=late)  # in April
    mtd_early = month_to_date_by_budget(costs, at_early).get("infra", 0.0)
    mtd_late = month_to_date_by_budget(costs, at_late).get("infra", 0.0)
    assert mtd_early <= mtd_late
    assert mtd_late == pytest.approx(sum(daily[:late]))  # plain arithmetic


@pytest.mark.property
@given(
    st.lists(money, min_size=1, max_size=30),
    st.floats(min_value=0, max_value=1e6, allow_nan=False),
    st.integers(0, 29),
    st.integers(1, 30),
)
def test_adding_a_credit_never_raises_month_to_date(
    daily: list[float], credit: float, day: int, at_day: int
) -> None:
    costs = _frame(daily)
    credited = pd.concat(
        [costs, _frame([-credit], "credit").assign(time=APRIL + timedelta(days=day))],
        ignore_index=True,
    )
    at = APRIL + timedelta(days=at_day)
    before = month_to_date_by_budget(costs, at).get("infra", 0.0)
    after = month_to_date_by_budget(credited, at).get("infra", 0.0)
    assert after <= before + 1e-9 * max(1.0, abs(before))


@pytest.mark.property
@given(st.lists(st.floats(min_value=0, max_value=1e4, allow_nan=False), min_size=2, max_size=60))
def test_counter_spend_of_a_monotone_counter_is_its_increase(increments: list[float]) -> None:
    values = np.cumsum(np.asarray(increments))[:, None]
    ts = np.arange(len(values), dtype=np.float64) * 300_000 + APRIL.timestamp() * 1000
    at = datetime.fromtimestamp(ts[-1] / 1000, UTC)
    counted = counter_month_to_date(
        values, ts, ["{x}"], step_s=300, max_gap_s=600, max_staleness_s=600, at=at
    )
    assert counted.problem is None
    assert counted.total == pytest.approx(values[-1, 0] - values[0, 0], abs=1e-6)
    assert step_spend(values).min() >= 0


@pytest.mark.property
@given(
    st.lists(
        st.tuples(
            st.integers(0, 9),
            st.sampled_from(["Usage", "Credit", "Tax", "Adjustment"]),
            st.floats(min_value=0, max_value=1e5, allow_nan=False).map(lambda v: round(v, 2)),
            st.sampled_from(["infra", "llm", ""]),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_focus_budgets_plus_unallocated_is_every_non_tax_row(
    tmp_path_factory: pytest.TempPathFactory, rows: list[tuple[int, str, float, str]]
) -> None:
    """Nothing is dropped: the budgets' month-to-date and the unallocated amount add up to the
    plain sum of the file's non-tax costs (credits negative); tax is reported apart."""
    path = Path(tmp_path_factory.mktemp("focus")) / "x.csv"
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(
            [
                "ChargePeriodStart",
                "ChargePeriodEnd",
                "ChargeCategory",
                "ServiceName",
                "BilledCost",
                "BillingCurrency",
                "Tags",
            ]
        )
        for day, category, amount, budget in rows:
            start = APRIL + timedelta(days=day)
            cost = -amount if category == "Credit" else amount
            tags = json.dumps({"budget": budget}) if budget else ""
            writer.writerow(
                [
                    f"{start:%Y-%m-%dT%H:%M:%SZ}",
                    f"{start + timedelta(days=1):%Y-%m-%dT%H:%M:%SZ}",
                    category,
                    "S",
                    cost,
                    "USD",
                    tags,
                ]
            )
    spec = FinopsSpec(budget_tag="budget")
    costs = finops.read_focus(path, spec, budgets=["infra", "llm"]).costs
    at = APRIL + timedelta(days=10)
    mtd = month_to_date_by_budget(costs, at)
    expected = sum(-a if c == "Credit" else a for _, c, a, _ in rows if c != "Tax")
    assert float(mtd.sum()) == pytest.approx(expected, abs=1e-6)
    unallocated = sum(-a if c == "Credit" else a for _, c, a, b in rows if c != "Tax" and not b)
    assert finops.unallocated(costs, at) == pytest.approx(unallocated, abs=1e-6)
