"""The run's summary page (``reports/index.html`` and its print variant for ``index.pdf``).

What an auditor signs off on one page: the decision and its scope, the release (tag, change
ticket, every artifact with digest and SLSA level, from the evidence facts the judge recorded),
when and against which matrix igkit decided, who signed the reports and how far that signer is
trusted, how to check the bundle without trusting this page, one row per gate with every reason,
and what the three kinds of hashes in the bundle mean.
"""

from __future__ import annotations

import html
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from igkit.atomic import write_text
from igkit.errors import ConfigError
from igkit.judge.evidence.keys import fingerprint
from igkit.report.html import BANNER_CSS, CSP, banner_html, partial_banner
from igkit.report.palette import DECISION_COLOURS, STATUS_COLOURS, STATUS_TEXT
from igkit.strictdoc import DocumentError, load_model
from igkit.timeutil import human_duration, rfc3339
from igkit.verdicts import EvidenceFact, RunVerdicts, Status

TRUSTED_KEY = "trusted (key given with --key / IGKIT_SIGNING_KEY)"
SELF_ASSERTED = (
    "self-asserted (key given with --key / IGKIT_SIGNING_KEY without a certificate: igkit "
    "made a self-signed one, so only the key fingerprint identifies the signer)"
)
UNTRUSTED_DEMO = "UNTRUSTED demo key (ephemeral; for demonstration only)"
NO_RELEASE = "no release file was judged (no --evidence)"


@dataclass(frozen=True)
class Signer:
    """Who signed the reports: certificate subject, key fingerprint, and how it is trusted."""

    subject: str
    fingerprint: str
    trust: str


