"""Acceptance test of issue #10: what an auditor reads in the signed reports.

Two runs are rendered once per session, concurrently, as a user runs them: ``igkit demo``
(GO) and ``igkit go-no-go --bundle`` against the test Prometheus at scenario
``latency_breach_30m`` (every tenant's GraphQL p95 over its threshold: G1 FAIL) with the demo
evidence in which the MC role rejected (G8 FAIL), so NO-GO. Every item the issue lists is then
looked for in the HTML text (BeautifulSoup) and in ``pdftotext`` of the PDFs of the bundle,
with expected values read from the run's own records (verdicts.json, snapshots, manifest.json,
the evidence documents, the signing certificate) — never numbers typed in here.

Each check collects everything missing before it fails, so one run lists all gaps.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from igkit.strictdoc import load_yaml
from tests.report.auditor import (
    Doc,
    Rendered,
    cert_subject_cn,
    has_instant,
    has_window,
    key_fingerprint,
    load_rendered,
    number_forms,
    parse_time,
    squash,
    step_forms,
)
from tests.support.prometheus import PrometheusServer
from tests.support.scenarios import SCENARIOS

# Two full renders (kernels, Chromium, signing) cost ~1 min of CPU: `make test-slow`.
pytestmark = [pytest.mark.slow, pytest.mark.chromium, pytest.mark.poppler]

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
K6_GREEN = FIXTURES / "k6" / "green"
TRUST = ROOT / "igkit" / "data" / "demo" / "trust"
FAILING_SCENARIO = "latency_breach_30m"
REJECTING_ROLE = "mc"
RUNS = ["demo", "failing"]

DEVELOPER_WORDING = [
    "verdict_out",
    "igkit.run",
    "igkit.judge",
    "run_gates",
    "prom_url",
    "snapshot_dir",
    "out_dir",
    "{}",
    "rows ×",
    "DataFrame",
    "Traceback",
]


def failing_evidence(where: Path) -> Path:
    """The demo evidence with the MC's approval turned into a rejection (G8 FAIL)."""
    evidence = where / "evidence"
    shutil.copytree(FIXTURES / "demo-evidence", evidence)
    approvals = evidence / "approvals.yaml"
    text = approvals.read_text(encoding="utf-8")
    line = next(ln for ln in text.splitlines() if f"role: {REJECTING_ROLE}," in ln)
    approvals.write_text(
        text.replace(line, line.replace("decision: approve", "decision: reject")),
        encoding="utf-8",
    )
    return evidence


def igkit_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "igkit", *args]


@pytest.fixture(scope="session")
def auditor_runs(
    tmp_path_factory: pytest.TempPathFactory, prometheus: PrometheusServer
) -> dict[str, Rendered]:
    """Both runs rendered by the igkit command in two processes at once (2 cores)."""
    where = tmp_path_factory.mktemp("auditor")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    at = SCENARIOS[FAILING_SCENARIO].eval_time.isoformat().replace("+00:00", "Z")
    commands = {
        "demo": igkit_cmd("demo", "--out", str(where / "demo")),
        "failing": igkit_cmd(
            "go-no-go",
            "--validate-all",
            "--prom-url",
            prometheus.url,
            "--at",
            at,
            "--k6",
            str(K6_GREEN / "points.json.gz"),
            "--k6",
            str(K6_GREEN / "handle-summary.json.gz"),
            "--evidence",
            str(failing_evidence(where)),
            "--trust",
            str(TRUST),
            "--bundle",
            "--out",
            str(where / "failing"),
        ),
    }
    with ExitStack() as files:
        procs = {
            name: subprocess.Popen(
                cmd,
                env=env,
                cwd=where,
                stdout=files.enter_context((where / f"{name}.out").open("wb")),
                stderr=files.enter_context((where / f"{name}.err").open("wb")),
            )
            for name, cmd in commands.items()
        }
        codes = {name: proc.wait(timeout=900) for name, proc in procs.items()}
    logs = {n: (where / f"{n}.err").read_text(errors="replace")[-3000:] for n in commands}
    assert codes["demo"] == 0, logs["demo"]
    assert codes["failing"] == 1, logs["failing"]  # NO-GO, and still reports and a bundle
    return {name: load_rendered(name, where / name, codes[name]) for name in commands}


