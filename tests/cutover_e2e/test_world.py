"""The loopback world itself: the proxy forwards journeys with their tenant, weights split
traffic as the actuator sets them, faults show in the metrics, Prometheus scrapes it all."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests
import yaml

from tests.support.loopback.world import LoopbackWorld

pytestmark = [
    pytest.mark.slow,
    pytest.mark.prometheus,
]  # the loopback world: make test-slow (CI runs it)
MATRIX = Path(__file__).resolve().parents[1] / "fixtures" / "cutover_e2e" / "matrix.yaml"


def actuate(world: LoopbackWorld, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "tests.support.loopback.actuate", "--proxy", world.proxy_url]
    return subprocess.run([*argv, *args], capture_output=True, text=True, timeout=30, check=False)


def test_proxy_forwards_the_journey_with_its_tenant(world: LoopbackWorld) -> None:
    base = world.proxy_url
    wrong = requests.post(
        f"{base}/auth/login", json={"username": "u", "password": "nope"}, timeout=5
    )
    assert wrong.status_code == 401
    login = requests.post(
        f"{base}/auth/login", json={"username": "u", "password": world.password}, timeout=5
    )
    token = login.json()["token"]
    headers = {"Authorization": f"Bearer {token}", "X-Tenant": "initech"}
    for query in ("query { entity }", "query { traverse }", "mutation { createEntity }"):
        r = requests.post(
            f"{base}/graphql", json={"query": query, "variables": {}}, headers=headers, timeout=5
        )
        assert r.status_code == 200, r.text
        assert r.json()["data"], r.text
    unauthorised = requests.post(
        f"{base}/graphql", json={"query": "{ x }", "variables": {}}, timeout=5
    )
    assert unauthorised.status_code == 401
    # the tenant header crossed the proxy: the service counted initech (the load uses acme/globex)
    world.wait_for('sum(graphql_latency_count{tenant="initech"})', lambda v: v == 3, timeout=10)


def test_actuator_weights_the_traffic_and_faults_show(world: LoopbackWorld) -> None:
    ok = actuate(world, "set", "50")
    assert ok.returncode == 0, ok.stderr
    assert world.weight() == 50
    world.wait_for('proxy_weight{track="canary"}', lambda v: v == 50, timeout=10)
    share = (
        'sum(rate(http_requests_total{track="canary"}[3s])) / sum(rate(http_requests_total[3s]))'
    )
    world.wait_for(share, lambda v: 0.35 < v < 0.65, timeout=20)

    world.set_faults("canary", error_rate=1.0)
    world.wait_for(
        'sum(rate(http_requests_total{track="canary",code="500"}[3s]))', lambda v: v > 5, timeout=10
    )
    assert world.scalar('sum(http_requests_total{track="stable",code="500"})') is None

    failed = actuate(world, "--fail-at", "25", "set", "25")
    assert failed.returncode == 1
    assert len(failed.stderr.strip().splitlines()) == 1
    assert world.weight() == 50  # a failed actuator changed nothing
    bad = actuate(world, "set", "101")
    assert bad.returncode == 1
    assert "0..100" in bad.stderr
    assert world.weight() == 50

    back = actuate(world, "rollback")
    assert back.returncode == 0, back.stderr
    assert world.weight() == 0
    world.wait_for('proxy_weight{track="canary"}', lambda v: v == 0, timeout=10)
    world.wait_for(share, lambda v: v == 0, timeout=15)


def test_a_canary_that_never_failed_burns_no_budget(world: LoopbackWorld, tmp_path: Path) -> None:
    """A real client library creates an error series on the first error only: a healthy
    canary has none, which is an error ratio of 0 (QUIET), not NO_DATA that would hold every
    stage. Fail-closed twin: a track that serves nothing stays NO_DATA."""
    assert actuate(world, "set", "50").returncode == 0
    world.wait_for(
        'sum(rate(http_requests_total{track="canary"}[3s]))', lambda v: v > 10, timeout=15
    )
    # Every step of the 4 s lookback must see canary traffic in its rate window: on a loaded
    # machine the previous test's rollback can leave a canary window with no request at all
    # (0/0, which is rightly NO_DATA), so wait until the oldest step is past the re-set.
    world.wait_for(
        'min_over_time(sum(rate(http_requests_total{track="canary"}[30s]))[6s:1s])',
        lambda v: v > 10,
        timeout=30,
    )
    assert world.scalar('count(http_requests_total{track="canary",code!~"2.."})') is None
    doc = yaml.safe_load(MATRIX.read_text())
    burn = next(t for t in doc["triggers"] if t["id"] == "error_budget_burn")
    absent = {**burn, "id": "absent_track_burn", "selector": 'track="absent"'}
    doc["triggers"] = [burn, absent]
    matrix = tmp_path / "matrix.yaml"
    matrix.write_text(yaml.safe_dump(doc, sort_keys=False))
    out = tmp_path / "triggers"
    argv = [sys.executable, "-m", "igkit", "triggers", "check", "--matrix", str(matrix)]
    argv += ["--prom-url", world.prom_url, "--lookback", "4s", "--out", str(out)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1, done.stdout + done.stderr  # not all QUIET: the absent track
    report = json.loads((out / "triggers.json").read_text())
    status = {t["id"]: t["status"] for t in report["triggers"]}
    assert status == {"error_budget_burn": "QUIET", "absent_track_burn": "NO_DATA"}, report
