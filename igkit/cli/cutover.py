"""``igkit cutover judge``: PROMOTE / HOLD / ROLLBACK for one canary stage;
``igkit cutover execute``: the whole canary ladder with auto-rollback (igkit.conductor);
``igkit cutover rollback``: roll back on command.

Exit codes (judge): 0 PROMOTE, 1 ROLLBACK, 4 HOLD, 2 usage, 3 tool error. Execute: 0 promoted
and post-deploy PASS, 1 rolled back / refused / post-deploy not PASS, 130 interrupted.
Rollback: 0 rolled back, 1 the actuator failed twice, 2 without --confirm."""

from __future__ import annotations

import argparse
import os
from datetime import datetime
from pathlib import Path

from igkit.cli.common import (
    ENV_PROM_URL,
    EXIT_GO,
    EXIT_HOLD,
    EXIT_NO_GO,
    P,
    dispatch,
    duration_flag,
    instant_flag,
    verb_group,
)
from igkit.errors import ConfigError

EPILOG = """\
exit codes: 0 PROMOTE, 1 ROLLBACK, 4 HOLD, 2 usage or configuration, 3 tool error

ROLLBACK when a trigger FIRED since --stage-start; HOLD when a trigger is NO_DATA/ERROR, the
hold has not elapsed, the canary served fewer than the matrix's min_canary_requests or does
not meet the canary gate's thresholds on its own; PROMOTE otherwise. Writes OUT/judge.json,
OUT/canary/ (verdicts + snapshots) and OUT/triggers/; --replay OUT re-judges offline."""


def register(sub: argparse._SubParsersAction[P], parser_class: type[P]) -> None:
    csub = verb_group(
        sub,
        parser_class,
        "cutover",
        "run the canary ladder with auto-rollback, judge a stage, or roll back",
    )
    j = csub.add_parser(
        "judge",
        help="PROMOTE, HOLD or ROLLBACK the canary stage; writes judge.json",
        description="Judge one canary stage from the triggers and the canary track.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    j.add_argument("--stage", required=True, type=int, metavar="PCT", help="canary percent")
    j.add_argument("--stage-start", required=True, metavar="T", help="when the stage began")
    j.add_argument("--at", help="evaluation time, RFC3339 or unix seconds (default: now)")
    j.add_argument("--hold", help="minimum time at the stage (default: the matrix's cutover.hold)")
    add_source_flags(
        j,
        replay="an earlier judge's --out",
        triggers="triggers.json of an igkit triggers check run at --at over the stage",
    )
    from igkit.cli import cutover_conductor

    cutover_conductor.register(csub)


def add_source_flags(parser: argparse.ArgumentParser, *, replay: str, triggers: str) -> None:
    """The flags ``cutover judge`` and ``postdeploy validate`` share: where the data comes
    from (live or replay), the matrix, a given trigger report, the output directory."""
    parser.add_argument("--prom-url", help=f"Prometheus base URL (default: ${ENV_PROM_URL})")
    parser.add_argument("--replay", type=Path, metavar="DIR", help=replay)
    parser.add_argument("--matrix", type=Path, help="matrix YAML (default: the one shipped)")
    parser.add_argument(
        "--triggers", type=Path, metavar="FILE", help=f"{triggers} (default: run the check now)"
    )
    parser.add_argument("--out", type=Path, required=True, help="output directory")


def run(args: argparse.Namespace) -> int:
    from igkit.cli import cutover_conductor

    return dispatch(
        args,
        "cutover",
        {
            "judge": _judge,
            "execute": cutover_conductor.execute,
            "rollback": cutover_conductor.rollback,
        },
    )


def prom_or_replay(args: argparse.Namespace) -> str | None:
    """The live URL, or None with --replay; both or neither is a usage error."""
    url = args.prom_url or (None if args.replay else os.environ.get(ENV_PROM_URL))
    if args.replay and args.prom_url:
        raise ConfigError("--replay evaluates offline; drop --prom-url", where="--prom-url")
    if not args.replay and not url:
        raise ConfigError(f"give --prom-url URL (or set {ENV_PROM_URL}), or --replay DIR")
    return url


def recorded_at(replay: Path) -> datetime:
    """The evaluation time of the judge run in ``replay`` (its judge.json)."""
    from igkit.cutover.models import JUDGE_FILE, Judgement
    from igkit.strictdoc import load_model

    path = replay / JUDGE_FILE
    try:
        return load_model(Judgement, path.read_bytes(), where=str(path)).evaluated_at
    except OSError as exc:
        raise ConfigError(f"unreadable ({exc.strerror}); pass --at", where=str(path)) from None


def _judge(args: argparse.Namespace) -> int:
    from igkit.cutover.judge import JudgeRequest, judge
    from igkit.cutover.models import Action
    from igkit.spec.loader import load_matrix

    request = JudgeRequest(
        stage=args.stage,
        stage_start=instant_flag(args.stage_start, "--stage-start"),
        at=recorded_at(args.replay) if args.replay and not args.at else instant_flag(args.at),
        out=args.out,
        hold=duration_flag(args.hold, "--hold") if args.hold else None,
        prom_url=prom_or_replay(args),
        replay=args.replay,
        matrix=args.matrix,
        triggers=args.triggers,
    )
    result = judge(request, load_matrix(args.matrix))
    print(f"{result.action.value} stage {result.stage}%")
    for reason in result.reasons:
        print(f"  {reason}")
    return {Action.PROMOTE: EXIT_GO, Action.ROLLBACK: EXIT_NO_GO}.get(result.action, EXIT_HOLD)
