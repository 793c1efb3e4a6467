"""``igkit drill report FILE``: verify a DR drill report (gate G7) without a matrix.

Exit codes: 0 every check PASS, 1 otherwise, 2 usage or unreadable report (raised as
:class:`~igkit.errors.ConfigError` naming the file and field, or the flag).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from igkit.cli.common import P, dispatch, duration_flag, instant_flag, verb_group
from igkit.errors import ConfigError

EXIT_PASS, EXIT_FAIL = 0, 1


def register(sub: argparse._SubParsersAction[P], parser_class: type[P]) -> None:
    """Add ``drill report FILE [--rpo-target 5m] [--rto-target 60m] [--env prod]
    [--max-age 7d] [--at TIME]`` to ``sub`` (dispatch ``args.command == "drill"`` to
    :func:`run`)."""
    dsub = verb_group(
        sub, parser_class, "drill", "DR drill evidence (G7): verify a drill report offline"
    )
    r = dsub.add_parser(
        "report",
        help="check a drill report (JSON or YAML) against RPO/RTO targets",
        description="Check an `igctl drill rehearse` report: environment, freshness, "
        "timeline, steps, RPO, RTO and data verification.",
    )
    r.add_argument("file", type=Path, metavar="FILE", help="drill report, JSON or YAML")
    r.add_argument("--rpo-target", default="5m", help="maximum RPO (default 5m)")
    r.add_argument("--rto-target", default="60m", help="maximum RTO (default 60m)")
    r.add_argument("--env", default="prod", help="environment the drill must have run in")
    r.add_argument("--max-age", default="7d", help="oldest acceptable drill (default 7d)")
    r.add_argument("--at", help="evaluation time, RFC3339 or unix seconds (default: now)")


def run(args: argparse.Namespace) -> int:
    return dispatch(args, "drill", {"report": _report})


def _report(args: argparse.Namespace) -> int:
    """Print one line per check and a summary line; 0 when all PASS, else 1."""
    from igkit.judge.evidence.checks import combine
    from igkit.judge.evidence.drill import (
        DrillReportError,
        parse_drill_report,
        rpo_rto_summary,
        verify_drill,
    )
    from igkit.verdicts import Status

    rpo_target = duration_flag(args.rpo_target, "--rpo-target")
    rto_target = duration_flag(args.rto_target, "--rto-target")
    max_age = duration_flag(args.max_age, "--max-age")
    env = args.env.strip()
    if not env:
        raise ConfigError("give the environment the drill must have run in", where="--env")
    at = instant_flag(args.at)
    path = Path(args.file)
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"cannot read the drill report: {exc.strerror or exc}", where=str(path)
        ) from None
    try:
        report = parse_drill_report(content, name=str(path))
    except DrillReportError as exc:
        raise ConfigError(exc.message, where=str(path)) from None

    checks = verify_drill(
        report, rpo_target=rpo_target, rto_target=rto_target, env=env, max_age=max_age, at=at
    )
    for check in checks:
        print(check.line())
    status = combine(checks)
    bad = sum(not c.ok for c in checks)
    verdict = "all checks PASS" if status is Status.PASS else f"{bad} of {len(checks)} not PASS"
    print(
        f"G7 DR readiness: {status.value} — {rpo_rto_summary(report, rpo_target, rto_target)}; "
        f"drill {report.drill_id} in {report.env}; {verdict}"
    )
    return EXIT_PASS if status is Status.PASS else EXIT_FAIL
