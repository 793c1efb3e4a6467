"""The downshift ladder (seed §8): tier 0 (no action) .. 6 (Emergency) from budget shares,
thresholds, tier names and actions from the chosen matrix's ``cost_ladder``.

:func:`explain` says why the ladder stands where it does: which signal (month-to-date share or
the driving projection) of which budget crossed which threshold, how far the next tier is,
and the tier's actions — one sentence a release lead can act on. Unknown figures are tier 6.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from igkit.finops.budgets import Budget
from igkit.finops.projection import BudgetFigures
from igkit.spec.models import (
    SEED_TIER_NAMES,
    BudgetBurn,
    CostLadder,
    Gate,
    PrometheusObjective,
    ResolvedSettings,
)
from igkit.units import to_base
from igkit.verdicts import GateVerdict, ObjectiveVerdict, RunVerdicts, Status

if TYPE_CHECKING:
    from igkit.spec.finops import FinopsSpec

TIER_NAMES = ("No action", *SEED_TIER_NAMES)

DownshiftLadder = CostLadder  # the matrix's ``cost_ladder`` section (seed §8)


def default_ladder() -> DownshiftLadder:
    """The ladder of the matrix shipped with igkit (read when first needed, not at import)."""
    from igkit.spec.loader import load_matrix

    ladder = load_matrix(None).matrix.cost_ladder
    assert ladder is not None, "the shipped matrix defines cost_ladder"
    return ladder


def downshift_tier(
    burn_share: float, projected_share: float | None, ladder: DownshiftLadder | None = None
) -> int:
    """0 (no action) .. 6 (Emergency) for shares of the budget (1.0 = 100%).

    NaN or ±Inf burn is treated as the worst case (Emergency): spend unknown fails closed."""
    ladder = ladder or default_ladder()
    if not np.isfinite(burn_share):
        return 6
    by_burn = int(np.searchsorted(np.asarray(ladder.burn_share), burn_share, side="right"))
    by_projection = 0
    if projected_share is not None:
        if not np.isfinite(projected_share):
            return 6
        by_projection = int(
            np.searchsorted(np.asarray(ladder.projected_share), projected_share, side="right")
        )
    return max(by_burn, by_projection)


def downshift_tiers(
    burn_share: np.ndarray, projected_share: np.ndarray, ladder: DownshiftLadder | None = None
) -> np.ndarray:
    """:func:`downshift_tier` over arrays; a NaN projection (no elapsed time) is ignored."""
    ladder = ladder or default_ladder()
    burn_arr = np.asarray(burn_share, dtype=np.float64)
    proj = np.asarray(projected_share, dtype=np.float64)
    by_burn = np.searchsorted(np.asarray(ladder.burn_share), burn_arr, side="right")
    by_proj = np.searchsorted(
        np.asarray(ladder.projected_share), np.nan_to_num(proj, nan=-np.inf), side="right"
    )
    tiers = np.maximum(by_burn, by_proj)
    unknown = ~np.isfinite(burn_arr) | np.isinf(proj)
    return np.where(unknown, 6, tiers).astype(np.int64)


def tier_name(tier: int, ladder: CostLadder | None = None) -> str:
    """The tier's name in ``ladder`` (the seed's names without one)."""
    return ladder.tier_name(tier) if ladder is not None else TIER_NAMES[tier]


# --------------------------------------------------------------------------- explanation

Signal = Literal["month_to_date", "projection"]
_SIGNAL_WORDS: dict[str, str] = {"month_to_date": "month-to-date", "projection": "projected"}


class TierExplanation(BaseModel):
    """Why the ladder stands at ``tier``: which signal of which budget crossed which threshold
    (shares of the budget, 1.0 = 100%), how far the next tier is, and what to do."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tier: int = Field(ge=0, le=6)
    name: str
    actions: list[str]
    signal: Signal | None
    budget: str | None
    value: float | None = Field(description="the signal's share of the budget")
    threshold: float | None = Field(description="the tier's threshold for that signal")
    next_tier: int | None
    distance_to_next: float | None = Field(
        description="share of the budget (0.06 = 6 points) to the next tier's nearest threshold"
    )
    text: str


