"""igkit.finops: reset-aware spend, projection, FOCUS CSV, downshift tiers."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from pydantic import ValidationError

from igkit import finops
from igkit.errors import ConfigError, IgkitError
from igkit.explore import load_run
from igkit.finops import explore, views
from igkit.report import finops_notebook, finops_plots
from igkit.report.notebooks import kernel_manager_class, notebooks_dir
from igkit.spec.loader import load_matrix
from igkit.verdicts import Status

SAMPLE = Path(__file__).with_name("focus_sample.csv")
DEFAULT_MATRIX = Path(__file__).resolve().parents[2] / "igkit" / "spec" / "default.yaml"


def _wide(columns: dict[str, list[float]]) -> pd.DataFrame:
    n = len(next(iter(columns.values())))
    index = pd.Index(np.arange(n, dtype=np.int64) * 300_000, name="timestamp_ms")
    return pd.DataFrame(columns, index=index, dtype=np.float64)


def test_step_spend_handles_resets_gaps_and_late_series() -> None:
    wide = _wide(
        {
            "a": [10, 12, 15, 3, 5],  # reset after 15: 3 is new spend
            "b": [np.nan, np.nan, 4, 6, 6],  # appears late: its first value counts
            "c": [1, np.nan, np.nan, 2, 2],  # gap: spend shows when seen again
        }
    )
    spend = finops.step_spend(wide)
    assert spend["a"].tolist() == [0, 2, 3, 3, 2]
    assert spend["b"].tolist() == [0, 0, 4, 2, 0]
    assert spend["c"].tolist() == [0, 0, 0, 1, 0]
    assert finops.cumulative_spend(wide).iloc[-1].tolist() == [10, 6, 1]


def test_snapshot_costs_match_the_budget_rule() -> None:
    run = load_run("")
    costs = finops.costs_from_run(run)
    assert list(costs.columns) == finops.COST_COLUMNS
    alerts = {b.name: b.alert_pct for b in finops.run_budgets(run)}
    for objective in run.gate("G6").objectives:
        if not objective.name.endswith("_budget_burn"):
            continue
        budget = objective.name.removesuffix("_budget_burn")
        usd = float(objective.details["budget_usd"])  # type: ignore[arg-type]
        frame = finops.burn(costs, budget, usd, alert_pct=alerts[budget])
        last = frame.iloc[-1]
        assert last["month_to_date_usd"] == pytest.approx(objective.details["month_to_date_usd"])
        # the demo is 3 h 30 m into the month: under finops.min_history G6 projects nothing
        assert objective.details["projected_month_end_usd"] is None
        assert "finops.min_history" in str(objective.details["projection_note"])
        assert frame["month_to_date_usd"].is_monotonic_increasing
    by_component = finops.spend_by_component(costs)
    assert by_component["cost_usd"].is_monotonic_decreasing
    assert set(by_component["component"]) == {"ingest", "llm", "storage", "neo4j", "graphql"}
    unit = finops.unit_costs_from_run(run)
    assert list(unit.columns) == ["ingest_unit_cost (USD/1k)", "graphql_unit_cost (USD/1M)"]


def test_projection() -> None:
    from igkit.judge.spend import projection

    at = datetime(2025, 3, 16, tzinfo=UTC)  # 15 of 31 days elapsed
    assert projection(150.0, at) == pytest.approx(150 * 31 / 15)
    assert projection(10.0, datetime(2025, 3, 1, tzinfo=UTC)) is None


@pytest.mark.property
@given(
    st.lists(
        st.lists(
            st.one_of(st.just(np.nan), st.floats(0, 1e6, allow_nan=False)), min_size=3, max_size=3
        ),
        min_size=2,
        max_size=40,
    )
)
def test_finops_spend_is_the_spend_g6_judges(rows: list[list[float]]) -> None:
    """Resets, gaps and late series: the FinOps view and the G6 rule count the same dollars."""
    from igkit.judge.rules import judge_budget
    from igkit.spec.models import BudgetBurn, Comparison, ResolvedSettings, Threshold
    from igkit.units import Unit

    at = datetime(2025, 3, 16, tzinfo=UTC)
    start_ms = int(datetime(2025, 3, 1, tzinfo=UTC).timestamp() * 1000)
    index = pd.Index(start_ms + np.arange(len(rows), dtype=np.int64) * 300_000)
    wide = pd.DataFrame(rows, index=index, columns=["a", "b", "c"], dtype=np.float64)
    judged = judge_budget(
        wide,
        {},
        comparison=Comparison.LT,
        threshold=Threshold(value=80, unit=Unit.PERCENT),
        rule=BudgetBurn(kind="budget_burn", budget_usd=1000.0),
        settings=ResolvedSettings(
            step=timedelta(minutes=5),
            rate=timedelta(minutes=5),
            max_gap=timedelta(days=30),
            max_staleness=timedelta(days=30),
            min_coverage=0.0,
        ),
        at=at,
        what="G6",
    )
    viewed = float(finops.cumulative_spend(wide).iloc[-1].sum())
    assert judged.details["month_to_date_usd"] == pytest.approx(round(viewed, 6), abs=1e-6)


def test_month_to_date_restarts_each_month() -> None:
    costs = pd.DataFrame(
        {
            "time": pd.to_datetime(
                ["2025-02-27", "2025-02-28", "2025-03-01", "2025-03-02"], utc=True
            ),
            "budget": "infra",
            "component": "x",
            "category": "usage",
            "cost": [10.0, 20.0, 5.0, 7.0],
            "source": "focus",
        }
    )
    assert finops.month_to_date(costs, "infra").tolist() == [10, 30, 5, 12]
    frame = finops.burn(costs, "infra", 100.0, alert_pct=20)
    assert frame["over_alert"].tolist() == [False, True, False, False]
    # a row covers [time, time + 1 day): 12 USD by the end of March 2 of 31 days -> 186
    assert frame["projected_usd"].iloc[-1] == pytest.approx(12 * 31 / 2)


def test_read_focus_csv() -> None:
    costs = finops.read_focus_csv(SAMPLE, load_matrix(None).matrix.finops)
    assert costs["time"].dt.tz is not None
    # EffectiveCost (amortized) when the export has it
    assert costs["cost"].sum() == pytest.approx(3 * (189 + 31.5 + 54 + 126 + 49.5) + 12.5)
    assert set(costs["budget"]) == {"infra", "llm", "unallocated"}  # untagged row: shown apart
    assert "Neo4j Aura" in set(costs["component"])  # no component tag -> ServiceName
    frame = finops.burn(costs, "infra", 18000, alert_pct=80)
    assert frame["month_to_date_usd"].tolist() == [324, 648, 972]
    # each day's cost is accrued at the end of its day: 324/day -> 324 * 31
    assert frame["projected_usd"].tolist() == pytest.approx([324 * 31] * 3)
    ranged = finops.filter_range(costs, "2025-03-02", "2025-03-02T12:00:00")
    assert ranged["time"].dt.day.unique().tolist() == [2]


def test_read_focus_csv_rejects_other_csv(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(finops.CostDataError, match="missing column"):
        finops.read_focus_csv(path)


@pytest.mark.parametrize(
    ("burn", "projected", "tier"),
    [
        (0.10, 0.50, 0),
        (0.10, None, 0),
        (0.50, 0.10, 1),
        (0.10, 0.80, 1),
        (0.65, 0.70, 2),
        (0.10, 1.00, 3),
        (0.80, 0.80, 4),
        (0.10, 1.30, 5),
        (0.95, 1.00, 5),
        (1.00, 1.00, 6),
        (0.10, 2.00, 6),
        (float("nan"), 0.1, 6),
        (0.1, float("inf"), 6),
    ],
)
def test_downshift_tier(burn: float, projected: float | None, tier: int) -> None:
    assert finops.downshift_tier(burn, projected) == tier


def test_downshift_ladder_validates() -> None:
    assert finops.tier_name(0) == "No action"
    assert finops.tier_name(6) == "Emergency"
    custom = finops.DownshiftLadder(
        burn_share=(0.1, 0.2, 0.3, 0.4, 0.5, 0.6), projected_share=(1.0, 1.1, 1.2, 1.3, 1.4, 1.5)
    )
    assert finops.downshift_tier(0.35, None, custom) == 3
    with pytest.raises(ValidationError, match="strictly increasing"):
        finops.DownshiftLadder(
            burn_share=(0.5, 0.5, 0.7, 0.8, 0.9, 1.0),
            projected_share=(1.0, 1.1, 1.2, 1.3, 1.4, 1.5),
        )


def test_downshift_tiers_vectorised_matches_scalar() -> None:
    burn = np.array([0.1, 0.5, 0.1, 0.8, 1.0, np.nan, 0.1])
    proj = np.array([0.5, 0.1, 1.3, np.nan, 1.0, 0.1, np.inf])
    scalar = [
        finops.downshift_tier(b, None if np.isnan(p) else p)
        for b, p in zip(burn.tolist(), proj.tolist(), strict=True)
    ]
    assert finops.downshift_tiers(burn, proj).tolist() == scalar == [0, 1, 5, 4, 6, 6, 6]


def test_burn_range_trims_rows_not_month_to_date() -> None:
    costs = finops.read_focus_csv(SAMPLE, load_matrix(None).matrix.finops)
    frame = finops.burn(costs, "infra", 18000, alert_pct=80, start="2025-03-02", end="2025-03-02")
    assert frame["month_to_date_usd"].tolist() == [648]


# --------------------------------------------------------------------------- the notebook's views


def _costs(rows: list[tuple[str, str, str, str, float]]) -> pd.DataFrame:
    """A cost frame (contract columns) from (time, budget, component, category, cost) rows."""
    frame = pd.DataFrame(rows, columns=["time", "budget", "component", "category", "cost"])
    frame["time"] = pd.to_datetime(frame["time"], utc=True)
    frame["source"] = "focus"
    return frame


def _ten_days() -> pd.DataFrame:
    """infra/ingest 100 a day (150 on the 9th, a 30 credit on the 4th), llm 20 a day, and
    5 a day nobody owns."""
    rows: list[tuple[str, str, str, str, float]] = []
    for day in range(1, 11):
        when = f"2025-03-{day:02d}"
        rows.append((when, "infra", "ingest", "usage", 150.0 if day == 9 else 100.0))
        rows.append((when, "llm", "llm", "usage", 20.0))
        rows.append((when, "unallocated", "Support", "usage", 5.0))
    rows.append(("2025-03-04", "infra", "ingest", "credit", -30.0))
    return _costs(rows)


def test_money_and_percent_say_unknown_never_nan() -> None:
    assert views.money(18000, "USD") == "$18,000.00"
    assert views.money(-12.5, "EUR") == "-€12.50"
    assert views.money(1234, "CHF", decimals=0) == "1,234 CHF"
    assert views.percent(1.04) == "104.0 %"
    for unknown in (None, float("nan"), float("inf")):
        assert views.money(unknown, "USD") == "—"
        assert views.percent(unknown) == "—"


def test_spend_over_time_by_budget_and_component() -> None:
    costs = _ten_days()
    by_budget = views.spend_over_time(costs, "budget", "1D")
    assert list(by_budget.columns) == ["infra", "llm", "unallocated"]  # largest total first
    assert len(by_budget) == 10
    assert by_budget.loc["2025-03-04", "infra"] == 70.0  # the credit reduces its own day
    assert by_budget.loc["2025-03-09", "infra"] == 150.0
    assert by_budget["infra"].sum() == 9 * 100 + 150 - 30
    assert by_budget["llm"].sum() == 10 * 20
    by_component = views.spend_over_time(costs, "component", "1D")
    assert set(by_component.columns) == {"ingest", "llm", "Support"}
    # a day with no spend is a zero bar, not a missing one
    gap = costs[costs["time"] != pd.Timestamp("2025-03-05", tz="UTC")]
    assert views.spend_over_time(gap, "budget", "1D").loc["2025-03-05"].tolist() == [0.0] * 3


@pytest.mark.property
@given(
    st.lists(
        st.tuples(
            st.integers(0, 24 * 20),
            st.sampled_from(["infra", "llm", "unallocated"]),
            st.sampled_from(["a", "b", ""]),
            st.floats(-1e4, 1e4, allow_nan=False),
        ),
        min_size=1,
        max_size=60,
    ),
    st.sampled_from(["1h", "1D"]),
)
def test_spend_over_time_loses_and_invents_nothing(
    rows: list[tuple[int, str, str, float]], freq: str
) -> None:
    start = pd.Timestamp("2025-03-01", tz="UTC")
    costs = _costs([(str(start + pd.Timedelta(hours=h)), b, c, "usage", v) for h, b, c, v in rows])
    for by in ("budget", "component"):
        table = views.spend_over_time(costs, by, freq)  # type: ignore[arg-type]
        for name, total in costs.groupby(by)["cost"].sum().items():
            assert table[name].sum() == pytest.approx(total, abs=1e-6)
        assert table.index.is_monotonic_increasing
        assert (table.index == table.index.floor(freq)).all()


def test_select_costs_filters_budget_component_and_dates() -> None:
    costs = _ten_days()
    chosen = views.select_costs(costs, budgets="infra", start="2025-03-04", end="2025-03-05")
    assert chosen["cost"].tolist() == [100.0, -30.0, 100.0] or sorted(chosen["cost"]) == [
        -30.0,
        100.0,
        100.0,
    ]
    assert set(chosen["budget"]) == {"infra"}
    assert len(views.select_costs(costs, components=["llm", "Support"])) == 20
    assert len(views.select_costs(costs, budgets="", components="", start="", end="")) == len(costs)
    assert views.select_costs(costs, budgets="nope").empty


def test_top_movers_compare_the_last_complete_day_with_the_trailing_week() -> None:
    costs = _ten_days()
    # at 2025-03-10 05:00 the 10th is not complete: the 9th is compared with the 2nd..8th
    movers = views.top_movers(costs, "2025-03-10T05:00:00Z")
    assert movers["component"].tolist() == ["ingest"]  # llm and Support did not rise
    row = movers.iloc[0]
    mean = (6 * 100 + 70) / 7
    assert row["period"] == pd.Timestamp("2025-03-09", tz="UTC")
    assert row["spend"] == 150.0
    assert row["trailing_mean"] == pytest.approx(mean)
    assert row["change"] == pytest.approx(150 - mean)
    assert row["change_share"] == pytest.approx((150 - mean) / mean)
    # the day after: the 10th (100) is below the week's mean including the 9th
    assert views.top_movers(costs, "2025-03-11T00:00:00Z").empty
    assert views.top_movers(costs, "2025-03-01T12:00:00Z").empty  # nothing complete to compare
    table = explore.movers_table(movers, "USD")
    assert table.loc["ingest", "rise"] == views.money(150 - mean, "USD")


def test_unallocated_month_counts_only_this_month_before_at() -> None:
    costs = pd.concat(
        [_ten_days(), _costs([("2025-02-28", "unallocated", "Support", "usage", 999.0)])]
    )
    spent, share = views.unallocated_month(costs, "2025-03-06T00:00:00Z")  # 1st..5th
    assert spent == 5 * 5.0
    assert share == pytest.approx(25 / (5 * 125 - 30))
    per_day = views.unallocated_over_time(costs[costs["time"] >= "2025-03-01"], "1D")
    assert per_day["unallocated"].tolist() == [5.0] * 10
    assert per_day.loc["2025-03-04", "share"] == pytest.approx(5 / 95)


def _figures(**overrides: object) -> finops.BudgetFigures:
    base: dict[str, object] = {
        "budget": "infra",
        "limit": 1000.0,
        "currency": "USD",
        "at": datetime(2025, 3, 11, tzinfo=UTC),
        "month_to_date": 1020.0,
        "share": 1.02,
        "linear_projection": 1020.0 * 31 / 10,
        "run_rate_projection": 2500.0,
        "driver": "linear",
        "projected_share": 2.697,
        "tax": 0.0,
        "status": Status.PASS,
        "reasons": [],
    }
    return finops.BudgetFigures.model_validate(base | overrides)


def test_month_to_date_frame_draws_the_figures_it_is_given() -> None:
    costs = pd.concat(
        [_ten_days(), _costs([("2025-03-03", "infra", "ingest", "tax", 99.0)])], ignore_index=True
    )
    frame = views.month_to_date_frame(costs, _figures(), alert_share=0.8)
    start, end = pd.Timestamp("2025-03-01", tz="UTC"), pd.Timestamp("2025-04-01", tz="UTC")
    assert frame.index[0] == start
    assert frame.index[-1] == end
    # each day's spend counts at the end of its day; tax is not burn; the credit is
    mtd = frame["month_to_date"].dropna()
    assert mtd.loc["2025-03-02"] == 100.0
    assert mtd.loc["2025-03-05"] == 370.0
    assert mtd.loc["2025-03-10"] == 920.0
    assert mtd.loc["2025-03-11"] == 1020.0  # the figures' month-to-date at `at`
    assert mtd.is_monotonic_increasing
    linear = frame["linear"].dropna()
    assert linear.index.tolist() == [pd.Timestamp("2025-03-11", tz="UTC"), end]
    assert linear.tolist() == [1020.0, pytest.approx(1020 * 31 / 10)]
    assert frame["run_rate"].dropna().tolist() == [1020.0, 2500.0]
    assert set(frame["limit"]) == {1000.0}
    assert set(frame["alert"]) == {800.0}
    assert frame.attrs["driver"] == "linear"
    with_tax = views.month_to_date_frame(costs, _figures(), alert_share=0.8, include_tax=True)
    assert with_tax["month_to_date"].loc["2025-03-04"] == 300.0 + 99.0


def test_month_to_date_frame_without_projections_draws_none() -> None:
    """NO_DATA figures (too little history): no projection line, no made-up number."""
    unknown = _figures(
        linear_projection=None,
        run_rate_projection=None,
        driver=None,
        projected_share=None,
        status=Status.NO_DATA,
        reasons=["infra: only 3h of cost history"],
    )
    frame = views.month_to_date_frame(_ten_days(), unknown, alert_share=None)
    assert frame["linear"].isna().all()
    assert frame["run_rate"].isna().all()
    assert frame["alert"].isna().all()
    fig = finops_plots.plot_month_to_date(frame, title="infra", currency="USD")
    labels = fig.legends[0].get_texts()
    assert [t.get_text() for t in labels] == ["month-to-date", r"budget \$1,000"]
    table = explore.budget_table([unknown])
    assert table.loc["linear projection", "infra"] == "—"
    assert table.loc["why", "infra"] == "infra: only 3h of cost history"
    assert "nan" not in table.to_string().lower()


def test_focus_sample_figures_and_unit_costs() -> None:
    """The shipped FOCUS sample, checked against figures computed here by hand: 14 days of
    infra (360 a day less a 100 credit on the 5th; 21 a day of tax apart), llm (140 a day,
    290 from the 12th) and 12.50 a day of untagged support."""
    burn = explore.open_burn("focus-csv")
    assert burn.at == pd.Timestamp("2025-03-15", tz="UTC")
    got = {f.budget: f for f in burn.figures}
    assert got["infra"].month_to_date == pytest.approx(14 * 360 - 100)
    assert got["infra"].tax == pytest.approx(14 * 21)
    assert got["llm"].month_to_date == pytest.approx(11 * 140 + 3 * 290)
    assert got["llm"].linear_projection == pytest.approx((11 * 140 + 3 * 290) / 14 * 31)
    assert views.unallocated_month(burn.costs, burn.at) == (
        pytest.approx(14 * 12.5),
        pytest.approx(14 * 12.5 / (14 * 360 - 100 + 11 * 140 + 3 * 290 + 14 * 12.5)),
    )
    units = burn.unit_costs
    assert list(units.columns) == ["ingest_unit_cost (USD/1k)", "graphql_unit_cost (USD/1M)"]
    assert units["ingest_unit_cost (USD/1k)"].tolist() == pytest.approx([210 / 3000] * 14)
    assert units["graphql_unit_cost (USD/1M)"].tolist() == pytest.approx([35 / 20] * 14)
    # the gate's window (the last hour): the same unit costs as the day that holds it
    windowed = {f.objective: f.value for f in burn.unit_figures}
    assert windowed == {
        "G6/ingest_unit_cost": pytest.approx(210 / 3000),
        "G6/graphql_unit_cost": pytest.approx(35 / 20),
    }
    assert explore.unit_cost_table(burn.unit_figures).loc["G6/ingest_unit_cost", "status"] == "PASS"
    movers = views.top_movers(burn.costs, burn.at)
    assert movers["component"].tolist() == ["llm"]
    assert movers["change"].iloc[0] == pytest.approx(290 - (5 * 140 + 2 * 290) / 7)


def test_the_chosen_matrix_decides_the_ladder_and_the_alert_line(tmp_path: Path) -> None:
    """Never the packaged default: another matrix's ladder, tier names and alert line show."""
    text = DEFAULT_MATRIX.read_text(encoding="utf-8")
    assert "name: Degrade" in text
    text = text.replace("name: Degrade", "name: Brownout", 1)
    old = "threshold: {value: 80, unit: percent}"
    assert old in text
    path = tmp_path / "m.yaml"
    path.write_text(text.replace(old, "threshold: {value: 55, unit: percent}"), encoding="utf-8")
    burn = explore.open_burn("focus-csv", matrix=path)
    assert burn.explanation.name == "Brownout"
    assert burn.ladder.tier_name(4) == "Brownout"
    assert burn.alert_share("infra") == pytest.approx(0.55)
    sections = dict(finops_notebook.explore_sections(burn, budget="llm"))
    fig = sections["Month-to-date vs budget: llm"]
    assert isinstance(fig, Figure)
    assert any("alert 55 %" in t.get_text() for t in fig.legends[0].get_texts())


