"""Execute the gate notebooks with papermill to render each gate's report — never to judge.

Where: the notebooks are package data (``igkit/notebooks/*.ipynb`` in the wheel; the
checkout's top-level ``notebooks/`` in an editable install), see :func:`notebooks_dir`.
Which: a matrix gate names its notebook (``notebook:``); a gate without one renders with the
generic ``gate`` notebook, so any gate id works.

Verdicts: the decision is the library's (``igkit.run``). Each notebook re-computes its gate's
verdict through the same library call and records it; :func:`execute_gates` checks that it
equals the library's and reports every difference, raised cell, timeout or kernel that did not
start as that gate's report failure (:class:`GateReport`). Nothing here changes a verdict.

Kernel: every notebook runs on **the interpreter running this code** (``sys.executable``),
whatever ``python3`` kernelspec a user or system Jupyter directory holds; nothing is installed
or written to any Jupyter data directory, and no environment variable of this process changes.

Secrets: papermill records the parameters in the executed notebook (the injected cell and
``metadata.papermill.parameters``), so only paths and gate ids are passed. The kernel is
started without the ``IGKIT_PROM_*`` credential variables, so no notebook code can print them.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from igkit import atomic, rundir
from igkit.errors import ConfigError
from igkit.redact import redact, redact_data, secrets
from igkit.verdicts import GateVerdict

if TYPE_CHECKING:
    from jupyter_client.manager import AsyncKernelManager

    from igkit.spec.models import Matrix

KERNEL_NAME = "python3"
SECRET_ENV_PREFIXES = ("IGKIT_PROM_",)
SECRET_ENV_NAMES = frozenset({"IGKIT_PROM_TOKEN", "IGKIT_PROM_PASSWORD", "IGKIT_PROM_USERNAME"})
GENERIC_NOTEBOOK = "gate"
GATE_ROLE = "gate"  # notebook metadata ``igkit.role``: a notebook that renders one gate
KERNEL_START_TIMEOUT = 180  # s (an int for papermill); loaded machines start kernels slowly
REPORTS_FILE = "reports.json"  # out/notebooks/reports.json: each gate's report, ok or failed
KERNEL_LOG = "kernels.log"
"""out/notebooks/kernels.log: the kernels' own stderr (ipykernel's "running over TCP without
encryption" warning, a KeyboardInterrupt traceback at shutdown, a real crash) - kept out of the
console, kept for whoever debugs a failed report (its one-line failure names this file)."""


def _package_dir() -> Path:
    return Path(str(resources.files("igkit")))


def notebooks_dir() -> Path:
    """The shipped notebooks: ``igkit/notebooks/`` of an installed wheel, else the checkout's
    top-level ``notebooks/`` beside the package (editable install, ``PYTHONPATH``)."""
    package = _package_dir()
    for candidate in (package / "notebooks", package.parent / "notebooks"):
        if candidate.is_dir() and any(candidate.glob("*.ipynb")):
            return candidate
    raise ConfigError(
        "no notebooks shipped with igkit (expected igkit/notebooks/*.ipynb); reinstall igkit",
        where=str(package),
    )


def notebook_path(stem: str) -> Path:
    """The shipped notebook ``<stem>.ipynb``; a name that is not shipped is a ConfigError."""
    path = notebooks_dir() / f"{stem}.ipynb"
    if "/" in stem or "\\" in stem or stem.startswith(".") or not path.is_file():
        raise ConfigError(f"no notebook {stem!r} is shipped with igkit", where=str(path.parent))
    return path


@cache
def _role(path: Path, mtime_ns: int) -> str | None:
    from igkit.strictdoc import load_json

    try:
        data = load_json(path.read_bytes(), where=str(path))
    except (OSError, ValueError):  # DocumentError is a ValueError
        return None
    meta = data.get("metadata", {}) if isinstance(data, dict) else {}
    igkit_meta = meta.get("igkit", {}) if isinstance(meta, dict) else {}
    role = igkit_meta.get("role") if isinstance(igkit_meta, dict) else None
    return role if isinstance(role, str) else None


def gate_notebooks() -> list[str]:
    """Stems of the shipped notebooks that render one gate (metadata ``igkit.role: gate``)."""
    return sorted(
        p.stem
        for p in notebooks_dir().glob("*.ipynb")
        if _role(p, p.stat().st_mtime_ns) == GATE_ROLE
    )


def check_gate_notebooks(matrix: Matrix, source: str) -> None:
    """Every ``notebook:`` of the matrix names a shipped gate notebook (else ConfigError)."""
    named = [(i, g) for i, g in enumerate(matrix.gates) if g.notebook is not None]
    if not named:
        return
    known = gate_notebooks()
    for index, gate in named:
        if gate.notebook not in known:
            raise ConfigError(
                f"unknown notebook {gate.notebook!r} (gate notebooks shipped with igkit: "
                f"{', '.join(known)}; omit it for the generic {GENERIC_NOTEBOOK!r})",
                where=f"{source}: gates[{index}]({gate.id}).notebook",
            )


def notebook_for(matrix: Matrix, gate_id: str) -> str:
    """The notebook stem that renders ``gate_id``: the gate's own, else the generic one."""
    return matrix.gate(gate_id).notebook or GENERIC_NOTEBOOK


