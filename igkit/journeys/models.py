"""What a synthetic-journeys run records: the sealed per-step figures read from k6's summary
(the snapshot the verdict is a pure function of) and ``journeys.json``, the verdict."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_serializer

from igkit.snapshots.models import SealedSnapshot, canonical_sha256
from igkit.timeutil import rfc3339
from igkit.verdicts import ObjectiveVerdict, Status

RESULT_FILE = "journeys.json"
SNAPSHOT_FILE = "snapshots/journeys.json"
SUMMARY_FILE = "k6/summary.json"
POINTS_FILE = "k6/points.json.gz"
CONFIG_FILE = "k6/config.json"
LOG_FILE = "k6/k6.log"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StepFigures(_Model):
    """One step as k6's summary reports it; None: the summary has no such figure."""

    name: str
    requests: int | None
    p95_ms: float | None
    checks_passed: int | None
    checks_failed: int | None
    failed_checks: dict[str, int] = Field(
        default_factory=dict, description="check name -> failures, for the checks that failed"
    )


class JourneysSnapshot(SealedSnapshot):
    """The figures of one journeys run, sealed; ``error`` says why there are none (a missing or
    malformed summary), so the verdict can be re-derived offline from this file alone."""

    kind: Literal["journeys"] = "journeys"
    objective: str
    base_url: str
    vus: int
    duration: str
    summary_file: str
    summary_sha256: str | None
    captured_at: datetime
    k6_exit_code: int | None
    steps: list[StepFigures] = Field(default_factory=list)
    error: str | None = None

    @field_serializer("captured_at")
    def _ser(self, v: datetime) -> str:
        return rfc3339(v)

    def expected_id(self) -> str:
        return canonical_sha256(
            {
                "objective": self.objective,
                "summary_sha256": self.summary_sha256,
                "error": self.error,
            }
        )[:16]


class StepVerdict(_Model):
    name: str
    status: Status
    requests: int | None
    p95_ms: float | None
    threshold_ms: float
    checks_passed: int | None
    checks_failed: int | None
    reasons: list[str]


class JourneysResult(BaseModel):
    """``journeys.json``: the verdict of one run, per step, and where its evidence is."""

    model_config = ConfigDict(extra="forbid")

    schema_: Literal["igkit.journeys/v1"] = Field(default="igkit.journeys/v1", alias="schema")
    status: Status
    objective: str
    base_url: str
    vus: int
    duration: str
    started_at: datetime
    ended_at: datetime
    matrix_sha256: str
    matrix_source: str
    snapshot: str = SNAPSHOT_FILE
    snapshot_sha256: str
    steps: list[StepVerdict]
    verdict: ObjectiveVerdict

    @field_serializer("started_at", "ended_at")
    def _ser(self, v: datetime) -> str:
        return rfc3339(v)
