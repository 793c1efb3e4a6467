"""Status updates of a cutover (PLACEHOLDER until h4's module replaces this file).

The conductor calls :func:`write_status` on every state change (kinds ``scheduled``,
``stage``, ``rollback``, ``interrupted``, ``complete``) and :func:`due_updates` for the
T+15/30/45/60 cadence after the 100 % promotion. This minimal version writes the figures as
a plain Markdown note and runs the hook; h4's version renders the staged comms templates.
"""

from __future__ import annotations

import shlex
import subprocess
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from igkit import atomic
from igkit.timeutil import rfc3339

STATUS_DIR = "status"
CADENCE = (15, 30, 45, 60)
"""Minutes after the 100 % promotion at which a scheduled update is due (seed §11)."""
HOOK_TIMEOUT = 60.0


@dataclass(frozen=True)
class StatusFigures:
    """Live figures of an update; None is rendered as "unknown", never as 0."""

    stage: int | None = None
    action: str | None = None
    reasons: tuple[str, ...] = ()

    @classmethod
    def from_judgement(cls, judgement: Any | None, *, stage: int | None) -> StatusFigures:
        if judgement is None:
            return cls(stage=stage)
        return cls(
            stage=stage, action=str(judgement.action.value), reasons=tuple(judgement.reasons)
        )


@dataclass(frozen=True)
class StatusRecord:
    file: str
    hook_exit_code: int | None


def write_status(
    run_dir: Path,
    kind: str,
    figures: StatusFigures,
    *,
    at: datetime,
    templates: Path | None = None,
    hook: str | None = None,
) -> StatusRecord:
    """Write ``D/status/<compact UTC>-<kind>.md`` and pass it to ``hook`` ('CMD {file}')."""
    del templates
    rel = f"{STATUS_DIR}/{at.strftime('%Y%m%dT%H%M%SZ')}-{kind}.md"
    n = 1
    while (run_dir / rel).exists():
        n += 1
        rel = f"{STATUS_DIR}/{at.strftime('%Y%m%dT%H%M%SZ')}-{kind}-{n}.md"
    stage = "unknown" if figures.stage is None else f"{figures.stage}%"
    lines = [f"# Cutover status: {kind}", "", f"- at: {rfc3339(at)}", f"- stage: {stage}"]
    lines += [f"- judgement: {figures.action or 'unknown'}"]
    lines += [f"  - {r}" for r in figures.reasons]
    atomic.write_text(run_dir / rel, "\n".join(lines) + "\n")
    code: int | None = None
    if hook:
        argv = [p.replace("{file}", str(run_dir / rel)) for p in shlex.split(hook)]
        try:
            code = subprocess.run(
                argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=HOOK_TIMEOUT
            ).returncode
        except (OSError, subprocess.TimeoutExpired):
            code = 127
    return StatusRecord(file=rel, hook_exit_code=code)


def due_updates(start: datetime, now: datetime, sent: set[int]) -> list[int]:
    """The cadence minutes (of :data:`CADENCE`) reached by ``now`` and not yet ``sent``."""
    return [m for m in CADENCE if m not in sent and now >= start + timedelta(minutes=m)]
