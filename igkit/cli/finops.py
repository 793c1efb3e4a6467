"""``igkit finops burn`` (budget figures and the downshift tier, from Prometheus or a FOCUS
export) and ``igkit finops verify-tier`` (do core flows stay green at tier N)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from igkit.cli.common import (
    ENV_PROM_URL,
    EXIT_GO,
    EXIT_NO_GO,
    P,
    count_flag,
    dispatch,
    duration_flag,
    instant_flag,
    seconds_flag,
    verb_group,
)
from igkit.errors import ConfigError

BURN_EPILOG = """\
exit codes: 0 every budget's figures are known, 1 a budget's figures are NO_DATA or ERROR
(its spend or projection unknown: the ladder then stands at tier 6, fail closed) or the
unallocated share is over finops.unallocated_max_share, 2 usage or configuration, 3 tool error

The tier is not an exit code: read it from the table or from the JSON (ladder.tier).
Per budget: month-to-date, budget, share, the linear and the run-rate month-end projections,
which one drives the ladder (finops.projection), the tier and what triggered it. Budgets are
the matrix's budget_burn objectives; thresholds, tier names and actions its cost_ladder.

--prom-url captures the G6 budget ranges exactly as go-no-go plans them (month start .. --at)
and judges each with the G6 rule, so the figures are the gate's; --focus reads a FOCUS CSV
export with the matrix's finops section (currency, allocation, amortization, tax)."""

VERIFY_EPILOG = """\
exit codes: 0 core flows stayed green, 1 not green (FAIL, NO_DATA or ERROR), 2 usage or
configuration, 3 tool error (k6 missing, a write failed)

Put the system at tier N (apply the tier's actions from the matrix's cost_ladder) first. Then
--journeys-base-url runs the matrix's synthetic journeys (igkit journeys run; the password
from the environment variable the objective names), or --k6-script runs your k6 script with
the pinned k6 (IGKIT_TIER and IGKIT_TIER_NAME in its environment): green only when it made
checks and every check and k6 threshold held. Writes OUT/verify-tier.json (tier, name,
actions, verdict, SHA-256 of every file it was decided from) beside the k6 outputs; use one
OUT per tier."""


def register(sub: argparse._SubParsersAction[P], parser_class: type[P]) -> None:
    """Add ``finops burn`` and ``finops verify-tier`` to ``sub``."""
    fsub = verb_group(sub, parser_class, "finops", "cost burn and the downshift ladder (seed §8)")
    b = fsub.add_parser(
        "burn",
        help="per budget: month-to-date, projections, the downshift tier and why",
        description="Budget figures and the downshift tier of the chosen matrix's cost_ladder.",
        epilog=BURN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    src = b.add_mutually_exclusive_group()
    src.add_argument("--prom-url", help=f"Prometheus base URL (default: ${ENV_PROM_URL})")
    src.add_argument("--focus", type=Path, metavar="FILE", help="a FOCUS 1.x cost export (CSV)")
    b.add_argument("--at", help="evaluation time, RFC3339 or unix seconds (default: now)")
    b.add_argument("--matrix", type=Path, help="matrix YAML (default: the one shipped with igkit)")
    b.add_argument(
        "--format",
        choices=("table", "json"),
        default="table",
        help="table for people (default), json for scripts (schema igkit.finops-burn/v1)",
    )
    b.add_argument(
        "--timeout", default="30", help="seconds per HTTP request (default 30, at most 86400)"
    )
    v = fsub.add_parser(
        "verify-tier",
        help="run synthetic requests at tier N and record whether core flows stayed green",
        description="Ladder verification (seed §8) as evidence: OUT/verify-tier.json.",
        epilog=VERIFY_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    v.add_argument("--tier", required=True, help="the tier the system is held at (0..6)")
    how = v.add_mutually_exclusive_group(required=True)
    how.add_argument("--journeys-base-url", metavar="URL", help="run the matrix's journeys here")
    how.add_argument("--k6-script", type=Path, metavar="PATH", help="run this k6 script")
    v.add_argument("--out", type=Path, required=True, help="output directory")
    v.add_argument("--matrix", type=Path, help="matrix YAML (default: the one shipped with igkit)")
    v.add_argument("--vus", default="2", help="journeys: virtual users (default 2)")
    v.add_argument("--duration", default="10s", help="journeys: how long (default 10s)")
    v.add_argument("--objective", metavar="GATE/NAME", help="journeys: which objective")
    v.add_argument("--timeout", default="600", help="k6 script: seconds it may run (default 600)")


def run(args: argparse.Namespace) -> int:
    return dispatch(args, "finops", {"burn": _burn, "verify-tier": _verify})


def _burn(args: argparse.Namespace) -> int:
    from igkit.finops.burn_report import burn_from_focus, burn_from_prometheus, render_table
    from igkit.spec.loader import load_matrix

    loaded = load_matrix(args.matrix)
    at = instant_flag(args.at)
    if args.focus is not None:
        if not args.focus.is_file():
            raise ConfigError("no such file", where=f"--focus {args.focus}")
        report = burn_from_focus(loaded, args.focus, at)
    else:
        url = args.prom_url or os.environ.get(ENV_PROM_URL)
        if not url:
            raise ConfigError(
                f"give --prom-url URL (or set {ENV_PROM_URL}), or --focus FILE", where="--prom-url"
            )
        timeout = seconds_flag(args.timeout, "--timeout")
        report = burn_from_prometheus(loaded, url, at, timeout=timeout)
    if args.format == "json":
        from igkit.atomic import json_bytes

        print(json_bytes(report.model_dump(mode="json", by_alias=True)).decode())
    else:
        print(render_table(report))
    return EXIT_GO if report.known else EXIT_NO_GO


def _tier_flag(text: str) -> int:
    try:
        tier = int(text.strip(), 10)
    except ValueError:
        raise ConfigError(f"not a whole number: {text!r}", where="--tier") from None
    if not 0 <= tier <= 6:
        raise ConfigError(f"must be a tier from 0 to 6, not {text!r}", where="--tier")
    return tier


def _verify(args: argparse.Namespace) -> int:
    from igkit.finops.verify_tier import verify_with_journeys, verify_with_script
    from igkit.spec.loader import load_matrix
    from igkit.verdicts import Status

    tier = _tier_flag(args.tier)
    loaded = load_matrix(args.matrix)
    if args.k6_script is not None:
        timeout = duration_flag(f"{seconds_flag(args.timeout, '--timeout'):g}s", "--timeout")
        result = verify_with_script(loaded, tier, args.k6_script, args.out, timeout=timeout)
    else:
        result = verify_with_journeys(
            loaded,
            tier,
            args.journeys_base_url,
            args.out,
            vus=count_flag(args.vus, "--vus", maximum=1000) or 2,
            duration=duration_flag(args.duration, "--duration"),
            objective=args.objective,
        )
    green = "core flows green" if result.green else "core flows NOT green"
    print(f"tier {result.tier} {result.name}: {result.status.value} — {green}")
    for reason in result.reasons:
        print(f"  {reason}")
    print(f"wrote {args.out / 'verify-tier.json'}")
    return EXIT_GO if result.status is Status.PASS else EXIT_NO_GO
