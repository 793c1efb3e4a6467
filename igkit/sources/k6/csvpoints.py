"""``k6 --out csv``: no Metric declarations (types from k6's built-ins), read by DuckDB."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import duckdb

from igkit.sources.k6.arrow import (
    BATCH_ROWS,
    LINE_NUMBER,
    READ_ERRORS,
    collect,
    ident,
    metric_filter,
    sql_str,
)
from igkit.sources.k6.files import K6InputError, _head
from igkit.sources.k6.pointset import (
    ABSENT,
    BUILTIN_TYPES,
    NO_TIME,
    TIME_MAX_US,
    TIME_MIN_US,
    LineProblem,
    MetricDecl,
    ReadResult,
)

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


def read_csv(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    metrics: Iterable[str] | None,
    tags: Iterable[str],
    strict: bool,
    problems: list[LineProblem],
    keep_time: bool = True,
) -> ReadResult:
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
        f"read_csv({sql_str(str(path))}, header=true, all_varchar=true, compression='auto_detect', "
        f"ignore_errors={ignore}, store_rejects={'false' if strict else 'true'})"
    )
    tag_keys = sorted(set(tags))
    parts = []
    for i, key in enumerate(tag_keys):
        if key in CSV_FIXED_TAGS:
            parts.append(f", COALESCE(NULLIF({ident(key)}, ''), {sql_str(ABSENT)}) AS g{i}")
        else:
            pattern = sql_str(f"(?:^|&){re.escape(key)}=([^&]*)")
            parts.append(
                f", COALESCE(NULLIF(regexp_extract(extra_tags, {pattern}, 1), ''), {sql_str(ABSENT)}) AS g{i}"
            )
    wanted = None if metrics is None else list(metrics)
    query = (
        "SELECT 1::TINYINT AS p, metric_name AS m, COALESCE(TRY_CAST(metric_value AS DOUBLE), 'NaN'::DOUBLE) AS v, "
        "COALESCE(CASE WHEN TRY_CAST(timestamp AS BIGINT) BETWEEN "
        f"{TIME_MIN_US // 1_000_000} AND {TIME_MAX_US // 1_000_000} "
        "THEN TRY_CAST(timestamp AS BIGINT) * 1000000 END, "
        f"epoch_us(TRY_CAST(timestamp AS TIMESTAMPTZ)), {NO_TIME}) AS t"
        f"{''.join(parts)} FROM {src} WHERE metric_name IS NOT NULL"
        + metric_filter(wanted).replace("metric IN", "metric_name IN")
    )
    try:
        reader = con.sql(query).to_arrow_reader(BATCH_ROWS)
        cols = collect(reader, tag_keys, keep_time)
        names, bad = cols.metric_names, cols.bad
        row = None if strict else con.execute("SELECT count(*) FROM reject_errors").fetchone()
        rejected = int(row[0]) if row else 0
    except READ_ERRORS as exc:
        text = str(exc).split("\n", 1)[0]
        m = LINE_NUMBER.search(text)
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
    return ReadResult(
        metrics=decls,
        metric_names=names,
        metric_code=cols.metric_code,
        value=cols.value,
        time_us=cols.time_us,
        tags=cols.tags,
        skipped=rejected + bad,
        truncated=False,
    )
