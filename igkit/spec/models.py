"""Pydantic models of the go/no-go matrix: the single source of truth for every gate.

Shape: ``Matrix -> gates[] -> objectives[]``. A Prometheus objective names a query (PromQL
text with ``$window``/``$rate``/``$step`` placeholders, or a named query from
:mod:`igkit.spec.promql`), a comparison, a threshold with a unit, and a rule saying how the
steps of a window are judged. Objectives of other types are decided from documents or
k6 files by later evaluators; until one exists the objective reports ERROR.
"""

from __future__ import annotations

import math
import re
from datetime import timedelta
from enum import StrEnum
from itertools import pairwise
from typing import Annotated, Any, Literal, TypeVar, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    PlainSerializer,
    Tag,
    field_validator,
    model_validator,
)

from igkit.spec.triggers import Trigger, unique_ids
from igkit.timeutil import parse_duration, promql_duration
from igkit.units import Unit, dimension, to_base


def _duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, str):
        return parse_duration(value)
    raise ValueError("expected a duration string such as 15s, 5m, 1h")


Duration = Annotated[
    timedelta,
    BeforeValidator(_duration),
    PlainSerializer(promql_duration, return_type=str, when_used="always"),
    Field(json_schema_extra={"type": "string", "pattern": r"^(\d+(\.\d+)?(ms|s|m|h|d|w))+$"}),
]


def _real_number(value: Any) -> float:
    """A YAML/JSON number: not a boolean (``true`` is 1 to Python), not a numeric string,
    finite. Lax coercion here would let ``value: true`` or ``value: "0.5"`` mean something
    nobody wrote."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        kind = "a boolean" if isinstance(value, bool) else f"a {type(value).__name__}"
        raise ValueError(f"must be a valid number, not {kind} ({value!r:.40})")
    try:
        number = float(value)
    except OverflowError:
        raise ValueError("must be a finite number (this one overflows a float)") from None
    if not math.isfinite(number):
        raise ValueError("must be a finite number")
    return number


RealNumber = Annotated[float, BeforeValidator(_real_number)]
"""A finite int/float from the document; booleans and strings are refused."""
Count = Annotated[int, Field(strict=True)]
"""An integer from the document; booleans (``true`` == 1) and strings are refused."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Comparison(StrEnum):
    LE = "<="
    LT = "<"
    GE = ">="
    GT = ">"

    @property
    def negated_word(self) -> str:
        """The operator a violating value satisfies, for reasons: ``412 ms > 350 ms``."""
        return {"<=": ">", "<": ">=", ">=": "<", ">": "<="}[self.value]


class Threshold(_Strict):
    """A real number in a unit. Every shipped unit measures something that cannot be
    negative (latency, rates, throughput, money, shares), and a share cannot exceed 100%:
    such a threshold would make a comparison trivially true or false."""

    value: RealNumber
    unit: Unit

    @model_validator(mode="after")
    def _meaningful(self) -> Threshold:
        if self.value < 0:
            raise ValueError(
                f"threshold {self.value:g} {self.unit.value} is negative: a {dimension(self.unit)} "
                "threshold cannot be below 0"
            )
        if dimension(self.unit) == "ratio" and to_base(self.value, self.unit) > 1:
            raise ValueError(
                f"threshold {self.value:g} {self.unit.value} is above 100%: a share cannot exceed "
                "the whole"
            )
        return self


class AllSteps(_Strict):
    """Every step of the window must meet the threshold (G1: green for the last 60m).

    ``min_consecutive`` > 1 tolerates shorter blips: FAIL needs that many violating steps in
    a row (G5 from Prometheus: two consecutive failing windows).
    """

    kind: Literal["all_steps"]
    window: Duration
    step: Duration | None = None
    min_consecutive: Count = Field(default=1, ge=1)


class FractionOfSteps(_Strict):
    """The threshold must be met in at least ``min_fraction`` of the window's steps (G2)."""

    kind: Literal["fraction_of_steps"]
    window: Duration
    min_fraction: RealNumber = Field(gt=0, le=1)
    step: Duration | None = None


