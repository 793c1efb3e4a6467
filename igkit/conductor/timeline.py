"""``D/timeline.jsonl``: every step of a cutover, one JSON object a line, append-only.

Each line is a :class:`TimelineEntry`: the common fields (``seq``, ``at``, ``kind``, ``stage``,
``message``) plus exactly the fields of its kind (:data:`KIND_FIELDS`), nothing else. The
writer flushes and fsyncs every line, so a killed conductor leaves every step it took on
disk; ``seq`` continues across ``--resume``. The reader is strict (duplicate keys, unknown
fields, a path leaving the run directory, a seq out of order) and names ``file:line``: the
timeline is evidence, and ``--resume`` and ``bundle verify --replay`` act on it.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from igkit import rundir
from igkit.atomic import OutputError, json_ready
from igkit.errors import ConfigError, IgkitError
from igkit.redact import redact_data
from igkit.strictdoc import load_json, validation_message
from igkit.timeutil import rfc3339

TIMELINE_FILE = "timeline.jsonl"

Kind = Literal[
    "start",
    "preflight",
    "actuator",
    "judgement",
    "stage",
    "rollback",
    "status",
    "check",
    "journeys",
    "postdeploy",
    "interrupted",
    "end",
]
Outcome = Literal[
    "PROMOTED",
    "ROLLED_BACK",
    "ROLLBACK_FAILED",
    "ROLLBACK_REQUIRED",
    "REFUSED",
    "POSTDEPLOY_FAILED",
    "INTERRUPTED",
]
"""How a cutover ended. ROLLBACK_REQUIRED: a rollback was due but ``--auto-rollback`` was not
given, so the conductor ran nothing and stopped (the weight left as it was)."""

KIND_FIELDS: dict[str, tuple[str, ...]] = {
    "start": ("args",),
    "preflight": ("decision", "dir"),
    "actuator": ("name", "argv", "exit_code", "duration_s", "log"),
    "judgement": ("action", "dir", "reasons"),
    "stage": ("weight",),
    "rollback": ("cause",),
    "status": ("status_kind", "file", "hook_exit_code"),
    "check": ("status", "dir", "reasons"),
    "journeys": ("status", "dir", "reasons"),
    "postdeploy": ("status", "dir"),
    "interrupted": ("signal",),
    "end": ("outcome", "exit_code"),
}
"""The fields each kind carries besides the common ones (all required; only
``hook_exit_code`` may be null). ``check``: a judgement or post-deploy trigger check that
could not be had, or a post-deploy trigger check; ``journeys``: a synthetic journeys run."""

NULLABLE = {"hook_exit_code"}
PATH_FIELDS = ("dir", "log", "file")
COMMON = ("seq", "at", "kind", "stage", "message")


def safe_relative(text: str) -> str:
    """``text`` if it is a plain relative POSIX path inside the run directory, else ValueError."""
    path = PurePosixPath(text)
    if (
        not text
        or "\\" in text
        or "\0" in text
        or path.is_absolute()
        or any(part in ("..", "") for part in text.split("/"))
        or text.startswith("~")
    ):
        raise ValueError(f"{text!r} is not a path inside the run directory")
    return text


class TimelineEntry(BaseModel):
    """One line of ``timeline.jsonl`` (the contract of issue 12; paths relative to D)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seq: int = Field(ge=0)
    at: datetime = Field(description="RFC3339 UTC")
    kind: Kind
    stage: int | None = Field(ge=0, le=100)
    message: str
    args: dict[str, Any] | None = None
    decision: str | None = None
    dir: str | None = None
    name: Literal["set_weight", "rollback"] | None = None
    argv: list[str] | None = None
    exit_code: int | None = None
    duration_s: float | None = Field(default=None, ge=0)
    log: str | None = None
    action: Literal["PROMOTE", "HOLD", "ROLLBACK"] | None = None
    reasons: list[str] | None = None
    weight: int | None = Field(default=None, ge=0, le=100)
    cause: str | None = None
    status_kind: str | None = None
    file: str | None = None
    hook_exit_code: int | None = None
    status: str | None = None
    signal: Literal["SIGINT", "SIGTERM"] | None = None
    outcome: Outcome | None = None

    @field_validator("at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        if value.utcoffset() is None:
            raise ValueError("must carry a UTC offset")
        return value.astimezone(UTC)

    @field_validator(*PATH_FIELDS)
    @classmethod
    def _inside(cls, value: str | None) -> str | None:
        return None if value is None else safe_relative(value)

    @model_validator(mode="before")
    @classmethod
    def _fields_of_kind(cls, data: Any) -> Any:
        """Exactly the kind's fields: a missing one or one of another kind is refused."""
        if not isinstance(data, dict) or data.get("kind") not in KIND_FIELDS:
            return data
        own = KIND_FIELDS[data["kind"]]
        missing = [f for f in (*COMMON, *own) if f not in data]
        foreign = [f for f in data if f not in COMMON and f not in own]
        if missing or foreign:
            said = [f"missing {', '.join(missing)}"] if missing else []
            said += [f"not a field of {data['kind']!r}: {', '.join(foreign)}"] if foreign else []
            raise ValueError("; ".join(said))
        nulls = [f for f in own if data[f] is None and f not in NULLABLE]
        if nulls:
            raise ValueError(f"{', '.join(nulls)} must not be null")
        return data

    def document(self) -> dict[str, Any]:
        """The JSON object of this entry: common fields, then the kind's own."""
        body = self.model_dump(mode="json", include={*COMMON, *KIND_FIELDS[self.kind]})
        body["at"] = rfc3339(self.at)
        return {k: body[k] for k in (*COMMON, *KIND_FIELDS[self.kind])}


def entry_line(entry: TimelineEntry) -> str:
    data = json_ready(redact_data(entry.document()))
    return json.dumps(data, ensure_ascii=False, allow_nan=False) + "\n"


def read_timeline(path: Path) -> list[TimelineEntry]:
    """Every entry of ``path``, checked line by line; seq must run 0, 1, 2, ...

    A malformed line (bad JSON, duplicate key, unknown field, a path leaving the run
    directory, an unterminated last line) is a ConfigError naming ``file:line``."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"unreadable ({exc.strerror})", where=str(path)) from None
    entries: list[TimelineEntry] = []
    lines = raw.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    elif lines:
        where = f"{path}:{len(lines)}"
        raise ConfigError("the last line is not terminated (a write was cut short)", where=where)
    for number, line in enumerate(lines, start=1):
        where = f"{path}:{number}"
        try:
            doc = load_json(line, where=where)
        except IgkitError as exc:
            raise ConfigError(str(exc).removeprefix(f"{where}: "), where=where) from None
        try:
            entry = TimelineEntry.model_validate(doc)
        except ValidationError as exc:
            message = validation_message(exc, data=doc, model=TimelineEntry)
            raise ConfigError(message, where=where) from None
        if entry.seq != len(entries):
            raise ConfigError(f"seq {entry.seq} where {len(entries)} was due", where=where)
        entries.append(entry)
    return entries


class Timeline:
    """Append-only writer of ``D/timeline.jsonl``; each line is flushed and fsynced."""

    def __init__(self, run_dir: Path, *, next_seq: int = 0) -> None:
        self.path = run_dir / TIMELINE_FILE
        self.seq = next_seq
        self.entries: list[TimelineEntry] = []

    @classmethod
    def resumed(cls, run_dir: Path) -> tuple[Timeline, list[TimelineEntry]]:
        """The writer continuing ``run_dir``'s timeline, and the entries read."""
        earlier = read_timeline(run_dir / TIMELINE_FILE)
        timeline = cls(run_dir, next_seq=len(earlier))
        timeline.entries = list(earlier)
        return timeline, earlier

    def append(
        self, kind: str, at: datetime, message: str, *, stage: int | None = None, **fields: Any
    ) -> TimelineEntry:
        entry = TimelineEntry.model_validate(
            {"seq": self.seq, "at": at, "kind": kind, "stage": stage, "message": message, **fields}
        )
        line = entry_line(entry).encode("utf-8", "surrogatepass")
        rundir.register(self.path)
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                view = memoryview(line)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise OutputError(self.path, exc) from None
        self.seq += 1
        self.entries.append(entry)
        return entry
