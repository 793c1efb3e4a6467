"""Live Prometheus (or Mimir/Cortex/Thanos) source: range queries captured as snapshots.

``PrometheusConnect`` configures the HTTP session (auth, retries, TLS, proxies); the range
request itself goes through that session rather than ``custom_query_range``, because the
latter discards the response's ``status``/``warnings`` — and a partial or warned answer
must become an ERROR verdict, never a quiet green.

The server is not trusted: the answer is parsed strictly and validated by the same function
the judge uses (:func:`igkit.snapshots.read_query_range_body`); ``--timeout`` bounds each
whole request (a server dripping one byte a second cannot stall a run), bodies are capped,
redirects are followed only within the configured origin, and every piece of text the server
sends back passes through :func:`igkit.redact.redact` before it can reach an output.
"""

from __future__ import annotations

import ctypes
import functools
import math
import os
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import requests
from prometheus_api_client import PrometheusConnect
from urllib3.util.retry import Retry

from igkit.errors import ConfigError
from igkit.redact import redact, redact_data, secrets
from igkit.snapshots import (
    RangeRequest,
    RangeResult,
    ResultError,
    Snapshot,
    one_line,
    parse_range_result,
    read_query_range_body,
    series_key,
)

MAX_POINTS = 11_000  # Prometheus refuses range queries of more than 11,000 points per series
MAX_RESPONSE_BYTES = 1 << 30  # one answer larger than 1 GiB is refused, not buffered
MAX_REDIRECTS = 5
_ERROR_BODY_BYTES = 64 << 10
_MMAP_THRESHOLD = 1 << 20

ENV_TOKEN = "IGKIT_PROM_TOKEN"
ENV_USER = "IGKIT_PROM_USERNAME"
ENV_PASSWORD = "IGKIT_PROM_PASSWORD"
ENV_CA = "IGKIT_PROM_CA_FILE"

Outcome = dict[str, Any] | tuple[str, str]


def public_url(url: str) -> str:
    """The server URL as it may appear in evidence: no credentials, query or fragment.

    IPv6 hosts keep their brackets (``http://[::1]:9090``)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path.rstrip("/"), "", ""))


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default


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


def _check_url(url: str) -> None:
    """Refuse a URL that is not plain http(s); the URL itself is never echoed (it may hold
    credentials)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise ConfigError(
            "is not a valid http(s) URL (malformed host or port)", where="--prom-url"
        ) from None
    if parts.username or parts.password or "@" in parts.netloc:
        raise ConfigError(
            f"must not carry credentials; set {ENV_TOKEN} or {ENV_USER}/{ENV_PASSWORD}",
            where="--prom-url",
        )
    if parts.scheme not in ("http", "https") or not parts.hostname:
        scheme = parts.scheme if parts.scheme.isalnum() else "?"
        raise ConfigError(
            f"is not an http(s) URL (scheme {scheme or 'missing'!r})", where="--prom-url"
        )


def _check_ca(ca: str) -> None:
    try:
        with open(ca, "rb") as f:
            f.read(1)
    except OSError as exc:
        raise ConfigError(
            f"CA bundle {ca!r} cannot be read ({exc.strerror or type(exc).__name__})", where=ENV_CA
        ) from None


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
    """Concatenate per-chunk matrix results series by series (exact label set).

    Chunks cover disjoint pieces of the grid, so nothing is dropped or merged here: a server
    that returns a sample twice across chunks leaves a repeated timestamp, which validation
    then refuses as ambiguous."""
    merged: dict[str, dict[str, Any]] = {}
    for chunk in chunks:
        for series in chunk:
            metric = series.get("metric") or {}
            key = series_key(metric)
            entry = merged.setdefault(key, {"metric": metric, "values": []})
            entry["values"].extend(series.get("values") or [])
    return list(merged.values())