class Aggregate(_Strict):
    """One statistic of the window's steps is compared (e.g. mean unit cost over 60m)."""

    kind: Literal["aggregate"]
    window: Duration
    function: Literal["mean", "median", "max", "min", "last"]
    step: Duration | None = None


class BudgetBurn(_Strict):
    """Month-to-date spend from a cumulative USD counter, as a fraction of a monthly budget.

    The query must return the raw counter series (one per component); spend is the
    counter increase since the first of the month (UTC), resets handled, summed over series.
    """

    kind: Literal["budget_burn"]
    budget_usd: RealNumber = Field(gt=0)
    step: Duration | None = None


Rule = Annotated[AllSteps | FractionOfSteps | Aggregate | BudgetBurn, Field(discriminator="kind")]


_METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_NAME = r"[a-zA-Z_][a-zA-Z0-9_]*"
_LABEL_LIST = re.compile(rf"\s*{_LABEL_NAME}\s*(?:,\s*{_LABEL_NAME}\s*)*")
_STRING = r"""(?:"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`[^`]*`)"""
_MATCHER = rf"\s*{_LABEL_NAME}\s*(?:=~|!~|!=|=)\s*{_STRING}\s*"
_MATCHERS = re.compile(rf"(?:{_MATCHER}(?:,{_MATCHER})*,?\s*)?")
_STATUS_REGEX = re.compile(r"[0-9a-zA-Z.|()\[\]^$*+?-]+")
_QUANTILE = re.compile(r"(?:0(?:\.[0-9]+)?|1(?:\.0+)?|\.[0-9]+)")


def _check_param(name: str, value: str) -> None:
    """A named-query parameter as what :mod:`igkit.spec.promql` splices it into, so that no
    parameter can close a brace or a string and inject PromQL of its own."""
    if name.endswith("metric"):
        if not _METRIC_NAME.fullmatch(value):
            raise ValueError(f"params.{name}: {value!r} is not a Prometheus metric name")
    elif name.endswith("selector"):
        if not _MATCHERS.fullmatch(value):
            raise ValueError(
                f"params.{name}: {value!r} is not a list of PromQL label matchers "
                """(label="value", label=~"regex", ...)"""
            )
    elif name == "by":
        if value and not _LABEL_LIST.fullmatch(value):
            raise ValueError(f"params.by: {value!r} is not a comma-separated list of label names")
    elif name == "quantile":
        if not _QUANTILE.fullmatch(value.strip()):
            raise ValueError(f"params.quantile: {value!r} is not a number between 0 and 1")
    elif name == "success_codes":
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"params.success_codes: {value!r} is not a regex ({exc})") from None
        if not _STATUS_REGEX.fullmatch(value):
            raise ValueError(
                f"params.success_codes: {value!r} is not a status-code regex (digits, '.', '|', "
                "'()', '[]' and the like)"
            )


class NamedQuery(_Strict):
    name: str
    params: dict[str, str] = Field(default_factory=dict)

    @field_validator("params")
    @classmethod
    def _safe_params(cls, params: dict[str, str]) -> dict[str, str]:
        for key, value in params.items():
            _check_param(key, value)
        return params


_NAME = r"^[a-z][a-z0-9_]*$"
_LABEL = r"^[A-Za-z_][A-Za-z0-9_]*$"


