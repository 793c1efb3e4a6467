"""The trigger judge on hand-built snapshots: alerting semantics, gaps, NaN, damaged input.

Every hostile case has its honest twin (the same series without the defect) as a control."""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from igkit.judge.triggers import TriggerStatus, condition_requests, judge_trigger
from igkit.snapshots import FetchFailure, Snapshot, SnapshotSet
from igkit.spec.loader import load_matrix
from igkit.spec.models import Matrix
from igkit.spec.triggers import ErrorBudgetBurn, SecurityPolicyFailure

AT = datetime(2025, 9, 17, 12, 0, tzinfo=UTC)
LOOKBACK = timedelta(minutes=60)
HIGH, LOW = 0.10, 0.001  # error ratios above / below 4.32 %


@functools.cache
def _matrix() -> Matrix:
    return load_matrix().matrix


def _trigger(**change: Any) -> ErrorBudgetBurn:
    t = _matrix().triggers[0]
    assert isinstance(t, ErrorBudgetBurn)
    return t.model_copy(update=change) if change else t


def _snap(req: Any, series: list[tuple[dict[str, str], list[float | None]]]) -> Snapshot:
    grid = req.grid()
    result = [
        {
            "metric": labels,
            "values": [
                [float(t), repr(v) if v == v else "NaN"]
                for t, v in zip(grid, vals, strict=True)
                if v is not None
            ],
        }
        for labels, vals in series
    ]
    return Snapshot(
        id=req.id,
        request=req,
        server="test",
        fetched_at=AT,
        status="success",
        result_type="matrix",
        result=result,
    ).sealed()


def _judge(values: list[float | None], trigger: ErrorBudgetBurn | None = None) -> Any:
    t = trigger or _trigger()
    ((_, req),) = condition_requests(t, AT, LOOKBACK)
    n = len(req.grid())
    padded = [LOW] * (n - len(values)) + values
    snaps = SnapshotSet.of({req.id: _snap(req, [({}, padded)])})
    return judge_trigger(t, snaps, AT, LOOKBACK)


def test_fires_at_the_step_the_condition_has_held_for_10m() -> None:
    v = _judge([HIGH] * 21 + [LOW] * 10)  # true 10 min (21 steps), then resolved
    assert v.status is TriggerStatus.FIRED
    assert v.fired_at == AT - timedelta(seconds=30 * 10)
    assert "worst 0.1" in v.reasons[0]


def test_true_one_step_short_stays_quiet() -> None:
    v = _judge([HIGH] * 20 + [LOW] * 10)  # 9m30s
    assert v.status is TriggerStatus.QUIET
    assert "held at most 9m30s of 10m" in v.reasons[0]


def test_a_missing_step_resets_the_sustain_clock() -> None:
    assert _judge([HIGH] * 12 + [None] + [HIGH] * 12).status is TriggerStatus.QUIET
    assert _judge([HIGH] * 12 + [HIGH] + [HIGH] * 12).status is TriggerStatus.FIRED  # control


def test_nan_is_not_true_and_resets() -> None:
    assert _judge([HIGH] * 12 + [float("nan")] + [HIGH] * 12).status is TriggerStatus.QUIET


def test_hole_longer_than_max_gap_is_no_data() -> None:
    v = _judge([LOW] * 10 + [None] * 5 + [LOW] * 10)  # 2m30s > max_gap 2m
    assert v.status is TriggerStatus.NO_DATA
    assert "hole" in v.reasons[0]
    assert _judge([LOW] * 10 + [None] * 4 + [LOW] * 10).status is TriggerStatus.QUIET  # control


def test_stale_end_is_a_hole_too() -> None:
    assert _judge([LOW] * 10 + [None] * 6).status is TriggerStatus.NO_DATA


def test_fired_wins_over_a_later_hole() -> None:
    assert _judge([HIGH] * 21 + [None] * 10).status is TriggerStatus.FIRED