def _bounded(work: Callable[[float], Outcome], timeout: float, url: str) -> Outcome:
    """Run one whole request in a helper thread and give up at the deadline.

    A socket timeout only bounds the wait for each read; a server sending one byte a second
    would never trip it. The helper is a daemon thread: it also checks the deadline between
    reads and ends on its own shortly after."""
    deadline = time.monotonic() + timeout
    box: list[Outcome] = []

    def run() -> None:
        try:
            box.append(work(deadline))
        except Exception as exc:  # any failure is this request's error, never a crash
            box.append(("request_failed", f"request to {url} failed ({type(exc).__name__})"))

    thread = threading.Thread(target=run, name="igkit-prom-request", daemon=True)
    thread.start()
    thread.join(timeout)
    if not box:
        return "timeout", f"no answer from {url} within {timeout:g}s"
    return box[0]


@functools.cache
def _return_large_frees() -> None:
    """glibc only: serve every allocation of 1 MiB or more by ``mmap``, so that freeing it
    gives the memory back at once.

    By default glibc raises that threshold to the size of the largest block freed (up to
    32 MiB), after which an answer's body, text and validation arrays (tens of MB per query,
    made and freed query after query, in several fetch threads) come from the heaps, which
    fragment and keep their high-water mark: G1 over 3,000 tenants peaked at ~650 MB instead
    of ~450 MB of live data (``benchmarks/tenants_scale.py``). It changes no result; where
    ``mallopt`` does not exist (not glibc) nothing is done."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (AttributeError, OSError):
        return
    mallopt(-3, _MMAP_THRESHOLD)  # M_MMAP_THRESHOLD; a fixed value also stops its rising


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
        max_bytes: int = MAX_RESPONSE_BYTES,
        retries: int = 2,
        env: Mapping[str, str] | None = None,
    ) -> None:
        _check_url(url)
        if isinstance(timeout, bool) or not math.isfinite(timeout) or timeout <= 0:
            raise ConfigError("must be a finite positive number of seconds", where="--timeout")
        env = os.environ if env is None else env
        headers, auth = _credentials(env)
        _return_large_frees()
        if tenant:
            headers["X-Scope-OrgID"] = tenant
        self.url = public_url(url)
        self.tenant = tenant
        self.timeout = float(timeout)
        self.max_points = max_points
        self.max_bytes = max_bytes
        self._secrets = secrets(env)
        self._session = requests.Session()
        ca = env.get(ENV_CA)
        if ca:
            _check_ca(ca)
            self._session.verify = ca
        retry = Retry(
            total=retries,
            connect=retries,
            read=0,
            redirect=0,
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

    def _clean(self, text: str) -> str:
        """Server text as it may appear in a snapshot or reason: secrets redacted."""
        return one_line(redact(text, self._secrets))

    def fetch(self, request: RangeRequest) -> Snapshot:
        fetched_at = datetime.now(tz=UTC)
        chunks: list[RangeResult] = []
        warnings: list[str] = []
        redirects: list[str] = []
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
                    status="error",
                    error_type=self._clean(error_type)[:80],
                    error=self._clean(message),
                    redirects=redirects,
                    **base,
                ).sealed()
            chunks.append(outcome["result"])
            warnings.extend(outcome["warnings"])
            redirects.extend(r for r in outcome["redirects"] if r not in redirects)
        result = chunks[0]
        if len(chunks) > 1:
            stitched = stitch([c.parsed() for c in chunks])
            try:
                parse_range_result(stitched)
                result = RangeResult.of(stitched)
            except ResultError as exc:
                return Snapshot(
                    status="error",
                    error_type="bad_response",
                    error=self._clean(f"malformed answer from {self.url}: {exc}"),
                    redirects=redirects,
                    **base,
                ).sealed()
        if self._secrets and any(s.encode() in result.json for s in self._secrets):
            result = RangeResult.of(redact_data(result.parsed(), self._secrets))
        return Snapshot(
            status="success",
            warnings=[self._clean(w) for w in warnings],
            result_type="matrix",
            result=result,
            redirects=redirects,
            **base,
        ).sealed()

    def _query_range(self, query: str, start: float, end: float, step: float) -> Outcome:
        """One range query, bounded by ``timeout`` as a whole: ``{"result", "warnings",
        "redirects"}`` or ``(error_type, message)``."""
        params = {"query": query, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:g}"}
        return _bounded(
            lambda deadline: self._get(f"{self.url}/api/v1/query_range", params, deadline),
            self.timeout,
            self.url,
        )

    def _get(self, url: str, params: dict[str, str] | None, deadline: float) -> Outcome:
        client = self._client
        redirects: list[str] = []
        for _ in range(MAX_REDIRECTS + 1):
            try:
                response = self._session.request(
                    method="GET",
                    url=url,
                    params=params,
                    headers=client.headers,
                    auth=client.auth,
                    timeout=self.timeout,
                    allow_redirects=False,
                    stream=True,
                )
            except requests.exceptions.Timeout:
                return "timeout", f"no answer from {self.url} within {self.timeout:g}s"
            except requests.exceptions.ConnectionError as exc:
                cause = _root_cause(exc)
                if cause == "timed out":  # a read timeout surfaces so once retries are spent
                    return "timeout", f"no answer from {self.url} within {self.timeout:g}s"
                return "unreachable", f"cannot connect to Prometheus at {self.url} ({cause})"
            except requests.exceptions.RequestException as exc:
                return "request_failed", f"request to {self.url} failed ({type(exc).__name__})"
            with response:
                if response.is_redirect:
                    target = urljoin(response.url, response.headers.get("Location", ""))
                    shown = self._clean(public_url(target) if urlsplit(target).hostname else target)
                    parts = urlsplit(target)
                    if _origin(target) != _origin(self.url) or parts.username or parts.password:
                        return "redirect", (
                            f"redirected to {shown}: igkit follows redirects only within {self.url}"
                        )
                    redirects.append(shown)
                    url, params = target, None
                    continue
                limit = self.max_bytes if response.status_code == 200 else _ERROR_BODY_BYTES
                body = _read_body(response, limit, deadline)
            if body is None:
                return "timeout", f"no answer from {self.url} within {self.timeout:g}s"
            if response.status_code == 200 and len(body) > self.max_bytes:
                return "too_large", (
                    f"answer from {self.url} is larger than {self.max_bytes:,} bytes; refused"
                )
            return self._interpret(response.status_code, body, redirects)
        return "redirect", f"more than {MAX_REDIRECTS} redirects from {self.url}"

    def _interpret(self, status: int, body: bytes, redirects: list[str]) -> Outcome:
        if status != 200:
            return self._error_answer(status, body)
        try:
            result, warnings = read_query_range_body(body)
        except ResultError as exc:
            error = _error_fields(body)
            if error is not None:  # HTTP 200 with status "error" (some proxies do this)
                return error[0], f"Prometheus answered HTTP 200 {error[0]}: {error[1]}"
            if exc.not_api:
                return f"http_{status}", (
                    f"HTTP {status} from {self.url}, not a Prometheus API answer "
                    f"({exc}): {_snippet(body)!r}"
                )
            return "bad_response", f"malformed answer from {self.url}: {exc}"
        return {"result": result, "warnings": warnings, "redirects": redirects}

    def _error_answer(self, status: int, body: bytes) -> tuple[str, str]:
        error = _error_fields(body)
        if error is None:
            return f"http_{status}", (
                f"HTTP {status} from {self.url}, not a Prometheus API answer: {_snippet(body)!r}"
            )
        kind = error[0] if error[0] else f"http_{status}"
        return kind, f"Prometheus answered HTTP {status} {kind}: {error[1]}".strip()


def _snippet(body: bytes) -> str:
    return body[:200].decode("utf-8", "replace").strip().replace("\n", " ")


def _error_fields(body: bytes) -> tuple[str, str] | None:
    """``(errorType, error)`` of a Prometheus error answer, or None when it is not one."""
    from igkit.strictdoc import DocumentError, load_json

    try:
        data = load_json(body, where="response", check_depth=False)
    except DocumentError:
        return None
    if not isinstance(data, dict) or data.get("status") != "error":
        return None
    return str(data.get("errorType") or ""), str(data.get("error") or "")[:500]


def _read_body(response: requests.Response, limit: int, deadline: float) -> bytes | None:
    """Read at most ``limit`` + 1 bytes, returning as data arrives; None past the deadline."""
    parts: list[bytes] = []
    size = 0
    raw = response.raw
    while size <= limit:
        if time.monotonic() > deadline:
            return None
        chunk = raw.read1(min(1 << 20, limit + 1 - size), decode_content=True)
        if not chunk:
            break
        parts.append(chunk)
        size += len(chunk)
    return b"".join(parts)


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
