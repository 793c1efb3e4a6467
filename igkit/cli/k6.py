"""``igkit k6 summarize``: k6's end-of-test statistics from a result file."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from igkit.cli.common import P, dispatch, verb_group


def register(sub: argparse._SubParsersAction[P], parser_class: type[P]) -> None:
    ksub = verb_group(sub, parser_class, "k6", "k6 result files")
    ks = ksub.add_parser(
        "summarize", help="k6's end-of-test statistics, computed exactly as k6 does"
    )
    ks.add_argument(
        "file", type=Path, help="--out json NDJSON, --out csv (plain or .gz), or a summary JSON"
    )
    ks.add_argument(
        "--format",
        choices=("table", "json"),
        default="table",
        help="table for people, json for tools (default: table)",
    )
    ks.add_argument(
        "--by",
        metavar="TAG",
        help="also split every metric by this tag (scenario, tenant, status...)",
    )
    ks.add_argument(
        "--strict",
        action="store_true",
        help="a malformed line is an error instead of being skipped",
    )


def _cmd_k6(args: argparse.Namespace) -> int:
    from igkit.report.k6 import render_summary, summarize_file

    result = summarize_file(args.file, by=args.by, strict=args.strict)
    if args.format == "json":
        from igkit.atomic import json_ready

        print(json.dumps(json_ready(result.export), indent=2, allow_nan=False))
    else:
        print(render_summary(result))
    for problem in result.problems:
        print(f"igkit: warning: {args.file}: {problem}", file=sys.stderr)
    return 0


def run(args: argparse.Namespace) -> int:
    return dispatch(args, "k6", {"summarize": _cmd_k6})
