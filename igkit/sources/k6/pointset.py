"""The points of one k6 file, column-wise (:class:`PointSet`), what a metric is
(:class:`MetricDecl`), and the bounds of a point's time."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

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


ABSENT = (
    "\x1figkit:absent"  # the query turns a missing string into this, so Arrow columns hold no nulls
)


NO_TIME = np.iinfo(np.int64).min
# the times a datetime can hold (0001-01-01 .. 9999-12-31 UTC); a point outside is malformed
TIME_MIN_US = -62_135_596_800_000_000
TIME_MAX_US = 253_402_300_799_999_999


@dataclass(frozen=True)
class ReadResult:
    """What a format reader returns to :func:`~igkit.sources.k6.points.read_points`."""

    metrics: dict[str, MetricDecl]
    metric_names: list[str]
    metric_code: np.ndarray
    value: np.ndarray
    time_us: np.ndarray
    tags: dict[str, tuple[list[str], np.ndarray]]
    skipped: int
    truncated: bool


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
