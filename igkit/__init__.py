"""igkit: decide whether a release may go to production, and prove the decision.

The public API is :data:`__all__` — what the notebooks and users import (``from igkit import
load_run``); every other module is internal and may change. Names load on first use
(PEP 562), so ``import igkit`` and ``igkit --help`` stay light: no pandas, matplotlib or
cryptography until a name that needs them is touched.

    from igkit import load_matrix, evaluate, load_run, Status
    run = load_run("reports/demo/snapshots")      # a run's snapshots, replayed offline
    run.verdicts().decision                       # the verdict igkit go-no-go computes
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    # the matrix
    "load_matrix": "igkit.spec.loader",
    "LoadedMatrix": "igkit.spec.loader",
    "Matrix": "igkit.spec.models",
    # judging: snapshots + matrix -> verdicts
    "evaluate": "igkit.judge.evaluate",
    "run_gates": "igkit.run",
    "RunRequest": "igkit.run",
    "go_no_go": "igkit.run",
    "RunVerdicts": "igkit.verdicts",
    "GateVerdict": "igkit.verdicts",
    "ObjectiveVerdict": "igkit.verdicts",
    "SeriesVerdict": "igkit.verdicts",
    "Status": "igkit.verdicts",
    # a run, replayed for notebooks and what-if analysis
    "Run": "igkit.explore",
    "load_run": "igkit.explore",
    "record_verdict": "igkit.explore",
    "what_would_flip": "igkit.explore",
    "open_run": "igkit.explore",
    "shown_gate": "igkit.explore",
    "series_frame": "igkit.explore",
    "k6_window_frame": "igkit.explore",
    "evidence_frame": "igkit.explore",
    # FinOps views of G6 (a module: finops.burn, finops.load_costs, ...)
    "finops": "igkit.finops",
    # the finops_cost_burn notebook: its input, what it shows, its filters
    "open_burn": "igkit.finops.explore",
    "one_line_errors": "igkit.finops.explore",
    "explore_sections": "igkit.report.finops_notebook",
    "filter_widgets": "igkit.report.finops_notebook",
    "plot_ladder": "igkit.report.finops_plots",
    # plots and outputs
    "figure_png": "igkit.report.plots",
    "plot_gate": "igkit.report.plots",
    "plot_bars": "igkit.report.plots",
    "plot_burn": "igkit.report.plots",
    "war_room": "igkit.report.plots",
    "plot_k6_windows": "igkit.report.plots",
    # GA day: the War Room view of a cutover execute run directory
    "stage_board": "igkit.conductor.board",
    "timeline_text": "igkit.conductor.board",
    "timeline_frame": "igkit.conductor.board",
    "figure_img": "igkit.report.plots",
    # the auditor's gate report page and its G5 section
    "gate_page_html": "igkit.report.gate_page",
    "k6_section_html": "igkit.report.k6_section",
    "write_bytes": "igkit.atomic",
    "write_json": "igkit.atomic",
    # the shipped sample
    "demo_snapshot_dir": "igkit.demo",
    "demo_trust_dir": "igkit.demo",
    # errors (the tree is drawn in igkit.errors)
    "IgkitError": "igkit.errors",
    "ConfigError": "igkit.errors",
}

__all__ = [
    "ConfigError",
    "GateVerdict",
    "IgkitError",
    "LoadedMatrix",
    "Matrix",
    "ObjectiveVerdict",
    "Run",
    "RunRequest",
    "RunVerdicts",
    "SeriesVerdict",
    "Status",
    "__version__",
    "demo_snapshot_dir",
    "demo_trust_dir",
    "evaluate",
    "evidence_frame",
    "explore_sections",
    "figure_img",
    "figure_png",
    "filter_widgets",
    "finops",
    "gate_page_html",
    "go_no_go",
    "k6_section_html",
    "k6_window_frame",
    "load_matrix",
    "load_run",
    "one_line_errors",
    "open_burn",
    "open_run",
    "plot_bars",
    "plot_burn",
    "plot_gate",
    "plot_k6_windows",
    "plot_ladder",
    "record_verdict",
    "run_gates",
    "series_frame",
    "shown_gate",
    "stage_board",
    "timeline_frame",
    "timeline_text",
    "war_room",
    "what_would_flip",
    "write_bytes",
    "write_json",
]
"""The public API; every name but ``__version__`` is loaded lazily from ``_EXPORTS``."""


def __getattr__(name: str) -> Any:
    """Import a public name's module on first use (PEP 562)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'igkit' has no attribute {name!r}")
    if module == f"igkit.{name}":
        value: Any = importlib.import_module(module)
    else:
        value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


if TYPE_CHECKING:
    from igkit import finops
    from igkit.atomic import write_bytes, write_json
    from igkit.demo import demo_snapshot_dir, demo_trust_dir
    from igkit.errors import ConfigError, IgkitError
    from igkit.explore import (
        Run,
        evidence_frame,
        k6_window_frame,
        load_run,
        open_run,
        record_verdict,
        series_frame,
        shown_gate,
        what_would_flip,
    )
    from igkit.finops.explore import one_line_errors, open_burn
    from igkit.judge.evaluate import evaluate
    from igkit.report.finops_notebook import explore_sections, filter_widgets
    from igkit.report.finops_plots import plot_ladder
    from igkit.report.gate_page import gate_page_html
    from igkit.report.k6_section import k6_section_html
    from igkit.report.plots import (
        figure_img,
        figure_png,
        plot_bars,
        plot_burn,
        plot_gate,
        plot_k6_windows,
        war_room,
    )
    from igkit.run import RunRequest, go_no_go, run_gates
    from igkit.spec.loader import LoadedMatrix, load_matrix
    from igkit.spec.models import Matrix
    from igkit.verdicts import GateVerdict, ObjectiveVerdict, RunVerdicts, SeriesVerdict, Status
