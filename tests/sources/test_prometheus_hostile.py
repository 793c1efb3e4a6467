"""A hostile or sick Prometheus: malformed answers, forged snapshots, declared series,
redirects, slow drips, oversized bodies and echoed credentials (issue #8 classes 1, 6, 9).

Every hostile case has an honest twin that still PASSes. Faults a real Prometheus cannot
produce on demand come from ``tests/support/stub_prometheus.py``; declared-series tests
use the real session Prometheus.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from igkit.cli.main import main
from igkit.errors import ConfigError
from igkit.judge.prometheus import evaluate_prometheus
from igkit.snapshots import (
    RangeRequest,
    ResultError,
    Snapshot,
    canonical_sha256,
    parse_query_range_body,
)
from igkit.sources.prometheus import PrometheusSource, public_url
from igkit.spec.loader import load_matrix, parse_matrix
from igkit.spec.plan import plan
from igkit.verdicts import Status
from tests.support.prometheus import PrometheusServer
from tests.support.scenarios import SCENARIOS
from tests.support.stub_prometheus import stub_prometheus

AT = SCENARIOS["all_green"].eval_time
AT_TEXT = AT.isoformat()

ONE_OBJECTIVE = """defaults: {step: 15s, rate: 5m, min_coverage: 0.9, max_staleness: 2m, max_gap: 5m}
gates:
  - id: G1
    name: SLO
    objectives:
      - name: availability
        query: avail_ratio
        comparison: ">="
        threshold: {value: 99.9, unit: percent}
        rule: {kind: all_steps, window: 10m}
