"""A tiny HTTP server that answers /api/v1/query_range the way a sick Prometheus would.

Used only for fault paths a real Prometheus 2.42 cannot be made to produce on demand
(5xx, ``warnings`` from a Thanos partial response, non-JSON bodies, hanging, dripping one
byte a second, redirects, hand-made malformed answers, echoing credentials back); it also
records request headers so tests can check what was sent. Happy paths use the real server.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


class StubState:
    def __init__(self) -> None:
        self.mode = "ok"
        self.requests: list[dict[str, Any]] = []
        # hand-made answers: (query params) -> result list, or raw bytes with a status code
        self.result: Callable[[dict[str, str]], list[dict[str, Any]]] | None = None
        self.raw: bytes | None = None
        self.status = 200
        self.headers: dict[str, str] = {}
        self.redirect_to: str | None = None  # Location for mode "redirect"


def _matrix(query: str, start: float, end: float, step: float) -> list[dict[str, Any]]:
    n = int((end - start) // step) + 1
    ratio = "http_requests_total" in query or "avail" in query
    value = "1" if ratio else "0.1"  # availability 100%, latency 100 ms
    values = [[start + i * step, value] for i in range(n)]
    return [{"metric": {"tenant": "acme"}, "values": values}]


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up (timeout tests) is expected, not noise


class _Server6(_Server):
    address_family = socket.AF_INET6


@contextmanager
def stub_prometheus(host: str = "127.0.0.1") -> Iterator[tuple[str, StubState]]:
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
            if mode == "redirect" and url.path == "/api/v1/query_range":
                self.send_response(302)
                location = state.redirect_to or "/"
                if location.startswith("/"):  # same server, another path: keep the query
                    location = f"{location}?{url.query}"
                self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            if mode == "echo":  # a server that repeats the credentials it was sent
                auth = self.headers.get("Authorization", "")
                payload = json.dumps(
                    {"status": "error", "errorType": f"auth {auth}", "error": f"bad {auth}"}
                ).encode()
                state.headers = {"X-Echo": auth}
                return self._send(state.status, payload, "application/json")
            if state.raw is not None:
                return self._send(state.status, state.raw, "application/json")
            result = (
                state.result(params)
                if state.result is not None
                else _matrix(
                    params["query"],
                    float(params["start"]),
                    float(params["end"]),
                    float(params["step"]),
                )
            )
            data = {"resultType": "matrix", "result": result}
            body: dict[str, Any] = {"status": "success", "data": data}
            if mode == "warnings":
                body["warnings"] = ["partial response: store gateway eu-1 unavailable"]
            if mode == "vector":
                body["data"] = {"resultType": "vector", "result": []}
            payload = json.dumps(body).encode()
            if mode == "drip":  # headers at once, then one byte a second
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                for i in range(len(payload)):
                    self.wfile.write(payload[i : i + 1])
                    self.wfile.flush()
                    time.sleep(1)
                return None
            return self._send(state.status, payload, "application/json")

        def _send(self, code: int, payload: bytes, ctype: str = "text/plain") -> None:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in state.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

    server = (_Server6 if ":" in host else _Server)((host, 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    shown = f"[{host}]" if ":" in host else host
    try:
        yield f"http://{shown}:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()