@pytest.fixture
def run(request: pytest.FixtureRequest, auditor_runs: dict[str, Rendered]) -> Rendered:
    return auditor_runs[request.param]


def missing_in(doc: Doc, needles: dict[str, str]) -> list[str]:
    """``what: needle`` for each needle absent from the squashed HTML or PDF text."""
    gaps = []
    for form, text in doc.forms().items():
        squashed = squash(text)
        gaps += [f"{form}: {what}" for what, n in needles.items() if squash(n) not in squashed]
    return gaps


def missing_pattern(doc: Doc, patterns: dict[str, str]) -> list[str]:
    gaps = []
    for form, text in doc.forms().items():
        squashed = squash(text)
        gaps += [
            f"{form}: {what}" for what, p in patterns.items() if not re.search(p, squashed, re.I)
        ]
    return gaps


def missing_words(doc: Doc, patterns: dict[str, str]) -> list[str]:
    """Like :func:`missing_pattern`, on text whose whitespace is kept as single spaces, for
    patterns that need word boundaries (``Open high 0``)."""
    gaps = []
    for form, text in doc.forms().items():
        words = " ".join(text.split())
        gaps += [f"{form}: {what}" for what, p in patterns.items() if not re.search(p, words, re.I)]
    return gaps


def report_gaps(gaps: list[str]) -> None:
    assert not gaps, f"{len(gaps)} problem(s):\n" + "\n".join(gaps)


def all_docs(run: Rendered) -> Iterator[tuple[str, str]]:
    for doc in run.docs.values():
        yield from doc.forms().items()


# ---------------------------------------------------------------------------------------
# The runs themselves


def test_the_failing_run_fails_what_it_should(auditor_runs: dict[str, Rendered]) -> None:
    """Positive control of the fixture: the demo is GO and the failing run is NO-GO on G1
    (every tenant) and G8 (the rejection) only — so the checks below read a real failure."""
    demo, failing = auditor_runs["demo"], auditor_runs["failing"]
    assert demo.verdicts["decision"] == "GO"
    assert failing.verdicts["decision"] == "NO-GO"
    status = {g["id"]: g["status"] for g in failing.verdicts["gates"]}
    assert {g for g, s in status.items() if s != "PASS"} == {"G1", "G8"}, status
    p95 = next(o for o in failing.gate("G1")["objectives"] if o["name"] == "graphql_query_p95")
    assert {s["status"] for s in p95["series"]} == {"FAIL"}
    assert len(p95["series"]) >= 2


# ---------------------------------------------------------------------------------------
# Index


@pytest.mark.parametrize("run", RUNS, indirect=True)
def test_index_states_decision_release_artifacts_and_run(run: Rendered) -> None:
    v, m = run.verdicts, run.manifest
    release = load_yaml(
        (run.bundle / "evidence" / "release.yaml").read_bytes(), where="release.yaml"
    )
    assert m["releaseTag"] == release["releaseTag"] == "v1.4.0"
    needles = {
        "decision": f"{v['decision']}",
        "release tag": m["releaseTag"],
        "change ticket": release["changeTicket"],
        "matrix SHA-256": v["matrix_sha256"],
        "igkit version": v["igkit_version"],
    }
    for a in m["artifacts"]:
        needles[f"artifact {a['name']}"] = a["name"]
        needles[f"artifact {a['name']} digest"] = a["digest"].removeprefix("sha256:")
    doc = run.docs["index"]
    gaps = missing_in(doc, needles)
    patterns = {
        "decision with its scope": rf"{re.escape(v['decision'])}.{{0,120}}"
        rf"({len(v['scope']['gates'])}|complete|partial|scope)",
    }
    for a in m["artifacts"]:
        hexdigest = a["digest"].removeprefix("sha256:")
        level = a["slsaLevel"]
        # "SLSA level 3" spelled out, or a "SLSA level" column and the level in the
        # artifact's row (after its name and version, or right after its digest)
        spelled = rf"SLSA\W*(build\W*)?(level\W*)?L?{level}\b"
        name = re.escape(a["name"])
        in_row = rf"{name}\s+(\S+\s+){{0,2}}{level}\s|{hexdigest}\s+(\S+\s+)?{level}\s"
        for form, text in doc.forms().items():
            words = " ".join(text.split()) + " "
            column = "SLSA" in words and re.search(in_row, words)
            if not (re.search(spelled, words, re.I) or column):
                gaps.append(f"{form}: SLSA level {level} of {a['name']}")
        if not re.search(rf"(^|\s){re.escape(a['name'])}(\s|$)", doc.pdf_layout, re.M):
            gaps.append(f"index.pdf: artifact name {a['name']} printed unbroken")
    gaps += missing_pattern(doc, patterns)
    for form, text in doc.forms().items():
        if not has_instant(squash(text), parse_time(v["evaluated_at"])):
            gaps.append(f"{form}: evaluation time {v['evaluated_at']}")
    report_gaps(gaps)


