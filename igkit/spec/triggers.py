"""Auto-rollback triggers (seed §7): the ``triggers:`` section of the matrix.

A trigger is one or more *conditions*; each condition is a PromQL value expression compared
with a threshold (``value > threshold`` or ``value < threshold``) that must hold at every
evaluation step of its ``for`` duration (Prometheus alerting semantics). The same text serves
igkit's range queries (the value, so reasons can name the worst value) and alerting rules
(:attr:`TriggerCondition.expr`), so igkit and Prometheus judge one expression.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, model_validator

from igkit.timeutil import parse_duration, promql_duration

_ID = r"^[a-z][a-z0-9_]*$"


def _duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, str):
        return parse_duration(value)
    raise ValueError("expected a duration string such as 15s, 5m, 1h")


def _real(value: Any) -> float:
    from igkit.spec.models import _real_number  # models imports this module: call-time import

    return _real_number(value)


def _check_param(name: str, value: str) -> None:
    from igkit.spec.models import _check_param as check

    check(name, value)


Duration = Annotated[
    timedelta,
    BeforeValidator(_duration),
    PlainSerializer(promql_duration, return_type=str, when_used="always"),
    Field(json_schema_extra={"type": "string", "pattern": r"^(\d+(\.\d+)?(ms|s|m|h|d|w))+$"}),
]
RealNumber = Annotated[float, BeforeValidator(_real)]


def _sustain(value: Any) -> timedelta:
    """A ``for`` duration: like any duration, but ``0``/``0s`` (fire at once) is allowed."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and value == 0:
        return timedelta(0)
    if isinstance(value, str):
        if value.strip() in ("0", "0s", "0m", "0h"):
            return timedelta(0)
        return parse_duration(value)
    raise ValueError("expected a duration such as 0s, 10m, 15m")


def _sustain_text(td: timedelta) -> str:
    return "0s" if td == timedelta(0) else promql_duration(td)


Sustain = Annotated[
    timedelta,
    BeforeValidator(_sustain),
    PlainSerializer(_sustain_text, return_type=str, when_used="always"),
    Field(json_schema_extra={"type": "string", "pattern": r"^(0|(\d+(\.\d+)?(ms|s|m|h|d|w))+)$"}),
]


def _metric(value: str) -> str:
    _check_param("metric", value)
    return value


def _selector(value: str) -> str:
    _check_param("selector", value)
    return value


def _by(value: str) -> str:
    _check_param("by", value)
    return value


Metric = Annotated[str, BeforeValidator(_metric)]
Selector = Annotated[str, BeforeValidator(_selector)]
ByLabels = Annotated[str, BeforeValidator(_by)]


def _num(x: float) -> str:
    """A threshold as PromQL text: 12 significant digits drop float noise (0.0432, not
    0.043200000000000002) without changing any value a matrix can state."""
    return f"{x:.12g}"


def _braces(*selectors: str) -> str:
    parts = [s.strip().rstrip(",") for s in selectors if s.strip()]
    return "{" + ", ".join(parts) + "}" if parts else ""


class TriggerCondition(BaseModel):
    """One condition of a trigger: ``value <comparison> threshold`` sustained ``for``."""

    model_config = ConfigDict(frozen=True)

    name: str
    value: str = Field(description="PromQL value expression (range-queried by igkit)")
    comparison: Literal[">", "<"]
    threshold: float
    for_: timedelta
    unit: str = ""

    @property
    def expr(self) -> str:
        """The condition as one PromQL expression (an alerting rule's ``expr``)."""
        return f"({self.value}) {self.comparison} {_num(self.threshold)}"

    @property
    def for_text(self) -> str:
        """``for`` as a Prometheus duration (an alerting rule's ``for``; ``0s`` for at once)."""
        return _sustain_text(self.for_)

    def holds(self, value: float) -> bool:
        """Whether one finite sample satisfies the condition (NaN never does)."""
        return value > self.threshold if self.comparison == ">" else value < self.threshold


class _TriggerBase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    id: str = Field(pattern=_ID)
    description: str = ""
    max_gap: Duration = Field(description="a longer hole in a condition's series is NO_DATA")
    step: Duration = Field(description="evaluation interval (an alerting rule group's interval)")

    def conditions(self) -> list[TriggerCondition]:  # pragma: no cover - overridden
        raise NotImplementedError


