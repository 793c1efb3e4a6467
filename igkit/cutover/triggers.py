"""Trigger outcomes for the cutover verbs, through ``igkit triggers check`` (the trigger
engine's own verb: its capture, snapshots and replay) and the ``triggers.json`` it writes.

Going through the verb keeps the judge independent of the engine's internals: the contract is
the document the issue fixes. An engine that is absent, fails, or writes a report that does
not cover the asked span is a problem line, never an empty (all quiet) list.
"""

from __future__ import annotations

import contextlib
import io
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from igkit import atomic
from igkit.cutover.models import TriggerReport
from igkit.strictdoc import DocumentError, load_model
from igkit.timeutil import promql_duration, rfc3339

TRIGGERS_DIR = "triggers"
TRIGGERS_FILE = "triggers.json"


@dataclass(frozen=True)
class TriggerCheck:
    """The report (None when it could not be had) and, if so, one line saying why."""

    report: TriggerReport | None
    problem: str | None


def read_report(path: Path, at: datetime, lookback: timedelta) -> TriggerCheck:
    """``triggers.json`` at ``path``, refused unless it was evaluated at ``at`` over at least
    ``lookback`` (a report of another instant or a shorter span says nothing of this stage)."""
    try:
        report = load_model(TriggerReport, path.read_bytes(), where=str(path))
    except OSError as exc:
        return TriggerCheck(None, f"{path}: unreadable ({exc.strerror})")
    except DocumentError as exc:
        return TriggerCheck(None, str(exc))
    if report.evaluated_at != at:
        return TriggerCheck(
            None, f"{path}: evaluated at {rfc3339(report.evaluated_at)}, not {rfc3339(at)}"
        )
    if report.lookback < lookback:
        return TriggerCheck(
            None,
            f"{path}: lookback {promql_duration(report.lookback)} is shorter than "
            f"{promql_duration(lookback)}",
        )
    if not report.triggers:
        return TriggerCheck(None, f"{path}: no trigger was evaluated")
    return TriggerCheck(report, None)


def engine_span(at: datetime, lookback: timedelta) -> tuple[datetime, timedelta]:
    """``at`` and ``lookback`` as the trigger engine judges them: whole seconds (it truncates
    ``at``, and its report would then name another instant than a live clock's ``now()``)
    and whole milliseconds (``--lookback``'s resolution), the span still ending where the
    caller's began and no shorter (a report rounded down would be refused as too short)."""
    whole = at.replace(microsecond=0)
    span = lookback - (at - whole)
    ms = max(1, math.ceil(span / timedelta(milliseconds=1)))
    return whole, timedelta(milliseconds=ms)


def check_triggers(
    out: Path,
    at: datetime,
    lookback: timedelta,
    *,
    prom_url: str | None,
    replay: Path | None,
    matrix: Path | None,
    given: Path | None = None,
) -> TriggerCheck:
    """Run ``igkit triggers check`` into ``out/triggers`` (live, or replaying
    ``replay/triggers``) over ``lookback`` before ``at``, then read what it wrote.

    ``given``: a ``triggers.json`` an earlier ``igkit triggers check`` wrote (a pipeline that
    already ran it); it is checked like a fresh one and copied to ``out/triggers``. A replayed
    run whose triggers were given (no snapshots beside them) re-reads the recorded report."""
    from igkit.cli import main as cli

    at, lookback = engine_span(at, lookback)
    recorded = replay / TRIGGERS_DIR if replay else None
    if recorded is not None and not (recorded / "snapshots").is_dir():
        given = recorded / TRIGGERS_FILE
    if given is not None:
        check = read_report(given, at, lookback)
        if check.report is not None:
            atomic.write_bytes(out / TRIGGERS_DIR / TRIGGERS_FILE, given.read_bytes())
        return check
    if "triggers" not in cli.VERBS:
        return TriggerCheck(None, "the trigger engine (igkit triggers check) is not installed")
    argv = ["triggers", "check", "--at", rfc3339(at), "--lookback", promql_duration(lookback)]
    argv += ["--out", str(out / TRIGGERS_DIR)]
    argv += ["--replay", str(replay / TRIGGERS_DIR)] if replay else ["--prom-url", str(prom_url)]
    argv += ["--matrix", str(matrix)] if matrix else []
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
        try:
            code = cli.main(argv)
        except SystemExit as exc:  # argparse: a flag the verb does not know
            code = exc.code if isinstance(exc.code, int) else 2
    if code not in (0, 1):
        last = printed.getvalue().strip().splitlines()[-1:] or ["no message"]
        return TriggerCheck(None, f"igkit triggers check exited {code}: {last[0]}")
    return read_report(out / TRIGGERS_DIR / TRIGGERS_FILE, at, lookback)