class ExpectSeries(_Strict):
    """Which series must exist: one per value of ``label``.

    The values are given inline (``values``), in a file beside the matrix (``values_file``,
    one value per line or a YAML list, read when the matrix is loaded), or by a PromQL
    ``query`` fetched over the same window and step (its series' ``label`` values). A
    declared series without data in the window is NO_DATA, so a tenant that vanished cannot
    leave a green objective behind.
    """

    label: str = Field(pattern=_LABEL)
    values: list[str] | None = Field(default=None, min_length=1)
    values_file: str | None = Field(default=None, min_length=1)
    query: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _one_source(self) -> ExpectSeries:
        given = [n for n in ("values", "values_file", "query") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of 'values', 'values_file' or 'query'")
        if self.values is not None:
            dup = sorted({v for v in self.values if self.values.count(v) > 1})
            if dup:
                raise ValueError(f"values listed twice: {', '.join(dup)}")
        return self


class PrometheusObjective(_Strict):
    """An objective judged from one Prometheus range query."""

    type: Literal["prometheus"] = "prometheus"
    name: str = Field(pattern=_NAME)
    description: str = ""
    query: str | None = None
    named_query: NamedQuery | None = None
    comparison: Comparison
    threshold: Threshold
    rule: Rule
    rate: Duration | None = None
    min_coverage: RealNumber | None = Field(default=None, gt=0, le=1)
    max_staleness: Duration | None = None
    max_gap: Duration | None = None
    expect: ExpectSeries | None = None
    min_series: int = Field(default=1, ge=1)
    gated: bool = Field(
        default=True,
        description="false: judged and shown (reports, verdicts.json) but never counted "
        "toward the gate's status, e.g. a p99 reported beside the gated p95",
    )

    @model_validator(mode="after")
    def _one_query(self) -> PrometheusObjective:
        if (self.query is None) == (self.named_query is None):
            raise ValueError("give exactly one of 'query' (PromQL text) or 'named_query'")
        if isinstance(self.rule, BudgetBurn) and self.threshold.unit not in (
            Unit.PERCENT,
            Unit.RATIO,
        ):
            raise ValueError("a budget_burn threshold is a share of the budget: unit percent")
        return self


class K6Objective(_Strict):
    """A k6 scenario (or, with ``scenario: null``, all requests) judged from k6 result files.

    The run is cut into windows (``k6.window``); the objective FAILs when
    ``k6.consecutive_failing_windows`` windows in a row fail, or when the whole-run
    statistic fails. Missing scenario, thin windows or a damaged file: NO_DATA.
    """

    type: Literal["k6"]
    name: str = Field(pattern=_NAME)
    description: str = ""
    scenario: str | None
    p95: Threshold | None = None
    max_error_rate: Threshold | None = None

    @model_validator(mode="after")
    def _units(self) -> K6Objective:
        if self.p95 is not None and self.p95.unit not in (Unit.MS, Unit.S):
            raise ValueError("p95 is a latency: unit ms or s")
        if self.max_error_rate is not None and self.max_error_rate.unit not in (
            Unit.PERCENT,
            Unit.RATIO,
        ):
            raise ValueError("max_error_rate is a share of requests: unit percent or ratio")
        return self


class K6Settings(_Strict):
    """How k6 results are read and windowed (names follow k6's built-in metrics).

    The window, the samples a window needs, the failing-window run and the error-rate
    threshold decide verdicts, so the matrix states them (no built-in value); metric/tag names
    follow k6's built-ins and ``max_windows`` is a parse bound, so those keep defaults."""

    latency_metric: str = "http_req_duration"
    failed_metric: str = "http_req_failed"
    scenario_tag: str = "scenario"
    window: Duration
    min_samples_per_window: Count = Field(ge=1)
    consecutive_failing_windows: Count = Field(ge=1)
    max_error_rate: Threshold
    max_windows: int = Field(
        default=10_000,
        ge=1,
        description="a file whose points span more windows is NO_DATA (damaged or mixed file)",
    )

    @field_validator("window")
    @classmethod
    def _window_at_least_a_second(cls, value: timedelta) -> timedelta:
        if value < timedelta(seconds=1):
            raise ValueError("a k6 window is at least 1s (k6 CSV times are whole seconds)")
        return value


def _relative(value: str) -> str:
    """Evidence paths are relative to ``--evidence DIR`` and may not leave it."""
    from pathlib import PurePosixPath

    p = PurePosixPath(value)
    if not value or p.is_absolute() or ".." in p.parts or "\\" in value:
        raise ValueError(
            f"{value!r} must be a relative path inside the evidence directory (no '..', not absolute)"
        )
    return value


EvidencePath = Annotated[str, AfterValidator(_relative)]


def _trust_relative(value: str) -> str:
    """Trust anchors are relative to the trust directory or the matrix file's directory."""
    from pathlib import PurePosixPath

    p = PurePosixPath(value)
    if not value or p.is_absolute() or ".." in p.parts or "\\" in value:
        raise ValueError(
            f"{value!r} must be a relative path inside the trust directory or beside the matrix "
            "(no '..', not absolute)"
        )
    return value


TrustPath = Annotated[
    str,
    AfterValidator(_trust_relative),
    Field(
        description="a trust anchor: looked up in --trust DIR / $IGKIT_TRUST_DIR, then beside "
        "the matrix file; never in --evidence"
    ),
]


class AttestationObjective(_Strict):
    """G3: signed SLSA provenance for every artifact of the release file."""

    type: Literal["attestation"]
    name: str = Field(pattern=_NAME)
    description: str = ""
    release: EvidencePath = "release.yaml"
    keys: list[TrustPath] = Field(default_factory=list)
    certificate_identity: str | None = None
    certificate_oidc_issuer: str | None = None
    trusted_root: TrustPath | None = None
    builders: dict[str, int] = Field(
        default_factory=dict, description="builder.id -> SLSA build level"
    )
    min_slsa_level: Count = Field(ge=0, le=4)
    source_uri: str | None = None
    source_ref: str | None = None

    @model_validator(mode="after")
    def _one_trust(self) -> AttestationObjective:
        keyless = self.certificate_identity is not None or self.certificate_oidc_issuer is not None
        if bool(self.keys) == keyless:
            raise ValueError(
                "give either 'keys' or 'certificate_identity' + 'certificate_oidc_issuer'"
            )
        if keyless and not (self.certificate_identity and self.certificate_oidc_issuer):
            raise ValueError(
                "keyless verification needs both certificate_identity and certificate_oidc_issuer"
            )
        if not self.builders:
            raise ValueError(
                "'builders' must name at least one trusted builder id (and its SLSA level)"
            )
        return self


class SbomObjective(_Strict):
    """G3: every artifact's SBOM/scan report is clean at or above ``fail_at``."""

    type: Literal["sbom"]
    name: str = Field(pattern=_NAME)
    description: str = ""
    release: EvidencePath = "release.yaml"
    fail_at: Literal["critical", "high", "medium", "low"]


SigningAlg = Literal[
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "HS256",
    "HS384",
    "HS512",
]
SIGNING_ALGORITHMS: tuple[str, ...] = get_args(SigningAlg)


class OpaBundleObjective(_Strict):
    """G4: policy bundles signed, complete, in scope, not expired."""

    type: Literal["opa_bundle"]
    name: str = Field(pattern=_NAME)
    description: str = ""
    bundles: list[EvidencePath] = Field(min_length=1)
    verification_key: TrustPath | None = Field(
        default=None,
        description="PEM public key/certificate (RS*/PS*/ES*) or HMAC secret file (HS*, trust "
        "directory only); HS* may instead take $IGKIT_OPA_HMAC_KEY",
    )
    signing_alg: SigningAlg = "RS256"
    scope: str | None = None
    exclude_files: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _key_given(self) -> OpaBundleObjective:
        if self.verification_key is None and not self.signing_alg.startswith("HS"):
            raise ValueError(f"{self.signing_alg} needs 'verification_key' (a public key file)")
        return self


class DrillObjective(_Strict):
    """G7: the latest DR drill achieved RPO/RTO, in the right environment, recently."""

    type: Literal["drill"]
    name: str = Field(pattern=_NAME)
    description: str = ""
    report: EvidencePath = "drill/report.yaml"
    env: str = Field(min_length=1)
    rpo_target: Duration
    rto_target: Duration
    max_age: Duration


class ApprovalsObjective(_Strict):
    """G8: every required role approved, inside the freeze window (manual + tracker)."""

    type: Literal["approvals"]
    name: str = Field(pattern=_NAME)
    description: str = ""
    tracker: EvidencePath = "approvals.yaml"
    required_roles: list[str] = Field(min_length=1)
    max_age: Duration
    freeze: Duration | None = Field(
        default=None,
        description="the change freeze before the release file's cutoverAt (seed: T-60m); "
        "an approval given outside [cutoverAt - freeze, cutoverAt] does not count",
    )
    change_ticket_pattern: str | None = Field(
        default=None, description="regex the release file's changeTicket must match in full"
    )
    release: EvidencePath = "release.yaml"

    @model_validator(mode="after")
    def _freeze(self) -> ApprovalsObjective:
        if (self.freeze is None) != (self.change_ticket_pattern is None):
            raise ValueError(
                "give 'freeze' and 'change_ticket_pattern' together: the freeze window is "
                "read from the release file, which must carry a valid change ticket"
            )
        if self.freeze is not None and self.freeze <= timedelta(0):
            raise ValueError("freeze must be positive")
        if self.change_ticket_pattern is not None:
            try:
                re.compile(self.change_ticket_pattern)
            except re.error as exc:
                raise ValueError(f"change_ticket_pattern is not a regex: {exc}") from None
        return self


class CommsObjective(_Strict):
    """G8: status-page and stakeholder templates are staged and not empty."""

    type: Literal["comms"]
    name: str = Field(pattern=_NAME)
    description: str = ""
    templates: dict[str, EvidencePath] = Field(min_length=1)


_HTTP_METHOD = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
_ENV_NAME = r"^[A-Z_][A-Z0-9_]*$"
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
JOURNEY_PLACEHOLDERS = ("{{username}}", "{{password}}")
"""Text in a step's ``body`` the journeys script replaces with the login user and password."""


class JourneyStep(_Strict):
    """One request of the synthetic journey (login, query, write, traverse, ...).

    The step passes an iteration when the response has ``expect_status`` and is a JSON object
    holding every key of ``expect_json`` and none of ``refuse_json`` (GraphQL answers 200 with
    ``errors``). ``token_from`` names the response key whose string value authenticates the
    later steps that have ``auth: true``."""

    name: str = Field(pattern=_NAME)
    method: _HTTP_METHOD
    path: str = Field(pattern=r"^/[^\s#]*$", description="path (and query) under --base-url")
    body: dict[str, Any] | None = Field(
        default=None,
        description="JSON body; the strings {{username}} and {{password}} are filled in by k6",
    )
    headers: dict[str, str] = Field(default_factory=dict)
    auth: bool = Field(default=True, description="send the token of the token_from step")
    token_from: str | None = Field(default=None, min_length=1)
    expect_status: Count = Field(ge=100, le=599)
    expect_json: list[str] = Field(default_factory=list)
    refuse_json: list[str] = Field(default_factory=list)
    p95: Threshold

    @model_validator(mode="after")
    def _consistent(self) -> JourneyStep:
        if self.p95.unit not in (Unit.MS, Unit.S):
            raise ValueError("p95 is a latency: unit ms or s")
        bad = [h for h in self.headers if not _HEADER_NAME.fullmatch(h)]
        if bad:
            raise ValueError(f"headers: {bad[0]!r} is not an HTTP header name")
        if self.token_from is not None and self.token_from not in self.expect_json:
            raise ValueError(f"token_from {self.token_from!r} must also be in expect_json")
        return self


class JourneysObjective(_Strict):
    """Synthetic user journeys (seed §12): every step's checks pass in every iteration and
    every step's p95 is within its threshold (``igkit journeys run`` judges it from the
    k6 summary of :mod:`igkit.journeys`). The password is read from the environment variable
    ``password_env`` only, and never written anywhere."""

    type: Literal["journeys"]
    name: str = Field(pattern=_NAME)
    description: str = ""
    username: str = Field(min_length=1)
    password_env: str = Field(pattern=_ENV_NAME)
    auth_header: str = "Authorization"
    auth_scheme: str = "Bearer"
    min_iterations: Count = Field(ge=1, description="requests every step must have made")
    request_timeout: Duration = Field(
        default=timedelta(seconds=10),
        description="a request unanswered this long fails its step's checks (k6 timeout)",
    )
    steps: list[JourneyStep] = Field(min_length=1)
    gated: bool = Field(
        default=True,
        description="false: judged and shown but never counted toward the gate (go-no-go has "
        "no journeys run; `igkit journeys run` and the conductor judge it)",
    )

    @model_validator(mode="after")
    def _consistent(self) -> JourneysObjective:
        if not timedelta(milliseconds=100) <= self.request_timeout <= timedelta(minutes=10):
            raise ValueError("request_timeout must lie between 100ms and 10m")
        if self.password_env.startswith("K6_"):
            raise ValueError("password_env: K6_* variables are k6's own options")
        if not _HEADER_NAME.fullmatch(self.auth_header):
            raise ValueError(f"auth_header: {self.auth_header!r} is not an HTTP header name")
        names = [s.name for s in self.steps]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"steps: names listed twice: {', '.join(dup)}")
        tokens = [i for i, s in enumerate(self.steps) if s.token_from is not None]
        if len(tokens) > 1:
            raise ValueError("steps: only one step may give the token (token_from)")
        first = tokens[0] if tokens else len(self.steps)
        early = [s.name for s in self.steps[: first + 1] if s.auth]
        if early:
            raise ValueError(
                f"steps: {early[0]} has auth: true but no earlier step gives a token "
                "(token_from); set auth: false on the login step"
            )
        return self


