"""Read a rendered run the way an auditor receives it: the bundle's HTML and PDF reports as
text (BeautifulSoup ``get_text``, ``pdftotext``), plus the run's own records (verdicts.json,
the snapshots, manifest.json) from which every expected value is taken, never hard-coded.

Matching is on *squashed* text (NFKC, all whitespace removed) because pdftotext and table
layouts break long tokens (digests, PromQL) across lines; a squashed needle must still appear
contiguously, so nothing is weakened but the line breaks.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import subprocess
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bs4 import BeautifulSoup
from cryptography import x509
from cryptography.hazmat.primitives import serialization


def squash(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


@dataclass
class Doc:
    """One report in both forms: the HTML text and the PDF text page by page."""

    name: str
    html_raw: str
    html_text: str
    pdf_pages: list[str]
    pdf_layout: str
    pdf_links: list[str]
    hrefs: list[str]
    images: int

    @property
    def pdf_text(self) -> str:
        return "\n".join(self.pdf_pages)

    def forms(self) -> dict[str, str]:
        return {f"{self.name}.html": self.html_text, f"{self.name}.pdf": self.pdf_text}


@dataclass
class Rendered:
    """A run rendered and bundled, with the records the expectations come from."""

    label: str
    out: Path
    exit_code: int
    verdicts: dict[str, Any]
    manifest: dict[str, Any]
    snapshot_index: dict[str, dict[str, Any]]  # id -> index entry (file, sha256, kind)
    snapshots: dict[str, dict[str, Any]]  # id -> snapshot JSON
    report_of: dict[str, str]  # gate id -> report stem
    docs: dict[str, Doc] = field(default_factory=dict)

    @property
    def bundle(self) -> Path:
        return self.out / "bundle"

    def gate(self, gate_id: str) -> dict[str, Any]:
        return next(g for g in self.verdicts["gates"] if g["id"] == gate_id)

    def page(self, gate_id: str) -> Doc:
        return self.docs[self.report_of[gate_id]]

    def facts(self, kind: str) -> list[dict[str, Any]]:
        return [
            fact
            for g in self.verdicts["gates"]
            for o in g["objectives"]
            for fact in o.get("evidence", [])
            if fact["kind"] == kind
        ]


def pdf_pages(pdf: Path, mode: str = "-raw") -> list[str]:
    """pdftotext of each page (it ends every page with a form feed). ``-raw`` keeps the
    content stream's order, so a table cell's wrapped lines stay together instead of being
    interleaved with the next column's as ``-layout`` prints them."""
    out = subprocess.run(
        ["pdftotext", mode, str(pdf), "-"], capture_output=True, check=True, timeout=120
    ).stdout.decode("utf-8")
    pages = out.split("\f")
    return pages[:-1] if pages and not pages[-1].strip() else pages