def report_stem(gate_id: str, notebook: str) -> str:
    """Executed notebook (and report) name: ``G1_slo_baseline``, or ``G9_gate`` for a gate
    rendered by a notebook not named after it; always starts ``<gate>_``."""
    return notebook if notebook.startswith(f"{gate_id}_") else f"{gate_id}_{notebook}"


def kernel_env() -> dict[str, str]:
    """This process's environment minus credential variables, with the directory holding the
    running ``igkit`` first on ``PYTHONPATH`` so the kernel imports the very same code."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in SECRET_ENV_NAMES and not k.startswith(SECRET_ENV_PREFIXES)
    }
    root = str(_package_dir().parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    return env


@cache
def kernel_manager_class() -> type[AsyncKernelManager]:
    """A kernel manager whose kernel is always ``sys.executable -m ipykernel_launcher``
    (built on first use: ``jupyter_client`` is imported only when a notebook runs)."""
    from jupyter_client.kernelspec import KernelSpec
    from jupyter_client.manager import AsyncKernelManager

    class CurrentInterpreterKernelManager(AsyncKernelManager):
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
            if kw.get("cwd") and "stderr" not in kw:
                kw["stderr"] = _kernel_log(Path(kw["cwd"]))
            result: tuple[list[str], dict[str, Any]] = await super()._async_pre_start_kernel(**kw)
            return result

        async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
            log = kw.get("stderr")
            try:
                await super()._async_launch_kernel(kernel_cmd, **kw)
            finally:  # the kernel holds its own copy of the descriptor
                if isinstance(log, int):
                    with contextlib.suppress(OSError):
                        os.close(log)

    return CurrentInterpreterKernelManager


def _kernel_log(directory: Path) -> int:
    """A file descriptor appending to ``directory/kernels.log`` for one kernel's stderr (the
    kernel process keeps its own copy; ours is closed once Popen has duplicated it)."""
    path = directory / KERNEL_LOG
    rundir.register(path)
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)


@dataclass(frozen=True)
class GateReport:
    """One gate's rendered notebook: ``failure`` is None when it ran and its verdict equals
    the library's, else one line saying what went wrong (the verdict is untouched)."""

    gate_id: str
    notebook: Path
    failure: str | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None


def _last_started_cell(output: Path) -> int | None:
    """Index of the last cell papermill started, from the output notebook it saved.

    papermill marks every cell "completed" when the notebook ends, even after a timeout, but
    only cells it started carry a ``start_time``: the timed-out cell is the last of those."""
    from igkit.strictdoc import load_json

    try:
        nb = load_json(output.read_bytes(), where=str(output))
    except (OSError, ValueError):  # the output may not exist if the kernel never started
        return None
    started = [
        index
        for index, cell in enumerate(nb.get("cells", []))
        if cell.get("metadata", {}).get("papermill", {}).get("start_time")
    ]
    return started[-1] if started else None


def _comparable(verdict: GateVerdict) -> Any:
    """A verdict as the JSON that is written (secrets redacted, as in ``verdicts.json``)."""
    return redact_data(verdict.model_dump(mode="json", by_alias=True))