def _money(amount: float, currency: str) -> str:
    return f"${amount:,.0f}" if currency == "USD" else f"{amount:,.0f} {currency}"


def _pct(share: float) -> str:
    return f"{share * 100:.0f}%"


def _points(share: float) -> str:
    points = share * 100
    if points < 0.1:
        return "under 0.1"
    return f"{points:.0f}" if points >= 1 else f"{points:.1f}"


def _ladder_of(signal: Signal, ladder: CostLadder) -> tuple[float, ...]:
    return tuple(ladder.burn_share if signal == "month_to_date" else ladder.projected_share)


def _tier_by(value: float, thresholds: tuple[float, ...]) -> int:
    return int(np.searchsorted(np.asarray(thresholds), value, side="right"))


def _unknown(
    figures: BudgetFigures | None, ladder: CostLadder, problem: str | None = None
) -> TierExplanation:
    """Fail closed: tier 6, saying whose figures are unknown (spend, or a projection refused
    for too short a history) and why."""
    if figures is None:
        why = "no budget figures at all (no budget in the matrix, or no cost data)"
        budget = None
    else:
        budget = figures.budget
        detail = problem or "; ".join(figures.reasons) or f"status {figures.status.value}"
        mtd, share = figures.month_to_date, figures.share
        if mtd is not None and share is not None and math.isfinite(share) and figures.limit:
            spent = _money(mtd, figures.currency)
            why = (
                f"{budget} month-to-date {spent} = {_pct(share)} of "
                f"{_money(figures.limit, figures.currency)}, but "
                + (detail if problem else f"its figures are {figures.status.value} ({detail})")
            )
        else:
            why = f"{budget} spend unknown ({detail})"
    return _explanation(
        6, ladder, None, budget, None, None, f"{why}, so the worst tier applies (fail closed)"
    )


def _explanation(
    tier: int,
    ladder: CostLadder,
    signal: Signal | None,
    budget: str | None,
    value: float | None,
    threshold: float | None,
    why: str,
    *,
    next_tier: int | None = None,
    distance: float | None = None,
    after: str = "",
) -> TierExplanation:
    name, actions = ladder.tier_name(tier), ladder.tier_actions(tier)
    if tier == 0:
        todo = ""
    elif actions:
        todo = f" Actions: {'; '.join(actions)}."
    else:
        todo = " Actions: none listed (the matrix's cost_ladder has no tiers)."
    text = f"Tier {tier} {name}: {why}{after}.{todo}"
    return TierExplanation(
        tier=tier,
        name=name,
        actions=actions,
        signal=signal,
        budget=budget,
        value=value,
        threshold=threshold,
        next_tier=next_tier,
        distance_to_next=distance,
        text=text,
    )


def _signals(figures: BudgetFigures) -> dict[Signal, float]:
    """The known shares of a budget whose figures are PASS (month-to-date always)."""
    out: dict[Signal, float] = {}
    if figures.share is not None:
        out["month_to_date"] = figures.share
    if figures.projected_share is not None:
        out["projection"] = figures.projected_share
    return out


