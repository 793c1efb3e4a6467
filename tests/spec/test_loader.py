"""Matrix validation: the shipped default is valid; every bad input is one line naming file and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from igkit.errors import ConfigError
from igkit.spec.loader import load_matrix, matrix_json_schema, parse_matrix
from igkit.spec.models import (
    ApprovalsObjective,
    AttestationObjective,
    CommsObjective,
    DrillObjective,
    K6Objective,
    OpaBundleObjective,
    PrometheusObjective,
    SbomObjective,
)
from igkit.units import Unit

DEFAULTS = "defaults: {step: 15s, rate: 5m, min_coverage: 0.9, max_staleness: 2m, max_gap: 5m}\n"
GOOD_OBJECTIVE = """
      - name: p95
        query: histogram_quantile(0.95, sum by (le)(rate(x_bucket[$rate])))
        comparison: "<="
        threshold: {value: 350, unit: ms}
        rule: {kind: all_steps, window: 60m}
"""


def matrix_text(objective: str = GOOD_OBJECTIVE, gate_extra: str = "") -> str:
    return f"{DEFAULTS}gates:\n  - id: G1\n    name: SLO\n{gate_extra}    objectives:\n{objective}"


def test_default_matrix_matches_the_cutover_pack() -> None:
    loaded = load_matrix(None)
    m = loaded.matrix
    assert [g.id for g in m.gates] == [f"G{i}" for i in range(1, 9)]
    g1 = {o.name: o for o in m.gate("G1").objectives if isinstance(o, PrometheusObjective)}
    assert g1["graphql_query_p95"].threshold.value == 350
    assert g1["graphql_query_p95"].threshold.unit is Unit.MS
    assert g1["graphql_mutation_p95"].threshold.value == 700
    assert g1["availability"].threshold.value == 99.9
    # seed §9 KPIs shown but not gated: p99 (no SLO) and Neo4j 1-hop p95 <= 300 ms when exported
    assert [n for n, o in g1.items() if not o.gated] == ["graphql_query_p99", "neo4j_1hop_p95"]
    assert g1["neo4j_1hop_p95"].threshold.value == 300
    g4 = {o.name: o for o in m.gate("G4").objectives if isinstance(o, PrometheusObjective)}
    assert (g4["webauthn_stepup_success"].threshold.value, g4["webauthn_stepup_success"].gated) == (
        99,
        True,
    )
    g6 = {o.name: o for o in m.gate("G6").objectives if isinstance(o, PrometheusObjective)}
    assert {g6["infra_budget_burn"].rule.budget_usd, g6["llm_budget_burn"].rule.budget_usd} == {
        18000,
        5000,
    }  # type: ignore[union-attr]
    kinds = {g.id: [type(o) for o in g.objectives] for g in m.gates}
    assert kinds["G3"] == [AttestationObjective, SbomObjective]
    assert kinds["G4"] == [PrometheusObjective, PrometheusObjective, OpaBundleObjective]
    assert kinds["G7"] == [DrillObjective]
    assert kinds["G8"] == [ApprovalsObjective, CommsObjective]
    approvals = m.gate("G8").objectives[0]
    assert isinstance(approvals, ApprovalsObjective)
    assert approvals.freeze is not None
    assert approvals.freeze.total_seconds() == 3600  # seed: T-60m change freeze
    assert approvals.change_ticket_pattern == r"^CHG-\d{4}-\d{4}$"
    drill = m.gate("G7").objectives[0]
    assert isinstance(drill, DrillObjective)
    assert (drill.rpo_target.total_seconds(), drill.rto_target.total_seconds()) == (300, 3600)
    g5 = {o.name: o for o in m.gate("G5").objectives if isinstance(o, K6Objective)}
    assert {n: o.p95.value for n, o in g5.items() if o.p95} == {
        "graphql_reads": 350,
        "graphql_writes": 700,
        "neo4j_1hop": 300,
        "opa_decision": 25,
    }
    assert g5["error_rate_overall"].scenario is None
    assert m.k6.max_error_rate.value == 0.1
    assert m.k6.consecutive_failing_windows == 2
    assert len(loaded.sha256) == 64


@pytest.mark.parametrize(
    ("text", "field", "cause"),
    [
        (matrix_text(gate_extra="    colour: red\n"), "gates[0](G1).colour", "unknown field"),
        (
            matrix_text(GOOD_OBJECTIVE.replace("{value: 350, unit: ms}", "{value: 350}")),
            "objectives[0](p95).threshold.unit",
            "required",
        ),
        (
            matrix_text(GOOD_OBJECTIVE.replace("unit: ms", "unit: furlongs")),
            "threshold.unit",
            "Input should be",
        ),
        (
            matrix_text(GOOD_OBJECTIVE.replace("value: 350", "value: fast")),
            "threshold.value",
            "valid number",
        ),
        (
            matrix_text(GOOD_OBJECTIVE.replace("window: 60m", "window: an hour")),
            "rule.window",
            "invalid duration",
        ),
        (matrix_text(GOOD_OBJECTIVE.replace('"<="', '"=<"')), "comparison", "Input should be"),
        (matrix_text(GOOD_OBJECTIVE.replace("all_steps", "most_steps")), "rule", "tag"),
        (
            matrix_text(GOOD_OBJECTIVE.replace("[$rate]", "[$rat]")),
            "objectives[0](p95)",
            "unknown placeholder $rat",
        ),
        (
            "gates:\n  - id: G1\n    name: x\n  - id: G1\n    name: y\n",
            "(top level)",
            "duplicate gate ids: G1",
        ),
        ("gates: [\n", "", "invalid YAML at line"),
        ("- just\n- a list\n", "", "YAML mapping"),
        ("gates: []\n", "gates", "at least 1"),
    ],
)
def test_bad_matrix_is_one_line_naming_the_field(text: str, field: str, cause: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_matrix(text, source="team.yaml")
    message = str(info.value)
    assert message.startswith("team.yaml")
    assert field in message
    assert cause in message
    assert "\n" not in message


def test_named_query_errors() -> None:
    obj = GOOD_OBJECTIVE.replace(
        "query: histogram_quantile(0.95, sum by (le)(rate(x_bucket[$rate])))",
        "named_query: {name: latency_quantile, params: {metrc: x}}",
    )
    with pytest.raises(ConfigError, match=r"has no parameter\(s\) metrc"):
        parse_matrix(matrix_text(obj), source="m.yaml")
    with pytest.raises(ConfigError, match="unknown named query 'p99'"):
        parse_matrix(matrix_text(obj.replace("latency_quantile", "p99")), source="m.yaml")


def test_alias_bomb_is_refused() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(12)
    )
    with pytest.raises(ConfigError, match="alias bomb"):
        parse_matrix(bomb, source="bomb.yaml")


def test_missing_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_matrix(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="is a directory"):
        load_matrix(tmp_path)
    (tmp_path / "bin.yaml").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_matrix(tmp_path / "bin.yaml")


def test_yaml_python_tags_are_not_executed() -> None:
    with pytest.raises(ConfigError, match="invalid YAML"):
        parse_matrix("gates: !!python/object/apply:os.system ['true']\n", source="evil.yaml")


def test_schema_forbids_extra_fields() -> None:
    schema = matrix_json_schema()
    assert schema["additionalProperties"] is False
    assert "PrometheusObjective" in schema["$defs"]
