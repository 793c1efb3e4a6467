"""The index page and the PDFs an auditor signs off: content, relative links, every-page footer.

Runs are built by hand with the evidence facts the judge records (``EvidenceFact`` of kind
``release`` and ``artifact``); the PDF tests print with the real Chromium and read the pages
back with poppler's pdftotext, the way an auditor's tools would.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from bs4 import BeautifulSoup, Tag
from cryptography import x509
from hypothesis import given
from hypothesis import strategies as st
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader

from igkit.judge.evidence.checks import combine
from igkit.judge.evidence.keys import fingerprint
from igkit.report.html import css_string, print_variant
from igkit.report.index import (
    NO_RELEASE,
    SELF_ASSERTED,
    TRUSTED_KEY,
    UNTRUSTED_DEMO,
    Signer,
    decision_text,
    render_index,
    signer_of,
)
from igkit.report.pdf import html_to_pdf, relative_links, verify_pdf
from igkit.report.render import UNTRUSTED_BANNER, gate_title, render_reports
from igkit.verdicts import (
    EvidenceFact,
    GateVerdict,
    ObjectiveVerdict,
    RunVerdicts,
    Scope,
    Status,
)
from tests.report.conftest import GATE_NAMES, KeyPair, run_verdicts, write_verdicts

DIGEST_API = "sha256:" + "1f" * 32
DIGEST_WORKER = "sha256:" + "e0" * 32
# Long enough that a table cell would cut it with "…" if anything truncated.
LONG_REASON = (
    "p99 latency 656 ms > 500 ms for tenant=globex between 2026-11-27T11:30:00Z and "
    "2026-11-27T12:30:00Z (step 60s); 17 of 60 steps violate, first at 11:41Z, worst 912 ms at "
    "12:02Z; the sliding window clears at 12:52 UTC if no new breach"
)


def release_facts(status: Status = Status.PASS) -> list[EvidenceFact]:
    return [
        EvidenceFact(
            kind="release",
            subject="release.json",
            status=status,
            facts={"release_tag": "v2.4.0", "change_ticket": "CHG-20731", "file": "release.json"},
            rows=[
                {"name": "api", "version": "2.4.0", "digest": DIGEST_API},
                {"name": "worker", "version": "2.4.0", "digest": DIGEST_WORKER},
            ],
        ),
        EvidenceFact(
            kind="artifact",
            subject="api",
            status=Status.PASS,
            facts={"digest": DIGEST_API, "slsa_level": 3, "builder_id": "https://ci/b"},
        ),
        EvidenceFact(
            kind="artifact",
            subject="worker",
            status=Status.FAIL,
            facts={"digest": DIGEST_WORKER, "slsa_level": 1},
        ),
    ]


def evidence_run(
    *,
    facts: list[EvidenceFact] | None = None,
    gates: tuple[str, ...] | None = None,
    g1_reasons: list[str] | None = None,
) -> RunVerdicts:
    """A run whose G3 objective carries ``facts``; G1 FAILs with ``g1_reasons`` when given."""
    chosen = [(g, n) for g, n in GATE_NAMES if gates is None or g in gates]
    out = []
    for gid, name in chosen:
        status = Status.FAIL if gid == "G1" and g1_reasons else Status.PASS
        reasons = (
            g1_reasons if status is Status.FAIL and g1_reasons else ["all 1 objective(s) PASS"]
        )
        objective = ObjectiveVerdict(
            name="provenance" if gid == "G3" else "o",
            status=status,
            reasons=reasons,
            evidence=facts or [] if gid == "G3" else [],
        )
        out.append(
            GateVerdict(id=gid, name=name, status=status, reasons=reasons, objectives=[objective])
        )
    complete = gates is None
    ok = all(g.status is Status.PASS for g in out)
    return RunVerdicts(
        decision=("GO" if complete else "PARTIAL") if ok else "NO-GO",
        scope=Scope(gates=[g.id for g in out], complete=complete),
        evaluated_at=dt.datetime(2026, 11, 27, 12, 30, tzinfo=dt.UTC),
        matrix_sha256="31ec0ed8" + "ab" * 28,
        matrix_source="<igkit>/default.yaml",
        igkit_version="0.1.0",
        source="prometheus http://prom:9090",
        select='tenant="acme"',
        window=dt.timedelta(hours=1),
        gates=out,
    )


def index_soup(tmp_path: Path, run: RunVerdicts, signer: Signer | None = None) -> BeautifulSoup:
    write_verdicts(tmp_path, run)
    reports = tmp_path / "reports"
    reports.mkdir(exist_ok=True)
    g1 = reports / "G1_slo_baseline.html"
    g1.write_text("<html></html>", encoding="utf-8")
    out = render_index(tmp_path, reports / "index.html", [g1], signer=signer)
    return BeautifulSoup(out.read_text(encoding="utf-8"), "html.parser")


def text_of(soup: BeautifulSoup | Tag) -> str:
    return " ".join(soup.get_text(" ").split())


def test_index_names_release_tag_ticket_and_every_artifact(tmp_path: Path) -> None:
    soup = index_soup(tmp_path, evidence_run(facts=release_facts()))
    text = text_of(soup)
    assert "v2.4.0" in text
    assert "CHG-20731" in text
    artifacts = soup.select("table#artifacts tbody.artifact")
    cells = [[c.get_text() for c in a.find_all(["th", "td"])] for a in artifacts]
    assert cells[0] == [
        "api",
        "2.4.0",
        "SLSA Build L3",
        "PASS",
        f"digest {DIGEST_API}",
    ]  # the FULL digest
    # a provenance that did not verify says so
    assert cells[1] == ["worker", "2.4.0", "SLSA Build L1", "FAIL", f"digest {DIGEST_WORKER}"]
    assert NO_RELEASE not in text


def test_index_without_release_facts_says_so(tmp_path: Path) -> None:
    text = text_of(index_soup(tmp_path, evidence_run()))
    assert NO_RELEASE in text
    assert "v2.4.0" not in text


def test_unverified_release_file_is_marked(tmp_path: Path) -> None:
    text = text_of(index_soup(tmp_path, evidence_run(facts=release_facts(Status.ERROR))))
    assert "v2.4.0 (not verified: ERROR)" in text


def test_unreadable_release_file_is_not_a_tag(tmp_path: Path) -> None:
    """The judge records an unreadable release file with empty facts: never a tag."""
    from igkit.report.render import page_footer

    unreadable = EvidenceFact(
        kind="release",
        subject="release.yaml",
        status=Status.ERROR,
        facts={"release_tag": None, "change_ticket": None, "file": "release.yaml"},
    )
    run = evidence_run(facts=[unreadable])
    text = text_of(index_soup(tmp_path, run))
    assert "Release tag — (not verified: ERROR)" in text
    assert "None" not in text
    assert page_footer(run).startswith("release tag unreadable · run ")
    assert page_footer(evidence_run()).startswith("release not judged · run ")
    assert page_footer(evidence_run(facts=release_facts())).startswith("release v2.4.0 · run ")


def test_index_run_metadata_full_matrix_hash_and_selection(tmp_path: Path) -> None:
    run = evidence_run()
    text = text_of(index_soup(tmp_path, run))
    assert "2026-11-27T12:30:00Z" in text
    assert run.matrix_sha256 in text  # full, 64 hex
    assert "<igkit>/default.yaml" in text
    assert "igkit version 0.1.0" in text
    assert 'tenant="acme"' in text
    assert "Window (overrides the matrix) 1h" in text
    assert "run 2026-11-27T12:30:00Z·31ec0ed8" in text.replace("Run id ", "run ")


def test_index_signer_subject_fingerprint_and_trust(tmp_path: Path, demo_key: KeyPair) -> None:
    cert = x509.load_pem_x509_certificate(demo_key.cert_pem)
    for trust in (TRUSTED_KEY, SELF_ASSERTED, UNTRUSTED_DEMO):
        soup = index_soup(tmp_path, evidence_run(), signer_of(demo_key.cert_pem, trust))
        signer = soup.find(id="signer")
        assert isinstance(signer, Tag)
        text = text_of(signer)
        assert "CN=igkit untrusted demo key" in text
        assert fingerprint(cert.public_key()) in text
        assert fingerprint(cert.public_key()).startswith("SHA256:")
        assert trust in text
    assert UNTRUSTED_DEMO == "UNTRUSTED demo key (ephemeral; for demonstration only)"


def test_index_verify_box_and_three_hashes(tmp_path: Path) -> None:
    soup = index_soup(tmp_path, evidence_run())
    box = soup.find(id="verify")
    assert isinstance(box, Tag)
    commands = [pre.get_text() for pre in box.find_all("pre")]
    assert "igkit bundle verify bundle --key release.pub.pem --replay" in commands
    assert "sha256sum -c --strict manifest-sha256.txt" in commands
    assert "pdfsig reports/index.pdf" in commands
    assert any(c.startswith("openssl dgst -sha256 -verify release.pub.pem") for c in commands)
    hashes = text_of(soup.find(id="hashes"))  # type: ignore[arg-type]
    for term in (
        "Snapshot id",
        "hash of the request",
        "Snapshot SHA-256",
        "seal",
        "manifest-sha256.txt",
    ):
        assert term in hashes, term


def test_verify_box_names_files_a_bundle_really_holds() -> None:
    """The commands name the files ``bundle build`` writes, not invented ones."""
    from igkit.bundle.build import HASHES_SIG, PUBLIC_KEY
    from igkit.report.index import VERIFY_STEPS

    commands = " ".join(cmd for _, cmd in VERIFY_STEPS)
    assert HASHES_SIG in commands
    assert HASHES_SIG.removesuffix(".sig") in commands
    assert PUBLIC_KEY not in commands  # never verify with the key the bundle brings itself


def test_index_keeps_every_reason_whole(tmp_path: Path) -> None:
    reasons = [LONG_REASON, "second line <b>escaped</b>", "third: coverage 58%"]
    soup = index_soup(tmp_path, evidence_run(g1_reasons=reasons))
    row = soup.select("table#gates tbody tr")[0]
    assert [li.get_text() for li in row.select("ul.reasons li")] == reasons
    assert "…" not in soup.get_text()
    link = row.find("a")
    assert isinstance(link, Tag)
    assert link["href"] == "G1_slo_baseline.html"


@pytest.mark.parametrize(
    ("gates", "reasons", "expected"),
    [
        (("G1", "G5"), None, "PARTIAL — only G1, G5 evaluated"),
        (None, None, "GO — all 8 gates of the matrix evaluated and passed"),
        (None, ["x"], "NO-GO — G1 did not pass"),
        (("G1", "G5"), ["x"], "NO-GO — G1 did not pass; only G1, G5 evaluated"),
    ],
)
def test_decision_states_its_scope(
    gates: tuple[str, ...] | None, reasons: list[str] | None, expected: str
) -> None:
    assert decision_text(evidence_run(gates=gates, g1_reasons=reasons)) == expected


def test_index_is_accessible_markup(tmp_path: Path) -> None:
    soup = index_soup(tmp_path, evidence_run(facts=release_facts()))
    html_tag = soup.find("html")
    assert isinstance(html_tag, Tag)
    assert html_tag.get("lang") == "en"
    for table in soup.find_all("table"):
        assert table.find("caption") is not None
        assert all(th.get("scope") in {"col", "row"} for th in table.find_all("th"))
    assert all(img.get("alt") for img in soup.find_all("img"))


def test_index_has_no_developer_wording(tmp_path: Path) -> None:
    text = text_of(index_soup(tmp_path, evidence_run(facts=release_facts())))
    for word in ("verdict_out", "None", "NaN", "{}", "igkit gate report"):
        assert word not in text, word


def test_gate_title_uses_the_gate_name() -> None:
    run = run_verdicts()
    assert gate_title("G1_slo_baseline", run) == "G1 SLO Baseline — gate report"
    assert gate_title("G4_policy_access", run) == "G4 Policy/Access — gate report"
    assert gate_title("appendix", run) == "appendix — report"


def test_print_variant_points_links_at_pdfs() -> None:
    document = (
        "<html><head><title>t</title></head><body>"
        '<a href="G1_slo_baseline.html">a</a><a href="sub/G2.html#x">b</a>'
        '<a href="https://example.org/a.html">c</a><a href="#top">d</a>'
        '<a href="/abs/G3.html">e</a></body></html>'
    )
    soup = BeautifulSoup(print_variant(document, banner="B", footer="F"), "html.parser")
    assert [a["href"] for a in soup.find_all("a")] == [
        "G1_slo_baseline.pdf",
        "sub/G2.pdf",
        "https://example.org/a.html",  # positive control: not a report of this bundle
        "#top",
        "/abs/G3.html",
    ]
    css = soup.find_all("style")[-1].get_text()
    assert '@top-center { content: "B"' in css
    assert 'content: "F" " · page " counter(page) " of " counter(pages)' in css


@pytest.mark.property
@given(st.text())
def test_css_string_is_one_closed_token(text: str) -> None:
    literal = css_string(text)
    assert "<" not in literal
    assert not re.search(r"[\r\n\f]", literal)
    assert re.fullmatch(r'"(?:[^"\\]|\\.)*"', literal, re.DOTALL), literal


@pytest.mark.property
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40))
def test_pdf_href_only_renames_relative_html(path: str) -> None:
    from igkit.report.html import _pdf_href

    for href in (path, f"{path}.html", f"https://h/{path}.html", f"/{path}.html"):
        out = _pdf_href(href)
        if out != href:
            assert href.lower().split("#")[0].endswith((".html", ".htm"))
            assert out.endswith(".pdf") or "?" in out
            assert "://" not in href
            assert not href.startswith("/")


def test_css_string_cannot_close_the_style() -> None:
    hostile = 'x"; } body { display: none } </style><script>alert(1)</script>\\'
    literal = css_string(hostile)
    assert "</style" not in literal
    assert re.fullmatch(r'"(?:[^"\\]|\\.)*"', literal), literal  # one string token, closed
    soup = BeautifulSoup(
        print_variant("<html><head></head><body></body></html>", banner=hostile, footer="f"),
        "html.parser",
    )
    assert soup.find("script") is None


# --- with Chromium and poppler ---------------------------------------------------------------


def pdf_pages(pdf: Path, *, layout: bool = True) -> list[str]:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, check=True, timeout=60)
    count = int(re.search(rb"Pages:\s+(\d+)", info.stdout).group(1))  # type: ignore[union-attr]
    pages = []
    for n in range(1, count + 1):
        out = subprocess.run(
            [
                "pdftotext",
                *(["-layout"] if layout else []),
                "-f",
                str(n),
                "-l",
                str(n),
                str(pdf),
                "-",
            ],
            capture_output=True,
            check=True,
            timeout=60,
        )
        pages.append(" ".join(out.stdout.decode("utf-8").split()))
    return pages


def link_actions(pdf: Path) -> list[generic.DictionaryObject]:
    reader = PdfFileReader(io.BytesIO(pdf.read_bytes()))
    actions = []
    for n in range(int(reader.root["/Pages"]["/Count"])):
        page = reader.find_page_for_modification(n)[0].get_object()  # type: ignore[attr-defined]
        for annot in page.get("/Annots", []):
            a = annot.get_object()
            if a.get("/Subtype") == "/Link" and "/A" in a:
                actions.append(a["/A"])
    return actions


@pytest.mark.chromium
def test_relative_links_rewrites_file_uris(tmp_path: Path) -> None:
    page = tmp_path / "print" / "index.html"
    page.parent.mkdir()
    page.write_text(
        '<html lang="en"><body><a href="G1_slo_baseline.pdf">G1</a> '
        '<a href="sub/G2%20x.pdf">G2</a> <a href="/etc/passwd">outside</a> '
        '<a href="../up.pdf">up</a> '
        '<a href="https://example.org/">web</a></body></html>',
        encoding="utf-8",
    )
    printed = html_to_pdf(page, tmp_path / "chromium.pdf")
    assert b"file:" in printed.read_bytes()  # guard: Chromium does write absolute paths
    counts = relative_links(printed, tmp_path / "out.pdf", base=page.parent)
    assert counts == {"relative": 2, "removed": 2}
    data = (tmp_path / "out.pdf").read_bytes()
    assert b"file:" not in data
    actions = link_actions(tmp_path / "out.pdf")
    remote = [(a["/S"], a["/F"]["/F"]) for a in actions if a["/S"] == "/GoToR"]
    assert remote == [("/GoToR", "G1_slo_baseline.pdf"), ("/GoToR", "sub/G2 x.pdf")]
    uris = [a["/URI"] for a in actions if a["/S"] == "/URI"]
    assert uris == ["https://example.org/"]  # positive control: a web link stays


@pytest.fixture(scope="module")
def auditor_reports(
    tmp_path_factory: pytest.TempPathFactory, executed_notebook: Path, demo_key: KeyPair
) -> Path:
    """A failing run with release facts and long reasons, rendered and signed (demo key)."""
    if shutil.which("chromium") is None:
        pytest.fail("chromium not found: run make test, which installs chromium", pytrace=False)
    root = tmp_path_factory.mktemp("auditor")
    reasons = [f"{LONG_REASON} [{i}]" for i in range(40)]  # index spans several pages
    write_verdicts(root, evidence_run(facts=release_facts(), g1_reasons=reasons))
    (root / "notebooks").mkdir()
    shutil.copy(executed_notebook, root / "notebooks" / "G1_slo_baseline.ipynb")
    render_reports(root, key_pem=demo_key.key_pem, cert_pem=demo_key.cert_pem, untrusted=True)
    return root / "reports"


@pytest.mark.chromium
@pytest.mark.poppler
def test_every_pdf_page_has_banner_and_footer(auditor_reports: Path) -> None:
    for name in ("index.pdf", "G1_slo_baseline.pdf"):
        pages = pdf_pages(auditor_reports / name)
        if name == "index.pdf":
            assert len(pages) >= 2, "the index must span pages for this test to mean anything"
        for n, text in enumerate(pages, 1):
            footer = (
                f"release v2.4.0 · run 2026-11-27T12:30:00Z·31ec0ed8 · page {n} of {len(pages)}"
            )
            assert footer in text, f"{name} page {n}: {text[-300:]}"
            assert UNTRUSTED_BANNER in text, f"{name} page {n} lacks the banner"


@pytest.mark.chromium
@pytest.mark.poppler
def test_index_pdf_text_has_everything_in_full(auditor_reports: Path) -> None:
    text = " ".join(pdf_pages(auditor_reports / "index.pdf"))
    for needle in (
        "NO-GO — G1 did not pass",
        "v2.4.0",
        "CHG-20731",
        DIGEST_API,
        DIGEST_WORKER,
        "31ec0ed8" + "ab" * 28,
        UNTRUSTED_DEMO,
        "pdfsig reports/index.pdf",
        "sha256sum -c --strict manifest-sha256.txt",
    ):
        assert needle in text, needle
    # A reason wraps (Chromium may break after a hyphen): compare without the line breaks, in
    # reading order (-layout puts the row's other cells on the reason's first line).
    squashed = "".join("".join(pdf_pages(auditor_reports / "index.pdf", layout=False)).split())
    for i in range(40):
        assert "".join(f"{LONG_REASON} [{i}]".split()) in squashed, i
    assert "…" not in text


@pytest.mark.chromium
def test_pdf_links_are_relative_and_signatures_verify(
    auditor_reports: Path, demo_key: KeyPair
) -> None:
    for pdf in auditor_reports.glob("*.pdf"):
        assert b"file:" not in pdf.read_bytes(), pdf.name
        assert combine(verify_pdf(pdf, cert_pem=demo_key.cert_pem)) is Status.PASS, pdf.name
    targets = [
        a["/F"]["/F"] for a in link_actions(auditor_reports / "index.pdf") if a["/S"] == "/GoToR"
    ]
    assert targets
    assert set(targets) == {"G1_slo_baseline.pdf"}  # one link per box Chromium drew
    html_index = BeautifulSoup(
        (auditor_reports / "index.html").read_text(encoding="utf-8"), "html.parser"
    )
    assert [a["href"] for a in html_index.select("table#gates a")] == ["G1_slo_baseline.html"]


@pytest.mark.chromium
def test_html_pages_print_with_banner_and_footer_too(auditor_reports: Path) -> None:
    """A browser printing the HTML gets the same every-page banner and footer."""
    for page in ("index.html", "G1_slo_baseline.html"):
        soup = BeautifulSoup((auditor_reports / page).read_text(encoding="utf-8"), "html.parser")
        css = soup.find("style", id="igkit-print")
        assert isinstance(css, Tag), page
        assert "@bottom-center" in css.get_text()
        assert "release v2.4.0 · run 2026-11-27T12:30:00Z·31ec0ed8" in css.get_text()
        assert css_string(UNTRUSTED_BANNER) in css.get_text()


@pytest.mark.chromium
def test_gate_report_title_from_the_verdicts(auditor_reports: Path) -> None:
    soup = BeautifulSoup(
        (auditor_reports / "G1_slo_baseline.html").read_text(encoding="utf-8"), "html.parser"
    )
    assert soup.title is not None
    assert soup.title.get_text() == "G1 SLO Baseline — gate report"


def test_signer_trust_in_words(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Demo key, configured key with its certificate, configured key igkit made one for."""
    from igkit.bundle.keys import ENV_SIGNING_KEY, ephemeral_key, generate_keypair
    from igkit.report.publish import signer_trust, signing_key

    monkeypatch.delenv(ENV_SIGNING_KEY, raising=False)
    assert signer_trust(signing_key(None)) == UNTRUSTED_DEMO
    assert signer_trust(ephemeral_key()) == UNTRUSTED_DEMO
    files = generate_keypair(tmp_path / "keys")
    assert signer_trust(signing_key(files.private_key)) == TRUSTED_KEY
    files.certificate.unlink()
    assert signer_trust(signing_key(files.private_key)) == SELF_ASSERTED


