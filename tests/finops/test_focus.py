"""FOCUS exports -> budget figures: one fixture per case of issue 13 (tests/fixtures/focus,
written by make_focus_fixtures.py), expected figures by hand arithmetic, never the library's."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import pytest

from igkit import finops
from igkit.errors import ConfigError
from igkit.finops import Budget, BudgetFigures, CostDataError, read_focus
from igkit.spec.finops import FinopsSpec
from igkit.spec.loader import load_matrix
from igkit.verdicts import Status

FOCUS = Path(__file__).resolve().parents[1] / "fixtures" / "focus"
MATRIX = load_matrix(None).matrix
SPEC = MATRIX.finops
BUDGETS = finops.matrix_budgets(MATRIX)
NAMES = [b.name for b in BUDGETS]
APRIL_11 = datetime(2025, 4, 11, tzinfo=UTC)  # 10 of April's 30 days elapsed
INFRA = 18000.0


def _lines(name: str) -> list[str]:
    return (FOCUS / name).read_text(encoding="utf-8").splitlines()


def figures(
    name: str, at: datetime = APRIL_11, spec: FinopsSpec = SPEC
) -> dict[str, BudgetFigures]:
    read = read_focus(FOCUS / name, spec, budgets=NAMES)
    return {f.budget: f for f in finops.budget_figures(read.costs, BUDGETS, at, spec)}


def test_shipped_matrix_has_the_budgets_these_tests_assume() -> None:
    assert {b.name: b.budget_usd for b in BUDGETS} == {"infra": INFRA, "llm": 5000.0}
    assert SPEC.currency == "USD"
    assert SPEC.run_rate_days == 7
    assert not SPEC.tax_in_burn


def test_currency_mismatch_is_an_error_naming_the_currency_unless_a_rate_is_set() -> None:
    with pytest.raises(
        CostDataError, match=r"currency_eur.csv: rows 1, 2.*BillingCurrency 'EUR'.*USD"
    ):
        read_focus(FOCUS / "currency_eur.csv", SPEC)
    converting = SPEC.model_copy(update={"rates": {"EUR": 1.08}})
    read = read_focus(FOCUS / "currency_eur.csv", converting, budgets=NAMES)
    assert read.conversions == {"EUR": {"rate": 1.08, "rows": 10.0}}  # the evidence
    infra = {f.budget: f for f in finops.budget_figures(read.costs, BUDGETS, APRIL_11, converting)}
    assert infra["infra"].month_to_date == pytest.approx(10 * 100 * 1.08)
    # positive control: the same file in USD reads without a rate
    usd = FOCUS / "credits.csv"
    assert read_focus(usd, SPEC).conversions == {}


def test_credits_reduce_the_period_they_apply_to() -> None:
    infra = figures("credits.csv")["infra"]
    # 10 days x 100, an April credit of 150; March's credit of 500 is March's
    assert infra.month_to_date == pytest.approx(1000 - 150)
    assert infra.linear_projection == pytest.approx(850 * 30 / 10)
    # run-rate: April 4..10 = 7 x 100 - 150, per day, x 20 days left
    assert infra.run_rate_projection == pytest.approx(850 + (700 - 150) / 7 * 20)
    assert infra.driver == "linear"
    march = figures("credits.csv", datetime(2025, 4, 1, tzinfo=UTC))["infra"]
    assert march.month_to_date is None
    assert march.status is Status.NO_DATA


def test_amortized_purchase_is_spread_over_the_commitment_term() -> None:
    infra = figures("amortized_purchase.csv")["infra"]
    # 3,650 over 365 days = 10/day, 10 days of it; not 3,650 on April 1st
    assert infra.month_to_date == pytest.approx(10 * 100 + 10 * 10)
    assert infra.linear_projection == pytest.approx((1000 + 100) * 3)
    shorter = SPEC.model_copy(update={"commitment_term": SPEC.commitment_term / 365 * 73})
    assert figures("amortized_purchase.csv", spec=shorter)["infra"].month_to_date == pytest.approx(
        1000 + 3650 / 73 * 10
    )


def test_effective_cost_is_not_counted_twice() -> None:
    infra = figures("amortized_effective.csv")["infra"]
    # usage rows carry the amortized 100/day; the purchase row's EffectiveCost is 0
    assert infra.month_to_date == pytest.approx(1000)


def test_a_commitment_purchase_with_effective_cost_is_refused(tmp_path: Path) -> None:
    rows = list(csv.DictReader(_lines("amortized_effective.csv")))
    rows[-1]["EffectiveCost"] = "3650.00"
    bad = tmp_path / "double.csv"
    with bad.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    with pytest.raises(CostDataError, match=r"double.csv: row 11: a commitment Purchase .* twice"):
        read_focus(bad, SPEC)


def test_tax_is_reported_apart_unless_the_matrix_counts_it() -> None:
    infra = figures("tax.csv")["infra"]
    assert (infra.month_to_date, infra.tax) == (pytest.approx(1000), pytest.approx(100))
    counted = figures("tax.csv", spec=SPEC.model_copy(update={"tax_in_burn": True}))["infra"]
    assert (counted.month_to_date, counted.tax) == (pytest.approx(1100), pytest.approx(100))


def test_a_correction_counts_in_its_billing_period() -> None:
    infra = figures("correction.csv")["infra"]
    # the March charge corrected by -200 is billed in April: it lowers April
    assert infra.month_to_date == pytest.approx(1000 - 200)
    assert infra.run_rate_projection == pytest.approx(800 + 700 / 7 * 20)  # April 1st: not trailing
    assert infra.driver == "run_rate"


def test_untagged_rows_are_unallocated_with_their_amount() -> None:
    read = read_focus(FOCUS / "untagged.csv", SPEC, budgets=NAMES)
    got = {f.budget: f for f in finops.budget_figures(read.costs, BUDGETS, APRIL_11, SPEC)}
    assert got["infra"].month_to_date == pytest.approx(1000)
    assert got["llm"].month_to_date == pytest.approx(500)  # the ServiceName rule
    assert finops.unallocated(read.costs, APRIL_11) == pytest.approx(200)  # "Support", untagged
    no_max = SPEC.model_copy(update={"unallocated_max_share": None})
    status, reason = finops.unallocated_check(read.costs, APRIL_11, no_max)
    assert status is Status.PASS
    assert "no finops.unallocated_max_share" in reason
    assert SPEC.unallocated_max_share == pytest.approx(0.10)  # the shipped matrix's maximum
    status, reason = finops.unallocated_check(read.costs, APRIL_11, SPEC)
    assert status is Status.FAIL  # 200 / 1,700 = 11.8 % > 10 %
    assert "USD 200.00 = 11.8% of month-to-date USD 1,700.00, over the 10.0% maximum" in reason
    lenient = SPEC.model_copy(update={"unallocated_max_share": 0.12})
    assert finops.unallocated_check(read.costs, APRIL_11, lenient)[0] is Status.PASS


def test_budget_names_outside_the_matrix_are_unallocated() -> None:
    read = read_focus(FOCUS / "untagged.csv", SPEC, budgets=["llm"])
    assert finops.unallocated(read.costs, APRIL_11) == pytest.approx(1200)


def test_step_up_on_day_12_run_rate_drives() -> None:
    at = datetime(2025, 4, 19, tzinfo=UTC)  # 18 days elapsed, 12 left
    infra = figures("stepup.csv", at)["infra"]
    mtd = 11 * 365 + 7 * 1077
    assert infra.month_to_date == pytest.approx(mtd)
    assert infra.linear_projection == pytest.approx(mtd * 30 / 18)
    assert infra.run_rate_projection == pytest.approx(mtd + 1077 * 12)
    assert round(infra.linear_projection / INFRA * 100) == 107
    assert round(infra.run_rate_projection / INFRA * 100) == 136
    assert infra.driver == "run_rate"
    assert infra.projected_share == pytest.approx((mtd + 1077 * 12) / INFRA)
    linear = figures("stepup.csv", at, SPEC.model_copy(update={"projection": "linear"}))["infra"]
    assert linear.driver == "linear"
    assert linear.projected_share == pytest.approx(mtd * 30 / 18 / INFRA)


def test_less_history_than_the_minimum_gives_no_projection() -> None:
    at = datetime(2025, 4, 1, 18, tzinfo=UTC)  # 18 h into April
    infra = figures("credits.csv", at)["infra"]
    assert infra.status is Status.NO_DATA
    assert infra.month_to_date == pytest.approx(100)  # known, just too little to project
    assert infra.linear_projection is None
    assert infra.run_rate_projection is None
    assert infra.driver is None
    assert infra.projected_share is None
    assert "only 18h of cost history" in infra.reasons[0]
    assert "finops.min_history" in infra.reasons[0]
    # positive control: at 24 h it projects
    assert figures("credits.csv", datetime(2025, 4, 2, tzinfo=UTC))["infra"].status is Status.PASS


def test_data_ending_long_before_the_evaluation_is_no_data() -> None:
    read = read_focus(FOCUS / "credits.csv", SPEC, budgets=NAMES)
    assert read.lag_problem(APRIL_11, SPEC) is None  # ends April 11 00:00
    late = datetime(2025, 4, 20, tzinfo=UTC)
    problem = read.lag_problem(late, SPEC)
    assert problem is not None
    assert "FOCUS data ends 2025-04-11 00:00 UTC" in problem
    got = finops.budget_figures(
        read.costs, BUDGETS, late, SPEC, unknown=dict.fromkeys(NAMES, problem)
    )
    assert all(f.status is Status.NO_DATA and f.month_to_date is None for f in got)


def _copy_with(
    tmp_path: Path, edit: dict[str, str], row: int = 0, header: list[str] | None = None
) -> Path:
    rows = list(csv.reader(_lines("credits.csv")))
    names = rows[0]
    if header is not None:
        rows[0] = header
    for column, value in edit.items():
        rows[row + 1][names.index(column)] = value
    out = tmp_path / "edited.csv"
    with out.open("w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return out


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ({"BilledCost": "nan"}, r"row 1: BilledCost 'nan' is not a finite number"),
        ({"BilledCost": ""}, r"row 1: BilledCost '' is not a finite number"),
        ({"BilledCost": "12,5"}, r"row 1: BilledCost '12,5' is not a finite number"),
        ({"ChargePeriodStart": "yesterday"}, r"row 1: ChargePeriodStart 'yesterday' is not a date"),
        ({"ChargeCategory": "Refund"}, r"row 1: ChargeCategory 'Refund' is not Usage"),
        ({"Tags": "[1, 2]"}, r"row 1: Tags is not a JSON object"),
        ({"Tags": '{"budget": "infra", "budget": "llm"}'}, r"row 1: Tags"),
        ({"ChargeCategory": "Credit"}, r"row 1: a Credit with a positive cost"),
    ],
)
def test_malformed_rows_are_one_line_errors(
    tmp_path: Path, edit: dict[str, str], message: str
) -> None:
    with pytest.raises(CostDataError, match=message) as caught:
        read_focus(_copy_with(tmp_path, edit), SPEC)
    assert "\n" not in str(caught.value)
    assert "edited.csv" in str(caught.value)


def test_ragged_rows_are_refused_not_shifted(tmp_path: Path) -> None:
    lines = _lines("credits.csv")
    width = len(next(csv.reader(lines[:1])))
    long = tmp_path / "long.csv"
    long.write_text("\n".join([lines[0], lines[1] + ",x,y", *lines[2:]]) + "\n", encoding="utf-8")
    with pytest.raises(
        CostDataError, match=rf"long.csv: row 1: {width + 2} fields, the header has {width}"
    ):
        read_focus(long, SPEC)
    short = tmp_path / "short.csv"
    short.write_text("\n".join([*lines[:3], "a,b,c", *lines[3:]]) + "\n", encoding="utf-8")
    with pytest.raises(CostDataError, match=rf"short.csv: row 3: 3 fields, the header has {width}"):
        read_focus(short, SPEC)


def test_positive_control_the_unedited_copy_reads(tmp_path: Path) -> None:
    read = read_focus(_copy_with(tmp_path, {}), SPEC, budgets=NAMES)
    assert read.costs["cost"].sum() == pytest.approx(1000 - 150 - 500)


def test_duplicate_and_missing_columns_are_refused(tmp_path: Path) -> None:
    names = next(csv.reader(_lines("credits.csv")))
    dup = [*names[:-1], "BilledCost"]
    with pytest.raises(CostDataError, match=r"edited.csv: duplicate column\(s\) BilledCost"):
        read_focus(_copy_with(tmp_path, {}, header=dup), SPEC)
    gone = ["x" if n == "BillingCurrency" else n for n in names]
    with pytest.raises(CostDataError, match=r"missing column\(s\) BillingCurrency"):
        read_focus(_copy_with(tmp_path, {}, header=gone), SPEC)


def test_cost_frame_has_the_contract_columns() -> None:
    costs = read_focus(FOCUS / "tax.csv", SPEC).costs
    assert list(costs.columns) == finops.COST_COLUMNS
    assert str(costs["time"].dtype) == "datetime64[ns, UTC]"
    assert set(costs["category"]) == {"usage", "tax"}
    assert set(costs["source"]) == {"focus"}


def test_allocation_rule_keys_and_patterns_are_validated() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="not a regular expression"):
        FinopsSpec.model_validate({"allocation": [{"match": {"ServiceName": "("}, "budget": "x"}]})
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        FinopsSpec.model_validate({"currency": "USD", "curency": "EUR"})
    with pytest.raises(ValidationError, match=r"rates\.EUR: must be > 0"):
        FinopsSpec.model_validate({"rates": {"EUR": 0}})
    ok = FinopsSpec.model_validate(
        {"allocation": [{"match": {"x_Team": "data.*"}, "budget": "infra"}]}
    )
    assert ok.allocation[0].budget == "infra"


def test_x_column_allocation_rule(tmp_path: Path) -> None:
    rows = list(csv.DictReader(_lines("untagged.csv")))
    for r in rows:
        r["x_Team"] = "support" if r["ServiceName"] == "Support" else ""
    path = tmp_path / "x.csv"
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    rule = {"match": {"x_Team": "support"}, "budget": "infra", "component": "support"}
    spec = SPEC.model_copy(
        update={
            "allocation": [
                *SPEC.allocation,
                FinopsSpec.model_validate({"allocation": [rule]}).allocation[0],
            ]
        }
    )
    read = read_focus(path, spec, budgets=NAMES)
    assert finops.unallocated(read.costs, APRIL_11) == 0
    support = read.costs[read.costs["component"] == "support"]
    assert support["budget"].unique().tolist() == ["infra"]
    assert support["cost"].sum() == pytest.approx(200)


def test_budget_without_limit_is_never_reported_as_a_budget() -> None:
    only_infra = [Budget(name="infra", budget_usd=INFRA, alert_pct=80)]
    read = read_focus(FOCUS / "untagged.csv", SPEC, budgets=["infra"])
    got = finops.budget_figures(read.costs, only_infra, APRIL_11, SPEC)
    assert [f.budget for f in got] == ["infra"]


def test_unit_costs_over_the_gates_window_in_the_matrix_units() -> None:
    read = read_focus(FOCUS / "untagged.csv", SPEC, budgets=NAMES)
    got = {u.objective: u for u in finops.focus_unit_costs(read.usage, MATRIX, APRIL_11)}
    ingest = got["G6/ingest_unit_cost"]
    # the 60 m window [Apr 10 23:00, Apr 11) holds 1/24 of the April 10 row: 100 USD for 2M events
    assert ingest.cost == pytest.approx(100 / 24)
    assert ingest.quantity == pytest.approx(2_000_000 / 24)
    assert ingest.value == pytest.approx(100 / 2_000_000 * 1000)  # USD per 1k events
    assert ingest.unit == "USD/1k"
    assert ingest.status is Status.PASS
    graphql = got["G6/graphql_unit_cost"]  # no ConsumedQuantity for graphql in this file
    assert graphql.status is Status.NO_DATA
    assert graphql.value is None
    assert "no ConsumedQuantity for component 'graphql'" in graphql.reason
    # the same rows priced 3x are over the matrix's 0.10 USD/1k target
    read3 = read.usage.assign(cost=read.usage["cost"] * 3)
    over = {u.objective: u for u in finops.focus_unit_costs(read3, MATRIX, APRIL_11)}
    assert over["G6/ingest_unit_cost"].status is Status.FAIL
    assert "0.15 USD/1k" in over["G6/ingest_unit_cost"].reason


def test_an_allocation_rule_for_an_unknown_budget_is_refused_at_load() -> None:
    from igkit.spec.loader import parse_matrix

    text = (Path(__file__).resolve().parents[2] / "igkit" / "spec" / "default.yaml").read_text()
    assert parse_matrix(text, source="m.yaml").matrix.finops.allocation  # the shipped rules load
    bad = text.replace("budget: llm, component: llm}", "budget: lmm, component: llm}")
    assert bad != text
    with pytest.raises(
        ConfigError, match=r"finops.allocation: budget\(s\) lmm match no budget_burn"
    ):
        parse_matrix(bad, source="m.yaml")


def test_a_realistic_focus_1_1_export_in_eur_with_every_case_at_once() -> None:
    """UTF-8 BOM, CRLF, 30 FOCUS 1.1 columns; commitment-covered usage (EffectiveCost), unused
    commitment, the commitment purchase (EffectiveCost 0), a credit, tax, a March correction
    billed in April, an untagged support line and LLM rows mapped by ServiceName."""
    path = FOCUS / "realistic_focus_1_1.csv"
    with pytest.raises(CostDataError, match="BillingCurrency 'EUR'"):
        read_focus(path, SPEC, budgets=NAMES)
    eur = SPEC.model_copy(update={"rates": {"EUR": 1.08}})
    read = read_focus(path, eur, budgets=NAMES)
    assert read.conversions["EUR"]["rate"] == 1.08
    got = {f.budget: f for f in finops.budget_figures(read.costs, BUDGETS, APRIL_11, eur)}
    infra_eur = 10 * (50 + 5 + 20) - 30  # used + unused commitment + storage, minus the credit
    llm_eur = 10 * 30 - 15  # the correction of a March charge, billed in April
    assert got["infra"].month_to_date == pytest.approx(infra_eur * 1.08)
    assert got["infra"].tax == pytest.approx(10 * 2 * 1.08)
    assert got["llm"].month_to_date == pytest.approx(llm_eur * 1.08)
    assert finops.unallocated(read.costs, APRIL_11) == pytest.approx(10 * 4 * 1.08)
    assert got["infra"].currency == "USD"
    assert got["infra"].status is got["llm"].status is Status.PASS