@pytest.mark.parametrize("run", RUNS, indirect=True)
def test_index_names_the_signer_and_how_to_verify(run: Rendered) -> None:
    untrusted = (run.bundle / "UNTRUSTED-DEMO-KEY.txt").exists()
    fingerprint = key_fingerprint((run.bundle / "signing-key.pub.pem").read_bytes())
    needles = {
        "signer subject": cert_subject_cn((run.bundle / "signing-cert.pem").read_bytes()),
        "signer key fingerprint": fingerprint,
        "verify command": "igkit bundle verify",
        "verify without igkit": "sha256sum -c",
    }
    doc = run.docs["index"]
    gaps = missing_in(doc, needles)
    trust = r"untrusted\W*demo\W*key" if untrusted else r"trusted|self-asserted"
    gaps += missing_pattern(
        doc,
        {
            "trust wording": trust,
            "the three hashes explained": r"snapshot\W*id.*SHA-256.*manifest",
        },
    )
    report_gaps(gaps)


@pytest.mark.parametrize("run", RUNS, indirect=True)
def test_index_has_every_gate_with_full_reasons_and_relative_links(run: Rendered) -> None:
    doc = run.docs["index"]
    needles: dict[str, str] = {}
    for g in run.verdicts["gates"]:
        needles[f"{g['id']} status"] = f"{g['id']}"
        for i, reason in enumerate(g["reasons"]):
            needles[f"{g['id']} reason {i}"] = reason
    gaps = missing_in(doc, needles)
    for g in run.verdicts["gates"]:
        gaps += missing_pattern(doc, {f"{g['id']} row status": rf"{g['id']}.{{0,80}}{g['status']}"})
        stem = run.report_of[g["id"]]
        if f"{stem}.html" not in doc.hrefs:
            gaps.append(f"index.html: relative link {stem}.html (links: {doc.hrefs[:2]})")
        if f"{stem}.pdf" not in doc.pdf_links:
            gaps.append(f"index.pdf: relative link {stem}.pdf (links: {doc.pdf_links[:2]})")
    report_gaps(gaps)


# ---------------------------------------------------------------------------------------
# Per gate: every objective


def objective_needles(run: Rendered, objective: dict[str, Any]) -> dict[str, str]:
    name = objective["name"]
    needles = {f"{name} reason {i}": r for i, r in enumerate(objective["reasons"])}
    needles |= {f"{name} warning {i}": w for i, w in enumerate(objective["warnings"])}
    for sid in objective["snapshots"]:
        entry, snap = run.snapshot_index[sid], run.snapshots[sid]
        needles[f"{name} snapshot file"] = entry["file"]
        needles[f"{name} snapshot {entry['file']} SHA-256"] = entry["sha256"]
        if snap["kind"] == "prometheus_range":
            needles[f"{name} PromQL"] = snap["request"]["query"]
        elif snap["kind"] in ("k6_windows", "k6_summary"):
            needles[f"{name} k6 file"] = snap["file"]
        elif snap["kind"] == "evidence":
            for role, f in snap["files"].items():
                needles[f"{name} evidence file ({role})"] = f["path"]
    for check, detail in objective["details"].items():
        if isinstance(detail, str):  # an evidence check's finding, or k6's own threshold
            finding = re.sub(r"^(PASS|FAIL|NO_DATA|ERROR): ", "", detail)  # status: own cell
            needles[f"{name} check {check}"] = finding
    for s in objective["series"]:
        for key, value in s["labels"].items():
            needles[f"{name} series {key}={value}"] = value
        if s["status"] != "PASS":
            needles[f"{name} series {s['labels']} reason"] = s["reason"]
    return needles


