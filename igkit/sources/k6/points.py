"""Read k6 point streams (``--out json`` NDJSON or ``--out csv``, plain or gzip) into numpy.

Engine, chosen by measurement on a 270 MB / 907k-point real k6 file on 2 cores
(``benchmarks/k6_ingest.py`` has the full comparison): DuckDB's JSON reader with an
explicit column schema parses it in ~0.25 s on both cores and streams Arrow record
batches, so memory stays bounded; a Python loop with orjson took 1.3 s, Polars
``scan_ndjson`` 0.8 s with 490 MB RSS, DuckDB with tags as a MAP 0.9 s, and the naive
``pandas.read_json(lines=True)`` + ``json_normalize`` 25 s with 2.8 GB. Only the columns
a question needs are read: the metric names asked for, value, time and the tags named by
declared submetrics or by the caller; every string column becomes integer codes.

Bad input is found, not guessed: DuckDB names the first malformed line; with
``strict=False`` the reader skips malformed lines, counts them and lists their numbers.
"""

from __future__ import annotations

import json
import math
import re
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from igkit.sources.k6.files import K6InputError, _head, check_file, detect_format, is_gzip, scan
from igkit.strictdoc import validation_message

MetricType = Literal["counter", "gauge", "rate", "trend"]

# k6 built-in metrics, for CSV output, which carries no Metric declarations.
BUILTIN_TYPES: dict[str, tuple[MetricType, str]] = {
    "vus": ("gauge", "default"),
    "vus_max": ("gauge", "default"),
    "iterations": ("counter", "default"),
    "iteration_duration": ("trend", "time"),
    "dropped_iterations": ("counter", "default"),
    "data_received": ("counter", "data"),
    "data_sent": ("counter", "data"),
    "checks": ("rate", "default"),
    "http_reqs": ("counter", "default"),
    "http_req_failed": ("rate", "default"),
    **{
        name: ("trend", "time")
        for name in (
            "http_req_duration",
            "http_req_blocked",
            "http_req_connecting",
            "http_req_tls_handshaking",
            "http_req_sending",
            "http_req_waiting",
            "http_req_receiving",
            "group_duration",
        )
    },
}


