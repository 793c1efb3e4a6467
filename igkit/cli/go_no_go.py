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
    from igkit.snapshots import EvidenceSnapshot, K6Snapshot, K6SummarySnapshot
    from igkit.spec.loader import LoadedMatrix
    from igkit.trust import TrustStore
    from igkit.verdicts import RunVerdicts


def register(sub: argparse._SubParsersAction[P], parser_class: type[P]) -> None:
    g = sub.add_parser(
        "go-no-go", help="evaluate gates and write verdicts.json, junit.xml, snapshots/"
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
        "--replay",
        type=Path,
        metavar="DIR",
        help="evaluate from a previous run's snapshots, offline",
    )
    g.add_argument(
        "--evidence",
        type=Path,
        metavar="DIR",
        help="release file, attestations, SBOMs, policy bundles, drill report, approvals (G3/G4/G7/G8)",
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
        help="skip executing the gate notebooks (the pure library path; same verdicts, faster)",
    )
    g.add_argument(
        "--workers", default=None, help="parallel notebook kernels, 1-256 (default: cores)"
    )
    g.add_argument(
        "--bundle", action="store_true", help="render signed reports and write DIR/bundle"
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


def _gate_ids(loaded: LoadedMatrix, requested: list[str] | None) -> list[str]:
    known = [g.id for g in loaded.matrix.gates]
    if not requested:
        return known
    ids = []
    for raw in requested:
        for part in raw.split(","):
            gid = part.strip().upper()
            if gid not in known:
                raise ConfigError(
                    f"unknown gate {part.strip()!r} (matrix has {', '.join(known)})", where="--gate"
                )
            if gid not in ids:
                ids.append(gid)
    return ids


def _cmd_go_no_go(args: argparse.Namespace) -> int:
    from igkit.cli.common import count_flag, seconds_flag
    from igkit.rundir import check_apart, owned
    from igkit.spec.loader import load_matrix

    args.timeout = seconds_flag(args.timeout, "--timeout")
    args.workers = count_flag(args.workers, "--workers")
    if args.at is not None:
        _instant(args.at)  # a bad --at is a usage error before anything else
    if args.replay is not None:
        check_apart(args.out, [args.replay], "--replay")
    loaded = load_matrix(args.matrix)
    gate_ids = _gate_ids(loaded, None if args.validate_all else args.gate)
    with owned(args.out, fresh=True):
        return _go_no_go(args, loaded, gate_ids)


def _go_no_go(args: argparse.Namespace, loaded: LoadedMatrix, gate_ids: list[str]) -> int:
    from igkit.report.table import render_table
    from igkit.run import go_no_go

    tenant = args.tenant
    trust_dir = _trust_dir(args.trust)
    # the replayed run is evidence too: an anchor inside it (e.g. beside a bundle's matrix) is not trusted
    trust = _trust_store(loaded, trust_dir, args.evidence or args.replay)
    if args.bundle and (args.out / "bundle").exists() and any((args.out / "bundle").iterdir()):
        raise ConfigError(
            "already holds a bundle that no earlier igkit run registered; remove it or choose "
            "another --out",
            where=str(args.out / "bundle"),
        )
    if args.k6 and "G5" not in gate_ids:
        raise ConfigError(
            "only G5 reads k6 files; add --gate G5 or use --validate-all", where="--k6"
        )
    if args.replay is not None:
        from igkit.sources.replay import ReplaySource

        if args.prom_url:
            raise ConfigError("--replay evaluates offline; drop --prom-url", where="--prom-url")
        if args.k6:
            raise ConfigError(
                "--replay reads the k6 window tables of the run; drop --k6", where="--k6"
            )
        if args.evidence:
            raise ConfigError(
                "--replay re-verifies the evidence captured in the run; drop --evidence",
                where="--evidence",
            )
        replay = ReplaySource(args.replay)
        for warning in replay.warnings:
            print(f"igkit: warning: --replay: {warning}", file=sys.stderr)
        index = replay.index
        at = _instant(args.at) if args.at else (index.evaluated_at if index else None)
        if at is None:
            raise ConfigError(
                "no snapshots/index.json to take the evaluation time from; pass --at",
                where=str(args.replay),
            )
        if tenant is None and index is not None:
            tenant = index.tenant
        run = go_no_go(
            loaded,
            gate_ids,
            at,
            replay,
            tenant=tenant,
            out=args.out,
            source_label=f"replay {replay.directory}",
            server=index.server if index else None,
            k6=replay.k6,
            evidence=replay.evidence,
            trust=trust,
        )
    else:
        from igkit.sources.prometheus import PrometheusSource

        url = args.prom_url or os.environ.get(ENV_PROM_URL)
        if not url:
            raise ConfigError(
                f"give --prom-url URL (or set {ENV_PROM_URL}), or --replay DIR", where="--prom-url"
            )
        prom = PrometheusSource(url, tenant=tenant, timeout=args.timeout)
        k6: list[K6Snapshot | K6SummarySnapshot] = []
        if args.k6:
            from igkit.sources.k6.windows import capture

            k6 = capture(args.k6, loaded.matrix.k6)
        run = go_no_go(
            loaded,
            gate_ids,
            _instant(args.at),
            prom,
            tenant=tenant,
            out=args.out,
            source_label=f"prometheus {prom.url}",
            server=prom.url,
            k6=k6,
            evidence=_capture_evidence(loaded, gate_ids, args.evidence),
            trust=trust,
        )
    run = _after_evaluation(run, args, gate_ids, trust_dir)
    print(run.decision if args.quiet else render_table(run))
    if not args.quiet:
        print(
            f"\nwrote {args.out / 'verdicts.json'}, {args.out / 'junit.xml'}, {args.out / 'snapshots'}/"
        )
    return EXIT_NO_GO if run.decision == "NO-GO" else EXIT_GO


NOTEBOOKS_BY_DEFAULT = True  # the test suite turns this off for speed, and tests both paths


def _trust_dir(flag: Path | None) -> Path | None:
    from igkit.trust import trust_dir_from

    return trust_dir_from(flag)


def _trust_store(loaded: LoadedMatrix, trust_dir: Path | None, evidence: Path | None) -> TrustStore:
    """The matrix's trust anchors from --trust / $IGKIT_TRUST_DIR / beside the matrix."""
    from igkit.trust import resolve_trust

    return resolve_trust(loaded, trust_dir=trust_dir, evidence_dir=evidence)


def _after_evaluation(
    run: RunVerdicts, args: argparse.Namespace, gate_ids: list[str], trust_dir: Path | None = None
) -> RunVerdicts:
    """Notebooks (unless --no-notebooks), then --bundle: reports and the sealed bundle."""
    from igkit.report.publish import render_and_bundle, run_notebooks, signing_key

    key = signing_key(args.key) if args.bundle else None  # a bad key fails before any work
    if NOTEBOOKS_BY_DEFAULT and not args.no_notebooks:
        run = run_notebooks(
            args.out, run, matrix=args.matrix, workers=args.workers, trust=trust_dir
        )
    if key is not None:
        bundle = render_and_bundle(args.out, key, matrix=args.matrix, trust=trust_dir)
        if not key.trusted:
            print(
                f"bundle {bundle} signed with an UNTRUSTED ephemeral key; public half: {args.out / 'demo-key.pub.pem'}"
            )
        else:
            print(f"bundle {bundle} signed with {key.source}")
    return run


def _capture_evidence(
    loaded: LoadedMatrix, gate_ids: list[str], evidence_dir: Path | None
) -> list[EvidenceSnapshot]:
    """Snapshot what every selected evidence objective reads (a missing dir is recorded too)."""
    from igkit.sources.evidence import capture_objective
    from igkit.spec.models import K6Objective, PrometheusObjective

    if evidence_dir is not None and not evidence_dir.is_dir():
        raise ConfigError(
            "evidence directory does not exist or is not a directory", where=str(evidence_dir)
        )
    return [
        capture_objective(gate.id, obj, evidence_dir)
        for gate in loaded.matrix.gates
        if gate.id in gate_ids
        for obj in gate.objectives
        if not isinstance(obj, PrometheusObjective | K6Objective)
    ]


def run(args: argparse.Namespace) -> int:
    return _cmd_go_no_go(args)