EvidenceObjective = (
    AttestationObjective
    | SbomObjective
    | OpaBundleObjective
    | DrillObjective
    | ApprovalsObjective
    | CommsObjective
)


def _objective_type(value: Any) -> str:
    kind = (
        value.get("type", "prometheus") if isinstance(value, dict) else getattr(value, "type", None)
    )
    return str(kind)


Objective = Annotated[
    Annotated[PrometheusObjective, Tag("prometheus")]
    | Annotated[K6Objective, Tag("k6")]
    | Annotated[AttestationObjective, Tag("attestation")]
    | Annotated[SbomObjective, Tag("sbom")]
    | Annotated[OpaBundleObjective, Tag("opa_bundle")]
    | Annotated[DrillObjective, Tag("drill")]
    | Annotated[ApprovalsObjective, Tag("approvals")]
    | Annotated[CommsObjective, Tag("comms")]
    | Annotated[JourneysObjective, Tag("journeys")],
    Discriminator(_objective_type),
]


class Defaults(_Strict):
    """Resolution, ``$rate`` and data-sufficiency limits of every Prometheus objective that
    does not set its own. They decide what is measured and when data is too thin to PASS,
    so the matrix states them: igkit has no built-in value."""

    step: Duration
    rate: Duration | None = Field(
        default=None, description="$rate interval; required when a query uses $rate"
    )
    min_coverage: RealNumber = Field(gt=0, le=1)
    max_staleness: Duration
    max_gap: Duration


