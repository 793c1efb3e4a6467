"""The stable/canary service of the loopback world (contract: /-/faults, /auth/login,
/graphql, /metrics).

One process is one instance whose ``track`` (stable or canary) is fixed at start. Requests
sleep a base latency drawn per operation (queries faster than mutations, the 2-hop traversal
between) times ``latency_factor`` plus ``extra_latency_ms``, and fail with probability
``error_rate``; all three knobs change at runtime through ``POST /-/faults``. Tokens are an
HMAC of the user name keyed by the shared password, so a token from one instance is valid at
the other (the proxy may route login and query to different tracks, as a real canary does).

Metrics are real prometheus_client exposition: ``http_requests_total{code,tenant,track}``,
``graphql_latency_*{operation_type,tenant,track}`` (the seed's bucket layout),
``webauthn_stepup_total{result}`` (every mutation performs a step-up),
``bundle_failed_load_counter{name}`` (OPA's own name, no ``_total``) and
``opa_decision_errors_total``. The security series exist from the start at zero, as OPA's do,
so the security trigger reads QUIET rather than NO_DATA.

Run: ``python -m tests.support.loopback.service --track canary --password PW --port-file F``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import random
import sys
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import prometheus_client
from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from tests.support.loopback.common import serve_until_signalled
from tests.support.scenarios import GRAPHQL_BUCKETS

DEFAULT_TENANT = "acme"
# Base latency ranges (seconds, uniform): chosen so the seed's buckets resolve a +50 % change
# (queries straddle 0.1-0.25, mutations 0.25-0.5) and the healthy p95 sits under G1's targets.
BASE_LATENCY_S = {"query": (0.10, 0.20), "traverse": (0.12, 0.22), "mutation": (0.20, 0.40)}
FAULT_KEYS = {"error_rate", "extra_latency_ms", "latency_factor", "stepup_failure_rate"}
OPA_BUNDLE = "intelgraph"


@dataclass
class Faults:
    """Injected faults, changed at runtime by ``POST /-/faults``."""

    error_rate: float = 0.0
    extra_latency_ms: float = 0.0
    latency_factor: float = 1.0
    stepup_failure_rate: float = 0.0

    def update(self, doc: object) -> None:
        """Apply a JSON object of knobs; refuse unknown keys and out-of-range values whole."""
        if not isinstance(doc, dict) or not doc:
            raise ValueError("expected a non-empty JSON object of fault knobs")
        unknown = sorted(set(doc) - FAULT_KEYS)
        if unknown:
            raise ValueError(f"unknown fault knob(s): {', '.join(unknown)}")
        new = {}
        for key, value in doc.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{key}: expected a number")
            rate = key.endswith("_rate")
            if not (0 <= value <= 1 if rate else 0 <= value <= 60_000):
                raise ValueError(f"{key}: {value} out of range")
            new[key] = float(value)
        for key, value in new.items():
            setattr(self, key, value)


class _OpaBundleFailures(Collector):
    """``bundle_failed_load_counter{name}``: a counter under OPA's own name (prometheus_client
    would append ``_total`` to a Counter), monotonic by construction."""

    def __init__(self) -> None:
        self.value = 0.0

    def collect(self) -> Iterable[Metric]:
        family = GaugeMetricFamily(
            "bundle_failed_load_counter", "OPA bundle load failures", labels=["name"]
        )
        family.add_metric([OPA_BUNDLE], self.value)
        yield family


class Service:
    """One instance: its metrics registry, faults and the aiohttp application."""

    def __init__(self, track: str, password: str, seed: int | None = None) -> None:
        self.track = track
        self._key = password.encode()
        self.faults = Faults()
        self._random = random.Random(seed)
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "http_requests",
            "HTTP requests served",
            ["code", "tenant", "track"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "graphql_latency",
            "GraphQL request latency in seconds",
            ["operation_type", "tenant", "track"],
            buckets=GRAPHQL_BUCKETS,
            registry=self.registry,
        )
        self.stepups = Counter(
            "webauthn_stepup", "WebAuthn step-up attempts", ["result"], registry=self.registry
        )
        for result in ("success", "failure"):
            self.stepups.labels(result=result)
        self.opa_errors = Counter(
            "opa_decision_errors", "OPA decision errors", registry=self.registry
        )
        self.bundle_failures = _OpaBundleFailures()
        self.registry.register(self.bundle_failures)

    def token(self, username: str) -> str:
        mac = hmac.new(self._key, username.encode(), hashlib.sha256).hexdigest()
        return f"{username}.{mac}"

    def _authorised(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return False
        token = header.removeprefix("Bearer ").strip()
        username, _, _mac = token.partition(".")
        return bool(username) and hmac.compare_digest(token, self.token(username))

    def _respond(self, tenant: str, status: int, doc: object) -> web.Response:
        self.requests.labels(code=str(status), tenant=tenant, track=self.track).inc()
        return web.json_response(doc, status=status, headers={"X-Track": self.track})

    async def _json(self, request: web.Request) -> object:
        try:
            return json.loads(await request.read())
        except (ValueError, UnicodeDecodeError):
            return None

    async def login(self, request: web.Request) -> web.Response:
        tenant = request.headers.get("X-Tenant", DEFAULT_TENANT)
        doc = await self._json(request)
        if not isinstance(doc, dict) or not all(
            isinstance(doc.get(k), str) for k in ("username", "password")
        ):
            return self._respond(
                tenant, 400, {"errors": [{"message": "expected username and password"}]}
            )
        if not hmac.compare_digest(doc["password"].encode(), self._key):
            return self._respond(tenant, 401, {"errors": [{"message": "invalid credentials"}]})
        return self._respond(tenant, 200, {"token": self.token(doc["username"])})

    async def graphql(self, request: web.Request) -> web.Response:
        tenant = request.headers.get("X-Tenant", DEFAULT_TENANT)
        if not self._authorised(request):
            return self._respond(tenant, 401, {"errors": [{"message": "unauthorized"}]})
        doc = await self._json(request)
        query = doc.get("query") if isinstance(doc, dict) else None
        variables = doc.get("variables", {}) if isinstance(doc, dict) else None
        if not isinstance(query, str) or not isinstance(variables, dict):
            return self._respond(
                tenant, 400, {"errors": [{"message": "expected query and variables"}]}
            )
        operation = "mutation" if query.lstrip().startswith("mutation") else "query"
        shape = "traverse" if operation == "query" and "traverse" in query else operation
        lo, hi = BASE_LATENCY_S[shape]
        f = self.faults
        delay = self._random.uniform(lo, hi) * f.latency_factor + f.extra_latency_ms / 1000
        failed = self._random.random() < f.error_rate
        if operation == "mutation":
            ok = self._random.random() >= f.stepup_failure_rate
            self.stepups.labels(result="success" if ok else "failure").inc()
        loop = asyncio.get_running_loop()
        started = loop.time()
        await asyncio.sleep(delay)
        self.latency.labels(operation_type=operation, tenant=tenant, track=self.track).observe(
            loop.time() - started
        )
        if failed:
            return self._respond(tenant, 500, {"errors": [{"message": "injected fault"}]})
        return self._respond(
            tenant, 200, {"data": _answer(shape, variables), "extensions": {"track": self.track}}
        )

    async def metrics(self, request: web.Request) -> web.Response:
        body = prometheus_client.generate_latest(self.registry)
        return web.Response(
            body=body, headers={"Content-Type": prometheus_client.CONTENT_TYPE_LATEST}
        )

    async def set_faults(self, request: web.Request) -> web.Response:
        try:
            self.faults.update(await self._json(request))
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response(vars(self.faults))

    async def get_faults(self, request: web.Request) -> web.Response:
        return web.json_response(vars(self.faults))

    async def bundle_failure(self, request: web.Request) -> web.Response:
        """``POST /-/opa-bundle-failure``: OPA failed to load its bundle once more."""
        self.bundle_failures.value += 1
        return web.json_response({"bundle_failed_load_counter": self.bundle_failures.value})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/auth/login", self.login)
        app.router.add_post("/graphql", self.graphql)
        app.router.add_get("/metrics", self.metrics)
        app.router.add_post("/-/faults", self.set_faults)
        app.router.add_get("/-/faults", self.get_faults)
        app.router.add_post("/-/opa-bundle-failure", self.bundle_failure)
        app.router.add_get("/-/healthy", self.healthy)
        return app

    async def healthy(self, request: web.Request) -> web.Response:
        return web.Response(text=f"{self.track} ok\n")


def _answer(shape: str, variables: dict[str, object]) -> dict[str, object]:
    """A plausible GraphQL ``data`` object for each operation shape."""
    start = str(variables.get("id", "e-1"))
    if shape == "mutation":
        return {
            "createEntity": {"id": f"e-{uuid.uuid4().hex[:12]}", "name": variables.get("name", "x")}
        }
    if shape == "traverse":
        return {
            "traverse": {
                "start": start,
                "hops": 2,
                "paths": [[start, "e-2", "e-3"], [start, "e-4", "e-5"]],
            }
        }
    return {"entity": {"id": start, "name": "Entity", "neighbours": 2}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.loopback.service")
    parser.add_argument("--track", required=True, choices=["stable", "canary"])
    parser.add_argument("--password", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file", type=Path)
    parser.add_argument("--faults", default=None, help="initial faults as JSON")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    prometheus_client.disable_created_metrics()
    service = Service(args.track, args.password, args.seed)
    if args.faults:
        try:
            service.faults.update(json.loads(args.faults))
        except ValueError as exc:
            print(f"service: --faults: {exc}", file=sys.stderr)
            return 2
    asyncio.run(serve_until_signalled(service.app(), args.host, args.port, args.port_file))
    return 0


if __name__ == "__main__":
    sys.exit(main())
