"""Statistics computed the way k6 computes them, for every metric and declared submetric.

k6's trend sink sorts its values and interpolates linearly at ``p·(n−1)``; ``avg`` is the
running sum divided by the count; a rate's ``value`` is non-zero samples / samples (k6's
``passes`` are the non-zero ones); a counter's ``count`` is the sum of its samples; a
gauge's ``value`` is its last sample. All groups are computed together: one stable sort of
(group, value), then index arithmetic — no per-point Python.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from igkit.sources.k6.points import MetricDecl, PointSet

TREND_STATS = ("avg", "min", "med", "max", "p(90)", "p(95)", "p(99)", "count")
_THRESHOLD = re.compile(
    r"^\s*(?P<stat>avg|min|max|med|count|rate|value|p\((?P<p>\d+(?:\.\d+)?)\))\s*"
    r"(?P<op><=|>=|===|==|!=|<|>)\s*(?P<num>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$"
)
_OPS = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "==": lambda a, b: a == b,
    "===": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}


@dataclass
class MetricStats:
    key: str  # k6 naming: ``http_req_duration`` or ``http_req_duration{scenario:graphql_reads}``
    type: str
    contains: str
    values: dict[str, float]
    thresholds: dict[str, bool] = field(
        default_factory=dict
    )  # expression -> failed (k6 export shape)
    unparsed_thresholds: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Group:
    key: str
    decl: MetricDecl
    index: np.ndarray  # positions in the point set, file order
    thresholds: tuple[str, ...] = ()


def k6_quantiles(
    sorted_values: np.ndarray, offsets: np.ndarray, counts: np.ndarray, p: float
) -> np.ndarray:
    """k6's ``TrendSink.P`` for many groups laid out back to back in ``sorted_values``."""
    out = np.zeros(len(counts), dtype=np.float64)
    has = counts > 0
    i = p * (counts[has] - 1).astype(np.float64)
    lo = np.floor(i).astype(np.int64)
    hi = np.ceil(i).astype(np.int64)
    base = offsets[has]
    j = sorted_values[base + lo]
    k = sorted_values[base + hi]
    out[has] = j + (k - j) * (i - lo)
    return out


def _threshold_percentiles(groups: list[Group]) -> set[float]:
    found = set()
    for g in groups:
        for expr in g.thresholds:
            m = _THRESHOLD.match(expr)
            if m and m.group("p"):
                found.add(float(m.group("p")))
    return found


def groups_for(points: PointSet, by: str | None = None) -> list[Group]:
    """Every metric, every declared submetric, and (``by``) every metric split by a tag."""
    groups: list[Group] = []
    for name in points.metric_names:
        decl = points.metrics[name]
        base = points.metric_mask(name)
        groups.append(Group(name, decl, np.flatnonzero(base), tuple(decl.thresholds)))
        for sub in decl.submetrics:
            mask = base.copy()
            for key, value in sub.tags.items():
                mask &= points.tag_mask(key, value)
            groups.append(Group(sub.name, decl, np.flatnonzero(mask)))
        if by is not None and by in points.tags:
            values, codes = points.tags[by]
            for code, value in enumerate(values):
                key = f"{name}{{{by}:{value}}}"
                index = np.flatnonzero(base & (codes == code))
                if index.size and not any(g.key == key for g in groups):
                    groups.append(Group(key, decl, index))
    return groups


def compute(
    points: PointSet, groups: list[Group], duration_seconds: float | None = None
) -> list[MetricStats]:
    """Statistics of every group, in k6's ``--summary-export`` shape.

    Groups are processed metric by metric, so peak memory follows the largest metric (with
    its submetrics), not the whole file.
    """
    if duration_seconds is None:
        span_us = float(points.time_us.max() - points.time_us.min()) if len(points) else 0.0
        duration_seconds = span_us / 1e6
    wanted_p = {0.5, 0.9, 0.95, 0.99} | {p / 100 for p in _threshold_percentiles(groups)}
    batches: dict[str, list[int]] = {}
    for n, g in enumerate(groups):
        batches.setdefault(g.decl.name, []).append(n)
    out: dict[int, MetricStats] = {}
    for members in batches.values():
        batch = [groups[n] for n in members]
        for n, stats in zip(
            members, _compute_batch(points, batch, duration_seconds, wanted_p), strict=True
        ):
            out[n] = stats
    return [out[n] for n in range(len(groups))]


