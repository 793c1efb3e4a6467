"""Status updates of a cutover: the staged comms templates with live figures (seed §11).

Which template a kind of update uses (the roles are the keys of the matrix's ``comms``
objective ``templates:``, compared as G8 compares them: case, ``-``/``_`` ignored):

========================  =====================================================
kind                      template (first one staged)
========================  =====================================================
``scheduled`` (T+15..60)  ``stakeholder_update``, else ``investigating``
``stage`` (state change)  ``stakeholder_update``, else ``investigating``
``interrupted``           ``stakeholder_update``, else ``investigating``
``rollback``              ``major_incident``
``complete``              ``resolved``
========================  =====================================================

A progress report goes to stakeholders; a rollback is the public "major incident" notice
(seed §11: draft it at once); a finished cutover "resolved". A template that is missing,
unreadable or blank does not stop the update: igkit writes its own line saying so, and
the figures. Template text is untrusted: only the fixed placeholders of
:data:`PLACEHOLDERS` (``{{stage}}`` or ``{stage}``) are replaced, by text igkit renders
from the figures, in one pass (a value is never re-read as a template); anything else in
braces stays as written. Every update also ends with the figures block, whatever the
template says, and is redacted before it is written to ``D/status/<compact UTC>-<kind>.md``.

``--status-hook 'CMD {file}'`` runs after each update: split with :mod:`shlex`, ``{file}``
replaced by the update's path (appended when absent), no shell, a timeout (the process
group is killed), output redacted into ``<update>.hook.log``. A hook that fails or hangs is
recorded in the :class:`StatusRecord`, never raised: the cutover goes on.

:func:`due_updates` says which of the T+15/30/45/60 updates (after the 100 % promotion) are
due: each once, none before its time, none lost when the clock jumps past several.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from igkit import atomic
from igkit.conductor.figures import StatusFigures
from igkit.errors import ConfigError, IgkitError
from igkit.redact import redact
from igkit.spec.loader import LoadedMatrix
from igkit.spec.models import CommsObjective
from igkit.timeutil import rfc3339

STATUS_DIR = "status"
KINDS = ("scheduled", "stage", "rollback", "interrupted", "complete")
TEMPLATE_FOR: dict[str, tuple[str, ...]] = {
    "scheduled": ("stakeholder_update", "investigating"),
    "stage": ("stakeholder_update", "investigating"),
    "interrupted": ("stakeholder_update", "investigating"),
    "rollback": ("major_incident",),
    "complete": ("resolved",),
}
CADENCE: tuple[timedelta, ...] = tuple(timedelta(minutes=m) for m in (15, 30, 45, 60))
PLACEHOLDERS = (
    "stage",
    "action",
    "p95",
    "availability",
    "error_budget_burn",
    "triggers",
    "gates",
    "time",
    "next",
    "kind",
)
MAX_TEMPLATE = 64 * 1024
MAX_HOOK_OUTPUT = 64 * 1024
HOOK_TIMEOUT = 30.0
_PLACEHOLDER = re.compile(
    r"\{\{\s*(" + "|".join(PLACEHOLDERS) + r")\s*\}\}|\{(" + "|".join(PLACEHOLDERS) + r")\}"
)
_ROLE_SEP = re.compile(r"[-_/\s]+")


def _role_key(role: str) -> str:
    return _ROLE_SEP.sub("", role.casefold())


@dataclass(frozen=True)
class StatusTemplates:
    """The staged templates by role (text), and why each unusable one is unusable."""

    texts: Mapping[str, str] = field(default_factory=dict)
    problems: Mapping[str, str] = field(default_factory=dict)
    paths: Mapping[str, str] = field(default_factory=dict)

    def pick(self, kind: str) -> tuple[str | None, str | None, list[str]]:
        """(role, text, problems) of the first staged template for ``kind``."""
        by_key = {_role_key(r): r for r in (*self.texts, *self.problems)}
        problems: list[str] = []
        for wanted in TEMPLATE_FOR[kind]:
            role = by_key.get(_role_key(wanted))
            if role is not None and role in self.texts:
                return role, self.texts[role], problems
            problems.append(
                f"template {wanted!r}: {self.problems[role]}"
                if role is not None
                else f"template {wanted!r} is not configured in the matrix's comms objective"
            )
        return None, None, problems


def _template_text(content: bytes | None, error: str | None) -> str | tuple[None, str]:
    if content is None:
        return None, error or "missing"
    if len(content) > MAX_TEMPLATE:
        return None, f"larger than {MAX_TEMPLATE // 1024} KiB"
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return None, f"not UTF-8 text (byte offset {exc.start})"
    if not text.strip():
        return None, "blank"
    return text


def _templates(files: Mapping[str, tuple[str, bytes | None, str | None]]) -> StatusTemplates:
    texts: dict[str, str] = {}
    problems: dict[str, str] = {}
    paths: dict[str, str] = {}
    for role, (path, content, error) in files.items():
        paths[role] = path
        got = _template_text(content, error)
        if isinstance(got, str):
            texts[role] = got
        else:
            problems[role] = f"{path}: {got[1]}"
    return StatusTemplates(texts, problems, paths)


def load_templates(loaded: LoadedMatrix, evidence_dir: Path | None) -> StatusTemplates:
    """The comms objectives' templates read from ``evidence_dir`` as G8 reads them (path
    confined to the directory, no symlink escapes)."""
    from igkit.sources.evidence import capture_objective

    files: dict[str, tuple[str, bytes | None, str | None]] = {}
    for gate, obj in loaded.matrix.objectives_of(CommsObjective):
        snap = capture_objective(gate.id, obj, evidence_dir)
        for role, rel in obj.templates.items():
            f = snap.files.get(f"template:{role}")
            files[role] = (rel, f.content() if f else None, f.error if f else "not read")
    return _templates(files)


def templates_from_run(run_dir: Path, loaded: LoadedMatrix) -> StatusTemplates:
    """The templates as a go-no-go run (the T-60m preflight) captured and G8 judged them:
    the bytes sealed in its evidence snapshot, so the updates use what was approved."""
    from igkit.sources.replay import ReplaySource

    labels = {f"{g.id}/{o.name}": o for g, o in loaded.matrix.objectives_of(CommsObjective)}
    files: dict[str, tuple[str, bytes | None, str | None]] = {}
    try:
        replay = ReplaySource(run_dir)  # every listed snapshot checked against its sha256
    except (IgkitError, OSError, ValueError) as exc:
        why = f"{run_dir}: snapshots unusable ({exc})"
        return StatusTemplates(problems={r: why for o in labels.values() for r in o.templates})
    for snap in replay.evidence:
        obj = labels.get(snap.objective)
        if obj is None:
            continue
        for role, rel in obj.templates.items():
            f = snap.files.get(f"template:{role}")
            files[role] = (rel, f.content() if f else None, f.error if f else "not captured")
    return _templates(files)


class HookResult(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    argv: list[str]
    exit_code: int | None = Field(description="None when it did not run or was killed")
    error: str | None = None
    duration_s: float
    log: str | None = Field(default=None, description="output log, relative to the run dir")


class StatusRecord(BaseModel):
    """One status update as written (paths relative to the run directory)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str
    at: datetime
    file: str
    template: str | None = Field(description="the role of the template used, None: igkit's own")
    problems: list[str] = Field(default_factory=list)
    hook: HookResult | None = None

    @property
    def hook_exit_code(self) -> int | None:
        return self.hook.exit_code if self.hook else None


