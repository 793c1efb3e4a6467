"""Render a run directory's auditor reports: HTML per gate notebook, index, signed PDFs.

Each PDF is printed from a print variant of its HTML page (links to the ``.pdf`` twins, banner
and footer on every page), its links made relative, then signed — so the bundle can move and
the signature covers the final bytes.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from igkit.atomic import write_text
from igkit.report.html import notebook_to_html, partial_banner, print_variant, with_print_css
from igkit.report.index import (
    SELF_ASSERTED,
    UNTRUSTED_DEMO,
    load_run,
    release_label,
    render_index,
    run_id,
    signer_of,
)
from igkit.report.notebooks import read_report_failures
from igkit.report.pdf import html_to_pdf, relative_links, sign_pdf
from igkit.verdicts import RunVerdicts

UNTRUSTED_BANNER = "Signed with an untrusted demo key — for demonstration only"
REPORTS_DIR = "reports"
INDEX_NAME = "index"
SIGN_REASON = "igkit release go/no-go evidence"
SIGN_LOCATION = "igkit"


def gate_title(stem: str, run: RunVerdicts) -> str:
    """``G1_slo_baseline`` -> ``G1 SLO Baseline — gate report`` (the name from the verdicts)."""
    low = stem.lower()
    for gate in run.gates:
        gid = gate.id.lower()
        if low == gid or low.startswith((f"{gid}_", f"{gid}-")):
            return f"{gate.id} {gate.name} — gate report"
    return f"{stem.replace('_', ' ')} — report"


def page_footer(run: RunVerdicts) -> str:
    """What every PDF page's footer says before ``page n of m``: release and run id."""
    return f"{release_label(run)} · run {run_id(run)}"


def render_reports(
    run_dir: Path,
    *,
    key_pem: bytes,
    cert_pem: bytes,
    untrusted: bool,
    signer_trust: str | None = None,
) -> list[Path]:
    """Write ``reports/<name>.html`` per ``notebooks/*.ipynb``, ``reports/index.html`` and a
    signed ``reports/<name>.pdf`` of each (index included); return the written paths.

    ``signer_trust`` says how the signer is trusted (an ``igkit.report.index`` label); an
    ``untrusted`` key is always the demo key."""
    from igkit.rundir import register_tree

    run = load_run(run_dir)
    failures = read_report_failures(run_dir)
    failed = f"REPORT FAILED — {', '.join(failures)}: see the gate table" if failures else None
    banner = (
        " · ".join(
            b for b in (UNTRUSTED_BANNER if untrusted else None, partial_banner(run), failed) if b
        )
        or None
    )
    trust = UNTRUSTED_DEMO if untrusted else (signer_trust or SELF_ASSERTED)
    out_dir = run_dir / REPORTS_DIR
    try:
        return _render(
            run_dir,
            run,
            out_dir,
            key_pem=key_pem,
            cert_pem=cert_pem,
            banner=banner,
            failures=failures,
            trust=trust,
        )
    finally:
        register_tree(out_dir)


def _gate_of(stem: str, failures: dict[str, str]) -> str | None:
    return next((g for g in failures if stem.startswith(f"{g}_")), None)


def _render(
    run_dir: Path,
    run: RunVerdicts,
    out_dir: Path,
    *,
    key_pem: bytes,
    cert_pem: bytes,
    banner: str | None,
    failures: dict[str, str],
    trust: str,
) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    banners: dict[Path, str | None] = {}
    for nb in sorted((run_dir / "notebooks").glob("*.ipynb")):
        gate = _gate_of(nb.stem, failures)
        page_banner = (
            " · ".join(b for b in (banner, f"REPORT FAILED: {failures[gate]}") if b)
            if gate
            else banner
        )
        page = notebook_to_html(
            nb, out_dir / f"{nb.stem}.html", title=gate_title(nb.stem, run), banner=page_banner
        )
        banners[page] = page_banner
    html_reports = list(banners)
    index = render_index(
        run_dir,
        out_dir / f"{INDEX_NAME}.html",
        html_reports,
        banner=banner,
        failures=failures,
        signer=signer_of(cert_pem, trust),
    )
    banners[index] = banner
    written = [*html_reports, index]
    footer = page_footer(run)
    with tempfile.TemporaryDirectory(prefix="igkit-pdf-") as tmp:
        printable_dir = Path(tmp) / "print"
        for page in [index, *html_reports]:
            document = with_print_css(
                page.read_text(encoding="utf-8"), banner=banners[page], footer=footer
            )
            write_text(page, document)
            printable = printable_dir / page.name
            write_text(printable, print_variant(document, banner=banners[page], footer=footer))
            printed = html_to_pdf(printable, Path(tmp) / f"{page.stem}.chromium.pdf")
            unsigned = Path(tmp) / f"{page.stem}.pdf"
            relative_links(printed, unsigned, base=printable_dir)
            written.append(
                sign_pdf(
                    unsigned,
                    out_dir / f"{page.stem}.pdf",
                    key_pem=key_pem,
                    cert_pem=cert_pem,
                    reason=SIGN_REASON,
                    location=SIGN_LOCATION,
                )
            )
    return written
