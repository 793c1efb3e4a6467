"""Execute the gate notebooks with papermill, one kernel per gate, and collect their verdicts.

Kernel: every notebook runs on **the interpreter running this code** (``sys.executable``),
whatever ``python3`` kernelspec a user or system Jupyter directory holds. papermill is given
``kernel_name="python3"`` (what the notebooks declare) together with a kernel manager class
whose kernel spec is built from ``sys.executable``; nothing is installed or written to any
Jupyter data directory, and no environment variable of this process is changed.

Secrets: papermill records the parameters in the executed notebook (the injected cell and
``metadata.papermill.parameters``), so only paths and gate ids are passed. The kernel is
started without the ``IGKIT_PROM_*`` credential variables, so no notebook code can print them.

A notebook that raises, or a cell that times out, turns its gate into an ERROR verdict that
names the cell index and the exception; the other gates still run.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from importlib import resources
from pathlib import Path
from typing import Any

from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import AsyncKernelManager

from igkit import atomic, rundir
from igkit.redact import redact_data, secrets
from igkit.verdicts import GateVerdict, Status

KERNEL_NAME = "python3"
SECRET_ENV_PREFIXES = ("IGKIT_PROM_",)
SECRET_ENV_NAMES = frozenset({"IGKIT_PROM_TOKEN", "IGKIT_PROM_PASSWORD", "IGKIT_PROM_USERNAME"})

GATE_NOTEBOOKS = {
    "G1": "G1_slo_baseline",
    "G2": "G2_ingest_health",
    "G3": "G3_supply_chain",
    "G4": "G4_policy_access",
    "G5": "G5_perf_load",
    "G6": "G6_cost_guardrails",
    "G7": "G7_dr_readiness",
    "G8": "G8_support_comms",
}


def notebooks_dir() -> Path:
    """The repository's ``notebooks/`` (next to the ``igkit`` package in a checkout)."""
    return Path(str(resources.files("igkit"))).parent / "notebooks"


def kernel_env() -> dict[str, str]:
    """This process's environment minus credential variables, with the directory holding the
    running ``igkit`` first on ``PYTHONPATH`` so the kernel imports the very same code."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in SECRET_ENV_NAMES and not k.startswith(SECRET_ENV_PREFIXES)
    }
    root = str(Path(str(resources.files("igkit"))).parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    return env


class CurrentInterpreterKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel is always ``sys.executable -m ipykernel_launcher``."""

    @property
    def kernel_spec(self) -> KernelSpec:
        return KernelSpec(
            argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            display_name=f"Python 3 ({sys.executable})",
            language="python",
            env={},
            resource_dir="",
        )

    async def _async_pre_start_kernel(self, **kw: Any) -> tuple[list[str], dict[str, Any]]:
        kw["env"] = kernel_env()
        result: tuple[list[str], dict[str, Any]] = await super()._async_pre_start_kernel(**kw)
        return result


def _error_verdict(gate_id: str, name: str, reason: str) -> GateVerdict:
    return GateVerdict(
        id=gate_id,
        name=name,
        status=Status.ERROR,
        reasons=[reason],
        objectives=[],
    )


