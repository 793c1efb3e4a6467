"""The matrix's ``cutover:`` section: how a canary stage is judged and how the post-deploy
hour is validated (seed §3 ADR-001/003, §11, §12, §14.4).

Thresholds of the canary come from the gate named by ``canary_gate`` (G1 in the shipped
matrix) with ``canary_select`` injected into every selector, as ``--select`` does; this
section only adds what G1 does not say: the stage ladder, the hold, the minimum traffic a
canary must have served before its numbers mean anything, and the post-deploy sampling rule.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from igkit.spec.models import Count, Duration, PrometheusObjective


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PostdeploySpec(_Strict):
    """``cutover.postdeploy``: what must stay green for ``duration`` after the cutover."""

    gates: list[str] = Field(min_length=1, description="gates whose objectives must stay green")
    duration: Duration = Field(description="default length of the validation window")
    checks: list[PrometheusObjective] = Field(
        default_factory=list,
        description="extra objectives judged over the same window (OPA decision errors, ...)",
    )
    tenant_label: str = Field(default="tenant", min_length=1)
    shard_labels: list[str] = Field(
        min_length=1, description="labels whose every value must have enough tenants judged"
    )
    tenants_query: str = Field(
        min_length=1,
        description="PromQL listing (shard label(s), tenant) pairs present in the window",
    )
    min_tenants_per_shard: Count = Field(ge=1)
    triggers: list[str] | None = Field(
        default=None,
        description="ids of the triggers armed over the window (default: every trigger). "
        "After 100 % a canary-vs-stable trigger has no stable track left to compare with "
        "(NO_DATA once its rate window passes); G1's absolute thresholds guard latency at "
        "every step of the window instead",
    )


class CutoverSpec(_Strict):
    """``cutover:``: the canary stage ladder and its judge."""

    stages: list[Count] = Field(min_length=1, description="canary traffic percentages, rising")
    hold: Duration = Field(description="minimum time at a stage before it may be promoted")
    canary_gate: str = Field(min_length=1, description="gate whose thresholds the canary meets")
    canary_select: str = Field(
        min_length=1, description='label matchers of the canary track, e.g. track="canary"'
    )
    requests_query: str = Field(
        min_length=1,
        description="PromQL total requests served; $window is the time since the stage began",
    )
    min_canary_requests: Count = Field(ge=1)
    postdeploy: PostdeploySpec | None = None

    @model_validator(mode="after")
    def _ladder(self) -> CutoverSpec:
        if any(not 0 < s <= 100 for s in self.stages):
            raise ValueError("stages: percentages must lie in 1..100")
        if any(b <= a for a, b in zip(self.stages, self.stages[1:], strict=False)):
            raise ValueError("stages: must rise strictly")
        return self
