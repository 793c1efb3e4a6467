"""G5's k6 section of the gate report: the per-window table, k6's thresholds beside igkit's,
a chart per scenario, and the file, snapshot id and SHA-256 of each table.

Rendered from real runs (the demo replay and the recorded real k6 ``mixed`` run judged with
2-second windows); numbers are checked against the sealed snapshots, statuses against the
judge's verdict. No kernel, no browser."""

from __future__ import annotations

import base64
import gzip
import shutil
from pathlib import Path

import pytest
from bs4 import BeautifulSoup, Tag

from igkit.explore import Run, k6_window_frame, load_run
from igkit.report.k6_section import WINDOW_HEADERS, k6_section_html
from igkit.report.plots import plot_k6_windows
from igkit.snapshots import K6Snapshot, K6SummarySnapshot
from igkit.spec.models import K6Objective
from igkit.units import Unit, fmt
from tests.k6.test_g5_gate import FIXTURES, fast_matrix, g5


def soup(html: str) -> BeautifulSoup:
    return BeautifulSoup(html, "html.parser")


def table_after(dom: BeautifulSoup, caption_start: str) -> list[Tag]:
    return [
        t
        for t in dom.find_all("table")
        if isinstance(t, Tag)
        and (c := t.find("caption"))
        and c.get_text().startswith(caption_start)
    ]


def body_rows(table: Tag) -> list[list[str]]:
    return [[td.get_text() for td in tr.find_all("td")] for tr in table.select("tbody tr")]


def of(rows: list[list[str]], objective: str) -> list[list[str]]:
    """The rows of one objective (its cell: ``name`` or ``name (scenario)``)."""
    return [r for r in rows if r[0].split(" (")[0] == objective]


def only(items: list[Tag]) -> Tag:
    assert len(items) == 1, items
    return items[0]


def k6_snapshots(run: Run) -> tuple[list[K6Snapshot], list[K6SummarySnapshot]]:
    return (
        [s for s in run.replay.k6 if isinstance(s, K6Snapshot)],
        [s for s in run.replay.k6 if isinstance(s, K6SummarySnapshot)],
    )


@pytest.fixture(scope="module")
def demo() -> Run:
    return load_run("")


def judged(tmp: Path, *k6: Path, **settings: object) -> Run:
    """G5 judged by ``igkit go-no-go`` (2-second windows, k6 ``settings`` of the matrix
    changed) on ``k6`` files, loaded back."""
    tmp.mkdir(parents=True, exist_ok=True)
    matrix = fast_matrix(tmp, **settings)
    args = ["--matrix", str(matrix)]
    for f in k6:
        args += ["--k6", str(f)]
    g5(args, tmp / "out")
    return load_run(tmp / "out", matrix)


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Run:
    tmp = tmp_path_factory.mktemp("mixed")
    summary = tmp / "handle-summary.json"
    summary.write_bytes(
        gzip.decompress((FIXTURES / "mixed" / "handle-summary.json.gz").read_bytes())
    )
    return judged(tmp, FIXTURES / "mixed" / "points.json.gz", summary)


def k6_objectives(run: Run) -> list[K6Objective]:
    """G5's k6 objectives (the section's subject; G5 also holds the reported-only journeys)."""
    return [o for o in run.loaded.matrix.gate("G5").objectives if isinstance(o, K6Objective)]


