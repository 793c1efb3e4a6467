"""igkit.explore and igkit.report.plots on the shipped demo sample (no server)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure

from igkit.demo import demo_snapshot_dir, demo_trust_dir
from igkit.explore import FRAME_COLUMNS, load_run, record_verdict, what_would_flip
from igkit.report.palette import STATUS_COLOURS
from igkit.report.plots import figure_png, plot_gate, plot_objective, war_room
from igkit.run import go_no_go
from igkit.sources.replay import ReplaySource
from igkit.spec.loader import load_matrix
from igkit.trust import resolve_trust
from igkit.verdicts import GateVerdict, Status

DEFAULT_MATRIX = Path(__file__).resolve().parents[1] / "igkit" / "spec" / "default.yaml"


@pytest.fixture(scope="module")
def run():  # type: ignore[no-untyped-def]
    return load_run("")


@pytest.fixture(scope="module")
def strict_run(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The demo sample judged by a matrix whose G1 query p95 target (200 ms) it misses."""
    text = DEFAULT_MATRIX.read_text(encoding="utf-8")
    # the query p95 comes first; the second is the reported-only p99's reference line
    assert text.count("threshold: {value: 350, unit: ms}") == 2
    path = tmp_path_factory.mktemp("matrix") / "strict.yaml"
    path.write_text(
        text.replace("threshold: {value: 350, unit: ms}", "threshold: {value: 200, unit: ms}", 1),
        encoding="utf-8",
    )
    return load_run(demo_snapshot_dir(), path, demo_trust_dir())


def test_load_run_takes_time_and_tenant_from_index(run) -> None:  # type: ignore[no-untyped-def]
    index = ReplaySource(demo_snapshot_dir()).index
    assert index is not None
    assert run.at == index.evaluated_at
    assert run.tenant == index.tenant
    assert run.gate_ids == [f"G{i}" for i in range(1, 9)]


def test_verdicts_identical_to_go_no_go_replay(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    loaded = load_matrix(None)
    replay = ReplaySource(demo_snapshot_dir())
    assert replay.index is not None
    expected = go_no_go(
        loaded,
        run.gate_ids,
        replay.index.evaluated_at,
        replay,
        tenant=replay.index.tenant,
        out=tmp_path / "out",
        source_label=f"replay {replay.directory}",
        k6=replay.k6,
        evidence=replay.evidence,
        trust=resolve_trust(loaded, trust_dir=demo_trust_dir()),  # load_run("") uses these
    )
    # snapshots_index_sha256 describes the index go_no_go *wrote*, not the judgement
    written = expected.model_copy(update={"snapshots_index_sha256": None})
    assert run.verdicts().model_dump() == written.model_dump()
    assert run.verdicts().decision == "GO"


def test_objective_frame_is_long_on_the_step_grid_in_threshold_unit(run) -> None:  # type: ignore[no-untyped-def]
    frame = run.objective_frame("G1", "graphql_query_p95")
    assert list(frame.columns) == FRAME_COLUMNS
    pq = run.planned[("G1", "graphql_query_p95")]
    steps = len(pq.request.grid())
    assert len(frame) == steps * frame["series"].nunique() == steps * 3
    assert frame["unit"].eq("ms").all()
    assert frame["threshold"].eq(350).all()
    assert 100 < frame["value"].max() < 350  # milliseconds, not seconds
    assert not frame["violating"].any()
    assert frame["present"].all()
    assert frame.attrs["status"] == "PASS"
    assert str(frame["time"].dt.tz) == "UTC"
    assert frame["time"].min() == pq.request.start
    assert frame["time"].max() == pq.request.end


def test_objective_frame_flags_violating_steps(strict_run) -> None:  # type: ignore[no-untyped-def]
    frame = strict_run.objective_frame("G1", "graphql_query_p95")
    expected = frame["present"] & ~(frame["value"] <= 200)
    assert frame["violating"].any()
    assert (frame["violating"] == expected).all()
    assert frame.attrs["status"] == "FAIL"


def test_budget_frame_matches_rule(run) -> None:  # type: ignore[no-untyped-def]
    frame = run.objective_frame("G6", "infra_budget_burn")
    observed = next(o for o in run.gate("G6").objectives if o.name == "infra_budget_burn")
    assert frame["series"].unique().tolist() == ["month_to_date"]
    assert frame["value"].iloc[-1] == pytest.approx(observed.observed)
    assert frame["value"].is_monotonic_increasing


def test_non_series_objective_has_no_frame(run) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(KeyError, match="not a Prometheus objective"):
        run.objective_frame("G3", "slsa_provenance")


def test_gate_and_summary_tables(run) -> None:  # type: ignore[no-untyped-def]
    table = run.gate_table("G1")
    assert list(table.columns) == [
        "objective",
        "status",
        "observed",
        "threshold",
        "coverage",
        "reasons",
    ]
    assert table["objective"].tolist() == [
        "graphql_query_p95",
        "graphql_mutation_p95",
        "graphql_query_p99",
        "neo4j_1hop_p95",
        "availability",
    ]
    assert table.loc[0, "threshold"] == "<= 350 ms"
    summary = run.summary_table()
    assert summary["gate"].tolist() == run.gate_ids
    assert summary["status"].eq("PASS").all()
    short = (summary["objectives"] - summary["passing"]).tolist()
    # G1: the reported-only Neo4j; G5: the reported-only journeys (go-no-go has no journeys run)
    assert short == [1 if g in ("G1", "G5") else 0 for g in run.gate_ids]


def test_what_would_flip(run, strict_run) -> None:  # type: ignore[no-untyped-def]
    assert what_would_flip(run).empty
    flips = what_would_flip(strict_run)
    assert flips[["gate", "objective", "status"]].values.tolist() == [
        ["G1", "graphql_query_p95", "FAIL"]
    ]
    assert flips.loc[0, "needs"].startswith("bring it down to <= 200 ms")


def test_record_verdict_is_the_model_dump(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert record_verdict(run.gate("G1"), "") is None
    path = record_verdict(run.gate("G1"), tmp_path / "sub" / "G1.json")
    assert path is not None
    back = GateVerdict.model_validate_json(path.read_bytes())
    assert back.model_dump() == run.gate("G1").model_dump()


def test_plots(run, strict_run) -> None:  # type: ignore[no-untyped-def]
    fig = plot_objective(strict_run.objective_frame("G1", "graphql_query_p95"))
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert "FAIL" in ax.get_title()
    labels = ax.get_legend_handles_labels()[1]
    assert "violating steps" in labels
    assert any(lab.startswith("threshold") for lab in labels)
    assert figure_png(fig).startswith(b"\x89PNG")
    gate_fig = plot_gate(run, "G6")
    assert gate_fig is not None
    assert len(gate_fig.axes) == 4
    assert plot_gate(run, "G3") is None


def test_war_room(run, strict_run) -> None:  # type: ignore[no-untyped-def]
    png, board = war_room(run)
    assert png.startswith(b"\x89PNG")
    assert board["read_only"] is True
    assert board["decision"] == "GO"
    assert [g["status"] for g in board["gates"]] == ["PASS"] * 8
    _, strict = war_room(strict_run)
    assert strict["decision"] == "NO-GO"
    assert strict["gates"][0]["status"] == "FAIL"
    assert strict["gates"][0]["colour"] == STATUS_COLOURS[Status.FAIL]
    assert np.unique([g["colour"] for g in strict["gates"]]).size == 2
