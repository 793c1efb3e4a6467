"""Documents of the cutover verbs: ``triggers.json`` as read, ``judge.json``, ``postdeploy.json``."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from igkit.spec.models import Duration
from igkit.verdicts import Status

JUDGE_FILE = "judge.json"
POSTDEPLOY_FILE = "postdeploy.json"


class TriggerStatus(StrEnum):
    FIRED = "FIRED"
    QUIET = "QUIET"
    NO_DATA = "NO_DATA"
    ERROR = "ERROR"


class TriggerOutcome(BaseModel):
    """One trigger of ``triggers.json`` (written by ``igkit triggers check``). Fields beyond
    the ones the issue fixes are ignored: the trigger engine owns its format, and nothing
    here can turn an unknown field into a PROMOTE (``status`` is required)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str = Field(min_length=1)
    status: TriggerStatus
    fired_at: datetime | None = None
    reasons: list[str] = Field(default_factory=list)


class TriggerReport(BaseModel):
    """``triggers.json``: every trigger of the matrix over ``lookback`` before ``evaluated_at``."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    evaluated_at: datetime
    lookback: Duration
    triggers: list[TriggerOutcome]


class Action(StrEnum):
    PROMOTE = "PROMOTE"
    HOLD = "HOLD"
    ROLLBACK = "ROLLBACK"


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CanaryObjective(_Doc):
    name: str
    status: Status
    observed: float | None = None
    threshold: float | None = None
    unit: str | None = None
    reasons: list[str]
    gated: bool = Field(default=True, description="false: reported only, never decides")


class Canary(_Doc):
    """The canary track judged on its own against ``gate``'s thresholds since the stage began."""

    gate: str
    select: str
    status: Status = Field(description="worst status of the gate's objectives on the canary")
    requests: float | None = Field(description="requests the canary served since stage start")
    min_requests: int
    objectives: list[CanaryObjective]
    verdicts: str = Field(description="run directory (relative to the judge's) holding them")


class Judgement(_Doc):
    """``judge.json``: what to do with the canary stage, and why."""

    schema_: Literal["igkit.cutover.judge/v1"] = Field(
        default="igkit.cutover.judge/v1", alias="schema"
    )
    stage: int
    stage_start: datetime
    evaluated_at: datetime
    hold: Duration
    elapsed: Duration
    action: Action
    reasons: list[str]
    triggers: list[TriggerOutcome]
    canary: Canary | None

    @field_validator("hold", "elapsed")
    @classmethod
    def _whole_ms(cls, value: timedelta) -> timedelta:
        """Whole milliseconds, as judge.json writes them: a judgement re-derived from its
        snapshots (``bundle verify --replay``) must equal the one read back, also when a
        live clock started the stage at a sub-millisecond instant."""
        return timedelta(milliseconds=round(value / timedelta(milliseconds=1)))


class ShardSample(_Doc):
    label: str
    value: str
    tenants: list[str] = Field(description="tenants of this shard that the gates judged")
    status: Status


class PostdeployVerdict(_Doc):
    """``postdeploy.json``: the post-deploy window, every part's status and the reasons."""

    schema_: Literal["igkit.cutover.postdeploy/v1"] = Field(
        default="igkit.cutover.postdeploy/v1", alias="schema"
    )
    since: datetime
    until: datetime
    duration: Duration
    status: Status
    reasons: list[str]
    gates: dict[str, Status]
    checks: dict[str, Status]
    triggers: list[TriggerOutcome]
    shards: list[ShardSample]
    verdicts: str = Field(description="run directory (relative) with verdicts.json + snapshots")
