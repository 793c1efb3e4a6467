"""A tiny HTTP server that answers /api/v1/query_range the way a sick Prometheus would.

Used only for fault paths a real Prometheus 2.42 cannot be made to produce on demand
(5xx, ``warnings`` from a Thanos partial response, non-JSON bodies, hanging); it also
records request headers so tests can check what was sent. Happy paths use the real server.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


class StubState:
    def __init__(self) -> None:
        self.mode = "ok"
        self.requests: list[dict[str, Any]] = []


def _matrix(query: str, start: float, end: float, step: float) -> list[dict[str, Any]]:
    n = int((end - start) // step) + 1
    value = "1" if "http_requests_total" in query else "0.1"  # availability 100%, latency 100 ms
    values = [[start + i * step, value] for i in range(n)]
    return [{"metric": {"tenant": "acme"}, "values": values}]


@contextmanager
def stub_prometheus() -> Iterator[tuple[str, StubState]]:
    state = StubState()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            params = {k: v[0] for k, v in parse_qs(url.query).items()}
            state.requests.append(
                {"path": url.path, "params": params, "headers": dict(self.headers)}
            )
            mode = state.mode
            if mode == "hang":
                time.sleep(3)
            if mode == "503":
                return self._send(503, b"upstream unavailable")
            if mode == "html":
                return self._send(200, b"<html>login</html>", "text/html")
            data = {
                "resultType": "matrix",
                "result": _matrix(
                    params["query"],
                    float(params["start"]),
                    float(params["end"]),
                    float(params["step"]),
                ),
            }
            body: dict[str, Any] = {"status": "success", "data": data}
            if mode == "warnings":
                body["warnings"] = ["partial response: store gateway eu-1 unavailable"]
            if mode == "vector":
                body["data"] = {"resultType": "vector", "result": []}
            return self._send(200, json.dumps(body).encode(), "application/json")

        def _send(self, code: int, payload: bytes, ctype: str = "text/plain") -> None:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()