@pytest.mark.parametrize("run", RUNS, indirect=True)
def test_gate_pages_show_each_objective_in_full(run: Rendered) -> None:
    """Status, PromQL (or evidence file / k6 file), window, step, series, snapshot file and
    SHA-256, and every reason in full, for every objective of every gate."""
    gaps = []
    for gate in run.verdicts["gates"]:
        doc = run.page(gate["id"])
        needles = {f"gate reason {i}": r for i, r in enumerate(gate["reasons"])}
        for o in gate["objectives"]:
            needles |= objective_needles(run, o)
            gaps += missing_pattern(
                doc, {f"{o['name']} status": rf"{re.escape(o['name'])}.{{0,200}}{o['status']}"}
            )
            for sid in o["snapshots"]:
                snap = run.snapshots[sid]
                if snap["kind"] != "prometheus_range":
                    continue
                req = snap["request"]
                start, end = parse_time(req["start"]), parse_time(req["end"])
                steps = "|".join(re.escape(f) for f in step_forms(req["step_seconds"]))
                for form, text in doc.forms().items():
                    squashed = squash(text)
                    if not has_window(squashed, start, end):
                        gaps.append(f"{form}: {o['name']} window {req['start']} – {req['end']} UTC")
                    if not re.search(rf"step\W{{0,3}}({steps})", squashed, re.I):
                        gaps.append(f"{form}: {o['name']} step {req['step_seconds']} s")
            for s in o["series"]:
                value = next(iter(s["labels"].values()), None)
                if value:
                    pattern = (
                        rf"{re.escape(value)}.{{0,300}}{s['status']}|"
                        rf"{s['status']}.{{0,300}}{re.escape(value)}"
                    )
                    gaps += missing_pattern(doc, {f"{o['name']} series {value} status": pattern})
        gaps += [f"{gate['id']} {g}" for g in missing_in(doc, needles)]
    report_gaps(gaps)


@pytest.mark.parametrize("run", RUNS, indirect=True)
def test_coverage_is_a_percentage(run: Rendered) -> None:
    gaps = []
    for gate in run.verdicts["gates"]:
        doc = run.page(gate["id"])
        for o in gate["objectives"]:
            if o.get("coverage") is None:
                continue
            pct = [f"{o['coverage'] * 100:.1f}%", f"{o['coverage'] * 100:.0f}%"]
            if o["coverage"] * 100 == int(o["coverage"] * 100):
                pct.append(f"{int(o['coverage'] * 100)}%")
            for form, text in doc.forms().items():
                if not any(p in squash(text) for p in pct):
                    gaps.append(f"{gate['id']} {form}: {o['name']} coverage as {pct[0]}")
    report_gaps(gaps)


# ---------------------------------------------------------------------------------------
# Evidence details rendered, not summarised


def evidence_gate(run: Rendered, kind: str) -> str:
    return next(
        g["id"]
        for g in run.verdicts["gates"]
        for o in g["objectives"]
        for f in o.get("evidence", [])
        if f["kind"] == kind
    )


def facts_of(run: Rendered, kind: str) -> list[dict[str, Any]]:
    """The recorded facts of ``kind``; none is a failure (the reports have nothing to show)."""
    facts = run.facts(kind)
    assert facts, f"verdicts.json records no EvidenceFact of kind {kind!r}"
    return facts


def gate_reading(run: Rendered, file_name: str) -> str:
    """The gate whose evidence snapshot captured ``file_name`` (from the snapshot itself)."""
    for g in run.verdicts["gates"]:
        for o in g["objectives"]:
            for sid in o["snapshots"]:
                files = run.snapshots[sid].get("files", {})
                if any(Path(f["path"]).name == file_name for f in files.values()):
                    return str(g["id"])
    raise AssertionError(f"no evidence snapshot captured {file_name}")


def fact_needles(fact: dict[str, Any], names: list[str]) -> dict[str, str]:
    return {
        f"{fact['kind']} {fact['subject']} {n}": str(fact["facts"][n])
        for n in names
        if fact["facts"].get(n) is not None
    }


@pytest.mark.parametrize("run", RUNS, indirect=True)
def test_evidence_facts_are_recorded(run: Rendered) -> None:
    """The reports can only render what verdicts.json records (EvidenceFact, issue part h1)."""
    kinds = {"release", "artifact", "sbom", "opa_bundle", "drill", "approvals", "comms"}
    recorded = {
        f["kind"]
        for g in run.verdicts["gates"]
        for o in g["objectives"]
        for f in o.get("evidence", [])
    }
    assert kinds <= recorded, f"no EvidenceFact of kind {sorted(kinds - recorded)} in verdicts.json"