@pytest.mark.chromium
@pytest.mark.poppler
def test_partial_and_failed_report_banners_on_every_page(
    tmp_path: Path, executed_notebook: Path, demo_key: KeyPair
) -> None:
    """A PARTIAL run whose G1 report failed: both banners, with the demo one, on each page."""
    import json

    reasons = [f"{LONG_REASON} [{i}]" for i in range(25)]
    run = evidence_run(gates=("G1", "G5"), g1_reasons=reasons)
    write_verdicts(tmp_path, run)
    (tmp_path / "notebooks").mkdir()
    shutil.copy(executed_notebook, tmp_path / "notebooks" / "G1_slo_baseline.ipynb")
    (tmp_path / "notebooks" / "reports.json").write_text(
        json.dumps({"gates": [{"gate": "G1", "status": "failed", "failure": "kernel died"}]}),
        encoding="utf-8",
    )
    render_reports(tmp_path, key_pem=demo_key.key_pem, cert_pem=demo_key.cert_pem, untrusted=True)
    for name in ("index.pdf", "G1_slo_baseline.pdf"):
        pages = pdf_pages(tmp_path / "reports" / name)
        for n, text in enumerate(pages, 1):
            for banner in (
                UNTRUSTED_BANNER,
                "PARTIAL RUN — only G1, G5 evaluated",
                "REPORT FAILED",
            ):
                assert banner in text, f"{name} page {n} lacks {banner!r}"
            assert f"page {n} of {len(pages)}" in text
        assert len(pages) >= 2 or name != "index.pdf"
    assert "REPORT FAILED: kernel died" in " ".join(
        pdf_pages(tmp_path / "reports" / "G1_slo_baseline.pdf")
    )


