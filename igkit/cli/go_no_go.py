"""``igkit go-no-go``: evaluate gates, write verdicts.json, junit.xml, snapshots/ (and
optionally notebooks, reports and the bundle)."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from igkit.cli.common import ENV_PROM_URL, EXIT_GO, EXIT_NO_GO, P
from igkit.errors import ConfigError

if TYPE_CHECKING:
    from igkit.bundle.keys import SigningKey
    from igkit.run import RunRequest
    from igkit.spec.loader import LoadedMatrix
    from igkit.verdicts import RunVerdicts


DESCRIPTION = """\
Decide whether a release may go to production. Every query of the selected gates is
fetched first and sealed as a snapshot (SHA-256), then each objective is judged offline
from the snapshots: PASS, FAIL, NO_DATA or ERROR; only PASS opens a gate. The decision
and the reasons are printed as soon as the evaluation is done; the gate notebooks, the
signed reports and the evidence bundle (--bundle) follow."""

EPILOG = """\
exit codes:
  0  GO, or PARTIAL (every evaluated gate passed, but not every gate of the matrix ran)
  1  NO-GO (a gate failed, has no data or could not be evaluated)
  2  usage or configuration error (bad flag, matrix, key, ...)
  3  tool error (an output could not be written, a report failed, an unexpected exception:
     one line on stderr naming the log that holds the traceback)
  4  HOLD (reserved)
  --watch: the code of the last evaluation's decision (one that could not run: 1);
  --until GO: 0 at the first GO

examples:
  # GA day: every gate, live, with the evidence and the k6 results; signed bundle
  IGKIT_PROM_URL=https://prom.example:9090 igkit go-no-go --validate-all \\
      --evidence release/ --k6 k6-results.json --bundle --out runs/ga

  # GA day: watch every gate every 30s until the decision is GO (Ctrl-C: summary)
  igkit go-no-go --validate-all --watch 30s --until GO --evidence release/ --out runs/watch

  # the latency gate for one tenant on a plain Prometheus, at a past instant
  igkit go-no-go --gate G1 --prom-url http://localhost:9090 \\
      --select 'tenant="acme"' --at 2025-06-20T14:00:00Z --out runs/g1-acme