@pytest.mark.parametrize("run", RUNS, indirect=True)
def test_g3_supply_chain_details(run: Rendered) -> None:
    gaps: list[str] = []
    for art in facts_of(run, "artifact"):
        doc = run.page(evidence_gate(run, "artifact"))
        needles = fact_needles(art, ["digest", "builder_id", "signer"])
        needles["artifact name"] = art["subject"]
        gaps += missing_in(doc, needles)
        gaps += missing_pattern(
            doc,
            {f"{art['subject']} SLSA level": rf"SLSA[^0-9]{{0,30}}{art['facts']['slsa_level']}"},
        )
    for sbom in facts_of(run, "sbom"):
        doc = run.page(evidence_gate(run, "sbom"))
        n_components = sbom["facts"]["components"]
        gaps += missing_words(
            doc,
            {
                f"{sbom['subject']} components": rf"\b{n_components}\W{{0,3}}components?\b|"
                rf"\bcomponents?\W{{0,3}}{n_components}\b"
            },
        )
        for sev in ("critical", "high", "medium", "low"):
            n = sbom["facts"].get(sev)
            if n is not None:
                gaps += missing_words(
                    doc,
                    {
                        f"{sbom['subject']} {sev} count": rf"\b{sev}\W{{0,3}}{n}\b|\b{n}\W{{0,3}}{sev}\b"
                    },
                )
        for row in sbom["rows"]:
            if row.get("state") == "open":
                gaps += missing_in(doc, {f"open finding {row['id']}": str(row["id"])})
    report_gaps(gaps)


@pytest.mark.parametrize("run", RUNS, indirect=True)
def test_g4_policy_bundle_details(run: Rendered) -> None:
    gaps: list[str] = []
    for bundle in facts_of(run, "opa_bundle"):
        doc = run.page(evidence_gate(run, "opa_bundle"))
        needles = fact_needles(bundle, ["revision", "key_fingerprint", "scope"])
        needles["bundle"] = bundle["subject"]
        gaps += missing_in(doc, needles)
        expires = bundle["facts"].get("expires_at")
        assert expires, "opa_bundle fact without expires_at"
        for form, text in doc.forms().items():
            if not has_instant(squash(text), parse_time(str(expires))):
                gaps.append(f"{form}: bundle expiry {expires}")
    report_gaps(gaps)


@pytest.mark.parametrize("run", RUNS, indirect=True)
def test_g5_k6_window_table_and_thresholds(run: Rendered) -> None:
    windows = [s for s in run.snapshots.values() if s["kind"] == "k6_windows"]
    summaries = [s for s in run.snapshots.values() if s["kind"] == "k6_summary"]
    assert windows
    assert summaries
    gate = next(
        g["id"]
        for g in run.verdicts["gates"]
        for o in g["objectives"]
        if set(o["snapshots"]) & {s["id"] for s in windows}
    )
    doc = run.page(gate)
    gaps: list[str] = []
    for snap in windows:
        for scenario, table in snap["scenarios"].items():
            for w in table["windows"]:
                start = parse_time(w["start"])
                p95 = "|".join(re.escape(f) for f in number_forms(w["p95_seconds"] * 1000))
                row = (
                    rf"{re.escape(scenario)}.{{0,120}}{start:%H:%M:%S}.{{0,200}}"
                    rf"{w['latency_samples']:,}|{w['latency_samples']}"
                )
                gaps += missing_pattern(doc, {f"window row {scenario} {w['start']}": row})
                gaps += missing_pattern(
                    doc, {f"window p95 {scenario} {w['start']}": rf"({p95})\W?ms"}
                )
    for snap in summaries:
        for t in snap["thresholds"]:
            gaps += missing_in(
                doc, {f"k6 threshold {t['metric']} {t['expression']}": t["expression"]}
            )
    scenarios = {sc for snap in windows for sc in snap["scenarios"]}
    if doc.images < len(scenarios):
        gaps.append(f"{doc.name}.html: {doc.images} images for {len(scenarios)} k6 scenarios")
    report_gaps(gaps)


