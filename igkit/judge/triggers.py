"""Trigger evaluation: a pure function of range snapshots, the evaluation time and a lookback.

Prometheus alerting semantics, on the trigger's own evaluation grid (``step``): a condition
FIRES at the first evaluation instant at which it has held at every step of the preceding
``for`` (``for: 0`` fires at once). A step with no sample, or a NaN, is not true: it resets the
sustain clock. A hole longer than ``max_gap`` in the lookback makes the trigger NO_DATA unless
it fired anyway; a condition with no series at all (e.g. the canary or baseline side of a
ratio missing) is NO_DATA. A trigger is FIRED if it fired at any instant of the lookback,
even if resolved since; FIRED wins over NO_DATA/ERROR (a seen fire is a rollback), then
ERROR, then NO_DATA; QUIET only when every condition was judged and never fired.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_serializer

from igkit.snapshots import FetchFailure, Snapshot, SnapshotSet
from igkit.snapshots.models import RangeRequest
from igkit.snapshots.series import ResultError, check_range_snapshot
from igkit.spec.triggers import Trigger, TriggerCondition
from igkit.timeutil import human_duration, rfc3339


class TriggerStatus(StrEnum):
    FIRED = "FIRED"
    QUIET = "QUIET"
    NO_DATA = "NO_DATA"
    ERROR = "ERROR"


_RANK = {TriggerStatus.FIRED: 3, TriggerStatus.ERROR: 2, TriggerStatus.NO_DATA: 1}


class ConditionVerdict(BaseModel):
    """One condition's outcome (details behind a trigger's reasons)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    status: TriggerStatus
    fired_at: datetime | None = None
    onset: datetime | None = None
    worst: float | None = None
    series: str | None = None
    snapshot: str
    reason: str


