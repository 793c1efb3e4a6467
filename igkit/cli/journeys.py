"""``igkit journeys run``: the synthetic user journeys (seed §12) against a live service.

Exit codes: 0 PASS, 1 FAIL/NO_DATA/ERROR, 2 usage, 3 tool error (k6 missing, a write failed)."""

from __future__ import annotations

import argparse
from pathlib import Path

from igkit.cli.common import EXIT_GO, EXIT_NO_GO, P, count_flag, dispatch, duration_flag, verb_group

EPILOG = """\
exit codes: 0 PASS, 1 FAIL, NO_DATA or ERROR, 2 usage or configuration, 3 tool error

Runs igkit's k6 journeys script (login -> query -> write -> 2-hop traverse in the shipped
matrix) with the pinned k6 binary. Endpoints, payloads and per-step p95 thresholds come from
the matrix's journeys objective; the login password only from the environment variable it
names (password_env, IGKIT_JOURNEY_PASSWORD in the shipped matrix). PASS only when every
step's checks passed, every step made min_iterations requests and every step's p95 is within
its threshold. Writes OUT/journeys.json, OUT/snapshots/journeys.json and OUT/k6/."""


def register(sub: argparse._SubParsersAction[P], parser_class: type[P]) -> None:
    jsub = verb_group(sub, parser_class, "journeys", "synthetic user journeys (k6)")
    r = jsub.add_parser(
        "run",
        help="run and judge the synthetic journeys against a service",
        description="Run the journeys script with k6 and judge it; writes journeys.json.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    r.add_argument("--base-url", required=True, metavar="URL", help="the service, e.g. https://api")
    r.add_argument("--vus", default="2", help="virtual users (default 2)")
    r.add_argument("--duration", default="10s", help="how long to run the journeys (default 10s)")
    r.add_argument("--matrix", type=Path, help="matrix YAML (default: the one shipped)")
    r.add_argument(
        "--objective", metavar="GATE/NAME", help="the journeys objective when there are several"
    )
    r.add_argument("--out", type=Path, required=True, help="output directory")


def run(args: argparse.Namespace) -> int:
    return dispatch(args, "journeys", {"run": _run})


def _run(args: argparse.Namespace) -> int:
    from igkit.journeys.run import JourneysRequest, run
    from igkit.spec.loader import load_matrix
    from igkit.verdicts import Status

    request = JourneysRequest(
        base_url=args.base_url,
        out=args.out,
        vus=count_flag(args.vus, "--vus", maximum=1000) or 2,
        duration=duration_flag(args.duration, "--duration"),
        objective=args.objective,
    )
    result = run(request, load_matrix(args.matrix))
    print(f"journeys {result.objective} {result.status.value}")
    for reason in result.verdict.reasons:
        print(f"  {reason}")
    return EXIT_GO if result.status == Status.PASS else EXIT_NO_GO
