"""The ladder explains itself: signal, budget, threshold, distance to the next tier, actions.

Expected tiers are read off the shipped matrix's ladder by hand (seed §8 thresholds), not
recomputed with the code under test."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Literal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from igkit.finops.ladder import BudgetFigures, explain
from igkit.spec.loader import load_matrix
from igkit.spec.models import CostLadder
from igkit.verdicts import Status

LADDER = load_matrix(None).matrix.cost_ladder
assert LADDER is not None
AT = datetime(2025, 3, 15, 12, tzinfo=UTC)


def figures(
    budget: str = "infra",
    mtd: float | None = 5_000.0,
    limit: float = 18_000.0,
    projected: float | Literal["half"] | None = "half",
    *,
    status: Status = Status.PASS,
    driver: str = "run_rate",
    reasons: tuple[str, ...] = (),
    currency: str = "USD",
) -> BudgetFigures:
    """A budget's figures; the projection defaults to half the limit (calm)."""
    if projected == "half":
        projected = limit / 2
    return BudgetFigures.model_validate(
        {
            "budget": budget,
            "limit": limit,
            "currency": currency,
            "at": AT,
            "month_to_date": mtd,
            "share": None if mtd is None else mtd / limit,
            "linear_projection": projected,
            "run_rate_projection": projected,
            "driver": driver if projected is not None else None,
            "projected_share": None if projected is None else projected / limit,
            "tax": 0.0,
            "status": status,
            "reasons": list(reasons),
        }
    )


def test_projection_triggers_and_the_sentence_says_so() -> None:
    e = explain([figures(projected=18_720.0)], LADDER)
    assert (e.tier, e.name, e.signal, e.budget) == (3, "Shed", "projection", "infra")
    assert e.value == pytest.approx(1.04)
    assert e.threshold == 1.00
    assert e.next_tier == 4
    assert e.distance_to_next == pytest.approx(0.06)
    assert e.actions == ["pause background enrichers", "cache-only for heavy reads"]
    assert e.text == (
        "Tier 3 Shed: infra projected 104% of $18,000 (run-rate), >= 100%; next tier 4 Degrade "
        "at 110% projected (6 points away). Actions: pause background enrichers; cache-only for "
        "heavy reads."
    )


def test_month_to_date_triggers_and_wins_a_tie() -> None:
    # 61% MTD -> tier 2 by burn; 95% projected -> tier 2 by projection too: MTD is named
    e = explain([figures(mtd=0.61 * 18_000, projected=0.95 * 18_000)], LADDER)
    assert (e.tier, e.signal, e.threshold) == (2, "month_to_date", 0.60)
    assert "infra month-to-date $10,980 = 61% of $18,000, >= 60%" in e.text
    # the next tier is nearer by projection (100% - 95% = 5 points) than by burn (9 points)
    assert e.distance_to_next == pytest.approx(0.05)
    assert "next tier 3 Shed at 100% projected (5 points away)" in e.text


def test_the_worst_budget_decides() -> None:
    calm = figures("infra", mtd=1_000.0, projected=2_000.0)
    hot = figures("llm", mtd=5_100.0, limit=5_000.0, projected=5_200.0)
    e = explain([calm, hot], LADDER)
    assert (e.tier, e.budget, e.signal) == (6, "llm", "month_to_date")
    assert e.next_tier is None
    assert e.distance_to_next is None
    assert "the top of the ladder" in e.text


def test_tier_zero_names_the_nearest_budget_and_signal() -> None:
    e = explain(
        [figures("infra", 1_000.0, projected=13_000.0), figures("llm", 100.0, 5_000.0)], LADDER
    )
    assert (e.tier, e.name, e.signal, e.budget) == (0, "No action", None, "infra")
    assert e.next_tier == 1
    assert e.distance_to_next == pytest.approx(0.80 - 13_000 / 18_000)
    assert "Actions" not in e.text


@pytest.mark.parametrize(
    ("given_figures", "named"),
    [
        (
            [figures(mtd=None, projected=None, status=Status.NO_DATA, reasons=("stale series",))],
            "infra spend unknown (stale series)",
        ),
        (
            [figures(status=Status.ERROR, reasons=("EUR file, budget in USD",))],
            "but its figures are ERROR (EUR file, budget in USD)",
        ),
        ([figures(mtd=math.nan)], "infra spend unknown"),
        ([figures(projected=math.inf)], "but its projected share is not a finite number"),
    ],
)
def test_unknown_figures_fail_closed_to_tier_6(
    given_figures: list[BudgetFigures], named: str
) -> None:
    e = explain([figures("llm", 10.0, 5_000.0), *given_figures], LADDER)
    assert e.tier == 6
    assert e.signal is None
    assert named in e.text
    assert "fail closed" in e.text
    assert e.actions == ["essential endpoints only", "scale down expensive services"]
    # positive control: the honest twin is calm
    assert explain([figures("llm", 10.0, 5_000.0), figures()], LADDER).tier == 0


def test_no_figures_at_all_is_tier_6() -> None:
    e = explain([], LADDER)
    assert (e.tier, e.budget, e.signal) == (6, None, None)
    assert "no budget figures at all" in e.text


