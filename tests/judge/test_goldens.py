"""Golden judgements: a SnapshotSet in, exact verdicts out, through ``evaluate`` alone.

No CLI, no Prometheus, no files written: the inputs are the shipped demo snapshots
(igkit/data/demo/snapshots, recorded from the real Prometheus and k6) and hand-made sets
derived from them - a failing tenant, a stale series, a FetchFailure, a malformed result.
The expected verdicts (status, observed value, reasons of every objective) live in
tests/fixtures/goldens/<case>.json. After an intended change of judgement, regenerate with

    IGKIT_REGEN_GOLDENS=1 pytest -p no:cacheprovider tests/judge/test_goldens.py

and review the diff: each case also asserts the facts a reviewer would check by hand, so a
regenerated golden that encodes a bug still fails.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from igkit.demo import demo_snapshot_dir, demo_trust_dir
from igkit.judge.evaluate import evaluate
from igkit.snapshots import FetchFailure, Snapshot, SnapshotSet
from igkit.sources.registry import CaptureRequest, Recorded, capture
from igkit.sources.replay import ReplaySource
from igkit.spec.loader import LoadedMatrix, load_matrix
from igkit.spec.plan import plan
from igkit.trust import resolve_trust
from igkit.verdicts import RunVerdicts

GOLDENS = Path(__file__).resolve().parents[1] / "fixtures" / "goldens"
REGEN = os.environ.get("IGKIT_REGEN_GOLDENS") == "1"
P95 = ("G1", "graphql_query_p95")


@pytest.fixture(scope="module")
def demo() -> tuple[LoadedMatrix, ReplaySource, SnapshotSet]:
    loaded = load_matrix(None)
    replay = ReplaySource(demo_snapshot_dir())
    assert replay.index is not None
    snapshot_set = capture(
        CaptureRequest(
            matrix=loaded.matrix,
            gate_ids=[g.id for g in loaded.matrix.gates],
            at=replay.index.evaluated_at,
            prometheus=replay,
            recorded=Recorded(k6=replay.k6, evidence=replay.evidence),
        )
    )
    return loaded, replay, snapshot_set


def judge(
    demo: tuple[LoadedMatrix, ReplaySource, SnapshotSet],
    snapshot_set: SnapshotSet,
    gate_ids: list[str] | None = None,
) -> RunVerdicts:
    loaded, replay, _ = demo
    assert replay.index is not None
    return evaluate(
        loaded,
        snapshot_set,
        replay.index.evaluated_at,
        gate_ids=gate_ids,
        tenant=None,
        trust=resolve_trust(loaded, trust_dir=demo_trust_dir()),
        source="golden",
    )


def summary(run: RunVerdicts) -> dict[str, Any]:
    """What a golden pins: decision, and per objective its status, observed value, reasons
    and, for evidence objectives, the facts of each evidence document."""
    return {
        "decision": run.decision,
        "gates": {
            g.id: {
                "status": g.status.value,
                "objectives": {o.name: _objective(o.model_dump(mode="json")) for o in g.objectives},
            }
            for g in run.gates
        },
    }


def _objective(o: dict[str, Any]) -> dict[str, Any]:
    pinned = {k: o[k] for k in ("status", "observed", "reasons")}
    return pinned | ({"evidence": o["evidence"]} if o["evidence"] else {})


def check_golden(name: str, run: RunVerdicts) -> dict[str, Any]:
    path = GOLDENS / f"{name}.json"
    got = summary(run)
    if REGEN:
        path.write_text(json.dumps(got, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    expected: dict[str, Any] = json.loads(path.read_text())
    assert got == expected, f"{path.name} differs; see the module docstring to regenerate"
    return got


def request_id(demo: tuple[LoadedMatrix, ReplaySource, SnapshotSet], key: tuple[str, str]) -> str:
    loaded, replay, _ = demo
    assert replay.index is not None
    planned = plan(loaded.matrix, [key[0]], replay.index.evaluated_at, None)
    return next(p.request.id for p in planned if (p.gate.id, p.objective.name) == key)


def with_result(
    demo: tuple[LoadedMatrix, ReplaySource, SnapshotSet],
    key: tuple[str, str],
    change: Callable[[list[dict[str, Any]]], list[dict[str, Any]]],
) -> SnapshotSet:
    """The demo set with one range snapshot's result changed (and honestly re-sealed)."""
    _, _, base = demo
    rid = request_id(demo, key)
    snap = base.prometheus[rid]
    assert isinstance(snap, Snapshot)
    changed = snap.model_copy(update={"result": change(json.loads(json.dumps(snap.result)))})
    return base.model_copy(update={"prometheus": {**base.prometheus, rid: changed.sealed()}})


def series(result: list[dict[str, Any]], tenant: str) -> dict[str, Any]:
    return next(s for s in result if s["metric"].get("tenant") == tenant)