@pytest.mark.chromium
@pytest.mark.poppler
def test_pdfsig_from_the_verify_box_accepts_the_signed_pdfs(auditor_reports: Path) -> None:
    """The box tells an auditor to run pdfsig: it must find one intact signature over the
    whole rewritten file (links made relative before signing)."""
    if shutil.which("pdfsig") is None:
        pytest.fail("pdfsig not found (Debian package poppler-utils)", pytrace=False)
    for pdf in ("index.pdf", "G1_slo_baseline.pdf"):
        out = subprocess.run(
            ["pdfsig", pdf], cwd=auditor_reports, capture_output=True, text=True, timeout=60
        ).stdout
        assert "Signature #1" in out, out
        assert "Signature #2" not in out
        assert "Total document signed" in out, out
        assert "Signature Validation: Signature is Valid." in out, out
    tampered = auditor_reports.parent / "tampered.pdf"
    data = (auditor_reports / "index.pdf").read_bytes()
    assert b"/GoToR" in data
    tampered.write_bytes(data.replace(b"/GoToR", b"/GoToX", 1))  # same length, link broken
    out = subprocess.run(
        ["pdfsig", str(tampered)], capture_output=True, text=True, timeout=60
    ).stdout
    assert "Signature is Valid." not in out, out  # the check above can fail
