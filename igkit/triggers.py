"""Trigger run facade: capture the triggers' ranges -> judge -> ``triggers.json`` + snapshots.

The same path serves a live Prometheus and a replay of an earlier run's ``snapshots/``
(a :class:`~igkit.sources.replay.ReplaySource` answers the same requests), so a
``triggers check`` can be re-judged offline from what it read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from igkit import atomic, rundir
from igkit.judge.triggers import (
    TriggerStatus,
    TriggerVerdict,
    condition_requests,
    judge_triggers,
)
from igkit.snapshots import Snapshot, SnapshotSet
from igkit.snapshots.store import write_snapshots
from igkit.sources import Source
from igkit.sources.registry import capture_ranges
from igkit.spec.loader import LoadedMatrix
from igkit.spec.triggers import Trigger
from igkit.timeutil import promql_duration, rfc3339

TRIGGERS_FILE = "triggers.json"


@dataclass(frozen=True)
class TriggerRun:
    """What one evaluation judged: when, over which lookback, and each trigger's verdict."""

    evaluated_at: datetime
    lookback: timedelta
    verdicts: list[TriggerVerdict]

    @property
    def quiet(self) -> bool:
        """True only when every trigger is QUIET (anything else is not safe to promote)."""
        return all(v.status is TriggerStatus.QUIET for v in self.verdicts)

    def document(self) -> dict[str, Any]:
        """``triggers.json``: exactly evaluated_at, lookback and id/status/fired_at/reasons."""
        return {
            "evaluated_at": rfc3339(self.evaluated_at),
            "lookback": promql_duration(self.lookback),
            "triggers": [v.model_dump(mode="json") for v in self.verdicts],
        }


def requests_of(triggers: list[Trigger], at: datetime, lookback: timedelta) -> list[Any]:
    """Every (label, request) the triggers read, labelled ``trigger-<id>-<condition>``."""
    return [
        (f"trigger-{t.id}-{c.name}", r)
        for t in triggers
        for c, r in condition_requests(t, at, lookback)
    ]


def capture_triggers(
    triggers: list[Trigger], source: Source | None, at: datetime, lookback: timedelta
) -> SnapshotSet:
    """Fetch every condition's range once (a failure is recorded, never raised)."""
    return capture_ranges(source, [r for _, r in requests_of(triggers, at, lookback)])


def evaluate_triggers(
    loaded: LoadedMatrix,
    source: Source | None,
    at: datetime,
    lookback: timedelta,
    *,
    trigger_ids: list[str] | None = None,
) -> tuple[TriggerRun, SnapshotSet]:
    """Capture and judge the matrix's triggers (all, or those named) at ``at``."""
    triggers = selected(loaded, trigger_ids)
    at = at.replace(microsecond=0)
    snaps = capture_triggers(triggers, source, at, lookback)
    return TriggerRun(at, lookback, judge_triggers(triggers, snaps, at, lookback)), snaps


def selected(loaded: LoadedMatrix, trigger_ids: list[str] | None) -> list[Trigger]:
    """The triggers to judge; an unknown id is a usage error naming the known ones."""
    from igkit.errors import ConfigError

    triggers = list(loaded.matrix.triggers)
    if not triggers:
        raise ConfigError("the matrix has no triggers: section", where="triggers")
    if trigger_ids is None:
        return triggers
    known = {t.id: t for t in triggers}
    unknown = [i for i in trigger_ids if i not in known]
    if unknown:
        raise ConfigError(
            f"unknown trigger {', '.join(unknown)} (known: {', '.join(known)})", where="--trigger"
        )
    return [known[i] for i in trigger_ids]


def write_trigger_run(
    out: Path,
    run: TriggerRun,
    snaps: SnapshotSet,
    loaded: LoadedMatrix,
    *,
    server: str | None,
    triggers: list[Trigger],
) -> None:
    """``out/snapshots/`` (labelled, indexed) then ``out/triggers.json``."""
    labelled = [
        (label, s)
        for label, r in requests_of(triggers, run.evaluated_at, run.lookback)
        if isinstance(s := snaps.prometheus.get(r.id), Snapshot)
    ]
    write_snapshots(
        out / "snapshots",
        labelled,
        evaluated_at=run.evaluated_at,
        tenant=None,
        server=server,
        matrix_sha256=loaded.sha256,
    )
    atomic.write_bytes(out / TRIGGERS_FILE, atomic.json_bytes(run.document()))


def check_triggers(
    loaded: LoadedMatrix,
    source: Source | None,
    at: datetime,
    lookback: timedelta,
    *,
    out: Path,
    server: str | None,
    trigger_ids: list[str] | None = None,
) -> TriggerRun:
    """The ``igkit triggers check`` run: evaluate, then write ``out`` (taken for this run)."""
    with rundir.owned(out, fresh=True):
        run, snaps = evaluate_triggers(loaded, source, at, lookback, trigger_ids=trigger_ids)
        write_trigger_run(
            out, run, snaps, loaded, server=server, triggers=selected(loaded, trigger_ids)
        )
        return run