@pytest.mark.parametrize("run", RUNS, indirect=True)
def test_g7_drill_rpo_rto_and_steps(run: Rendered) -> None:
    gaps: list[str] = []
    for drill in facts_of(run, "drill"):
        doc = run.page(evidence_gate(run, "drill"))
        f = drill["facts"]
        gaps += missing_in(doc, fact_needles(drill, ["env"]))
        for what in ("rpo", "rto"):
            gaps += missing_pattern(
                doc,
                {
                    f"{what.upper()} {f[what]} against {f[what + '_target']}": rf"{what}.{{0,40}}"
                    rf"{re.escape(str(f[what]))}.{{0,80}}{re.escape(str(f[what + '_target']))}"
                },
            )
        for key in ("started_at", "ended_at"):
            for form, text in doc.forms().items():
                if f.get(key) and not has_instant(squash(text), parse_time(str(f[key]))):
                    gaps.append(f"{form}: drill {key} {f[key]}")
        for step in drill["rows"]:
            gaps += missing_in(doc, {f"step {step['name']}": str(step["name"])})
            for form, text in doc.forms().items():
                if not has_instant(squash(text), parse_time(str(step["at"]))):
                    gaps.append(f"{form}: step {step['name']} at {step['at']}")
            gaps += missing_pattern(
                doc,
                {
                    f"step {step['name']} outcome": rf"{re.escape(squash(str(step['name'])))}.{{0,80}}{step['outcome']}"
                },
            )
    report_gaps(gaps)


@pytest.mark.parametrize("run", RUNS, indirect=True)
def test_g8_approvers_and_template_hashes(run: Rendered) -> None:
    """Approvers from the approvals document itself (R. Lead, ...), template hashes from
    the comms files in the bundle, checked against the recorded facts."""
    gaps: list[str] = []
    approvals = load_yaml(
        (run.bundle / "evidence" / "approvals.yaml").read_bytes(), where="approvals.yaml"
    )
    doc = run.page(gate_reading(run, "approvals.yaml"))
    facts_of(run, "approvals")
    for a in approvals["approvals"]:
        gaps += missing_pattern(
            doc,
            {
                f"{a['role']} approved by {a['name']}": rf"{re.escape(a['role'])}.{{0,80}}"
                rf"{re.escape(squash(a['name']))}.{{0,80}}{a['decision']}",
                f"{a['role']} reference {a['reference']}": re.escape(a["reference"]),
            },
        )
        for form, text in doc.forms().items():
            if not has_instant(squash(text), parse_time(a["timestamp"])):
                gaps.append(f"{form}: approval of {a['role']} at {a['timestamp']}")
    for comms in facts_of(run, "comms"):
        cdoc = run.page(evidence_gate(run, "comms"))
        for row in comms["rows"]:
            gaps += missing_in(
                cdoc,
                {
                    f"template {row['template']}": str(row["template"]),
                    f"template {row['template']} sha256": str(row["sha256"]),
                },
            )
            if row.get("file"):
                path = run.bundle / "evidence" / str(row["file"])
                if path.is_file():
                    import hashlib

                    assert hashlib.sha256(path.read_bytes()).hexdigest() == row["sha256"], row
    report_gaps(gaps)


# ---------------------------------------------------------------------------------------
# Every page, every report


@pytest.mark.parametrize("run", RUNS, indirect=True)
def test_every_pdf_page_has_the_footer_and_banner(run: Rendered) -> None:
    v = run.verdicts
    evaluated = parse_time(v["evaluated_at"])
    # neither run was given a key: both are signed with a throwaway one, so the banner is due
    assert (run.bundle / "UNTRUSTED-DEMO-KEY.txt").exists()
    gaps: list[str] = []
    for doc in run.docs.values():
        pages = doc.pdf_pages
        for n, page in enumerate(pages, 1):
            s = squash(page)
            where = f"{doc.name}.pdf page {n}/{len(pages)}"
            if not re.search(rf"page{n}of{len(pages)}", s, re.I):
                gaps.append(f"{where}: 'page {n} of {len(pages)}'")
            if run.manifest["releaseTag"] not in s:
                gaps.append(f"{where}: release tag")
            if v["matrix_sha256"][:7] not in s or not (
                f"{evaluated:%Y-%m-%d}" in s or f"{evaluated:%Y%m%d}" in s
            ):
                gaps.append(f"{where}: run id (evaluation time + short matrix hash)")
            if not re.search(r"untrusted\W*demo\W*key", s, re.I):
                gaps.append(f"{where}: untrusted-demo banner")
    report_gaps(gaps)


