"""``igkit k6 summarize``: k6-exact statistics of a file, as k6's JSON or a table."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from igkit.sources.k6.files import detect_format
from igkit.sources.k6.points import describe, read_points
from igkit.sources.k6.stats import MetricStats, compute, groups_for, summary_export
from igkit.sources.k6.summary import read_summary


@dataclass
class SummarizeResult:
    export: dict[str, Any]
    stats: list[MetricStats] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def summarize_file(path: Path, *, by: str | None = None, strict: bool = False) -> SummarizeResult:
    """k6's statistics for every metric and declared submetric of a points file; a summary
    file is normalised to the same shape."""
    if detect_format(path) == "summary":
        summary = read_summary(path)
        metrics: dict[str, Any] = {}
        for name, m in summary.metrics.items():
            entry: dict[str, Any] = dict(m.values)
            if m.thresholds:
                entry["thresholds"] = {e: not ok for e, ok in m.thresholds.items()}
            metrics[name] = entry
        return SummarizeResult(
            {"metrics": metrics, "igkit": {"file": path.name, "format": summary.kind}}
        )
    points = read_points(path, tags=[by] if by else (), strict=strict, keep_time=False)
    stats = compute(points, groups_for(points, by))
    export = summary_export(stats)
    export["igkit"] = describe(points)
    problems = [str(p) for p in points.problems]
    for s in stats:
        problems += [
            f"{s.key}: threshold {e!r} not understood, not evaluated" for e in s.unparsed_thresholds
        ]
    return SummarizeResult(export, stats, problems)


def _num(v: float) -> str:
    return f"{v:.6g}" if abs(v) < 1e6 else f"{v:,.0f}"


def render_summary(result: SummarizeResult) -> str:
    if not result.stats:
        lines = []
        for name, values in sorted(result.export["metrics"].items()):
            shown = ", ".join(f"{k}={_num(v)}" for k, v in values.items() if k != "thresholds")
            lines.append(f"{name:<55} {shown}")
        return "\n".join(lines)
    width = max(len(s.key) for s in result.stats)
    lines = []
    for s in sorted(result.stats, key=lambda s: s.key):
        unit = "ms" if s.contains == "time" else ""
        shown = "  ".join(
            f"{k}={_num(v)}{unit if k not in ('count', 'passes', 'fails', 'rate', 'value') or (s.type != 'rate' and k == 'value' and unit) else ''}"
            for k, v in s.values.items()
        )
        marks = "".join(
            f"  {'✗' if failed else '✓'} {expr}" for expr, failed in s.thresholds.items()
        )
        lines.append(f"{s.key:<{width}}  {s.type:<7}  {shown}{marks}")
    info = result.export.get("igkit", {})
    lines.append(
        f"\n{info.get('file')}: {info.get('points', 0):,} points, {info.get('skipped_lines', 0)} skipped lines"
        + (", TRUNCATED" if info.get("truncated") else "")
    )
    return "\n".join(lines)