def test_demo_snapshots_judge_to_go(demo: tuple[LoadedMatrix, ReplaySource, SnapshotSet]) -> None:
    got = check_golden("demo", judge(demo, demo[2]))
    assert got["decision"] == "GO"
    assert len(got["gates"]) == 8
    assert {g["status"] for g in got["gates"].values()} == {"PASS"}
    # G1 query p95 of the demo: 0.2357 s at every step, in the threshold's unit (ms)
    assert got["gates"]["G1"]["objectives"]["graphql_query_p95"]["observed"] == pytest.approx(
        235.714, abs=0.01
    )
    # what the evidence documents say, as verified: approver, RTO, builder level
    objectives = {n: o for g in got["gates"].values() for n, o in g["objectives"].items()}
    assert objectives["approvals"]["evidence"][0]["rows"][0]["approver"] == "R. Lead"
    assert objectives["dr_drill"]["evidence"][0]["facts"]["rto"] == "42m30s"
    artifact = objectives["slsa_provenance"]["evidence"][1]
    assert (artifact["kind"], artifact["facts"]["slsa_level"]) == ("artifact", 3)


def test_one_failing_tenant_fails_the_gate_and_is_named(
    demo: tuple[LoadedMatrix, ReplaySource, SnapshotSet],
) -> None:
    def slow_acme(result: list[dict[str, Any]]) -> list[dict[str, Any]]:
        acme = series(result, "acme")
        for pair in acme["values"][100:104]:  # 4 steps (1 min) at 0.5 s > 350 ms
            pair[1] = "0.5"
        return result

    got = check_golden("failing_tenant", judge(demo, with_result(demo, P95, slow_acme), ["G1"]))
    p95 = got["gates"]["G1"]["objectives"]["graphql_query_p95"]
    assert got["decision"] == "NO-GO"
    assert p95["status"] == "FAIL"
    assert p95["observed"] == pytest.approx(500.0)
    assert any("acme" in r for r in p95["reasons"])
    assert not any("globex" in r or "initech" in r for r in p95["reasons"])
    others = {n: o["status"] for n, o in got["gates"]["G1"]["objectives"].items()}
    assert others == {
        "graphql_query_p95": "FAIL",
        "graphql_mutation_p95": "PASS",
        "graphql_query_p99": "PASS",
        "neo4j_1hop_p95": "NO_DATA",  # reported only: the demo exports no Neo4j histogram
        "availability": "PASS",
    }


def test_a_stale_series_is_no_data_never_pass(
    demo: tuple[LoadedMatrix, ReplaySource, SnapshotSet],
) -> None:
    def globex_stops(result: list[dict[str, Any]]) -> list[dict[str, Any]]:
        g = series(result, "globex")
        g["values"] = g["values"][:-20]  # last sample 5 min before evaluation (max 2m)
        return result

    got = check_golden("stale_series", judge(demo, with_result(demo, P95, globex_stops), ["G1"]))
    p95 = got["gates"]["G1"]["objectives"]["graphql_query_p95"]
    assert p95["status"] == "NO_DATA"
    assert any("globex" in r for r in p95["reasons"])
    assert got["decision"] == "NO-GO"


def test_a_fetch_failure_is_error_naming_the_cause(
    demo: tuple[LoadedMatrix, ReplaySource, SnapshotSet],
) -> None:
    _, _, base = demo
    rid = request_id(demo, P95)
    failure = FetchFailure(request_id=rid, kind="timeout", message="no answer within 30s")
    broken = base.model_copy(update={"prometheus": {**base.prometheus, rid: failure}})
    got = check_golden("fetch_failure", judge(demo, broken, ["G1"]))
    p95 = got["gates"]["G1"]["objectives"]["graphql_query_p95"]
    assert p95 == {
        "status": "ERROR",
        "observed": None,
        "reasons": ["G1 graphql_query_p95: no answer within 30s"],
    }
    # and a request absent from the set altogether is ERROR too, never PASS
    absent = base.model_copy(
        update={"prometheus": {k: v for k, v in base.prometheus.items() if k != rid}}
    )
    gone = summary(judge(demo, absent, ["G1"]))["gates"]["G1"]["objectives"]["graphql_query_p95"]
    assert gone["status"] == "ERROR"
    assert gone["reasons"] == [f"G1 graphql_query_p95: no snapshot for request {rid}"]


def test_a_malformed_result_is_error(demo: tuple[LoadedMatrix, ReplaySource, SnapshotSet]) -> None:
    def not_a_number(result: list[dict[str, Any]]) -> list[dict[str, Any]]:
        series(result, "initech")["values"][5][1] = "fast"
        return result

    got = check_golden(
        "malformed_result", judge(demo, with_result(demo, P95, not_a_number), ["G1"])
    )
    p95 = got["gates"]["G1"]["objectives"]["graphql_query_p95"]
    assert p95["status"] == "ERROR"
    assert p95["observed"] is None
    assert "malformed" in p95["reasons"][0]