# --------------------------------------------------------------------------- figures


def _clipped(fig: Figure) -> bool:
    """Whether anything drawn in ``fig`` (titles, labels, ticks, legends) lies even partly
    outside it: the tight bounding box of what is drawn must fit in the figure."""
    fig.canvas.draw()
    tight = fig.get_tightbbox(fig.canvas.get_renderer())  # type: ignore[attr-defined]
    width, height = fig.get_size_inches()
    slack = 0.02  # inches
    return bool(
        tight.x0 < -slack
        or tight.y0 < -slack
        or tight.x1 > width + slack
        or tight.y1 > height + slack
    )


def test_the_clip_check_can_fail() -> None:
    """Positive control of :func:`_clipped`: a label pushed off the figure is found."""
    fig = finops_plots.plot_spend(
        views.spend_over_time(_ten_days(), "budget"), title="spend", currency="USD"
    )
    assert not _clipped(fig)
    plain = Figure(figsize=(4, 3))  # no layout engine to make room
    FigureCanvasAgg(plain)
    ax = plain.add_subplot(1, 1, 1)
    ax.set_title("fits")
    assert not _clipped(plain)
    ax.text(1.4, 0.5, "off the edge", transform=ax.transAxes)
    assert _clipped(plain)


def test_spend_bars_stack_credits_below_zero_with_money_ticks() -> None:
    costs = _costs(
        [
            ("2025-03-01", "infra", "ingest", "usage", 100.0),
            ("2025-03-01", "infra", "storage", "usage", 50.0),
            ("2025-03-02", "infra", "ingest", "usage", 100.0),
            ("2025-03-02", "infra", "storage", "credit", -400.0),
        ]
    )
    table = views.spend_over_time(costs, "component")
    fig = finops_plots.plot_spend(table, title="Spend per day by component", currency="EUR")
    ax = fig.axes[0]
    bars = [(p.get_x(), p.get_y(), p.get_height()) for p in ax.patches]  # type: ignore[attr-defined]
    # day 2: ingest 100 from 0 up, storage -400 from 0 down (not from 100)
    assert (1 - 0.4, 0.0, -400.0) in [(round(x, 6), y, h) for x, y, h in bars]
    assert (0 - 0.4, 100.0, 50.0) in [(round(x, 6), y, h) for x, y, h in bars]
    fig.canvas.draw()
    ticks = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert ticks
    assert all("€" in t for t in ticks)
    assert not _clipped(fig)