def _budget_tier(figures: BudgetFigures, ladder: CostLadder) -> TierExplanation:
    """One budget's tier; the month-to-date signal wins a tie (spend beats a forecast).

    Unknown month-to-date, or ERROR figures, is tier 6. A projection refused (NO_DATA with a
    known month-to-date: too little history this month) leaves the tier of the spend the
    gate itself judges, said to be month-to-date only and why."""
    signals = _signals(figures)
    usable = figures.status is Status.PASS or (
        figures.status is Status.NO_DATA and "projection" not in signals
    )
    if not usable or "month_to_date" not in signals or not figures.limit:
        return _unknown(figures, ladder)
    odd = [s for s, v in signals.items() if not math.isfinite(v)]
    if odd:
        what = " and ".join(_SIGNAL_WORDS[s] + " share" for s in odd)
        return _unknown(figures, ladder, f"its {what} is not a finite number")
    tiers = {s: _tier_by(v, _ladder_of(s, ladder)) for s, v in signals.items()}
    signal: Signal = max(tiers, key=lambda s: (tiers[s], s == "month_to_date"))
    tier = tiers[signal]
    gaps: dict[Signal, float] = {}
    if tier < 6:
        gaps = {s: _ladder_of(s, ladder)[tier] - v for s, v in signals.items()}
    nearest: Signal | None = None
    if gaps:
        closest: Signal = min(gaps, key=gaps.__getitem__)
        nearest = closest
    if tier == 0 and nearest is not None:
        signal = nearest  # nothing triggered: speak of the share nearest to tier 1
    value = signals[signal]
    budget, limit = figures.budget, _money(figures.limit, figures.currency)
    if signal == "month_to_date":
        spent = _money(figures.month_to_date or 0.0, figures.currency)
        said = f"{budget} month-to-date {spent} = {_pct(value)} of {limit}"
    else:
        driver = (figures.driver or "linear").replace("_", "-")
        said = f"{budget} projected {_pct(value)} of {limit} ({driver})"
    threshold = _ladder_of(signal, ladder)[tier - 1] if tier else None
    why = f"{said}, >= {_pct(threshold)}" if threshold is not None else f"{said}, below tier 1"
    distance = None
    if nearest is not None:
        distance = gaps[nearest]
        at = _ladder_of(nearest, ladder)[tier]
        after = (
            f"; next tier {tier + 1} {ladder.tier_name(tier + 1)} at {_pct(at)} "
            f"{_SIGNAL_WORDS[nearest]} ({_points(distance)} points away)"
        )
    else:
        after = "; the top of the ladder"
    if "projection" not in signals:
        after += (
            "; month-to-date only, no projection ("
            + ("; ".join(figures.reasons) or "unknown")
            + ")"
        )
    return _explanation(
        tier,
        ladder,
        signal if tier else None,
        budget,
        value,
        threshold,
        why,
        next_tier=tier + 1 if tier < 6 else None,
        distance=distance,
        after=after,
    )


def explain(figures: list[BudgetFigures], ladder: CostLadder) -> TierExplanation:
    """The ladder's tier for these budgets: the worst budget decides (highest tier; among
    equals the one nearest the next tier). Unknown figures give tier 6, said so — an unknown
    spend is never a calm ladder."""
    if not figures:
        return _unknown(None, ladder)
    each = [_budget_tier(f, ladder) for f in figures]
    unknown = [e for e in each if e.tier == 6 and e.signal is None]
    if unknown:
        return unknown[0]

    def rank(e: TierExplanation) -> tuple[int, float]:
        if e.distance_to_next is not None:
            return e.tier, -e.distance_to_next
        return e.tier, (e.value or 0.0) - (e.threshold or 0.0)

    return max(each, key=rank)


# --------------------------------------------------------------------------- in G6 verdicts

TIER_DETAIL = "downshift_tier"
TIER_NAME_DETAIL = "downshift_tier_name"
SIGNAL_DETAIL = "downshift_signal"
TEXT_DETAIL = "downshift_text"


def ladder_details(e: TierExplanation) -> dict[str, float | str | None]:
    """What a G6 budget objective's verdict records of the ladder (``details``); the figures
    themselves (both projections, the driver) are the G6 rule's own details."""
    return {
        TIER_DETAIL: e.tier,
        TIER_NAME_DETAIL: e.name,
        SIGNAL_DETAIL: e.signal,
        TEXT_DETAIL: e.text,
    }


