"""Sealed snapshot models: what a source captured, hashed so that a replay can prove it reads
what the live run read (Prometheus ranges, k6 window tables and summaries, evidence files)."""

from __future__ import annotations

import gc
import hashlib
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal, Self

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    SerializerFunctionWrapHandler,
    field_serializer,
    model_serializer,
)
from pydantic_core import core_schema

from igkit.errors import SnapshotError
from igkit.timeutil import rfc3339

if TYPE_CHECKING:
    from igkit.spec.models import K6Settings


SCHEMA = "igkit.snapshot/v1"


class RangeRequest(BaseModel):
    """One range query at absolute times; its canonical JSON hash is the snapshot id."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    query: str
    start: datetime
    end: datetime
    step_seconds: float = Field(gt=0)
    tenant: str | None = None

    @field_serializer("start", "end")
    def _ser_time(self, v: datetime) -> str:
        return rfc3339(v)

    @property
    def id(self) -> str:
        return canonical_sha256(self.model_dump(mode="json"))[:16]

    def grid(self) -> np.ndarray:
        """Expected step timestamps (unix seconds) — the steps Prometheus evaluates."""
        start, end = self.start.timestamp(), self.end.timestamp()
        n = int(np.floor((end - start) / self.step_seconds + 1e-9)) + 1
        return start + np.arange(n, dtype=np.float64) * self.step_seconds


class SealedSnapshot(BaseModel):
    """A snapshot sealed by a SHA-256 over the canonical JSON of everything but the hash."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_: Literal["igkit.snapshot/v1"] = Field(default="igkit.snapshot/v1", alias="schema")
    id: str
    sha256: str = ""

    def content(self) -> dict[str, Any]:
        data = self.model_dump(mode="json", by_alias=True)
        data.pop("sha256")
        return data

    def canonical(self, *, sealed: bool = True) -> bytes:
        """The snapshot's canonical JSON, as written to its file; ``sealed=False`` leaves out
        ``sha256`` (what the hash covers)."""
        data = self.model_dump(mode="json", by_alias=True)
        if not sealed:
            data.pop("sha256")
        return canonical_json(data)

    def sealed(self) -> Self:
        digest = hashlib.sha256(self.canonical(sealed=False)).hexdigest()
        return self.model_copy(update={"sha256": digest})

    def expected_id(self) -> str:
        raise NotImplementedError

    def verify(self) -> None:
        if self.sha256 != hashlib.sha256(self.canonical(sealed=False)).hexdigest():
            raise SnapshotError(f"snapshot {self.id} fails its SHA-256 check (content was altered)")
        if self.id != self.expected_id():
            raise SnapshotError(f"snapshot id {self.id} does not match its content")


