"""Snapshots: the one hand-off between sources (which fetch) and gates (which judge).

A snapshot holds everything a verdict depends on for one range query — the exact query
text, the resolved absolute window, tenant, server (never credentials), the raw result
as the server sent it, fetch time and outcome — and a SHA-256 over its canonical JSON so
that a replay can prove it reads what the live run read.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Self

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_serializer

from igkit.errors import SnapshotError
from igkit.timeutil import rfc3339

if TYPE_CHECKING:
    import pandas as pd

SCHEMA = "igkit.snapshot/v1"
INDEX_FILE = "index.json"


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


class _Sealed(BaseModel):
    """A snapshot sealed by a SHA-256 over the canonical JSON of everything but the hash."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_: Literal["igkit.snapshot/v1"] = Field(default="igkit.snapshot/v1", alias="schema")
    id: str
    sha256: str = ""

    def content(self) -> dict[str, Any]:
        data = self.model_dump(mode="json", by_alias=True)
        data.pop("sha256")
        return data

    def sealed(self) -> Self:
        return self.model_copy(update={"sha256": canonical_sha256(self.content())})

    def expected_id(self) -> str:
        raise NotImplementedError

    def verify(self) -> None:
        if self.sha256 != canonical_sha256(self.content()):
            raise SnapshotError(f"snapshot {self.id} fails its SHA-256 check (content was altered)")
        if self.id != self.expected_id():
            raise SnapshotError(f"snapshot id {self.id} does not match its content")


class Snapshot(_Sealed):
    """A captured Prometheus range query result (or the failure to get one)."""

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
    result: list[dict[str, Any]] = Field(default_factory=list)

    @field_serializer("fetched_at")
    def _ser_fetched(self, v: datetime) -> str:
        return rfc3339(v)

    def expected_id(self) -> str:
        return self.request.id


