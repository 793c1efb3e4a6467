"""Verdict models: what igkit decided, why, and from which snapshots.

Four statuses; only PASS opens a gate. Combining fails closed: an empty set of children is
ERROR, and every non-PASS child's reasons are kept (unlike an any-of that drops them).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    field_serializer,
    model_validator,
)

from igkit.atomic import decode_float, encode_float
from igkit.timeutil import rfc3339

JsonFloat = Annotated[
    float,
    BeforeValidator(decode_float),
    PlainSerializer(encode_float, return_type=float | str, when_used="json"),
]
"""A float whose JSON form spells ±Inf/NaN as ``"+Inf"``, ``"-Inf"``, ``"NaN"`` (read back too)."""

Decision = Literal["GO", "NO-GO", "PARTIAL"]


class Status(StrEnum):
    PASS = "PASS"
    FAIL = "FAIL"
    NO_DATA = "NO_DATA"
    ERROR = "ERROR"


# A definite breach outranks "could not tell", which outranks "not enough data".
_SEVERITY = {Status.PASS: 0, Status.NO_DATA: 1, Status.ERROR: 2, Status.FAIL: 3}


def worst(statuses: list[Status]) -> Status:
    """Combined status; an empty list is ERROR (nothing was checked, so nothing passed)."""
    if not statuses:
        return Status.ERROR
    return max(statuses, key=_SEVERITY.__getitem__)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SeriesVerdict(_Model):
    """One series (tenant, worker, pod, ...) of an objective."""

    labels: dict[str, str]
    status: Status
    observed: JsonFloat | None = Field(description="value judged, in the threshold's unit")
    coverage: JsonFloat = Field(description="share of expected steps holding a finite value")
    steps_expected: int
    steps_present: int
    steps_violating: int
    first_violation: datetime | None = None
    last_violation: datetime | None = None
    worst_value: JsonFloat | None = None
    worst_at: datetime | None = None
    longest_gap_seconds: JsonFloat = 0.0
    last_sample_at: datetime | None = None
    reason: str

    @field_serializer("first_violation", "last_violation", "worst_at", "last_sample_at")
    def _ser(self, v: datetime | None) -> str | None:
        return rfc3339(v) if v else None


FactValue = str | int | None
"""A fact is text or a whole number: a digest, a time (RFC 3339), a count, a level."""


class EvidenceFact(_Model):
    """One evidence document as igkit read it, for the reports to render (never to decide).

    ``status`` is that of the checks that read it: a fact of a document that did not verify is
    shown as such. Long lists (findings, steps) stop at 200 rows, the last saying how many
    more. ``kind`` fixes the names in ``facts`` (each may be None when unknown) and
    ``rows``; times are RFC 3339 UTC, durations are ``2m48s`` text:

    - ``release`` (subject: the release file): ``release_tag``, ``change_ticket``, ``file``;
      rows ``name``, ``version``, ``digest`` (``sha256:<hex>``) per artifact.
    - ``artifact`` (G3 provenance, subject: artifact name): ``digest``, ``builder_id``,
      ``slsa_level`` (int), ``signer`` (key fingerprint, or certificate identity and issuer),
      ``signer_trust`` (how the signer is trusted), ``source``, ``provenance_file``.
    - ``sbom`` (subject: artifact name): ``file``, ``format``, ``components`` (int),
      ``fail_at``, open findings per severity ``critical``/``high``/``medium``/``low``/
      ``unknown``/``none`` (int), ``suppressed`` (int; VEX and the scanner's own ignore
      rules); rows ``id``, ``severity``, ``component``, ``state`` (open / suppressed) per finding.
    - ``opa_bundle`` (subject: bundle path): ``revision``, ``key_fingerprint``, ``key_trust``,
      ``scope``, ``issued_at``, ``expires_at``, ``files`` (int).
    - ``drill`` (subject: drill id): ``env``, ``env_target``, ``operator``, ``started_at``,
      ``ended_at``, ``failure_injected_at``, ``service_restored_at``,
      ``last_durable_write_before_failure``, ``data_verified_at``, ``rpo``, ``rpo_target``,
      ``rto``, ``rto_target``, ``max_age``, ``file``; rows ``name``, ``at``, ``outcome`` per step.
    - ``approvals`` (subject: the tracker file): ``max_age``, ``unexpected_roles``; rows
      ``role``, ``approver``, ``decision``, ``at``, ``reference``, ``status`` per required role.
    - ``comms`` (subject: "templates"): rows ``template``, ``file``, ``sha256``, ``status``.
    """

    kind: str
    subject: str
    status: Status
    facts: dict[str, FactValue] = Field(default_factory=dict)
    rows: list[dict[str, FactValue]] = Field(default_factory=list)


class ObjectiveVerdict(_Model):
    name: str
    description: str = ""
    status: Status
    observed: JsonFloat | None = None
    threshold: JsonFloat | None = None
    unit: str | None = None
    comparison: str | None = None
    coverage: JsonFloat | None = None
    rule: str | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None
    reasons: list[str]
    warnings: list[str] = Field(
        default_factory=list, description="shown even when the objective passes"
    )
    snapshots: list[str] = Field(default_factory=list)
    series: list[SeriesVerdict] = Field(default_factory=list)
    details: dict[str, JsonFloat | str | None] = Field(default_factory=dict)
    evidence: list[EvidenceFact] = Field(
        default_factory=list, description="what each evidence document says, for the reports"
    )
    gated: bool = Field(
        default=True,
        description="False: reported only (matrix 'gated: false'), never counts toward the gate",
    )

    @field_serializer("window_start", "window_end")
    def _ser(self, v: datetime | None) -> str | None:
        return rfc3339(v) if v else None


class GateVerdict(_Model):
    id: str
    name: str
    status: Status
    reasons: list[str]
    objectives: list[ObjectiveVerdict]


class Scope(_Model):
    """Which gates this run evaluated; ``complete`` only when every gate of the matrix was."""

    gates: list[str]
    complete: bool


class RunVerdicts(_Model):
    """``verdicts.json``.

    ``decision`` is GO only when every gate of the matrix was evaluated and passed; a run of
    some gates whose gates all pass is PARTIAL (never GO); any failing gate makes NO-GO."""

    schema_: Literal["igkit.verdicts/v1"] = Field(default="igkit.verdicts/v1", alias="schema")
    decision: Decision
    scope: Scope
    evaluated_at: datetime
    matrix_sha256: str
    matrix_source: str
    igkit_version: str
    tenant: str | None = None
    source: str
    snapshots_index_sha256: str | None = Field(
        default=None,
        description="sha256 of snapshots/index.json: replay refuses an index that differs",
    )
    select: str | None = Field(
        default=None, description="label matchers added to every selector (--select)"
    )
    window: timedelta | None = Field(
        default=None, description="the window that replaced every step rule's (--window)"
    )
    change_ticket: str | None = Field(
        default=None,
        description="the release file's changeTicket, as the evidence objectives read it",
    )
    gates: list[GateVerdict]

    @field_serializer("evaluated_at")
    def _ser(self, v: datetime) -> str:
        return rfc3339(v)

    @model_validator(mode="after")
    def _decision_matches_scope(self) -> Self:
        expected = decide(self.gates, complete=self.scope.complete)
        if self.decision != expected:
            raise ValueError(
                f"decision {self.decision} contradicts the gates and scope (they give {expected})"
            )
        if self.scope.gates != [g.id for g in self.gates]:
            raise ValueError("scope.gates differs from the gates evaluated")
        return self


def reported_only(gate_id: str, verdict: ObjectiveVerdict) -> ObjectiveVerdict:
    """``verdict`` marked as shown but never counted toward ``gate_id`` (matrix
    ``gated: false``), with a warning saying so wherever it is shown."""
    note = (
        f"{gate_id} {verdict.name}: reported only (gated: false): its {verdict.status} "
        f"never counts toward {gate_id}"
    )
    return verdict.model_copy(update={"gated": False, "warnings": [*verdict.warnings, note]})


def gate_verdict(gate_id: str, name: str, objectives: list[ObjectiveVerdict]) -> GateVerdict:
    """The gate's status is the worst of its gated objectives; reported-only ones are kept
    (and shown) but never count, and a gate with no gated objective is ERROR."""
    gated = [o for o in objectives if o.gated]
    status = worst([o.status for o in gated])
    if not objectives:
        reasons = [f"{gate_id} has no objectives in the matrix, so nothing can pass it"]
    elif not gated:
        reasons = [f"{gate_id} has only reported objectives (gated: false), so nothing can pass it"]
    elif status is Status.PASS:
        reasons = [f"all {len(gated)} objective(s) PASS"]
    else:
        reasons = [r for o in gated if o.status is not Status.PASS for r in o.reasons]
    reasons += [w for o in gated if o.status is Status.PASS for w in o.warnings]
    reasons += [w for o in objectives if not o.gated for w in o.warnings[-1:]]
    return GateVerdict(id=gate_id, name=name, status=status, reasons=reasons, objectives=objectives)


def decide(gates: list[GateVerdict], *, complete: bool) -> Decision:
    """GO only for a complete run whose gates all pass; PARTIAL when an incomplete one's do."""
    if not gates or not all(g.status is Status.PASS for g in gates):
        return "NO-GO"
    return "GO" if complete else "PARTIAL"


def scope_of(gate_ids: list[str], matrix_gate_ids: list[str]) -> Scope:
    return Scope(gates=list(gate_ids), complete=set(matrix_gate_ids) <= set(gate_ids))


def change_ticket(gates: list[GateVerdict]) -> str | None:
    """The change ticket of the release file the evidence objectives read (the first one
    that parsed), so verdicts.json names the change it gates."""
    for g in gates:
        for o in g.objectives:
            for fact in o.evidence:
                ticket = fact.facts.get("change_ticket") if fact.kind == "release" else None
                if isinstance(ticket, str) and ticket:
                    return ticket
    return None
