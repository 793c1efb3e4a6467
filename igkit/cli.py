"""The ``igkit`` command line.

Exit codes: 0 GO, PARTIAL (every gate evaluated passed, but not every gate of the matrix was
evaluated) or command succeeded; 1 NO-GO; 2 usage/config error; 3 tool error (an output could
not be written, or an unexpected exception: one line on stderr naming a log file with the
traceback); 4 HOLD (reserved). Everything printed passes through :func:`igkit.redact.redact`.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TextIO

from igkit import __version__
from igkit.errors import ConfigError, IgkitError

if TYPE_CHECKING:  # imported where used: `igkit k6 summarize` should not pay for the rest
    from igkit.matrix.loader import LoadedMatrix
    from igkit.snapshots import EvidenceSnapshot, K6Snapshot, K6SummarySnapshot
    from igkit.trust import TrustStore
    from igkit.verdicts import RunVerdicts

EXIT_GO, EXIT_NO_GO, EXIT_USAGE, EXIT_TOOL, EXIT_HOLD = 0, 1, 2, 3, 4
ENV_PROM_URL = "IGKIT_PROM_URL"


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="igkit", description="Release go/no-go gates: snapshot, evaluate, prove.")
    p.add_argument("--version", action="version", version=f"igkit {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

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

    m = sub.add_parser("matrix", help="inspect or validate a go/no-go matrix (no network)")
    msub = m.add_subparsers(dest="matrix_command", required=True, parser_class=_Parser)
    msub.add_parser("schema", help="print the matrix JSON Schema (for editor validation)")
    show = msub.add_parser("show", help="print the resolved matrix as YAML")
    show.add_argument("--matrix", type=Path)
    val = msub.add_parser("validate", help="validate a matrix file and its queries")
    val.add_argument("--matrix", type=Path)

    k = sub.add_parser("k6", help="k6 result files")
    ksub = k.add_subparsers(dest="k6_command", required=True, parser_class=_Parser)
    ks = ksub.add_parser(
        "summarize", help="k6's end-of-test statistics, computed exactly as k6 does"
    )
    ks.add_argument(
        "file", type=Path, help="--out json NDJSON, --out csv (plain or .gz), or a summary JSON"
    )
    ks.add_argument("--format", choices=("table", "json"), default="table")
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

    from igkit import cli_attest, cli_bundle, cli_drill, cli_keys, cli_policy

    for module in (cli_attest, cli_policy, cli_drill, cli_bundle, cli_keys):
        module.register(sub, _Parser)

    d = sub.add_parser("demo", help="evaluate G1–G8 from the sample snapshots shipped with igkit")
    d.add_argument("--out", type=Path, default=Path("reports/demo"), metavar="DIR")
    d.add_argument(
        "--no-notebooks", action="store_true", help="skip notebooks, reports and the bundle"
    )
    return p


def _instant(text: str | None) -> datetime:
    from igkit.cliutil import instant_flag

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
    from igkit.cliutil import count_flag, seconds_flag
    from igkit.matrix.loader import load_matrix
    from igkit.rundir import check_apart, owned

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
    from igkit.reports.table import render_table
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
            from igkit.k6.windows import capture

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
    from igkit.pipeline import render_and_bundle, run_notebooks, signing_key

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
    from igkit.matrix.models import K6Objective, PrometheusObjective
    from igkit.sources.evidence import capture_objective

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


def _cmd_matrix(args: argparse.Namespace) -> int:
    import yaml

    from igkit.matrix.loader import load_matrix, matrix_json_schema

    if args.matrix_command == "schema":
        print(json.dumps(matrix_json_schema(), indent=2))
        return 0
    loaded = load_matrix(args.matrix)
    if args.matrix_command == "show":
        data = _resolved(loaded)
        print(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=120), end="")
        return 0
    objectives = sum(len(g.objectives) for g in loaded.matrix.gates)
    print(
        f"{loaded.source}: valid ({len(loaded.matrix.gates)} gates, {objectives} objectives, sha256 {loaded.sha256[:12]})"
    )
    return 0


def _resolved(loaded: LoadedMatrix) -> dict[str, object]:
    """The matrix with each Prometheus objective's effective settings and exact PromQL."""
    from igkit.matrix.models import PrometheusObjective, resolve_settings
    from igkit.plan import render_objective_query

    matrix = loaded.matrix
    data = matrix.model_dump(mode="json", by_alias=True, exclude_none=True)
    for g_data, gate in zip(data["gates"], matrix.gates, strict=True):
        for o_data, obj in zip(g_data["objectives"], gate.objectives, strict=True):
            if isinstance(obj, PrometheusObjective):
                settings = resolve_settings(obj, matrix.defaults)
                o_data["resolved"] = {
                    "promql": render_objective_query(obj, settings),
                    **settings.model_dump(mode="json"),
                }
    return data


