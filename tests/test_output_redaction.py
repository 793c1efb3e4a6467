"""A configured secret never reaches any output (issue #8, class 6, output half).

The server here echoes the bearer token back — in an error body and as a label value —
which a real Prometheus cannot be made to do, so a small stub serves it. Every file under
--out (PDF text included) and stdout/stderr are searched for the canary; the positive control
is the same run with a server that echoes something else: the same statuses and decision."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from igkit.cli import go_no_go as cli
from igkit.cli.main import main

CANARY = "cnry-5b8e2d1f0a9c4e77"
AT = "2025-03-01T03:30:00Z"


@contextmanager
def echo_server(echo: bool) -> Iterator[str]:
    """Availability series labelled with the caller's token; every other query is a 500 whose
    body repeats the Authorization header (``echo=False``: a fixed stand-in instead)."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            params = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
            auth = self.headers.get("Authorization", "") if echo else "Bearer stand-in-value"
            token = auth.removeprefix("Bearer ")
            if "http_requests_total" in params.get("query", ""):
                start, end = float(params["start"]), float(params["end"])
                step = float(params["step"])
                n = int((end - start) // step) + 1
                values = [[start + i * step, "1"] for i in range(n)]
                result = [{"metric": {"tenant": token}, "values": values}]
                body = {"status": "success", "data": {"resultType": "matrix", "result": result}}
                return self._send(200, body)
            error = {"status": "error", "errorType": "auth", "error": f"denied for {auth}"}
            return self._send(500, error)

        def _send(self, code: int, body: dict[str, Any]) -> None:
            payload = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def leaks(out: Path, streams: str) -> list[str]:
    found = ["stdout/stderr"] if CANARY in streams else []
    for path in sorted(out.rglob("*")):
        if not path.is_file() or path.is_symlink():
            continue
        data = path.read_bytes()
        if path.suffix == ".pdf":
            text = subprocess.run(
                ["pdftotext", str(path), "-"], capture_output=True, check=True
            ).stdout
            data += text
        if CANARY.encode() in data:
            found.append(str(path.relative_to(out)))
    return found


def statuses(out: Path) -> tuple[str, list[tuple[str, str, str]]]:
    v = json.loads((out / "verdicts.json").read_text())
    rows = [(g["id"], o["name"], o["status"]) for g in v["gates"] for o in g["objectives"]]
    return v["decision"], rows


def go(url: str, out: Path, *extra: str) -> int:
    return main(
        ["go-no-go", "--gate", "G1", "--prom-url", url, "--at", AT, "--out", str(out), *extra]
    )


def test_echoed_token_reaches_no_output_pure_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("IGKIT_PROM_TOKEN", CANARY)
    with echo_server(echo=True) as url:
        rc = go(url, tmp_path / "hostile")
        assert main(["bundle", "build", str(tmp_path / "hostile")]) == 0
    streams = "".join(capsys.readouterr())
    assert leaks(tmp_path / "hostile", streams) == []
    text = (tmp_path / "hostile" / "verdicts.json").read_text()
    assert "[REDACTED]" in text  # the echo was there, and was redacted
    with echo_server(echo=False) as url:
        assert go(url, tmp_path / "control") == rc  # positive control
    assert statuses(tmp_path / "hostile") == statuses(tmp_path / "control")
    assert rc == 1
    key = str(tmp_path / "hostile" / "bundle.demo-key.pub.pem")
    bundle = str(tmp_path / "hostile" / "bundle")
    assert main(["bundle", "verify", bundle, "--key", key, "--replay"]) == 0


@pytest.mark.slow  # kernels, Chromium and signing; the pure-path twin above stays in make test
@pytest.mark.notebooks
def test_echoed_token_reaches_no_output_with_notebooks_and_bundle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("IGKIT_PROM_TOKEN", CANARY)
    monkeypatch.setattr(cli, "NOTEBOOKS_BY_DEFAULT", True)
    out = tmp_path / "run"
    with echo_server(echo=True) as url:
        rc = go(url, out, "--bundle", "--workers", "1")
    streams = "".join(capsys.readouterr())
    assert rc == 1
    assert list(out.rglob("*.pdf"))
    assert list(out.rglob("*.ipynb"))
    assert leaks(out, streams) == []
    decision, rows = statuses(out)
    assert decision == "NO-GO"
    assert ("G1", "availability", "PASS") in rows  # the labelled series was judged, redacted
    # a run of G1 only says so everywhere it is shown
    scope = {"gates": ["G1"], "complete": False}
    assert json.loads((out / "war-room.json").read_text())["scope"] == scope
    assert json.loads((out / "bundle" / "manifest.json").read_text())["scope"] == scope
    assert "PARTIAL RUN" in (out / "reports" / "index.html").read_text()
    pdf = subprocess.run(
        ["pdftotext", str(out / "reports" / "index.pdf"), "-"], capture_output=True, check=True
    )
    assert b"PARTIAL RUN" in pdf.stdout
