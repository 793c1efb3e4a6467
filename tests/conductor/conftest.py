"""The conductor's test kit: a scripted actuator (a real process writing the weight to a
file), a fake clock (an hour of holds in milliseconds) and stand-ins for the judge, the
preflight and the post-deploy steps where a test is about the loop alone."""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from igkit.conductor.clock import Stop
from igkit.conductor.parts import Parts, Preflight, Settings
from igkit.conductor.start import ExecuteOptions, execute
from igkit.conductor.timeline import TimelineEntry, read_timeline
from igkit.cutover.judge import JudgeRequest
from igkit.cutover.models import (
    JUDGE_FILE,
    Action,
    Judgement,
    PostdeployVerdict,
    TriggerOutcome,
    TriggerReport,
    TriggerStatus,
)
from igkit.cutover.postdeploy import PostdeployRequest
from igkit.cutover.triggers import TriggerCheck
from igkit.spec.loader import LoadedMatrix
from igkit.verdicts import Status

SCRIPT = Path(__file__).with_name("actuate.py")
T0 = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
PROM = "http://127.0.0.1:9"  # never reached: the parts that would are stand-ins


@dataclass
class FakeClock:
    """Time moves only when the conductor sleeps; ``on_sleep`` runs after each sleep."""

    t: datetime
    stop: Stop
    on_sleep: Callable[[FakeClock], None] | None = None
    slept: list[float] = field(default_factory=list)

    def now(self) -> datetime:
        return self.t

    def sleep(self, seconds: float) -> bool:
        if self.stop.is_set():
            return True
        self.slept.append(seconds)
        self.t += timedelta(seconds=seconds)
        if self.on_sleep is not None:
            self.on_sleep(self)
        return self.stop.is_set()


@dataclass
class World:
    """The weight file the scripted actuators write, and what the stand-ins were asked."""

    tmp: Path
    judged: list[tuple[int, datetime]] = field(default_factory=list)
    checks: int = 0

    @property
    def state(self) -> Path:
        return self.tmp / "weight"

    @property
    def weight(self) -> str | None:
        return self.state.read_text() if self.state.exists() else None

    @property
    def calls(self) -> list[str]:
        path = self.tmp / "weight.calls"
        return path.read_text().splitlines() if path.exists() else []

    def fail(self, action: str, times: int = 1) -> None:
        self.tmp.joinpath(f"weight.fail-{action}").write_text(str(times))

    def template(self, action: str) -> str:
        args = [sys.executable, str(SCRIPT), str(self.state), action]
        return shlex.join(args) + (" {weight}" if action == "set" else "")


def judgement(request: JudgeRequest, action: Action, reasons: list[str] | None = None) -> Judgement:
    return Judgement(
        stage=request.stage,
        stage_start=request.stage_start,
        evaluated_at=request.at,
        hold=request.hold or timedelta(minutes=10),
        elapsed=request.at - request.stage_start,
        action=action,
        reasons=reasons or [f"{action.value} (stand-in judge)"],
        triggers=[],
        canary=None,
    )


def scripted_judge(
    world: World, script: dict[int, list[Action]], default: Action = Action.PROMOTE
) -> Callable[[JudgeRequest, LoadedMatrix], Judgement]:
    """A stand-in judge: the next action of ``script[stage]`` (then ``default``); it writes
    judge.json like the real one, so the timeline names a directory that exists."""

    def judge(request: JudgeRequest, loaded: LoadedMatrix) -> Judgement:
        world.judged.append((request.stage, request.at))
        queue = script.get(request.stage, [])
        found = judgement(request, queue.pop(0) if queue else default)
        request.out.mkdir(parents=True, exist_ok=True)
        doc = found.model_dump(mode="json", by_alias=True)
        request.out.joinpath(JUDGE_FILE).write_text(json.dumps(doc))
        return found

    return judge


def report(at: datetime, statuses: dict[str, TriggerStatus]) -> TriggerReport:
    return TriggerReport(
        evaluated_at=at,
        lookback=timedelta(minutes=5),
        triggers=[
            TriggerOutcome(id=k, status=v, reasons=[f"{k} {v.value}"]) for k, v in statuses.items()
        ],
    )


def quiet_check(world: World, fire_at: int | None = None) -> Callable[..., TriggerCheck]:
    def check(settings: Settings, out: Path, at: datetime, lookback: timedelta) -> TriggerCheck:
        world.checks += 1
        status = TriggerStatus.FIRED if world.checks == fire_at else TriggerStatus.QUIET
        return TriggerCheck(report(at, {"error_budget_burn": status}), None)

    return check


def verdict(request: PostdeployRequest, status: Status) -> PostdeployVerdict:
    duration = request.duration or timedelta(minutes=60)
    return PostdeployVerdict(
        since=request.since,
        until=request.since + duration,
        duration=duration,
        status=status,
        reasons=[f"post-deploy {status.value} (stand-in)"],
        gates={"G1": status},
        checks={},
        triggers=[],
        shards=[],
        verdicts="gates",
    )


def go(settings: Settings, loaded: LoadedMatrix, at: datetime) -> Preflight:
    return Preflight(decision="GO", reasons=[])


@dataclass
class Rig:
    world: World
    clock: FakeClock
    stop: Stop
    out: Path
    lines: list[str] = field(default_factory=list)

    def options(self, **changes: Any) -> ExecuteOptions:
        base: dict[str, Any] = {
            "out": self.out,
            "stages": [5, 25, 50, 100],
            "hold": timedelta(minutes=10),
            "interval": timedelta(minutes=5),
            "post_deploy": timedelta(minutes=60),
            "auto_rollback": True,
            "set_weight": self.world.template("set"),
            "rollback": self.world.template("rollback"),
            "prom_url": PROM,
        }
        return ExecuteOptions(**{**base, **changes})

    def parts(self, script: dict[int, list[Action]] | None = None, **changes: Any) -> Parts:
        base: dict[str, Any] = {
            "preflight": go,
            "judge": scripted_judge(self.world, script or {}),
            "check": quiet_check(self.world),
            "validate": lambda request, loaded, now: verdict(request, Status.PASS),
            # stand-in runs have no preflight/ or check dirs to seal (test_real_judges seals)
            "seal": lambda settings, loaded: None,
        }
        return Parts(**{**base, **changes})

    def run(self, options: ExecuteOptions | None = None, parts: Parts | None = None) -> int:
        return execute(
            options or self.options(),
            clock=self.clock,
            stop=self.stop,
            parts=parts or self.parts(),
            emit=self.lines.append,
        )

    @property
    def timeline(self) -> list[TimelineEntry]:
        return read_timeline(self.out / "timeline.jsonl")

    def kinds(self) -> list[str]:
        return [e.kind for e in self.timeline]


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    stop = Stop()
    world = World(tmp_path)
    return Rig(world=world, clock=FakeClock(T0, stop), stop=stop, out=tmp_path / "D")