def pdf_link_uris(pdf: Path) -> list[str]:
    """Every URI of a link annotation, read with pyHanko's PDF reader."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    uris: list[str] = []
    with pdf.open("rb") as fh:
        reader = PdfFileReader(fh, strict=False)
        for page_ref in reader.root["/Pages"]["/Kids"]:
            uris += _uris(page_ref.get_object())
    return uris


def _uris(node: Any) -> list[str]:
    if "/Kids" in node:  # a page tree node
        return [u for kid in node["/Kids"] for u in _uris(kid.get_object())]
    found = []
    for annot in node.get("/Annots", []):
        action = annot.get_object().get("/A")
        if action is None:
            continue
        action = action.get_object()
        if "/URI" in action:  # a web link (or file://)
            found.append(str(action["/URI"]))
        elif "/F" in action:  # GoToR / Launch: a file link, the file spec a string or a dict
            spec = action["/F"]
            spec = spec.get_object() if hasattr(spec, "get_object") else spec
            if isinstance(spec, dict):
                spec = spec.get("/UF", spec.get("/F"))
            found.append(str(spec))
    return found


def read_doc(html: Path, pdf: Path) -> Doc:
    raw = html.read_text(encoding="utf-8")
    soup = BeautifulSoup(raw, "html.parser")
    for hidden in soup(["script", "style"]):
        hidden.decompose()
    return Doc(
        name=html.stem,
        html_raw=raw,
        html_text=soup.get_text(" "),
        pdf_pages=pdf_pages(pdf),
        pdf_layout="".join(pdf_pages(pdf, "-layout")),
        pdf_links=pdf_link_uris(pdf),
        hrefs=[str(a.get("href", "")) for a in soup.find_all("a")],
        images=len(soup.find_all("img")),
    )


def load_rendered(label: str, out: Path, exit_code: int) -> Rendered:
    verdicts = json.loads((out / "verdicts.json").read_text(encoding="utf-8"))
    bundle = out / "bundle"
    index = json.loads((bundle / "snapshots" / "index.json").read_text(encoding="utf-8"))
    entries = {e["id"]: e for e in index["snapshots"]}
    snapshots = {
        sid: json.loads((bundle / "snapshots" / e["file"]).read_text(encoding="utf-8"))
        for sid, e in entries.items()
    }
    reports = json.loads((bundle / "notebooks" / "reports.json").read_text(encoding="utf-8"))
    report_of = {g["gate"]: Path(g["notebook"]).stem for g in reports["gates"]}
    run = Rendered(
        label=label,
        out=out,
        exit_code=exit_code,
        verdicts=verdicts,
        manifest=json.loads((bundle / "manifest.json").read_text(encoding="utf-8")),
        snapshot_index=entries,
        snapshots=snapshots,
        report_of=report_of,
    )
    where = bundle / "reports"
    for stem in ["index", *report_of.values()]:
        run.docs[stem] = read_doc(where / f"{stem}.html", where / f"{stem}.pdf")
    return run


def key_fingerprint(public_pem: bytes) -> str:
    """``SHA256:<base64>`` of the DER SubjectPublicKeyInfo, computed here, not by igkit."""
    key = serialization.load_pem_public_key(public_pem)
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "SHA256:" + base64.b64encode(hashlib.sha256(der).digest()).decode().rstrip("=")


def cert_subject_cn(cert_pem: bytes) -> str:
    cert = x509.load_pem_x509_certificate(cert_pem)
    return str(cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value)


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def instant_pattern(t: datetime, *, date: bool = True) -> str:
    """Regex (on squashed text) for ``t`` in UTC: ``2025-03-01T02:30:00Z``, ``2025-03-01
    02:30 UTC``... Seconds may be left out only when they are zero."""
    secs = f"(:{t:%S})?" if t.second == 0 else f":{t:%S}"
    day = f"{t:%Y-%m-%d}T?" if date else ""
    return f"{day}{t:%H:%M}{secs}(\\.0+)?(Z|UTC|\\+00:00)?"


def has_instant(squashed: str, t: datetime) -> bool:
    return re.search(instant_pattern(t), squashed) is not None


def has_window(squashed: str, start: datetime, end: datetime) -> bool:
    """The absolute window: start with its date, then end (date optional on the same day)."""
    sep = r"(–|—|-|to|until|→)"
    end_pat = instant_pattern(end, date=end.date() != start.date())
    if end.date() == start.date():
        end_pat = f"({instant_pattern(end)}|{end_pat})"
    pattern = f"{instant_pattern(start)}{sep}{end_pat}(Z|UTC)?"
    return re.search(pattern, squashed, re.I) is not None and "UTC" in squashed


def step_forms(seconds: float) -> list[str]:
    from igkit.timeutil import human_duration

    whole = int(seconds)
    forms = {f"{whole}s", human_duration(seconds), f"{whole}seconds"}
    if whole % 60 == 0:
        forms |= {f"{whole // 60}m", f"{whole // 60}min", f"{whole // 60}minute"}
    return sorted(forms)


def number_forms(value: float) -> list[str]:
    """How a computed number may be printed: 3 significant digits, 1 or 2 decimals."""
    forms = {f"{value:.3g}", f"{value:.1f}", f"{value:.2f}", f"{value:,.0f}"}
    if float(value).is_integer():
        forms.add(f"{int(value):,}")
    return sorted(forms)
