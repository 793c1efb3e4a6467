"""Backfill the synthetic scenario history into a TSDB and serve it with real Prometheus.

``build_tsdb()`` generates OpenMetrics (:mod:`tests.support.scenarios`), runs ``promtool
tsdb create-blocks-from openmetrics`` and caches the blocks under ``tests/.cache/``, keyed by
the SHA-256 of ``scenarios.py``. :class:`PrometheusServer` serves a hardlinked copy of them.

CLI: ``python -m tests.support.prometheus`` starts a server for manual exploration.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import types
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from tests.support import scenarios

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CACHE_ROOT = REPO_ROOT / "tests" / ".cache"
COMPLETE_MARKER = "COMPLETE"
READY_TIMEOUT_S = 60.0
_INSTALL_HINT = "run `make test`, which installs them (Debian packages prometheus)"


class PrometheusSetupError(RuntimeError):
    """promtool/prometheus missing, backfill failed, or the server did not get ready."""


def find_binary(name: str) -> str:
    """Absolute path of ``name`` on PATH (or /usr/bin), else a clear error."""
    found = shutil.which(name) or shutil.which(name, path="/usr/bin:/usr/local/bin")
    if found is None:
        raise PrometheusSetupError(f"`{name}` not found on PATH: {_INSTALL_HINT}")
    return found


def cache_key() -> str:
    """SHA-256 of the generator and this module: a change to either rebuilds the cache."""
    digest = hashlib.sha256(Path(scenarios.__file__).read_bytes())
    digest.update(Path(__file__).read_bytes())
    return digest.hexdigest()


def build_tsdb(cache_root: Path | None = None) -> Path:
    """Return a TSDB data dir holding the whole scenario history, building it if needed.

    The build happens in a temp dir renamed atomically into place; a marker file written
    last makes an interrupted build invisible. Older cache entries are removed.
    """
    root = DEFAULT_CACHE_ROOT if cache_root is None else Path(cache_root)
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"tsdb-{cache_key()[:16]}"
    data = final / "data"
    if (final / COMPLETE_MARKER).is_file():
        return data
    if final.exists():  # incomplete leftover (should not happen with the rename)
        shutil.rmtree(final, ignore_errors=True)

    promtool = find_binary("promtool")
    tmp = Path(tempfile.mkdtemp(prefix="build-", dir=root))
    try:
        om_dir = tmp / "openmetrics"
        om_dir.mkdir()
        (tmp / "data").mkdir()
        files = scenarios.write_openmetrics_blocks(om_dir)
        with ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1))) as pool:
            list(pool.map(lambda f: _backfill(promtool, f, tmp / "data"), files))
        shutil.rmtree(om_dir)
        (tmp / COMPLETE_MARKER).write_text(f"{cache_key()}\n{len(files)} blocks\n")
        try:
            tmp.rename(final)
        except OSError:
            if not (final / COMPLETE_MARKER).is_file():  # lost a race to a broken dir
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for old in root.glob("tsdb-*"):
        if old != final:
            shutil.rmtree(old, ignore_errors=True)
    return data


def _backfill(promtool: str, om_file: Path, data_dir: Path) -> None:
    """Backfill one OpenMetrics file into its own dir, then move its blocks to data_dir."""
    out = om_file.with_suffix(".blocks")
    proc = subprocess.run(
        [promtool, "tsdb", "create-blocks-from", "openmetrics", "-q", str(om_file), str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise PrometheusSetupError(
            f"promtool failed on {om_file.name} (rc={proc.returncode}):\n"
            f"{proc.stdout[-2000:]}{proc.stderr[-2000:]}"
        )
    for block in out.iterdir():
        block.rename(data_dir / block.name)
    out.rmdir()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    """Linux: SIGTERM the server if the Python process dies (even by SIGKILL)."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


_WORKDIR_PREFIX = "igkit-prometheus-"
_OWNER_FILE = "owner.pid"


def _prune_orphaned_workdirs() -> None:
    """Remove server work dirs left behind by processes that died (e.g. SIGKILL)."""
    for d in Path(tempfile.gettempdir()).glob(f"{_WORKDIR_PREFIX}*"):
        try:
            os.kill(int((d / _OWNER_FILE).read_text()), 0)
        except ProcessLookupError:
            shutil.rmtree(d, ignore_errors=True)
        except (OSError, ValueError):
            continue  # not ours to judge (no/garbled owner file, other user's process)


