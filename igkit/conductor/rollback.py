"""``igkit cutover rollback --to last-stable --confirm --rollback 'CMD'``: roll back on command.

A rollback is never slower than a forward step (seed ADR-003): after the flags are checked
and the run directory is taken (a non-blocking lock), the actuator runs at once — no
evaluation, no wait. A failing actuator is retried once at once; failing again is
ROLLBACK_FAILED (exit 1) with a loud line. The event is recorded in the cutover's
``timeline.jsonl`` when ``--out`` names a cutover run directory, else in a fresh one; the
major-incident status update is drafted under ``status/``.
"""

from __future__ import annotations

import fcntl
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from igkit import rundir
from igkit.conductor import status as statuses
from igkit.conductor.actuators import ActuatorResult, parse_actuator, run_actuator
from igkit.conductor.figures import StatusFigures
from igkit.conductor.timeline import TIMELINE_FILE, Timeline, read_timeline
from igkit.errors import ConfigError
from igkit.redact import redact
from igkit.spec.loader import load_matrix

TARGETS = ("last-stable",)
EXIT_ROLLED_BACK, EXIT_FAILED = 0, 1


@dataclass(frozen=True)
class RollbackOptions:
    rollback: str
    confirm: bool
    to: str = "last-stable"
    out: Path | None = None
    status_hook: str | None = None
    evidence: Path | None = None
    matrix: Path | None = None
    actuator_timeout: float = 300.0


def default_out(now: datetime) -> Path:
    return Path(f"igkit-rollback-{now.strftime('%Y%m%dT%H%M%SZ')}")


def rollback(
    options: RollbackOptions,
    *,
    now: Callable[[], datetime] = lambda: datetime.now(tz=UTC),
    emit: Callable[[str], None] = print,
) -> int:
    """Run the rollback actuator now and record it; 0 when it succeeded, 1 when it failed."""
    if not options.confirm:
        raise ConfigError(
            "refusing to roll back production without --confirm (nothing was run)",
            where="--confirm",
        )
    if options.to not in TARGETS:
        raise ConfigError(
            f"only {', '.join(TARGETS)} is supported, not {options.to!r}", where="--to"
        )
    actuator = parse_actuator(options.rollback, "rollback", "--rollback")
    out = options.out or default_out(now())
    known: int | None = None
    holder = busy(out)
    if holder is not None:  # a conductor runs there: never wait for it, record beside it
        known = last_weight(out)
        beside = out.with_name(f"{out.name}-rollback-{now().strftime('%Y%m%dT%H%M%SZ')}")
        print(
            f"igkit: warning: {out} is held by a running igkit (pid {holder}); this rollback "
            f"is recorded in {beside}. That conductor is not stopped by it: stop it now "
            f"(kill -INT {holder}) or it may set a weight again",
            file=sys.stderr,
            flush=True,
        )
        out = beside
    existing = (out / TIMELINE_FILE).is_file()
    if not existing and out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(
            "is neither a cutover run directory (no timeline.jsonl) nor new or empty",
            where=str(out),
        )
    with rundir.owned(out, fresh=False):
        if existing:
            timeline, entries = Timeline.resumed(out)
            stages = [e.weight for e in entries if e.kind == "stage"]
            weight = stages[-1] if stages else None
        else:
            timeline, weight = Timeline(out), known
        stage = weight
        if not existing:  # one fsynced line: the log of the call below is numbered after it
            timeline.append(
                "start",
                now(),
                "igkit cutover rollback --to last-stable --confirm",
                args={"verb": "rollback", "to": options.to, "rollback": options.rollback},
            )
        first = run_actuator(
            actuator,
            weight=None,
            run_dir=out,
            number=timeline.seq,
            timeout=options.actuator_timeout,
        )
        results = [first]
        _record(timeline, now(), stage, first)
        if not first.ok:
            retry = run_actuator(
                actuator,
                weight=None,
                run_dir=out,
                number=timeline.seq,
                timeout=options.actuator_timeout,
            )
            results.append(retry)
            _record(timeline, now(), stage, retry)
        ok = results[-1].ok
        cause = f"operator: igkit cutover rollback --to {options.to}"
        said = "rolled back" if ok else "ROLLBACK FAILED twice"
        timeline.append("rollback", now(), f"{said}: {cause}", stage=stage, cause=cause)
        loaded = load_matrix(options.matrix)  # only now: nothing may delay the actuator
        judged = [e.dir for e in timeline.entries if e.kind == "judgement" and e.dir]
        figures = (
            StatusFigures.from_judge_dir(out / judged[-1], loaded, source=judged[-1])
            if judged
            else StatusFigures.unknown(stage)
        )
        record = statuses.write_status(
            out,
            "rollback",
            figures.model_copy(update={"stage": stage}),
            at=now(),
            templates=statuses.load_templates(loaded, options.evidence),
            hook=options.status_hook,
        )
        timeline.append(
            "status",
            now(),
            "rollback status update (major incident)",
            stage=stage,
            status_kind="rollback",
            file=record.file,
            hook_exit_code=record.hook_exit_code,
        )
        code = EXIT_ROLLED_BACK if ok else EXIT_FAILED
        outcome = "ROLLED_BACK" if ok else "ROLLBACK_FAILED"
        timeline.append("end", now(), said, stage=stage, outcome=outcome, exit_code=code)
    shown = "unknown" if weight is None else f"{weight}%"
    if ok:
        emit(f"ROLLED_BACK: {results[-1].summary()}; recorded in {out / TIMELINE_FILE}")
    else:
        print(
            f"igkit: ROLLBACK FAILED: the rollback actuator failed twice "
            f"({redact(results[-1].summary())}); the last weight known to be set is {shown}; "
            f"act by hand NOW (log: {out / results[-1].log})",
            file=sys.stderr,
            flush=True,
        )
    return code


def busy(out: Path) -> str | None:
    """The pid of another process holding ``out``'s run lock, else None (instant: never
    waits; this process's own runs do not count)."""
    lock = out / rundir.LOCK
    if rundir.active(out) is not None or not lock.is_file():
        return None
    try:
        fd = os.open(lock, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "?"
    finally:
        os.close(fd)  # closing releases a lock taken here
    return None


def last_weight(out: Path) -> int | None:
    """The last stage weight ``out``'s timeline records (None when unreadable)."""
    try:
        entries = read_timeline(out / TIMELINE_FILE)
    except ConfigError:
        return None
    stages = [e.weight for e in entries if e.kind == "stage"]
    return stages[-1] if stages else None


def _record(timeline: Timeline, at: datetime, stage: int | None, result: ActuatorResult) -> None:
    timeline.append(
        "actuator",
        at,
        result.summary(),
        stage=stage,
        name=result.name,
        argv=result.argv,
        exit_code=result.exit_code,
        duration_s=result.duration_s,
        log=result.log,
    )
