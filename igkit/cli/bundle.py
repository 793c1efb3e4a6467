"""``igkit bundle build|verify``: signed, self-verifying evidence bundles of a run.

    igkit bundle build RUN_DIR [--out BUNDLE_DIR] [--key PRIV.pem] [--release-tag TAG] [--tar] [--trust DIR]
    igkit bundle verify DIR|TAR.GZ [--key PUB.pem] [--replay] [--trust DIR]

``build`` exits 0 (or 2 on usage errors). ``verify`` prints one line per check, notes, who
signed and how that signer is trusted, then a verdict line. Exit 0 only when every check
passes *and* the signer was given by ``--key`` ("trusted (key given by --key)", or an
"UNTRUSTED demo key" the caller chose to check against); without ``--key`` an intact bundle
is only SELF-ASSERTED (anyone can re-sign a bundle with their own key): exit 1, like a
failed check; 2 on usage errors.
"""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path

from igkit.cli.common import P, dispatch, verb_group
from igkit.errors import ConfigError

EXIT_PASS, EXIT_FAIL = 0, 1


def register(sub: argparse._SubParsersAction[P], parser_class: type[P]) -> None:
    """Add ``bundle build`` and ``bundle verify`` (dispatch ``args.command == "bundle"``)."""
    bsub = verb_group(
        sub, parser_class, "bundle", "build or verify a signed evidence bundle of a run"
    )
    bb = bsub.add_parser(
        "build",
        help="copy a run into a signed bundle (hash list, signature, in-toto attestation)",
        description="Copy RUN_DIR's files into BUNDLE_DIR and write manifest.json, "
        "attestation.intoto.dsse.json, manifest-sha256.txt and manifest-sha256.txt.sig. "
        "The key is --key, else $IGKIT_SIGNING_KEY, else a throwaway untrusted demo key.",
    )
    bb.add_argument(
        "run_dir",
        type=Path,
        metavar="RUN_DIR",
        help="a go-no-go --out directory, or a cutover execute --out directory (e.g. an "
        "interrupted one, which execute does not seal)",
    )
    bb.add_argument("--out", type=Path, metavar="BUNDLE_DIR", help="default RUN_DIR/bundle")
    bb.add_argument("--key", type=Path, metavar="PRIV.pem", help="ECDSA P-256 private key")
    bb.add_argument(
        "--release-tag",
        metavar="TAG",
        help="default: the tag of the release file the attestation objective read",
    )
    bb.add_argument("--tar", action="store_true", help="also write a reproducible BUNDLE.tar.gz")
    bb.add_argument(
        "--trust",
        type=Path,
        metavar="DIR",
        help="copy the public trust anchors the matrix names into trust/ (default "
        "$IGKIT_TRUST_DIR; never secrets or private keys)",
    )
    bv = bsub.add_parser(
        "verify",
        help="verify a bundle directory or .tar.gz offline",
        description="Check every hash, no missing/extra file, no symlink or unsafe path, the "
        "signatures (manifest, attestation, manifest.json, PDFs) and, with --replay, "
        "re-evaluate every gate from the bundled snapshots.",
    )
    bv.add_argument(
        "bundle", type=Path, metavar="DIR|TAR.GZ", help="the bundle directory or its .tar.gz"
    )
    bv.add_argument(
        "--key", type=Path, metavar="PUB.pem", help="expected signer (default: the bundle's own)"
    )
    bv.add_argument("--replay", action="store_true", help="re-evaluate every gate and compare")
    bv.add_argument(
        "--trust",
        type=Path,
        metavar="DIR",
        help="trust anchors for --replay (default $IGKIT_TRUST_DIR, else the bundle's trust/, "
        "which only the bundle signature vouches for)",
    )


def run(args: argparse.Namespace) -> int:
    return dispatch(args, "bundle", {"build": _build, "verify": _verify})