@pytest.mark.parametrize("status", [Status.PASS, Status.NO_DATA])
def test_a_refused_projection_ladders_on_month_to_date_and_says_why(status: Status) -> None:
    short = ("infra: only 3h of cost history, less than the 24h minimum: no projection",)
    e = explain([figures(mtd=9_000.0, projected=None, status=status, reasons=short)], LADDER)
    assert (e.tier, e.signal) == (1, "month_to_date")
    assert f"; month-to-date only, no projection ({short[0]})." in e.text
    # but an ERROR, or NO_DATA with a projection it should not have, is not usable
    for odd in (
        figures(mtd=9_000.0, projected=None, status=Status.ERROR, reasons=short),
        figures(mtd=9_000.0, status=Status.NO_DATA, reasons=short),
    ):
        assert explain([odd], LADDER).tier == 6


def test_the_chosen_matrix_names_and_actions_are_used() -> None:
    own = LADDER.model_copy(
        update={
            "tiers": tuple(
                LADDER.tiers[i].model_copy(update={"name": f"T{i + 1}", "actions": [f"do {i + 1}"]})  # type: ignore[index]
                for i in range(6)
            )
        }
    )
    e = explain([figures(projected=18_720.0)], own)
    assert (e.name, e.actions) == ("T3", ["do 3"])
    assert e.text.startswith("Tier 3 T3: ")
    assert e.text.endswith("Actions: do 3.")
    bare = CostLadder(burn_share=LADDER.burn_share, projected_share=LADDER.projected_share)
    e = explain([figures(projected=18_720.0)], bare)
    assert (e.name, e.actions) == ("Shed", [])
    assert "Actions: none listed" in e.text


def test_other_currencies_are_named() -> None:
    e = explain([figures(projected=18_720.0, currency="EUR")], LADDER)
    assert "of 18,000 EUR" in e.text


@pytest.mark.parametrize(
    "tiers",
    [
        [{"name": "x" * 41, "actions": ["a"]}] * 6,
        [{"name": " ", "actions": ["a"]}] + [{"name": f"n{i}", "actions": ["a"]} for i in range(5)],
        [{"name": f"n{i}", "actions": []} for i in range(6)],
        [{"name": "same", "actions": ["a"]} for _ in range(6)],
        [{"name": f"n{i}", "actions": ["a"]} for i in range(5)],
        [{"name": f"n{i}", "actions": ["a"], "extra": 1} for i in range(6)],
    ],
)
def test_bad_tiers_are_refused(tiers: list[dict[str, object]]) -> None:
    shares = {"burn_share": LADDER.burn_share, "projected_share": LADDER.projected_share}
    with pytest.raises(ValidationError):
        CostLadder.model_validate({**shares, "tiers": tiers})
    good = [{"name": f"n{i}", "actions": ["a"]} for i in range(6)]
    assert CostLadder.model_validate({**shares, "tiers": good}).tier_name(6) == "n5"


shares = st.floats(min_value=0.0, max_value=3.0, allow_nan=False)


@pytest.mark.property
@given(mtd=shares, proj=shares, more_mtd=shares, more_proj=shares)
def test_tier_is_monotone_in_shares(
    mtd: float, proj: float, more_mtd: float, more_proj: float
) -> None:
    low = explain([figures(mtd=mtd * 18_000, projected=proj * 18_000)], LADDER)
    high = explain(
        [figures(mtd=(mtd + more_mtd) * 18_000, projected=(proj + more_proj) * 18_000)], LADDER
    )
    assert high.tier >= low.tier


@pytest.mark.property
@given(mtd=shares, proj=st.none() | shares)
def test_distance_to_next_is_positive_and_reaches_the_next_tier(
    mtd: float, proj: float | None
) -> None:
    e = explain(
        [figures(mtd=mtd * 18_000, projected=None if proj is None else proj * 18_000)], LADDER
    )
    if e.tier == 6:
        assert e.next_tier is None
        assert e.distance_to_next is None
        return
    assert e.distance_to_next is not None
    assert e.distance_to_next > 0
    assert e.next_tier == e.tier + 1
    step = e.distance_to_next + 1e-9  # shares go through money and back: float rounding
    bumped_mtd = (mtd + step) * 18_000
    bumped_proj = None if proj is None else (proj + step) * 18_000
    assert explain([figures(mtd=bumped_mtd, projected=bumped_proj)], LADDER).tier > e.tier


@pytest.mark.property
@given(st.lists(st.tuples(shares, shares), min_size=1, max_size=5))
def test_the_explanation_names_the_worst_budget(pairs: list[tuple[float, float]]) -> None:
    each = [
        figures(f"b{i}", mtd=m * 1_000, limit=1_000.0, projected=p * 1_000)
        for i, (m, p) in enumerate(pairs)
    ]
    e = explain(each, LADDER)
    single = {f.budget: explain([f], LADDER).tier for f in each}
    assert e.tier == max(single.values())
    assert e.budget is not None
    assert single[e.budget] == e.tier
    assert e.budget in e.text
