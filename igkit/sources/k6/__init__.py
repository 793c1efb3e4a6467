"""k6 result files: ``--out json`` NDJSON, ``--out csv``, and end-of-test summaries."""

from igkit.sources.k6.files import K6InputError, detect_format
from igkit.sources.k6.points import MetricDecl, PointSet, read_points
from igkit.sources.k6.summary import K6Summary, read_summary

__all__ = [
    "K6InputError",
    "K6Summary",
    "MetricDecl",
    "PointSet",
    "detect_format",
    "read_points",
    "read_summary",
]