# --------------------------------------------------------------------------- the notebook


def _run_notebook(tmp_path: Path, **parameters: object) -> tuple[str, float]:
    """Execute finops_cost_burn with papermill (a failing cell raises); its text/HTML outputs
    and the seconds it took."""
    import papermill as pm

    target = tmp_path / "finops_cost_burn.ipynb"
    began = time.monotonic()
    pm.execute_notebook(
        str(notebooks_dir() / "finops_cost_burn.ipynb"),
        str(target),
        parameters=parameters,
        kernel_name="python3",
        kernel_manager_class=kernel_manager_class(),
        progress_bar=False,
        resources={"metadata": {"path": str(tmp_path)}},
        execution_timeout=120,
    )
    took = time.monotonic() - began
    nb = json.loads(target.read_text(encoding="utf-8"))
    parts = []
    for cell in nb["cells"]:
        for output in cell.get("outputs", []):
            assert output["output_type"] != "error", output
            parts.append("".join(output.get("text", "")))
            for mime, data in output.get("data", {}).items():
                parts.append(mime)
                if mime.startswith("text/"):
                    parts.append("".join(data))
    return "\n".join(parts), took


def _assert_readable(shown: str) -> None:
    """No traceback, no raw dict, no nan: what an analyst reads is prose, money and tables."""
    assert "Traceback" not in shown
    assert not re.search(r"\{'|\{\"", shown), "a raw dict in the output"
    assert not re.search(r"\bnan\b", shown, flags=re.IGNORECASE), "nan in the output"
    assert "image/png" in shown


