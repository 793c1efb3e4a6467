"""``due_updates``: the T+15/30/45/60 status cadence after the 100 % promotion."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from igkit.conductor.status import CADENCE, due_updates

START = datetime(2026, 6, 1, 11, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


def test_the_cadence_is_every_quarter_hour_of_the_post_deploy_hour() -> None:
    assert [int(o / MIN) for o in CADENCE] == [15, 30, 45, 60]
    assert due_updates(START, START + 14 * MIN, set()) == []
    assert due_updates(START, START + 15 * MIN, set()) == [15 * MIN]
    assert due_updates(START, START + 31 * MIN, {15 * MIN}) == [30 * MIN]
    assert due_updates(START, START + 2 * 60 * MIN, set()) == list(CADENCE)


def simulate(times: list[datetime]) -> tuple[list[tuple[datetime, timedelta]], set[timedelta]]:
    sent: set[timedelta] = set()
    log: list[tuple[datetime, timedelta]] = []
    for now in times:
        for offset in due_updates(START, now, sent):
            log.append((now, offset))
            sent.add(offset)
    return log, sent


@pytest.mark.property
@given(st.lists(st.integers(min_value=-600, max_value=6000), min_size=1, max_size=40))
def test_never_twice_never_early_none_skipped(seconds: list[int]) -> None:
    times = [START + timedelta(seconds=s) for s in sorted(seconds)]
    log, sent = simulate(times)
    offsets = [o for _, o in log]
    assert len(offsets) == len(set(offsets))  # never twice
    assert all(START + o <= now for now, o in log)  # never early
    assert sent == {o for o in CADENCE if START + o <= times[-1]}  # none skipped


@pytest.mark.property
@given(st.lists(st.integers(min_value=-600, max_value=6000), min_size=1, max_size=40))
def test_a_clock_going_backwards_repeats_nothing(seconds: list[int]) -> None:
    times = [START + timedelta(seconds=s) for s in seconds]  # unsorted: jumps both ways
    log, sent = simulate(times)
    offsets = [o for _, o in log]
    assert len(offsets) == len(set(offsets))
    assert all(START + o <= now for now, o in log)
    assert sent == {o for o in CADENCE if START + o <= max(times)}
