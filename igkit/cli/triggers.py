"""``igkit triggers check``: judge the matrix's auto-rollback triggers over a lookback.

Writes ``OUT/triggers.json`` (``evaluated_at``, ``lookback``, per trigger ``id``,
``status``, ``fired_at``, ``reasons``) and ``OUT/snapshots/`` (replayable with
``--replay OUT``). Exit codes: 0 every trigger QUIET; 1 any FIRED, NO_DATA or ERROR (an
unknown state is not safe to promote); 2 usage/config; 3 tool error.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from igkit.cli.common import (
    ENV_PROM_URL,
    EXIT_GO,
    EXIT_NO_GO,
    P,
    dispatch,
    duration_flag,
    instant_flag,
    seconds_flag,
    verb_group,
)
from igkit.errors import ConfigError


def register(sub: argparse._SubParsersAction[P], parser_class: type[P]) -> None:
    """Add ``triggers check`` and ``triggers rules`` to ``sub``."""
    tsub = verb_group(sub, parser_class, "triggers", "auto-rollback triggers (seed §7)")
    c = tsub.add_parser(
        "check",
        help="judge every trigger over a lookback: exit 0 all QUIET, 1 otherwise",
        description="Capture each trigger condition's range, judge it with Prometheus "
        "alerting semantics (fires once held for the whole `for`), write triggers.json and "
        "snapshots/. A trigger that fired anywhere in the lookback is FIRED.",
    )
    c.add_argument("--matrix", type=Path, help="matrix YAML (default: the one shipped with igkit)")
    c.add_argument("--prom-url", help=f"Prometheus base URL (default: ${ENV_PROM_URL})")
    c.add_argument(
        "--at",
        help="evaluation time, RFC3339 or unix seconds (default: now; replay: the recorded time)",
    )
    c.add_argument("--lookback", default="60m", help="how far back a fire counts (default 60m)")
    c.add_argument("--trigger", action="append", metavar="ID", help="only this trigger (repeat)")
    c.add_argument("--out", type=Path, required=True, help="output directory")
    c.add_argument("--replay", type=Path, metavar="DIR", help="judge an earlier run's snapshots")
    c.add_argument(
        "--timeout", default="30", help="seconds per HTTP request (default 30, at most 86400)"
    )
    from igkit.cli.triggers_rules import register_rules

    register_rules(tsub)


def run(args: argparse.Namespace) -> int:
    from igkit.cli.triggers_rules import cmd_rules

    return dispatch(args, "triggers", {"check": _check, "rules": cmd_rules})


def _check(args: argparse.Namespace) -> int:
    from igkit.rundir import check_apart
    from igkit.sources import Source
    from igkit.spec.loader import load_matrix
    from igkit.triggers import check_triggers

    loaded = load_matrix(args.matrix)
    lookback = duration_flag(args.lookback, "--lookback")
    timeout = seconds_flag(args.timeout, "--timeout")
    source: Source
    if args.replay is not None:
        from igkit.sources.replay import ReplaySource

        if args.prom_url:
            raise ConfigError("--replay evaluates offline; drop --prom-url", where="--prom-url")
        check_apart(args.out, [args.replay], "--replay")
        replay = ReplaySource(args.replay)
        for warning in replay.warnings:
            print(f"igkit: warning: --replay: {warning}")
        recorded = replay.index.evaluated_at if replay.index else None
        at = instant_flag(args.at) if args.at is not None else recorded
        if at is None:
            raise ConfigError("no recorded evaluation time; pass --at", where="--replay")
        source, server = replay, replay.index.server if replay.index else None
    else:
        from igkit.sources.prometheus import PrometheusSource

        url = args.prom_url or os.environ.get(ENV_PROM_URL)
        if not url:
            raise ConfigError(
                f"give --prom-url URL (or set {ENV_PROM_URL}), or --replay DIR", where="--prom-url"
            )
        prom = PrometheusSource(url, timeout=timeout)
        source, server, at = prom, prom.url, instant_flag(args.at)
    result = check_triggers(
        loaded, source, at, lookback, out=args.out, server=server, trigger_ids=args.trigger
    )
    for v in result.verdicts:
        when = f" at {v.model_dump(mode='json')['fired_at']}" if v.fired_at else ""
        print(f"{v.id}: {v.status.value}{when}")
        for reason in v.reasons:
            print(f"  {reason}")
    return EXIT_GO if result.quiet else EXIT_NO_GO