@pytest.mark.notebooks
@pytest.mark.parametrize("source", ["prometheus-snapshots", "focus-csv"])
def test_the_notebook_runs_on_its_defaults(tmp_path: Path, source: str) -> None:
    parameters = {} if source == "prometheus-snapshots" else {"source": source}
    shown, took = _run_notebook(tmp_path, **parameters)
    _assert_readable(shown)
    burn = explore.open_burn(source)  # type: ignore[arg-type]
    assert burn.explanation.text in shown.replace("&gt;", ">").replace("&amp;", "&")
    for figures in burn.figures:
        assert views.money(figures.month_to_date, burn.currency) in shown
    assert took < 60, f"the notebook took {took:.0f} s"


def _eur_sample(tmp_path: Path) -> Path:
    path = tmp_path / "focus-eur.csv"
    text = explore.focus_sample().read_text(encoding="utf-8")
    path.write_text(text.replace(",USD,", ",EUR,"), encoding="utf-8")
    return path


@pytest.mark.notebooks
def test_a_refused_focus_file_is_one_line_in_the_notebook(tmp_path: Path) -> None:
    """An EUR export judged against USD budgets: the notebook stops on one line naming the
    file and the currency, never a traceback; the honest (USD) sample runs (positive control:
    test_the_notebook_runs_on_its_defaults)."""
    import papermill as pm

    eur = _eur_sample(tmp_path)
    with pytest.raises(pm.PapermillExecutionError):
        _run_notebook(tmp_path, source="focus-csv", focus_csv=str(eur))
    nb = json.loads((tmp_path / "finops_cost_burn.ipynb").read_text(encoding="utf-8"))
    errors = [o for c in nb["cells"] for o in c.get("outputs", []) if o["output_type"] == "error"]
    assert len(errors) == 1
    (line,) = errors[0]["traceback"]
    assert line.startswith("igkit: error: ")
    assert str(eur) in line
    assert "EUR" in line
    assert "Traceback" not in json.dumps(nb["cells"])