SEED_TIER_NAMES = ("Observe", "Throttle", "Shed", "Degrade", "Protect", "Emergency")
"""The seed's (§8) names of tiers 1..6, used when a matrix's ``cost_ladder`` names none."""


def _plain_text(value: str) -> str:
    text = " ".join(value.split())
    if not text:
        raise ValueError("must not be blank")
    return text


PlainText = Annotated[str, AfterValidator(_plain_text), Field(max_length=200)]
"""One line of text (whitespace runs folded to one space), never blank."""


class LadderTier(_Strict):
    """What tier *i* of the cost ladder is called and what the team does when it applies."""

    name: PlainText = Field(max_length=40)
    actions: list[PlainText] = Field(
        min_length=1, max_length=20, description="what to do at this tier, one line each"
    )


class CostLadder(_Strict):
    """The cost downshift ladder (seed §8) as shares of the monthly budget.

    Tier *i* (1 Observe, 2 Throttle, 3 Shed, 4 Degrade, 5 Protect, 6 Emergency) applies when
    month-to-date burn ≥ ``burn_share[i-1]`` or the month-end projection ≥
    ``projected_share[i-1]``; the highest such tier wins, 0 means no action. ``tiers`` names
    tiers 1..6 and lists their actions (kept in the matrix so a team can edit them); a matrix
    without ``tiers`` stays valid: the seed's names, and no actions to recommend.
    """

    burn_share: tuple[RealNumber, RealNumber, RealNumber, RealNumber, RealNumber, RealNumber]
    projected_share: tuple[RealNumber, RealNumber, RealNumber, RealNumber, RealNumber, RealNumber]
    tiers: tuple[LadderTier, LadderTier, LadderTier, LadderTier, LadderTier, LadderTier] | None = (
        Field(default=None, description="tiers 1..6: name and actions (seed §8)")
    )

    @model_validator(mode="after")
    def _increasing(self) -> CostLadder:
        for name in ("burn_share", "projected_share"):
            values = getattr(self, name)
            if values[0] <= 0:
                raise ValueError(
                    f"{name} must start above 0 (tier 1 at a share of 0 always applies)"
                )
            if any(b <= a for a, b in pairwise(values)):
                raise ValueError(f"{name} must be strictly increasing")
        if self.tiers is not None:
            names = [t.name.casefold() for t in self.tiers]
            dup = sorted({t.name for t in self.tiers if names.count(t.name.casefold()) > 1})
            if dup:
                raise ValueError(f"tiers: duplicate tier names: {', '.join(dup)}")
        return self

    def tier_name(self, tier: int) -> str:
        """``No action`` for tier 0, else the matrix's name of the tier (the seed's by default)."""
        if tier == 0:
            return "No action"
        return self.tiers[tier - 1].name if self.tiers else SEED_TIER_NAMES[tier - 1]

    def tier_actions(self, tier: int) -> list[str]:
        """The matrix's actions of the tier; none for tier 0 or a ladder without ``tiers``."""
        return list(self.tiers[tier - 1].actions) if self.tiers and tier > 0 else []


