"""The judge's decision table (pure), and hostile trigger reports: never a PROMOTE unless
every condition holds, never a traceback."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from igkit.cutover.judge import decide
from igkit.cutover.models import (
    Action,
    Canary,
    CanaryObjective,
    TriggerOutcome,
    TriggerReport,
    TriggerStatus,
)
from igkit.cutover.triggers import TriggerCheck, read_report
from igkit.verdicts import Status
from tests.cutover.conftest import QUIET, triggers_doc

AT = datetime(2025, 3, 1, 3, 30, tzinfo=UTC)
HOLD = timedelta(minutes=10)


def canary(status: Status, requests: float | None, minimum: int = 1000) -> Canary:
    return Canary(
        gate="G1",
        select='track="canary"',
        status=status,
        requests=requests,
        min_requests=minimum,
        objectives=[CanaryObjective(name="availability", status=status, reasons=["r"])],
        verdicts="canary",
    )


def check(statuses: list[TriggerStatus]) -> TriggerCheck:
    outcomes = [
        TriggerOutcome(id=f"t{i}", status=s, fired_at=AT if s == TriggerStatus.FIRED else None)
        for i, s in enumerate(statuses)
    ]
    return TriggerCheck(TriggerReport(evaluated_at=AT, lookback=HOLD, triggers=outcomes), None)


@pytest.mark.property
@given(
    statuses=st.lists(st.sampled_from(list(TriggerStatus)), min_size=1, max_size=5),
    elapsed_s=st.integers(min_value=1, max_value=3600),
    canary_status=st.sampled_from(list(Status)),
    requests=st.one_of(st.none(), st.floats(min_value=0, max_value=1e6)),
)
def test_the_decision_table(
    statuses: list[TriggerStatus],
    elapsed_s: int,
    canary_status: Status,
    requests: float | None,
) -> None:
    elapsed = timedelta(seconds=elapsed_s)
    result = decide(
        stage=25,
        stage_start=AT - elapsed,
        at=AT,
        hold=HOLD,
        triggers=check(statuses),
        canary=canary(canary_status, requests),
    )
    if TriggerStatus.FIRED in statuses:
        assert result.action == Action.ROLLBACK
        return
    promote = (
        all(s == TriggerStatus.QUIET for s in statuses)
        and elapsed >= HOLD
        and canary_status == Status.PASS
        and requests is not None
        and requests >= 1000
    )
    assert result.action == (Action.PROMOTE if promote else Action.HOLD), result.reasons
    assert result.reasons


def test_no_trigger_report_holds_even_when_all_else_is_green() -> None:
    result = decide(
        stage=5,
        stage_start=AT - HOLD,
        at=AT,
        hold=HOLD,
        triggers=TriggerCheck(None, "the trigger engine (igkit triggers check) is not installed"),
        canary=canary(Status.PASS, 5000),
    )
    assert result.action == Action.HOLD
    assert result.reasons == [
        "triggers unknown: the trigger engine (igkit triggers check) is not installed"
    ]


@pytest.mark.parametrize(
    ("body", "expect"),
    [
        (b"{not json", "t.json"),
        (b'{"evaluated_at": "2025-03-01T03:30:00Z", "lookback": "10m"}', "triggers"),
        (
            b'{"evaluated_at": "2025-03-01T03:30:00Z", "lookback": "10m", "triggers": []}',
            "no trigger was evaluated",
        ),
        (
            b'{"evaluated_at": "2025-03-01T03:30:00Z", "lookback": "10m",'
            b' "triggers": [{"id": "x", "status": "MAYBE"}]}',
            "status",
        ),
        (
            b'{"evaluated_at": "2025-03-01T03:30:00Z", "lookback": "10m",'
            b' "triggers": [{"id": "x", "status": "QUIET"}], "evaluated_at": "2025-01-01T00:00:00Z"}',
            "duplicate",
        ),
        (b'{"evaluated_at": "2025-03-01T03:30:00Z", "lookback": NaN, "triggers": []}', "NaN"),
    ],
)
def test_a_malformed_trigger_report_is_one_line_and_no_report(
    tmp_path: Path, body: bytes, expect: str
) -> None:
    path = tmp_path / "t.json"
    path.write_bytes(body)
    result = read_report(path, AT, HOLD)
    assert result.report is None
    assert result.problem is not None
    assert "\n" not in result.problem
    assert expect.lower() in result.problem.lower(), result.problem


def test_the_honest_report_is_read(tmp_path: Path) -> None:
    """Positive control of the hostile reports above."""
    result = read_report(triggers_doc(tmp_path, AT, HOLD, QUIET), AT, HOLD)
    assert result.problem is None
    assert result.report is not None
    assert [t.status for t in result.report.triggers] == [TriggerStatus.QUIET] * 4
    assert json.loads((tmp_path / "t-triggers.json").read_text())["lookback"] == "10m"
