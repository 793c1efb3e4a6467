"""The per-window status the reports show (:func:`igkit.judge.k6.window_statuses`) against
the judge's verdict and an independent per-window check, on arbitrary window tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from igkit.judge.k6 import evaluate_k6, window_statuses
from igkit.snapshots import K6Snapshot, K6Table, K6Window, params_for
from igkit.spec.models import K6Objective, K6Settings, Threshold
from igkit.units import Unit
from igkit.verdicts import Status

T0 = datetime(2026, 11, 27, 16, 55, tzinfo=UTC)
SETTINGS = K6Settings(
    window=timedelta(seconds=2),
    min_samples_per_window=10,
    consecutive_failing_windows=2,
    max_error_rate=Threshold(value=1, unit=Unit.PERCENT),
)
OBJECTIVE = K6Objective(
    type="k6", name="reads", scenario="reads", p95=Threshold(value=350, unit=Unit.MS)
)

window = st.tuples(
    st.integers(0, 40),  # latency samples
    st.one_of(st.none(), st.floats(0.0, 1.0, allow_nan=False)),  # p95 seconds
    st.integers(0, 40),  # requests
    st.integers(0, 3),  # failed
)


def snapshot(rows: list[tuple[int, float | None, int, int]], *, complete: bool) -> K6Snapshot:
    windows = [
        K6Window(
            start=T0 + i * SETTINGS.window,
            end=T0 + (i + 1) * SETTINGS.window,
            latency_samples=s,
            p95_seconds=p,
            requests=r,
            failed=min(f, r),
        )
        for i, (s, p, r, f) in enumerate(rows)
    ]
    p95s = [w.p95_seconds for w in windows if w.p95_seconds is not None]
    table = K6Table(
        latency_samples=sum(w.latency_samples for w in windows),
        p95_seconds=max(p95s) if p95s else None,
        requests=sum(w.requests for w in windows),
        failed=sum(w.failed for w in windows),
        windows=windows,
    )
    return K6Snapshot(
        id="0" * 16,
        file="points.json",
        file_sha256="0" * 64,
        file_bytes=1,
        format="json",
        captured_at=T0,
        params=params_for(SETTINGS),
        status="success",
        skipped_lines=0 if complete else 1,
        scenarios={"reads": table},
    )


@pytest.mark.property
@given(rows=st.lists(window, min_size=1, max_size=8), complete=st.booleans())
def test_window_status_agrees_with_the_judge(
    rows: list[tuple[int, float | None, int, int]], complete: bool
) -> None:
    snap = snapshot(rows, complete=complete)
    table = snap.scenarios["reads"]
    statuses = window_statuses(snap, table, OBJECTIVE, SETTINGS)
    verdict = evaluate_k6("G5", OBJECTIVE, SETTINGS, [snap], [])
    assert len(statuses) == len(table.windows)
    for s, w in zip(statuses, table.windows, strict=True):
        if s is Status.PASS:  # an independent check of what a passing window is
            assert w.latency_samples >= SETTINGS.min_samples_per_window
            assert w.requests >= SETTINGS.min_samples_per_window
            assert w.p95_seconds is not None
            assert w.p95_seconds <= 0.350
            assert w.failed / w.requests <= 0.01
        if s is Status.FAIL:
            assert w.latency_samples >= SETTINGS.min_samples_per_window
    (series,) = verdict.series or [None]
    if series is not None and series.steps_violating:
        assert statuses.count(Status.FAIL) == series.steps_violating
    if verdict.status is Status.PASS:
        assert Status.NO_DATA not in statuses
        assert Status.ERROR not in statuses
    if not complete:
        assert Status.PASS not in statuses


def test_windows_cut_with_other_settings_are_error() -> None:
    snap = snapshot([(20, 0.1, 20, 0)] * 3, complete=True)
    other = SETTINGS.model_copy(update={"window": timedelta(seconds=4)})
    assert window_statuses(snap, snap.scenarios["reads"], OBJECTIVE, other) == [Status.ERROR] * 3
    assert (
        window_statuses(snap, snap.scenarios["reads"], OBJECTIVE, SETTINGS) == [Status.PASS] * 3
    )  # positive control
