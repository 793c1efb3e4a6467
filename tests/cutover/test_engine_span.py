"""The span the judge asks the trigger engine for: a live conductor's ``now()`` carries
microseconds, the engine judges whole seconds and ``--lookback`` travels in milliseconds;
the report must still name the asked instant and cover the whole stage (no more than 1 ms
before it), or every live judgement HELD on "triggers unknown"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from igkit.cutover.triggers import engine_span

MS = timedelta(milliseconds=1)


@pytest.mark.property
@given(
    at=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
    lookback=st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=2)),
)
def test_the_engine_span_ends_at_a_whole_second_and_covers_the_stage(
    at: datetime, lookback: timedelta
) -> None:
    whole, span = engine_span(at, lookback)
    assert whole.microsecond == 0
    assert at - timedelta(seconds=1) < whole <= at
    assert span % MS == timedelta(0)
    began = at - lookback
    assert whole - span <= began < whole - span + MS


def test_a_whole_second_span_is_unchanged() -> None:
    at = datetime(2026, 11, 30, 23, 9, 10, tzinfo=UTC)
    assert engine_span(at, timedelta(seconds=20)) == (at, timedelta(seconds=20))
    live = at + timedelta(microseconds=645_776)
    assert engine_span(live, timedelta(seconds=20, microseconds=645_776)) == (
        at,
        timedelta(seconds=20),
    )
