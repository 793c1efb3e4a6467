"""``k6 --out json`` (NDJSON): Metric declarations and Points, read by DuckDB with an
explicit schema; a damaged file is screened line by line and its good lines read exactly."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import duckdb
from pydantic import ValidationError

from igkit.sources.k6.arrow import (
    BATCH_ROWS,
    READ_ERRORS,
    Columns,
    collect,
    duck_error,
    ident,
    metric_filter,
    sql_str,
)
from igkit.sources.k6.files import K6InputError
from igkit.sources.k6.lines import line_problem, screen_lines
from igkit.sources.k6.pointset import (
    ABSENT,
    BUILTIN_TYPES,
    NO_TIME,
    LineProblem,
    MetricDecl,
    ReadResult,
)
from igkit.strictdoc import validation_message


def ndjson_source(path: Path, tag_keys: Iterable[str]) -> str:
    """DuckDB's strict NDJSON reader: a duplicate key among the keys read is an error. The
    value is read as JSON text so that only a JSON number casts to a double (DuckDB would
    turn ``"1"`` or ``true`` into 1.0)."""
    tags = ", ".join(f"{ident(k)} VARCHAR" for k in sorted(set(tag_keys))) or '"_none" VARCHAR'
    columns = (
        "{'type': 'VARCHAR', 'metric': 'VARCHAR', "
        f"'data': 'STRUCT(time VARCHAR, value JSON, tags STRUCT({tags.replace(chr(39), chr(39) * 2)}))'}}"
    )
    return (
        f"read_json({sql_str(str(path))}, format='newline_delimited', columns={columns}, "
        "compression='auto_detect', ignore_errors=false)"
    )


def declarations(lines: list[bytes], path: Path) -> tuple[list[MetricDecl], bool]:
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


def read_ndjson(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    decls: list[MetricDecl],
    metrics: Iterable[str] | None,
    tags: Iterable[str],
    strict: bool,
    problems: list[LineProblem],
    keep_time: bool = True,
    suspect: bool = False,
) -> ReadResult:
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
        f", COALESCE(data.tags.{ident(k)}, {sql_str(ABSENT)}) AS g{i}"
        for i, k in enumerate(tag_keys)
    )

    def query(source: Path) -> str:
        return (
            f"SELECT COALESCE(CAST(type = 'Point' AS TINYINT), 0) AS p, COALESCE(metric, {sql_str(ABSENT)}) AS m, "
            "CASE WHEN data.tags IS NULL THEN 'NaN'::DOUBLE "  # k6 always writes a tags object
            "ELSE COALESCE(TRY_CAST(CAST(data.value AS VARCHAR) AS DOUBLE), 'NaN'::DOUBLE) END AS v, "
            f"COALESCE(epoch_us(TRY_CAST(data.time AS TIMESTAMPTZ)), {NO_TIME}) AS t{tag_sql} "
            f"FROM {ndjson_source(source, tag_keys)} "
            f"WHERE type IS DISTINCT FROM 'Metric'{metric_filter(wanted, keep_null=True)}"
        )

    def read(source: Path) -> Columns:
        return collect(con.sql(query(source)).to_arrow_reader(BATCH_ROWS), tag_keys, keep_time)

    try:
        collected = read(path)
        clean = not suspect and collected.bad == 0 and collected.junk == 0
    except READ_ERRORS:
        clean = False
    if not clean:  # name every bad line, then read exactly the others
        import tempfile

        with tempfile.TemporaryDirectory(prefix="igkit-k6-") as tmp:
            screen = screen_lines(path, Path(tmp))
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
            except READ_ERRORS as again:  # a line Python accepts and DuckDB does not
                raise duck_error(again, path) from None
    names, bad_points, junk = collected.metric_names, collected.bad, collected.junk
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
    return ReadResult(
        metrics=by_name,
        metric_names=names,
        metric_code=collected.metric_code,
        value=collected.value,
        time_us=collected.time_us,
        tags=collected.tags,
        skipped=skipped + bad_points + junk,
        truncated=truncated,
    )