"""

Result = Callable[[dict[str, str]], list[dict[str, Any]]]


def grid(params: dict[str, str]) -> list[float]:
    start, end, step = float(params["start"]), float(params["end"]), float(params["step"])
    return [start + i * step for i in range(int((end - start) // step) + 1)]


def series(value: Any, **labels: str) -> Result:
    return lambda p: [
        {"metric": labels or {"tenant": "acme"}, "values": [[t, value] for t in grid(p)]}
    ]


def both(*parts: Result) -> Result:
    return lambda p: [s for part in parts for s in part(p)]


def run(
    tmp_path: Path, url: str, *extra: str, matrix: str = ONE_OBJECTIVE, name: str = "out"
) -> tuple[int, Path]:
    path = tmp_path / "m.yaml"
    path.write_text(matrix)
    out = tmp_path / name
    argv = ["go-no-go", "--gate", "G1", "--matrix", str(path), "--prom-url", url]
    rc = main([*argv, "--at", AT_TEXT, "--out", str(out), *extra])
    return rc, out


def objectives(out: Path) -> dict[str, dict[str, Any]]:
    data = json.loads((out / "verdicts.json").read_text())
    return {o["name"]: o for g in data["gates"] for o in g["objectives"]}


# ---- malformed answers, end to end ---------------------------------------------------------

ANSWERS: list[tuple[str, Result, Result, str]] = [
    # (case, hostile result, honest twin, expected reason)
    ("sample true", series(True), series("1"), "sample 'true' is not a string"),
    ("sample number", series(1), series("1"), "sample '1' is not a string"),
    ("sample null", series(None), series("1"), "sample 'null' is not a string"),
    ("sample object", series({"v": "1"}), series("1"), "is not a string"),
    ("sample inf word", series("inf"), series("+Inf"), "not a number as Prometheus writes it"),
    (
        "same label set twice",
        both(series("1"), series("0.5")),
        both(series("1"), series("1", tenant="globex")),
        'series {tenant="acme"} appears twice',
    ),
]


@pytest.mark.parametrize(
    ("case", "hostile", "honest", "reason"), ANSWERS, ids=[a[0] for a in ANSWERS]
)
def test_malformed_answer_is_error_and_honest_twin_passes(
    case: str, hostile: Result, honest: Result, reason: str, tmp_path: Path
) -> None:
    with stub_prometheus() as (url, state):
        state.result = honest
        rc, out = run(tmp_path, url, name="honest")
        status = objectives(out)["availability"]["status"]
        expected_honest = "FAIL" if case == "sample inf word" else "PASS"  # +Inf is never green
        assert (rc, status) == (0 if expected_honest == "PASS" else 1, expected_honest)
        state.result = hostile
        rc, out = run(tmp_path, url, name="hostile")
    verdict = objectives(out)["availability"]
    assert rc == 1
    assert verdict["status"] == "ERROR"
    (line,) = verdict["reasons"]
    assert reason in line
    assert "\n" not in line
    assert "evaluation failed" not in line
    assert "Traceback" not in line


def test_colliding_label_sets_are_two_series(tmp_path: Path) -> None:
    """``{tenant='acme",x="1'}`` and ``{tenant="acme", x="1"}`` used to share one key; the
    first sample won and the violating series vanished."""
    hostile = both(series("1", tenant='acme",x="1'), series("0.5", tenant="acme", x="1"))
    honest = both(series("1", tenant='acme",x="1'), series("1", tenant="acme", x="1"))
    with stub_prometheus() as (url, state):
        state.result = honest
        rc, out = run(tmp_path, url, name="honest")
        assert (rc, objectives(out)["availability"]["status"]) == (0, "PASS")
        assert len(objectives(out)["availability"]["series"]) == 2
        state.result = hostile
        rc, out = run(tmp_path, url, name="hostile")
    verdict = objectives(out)["availability"]
    assert (rc, verdict["status"]) == (1, "FAIL")
    assert "tenant=acme, x=1}: 50%" in verdict["reasons"][0]


def honest_body() -> bytes:
    return json.dumps(
        {
            "status": "success",
            "data": {
                "resultType": "matrix",
                "result": [{"metric": {"tenant": "acme"}, "values": [[1.5, "1"]]}],
            },
        }
    ).encode()


RAW = [
    ("label twice", honest_body().replace(b'"tenant": "acme"', b'"tenant": "a", "tenant": "b"')),
    ("deep nesting", b'{"status": "success", "data": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"),
    ("huge number", honest_body().replace(b"1.5", b"1e400")),
    ("huge integer", honest_body().replace(b"1.5", b"9" * 5000)),
    ("warnings shape", honest_body()[:-1] + b', "warnings": "partial"}'),
    (
        "result shape",
        honest_body().replace(b'"result": [', b'"result": {"x": [').replace(b"]}}", b"]}}}"),
    ),
    ("not utf-8", b"\xff" + honest_body()),
    ("error on many lines", b'{"status": "error", "errorType": "bad\\nkind", "error": "a\\r\\nb"}'),
    (
        "label with newline",
        honest_body().replace(b'"acme"', b'"ac\\r\\nme"').replace(b'"1"]', b"1]"),
    ),
]


@pytest.mark.parametrize(("case", "raw"), RAW, ids=[r[0] for r in RAW])
def test_pathological_json_is_error(case: str, raw: bytes, tmp_path: Path) -> None:
    with stub_prometheus() as (url, state):
        state.raw = raw
        rc, out = run(tmp_path, url)
        state.raw = None  # positive control: the same server answering honestly
        ok_rc, ok_out = run(tmp_path, url, name="honest")
    verdict = objectives(out)["availability"]
    assert (rc, verdict["status"]) == (1, "ERROR")
    (line,) = verdict["reasons"]
    assert len(line.splitlines()) == 1
    assert "evaluation failed" not in line
    assert (ok_rc, objectives(ok_out)["availability"]["status"]) == (0, "PASS")


def reseal(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    """Forge a snapshot the way an attacker with write access would: edit, rehash, re-index,
    and re-anchor the index in verdicts.json (an unsigned run directory protects nothing
    more), so that only the judge's own validation of the data stands in the way."""
    data = json.loads(path.read_text())
    change(data)
    content = {k: v for k, v in data.items() if k != "sha256"}
    data["sha256"] = canonical_sha256(content)
    path.write_text(json.dumps(data))
    index_path = path.parent / "index.json"
    index = json.loads(index_path.read_text())
    for ref in index["snapshots"]:
        if ref["file"] == path.name:
            ref["sha256"] = data["sha256"]
    index_path.write_text(json.dumps(index))
    verdicts_path = path.parent.parent / "verdicts.json"
    verdicts = json.loads(verdicts_path.read_text())
    verdicts["snapshots_index_sha256"] = hashlib.sha256(index_path.read_bytes()).hexdigest()
    verdicts_path.write_text(json.dumps(verdicts))


