"""The notebooks: committed clean, executed by papermill, and agreeing with igkit.judge.evaluate."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

from igkit.explore import load_run
from igkit.report.notebooks import (
    GATE_NOTEBOOKS,
    CurrentInterpreterKernelManager,
    execute_gates,
    kernel_env,
    notebooks_dir,
)
from igkit.verdicts import GateVerdict, RunVerdicts, Status
from tests.notebooks import make_notebooks

NOTEBOOKS = notebooks_dir()
ALL = sorted(NOTEBOOKS.glob("*.ipynb"))
CANARY = "igkit-canary-7f3c9a1e5d"
GATES = list(GATE_NOTEBOOKS)
SAMPLE = Path(__file__).with_name("focus_sample.csv")


def test_every_expected_notebook_exists() -> None:
    expected = {f"{n}.ipynb" for n in GATE_NOTEBOOKS.values()}
    expected |= {"go_no_go.ipynb", "war_room.ipynb", "finops_cost_burn.ipynb"}
    assert {p.name for p in ALL} == expected


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
        assert word not in text.replace("never credentials", "")
    assert 'snapshot_dir = ""' in params[0].source
    assert 'matrix = ""' in params[0].source


def test_notebooks_match_generator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(make_notebooks, "NOTEBOOKS", tmp_path)
    make_notebooks.main()
    for path in ALL:
        assert (tmp_path / path.name).read_text() == path.read_text(), path.name


def test_kernel_is_the_current_interpreter_without_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = CurrentInterpreterKernelManager(kernel_name="python3").kernel_spec
    assert spec.argv[0] == sys.executable
    monkeypatch.setenv("IGKIT_PROM_TOKEN", CANARY)
    monkeypatch.setenv("IGKIT_PROM_PASSWORD", CANARY)
    env = kernel_env()
    assert CANARY not in env.values()
    assert env["PYTHONPATH"].split(os.pathsep)[0] == str(NOTEBOOKS.parent)


@pytest.fixture(scope="module")
def executed(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Path, dict[str, GateVerdict]]]:
    out = tmp_path_factory.mktemp("gates")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("IGKIT_PROM_TOKEN", CANARY)
        mp.setenv("IGKIT_PROM_PASSWORD", CANARY)
        yield out, execute_gates(None, GATES, out, progress=False, timeout=300)


def test_execute_gates_equals_evaluate(executed: tuple[Path, dict[str, GateVerdict]]) -> None:
    out, verdicts = executed
    expected = {g.id: g for g in load_run("").verdicts().gates}
    assert list(verdicts) == GATES
    for gate in GATES:
        assert verdicts[gate].model_dump() == expected[gate].model_dump(), gate
        on_disk = GateVerdict.model_validate_json(
            (out / "notebooks" / f"{gate}.verdict.json").read_bytes()
        )
        assert on_disk.model_dump() == expected[gate].model_dump()
        assert (out / "notebooks" / f"{GATE_NOTEBOOKS[gate]}.ipynb").is_file()


def test_executed_notebooks_record_only_paths_and_ids(
    executed: tuple[Path, dict[str, GateVerdict]],
) -> None:
    out, _ = executed
    nb = json.loads((out / "notebooks" / "G1_slo_baseline.ipynb").read_text())
    assert set(nb["metadata"]["papermill"]["parameters"]) == {
        "snapshot_dir",
        "matrix",
        "trust",  # a directory path: anchors, never a secret
        "gate",
        "verdict_out",
    }


def test_canary_token_never_reaches_outputs(executed: tuple[Path, dict[str, GateVerdict]]) -> None:
    out, _ = executed
    files = [p for p in out.rglob("*") if p.is_file()]
    assert len(files) >= 16
    for path in files:
        assert CANARY.encode() not in path.read_bytes(), path


def test_broken_and_hanging_notebooks_become_error_verdicts(tmp_path: Path) -> None:
    broken = nbformat.read(NOTEBOOKS / "G1_slo_baseline.ipynb", as_version=4)
    broken.cells.insert(3, nbformat.v4.new_code_cell('raise RuntimeError("boom in G1")'))
    broken.cells[3]["id"] = "broken"
    hanging = nbformat.read(NOTEBOOKS / "G2_ingest_health.ipynb", as_version=4)
    hanging.cells.insert(2, nbformat.v4.new_code_cell("import time\ntime.sleep(60)"))
    hanging.cells[2]["id"] = "hang"
    paths = {"G1": tmp_path / "broken.ipynb", "G2": tmp_path / "hang.ipynb"}
    nbformat.write(broken, paths["G1"])
    nbformat.write(hanging, paths["G2"])
    cwd = Path.cwd()
    verdicts = execute_gates(
        None, ["G1", "G2", "G4"], tmp_path / "out", notebooks=paths, timeout=5, progress=False
    )
    assert Path.cwd() == cwd  # parallel runs never chdir the process
    g1, g2, g4 = verdicts["G1"], verdicts["G2"], verdicts["G4"]
    assert g1.status is Status.ERROR
    assert g1.name == "SLO Baseline"
    # papermill injects its parameters cell after the tagged one: the raising cell is index 4
    assert "cell 4 raised RuntimeError: boom in G1" in g1.reasons[0]
    assert g2.status is Status.ERROR
    assert "cell 3 timed out after 5 s" in g2.reasons[0]
    assert g4.status is Status.PASS
    on_disk = GateVerdict.model_validate_json(
        (tmp_path / "out/notebooks/G1.verdict.json").read_bytes()
    )
    assert on_disk == g1


def _papermill(name: str, out: Path, **parameters: object) -> dict:  # type: ignore[type-arg]
    import papermill as pm

    target = out / f"{name}.ipynb"
    pm.execute_notebook(
        str(NOTEBOOKS / f"{name}.ipynb"),
        str(target),
        parameters=parameters,
        kernel_name="python3",
        kernel_manager_class=CurrentInterpreterKernelManager,
        progress_bar=False,
        resources={"metadata": {"path": str(out)}},
        execution_timeout=300,
    )
    return json.loads(target.read_text())


def _text(nb: dict) -> str:  # type: ignore[type-arg]
    return "".join(
        "".join(o.get("text", ""))
        for c in nb["cells"]
        if c["cell_type"] == "code"
        for o in c["outputs"]
    )


def test_go_no_go_notebook(tmp_path: Path) -> None:
    nb = _papermill("go_no_go", tmp_path, verdict_out=str(tmp_path / "verdicts.json"))
    assert "DECISION GO" in _text(nb)
    written = RunVerdicts.model_validate_json((tmp_path / "verdicts.json").read_bytes())
    assert written.model_dump() == load_run("").verdicts().model_dump()


def test_war_room_notebook(tmp_path: Path) -> None:
    _papermill("war_room", tmp_path, output_dir=str(tmp_path / "board"))
    assert (tmp_path / "board" / "war_room.png").read_bytes().startswith(b"\x89PNG")
    board = json.loads((tmp_path / "board" / "war_room.json").read_text())
    assert board["decision"] == "GO"
    assert len(board["gates"]) == 8


@pytest.mark.parametrize(
    "parameters",
    [{}, {"source": "focus-csv", "focus_csv": str(SAMPLE), "budget": "infra", "alert_pct": 50.0}],
    ids=["prometheus-snapshots", "focus-csv"],
)
def test_finops_notebook(tmp_path: Path, parameters: dict[str, object]) -> None:
    nb = _papermill("finops_cost_burn", tmp_path, **parameters)
    # outputs only: the notebook's source names month_to_date_usd too
    outputs = json.dumps([o for c in nb["cells"] if c["cell_type"] == "code" for o in c["outputs"]])
    assert "image/png" in outputs
    assert "month_to_date_usd" in outputs


def test_execute_gates_passes_the_matrix(tmp_path: Path) -> None:
    text = (NOTEBOOKS.parent / "igkit" / "spec" / "default.yaml").read_text(encoding="utf-8")
    strict = tmp_path / "strict.yaml"
    strict.write_text(
        text.replace("threshold: {value: 350, unit: ms}", "threshold: {value: 200, unit: ms}"),
        encoding="utf-8",
    )
    verdicts = execute_gates(None, ["G1"], tmp_path / "out", matrix=strict, progress=False)
    expected = load_run("", strict).gate("G1")
    assert expected.status is Status.FAIL
    assert verdicts["G1"].model_dump() == expected.model_dump()