def first_difference(a: Any, b: Any, path: str = "") -> str | None:
    """The JSON path of the first place ``a`` and ``b`` differ, with both values; None if equal."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in [*a, *(k for k in b if k not in a)]:
            found = first_difference(a.get(key), b.get(key), f"{path}.{key}" if path else key)
            if found:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list):
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            found = first_difference(x, y, f"{path}[{i}]")
            if found:
                return found
        if len(a) != len(b):
            return f"{path or '(top)'}: {len(a)} entries vs {len(b)}"
        return None
    if type(a) is not type(b) or a != b:  # JSON true is not 1
        return f"{path or '(top)'}: {json.dumps(a)[:80]} vs {json.dumps(b)[:80]}"
    return None


def _recorded_verdict(verdict_path: Path, expected: GateVerdict, label: str) -> str | None:
    """Why the verdict the notebook recorded is missing, unreadable or not the library's."""
    if not verdict_path.is_file():
        return f"{label}: ran but wrote no verdict to {verdict_path.name}"
    try:
        recorded = GateVerdict.model_validate_json(verdict_path.read_bytes())
    except ValueError as exc:
        first = str(exc).strip().splitlines()[0]
        return f"{label}: unreadable verdict {verdict_path.name}: {first}"
    diff = first_difference(_comparable(expected), _comparable(recorded))
    if diff is not None:
        return (
            f"{label}: the notebook computed {recorded.status.value}, the library "
            f"{expected.status.value}; they differ at {diff}"
        )
    return None


KERNEL_START_ATTEMPTS = 3
"""A kernel that dies before answering ``kernel_info`` ran no cell (e.g. a zmq port taken by
another kernel between jupyter_client choosing it and the kernel binding it, seen with parallel
kernels under load): it is started again, at most this many times in all."""


def _kernel_never_started(exc: RuntimeError) -> bool:
    return "before replying to kernel_info" in str(exc)


def execute_gate(
    expected: GateVerdict,
    snapshot_dir: Path,
    out_dir: Path,
    *,
    notebook: str,
    matrix: Path | None = None,
    source: Path | None = None,
    timeout: float = 600,
    trust: Path | None = None,
) -> GateReport:
    """papermill-execute ``notebook`` for the gate of ``expected`` (replaying
    ``snapshot_dir``) into ``out_dir/notebooks/``; never raises for a notebook problem."""
    import papermill as pm  # type: ignore[import-untyped]
    from papermill.exceptions import PapermillExecutionError  # type: ignore[import-untyped]

    gate_id = expected.id
    target_dir = out_dir.resolve() / "notebooks"
    target_dir.mkdir(parents=True, exist_ok=True)
    output = target_dir / f"{report_stem(gate_id, notebook)}.ipynb"
    verdict_path = target_dir / f"{gate_id}.verdict.json"
    verdict_path.unlink(missing_ok=True)
    rundir.register(output)  # before papermill writes it: the next run into out removes it
    rundir.register(verdict_path)
    parameters = {  # paths and ids only: papermill records these in the output notebook
        # absolute: the kernel runs in out_dir/notebooks/
        "snapshot_dir": str(snapshot_dir.resolve()),
        "matrix": str(matrix.resolve()) if matrix else "",
        "trust_dir": str(trust.resolve()) if trust else "",
        "gate": gate_id,
        "verdict_out": str(verdict_path),
    }
    label = f"{gate_id} report ({notebook}.ipynb)"
    failure: str | None
    try:
        path = source or notebook_path(notebook)
        for attempt in range(1, KERNEL_START_ATTEMPTS + 1):
            try:
                pm.execute_notebook(
                    str(path),
                    str(output),
                    parameters=parameters,
                    kernel_name=KERNEL_NAME,
                    kernel_manager_class=kernel_manager_class(),
                    execution_timeout=timeout,
                    start_timeout=KERNEL_START_TIMEOUT,
                    progress_bar=False,
                    log_output=False,
                    # the kernel starts in target_dir; papermill's cwd= would chdir the process
                    resources={"metadata": {"path": str(target_dir)}},
                )
                break
            except RuntimeError as exc:
                if attempt == KERNEL_START_ATTEMPTS or not _kernel_never_started(exc):
                    raise
    except PapermillExecutionError as exc:
        failure = f"{label}: cell {exc.cell_index} raised {exc.ename}: {exc.evalue}"
    except TimeoutError as exc:  # nbclient's CellTimeoutError and a kernel that did not start
        cell = _last_started_cell(output)
        where = f"cell {cell}" if cell is not None else "the kernel"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        failure = f"{label}: {where} timed out ({first}){_log_hint(target_dir)}"
    except Exception as exc:  # kernel died, notebook missing, ...: this gate's report only
        failure = f"{label}: {type(exc).__name__}: {exc}{_log_hint(target_dir)}"
    else:
        failure = _recorded_verdict(verdict_path, expected, label)
    redact_notebook(output)
    return GateReport(
        gate_id=gate_id,
        notebook=output,
        failure=None if failure is None else " ".join(redact(failure).split()),
    )