def test_money_is_in_the_matrix_currency(tmp_path: Path) -> None:
    """A matrix whose budgets are in EUR reads an EUR export and shows euros everywhere."""
    text = DEFAULT_MATRIX.read_text(encoding="utf-8")
    assert "  currency: USD" in text
    matrix = tmp_path / "eur.yaml"
    matrix.write_text(text.replace("  currency: USD", "  currency: EUR", 1), encoding="utf-8")
    burn = explore.open_burn("focus-csv", matrix=matrix, focus_csv=_eur_sample(tmp_path))
    assert burn.currency == "EUR"
    assert "money in EUR" in burn.headline()
    table = explore.budget_table(burn.figures)
    assert table.loc["month-to-date", "infra"] == "€4,940.00"
    assert "$" not in table.to_string()
    with pytest.raises(IgkitError, match="EUR"):  # the same file against USD budgets
        explore.open_burn("focus-csv", focus_csv=_eur_sample(tmp_path))


def test_the_filters_start_at_the_parameters_and_redraw_on_change() -> None:
    burn = explore.open_burn("focus-csv")
    shown: list[list[finops_notebook.Section]] = []
    box = finops_notebook.filter_widgets(
        burn, shown.append, budget="llm", start="2025-03-03", end="2025-03-10"
    )
    assert shown == []  # nothing drawn until a filter changes: the report shows the defaults
    (budget, component), dates, _output = box.children[0].children, *box.children[1:]
    assert budget.value == "llm"
    assert component.value == ""
    assert [v.strftime("%Y-%m-%d") for v in dates.value] == ["2025-03-03", "2025-03-10"]
    assert "Filters (budget, component, dates)" in box._repr_mimebundle_()["text/plain"]
    component.value = "llm"
    (sections,) = shown
    headings = [heading for heading, _ in sections]
    assert "Month-to-date vs budget: llm" in headings
    assert "Month-to-date vs budget: infra" not in headings
    bars = dict(sections)["Spend per day by budget"]
    assert isinstance(bars, Figure)
    assert len(bars.axes[0].get_xticklabels()) == 8  # the 3rd..10th