class SubmetricDecl(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    name: str
    suffix: str = ""
    tags: dict[str, str] = Field(default_factory=dict)


class MetricDecl(BaseModel):
    """A k6 ``Metric`` line: what the metric is and which submetrics the script declared."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    name: str
    type: MetricType
    contains: Literal["default", "time", "data"] = "default"
    thresholds: list[str] = Field(default_factory=list)
    submetrics: list[SubmetricDecl] = Field(default_factory=list)
    declared: bool = True


@dataclass(frozen=True)
class LineProblem:
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


@dataclass
class PointSet:
    """All points read from one file, column-wise; strings are codes into small lists."""

    path: str
    format: Literal["ndjson", "csv"]
    metrics: dict[str, MetricDecl]
    metric_names: list[str]
    metric_code: np.ndarray
    value: np.ndarray
    time_us: np.ndarray
    tags: dict[str, tuple[list[str], np.ndarray]]  # tag -> (values, codes; -1 = tag absent)
    problems: list[LineProblem] = field(default_factory=list)
    skipped_lines: int = 0
    truncated: bool = False
    sha256: str | None = None
    size: int | None = None

    def __len__(self) -> int:
        return len(self.value)

    def metric_mask(self, name: str) -> np.ndarray:
        if name not in self.metric_names:
            return np.zeros(len(self.value), dtype=bool)
        mask: np.ndarray = self.metric_code == self.metric_names.index(name)
        return mask

    def tag_mask(self, key: str, value: str) -> np.ndarray:
        values, codes = self.tags.get(key, ([], np.full(len(self.value), -1, dtype=np.int32)))
        if value not in values:
            return np.zeros(len(self.value), dtype=bool)
        mask: np.ndarray = codes == values.index(value)
        return mask

    @property
    def complete(self) -> bool:
        """True when nothing was skipped or cut off: the only state a gate may pass on."""
        return not self.problems and not self.truncated and self.skipped_lines == 0


_LINE = re.compile(r"line (\d+)")
# DuckDB raises its own errors, or, once rows stream through Arrow, an OSError/ArrowException
_READ_ERRORS = (duckdb.Error, pa.ArrowException, OSError)
BATCH_ROWS = 262_144  # Arrow batch size: bounds the transient memory of each conversion


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(
        config={"threads": 2, "memory_limit": "128MB", "preserve_insertion_order": True}
    )
    return con


def _duck_error(exc: BaseException, path: Path) -> K6InputError:
    text = str(exc).split("\n", 1)[0]
    m = _LINE.search(text)
    reason = text.split(": ", 2)[-1] if ": " in text else text
    return K6InputError(
        f"malformed JSON ({reason.strip()})", path=str(path), line=int(m.group(1)) if m else None
    )


def _ndjson_source(path: Path, tag_keys: Iterable[str]) -> str:
    """DuckDB's strict NDJSON reader: a duplicate key among the keys read is an error. The
    value is read as JSON text so that only a JSON number casts to a double (DuckDB would
    turn ``"1"`` or ``true`` into 1.0)."""
    tags = ", ".join(f"{_ident(k)} VARCHAR" for k in sorted(set(tag_keys))) or '"_none" VARCHAR'
    columns = (
        "{'type': 'VARCHAR', 'metric': 'VARCHAR', "
        f"'data': 'STRUCT(time VARCHAR, value JSON, tags STRUCT({tags.replace(chr(39), chr(39) * 2)}))'}}"
    )
    return (
        f"read_json({_sql_str(str(path))}, format='newline_delimited', columns={columns}, "
        "compression='auto_detect', ignore_errors=false)"
    )


def _declarations(lines: list[bytes], path: Path) -> tuple[list[MetricDecl], bool]:
    """Parse the Metric lines found by the byte scan. One that is not a clean k6 line
    (:func:`line_problem`: e.g. a duplicate key) is not used and left for the exact pass,
    which names its line: the second value says whether there was one."""
    decls = []
    suspect = False
    for raw in lines:
        if line_problem(raw.strip()) is not None:
            suspect = True
            continue
        obj = json.loads(raw)
        if (
            not isinstance(obj, dict)
            or obj.get("type") != "Metric"
            or not isinstance(obj.get("data"), dict)
        ):
            continue  # e.g. a Point whose tags hold the text "type":"Metric"
        payload = dict(obj["data"])
        payload.setdefault("name", obj.get("metric"))
        payload["submetrics"] = payload.get("submetrics") or []
        payload["thresholds"] = payload.get("thresholds") or []
        try:
            decls.append(MetricDecl.model_validate(payload))
        except ValidationError as exc:
            what = payload.get("name")
            raise K6InputError(
                f"invalid Metric line for {what!r} ({validation_message(exc, data=payload)})",
                path=str(path),
            ) from None
    return decls, suspect


def _np(array: pa.Array, dtype: type) -> np.ndarray:
    """A null-free primitive Arrow array as numpy, zero-copy from its data buffer.

    (``Array.to_numpy`` would import pandas, 0.12 s of every command-line run.)"""
    width = np.dtype(dtype).itemsize
    return np.frombuffer(
        array.buffers()[1], dtype=dtype, count=len(array), offset=array.offset * width
    )


ABSENT = (
    "\x1figkit:absent"  # the query turns a missing string into this, so Arrow columns hold no nulls
)


def _encode(column: pa.Array, index: dict[str, int]) -> np.ndarray:
    """String column -> int32 codes into ``index`` (extended in place, insertion-ordered);
    ABSENT -> -1."""
    encoded = pc.dictionary_encode(column)
    local = encoded.dictionary.to_pylist()
    mapping = np.array(
        [-1 if v == ABSENT else index.setdefault(v, len(index)) for v in local], dtype=np.int32
    )
    codes: np.ndarray = mapping[_np(encoded.indices, np.int32)]
    return codes


NO_TIME = np.iinfo(np.int64).min
# the times a datetime can hold (0001-01-01 .. 9999-12-31 UTC); a point outside is malformed
TIME_MIN_US = -62_135_596_800_000_000
TIME_MAX_US = 253_402_300_799_999_999


def _collect(
    reader: pa.RecordBatchReader, tag_keys: list[str], keep_time: bool = True
) -> tuple[
    list[str], np.ndarray, np.ndarray, np.ndarray, dict[str, tuple[list[str], np.ndarray]], int, int
]:
    """Drain record batches into flat numpy columns. Points without value or time are counted
    (``bad``), and so are lines that are neither Point nor Metric (``junk``); neither is kept.
    The query delivers no nulls: ``p`` is 0/1, a missing value is NaN, a missing time NO_TIME."""
    metric_index: dict[str, int] = {}
    tag_index: dict[str, dict[str, int]] = {k: {} for k in tag_keys}
    codes, values, times = [], [], []
    tag_codes: dict[str, list[np.ndarray]] = {k: [] for k in tag_keys}
    bad = junk = 0
    for batch in reader:
        is_point = _np(batch.column("p"), np.int8).astype(bool)
        value = _np(batch.column("v"), np.float64)
        time_us = _np(batch.column("t"), np.int64)
        metric = _encode(batch.column("m"), metric_index)
        ok = (
            is_point
            & (metric >= 0)
            & np.isfinite(value)
            & (time_us >= TIME_MIN_US)
            & (time_us <= TIME_MAX_US)
        )
        junk += int((~is_point).sum())
        bad += int((is_point & ~ok).sum())
        codes.append(metric[ok])
        values.append(value[ok])
        if keep_time:
            times.append(time_us[ok])
        elif ok.any():  # only the run's span is needed: keep first and last, not every time
            kept = time_us[ok]
            times.append(np.array([kept.min(), kept.max()]))
        for i, key in enumerate(tag_keys):
            tag_codes[key].append(_encode(batch.column(f"g{i}"), tag_index[key])[ok])

    reader.close()  # release DuckDB's and Arrow's buffers before the columns are joined

    def cat(parts: list[np.ndarray], dtype: type) -> np.ndarray:
        """Join one column's batches, then drop them: peak memory is one extra column, not all."""
        joined = np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)
        parts.clear()
        return joined

    metric_codes = cat(codes, np.int32)
    value_col = cat(values, np.float64)
    time_col = cat(times, np.int64)
    if not keep_time and len(time_col):
        time_col = np.array([time_col.min(), time_col.max()])
    tags = {k: (list(tag_index[k]), cat(tag_codes[k], np.int32)) for k in tag_keys}
    return list(metric_index), metric_codes, value_col, time_col, tags, bad, junk