class ErrorBudgetBurn(_TriggerBase):
    """Error budget consumed faster than ``budget_fraction_per_hour`` of the period's budget."""

    kind: Literal["error_budget_burn"]
    for_: Sustain = Field(alias="for")
    objective: RealNumber = Field(gt=0, lt=1, description="SLO success ratio, e.g. 0.999")
    period: Duration
    budget_fraction_per_hour: RealNumber = Field(gt=0, le=1)
    rate: Duration
    metric: Metric = "http_requests_total"
    selector: Selector = ""
    success_codes: str = Field(default="2..", pattern=r"^[0-9a-zA-Z.|()\[\]^$*+?-]+$")

    @property
    def burn_rate(self) -> float:
        """Budget consumption speed that spends ``budget_fraction_per_hour`` per hour:
        ``fraction × period_hours`` (0.06 × 720 h = 43.2 for 6 %/h of a 30-day budget)."""
        return self.budget_fraction_per_hour * self.period.total_seconds() / 3600

    @property
    def error_ratio_threshold(self) -> float:
        """Error ratio above which the budget burns too fast.

        The budget is ``1 - objective`` of the period's requests; burning it at rate *b*
        means an error ratio of ``b × (1 - objective)``. With 0.06/h, 30d and 0.999:
        0.06 × 720 = 43.2 and 43.2 × 0.001 = 0.0432 (4.32 % of requests failing)."""
        return self.burn_rate * (1 - self.objective)

    def conditions(self) -> list[TriggerCondition]:
        """Errors ``or vector(0)``: a service that never failed has no error series at all
        (client libraries create a label set on first use), and that is a ratio of 0, not
        NO_DATA; without any request (the denominator) there is still no ratio: NO_DATA."""
        r = promql_duration(self.rate)
        errors = _braces(self.selector, f'code!~"{self.success_codes}"')
        total = _braces(self.selector)
        value = (
            f"(sum(rate({self.metric}{errors}[{r}])) or vector(0)) / "
            f"sum(rate({self.metric}{total}[{r}]))"
        )
        return [
            TriggerCondition(
                name="error_ratio",
                value=value,
                comparison=">",
                threshold=self.error_ratio_threshold,
                for_=self.for_,
                unit="ratio",
            )
        ]


class LatencyDegradation(_TriggerBase):
    """Canary p95 above ``ratio`` × the baseline p95, per ``by`` label (operation type).

    Baselines: ``track`` (the stable track now), ``offset`` (the canary selector ``offset``
    ago, for a service without a canary track) or ``window`` (a fixed pre-cutover window
    ``window_start``..``window_end``, the runbook's T-60m snapshot, via PromQL ``@``).
    The value is the ratio canary/baseline; a missing side leaves no ratio series: NO_DATA.
    """

    kind: Literal["latency_degradation"]
    for_: Sustain = Field(alias="for")
    ratio: RealNumber = Field(gt=1)
    quantile: RealNumber = Field(default=0.95, gt=0, lt=1)
    baseline: Literal["track", "offset", "window"]
    metric: Metric = "graphql_latency"
    canary_selector: Selector = 'track="canary"'
    stable_selector: Selector | None = 'track="stable"'
    offset: Duration | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None
    by: ByLabels = "operation_type"
    rate: Duration

    @model_validator(mode="after")
    def _baseline_fields(self) -> LatencyDegradation:
        if self.baseline == "track" and not self.stable_selector:
            raise ValueError("baseline: track needs 'stable_selector'")
        if self.baseline == "offset" and self.offset is None:
            raise ValueError("baseline: offset needs 'offset' (e.g. 1h or 1w)")
        if self.baseline == "window":
            if self.window_start is None or self.window_end is None:
                raise ValueError("baseline: window needs 'window_start' and 'window_end'")
            if self.window_start.tzinfo is None or self.window_end.tzinfo is None:
                raise ValueError("window_start/window_end need a time zone (e.g. Z)")
            if self.window_end <= self.window_start:
                raise ValueError("window_end must be after window_start")
        return self

    def _p95(self, selector: str, range_: str) -> str:
        by = f"{self.by}, le" if self.by else "le"
        bucket = f"{self.metric}_bucket{_braces(selector)}"
        fn = "increase" if "@" in range_ else "rate"
        return f"histogram_quantile({_num(self.quantile)}, sum by ({by}) ({fn}({bucket}{range_})))"

    def conditions(self) -> list[TriggerCondition]:
        r = f"[{promql_duration(self.rate)}]"
        canary = self._p95(self.canary_selector, r)
        if self.baseline == "track":
            base = self._p95(self.stable_selector or "", r)
        elif self.baseline == "offset":
            assert self.offset is not None
            base = self._p95(self.canary_selector, f"{r} offset {promql_duration(self.offset)}")
        else:
            assert self.window_start is not None
            assert self.window_end is not None
            width = promql_duration(self.window_end - self.window_start)
            base = self._p95(self.canary_selector, f"[{width}] @ {self.window_end.timestamp():.0f}")
        return [
            TriggerCondition(
                name="p95_ratio",
                value=f"{canary} / {base}",
                comparison=">",
                threshold=self.ratio,
                for_=self.for_,
                unit="ratio",
            )
        ]