def signer_of(cert_pem: bytes, trust: str) -> Signer:
    """The signer named by its certificate (subject, ``SHA256:`` key fingerprint)."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    return Signer(cert.subject.rfc4514_string(), fingerprint(cert.public_key()), trust)


def load_run(run_dir: Path) -> RunVerdicts:
    """``verdicts.json`` of a run directory; ConfigError naming the file otherwise."""
    path = run_dir / "verdicts.json"
    try:
        return load_model(RunVerdicts, path.read_bytes(), where=str(path))
    except OSError as exc:
        raise ConfigError(f"cannot read verdicts: {exc.strerror}", where=str(path)) from exc
    except DocumentError as exc:
        raise ConfigError(f"invalid verdicts.json: {exc.message}", where=str(path)) from exc


def evidence_facts(run: RunVerdicts, kind: str) -> list[EvidenceFact]:
    """Every evidence fact of ``kind`` in the run, in gate/objective order, without repeats."""
    found: list[EvidenceFact] = []
    for gate in run.gates:
        for objective in gate.objectives:
            found += [f for f in objective.evidence if f.kind == kind and f not in found]
    return found


def release_tags(run: RunVerdicts) -> list[str]:
    """The release tag(s) the judged release files name (normally one)."""
    tags = [str(f.facts.get("release_tag")) for f in evidence_facts(run, "release")]
    return list(dict.fromkeys(t for t in tags if t and t != "None"))


def release_label(run: RunVerdicts) -> str:
    """``release v1.4.0`` for page footers, or a plain statement why there is no tag."""
    tags = release_tags(run)
    if tags:
        return f"release {', '.join(tags)}"
    return "release tag unreadable" if evidence_facts(run, "release") else "release not judged"


def run_id(run: RunVerdicts) -> str:
    """Evaluation time and short matrix hash: ``2025-03-01T03:30:00Z·31ec0ed8``."""
    return f"{rfc3339(run.evaluated_at)}·{run.matrix_sha256[:8]}"


def decision_text(run: RunVerdicts) -> str:
    """The decision with its scope in words."""
    ids = [g.id for g in run.gates]
    if run.decision == "PARTIAL":
        return f"PARTIAL — only {', '.join(ids)} evaluated"
    if run.decision == "GO":
        return f"GO — all {len(ids)} gates of the matrix evaluated and passed"
    failing = [g.id for g in run.gates if g.status is not Status.PASS]
    scope = "" if run.scope.complete else f"; only {', '.join(ids)} evaluated"
    if not failing:
        return f"NO-GO — no gate was evaluated{scope}"
    return f"NO-GO — {', '.join(failing)} did not pass{scope}"


def _e(value: object) -> str:
    return html.escape("—" if value is None or value == "" else str(value))


def _fact_status(fact: EvidenceFact) -> str:
    return "" if fact.status is Status.PASS else f" <strong>(not verified: {fact.status})</strong>"


def _release_html(run: RunVerdicts) -> str:
    releases = evidence_facts(run, "release")
    artifacts = {f.subject: f for f in evidence_facts(run, "artifact")}
    if not releases and not artifacts:
        return f'<section id="release"><h2>Release</h2><p>{_e(NO_RELEASE)}</p></section>'
    meta = "".join(
        f"<dt>Release tag</dt><dd>{_e(f.facts.get('release_tag'))}{_fact_status(f)}</dd>"
        f"<dt>Change ticket</dt><dd>{_e(f.facts.get('change_ticket'))}</dd>"
        f"<dt>Release file</dt><dd>{_e(f.facts.get('file') or f.subject)}</dd>"
        for f in releases
    )
    if not releases:
        meta = f"<dt>Release</dt><dd>{_e(NO_RELEASE)}</dd>"
    rows: list[str] = []
    listed: set[str] = set()
    for release in releases:
        for row in release.rows:
            name = str(row.get("name") or "")
            listed.add(name)
            rows.append(
                _artifact_row(name, row.get("version"), row.get("digest"), artifacts.get(name))
            )
    for name, fact in artifacts.items():
        if name not in listed:
            rows.append(_artifact_row(name, None, fact.facts.get("digest"), fact))
    table = (
        '<table class="grid" id="artifacts"><caption>Artifacts</caption><thead><tr>'
        '<th scope="col">Artifact</th><th scope="col">Version</th>'
        '<th scope="col">SLSA level</th><th scope="col">Provenance check</th></tr></thead>'
        f"{''.join(rows)}</table>"
        if rows
        else "<p>The release file lists no artifacts.</p>"
    )
    return f'<section id="release"><h2>Release</h2><dl class="meta">{meta}</dl>{table}</section>'


def _artifact_row(name: str, version: object, digest: object, fact: EvidenceFact | None) -> str:
    if fact is None:
        level, provenance = "not judged", "not judged"
    else:
        raw_level = fact.facts.get("slsa_level")
        level = "not verified" if raw_level is None else f"SLSA Build L{_e(raw_level)}"
        provenance = html.escape(fact.status.value)
        other = fact.facts.get("digest")
        if digest and other and other != digest:
            provenance += f" (provenance names {_e(other)})"
    return (
        f'<tbody class="artifact"><tr><th scope="row" rowspan="2">{_e(name)}</th>'
        f"<td>{_e(version)}</td><td>{level}</td><td>{provenance}</td></tr>"
        f'<tr><td colspan="3" class="hash">digest {_e(digest or "not verified")}</td></tr></tbody>'
    )


def _run_html(run: RunVerdicts) -> str:
    items = [
        ("Evaluated at", rfc3339(run.evaluated_at)),
        ("Run id", run_id(run)),
        ("Matrix", run.matrix_source),
        ("Matrix SHA-256", run.matrix_sha256),
        ("Data source", run.source),
        ("igkit version", run.igkit_version),
    ]
    if run.tenant:
        items.append(("Tenant (X-Scope-OrgID)", run.tenant))
    if run.select:
        items.append(("Series selected", run.select))
    if run.window is not None:
        items.append(("Window (overrides the matrix)", human_duration(run.window.total_seconds())))
    body = "".join(
        f'<dt>{_e(k)}</dt><dd class="{"hash" if k == "Matrix SHA-256" else "value"}">{_e(v)}</dd>'
        for k, v in items
    )
    return f'<section id="run"><h2>Evaluation</h2><dl class="meta">{body}</dl></section>'


def _signer_html(signer: Signer | None) -> str:
    if signer is None:
        body = "<p>These pages are not signed.</p>"
    else:
        body = (
            '<dl class="meta">'
            f"<dt>Certificate subject</dt><dd>{_e(signer.subject)}</dd>"
            f"<dt>Key fingerprint</dt><dd>{_e(signer.fingerprint)}</dd>"
            f"<dt>Trust</dt><dd>{_e(signer.trust)}</dd></dl>"
            "<p>Compare the fingerprint with the one the release team published: a signature "
            "proves who signed only when the key came to you by another route.</p>"
        )
    return f'<section id="signer"><h2>Signed by</h2>{body}</section>'


VERIFY_STEPS = (
    (
        "Check everything with igkit (hashes, signatures, PDF signatures) and re-judge every "
        "gate from the bundle's snapshots:",
        "igkit bundle verify bundle --key release.pub.pem --replay",
    ),
    (
        "Without igkit, in the bundle directory: every file is intact (each line says OK):",
        "sha256sum -c --strict manifest-sha256.txt",
    ),
    (
        'The file list is signed by the release team\'s key (prints "Verified OK"):',
        "openssl dgst -sha256 -verify release.pub.pem -signature manifest-sha256.txt.sig "
        "manifest-sha256.txt",
    ),
    ("The PDF signature of this page (pdfsig from poppler-utils):", "pdfsig reports/index.pdf"),
)


def _verify_html() -> str:
    steps = "".join(
        f"<li>{html.escape(what)}<pre>{html.escape(cmd)}</pre></li>" for what, cmd in VERIFY_STEPS
    )
    return (
        '<section id="verify" class="box"><h2>How to verify this bundle</h2>'
        "<p><code>release.pub.pem</code> is the release team's public key, obtained from them "
        "directly, not the copy inside the bundle (<code>signing-key.pub.pem</code>).</p>"
        f"<ol>{steps}</ol></section>"
    )


HASHES_HTML = """<section id="hashes"><h2>Three hashes</h2><dl class="explain">
<dt>Snapshot id</dt><dd>16 hexadecimal characters in each snapshot file name: the hash of the
request (query, window, step, source), so the same question always names the same file.</dd>
<dt>Snapshot SHA-256</dt><dd>64 hexadecimal characters: the hash of the captured content, the
seal. A changed value or series changes it, and igkit refuses a snapshot whose seal does not
match.</dd>
<dt>File hash in manifest-sha256.txt</dt><dd>the SHA-256 of each file exactly as shipped in the
bundle, checked by <code>sha256sum -c</code>; the list itself is signed.</dd>
</dl></section>"""


def _gates_html(
    run: RunVerdicts, reports: Sequence[Path], out_path: Path, failures: Mapping[str, str]
) -> str:
    def link(report: Path, text: str) -> str:
        href = os.path.relpath(report, out_path.parent).replace(os.sep, "/")
        return f'<a href="{html.escape(href)}">{html.escape(text)}</a>'

    rows = []
    linked: set[Path] = set()
    for gate in run.gates:
        bg, fg = STATUS_COLOURS[gate.status], STATUS_TEXT[gate.status]
        report = report_for(gate.id, reports)
        if report is not None:
            linked.add(report)
        reasons = "".join(f"<li>{reason_html(r)}</li>" for r in gate.reasons)
        failed = (
            f'<p class="report-failed"><strong>report failed:</strong> '
            f"{html.escape(failures[gate.id])}</p>"
            if gate.id in failures
            else ""
        )
        rows.append(
            "<tr>"
            f'<th scope="row">{html.escape(gate.id)}</th>'
            f"<td>{html.escape(gate.name)}</td>"
            f'<td class="status status-{gate.status.value}" style="background:{bg};color:{fg}">'
            f"{html.escape(gate.status.value)}</td>"
            f'<td><ul class="reasons">{reasons}</ul></td>'
            f"<td>{link(report, f'{gate.id} report') if report else 'no report'}{failed}</td>"
            "</tr>"
        )
    table = (
        '<table class="grid gates" id="gates"><caption>Gates</caption><thead><tr>'
        '<th scope="col">Gate</th><th scope="col">Name</th><th scope="col">Status</th>'
        '<th scope="col">Reasons</th><th scope="col">Report</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )
    others = [r for r in reports if r not in linked]
    if others:
        table += (
            "<h2>Other reports</h2><ul>"
            + "".join(f"<li>{link(r, r.stem.replace('_', ' '))}</li>" for r in others)
            + "</ul>"
        )
    return table


def reason_html(text: str) -> str:
    """A reason, escaped, whose hyphenated words (times, ranges, label values) never break at
    their hyphen: a line ending in ``2026-11-`` reads as a dash in the PDF, and pdftotext
    joins it up without the hyphen. Longer words still wrap (CSS ``overflow-wrap``)."""
    return " ".join(
        f'<span class="nb">{html.escape(word)}</span>'
        if "-" in word and len(word) <= MAX_UNBROKEN
        else html.escape(word)
        for word in text.split(" ")
    )


MAX_UNBROKEN = 40


def report_for(gate_id: str, reports: Sequence[Path]) -> Path | None:
    """``G1`` -> ``G1_slo_baseline.html`` (stem equal to the id or starting ``G1_``/``G1-``)."""
    gid = gate_id.lower()
    for report in reports:
        stem = report.stem.lower()
        if stem == gid or stem.startswith((f"{gid}_", f"{gid}-")):
            return report
    return None


INDEX_CSS = """
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f1f1f;
  margin: 24px auto; max-width: 1100px; padding: 0 16px;
  -webkit-print-color-adjust: exact; print-color-adjust: exact; }