class TriggerVerdict(BaseModel):
    """A trigger's outcome; ``triggers.json`` holds ``id, status, fired_at, reasons``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    status: TriggerStatus
    fired_at: datetime | None = None
    reasons: list[str] = Field(default_factory=list)
    conditions: list[ConditionVerdict] = Field(default_factory=list, exclude=True)

    @field_serializer("fired_at")
    def _ser(self, v: datetime | None) -> str | None:
        return None if v is None else rfc3339(v)


def condition_requests(
    trigger: Trigger, at: datetime, lookback: timedelta
) -> list[tuple[TriggerCondition, RangeRequest]]:
    """The range request of each condition: its value on the trigger's step grid ending at
    ``at``, reaching ``for`` before the lookback so a run already under way is seen whole."""
    step = trigger.step.total_seconds()
    out = []
    for cond in trigger.conditions():
        span = (lookback + cond.for_).total_seconds()
        n = math.ceil(span / step - 1e-9)
        start = at - timedelta(seconds=n * step)
        out.append((cond, RangeRequest(query=cond.value, start=start, end=at, step_seconds=step)))
    return out


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def _t(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


def _runs(mask: np.ndarray) -> np.ndarray:
    """Per row, the length of the run of True ending at each column (vectorised)."""
    idx = np.arange(mask.shape[1])
    last_false = np.where(~mask, idx, -1)
    last_false = np.maximum.accumulate(last_false, axis=1)
    return np.asarray(idx - last_false)


def _longest_gap(present: np.ndarray) -> np.ndarray:
    """Per row, the longest run of absent steps."""
    return np.asarray(_runs(~present).max(axis=1, initial=0))


def judge_condition(
    trigger: Trigger,
    cond: TriggerCondition,
    request: RangeRequest,
    snapshots: SnapshotSet,
    lookback: timedelta,
) -> ConditionVerdict:
    """One condition of ``trigger`` from the snapshot answering ``request``."""
    sid = request.id
    where = f"{trigger.id}/{cond.name}"

    def verdict(status: TriggerStatus, reason: str, **kw: object) -> ConditionVerdict:
        return ConditionVerdict(
            name=cond.name,
            status=status,
            snapshot=sid,
            reason=f"{where}: {reason} (snapshot {sid})",
            **kw,
        )

    got = snapshots.range(request, role=f"trigger {where}")
    if isinstance(got, FetchFailure):
        status = TriggerStatus.NO_DATA if got.kind == "missing" else TriggerStatus.ERROR
        return verdict(status, f"no data: {got.message}")
    snap: Snapshot = got
    if snap.status != "success":
        return verdict(TriggerStatus.ERROR, f"query failed: {snap.error_type}: {snap.error}")
    try:
        data = check_range_snapshot(snap)
    except ResultError as exc:
        return verdict(TriggerStatus.ERROR, f"malformed result: {exc}")
    if not data.keys:
        return verdict(TriggerStatus.NO_DATA, "no series (a side of the condition has no data)")

    grid = request.grid()
    step = request.step_seconds
    n_series, n_steps = len(data.keys), len(grid)
    values = np.full((n_series, n_steps), np.nan)
    rows = np.repeat(np.arange(n_series), data.lengths)
    cols = np.rint((data.timestamps - grid[0]) / step).astype(np.int64)
    on_grid = (
        (cols >= 0)
        & (cols < n_steps)
        & np.isclose(grid[np.clip(cols, 0, n_steps - 1)], data.timestamps)
    )
    values[rows[on_grid], cols[on_grid]] = data.values[on_grid]

    present = np.isfinite(values)
    truth = present & (
        values > cond.threshold if cond.comparison == ">" else values < cond.threshold
    )
    need = math.ceil(cond.for_.total_seconds() / step - 1e-9) + 1
    runs = _runs(truth)
    window = grid >= grid[-1] - lookback.total_seconds() - 1e-6
    fired = (runs >= need) & window

    lb = values[:, window]
    finite = lb[np.isfinite(lb)]
    worst: float | None = None
    if finite.size:
        worst = float(finite.max() if cond.comparison == ">" else finite.min())
    rule = f"{cond.comparison} {_fmt(cond.threshold)}"

    if fired.any():
        first_col = int(np.argmax(fired.any(axis=0)))
        row = int(np.argmax(fired[:, first_col]))
        onset_col = first_col - int(runs[row, first_col]) + 1
        in_run = values[row, onset_col : first_col + 1]
        peak = float(in_run.max() if cond.comparison == ">" else in_run.min())
        fired_at, onset = _t(grid[first_col]), _t(grid[onset_col])
        subject = "value" if data.keys[row] == "{}" else data.keys[row]
        return verdict(
            TriggerStatus.FIRED,
            f"FIRED at {rfc3339(fired_at)}: {subject} {rule} since {rfc3339(onset)} "
            f"(for {human_duration(cond.for_.total_seconds())}), worst {_fmt(peak)}",
            fired_at=fired_at,
            onset=onset,
            worst=peak,
            series=data.keys[row],
        )
    gaps = _longest_gap(present[:, window]) * step
    if (gaps > trigger.max_gap.total_seconds() + 1e-6).any():
        row = int(np.argmax(gaps))
        return verdict(
            TriggerStatus.NO_DATA,
            f"{data.keys[row]} has a {human_duration(float(gaps[row]))} hole in the lookback "
            f"(max_gap {human_duration(trigger.max_gap.total_seconds())})",
            worst=worst,
            series=data.keys[row],
        )
    held = float((runs[:, window].max(initial=0) - 1) * step) if truth[:, window].any() else None
    how = (
        f"held at most {human_duration(held)} of {human_duration(cond.for_.total_seconds())}"
        if held is not None
        else "never true"
    )
    worst_text = f", worst {_fmt(worst)}" if worst is not None else ""
    return verdict(
        TriggerStatus.QUIET,
        f"QUIET: {rule} {how} in the lookback{worst_text}",
        worst=worst,
    )


def judge_trigger(
    trigger: Trigger, snapshots: SnapshotSet, at: datetime, lookback: timedelta
) -> TriggerVerdict:
    """The trigger's verdict: its conditions combined (FIRED > ERROR > NO_DATA > QUIET)."""
    conds = [
        judge_condition(trigger, c, r, snapshots, lookback)
        for c, r in condition_requests(trigger, at, lookback)
    ]
    status = max((c.status for c in conds), key=lambda s: _RANK.get(s, 0))
    fired = [c.fired_at for c in conds if c.fired_at is not None]
    return TriggerVerdict(
        id=trigger.id,
        status=status,
        fired_at=min(fired) if fired else None,
        reasons=[c.reason for c in conds],
        conditions=conds,
    )


def judge_triggers(
    triggers: list[Trigger], snapshots: SnapshotSet, at: datetime, lookback: timedelta
) -> list[TriggerVerdict]:
    return [judge_trigger(t, snapshots, at, lookback) for t in triggers]
