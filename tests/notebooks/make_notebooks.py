"""Regenerate ``notebooks/*.ipynb`` (clean: no outputs, no execution counts).

Run: ``python -m tests.notebooks.make_notebooks``. ``test_notebooks_match_generator`` checks
the committed notebooks are exactly what this writes, so edit the notebooks here.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"

# Dedicated gate notebooks: name -> (default gate, title, what the gate checks, in an
# auditor's words). The matrix maps a gate to one with ``notebook:``; a gate without one
# renders with the generic ``gate`` notebook. Thresholds are never written here: the report
# shows the matrix's.
GATES = {
    "G1_slo_baseline": (
        "G1",
        "SLO baseline",
        "whether GraphQL query and mutation latency (p95) and HTTP availability met their "
        "service-level objectives for every tenant, at every step of the window judged.",
    ),
    "G2_ingest_health": (
        "G2",
        "Ingest health",
        "whether batch and streaming ingest kept their throughput, per worker and per pod, "
        "and ingest processing latency (p95) stayed within its limit.",
    ),
    "G3_supply_chain": (
        "G3",
        "Supply chain",
        "whether every artifact of the release carries signed SLSA provenance from a trusted "
        "builder, and whether its SBOM describes it with no open finding at or above the "
        "failing severity.",
    ),
    "G4_policy_access": (
        "G4",
        "Policy and access",
        "whether OPA decision latency (p95) stayed within its limit, and whether the policy "
        "bundle is signed by the trusted key, complete, in scope and not expired.",
    ),
    "G5_perf_load": (
        "G5",
        "Performance and load",
        "whether the k6 load test met its latency (p95) and error-rate limits per scenario, "
        "window by window, beside k6's own threshold results.",
    ),
    "G6_cost_guardrails": (
        "G6",
        "Cost guardrails",
        "whether month-to-date spend stays under each budget's alert share and unit costs stay "
        "within their limits; the linear month-end projection and the downshift tier are shown "
        "even when the gate passes.",
    ),
    "G7_dr_readiness": (
        "G7",
        "DR readiness",
        "whether the latest disaster-recovery drill ran in the required environment, is "
        "recent enough, and met its recovery point (RPO) and recovery time (RTO) targets.",
    ),
    "G8_support_comms": (
        "G8",
        "Support and comms",
        "whether every required role approved the release in time, and whether the status "
        "page and stakeholder templates are staged.",
    ),
}
GENERIC = "gate"

KERNEL = {
    "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
    "language_info": {"name": "python"},
}


def _params(text: str) -> nbformat.NotebookNode:
    cell = new_code_cell(text)
    cell.metadata["tags"] = ["parameters"]
    return cell


def _notebook(cells: list[nbformat.NotebookNode], role: str | None = None) -> nbformat.NotebookNode:
    metadata = dict(KERNEL)
    if role is not None:  # igkit.report.notebooks.gate_notebooks() lists the "gate" ones
        metadata["igkit"] = {"role": role}
    nb = new_notebook(cells=cells, metadata=metadata)
    for i, cell in enumerate(nb.cells):  # stable ids keep the files byte-identical
        cell["id"] = f"cell-{i}"
    return nb


COMMON_PARAMS = """# Parameters (papermill injects overrides after this cell). Paths, ids and matchers only:
# credentials come only from the environment (IGKIT_PROM_* variables, see the README).
# snapshot_dir: a run's snapshots/ (or its --out dir) to replay; empty = the shipped demo sample
snapshot_dir = ""
# matrix: a matrix YAML; empty = the matrix shipped with igkit
matrix = ""
# trust_dir: trust anchors (keys, trusted roots); empty = $IGKIT_TRUST_DIR, then beside the matrix
trust_dir = ""
"""

GATE_PARAMS = """# prom_url: Prometheus/Mimir/Thanos base URL to fetch from; empty = replay snapshot_dir
prom_url = ""
# at: evaluation time, RFC3339 or unix seconds; empty = now (live) or the replayed run's time
at = ""
# window: overrides every step rule's window, e.g. 30m; empty = the matrix's windows
window = ""
# tenant: sent as X-Scope-OrgID (Mimir/Cortex); empty = none (replay: the run's)
tenant = ""
# select: label matchers added to every series selector, e.g. tenant="acme"; empty = none
select = ""
# k6_files: k6 result files (NDJSON/CSV points, summary JSON) for the k6 objectives (live)
k6_files = []
# evidence_dir: documents for the evidence objectives (release file, SBOMs, drill, ...) (live)
evidence_dir = ""
# out_dir: where a fetch writes its run (snapshots/, verdicts.json, junit.xml); empty = a temp dir
out_dir = ""
# verdict_out: where to write this gate's verdict JSON; empty = do not write
verdict_out = ""
"""

READING = (
    "For each objective the report shows its status, the observed value against the "
    "threshold of the release matrix, the coverage of the data, exactly what was read (the "
    "PromQL sent with its window in UTC and its step, or the k6 and evidence files), each "
    "snapshot file with its SHA-256, the series judged and the full reasons. Only PASS opens "
    "a gate: missing, partial or unverifiable data never passes."
)

DEVELOPER_NOTES = """# A complete gate run for QE. With prom_url it fetches through igkit
# (igkit.run.run_gates, as igkit go-no-go does; the run goes to out_dir); otherwise it replays
# snapshot_dir. The verdict is the library's (igkit.judge.evaluate); verdict_out receives it as
# JSON, which igkit.report.notebooks compares with the library's. The report is
# igkit.report.gate_page.gate_page_html; for interactive work see igkit.explore (series_frame,
# evidence_frame, k6_window_frame, what_would_flip).
"""


def gate_notebook(gate: str, title: str, checks: str) -> nbformat.NotebookNode:
    """One gate's complete, parameterized run: replay a run or fetch live through igkit, then
    the gate's report page (the only output an auditor reads) and the recorded verdict."""
    heading = f"# {title}" if not gate else f"# {gate} — {title}"
    cells = [
        new_markdown_cell(f"{heading}\n\nWhat this gate checks: {checks}\n\n{READING}"),
        _params(
            DEVELOPER_NOTES
            + f'# gate: the matrix gate this notebook shows\ngate = "{gate}"\n'
            + COMMON_PARAMS
            + GATE_PARAMS
        ),
        new_code_cell(
            "from IPython.display import HTML, display\n\n"
            "from igkit.explore import open_run, record_verdict, shown_gate\n"
            "from igkit.report.gate_page import gate_page_html\n\n"
            "run = open_run(\n"
            "    gate=gate, prom_url=prom_url, at=at, window=window, tenant=tenant, select=select,\n"
            "    snapshot_dir=snapshot_dir, k6_files=k6_files, evidence_dir=evidence_dir,\n"
            "    trust_dir=trust_dir, matrix=matrix, out_dir=out_dir,\n"
            ")\n"
            "gate = shown_gate(run, gate)\n"
            "verdict = run.gate(gate)"
        ),
        new_code_cell("display(HTML(gate_page_html(run, gate)))"),
        new_code_cell("recorded = record_verdict(verdict, verdict_out)"),
    ]
    return _notebook(cells, role="gate")


