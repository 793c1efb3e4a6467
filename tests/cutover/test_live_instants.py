"""Live instants: a conductor's ``now()`` carries microseconds, the trigger engine judges
whole seconds, ``--lookback`` and judge.json durations travel in milliseconds. The report
must still name the asked instant and cover the whole stage (no more than 1 ms before it), or
every live judgement HELD on "triggers unknown"; a judgement must read back equal to itself,
or no live run replays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from igkit.cutover.judge import decide
from igkit.cutover.models import Judgement
from igkit.cutover.triggers import TriggerCheck, engine_span
from igkit.strictdoc import load_model

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


def test_a_judgement_reads_back_equal_to_itself_at_live_instants() -> None:
    """judge.json keeps durations in whole milliseconds; the model holds them so too, or a
    replayed judgement of a live stage (elapsed 20.003827 s, read back 20.004 s) differed
    from the recorded one and ``bundle verify --replay`` failed every judgement."""
    start = datetime(2026, 11, 30, 23, 24, 21, 675_143, tzinfo=UTC)
    at = datetime(2026, 11, 30, 23, 24, 41, 678_970, tzinfo=UTC)
    judged = decide(
        stage=25,
        stage_start=start,
        at=at,
        hold=timedelta(seconds=20),
        triggers=TriggerCheck(None, "no report"),
        canary=None,
    )
    assert judged.elapsed == timedelta(milliseconds=20_004)
    doc = judged.model_dump_json(by_alias=True).encode()
    assert load_model(Judgement, doc, where="judge.json") == judged
