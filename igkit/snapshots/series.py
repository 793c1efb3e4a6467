"""Prometheus range results: strict validation of what a server (or a forged snapshot) says,
injective series keys, and the long/wide frames the judge reads."""

from __future__ import annotations

import json
import math
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import chain
from typing import TYPE_CHECKING, Any

import numpy as np

from igkit.errors import SnapshotError
from igkit.strictdoc import DocumentError, load_json

if TYPE_CHECKING:
    import pandas as pd

from igkit.snapshots.models import RangeResult, Snapshot, no_cyclic_gc

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
    if len(text) <= 40:
        return repr(text)
    return f"{text[:40]!r} [+{len(text) - 40} characters]"


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


_DECODING = threading.Lock()


def parse_query_range_body(raw: bytes) -> tuple[list[Any], list[str]]:
    """A ``/api/v1/query_range`` success body -> (validated result, warnings).

    Duplicate keys anywhere (a label given twice in ``metric``), non-standard numbers and
    pathological nesting are refused by the strict parser; the envelope and every series are
    then checked by the same validator the judge uses.

    One body at a time: the work is pure Python under the GIL, so concurrent fetches gain
    nothing by decoding together, while each decode briefly needs several times the body's
    size (text, tree, validation arrays)."""
    with _DECODING:
        return _parse_query_range_body(raw)


def read_query_range_body(raw: bytes) -> tuple[RangeResult, list[str]]:
    """As :func:`parse_query_range_body`, but the result comes back as its canonical JSON
    (:class:`RangeResult`), made under the same lock: at most one answer's parsed tree exists
    at a time, however many fetches run (the tree is ~8x the size of its canonical bytes)."""
    with _DECODING:
        result, warnings = _parse_query_range_body(raw)
        try:
            return RangeResult.of(result), warnings
        except ValueError as exc:  # e.g. a label holding a lone surrogate
            raise ResultError(f"result has no canonical JSON ({str(exc)[:80]})") from None


def _parse_query_range_body(raw: bytes) -> tuple[list[Any], list[str]]:
    try:
        with no_cyclic_gc():
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
    assert isinstance(result, list)  # parse_range_result refuses anything else
    return result, notes["warnings"]


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