def worst_budget_tier(run: RunVerdicts) -> tuple[GateVerdict, ObjectiveVerdict] | None:
    """The budget objective whose recorded tier is highest (the first among equals): the
    ladder's position for the whole run, as :func:`explain` ranks budgets. None when no
    verdict records a tier (no budget objective evaluated, or a run from before tiers)."""
    found = [
        (g, o)
        for g in run.gates
        for o in g.objectives
        if isinstance(o.details.get(TIER_DETAIL), int | float)
        and isinstance(o.details.get(TEXT_DETAIL), str)
    ]
    if not found:
        return None
    return max(found, key=lambda go: float(go[1].details[TIER_DETAIL] or 0))


def objective_budget(gate: Gate, obj: PrometheusObjective) -> Budget:
    """A ``budget_burn`` objective as the budget :func:`igkit.finops.matrix_budgets` names."""
    assert isinstance(obj.rule, BudgetBurn)
    return Budget(
        name=obj.name.removesuffix("_budget_burn"),
        budget_usd=obj.rule.budget_usd,
        alert_pct=100 * to_base(obj.threshold.value, obj.threshold.unit),
        objective=f"{gate.id}/{obj.name}",
    )


def objective_ladder(
    wide: pd.DataFrame,
    labels: dict[str, dict[str, str]],
    *,
    budget: Budget,
    settings: ResolvedSettings,
    at: datetime,
    spec: FinopsSpec,
    ladder: CostLadder,
    unknown: str | None,
) -> dict[str, float | str | None]:
    """The ladder details of one G6 budget objective from the counters it judged (``wide``:
    steps × series on the request grid), through the figures the G6 rule records
    (:func:`igkit.finops.figures.counter_figures`). ``unknown``: why the gate could not judge
    the spend — its month-to-date then counts as unknown, and the tier is 6."""
    from igkit.finops.figures import counter_figures

    _, figures = counter_figures(wide, labels, budget=budget, settings=settings, at=at, spec=spec)
    if unknown is not None:
        figures = unjudged(figures, unknown)
    return ladder_details(explain([figures], ladder))


def unjudged(figures: BudgetFigures, reason: str) -> BudgetFigures:
    """``figures`` of a budget the G6 gate could not judge (NO_DATA/ERROR, ``reason``): its
    month-to-date is unknown, whatever the counters summed to."""
    return figures.model_copy(
        update={
            "month_to_date": None,
            "share": None,
            "status": Status.ERROR if figures.status is Status.ERROR else Status.NO_DATA,
            "reasons": [reason],
        }
    )


def cost_ladder_board(run: RunVerdicts, ladder: CostLadder | None) -> dict[str, object]:
    """The War Room's cost-ladder panel (JSON-ready): where the ladder stands for the run
    (the worst budget's recorded tier), why, and the tier's actions from the chosen matrix's
    ``ladder``; ``markdown`` renders it. No budget verdict with a tier: the position is
    unknown, and the panel says so rather than showing a calm ladder."""
    found = worst_budget_tier(run)
    if found is None:
        text = "no G6 budget verdict records a downshift tier: the ladder's position is unknown"
        return {
            "tier": None,
            "name": None,
            "actions": [],
            "objective": None,
            "text": text,
            "markdown": f"**Cost ladder: unknown.** {text}.",
        }
    gate, obj = found
    tier = int(float(obj.details[TIER_DETAIL] or 0))
    name = ladder.tier_name(tier) if ladder else str(obj.details.get(TIER_NAME_DETAIL))
    actions = ladder.tier_actions(tier) if ladder else []
    text = str(obj.details[TEXT_DETAIL])
    todo = "".join(f"\n- {a}" for a in actions)
    markdown = f"**Tier {tier} — {name}** ({gate.id} {obj.name})\n\n{text}"
    if todo:
        markdown += f"\n\nActions:{todo}"
    return {
        "tier": tier,
        "name": name,
        "actions": actions,
        "objective": f"{gate.id}/{obj.name}",
        "text": text,
        "markdown": markdown,
    }