_CONFIG = "global:\n  scrape_interval: 15s\nscrape_configs: []\n"


class PrometheusServer:
    """A real Prometheus on 127.0.0.1 serving a hardlinked copy of a backfilled TSDB.

    Blocks are immutable and compaction is disabled (max block duration 2h), so the
    server only adds its own lock/WAL/head files to the copy. Use as a context manager
    or call :meth:`start`/:meth:`stop`; the process is also stopped at interpreter exit.
    """

    def __init__(self, tsdb: Path | None = None, *, ready_timeout: float = READY_TIMEOUT_S) -> None:
        self.tsdb = tsdb
        self.ready_timeout = ready_timeout
        self.port = 0
        self.workdir: Path | None = None
        self.log_path: Path | None = None
        self.copy_seconds = 0.0
        self.start_seconds = 0.0
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:40123``."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> PrometheusServer:
        """Copy the TSDB, start prometheus and wait for ``/-/ready``."""
        binary = find_binary("prometheus")
        source = build_tsdb() if self.tsdb is None else self.tsdb
        _prune_orphaned_workdirs()
        self.workdir = Path(tempfile.mkdtemp(prefix=_WORKDIR_PREFIX))
        (self.workdir / _OWNER_FILE).write_text(f"{os.getpid()}\n")
        data = self.workdir / "data"
        t0 = time.monotonic()
        shutil.copytree(source, data, copy_function=_link_or_copy)
        self.copy_seconds = time.monotonic() - t0
        config = self.workdir / "prometheus.yml"
        config.write_text(_CONFIG)
        self.log_path = self.workdir / "prometheus.log"
        atexit.register(self.stop)
        for _attempt in range(3):  # the free port may be taken between probe and bind
            self.port = _free_port()
            self._spawn(binary, config, data)
            if self._wait_ready(t0):
                self.start_seconds = time.monotonic() - t0
                return self
            if self._proc is not None and self._proc.poll() is None:
                break  # running but never ready: not a port race
            if "address already in use" not in self._log_tail():
                break
        tail = self._log_tail()
        self.stop(remove=False)
        raise PrometheusSetupError(
            f"prometheus did not become ready on {self.url} within {self.ready_timeout:.0f}s "
            f"(log {self.log_path}):\n{tail}"
        )

    def _spawn(self, binary: str, config: Path, data: Path) -> None:
        assert self.log_path is not None
        args = [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={data}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--storage.tsdb.retention.time=3650d",
            # Backfilled blocks stay as they are: no compaction into larger blocks.
            "--storage.tsdb.min-block-duration=2h",
            "--storage.tsdb.max-block-duration=2h",
            "--web.enable-admin-api",
            "--log.level=info",
        ]
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
            )

    def _wait_ready(self, t0: float) -> bool:
        assert self._proc is not None
        with requests.Session() as session:
            while time.monotonic() - t0 < self.ready_timeout:
                if self._proc.poll() is not None:
                    return False
                with contextlib.suppress(requests.RequestException):
                    if session.get(f"{self.url}/-/ready", timeout=2).status_code == 200:
                        return True
                time.sleep(0.1)
        return False

    def _log_tail(self, lines: int = 40) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, remove: bool = True) -> None:
        """Terminate (kill after 10 s) and, unless remove=False, delete the work dir."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if remove and self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None
        atexit.unregister(self.stop)

    def __enter__(self) -> PrometheusServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        self.stop()


def main() -> int:
    """Build the TSDB, serve it and print the scenarios until Ctrl-C/SIGTERM."""
    t0 = time.monotonic()
    tsdb = build_tsdb()
    print(f"tsdb: {tsdb} ({time.monotonic() - t0:.1f}s)")

    def _terminate(signum: int, frame: types.FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _terminate)
    with PrometheusServer(tsdb) as server:
        print(f"prometheus: {server.url} (ready in {server.start_seconds:.1f}s)")
        print(f"log: {server.log_path}")
        for sc in scenarios.SCENARIOS.values():
            rfc = sc.eval_time.strftime("%Y-%m-%dT%H:%M:%SZ")
            print(f"  {sc.name:<24} {rfc}  {int(sc.eval_time.timestamp())}")
        sys.stdout.flush()
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)
    return 0


if __name__ == "__main__":
    sys.exit(main())
