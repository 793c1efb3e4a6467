"""Snapshots: the one hand-off between sources (which fetch) and gates (which judge).

A snapshot holds everything a verdict depends on for one range query — the exact query
text, the resolved absolute window, tenant, server (never credentials), the raw result
as the server sent it, fetch time and outcome — and a SHA-256 over its canonical JSON so
that a replay can prove it reads what the live run read.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Self

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    TypeAdapter,
    ValidationError,
    field_serializer,
    model_serializer,
)

from igkit.errors import SnapshotError
from igkit.strictdoc import DocumentError, load_json
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


def sha256_file(path: Path) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB chunks (bundles and indexes can be large)."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def snapshot_filename(snapshot: _Sealed, label: str = "") -> str:
    prefix = _SAFE.sub("-", label).strip("-.")[:60]
    return f"{prefix}-{snapshot.id}.json" if prefix else f"{snapshot.id}.json"


def _atomic_write(path: Path, data: bytes) -> None:
    from igkit.atomic import write_bytes

    write_bytes(path, data)


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
        data = load_json(path.read_bytes(), where=str(path), check_depth=False)
    except OSError as exc:
        raise SnapshotError(f"cannot read: {exc.strerror}", path=str(path)) from None
    except DocumentError as exc:
        raise SnapshotError(f"not valid JSON ({exc.message})", path=str(path)) from None
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


_LABEL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_METRIC_NAME = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*\Z")
_SERIES_FIELDS = frozenset({"metric", "values"})
_SAMPLE_CHARS = {ord(c): None for c in "0123456789.eE+-NaNInf"}
_SPECIAL_SAMPLES = frozenset({"NaN", "+Inf", "-Inf"})


_ESCAPE = re.compile('[\\\\"\x00-\x1f\x7f-\x9f\u2028\u2029]')
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in '\\"':
        return "\\" + char
    if char == "\n":
        return "\\n"
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"


def quote_label(text: str) -> str:
    """A PromQL-style double-quoted string: ``\\``, ``"`` and newline escaped, other control
    characters as ``\\xNN``/``\\uNNNN`` — so a key or reason always stays on one line."""
    return f'"{_ESCAPE.sub(_escape, text)}"'


def one_line(text: str) -> str:
    """Server text for a one-line reason: runs of control characters become one space."""
    return _CONTROL.sub(" ", text)


def series_key(labels: Mapping[str, str]) -> str:
    """``up{tenant="acme",worker="w1"}`` — the one identity of a series, as a readable string.

    An injective encoding of the complete label set: values are always quoted and escaped,
    label names that are not identifiers are quoted too, and ``__name__`` is written in front
    only when it is a valid metric name (otherwise it stays inside the braces). Two different
    label sets therefore never share a key, whatever their names and values hold.
    """
    items = sorted(labels.items())
    name = labels.get("__name__")
    prefix = ""
    if name is not None and _METRIC_NAME.match(name):
        prefix = name
        items = [(k, v) for k, v in items if k != "__name__"]
    inner = ",".join(
        f"{k if _LABEL_NAME.match(k) else quote_label(k)}={quote_label(v)}" for k, v in items
    )
    return f"{prefix}{{{inner}}}" if inner or not prefix else prefix


class ResultError(SnapshotError):
    """A range result that is not exactly what Prometheus's API defines: never judged.

    ``not_api`` marks an answer that is not even a JSON object (an HTML login page)."""

    def __init__(self, message: str, *, not_api: bool = False) -> None:
        super().__init__(message)
        self.not_api = not_api


@dataclass(frozen=True)
class RangeData:
    """A validated ``matrix`` result: series keys and labels, and all samples as flat arrays
    (series ``i`` owns ``lengths[i]`` consecutive samples, timestamps strictly increasing)."""

    keys: list[str]
    labels: list[dict[str, str]]
    lengths: np.ndarray
    timestamps: np.ndarray
    values: np.ndarray


def _series_name(result: list[Any], i: int) -> str:
    metric = result[i].get("metric") if isinstance(result[i], dict) else None
    if isinstance(metric, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in metric.items()
    ):
        return f"series {series_key(metric)}"
    return f"result[{i}]"


def _locate(lengths: list[int], flat_index: int) -> tuple[int, int]:
    """(series index, sample index) of a position in the flattened samples."""
    ends = np.cumsum(lengths)
    series = int(np.searchsorted(ends, flat_index, side="right"))
    before = int(ends[series - 1]) if series else 0
    return series, flat_index - before


def _short(value: Any) -> str:
    text = (
        json.dumps(value, ensure_ascii=True, default=str) if not isinstance(value, str) else value
    )
    return repr(text[:40] + ("…" if len(text) > 40 else ""))


def parse_range_result(result: Any) -> RangeData:
    """Validate a ``matrix`` result and return its samples; :class:`ResultError` names the
    series and field otherwise.

    Used by the fetch and by the judge alike (a replayed snapshot can be forged and resealed,
    so shape is never trusted). Each series is ``{"metric": {str: str}, "values": [[t, "v"],
    ...]}``; ``t`` a finite JSON number, ``"v"`` a string as Prometheus writes floats (decimal,
    ``NaN``, ``+Inf``, ``-Inf``); timestamps strictly increasing; no label set twice. The
    per-sample checks are bulk operations, so a million samples cost a fraction of a second.
    """
    if not isinstance(result, list):
        raise ResultError(f"result is {type(result).__name__}, not a list of series")
    keys: list[str] = []
    labels: list[dict[str, str]] = []
    series_values: list[list[Any]] = []
    seen: dict[str, int] = {}
    for i, series in enumerate(result):
        if not isinstance(series, dict):
            raise ResultError(f"result[{i}] is {type(series).__name__}, not a series object")
        if "histograms" in series:
            raise ResultError(
                f"{_series_name(result, i)}: native histogram samples are not supported"
            )
        if set(series) != _SERIES_FIELDS:
            odd = sorted(set(series) ^ _SERIES_FIELDS)
            raise ResultError(
                f"result[{i}]: fields {odd} missing or unexpected (need metric, values)"
            )
        metric = series["metric"]
        if not isinstance(metric, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in metric.items()
        ):
            raise ResultError(f"result[{i}].metric is not a mapping of label names to strings")
        key = series_key(metric)
        if key in seen:
            raise ResultError(
                f"series {key} appears twice in the result (result[{seen[key]}] and result[{i}]); "
                "which one to judge is ambiguous"
            )
        seen[key] = i
        values = series["values"]
        if not isinstance(values, list):
            raise ResultError(f"series {key}: values is {type(values).__name__}, not a list")
        keys.append(key)
        labels.append(dict(metric))
        series_values.append(values)
    lengths = [len(v) for v in series_values]
    pairs = list(chain.from_iterable(series_values))
    if set(map(type, pairs)) - {list} or set(map(len, pairs)) - {2}:
        bad = next(j for j, p in enumerate(pairs) if type(p) is not list or len(p) != 2)
        s, k = _locate(lengths, bad)
        raise ResultError(
            f"{_series_name(result, s)}: values[{k}] is {_short(pairs[bad])}, not a [timestamp, value] pair"
        )
    flat = list(chain.from_iterable(pairs))
    raw_ts, raw_values = flat[0::2], flat[1::2]
    if set(map(type, raw_ts)) - {int, float}:
        bad = next(j for j, t in enumerate(raw_ts) if type(t) not in (int, float))
        s, k = _locate(lengths, bad)
        raise ResultError(
            f"{_series_name(result, s)}: values[{k}] timestamp {_short(raw_ts[bad])} is not a number"
        )
    if set(map(type, raw_values)) - {str}:
        bad = next(j for j, v in enumerate(raw_values) if type(v) is not str)
        s, k = _locate(lengths, bad)
        raise ResultError(
            f"{_series_name(result, s)}: values[{k}] sample {_short(raw_values[bad])} is not a "
            "string holding a number"
        )
    try:
        timestamps = np.array(raw_ts, dtype=np.float64)
        finite = bool(np.isfinite(timestamps).all())
    except OverflowError:
        finite = False
    if not finite:
        bad = next(j for j, t in enumerate(raw_ts) if not _finite_number(t))
        s, k = _locate(lengths, bad)
        raise ResultError(f"{_series_name(result, s)}: values[{k}] timestamp is out of range")
    values = _parse_samples(raw_values, result, lengths)
    if len(timestamps) > 1:
        increasing = np.diff(timestamps) > 0
        ends = np.cumsum(lengths)[:-1]
        increasing[ends[(ends > 0) & (ends < len(timestamps))] - 1] = True
        if not increasing.all():
            s, k = _locate(lengths, int(np.argmin(increasing)) + 1)
            raise ResultError(
                f"{_series_name(result, s)}: values[{k}] timestamp repeats or goes back in time "
                "(samples must be strictly increasing)"
            )
    return RangeData(keys, labels, np.asarray(lengths, dtype=np.int64), timestamps, values)


def _finite_number(t: float) -> bool:
    try:
        return math.isfinite(float(t))
    except OverflowError:
        return False


def _parse_samples(raw: list[str], result: list[Any], lengths: list[int]) -> np.ndarray:
    """Sample strings -> floats, accepting only the forms Prometheus writes."""

    def fail(j: int, why: str) -> ResultError:
        s, k = _locate(lengths, j)
        return ResultError(f"{_series_name(result, s)}: values[{k}] sample {_short(raw[j])} {why}")

    if "".join(raw).translate(_SAMPLE_CHARS):
        bad = next(j for j, v in enumerate(raw) if v.translate(_SAMPLE_CHARS))
        raise fail(bad, "is not a number as Prometheus writes it")
    try:
        values = np.array(raw, dtype=np.float64)
    except ValueError:
        bad = next(j for j, v in enumerate(raw) if not _parses(v))
        raise fail(bad, "is not a number as Prometheus writes it") from None
    for j in np.flatnonzero(~np.isfinite(values)).tolist():
        if raw[j] not in _SPECIAL_SAMPLES:
            raise fail(j, "is not NaN, +Inf, -Inf or a finite number")
    return values


def _parses(text: str) -> bool:
    try:
        np.float64(text)
    except ValueError:
        return False
    return True


def check_range_snapshot(snapshot: Snapshot) -> RangeData:
    """Validate a successful range snapshot before judging it (see :func:`parse_range_result`)."""
    if snapshot.result_type != "matrix":
        raise ResultError(f"resultType is {snapshot.result_type!r}, not 'matrix'")
    return parse_range_result(snapshot.result)


def parse_query_range_body(raw: bytes) -> tuple[list[Any], list[str]]:
    """A ``/api/v1/query_range`` success body -> (validated result, warnings).

    Duplicate keys anywhere (a label given twice in ``metric``), non-standard numbers and
    pathological nesting are refused by the strict parser; the envelope and every series are
    then checked by the same validator the judge uses."""
    try:
        body = load_json(raw, where="response", check_depth=False)
    except DocumentError as exc:
        not_json = exc.message.startswith(("invalid JSON", "not UTF-8"))
        raise ResultError(f"unreadable JSON: {exc.message}", not_api=not_json) from None
    if not isinstance(body, dict):
        raise ResultError(f"the answer is {type(body).__name__}, not a JSON object", not_api=True)
    if body.get("status") != "success":
        raise ResultError(f"status is {_short(body.get('status'))}, not 'success'")
    notes: dict[str, list[str]] = {}
    for field in ("warnings", "infos"):
        found = body.get(field, [])
        if not isinstance(found, list) or not all(isinstance(w, str) for w in found):
            raise ResultError(f"{field} is not a list of strings")
        notes[field] = found
    data = body.get("data")
    if not isinstance(data, dict):
        raise ResultError("data is missing or not an object")
    if data.get("resultType") != "matrix":
        raise ResultError(f"resultType is {_short(data.get('resultType'))}, not 'matrix'")
    result = data.get("result")
    parse_range_result(result)
    return result if isinstance(result, list) else [], notes["warnings"]


def _as_data(result: list[dict[str, Any]] | RangeData) -> RangeData:
    return result if isinstance(result, RangeData) else parse_range_result(result)


def to_long_frame(result: list[dict[str, Any]] | RangeData) -> pd.DataFrame:
    """Raw (or validated) ``matrix`` result -> long frame (series, timestamp, value).

    Samples are validated and parsed by :func:`parse_range_result` in bulk; the series
    column is built from codes, so no Python object is made per sample.
    ``benchmarks/prometheus_fetch.py`` compares this with ``MetricRangeDataFrame``.
    """
    import pandas as pd  # imported here: the k6 command line never needs pandas

    data = _as_data(result)
    codes = np.repeat(np.arange(len(data.keys), dtype=np.int32), data.lengths)
    return pd.DataFrame(
        {
            "series": pd.Categorical.from_codes(
                codes, categories=pd.Index(data.keys, dtype=object)
            ),
            "timestamp": data.timestamps,
            "value": data.values,
        }
    )


def series_labels(result: list[dict[str, Any]] | RangeData) -> dict[str, dict[str, str]]:
    """Column name -> label set, for the series of a result."""
    data = _as_data(result)
    return dict(zip(data.keys, data.labels, strict=True))


def to_wide_frame(result: list[dict[str, Any]] | RangeData, grid: np.ndarray) -> pd.DataFrame:
    """Raw (or validated) result -> frame indexed by the expected step grid, one column per
    series. Steps the server did not return are NaN; samples off the grid are dropped.
    Placement is one scatter into a numpy matrix."""
    import pandas as pd

    data = _as_data(result)
    grid_ms = np.round(grid * 1000).astype(np.int64)
    index = pd.Index(grid_ms, name="timestamp_ms")
    columns = pd.Index(data.keys, name="series", dtype=object)
    matrix = np.full((len(grid_ms), len(columns)), np.nan)
    if len(data.timestamps):
        codes = np.repeat(np.arange(len(data.keys), dtype=np.int64), data.lengths)
        ts_ms = np.round(data.timestamps * 1000).astype(np.int64)
        pos = np.searchsorted(grid_ms, ts_ms)
        on_grid = pos < len(grid_ms)
        on_grid[on_grid] = grid_ms[pos[on_grid]] == ts_ms[on_grid]
        cells = pos[on_grid] * len(columns) + codes[on_grid]
        _, first = np.unique(cells, return_index=True)  # two samples rounding to one step
        matrix.flat[cells[first]] = data.values[on_grid][first]
    return pd.DataFrame(matrix, index=index, columns=columns)
