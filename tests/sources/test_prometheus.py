"""The live source against the real Prometheus, and the fault paths that must become ERROR."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from igkit.cli.main import main
from igkit.snapshots import RangeRequest
from igkit.sources.prometheus import PrometheusSource, split_range
from tests.support.prometheus import PrometheusServer, _free_port
from tests.support.scenarios import SCENARIOS
from tests.support.stub_prometheus import stub_prometheus

REPO = Path(__file__).resolve().parents[2]
GREEN_AT = SCENARIOS["all_green"].eval_time.isoformat()


def load(d: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((d / "verdicts.json").read_text())
    return data


def g1_objectives(d: Path) -> dict[str, dict[str, Any]]:
    return {o["name"]: o for o in load(d)["gates"][0]["objectives"]}


@pytest.mark.prometheus
def test_long_range_is_split_and_stitched_without_duplicates(prometheus: PrometheusServer) -> None:
    request = RangeRequest(
        query='finops_cost_usd_total{budget="infra"}',
        start=datetime(2025, 3, 1, 0, 0, tzinfo=UTC),
        end=datetime(2025, 3, 2, 11, 30, tzinfo=UTC),  # cost data ends 10 minutes after this
        step_seconds=10,
    )
    expected_points = 35 * 360 + 180 + 1
    assert len(split_range(request)) == 2
    # the server itself refuses the range in one piece
    one = requests.get(
        f"{prometheus.url}/api/v1/query_range",
        params={
            "query": request.query,
            "start": request.start.timestamp(),
            "end": request.end.timestamp(),
            "step": 10,
        },
        timeout=30,
    )
    assert one.status_code == 400
    assert "11,000 points" in one.json()["error"]

    default = PrometheusSource(prometheus.url).fetch(request)
    fine = PrometheusSource(prometheus.url, max_points=997).fetch(request)
    assert default.status == fine.status == "success"
    assert default.chunks == 2
    assert fine.chunks == 13  # 12,781 points / 997
    assert default.result == fine.result
    for series in default.result:
        ts = [v[0] for v in series["values"]]
        assert len(ts) == len(set(ts)) == expected_points
        assert ts == sorted(ts)


@pytest.mark.prometheus
def test_query_the_server_refuses_is_objective_error_with_server_message(
    prometheus: PrometheusServer, tmp_path: Path
) -> None:
    """A query that parses but that Prometheus refuses when it evaluates it (an invalid
    label_replace regex): that objective is ERROR with the server's message. (A PromQL
    syntax error never gets this far: ``parse_matrix`` refuses it, see tests/spec.)"""
    matrix = tmp_path / "m.yaml"
    matrix.write_text(
        """defaults: {step: 15s, rate: 5m, min_coverage: 0.9, max_staleness: 2m, max_gap: 5m}
gates:
  - id: G1
    name: SLO
    objectives:
      - name: broken
        query: 'label_replace(sum(rate(http_requests_total[$rate])), "a", "$$1", "b", "(")'
        comparison: ">="
        threshold: {value: 1, unit: ratio}
        rule: {kind: all_steps, window: 60m}
      - name: fine
        named_query: {name: success_ratio, params: {by: tenant}}
        comparison: ">="
        threshold: {value: 99.9, unit: percent}
        rule: {kind: all_steps, window: 60m}
