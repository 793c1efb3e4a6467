"""``igkit go-no-go --watch``: re-evaluate the gates on an interval through GA day.

Each evaluation is an ordinary live run (:func:`igkit.run.run_loaded`: fetch, seal the
snapshots, judge offline) in its own replayable directory ``OUT/evaluations/<UTC time>/``;
every one is appended to ``OUT/history.jsonl`` (one JSON object a line, see
:class:`HistoryEntry`). Only changes are printed: the decision and each gate status that moved,
with the reasons of the gates that moved. A watch stops on SIGINT/SIGTERM with a summary, or
with ``until="GO"`` at the first GO. An evaluation that raises (not one whose gates are ERROR
because Prometheus is down: that is a NO-GO like any other) is recorded with decision ERROR
and the watch goes on (an evidence directory being re-synced, a full disk freed later); only
a ConfigError of the first evaluation ends it, since nothing was ever watched.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from igkit import rundir
from igkit.errors import ConfigError, IgkitError
from igkit.redact import redact
from igkit.run import RunRequest, run_loaded
from igkit.spec.loader import LoadedMatrix
from igkit.timeutil import human_duration, parse_duration, rfc3339
from igkit.verdicts import RunVerdicts

HISTORY_FILE = "history.jsonl"
EVALUATIONS_DIR = "evaluations"
MIN_INTERVAL = timedelta(seconds=1)
MAX_INTERVAL = timedelta(days=1)
SUMMARY_TRANSITIONS = 10
"""Decision changes the summary lists (a day of flapping would bury it); history has all."""

WatchDecision = Literal["GO", "PARTIAL", "NO-GO", "ERROR"]


class HistoryEntry(BaseModel):
    """One line of ``history.jsonl``: what one evaluation decided and where its evidence is."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    evaluated_at: str = Field(description="RFC 3339, UTC, whole seconds")
    decision: WatchDecision = Field(description="ERROR: the evaluation itself failed")
    gates: dict[str, str] = Field(description="gate id -> PASS/FAIL/NO_DATA/ERROR")
    directory: str = Field(description="the evaluation's run directory, relative to OUT")
    snapshots_index_sha256: str | None
    error: str | None = Field(default=None, description="one line, with decision ERROR")


def parse_interval(text: str, flag: str = "--watch") -> timedelta:
    """``30s``, ``1m``, ``1h30m`` (or plain seconds): at least 1s, at most 1d; anything else is
    a usage error naming ``flag``."""
    raw = text.strip()
    try:
        interval = timedelta(seconds=float(raw)) if _is_number(raw) else parse_duration(raw)
    except (ValueError, OverflowError) as exc:
        raise ConfigError(f"{exc} (e.g. 30s, 1m)", where=flag) from None
    if not MIN_INTERVAL <= interval <= MAX_INTERVAL:
        raise ConfigError(
            f"interval {text!r} must be at least {human_duration(MIN_INTERVAL.total_seconds())} "
            f"and at most {human_duration(MAX_INTERVAL.total_seconds())}",
            where=flag,
        )
    return interval


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


@dataclass
class Transition:
    at: str
    before: str
    after: str


@dataclass
class WatchSummary:
    """What a watch saw: the evaluations, first and last decision and the decision changes."""

    evaluations: int = 0
    first: WatchDecision | None = None
    last: WatchDecision | None = None
    transitions: list[Transition] = field(default_factory=list)
    stopped_by: str = ""

    def lines(self, history: Path) -> list[str]:
        if not self.evaluations:
            return [f"watch stopped ({self.stopped_by}) before any evaluation: NO-GO"]
        shown = self.transitions[-SUMMARY_TRANSITIONS:]
        moves = ", ".join(f"{t.before} -> {t.after} at {t.at}" for t in shown)
        if len(shown) < len(self.transitions):
            moves = f"the last {len(shown)}: {moves}"
        return [
            f"watch stopped ({self.stopped_by}) after {self.evaluations} evaluation(s): "
            f"first {self.first}, last {self.last}; "
            f"{len(self.transitions)} decision change(s){': ' + moves if moves else ''}",
            f"history: {history}",
        ]


def changes(
    previous: HistoryEntry | None, current: HistoryEntry, run: RunVerdicts | None
) -> list[str]:
    """Console lines for what moved since ``previous`` (everything on the first evaluation,
    nothing when decision and every gate status are the same); the Why lines are those of
    the gates that moved and are not PASS."""
    moved = [
        gid
        for gid, status in current.gates.items()
        if previous is None or previous.gates.get(gid) != status
    ]
    gone = [gid for gid in (previous.gates if previous else {}) if gid not in current.gates]
    if previous is not None and previous.decision == current.decision and not moved and not gone:
        return []
    head = current.decision if previous is None else f"{previous.decision} -> {current.decision}"
    lines = [f"{current.evaluated_at}  {head}   ({current.directory})"]
    if current.error is not None:
        lines.append(f"  evaluation failed: {current.error}")
    for gid in moved:
        was = "" if previous is None else f"{previous.gates.get(gid, 'not evaluated')} -> "
        lines.append(f"  {gid} {was}{current.gates[gid]}")
        gate = next((g for g in run.gates if g.id == gid), None) if run else None
        if gate is not None and gate.status != "PASS":
            lines += [f"    why: {r}" for r in gate.reasons]
    lines += [f"  {gid} {previous.gates[gid] if previous else ''} -> not evaluated" for gid in gone]
    return lines