def go_no_go_notebook() -> nbformat.NotebookNode:
    return _notebook(
        [
            new_markdown_cell(
                "# Go / No-Go\n\nAll gates from one run's snapshots, and what would flip each "
                "objective that is not PASS."
            ),
            _params(
                COMMON_PARAMS
                + "# verdict_out: where to write the full verdicts JSON; empty = do not write\n"
                + 'verdict_out = ""\n'
            ),
            new_code_cell(
                "from igkit.explore import load_run, record_verdict, what_would_flip\n\n"
                "run = load_run(snapshot_dir, matrix, trust_dir)\n"
                "verdicts = run.verdicts()\n"
                "run.summary_table()"
            ),
            new_code_cell("what_would_flip(run)"),
            new_code_cell(
                'record_verdict(verdicts, verdict_out)\nprint(f"DECISION {verdicts.decision}")'
            ),
        ]
    )


def war_room_notebook() -> nbformat.NotebookNode:
    return _notebook(
        [
            new_markdown_cell(
                "# War room\n\nA read-only board (ADR-002): one tile per gate in its status "
                "colour, and where the cost downshift ladder stands (seed §8): the tier, what "
                "triggered it and the tier's actions, from the chosen matrix's `cost_ladder`. "
                "Writes `war_room.png` and `war_room.json` to `output_dir`."
            ),
            _params(
                COMMON_PARAMS
                + "# output_dir: where to write war_room.png and war_room.json; empty = a new temp dir\n"
                + 'output_dir = ""\n'
                + "# cutover_dir: an `igkit cutover execute --out` directory; empty = no stage board\n"
                + 'cutover_dir = ""\n'
            ),
            new_code_cell(
                "import tempfile\n"
                "from pathlib import Path\n\n"
                "from IPython.display import Image, display\n\n"
                "from igkit.atomic import write_bytes, write_json\n"
                "from igkit.explore import load_run\n"
                "from igkit.report.plots import war_room\n\n"
                "run = load_run(snapshot_dir, matrix, trust_dir)\n"
                "png, board = war_room(run)\n"
                'out = Path(output_dir) if output_dir else Path(tempfile.mkdtemp(prefix="igkit-war-room-"))\n'
                "out.mkdir(parents=True, exist_ok=True)\n"
                'write_bytes(out / "war_room.png", png, binary=True)\n'
                'write_json(out / "war_room.json", board)  # standard JSON, redacted, atomic\n'
                "display(Image(png))\n"
                "print(f\"DECISION {board['decision']}; wrote {out}/war_room.png and war_room.json\")"
            ),
            new_markdown_cell(
                "## Cost ladder\n\nThe worst budget's tier from the chosen matrix's `cost_ladder`, "
                "what triggered it and the tier's actions (also on the board and in "
                "`war_room.json`)."
            ),
            new_code_cell(
                "from IPython.display import Markdown\n\n"
                'display(Markdown(board["cost_ladder"]["markdown"]))'
            ),
            new_markdown_cell(
                "## GA day: the canary stages\n\nThe weight `igkit cutover execute` set over "
                "time, each judgement on it (PROMOTE, HOLD, ROLLBACK), the status updates and the "
                "post-deploy hour, read from the run's `timeline.jsonl`; then the timeline itself."
            ),
            new_code_cell(
                "from igkit import figure_png, stage_board, timeline_text\n\n"
                "if cutover_dir:\n"
                "    display(Image(figure_png(stage_board(Path(cutover_dir)))))\n"
                "    print(timeline_text(Path(cutover_dir)))\n"
                "else:\n"
                '    print("No cutover_dir given: nothing to follow yet.")'
            ),
        ]
    )