def _compute_batch(
    points: PointSet, groups: list[Group], duration_seconds: float, wanted_p: set[float]
) -> list[MetricStats]:
    gid = np.concatenate([np.full(len(g.index), n, dtype=np.int32) for n, g in enumerate(groups)])
    vals = points.value[np.concatenate([g.index for g in groups])]
    n_groups = len(groups)
    counts = np.bincount(gid, minlength=n_groups)
    sums = np.bincount(
        gid, weights=vals, minlength=n_groups
    )  # accumulates in file order, as k6 does
    nonzero = np.bincount(gid, weights=(vals != 0).astype(np.float64), minlength=n_groups)
    order = np.lexsort((vals, gid))
    sorted_vals = vals[order]
    del order
    offsets = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64)
    has = counts > 0
    safe_first = np.where(has, offsets, 0)
    safe_last = np.where(has, offsets + counts - 1, 0)
    empty = len(sorted_vals) == 0
    mins = np.zeros(n_groups) if empty else np.where(has, sorted_vals[safe_first], 0.0)
    maxs = np.zeros(n_groups) if empty else np.where(has, sorted_vals[safe_last], 0.0)
    # gauge "value": the last sample in file order of each group
    last_in_file = np.zeros(n_groups) if empty else np.where(has, vals[safe_last], 0.0)
    quantiles = {p: k6_quantiles(sorted_vals, offsets, counts, p) for p in sorted(wanted_p)}

    out = []
    for n, g in enumerate(groups):
        c = int(counts[n])
        kind = g.decl.type
        values: dict[str, float]
        if kind == "trend":
            values = {
                "avg": float(sums[n] / c) if c else 0.0,
                "min": float(mins[n]),
                "med": float(quantiles[0.5][n]),
                "max": float(maxs[n]),
                "p(90)": float(quantiles[0.9][n]),
                "p(95)": float(quantiles[0.95][n]),
                "p(99)": float(quantiles[0.99][n]),
                "count": float(c),
            }
        elif kind == "rate":
            passes = int(nonzero[n])
            values = {
                "passes": float(passes),
                "fails": float(c - passes),
                "value": passes / c if c else 0.0,
            }
        elif kind == "counter":
            values = {
                "count": float(sums[n]),
                "rate": float(sums[n] / duration_seconds) if duration_seconds else 0.0,
            }
        else:
            values = {"value": float(last_in_file[n]), "min": float(mins[n]), "max": float(maxs[n])}
        stats = MetricStats(g.key, kind, g.decl.contains, values)
        for expr in g.thresholds:
            m = _THRESHOLD.match(expr)
            if not m:
                stats.unparsed_thresholds.append(expr)
                continue
            stat = m.group("stat")
            if m.group("p"):
                observed = float(quantiles[float(m.group("p")) / 100][n])
            else:
                key = "value" if stat == "rate" and kind == "rate" else stat
                if key not in values:
                    stats.unparsed_thresholds.append(expr)
                    continue
                observed = values[key]
            stats.thresholds[expr] = not _OPS[m.group("op")](observed, float(m.group("num")))
        out.append(stats)
    return out


def summary_export(stats: list[MetricStats]) -> dict[str, Any]:
    """``{"metrics": {...}}`` exactly as k6's ``--summary-export`` lays it out."""
    metrics: dict[str, object] = {}
    for s in stats:
        entry: dict[str, object] = {}
        for k, v in s.values.items():
            entry[k] = int(v) if k in ("count", "passes", "fails") and s.type != "counter" else v
        if s.type == "counter":
            entry["count"] = (
                int(s.values["count"])
                if float(s.values["count"]).is_integer()
                else s.values["count"]
            )
        if s.thresholds:
            entry["thresholds"] = dict(s.thresholds)
        metrics[s.key] = entry
    return {"metrics": metrics}
