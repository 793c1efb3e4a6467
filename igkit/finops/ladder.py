"""The downshift ladder (seed §8): tier 0 (no action) .. 6 (Emergency) from budget shares,
thresholds from the matrix's ``cost_ladder``."""

from __future__ import annotations

import numpy as np

from igkit.spec.models import CostLadder

TIER_NAMES = ("No action", "Observe", "Throttle", "Shed", "Degrade", "Protect", "Emergency")

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


def tier_name(tier: int) -> str:
    return TIER_NAMES[tier]