GATE_ID = r"^[A-Z][A-Z0-9_]{0,31}$"
"""A gate id: any upper-case name (``G1``, ``PERF``, ``SLO_API``). Upper case because
``--gate`` matches case-insensitively; no ``-`` because snapshot labels join id and name with it."""


class Gate(_Strict):
    id: str = Field(pattern=GATE_ID)
    name: str
    description: str = ""
    notebook: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$",
        description="the gate notebook shipped with igkit that renders this gate's report "
        "(its file name without .ipynb); none: the generic 'gate' notebook",
    )
    objectives: list[Objective] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_objectives(self) -> Gate:
        names = [o.name for o in self.objectives]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"duplicate objective names: {', '.join(sorted(dup))}")
        return self


_O = TypeVar("_O", bound=BaseModel)


class Matrix(_Strict):
    """The whole go/no-go matrix (``kind: go-no-go-matrix``)."""

    apiVersion: Literal["igkit/v1"] = "igkit/v1"  # noqa: N815 - YAML field name
    kind: Literal["go-no-go-matrix"] = "go-no-go-matrix"
    defaults: Defaults | None = Field(
        default=None, description="required when a gate has Prometheus objectives"
    )
    k6: K6Settings | None = Field(
        default=None, description="required when a gate has k6 objectives (their thresholds)"
    )
    cost_ladder: CostLadder | None = None
    finops: FinopsSpec = Field(
        default_factory=lambda: _finops_default(),
        description="budget currency, FOCUS allocation, burn and projection settings (G6)",
    )
    gates: list[Gate] = Field(min_length=1)
    triggers: list[Trigger] = Field(
        default_factory=list, description="auto-rollback triggers (seed §7), judged on range data"
    )
    cutover: CutoverSpec | None = Field(
        default=None, description="canary stage judge and post-deploy validation"
    )

    @model_validator(mode="after")
    def _consistent(self) -> Matrix:
        """Unique gate ids, and the sections the objectives read (their thresholds) present."""
        ids = [g.id for g in self.gates]
        dup = {i for i in ids if ids.count(i) > 1}
        if dup:
            raise ValueError(f"duplicate gate ids: {', '.join(sorted(dup))}")
        unique_ids(self.triggers)
        ungated = [
            g.id
            for g in self.gates
            if g.objectives and all(getattr(o, "gated", True) is False for o in g.objectives)
        ]
        if ungated:
            raise ValueError(
                f"gate(s) {', '.join(ungated)} have only 'gated: false' objectives: "
                "a gate needs at least one objective that counts"
            )
        prometheus = self.objectives_of(PrometheusObjective)
        if prometheus and self.defaults is None:
            named = ", ".join(f"{g.id}/{o.name}" for g, o in prometheus[:3])
            more = f" and {len(prometheus) - 3} more" if len(prometheus) > 3 else ""
            raise ValueError(
                "defaults: required (step, min_coverage, max_staleness, max_gap, and rate when a "
                "query uses $rate) because "
                f"the matrix has Prometheus objectives ({named}{more})"
            )
        k6_objectives = self.objectives_of(K6Objective)
        if k6_objectives and self.k6 is None:
            named = ", ".join(f"{g.id}/{o.name}" for g, o in k6_objectives[:3])
            more = f" and {len(k6_objectives) - 3} more" if len(k6_objectives) > 3 else ""
            raise ValueError(
                f"k6: required (window, min_samples_per_window, consecutive_failing_windows, "
                f"max_error_rate) because the matrix has k6 objectives ({named}{more})"
            )
        return self

    @model_validator(mode="after")
    def _finops_budgets(self) -> Matrix:
        """An allocation rule naming no budget_burn objective's budget would send its rows
        to "unallocated" unnoticed: a typo in the matrix, refused at load. (The budget name
        is the objective name without ``_budget_burn``, as :func:`igkit.finops.matrix_budgets`.)"""
        budgets = {
            o.name.removesuffix("_budget_burn")
            for _, o in self.objectives_of(PrometheusObjective)
            if isinstance(o.rule, BudgetBurn)
        }
        unknown = sorted({r.budget for r in self.finops.allocation} - budgets)
        if unknown and budgets:  # a matrix derived without G6 (a canary's) keeps the section
            raise ValueError(
                f"finops.allocation: budget(s) {', '.join(unknown)} match no budget_burn "
                f"objective (budgets: {', '.join(sorted(budgets))})"
            )
        return self

    def objectives_of(self, kind: type[_O]) -> list[tuple[Gate, _O]]:
        """Every (gate, objective) of type ``kind``, in matrix order: the one place that
        says which gate holds k6 files, attestations, drills — never a gate id in code."""
        return [(g, o) for g in self.gates for o in g.objectives if isinstance(o, kind)]

    def k6_settings(self) -> K6Settings:
        """The ``k6`` section; present whenever a gate has k6 objectives (validated)."""
        if self.k6 is None:
            raise ValueError("the matrix has no k6 section (it has no k6 objectives)")
        return self.k6

    def gate(self, gate_id: str) -> Gate:
        for g in self.gates:
            if g.id == gate_id:
                return g
        known = ", ".join(g.id for g in self.gates)
        raise KeyError(f"gate {gate_id} is not in the matrix (known: {known})")


