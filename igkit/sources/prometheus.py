"""Live Prometheus (or Mimir/Cortex/Thanos) source: range queries captured as snapshots.

``PrometheusConnect`` configures the HTTP session (auth, retries, TLS, proxies); the range
request itself goes through that session rather than ``custom_query_range``, because the
latter discards the response's ``status``/``warnings`` — and a partial or warned answer
must become an ERROR verdict, never a quiet green.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import requests
from prometheus_api_client import PrometheusConnect
from urllib3.util.retry import Retry

from igkit.errors import ConfigError
from igkit.snapshots import RangeRequest, Snapshot, series_key

MAX_POINTS = 11_000  # Prometheus refuses range queries of more than 11,000 points per series

ENV_TOKEN = "IGKIT_PROM_TOKEN"
ENV_USER = "IGKIT_PROM_USERNAME"
ENV_PASSWORD = "IGKIT_PROM_PASSWORD"
ENV_CA = "IGKIT_PROM_CA_FILE"


def public_url(url: str) -> str:
    """The server URL as it may appear in evidence: no credentials, query or fragment."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path.rstrip("/"), "", ""))


def _credentials(env: Mapping[str, str]) -> tuple[dict[str, str], tuple[str, str] | None]:
    headers: dict[str, str] = {}
    auth: tuple[str, str] | None = None
    token = env.get(ENV_TOKEN)
    if token:
        headers["Authorization"] = f"Bearer {token}"
    user, password = env.get(ENV_USER), env.get(ENV_PASSWORD)
    if user or password:
        if token:
            raise ConfigError(f"set either {ENV_TOKEN} or {ENV_USER}/{ENV_PASSWORD}, not both")
        auth = (user or "", password or "")
    return headers, auth


def split_range(request: RangeRequest, max_points: int = MAX_POINTS) -> list[tuple[float, float]]:
    """Cut a range into pieces of at most ``max_points`` steps on the same grid, no overlap."""
    start, end, step = request.start.timestamp(), request.end.timestamp(), request.step_seconds
    total = math.floor((end - start) / step + 1e-9) + 1
    pieces = []
    for first in range(0, total, max_points):
        last = min(first + max_points, total) - 1
        pieces.append((start + first * step, start + last * step))
    return pieces


