"""The one source registry: every objective type of the matrix has a source, an unknown one
is refused by name, and a replay captures through it exactly what the run recorded."""

from __future__ import annotations

import shutil
import typing
from pathlib import Path

import pytest

from igkit.demo import demo_snapshot_dir
from igkit.errors import ConfigError
from igkit.snapshots import FetchFailure, Snapshot
from igkit.sources.registry import SOURCES, CaptureRequest, Recorded, capture, source_for
from igkit.sources.replay import ReplaySource
from igkit.spec import models
from igkit.spec.loader import load_matrix


def _objective_types() -> set[str]:
    union = typing.get_args(models.Objective)[0]
    return {
        typing.get_args(cls.model_fields["type"].annotation)[0]
        for cls in (typing.get_args(member)[0] for member in typing.get_args(union))
    }


def test_every_objective_type_has_exactly_one_source() -> None:
    types = _objective_types()
    assert {"prometheus", "k6", "attestation"} <= types
    assert set(SOURCES) == types


def test_an_unknown_type_names_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"type 'canary' \(known: approvals, attestation, comms"):
        source_for("canary")
    assert source_for("k6") is SOURCES["k6"]  # positive control


def test_replay_through_the_registry_is_what_the_run_recorded() -> None:
    loaded = load_matrix(None)
    replay = ReplaySource(demo_snapshot_dir())
    assert replay.index is not None
    ids = [g.id for g in loaded.matrix.gates]
    request = CaptureRequest(
        matrix=loaded.matrix,
        gate_ids=ids,
        at=replay.index.evaluated_at,
        prometheus=replay,
        recorded=Recorded(k6=replay.k6, evidence=replay.evidence),
    )
    got = capture(request)
    assert got.prometheus
    assert all(isinstance(s, Snapshot) for s in got.prometheus.values())
    assert len(got.k6_tables) == 1
    assert len(got.k6_summaries) == 1
    assert set(got.evidence) == {e.objective for e in replay.evidence}
    # a request the replay holds no snapshot for is a typed failure, not a string
    later = capture(
        CaptureRequest(
            matrix=loaded.matrix,
            gate_ids=["G1"],
            at=replay.index.evaluated_at.replace(year=2030),
            prometheus=replay,
        )
    )
    failures = list(later.prometheus.values())
    assert failures
    assert all(isinstance(f, FetchFailure) and f.kind == "missing" for f in failures)
    assert all("no snapshot in" in f.message for f in failures if isinstance(f, FetchFailure))


def test_a_damaged_replay_file_is_a_malformed_failure_not_missing(tmp_path: Path) -> None:
    """A snapshot edited after the run (seal broken) is refused: its request gets a
    FetchFailure of kind malformed naming the file; the untouched ones still replay."""
    copy = tmp_path / "snapshots"
    shutil.copytree(demo_snapshot_dir(), copy)
    target = next(copy.glob("G1-graphql_query_p95-*.json"))
    target.write_text(target.read_text().replace('"0.2357142857142857"', '"0.1"', 1))
    loaded = load_matrix(None)
    replay = ReplaySource(copy)
    assert replay.index is not None
    got = capture(
        CaptureRequest(
            matrix=loaded.matrix,
            gate_ids=["G1"],
            at=replay.index.evaluated_at,
            prometheus=replay,
        )
    )
    failures = [s for s in got.prometheus.values() if isinstance(s, FetchFailure)]
    assert len(failures) == 1
    assert failures[0].kind == "malformed"
    assert target.name in failures[0].message
    others = len(loaded.matrix.gate("G1").objectives) - 1
    assert (
        sum(isinstance(s, Snapshot) for s in got.prometheus.values()) == others
    )  # positive control