@contextmanager
def no_cyclic_gc() -> Iterator[None]:
    """Pause the cycle collector while a large JSON tree is built.

    A parsed answer is millions of new lists and strings with no cycles (freed by reference
    counting alone), yet each few hundred allocations start a collection that walks the
    whole growing tree: 3x slower parsing at 3,000 series. Re-enabled on exit, unless it was
    already off."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class RangeResult:
    """A range query's ``result`` kept as its canonical JSON bytes.

    About 20 bytes a sample instead of ~170 for the parsed lists, so a run holds every
    snapshot it captured without holding every answer's tree: G1 over 3,000 tenants stays
    under 500 MB (``benchmarks/tenants_scale.py``). These are exactly the bytes the snapshot's
    hash and file contain; :meth:`parsed` gives the lists back, one query at a time, for the
    judge to validate as it always does (a stored result is never trusted for its shape).

    As a pydantic field it validates its input as ``list[dict[str, Any]]`` (same errors as a
    plain list field) and serializes back to that list."""

    __slots__ = ("json",)

    def __init__(self, canonical: bytes) -> None:
        self.json = canonical

    @classmethod
    def of(cls, result: list[dict[str, Any]]) -> RangeResult:
        """Raises ``ValueError`` when ``result`` has no canonical JSON (NaN, a lone surrogate)."""
        return cls(canonical_json(result))

    def parsed(self) -> list[dict[str, Any]]:
        with no_cyclic_gc():
            data: list[dict[str, Any]] = json.loads(self.json)
        return data

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RangeResult) and other.json == self.json

    def __hash__(self) -> int:
        return hash(self.json)

    def __repr__(self) -> str:
        return f"RangeResult({len(self.json):,} bytes)"

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        def validate(value: Any, check: core_schema.ValidatorFunctionWrapHandler) -> RangeResult:
            return value if isinstance(value, RangeResult) else cls.of(check(value))

        return core_schema.no_info_wrap_validator_function(
            validate,
            handler.generate_schema(list[dict[str, Any]]),
            serialization=core_schema.plain_serializer_function_ser_schema(cls.parsed),
        )


class Snapshot(SealedSnapshot):
    """A captured Prometheus range query result (or the failure to get one).

    ``result`` (the server's ``data.result``) is stored as :class:`RangeResult`: reading
    ``snapshot.result`` parses it into a fresh list each time, while hashing and writing
    splice its bytes in without a parse."""

    kind: Literal["prometheus_range"] = "prometheus_range"
    request: RangeRequest
    server: str
    fetched_at: datetime
    status: Literal["success", "error"]
    error_type: str | None = None
    error: str | None = None
    warnings: list[str] = Field(default_factory=list)
    chunks: int = 1
    result_type: str | None = None
    result_data: RangeResult = Field(default_factory=lambda: RangeResult(b"[]"), alias="result")
    redirects: list[str] = Field(default_factory=list)  # same-origin redirects followed

    @field_serializer("fetched_at")
    def _ser_fetched(self, v: datetime) -> str:
        return rfc3339(v)

    @model_serializer(mode="wrap")
    def _omit_empty(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """No ``redirects`` key when none were followed: snapshots from before the field
        existed keep their content hash."""
        data: dict[str, Any] = handler(self)
        if not data.get("redirects"):
            data.pop("redirects", None)
        return data

    @property
    def result(self) -> list[dict[str, Any]]:
        """The stored result as plain JSON lists (a new copy at every access)."""
        return self.result_data.parsed()

    def canonical(self, *, sealed: bool = True) -> bytes:
        """As :meth:`SealedSnapshot.canonical`, with the result's bytes spliced in unparsed."""
        exclude = {"result_data"} if sealed else {"result_data", "sha256"}
        data = self.model_dump(mode="json", by_alias=True, exclude=exclude)
        return canonical_json_with(data, {"result": self.result_data.json})

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """As pydantic's, also for ``update={"result": [...]}`` (the field's alias)."""
        if update and "result" in update:
            update = {**update, "result_data": RangeResult.of(update["result"])}
            del update["result"]
        return super().model_copy(update=update, deep=deep)

    def expected_id(self) -> str:
        return self.request.id


class K6Params(BaseModel):
    """What a k6 window table was built with; a replay under other settings is refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    latency_metric: str
    failed_metric: str
    scenario_tag: str
    window_seconds: float


ALL = "*"  # the k6 table of every request, whatever its scenario


def params_for(settings: K6Settings) -> K6Params:
    """The window-table parameters a k6 snapshot must have been built with for ``settings``."""
    return K6Params(
        latency_metric=settings.latency_metric,
        failed_metric=settings.failed_metric,
        scenario_tag=settings.scenario_tag,
        window_seconds=settings.window.total_seconds(),
    )


class K6Window(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    start: datetime
    end: datetime
    latency_samples: int
    p95_seconds: float | None
    requests: int
    failed: int

    @field_serializer("start", "end")
    def _ser(self, v: datetime) -> str:
        return rfc3339(v)


class K6Table(BaseModel):
    """One scenario (or all requests): the whole run and its windows."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    latency_samples: int
    p95_seconds: float | None
    requests: int
    failed: int
    windows: list[K6Window]


class K6Snapshot(SealedSnapshot):
    """The per-window table of one k6 points file — what G5 reads, instead of the raw file."""

    kind: Literal["k6_windows"] = "k6_windows"
    file: str
    file_sha256: str | None
    file_bytes: int | None
    format: str | None
    captured_at: datetime
    params: K6Params
    status: Literal["success", "error", "no_data"]  # no_data: e.g. timestamps span too long
    error: str | None = None
    points: int = 0
    skipped_lines: int = 0
    truncated: bool = False
    problems: list[str] = Field(default_factory=list)
    run_start: datetime | None = None
    run_end: datetime | None = None
    scenarios: dict[str, K6Table] = Field(default_factory=dict)
    overall: K6Table | None = None

    @field_serializer("captured_at", "run_start", "run_end")
    def _ser(self, v: datetime | None) -> str | None:
        return rfc3339(v) if v else None

    def expected_id(self) -> str:
        return k6_snapshot_id(self.file, self.file_sha256, self.params)

    @property
    def complete(self) -> bool:
        return (
            self.status == "success"
            and not self.truncated
            and not self.skipped_lines
            and not self.problems
        )


class K6Threshold(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    metric: str
    expression: str
    ok: bool


class K6SummarySnapshot(SealedSnapshot):
    """k6's own threshold results from an end-of-test summary, shown beside igkit's."""

    kind: Literal["k6_summary"] = "k6_summary"
    file: str
    file_sha256: str
    summary_kind: str
    captured_at: datetime
    duration_seconds: float | None = None
    passed: bool | None = None
    thresholds: list[K6Threshold] = Field(default_factory=list)

    @field_serializer("captured_at")
    def _ser(self, v: datetime) -> str:
        return rfc3339(v)

    def expected_id(self) -> str:
        return canonical_sha256({"file": self.file, "sha256": self.file_sha256})[:16]


class EvidenceFile(BaseModel):
    """One file an evidence objective read: its hash, and its bytes when they are needed to
    verify again offline (artifacts themselves are kept by digest only)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str
    sha256: str | None = None
    size: int | None = None
    content_b64: str | None = None
    members: dict[str, str] | None = None  # a bundle read as files: name -> base64
    error: str | None = None

    def content(self) -> bytes | None:
        import base64

        return None if self.content_b64 is None else base64.b64decode(self.content_b64)


class EvidenceSnapshot(SealedSnapshot):
    """Everything one evidence objective (G3/G4/G7/G8) read, so ``--replay`` re-verifies it."""

    kind: Literal["evidence"] = "evidence"
    objective: str  # "G3/slsa_provenance"
    captured_at: datetime
    evidence_dir: str | None
    files: dict[str, EvidenceFile] = Field(default_factory=dict)  # role -> file

    @field_serializer("captured_at")
    def _ser(self, v: datetime) -> str:
        return rfc3339(v)

    def expected_id(self) -> str:
        return evidence_snapshot_id(self.objective, {r: f.sha256 for r, f in self.files.items()})

    @property
    def file(self) -> str:
        return self.objective.replace("/", "-")


def evidence_snapshot_id(objective: str, digests: Mapping[str, str | None]) -> str:
    return canonical_sha256({"objective": objective, "files": dict(digests)})[:16]


AnySnapshot = Annotated[
    Snapshot | K6Snapshot | K6SummarySnapshot | EvidenceSnapshot, Field(discriminator="kind")
]


def k6_snapshot_id(file: str, file_sha256: str | None, params: K6Params) -> str:
    return canonical_sha256(
        {"file": file, "sha256": file_sha256, "params": params.model_dump(mode="json")}
    )[:16]


def canonical_json(data: Any) -> bytes:
    return json.dumps(
        data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()


def canonical_json_with(data: Mapping[str, Any], raw: Mapping[str, bytes]) -> bytes:
    """:func:`canonical_json` of ``{**data, **raw}``, where the values of ``raw`` are already
    canonical JSON: written as given, never parsed (large results stay bytes)."""
    parts = [
        canonical_json(key) + b":" + (raw[key] if key in raw else canonical_json(data[key]))
        for key in sorted({*data, *raw})
    ]
    return b"{" + b",".join(parts) + b"}"


def canonical_sha256(data: Any) -> str:
    return hashlib.sha256(canonical_json(data)).hexdigest()