"""


def register(sub: argparse._SubParsersAction[P], parser_class: type[P]) -> None:
    g = sub.add_parser(
        "go-no-go",
        help="evaluate gates and write verdicts.json, junit.xml, snapshots/",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    which = g.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--validate-all", action="store_true", help="evaluate every gate in the matrix"
    )
    which.add_argument(
        "--gate", action="append", metavar="ID", help="evaluate this gate (repeatable)"
    )
    g.add_argument("--matrix", type=Path, help="matrix YAML (default: the one shipped with igkit)")
    g.add_argument("--prom-url", help=f"Prometheus base URL (default: ${ENV_PROM_URL})")
    g.add_argument("--tenant", help="tenant id sent as X-Scope-OrgID (Mimir/Cortex)")
    g.add_argument("--at", help="evaluation time, RFC3339 or unix seconds (default: now)")
    g.add_argument(
        "--select",
        metavar="MATCHERS",
        help='label matchers added to every selector of every query, e.g. tenant="acme" '
        "(validated; recorded in the snapshots and verdicts.json; a replay uses the recorded "
        "ones). Unlike --tenant (the X-Scope-OrgID header of Mimir/Cortex) it filters series "
        "on a plain Prometheus",
    )
    g.add_argument(
        "--window",
        metavar="DURATION",
        help="replace every step rule's window, e.g. 30m (recorded in the run, like --select)",
    )
    g.add_argument(
        "--replay",
        type=Path,
        metavar="DIR",
        help="evaluate from a previous run's snapshots, offline",
    )
    g.add_argument(
        "--evidence",
        type=Path,
        metavar="DIR",
        help="release file, attestations, SBOMs, policy bundles, drill report, approvals, comms: "
        "the documents the matrix's evidence objectives read",
    )
    g.add_argument(
        "--trust",
        type=Path,
        metavar="DIR",
        help="trust anchors (public keys, Sigstore trusted roots, HMAC secret files) the matrix "
        "names; default $IGKIT_TRUST_DIR, then beside the matrix file; never --evidence",
    )
    g.add_argument(
        "--k6",
        type=Path,
        action="append",
        metavar="FILE",
        help="k6 results for G5: --out json NDJSON or --out csv (plain or .gz), or a summary JSON",
    )
    g.add_argument(
        "--timeout", default="30", help="seconds per HTTP request (default 30, at most 86400)"
    )
    g.add_argument("--out", type=Path, required=True, metavar="DIR", help="output directory")
    g.add_argument("--quiet", action="store_true", help="print only the decision line")
    g.add_argument(
        "--no-notebooks",
        action="store_true",
        help="do not render the gate reports with the notebooks (the verdicts are the library's either way)",
    )
    g.add_argument(
        "--workers", default=None, help="parallel notebook kernels, 1-256 (default: cores)"
    )
    g.add_argument(
        "--bundle", action="store_true", help="render signed reports and write DIR/bundle"
    )
    g.add_argument(
        "--watch",
        metavar="INTERVAL",
        help="re-evaluate every INTERVAL (e.g. 30s, 1m; at least 1s), each evaluation live and "
        "replayable in OUT/evaluations/<UTC time>/, each appended to OUT/history.jsonl; print "
        "only what changed; SIGINT/SIGTERM stop with a summary and the last decision's exit code",
    )
    g.add_argument(
        "--until",
        choices=["GO"],
        help="with --watch: stop (exit 0) at the first GO",
    )
    g.add_argument(
        "--key",
        type=Path,
        metavar="PRIV.pem",
        help="signing key (or $IGKIT_SIGNING_KEY); none: ephemeral, untrusted",
    )


def _instant(text: str | None) -> datetime:
    from igkit.cli.common import instant_flag

    return instant_flag(text)


def _request(args: argparse.Namespace, gate_ids: list[str]) -> RunRequest:
    """The library request the flags describe (flags already checked)."""
    from igkit.cli.common import duration_flag
    from igkit.run import RunRequest

    prom_url = args.prom_url
    if args.replay is None and not prom_url:
        prom_url = os.environ.get(ENV_PROM_URL) or None
    return RunRequest(
        out=args.out,
        matrix=args.matrix,
        gates=gate_ids,
        at=_instant(args.at) if args.at is not None or args.replay is None else None,
        prom_url=prom_url,
        snapshot_dir=args.replay,
        tenant=args.tenant,
        select=args.select,
        window=duration_flag(args.window, "--window") if args.window is not None else None,
        k6_files=args.k6 or [],
        evidence_dir=args.evidence,
        trust_dir=args.trust,
        timeout=args.timeout,
    )


def _cmd_go_no_go(args: argparse.Namespace) -> int:
    from igkit.cli.common import count_flag, seconds_flag
    from igkit.run import gate_ids_of
    from igkit.rundir import check_apart, owned
    from igkit.spec.loader import load_matrix

    args.timeout = seconds_flag(args.timeout, "--timeout")
    args.workers = count_flag(args.workers, "--workers")
    if args.at is not None:
        _instant(args.at)  # a bad --at is a usage error before anything else
    if args.select is not None:
        from igkit.spec.selectors import parse_select

        parse_select(args.select)
    if args.replay is not None:
        check_apart(args.out, [args.replay], "--replay")
    loaded = load_matrix(args.matrix)
    gate_ids = gate_ids_of(loaded, None if args.validate_all else args.gate)
    if args.watch is not None:
        return _watch(args, loaded, gate_ids)
    if args.until is not None:
        raise ConfigError("stops a watch: give --watch INTERVAL too", where="--until")
    request = _request(args, gate_ids)
    with owned(args.out, fresh=True):
        return _go_no_go(args, loaded, request)


def _watch(args: argparse.Namespace, loaded: LoadedMatrix, gate_ids: list[str]) -> int:
    """``--watch``: live evaluations on an interval (no notebooks, no bundle: each would take
    minutes of every interval; render one from an evaluation's directory with --replay)."""
    from igkit.watch import Watch, parse_interval, stop_on_signals

    interval = parse_interval(args.watch)
    refused = {
        "--replay": (args.replay is not None, "a watch reads live data now"),
        "--at": (args.at is not None, "a watch reads live data now"),
        "--bundle": (args.bundle, "a watch writes no bundle; replay one evaluation directory"),
        "--key": (args.key is not None, "a watch signs nothing (it writes no bundle)"),
        "--workers": (args.workers is not None, "a watch renders no notebooks"),
    }
    for flag, (given, why) in refused.items():
        if given:
            raise ConfigError(f"not with --watch: {why}", where=flag)
    watch = Watch(
        loaded=loaded,
        request=_request(args, gate_ids),
        out=args.out,
        interval=interval,
        until=args.until,
        emit=lambda line: print(line, flush=True),
        on_warning=lambda w: print(f"igkit: warning: {w}", file=sys.stderr, flush=True),
    )
    if args.quiet:
        watch.emit = lambda line: None if line.startswith(" ") else print(line, flush=True)
    with stop_on_signals(watch):
        summary = watch.run()
    for line in summary.lines(watch.history):
        print(line, flush=True)
    return EXIT_GO if summary.last in ("GO", "PARTIAL") else EXIT_NO_GO


def _go_no_go(args: argparse.Namespace, loaded: LoadedMatrix, request: RunRequest) -> int:
    """Evaluate, print the decision at once (before notebooks, rendering and signing, which
    take minutes), then the later phases with progress on a terminal."""
    from igkit.report.publish import signing_key
    from igkit.report.table import render_table
    from igkit.run import MissingInput, run_loaded
    from igkit.trust import trust_dir_from

    if args.bundle and (args.out / "bundle").exists() and any((args.out / "bundle").iterdir()):
        raise ConfigError(
            "already holds a bundle that no earlier igkit run registered; remove it or choose "
            "another --out",
            where=str(args.out / "bundle"),
        )
    key = signing_key(args.key) if args.bundle else None  # a bad key fails before any work
    missing: list[MissingInput] = []
    run = run_loaded(
        request,
        loaded,
        on_warning=lambda w: print(f"igkit: warning: {w}", file=sys.stderr),
        on_missing=missing.append,
    )
    print(run.decision if args.quiet else render_table(run, missing=missing), flush=True)
    if not args.quiet:
        print(
            f"\nwrote {args.out / 'verdicts.json'}, {args.out / 'junit.xml'}, {args.out / 'snapshots'}/",
            flush=True,
        )
    run = _after_evaluation(run, args, run.scope.gates, trust_dir_from(args.trust), key)
    return EXIT_NO_GO if run.decision == "NO-GO" else EXIT_GO


NOTEBOOKS_BY_DEFAULT = True  # the test suite turns this off for speed, and tests both paths


def _after_evaluation(
    run: RunVerdicts,
    args: argparse.Namespace,
    gate_ids: list[str],
    trust_dir: Path | None = None,
    key: SigningKey | None = None,
) -> RunVerdicts:
    """Gate reports from the notebooks (unless --no-notebooks), then --bundle: signed reports
    and the sealed bundle. Returns ``run`` unchanged: the verdicts are the library's. A failed
    report raises :class:`~igkit.report.publish.ReportError` (exit 3, no bundle) after the
    reports are written."""
    from igkit.cli.progress import Progress
    from igkit.report.publish import (
        ReportError,
        render_and_bundle,
        render_notebooks,
        report_failures,
    )

    progress = Progress()
    failures: dict[str, str] = {}
    if NOTEBOOKS_BY_DEFAULT and not args.no_notebooks:
        progress.phase("notebooks")
        failures = report_failures(
            render_notebooks(
                args.out,
                run,
                matrix=args.matrix,
                workers=args.workers,
                trust=trust_dir,
                progress=progress.enabled,
            )
        )
    if key is not None:
        bundle = render_and_bundle(
            args.out,
            key,
            matrix=args.matrix,
            trust=trust_dir,
            failures=failures,
            on_phase=progress.phase,
        )
        if bundle is not None and not args.quiet:
            signer = f"with {key.source}" if key.trusted else "with an UNTRUSTED ephemeral key"
            public = "" if key.trusted else f"; public half: {args.out / 'demo-key.pub.pem'}"
            print(f"bundle {bundle} signed {signer}{public}")
    if failures:
        raise ReportError(failures, run.decision)
    return run


def run(args: argparse.Namespace) -> int:
    return _cmd_go_no_go(args)
