"""Threshold units and their conversion to the base unit a query returns.

A query returns values in the base unit of its dimension (seconds, ratio, bytes/s,
events/s, USD, USD per item); a threshold may be written in any unit of that dimension
and is converted once, so that comparison never mixes units.
"""

from __future__ import annotations

from enum import StrEnum


class Unit(StrEnum):
    MS = "ms"
    S = "s"
    RATIO = "ratio"
    PERCENT = "percent"
    BYTES_PER_S = "B/s"
    MB_PER_S = "MB/s"
    EVENTS_PER_S = "events/s"
    USD = "USD"
    USD_PER_1K = "USD/1k"
    USD_PER_1M = "USD/1M"
    COUNT = "count"


# unit -> (dimension, factor to base unit, display suffix)
_TABLE: dict[Unit, tuple[str, float, str]] = {
    Unit.MS: ("time", 1e-3, " ms"),
    Unit.S: ("time", 1.0, " s"),
    Unit.RATIO: ("ratio", 1.0, ""),
    Unit.PERCENT: ("ratio", 1e-2, "%"),
    Unit.BYTES_PER_S: ("throughput", 1.0, " B/s"),
    Unit.MB_PER_S: ("throughput", 1e6, " MB/s"),
    Unit.EVENTS_PER_S: ("event_rate", 1.0, " events/s"),
    Unit.USD: ("money", 1.0, " USD"),
    Unit.USD_PER_1K: ("unit_cost", 1e-3, " USD/1k"),
    Unit.USD_PER_1M: ("unit_cost", 1e-6, " USD/1M"),
    Unit.COUNT: ("count", 1.0, ""),
}


def to_base(value: float, unit: Unit) -> float:
    return value * _TABLE[unit][1]


def from_base(value: float, unit: Unit) -> float:
    return value / _TABLE[unit][1]


def dimension(unit: Unit) -> str:
    return _TABLE[unit][0]


def fmt(value: float | None, unit: Unit) -> str:
    """Format a value that is already expressed in ``unit``: ``412 ms``, ``99.5%``."""
    if value is None:
        return "—"
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return ("+" if value > 0 else "-") + "Inf" + _TABLE[unit][2]
    mag = abs(value)
    if mag == 0:
        text = "0"
    elif (value == round(value) and mag < 1e15) or mag >= 100:
        text = f"{value:,.0f}"
    elif mag >= 1:
        text = f"{value:.3g}" if mag < 10 else f"{value:.1f}"
    else:
        text = f"{value:.3g}"
    if unit is Unit.PERCENT and 99 <= mag < 100:
        text = f"{value:.3f}".rstrip("0").rstrip(".")
    return text + _TABLE[unit][2]