def test_lookback_boundary_counts_and_a_run_too_short_before_it_does_not() -> None:
    t = _trigger()
    ((_, req),) = condition_requests(t, AT, LOOKBACK)
    n = len(req.grid())
    at_start = [HIGH] * 21 + [LOW] * (n - 21)  # held 10m exactly when the lookback opens
    snaps = SnapshotSet.of({req.id: _snap(req, [({}, at_start)])})
    v = judge_trigger(t, snaps, AT, LOOKBACK)
    assert v.status is TriggerStatus.FIRED
    assert v.fired_at == AT - LOOKBACK
    short = [HIGH] * 20 + [LOW] * (n - 20)  # resolved one step before it could fire
    snaps = SnapshotSet.of({req.id: _snap(req, [({}, short)])})
    assert judge_trigger(t, snaps, AT, LOOKBACK).status is TriggerStatus.QUIET


def test_no_series_is_no_data_and_missing_snapshot_is_no_data() -> None:
    t = _trigger()
    ((_, req),) = condition_requests(t, AT, LOOKBACK)
    empty = SnapshotSet.of({req.id: _snap(req, [])})
    assert judge_trigger(t, empty, AT, LOOKBACK).status is TriggerStatus.NO_DATA
    assert judge_trigger(t, SnapshotSet(), AT, LOOKBACK).status is TriggerStatus.NO_DATA


def test_fetch_error_and_malformed_result_are_error() -> None:
    t = _trigger()
    ((_, req),) = condition_requests(t, AT, LOOKBACK)
    failed = SnapshotSet.of({req.id: FetchFailure(request_id=req.id, kind="error", message="boom")})
    v = judge_trigger(t, failed, AT, LOOKBACK)
    assert v.status is TriggerStatus.ERROR
    assert "boom" in v.reasons[0]
    good = _snap(req, [({}, [LOW] * len(req.grid()))])
    bad = good.model_copy(update={"result": [{"metric": {}, "values": [[1, "abc"]]}]}).sealed()
    v = judge_trigger(t, SnapshotSet.of({req.id: bad}), AT, LOOKBACK)
    assert v.status is TriggerStatus.ERROR
    assert "malformed" in v.reasons[0]
    assert (
        judge_trigger(t, SnapshotSet.of({req.id: good}), AT, LOOKBACK).status is TriggerStatus.QUIET
    )


def test_security_opa_condition_fires_at_once_and_wins_over_a_quiet_twin() -> None:
    t = _matrix().triggers[2]
    assert isinstance(t, SecurityPolicyFailure)
    (_, opa_req), (_, web_req) = condition_requests(t, AT, LOOKBACK)
    n_opa, n_web = len(opa_req.grid()), len(web_req.grid())
    web_ok = _snap(web_req, [({}, [0.999] * n_web)])
    one_step = _snap(opa_req, [({}, [0.0] * (n_opa - 5) + [1.0] + [0.0] * 4)])
    v = judge_trigger(t, SnapshotSet.of({opa_req.id: one_step, web_req.id: web_ok}), AT, LOOKBACK)
    assert v.status is TriggerStatus.FIRED
    assert v.fired_at == AT - timedelta(minutes=2)
    quiet = _snap(opa_req, [({}, [0.0] * n_opa)])
    v = judge_trigger(t, SnapshotSet.of({opa_req.id: quiet, web_req.id: web_ok}), AT, LOOKBACK)
    assert v.status is TriggerStatus.QUIET


def _naive_fired_at(truth: list[bool], need: int, first_in_lookback: int) -> int | None:
    run = 0
    for i, ok in enumerate(truth):
        run = run + 1 if ok else 0
        if run >= need and i >= first_in_lookback:
            return i
    return None


@pytest.mark.property
@given(st.lists(st.sampled_from([HIGH, LOW, None, float("nan")]), min_size=141, max_size=141))
def test_vectorised_judge_matches_a_plain_loop(values: list[float | None]) -> None:
    t = _trigger(max_gap=timedelta(hours=3))
    ((_, req),) = condition_requests(t, AT, LOOKBACK)
    grid = req.grid()
    assert len(grid) == len(values)
    v = _judge(values, t)
    truth = [x is not None and x == x and x > t.error_ratio_threshold for x in values]
    first = int(np.argmax(grid >= AT.timestamp() - LOOKBACK.total_seconds()))
    idx = _naive_fired_at(truth, 21, first)
    if idx is None:
        assert v.status in (TriggerStatus.QUIET, TriggerStatus.NO_DATA)
        assert v.fired_at is None
    else:
        assert v.status is TriggerStatus.FIRED
        assert v.fired_at is not None
        assert v.fired_at.timestamp() == grid[idx]
