"""FOCUS 1.x cost exports (CSV) -> cost frame."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd


def read_focus_csv(
    path: str | Path,
    *,
    cost_column: Literal["BilledCost", "EffectiveCost"] = "BilledCost",
    default_budget: str = "all",
) -> pd.DataFrame:
    """A FOCUS 1.x cost export (CSV) -> cost frame.

    ``time`` = ``ChargePeriodStart`` (UTC), ``cost_usd`` = ``cost_column``, ``component`` =
    the ``component`` tag or else ``ServiceName``, ``budget`` = the ``budget`` tag or
    ``default_budget``. ``Tags`` is a JSON object per row (empty or missing = no tags).
    If ``ConsumedQuantity`` is present it is kept as ``quantity`` for unit costs, and
    ``ChargePeriodEnd`` (exclusive) as ``period_end``: the projection counts a period's cost
    as accrued at its end, not its start.
    """
    raw = pd.read_csv(path, dtype={"Tags": "string", "ServiceName": "string"}, keep_default_na=True)
    missing = {cost_column, "ChargePeriodStart", "ServiceName"} - set(raw.columns)
    if missing:
        raise ValueError(
            f"{path}: not a FOCUS export, missing column(s) {', '.join(sorted(missing))}"
        )
    tags_text = (
        raw["Tags"].fillna("{}") if "Tags" in raw.columns else pd.Series("{}", index=raw.index)
    )
    tags = pd.json_normalize(tags_text.map(json.loads).tolist()).reindex(
        columns=["budget", "component"]
    )
    tags.index = raw.index
    service = raw["ServiceName"].fillna("").astype(str)
    frame = pd.DataFrame(
        {
            "time": pd.to_datetime(raw["ChargePeriodStart"], utc=True),
            "budget": tags["budget"].fillna(default_budget).astype(str),
            "component": tags["component"].fillna(service).astype(str),
            "cost_usd": pd.to_numeric(raw[cost_column], errors="raise").astype(np.float64),
        }
    )
    if "ChargePeriodEnd" in raw.columns:
        frame["period_end"] = pd.to_datetime(raw["ChargePeriodEnd"], utc=True).fillna(frame["time"])
    if "ConsumedQuantity" in raw.columns:
        frame["quantity"] = pd.to_numeric(raw["ConsumedQuantity"], errors="coerce")
    return frame.sort_values("time", kind="stable").reset_index(drop=True)
