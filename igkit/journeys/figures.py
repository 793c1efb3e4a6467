"""Per-step figures from k6's ``handleSummary`` data: the request count, p95 and check
results of every ``step:<name>`` submetric the journeys script declares.

Read strictly: the document goes through :func:`igkit.sources.k6.summary.read_summary`
(duplicate keys, NaN/Infinity, wrong shapes refused) and the check list of ``root_group`` is
checked here; anything else is a :class:`~igkit.sources.k6.files.K6InputError` naming the
key, so a damaged summary is ERROR, never a PASS."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from igkit.journeys.models import StepFigures
from igkit.sources.k6.files import K6InputError
from igkit.sources.k6.summary import MAX_SUMMARY_BYTES, K6Summary, parse_summary
from igkit.strictdoc import DocumentError, load_json

CHECK_SUFFIXES = (": status ", ": JSON shape")
"""How the script names a step's checks: ``<step>: status <code>`` and ``<step>: JSON shape``."""


def _count(value: float | None, where: str, path: Path) -> int | None:
    if value is None:
        return None
    if value < 0 or not float(value).is_integer():
        raise K6InputError(f"{where}: not a whole count ({value!r})", path=str(path))
    return int(value)


def _check_counts(data: dict[str, Any], path: Path) -> dict[str, tuple[int, int]]:
    """``root_group.checks`` (and nested groups): check name -> (passes, fails)."""
    out: dict[str, tuple[int, int]] = {}

    def walk(group: Any, where: str, depth: int) -> None:
        if depth > 16:
            raise K6InputError(f"{where}: groups nested too deep", path=str(path))
        if not isinstance(group, dict):
            raise K6InputError(f"{where}: expected an object", path=str(path))
        checks = group.get("checks") or []
        groups = group.get("groups") or []
        if not isinstance(checks, list) or not isinstance(groups, list):
            raise K6InputError(f"{where}: checks and groups must be lists", path=str(path))
        for i, c in enumerate(checks):
            at = f"{where}.checks[{i}]"
            if not isinstance(c, dict) or not isinstance(c.get("name"), str):
                raise K6InputError(f"{at}: expected an object with a name", path=str(path))
            counts = []
            for key in ("passes", "fails"):
                v = c.get(key)
                if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                    raise K6InputError(f"{at}.{key}: expected a whole count", path=str(path))
                counts.append(v)
            if c["name"] in out:
                raise K6InputError(f"{at}: check {c['name']!r} listed twice", path=str(path))
            out[c["name"]] = (counts[0], counts[1])
        for i, g in enumerate(groups):
            walk(g, f"{where}.groups[{i}]", depth + 1)

    if "root_group" in data:
        walk(data["root_group"], "root_group", 0)
    return out


def _value(summary: K6Summary, metric: str, stat: str) -> float | None:
    m = summary.metrics.get(metric)
    return None if m is None else m.values.get(stat)


def step_figures(data: Any, path: Path, steps: list[str]) -> list[StepFigures]:
    """The figures of ``steps`` from the parsed summary ``data`` (read from ``path``)."""
    summary = parse_summary(data, path)
    if summary.kind != "handle-summary":
        raise K6InputError(
            f"a {summary.kind} summary: the journeys script writes handleSummary data",
            path=str(path),
        )
    checks = _check_counts(data, path)
    figures = []
    for step in steps:
        p95 = _value(summary, f"http_req_duration{{step:{step}}}", "p(95)")
        if p95 is not None and not math.isfinite(p95):
            raise K6InputError(f"http_req_duration{{step:{step}}}: p95 not finite", path=str(path))
        own = {n: c for n, c in checks.items() if n.startswith(f"{step}:")}
        passed = _count(
            _value(summary, f"checks{{step:{step}}}", "passes"),
            f"checks{{step:{step}}}.passes",
            path,
        )
        failed = _count(
            _value(summary, f"checks{{step:{step}}}", "fails"), f"checks{{step:{step}}}.fails", path
        )
        listed = (sum(p for p, _ in own.values()), sum(f for _, f in own.values()))
        if own and passed is not None and failed is not None and listed != (passed, failed):
            raise K6InputError(
                f"checks{{step:{step}}} ({passed} passed, {failed} failed) disagrees with the "
                f"checks root_group lists for {step} ({listed[0]} passed, {listed[1]} failed)",
                path=str(path),
            )
        figures.append(
            StepFigures(
                name=step,
                requests=_count(
                    _value(summary, f"http_reqs{{step:{step}}}", "count"),
                    f"http_reqs{{step:{step}}}.count",
                    path,
                ),
                p95_ms=p95,
                checks_passed=passed,
                checks_failed=failed,
                failed_checks={n: f for n, (_p, f) in own.items() if f > 0},
            )
        )
    return figures


def read_figures(raw: bytes, path: Path, steps: list[str]) -> list[StepFigures]:
    """:func:`step_figures` of the summary bytes ``raw`` (strict JSON, bounded)."""
    if len(raw) > MAX_SUMMARY_BYTES:
        raise K6InputError(
            f"larger than {MAX_SUMMARY_BYTES >> 20} MiB: not an end-of-test summary", path=str(path)
        )
    try:
        data = load_json(raw, where=path.name)
    except DocumentError as exc:
        raise K6InputError(exc.message, path=str(path)) from None
    return step_figures(data, path, steps)
