"""``igkit attest verify``: check an artifact's SLSA provenance offline.

Flags follow slsa-verifier and cosign::

    igkit attest verify --artifact FILE --provenance FILE
        (--key PUB.pem [--key ...]
         | --certificate-identity ID --certificate-oidc-issuer URL [--trusted-root FILE])
        [--builder-id ID[=LEVEL] ...] [--source-uri URI] [--source-ref REF] [--min-slsa-level N]
        [--matrix FILE [--objective GATE/NAME]]

The policy numbers (minimum SLSA level, builders and their levels) come from explicit flags or
from an attestation objective of ``--matrix``; igkit has no built-in level, so without either
the command is a usage error naming what is missing.

Prints one line per check (``PASS signature: ...``) and a verdict line. :func:`run` returns 0
when every check passes and 1 otherwise; usage problems raise
:class:`~igkit.errors.ConfigError` (exit 2 in ``igkit.cli.main``). Nothing touches the network:
without ``--trusted-root`` keyless verification uses sigstore-python's production trusted
root in offline mode (its local copy, not refreshed).
"""

from __future__ import annotations

import argparse
import hashlib
from datetime import UTC, datetime
from pathlib import Path

from igkit.cli.common import P, dispatch, verb_group
from igkit.errors import ConfigError

EXIT_PASS, EXIT_FAIL = 0, 1
_MAX_LEVEL = 4


def register(sub: argparse._SubParsersAction[P], parser_class: type[P]) -> None:
    """Add ``attest`` (with its ``verify`` subcommand) to the igkit command parser."""
    asub = verb_group(sub, parser_class, "attest", "verify supply-chain attestations offline")
    v = asub.add_parser(
        "verify",
        help="verify an artifact's SLSA provenance (DSSE or Sigstore bundle), offline",
        description=(
            "Verify SLSA provenance for an artifact: signature (keys, or Sigstore keyless "
            "against a trusted root, offline), in-toto statement, subject digest, builder, "
            "SLSA level and source. Exit 0 when every check passes, 1 otherwise, 2 on usage errors."
        ),
    )
    v.add_argument("--artifact", type=Path, required=True, metavar="FILE", help="the artifact")
    v.add_argument(
        "--provenance",
        type=Path,
        required=True,
        metavar="FILE",
        help="DSSE envelope, .intoto.jsonl, or Sigstore bundle (.sigstore/.sigstore.json)",
    )
    v.add_argument(
        "--key",
        type=Path,
        action="append",
        metavar="PUB.pem",
        help="PEM public key allowed to sign (repeatable; ECDSA, Ed25519, RSA)",
    )
    v.add_argument(
        "--certificate-identity",
        metavar="ID",
        help="keyless: expected signing certificate SAN (e.g. a workflow URI@ref)",
    )
    v.add_argument(
        "--certificate-oidc-issuer",
        metavar="URL",
        help="keyless: expected OIDC issuer (e.g. https://token.actions.githubusercontent.com)",
    )
    v.add_argument(
        "--trusted-root",
        type=Path,
        metavar="FILE",
        help="keyless: Sigstore trusted_root.json (default: sigstore-python's production root, offline)",
    )
    v.add_argument(
        "--builder-id",
        action="append",
        metavar="ID[=LEVEL]",
        help=(
            "allowed builder.id (repeatable); without @ref any ref matches; "
            "LEVEL is its SLSA build level (without it: its level in --matrix, else the "
            "--min-slsa-level you require)"
        ),
    )
    v.add_argument("--source-uri", metavar="URI", help="e.g. github.com/org/repo")
    v.add_argument(
        "--source-ref", metavar="REF", help="e.g. refs/tags/v1.2.3, or the short v1.2.3 / main"
    )
    v.add_argument(
        "--min-slsa-level",
        type=int,
        metavar="N",
        help="minimum SLSA build level of the builder (default: the --matrix objective's)",
    )
    v.add_argument(
        "--matrix",
        type=Path,
        metavar="FILE",
        help="take builders, minimum SLSA level and source from this matrix's attestation "
        "objective (explicit flags win)",
    )
    v.add_argument(
        "--objective",
        metavar="GATE/NAME",
        help="which attestation objective of --matrix, when it has several",
    )


def run(args: argparse.Namespace) -> int:
    """Run ``igkit attest <command>``; 0 all checks pass, 1 otherwise."""
    return dispatch(args, "attest", {"verify": _verify})


