"""Starting a cutover (``--out D``) or continuing one (``--resume D``): the flags checked
against the matrix, ``run.json`` written or read back, the run directory held, the loop run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from igkit import rundir
from igkit.bundle.keys import load_signing_key
from igkit.conductor.actuators import parse_actuator
from igkit.conductor.clock import Clock, Stop, SystemClock
from igkit.conductor.execute import EXIT_OF, EXIT_STOPPED, Conductor
from igkit.conductor.parts import Journeys, Parts, Settings, run_preflight
from igkit.conductor.runfile import (
    RUN_FILE,
    RunFile,
    new_run_file,
    read_run_file,
    resume_point,
    write_run_file,
)
from igkit.conductor.status import parse_hook
from igkit.conductor.timeline import TIMELINE_FILE, Timeline, TimelineEntry
from igkit.cutover.judge import cutover_spec
from igkit.cutover.postdeploy import postdeploy_spec
from igkit.errors import EXIT_TOOL, ConfigError
from igkit.sources.prometheus import _check_url as check_url
from igkit.sources.prometheus import public_url
from igkit.spec.loader import LoadedMatrix, load_matrix
from igkit.timeutil import promql_duration

DEFAULT_INTERVAL = timedelta(seconds=30)
MIN_INTERVAL = timedelta(seconds=1)


@dataclass(frozen=True)
class ExecuteOptions:
    """The flags of ``igkit cutover execute`` (None: not given)."""

    out: Path | None = None
    resume: Path | None = None
    stages: list[int] | None = None
    hold: timedelta | None = None
    interval: timedelta | None = None
    max_hold: timedelta | None = None
    post_deploy: timedelta | None = None
    auto_rollback: bool = False
    set_weight: str | None = None
    rollback: str | None = None
    prom_url: str | None = None
    matrix: Path | None = None
    evidence: Path | None = None
    k6_files: list[Path] = field(default_factory=list)
    trust: Path | None = None
    status_hook: str | None = None
    actuator_timeout: float = 300.0
    timeout: float = 30.0
    key: Path | None = None
    journeys_url: str | None = None
    journeys_vus: int = 2
    journeys_duration: timedelta = timedelta(seconds=10)


def journeys_of(options: ExecuteOptions) -> Journeys | None:
    """``--journeys-url``: an http(s) URL without credentials (the password comes from the
    environment variable the matrix names, never from a flag)."""
    url = options.journeys_url
    if url is None:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError("must be an http(s) URL", where="--journeys-url")
    if parts.username or parts.password:
        raise ConfigError("must not carry credentials", where="--journeys-url")
    return Journeys(url, options.journeys_vus, options.journeys_duration)


def plan_run(options: ExecuteOptions, loaded: LoadedMatrix, clock: Clock) -> RunFile:
    """run.json of a new cutover: the flags, with the matrix's defaults, checked."""
    spec = cutover_spec(loaded)
    postdeploy = postdeploy_spec(loaded)
    stages = options.stages or list(spec.stages)
    if [s for s in spec.stages if s in stages] != stages:
        raise ConfigError(
            f"{','.join(map(str, stages))} is not a subset of the matrix's cutover.stages "
            f"{','.join(map(str, spec.stages))} in their order",
            where="--stages",
        )
    if stages[-1] != 100:
        raise ConfigError(
            "the last stage must be 100 (the post-deploy validation follows 100 %)",
            where="--stages",
        )
    hold = options.hold or spec.hold
    interval = options.interval or DEFAULT_INTERVAL
    max_hold = options.max_hold or 2 * hold
    if interval < MIN_INTERVAL:
        raise ConfigError("must be at least 1s", where="--interval")
    if max_hold < hold:
        raise ConfigError(
            f"{promql_duration(max_hold)} is shorter than the hold {promql_duration(hold)}",
            where="--max-hold",
        )
    if options.set_weight is None or options.rollback is None:
        raise ConfigError("give --set-weight 'CMD {weight}' and --rollback 'CMD'")
    return new_run_file(
        stages=stages,
        hold=hold,
        interval=interval,
        max_hold=max_hold,
        post_deploy=options.post_deploy or postdeploy.duration,
        auto_rollback=options.auto_rollback,
        matrix_sha256=loaded.sha256,
        set_weight=options.set_weight,
        rollback=options.rollback,
        started_at=clock.now(),
    )


def _check_same(options: ExecuteOptions, run: RunFile, where: str) -> None:
    """With --resume, a flag given again must say what run.json says."""
    given = {
        "--stages": (options.stages, run.stages),
        "--hold": (options.hold and promql_duration(options.hold), run.hold),
        "--interval": (options.interval and promql_duration(options.interval), run.interval),
        "--max-hold": (options.max_hold and promql_duration(options.max_hold), run.max_hold),
        "--post-deploy": (
            options.post_deploy and promql_duration(options.post_deploy),
            run.post_deploy,
        ),
        "--set-weight": (options.set_weight, run.actuators.set_weight),
        "--rollback": (options.rollback, run.actuators.rollback),
        "--auto-rollback": (options.auto_rollback or None, run.auto_rollback),
    }
    for flag, (value, recorded) in given.items():
        if value is not None and value != recorded:
            raise ConfigError(
                f"{value!r} differs from {recorded!r} recorded in {where}; --resume continues "
                "the recorded cutover (drop the flag)",
                where=flag,
            )


