"""The PromQL library: named, parameterised queries the matrix can refer to.

Placeholders filled at plan time: ``$window`` (the rule's window), ``$rate`` (the
objective's rate interval), ``$step`` (the resolution). Named-query parameters are
substituted first; a missing or unknown one is a configuration error, caught by
``igkit matrix validate`` before any server is asked.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from datetime import timedelta

from igkit.errors import ConfigError
from igkit.timeutil import promql_duration


@dataclass(frozen=True)
class NamedQueryDef:
    template: str
    description: str
    defaults: dict[str, str] = field(default_factory=dict)


def _by(labels: str) -> str:
    return f"sum by ({labels})" if labels else "sum"


LIBRARY: dict[str, NamedQueryDef] = {
    "latency_quantile": NamedQueryDef(
        "histogram_quantile($quantile, sum by (le$by_extra)(rate(${metric}_bucket{$selector}[$$rate])))",
        "Quantile of a Prometheus histogram in seconds, per 'by' label set.",
        {"quantile": "0.95", "selector": "", "by": ""},
    ),
    "success_ratio": NamedQueryDef(
        '$sum_by(rate(${metric}{code=~"$success_codes",$selector}[$$rate]))'
        " / $sum_by(rate(${metric}{$selector}[$$rate]))",
        "Share of requests with a success status code (non-2xx count as errors). Written as"
        " success/total rather than 1 - errors/total so that a window without any error"
        " still returns a series.",
        {"metric": "http_requests_total", "success_codes": "2..", "selector": "", "by": ""},
    ),
    "counter_rate": NamedQueryDef(
        "$sum_by(rate(${metric}{$selector}[$$rate]))",
        "Per-second rate of a counter, summed per 'by' label set.",
        {"selector": "", "by": ""},
    ),
    "unit_cost": NamedQueryDef(
        "sum(rate(${cost_metric}{$cost_selector}[$$rate]))"
        " / sum(rate(${usage_metric}{$usage_selector}[$$rate]))",
        "USD spent per unit of usage (e.g. per ingested event) over the rate interval.",
        {"cost_metric": "finops_cost_usd_total", "usage_selector": ""},
    ),
    "counter_series": NamedQueryDef(
        "${metric}{$selector}",
        "The raw series of a counter (for month-to-date spend, computed in igkit).",
        {"selector": ""},
    ),
}


def _render_named(name: str, params: dict[str, str]) -> str:
    try:
        definition = LIBRARY[name]
    except KeyError:
        known = ", ".join(sorted(LIBRARY))
        raise ConfigError(f"unknown named query {name!r} (known: {known})") from None
    values = {**definition.defaults, **params}
    by = values.get("by", "")
    values.setdefault("by_extra", f", {by}" if by else "")
    values.setdefault("sum_by", _by(by))
    template = string.Template(definition.template)
    needed = {
        m.group("named") or m.group("braced") for m in template.pattern.finditer(template.template)
    }
    needed.discard(None)
    unknown = set(params) - needed - {"by"}
    if unknown:
        raise ConfigError(
            f"named query {name!r} has no parameter(s) {', '.join(sorted(unknown))}"
            f" (it takes: {', '.join(sorted(needed - {'by_extra', 'sum_by'} | {'by'}))})"
        )
    try:
        return template.substitute(values)
    except KeyError as exc:
        raise ConfigError(f"named query {name!r} needs parameter {exc.args[0]!r}") from None


def render(
    *,
    query: str | None,
    named: tuple[str, dict[str, str]] | None,
    window: timedelta | None,
    rate: timedelta | None,
    step: timedelta,
) -> str:
    """Resolve an objective's query into the exact PromQL text sent to the server."""
    text = _render_named(*named) if named is not None else (query or "")
    values = {"step": promql_duration(step)}
    if rate is not None:
        values["rate"] = promql_duration(rate)
    if window is not None:
        values["window"] = promql_duration(window)
    try:
        return string.Template(text).substitute(values)
    except KeyError as exc:
        if exc.args[0] == "rate" and rate is None:
            raise ConfigError(
                "the query uses $rate but neither the objective nor the matrix defaults set "
                "'rate' (igkit has no built-in rate interval)"
            ) from None
        raise ConfigError(
            f"unknown placeholder ${exc.args[0]} (available: {', '.join('$' + k for k in values)})"
        ) from None
    except ValueError as exc:
        raise ConfigError(f"bad placeholder in query: {exc}") from None
