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

Modules: :mod:`.pointset` (the model), :mod:`.ndjson` and :mod:`.csvpoints` (the two
formats), :mod:`.arrow` (DuckDB/Arrow plumbing), :mod:`.lines` (the exact line screen).
"""

from __future__ import annotations

__all__ = ["TIME_MAX_US", "TIME_MIN_US", "MetricDecl", "PointSet", "describe", "read_points"]
from collections.abc import Iterable
from pathlib import Path

from igkit.sources.k6.arrow import connect
from igkit.sources.k6.csvpoints import read_csv
from igkit.sources.k6.files import K6InputError, check_file, detect_format, scan
from igkit.sources.k6.lines import readable
from igkit.sources.k6.ndjson import declarations, read_ndjson
from igkit.sources.k6.pointset import (
    TIME_MAX_US,
    TIME_MIN_US,
    LineProblem,
    MetricDecl,
    PointSet,
    describe,
)


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
    con = connect()
    try:
        with readable(path, truncated) as source:
            if fmt == "ndjson":
                declared, suspect = declarations(file_scan.metric_lines, path)
                result = read_ndjson(
                    con, source, declared, metrics, tags, strict, problems, keep_time, suspect
                )
            else:
                result = read_csv(con, source, metrics, tags, strict, problems, keep_time)
    except K6InputError as exc:
        if exc.path != str(path):  # name the user's file, not the salvage copy
            raise K6InputError(str(exc).split(": ", 1)[-1], path=str(path), line=exc.line) from None
        raise
    finally:
        con.close()
    return PointSet(
        path=str(path),
        format=fmt,
        metrics=result.metrics,
        metric_names=result.metric_names,
        metric_code=result.metric_code,
        value=result.value,
        time_us=result.time_us,
        tags=result.tags,
        problems=problems,
        skipped_lines=result.skipped,
        truncated=truncated or result.truncated,
        sha256=file_scan.sha256,
        size=file_scan.size,
    )