def test_demo_window_table_has_every_scenario_window_with_its_numbers(demo: Run) -> None:
    dom = soup(k6_section_html(demo, "G5"))
    (snap,), _ = k6_snapshots(demo)
    table = only(table_after(dom, "Per-window table"))
    headers = [th.get_text() for th in table.select("thead th")]
    assert headers == [WINDOW_HEADERS[0], "Window (UTC, 2026-11-27)", *WINDOW_HEADERS[2:]]
    rows = body_rows(table)
    matrix = {o.name: o for o in k6_objectives(demo)}
    expected = []
    for name, obj in matrix.items():
        scenario = getattr(obj, "scenario", None)
        t = snap.overall if scenario is None else snap.scenarios[scenario]
        assert t is not None
        for w in t.windows:
            expected.append(
                [
                    name if scenario else f"{name} (all requests)",
                    f"{w.start:%H:%M:%S}–{w.end:%H:%M:%S}",
                    f"{w.requests:,}",
                    f"{w.failed:,}",
                    fmt(100 * w.failed / w.requests, Unit.PERCENT),
                    "≤ 0.1%",
                    f"{w.latency_samples:,}",
                    fmt(w.p95_seconds * 1000, Unit.MS) if w.p95_seconds is not None else "—",
                ]
            )
    assert len(rows) == len(expected) == 5
    assert [r[:8] for r in rows] == expected
    assert [r[8] for r in rows] == ["≤ 350 ms", "≤ 700 ms", "≤ 300 ms", "≤ 25 ms", "not judged"]
    assert [r[9] for r in rows] == ["PASS"] * 5
    assert rows[0][7] == "20.7 ms"  # graphql_reads' one window, as the demo verdict says
    caption = table.find("caption")
    assert caption is not None
    text = caption.get_text()
    assert "points.json.gz" in text
    assert snap.id in text
    assert len(snap.sha256) == 64
    assert snap.sha256 in text
    assert snap.file_sha256 is not None
    assert snap.file_sha256 in text


def test_demo_k6_thresholds_beside_igkits(demo: Run) -> None:
    html = k6_section_html(demo, "G5")
    dom = soup(html)
    _, (summary,) = k6_snapshots(demo)
    table = only(table_after(dom, "k6's own thresholds"))
    rows = body_rows(table)
    assert {(r[0], r[1], r[2]) for r in rows} == {
        (t.metric, t.expression, "ok" if t.ok else "failed") for t in summary.thresholds
    }
    reads = next(r for r in rows if r[0] == "http_req_duration{scenario:graphql_reads}")
    assert reads[3:] == ["graphql_reads", "p95 ≤ 350 ms", "PASS"]
    failed = next(r for r in rows if r[0] == "http_req_failed")
    assert failed[3:] == ["error_rate_overall", "error rate ≤ 0.1%", "PASS"]
    avg = next(r for r in rows if r[1] == "avg<200")
    assert avg[5] == "— (not compared)"  # igkit judges no average: no status borrowed
    caption = table.find("caption")
    assert caption is not None
    assert summary.id in caption.get_text()
    assert summary.sha256 in caption.get_text()
    assert "igkit decides the gate; k6's own threshold results are shown for comparison" in (
        dom.get_text()
    )


def test_demo_chart_per_scenario(demo: Run) -> None:
    dom = soup(k6_section_html(demo, "G5"))
    images = dom.find_all("img")
    names = [o.name for o in k6_objectives(demo)]
    assert len(images) == len(names) == 5
    for img, name in zip(images, names, strict=True):
        assert isinstance(img, Tag)
        alt = str(img["alt"])
        assert alt.startswith(f"k6 {name}:")
        assert "0 of 1 windows fail" in alt
        src = str(img["src"])
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.removeprefix("data:image/png;base64,"))[:4] == b"\x89PNG"


def test_no_developer_text(demo: Run) -> None:
    html = k6_section_html(demo, "G5")
    text = soup(html).get_text()
    for bad in ("…", "NaN", "None", "{}", "nan", "Unnamed", "dtype"):
        assert bad not in text
    assert "file://" not in html
    assert k6_section_html(demo, "G1") == ""  # no k6 objective, no section


