"""``igkit policy verify-bundle DIR|TAR.GZ``: verify an OPA bundle's signature offline.

Flags follow ``opa build``/``opa run``: ``--verification-key``, ``--signing-alg``, ``--scope``,
``--exclude-files-verify``. Exit codes: 0 verified, 1 not verified (every failing check is
printed), 2 usage error raised as :class:`~igkit.errors.ConfigError` (missing bundle,
unreadable or unusable key, bad flag).
"""

from __future__ import annotations

import argparse
from datetime import timedelta
from pathlib import Path

from igkit.cli.common import P, dispatch, instant_flag, verb_group
from igkit.errors import ConfigError

EXIT_VERIFIED, EXIT_NOT_VERIFIED = 0, 1


def register(sub: argparse._SubParsersAction[P], parser_class: type[P]) -> None:
    """Add ``policy verify-bundle BUNDLE --verification-key FILE [--signing-alg RS256]
    [--scope S] [--exclude-files-verify GLOB ...] [--at TIME] [--max-clock-skew SECONDS]``
    to ``sub`` (dispatch ``args.command == "policy"`` to :func:`run`)."""
    from igkit.spec.models import SIGNING_ALGORITHMS

    psub = verb_group(sub, parser_class, "policy", "OPA policy bundles: verify signatures offline")
    v = psub.add_parser(
        "verify-bundle",
        help="verify a signed OPA bundle (directory or .tar.gz) as OPA would",
        description="Verify /.signatures.json of an OPA bundle: exactly one JWT, signed with "
        "the verification key under --signing-alg, scope, every file listed and every "
        "listed file present, digests (canonical JSON for data.json, data.yaml and "
        ".manifest), and the token's exp/nbf/iat at --at.",
    )
    v.add_argument("bundle", type=Path, metavar="DIR|TAR.GZ", help="bundle directory or archive")
    v.add_argument(
        "--verification-key",
        required=True,
        type=Path,
        metavar="FILE",
        help="PEM public key or certificate (RS*, PS*, ES*), or a file holding the HMAC "
        "secret (HS*; read verbatim as OPA reads it, a trailing newline included)",
    )
    v.add_argument(
        "--signing-alg",
        default="RS256",
        choices=SIGNING_ALGORITHMS,
        metavar="ALG",
        help=f"algorithm the token must use (default RS256; one of {', '.join(SIGNING_ALGORITHMS)})",
    )
    v.add_argument("--scope", help="scope the token must carry (default: none)")
    v.add_argument(
        "--exclude-files-verify",
        action="append",
        default=[],
        metavar="GLOB",
        help="skip files matching this Go filepath.Match glob on the bundle path "
        "(repeatable; comma-separated values allowed, as in opa)",
    )
    v.add_argument("--at", help="verification time, RFC3339 or unix seconds (default: now)")
    v.add_argument(
        "--max-clock-skew",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="tolerance for exp/nbf/iat (default 0)",
    )


def _read_key(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"cannot read: {exc.strerror or exc}", where=f"--verification-key {path}"
        ) from None
    # Bytes are kept exactly (an HMAC secret need not be UTF-8): surrogateescape round-trips.
    return data.decode("utf-8", "surrogateescape")


def run(args: argparse.Namespace) -> int:
    return dispatch(args, "policy", {"verify-bundle": _verify_bundle})


def _verify_bundle(args: argparse.Namespace) -> int:
    """Print one line per check and a summary line; 0 when all PASS, else 1."""
    from igkit.judge.evidence.checks import combine
    from igkit.judge.evidence.opa import (
        BundleError,
        check_verification_key,
        read_bundle,
        read_failure,
        summary,
        verify_bundle,
    )
    from igkit.verdicts import Status

    at = instant_flag(args.at)
    skew = float(args.max_clock_skew)
    if not skew >= 0 or skew == float("inf"):
        raise ConfigError("give a finite number of seconds >= 0", where="--max-clock-skew")
    excludes = [g for raw in args.exclude_files_verify for g in raw.split(",") if g]
    key_path = Path(args.verification_key)
    key = _read_key(key_path)
    try:
        described = check_verification_key(key, args.signing_alg)
    except ConfigError as exc:
        raise ConfigError(exc.message, where=f"--verification-key {key_path}") from None

    bundle = Path(args.bundle)
    if not bundle.exists():
        raise ConfigError("no such bundle directory or archive", where=str(bundle))
    try:
        files = read_bundle(bundle)
    except BundleError as exc:
        print(read_failure(exc, subject=str(bundle)).line())
        print(f"OPA bundle {bundle}: {exc.status.value} — not verified: the bundle was refused")
        return EXIT_NOT_VERIFIED
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror or exc}", where=str(bundle)) from None

    try:
        checks = verify_bundle(
            files=files,
            key=key,
            signing_alg=args.signing_alg,
            scope=args.scope,
            exclude_files=excludes,
            at=at,
            max_clock_skew=timedelta(seconds=skew),
        )
    except ConfigError as exc:
        where = "--exclude-files-verify" if exc.where == "exclude_files" else exc.where
        raise ConfigError(exc.message, where=where) from None
    for check in checks:
        if check.name == "jwt" and check.ok:
            check = check.model_copy(
                update={"detail": f"{check.detail}; trusted (key given by --verification-key)"}
            )
        print(check.line())
    status = combine(checks)
    print(
        f"OPA bundle {bundle}: {status.value} — {summary(checks)} "
        f"({args.signing_alg}, {described}, {len(files)} file(s))"
    )
    return EXIT_VERIFIED if status is Status.PASS else EXIT_NOT_VERIFIED
