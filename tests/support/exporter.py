"""A live loopback exporter: a threaded HTTP server serving ``/metrics`` (Prometheus text
format) whose gauge values a test sets while a real Prometheus scrapes it."""

from __future__ import annotations

import math
import threading
import types
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.support.prometheus import PrometheusServer


class Exporter:
    """Serves the gauges in :attr:`values` (name -> value) on ``127.0.0.1``; :meth:`set`
    changes one between scrapes. Use as a context manager."""

    def __init__(self, **values: float) -> None:
        self._lock = threading.Lock()
        self._values = dict(values)
        self.scrapes = 0
        exporter = self

        class _Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.split("?")[0] != "/metrics":
                    self.send_error(404)
                    return
                body = exporter.render().encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def address(self) -> str:
        """``127.0.0.1:PORT``, a scrape target."""
        host, port = self._server.server_address[:2]
        return f"{host!s}:{port}"

    def set(self, name: str, value: float) -> None:
        with self._lock:
            self._values[name] = value

    def render(self) -> str:
        with self._lock:
            self.scrapes += 1
            items = sorted(self._values.items())
        lines = []
        for name, value in items:
            text = "NaN" if math.isnan(value) else repr(float(value))
            lines += [f"# TYPE {name} gauge", f"{name} {text}"]
        return "\n".join(lines) + "\n"

    def __enter__(self) -> Exporter:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class ScrapingPrometheus(PrometheusServer):
    """A real Prometheus on 127.0.0.1 with an empty TSDB that scrapes ``targets`` every
    second (evaluation interval 1s too): live data, unlike the backfilled session server."""

    def __init__(self, empty_tsdb: Path, targets: list[str], job: str = "igkit-watch") -> None:
        super().__init__(empty_tsdb)
        self.targets = targets
        self.job = job

    def _spawn(self, binary: str, config: Path, data: Path) -> None:
        config.write_text(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n"
            f"scrape_configs:\n  - job_name: {self.job}\n    static_configs:\n"
            f"      - targets: [{', '.join(repr(t) for t in self.targets)}]\n"
        )
        super()._spawn(binary, config, data)