def parse_hook(command: str) -> list[str]:
    """``--status-hook`` split into argv (ConfigError, exit 2, when it cannot be)."""
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise ConfigError(f"cannot split the command: {exc}", where="--status-hook") from None
    if not argv:
        raise ConfigError("empty command", where="--status-hook")
    return argv


def compact(at: datetime) -> str:
    """``20260601T101500Z``: RFC 3339 basic format, UTC, seconds."""
    return at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def render(
    kind: str,
    figures: StatusFigures,
    templates: StatusTemplates,
    *,
    at: datetime,
    next_at: datetime | None = None,
) -> tuple[str, str | None, list[str]]:
    """(markdown, template role used, problems) of one update, redacted."""
    if kind not in TEMPLATE_FOR:
        raise ValueError(f"unknown status kind {kind!r} (one of {', '.join(KINDS)})")
    values = figures.lines()
    values |= {"time": rfc3339(at), "next": rfc3339(next_at) if next_at else "unknown"}
    values["kind"] = kind
    role, text, problems = templates.pick(kind)
    if text is None:
        body = f"**{kind}** — no staged template for this update ({'; '.join(problems)})."
    else:
        body = _PLACEHOLDER.sub(lambda m: values[m.group(1) or m.group(2)], text).rstrip()
    shown = f"{role} ({templates.paths.get(role, '?')})" if role else "none (igkit's own line)"
    block = [
        "",
        "---",
        f"igkit cutover status update · {kind} · {values['time']}",
        "",
        f"- stage: {_stage(figures.stage)} (last judgement: {values['action']})",
        *([f"- why: {figures.why}"] if figures.why else []),
        f"- canary latency: {values['p95']}",
        f"- canary availability: {values['availability']}",
        f"- error-budget burn: {values['error_budget_burn']}",
        f"- triggers: {values['triggers']}",
        f"- canary gate: {values['gates']}",
        f"- figures from: {figures.source or 'no judgement'}"
        + (f" ({figures.problem})" if figures.problem else ""),
        f"- template: {shown}",
        f"- next update: {values['next']}",
    ]
    return redact(body + "\n" + "\n".join(block) + "\n"), role, problems


