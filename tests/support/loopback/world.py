"""The loopback world as one context manager: stable + canary + proxy + load + a real
Prometheus scraping all of them every second, each a separate process on a free port.

Separate processes, so a test can kill Prometheus and a conductor subprocess sees the same
world; every log lands under ``root/logs``; everything is torn down on exit, also when the
test fails (and, on Linux, when the test process dies: PR_SET_PDEATHSIG).

Scrape jobs: ``app`` (stable and canary, target labels ``shard``/``region`` as a service
discovery would add them) and ``proxy`` (``/-/metrics``: ``proxy_weight{track}``).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import types
from dataclasses import dataclass, field
from pathlib import Path

import requests

from tests.support.prometheus import PrometheusServer, _die_with_parent, find_binary

REPO_ROOT = Path(__file__).resolve().parents[3]
READY_TIMEOUT_S = 30.0
TARGET_LABELS = {"shard": "s1", "region": "local"}


@dataclass
class Child:
    """One world process and its log."""

    name: str
    proc: subprocess.Popen[bytes]
    log: Path

    def stop(self, timeout: float = 5) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class WorldPrometheus(PrometheusServer):
    """A real Prometheus with an empty TSDB scraping the world's jobs every second."""

    def __init__(self, empty_tsdb: Path, jobs: dict[str, tuple[str, list[str]]]) -> None:
        super().__init__(empty_tsdb)
        self.jobs = jobs  # job -> (metrics path, targets)

    def _spawn(self, binary: str, config: Path, data: Path) -> None:
        lines = [
            "global:",
            "  scrape_interval: 1s",
            "  scrape_timeout: 1s",
            "  evaluation_interval: 1s",
            "scrape_configs:",
        ]
        for job, (path, targets) in self.jobs.items():
            lines += [
                f"  - job_name: {job}",
                f"    metrics_path: {path}",
                "    static_configs:",
                f"      - targets: {json.dumps(targets)}",
                f"        labels: {json.dumps(TARGET_LABELS)}",
            ]
        config.write_text("\n".join(lines) + "\n")
        super()._spawn(binary, config, data)

    def kill(self) -> None:
        """SIGKILL the server (the "Prometheus goes down mid-hold" case); ``stop`` still
        cleans up afterwards."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()


@dataclass
class LoopbackWorld:
    """Start with ``with LoopbackWorld(tmp_path) as world:``; URLs and knobs are attributes."""

    root: Path
    rps: float = 120.0
    tenants: tuple[str, ...] = ("acme", "globex")
    password: str = field(default_factory=lambda: secrets.token_hex(12))
    seed: int = 12
    children: dict[str, Child] = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)
    prometheus: WorldPrometheus | None = None
    started_at: float = 0.0

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def prom_url(self) -> str:
        assert self.prometheus is not None
        return self.prometheus.url

    @property
    def proxy_url(self) -> str:
        return self.urls["proxy"]

    def _spawn(self, name: str, module: str, *args: str, port: bool = True) -> str | None:
        """Start ``python -m module args`` logging to logs/NAME.log; its URL once it listens."""
        port_file = self.root / "run" / f"{name}.port"
        argv = [sys.executable, "-m", module, *args]
        if port:
            argv += ["--port-file", str(port_file)]
        log = self.logs / f"{name}.log"
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]),
        }
        with log.open("ab") as out:
            proc = subprocess.Popen(
                argv,
                cwd=REPO_ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
            )
        self.children[name] = Child(name, proc, log)
        if not port:
            return None
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not port_file.is_file():
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"loopback {name} did not start (log {log}):\n{tail}")
            time.sleep(0.05)
        url = f"http://127.0.0.1:{int(port_file.read_text())}"
        self.urls[name] = url
        return url

    def start(self) -> LoopbackWorld:
        self.started_at = time.monotonic()
        find_binary("prometheus")
        self.logs.mkdir(parents=True, exist_ok=True)
        (self.root / "run").mkdir(parents=True, exist_ok=True)
        try:
            # A seed per process: one seed in proxy and load made routing follow the operation
            # mix (a tenant's mutations never reached the canary).
            for n, track in enumerate(("stable", "canary")):
                self._spawn(track, "tests.support.loopback.service", "--track", track,
                            "--password", self.password, "--seed", str(self.seed + n))  # fmt: skip
            self._spawn("proxy", "tests.support.loopback.proxy", "--stable", self.urls["stable"],
                        "--canary", self.urls["canary"], "--seed", str(self.seed + 2))  # fmt: skip
            empty = self.root / "tsdb-empty"
            empty.mkdir(exist_ok=True)
            hostport = {k: v.removeprefix("http://") for k, v in self.urls.items()}
            self.prometheus = WorldPrometheus(
                empty,
                {
                    "app": ("/metrics", [hostport["stable"], hostport["canary"]]),
                    "proxy": ("/-/metrics", [hostport["proxy"]]),
                },
            )
            self.prometheus.start()
            self._spawn("load", "tests.support.loopback.load", "--base-url", self.proxy_url,
                        "--password", self.password, "--rps", str(self.rps),
                        "--tenants", ",".join(self.tenants), "--seed", str(self.seed + 3), port=False)  # fmt: skip
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Load first (no errors from a vanishing proxy), then proxy, services, Prometheus."""
        for name in ("load", "proxy", "canary", "stable"):
            child = self.children.get(name)
            if child is not None:
                child.stop()
        if self.prometheus is not None:
            self.prometheus.stop(remove=False)
            log, workdir = self.prometheus.log_path, self.prometheus.workdir
            if log is not None and log.is_file():
                with contextlib.suppress(OSError):
                    shutil.copyfile(log, self.logs / "prometheus.log")
            if workdir is not None:
                shutil.rmtree(workdir, ignore_errors=True)
            self.prometheus.workdir = None

    def __enter__(self) -> LoopbackWorld:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        self.stop()

    # --- what tests do with the world -------------------------------------------------

    def weight(self) -> int:
        """The canary weight the proxy actually holds (``GET /-/weight``)."""
        return int(requests.get(f"{self.proxy_url}/-/weight", timeout=5).json()["canary"])

    def set_faults(self, track: str, **knobs: float) -> dict[str, float]:
        """``POST /-/faults`` to one instance; the faults it now applies."""
        r = requests.post(f"{self.urls[track]}/-/faults", json=knobs, timeout=5)
        r.raise_for_status()
        doc: dict[str, float] = r.json()
        return doc

    def query(self, promql: str) -> list[dict[str, object]]:
        """An instant query's result vector (raises on any non-success answer)."""
        r = requests.get(f"{self.prom_url}/api/v1/query", params={"query": promql}, timeout=10)
        r.raise_for_status()
        body = r.json()
        assert body["status"] == "success", body
        result: list[dict[str, object]] = body["data"]["result"]
        return result

    def scalar(self, promql: str) -> float | None:
        """The single value of an instant query, None when it returns nothing."""
        result = self.query(promql)
        if not result:
            return None
        value = result[0]["value"]
        assert isinstance(value, list)
        return float(value[1])

    def wait_for(self, promql: str, ok: object, timeout: float = 60.0) -> float:
        """Poll ``promql`` until ``ok(value)``; the value, or TimeoutError naming the query."""
        assert callable(ok)
        deadline = time.monotonic() + timeout
        last: float | None = None
        while time.monotonic() < deadline:
            with contextlib.suppress(requests.RequestException):
                last = self.scalar(promql)
                if last is not None and ok(last):
                    return last
            time.sleep(0.5)
        raise TimeoutError(f"{promql}: last value {last} after {timeout:.0f}s")

    def wait_warm(self, seconds: float) -> None:
        """Sleep until the world has run ``seconds`` (history a preflight window needs)."""
        time.sleep(max(0.0, self.started_at + seconds - time.monotonic()))

    def kill_prometheus(self) -> None:
        assert self.prometheus is not None
        self.prometheus.kill()
