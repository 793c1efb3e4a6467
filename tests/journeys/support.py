"""The journeys tests' world: h1's loopback service in its own process, a matrix whose journeys
objective is the shipped one with generous thresholds (two busy cores), and the CLI run."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "journey-pass-7f3a9c"
"""The service's password: it must appear in no file and no line igkit writes."""
THRESHOLD_MS = 1500
"""Every step's p95 in the test matrix: far above the service's 100-400 ms on busy cores."""
SHIPPED = ROOT / "igkit" / "spec" / "default.yaml"


def shipped_journeys() -> dict[str, Any]:
    doc = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
    found = [o for g in doc["gates"] for o in g["objectives"] if o.get("type") == "journeys"]
    assert len(found) == 1
    return dict(found[0])


def journeys_matrix(path: Path, *, threshold_ms: float = THRESHOLD_MS, **changes: Any) -> Path:
    """A matrix with one gate JRN holding the shipped journeys objective (same endpoints and
    payloads), gated, every step's p95 at ``threshold_ms``; ``changes`` replace fields."""
    obj = shipped_journeys()
    obj["gated"] = True
    obj["steps"] = [{**s, "p95": {"value": threshold_ms, "unit": "ms"}} for s in obj["steps"]]
    obj.update(changes)
    doc = {
        "apiVersion": "igkit/v1",
        "kind": "go-no-go-matrix",
        "gates": [{"id": "JRN", "name": "Synthetic journeys", "objectives": [obj]}],
    }
    path.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    return path


@contextlib.contextmanager
def loopback_service(
    workdir: Path, *, password: str = PASSWORD, faults: dict[str, float] | None = None
) -> Iterator[str]:
    """h1's service (track stable) on a free port; yields its base URL."""
    workdir.mkdir(parents=True, exist_ok=True)
    port_file = workdir / "port"
    cmd = [sys.executable, "-m", "tests.support.loopback.service", "--track", "stable"]
    cmd += ["--password", password, "--port-file", str(port_file), "--seed", "7"]
    if faults:
        cmd += ["--faults", json.dumps(faults)]
    log = (workdir / "service.log").open("wb")
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while not port_file.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"service did not start: {(workdir / 'service.log').read_text()}"
                )
            time.sleep(0.05)
        yield f"http://127.0.0.1:{int(port_file.read_text())}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


def closed_port_url() -> str:
    """A loopback URL nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@dataclass(frozen=True)
class CliRun:
    rc: int
    out: Path
    stdout: str
    stderr: str

    def result(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads((self.out / "journeys.json").read_text())
        return loaded

    def steps(self) -> dict[str, dict[str, Any]]:
        return {s["name"]: s for s in self.result()["steps"]}


def run_cli(
    base_url: str,
    out: Path,
    matrix: Path,
    *,
    password: str | None = PASSWORD,
    duration: str = "3s",
    vus: str = "2",
    extra_env: dict[str, str] | None = None,
) -> CliRun:
    """``igkit journeys run`` as a user runs it: its own process, the password in the env."""
    env = {k: v for k, v in os.environ.items() if k != "IGKIT_JOURNEY_PASSWORD"}
    env["PYTHONPATH"] = str(ROOT)
    if password is not None:
        env["IGKIT_JOURNEY_PASSWORD"] = password
    env.update(extra_env or {})
    cmd = [sys.executable, "-m", "igkit", "journeys", "run", "--base-url", base_url]
    cmd += ["--vus", vus, "--duration", duration, "--matrix", str(matrix), "--out", str(out)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180, check=False)
    return CliRun(proc.returncode, out, proc.stdout, proc.stderr)