@pytest.mark.parametrize(
    ("forge", "reason"),
    [
        (lambda d: d["result"][0]["values"][0].__setitem__(1, True), "is not a string"),
        (lambda d: d["result"].append(d["result"][0]), "appears twice"),
        (lambda d: d.__setitem__("result_type", "vector"), "resultType is 'vector'"),
        (lambda d: d["result"][0]["values"].reverse(), "goes back in time"),
    ],
)
def test_forged_resealed_snapshot_is_error_on_replay(
    forge: Callable[[dict[str, Any]], None], reason: str, tmp_path: Path
) -> None:
    with stub_prometheus() as (url, _):
        rc, live = run(tmp_path, url, name="live")
    assert rc == 0
    matrix = str(tmp_path / "m.yaml")
    replay = ["go-no-go", "--gate", "G1", "--matrix", matrix, "--at", AT_TEXT]
    # positive control: an untouched replay still passes
    assert main([*replay, "--replay", str(live), "--out", str(tmp_path / "r0")]) == 0
    (path,) = (live / "snapshots").glob("G1-availability-*.json")
    reseal(path, forge)
    assert main([*replay, "--replay", str(live), "--out", str(tmp_path / "r1")]) == 1
    verdict = objectives(tmp_path / "r1")["availability"]
    assert verdict["status"] == "ERROR"
    assert reason in verdict["reasons"][0]


def _g1_availability() -> Any:
    (pq,) = [
        p
        for p in plan(load_matrix().matrix, ["G1"], AT, None)
        if p.objective.name == "availability"
    ]
    return pq