FINOPS_PARAMS = """# source: "prometheus-snapshots" (the G6 budget counters of the run in snapshot_dir) or
# "focus-csv" (a FOCUS 1.x cost export)
source = "prometheus-snapshots"
# focus_csv: the FOCUS CSV read when source is "focus-csv"; empty = the sample shipped with igkit
focus_csv = ""
# at: the time the figures are for (RFC3339); empty = the run's evaluation time, or the end
# of the FOCUS data
at = ""
# The filters of the charts (the interactive filters at the end start from these):
# budget, component: one name each; empty = all
budget = ""
component = ""
# start, end: the time range charted, e.g. 2025-03-01; empty = open. Month-to-date figures,
# projections and the tier always count the whole month up to `at`.
start = ""
end = ""
# freq: bar period, e.g. 1D or 1h; empty = a day, or an hour when the data spans under two days
freq = ""
"""

FINOPS_SHOW = """def show(sections):
    \"\"\"Headings as Markdown, figures as PNG, tables as HTML, notes as text.\"\"\"
    for heading, item in sections:
        display(Markdown(f"### {heading}"))
        if isinstance(item, str):
            display(Markdown(item))
        elif isinstance(item, pd.DataFrame):
            display(item)
        else:
            display(Image(figure_png(item)))
"""


