"""``D/run.json``: what a cutover was asked to do, so ``--resume D`` continues exactly that.

Also where a recorded cutover stands (:func:`resume_point`): the stage to continue at, read
from ``timeline.jsonl`` and refused when the run is finished or the timeline does not add up.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from igkit import atomic
from igkit.conductor.timeline import TimelineEntry
from igkit.errors import ConfigError
from igkit.strictdoc import DocumentError, load_model
from igkit.timeutil import parse_duration, promql_duration, rfc3339

RUN_FILE = "run.json"
RUN_SCHEMA = "igkit.cutover.run/v1"


class Actuators(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    set_weight: str = Field(min_length=1)
    rollback: str = Field(min_length=1)


class RunFile(BaseModel):
    """``run.json`` (the contract of issue 12); durations as Prometheus durations."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    schema_: Literal["igkit.cutover.run/v1"] = Field(default="igkit.cutover.run/v1", alias="schema")
    stages: list[int] = Field(min_length=1)
    hold: str
    interval: str
    max_hold: str
    post_deploy: str
    auto_rollback: bool
    matrix_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    actuators: Actuators
    started_at: str

    @field_validator("hold", "interval", "max_hold", "post_deploy")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value

    @field_validator("started_at")
    @classmethod
    def _instant(cls, value: str) -> str:
        datetime.fromisoformat(value)
        return value

    def durations(self) -> tuple[timedelta, timedelta, timedelta, timedelta]:
        """hold, interval, max_hold, post_deploy."""
        return (
            parse_duration(self.hold),
            parse_duration(self.interval),
            parse_duration(self.max_hold),
            parse_duration(self.post_deploy),
        )


def new_run_file(
    *,
    stages: list[int],
    hold: timedelta,
    interval: timedelta,
    max_hold: timedelta,
    post_deploy: timedelta,
    auto_rollback: bool,
    matrix_sha256: str,
    set_weight: str,
    rollback: str,
    started_at: datetime,
) -> RunFile:
    return RunFile(
        stages=stages,
        hold=promql_duration(hold),
        interval=promql_duration(interval),
        max_hold=promql_duration(max_hold),
        post_deploy=promql_duration(post_deploy),
        auto_rollback=auto_rollback,
        matrix_sha256=matrix_sha256,
        actuators=Actuators(set_weight=set_weight, rollback=rollback),
        started_at=rfc3339(started_at),
    )


def write_run_file(run_dir: Path, run: RunFile) -> None:
    atomic.write_json(run_dir / RUN_FILE, run.model_dump(mode="json", by_alias=True))


def read_run_file(run_dir: Path) -> RunFile:
    path = run_dir / RUN_FILE
    try:
        return load_model(RunFile, path.read_bytes(), where=str(path))
    except OSError as exc:
        raise ConfigError(
            f"unreadable ({exc.strerror}): not a cutover run directory", where=str(path)
        ) from None
    except DocumentError as exc:
        raise ConfigError(str(exc)) from None


@dataclass(frozen=True)
class ResumePoint:
    stage: int
    """The stage to continue at (its set-weight runs again)."""
    weight: int | None
    """The last weight known to be set, None when no set-weight succeeded."""
    preflight: bool
    """True when the run stopped before its preflight: it runs first."""


def resume_point(run: RunFile, entries: list[TimelineEntry], where: str) -> ResumePoint:
    """Where an interrupted cutover continues; ConfigError when it finished or the timeline
    is not one this run could have written."""

    def bad(why: str) -> ConfigError:
        return ConfigError(f"cannot resume: {why}", where=where)

    if not entries or entries[0].kind != "start":
        raise bad("the timeline does not begin with a start entry")
    ends = [e for e in entries if e.kind == "end"]
    finished = [e for e in ends if e.outcome != "INTERRUPTED"]
    if finished:
        raise bad(f"the cutover finished ({finished[-1].outcome} at seq {finished[-1].seq})")
    if any(e.kind == "rollback" for e in entries):
        raise bad("the cutover was rolled back; start a new one")
    preflight = [e.decision for e in entries if e.kind == "preflight"]
    if preflight and preflight != ["GO"]:
        raise bad(f"the preflight was {', '.join(map(str, preflight))}, not once GO")
    times = [e.at for e in entries]
    if any(b < a for a, b in itertools.pairwise(times)):
        raise bad("timestamps go backwards")
    began = [e.weight for e in entries if e.kind == "stage"]
    for pct in began:
        if pct not in run.stages:
            raise bad(f"stage {pct}% is not one of run.json's {run.stages}")
    if began and not preflight:
        raise bad("stages began without a preflight")
    order = [run.stages.index(w) for w in began if w is not None]
    if any(b < a for a, b in itertools.pairwise(order)):
        raise bad("stages began out of order")
    stage = began[-1] if began and began[-1] is not None else run.stages[0]
    weight: int | None = None
    for e in entries:
        if e.kind == "stage":
            weight = e.weight
    return ResumePoint(stage=stage, weight=weight, preflight=not preflight)