h1 { margin: 0 0 8px 0; } h2 { margin: 20px 0 6px 0; font-size: 19px; }
p.decision-line { font-size: 26px; font-weight: 800; margin: 8px 0; }
.decision { color: #fff; padding: 2px 18px; border-radius: 6px; }
table.grid { border-collapse: collapse; width: 100%; margin-top: 8px; }
table.grid caption { text-align: left; font-weight: 700; font-size: 19px; padding: 4px 0; }
table.grid th, table.grid td { border: 1px solid #c8c8c8; padding: 6px 10px; text-align: left;
  vertical-align: top; overflow-wrap: break-word; }
table.grid thead th, table.gates th[scope="row"] { white-space: nowrap; }
table.gates { table-layout: fixed; }
table.gates thead th:nth-child(1) { width: 7%; } table.gates thead th:nth-child(2) { width: 15%; }
table.gates thead th:nth-child(3) { width: 11%; } table.gates thead th:nth-child(5) { width: 11%; }
table.gates td:nth-child(4) { overflow-wrap: anywhere; }
table.grid thead th { background: #eeeeee; }
td.status { font-weight: 700; text-align: center; white-space: nowrap; }
td.hash, dd { font-family: monospace; overflow-wrap: anywhere; }
td.hash, dd.hash { font-size: 10.5px; white-space: nowrap; }
dl.meta { display: grid; grid-template-columns: max-content auto; gap: 2px 16px; margin: 8px 0; }
dl.meta dt { font-weight: 600; } dl.meta dd { margin: 0; }
dl.explain dt { font-weight: 600; } dl.explain dd { font-family: inherit; margin: 0 0 6px 16px; }
ul.reasons { margin: 0; padding-left: 18px; } span.nb { white-space: nowrap; }
.box { border: 2px solid #5a5a5a; padding: 4px 16px 8px 16px; margin-top: 16px; }
.box pre { background: #f3f3f3; padding: 4px 8px; white-space: pre-wrap; overflow-wrap: anywhere; }
tr, li, .box, tbody.artifact { break-inside: avoid; }
"""


def index_document(
    run: RunVerdicts,
    out_path: Path,
    reports: Sequence[Path],
    *,
    banner: str | None,
    signer: Signer | None,
    failures: Mapping[str, str],
) -> str:
    """The index page as HTML (links to the ``.html`` reports beside ``out_path``)."""
    gates = _gates_html(run, reports, out_path, failures)
    banners = banner_html(banner)
    if not (banner and "PARTIAL" in banner):
        banners += banner_html(partial_banner(run))
    decision_bg = DECISION_COLOURS[run.decision]
    title = f"Release go/no-go: {decision_text(run)}"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>{BANNER_CSS}{INDEX_CSS}</style>
</head>
<body>
{banners}
<h1>Release go/no-go</h1>
<p class="decision-line">Decision: <span class="decision" id="decision" style="background:{decision_bg}">{html.escape(run.decision)}</span></p>
<p id="decision-scope"><strong>{html.escape(decision_text(run))}</strong></p>
{_release_html(run)}
{_run_html(run)}
{_signer_html(signer)}
<section id="gate-table">{gates}</section>
{_verify_html()}
{HASHES_HTML}
</body>
</html>
"""


def render_index(
    run_dir: Path,
    out_path: Path,
    reports: Sequence[Path],
    *,
    banner: str | None = None,
    failures: Mapping[str, str] | None = None,
    signer: Signer | None = None,
) -> Path:
    """Write the run's summary page; a gate whose report failed (``failures``: gate id ->
    reason) says so in its report cell."""
    run = load_run(run_dir)
    document = index_document(
        run, out_path, reports, banner=banner, signer=signer, failures=failures or {}
    )
    write_text(out_path, document)
    return out_path