def _log_hint(target_dir: Path) -> str:
    log = target_dir / KERNEL_LOG
    return f" (kernel stderr in {log})" if log.is_file() and log.stat().st_size else ""


def redact_notebook(path: Path) -> None:
    """Rewrite an executed notebook without any configured secret (outputs, parameters).

    The kernel never sees the credential variables, but a notebook may print text that a
    server echoed back; the notebook is rewritten as data so it stays valid JSON."""
    if not secrets() or not path.is_file():
        return
    from igkit.strictdoc import load_json

    data = load_json(path.read_bytes(), where=str(path))
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


def _progress(total: int, enabled: bool | None) -> Callable[[GateReport, float], None]:
    """One stderr line per finished notebook while a terminal watches (``enabled`` None: when
    stderr is one); a failure is reported once, by the caller, either way."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return lambda report, seconds: None
    done = [0]

    def line(report: GateReport, seconds: float) -> None:
        done[0] += 1
        state = "rendered" if report.ok else "FAILED"
        print(
            f"igkit notebooks [{done[0]}/{total}] {report.gate_id} report {state} ({seconds:.1f} s)",
            file=sys.stderr,
            flush=True,
        )

    return line


def execute_gates(
    verdicts: Iterable[GateVerdict],
    snapshot_dir: Path,
    out_dir: Path,
    *,
    matrix: Path | None = None,
    workers: int | None = None,
    timeout: float = 600,
    progress: bool | None = None,
    notebooks: Mapping[str, Path] | None = None,
    trust: Path | None = None,
) -> dict[str, GateReport]:
    """Render each gate of ``verdicts`` with its notebook (in parallel, one kernel per gate,
    up to ``workers``, default the cores) over ``snapshot_dir``, checking each against the
    library's verdict. Executed notebooks and their verdicts go to ``out_dir/notebooks/``,
    the outcome to ``out_dir/notebooks/reports.json``; returns gate id -> report in order.
    ``notebooks`` replaces the notebook file used for a gate (tests use it)."""
    from igkit.spec.loader import load_matrix

    expected = {g.id: g for g in verdicts}
    loaded = load_matrix(matrix)
    stems = {gate_id: notebook_for(loaded.matrix, gate_id) for gate_id in expected}
    overrides = notebooks or {}
    report = _progress(len(expected), progress)
    results: dict[str, GateReport] = {}

    def one(gate_id: str) -> tuple[GateReport, float]:
        started = time.monotonic()
        try:
            done = execute_gate(
                expected[gate_id],
                snapshot_dir,
                out_dir,
                notebook=stems[gate_id],
                matrix=matrix,
                source=overrides.get(gate_id),
                timeout=timeout,
                trust=trust,
            )
        finally:
            _close_thread_loop()
        return done, time.monotonic() - started

    count = max(1, min(workers or os.cpu_count() or 1, len(expected) or 1))
    with ThreadPoolExecutor(max_workers=count) as pool:
        for future in as_completed([pool.submit(one, g) for g in expected]):
            done, seconds = future.result()
            results[done.gate_id] = done
            report(done, seconds)
    ordered = {g: results[g] for g in expected}
    write_reports_file(out_dir, ordered.values())
    return ordered


def write_reports_file(out_dir: Path, reports: Iterable[GateReport]) -> Path:
    """``notebooks/reports.json``: per gate its executed notebook and ``ok`` or the failure."""
    path = out_dir / "notebooks" / REPORTS_FILE
    rundir.register(path)
    atomic.write_json(
        path,
        {
            "schema": "igkit.reports/v1",
            "gates": [
                {
                    "gate": r.gate_id,
                    "notebook": r.notebook.name,
                    "status": "ok" if r.ok else "failed",
                    "failure": r.failure,
                }
                for r in reports
            ],
        },
    )
    return path


def read_report_failures(run_dir: Path) -> dict[str, str]:
    """Gate id -> failure line from ``notebooks/reports.json`` (empty when absent)."""
    from igkit.strictdoc import DocumentError, load_json

    path = run_dir / "notebooks" / REPORTS_FILE
    if not path.is_file():
        return {}
    try:
        data = load_json(path.read_bytes(), where=str(path))
    except DocumentError as exc:
        return {"*": f"unreadable {path.name}: {exc}"}
    gates = data.get("gates") if isinstance(data, dict) else None
    failures: dict[str, str] = {}
    for entry in gates if isinstance(gates, list) else []:
        if isinstance(entry, dict) and entry.get("status") != "ok":
            failures[str(entry.get("gate"))] = str(entry.get("failure") or "report failed")
    return failures