def _fresh_dir(out: Path) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        why = (
            "a cutover run directory: continue it with --resume"
            if (out / RUN_FILE).exists()
            else ("not empty")
        )
        raise ConfigError(f"{why}; a cutover starts in a new or empty directory", where=str(out))


def execute(
    options: ExecuteOptions,
    *,
    clock: Clock | None = None,
    stop: Stop | None = None,
    parts: Parts | None = None,
    emit: Callable[[str], None] = print,
) -> int:
    """Run (or resume) the cutover; the exit code of its outcome (0, 1 or 130)."""
    stop = stop or Stop()
    clock = clock or SystemClock(stop)
    parts = parts or Parts(preflight=run_preflight)
    if (
        options.resume is not None
        and options.out is not None
        and options.resume.resolve() != options.out.resolve()
    ):
        raise ConfigError("--resume D continues D; give --out D or leave it out", where="--out")
    run_dir = options.resume or options.out
    if run_dir is None:
        raise ConfigError("give --out D (a new cutover) or --resume D (a recorded one)")
    if options.prom_url is None:
        raise ConfigError("give --prom-url URL (or set IGKIT_PROM_URL)", where="--prom-url")
    check_url(options.prom_url)
    loaded = load_matrix(options.matrix)
    if options.resume is None:
        _fresh_dir(run_dir)
        run = plan_run(options, loaded, clock)
    else:
        run = read_run_file(run_dir)
        if run.matrix_sha256 != loaded.sha256:
            raise ConfigError(
                f"the matrix changed since the cutover began (sha256 {loaded.sha256[:12]}, "
                f"recorded {run.matrix_sha256[:12]}); resume with the same matrix",
                where="--matrix",
            )
        _check_same(options, run, str(run_dir / RUN_FILE))
    settings = Settings(
        run_dir=run_dir,
        run=run,
        set_weight=parse_actuator(run.actuators.set_weight, "set_weight", "--set-weight"),
        rollback=parse_actuator(run.actuators.rollback, "rollback", "--rollback"),
        prom_url=options.prom_url,
        matrix=options.matrix,
        evidence=options.evidence,
        k6_files=tuple(options.k6_files),
        trust=options.trust,
        status_hook=options.status_hook,
        actuator_timeout=options.actuator_timeout,
        timeout=options.timeout,
        key=load_signing_key(options.key),  # a bad key fails before anything runs
        journeys=journeys_of(options),
    )
    if options.status_hook is not None:
        parse_hook(options.status_hook)
    with rundir.owned(run_dir, fresh=False):
        if options.resume is None:
            write_run_file(run_dir, run)
            timeline = Timeline(run_dir)
            conductor = Conductor(settings, loaded, clock, stop, timeline, parts, emit)
            conductor.record("start", _summary(run), args=_args(run, options))
            outcome = conductor.execute(start_at=0, preflight=True)
        else:
            timeline, entries = Timeline.resumed(run_dir)
            _check_dirs(run_dir, entries)
            point = resume_point(run, entries, str(run_dir / TIMELINE_FILE))
            conductor = Conductor(settings, loaded, clock, stop, timeline, parts, emit)
            conductor.weight = point.weight
            conductor.record(
                "start",
                f"resumed at stage {point.stage}% (its set-weight runs again)",
                args={**_args(run, options), "resume": True, "resume_stage": point.stage},
            )
            emit(f"resuming {run_dir} at stage {point.stage}%")
            outcome = conductor.execute(
                start_at=run.stages.index(point.stage), preflight=point.preflight
            )
    code = EXIT_OF.get(outcome, EXIT_STOPPED)
    return EXIT_TOOL if conductor.seal_problem and code == 0 else code


def _check_dirs(run_dir: Path, entries: list[TimelineEntry]) -> None:
    """Every judgement the timeline names has its judge.json (else the record is not whole)."""
    for e in entries:
        if e.kind == "judgement" and e.dir and not (run_dir / e.dir / "judge.json").is_file():
            raise ConfigError(
                f"cannot resume: seq {e.seq} names {e.dir}, which holds no judge.json",
                where=str(run_dir / TIMELINE_FILE),
            )


def _summary(run: RunFile) -> str:
    return (
        f"cutover {','.join(map(str, run.stages))} hold {run.hold} every {run.interval} "
        f"(max {run.max_hold}), post-deploy {run.post_deploy}, "
        f"auto-rollback {'on' if run.auto_rollback else 'off'}"
    )


def _args(run: RunFile, options: ExecuteOptions) -> dict[str, object]:
    """The start entry's summary of what was asked (no URL credentials: they are refused)."""
    return {
        "stages": run.stages,
        "hold": run.hold,
        "interval": run.interval,
        "max_hold": run.max_hold,
        "post_deploy": run.post_deploy,
        "auto_rollback": run.auto_rollback,
        "prom_url": public_url(options.prom_url) if options.prom_url else None,
        "matrix": str(options.matrix) if options.matrix else None,
        "matrix_sha256": run.matrix_sha256,
        "status_hook": options.status_hook,
        "journeys_url": options.journeys_url and public_url(options.journeys_url),
    }
