"""``igkit postdeploy validate``: the post-deploy window stayed green (seed §12, §14.4).

Exit codes: 0 PASS, 1 FAIL/NO_DATA/ERROR, 2 usage, 3 tool error."""

from __future__ import annotations

import argparse

from igkit.cli.common import (
    EXIT_GO,
    EXIT_NO_GO,
    P,
    dispatch,
    duration_flag,
    instant_flag,
    verb_group,
)
from igkit.cli.cutover import add_source_flags, prom_or_replay

EPILOG = """\
exit codes: 0 PASS, 1 FAIL, NO_DATA or ERROR, 2 usage or configuration, 3 tool error

PASS only when every Prometheus objective of the matrix's cutover.postdeploy gates and checks
is green over [--since, --since + --duration], every trigger stayed QUIET and every shard and
region present has at least min_tenants_per_shard tenants judged. Writes OUT/postdeploy.json,
OUT/gates/ (verdicts + snapshots) and OUT/triggers/; --replay OUT re-validates offline."""


def register(sub: argparse._SubParsersAction[P], parser_class: type[P]) -> None:
    psub = verb_group(sub, parser_class, "postdeploy", "validate the hour after the cutover")
    v = psub.add_parser(
        "validate",
        help="every post-deploy objective and trigger green over the window",
        description="Validate the post-deploy window; writes postdeploy.json.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    v.add_argument("--since", required=True, metavar="T0", help="start of the window (cutover)")
    v.add_argument("--duration", help="window length (default: the matrix's, 60m)")
    add_source_flags(
        v,
        replay="an earlier validation's --out",
        triggers="triggers.json of an igkit triggers check run at the window's end over it",
    )


def run(args: argparse.Namespace) -> int:
    return dispatch(args, "postdeploy", {"validate": _validate})


def _validate(args: argparse.Namespace) -> int:
    from igkit.cutover.postdeploy import PostdeployRequest, validate
    from igkit.spec.loader import load_matrix
    from igkit.verdicts import Status

    request = PostdeployRequest(
        since=instant_flag(args.since, "--since"),
        out=args.out,
        duration=duration_flag(args.duration, "--duration") if args.duration else None,
        prom_url=prom_or_replay(args),
        replay=args.replay,
        matrix=args.matrix,
        triggers=args.triggers,
    )
    verdict = validate(request, load_matrix(args.matrix))
    print(f"postdeploy {verdict.status.value}")
    for reason in verdict.reasons:
        print(f"  {reason}")
    return EXIT_GO if verdict.status == Status.PASS else EXIT_NO_GO