def finops_notebook(source: str = "prometheus-snapshots") -> nbformat.NotebookNode:
    """Cost burn for FinOps analysts: budget figures and the tier first (what a release lead
    reads), then charts a filter narrows, then the same charts behind interactive filters.
    ``source`` is the default input, so nbmake (which cannot pass parameters) runs each kind
    of input on its defaults: finops_cost_burn (a run's G6 counters) and
    finops_cost_burn_focus (the FOCUS sample shipped with igkit)."""
    params = FINOPS_PARAMS.replace('source = "prometheus-snapshots"', f'source = "{source}"')
    return _notebook(
        [
            new_markdown_cell(
                "# FinOps: cost burn\n\n"
                "Month-to-date spend per budget against the limit of the chosen matrix, the "
                "linear and run-rate month-end projections (the one that drives the ladder is "
                "marked), the downshift tier (seed §8) with why it applies and what to do, spend "
                "per day by budget and by component, unit costs, unallocated spend and the "
                "components whose spend rose most. Input: the G6 cost counters of a run "
                "(Prometheus snapshots) or a FOCUS 1.x export. Money is in the budget currency "
                "of the matrix."
            ),
            _params(COMMON_PARAMS + params),
            new_code_cell(
                "import pandas as pd\n"
                "from IPython.display import Image, Markdown, display\n\n"
                "from igkit import explore_sections, figure_png, one_line_errors, open_burn, plot_ladder\n"
                "\n" + FINOPS_SHOW + "\n\n"
                "one_line_errors()  # a refused input: one line naming file and cause\n"
                "burn = open_burn(\n"
                "    source, snapshot_dir=snapshot_dir, matrix=matrix, trust_dir=trust_dir,\n"
                "    focus_csv=focus_csv, at=at,\n"
                ")\n"
                "display(Markdown(burn.headline()))\n"
                "burn.figures_table()"
            ),
            new_markdown_cell(
                "## The downshift ladder\n\nThe tiers of the chosen matrix's `cost_ladder`: "
                "each tier applies when month-to-date spend or the projection reaches its share "
                "of a budget; the worst budget decides. The current tier is highlighted."
            ),
            new_code_cell(
                "display(Image(figure_png(plot_ladder(burn.explanation, burn.ladder, "
                "**burn.deciding_shares()))))\n"
                "display(Markdown(burn.actions_markdown()))"
            ),
            new_markdown_cell(
                "## Spend, month-to-date, unit costs, unallocated spend and top movers\n\n"
                "For the filter given as parameters (`budget`, `component`, `start`, `end`)."
            ),
            new_code_cell(
                "show(explore_sections(burn, budget=budget, component=component, start=start, "
                "end=end, freq=freq))"
            ),
            new_markdown_cell(
                "## Explore\n\nChange the filters to redraw the charts above for another budget, "
                "component or date range (needs a live Jupyter kernel; the rendered report "
                "shows the defaults above)."
            ),
            new_code_cell(
                "from igkit import filter_widgets\n\n"
                "display(filter_widgets(burn, show, budget=budget, component=component, "
                "start=start, end=end, freq=freq))"
            ),
        ]
    )


def main() -> None:
    NOTEBOOKS.mkdir(exist_ok=True)
    books = {
        name: gate_notebook(gate, title, checks) for name, (gate, title, checks) in GATES.items()
    }
    books[GENERIC] = gate_notebook(
        "", "Gate report", "the objectives of this gate in the release matrix, each named below."
    )
    books["go_no_go"] = go_no_go_notebook()
    books["war_room"] = war_room_notebook()
    books["finops_cost_burn"] = finops_notebook()
    books["finops_cost_burn_focus"] = finops_notebook("focus-csv")
    for name, nb in books.items():
        nbformat.validate(nb)
        nbformat.write(nb, NOTEBOOKS / f"{name}.ipynb")


if __name__ == "__main__":
    main()