@pytest.mark.parametrize("run", RUNS, indirect=True)
def test_no_file_links(run: Rendered) -> None:
    gaps = []
    for doc in run.docs.values():
        if "file://" in doc.html_raw:
            gaps.append(f"{doc.name}.html holds 'file://'")
        gaps += [f"{doc.name}.html link {h}" for h in doc.hrefs if h.startswith("file:")]
        gaps += [
            f"{doc.name}.pdf link {u}"
            for u in doc.pdf_links
            if u.startswith("file:") or u.startswith("/")
        ]
        raw = (run.bundle / "reports" / f"{doc.name}.pdf").read_bytes()
        if b"file://" in raw:
            gaps.append(f"{doc.name}.pdf holds b'file://'")
    report_gaps(gaps)


@pytest.mark.parametrize("run", RUNS, indirect=True)
def test_no_truncation_marker(run: Rendered) -> None:
    """No "…" and no "..." anywhere an auditor reads: full text wraps, it is never cut."""
    gaps = []
    for form, text in all_docs(run):
        for marker in ("…", "..."):
            for m in re.finditer(re.escape(marker), text):
                gaps.append(
                    f"{form}: {marker!r} in {text[max(0, m.start() - 60) : m.end() + 20]!r}"
                )
    report_gaps(gaps)


@pytest.mark.parametrize("run", RUNS, indirect=True)
def test_no_developer_wording(run: Rendered) -> None:
    gaps = []
    out = str(run.out)
    queries = sorted(
        (s["request"]["query"] for s in run.snapshots.values() if s["kind"] == "prometheus_range"),
        key=len,
        reverse=True,
    )
    for form, text in all_docs(run):
        prose = squash(text)
        for query in queries:  # the exact PromQL may hold "{}" (an empty selector)
            prose = prose.replace(squash(query), "")
        gaps += [f"{form}: {w!r}" for w in DEVELOPER_WORDING if squash(w) in prose]
        if re.search(r"\bNone\b|\bnan\b", text):
            gaps.append(f"{form}: a raw None/nan value")
        if out in text or str(run.out.parent) in text:
            gaps.append(f"{form}: the build machine's path {out}")
    for doc in run.docs.values():
        if re.search(r"<th>\s*</th>\s*<th[^>]*>", doc.html_raw) and re.search(
            r"<tr>\s*<th>\s*0\s*</th>", doc.html_raw
        ):
            gaps.append(f"{doc.name}.html: a pandas index column (0, 1, 2, ...)")
        if re.search(r"<td>\s*(True|False)\s*</td>", doc.html_raw):
            gaps.append(f"{doc.name}.html: a raw boolean cell (True/False)")
    report_gaps(gaps)


# ---------------------------------------------------------------------------------------
# README: the auditor section against a real demo bundle; the screenshot script

README = ROOT / "README.md"
PDF_MARKER = "<!-- verify-pdfs-without-igkit -->"


def readme_section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", text, re.S | re.M)
    assert match, f"README.md has no section {title!r}"
    return match.group(1)


def readme_pdf_steps() -> list[str]:
    block = re.search(re.escape(PDF_MARKER) + r"\n```bash\n(.*?)```", README.read_text(), re.S)
    assert block, f"README.md has no {PDF_MARKER} bash block"
    return [ln for ln in block.group(1).splitlines() if ln.strip() and not ln.startswith("#")]


def run_pdf_steps(bundle: Path, public_key: Path) -> list[tuple[int, str]]:
    """(exit status, stdout + stderr) of each step, run by bash in the bundle directory."""
    results = []
    for step in readme_pdf_steps():
        done = subprocess.run(
            ["bash", "-c", step.replace("release.pub.pem", str(public_key))],
            cwd=bundle,
            capture_output=True,
            text=True,
            timeout=300,
        )
        results.append((done.returncode, done.stdout + done.stderr))
    return results