class K6Params(BaseModel):
    """What a k6 window table was built with; a replay under other settings is refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    latency_metric: str
    failed_metric: str
    scenario_tag: str
    window_seconds: float


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


class K6Snapshot(_Sealed):
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


class K6SummarySnapshot(_Sealed):
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


class EvidenceSnapshot(_Sealed):
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
_ANY = TypeAdapter(AnySnapshot)


def k6_snapshot_id(file: str, file_sha256: str | None, params: K6Params) -> str:
    return canonical_sha256(
        {"file": file, "sha256": file_sha256, "params": params.model_dump(mode="json")}
    )[:16]


def canonical_json(data: Any) -> bytes:
    return json.dumps(
        data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()


def canonical_sha256(data: Any) -> str:
    return hashlib.sha256(canonical_json(data)).hexdigest()


_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def snapshot_filename(snapshot: _Sealed, label: str = "") -> str:
    prefix = _SAFE.sub("-", label).strip("-.")[:60]
    return f"{prefix}-{snapshot.id}.json" if prefix else f"{snapshot.id}.json"


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)


class SnapshotRef(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    file: str
    sha256: str
    label: str = ""


class SnapshotIndex(BaseModel):
    """``snapshots/index.json``: the run the snapshots belong to, so replay can resume it."""

    model_config = ConfigDict(extra="forbid")

    schema_: Literal["igkit.snapshot-index/v1"] = Field(
        default="igkit.snapshot-index/v1", alias="schema"
    )
    evaluated_at: datetime
    tenant: str | None = None
    server: str | None = None
    matrix_sha256: str
    snapshots: list[SnapshotRef]

    @field_serializer("evaluated_at")
    def _ser_at(self, v: datetime) -> str:
        return rfc3339(v)


def write_snapshots(
    directory: Path,
    snapshots: Iterable[tuple[str, _Sealed]],
    *,
    evaluated_at: datetime,
    tenant: str | None,
    server: str | None,
    matrix_sha256: str,
) -> SnapshotIndex:
    """Write labelled snapshots and their index; each file is written atomically."""
    directory.mkdir(parents=True, exist_ok=True)
    refs: dict[str, SnapshotRef] = {}
    for label, snap in snapshots:
        if snap.id in refs:
            continue
        name = snapshot_filename(snap, label)
        _atomic_write(
            directory / name, canonical_json(snap.model_dump(mode="json", by_alias=True)) + b"\n"
        )
        refs[snap.id] = SnapshotRef(id=snap.id, file=name, sha256=snap.sha256, label=label)
    index = SnapshotIndex(
        evaluated_at=evaluated_at,
        tenant=tenant,
        server=server,
        matrix_sha256=matrix_sha256,
        snapshots=list(refs.values()),
    )
    body = json.dumps(index.model_dump(mode="json", by_alias=True), indent=2, sort_keys=True)
    _atomic_write(directory / INDEX_FILE, body.encode() + b"\n")
    return index


def read_snapshot(path: Path) -> Snapshot | K6Snapshot | K6SummarySnapshot | EvidenceSnapshot:
    try:
        data = json.loads(path.read_bytes())
    except OSError as exc:
        raise SnapshotError(f"cannot read: {exc.strerror}", path=str(path)) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SnapshotError(f"not valid JSON ({exc})", path=str(path)) from None
    try:
        snap = _ANY.validate_python(data)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        loc = ".".join(str(p) for p in err["loc"])
        raise SnapshotError(
            f"not an igkit snapshot ({loc}: {err['msg']})", path=str(path)
        ) from None
    try:
        snap.verify()
    except SnapshotError as exc:
        raise SnapshotError(str(exc), path=str(path)) from None
    return snap


def read_index(directory: Path) -> SnapshotIndex | None:
    path = directory / INDEX_FILE
    if not path.is_file():
        return None
    try:
        return SnapshotIndex.model_validate_json(path.read_bytes())
    except (ValidationError, OSError) as exc:
        raise SnapshotError(
            f"unreadable snapshot index ({type(exc).__name__})", path=str(path)
        ) from None


def series_key(labels: Mapping[str, str]) -> str:
    """``{tenant="acme",worker="w1"}`` — stable, readable column name for one series."""
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != "__name__")
    name = labels.get("__name__", "")
    return f"{name}{{{inner}}}" if inner or not name else name


def to_long_frame(result: list[dict[str, Any]]) -> pd.DataFrame:
    """Raw ``matrix`` result -> long frame (series, timestamp, value).

    All samples are flattened once and parsed by numpy in two bulk conversions (sample
    strings such as ``"NaN"`` and ``"+Inf"`` become floats); the series column is built from
    codes, so no Python object is made per sample. ``benchmarks/prometheus_fetch.py``
    compares this with ``MetricRangeDataFrame``.
    """
    import pandas as pd  # imported here: the k6 command line never needs pandas

    keys: list[str] = []
    lengths: list[int] = []
    for series in result:
        values = series.get("values") or []
        keys.append(series_key(series.get("metric") or {}))
        lengths.append(len(values))
    total = sum(lengths)
    flat = list(chain.from_iterable(chain.from_iterable(s.get("values") or [] for s in result)))
    if len(flat) != 2 * total:
        raise SnapshotError("malformed series values (expected [timestamp, value] pairs)")
    try:
        timestamps = np.array(flat[0::2], dtype=np.float64)
        values_arr = np.array(flat[1::2], dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise SnapshotError(f"malformed sample in result ({exc})") from None
    codes = np.repeat(np.arange(len(keys), dtype=np.int32), lengths)
    unique_keys = list(dict.fromkeys(keys))
    if len(unique_keys) != len(keys):  # same label set twice: map onto one category
        positions = {k: i for i, k in enumerate(unique_keys)}
        codes = np.asarray([positions[k] for k in keys], dtype=np.int32)[codes]
    return pd.DataFrame(
        {
            "series": pd.Categorical.from_codes(
                codes, categories=pd.Index(unique_keys, dtype=object)
            ),
            "timestamp": timestamps,
            "value": values_arr,
        }
    )


def series_labels(result: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """Column name -> label set, for the series of a raw result."""
    return {series_key(s.get("metric") or {}): dict(s.get("metric") or {}) for s in result}


def to_wide_frame(result: list[dict[str, Any]], grid: np.ndarray) -> pd.DataFrame:
    """Raw result -> frame indexed by the expected step grid, one column per series.

    Steps the server did not return are NaN; samples off the grid are dropped; a repeated
    (series, step) keeps its first sample. Placement is one scatter into a numpy matrix.
    """
    import pandas as pd

    long = to_long_frame(result)
    grid_ms = np.round(grid * 1000).astype(np.int64)
    index = pd.Index(grid_ms, name="timestamp_ms")
    series = long["series"].cat
    columns = pd.Index([str(c) for c in series.categories], name="series")
    matrix = np.full((len(grid_ms), len(columns)), np.nan)
    if len(long):
        ts_ms = np.round(long["timestamp"].to_numpy() * 1000).astype(np.int64)
        pos = np.searchsorted(grid_ms, ts_ms)
        on_grid = pos < len(grid_ms)
        on_grid[on_grid] = grid_ms[pos[on_grid]] == ts_ms[on_grid]
        cells = pos[on_grid] * len(columns) + series.codes.to_numpy()[on_grid]
        _, first = np.unique(
            cells, return_index=True
        )  # a repeated (step, series) keeps its first sample
        matrix.flat[cells[first]] = long["value"].to_numpy()[on_grid][first]
    return pd.DataFrame(matrix, index=index, columns=columns)
