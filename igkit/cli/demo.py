"""``igkit demo``: evaluate every gate from the sample snapshots shipped with igkit."""

from __future__ import annotations

import argparse
from pathlib import Path

from igkit.cli.common import P


def register(sub: argparse._SubParsersAction[P], parser_class: type[P]) -> None:
    d = sub.add_parser("demo", help="evaluate G1–G8 from the sample snapshots shipped with igkit")
    d.add_argument(
        "--out",
        type=Path,
        default=Path("reports/demo"),
        metavar="DIR",
        help="output directory, emptied first (default: reports/demo)",
    )
    d.add_argument(
        "--no-notebooks", action="store_true", help="skip notebooks, reports and the bundle"
    )


def _cmd_demo(args: argparse.Namespace) -> int:
    from igkit.rundir import owned

    with owned(args.out, fresh=True):  # an earlier demo's outputs go: it always starts afresh
        return _demo(args)


def _demo(args: argparse.Namespace) -> int:
    import sys

    from igkit.bundle.keys import ephemeral_key
    from igkit.cli.progress import Progress
    from igkit.demo import demo_trust_dir, run_demo
    from igkit.errors import EXIT_TOOL
    from igkit.report.publish import (
        ReportError,
        render_and_bundle,
        render_notebooks,
        report_failures,
    )
    from igkit.report.table import render_table

    run = run_demo(args.out)
    print(render_table(run), flush=True)  # the decision first: reports take a while
    progress = Progress()
    bundle = None
    failures: dict[str, str] = {}
    if not args.no_notebooks:
        progress.phase("notebooks")
        failures = report_failures(
            render_notebooks(
                args.out,
                run,
                matrix=None,
                workers=None,
                trust=demo_trust_dir(),
                progress=progress.enabled,
            )
        )
        bundle = render_and_bundle(
            args.out,
            ephemeral_key(),
            trust=demo_trust_dir(),
            failures=failures,
            on_phase=progress.phase,
        )
    print(f"\ndemo evaluated the shipped sample snapshots; outputs in {args.out}/")
    if failures:
        print(f"igkit: error: {ReportError(failures, run.decision)}", file=sys.stderr)
        return EXIT_TOOL
    if bundle is not None:
        print(
            f"evidence bundle: {bundle} (reports in {args.out / 'reports'}), signed with an UNTRUSTED demo key "
            f"whose public half is {args.out / 'demo-key.pub.pem'}\n"
            f"check it: igkit bundle verify {bundle} --key {args.out / 'demo-key.pub.pem'} --replay"
        )
    return 0


def run(args: argparse.Namespace) -> int:
    return _cmd_demo(args)
