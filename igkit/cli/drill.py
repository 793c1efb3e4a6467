"""``igkit drill report FILE``: verify a DR drill report offline.

The targets (RPO, RTO, environment, maximum age) come from explicit flags or from a drill
objective of ``--matrix``; igkit has no built-in target, so a target given by neither is a
usage error naming the flags. Exit codes: 0 every check PASS, 1 otherwise, 2 usage or unreadable report (raised as
:class:`~igkit.errors.ConfigError` naming the file and field, or the flag).
"""

from __future__ import annotations

import argparse
from datetime import timedelta
from pathlib import Path

from igkit.cli.common import P, dispatch, duration_flag, instant_flag, matrix_objective, verb_group
from igkit.errors import ConfigError

EXIT_PASS, EXIT_FAIL = 0, 1


def register(sub: argparse._SubParsersAction[P], parser_class: type[P]) -> None:
    """Add ``drill report FILE [--matrix FILE [--objective GATE/NAME]] [--rpo-target D]
    [--rto-target D] [--env ENV] [--max-age D] [--at TIME]`` to ``sub`` (dispatch
    ``args.command == "drill"`` to :func:`run`)."""
    dsub = verb_group(
        sub, parser_class, "drill", "DR drill evidence: verify a drill report offline"
    )
    r = dsub.add_parser(
        "report",
        help="check a drill report (JSON or YAML) against RPO/RTO targets",
        description="Check an `igctl drill rehearse` report: environment, freshness, "
        "timeline, steps, RPO, RTO and data verification.",
    )
    r.add_argument("file", type=Path, metavar="FILE", help="drill report, JSON or YAML")
    r.add_argument(
        "--matrix",
        type=Path,
        metavar="FILE",
        help="take the targets from this matrix's drill objective (explicit flags win)",
    )
    r.add_argument(
        "--objective", metavar="GATE/NAME", help="which drill objective of --matrix, if several"
    )
    r.add_argument("--rpo-target", help="maximum RPO, e.g. 5m (default: the --matrix objective's)")
    r.add_argument("--rto-target", help="maximum RTO, e.g. 60m (default: the --matrix objective's)")
    r.add_argument("--env", help="environment the drill must have run in (default: --matrix's)")
    r.add_argument("--max-age", help="oldest acceptable drill, e.g. 7d (default: --matrix's)")
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
    from igkit.spec.models import DrillObjective
    from igkit.verdicts import Status

    found = matrix_objective(args.matrix, DrillObjective, "drill", args.objective)
    obj = found[1] if found is not None else None
    missing = [
        flag
        for flag, value in (
            ("--rpo-target", args.rpo_target),
            ("--rto-target", args.rto_target),
            ("--env", args.env),
            ("--max-age", args.max_age),
        )
        if value is None and obj is None
    ]
    if missing:
        raise ConfigError(
            f"required (igkit has no built-in drill target): give {', '.join(missing)}, or "
            "--matrix FILE with a drill objective",
            where=missing[0],
        )
    rpo_target = _target(args.rpo_target, "--rpo-target", obj.rpo_target if obj else None)
    rto_target = _target(args.rto_target, "--rto-target", obj.rto_target if obj else None)
    max_age = _target(args.max_age, "--max-age", obj.max_age if obj else None)
    env = (args.env if args.env is not None else obj.env if obj else "").strip()
    if not env:
        raise ConfigError("give the environment the drill must have run in", where="--env")
    title = f"{found[0].id} {found[0].name}" if found is not None else "DR readiness"
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
        f"{title}: {status.value} — {rpo_rto_summary(report, rpo_target, rto_target)}; "
        f"drill {report.drill_id} in {report.env}; {verdict}"
    )
    return EXIT_PASS if status is Status.PASS else EXIT_FAIL


def _target(flag_value: str | None, flag: str, from_matrix: timedelta | None) -> timedelta:
    """The flag's duration when given, else the matrix objective's (checked present above)."""
    if flag_value is not None:
        return duration_flag(flag_value, flag)
    if from_matrix is None:
        raise ConfigError("required (igkit has no built-in drill target)", where=flag)
    return from_matrix