def _verify(args: argparse.Namespace) -> int:
    from igkit.judge.evidence.provenance import ProvenancePolicy, verify_provenance

    artifact: Path = args.artifact
    sha256 = _sha256_of(artifact, "--artifact")
    provenance = _read(args.provenance, "--provenance")
    keys, identity, issuer, root = _signer(args)
    min_level, builders, source_uri, source_ref = _policy_numbers(args)
    policy = ProvenancePolicy(
        keys=keys,
        certificate_identity=identity,
        certificate_oidc_issuer=issuer,
        trusted_root=root,
        builders=builders,
        min_slsa_level=min_level,
        source_uri=source_uri,
        source_ref=source_ref,
    )
    checks = verify_provenance(
        artifact_name=artifact.name,
        artifact_sha256=sha256,
        provenance=provenance,
        policy=policy,
        at=datetime.now(tz=UTC),
    )
    how = (
        "trusted (key given by --key)"
        if keys
        else "trusted (identity and issuer given by --certificate-identity/"
        "--certificate-oidc-issuer, "
        + ("root by --trusted-root)" if root is not None else "sigstore's production root)")
    )
    for check in checks:
        detail = check.detail
        if check.name == "signature" and check.ok:
            detail = f"{detail}; {how}"
        print(f"{check.status.value} {check.name}: {detail}")
    bad = [c.name for c in checks if not c.ok]
    if checks and not bad:
        print(
            f"attest verify: PASS - {artifact.name} (sha256 {sha256}): all {len(checks)} checks pass"
        )
        return EXIT_PASS
    print(
        f"attest verify: FAIL - {artifact.name} (sha256 {sha256}): {len(bad)} of {len(checks)} "
        f"checks did not pass: {', '.join(bad) or 'nothing was checked'}"
    )
    return EXIT_FAIL


def _signer(args: argparse.Namespace) -> tuple[list[str], str | None, str | None, str | None]:
    """(PEM keys, identity, issuer, trusted root JSON) after checking the flags fit together."""
    from igkit.judge.evidence.keys import load_public_key_file
    from igkit.judge.evidence.provenance import load_trusted_root, production_trusted_root

    key_paths: list[Path] = args.key or []
    identity: str | None = args.certificate_identity
    issuer: str | None = args.certificate_oidc_issuer
    keyless = identity is not None or issuer is not None or args.trusted_root is not None
    if key_paths and keyless:
        raise ConfigError(
            "give either --key, or --certificate-identity/--certificate-oidc-issuer"
            "[/--trusted-root], not both",
            where="--key",
        )
    if key_paths:
        pems: list[str] = []
        for path in key_paths:
            load_public_key_file(path, "--key")
            pems.append(_read(path, "--key").decode("utf-8", errors="replace"))
        return pems, None, None, None
    if not keyless:
        raise ConfigError(
            "say who may sign: --key PUB.pem, or --certificate-identity ID "
            "--certificate-oidc-issuer URL",
            where="--key",
        )
    if not identity:
        raise ConfigError("required for keyless verification", where="--certificate-identity")
    if not issuer:
        raise ConfigError("required for keyless verification", where="--certificate-oidc-issuer")
    if args.trusted_root is None:
        try:
            production_trusted_root()
        except Exception as exc:
            raise ConfigError(
                f"sigstore-python has no offline production trusted root here ({exc}); "
                "pass --trusted-root FILE",
                where="--trusted-root",
            ) from None
        return [], identity, issuer, None
    text = _read(args.trusted_root, "--trusted-root").decode("utf-8", errors="replace")
    try:
        load_trusted_root(text)
    except ValueError as exc:
        raise ConfigError(f"{args.trusted_root}: {exc}", where="--trusted-root") from None
    return [], identity, issuer, text


def _policy_numbers(
    args: argparse.Namespace,
) -> tuple[int, dict[str, int], str | None, str | None]:
    """(minimum level, builder -> level, source uri, source ref): explicit flags first, then
    the ``--matrix`` attestation objective; no built-in number."""
    from igkit.cli.common import matrix_objective
    from igkit.spec.models import AttestationObjective

    found = matrix_objective(args.matrix, AttestationObjective, "attestation", args.objective)
    obj = found[1] if found is not None else None
    if args.min_slsa_level is not None:
        min_level = _level(args.min_slsa_level, "--min-slsa-level")
    elif obj is not None:
        min_level = obj.min_slsa_level
    else:
        raise ConfigError(
            "required: the minimum SLSA build level (igkit has no built-in one); give "
            "--min-slsa-level N, or --matrix FILE with an attestation objective",
            where="--min-slsa-level",
        )
    known = dict(obj.builders) if obj is not None else {}
    builders = _builders(args.builder_id, known, min_level) if args.builder_id else known
    source_uri = args.source_uri if args.source_uri is not None else obj and obj.source_uri
    source_ref = args.source_ref if args.source_ref is not None else obj and obj.source_ref
    return min_level, builders, source_uri or None, source_ref or None


def _builders(raw: list[str], known: dict[str, int], min_level: int) -> dict[str, int]:
    """``ID=LEVEL`` as given; a bare ``ID`` takes its level from the matrix, else it is trusted
    at the level the caller requires (naming a builder is trusting it, as in slsa-verifier)."""
    builders: dict[str, int] = {}
    for item in raw:
        ident, sep, level = item.strip().rpartition("=")
        if sep and level.strip().isdigit() and ident.strip():
            builders[ident.strip()] = _level(int(level), "--builder-id")
        else:
            if not item.strip():
                raise ConfigError("empty builder id", where="--builder-id")
            builders[item.strip()] = known.get(item.strip(), min_level)
    return builders


def _level(value: int, where: str) -> int:
    if not 0 <= value <= _MAX_LEVEL:
        raise ConfigError(f"SLSA build level must be 0..{_MAX_LEVEL}, not {value}", where=where)
    return value


def _read(path: Path, where: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}", where=where) from None


def _sha256_of(path: Path, where: str) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}", where=where) from None
    return digest.hexdigest()