def test_failing_run_marks_the_windows_the_judge_counts(mixed: Run) -> None:
    dom = soup(k6_section_html(mixed, "G5"))
    rows = body_rows(only(table_after(dom, "Per-window table")))
    k6 = {o.name for o in k6_objectives(mixed)}
    verdicts = {o.name: o for o in mixed.gate("G5").objectives if o.name in k6}
    assert verdicts["graphql_reads"].status.value == "FAIL"
    for name, verdict in verdicts.items():
        statuses = [r[9] for r in of(rows, name)]
        (series,) = verdict.series
        assert len(statuses) == series.steps_expected
        assert statuses.count("FAIL") == series.steps_violating, name
    reads = of(rows, "graphql_reads")
    assert [r[9] for r in reads].count("FAIL") == 2  # 2 consecutive failing 2s windows
    assert all(r[7].endswith(" ms") for r in reads)
    slow = [r for r in reads if r[9] == "FAIL"]
    assert all(float(r[7].removesuffix(" ms")) > 350 for r in slow)
    opa = [r for r in of(rows, "opa_decision") if r[9] == "FAIL"]
    assert [r[4] for r in opa] == ["1.25%", "1.25%"]  # erring windows: 1 of 80 requests failed
    assert len(of(rows, "error_rate_overall")) == 7
    thresholds = body_rows(only(table_after(dom, "k6's own thresholds")))
    k6_reads = next(r for r in thresholds if r[0] == "http_req_duration{scenario:graphql_reads}")
    assert k6_reads[2:] == ["failed", "graphql_reads", "p95 ≤ 350 ms", "FAIL"]


def test_failing_chart_marks_each_violating_window(mixed: Run) -> None:
    windows = k6_window_frame(mixed, "G5")
    reads = windows[windows["objective"] == "graphql_reads"]
    fig = plot_k6_windows(reads)
    p95_ax, err_ax = fig.axes
    spans = [p for p in p95_ax.patches if p.get_gid() == "violating-window"]
    assert len(spans) == 2
    assert not [p for p in err_ax.patches if p.get_gid() == "violating-window"]
    assert [t.get_text() for t in p95_ax.texts] == ["threshold ≤ 350 ms"]
    low, high = p95_ax.get_ylim()
    assert low < float(reads["p95_ms"].min())
    assert high > float(reads["p95_ms"].max())
    assert high > 350


def test_hostile_file_name_is_escaped(tmp_path: Path) -> None:
    hostile = tmp_path / 'pts<img src=x onerror="alert(1)">.json.gz'
    shutil.copy(FIXTURES / "green" / "points.json.gz", hostile)
    html = k6_section_html(judged(tmp_path / "h", hostile), "G5")
    assert "<img src=x" not in html
    assert "pts&lt;img src=x onerror=&quot;alert(1)&quot;&gt;.json.gz" in html
    # positive control: the honest twin renders the same table, all windows PASS
    honest = soup(
        k6_section_html(judged(tmp_path / "g", FIXTURES / "green" / "points.json.gz"), "G5")
    )
    statuses = {r[9] for r in body_rows(only(table_after(honest, "Per-window table")))}
    assert statuses == {"PASS"}
    dom = soup(html)
    assert {r[9] for r in body_rows(only(table_after(dom, "Per-window table")))} == {"PASS"}


def test_no_k6_points_says_why_in_one_sentence(tmp_path: Path) -> None:
    dom = soup(k6_section_html(judged(tmp_path), "G5"))
    assert not table_after(dom, "Per-window table")
    assert not dom.find_all("img")
    text = dom.get_text()
    assert "This run holds no k6 window table: no k6 points file" in text
    assert "igkit go-no-go --k6 FILE" in text
    assert "no k6 end-of-test summary" in text