class ResolvedSettings(BaseModel):
    """An objective's effective step/rate/coverage settings after matrix defaults apply."""

    model_config = ConfigDict(frozen=True)

    step: Duration
    rate: Duration | None
    min_coverage: float
    max_staleness: Duration
    max_gap: Duration


def resolve_settings(obj: PrometheusObjective, defaults: Defaults | None) -> ResolvedSettings:
    """The objective's own settings, else the matrix ``defaults`` (present whenever the matrix
    has Prometheus objectives: :class:`Matrix` refuses it otherwise)."""
    if defaults is None:
        raise ValueError(f"objective {obj.name}: the matrix has no 'defaults' section")
    return ResolvedSettings(
        step=obj.rule.step or defaults.step,
        rate=obj.rate or defaults.rate,
        min_coverage=obj.min_coverage if obj.min_coverage is not None else defaults.min_coverage,
        max_staleness=obj.max_staleness or defaults.max_staleness,
        max_gap=obj.max_gap or defaults.max_gap,
    )


from igkit.spec.cutover import CutoverSpec  # noqa: E402 - the section holds objectives
from igkit.spec.finops import FinopsSpec  # noqa: E402 - reuses this module's field types


def _finops_default() -> FinopsSpec:
    return FinopsSpec()


Matrix.model_rebuild()
