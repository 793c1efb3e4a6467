"""The notebooks: shipped clean, found by the package, executed by papermill to render each
gate's report, and checked against the library's verdict (never replacing it)."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

import igkit.cli.go_no_go
from igkit.cli.main import main
from igkit.demo import demo_snapshot_dir, demo_trust_dir
from igkit.errors import ConfigError
from igkit.explore import load_run, open_run, shown_gate
from igkit.report.notebooks import (
    GENERIC_NOTEBOOK,
    GateReport,
    execute_gates,
    gate_notebooks,
    kernel_env,
    kernel_manager_class,
    notebooks_dir,
    read_report_failures,
)
from igkit.spec.loader import load_matrix, parse_matrix
from igkit.verdicts import GateVerdict, RunVerdicts, Status
from tests.notebooks import make_notebooks
from tests.support.prometheus import PrometheusServer
from tests.support.scenarios import SCENARIOS

NOTEBOOKS = notebooks_dir()
ALL = sorted(NOTEBOOKS.glob("*.ipynb"))
CANARY = "igkit-canary-7f3c9a1e5d"
GATES = [g.id for g in load_matrix(None).matrix.gates]
K6_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "k6"
DEFAULT_MATRIX = Path(__file__).resolve().parents[2] / "igkit" / "spec" / "default.yaml"
QE_PARAMETERS = {
    "gate",
    "prom_url",
    "at",
    "window",
    "tenant",
    "select",
    "snapshot_dir",
    "k6_files",
    "evidence_dir",
    "trust_dir",
    "matrix",
    "out_dir",
    "verdict_out",
}


def test_checkout_notebooks_are_the_top_level_directory() -> None:
    assert Path(__file__).resolve().parents[2] / "notebooks" == NOTEBOOKS


def test_every_expected_notebook_exists() -> None:
    expected = {f"{n}.ipynb" for n in make_notebooks.GATES} | {f"{GENERIC_NOTEBOOK}.ipynb"}
    expected |= {"go_no_go.ipynb", "war_room.ipynb", "finops_cost_burn.ipynb"}
    expected |= {"finops_cost_burn_focus.ipynb"}  # the same notebook, FOCUS input by default
    assert {p.name for p in ALL} == expected
    assert set(gate_notebooks()) == set(make_notebooks.GATES) | {GENERIC_NOTEBOOK}


def test_the_shipped_matrix_names_a_dedicated_notebook_for_each_gate() -> None:
    gates = load_matrix(None).matrix.gates
    assert [g.notebook for g in gates] == list(make_notebooks.GATES)


def _parameters(nb: nbformat.NotebookNode) -> set[str]:
    params = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    return {
        line.split("=", 1)[0].strip()
        for line in params.source.splitlines()
        if "=" in line and not line.startswith("#")
    }


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.stem)
def test_notebook_is_committed_clean(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert "papermill" not in nb.metadata
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name}: a cell has outputs"
            assert cell.execution_count is None, f"{path.name}: a cell has an execution count"
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1
    assert nb.cells.index(params[0]) == 1
    text = params[0].source.lower()
    for word in ("token", "password", "secret", "credential =", "api_key"):
        assert word not in text
    assert 'snapshot_dir = ""' in params[0].source
    assert 'matrix = ""' in params[0].source
    if path.stem in gate_notebooks():
        assert _parameters(nb) == QE_PARAMETERS
    source = "".join(c.source for c in nb.cells)
    assert "80" not in source.replace("# ", ""), "a threshold in a notebook"


def test_notebooks_match_generator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(make_notebooks, "NOTEBOOKS", tmp_path)
    make_notebooks.main()
    assert sorted(p.name for p in tmp_path.iterdir()) == [p.name for p in ALL]
    for path in ALL:
        assert (tmp_path / path.name).read_text() == path.read_text(), path.name


def test_kernel_is_the_current_interpreter_without_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = kernel_manager_class()(kernel_name="python3").kernel_spec
    assert spec.argv[0] == sys.executable
    monkeypatch.setenv("IGKIT_PROM_TOKEN", CANARY)
    monkeypatch.setenv("IGKIT_PROM_PASSWORD", CANARY)
    env = kernel_env()
    assert CANARY not in env.values()
    assert env["PYTHONPATH"].split(os.pathsep)[0] == str(NOTEBOOKS.parent)


def _matrix_with(tmp_path: Path, old: str, new: str, name: str = "m.yaml") -> Path:
    text = DEFAULT_MATRIX.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / name
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_a_notebook_the_package_does_not_ship_is_a_matrix_error(tmp_path: Path) -> None:
    for bad in ("G1_nope", "war_room"):  # unknown; shipped but not a gate notebook
        path = _matrix_with(tmp_path, "notebook: G1_slo_baseline", f"notebook: {bad}")
        with pytest.raises(ConfigError, match=r"gates\[0\]\(G1\)\.notebook: unknown notebook"):
            load_matrix(path)
    path = _matrix_with(tmp_path, "notebook: G1_slo_baseline", "notebook: ../G1_slo_baseline")
    with pytest.raises(ConfigError, match=r"notebook"):
        load_matrix(path)
    control = _matrix_with(tmp_path, "notebook: G1_slo_baseline", "notebook: G2_ingest_health")
    assert load_matrix(control).matrix.gate("G1").notebook == "G2_ingest_health"


def _library(matrix: Path | None = None) -> RunVerdicts:
    return load_run("", matrix).verdicts()


@pytest.fixture(scope="module")
def executed(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Path, dict[str, GateReport]]]:
    out = tmp_path_factory.mktemp("gates")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("IGKIT_PROM_TOKEN", CANARY)
        mp.setenv("IGKIT_PROM_PASSWORD", CANARY)
        yield (
            out,
            execute_gates(
                _library().gates,
                demo_snapshot_dir(),
                out,
                trust=demo_trust_dir(),
                progress=False,
                timeout=300,
            ),
        )


def test_every_gate_report_renders_and_agrees_with_the_library(
    executed: tuple[Path, dict[str, GateReport]],
) -> None:
    out, reports = executed
    expected = {g.id: g for g in _library().gates}
    assert list(reports) == GATES
    for gate in GATES:
        assert reports[gate].failure is None, reports[gate].failure
        on_disk = GateVerdict.model_validate_json(
            (out / "notebooks" / f"{gate}.verdict.json").read_bytes()
        )
        assert on_disk.model_dump() == expected[gate].model_dump()
        assert reports[gate].notebook.is_file()
        assert reports[gate].notebook.name.startswith(f"{gate}_")
    assert read_report_failures(out) == {}
    status = json.loads((out / "notebooks" / "reports.json").read_text())
    assert [g["status"] for g in status["gates"]] == ["ok"] * len(GATES)


def _outputs(nb: dict) -> str:  # type: ignore[type-arg]
    """Every output a notebook produced (text, HTML tables, image types), not its source."""
    parts = []
    for cell in nb["cells"]:
        for o in cell.get("outputs", []):
            parts.append("".join(o.get("text", "")))
            for mime, data in o.get("data", {}).items():
                parts.append(mime)
                if mime.startswith("text/"):
                    parts.append("".join(data))
    return "\n".join(parts)


def _page_status(shown: str, gate: str) -> str | None:
    """The status badge in the header of ``gate``'s report page in a notebook's outputs."""
    found = re.search(rf'<h2>{gate} — [^<]*<span class="igk-badge"[^>]*>([A-Z_]+)</span>', shown)
    return found.group(1) if found else None


def test_g5_report_plots_the_k6_windows_against_the_matrix(
    executed: tuple[Path, dict[str, GateReport]],
) -> None:
    _, reports = executed
    shown = _outputs(json.loads(reports["G5"].notebook.read_text()))
    assert "k6 results per window" in shown
    assert "graphql_reads" in shown
    assert "≤ 350 ms" in shown  # graphql_reads p95 threshold, from the matrix
    assert _page_status(shown, "G5") == "PASS"


def test_series_gate_reports_show_their_frames(
    executed: tuple[Path, dict[str, GateReport]],
) -> None:
    _, reports = executed
    shown = _outputs(json.loads(reports["G1"].notebook.read_text()))
    assert "data:image/png;base64," in shown  # each objective's chart, embedded
    assert "graphql_query_p95" in shown
    assert "PromQL sent" in shown
    assert _page_status(shown, "G1") == "PASS"


def test_gate_reports_show_the_page_and_no_developer_text(
    executed: tuple[Path, dict[str, GateReport]],
) -> None:
    """What an auditor reads: the auditor wording, the page; no code names, no pandas frame,
    no repr of a path or a dict (the regressions of issue 10)."""
    _, reports = executed
    for gate in GATES:
        nb = json.loads(reports[gate].notebook.read_text())
        markdown = "".join(
            "".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"
        )
        assert f"# {gate} — " in markdown
        assert "What this gate checks:" in markdown
        shown = _outputs(nb)
        assert _page_status(shown, gate) == "PASS"
        for developer in ("verdict_out", "PosixPath", "dataframe", "VERDICT ", "record_verdict"):
            assert developer not in shown, (gate, developer)
            assert developer not in markdown, (gate, developer)


def test_executed_notebooks_record_only_paths_and_ids(
    executed: tuple[Path, dict[str, GateReport]],
) -> None:
    _, reports = executed
    nb = json.loads(reports["G1"].notebook.read_text())
    assert set(nb["metadata"]["papermill"]["parameters"]) == {
        "snapshot_dir",
        "matrix",
        "trust_dir",  # a directory path: anchors, never a secret
        "gate",
        "verdict_out",
    }


def test_canary_token_never_reaches_outputs(executed: tuple[Path, dict[str, GateReport]]) -> None:
    out, _ = executed
    files = [p for p in out.rglob("*") if p.is_file()]
    assert len(files) >= 17
    for path in files:
        assert CANARY.encode() not in path.read_bytes(), path


def test_broken_and_hanging_notebooks_fail_their_report_not_the_verdict(tmp_path: Path) -> None:
    broken = nbformat.read(NOTEBOOKS / "G1_slo_baseline.ipynb", as_version=4)
    broken.cells.insert(3, nbformat.v4.new_code_cell('raise RuntimeError("boom in G1")'))
    broken.cells[3]["id"] = "broken"
    hanging = nbformat.read(NOTEBOOKS / "G2_ingest_health.ipynb", as_version=4)
    hanging.cells.insert(2, nbformat.v4.new_code_cell("import time\ntime.sleep(120)"))
    hanging.cells[2]["id"] = "hang"
    paths = {"G1": tmp_path / "broken.ipynb", "G2": tmp_path / "hang.ipynb"}
    nbformat.write(broken, paths["G1"])
    nbformat.write(hanging, paths["G2"])
    library = [g for g in _library().gates if g.id in ("G1", "G2", "G4")]
    before = [g.model_dump() for g in library]
    cwd = Path.cwd()
    reports = execute_gates(
        library,
        demo_snapshot_dir(),
        tmp_path / "out",
        trust=demo_trust_dir(),
        notebooks=paths,
        timeout=15,  # per cell: the honest cells before the broken one need a few seconds on a loaded 2-core machine
        progress=False,
    )
    assert Path.cwd() == cwd  # parallel runs never chdir the process
    assert [g.model_dump() for g in library] == before  # a rendering problem changes no verdict
    # papermill injects its parameters cell after the tagged one: the raising cell is index 4
    assert "cell 4 raised RuntimeError: boom in G1" in (reports["G1"].failure or "")
    assert "cell 3 timed out" in (reports["G2"].failure or "")
    assert reports["G4"].failure is None  # positive control
    failures = read_report_failures(tmp_path / "out")
    assert set(failures) == {"G1", "G2"}


def test_a_notebook_that_computes_another_verdict_fails_its_report(tmp_path: Path) -> None:
    strict = _matrix_with(
        tmp_path, "threshold: {value: 350, unit: ms}", "threshold: {value: 200, unit: ms}"
    )
    library = _library(strict).gates[0]
    assert library.status is Status.FAIL
    reports = execute_gates(
        [library],
        demo_snapshot_dir(),
        tmp_path / "ok",
        matrix=strict,
        trust=demo_trust_dir(),
        progress=False,
    )
    assert reports["G1"].failure is None  # the notebook got the matrix: same FAIL
    # the library judged with the shipped matrix; the notebook re-computes with the strict one
    reports = execute_gates(
        [_library().gates[0]],
        demo_snapshot_dir(),
        tmp_path / "mismatch",
        matrix=strict,
        trust=demo_trust_dir(),
        progress=False,
    )
    failure = reports["G1"].failure or ""
    assert "the notebook computed FAIL, the library PASS" in failure
    assert "differ at status" in failure


def test_a_gate_without_a_notebook_renders_with_the_generic_one(tmp_path: Path) -> None:
    text = DEFAULT_MATRIX.read_text(encoding="utf-8")
    g1 = text[text.index("  - id: G1") : text.index("  - id: G2")]
    g9 = g1.replace("id: G1", "id: G9").replace("    notebook: G1_slo_baseline\n", "")
    matrix = tmp_path / "g9.yaml"
    after_gates = re.search(r"^\S", text[text.index("\ngates:") + 8 :], re.MULTILINE)
    end = len(text) if after_gates is None else text.index("\ngates:") + 8 + after_gates.start()
    matrix.write_text(text[:end] + g9 + text[end:], encoding="utf-8")
    loaded = parse_matrix(matrix.read_text(), source=str(matrix), base_dir=tmp_path)
    assert loaded.matrix.gate("G9").notebook is None
    library = [g for g in load_run("", matrix).verdicts().gates if g.id == "G9"]
    assert library[0].status is Status.PASS
    reports = execute_gates(
        library,
        demo_snapshot_dir(),
        tmp_path / "out",
        matrix=matrix,
        trust=demo_trust_dir(),
        progress=False,
    )
    assert reports["G9"].failure is None, reports["G9"].failure
    assert reports["G9"].notebook.name == "G9_gate.ipynb"
    shown = _outputs(json.loads(reports["G9"].notebook.read_text()))
    assert _page_status(shown, "G9") == "PASS"
    assert "image/png" in shown


def test_open_run_shows_a_gate_of_the_matrix() -> None:
    run = open_run()
    assert shown_gate(run, "") == GATES[0]  # the generic notebook's default: the first gate
    with pytest.raises(ConfigError, match="unknown gate 'G42'"):
        open_run(gate="G42")
    assert open_run(gate="G3").gate("G3").status is Status.PASS


def _papermill(name: str, out: Path, **parameters: object) -> dict:  # type: ignore[type-arg]
    import papermill as pm

    target = out / f"{name}.ipynb"
    pm.execute_notebook(
        str(NOTEBOOKS / f"{name}.ipynb"),
        str(target),
        parameters=parameters,
        kernel_name="python3",
        kernel_manager_class=kernel_manager_class(),
        progress_bar=False,
        resources={"metadata": {"path": str(out)}},
        execution_timeout=300,
    )
    return json.loads(target.read_text())


def test_go_no_go_notebook(tmp_path: Path) -> None:
    nb = _papermill("go_no_go", tmp_path, verdict_out=str(tmp_path / "verdicts.json"))
    assert "DECISION GO" in _outputs(nb)
    written = RunVerdicts.model_validate_json((tmp_path / "verdicts.json").read_bytes())
    assert written.model_dump() == load_run("").verdicts().model_dump()


def test_war_room_notebook(tmp_path: Path) -> None:
    from tests.conductor.test_board import recorded

    cutover = recorded(tmp_path / "cutover")
    nb = _papermill(
        "war_room", tmp_path, output_dir=str(tmp_path / "board"), cutover_dir=str(cutover)
    )
    stage_cell = nb["cells"][-1]  # the stage board of the recorded cutover, then its timeline
    kinds = [o.get("output_type") for o in stage_cell["outputs"]]
    assert any("image/png" in o.get("data", {}) for o in stage_cell["outputs"]), kinds
    text = "".join("".join(o.get("text", "")) for o in stage_cell["outputs"])
    assert "T+30:00  judgement  ROLLBACK at 25%" in text
    assert (tmp_path / "board" / "war_room.png").read_bytes().startswith(b"\x89PNG")
    board = json.loads((tmp_path / "board" / "war_room.json").read_text())
    assert board["decision"] == "GO"
    assert len(board["gates"]) == 8
    ladder = board["cost_ladder"]  # the chosen matrix's ladder, the worst budget's tier
    assert (ladder["tier"], ladder["name"], ladder["objective"]) == (
        0,
        "No action",
        "G6/infra_budget_burn",
    )
    assert ladder["text"].startswith("Tier 0 No action: infra month-to-date ")


@pytest.mark.prometheus
def test_a_gate_notebook_fetches_live_through_igkit_like_the_cli(
    prometheus: PrometheusServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("IGKIT_PROM_TOKEN", "IGKIT_PROM_PASSWORD"):  # set by the module's canary fixture
        monkeypatch.delenv(name, raising=False)
    at = SCENARIOS["all_green"].eval_time.isoformat()
    select = 'tenant="acme"'
    verdict = tmp_path / "G1.verdict.json"
    nb = _papermill(
        "G1_slo_baseline",
        tmp_path,
        prom_url=prometheus.url,
        at=at,
        select=select,
        out_dir=str(tmp_path / "nb-run"),
        verdict_out=str(verdict),
    )
    assert _page_status(_outputs(nb), "G1") == "PASS"
    assert "image/png" in _outputs(nb)
    assert list((tmp_path / "nb-run" / "snapshots").glob("*.json"))  # fetched into out_dir
    # the CLI with the same request, notebooks on: same verdict, and its report agrees
    monkeypatch.setattr(igkit.cli.go_no_go, "NOTEBOOKS_BY_DEFAULT", True)
    cli = tmp_path / "cli-run"
    args = ["go-no-go", "--gate", "G1", "--prom-url", prometheus.url, "--at", at]
    assert main([*args, "--select", select, "--out", str(cli)]) == 0
    assert read_report_failures(cli) == {}
    decided = RunVerdicts.model_validate_json((cli / "verdicts.json").read_bytes())
    shown = GateVerdict.model_validate_json(verdict.read_bytes())
    assert shown.model_dump() == decided.gates[0].model_dump()
    assert {s.labels["tenant"] for o in shown.objectives for s in o.series} == {"acme"}


@pytest.mark.prometheus
def test_the_g5_notebook_reads_k6_files_live(prometheus: PrometheusServer, tmp_path: Path) -> None:
    files = sorted(str(p) for p in (K6_FIXTURES / "green").iterdir() if p.is_file())
    nb = _papermill(
        "G5_perf_load",
        tmp_path,
        prom_url=prometheus.url,
        at=SCENARIOS["all_green"].eval_time.isoformat(),
        k6_files=files,
        verdict_out=str(tmp_path / "G5.json"),
    )
    shown = _outputs(nb)
    assert _page_status(shown, "G5") == "PASS"
    assert "p95 threshold" in shown
    assert "image/png" in shown