def stitch(chunks: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Merge per-chunk matrix results by series; drop any repeated timestamp (first wins)."""
    merged: dict[str, dict[str, Any]] = {}
    for chunk in chunks:
        for series in chunk:
            key = series_key(series.get("metric") or {})
            entry = merged.setdefault(key, {"metric": series.get("metric") or {}, "values": []})
            entry["values"].extend(series.get("values") or [])
    for entry in merged.values():
        values = entry["values"]
        if not values:
            continue
        ts = np.fromiter((v[0] for v in values), dtype=np.float64, count=len(values))
        order = np.argsort(ts, kind="stable")
        _, first = np.unique(ts[order], return_index=True)
        keep = order[first]
        if len(keep) != len(values) or not np.all(np.diff(keep) > 0):
            entry["values"] = [values[i] for i in keep]
    return list(merged.values())


class PrometheusSource:
    """Fetch range queries from a live server. Credentials come from the environment only."""

    name = "prometheus"

    def __init__(
        self,
        url: str,
        *,
        tenant: str | None = None,
        timeout: float = 30.0,
        max_points: int = MAX_POINTS,
        retries: int = 2,
        env: Mapping[str, str] | None = None,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"--prom-url {url!r} is not an http(s) URL")
        if parts.username or parts.password:
            raise ConfigError(
                f"--prom-url must not carry credentials; set {ENV_TOKEN} or {ENV_USER}/{ENV_PASSWORD}"
            )
        env = os.environ if env is None else env
        headers, auth = _credentials(env)
        if tenant:
            headers["X-Scope-OrgID"] = tenant
        self.url = public_url(url)
        self.tenant = tenant
        self.timeout = timeout
        self.max_points = max_points
        self._session = requests.Session()
        ca = env.get(ENV_CA)
        if ca:
            self._session.verify = ca
        retry = Retry(
            total=retries,
            connect=retries,
            read=0,
            backoff_factor=0.2,
            status_forcelist=(502, 503, 504),
            allowed_methods=frozenset({"GET", "POST"}),
            raise_on_status=False,
        )
        self._client = PrometheusConnect(
            url=self.url,
            headers=headers,
            auth=auth,
            retry=retry,
            session=self._session,
            timeout=timeout,
        )

    def fetch(self, request: RangeRequest) -> Snapshot:
        fetched_at = datetime.now(tz=UTC)
        chunks: list[list[dict[str, Any]]] = []
        warnings: list[str] = []
        pieces = split_range(request, self.max_points)
        base = {
            "id": request.id,
            "request": request,
            "server": self.url,
            "fetched_at": fetched_at,
            "chunks": len(pieces),
        }
        for start, end in pieces:
            outcome = self._query_range(request.query, start, end, request.step_seconds)
            if isinstance(outcome, tuple):
                error_type, message = outcome
                return Snapshot(
                    status="error", error_type=error_type, error=message, **base
                ).sealed()
            chunks.append(outcome["result"])
            warnings.extend(str(w) for w in outcome.get("warnings") or [])
        return Snapshot(
            status="success",
            warnings=warnings,
            result_type="matrix",
            result=stitch(chunks) if len(chunks) > 1 else chunks[0],
            **base,
        ).sealed()

    def _query_range(
        self, query: str, start: float, end: float, step: float
    ) -> dict[str, Any] | tuple[str, str]:
        """One HTTP range query: the ``data`` dict (plus warnings), or ``(error_type, message)``."""
        client = self._client
        try:
            response = self._session.request(
                method="GET",
                url=f"{client.url}/api/v1/query_range",
                params={
                    "query": query,
                    "start": f"{start:.3f}",
                    "end": f"{end:.3f}",
                    "step": f"{step:g}",
                },
                headers=client.headers,
                auth=client.auth,
                timeout=self.timeout,
            )
        except requests.exceptions.Timeout:
            return "timeout", f"no answer from {self.url} within {self.timeout:g}s"
        except requests.exceptions.ConnectionError as exc:
            cause = _root_cause(exc)
            if (
                cause == "timed out"
            ):  # a read timeout surfaces as ConnectionError once retries are spent
                return "timeout", f"no answer from {self.url} within {self.timeout:g}s"
            return "unreachable", f"cannot connect to Prometheus at {self.url} ({cause})"
        except requests.exceptions.RequestException as exc:
            return "request_failed", f"request to {self.url} failed ({type(exc).__name__})"
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            snippet = response.text[:200].strip().replace("\n", " ")
            return f"http_{response.status_code}", (
                f"HTTP {response.status_code} from {self.url}, not a Prometheus API answer: {snippet!r}"
            )
        if response.status_code != 200 or body.get("status") != "success":
            kind = body.get("errorType") or f"http_{response.status_code}"
            return (
                str(kind),
                f"Prometheus answered HTTP {response.status_code} {kind}: {body.get('error', '')}".strip(),
            )
        data = body.get("data")
        if not isinstance(data, dict) or data.get("resultType") != "matrix":
            got = data.get("resultType") if isinstance(data, dict) else type(data).__name__
            return "bad_response", f"expected a matrix result from query_range, got {got}"
        result = data.get("result")
        if not isinstance(result, list):
            return "bad_response", "query_range answer has no result list"
        return {"result": result, "warnings": body.get("warnings") or []}


def _root_cause(exc: BaseException) -> str:
    """The innermost reason of a connection error, e.g. ``Connection refused``."""
    seen: BaseException = exc
    while True:
        nxt = (
            seen.__cause__
            or seen.__context__
            or (seen.args[0] if seen.args and isinstance(seen.args[0], BaseException) else None)
        )
        if nxt is None or nxt is seen:
            break
        seen = nxt
    text = str(seen)
    for marker in (
        "Connection refused",
        "Name or service not known",
        "No route to host",
        "timed out",
    ):
        if marker in text:
            return marker.lower() if marker != "Connection refused" else "connection refused"
    return type(seen).__name__


def step_seconds(step: timedelta) -> float:
    return step.total_seconds()
