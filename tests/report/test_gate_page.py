"""The per-gate report page (``gate_page_html``) on the demo replay, on a failing run of the
same snapshots, on a live run with ``--select`` and on hand-made verdicts: everything an auditor
must see is there, whole, escaped, with no pandas index and no raw dict."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from hypothesis import given, settings
from hypothesis import strategies as st

from igkit.explore import Run, load_run
from igkit.finops import downshift_tier, tier_name
from igkit.report.gate_page import gate_page_html
from igkit.snapshots import Snapshot
from igkit.verdicts import EvidenceFact, ObjectiveVerdict, SeriesVerdict, Status

DEFAULT_MATRIX = Path(__file__).resolve().parents[2] / "igkit" / "spec" / "default.yaml"
RAW_DICT = re.compile(r"\{'[^']*':|\{\"[^\"]*\":")
PANDAS = re.compile(r"\bdtype\b|\bUnnamed\b|\bNaN\b|<th>\s*0\s*</th>|DataFrame")


def text_of(page: str, *, code: bool = True) -> str:
    """What a reader (or pdftotext) sees: the text with whitespace collapsed; ``code=False``
    leaves out the verbatim values (PromQL may hold ``{}``)."""
    soup = BeautifulSoup(page, "html.parser")
    for tag in soup.find_all(["style"] if code else ["style", "code"]):
        tag.decompose()
    return " ".join(soup.get_text(" ").split())


@pytest.fixture(scope="module")
def demo() -> Run:
    return load_run("")


@pytest.fixture(scope="module")
def pages(demo: Run) -> dict[str, str]:
    return {g: gate_page_html(demo, g) for g in demo.gate_ids}


def _verdict_text(run: Run, gate_id: str) -> str:
    return run.gate(gate_id).model_dump_json()


def test_every_page_is_plain_escaped_html(demo: Run, pages: dict[str, str]) -> None:
    for gate_id, page in pages.items():
        soup = BeautifulSoup(page, "html.parser")
        assert soup.find_all("script") == []
        assert not re.search(r"\son\w+=", page)
        shown = text_of(page)
        assert "{}" not in text_of(page, code=False), gate_id
        assert not RAW_DICT.search(shown), gate_id
        assert not PANDAS.search(page), gate_id
        # every "…" on the page is in the verdict's own text: the page cuts nothing
        assert shown.count("…") <= _verdict_text(demo, gate_id).count("…"), gate_id
        images = [str(i.get("src")) for i in soup.find_all("img")]
        assert all(src.startswith("data:image/png;base64,") for src in images)
        assert all(i.get("alt") for i in soup.find_all("img"))


def test_header_shows_gate_status_time_and_full_reasons(demo: Run, pages: dict[str, str]) -> None:
    for gate in demo.verdicts().gates:
        shown = text_of(pages[gate.id])
        assert f"{gate.id} — {gate.name} {gate.status.value}" in shown
        assert "Evaluated at 2025-03-01 03:30:00 UTC" in shown
        for reason in gate.reasons:
            assert " ".join(reason.split()) in shown


def test_prometheus_objectives_show_what_was_read(demo: Run, pages: dict[str, str]) -> None:
    """Exact PromQL of the snapshot, UTC window, step, file name, full SHA-256, snapshot id."""
    refs = {r.id: r for r in demo.replay.index.snapshots} if demo.replay.index else {}
    checked = 0
    for gate_id in demo.gate_ids:
        page, shown = pages[gate_id], text_of(pages[gate_id])
        for pq in (p for (g, _), p in demo.planned.items() if g == gate_id):
            snap = demo.snapshots[pq.request.id]
            assert isinstance(snap, Snapshot)
            assert html.escape(snap.request.query) in page
            assert len(snap.sha256) == 64
            assert snap.sha256 in shown
            assert refs[snap.id].file in shown
            assert snap.id in shown
            checked += 1
    assert checked >= 10
    g1 = text_of(pages["G1"])
    assert "Window (UTC) 2025-03-01 02:30:00 UTC – 03:30:00 UTC" in g1
    assert "Step 15 s" in g1
    assert "G1-availability-bed4d857363321a4.json" in g1
    assert "Step 5 min" in text_of(pages["G6"])


def test_objectives_show_units_coverage_and_series(pages: dict[str, str]) -> None:
    g1 = text_of(pages["G1"])
    assert "Observed vs threshold 236 ms ≤ 350 ms" in g1
    assert "Observed vs threshold 99.99% ≥ 99.9%" in g1
    assert "Coverage 100.0%" in g1
    assert "Coverage 1.0" not in g1
    for tenant in ("tenant=acme", "tenant=globex", "tenant=initech"):
        assert tenant in g1
    assert "Series judged (3)" in g1
    g2 = text_of(pages["G2"])
    assert "worker=w1" in g2
    assert "pod=p1" in g2
    assert "80 MB/s ≥ 50 MB/s" in g2
    g3 = text_of(pages["G3"])
    assert "Coverage —" in g3  # not applicable to evidence
    assert "None" not in g3


def test_evidence_objectives_show_files_and_every_check(demo: Run, pages: dict[str, str]) -> None:
    for snap in demo.replay.evidence:
        gate_id = snap.objective.split("/")[0]
        shown = text_of(pages[gate_id])
        assert snap.sha256 in shown
        for f in snap.files.values():
            assert f.path in shown
            assert f.sha256 is None or f.sha256 in shown
    for gate_id in ("G3", "G4", "G7", "G8"):
        shown = text_of(pages[gate_id])
        for o in demo.gate(gate_id).objectives:
            for value in o.details.values():
                detail = str(value).split(": ", 1)[-1]
                assert " ".join(detail.split()) in shown, (gate_id, detail)
    assert "approved by M. Conductor at 2025-03-01T03:25:00Z (MC-GO-26)" in text_of(pages["G8"])
    assert "RPO 2m48s ≤ 5m" in text_of(pages["G7"])


def test_k6_objectives_show_files_and_windows(demo: Run, pages: dict[str, str]) -> None:
    shown = text_of(pages["G5"])
    for snap in demo.replay.k6:
        assert snap.file in shown
        assert snap.file_sha256 in shown
        assert snap.sha256 in shown
    assert "http_req_duration{scenario:graphql_reads} p(95)<350 ok graphql_reads" in shown
    assert "k6 results per window" in shown
    assert "k6 files read" in shown
    k6 = {o.name for o in demo.loaded.matrix.gate("G5").objectives if o.type == "k6"}
    assert len(k6) == 5  # G5's reported-only journeys read no k6 file
    for o in demo.gate("G5").objectives:
        if o.name in k6:
            assert f"Read: points.json.gz (snapshot {o.snapshots[0]})" in shown


def test_g6_shows_projection_and_tier_even_when_passing(demo: Run, pages: dict[str, str]) -> None:
    assert demo.gate("G6").status is Status.PASS
    shown = text_of(pages["G6"])
    assert "Month-to-date spend $43.75" in shown
    # 3 h 30 m into March is less than finops.min_history (24 h): no projection, and why
    assert "Projected month-end spend (linear) —" in shown
    assert "less than the 1d minimum (finops.min_history): no projection" in shown
    assert "Monthly budget $18,000.00" in shown
    assert "Downshift tier Tier 0 No action: infra month-to-date $44 = 0% of $18,000" in shown
    assert "month-to-date only, no projection" in shown  # 3.5 h of history: under min_history
    assert "budget=infra, component=ingest $28.35" in shown


def _with_gate(run: Run, gate_id: str, objectives: list[ObjectiveVerdict]) -> Run:
    """``run`` showing hand-made objectives for ``gate_id`` (its snapshots stay the run's)."""
    verdicts = run.verdicts()
    gates = [
        g.model_copy(update={"objectives": objectives, "status": Status.FAIL})
        if g.id == gate_id
        else g
        for g in verdicts.gates
    ]
    shown = load_run("")
    shown._verdicts = verdicts.model_copy(update={"gates": gates, "decision": "NO-GO"})
    return shown


def _series(tenant: str, status: Status, observed: float, reason: str) -> SeriesVerdict:
    failing = status is not Status.PASS
    at = datetime(2025, 3, 1, 3, 0, tzinfo=UTC)
    return SeriesVerdict(
        labels={"tenant": tenant},
        status=status,
        observed=observed,
        coverage=0.875,
        steps_expected=241,
        steps_present=211,
        steps_violating=12 if failing else 0,
        first_violation=at if failing else None,
        last_violation=at if failing else None,
        worst_value=observed,
        worst_at=at,
        reason=reason,
    )


def test_hostile_labels_are_escaped_and_long_reasons_whole(demo: Run) -> None:
    long_reason = "G1 graphql_query_p95 " + " ".join(f"step{i:03d}=over" for i in range(40))
    assert len(long_reason) >= 400
    hostile = '<script>alert("x")</script>'
    objective = ObjectiveVerdict(
        name="graphql_query_p95",
        status=Status.FAIL,
        observed=656.0,
        threshold=350.0,
        unit="ms",
        comparison="<=",
        coverage=0.875,
        reasons=[long_reason],
        snapshots=["9f2acb376f707dad"],
        series=[
            _series(hostile, Status.FAIL, 656.0, long_reason),
            _series("acme", Status.PASS, 236.0, "ok"),
        ],
    )
    page = gate_page_html(_with_gate(demo, "G1", [objective]), "G1")
    assert "<script" not in page
    assert html.escape(f"tenant={hostile}") in page
    shown = text_of(page)
    assert long_reason in shown
    assert "…" not in shown
    assert "656 ms ≤ 350 ms" in shown
    assert "Coverage 87.5%" in shown
    assert "12 of 241" in shown
    assert "2025-03-01 03:00:00 UTC" in shown
    # positive control: the honest twin renders the label as plain text
    honest = objective.model_copy(
        update={"series": [_series("globex", Status.FAIL, 656.0, long_reason)]}
    )
    assert "tenant=globex" in text_of(gate_page_html(_with_gate(demo, "G1", [honest]), "G1"))


def test_many_series_list_failing_rows_and_passing_compactly(demo: Run) -> None:
    series = [_series(f"t{i:04d}", Status.PASS, 200.0, "ok") for i in range(2000)]
    series[7] = _series("t0007", Status.FAIL, 800.0, "G1 graphql_query_p95 {tenant=t0007}: over")
    objective = ObjectiveVerdict(
        name="graphql_query_p95",
        status=Status.FAIL,
        observed=800.0,
        threshold=350.0,
        unit="ms",
        comparison="<=",
        reasons=["1 of 2000 series FAIL"],
        snapshots=["9f2acb376f707dad"],
        series=series,
    )
    page = gate_page_html(_with_gate(demo, "G1", [objective]), "G1")
    soup = BeautifulSoup(page, "html.parser")
    table = soup.select_one("table.igk-series")
    assert table is not None
    assert len(table.select("tbody tr")) == 1  # the failing one, not 2,000 rows
    shown = text_of(page)
    assert "Series judged (2,000)" in shown
    assert "1,999 passing series" in shown
    assert "tenant=t1999 (200 ms)" in shown


def test_evidence_facts_render_as_tables(demo: Run) -> None:
    facts = [
        EvidenceFact(
            kind="artifact",
            subject="intelgraph-api",
            status=Status.PASS,
            facts={
                "digest": "sha256:" + "ab" * 32,
                "builder_id": "https://github.com/intelgraph/release/build.yml",
                "slsa_level": 3,
                "signer": "SHA256:+F5mF0Ts",
                "signer_trust": "trusted (matrix key)",
            },
        ),
        EvidenceFact(
            kind="sbom",
            subject="intelgraph-api",
            status=Status.FAIL,
            facts={"components": 412, "critical": 1, "high": 0, "suppressed": 1},
            rows=[
                {
                    "id": "CVE-2025-0001",
                    "severity": "critical",
                    "component": "libx",
                    "state": "open",
                },
                {
                    "id": "CVE-2025-0002",
                    "severity": "high",
                    "component": "liby",
                    "state": "suppressed",
                },
            ],
        ),
        EvidenceFact(
            kind="drill",
            subject="DR-2025-02-27",
            status=Status.PASS,
            facts={
                "env": "prod",
                "rpo": "2m48s",
                "rpo_target": "5m",
                "rto": "42m30s",
                "rto_target": "1h",
            },
            rows=[{"name": "failover", "at": "2025-02-27T14:10:00Z", "outcome": "ok"}],
        ),
        EvidenceFact(
            kind="approvals",
            subject="approvals.yaml",
            status=Status.PASS,
            rows=[
                {
                    "role": "mc",
                    "approver": "M. Conductor",
                    "decision": "approved",
                    "at": "2025-03-01T02:55:00Z",
                    "reference": "MC-GO-26",
                    "status": "PASS",
                }
            ],
        ),
        EvidenceFact(kind="future_kind", subject="x", status=Status.PASS, facts={"answer": 42}),
    ]
    objective = ObjectiveVerdict(
        name="slsa_provenance", status=Status.FAIL, reasons=["see facts"], evidence=facts
    )
    shown = text_of(gate_page_html(_with_gate(demo, "G3", [objective]), "G3"))
    assert "Subject digest sha256:" + "ab" * 32 in shown
    assert "SLSA build level 3" in shown
    assert "Signer trusted as trusted (matrix key)" in shown
    assert "SBOM: intelgraph-api FAIL not verified" in shown
    assert "Components 412" in shown
    assert "CVE-2025-0001 critical libx open" in shown
    assert "CVE-2025-0002" not in shown  # suppressed: counted, not listed as open
    assert "RPO 2m48s (target ≤ 5m)" in shown
    assert "RTO 42m30s (target ≤ 1h)" in shown
    assert "failover 2025-02-27 14:10:00 UTC ok" in shown
    assert "mc M. Conductor approved 2025-03-01 02:55:00 UTC MC-GO-26 PASS" in shown
    assert "future_kind: x PASS" in shown
    assert "answer 42" in shown
    assert "Artifact provenance: intelgraph-api PASS not verified" not in shown


def test_g6_shows_the_tier_of_a_budget_projected_over(demo: Run) -> None:
    """A verdict from before the ladder explained itself (no downshift_* details): the page
    computes the tier from the recorded shares; with the judge's sentence it shows that."""
    g6 = demo.gate("G6").objectives[0]
    recorded = g6.details["downshift_text"]
    assert isinstance(recorded, str)
    assert recorded in text_of(gate_page_html(demo, "G6"))
    old = {k: v for k, v in g6.details.items() if not str(k).startswith("downshift_")}
    details = {**old, "projected_month_end_usd": 23400.0, "projected_share_of_budget": 1.3}
    over = g6.model_copy(update={"details": details, "warnings": ["projected over the budget"]})
    shown = text_of(gate_page_html(_with_gate(demo, "G6", [over]), "G6"))
    ladder = demo.loaded.matrix.cost_ladder
    assert ladder is not None
    burn = float(details["month_to_date_usd"]) / float(details["budget_usd"])
    tier = downshift_tier(burn, 1.3, ladder)
    assert tier > 0
    assert f"Downshift tier tier {tier} — {tier_name(tier)}" in shown
    assert "$23,400.00 (130.0% of the budget)" in shown
    assert "Warnings projected over the budget" in shown


def test_a_failing_run_of_the_demo_snapshots(tmp_path: Path) -> None:
    """The demo snapshots judged by a stricter matrix: FAIL with its violating series."""
    text = DEFAULT_MATRIX.read_text(encoding="utf-8")
    old = "threshold: {value: 350, unit: ms}"
    assert old in text
    strict = tmp_path / "strict.yaml"
    strict.write_text(text.replace(old, "threshold: {value: 200, unit: ms}", 1), encoding="utf-8")
    run = load_run("", strict)
    gate = run.gate("G1")
    assert gate.status is Status.FAIL
    shown = text_of(gate_page_html(run, "G1"))
    assert "G1 — SLO Baseline FAIL" in shown
    assert "236 ms ≤ 200 ms" in shown
    for reason in gate.reasons:
        assert " ".join(reason.split()) in shown
    assert "First violation" in shown
    assert "241 of 241" in shown
    failing = gate.objectives[0].series[0]
    assert " ".join(failing.reason.split()) in shown


@pytest.mark.prometheus
def test_select_shows_the_query_actually_sent(prometheus, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from igkit.run import RunRequest, run_gates
    from tests.support.scenarios import SCENARIOS

    out = tmp_path / "run"
    run_gates(
        RunRequest(
            out=out,
            gates=["G1"],
            at=SCENARIOS["all_green"].eval_time,
            prom_url=prometheus.url,
            select='tenant="acme"',
        )
    )
    run = load_run(out)
    page = gate_page_html(run, "G1")
    shown = text_of(page)
    sent = [s for s in run.snapshots.values() if isinstance(s, Snapshot)]
    assert sent
    for snap in sent:
        assert 'tenant="acme"' in snap.request.query
        assert html.escape(snap.request.query) in page
    assert 'Label matchers added to every query (--select) tenant="acme"' in shown
    assert "tenant=globex" not in shown


def test_an_unusable_snapshot_shows_the_planned_request_and_why(tmp_path: Path) -> None:
    """A snapshot altered after the run: ERROR, and the page names the query it stood for,
    its window, its file, the SHA-256 the index recorded and the cause (never a chart of it)."""
    import shutil

    from igkit.demo import demo_snapshot_dir, demo_trust_dir

    copy = tmp_path / "snapshots"
    shutil.copytree(demo_snapshot_dir(), copy)
    name = "G1-availability-bed4d857363321a4.json"
    text = (copy / name).read_text(encoding="utf-8")
    assert '"acme"' in text
    (copy / name).write_text(text.replace('"acme"', '"acmf"', 1), encoding="utf-8")
    run = load_run(copy, trust=demo_trust_dir())
    availability = next(o for o in run.gate("G1").objectives if o.name == "availability")
    assert availability.status is Status.ERROR
    assert availability.snapshots == []
    page = gate_page_html(run, "G1")
    shown = text_of(page)
    planned = run.planned[("G1", "availability")].request
    assert html.escape(planned.query) in page
    assert "PromQL planned" in shown
    assert "fails its SHA-256 check (content was altered)" in shown
    assert name in shown
    index = {r.id: r for r in run.replay.index.snapshots} if run.replay.index else {}
    assert f"SHA-256 recorded in the index {index[planned.id].sha256}" in shown
    assert "No chart" in shown
    # positive control: the untouched objectives of the same run still show what they read
    assert "PromQL sent" in shown
    # one per G1 objective (p95 query and mutation, p99, Neo4j 1-hop, availability)
    assert text_of(gate_page_html(load_run(""), "G1")).count("PromQL sent") == 5


@pytest.mark.property
@given(
    values=st.lists(
        st.text(st.characters(exclude_characters="\r", exclude_categories=["Cs"]), min_size=1),
        min_size=1,
        max_size=4,
    )
)
@settings(max_examples=200, deadline=None)
def test_any_text_comes_back_as_text_never_markup(values: list[str]) -> None:
    """Whatever a label, fact or reason holds, the page shows exactly that text and no tag."""
    from igkit.report.page.markup import DASH, fields, table

    cells = values  # (a CR is normalised by HTML parsing itself: not generated)
    page = table(["column"] * len(cells), [cells]) + fields([("key", cells[0])])
    soup = BeautifulSoup(page, "html.parser")
    assert {t.name for t in soup.find_all(True)} <= {"table", "thead", "tbody", "tr", "th", "td"}
    shown = [c if c.strip() else DASH for c in cells]  # blank text is shown as a dash
    assert [td.get_text() for td in soup.find_all("td")] == [*shown, shown[0]]
