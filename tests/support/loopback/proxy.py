"""The weighted reverse proxy of the loopback world: what a mesh or ingress does in a canary.

Each request goes to the canary with probability ``weight/100``, else to stable; method,
path, query, body and headers (``X-Tenant``, ``Authorization``, ...) pass through unchanged
except the hop-by-hop ones. The weight lives in memory: ``GET /-/weight`` answers
``{"canary": N}``, ``PUT /-/weight`` sets it from ``?canary=N``, a JSON body
``{"canary": N}`` or a plain ``N`` (an integer 0..100; anything else is 400 and changes
nothing). ``/-/metrics`` exports ``proxy_weight{track}`` and
``proxy_requests_total{track,code}`` so a test can read the weight from Prometheus too.

Run: ``python -m tests.support.loopback.proxy --stable URL --canary URL --port-file F``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
from pathlib import Path

import aiohttp
import prometheus_client
from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge

from tests.support.loopback.common import serve_until_signalled

HOP_BY_HOP = frozenset(
    h.lower()
    for h in (
        "Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "TE",
        "Trailers", "Transfer-Encoding", "Upgrade", "Host", "Content-Length",
    )
)  # fmt: skip
UPSTREAM_TIMEOUT_S = 30


def parse_weight(text: str) -> int:
    """A weight from an admin request: an integer 0..100, else ValueError with the reason."""
    text = text.strip()
    if text.startswith("{"):
        doc = json.loads(text)
        if not isinstance(doc, dict) or set(doc) != {"canary"}:
            raise ValueError('expected {"canary": N}')
        value: object = doc["canary"]
    else:
        value = int(text) if text.lstrip("-").isdigit() else text
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"weight must be an integer, got {value!r}")
    if not 0 <= value <= 100:
        raise ValueError(f"weight must lie in 0..100, got {value}")
    return value


class Proxy:
    """The routing state (weight, upstreams, client session) and the aiohttp application."""

    def __init__(self, stable: str, canary: str, weight: int = 0, seed: int | None = None) -> None:
        self.upstreams = {"stable": stable.rstrip("/"), "canary": canary.rstrip("/")}
        self.weight = weight
        self._random = random.Random(seed)
        self._session: aiohttp.ClientSession | None = None
        self.registry = CollectorRegistry(auto_describe=True)
        self._weight_gauge = Gauge(
            "proxy_weight", "Traffic share per track, percent", ["track"], registry=self.registry
        )
        self._requests = Counter(
            "proxy_requests", "Requests forwarded", ["track", "code"], registry=self.registry
        )
        self._publish()

    def _publish(self) -> None:
        self._weight_gauge.labels(track="canary").set(self.weight)
        self._weight_gauge.labels(track="stable").set(100 - self.weight)

    async def _start(self, app: web.Application) -> None:
        timeout = aiohttp.ClientTimeout(total=UPSTREAM_TIMEOUT_S)
        connector = aiohttp.TCPConnector(limit=0)
        self._session = aiohttp.ClientSession(
            timeout=timeout, connector=connector, auto_decompress=False
        )

    async def _stop(self, app: web.Application) -> None:
        if self._session is not None:
            await self._session.close()

    async def get_weight(self, request: web.Request) -> web.Response:
        return web.json_response({"canary": self.weight})

    async def put_weight(self, request: web.Request) -> web.Response:
        text = request.query.get("canary")
        if text is None:
            text = (await request.read()).decode("utf-8", "replace")
        try:
            self.weight = parse_weight(text)
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        self._publish()
        return web.json_response({"canary": self.weight})

    async def metrics(self, request: web.Request) -> web.Response:
        body = prometheus_client.generate_latest(self.registry)
        return web.Response(
            body=body, headers={"Content-Type": prometheus_client.CONTENT_TYPE_LATEST}
        )

    async def forward(self, request: web.Request) -> web.StreamResponse:
        assert self._session is not None
        track = "canary" if self._random.random() * 100 < self.weight else "stable"
        url = self.upstreams[track] + request.rel_url.path_qs
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        body = await request.read()
        try:
            async with self._session.request(
                request.method, url, headers=headers, data=body, allow_redirects=False
            ) as upstream:
                payload = await upstream.read()
                out = {k: v for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP}
                self._requests.labels(track=track, code=str(upstream.status)).inc()
                return web.Response(status=upstream.status, body=payload, headers=out)
        except (TimeoutError, aiohttp.ClientError) as exc:
            self._requests.labels(track=track, code="502").inc()
            return web.json_response(
                {"errors": [{"message": f"{track} upstream: {exc!r}"}]}, status=502
            )

    def app(self) -> web.Application:
        app = web.Application()
        app.on_startup.append(self._start)
        app.on_cleanup.append(self._stop)
        app.router.add_get("/-/weight", self.get_weight)
        app.router.add_put("/-/weight", self.put_weight)
        app.router.add_get("/-/metrics", self.metrics)
        app.router.add_route("*", "/{tail:.*}", self.forward)
        return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.loopback.proxy")
    parser.add_argument("--stable", required=True, help="stable base URL")
    parser.add_argument("--canary", required=True, help="canary base URL")
    parser.add_argument("--weight", type=int, default=0, help="initial canary weight")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file", type=Path)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    try:
        weight = parse_weight(str(args.weight))
    except ValueError as exc:
        print(f"proxy: --weight: {exc}", file=sys.stderr)
        return 2
    prometheus_client.disable_created_metrics()
    proxy = Proxy(args.stable, args.canary, weight, args.seed)
    asyncio.run(serve_until_signalled(proxy.app(), args.host, args.port, args.port_file))
    return 0


if __name__ == "__main__":
    sys.exit(main())
