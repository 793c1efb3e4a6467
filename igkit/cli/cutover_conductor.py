"""The ``execute`` and ``rollback`` sub-commands of ``igkit cutover`` (igkit.conductor)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from igkit.cli.common import ENV_PROM_URL, count_flag, duration_flag, seconds_flag
from igkit.errors import ConfigError

EXECUTE_EPILOG = """\
exit codes: 0 promoted to 100 % and the post-deploy validation PASSED; 1 rolled back,
refused (preflight not GO), rollback required (no --auto-rollback), rollback failed or
post-deploy not PASS; 2 usage or configuration; 3 tool error; 130 interrupted (SIGINT/SIGTERM:
the weight stays where it is; continue with --resume D).

Preflight: go-no-go --validate-all (every gate of the matrix) must be GO. Each stage: the
--set-weight actuator, then the hold (from its success): cutover judge every --interval into
D/stages/<PCT>/judge-NNNN. ROLLBACK, HOLD past --max-hold (default 2x --hold), a failing
set-weight: the --rollback actuator runs at once (with --auto-rollback; without it the run
stops with ROLLBACK_REQUIRED and runs nothing). After 100 %: triggers checked every
--interval for --post-deploy (a FIRED one rolls back), then postdeploy validate. With
--journeys-url the synthetic journeys run at each stage (a stage promotes only once they
PASS) and after the post-deploy window.
Everything is in D/timeline.jsonl (one JSON object a line).

Actuators run without a shell: the template is split like a shell would (quotes) and
{weight} (canary percent) and {stable_weight} (100 minus it) are replaced inside the
arguments. Examples:
  --set-weight 'kubectl argo rollouts set weight api {weight}' --rollback 'kubectl argo rollouts abort api'
  --set-weight 'kubectl -n prod annotate ingress api-canary --overwrite nginx.ingress.kubernetes.io/canary-weight={weight}'
  --set-weight './shift-traffic.sh {weight}' --rollback './shift-traffic.sh 0'"""

ROLLBACK_EPILOG = """\
exit codes: 0 rolled back; 1 the rollback actuator failed (retried once at once); 2 usage
(without --confirm nothing runs).

