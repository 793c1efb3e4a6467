"""``igkit go-no-go --watch`` against a real Prometheus scraping a live loopback exporter.

The exporter (tests/support/exporter.py) serves ``igkit_watch_probe_seconds``; the matrix
(tests/fixtures/watch/matrix.yaml) passes W1 while the newest value is <= 350 ms. The tests flip
the value and watch the CLI (a real process, real signals) print the change, grow
``history.jsonl`` and stop on ``--until GO``, SIGINT or SIGTERM. The two live-Prometheus
tests take ~15 s together (Prometheus start, a Python process each): marked slow.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

from igkit.cli.main import main
from igkit.run import RunRequest
from igkit.spec.loader import load_matrix
from igkit.watch import (
    SUMMARY_TRANSITIONS,
    HistoryEntry,
    Transition,
    Watch,
    WatchSummary,
    changes,
    parse_interval,
)
from tests.support.exporter import Exporter, ScrapingPrometheus

REPO = Path(__file__).resolve().parents[1]
MATRIX = REPO / "tests" / "fixtures" / "watch" / "matrix.yaml"
METRIC = "igkit_watch_probe_seconds"
SLOW, FAST = 0.9, 0.1  # 900 ms fails W1 (<= 350 ms), 100 ms passes


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Exporter, str]]:
    """The exporter and the URL of a Prometheus that scrapes it every second, once it holds
    a first sample (until W1's 5s window fills, W1 is NO_DATA: a NO-GO like FAIL)."""
    empty = tmp_path_factory.mktemp("tsdb")
    with (
        Exporter(**{METRIC: SLOW}) as exporter,
        ScrapingPrometheus(empty, [exporter.address]) as prom,
    ):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            body = requests.get(
                f"{prom.url}/api/v1/query",
                params={"query": f"count_over_time({METRIC}[5s])"},
                timeout=5,
            ).json()
            result = body["data"]["result"]
            if result and float(result[0]["value"][1]) >= 1:
                break
            time.sleep(0.3)
        else:
            pytest.fail(f"{prom.url} never scraped {exporter.address}")
        yield exporter, prom.url


class Cli:
    """``python -m igkit go-no-go`` as a child process, its stdout read line by line."""

    def __init__(self, *args: str) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "igkit", "go-no-go", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=REPO,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, text: str, timeout: float = 15, *, end: str = "") -> None:
        """Until a line holds ``text`` (and ends with ``end``)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in line and line.endswith(end) for line in self.lines):
                return
            if self.proc.poll() is not None and not self._reader.is_alive():
                break
            time.sleep(0.05)
        pytest.fail(f"no {text!r} in the watch output: {self.lines}")

    def finish(self, timeout: float = 20) -> tuple[int, str]:
        try:
            rc = self.proc.wait(timeout=timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(timeout=5)
        assert self.proc.stderr is not None
        assert self.proc.stdout is not None
        err = self.proc.stderr.read()
        self.proc.stderr.close()
        self.proc.stdout.close()
        return rc, err


def history(out: Path) -> list[dict[str, Any]]:
    lines = (out / "history.jsonl").read_text().splitlines()
    entries = [json.loads(line) for line in lines]
    for entry in entries:
        HistoryEntry.model_validate(entry)  # every line has the documented shape
    return entries


def watch_args(out: Path, url: str, *extra: str) -> list[str]:
    return [
        "--validate-all",
        "--matrix",
        str(MATRIX),
        "--prom-url",
        url,
        "--out",
        str(out),
        "--watch",
        "1s",
        *extra,
    ]


@pytest.mark.prometheus
@pytest.mark.slow  # with the fixture's Prometheus, ~15 s of wall time
def test_until_go_exits_0_at_the_first_go_and_each_evaluation_replays(
    live: tuple[Exporter, str], tmp_path: Path
) -> None:
    exporter, url = live
    exporter.set(METRIC, SLOW)
    time.sleep(1.2)  # a scrape of the slow value
    out = tmp_path / "w"
    cli = Cli(*watch_args(out, url, "--until", "GO"))
    cli.wait_for("  W1 ", end="FAIL")  # perhaps after NO_DATA while the window fills
    assert any("why: W1 probe_latency" in line for line in cli.lines), cli.lines
    exporter.set(METRIC, FAST)
    rc, err = cli.finish()
    assert rc == 0, (cli.lines, err)
    assert any("NO-GO -> GO" in line for line in cli.lines), cli.lines
    assert any("W1 FAIL -> PASS" in line for line in cli.lines), cli.lines
    assert "watch stopped (--until GO)" in "\n".join(cli.lines)
    entries = history(out)
    assert entries[0]["decision"] == "NO-GO"
    assert entries[0]["gates"] in ({"W1": "FAIL"}, {"W1": "NO_DATA"})
    assert entries[-1]["decision"] == "GO"
    assert entries[-1]["gates"] == {"W1": "PASS"}
    assert all(e["decision"] in ("NO-GO", "GO") for e in entries)
    for entry in (next(e for e in entries if e["gates"]["W1"] == "FAIL"), entries[-1]):
        run_dir = out / entry["directory"]
        index = (run_dir / "snapshots" / "index.json").read_bytes()
        assert hashlib.sha256(index).hexdigest() == entry["snapshots_index_sha256"]
        verdicts = json.loads((run_dir / "verdicts.json").read_text())
        assert verdicts["decision"] == entry["decision"]
        assert verdicts["evaluated_at"] == entry["evaluated_at"]
        replayed = tmp_path / f"replay-{entry['decision']}"
        code = main(
            [
                "go-no-go",
                "--validate-all",
                "--matrix",
                str(MATRIX),
                "--quiet",
                "--no-notebooks",
                "--replay",
                str(run_dir),
                "--out",
                str(replayed),
            ]
        )
        assert code == (0 if entry["decision"] == "GO" else 1)
        assert json.loads((replayed / "verdicts.json").read_text())["gates"] == verdicts["gates"]


@pytest.mark.prometheus
@pytest.mark.slow
def test_sigint_prints_only_changes_and_a_summary_with_the_last_decisions_code(
    live: tuple[Exporter, str], tmp_path: Path
) -> None:
    exporter, url = live
    exporter.set(METRIC, FAST)
    time.sleep(1.2)
    out = tmp_path / "w"
    cli = Cli(*watch_args(out, url))
    cli.wait_for("  W1 ", end="PASS")
    exporter.set(METRIC, SLOW)
    cli.wait_for("GO -> NO-GO")
    deadline = time.monotonic() + 10
    while len(history(out)) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    cli.proc.send_signal(signal.SIGINT)
    rc, err = cli.finish()
    assert rc == 1, (cli.lines, err)
    assert "Traceback" not in err
    entries = history(out)
    n = len(entries)
    assert n >= 3
    assert all(e["directory"].startswith("evaluations/") for e in entries)
    decisions = [e["decision"] for e in entries]
    assert "GO" in decisions
    assert decisions[-1] == "NO-GO"
    heads = [line for line in cli.lines if not line.startswith((" ", "watch ", "history:"))]
    moves = sum(1 for a, b in itertools.pairwise(decisions) if a != b)
    assert len(heads) == 1 + moves < n, cli.lines  # unchanged evaluations print nothing
    summary = next(line for line in cli.lines if line.startswith("watch stopped"))
    assert summary.startswith(
        f"watch stopped (SIGINT) after {n} evaluation(s): first {decisions[0]}, last NO-GO"
    )
    assert f"{moves} decision change(s)" in summary


def test_prometheus_down_keeps_watching_and_sigterm_stops_with_no_go(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
    out = tmp_path / "w"
    cli = Cli(*watch_args(out, url))
    cli.wait_for("NO-GO")
    deadline = time.monotonic() + 10
    while len(history(out)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    cli.proc.send_signal(signal.SIGTERM)
    rc, err = cli.finish()
    assert rc == 1, (cli.lines, err)
    entries = history(out)
    assert len(entries) >= 2
    assert all(e["decision"] == "NO-GO" and e["gates"] == {"W1": "ERROR"} for e in entries)
    assert any("cannot connect to Prometheus" in line for line in cli.lines), cli.lines
    assert any(line.startswith("watch stopped (SIGTERM)") for line in cli.lines)


def test_an_evaluation_that_raises_is_error_in_history_and_the_watch_goes_on(
    tmp_path: Path,
) -> None:
    """The evidence directory vanishes after the first evaluation: each later evaluation
    raises, is an ERROR line in history and the watch keeps going until stopped; the first
    evaluation (positive control) is an ordinary NO-GO (nothing listens at the URL)."""
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    printed: list[str] = []

    def emit(line: str) -> None:
        printed.append(line)
        if evidence.exists():
            evidence.rmdir()

    watch = Watch(
        loaded=load_matrix(MATRIX),
        request=RunRequest(
            out=tmp_path / "unused",
            matrix=MATRIX,
            prom_url="http://127.0.0.1:9",
            evidence_dir=evidence,
        ),
        out=tmp_path / "w",
        interval=parse_interval("1s"),
        emit=emit,
    )

    def stop_after_three() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not watch.stop.is_set():
            if watch.summary.evaluations >= 3:
                watch.stop.set()
            time.sleep(0.05)

    threading.Thread(target=stop_after_three, daemon=True).start()
    summary = watch.run()
    entries = history(tmp_path / "w")
    assert summary.evaluations == len(entries) == 3
    assert [e["decision"] for e in entries] == ["NO-GO", "ERROR", "ERROR"]
    assert summary.last == "ERROR"
    assert entries[0]["gates"] == {"W1": "ERROR"}
    assert all("evidence directory does not exist" in e["error"] for e in entries[1:])
    assert all(e["snapshots_index_sha256"] is None for e in entries[1:])
    assert sum(1 for p in printed if "evaluation failed" in p) == 1  # the third is no change


def test_a_config_error_of_the_first_evaluation_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("IGKIT_PROM_URL", raising=False)
    args = [a for a in watch_args(tmp_path / "w", "x") if a not in ("--prom-url", "x")]
    assert main(["go-no-go", *args]) == 2
    assert "--prom-url" in capsys.readouterr().err
    assert not (tmp_path / "w" / "history.jsonl").exists()


def entry(decision: str, gates: dict[str, str]) -> HistoryEntry:
    return HistoryEntry(
        evaluated_at="2026-01-01T00:00:00Z",
        decision=decision,  # type: ignore[arg-type]
        gates=gates,
        directory="evaluations/x",
        snapshots_index_sha256=None,
    )


def test_changes_prints_first_everything_then_only_what_moved() -> None:
    go = entry("GO", {"G1": "PASS", "G2": "PASS"})
    assert changes(None, go, None)[0].startswith("2026-01-01T00:00:00Z  GO")
    assert changes(go, go, None) == []
    moved = changes(go, entry("NO-GO", {"G1": "PASS", "G2": "NO_DATA"}), None)
    assert moved[0].split()[1:4] == ["GO", "->", "NO-GO"]
    assert moved[1:] == ["  G2 PASS -> NO_DATA"]
    # a gate status that moves without changing the decision is still a change
    no_go = entry("NO-GO", {"G1": "FAIL", "G2": "ERROR"})
    assert changes(no_go, entry("NO-GO", {"G1": "FAIL", "G2": "NO_DATA"}), None) != []


@pytest.mark.parametrize("interval", ["0", "0s", "-5s", "-1", "abc", "30x", "0.5", "2d", "nan"])
def test_a_bad_interval_is_a_usage_error(
    interval: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = watch_args(tmp_path / "w", "http://127.0.0.1:9")
    args[args.index("1s")] = interval
    try:
        code = main(["go-no-go", *args])
    except SystemExit as exc:  # argparse's own: "-5s" reads as a flag, "--watch" lacks a value
        code = exc.code  # type: ignore[assignment]
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert "--watch" in err, err
    assert len(err.splitlines()) == 1, err
    assert not (tmp_path / "w").exists()


def test_good_intervals_parse() -> None:
    assert parse_interval("30s").total_seconds() == 30
    assert parse_interval("1m30s").total_seconds() == 90
    assert parse_interval("5").total_seconds() == 5


@pytest.mark.parametrize(
    ("extra", "flag"),
    [
        (["--at", "2026-01-01T00:00:00Z"], "--at"),
        (["--bundle"], "--bundle"),
        (["--replay", "/tmp"], "--replay"),
        (["--key", "/tmp/k.pem"], "--key"),
        (["--workers", "2"], "--workers"),
    ],
)
def test_watch_refuses_flags_that_do_not_fit_a_live_watch(
    extra: list[str], flag: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = watch_args(tmp_path / "w", "http://127.0.0.1:9")
    if flag == "--replay":
        args = [a for a in args if a not in ("--prom-url", "http://127.0.0.1:9")]
    assert main(["go-no-go", *args, *extra]) == 2
    assert flag in capsys.readouterr().err


def test_until_needs_watch_and_a_complete_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["go-no-go", "--matrix", str(MATRIX), "--prom-url", "http://127.0.0.1:9"]
    assert main([*base, "--validate-all", "--until", "GO", "--out", str(tmp_path / "a")]) == 2
    assert "--until" in capsys.readouterr().err
    demo = ["go-no-go", "--gate", "G1", "--prom-url", "http://127.0.0.1:9"]
    assert main([*demo, "--watch", "1s", "--until", "GO", "--out", str(tmp_path / "b")]) == 2
    assert "PARTIAL at best" in capsys.readouterr().err


def test_summary_names_the_last_transitions_and_a_watch_without_evaluations_is_no_go() -> None:
    assert WatchSummary(stopped_by="SIGINT").lines(Path("h")) == [
        "watch stopped (SIGINT) before any evaluation: NO-GO"
    ]
    flaps = [Transition(f"t{i}", "GO", "NO-GO") for i in range(SUMMARY_TRANSITIONS + 5)]
    summary = WatchSummary(40, "GO", "NO-GO", flaps, "SIGTERM")
    first = summary.lines(Path("h"))[0]
    assert f"{SUMMARY_TRANSITIONS + 5} decision change(s): the last {SUMMARY_TRANSITIONS}:" in first
    assert "at t4," not in first
    assert first.endswith(f"at t{SUMMARY_TRANSITIONS + 4}")


STATUSES = ["PASS", "FAIL", "NO_DATA", "ERROR"]


@pytest.mark.property
@given(
    st.lists(
        st.dictionaries(st.sampled_from(["G1", "G2", "G3"]), st.sampled_from(STATUSES), min_size=1),
        min_size=1,
        max_size=12,
    )
)
def test_changes_print_a_head_line_exactly_when_something_moved(
    sequence: list[dict[str, str]],
) -> None:
    """Over any sequence of evaluations: one head line for the first and for each that differs
    from its predecessor (decision or a gate status), and a gate line only for a gate that moved."""
    entries = [entry("GO" if set(g.values()) == {"PASS"} else "NO-GO", g) for g in sequence]
    previous: HistoryEntry | None = None
    heads = 0
    for current in entries:
        lines = changes(previous, current, None)
        moved = previous is None or previous.gates != current.gates
        assert bool(lines) == moved
        heads += bool(lines)
        for line in lines[1:]:
            gid = line.split()[0]
            assert previous is None or previous.gates.get(gid) != current.gates.get(gid), line
        previous = current
    assert heads == 1 + sum(1 for a, b in itertools.pairwise(entries) if a.gates != b.gates)


def one_evaluation(out: Path) -> None:
    watch = Watch(
        loaded=load_matrix(MATRIX),
        request=RunRequest(out=out, matrix=MATRIX, prom_url="http://127.0.0.1:9"),
        out=out,
        interval=parse_interval("1s"),
        emit=lambda line: watch.stop.set(),  # the first evaluation always prints
    )
    watch.run()


def test_a_restarted_watch_appends_and_a_plain_run_into_its_directory_removes_it_all(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "w"
    one_evaluation(out)
    one_evaluation(out)
    entries = history(out)
    assert len(entries) == 2
    assert all((out / e["directory"] / "verdicts.json").is_file() for e in entries)
    base = ["go-no-go", "--validate-all", "--matrix", str(MATRIX), "--no-notebooks"]
    assert main([*base, "--prom-url", "http://127.0.0.1:9", "--out", str(out), "--quiet"]) == 1
    assert not (out / "history.jsonl").exists()
    assert not (out / "evaluations").exists()  # no watch evidence mixes with the new run
    assert (out / "verdicts.json").is_file()