def _cmd_k6(args: argparse.Namespace) -> int:
    from igkit.reports.k6 import render_summary, summarize_file

    result = summarize_file(args.file, by=args.by, strict=args.strict)
    if args.format == "json":
        from igkit.atomic import json_ready

        print(json.dumps(json_ready(result.export), indent=2, allow_nan=False))
    else:
        print(render_summary(result))
    for problem in result.problems:
        print(f"igkit: warning: {args.file}: {problem}", file=sys.stderr)
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from igkit.rundir import owned

    with owned(args.out, fresh=True):  # an earlier demo's outputs go: it always starts afresh
        return _demo(args)


def _demo(args: argparse.Namespace) -> int:
    from igkit.bundle.keys import ephemeral_key
    from igkit.demo import demo_trust_dir, run_demo
    from igkit.pipeline import render_and_bundle, run_notebooks
    from igkit.reports.table import render_table

    run = run_demo(args.out)
    if not args.no_notebooks:
        run = run_notebooks(args.out, run, matrix=None, workers=None, trust=demo_trust_dir())
        key = ephemeral_key()
        bundle = render_and_bundle(args.out, key, trust=demo_trust_dir())
    print(render_table(run))
    print(f"\ndemo evaluated the shipped sample snapshots; outputs in {args.out}/")
    if not args.no_notebooks:
        print(
            f"evidence bundle: {bundle} (reports in {args.out / 'reports'}), signed with an UNTRUSTED demo key "
            f"whose public half is {args.out / 'demo-key.pub.pem'}\n"
            f"check it: igkit bundle verify {bundle} --key {args.out / 'demo-key.pub.pem'} --replay"
        )
    return 0


def _lazy(module: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        import importlib

        handler: Callable[[argparse.Namespace], int] = importlib.import_module(module).run
        return handler(args)

    return run


class _Redacting(io.TextIOBase):
    """A text stream that redacts every configured secret before it reaches ``target``."""

    def __init__(self, target: TextIO) -> None:
        self.target = target

    def write(self, text: str) -> int:
        from igkit.redact import redact

        self.target.write(redact(text))
        return len(text)

    def flush(self) -> None:
        self.target.flush()

    def isatty(self) -> bool:
        return self.target.isatty()

    def fileno(self) -> int:
        return self.target.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.target, "encoding", "utf-8")


def _internal_error(exc: BaseException) -> int:
    """Exit 3 with one redacted line on stderr; the (redacted) traceback goes to a log file."""
    import tempfile
    import traceback

    from igkit.redact import redact

    text = redact("".join(traceback.format_exception(exc)))
    try:
        fd, log = tempfile.mkstemp(prefix="igkit-error-", suffix=".log")
        with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as fh:
            fh.write(text)
        where = f"traceback in {log}"
    except OSError as err:
        where = f"no traceback log: {err.strerror}"
    message = " ".join(str(exc).split())
    print(
        f"igkit: internal error: {type(exc).__name__}: {message} ({where})",
        file=sys.stderr,
    )
    return EXIT_TOOL


def main(argv: Sequence[str] | None = None) -> int:
    stdout, stderr = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _Redacting(stdout), _Redacting(stderr)
    try:
        return _main(argv)
    finally:
        sys.stdout, sys.stderr = stdout, stderr


def _main(argv: Sequence[str] | None) -> int:
    from igkit.atomic import OutputError
    from igkit.redact import check_secret_lengths

    args = _parser().parse_args(argv)
    handlers = {
        "go-no-go": _cmd_go_no_go,
        "matrix": _cmd_matrix,
        "k6": _cmd_k6,
        "demo": _cmd_demo,
        "attest": _lazy("igkit.cli_attest"),
        "policy": _lazy("igkit.cli_policy"),
        "drill": _lazy("igkit.cli_drill"),
        "bundle": _lazy("igkit.cli_bundle"),
        "keys": _lazy("igkit.cli_keys"),
    }
    try:
        check_secret_lengths()
        return handlers[args.command](args)
    except OutputError as exc:
        print(f"igkit: error: {exc}", file=sys.stderr)
        return EXIT_TOOL
    except ConfigError as exc:
        print(f"igkit: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except IgkitError as exc:
        print(f"igkit: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("igkit: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        return _internal_error(exc)


if __name__ == "__main__":
    sys.exit(main())
