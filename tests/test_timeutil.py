from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from igkit.timeutil import (
    human_duration,
    month_end,
    month_start,
    parse_duration,
    parse_instant,
    promql_duration,
    rfc3339,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("15s", 15), ("5m", 300), ("1h30m", 5400), ("7d", 604800), ("250ms", 0.25), ("1w", 604800)],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["", "5", "m5", "5 m", "-5m", "0s", "5mm", "sixty"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("td", "text"),
    [
        (timedelta(hours=1), "1h"),
        (timedelta(minutes=90), "90m"),
        (timedelta(seconds=15), "15s"),
        (timedelta(days=2), "2d"),
    ],
)
def test_promql_duration(td: timedelta, text: str) -> None:
    assert promql_duration(td) == text


def test_parse_instant_accepts_rfc3339_and_unix() -> None:
    expected = datetime(2025, 3, 1, 3, 30, tzinfo=UTC)
    assert parse_instant("2025-03-01T03:30:00Z") == expected
    assert parse_instant("2025-03-01T05:30:00+02:00") == expected
    assert parse_instant("1740799800") == expected
    assert parse_instant("1740799800.0") == expected
    assert rfc3339(expected) == "2025-03-01T03:30:00Z"


@pytest.mark.parametrize(
    "text", ["yesterday", "2025-03-01T03:30:00", "nan", "2025-13-01T00:00:00Z"]
)
def test_parse_instant_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="time"):
        parse_instant(text)


def test_month_bounds_and_human_duration() -> None:
    at = datetime(2024, 2, 15, 12, tzinfo=UTC)
    assert month_start(at) == datetime(2024, 2, 1, tzinfo=UTC)
    assert month_end(at) == datetime(2024, 3, 1, tzinfo=UTC)
    assert month_end(datetime(2025, 12, 31, tzinfo=UTC)) == datetime(2026, 1, 1, tzinfo=UTC)
    assert human_duration(915) == "15m15s"
    assert human_duration(3600) == "1h"