def _stage(stage: int | None) -> str:
    return "unknown" if stage is None else f"{stage} % canary traffic"


def write_status(
    run_dir: Path,
    kind: str,
    figures: StatusFigures,
    *,
    at: datetime,
    templates: StatusTemplates,
    hook: str | None = None,
    next_at: datetime | None = None,
    hook_timeout: float = HOOK_TIMEOUT,
) -> StatusRecord:
    """Render and atomically write ``run_dir/status/<compact>-<kind>.md``, then run the
    hook. Only an unwritable file raises (:class:`igkit.atomic.OutputError`, exit 3)."""
    text, role, problems = render(kind, figures, templates, at=at, next_at=next_at)
    folder = run_dir / STATUS_DIR
    stem = f"{compact(at)}-{kind}"
    n = 1
    while (folder / f"{stem}.md").exists():
        n += 1
        stem = f"{compact(at)}-{kind}-{n}"
    path = folder / f"{stem}.md"
    atomic.write_text(path, text)
    result = run_hook(hook, path, run_dir, timeout=hook_timeout) if hook else None
    return StatusRecord(
        kind=kind,
        at=at,
        file=path.relative_to(run_dir).as_posix(),
        template=role,
        problems=problems,
        hook=result,
    )


def run_hook(command: str, file: Path, run_dir: Path, *, timeout: float) -> HookResult:
    """Run the hook on ``file``; every failure is a field of the result, never raised."""
    start = time.monotonic()
    log_path = file.with_name(f"{file.stem}.hook.log")
    log = log_path.relative_to(run_dir).as_posix()
    try:
        template = parse_hook(command)
    except ConfigError as exc:
        return HookResult(argv=[], exit_code=None, error=exc.message, duration_s=0.0)
    target = str(file.absolute())
    argv = [a.replace("{file}", target) for a in template]
    if not any("{file}" in a for a in template):
        argv.append(target)
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError as exc:
        return HookResult(
            argv=[redact(a) for a in argv],
            exit_code=None,
            error=redact(f"could not start {argv[0]}: {exc.strerror or exc}"),
            duration_s=round(time.monotonic() - start, 3),
        )
    error: str | None = None
    try:
        out, _ = proc.communicate(timeout=timeout)
        code: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        out, _ = proc.communicate()
        code, error = None, f"timed out after {timeout:g} s; killed"
    if code is not None and code != 0:
        error = f"exited {code}"
    text = out[:MAX_HOOK_OUTPUT].decode("utf-8", "replace")
    if len(out) > MAX_HOOK_OUTPUT:
        text += f"\n[output truncated at {MAX_HOOK_OUTPUT} bytes]\n"
    atomic.write_text(log_path, text)
    return HookResult(
        argv=[redact(a) for a in argv],
        exit_code=code,
        error=error,
        duration_s=round(time.monotonic() - start, 3),
        log=log,
    )


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()


def due_updates(
    start: datetime,
    now: datetime,
    sent: Collection[timedelta],
    cadence: Sequence[timedelta] = CADENCE,
) -> list[timedelta]:
    """The offsets of ``cadence`` (after ``start``, the 100 % promotion) that are due at
    ``now`` and not in ``sent``, earliest first: all of them when the clock jumped past
    several, none before its time, none twice once the caller adds them to ``sent``."""
    return sorted(o for o in set(cadence) if start + o <= now and o not in sent)
