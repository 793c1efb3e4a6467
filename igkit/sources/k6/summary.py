"""k6 end-of-test summaries, normalised: ``--summary-export`` (legacy), the ``handleSummary``
data object, and the machine-readable summary schema ``1.0.0``.

Threshold results are normalised to ``ok`` (True = the threshold held). Beware the legacy
export's inversion: there ``"p(95)<350": true`` means the threshold *failed*.
"""

from __future__ import annotations

import gzip
import math
import zlib
from pathlib import Path
from typing import Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field

from igkit.sources.k6.files import K6InputError, check_file
from igkit.strictdoc import DocumentError, load_json

SummaryKind = Literal["summary-export", "handle-summary", "machine-readable-1"]
MetricKind = Literal["counter", "gauge", "rate", "trend"]


class SummaryMetric(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["counter", "gauge", "rate", "trend"] | None
    values: dict[str, float]
    thresholds: dict[str, bool] = Field(default_factory=dict, description="expression -> ok")


class K6Summary(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: SummaryKind
    file: str
    metrics: dict[str, SummaryMetric]
    duration_seconds: float | None = None
    passed: bool | None = None

    def failed_thresholds(self) -> list[tuple[str, str]]:
        return [
            (m, expr)
            for m, sm in self.metrics.items()
            for expr, ok in sm.thresholds.items()
            if not ok
        ]


def _infer_type(values: dict[str, Any]) -> Literal["counter", "gauge", "rate", "trend"] | None:
    if "passes" in values or "fails" in values:
        return "rate"
    if any(k.startswith("p(") for k in values) or "avg" in values or "med" in values:
        return "trend"
    if "count" in values and "rate" in values:
        return "counter"
    if "value" in values and "min" in values:
        return "gauge"
    return None


def _numbers(values: Any, where: str, path: Path) -> dict[str, float]:
    if not isinstance(values, dict):
        raise K6InputError(f"{where}: expected an object of statistics", path=str(path))
    out = {}
    for key, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise K6InputError(
                f"{where}.{key}: expected a number, got {type(value).__name__}", path=str(path)
            )
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            raise K6InputError(f"{where}.{key}: not a finite number", path=str(path))
        out[key] = number
    return out


def _object(value: Any, where: str, path: Path) -> dict[str, Any]:
    """``value`` when it is an object, ``{}`` when absent (null); anything else is refused."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise K6InputError(f"{where}: expected an object", path=str(path))
    return value


def _kind(value: Any, where: str, path: Path) -> MetricKind | None:
    if value is None or value in ("counter", "gauge", "rate", "trend"):
        return cast(MetricKind | None, value)
    raise K6InputError(f"{where}: unknown metric type {str(value)[:40]!r}", path=str(path))


def _duration(value: Any, per_second: float) -> float | None:
    """``value`` (in units of 1/``per_second`` s) in seconds; divided, as k6's own figures
    are, so the result is bit-identical to ``ms / 1000``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    seconds = float(value) / per_second
    return seconds if math.isfinite(seconds) else None


def parse_summary(data: Any, path: Path) -> K6Summary:
    """Normalise a parsed summary; every section of the wrong shape is a :class:`K6InputError`
    naming its key path, never silently skipped."""
    if not isinstance(data, dict):
        raise K6InputError("not a k6 summary (top level is not an object)", path=str(path))
    name = path.name
    if "version" in data and isinstance(data.get("results"), dict):
        results = data["results"]
        raw_metrics = results.get("metrics") or []
        if not isinstance(raw_metrics, list):
            raise K6InputError("results.metrics: expected a list", path=str(path))
        metrics = {}
        for i, m in enumerate(raw_metrics):
            if not isinstance(m, dict) or not isinstance(m.get("name"), str):
                raise K6InputError(
                    f"results.metrics[{i}]: expected an object with a name", path=str(path)
                )
            if m["name"] in metrics:
                raise K6InputError(
                    f"results.metrics[{i}]: metric {m['name']!r} listed twice", path=str(path)
                )
            metrics[m["name"]] = SummaryMetric(
                type=_kind(m.get("type"), f"results.metrics[{i}].type", path),
                values=_numbers(m.get("values"), f"results.metrics[{i}].values", path),
            )
        passed = results.get("passed")
        if passed is not None and not isinstance(passed, bool):
            raise K6InputError("results.passed: expected true or false", path=str(path))
        return K6Summary(
            kind="machine-readable-1",
            file=name,
            metrics=metrics,
            duration_seconds=_duration(
                _object(data.get("config"), "config", path).get("duration"), 1.0
            ),
            passed=passed,
        )
    raw = data.get("metrics")
    if not isinstance(raw, dict):
        raise K6InputError("not a k6 summary (no 'metrics' object)", path=str(path))
    handle = any(isinstance(v, dict) and "values" in v for v in raw.values())
    metrics = {}
    for key, entry in raw.items():
        if not isinstance(entry, dict):
            raise K6InputError(f"metrics.{key}: expected an object", path=str(path))
        thresholds_raw = _object(entry.get("thresholds"), f"metrics.{key}.thresholds", path)
        thresholds: dict[str, bool] = {}
        for expr, result in thresholds_raw.items():
            held = result.get("ok") if handle and isinstance(result, dict) else result
            if not isinstance(held, bool):
                want = "an object with ok: true|false" if handle else "true or false"
                raise K6InputError(
                    f"metrics.{key}.thresholds.{expr}: expected {want}", path=str(path)
                )
            thresholds[expr] = held if handle else not held  # legacy: true means it failed
        if handle:
            values = _numbers(entry.get("values"), f"metrics.{key}.values", path)
            kind = _kind(entry.get("type"), f"metrics.{key}.type", path) or _infer_type(values)
        else:
            values = _numbers(
                {k: v for k, v in entry.items() if k != "thresholds"}, f"metrics.{key}", path
            )
            kind = _infer_type(values)
        metrics[key] = SummaryMetric(type=kind, values=values, thresholds=thresholds)
    duration_ms = (
        _object(data.get("state"), "state", path).get("testRunDurationMs") if handle else None
    )
    return K6Summary(
        kind="handle-summary" if handle else "summary-export",
        file=name,
        metrics=metrics,
        duration_seconds=_duration(duration_ms, 1000.0),
    )


MAX_SUMMARY_BYTES = 64 << 20  # an end-of-test summary is kilobytes; a bigger one is refused


def read_summary(path: Path) -> K6Summary:
    """Read a summary strictly (:func:`igkit.strictdoc.load_json`: duplicate keys at any
    depth, NaN/Infinity and pathological nesting are refused), plain or gzip, bounded."""
    check_file(path)
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_SUMMARY_BYTES + 1)
        if raw[:2] == b"\x1f\x8b":
            with gzip.open(path, "rb") as gz:
                raw = gz.read(MAX_SUMMARY_BYTES + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise K6InputError(f"cannot read ({exc})", path=str(path)) from None
    if len(raw) > MAX_SUMMARY_BYTES:
        raise K6InputError(
            f"larger than {MAX_SUMMARY_BYTES >> 20} MiB: not an end-of-test summary", path=str(path)
        )
    try:
        data = load_json(raw, where=path.name)
    except DocumentError as exc:
        raise K6InputError(exc.message, path=str(path)) from None
    return parse_summary(data, path)
