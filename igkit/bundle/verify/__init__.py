"""``igkit bundle verify``: check an evidence bundle offline, every step a :class:`Check`.

Steps: layout (no symlinks, no special files; for a tar: only regular files and dirs under one
top directory, no absolute or ``..`` names), the ``manifest-sha256.txt`` list (safe paths, no
duplicates, every hash, no missing and no extra file), the signature of that list, the DSSE
in-toto attestation (signature, subjects = the listed files), ``manifest.json`` (signature,
agreement with ``verdicts.json``), PDF signatures (pyHanko), and with ``replay`` a
re-evaluation of every gate from the bundled snapshots and matrix.

The signature key is ``--key`` when given; otherwise the bundle's own ``signing-key.pub.pem``,
which only proves the files are unchanged since someone signed them - a note says so.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from igkit.archive import ArchiveLimits
from igkit.bundle.build import HASHES
from igkit.bundle.verify.cutover import is_cutover, replay_cutover, verify_cutover
from igkit.bundle.verify.layout import extract, walk
from igkit.bundle.verify.manifest import check_attestation, check_manifest, hash_list
from igkit.bundle.verify.pdfs import check_pdfs
from igkit.bundle.verify.replay import check_replay
from igkit.bundle.verify.result import (
    SELF_ASSERTED_CERT,
    SELF_ASSERTED_KEY,
    TRUSTED,
    UNTRUSTED_DEMO,
    VerifyResult,
)
from igkit.bundle.verify.signatures import check_signature, who_signed
from igkit.errors import ConfigError
from igkit.judge.evidence.checks import failed
from igkit.judge.evidence.keys import PublicKey, load_public_key_file
from igkit.strictdoc import load_json

__all__ = [
    "SELF_ASSERTED_CERT",
    "SELF_ASSERTED_KEY",
    "TRUSTED",
    "UNTRUSTED_DEMO",
    "ArchiveLimits",
    "VerifyResult",
    "verify_bundle",
    "verify_with_public_key",
]


def verify_bundle(
    path: Path,
    *,
    key: Path | None = None,
    replay: bool = False,
    limits: ArchiveLimits | None = None,
    trust: Path | None = None,
) -> VerifyResult:
    """Verify a bundle directory or ``.tar.gz``; ConfigError for usage problems only."""
    trusted_key = load_public_key_file(key, "--key") if key is not None else None
    if path.is_symlink():
        result = VerifyResult(key_given=key is not None)
        result.checks.append(failed("layout", "the bundle path itself is a symlink"))
        return result
    if path.is_dir():
        return _verify_dir(
            path, trusted_key, replay, VerifyResult(key_given=key is not None), trust
        )
    if path.is_file() and path.name.endswith((".tar.gz", ".tgz")):
        with tempfile.TemporaryDirectory(prefix="igkit-bundle-") as tmp:
            result = VerifyResult(key_given=key is not None)
            root = extract(path, Path(tmp), result, limits)
            if root is None:
                return result
            return _verify_dir(root, trusted_key, replay, result, trust)
    raise ConfigError("not a bundle directory or .tar.gz file", where=str(path))


def verify_with_public_key(bundle: Path, key: PublicKey) -> VerifyResult:
    """Verify a bundle directory against ``key`` (no replay): what ``build`` checks last."""
    return _verify_dir(bundle, key, False, VerifyResult(key_given=True))


def _verify_dir(
    bundle: Path,
    key: PublicKey | None,
    replay: bool,
    result: VerifyResult,
    trust: Path | None = None,
) -> VerifyResult:
    files = walk(bundle, result)
    listed = hash_list(bundle, files, result)
    used_key = check_signature(bundle, files, key, result)
    if is_cutover(files):
        return _verify_cutover(bundle, files, listed, used_key, key, replay, result, trust)
    verdicts: dict[str, Any] | None = None
    if "verdicts.json" in files:
        try:
            loaded = load_json(files["verdicts.json"].read_bytes(), where="verdicts.json")
            verdicts = loaded if isinstance(loaded, dict) else None
        except ValueError:
            verdicts = None
    check_attestation(files, listed, used_key, verdicts, result)
    manifest = check_manifest(files, used_key, verdicts, result)
    intact = result.ok
    if used_key is not None:
        who_signed(files, used_key, manifest, key is not None, result)
    check_pdfs(files, key, result)
    if replay and not intact:
        result.checks.append(
            failed(
                "replay",
                f"not run: {HASHES}, its signature or the files it lists did not verify, "
                "so the snapshots are not the signed ones",
            )
        )
    elif replay:
        check_replay(bundle, files, verdicts, result, trust=trust, own_key=key is None)
    return result


def _verify_cutover(
    bundle: Path,
    files: dict[str, Path],
    listed: dict[str, str] | None,
    used_key: PublicKey | None,
    key: PublicKey | None,
    replay: bool,
    result: VerifyResult,
    trust: Path | None,
) -> VerifyResult:
    """A cutover bundle (:mod:`igkit.bundle.verify.cutover`): the same integrity checks,
    the timeline instead of verdicts.json, and every judgement re-derived with ``replay``."""
    manifest, timeline = verify_cutover(bundle, files, listed, used_key, result)
    intact = result.ok
    if used_key is not None:
        who_signed(files, used_key, manifest, key is not None, result)
    check_pdfs(files, key, result)
    if replay and not intact:
        result.checks.append(
            failed(
                "replay",
                f"not run: {HASHES}, its signature, the manifest or the timeline did not verify",
            )
        )
    elif replay and timeline is not None:
        replay_cutover(bundle, files, manifest, timeline, result, trust=trust, own_key=key is None)
    return result
