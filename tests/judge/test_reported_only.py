"""``gated: false`` objectives (G1 p99, Neo4j 1-hop p95): judged and shown, never counted.

Built on the demo snapshots through ``evaluate`` (tests/judge/test_goldens.py helpers): a
reported objective that FAILs or has NO_DATA leaves its gate PASS, while the same breach of a
gated objective still fails the gate (the positive/negative twins), and a Neo4j histogram,
when present, is judged against its 300 ms line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

import igkit.spec
from igkit.snapshots import SnapshotSet
from igkit.sources.replay import ReplaySource
from igkit.spec.loader import LoadedMatrix
from igkit.spec.models import Matrix
from igkit.strictdoc import load_yaml
from igkit.verdicts import ObjectiveVerdict, Status, gate_verdict
from tests.judge.test_goldens import demo, judge, with_result  # noqa: F401 - fixture

Demo = tuple[LoadedMatrix, ReplaySource, SnapshotSet]
P99 = ("G1", "graphql_query_p99")
P95 = ("G1", "graphql_query_p95")
NEO4J = ("G1", "neo4j_1hop_p95")
DEFAULT = Path(igkit.spec.__file__).parent / "default.yaml"


def objectives(run: Any) -> dict[str, ObjectiveVerdict]:
    g1 = next(g for g in run.gates if g.id == "G1")
    return {o.name: o for o in g1.objectives}


def slow(value: str) -> Any:
    def change(result: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for s in result:
            for pair in s["values"]:
                pair[1] = value
        return result

    return change


def neo4j(value: str) -> Any:
    def change(result: list[dict[str, Any]]) -> list[dict[str, Any]]:
        assert result == []  # the demo exports no Neo4j histogram
        steps = range(1740796200, 1740799800 + 1, 15)
        return [{"metric": {}, "values": [[t, value] for t in steps]}]

    return change


def test_demo_g1_passes_with_reported_p99_and_absent_neo4j(demo: Demo) -> None:  # noqa: F811
    run = judge(demo, demo[2], ["G1"])
    got = objectives(run)
    assert run.gates[0].status is Status.PASS
    assert (got["graphql_query_p99"].status, got["graphql_query_p99"].gated) == (Status.PASS, False)
    assert got["graphql_query_p99"].observed == pytest.approx(247.14, abs=0.01)
    assert (got["neo4j_1hop_p95"].status, got["neo4j_1hop_p95"].gated) == (Status.NO_DATA, False)
    assert got["graphql_query_p95"].gated is True
    note = "G1 neo4j_1hop_p95: reported only (gated: false): its NO_DATA never counts toward G1"
    assert note in got["neo4j_1hop_p95"].warnings
    assert note in run.gates[0].reasons


def test_a_failing_reported_p99_leaves_g1_pass_but_the_same_breach_of_p95_fails(
    demo: Demo,  # noqa: F811
) -> None:
    reported = judge(demo, with_result(demo, P99, slow("0.9")), ["G1"])
    assert objectives(reported)["graphql_query_p99"].status is Status.FAIL
    assert reported.gates[0].status is Status.PASS
    gated = judge(demo, with_result(demo, P95, slow("0.9")), ["G1"])
    assert objectives(gated)["graphql_query_p95"].status is Status.FAIL
    assert gated.gates[0].status is Status.FAIL
    assert gated.decision == "NO-GO"


@pytest.mark.parametrize(("value", "status"), [("0.25", Status.PASS), ("0.4", Status.FAIL)])
def test_neo4j_1hop_p95_is_judged_against_300ms_when_present(
    demo: Demo,  # noqa: F811
    value: str,
    status: Status,
) -> None:
    run = judge(demo, with_result(demo, NEO4J, neo4j(value)), ["G1"])
    got = objectives(run)["neo4j_1hop_p95"]
    assert got.status is status, got.reasons
    assert got.observed == pytest.approx(float(value) * 1000)
    assert run.gates[0].status is Status.PASS


def test_a_gate_of_only_reported_objectives_is_refused_and_never_passes(demo: Demo) -> None:  # noqa: F811
    data = load_yaml(DEFAULT.read_bytes(), where="default.yaml")
    assert isinstance(data, dict)
    Matrix.model_validate(data)
    g1 = next(g for g in data["gates"] if g["id"] == "G1")
    for o in g1["objectives"]:
        o["gated"] = False
    with pytest.raises(ValidationError, match="only 'gated: false' objectives"):
        Matrix.model_validate(data)
    reported = ObjectiveVerdict(name="p99", status=Status.PASS, reasons=["ok"], gated=False)
    assert gate_verdict("G1", "SLO", [reported]).status is Status.ERROR
