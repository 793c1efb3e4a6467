"""Matrix numbers are real numbers, named-query params cannot inject PromQL, and every
rendered query parses as PromQL at load time. Each hostile case has its honest twin."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from igkit.errors import ConfigError
from igkit.spec.loader import load_matrix, parse_matrix, promql_problem
from igkit.spec.models import PrometheusObjective, resolve_settings
from igkit.spec.plan import render_objective_query

MATRIX_DIR = Path(__file__).resolve().parents[2] / "igkit" / "spec"


def objective(
    *,
    query: str = "histogram_quantile(0.95, sum by (le)(rate(x_bucket[$rate])))",
    threshold: str = "{value: 350, unit: ms}",
    rule: str = "{kind: all_steps, window: 60m}",
    extra: str = "",
) -> str:
    return (
        "defaults: {step: 15s, rate: 5m, min_coverage: 0.9, max_staleness: 2m, max_gap: 5m}\n"
        "gates:\n  - id: G1\n    name: SLO\n    objectives:\n"
        "      - name: p95\n"
        f"        {query if query.startswith('named_query') else 'query: ' + repr(query)}\n"
        '        comparison: "<="\n'
        f"        threshold: {threshold}\n"
        f"        rule: {rule}\n{extra}"
    )


def refused(text: str, *needles: str) -> str:
    with pytest.raises(ConfigError) as info:
        parse_matrix(text, source="m.yaml")
    message = str(info.value)
    assert message.startswith("m.yaml"), message
    assert "\n" not in message
    for needle in needles:
        assert needle in message, message
    return message


@pytest.mark.parametrize(
    ("hostile", "honest", "needle"),
    [
        ("{value: true, unit: ratio}", "{value: 1, unit: ratio}", "not a boolean"),
        ("{value: false, unit: ms}", "{value: 0, unit: ms}", "not a boolean"),
        ('{value: "0.5", unit: ratio}', "{value: 0.5, unit: ratio}", "not a str"),
        ("{value: .nan, unit: ms}", "{value: 350, unit: ms}", "finite"),
        ("{value: .inf, unit: ms}", "{value: 350, unit: ms}", "finite"),
        ("{value: 1.0e+999, unit: ms}", "{value: 1.0e+3, unit: ms}", "finite"),
        ("{value: -1, unit: ms}", "{value: 1, unit: ms}", "negative"),
        ("{value: -0.5, unit: USD/1k}", "{value: 0.5, unit: USD/1k}", "negative"),
        ("{value: -10, unit: events/s}", "{value: 10, unit: events/s}", "negative"),
        ("{value: 150, unit: percent}", "{value: 100, unit: percent}", "above 100%"),
        ("{value: 1.5, unit: ratio}", "{value: 1, unit: ratio}", "above 100%"),
        ("{value: [1], unit: ms}", "{value: 1, unit: ms}", "not a list"),
    ],
)
def test_threshold_must_be_a_real_meaningful_number(hostile: str, honest: str, needle: str) -> None:
    refused(
        objective(threshold=hostile),
        "threshold.value" if "above" not in needle and "negative" not in needle else "threshold",
        needle,
    )
    parse_matrix(objective(threshold=honest), source="m.yaml")


@pytest.mark.parametrize(
    ("hostile", "honest", "field"),
    [
        (
            "{kind: fraction_of_steps, window: 30m, min_fraction: true}",
            "{kind: fraction_of_steps, window: 30m, min_fraction: 1}",
            "min_fraction",
        ),
        (
            "{kind: fraction_of_steps, window: 30m, min_fraction: '0.9'}",
            "{kind: fraction_of_steps, window: 30m, min_fraction: 0.9}",
            "min_fraction",
        ),
        (
            "{kind: all_steps, window: 60m, min_consecutive: true}",
            "{kind: all_steps, window: 60m, min_consecutive: 1}",
            "min_consecutive",
        ),
        (
            "{kind: all_steps, window: 60m, min_consecutive: 2.0}",
            "{kind: all_steps, window: 60m, min_consecutive: 2}",
            "min_consecutive",
        ),
    ],
)
def test_rule_numbers_are_not_booleans_or_strings(hostile: str, honest: str, field: str) -> None:
    refused(objective(rule=hostile), field)
    parse_matrix(objective(rule=honest), source="m.yaml")


def test_budget_and_coverage_are_not_booleans() -> None:
    burn = "{kind: budget_burn, budget_usd: %s, step: 5m}"
    share = "{value: 80, unit: percent}"
    query = "sum(finops_cost_usd_total)"
    refused(objective(query=query, threshold=share, rule=burn % "true"), "budget_usd", "boolean")
    parse_matrix(objective(query=query, threshold=share, rule=burn % "18000"), source="m.yaml")
    refused(objective(extra="        min_coverage: true\n"), "min_coverage", "boolean")
    parse_matrix(objective(extra="        min_coverage: 0.9\n"), source="m.yaml")
    refused(
        objective().replace("min_coverage: 0.9", "min_coverage: true"), "min_coverage", "boolean"
    )


def named(params: str, name: str = "latency_quantile") -> str:
    return f"named_query: {{name: {name}, params: {params}}}"


@pytest.mark.parametrize(
    ("hostile", "honest", "needle"),
    [
        (
            """{metric: x, selector: 'a="b"} or vector(1) or x{'}""",
            """{metric: x, selector: 'a="b} or vector(1) or x{"'}""",
            "params.selector",
        ),
        ("""{metric: 'x{a="b"}'}""", "{metric: x}", "params.metric"),
        ("""{metric: 'vector(1) or x'}""", "{metric: 'x:recorded'}", "params.metric"),
        (
            "{metric: x, by: 'le) or vector(1) or (x'}",
            "{metric: x, by: 'tenant, pod'}",
            "params.by",
        ),
        ("{metric: x, quantile: '2'}", "{metric: x, quantile: '0.99'}", "params.quantile"),
        (
            "{metric: x, quantile: '0.9) or vector(1'}",
            "{metric: x, quantile: '1'}",
            "params.quantile",
        ),
    ],
)
def test_named_query_params_cannot_inject_promql(hostile: str, honest: str, needle: str) -> None:
    refused(objective(query=named(hostile)), needle)
    parse_matrix(objective(query=named(honest)), source="m.yaml")


def test_success_codes_stay_inside_their_string() -> None:
    refused(
        objective(
            query=named("""{success_codes: '2.."} or vector(1) or x{a="'}""", "success_ratio"),
            threshold="{value: 99, unit: percent}",
        ),
        "params.success_codes",
    )
    parse_matrix(
        objective(
            query=named("{success_codes: '2..|3..'}", "success_ratio"),
            threshold="{value: 99, unit: percent}",
        ),
        source="m.yaml",
    )


@pytest.mark.parametrize(
    ("query", "needle"),
    [
        ("sum(rate(http_requests_total[$rate])", "unclosed left parenthesis"),
        ("sum(rate(x[$rate])) by", "does not parse as PromQL"),
        ("rate(x[$rate]) +", "does not parse as PromQL"),
        ("x[$window]", "range vector"),
        ('"text"', "a string"),
    ],
)
def test_a_query_that_will_not_parse_is_a_config_error(query: str, needle: str) -> None:
    message = refused(objective(query=query), "gates[0](G1).objectives[0](p95)", needle)
    assert "query:" in message
    parse_matrix(objective(query="sum(rate(x[$rate]))"), source="m.yaml")


def test_matrix_validate_exits_2_on_a_query_that_will_not_parse(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(objective(query="sum(rate(x[$rate])"))
    good = tmp_path / "good.yaml"
    good.write_text(objective(query="sum(rate(x[$rate]))"))
    run = [sys.executable, "-m", "igkit", "matrix", "validate", "--matrix"]
    proc = subprocess.run([*run, str(bad)], capture_output=True, text=True, check=False)
    assert proc.returncode == 2, proc.stderr
    assert "gates[0](G1).objectives[0](p95)" in proc.stderr
    assert "does not parse as PromQL" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = subprocess.run([*run, str(good)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize(
    "path",
    [None, *sorted((MATRIX_DIR / "examples").glob("*.yaml"))],
    ids=lambda p: "default" if p is None else p.name,
)
def test_every_shipped_matrix_query_parses(path: Path | None) -> None:
    loaded = load_matrix(path)
    for gate in loaded.matrix.gates:
        for obj in gate.objectives:
            if isinstance(obj, PrometheusObjective):
                query = render_objective_query(obj, resolve_settings(obj, loaded.matrix.defaults))
                assert promql_problem(query) is None, (gate.id, obj.name, query)


def test_prometheus_2_function_names_still_parse() -> None:
    assert promql_problem("holt_winters(rate(x[5m])[30m:1m], 0.5, 0.5)") is None
    assert promql_problem("double_exponential_smoothing(rate(x[5m])[30m:1m], 0.5, 0.5)") is None
    assert "holt_winters" in (promql_problem("holt_winters(x, 0.5, 0.5)") or "")