@pytest.mark.parametrize("source", ["prometheus-snapshots", "focus-csv"])
def test_no_figure_of_the_notebook_clips_a_label(source: str) -> None:
    burn = explore.open_burn(source)  # type: ignore[arg-type]
    figures = [
        item for _, item in finops_notebook.explore_sections(burn) if isinstance(item, Figure)
    ]
    figures.append(
        finops_plots.plot_ladder(burn.explanation, burn.ladder, **burn.deciding_shares())
    )
    assert len(figures) >= 5
    for fig in figures:
        assert not _clipped(fig), fig.axes[0].get_title()


@pytest.mark.parametrize(
    ("filters", "named"),
    [
        ({"freq": "bogus"}, "freq 'bogus'"),
        ({"freq": "1M"}, "freq '1M'"),  # a month is no fixed bar length
        ({"start": "yesterdayish"}, "start 'yesterdayish'"),
        ({"end": "2025-13-45"}, "end '2025-13-45'"),
        ({"budget": "nope"}, "budget 'nope'"),
        ({"component": "nope"}, "component 'nope'"),
    ],
)
def test_a_bad_filter_is_one_line_naming_it(filters: dict[str, str], named: str) -> None:
    burn = explore.open_burn("focus-csv")
    with pytest.raises(ConfigError, match=re.escape(named)) as caught:
        finops_notebook.explore_sections(burn, **filters)  # type: ignore[arg-type]
    assert "\n" not in str(caught.value)
    # positive control: the same filter with a good value draws
    good = {"freq": "6h", "start": "2025-03-02", "end": "2025-03-09", "budget": "llm"}
    key = next(iter(filters))
    sections = finops_notebook.explore_sections(burn, **{key: good.get(key, "llm")})  # type: ignore[arg-type]
    assert any(isinstance(item, Figure) for _, item in sections)