@dataclass
class Watch:
    """Re-run ``request`` (live) every ``interval`` into ``out``; see the module docstring."""

    loaded: LoadedMatrix
    request: RunRequest
    out: Path
    interval: timedelta
    until: Literal["GO"] | None = None
    emit: Callable[[str], None] = print
    on_warning: Callable[[str], None] | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    summary: WatchSummary = field(default_factory=WatchSummary)
    _warned: set[str] = field(default_factory=set)

    @property
    def history(self) -> Path:
        return self.out / HISTORY_FILE

    def run(self) -> WatchSummary:
        """Evaluate until stopped (``stop`` set, e.g. by a signal) or ``until`` is reached.
        ``out`` is held for the whole watch; a restarted watch appends to its history."""
        if self.until == "GO" and not self._complete():
            raise ConfigError(
                "a run of some gates is PARTIAL at best, never GO; use --validate-all "
                "(or every gate of the matrix) with --until GO",
                where="--until",
            )
        with rundir.owned(self.out, fresh=False):
            rundir.register(self.history)
            previous: HistoryEntry | None = None
            next_start = time.monotonic()
            while not self.stop.is_set():
                entry, run = self._evaluate()
                self._record(previous, entry, run)
                previous = entry
                if self.until is not None and entry.decision == self.until:
                    self.summary.stopped_by = f"--until {self.until}"
                    return self.summary
                next_start += self.interval.total_seconds()
                next_start = max(next_start, time.monotonic())
                self.stop.wait(max(0.0, next_start - time.monotonic()))
        return self.summary

    def _complete(self) -> bool:
        known = {g.id for g in self.loaded.matrix.gates}
        return self.request.gates is None or known <= set(self.request.gates)

    def _directory(self) -> tuple[datetime, Path]:
        at = datetime.now(tz=UTC).replace(microsecond=0)
        base = self.out / EVALUATIONS_DIR / at.strftime("%Y%m%dT%H%M%SZ")
        path, n = base, 1
        while path.exists():
            n += 1
            path = base.with_name(f"{base.name}-{n}")
        return at, path

    def _evaluate(self) -> tuple[HistoryEntry, RunVerdicts | None]:
        at, directory = self._directory()
        rel = directory.relative_to(self.out).as_posix()
        request = self.request.model_copy(update={"out": directory, "at": at})
        try:
            run = run_loaded(request, self.loaded, on_warning=self._warn_once)
        except ConfigError:
            if self.summary.evaluations == 0:
                raise  # wrong from the start (no --prom-url, ...): a usage error, not a watch
            return self._failed(at, rel, sys.exc_info()[1]), None
        except IgkitError as exc:
            return self._failed(at, rel, exc), None
        finally:
            if directory.exists():
                rundir.register_tree(directory)  # a later fresh run into OUT removes it
        entry = HistoryEntry(
            evaluated_at=rfc3339(run.evaluated_at),
            decision=run.decision,
            gates={g.id: str(g.status) for g in run.gates},
            directory=rel,
            snapshots_index_sha256=run.snapshots_index_sha256,
        )
        return entry, run

    @staticmethod
    def _failed(at: datetime, rel: str, exc: BaseException | None) -> HistoryEntry:
        return HistoryEntry(
            evaluated_at=rfc3339(at),
            decision="ERROR",
            gates={},
            directory=rel,
            snapshots_index_sha256=None,
            error=redact(" ".join(str(exc).split())),
        )

    def _warn_once(self, text: str) -> None:
        """The same warning every interval would drown the changes; each is said once."""
        if text not in self._warned:
            self._warned.add(text)
            (self.on_warning or self.emit)(text)

    def _record(
        self, previous: HistoryEntry | None, entry: HistoryEntry, run: RunVerdicts | None
    ) -> None:
        line = json.dumps(entry.model_dump(exclude_none=False), sort_keys=True) + "\n"
        with self.history.open("a", encoding="utf-8") as fh:
            fh.write(line)
            fh.flush()
        s = self.summary
        s.evaluations += 1
        s.first = s.first or entry.decision
        if s.last is not None and s.last != entry.decision:
            s.transitions.append(Transition(entry.evaluated_at, s.last, entry.decision))
        s.last = entry.decision
        for text in changes(previous, entry, run):
            self.emit(text)


@contextmanager
def stop_on_signals(watch: Watch) -> Iterator[None]:
    """SIGINT and SIGTERM end ``watch`` after the evaluation under way (a second signal
    interrupts at once); the previous handlers come back afterwards."""
    names = {signal.SIGINT: "SIGINT", signal.SIGTERM: "SIGTERM"}

    def _handler(signum: int, frame: types.FrameType | None) -> None:
        if watch.stop.is_set():
            raise KeyboardInterrupt
        watch.summary.stopped_by = names.get(signal.Signals(signum), str(signum))
        watch.stop.set()

    saved = {sig: signal.signal(sig, _handler) for sig in names}
    try:
        yield
    finally:
        for sig, old in saved.items():
            signal.signal(sig, old)
