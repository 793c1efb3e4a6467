"""The steps the conductor's loop calls, and what it is configured with.

Each step is a plain function of :class:`Settings` (and the matrix); :class:`Parts` holds
them so a test can replace the one a case is not about (a stand-in judge for the loop's
order of actions, a real one against Prometheus for the judgements themselves).
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from igkit import rundir
from igkit.bundle.keys import SigningKey
from igkit.conductor import seal as sealing
from igkit.conductor.actuators import Actuator
from igkit.conductor.runfile import RunFile
from igkit.cutover.judge import JudgeRequest, judge
from igkit.cutover.models import Judgement, PostdeployVerdict
from igkit.cutover.postdeploy import PostdeployRequest, validate
from igkit.cutover.triggers import TriggerCheck, check_triggers
from igkit.errors import IgkitError
from igkit.spec.loader import LoadedMatrix
from igkit.strictdoc import load_json
from igkit.timeutil import promql_duration

PREFLIGHT_DIR = "preflight"
STAGES_DIR = "stages"
POSTDEPLOY_DIR = "postdeploy"
CHECKS_DIR = "checks"
ERROR_NOTE = "error.txt"
JOURNEYS_FILE = "journeys.json"
JOURNEY_STATUSES = ("PASS", "FAIL", "NO_DATA", "ERROR")


@dataclass(frozen=True)
class Journeys:
    """``--journeys-url``: the synthetic journeys run at each stage and after post-deploy."""

    base_url: str
    vus: int = 2
    duration: timedelta = timedelta(seconds=10)


@dataclass(frozen=True)
class Preflight:
    decision: str
    reasons: list[str]


@dataclass(frozen=True)
class Settings:
    """What the conductor needs beyond run.json: sources, actuators, hooks."""

    run_dir: Path
    run: RunFile
    set_weight: Actuator
    rollback: Actuator
    prom_url: str | None
    matrix: Path | None = None
    evidence: Path | None = None
    k6_files: tuple[Path, ...] = ()
    trust: Path | None = None
    status_hook: str | None = None
    actuator_timeout: float = 300.0
    timeout: float = 30.0
    key: SigningKey | None = None
    """Signs the bundle; None: an ephemeral key, marked untrusted."""
    journeys: Journeys | None = None


@dataclass
class Parts:
    """The steps the loop calls; tests replace the ones a case is not about."""

    preflight: Callable[[Settings, LoadedMatrix, datetime], Preflight]
    judge: Callable[[JudgeRequest, LoadedMatrix], Judgement] = judge
    check: Callable[[Settings, Path, datetime, timedelta], TriggerCheck] | None = None
    validate: Callable[[PostdeployRequest, LoadedMatrix, datetime], PostdeployVerdict] | None = None
    seal: Callable[[Settings, LoadedMatrix], object] | None = None
    journeys: Callable[[Settings, LoadedMatrix, Path], tuple[str, list[str]]] | None = None


def validate_now(
    request: PostdeployRequest, loaded: LoadedMatrix, now: datetime
) -> PostdeployVerdict:
    return validate(request, loaded, now=now)


def run_preflight(settings: Settings, loaded: LoadedMatrix, at: datetime) -> Preflight:
    """``go-no-go --validate-all`` (every gate of the matrix) into ``D/preflight``."""
    from igkit.run import RunRequest, run_loaded

    request = RunRequest(
        out=settings.run_dir / PREFLIGHT_DIR,
        matrix=settings.matrix,
        gates=None,
        at=at,
        prom_url=settings.prom_url,
        k6_files=list(settings.k6_files),
        evidence_dir=settings.evidence,
        trust_dir=settings.trust,
        timeout=settings.timeout,
    )
    with rundir.owned(request.out, fresh=True):
        run = run_loaded(request, loaded, on_warning=lambda _: None)
    reasons = [
        f"{g.id} {g.status}: {r}" for g in run.gates if g.status != "PASS" for r in g.reasons
    ]
    return Preflight(decision=run.decision, reasons=reasons)


def seal_run(settings: Settings, loaded: LoadedMatrix) -> object:
    """The signed evidence bundle ``D/bundle`` of a finished run (h4's :mod:`seal`)."""
    return sealing.seal(settings.run_dir, loaded, key=settings.key, trust_dir=settings.trust)


def check_postdeploy_triggers(
    settings: Settings, out: Path, at: datetime, lookback: timedelta
) -> TriggerCheck:
    return check_triggers(
        out, at, lookback, prom_url=settings.prom_url, replay=None, matrix=settings.matrix
    )


def run_journeys_verb(settings: Settings, loaded: LoadedMatrix, out: Path) -> tuple[str, list[str]]:
    """``igkit journeys run`` into ``out`` (the journeys engine's own verb: its k6 run,
    snapshots and replay), then its verdict read from ``journeys.json``. An engine that is
    absent, fails, or writes no readable verdict is ERROR with one line, never PASS."""
    from igkit.cli import main as cli

    journeys = settings.journeys
    if journeys is None:
        return "ERROR", ["no --journeys-url was given"]
    if "journeys" not in cli.VERBS:
        return "ERROR", ["the journeys runner (igkit journeys run) is not installed"]
    argv = ["journeys", "run", "--base-url", journeys.base_url, "--vus", str(journeys.vus)]
    argv += ["--duration", promql_duration(journeys.duration), "--out", str(out)]
    argv += ["--matrix", str(settings.matrix)] if settings.matrix else []
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
        try:
            code = cli.main(argv)
        except SystemExit as exc:  # argparse: a flag the verb does not know
            code = exc.code if isinstance(exc.code, int) else 2
    path = out / JOURNEYS_FILE
    try:
        doc = load_json(path.read_bytes(), where=str(path))
    except (OSError, IgkitError) as exc:
        last = printed.getvalue().strip().splitlines()[-1:] or [str(exc)]
        return "ERROR", [f"igkit journeys run exited {code}: {last[0]}"]
    status = doc.get("status") if isinstance(doc, dict) else None
    verdict = doc.get("verdict") if isinstance(doc, dict) else None
    reasons = verdict.get("reasons") if isinstance(verdict, dict) else None
    if status not in JOURNEY_STATUSES or not isinstance(reasons, list):
        return "ERROR", [f"{path}: no status and reasons of a journeys verdict"]
    return str(status), [str(r) for r in reasons]