class _DuplicateKeyError(ValueError):
    pass


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKeyError(
                    f"duplicate key {key!r} (a reader would silently keep one)"
                )
            seen.add(key)
    return obj


def _constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})")


def _json_kind(value: Any) -> str:
    return {bool: "a boolean", str: "a string", type(None): "null", dict: "an object"}.get(
        type(value), "an array" if isinstance(value, list) else "not finite"
    )


def _finite(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


def line_problem(line: bytes) -> str | None:
    """Why one NDJSON line is not a k6 line igkit may read, or None. Strict JSON (a
    duplicate key at any depth, NaN/Infinity, pathological nesting are refused); a Point
    needs a metric name, a finite JSON number as value, an RFC 3339 time and a tags object
    (as k6 always writes: a damaged key then never passes for a valid line)."""
    try:
        obj = json.loads(line, object_pairs_hook=_unique, parse_constant=_constant)
    except _DuplicateKeyError as exc:
        return str(exc)
    except json.JSONDecodeError as exc:
        return f"malformed JSON ({exc.msg})"
    except RecursionError:
        return "malformed JSON (nested too deeply)"
    except ValueError as exc:  # invalid UTF-8, NaN/Infinity, an integer too long to convert
        return f"malformed JSON ({str(exc)[:80]})"
    if not isinstance(obj, dict) or obj.get("type") not in ("Point", "Metric"):
        return "not a k6 Metric or Point line"
    data = obj.get("data")
    if not isinstance(data, dict):
        return f"k6 {obj['type']} line without a data object"
    if obj["type"] == "Metric":
        return None
    if not isinstance(obj.get("metric"), str):
        return "k6 Point without a metric name"
    value = data.get("value")
    if not _finite(value):
        return f"value is not a finite number ({_json_kind(value)})"
    time = data.get("time")
    if not isinstance(time, str) or not _RFC3339.fullmatch(time):
        return "time is not an RFC 3339 timestamp"
    if not isinstance(data.get("tags"), dict):
        return "Point without a tags object"
    return None


@dataclass
class _Screen:
    """The exact pass over a damaged file: its bad lines, and a copy with them blanked."""

    problems: list[LineProblem]
    count: int
    truncated: bool
    clean: Path
    good: int


def _screen(source: Path, workdir: Path, limit: int = 10) -> _Screen:
    """Slow, exact pass run only when the fast read met something it does not accept: name
    every bad line (:func:`line_problem`) and write ``source`` again with those lines left
    blank, so DuckDB reads exactly the good lines, strictly, with unchanged line numbers.
    (DuckDB's own ``ignore_errors`` would read a duplicate-key line as one of its keys.)"""
    import gzip

    problems: list[LineProblem] = []
    count = good = 0
    truncated = False
    clean = workdir / "screened.json"
    opener = gzip.open if is_gzip(source) else open
    with clean.open("wb") as out:
        try:
            with opener(source, "rb") as fh:
                for number, raw in enumerate(fh, start=1):
                    line = raw.strip()
                    why = line_problem(line) if line else None
                    if why is None:
                        out.write(raw if raw.endswith(b"\n") else raw + b"\n")
                        good += bool(line)
                        continue
                    out.write(b"\n")
                    count += 1
                    if not raw.endswith(b"\n"):
                        truncated = True
                        why = "truncated last line (the file ends mid-line)"
                    if len(problems) < limit:
                        problems.append(LineProblem(number, why))
        except (OSError, EOFError, zlib.error) as exc:
            problems.append(LineProblem(None, f"stream ends early ({exc})"))
            truncated = True
    if count > limit:
        problems.append(LineProblem(None, f"... and {count - limit} more bad lines"))
    return _Screen(problems, count, truncated, clean, good)


@contextmanager
def _readable(path: Path, cut_gzip: bool) -> Iterator[Path]:
    """The file itself, or for a gzip that ends early the part that inflates, in a temp file
    (DuckDB refuses a cut gzip outright; the salvaged prefix lets the rest be counted)."""
    if not cut_gzip:
        yield path
        return
    import tempfile
    import zlib

    with tempfile.TemporaryDirectory(prefix="igkit-k6-") as tmp:
        out = Path(tmp) / path.name.removesuffix(".gz")
        inflater = zlib.decompressobj(wbits=31)
        with out.open("wb") as dst, path.open("rb") as src:
            try:
                while chunk := src.read(1 << 16):
                    dst.write(inflater.decompress(chunk))
                    if inflater.eof and inflater.unused_data:
                        rest = inflater.unused_data
                        inflater = zlib.decompressobj(wbits=31)
                        dst.write(inflater.decompress(rest))
            except zlib.error:
                pass
            dst.write(inflater.flush())
        yield out


def read_points(
    path: Path,
    *,
    metrics: Iterable[str] | None = None,
    tags: Iterable[str] = (),
    strict: bool = False,
    with_digest: bool = False,
    keep_time: bool = True,
) -> PointSet:
    """Read the points of ``metrics`` (all when None) with the tags the declared submetrics
    use plus ``tags``. Raises :class:`K6InputError` for files that are not k6 output, and,
    with ``strict``, for any malformed line. ``keep_time=False`` keeps only the first and
    last point time (``time_us`` then has two entries): enough for k6's statistics."""
    check_file(path)
    fmt = detect_format(path)
    if fmt == "summary":
        raise K6InputError(
            "this is an end-of-test summary, not a point stream (--out json/csv)", path=str(path)
        )
    file_scan = scan(path, with_sha256=with_digest)
    problems: list[LineProblem] = []
    truncated = False
    if file_scan.gzip_complete is False:
        problems.append(LineProblem(None, "gzip stream ends early: the file is cut off"))
        truncated = True
        if strict:
            raise K6InputError("gzip stream ends early: the file is cut off", path=str(path))
    con = _connect()
    try:
        with _readable(path, truncated) as source:
            if fmt == "ndjson":
                declared, suspect = _declarations(file_scan.metric_lines, path)
                result = _read_ndjson(
                    con, source, declared, metrics, tags, strict, problems, keep_time, suspect
                )
            else:
                result = _read_csv(con, source, metrics, tags, strict, problems, keep_time)
    except K6InputError as exc:
        if exc.path != str(path):  # name the user's file, not the salvage copy
            raise K6InputError(str(exc).split(": ", 1)[-1], path=str(path), line=exc.line) from None
        raise
    finally:
        con.close()
    decls, names, codes, values, times, tag_cols, skipped, cut = result
    decls_sha, size = file_scan.sha256, file_scan.size
    return PointSet(
        path=str(path),
        format=fmt,
        metrics=decls,
        metric_names=names,
        metric_code=codes,
        value=values,
        time_us=times,
        tags=tag_cols,
        problems=problems,
        skipped_lines=skipped,
        truncated=truncated or cut,
        sha256=decls_sha,
        size=size,
    )


_Read = tuple[
    dict[str, MetricDecl],
    list[str],
    np.ndarray,
    np.ndarray,
    np.ndarray,
    dict[str, tuple[list[str], np.ndarray]],
    int,
    bool,
]


def _metric_filter(metrics: Iterable[str] | None, *, keep_null: bool = False) -> str:
    """Only the metrics asked for; ``keep_null`` keeps lines without a metric name, so that
    a Point whose ``metric`` key is missing is counted as malformed, not filtered away."""
    if metrics is None:
        return ""
    names = ", ".join(_sql_str(m) for m in sorted(set(metrics)))
    null = " OR metric IS NULL" if keep_null else ""
    return f" AND (metric IN ({names}){null})" if names else f" AND (false{null})"


def _read_ndjson(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    decls: list[MetricDecl],
    metrics: Iterable[str] | None,
    tags: Iterable[str],
    strict: bool,
    problems: list[LineProblem],
    keep_time: bool = True,
    suspect: bool = False,
) -> _Read:
    skipped = 0
    truncated = False
    by_name = {d.name: d for d in decls}
    wanted = None if metrics is None else list(metrics)
    tag_keys = sorted(
        {
            k
            for d in decls
            if wanted is None or d.name in wanted
            for s in d.submetrics
            for k in s.tags
        }
        | set(tags)
    )
    tag_sql = "".join(
        f", COALESCE(data.tags.{_ident(k)}, {_sql_str(ABSENT)}) AS g{i}"
        for i, k in enumerate(tag_keys)
    )

    def query(source: Path) -> str:
        return (
            f"SELECT COALESCE(CAST(type = 'Point' AS TINYINT), 0) AS p, COALESCE(metric, {_sql_str(ABSENT)}) AS m, "
            "CASE WHEN data.tags IS NULL THEN 'NaN'::DOUBLE "  # k6 always writes a tags object
            "ELSE COALESCE(TRY_CAST(CAST(data.value AS VARCHAR) AS DOUBLE), 'NaN'::DOUBLE) END AS v, "
            f"COALESCE(epoch_us(TRY_CAST(data.time AS TIMESTAMPTZ)), {NO_TIME}) AS t{tag_sql} "
            f"FROM {_ndjson_source(source, tag_keys)} "
            f"WHERE type IS DISTINCT FROM 'Metric'{_metric_filter(wanted, keep_null=True)}"
        )

    def read(source: Path) -> tuple[Any, ...]:
        return _collect(con.sql(query(source)).to_arrow_reader(BATCH_ROWS), tag_keys, keep_time)

    try:
        collected = read(path)
        clean = not suspect and collected[5] == 0 and collected[6] == 0  # no bad point/line
    except _READ_ERRORS:
        clean = False
    if not clean:  # name every bad line, then read exactly the others
        import tempfile

        with tempfile.TemporaryDirectory(prefix="igkit-k6-") as tmp:
            screen = _screen(path, Path(tmp))
            if strict and screen.problems:
                if not decls and not screen.good:
                    raise K6InputError(
                        "no k6 Metric or Point lines: not k6 --out json output",
                        path=str(path),
                        line=1,
                    )
                first = screen.problems[0]
                raise K6InputError(first.message, path=str(path), line=first.line)
            problems.extend(screen.problems)
            skipped, truncated = screen.count, screen.truncated
            try:
                collected = read(screen.clean)
            except _READ_ERRORS as again:  # a line Python accepts and DuckDB does not
                raise _duck_error(again, path) from None
    names, codes, values, times, tag_cols, bad_points, junk = collected
    if not decls and not names:
        raise K6InputError(
            "no k6 Metric or Point lines: not k6 --out json output", path=str(path), line=1
        )
    if bad_points or junk:
        message = f"{bad_points + junk} Point lines without a finite numeric value or a valid time"
        if strict:
            raise K6InputError(message, path=str(path))
        problems.append(LineProblem(None, message))
    for name in names:
        if name not in by_name:
            problems.append(LineProblem(None, f"points of {name!r} come without its Metric line"))
            kind, contains = BUILTIN_TYPES.get(name, ("trend", "default"))
            by_name[name] = MetricDecl(name=name, type=kind, contains=contains, declared=False)
    return by_name, names, codes, values, times, tag_cols, skipped + bad_points + junk, truncated


CSV_FIXED_TAGS = (
    "check",
    "error",
    "error_code",
    "expected_response",
    "group",
    "method",
    "name",
    "proto",
    "scenario",
    "service",
    "status",
    "subproto",
    "tls_version",
    "url",
)


def _read_csv(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    metrics: Iterable[str] | None,
    tags: Iterable[str],
    strict: bool,
    problems: list[LineProblem],
    keep_time: bool = True,
) -> _Read:
    """``--out csv``: no Metric declarations (types come from k6's built-ins) and values
    rounded to 6 decimals by k6 — statistics are exact for what the file holds, no more.
    A header naming a column twice is refused: DuckDB would silently read the first."""
    header = [
        c.strip() for c in _head(path).split(b"\n", 1)[0].decode("utf-8", "replace").split(",")
    ]
    twice = sorted({c for c in header if header.count(c) > 1})
    if twice:
        raise K6InputError(
            f"CSV header names column {twice[0]!r} twice (a reader would silently keep one)",
            path=str(path),
            line=1,
        )
    ignore = "false" if strict else "true"
    src = (
        f"read_csv({_sql_str(str(path))}, header=true, all_varchar=true, compression='auto_detect', "
        f"ignore_errors={ignore}, store_rejects={'false' if strict else 'true'})"
    )
    tag_keys = sorted(set(tags))
    parts = []
    for i, key in enumerate(tag_keys):
        if key in CSV_FIXED_TAGS:
            parts.append(f", COALESCE(NULLIF({_ident(key)}, ''), {_sql_str(ABSENT)}) AS g{i}")
        else:
            pattern = _sql_str(f"(?:^|&){re.escape(key)}=([^&]*)")
            parts.append(
                f", COALESCE(NULLIF(regexp_extract(extra_tags, {pattern}, 1), ''), {_sql_str(ABSENT)}) AS g{i}"
            )
    wanted = None if metrics is None else list(metrics)
    query = (
        "SELECT 1::TINYINT AS p, metric_name AS m, COALESCE(TRY_CAST(metric_value AS DOUBLE), 'NaN'::DOUBLE) AS v, "
        "COALESCE(CASE WHEN TRY_CAST(timestamp AS BIGINT) BETWEEN "
        f"{TIME_MIN_US // 1_000_000} AND {TIME_MAX_US // 1_000_000} "
        "THEN TRY_CAST(timestamp AS BIGINT) * 1000000 END, "
        f"epoch_us(TRY_CAST(timestamp AS TIMESTAMPTZ)), {NO_TIME}) AS t"
        f"{''.join(parts)} FROM {src} WHERE metric_name IS NOT NULL"
        + _metric_filter(wanted).replace("metric IN", "metric_name IN")
    )
    try:
        reader = con.sql(query).to_arrow_reader(BATCH_ROWS)
        names, codes, values, times, tag_cols, bad, _ = _collect(reader, tag_keys, keep_time)
        row = None if strict else con.execute("SELECT count(*) FROM reject_errors").fetchone()
        rejected = int(row[0]) if row else 0
    except _READ_ERRORS as exc:
        text = str(exc).split("\n", 1)[0]
        m = _LINE.search(text)
        raise K6InputError(
            f"malformed CSV ({text})", path=str(path), line=int(m.group(1)) if m else None
        ) from None
    if rejected:
        problems.append(LineProblem(None, f"{rejected} malformed CSV rows skipped"))
    if bad:
        problems.append(
            LineProblem(None, f"{bad} CSV rows without a finite numeric value or a valid timestamp")
        )
        if strict:
            raise K6InputError(
                f"{bad} CSV rows without a finite numeric value or a valid timestamp",
                path=str(path),
            )
    if not names:
        raise K6InputError("no k6 samples in this CSV", path=str(path), line=2)
    decls = {}
    for name in names:
        kind, contains = BUILTIN_TYPES.get(name, ("trend", "default"))
        decls[name] = MetricDecl(name=name, type=kind, contains=contains, declared=False)
    return decls, names, codes, values, times, tag_cols, rejected + bad, False


def describe(points: PointSet) -> dict[str, Any]:
    """Provenance of a read, for outputs."""
    return {
        "file": Path(points.path).name,
        "format": points.format,
        "points": len(points),
        "skipped_lines": points.skipped_lines,
        "truncated": points.truncated,
        "problems": [str(p) for p in points.problems],
    }