def _last_started_cell(output: Path) -> int | None:
    """Index of the last cell papermill started, from the output notebook it saved.

    papermill marks every cell "completed" when the notebook ends, even after a timeout, but
    only cells it started carry a ``start_time``: the timed-out cell is the last of those."""
    try:
        nb = json.loads(output.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # the output may not exist if the kernel never started
        return None
    started = [
        index
        for index, cell in enumerate(nb.get("cells", []))
        if cell.get("metadata", {}).get("papermill", {}).get("start_time")
    ]
    return started[-1] if started else None


def execute_gate(
    gate_id: str,
    snapshot_dir: Path | None,
    out_dir: Path,
    *,
    matrix: Path | None = None,
    notebook: Path | None = None,
    timeout: float = 600,
    gate_name: str | None = None,
    trust: Path | None = None,
) -> GateVerdict:
    """papermill-execute one gate notebook; every failure becomes this gate's ERROR verdict."""
    import papermill as pm  # type: ignore[import-untyped]
    from papermill.exceptions import PapermillExecutionError  # type: ignore[import-untyped]

    stem = GATE_NOTEBOOKS.get(gate_id, gate_id)
    name = gate_name or gate_id
    source = notebook or notebooks_dir() / f"{stem}.ipynb"
    target_dir = out_dir.resolve() / "notebooks"
    target_dir.mkdir(parents=True, exist_ok=True)
    output = target_dir / f"{stem}.ipynb"
    verdict_path = target_dir / f"{gate_id}.verdict.json"
    verdict_path.unlink(missing_ok=True)
    rundir.register(output)  # before papermill writes it: the next run into out removes it
    rundir.register(verdict_path)
    parameters = {  # paths and ids only: papermill records these in the output notebook
        # absolute: the kernel runs in out_dir/notebooks/
        "snapshot_dir": str(Path(snapshot_dir).resolve()) if snapshot_dir else "",
        "matrix": str(Path(matrix).resolve()) if matrix else "",
        "trust": str(Path(trust).resolve()) if trust else "",
        "gate": gate_id,
        "verdict_out": str(verdict_path),
    }
    label = f"{gate_id} notebook {source.name}"
    try:
        pm.execute_notebook(
            str(source),
            str(output),
            parameters=parameters,
            kernel_name=KERNEL_NAME,
            kernel_manager_class=CurrentInterpreterKernelManager,
            execution_timeout=timeout,
            progress_bar=False,
            log_output=False,
            # the kernel starts in target_dir; papermill's cwd= would chdir the whole process
            resources={"metadata": {"path": str(target_dir)}},
        )
        redact_notebook(output)
    except PapermillExecutionError as exc:
        redact_notebook(output)
        verdict = _error_verdict(
            gate_id,
            name,
            f"{label}: cell {exc.cell_index} raised {exc.ename}: {exc.evalue}",
        )
    except TimeoutError as exc:  # nbclient's CellTimeoutError is a TimeoutError
        cell = _last_started_cell(output)
        where = f"cell {cell}" if cell is not None else "a cell"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        verdict = _error_verdict(
            gate_id, name, f"{label}: {where} timed out after {timeout:g} s ({first})"
        )
    except Exception as exc:  # kernel died, notebook missing, ...: this gate only
        verdict = _error_verdict(gate_id, name, f"{label}: {type(exc).__name__}: {exc}")
    else:
        if not verdict_path.is_file():
            verdict = _error_verdict(
                gate_id, name, f"{label}: ran but wrote no verdict to {verdict_path.name}"
            )
        else:
            try:
                return GateVerdict.model_validate_json(verdict_path.read_bytes())
            except ValueError as exc:
                verdict = _error_verdict(
                    gate_id, name, f"{label}: unreadable verdict {verdict_path.name}: {exc}"
                )
    verdict = GateVerdict.model_validate(redact_data(verdict.model_dump()))
    atomic.write_bytes(verdict_path, verdict.model_dump_json(indent=2).encode() + b"\n")
    return verdict


def redact_notebook(path: Path) -> None:
    """Rewrite an executed notebook without any configured secret (outputs, parameters).

    The kernel never sees the credential variables, but a notebook may print text that a
    server echoed back; the notebook is rewritten as data so it stays valid JSON."""
    if not secrets() or not path.is_file():
        return
    data = json.loads(path.read_bytes())
    clean = redact_data(data)
    if clean != data:
        atomic.write_bytes(path, json.dumps(clean, indent=1, ensure_ascii=False).encode() + b"\n")


def _close_thread_loop() -> None:
    """Close the event loop nbclient left in this worker thread (else: ResourceWarning)."""
    import asyncio

    with contextlib.suppress(RuntimeError):
        loop = asyncio.get_event_loop_policy().get_event_loop()
        if not loop.is_running() and not loop.is_closed():
            loop.close()
        asyncio.set_event_loop(None)


def _gate_names(matrix: Path | None) -> dict[str, str]:
    """Gate id -> name from the matrix (for ERROR verdicts); empty if the matrix is unusable."""
    from igkit.errors import IgkitError
    from igkit.spec.loader import load_matrix

    try:
        return {g.id: g.name for g in load_matrix(matrix).matrix.gates}
    except IgkitError:
        return {}


def _progress(total: int, enabled: bool) -> Callable[[str, GateVerdict, float], None]:
    if not enabled:
        return lambda gate, verdict, seconds: None
    try:
        from tqdm import tqdm  # type: ignore[import-untyped]
    except ImportError:
        done = [0]

        def line(gate: str, verdict: GateVerdict, seconds: float) -> None:
            done[0] += 1
            print(
                f"igkit notebooks [{done[0]}/{total}] {gate} {verdict.status.value} ({seconds:.1f} s)",
                file=sys.stderr,
                flush=True,
            )

        return line
    bar = tqdm(total=total, desc="gate notebooks", file=sys.stderr, unit="gate")

    def tick(gate: str, verdict: GateVerdict, seconds: float) -> None:
        bar.set_postfix_str(f"{gate} {verdict.status.value}")
        bar.update(1)
        if bar.n >= total:
            bar.close()

    return tick


def execute_gates(
    snapshot_dir: Path | None,
    gate_ids: Iterable[str],
    out_dir: Path,
    *,
    matrix: Path | None = None,
    workers: int | None = os.cpu_count(),
    timeout: float = 600,
    progress: bool = True,
    notebooks: dict[str, Path] | None = None,
    trust: Path | None = None,
) -> dict[str, GateVerdict]:
    """Execute each gate's notebook (in parallel, one kernel per gate, up to ``workers``).

    Executed notebooks go to ``out_dir/notebooks/`` and verdicts to
    ``out_dir/notebooks/<gate>.verdict.json``; returns gate id -> verdict in ``gate_ids``
    order. ``notebooks`` overrides the notebook used for a gate (tests use it)."""
    ids = list(dict.fromkeys(gate_ids))
    names = _gate_names(matrix)
    overrides = notebooks or {}
    report = _progress(len(ids), progress)
    results: dict[str, GateVerdict] = {}

    def one(gate_id: str) -> tuple[str, GateVerdict, float]:
        started = time.monotonic()
        try:
            verdict = execute_gate(
                gate_id,
                snapshot_dir,
                out_dir,
                matrix=matrix,
                notebook=overrides.get(gate_id),
                timeout=timeout,
                gate_name=names.get(gate_id),
                trust=trust,
            )
        finally:
            _close_thread_loop()
        return gate_id, verdict, time.monotonic() - started

    with ThreadPoolExecutor(max_workers=max(1, min(workers or 1, len(ids) or 1))) as pool:
        futures = [pool.submit(one, g) for g in ids]
        for future in as_completed(futures):
            gate_id, verdict, seconds = future.result()
            results[gate_id] = verdict
            report(gate_id, verdict, seconds)
    return {g: results[g] for g in ids}