def test_at_must_be_a_time_and_a_run_is_judged_at_its_own() -> None:
    with pytest.raises(ConfigError, match="at 'garbage': not a time"):
        explore.open_burn("focus-csv", at="garbage")
    with pytest.raises(ConfigError, match="a run's figures are at its evaluation time"):
        explore.open_burn("prometheus-snapshots", at="2025-03-20T00:00:00Z")
    run_at = explore.open_burn("prometheus-snapshots").at
    assert explore.open_burn("prometheus-snapshots", at=run_at.isoformat()).at == run_at


@pytest.mark.property
@given(
    st.lists(st.floats(0, 1e5, allow_nan=False), min_size=2, max_size=20),
    st.floats(0.01, 1e5, allow_nan=False),
)
def test_top_movers_flags_exactly_a_rise(daily: list[float], extra: float) -> None:
    """Flat spend never moves; spend added to the last complete day is a mover, by exactly
    its rise over the trailing mean."""
    days = pd.date_range("2025-03-01", periods=len(daily), freq="D", tz="UTC")
    flat = _costs([(str(d), "infra", "flat", "usage", 50.0) for d in days])
    at = days[-1] + pd.Timedelta(days=1)
    assert views.top_movers(flat, at).empty
    rows = [(str(d), "infra", "x", "usage", v) for d, v in zip(days, daily, strict=True)]
    rows.append((str(days[-1]), "infra", "x", "usage", extra))
    movers = views.top_movers(_costs(rows), at)
    mean = float(np.mean(daily[-8:-1]))
    rise = daily[-1] + extra - mean
    if rise > 1e-6 * max(1.0, mean):
        assert movers["component"].tolist() == ["x"]
        assert movers["change"].iloc[0] == pytest.approx(rise, rel=1e-9, abs=1e-6)
    elif rise <= 0:
        assert movers.empty  # (a rise within rounding of the mean may go either way)


def test_the_notebook_shows_the_numbers_g6_judged() -> None:
    """From the demo run: each budget's month-to-date, the per-component spend the bars add up
    to, and the tier sentence are G6's own (its verdict details), not a second computation."""
    burn = explore.open_burn("prometheus-snapshots")
    g6 = {o.name: o.details for o in load_run("").gate("G6").objectives}
    by_component = views.spend_over_time(burn.costs, "component", "1h").sum()
    for figures in burn.figures:
        details = g6[f"{figures.budget}_budget_burn"]
        assert figures.month_to_date == pytest.approx(details["month_to_date_usd"], abs=1e-6)
        for key, spent in details.items():
            if key.startswith(f"spend_usd[budget={figures.budget}, component="):
                component = key.removesuffix("]").split("component=")[1]
                assert by_component[component] == pytest.approx(spent, abs=1e-6)
    deciding = burn.explanation.budget
    assert deciding in {f.budget for f in burn.figures}
    assert burn.explanation.text == g6[f"{deciding}_budget_burn"]["downshift_text"]
