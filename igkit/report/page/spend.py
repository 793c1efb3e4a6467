"""G6 budget objectives: month-to-date spend, the linear and run-rate month-end projections
against the budget (and which one drives the ladder), and the downshift tier of the matrix's
cost ladder with what triggered it and the tier's actions — shown even when the gate passes."""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING

from igkit.report.page.markup import DASH, Raw, fields, section, table
from igkit.verdicts import ObjectiveVerdict

if TYPE_CHECKING:
    from igkit.explore import Run

PROJECTION = "projected_month_end_usd"
RUN_RATE = "run_rate_projection_usd"
DRIVER = "projection_driver"
NOTE = "projection_note"
TIER_TEXT = "downshift_text"
TIER_KEYS = ("downshift_tier", "tier")
SPEND_KEYS = (
    "month_to_date_usd",
    "budget_usd",
    PROJECTION,
    RUN_RATE,
    DRIVER,
    "run_rate_days",
    "driving_projection_usd",
    "driving_projected_share",
    NOTE,
    "projected_share_of_budget",
    "month_elapsed_share",
    "downshift_tier_name",
    "downshift_signal",
    TIER_TEXT,
    *TIER_KEYS,
)
_COMPONENT = re.compile(r"^spend_usd\[(?P<labels>.*)\]$")


def usd(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return DASH if value is None else str(value)
    return f"${value:,.2f}"


def _number(details: dict[str, float | str | None], key: str) -> float | None:
    value = details.get(key)
    return float(value) if isinstance(value, int | float) else None


def tier_text(run: Run, details: dict[str, float | str | None]) -> str:
    """The downshift tier: the judge's sentence (tier, trigger, next tier, actions) when it
    recorded one, else the matrix ladder's tier for the recorded burn and linear projection
    (verdicts from before the explanation; any unknown share is the worst tier)."""
    from igkit.finops import TIER_NAMES, downshift_tier, tier_name

    text = details.get(TIER_TEXT)
    if isinstance(text, str) and text:
        return text
    recorded = next((details[k] for k in TIER_KEYS if details.get(k) is not None), None)
    if isinstance(recorded, str):
        return recorded
    ladder = run.loaded.matrix.cost_ladder
    if isinstance(recorded, int | float) and 0 <= recorded < len(TIER_NAMES):
        tier = int(recorded)
        return f"tier {tier} — {tier_name(tier, ladder)}"
    if ladder is None:
        return "not computed: the matrix has no cost_ladder"
    mtd, budget = _number(details, "month_to_date_usd"), _number(details, "budget_usd")
    burn = mtd / budget if mtd is not None and budget else math.nan
    tier = downshift_tier(burn, _number(details, "projected_share_of_budget"), ladder)
    return f"tier {tier} — {tier_name(tier, ladder)} (cost ladder of the matrix)"


def spend_html(run: Run, o: ObjectiveVerdict) -> Raw:
    """The budget box of a budget objective; nothing for any other objective."""
    d = o.details
    if PROJECTION not in d:
        return Raw("")
    mtd, budget = _number(d, "month_to_date_usd"), _number(d, "budget_usd")
    projected, share = _number(d, PROJECTION), _number(d, "projected_share_of_budget")
    burn = f" ({mtd / budget * 100:.3g}% of the budget)" if mtd is not None and budget else ""
    elapsed = _number(d, "month_elapsed_share")
    pairs: list[tuple[str, str | None]] = [
        ("Monthly budget", usd(budget)),
        ("Month-to-date spend", usd(mtd) + burn),
        (
            "Projected month-end spend (linear)",
            usd(projected) + ("" if share is None else f" ({share * 100:.1f}% of the budget)"),
        ),
        ("Share of the month elapsed", None if elapsed is None else f"{elapsed * 100:.2f}%"),
        ("Downshift tier", tier_text(run, d)),
    ]
    if RUN_RATE in d:  # verdicts since the ladder explains itself (issue 13)
        days = _number(d, "run_rate_days")
        trailing = f" (trailing {days:g} days)" if days else ""
        pairs[3:3] = [
            ("Projected month-end spend (run-rate)", usd(_number(d, RUN_RATE)) + trailing),
            ("Projection driving the ladder", str(d.get(DRIVER) or DASH).replace("_", "-")),
        ]
        if isinstance(d.get(NOTE), str):
            pairs.insert(5, ("Why no projection", str(d[NOTE])))
    components = [
        (m["labels"], usd(v if isinstance(v, float | int) else None))
        for k, v in d.items()
        if (m := _COMPONENT.match(k))
    ]
    parts = [fields(pairs)]
    if components:
        parts.append(table(["Cost series", "Month-to-date spend"], components))
    return section("Budget and projection", *parts, level=4, cls="igk-spend")


def is_spend_key(key: str) -> bool:
    return key in SPEND_KEYS or bool(_COMPONENT.match(key))