"""
    )
    out = tmp_path / "out"
    rc = main(
        [
            "go-no-go",
            "--gate",
            "G1",
            "--matrix",
            str(matrix),
            "--prom-url",
            prometheus.url,
            "--at",
            GREEN_AT,
            "--out",
            str(out),
        ]
    )
    assert rc == 1
    objs = g1_objectives(out)
    assert objs["broken"]["status"] == "ERROR"
    assert "HTTP 422 execution" in objs["broken"]["reasons"][0]
    assert "invalid regular expression in label_replace()" in objs["broken"]["reasons"][0]
    assert objs["fine"]["status"] == "PASS"
    snap = json.loads(next((out / "snapshots").glob("G1-broken-*.json")).read_text())
    assert snap["status"] == "error"


def test_stopped_prometheus_is_error_exit_1_no_traceback(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_free_port()}"  # what a stopped server leaves: a refused port
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "igkit",
            "go-no-go",
            "--validate-all",
            "--no-notebooks",  # the fetch failure is the subject; 8 kernels would add ~40 s
            "--prom-url",
            url,
            "--at",
            GREEN_AT,
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    verdicts = load(tmp_path)
    statuses = {g["id"]: g["status"] for g in verdicts["gates"]}
    assert {g: statuses[g] for g in ("G1", "G2", "G4", "G6")} == dict.fromkeys(
        ("G1", "G2", "G4", "G6"), "ERROR"
    )
    # G3/G5/G7/G8 read files, not Prometheus, and none were given
    assert {g: statuses[g] for g in ("G3", "G5", "G7", "G8")} == dict.fromkeys(
        ("G3", "G5", "G7", "G8"), "NO_DATA"
    )
    reason = verdicts["gates"][0]["reasons"][0]
    assert f"cannot connect to Prometheus at {url}" in reason
    assert "connection refused" in reason


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("503", "HTTP 503"),
        ("warnings", "partial response: store gateway eu-1 unavailable"),
        ("html", "not a Prometheus API answer"),
        ("vector", "resultType is 'vector', not 'matrix'"),
        ("hang", "no answer from"),
    ],
)
def test_sick_server_answers_become_error(mode: str, expected: str, tmp_path: Path) -> None:
    with stub_prometheus() as (url, state):
        state.mode = mode
        rc = main(
            [
                "go-no-go",
                "--gate",
                "G1",
                "--prom-url",
                url,
                "--timeout",
                "1",
                "--at",
                GREEN_AT,
                "--out",
                str(tmp_path),
            ]
        )
    assert rc == 1
    objs = g1_objectives(tmp_path)
    assert {o["status"] for o in objs.values()} == {"ERROR"}
    assert all(expected in o["reasons"][0] for o in objs.values())


def test_credentials_and_tenant_are_sent_but_never_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    canary = "canary-token-5f1c2b0e9d"
    monkeypatch.setenv("IGKIT_PROM_TOKEN", canary)
    with stub_prometheus() as (url, state):
        rc = main(
            [
                "go-no-go",
                "--gate",
                "G1",
                "--prom-url",
                url,
                "--tenant",
                "acme",
                "--at",
                GREEN_AT,
                "--out",
                str(tmp_path),
            ]
        )
    assert rc == 0
    headers = state.requests[0]["headers"]
    assert headers["Authorization"] == f"Bearer {canary}"
    assert headers["X-Scope-OrgID"] == "acme"
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert written
    for path in written:
        assert canary not in path.read_text(), path
    index = json.loads((tmp_path / "snapshots" / "index.json").read_text())
    assert index["tenant"] == "acme"


def test_basic_auth_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IGKIT_PROM_USERNAME", "qe-bot")
    monkeypatch.setenv("IGKIT_PROM_PASSWORD", "pa55-canary")
    with stub_prometheus() as (url, state):
        assert (
            main(
                [
                    "go-no-go",
                    "--gate",
                    "G1",
                    "--prom-url",
                    url,
                    "--at",
                    GREEN_AT,
                    "--out",
                    str(tmp_path),
                ]
            )
            == 0
        )
    assert state.requests[0]["headers"]["Authorization"].startswith("Basic ")
    assert all("pa55-canary" not in p.read_text() for p in tmp_path.rglob("*") if p.is_file())


def test_url_with_credentials_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(
        [
            "go-no-go",
            "--gate",
            "G1",
            "--prom-url",
            "http://qe:secret@127.0.0.1:9",
            "--out",
            str(tmp_path),
        ]
    )
    assert rc == 2
    err = capsys.readouterr().err
    assert "must not carry credentials" in err
    assert "secret" not in err
    assert not (tmp_path / "verdicts.json").exists()
