"""DuckDB and Arrow plumbing shared by the NDJSON and CSV readers: SQL quoting, the
connection, record batches drained into flat numpy columns."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from igkit.sources.k6.files import K6InputError
from igkit.sources.k6.pointset import ABSENT, TIME_MAX_US, TIME_MIN_US

LINE_NUMBER = re.compile(r"line (\d+)")
# DuckDB raises its own errors, or, once rows stream through Arrow, an OSError/ArrowException
READ_ERRORS = (duckdb.Error, pa.ArrowException, OSError)
BATCH_ROWS = 262_144  # Arrow batch size: bounds the transient memory of each conversion


def sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def ident(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(
        config={"threads": 2, "memory_limit": "128MB", "preserve_insertion_order": True}
    )
    return con


def duck_error(exc: BaseException, path: Path) -> K6InputError:
    text = str(exc).split("\n", 1)[0]
    m = LINE_NUMBER.search(text)
    reason = text.split(": ", 2)[-1] if ": " in text else text
    return K6InputError(
        f"malformed JSON ({reason.strip()})", path=str(path), line=int(m.group(1)) if m else None
    )


def to_numpy(array: pa.Array, dtype: type) -> np.ndarray:
    """A null-free primitive Arrow array as numpy, zero-copy from its data buffer.

    (``Array.to_numpy`` would import pandas, 0.12 s of every command-line run.)"""
    width = np.dtype(dtype).itemsize
    return np.frombuffer(
        array.buffers()[1], dtype=dtype, count=len(array), offset=array.offset * width
    )


def encode_strings(column: pa.Array, index: dict[str, int]) -> np.ndarray:
    """String column -> int32 codes into ``index`` (extended in place, insertion-ordered);
    ABSENT -> -1."""
    encoded = pc.dictionary_encode(column)
    local = encoded.dictionary.to_pylist()
    mapping = np.array(
        [-1 if v == ABSENT else index.setdefault(v, len(index)) for v in local], dtype=np.int32
    )
    codes: np.ndarray = mapping[to_numpy(encoded.indices, np.int32)]
    return codes


@dataclass(frozen=True)
class Columns:
    """Record batches drained into flat columns; ``bad`` Points (no finite value or valid
    time) and ``junk`` lines (neither Point nor Metric) were counted, not kept."""

    metric_names: list[str]
    metric_code: np.ndarray
    value: np.ndarray
    time_us: np.ndarray
    tags: dict[str, tuple[list[str], np.ndarray]]
    bad: int
    junk: int


def collect(reader: pa.RecordBatchReader, tag_keys: list[str], keep_time: bool = True) -> Columns:
    """Drain record batches into flat numpy columns. Points without value or time are counted
    (``bad``), and so are lines that are neither Point nor Metric (``junk``); neither is kept.
    The query delivers no nulls: ``p`` is 0/1, a missing value is NaN, a missing time NO_TIME."""
    metric_index: dict[str, int] = {}
    tag_index: dict[str, dict[str, int]] = {k: {} for k in tag_keys}
    codes, values, times = [], [], []
    tag_codes: dict[str, list[np.ndarray]] = {k: [] for k in tag_keys}
    bad = junk = 0
    for batch in reader:
        is_point = to_numpy(batch.column("p"), np.int8).astype(bool)
        value = to_numpy(batch.column("v"), np.float64)
        time_us = to_numpy(batch.column("t"), np.int64)
        metric = encode_strings(batch.column("m"), metric_index)
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
            tag_codes[key].append(encode_strings(batch.column(f"g{i}"), tag_index[key])[ok])

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
    return Columns(list(metric_index), metric_codes, value_col, time_col, tags, bad, junk)


def metric_filter(metrics: Iterable[str] | None, *, keep_null: bool = False) -> str:
    """Only the metrics asked for; ``keep_null`` keeps lines without a metric name and lines
    that are no Point (a damaged ``type`` key), so that they are counted as malformed, not
    filtered away because they name a metric nobody judges."""
    if metrics is None:
        return ""
    names = ", ".join(sql_str(m) for m in sorted(set(metrics)))
    null = " OR metric IS NULL OR type IS DISTINCT FROM 'Point'" if keep_null else ""
    return f" AND (metric IN ({names}){null})" if names else f" AND (false{null})"