_samples = st.one_of(
    st.sampled_from(["1", "0.99", "NaN", "+Inf", "-Inf", "1e-3", "inf", " 1", ""]),
    st.booleans(),
    st.none(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
)
_labels = st.dictionaries(st.text(max_size=4), st.text(max_size=4), max_size=3)


@st.composite
def _bodies(draw: st.DrawFn) -> bytes:
    """Arbitrary bytes, or answers that look like Prometheus with anything inside."""
    if draw(st.booleans()):
        return draw(st.binary(max_size=300))
    pq = _g1_availability()
    ts = pq.request.grid().tolist()
    result = [
        {
            "metric": draw(_labels),
            "values": [
                [t, draw(_samples)] for t in draw(st.lists(st.sampled_from(ts), max_size=6))
            ],
        }
        for _ in range(draw(st.integers(0, 3)))
    ]
    return json.dumps(
        {"status": "success", "data": {"resultType": "matrix", "result": result}}
    ).encode()


@pytest.mark.property
@given(_bodies())
def test_property_any_answer_gives_a_verdict_or_an_igkit_error(raw: bytes) -> None:
    pq = _g1_availability()
    try:
        result, warnings = parse_query_range_body(raw)
    except ResultError:
        return
    snap = Snapshot(
        id=pq.request.id,
        request=pq.request,
        server="http://127.0.0.1:9",
        fetched_at=AT,
        status="success",
        warnings=warnings,
        result_type="matrix",
        result=result,
    ).sealed()
    verdict = evaluate_prometheus(pq, snap, AT)
    assert verdict.status in set(Status)
    assert all("evaluation failed" not in r for r in verdict.reasons)


# ---- declared series (expect, min_series) against the real Prometheus ----------------------

EXPECT_MATRIX = """defaults: {{step: 15s, rate: 5m, min_coverage: 0.9, max_staleness: 2m, max_gap: 5m}}
gates:
  - id: G1
    name: SLO
    objectives:
      - name: availability
        named_query: {{name: success_ratio, params: {{by: tenant}}}}
        comparison: ">="
        threshold: {{value: 99.9, unit: percent}}
        rule: {{kind: all_steps, window: 60m}}
{extra}
"""

UMBRELLA = 'count by (tenant)(http_requests_total) or label_replace(vector(1), "tenant", "umbrella", "", "")'


@pytest.mark.prometheus
@pytest.mark.parametrize(
    ("extra", "status", "reason"),
    [
        ("expect: {label: tenant, values: [acme, globex, initech]}", "PASS", "all 3 series PASS"),
        (
            "expect: {label: tenant, values: [acme, globex, initech, umbrella]}",
            "NO_DATA",
            "G1 availability: tenant umbrella: no series in 02:30–03:30 UTC",
        ),
        ("expect: {label: tenant, values_file: tenants.txt}", "PASS", "all 3 series PASS"),
        (
            "expect: {label: tenant, values_file: more.yaml}",
            "NO_DATA",
            "tenant umbrella: no series",
        ),
        (
            "expect: {label: tenant, query: 'count by (tenant)(http_requests_total)'}",
            "PASS",
            "PASS",
        ),
        (
            "expect: {label: tenant, query: '" + UMBRELLA.replace("'", "''") + "'}",
            "NO_DATA",
            "tenant umbrella: no series",
        ),
        (
            "expect: {label: tenant, query: 'count by (tenant)(http_requests_total{tenant=\"nobody\"})'}",
            "NO_DATA",
            "the expect query returned no series with label tenant",
        ),
        (  # parses, but Prometheus refuses the regex when it runs the query
            """expect: {label: tenant, query: 'label_replace(up, "tenant", "$$1", "job", "(")'}""",
            "ERROR",
            "expect query failed",
        ),
        ("min_series: 3", "PASS", "all 3 series PASS"),
        ("min_series: 4", "NO_DATA", "3 series in 02:30–03:30 UTC, fewer than min_series 4"),
    ],
)
def test_declared_series_must_exist(
    extra: str, status: str, reason: str, prometheus: PrometheusServer, tmp_path: Path
) -> None:
    (tmp_path / "tenants.txt").write_text("# tenants of the GA cutover\nacme\nglobex\n\ninitech\n")
    (tmp_path / "more.yaml").write_text("- acme\n- globex\n- initech\n- umbrella\n")
    matrix = EXPECT_MATRIX.format(extra="        " + extra)
    rc, out = run(tmp_path, prometheus.url, matrix=matrix)
    verdict = objectives(out)["availability"]
    assert verdict["status"] == status, verdict["reasons"]
    assert rc == (0 if status == "PASS" else 1)
    assert any(reason in r for r in verdict["reasons"]), verdict["reasons"]


@pytest.mark.prometheus
def test_expect_query_is_a_snapshot_and_replays(
    prometheus: PrometheusServer, tmp_path: Path
) -> None:
    matrix = EXPECT_MATRIX.format(
        extra="        expect: {label: tenant, query: '" + UMBRELLA.replace("'", "''") + "'}"
    )
    rc, live = run(tmp_path, prometheus.url, matrix=matrix)
    assert rc == 1
    names = sorted(p.name.rsplit("-", 1)[0] for p in (live / "snapshots").glob("G1-*.json"))
    assert names == ["G1-availability", "G1-availability-expect"]
    replayed = tmp_path / "replayed"
    argv = ["go-no-go", "--gate", "G1", "--matrix", str(tmp_path / "m.yaml"), "--at", AT_TEXT]
    assert main([*argv, "--replay", str(live), "--out", str(replayed)]) == 1
    assert objectives(replayed) == objectives(live)


BAD_EXPECT = [
    ("expect: {label: tenant}", "exactly one of 'values', 'values_file' or 'query'"),
    ("expect: {label: tenant, values: [a], query: up}", "exactly one of"),
    ("expect: {label: tenant, query: 'count by (tenant)(('}", "does not parse as PromQL"),
    ("expect: {label: tenant, values: [a, a]}", "values listed twice: a"),
    ("expect: {label: 'bad name', values: [a]}", "expect.label"),
    ("expect: {label: tenant, values_file: /etc/passwd}", "must be a relative path without '..'"),
    (
        "expect: {label: tenant, values_file: ../tenants.txt}",
        "must be a relative path without '..'",
    ),
    ("expect: {label: tenant, values_file: missing.txt}", "not found beside the matrix"),
    ("expect: {label: tenant, values_file: dup.txt}", "lists 'acme' twice"),
    ("expect: {label: tenant, values_file: empty.txt}", "lists no values"),
    ("expect: {label: tenant, values_file: numbers.yaml}", "list of strings"),
    ("expect: {label: tenant, values_file: link.txt}", "outside the matrix's directory"),
    ("expect: {label: tenant, query: 'up[$nope]'}", "unknown placeholder $nope"),
    ("min_series: 0", "min_series"),
]


@pytest.mark.parametrize(("extra", "message"), BAD_EXPECT)
def test_bad_expect_is_a_config_error_naming_the_field(
    extra: str, message: str, tmp_path: Path
) -> None:
    base = tmp_path / "matrices"
    base.mkdir()
    (tmp_path / "outside.txt").write_text("acme\n")
    (base / "link.txt").symlink_to(tmp_path / "outside.txt")
    (base / "dup.txt").write_text("acme\nacme\n")
    (base / "empty.txt").write_text("# nothing\n\n")
    (base / "numbers.yaml").write_text("- 1\n- 2\n")
    (base / "ok.txt").write_text("acme\n")
    path = base / "m.yaml"
    path.write_text(EXPECT_MATRIX.format(extra="        " + extra))
    with pytest.raises(ConfigError, match="objectives") as info:
        load_matrix(path)
    assert message in str(info.value)
    # positive control: the same matrix with a good expect loads, values read from the file
    path.write_text(
        EXPECT_MATRIX.format(extra="        expect: {label: tenant, values_file: ok.txt}")
    )
    obj = load_matrix(path).matrix.gates[0].objectives[0]
    assert obj.expect is not None
    assert obj.expect.values == ["acme"]


def test_values_file_needs_a_matrix_file() -> None:
    text = EXPECT_MATRIX.format(extra="        expect: {label: tenant, values_file: t.txt}")
    with pytest.raises(ConfigError, match="needs a matrix file"):
        parse_matrix(text, source="<text>")


# ---- network -------------------------------------------------------------------------------


def test_public_url_keeps_ipv6_brackets_and_drops_credentials() -> None:
    assert public_url("http://[::1]:9090/prom/") == "http://[::1]:9090/prom"
    assert public_url("https://u:p@[2001:db8::1]/x?q=1#f") == "https://[2001:db8::1]/x"
    assert public_url("http://127.0.0.1:9090") == "http://127.0.0.1:9090"


def test_ipv6_url_works(tmp_path: Path) -> None:
    """Stub server: the session Prometheus listens on 127.0.0.1 only."""
    try:
        stub = stub_prometheus("::1")
        url, _ = stub.__enter__()
    except OSError:
        pytest.skip("no IPv6 loopback on this machine")
    try:
        assert url.startswith("http://[::1]:")
        rc, out = run(tmp_path, url)
    finally:
        stub.__exit__(None, None, None)
    assert rc == 0
    assert objectives(out)["availability"]["status"] == "PASS"
    (snap,) = (out / "snapshots").glob("G1-availability-*.json")
    assert json.loads(snap.read_text())["server"] == url


def test_same_origin_redirect_is_followed_and_recorded(tmp_path: Path) -> None:
    with stub_prometheus() as (url, state):
        state.mode = "redirect"
        state.redirect_to = "/prom/api/v1/query_range"
        rc, out = run(tmp_path, url)
    assert (rc, objectives(out)["availability"]["status"]) == (0, "PASS")
    assert [r["path"] for r in state.requests] == [
        "/api/v1/query_range",
        "/prom/api/v1/query_range",
    ]
    (snap,) = (out / "snapshots").glob("G1-availability-*.json")
    assert json.loads(snap.read_text())["redirects"] == [f"{url}/prom/api/v1/query_range"]


@pytest.mark.parametrize(
    "target",
    [
        "http://qe:redirect-pw-canary@127.0.0.2:{port}/api/v1/query_range?x=redirect-pw-canary",
        "https://127.0.0.1:{port}/api/v1/query_range",
        "http://127.0.0.1:1/api/v1/query_range",
        "http://qe:redirect-pw-canary@127.0.0.1:{port}/api/v1/query_range",  # same origin
    ],
)
def test_redirect_elsewhere_is_error(
    target: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with stub_prometheus() as (url, state):
        port = url.rsplit(":", 1)[1]
        state.mode = "redirect"
        state.redirect_to = target.format(port=port)
        rc, out = run(tmp_path, url)
    verdict = objectives(out)["availability"]
    assert (rc, verdict["status"]) == (1, "ERROR")
    shown = public_url(target.format(port=port))
    assert f"redirected to {shown}" in verdict["reasons"][0]
    captured = capsys.readouterr()
    for path in out.rglob("*"):
        if path.is_file():
            assert "redirect-pw-canary" not in path.read_text()
    assert "redirect-pw-canary" not in captured.out + captured.err


def test_slow_drip_cannot_stall_a_run(tmp_path: Path) -> None:
    """The stub sends headers, then one byte a second: each read is quick, the whole is not."""
    with stub_prometheus() as (url, state):
        state.mode = "drip"
        started = time.monotonic()
        rc, out = run(tmp_path, url, "--timeout", "2")
        elapsed = time.monotonic() - started
        state.mode = "ok"  # positive control
        ok_rc, _ = run(tmp_path, url, "--timeout", "2", name="ok")
    assert elapsed < 8, elapsed
    verdict = objectives(out)["availability"]
    assert (rc, verdict["status"]) == (1, "ERROR")
    assert "no answer from" in verdict["reasons"][0]
    assert "within 2s" in verdict["reasons"][0]
    assert ok_rc == 0


def test_oversized_answer_is_refused() -> None:
    request = RangeRequest(
        query="avail_ratio", start=datetime(2025, 3, 1, 3, 20, tzinfo=UTC), end=AT, step_seconds=15
    )
    with stub_prometheus() as (url, _):
        small = PrometheusSource(url, max_bytes=200).fetch(request)
        fine = PrometheusSource(url).fetch(request)
    assert small.status == "error"
    assert small.error_type == "too_large"
    assert "larger than 200 bytes" in (small.error or "")
    assert fine.status == "success"


@pytest.mark.parametrize("timeout", [math.nan, math.inf, -math.inf, 0.0, -1.0])
def test_timeout_must_be_finite_and_positive(timeout: float) -> None:
    with pytest.raises(ConfigError, match="finite positive number") as info:
        PrometheusSource("http://127.0.0.1:9", timeout=timeout)
    assert "--timeout" in str(info.value)
    assert PrometheusSource("http://127.0.0.1:9", timeout=0.5).timeout == 0.5  # control


@pytest.mark.parametrize("value", ["nan", "inf", "-1"])
def test_cli_timeout_out_of_range_is_exit_2(
    value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(
        [
            "go-no-go",
            "--gate",
            "G1",
            "--prom-url",
            "http://127.0.0.1:9",
            "--timeout",
            value,
            "--out",
            str(tmp_path),
        ]
    )
    assert rc == 2
    err = capsys.readouterr().err.strip()
    assert "--timeout" in err
    assert len(err.splitlines()) == 1


def test_missing_or_unreadable_ca_file_is_named(tmp_path: Path) -> None:
    for ca in (str(tmp_path / "missing.pem"), str(tmp_path)):
        with pytest.raises(ConfigError, match="IGKIT_PROM_CA_FILE"):
            PrometheusSource("https://127.0.0.1:9", env={"IGKIT_PROM_CA_FILE": ca})
    good = tmp_path / "ca.pem"
    good.write_text("-----BEGIN CERTIFICATE-----\n")
    PrometheusSource("https://127.0.0.1:9", env={"IGKIT_PROM_CA_FILE": str(good)})  # control


@pytest.mark.parametrize(
    "url",
    [
        "ftp://qe:url-pw-canary@127.0.0.1/",
        "http://qe:url-pw-canary@127.0.0.1:9",
        "http://url-pw-canary@127.0.0.1:9",
        "http://qe:url-pw-canary@127.0.0.1:notaport",
        "url-pw-canary",
    ],
)
def test_refused_url_is_never_echoed(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(["go-no-go", "--gate", "G1", "--prom-url", url, "--out", str(tmp_path)])
    assert rc == 2
    err = capsys.readouterr().err
    assert "--prom-url" in err
    assert "url-pw-canary" not in err


# ---- secrets a server echoes back ----------------------------------------------------------

TOKEN = "tok-canary-3b9d7e21"
USER, PASSWORD = "qe-canary-user", "pw-canary-77f0"


@pytest.mark.parametrize("status", [401, 500])
@pytest.mark.parametrize(
    "env",
    [{"IGKIT_PROM_TOKEN": TOKEN}, {"IGKIT_PROM_USERNAME": USER, "IGKIT_PROM_PASSWORD": PASSWORD}],
    ids=["bearer", "basic"],
)
def test_echoed_credentials_never_reach_any_output(
    status: int,
    env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    canaries = [TOKEN, PASSWORD, base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()]
    with stub_prometheus() as (url, state):
        state.mode = "ok"  # positive control: the same server, not echoing
        ok_rc, _ = run(tmp_path, url, name="ok")
        state.mode, state.status = "echo", status
        rc, out = run(tmp_path, url)
        sent = state.requests[-1]["headers"]["Authorization"]
        state.mode, state.status = "ok", 200
        state.result = series("1", tenant=sent)  # the credentials as a label value
        label_rc, label_out = run(tmp_path, url, name="label")
    assert ok_rc == 0
    assert label_rc == 0
    verdict = objectives(out)["availability"]
    assert (rc, verdict["status"]) == (1, "ERROR")
    assert "[REDACTED]" in verdict["reasons"][0]
    captured = capsys.readouterr()
    for where in (out, label_out):
        files = [p for p in where.rglob("*") if p.is_file()]
        assert files
        for path in files:
            text = path.read_text(errors="replace")
            for canary in canaries:
                assert canary not in text, (path, canary)
    for canary in canaries:
        assert canary not in captured.out + captured.err