def _run_of(run_dir: Path, bundle: Path) -> contextlib.AbstractContextManager[object]:
    """Hold the igkit run directory a bundle is built into (its lock; the files it registers),
    so that the next run into that directory removes the bundle too."""
    from igkit.rundir import MARKER, owned

    inside = bundle.resolve().is_relative_to(run_dir.resolve())
    if inside and (run_dir / MARKER).is_file():
        return owned(run_dir, fresh=False)
    return contextlib.nullcontext()


def _build(args: argparse.Namespace) -> int:
    from igkit.bundle.build import build_bundle
    from igkit.bundle.keys import load_signing_key
    from igkit.conductor.seal import is_cutover_run, seal
    from igkit.rundir import register_tree
    from igkit.trust import trust_dir_from

    key = load_signing_key(args.key)
    bundle = args.out if args.out is not None else args.run_dir / "bundle"
    build = seal if is_cutover_run(args.run_dir) else build_bundle
    with _run_of(args.run_dir, bundle):
        try:
            result = build(
                args.run_dir,
                out=args.out,
                key=key,
                release_tag=args.release_tag,
                tar=args.tar,
                trust_dir=trust_dir_from(args.trust),
            )
        finally:
            for written in (bundle, bundle.with_name(f"{bundle.name}.tar.gz")):
                register_tree(written)
            register_tree(bundle.with_name(f"{bundle.name}.demo-key.pub.pem"))
    for w in result.warnings:
        print(f"igkit: warning: {w}")
    m = result.manifest
    said = f"decision {m['decision']}" if "decision" in m else f"cutover outcome {m['outcome']}"
    print(
        f"bundle {result.bundle}: {len(result.files)} files, {said}, "
        f"release {m['releaseTag']}, signed by {result.key.fingerprint}"
    )
    if result.demo_public_key is not None:
        print(
            "WARNING: no signing key configured (--key or IGKIT_SIGNING_KEY): signed with an "
            f"untrusted demo key; its public key is {result.demo_public_key}"
        )
    if result.tar is not None:
        print(f"wrote {result.tar}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from igkit.bundle.verify import UNTRUSTED_DEMO, verify_bundle

    if not args.bundle.exists() and not args.bundle.is_symlink():
        raise ConfigError("no such bundle directory or archive", where=str(args.bundle))
    from igkit.trust import trust_dir_from

    trust = trust_dir_from(args.trust)
    result = verify_bundle(args.bundle, key=args.key, replay=args.replay, trust=trust)
    for check in result.checks:
        who = f"{check.subject}: " if check.subject else ""
        print(f"{check.status.value} {who}{check.name}: {check.detail}")
    for note in result.notes:
        print(f"note: {note}")
    if result.signer is not None:
        print(f"signer: {result.signer}: {result.trust}")
    n = len(result.checks)
    partial = " (PARTIAL RUN: not a release GO)" if result.partial else ""
    if not result.ok:
        bad = result.failures
        print(f"bundle verify: FAIL - {args.bundle}: {len(bad)} of {n} checks fail{partial}")
        return EXIT_FAIL
    if not result.key_given:
        print(
            f"bundle verify: SELF-ASSERTED - {args.bundle}: all {n} checks pass, but the signer "
            f"{result.signer} is {result.trust}: anyone can re-sign a bundle with a key of "
            f"their own. NOT verified as the release team's: pass --key with their public key.{partial}"
        )
        return EXIT_FAIL
    if result.trust == UNTRUSTED_DEMO:
        print(
            f"bundle verify: PASS (integrity only) - {args.bundle}: all {n} checks pass; signed "
            f"by {result.signer}: {UNTRUSTED_DEMO} - unchanged since signing, not release evidence{partial}"
        )
        return EXIT_PASS
    print(
        f"bundle verify: PASS - {args.bundle}: all {n} checks pass; signed by {result.signer}: "
        f"{result.trust}{partial}"
    )
    return EXIT_PASS
