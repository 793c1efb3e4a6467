"""k6 end-of-test summaries, normalised: ``--summary-export`` (legacy), the ``handleSummary``
data object, and the machine-readable summary schema ``1.0.0``.

Threshold results are normalised to ``ok`` (True = the threshold held). Beware the legacy
export's inversion: there ``"p(95)<350": true`` means the threshold *failed*.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from igkit.sources.k6.files import K6InputError, check_file

SummaryKind = Literal["summary-export", "handle-summary", "machine-readable-1"]


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
        out[key] = float(value)
    return out


def parse_summary(data: Any, path: Path) -> K6Summary:
    if not isinstance(data, dict):
        raise K6InputError("not a k6 summary (top level is not an object)", path=str(path))
    name = path.name
    if "version" in data and isinstance(data.get("results"), dict):
        metrics = {}
        for i, m in enumerate(data["results"].get("metrics") or []):
            if not isinstance(m, dict) or "name" not in m:
                raise K6InputError(
                    f"results.metrics[{i}]: expected an object with a name", path=str(path)
                )
            metrics[m["name"]] = SummaryMetric(
                type=m.get("type"),
                values=_numbers(m.get("values"), f"results.metrics[{i}].values", path),
            )
        duration = (data.get("config") or {}).get("duration")
        return K6Summary(
            kind="machine-readable-1",
            file=name,
            metrics=metrics,
            duration_seconds=float(duration) if isinstance(duration, int | float) else None,
            passed=data["results"].get("passed"),
        )
    raw = data.get("metrics")
    if not isinstance(raw, dict):
        raise K6InputError("not a k6 summary (no 'metrics' object)", path=str(path))
    handle = any(isinstance(v, dict) and "values" in v for v in raw.values())
    metrics = {}
    for key, entry in raw.items():
        if not isinstance(entry, dict):
            raise K6InputError(f"metrics.{key}: expected an object", path=str(path))
        thresholds_raw = entry.get("thresholds") or {}
        if handle:
            values = _numbers(entry.get("values"), f"metrics.{key}.values", path)
            thresholds = {
                e: bool(v.get("ok")) for e, v in thresholds_raw.items() if isinstance(v, dict)
            }
            kind = entry.get("type") or _infer_type(values)
        else:
            values = _numbers(
                {k: v for k, v in entry.items() if k != "thresholds"}, f"metrics.{key}", path
            )
            thresholds = {e: not bool(failed) for e, failed in thresholds_raw.items()}
            kind = _infer_type(values)
        metrics[key] = SummaryMetric(type=kind, values=values, thresholds=thresholds)
    duration_ms = (data.get("state") or {}).get("testRunDurationMs") if handle else None
    return K6Summary(
        kind="handle-summary" if handle else "summary-export",
        file=name,
        metrics=metrics,
        duration_seconds=duration_ms / 1000 if isinstance(duration_ms, int | float) else None,
    )


def read_summary(path: Path) -> K6Summary:
    check_file(path)
    try:
        raw = path.read_bytes()
        data = json.loads(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw)
    except json.JSONDecodeError as exc:
        raise K6InputError(f"invalid JSON ({exc.msg})", path=str(path), line=exc.lineno) from None
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise K6InputError(f"cannot read ({exc})", path=str(path)) from None
    return parse_summary(data, path)
