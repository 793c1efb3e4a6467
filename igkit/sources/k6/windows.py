"""Cut a k6 run into windows per scenario: the table G5 judges, stored as a snapshot.

Windows start at the run's first point and last ``window`` each; the remainder shorter
than a window is folded into the last one, so a run's tail never makes a thin window of
its own. Per (scenario, window): latency samples and their p95 (k6's interpolation), and
requests and failed requests from ``http_req_failed``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from igkit.errors import IgkitError
from igkit.snapshots import (
    K6Params,
    K6Snapshot,
    K6SummarySnapshot,
    K6Table,
    K6Threshold,
    K6Window,
    canonical_sha256,
    k6_snapshot_id,
    params_for,
)
from igkit.sources.k6.files import K6InputError, digest
from igkit.sources.k6.points import TIME_MAX_US, TIME_MIN_US, PointSet, read_points
from igkit.sources.k6.stats import k6_quantiles
from igkit.sources.k6.summary import K6Summary, read_summary
from igkit.spec.models import K6Settings

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _dt(us: float) -> datetime:
    """Microseconds since the epoch, exact, clamped to what a datetime holds."""
    return _EPOCH + timedelta(microseconds=int(min(max(us, TIME_MIN_US), TIME_MAX_US)))


def _span(seconds: int) -> str:
    """A long span in the largest whole unit: ``365 days``, ``3 hours``, ``12 minutes``."""
    for unit, size in (("days", 86_400), ("hours", 3_600), ("minutes", 60)):
        if seconds >= 2 * size:
            return f"{seconds // size:,} {unit}"
    return f"{seconds} seconds"


def _iso(us: int) -> str:
    return _dt(us).isoformat(sep=" ", timespec="seconds").removesuffix("+00:00")


class SpanError(IgkitError):
    """The points span more windows than ``k6.max_windows``: the table is NO_DATA."""


def _tables(
    points: PointSet, params: K6Params, max_windows: int, min_samples: int = 1
) -> tuple[dict[str, K6Table], K6Table | None, int, int]:
    """The window table of every scenario and of all requests.

    A scenario with fewer than ``min_samples`` points per window on average of both metrics
    can never have every window judged: it is stored whole-run only (no windows), so the
    table holds at most points / ``min_samples`` scenario windows - a file with thousands
    of distinct scenario values cannot allocate scenarios x windows cells."""
    lat = points.metric_mask(params.latency_metric)
    fail = points.metric_mask(params.failed_metric)
    used = lat | fail
    if not used.any():
        return {}, None, 0, 0
    t = points.time_us
    t0, t1 = int(t[used].min()), int(t[used].max())
    w = int(params.window_seconds * 1e6)
    n_win = max(1, (t1 - t0) // w)  # Python ints: no overflow, and checked before allocating
    if n_win > max_windows:
        raise SpanError(
            f"timestamps span {_span((t1 - t0) // 1_000_000)}: damaged or mixed file "
            f"({_iso(t0)} to {_iso(t1)} UTC, "
            f"{n_win:,} windows > k6.max_windows {max_windows:,})"
        )
    widx = np.minimum((t - t0) // w, n_win - 1)
    decl = points.metrics.get(params.latency_metric)
    scale = 1e-3 if decl is None or decl.contains == "time" else 1.0  # k6 time metrics are ms
    names, codes = points.tags.get(
        params.scenario_tag, ([], np.full(len(points), -1, dtype=np.int32))
    )
    raw = np.where(codes >= 0, codes, -1).astype(np.int64)
    n_names = len(names)
    sel_lat, sel_fail = lat & (raw >= 0), fail & (raw >= 0)
    lat_total = np.bincount(raw[sel_lat], minlength=n_names)
    fail_total = np.bincount(raw[sel_fail], minlength=n_names)
    failed_total = np.bincount(
        raw[sel_fail], weights=(points.value[sel_fail] != 0).astype(np.float64), minlength=n_names
    ).astype(np.int64)
    windowed = (lat_total >= min_samples * n_win) | (fail_total >= min_samples * n_win)
    slot_of = np.full(n_names, -1, dtype=np.int64)
    slot_of[windowed] = np.arange(int(windowed.sum()))
    n_scen = int(windowed.sum()) + 1  # the last slot collects every request ("all")
    all_slot = n_scen - 1

    def table(mask: np.ndarray, scen: np.ndarray) -> tuple[np.ndarray, ...]:
        """Per (scenario, window) and per scenario: counts and p95s of latency; requests/failed."""
        groups = scen * n_win + widx
        # both the per-scenario rows and the "all" row: duplicate index sets
        g_lat = np.concatenate(
            [groups[mask & lat & (scen >= 0)], all_slot * n_win + widx[mask & lat]]
        )
        v_lat = (
            np.concatenate([points.value[mask & lat & (scen >= 0)], points.value[mask & lat]])
            * scale
        )
        size = n_scen * n_win
        counts = np.bincount(g_lat, minlength=size)
        order = np.lexsort((v_lat, g_lat))
        offsets = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64)
        p95 = k6_quantiles(v_lat[order], offsets, counts, 0.95)
        whole_g = g_lat // n_win
        whole_counts = np.bincount(whole_g, minlength=n_scen)
        whole_order = np.lexsort((v_lat, whole_g))
        whole_offsets = np.concatenate(([0], np.cumsum(whole_counts)[:-1])).astype(np.int64)
        whole_p95 = k6_quantiles(v_lat[whole_order], whole_offsets, whole_counts, 0.95)
        g_f = np.concatenate(
            [groups[mask & fail & (scen >= 0)], all_slot * n_win + widx[mask & fail]]
        )
        f_val = np.concatenate([points.value[mask & fail & (scen >= 0)], points.value[mask & fail]])
        requests = np.bincount(g_f, minlength=size)
        failed = np.bincount(g_f, weights=(f_val != 0).astype(np.float64), minlength=size).astype(
            np.int64
        )
        return counts, p95, whole_counts, whole_p95, requests, failed

    scen = np.where(raw >= 0, slot_of[np.maximum(raw, 0)] if n_names else -1, -1)
    counts, p95, whole_counts, whole_p95, requests, failed = table(
        np.ones(len(points), dtype=bool), scen
    )
    bounds = [
        (t0 + i * w, t0 + (i + 1) * w if i < n_win - 1 else max(t1, t0 + (i + 1) * w))
        for i in range(n_win)
    ]

    def build(slot: int) -> K6Table:
        rows = range(slot * n_win, (slot + 1) * n_win)
        return K6Table(
            latency_samples=int(whole_counts[slot]),
            p95_seconds=float(whole_p95[slot]) if whole_counts[slot] else None,
            requests=int(requests[rows.start : rows.stop].sum()),
            failed=int(failed[rows.start : rows.stop].sum()),
            windows=[
                K6Window(
                    start=_dt(bounds[i][0]),
                    end=_dt(bounds[i][1]),
                    latency_samples=int(counts[r]),
                    p95_seconds=float(p95[r]) if counts[r] else None,
                    requests=int(requests[r]),
                    failed=int(failed[r]),
                )
                for i, r in enumerate(rows)
            ],
        )

    lat_values = points.value[sel_lat] * scale
    lat_order = np.lexsort((lat_values, raw[sel_lat]))
    lat_offsets = np.concatenate(([0], np.cumsum(lat_total)[:-1])).astype(np.int64)
    sparse_p95 = k6_quantiles(lat_values[lat_order], lat_offsets, lat_total, 0.95)

    def whole_only(i: int) -> K6Table:
        return K6Table(
            latency_samples=int(lat_total[i]),
            p95_seconds=float(sparse_p95[i]) if lat_total[i] else None,
            requests=int(fail_total[i]),
            failed=int(failed_total[i]),
            windows=[],
        )

    scenarios = {
        name: build(int(slot_of[i])) if windowed[i] else whole_only(i)
        for i, name in enumerate(names)
    }
    return scenarios, build(all_slot), t0, t1


def k6_snapshot(
    path: Path,
    settings: K6Settings,
    *,
    strict: bool = False,
    unreadable: K6InputError | None = None,
) -> K6Snapshot:
    """Read one k6 points file into its window table; an unreadable file (or ``unreadable``,
    the error of a summary that could not be read) is an error snapshot."""
    params = params_for(settings)
    now = datetime.now(tz=UTC).replace(microsecond=0)
    name = path.name
    try:
        if unreadable is not None:
            raise unreadable
        points = read_points(
            path,
            metrics=[params.latency_metric, params.failed_metric],
            tags=[params.scenario_tag],
            strict=strict,
            with_digest=True,
        )
    except K6InputError as exc:
        try:
            d = digest(path) if path.is_file() else None
        except OSError:
            d = None
        sha = d.sha256 if d else None
        return K6Snapshot(
            id=k6_snapshot_id(name, sha, params),
            file=name,
            file_sha256=sha,
            file_bytes=d.size if d else None,
            format=None,
            captured_at=now,
            params=params,
            status="error",
            error=str(exc).replace(str(path), name),
        ).sealed()
    read: dict[str, Any] = {
        "id": k6_snapshot_id(name, points.sha256, params),
        "file": name,
        "file_sha256": points.sha256,
        "file_bytes": points.size,
        "format": points.format,
        "captured_at": now,
        "params": params,
        "points": len(points),
        "skipped_lines": points.skipped_lines,
        "truncated": points.truncated,
        "problems": [str(p) for p in points.problems],
    }
    try:
        scenarios, overall, t0, t1 = _tables(
            points, params, settings.max_windows, settings.min_samples_per_window
        )
    except SpanError as exc:
        return K6Snapshot(status="no_data", error=str(exc), **read).sealed()
    return K6Snapshot(
        status="success",
        **read,
        run_start=_dt(t0) if overall else None,
        run_end=_dt(t1) if overall else None,
        scenarios=scenarios,
        overall=overall,
    ).sealed()


def summary_snapshot(path: Path, summary: K6Summary | None = None) -> K6SummarySnapshot:
    summary = summary or read_summary(path)
    sha = digest(path).sha256
    thresholds = [
        K6Threshold(metric=metric, expression=expr, ok=ok)
        for metric, sm in sorted(summary.metrics.items())
        for expr, ok in sorted(sm.thresholds.items())
    ]
    return K6SummarySnapshot(
        id=canonical_sha256({"file": path.name, "sha256": sha})[:16],
        file=path.name,
        file_sha256=sha,
        summary_kind=summary.kind,
        captured_at=datetime.now(tz=UTC).replace(microsecond=0),
        duration_seconds=summary.duration_seconds,
        passed=summary.passed,
        thresholds=thresholds,
    ).sealed()


def capture(
    paths: Iterable[Path], settings: K6Settings, *, strict: bool = False
) -> list[K6Snapshot | K6SummarySnapshot]:
    """Snapshot every ``--k6`` file: point streams as window tables, summaries as thresholds."""
    from igkit.sources.k6.files import detect_format

    out: list[K6Snapshot | K6SummarySnapshot] = []
    for path in paths:
        try:
            kind = detect_format(path)
        except K6InputError:
            kind = "ndjson"  # k6_snapshot records the error
        if kind == "summary":
            try:
                out.append(summary_snapshot(path))
            except K6InputError as exc:  # recorded with its own reason (e.g. a duplicate key)
                out.append(k6_snapshot(path, settings, unreadable=exc))
            continue
        out.append(k6_snapshot(path, settings, strict=strict))
    return out