class OpaBundleCondition(BaseModel):
    """OPA failed to load a policy bundle (OPA's own status counter increased)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    metric: Metric = "bundle_failed_load_counter"
    selector: Selector = ""
    window: Duration
    for_: Sustain = Field(alias="for")


class WebauthnCondition(BaseModel):
    """WebAuthn step-up success ratio below ``min_success``."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    metric: Metric = "webauthn_stepup_total"
    selector: Selector = ""
    success_selector: Selector = 'result="success"'
    min_success: RealNumber = Field(gt=0, le=1)
    rate: Duration
    for_: Sustain = Field(alias="for")


class SecurityPolicyFailure(_TriggerBase):
    """Either OPA bundle load failures or WebAuthn step-up success too low."""

    kind: Literal["security_policy_failure"]
    opa_bundle: OpaBundleCondition
    webauthn: WebauthnCondition

    def conditions(self) -> list[TriggerCondition]:
        o, w = self.opa_bundle, self.webauthn
        rw = promql_duration(w.rate)
        return [
            TriggerCondition(
                name="opa_bundle_load_failures",
                value=f"sum(increase({o.metric}{_braces(o.selector)}[{promql_duration(o.window)}]))",
                comparison=">",
                threshold=0.0,
                for_=o.for_,
                unit="count",
            ),
            TriggerCondition(
                name="webauthn_success_ratio",
                value=(
                    f"sum(rate({w.metric}{_braces(w.selector, w.success_selector)}[{rw}])) / "
                    f"sum(rate({w.metric}{_braces(w.selector)}[{rw}]))"
                ),
                comparison="<",
                threshold=w.min_success,
                for_=w.for_,
                unit="ratio",
            ),
        ]


class CostSpike(_TriggerBase):
    """Spend rate over ``rate`` above ``factor`` × its trailing mean over ``trailing``.

    The baseline is the mean rate over the ``trailing`` window ending ``rate`` ago, so the
    spike being judged does not raise its own baseline."""

    kind: Literal["cost_spike"]
    for_: Sustain = Field(alias="for")
    factor: RealNumber = Field(gt=1)
    trailing: Duration
    rate: Duration
    metric: Metric = "finops_cost_usd_total"
    selector: Selector = ""

    def conditions(self) -> list[TriggerCondition]:
        m = f"{self.metric}{_braces(self.selector)}"
        r, t = promql_duration(self.rate), promql_duration(self.trailing)
        return [
            TriggerCondition(
                name="spend_rate_ratio",
                value=f"sum(rate({m}[{r}])) / sum(rate({m}[{t}] offset {r}))",
                comparison=">",
                threshold=self.factor,
                for_=self.for_,
                unit="ratio",
            )
        ]


Trigger = Annotated[
    ErrorBudgetBurn | LatencyDegradation | SecurityPolicyFailure | CostSpike,
    Field(discriminator="kind"),
]


def unique_ids(triggers: list[Any]) -> None:
    """Refuse two triggers with one id (their verdicts and alerts would collide)."""
    ids = [t.id for t in triggers]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise ValueError(f"duplicate trigger ids: {', '.join(dup)}")
