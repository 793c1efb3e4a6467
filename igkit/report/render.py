"""Render a run directory's auditor reports: HTML per gate notebook, index, signed PDFs."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

from igkit.report.html import notebook_to_html, partial_banner, render_index
from igkit.report.notebooks import read_report_failures
from igkit.report.pdf import html_to_pdf, sign_pdf

UNTRUSTED_BANNER = "Signed with an untrusted demo key — for demonstration only"
REPORTS_DIR = "reports"
INDEX_NAME = "index"
SIGN_REASON = "igkit release go/no-go evidence"
SIGN_LOCATION = "igkit"


def _title(stem: str) -> str:
    """``G1_slo_baseline`` -> ``G1 slo baseline — igkit gate report``."""
    return f"{stem.replace('_', ' ')} — igkit gate report"


def render_reports(
    run_dir: Path, *, key_pem: bytes, cert_pem: bytes, untrusted: bool
) -> list[Path]:
    """Write ``reports/<name>.html`` per ``notebooks/*.ipynb``, ``reports/index.html`` and a
    signed ``reports/<name>.pdf`` of each (index included); return the written paths."""
    from igkit.rundir import register_tree
    from igkit.strictdoc import load_model
    from igkit.verdicts import RunVerdicts

    partial = None
    with contextlib.suppress(OSError, ValueError):  # render_index names a bad verdicts.json
        partial = partial_banner(
            load_model(RunVerdicts, (run_dir / "verdicts.json").read_bytes(), where="verdicts.json")
        )
    failures = read_report_failures(run_dir)
    failed = f"REPORT FAILED — {', '.join(failures)}: see the gate table" if failures else None
    banner = (
        " · ".join(b for b in (UNTRUSTED_BANNER if untrusted else None, partial, failed) if b)
        or None
    )
    out_dir = run_dir / REPORTS_DIR
    try:
        return _render(
            run_dir, out_dir, key_pem=key_pem, cert_pem=cert_pem, banner=banner, failures=failures
        )
    finally:
        register_tree(out_dir)


def _gate_of(stem: str, failures: dict[str, str]) -> str | None:
    return next((g for g in failures if stem.startswith(f"{g}_")), None)


def _render(
    run_dir: Path,
    out_dir: Path,
    *,
    key_pem: bytes,
    cert_pem: bytes,
    banner: str | None,
    failures: dict[str, str],
) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    html_reports = []
    for nb in sorted((run_dir / "notebooks").glob("*.ipynb")):
        gate = _gate_of(nb.stem, failures)
        page_banner = (
            " · ".join(b for b in (banner, f"REPORT FAILED: {failures[gate]}") if b)
            if gate
            else banner
        )
        html_reports.append(
            notebook_to_html(
                nb, out_dir / f"{nb.stem}.html", title=_title(nb.stem), banner=page_banner
            )
        )
    written += html_reports
    index = render_index(
        run_dir, out_dir / f"{INDEX_NAME}.html", html_reports, banner=banner, failures=failures
    )
    written.append(index)
    with tempfile.TemporaryDirectory(prefix="igkit-pdf-") as tmp:
        for page in [index, *html_reports]:
            unsigned = html_to_pdf(page, Path(tmp) / f"{page.stem}.pdf")
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