def test_readme_pdf_checks_pass_on_the_demo_bundle_and_catch_a_change(
    auditor_runs: dict[str, Rendered], tmp_path: Path
) -> None:
    demo, other = auditor_runs["demo"], auditor_runs["failing"]
    key = demo.out / "demo-key.pub.pem"
    assert len(readme_pdf_steps()) == 2
    assert run_pdf_steps(demo.bundle, key) == [(0, ""), (0, "")]  # positive control
    # another signer's key: step 6 names every PDF
    assert [
        out.count("not signed with")
        for _, out in run_pdf_steps(demo.bundle, other.out / "demo-key.pub.pem")
    ] == [0, len(demo.docs)]
    # one changed byte inside a signed range of one PDF: step 5 names that PDF
    copy = tmp_path / "bundle"
    shutil.copytree(demo.bundle, copy)
    pdf = copy / "reports" / "index.pdf"
    data = bytearray(pdf.read_bytes())
    data[200] ^= 0x01
    pdf.write_bytes(bytes(data))
    step5 = run_pdf_steps(copy, key)[0][1]
    assert step5 == "reports/index.pdf: not validly signed\n"


def test_readme_pdfsig_output_is_what_pdfsig_prints(auditor_runs: dict[str, Rendered]) -> None:
    """The sample output in the README, but for the signing time and byte ranges."""
    section = readme_section("For auditors: the signed reports")
    sample = re.search(
        r"```\n(Digital Signature Info of: reports/index.pdf\n.*?)```", section, re.S
    )
    assert sample, "README shows no pdfsig output"
    real = subprocess.run(
        ["pdfsig", "reports/index.pdf"],
        cwd=auditor_runs["demo"].bundle,
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    def stable(text: str) -> list[str]:
        return [
            ln for ln in text.splitlines() if "Signing Time" not in ln and "Signed Ranges" not in ln
        ]

    assert stable(sample.group(1)) == stable(real)


def test_readme_names_the_files_the_demo_writes(auditor_runs: dict[str, Rendered]) -> None:
    """Every file the auditor section names is in the demo bundle, and every report is named."""
    bundle = auditor_runs["demo"].bundle
    section = readme_section("For auditors: the signed reports")
    named = set(
        re.findall(
            r"`((?:reports|snapshots)/[\w.-]+|[\w.-]+\.(?:json|xml|yaml|txt|sig|pem|png))`", section
        )
    )
    named -= {"release.pub.pem"}  # the reader's own copy of the release key
    assert {n for n in named if not (bundle / n).exists()} == set()
    reports = {f"reports/{p.name}" for p in (bundle / "reports").iterdir()}
    stems = set(re.findall(r"`(G\d_[a-z_]+)`", section))
    assert {f"reports/{s}.{ext}" for s in stems for ext in ("html", "pdf")} | {
        "reports/index.html",
        "reports/index.pdf",
    } == reports
    top = {p.name for p in bundle.iterdir() if p.is_file()}
    assert top <= {Path(n).name for n in named}, sorted(top - {Path(n).name for n in named})


def test_screenshot_script_photographs_index_and_gate_report(
    auditor_runs: dict[str, Rendered], tmp_path: Path
) -> None:
    from PIL import Image

    from tests.support.screenshots import SHOTS, WIDTH, take

    pngs = take(auditor_runs["demo"].out, tmp_path)
    assert sorted(p.name for p in pngs) == sorted(SHOTS)
    for png in pngs:
        with Image.open(png) as img:
            assert img.width == WIDTH
            assert sum(img.convert("L").histogram()[:128]) > WIDTH * 10  # text, not blank


@pytest.mark.parametrize("run", RUNS, indirect=True)
def test_observed_against_threshold_with_units(run: Rendered) -> None:
    """Each measured objective shows its observed value and its threshold, both with units."""
    gaps = []
    for gate in run.verdicts["gates"]:
        doc = run.page(gate["id"])
        for o in gate["objectives"]:
            if o.get("unit") is None or o.get("threshold") is None:
                continue
            unit = "%" if o["unit"] == "percent" else o["unit"]
            for what in ("observed", "threshold"):
                value = o.get(what)
                if not isinstance(value, float | int):
                    continue
                spelled = [squash(f"{n}{unit}") for n in number_forms(value)]
                for form, text in doc.forms().items():
                    if not any(s in squash(text) for s in spelled):
                        gaps.append(f"{form}: {o['name']} {what} {value} {unit}")
    report_gaps(gaps)