The actuator runs at once (no evaluation, no wait); the event is appended to D/timeline.jsonl
of the cutover run directory --out names (or a new directory), with the actuator's output in
D/actuators/ and the major-incident status update in D/status/."""


def register(csub: argparse._SubParsersAction[Any]) -> None:
    e = csub.add_parser(
        "execute",
        help="run the canary stages with auto-rollback and the post-deploy validation",
        description="Drive the canary ladder through actuator commands; judge every stage.",
        epilog=EXECUTE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    e.add_argument("--strategy", choices=["canary"], default="canary", help="only canary")
    e.add_argument("--stages", help="canary percents, e.g. 5,25,50,100 (default: the matrix's)")
    e.add_argument("--hold", help="minimum time at a stage (default: the matrix's cutover.hold)")
    e.add_argument("--interval", help="time between judgements (default 30s)")
    e.add_argument("--max-hold", help="HOLD this long at a stage rolls back (default 2x hold)")
    e.add_argument("--post-deploy", help="post-deploy window (default: the matrix's, 60m)")
    e.add_argument(
        "--auto-rollback", action="store_true", help="run --rollback when a rollback is due"
    )
    e.add_argument("--set-weight", metavar="'CMD {weight}'", help="set-weight actuator")
    e.add_argument("--rollback", metavar="'CMD'", help="rollback actuator")
    e.add_argument("--prom-url", help=f"Prometheus base URL (default: ${ENV_PROM_URL})")
    e.add_argument("--out", type=Path, metavar="D", help="new run directory of the cutover")
    e.add_argument("--resume", type=Path, metavar="D", help="continue a recorded cutover")
    e.add_argument("--matrix", type=Path, help="matrix YAML (default: the one shipped)")
    e.add_argument("--status-hook", metavar="'CMD {file}'", help="run for every status update")
    e.add_argument("--evidence", type=Path, metavar="DIR", help="documents for the preflight")
    e.add_argument(
        "--k6", type=Path, action="append", metavar="FILE", help="k6 results (preflight)"
    )
    e.add_argument("--trust", type=Path, metavar="DIR", help="trust anchors (preflight)")
    e.add_argument(
        "--key",
        type=Path,
        metavar="PRIV.pem",
        help="signs D/bundle (or $IGKIT_SIGNING_KEY); none: ephemeral, untrusted",
    )
    e.add_argument(
        "--journeys-url",
        metavar="URL",
        help="run the synthetic journeys (igkit journeys run) against URL at each stage and "
        "after the post-deploy window; a stage promotes only once they PASS",
    )
    e.add_argument("--journeys-vus", default="2", help="journeys virtual users (default 2)")
    e.add_argument("--journeys-duration", default="10s", help="journeys run length (default 10s)")
    e.add_argument(
        "--actuator-timeout", default="300", help="seconds an actuator may take (default 300)"
    )
    e.add_argument("--timeout", default="30", help="seconds per HTTP request (default 30)")

    r = csub.add_parser(
        "rollback",
        help="roll back now through the rollback actuator",
        description="Run the rollback actuator at once and record it.",
        epilog=ROLLBACK_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    r.add_argument("--to", choices=["last-stable"], required=True, help="only last-stable")
    r.add_argument("--confirm", action="store_true", help="required: this changes production")
    r.add_argument("--rollback", required=True, metavar="'CMD'", help="rollback actuator")
    r.add_argument("--out", type=Path, metavar="D", help="the cutover's run directory (or new)")
    r.add_argument("--status-hook", metavar="'CMD {file}'", help="run for the status update")
    r.add_argument("--evidence", type=Path, metavar="DIR", help="comms templates (G8)")
    r.add_argument("--matrix", type=Path, help="matrix YAML (default: the one shipped)")
    r.add_argument("--actuator-timeout", default="300", help="seconds the actuator may take")


def _stages(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        stages = [int(p.strip(), 10) for p in text.split(",")]
    except ValueError:
        raise ConfigError(
            f"not a comma-separated list of percents: {text!r}", where="--stages"
        ) from None
    return stages


def _duration(text: str | None, flag: str) -> Any:
    return None if text is None else duration_flag(text, flag)


def execute(args: argparse.Namespace) -> int:
    from igkit.conductor.clock import Stop, stop_on_signals
    from igkit.conductor.start import ExecuteOptions, execute

    url = args.prom_url or os.environ.get(ENV_PROM_URL) or None
    options = ExecuteOptions(
        out=args.out,
        resume=args.resume,
        stages=_stages(args.stages),
        hold=_duration(args.hold, "--hold"),
        interval=_duration(args.interval, "--interval"),
        max_hold=_duration(args.max_hold, "--max-hold"),
        post_deploy=_duration(args.post_deploy, "--post-deploy"),
        auto_rollback=args.auto_rollback,
        set_weight=args.set_weight,
        rollback=args.rollback,
        prom_url=url,
        matrix=args.matrix,
        evidence=args.evidence,
        k6_files=args.k6 or [],
        trust=args.trust,
        status_hook=args.status_hook,
        actuator_timeout=seconds_flag(args.actuator_timeout, "--actuator-timeout"),
        timeout=seconds_flag(args.timeout, "--timeout"),
        key=args.key,
        journeys_url=args.journeys_url,
        journeys_vus=count_flag(args.journeys_vus, "--journeys-vus", maximum=1000) or 2,
        journeys_duration=duration_flag(args.journeys_duration, "--journeys-duration"),
    )
    stop = Stop()
    with stop_on_signals(stop):
        return execute(options, stop=stop, emit=lambda line: print(line, flush=True))


def rollback(args: argparse.Namespace) -> int:
    from igkit.conductor.rollback import RollbackOptions, rollback

    options = RollbackOptions(
        rollback=args.rollback,
        confirm=args.confirm,
        to=args.to,
        out=args.out,
        status_hook=args.status_hook,
        evidence=args.evidence,
        matrix=args.matrix,
        actuator_timeout=seconds_flag(args.actuator_timeout, "--actuator-timeout"),
    )
    return rollback(options)