def test_unreadable_k6_file_says_so(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text(
        '{"type":"Point","metric":"http_req_duration","data":{"time":"x","value":1}}\n' * 3
    )
    dom = soup(k6_section_html(judged(tmp_path / "r", broken), "G5"))
    assert not table_after(dom, "Per-window table")
    text = dom.get_text()
    assert "This run holds no usable k6 window table: broken.json (snapshot " in text
    assert "could not be cut into windows: broken.json:1: no k6 Metric or Point lines" in text


def statuses_by_objective(run: Run) -> dict[str, set[str]]:
    windows = k6_window_frame(run, "G5")
    return {str(k): set(v) for k, v in windows.groupby("objective")["status"]}


def test_thin_windows_are_no_data_never_pass(tmp_path: Path) -> None:
    """70 samples a window: the reads' 60-sample window is not judged, its others are; the
    writes (40 a window) have no window table at all, and the section says why."""
    run = judged(tmp_path, FIXTURES / "mixed" / "points.json.gz", min_samples_per_window=70)
    windows = k6_window_frame(run, "G5")
    reads = windows[windows["objective"] == "graphql_reads"]
    thin = reads["latency_samples"] < 70
    assert thin.sum() == 1
    assert set(reads.loc[thin, "status"]) == {"NO_DATA"}
    assert "NO_DATA" not in set(reads.loc[~thin, "status"])  # positive control, same table
    assert "graphql_writes" not in set(windows["objective"])
    text = soup(k6_section_html(run, "G5")).get_text()
    assert "graphql_writes: no window rows (NO_DATA): " in text
    assert "too few to judge its windows" in text
    fig = plot_k6_windows(reads)
    hatched = [p for p in fig.axes[0].patches if p.get_gid() == "unjudged-window"]
    assert len(hatched) == 1


def test_incomplete_file_shows_no_passing_window(tmp_path: Path) -> None:
    lines = gzip.decompress((FIXTURES / "green" / "points.json.gz").read_bytes()).splitlines(
        keepends=True
    )
    damaged = tmp_path / "damaged.json"
    half = len(lines) // 2
    damaged.write_bytes(b"".join([*lines[:half], b'{"type":"Point", garbage\n', *lines[half:]]))
    run = judged(tmp_path / "run", damaged)
    assert set().union(*statuses_by_objective(run).values()) == {"NO_DATA"}
    dom = soup(k6_section_html(run, "G5"))
    caption = only(table_after(dom, "Per-window table")).find("caption")
    assert caption is not None
    assert "the file is incomplete (line " in caption.get_text()
    assert "a window that would pass is shown NO_DATA" in caption.get_text()


def test_windows_cut_under_other_settings_are_error(mixed: Run) -> None:
    """The mixed run's 2-second table replayed under the shipped matrix (60-second windows)."""
    again = load_run(mixed.replay.directory, None)
    assert set().union(*statuses_by_objective(again).values()) == {"ERROR"}
    k6 = {o.name for o in k6_objectives(again)}
    assert {o.status.value for o in again.gate("G5").objectives if o.name in k6} == {"ERROR"}


def test_two_k6_files_give_a_table_each_with_its_own_snapshot(tmp_path: Path) -> None:
    run = judged(
        tmp_path, FIXTURES / "mixed" / "points.json.gz", FIXTURES / "mixed" / "points.csv.gz"
    )
    snaps, _ = k6_snapshots(run)
    assert len(snaps) == 2
    dom = soup(k6_section_html(run, "G5"))
    tables = table_after(dom, "Per-window table")
    assert len(tables) == 2
    for table, snap in zip(tables, snaps, strict=True):
        caption = table.find("caption")
        assert caption is not None
        assert snap.file in caption.get_text()
        assert snap.sha256 in caption.get_text()
        assert {r[9] for r in of(body_rows(table), "graphql_reads")} == {"PASS", "FAIL"}
    images = dom.find_all("img")
    assert len(images) == 5  # a chart per scenario, each with a row of panels per file
    fig = plot_k6_windows(k6_window_frame(run, "G5").query("objective == 'graphql_reads'"))
    titles = [ax.get_title() for ax in fig.axes]
    assert "graphql_reads [points.json.gz]: p95 per window" in titles
    assert "graphql_reads [points.csv.gz]: p95 per window" in titles
