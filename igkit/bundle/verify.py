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

import json
import re
import stat
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from igkit.bundle.build import (
    ATTESTATION,
    CERTIFICATE,
    DEMO_NOTICE,
    HASHES,
    HASHES_SIG,
    MANIFEST,
    MATRIX,
    PREDICATE_TYPE,
    PUBLIC_KEY,
    STATEMENT_TYPE,
    manifest_signing_bytes,
    safe_relpath,
)
from igkit.errors import ConfigError
from igkit.judge.evidence.checks import Check, error, failed, no_data, passed
from igkit.judge.evidence.dsse import DsseProblem, decode_b64, parse_envelope, verify_envelope
from igkit.judge.evidence.keys import (
    PublicKey,
    UnusableKeyError,
    fingerprint,
    load_public_key,
    load_public_key_file,
    verify_message,
)
from igkit.snapshots import sha256_file

_LINE = re.compile(r"^([0-9a-f]{64}) [ *](.+)$")


TRUSTED = "trusted (key given by --key)"
SELF_ASSERTED_CERT = "self-asserted (certificate inside the bundle)"
SELF_ASSERTED_KEY = "self-asserted (public key inside the bundle)"
UNTRUSTED_DEMO = "UNTRUSTED demo key"


@dataclass
class VerifyResult:
    """The checks, notes, who signed (``signer``: subject and key fingerprint) and how that
    signer came to be trusted (``trust``: one of the labels above). ``ok`` is integrity:
    every check passes; ``key_given`` says whether the signer was vouched for by ``--key``."""

    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    signer: str | None = None
    trust: str | None = None
    key_given: bool = False
    partial: bool = False

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]


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
            root = _extract(path, Path(tmp), result, limits)
            if root is None:
                return result
            return _verify_dir(root, trusted_key, replay, result, trust)
    raise ConfigError("not a bundle directory or .tar.gz file", where=str(path))


def verify_with_public_key(bundle: Path, key: PublicKey) -> VerifyResult:
    """Verify a bundle directory against ``key`` (no replay): what ``build`` checks last."""
    return _verify_dir(bundle, key, False, VerifyResult(key_given=True))


@dataclass(frozen=True)
class ArchiveLimits:
    """Bounds on a ``.tar.gz`` bundle: bytes after decompression, members, compression ratio
    (checked once ``ratio_after`` bytes are out). A bundle is a few MB of JSON, HTML, PDF."""

    max_bytes: int = 1 << 30
    max_members: int = 10_000
    max_ratio: float = 200.0
    ratio_after: int = 16 << 20


class _ArchiveLimitError(Exception):
    pass


class _BoundedReader:
    """Reads the decompressed tar stream in bounded chunks; raises past any limit, so a
    gzip bomb or a giant member header is refused before it fills memory or disk."""

    def __init__(self, raw: Any, gz: Any, limits: ArchiveLimits) -> None:
        self.raw, self.gz, self.limits, self.out = raw, gz, limits, 0

    def read(self, size: int = -1) -> bytes:
        chunk = 1 << 16 if size is None or size < 0 else min(size, 1 << 16)
        data: bytes = self.gz.read(chunk)
        self.out += len(data)
        lim = self.limits
        if self.out > lim.max_bytes:
            raise _ArchiveLimitError(f"more than {lim.max_bytes} bytes once decompressed")
        if self.out > lim.ratio_after and self.out > lim.max_ratio * max(self.raw.tell(), 1):
            raise _ArchiveLimitError(f"compression ratio above {lim.max_ratio:g}:1")
        return data


def _extract(
    archive: Path, dest: Path, result: VerifyResult, limits: ArchiveLimits | None = None
) -> Path | None:
    """Stream the archive once, extracting only safe members (regular files, dirs) within
    ``limits``; an unsafe member is a FAIL, a limit a FAIL "archive exceeds limits"."""
    import gzip
    import shutil
    import zlib

    lim = limits or ArchiveLimits()
    bad = count = 0
    tops: set[str] = set()
    try:
        with archive.open("rb") as raw, gzip.GzipFile(fileobj=raw, mode="rb") as gz:
            stream = _BoundedReader(raw, gz, lim)
            with tarfile.open(fileobj=stream, mode="r|") as tar:  # type: ignore[call-overload]
                for m in tar:
                    count += 1
                    if count > lim.max_members:
                        raise _ArchiveLimitError(f"more than {lim.max_members} members")
                    problem = safe_relpath(m.name.rstrip("/") if m.isdir() else m.name)
                    if problem is None and not (m.isfile() or m.isdir()):
                        problem = (
                            "symlink" if m.issym() else "hard link" if m.islnk() else "special file"
                        )
                    if problem:
                        bad += 1
                        result.checks.append(
                            failed("archive member", f"{m.name!r}: {problem}; not extracted")
                        )
                        continue
                    tops.add(PurePosixPath(m.name).parts[0])
                    target = dest.joinpath(*PurePosixPath(m.name).parts)
                    if m.isdir():
                        target.mkdir(parents=True, exist_ok=True)
                        continue
                    target.parent.mkdir(parents=True, exist_ok=True)
                    if target.exists():
                        bad += 1
                        result.checks.append(failed("archive member", f"{m.name!r}: appears twice"))
                        continue
                    fh = tar.extractfile(m)
                    if fh is None:
                        continue
                    with target.open("wb") as out:
                        shutil.copyfileobj(fh, out, 1 << 16)
    except _ArchiveLimitError as exc:
        result.checks.append(failed("archive", f"archive exceeds limits: {exc}; not extracted"))
        return None
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        result.checks.append(error("archive", f"cannot read {archive.name}: {exc}"))
        return None
    if len(tops) != 1 or not (dest / next(iter(tops))).is_dir():
        result.checks.append(failed("archive", f"expected one top directory, found {sorted(tops)}"))
        return None
    if not bad:
        result.checks.append(
            passed("archive", f"{count} safe member(s), top directory {next(iter(tops))}/")
        )
    return dest / next(iter(tops))


def _walk(bundle: Path, result: VerifyResult) -> dict[str, Path]:
    files: dict[str, Path] = {}
    bad = 0
    for p in sorted(bundle.rglob("*")):
        rel = p.relative_to(bundle).as_posix()
        mode = p.lstat().st_mode
        if stat.S_ISLNK(mode):
            bad += 1
            result.checks.append(failed("no symlinks", f"{rel} is a symlink"))
        elif stat.S_ISREG(mode):
            files[rel] = p
        elif not stat.S_ISDIR(mode):
            bad += 1
            result.checks.append(failed("layout", f"{rel} is not a regular file"))
    if not bad:
        result.checks.append(passed("layout", f"{len(files)} regular files, no symlinks"))
    return files


def _hash_list(bundle: Path, files: dict[str, Path], result: VerifyResult) -> dict[str, str] | None:
    """Parse manifest-sha256.txt and check every entry against the files; None if absent."""
    if HASHES not in files:
        result.checks.append(failed("hash list", f"{HASHES} is missing"))
        return None
    listed: dict[str, str] = {}
    problems = 0
    try:
        text = files[HASHES].read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        result.checks.append(failed("hash list", f"{HASHES} is not UTF-8 (byte {exc.start})"))
        return None
    if text and not text.endswith("\n"):
        problems += 1
        result.checks.append(failed("hash list", f"{HASHES} does not end with a line break"))
    # "\n" only: a file name may hold U+2028, U+0085... which str.splitlines() would split on
    lines = text.removesuffix("\n").split("\n") if text else []
    for n, raw in enumerate(lines, 1):
        m = _LINE.match(raw)
        if not m:
            problems += 1
            result.checks.append(
                failed("hash list", f"{HASHES} line {n} is not '<sha256>  <path>'")
            )
            continue
        digest, name = m.groups()
        if why := safe_relpath(name):
            problems += 1
            result.checks.append(failed("unsafe path", f"{HASHES} line {n}: {name!r}: {why}"))
            continue
        if name in listed:
            problems += 1
            result.checks.append(failed("hash list", f"{name} is listed twice"))
            continue
        listed[name] = digest
    for name, digest in listed.items():
        if name in (HASHES, HASHES_SIG):
            problems += 1
            result.checks.append(
                failed("hash list", f"{name} must not list itself or its signature")
            )
        elif name not in files:
            problems += 1
            result.checks.append(failed("missing file", f"{name} is listed but not in the bundle"))
        elif sha256_file(files[name]) != digest:
            problems += 1
            result.checks.append(failed("hash mismatch", f"{name}: content differs from {HASHES}"))
    for name in sorted(set(files) - set(listed) - {HASHES, HASHES_SIG}):
        problems += 1
        result.checks.append(failed("extra file", f"{name} is in the bundle but not in {HASHES}"))
    if not problems:
        result.checks.append(
            passed("hashes", f"all {len(listed)} files match {HASHES}, none missing, none extra")
        )
    return listed


def _signature(
    bundle: Path, files: dict[str, Path], key: PublicKey | None, result: VerifyResult
) -> PublicKey | None:
    if key is None:
        if PUBLIC_KEY not in files:
            result.checks.append(
                failed("manifest signature", f"no --key and no {PUBLIC_KEY} in the bundle")
            )
            return None
        try:
            key = load_public_key(files[PUBLIC_KEY].read_bytes())
        except UnusableKeyError as exc:
            result.checks.append(failed("manifest signature", f"{PUBLIC_KEY}: {exc}"))
            return None
        result.notes.append(
            f"no --key given: checked with the bundle's own {PUBLIC_KEY} ({fingerprint(key)}), "
            "which is only self-asserted - anyone can re-sign a bundle with a key of their own; "
            "this proves the files are unchanged since signing, not who signed them"
        )
    if HASHES_SIG not in files or HASHES not in files:
        result.checks.append(failed("manifest signature", f"{HASHES_SIG} or {HASHES} is missing"))
        return key
    if verify_message(key, files[HASHES_SIG].read_bytes(), files[HASHES].read_bytes()):
        result.checks.append(
            passed("manifest signature", f"{HASHES_SIG} verifies with {fingerprint(key)}")
        )
    else:
        result.checks.append(
            failed(
                "manifest signature",
                f"{HASHES_SIG} does not verify with {fingerprint(key)}: wrong key or altered list",
            )
        )
    return key


def _attestation(
    files: dict[str, Path],
    listed: dict[str, str] | None,
    key: PublicKey | None,
    verdicts: dict[str, Any] | None,
    result: VerifyResult,
) -> None:
    name = "attestation"
    if ATTESTATION not in files:
        result.checks.append(failed(name, f"{ATTESTATION} is missing"))
        return
    env = parse_envelope(files[ATTESTATION].read_bytes())
    if isinstance(env, DsseProblem):
        result.checks.append(failed(name, f"{ATTESTATION}: {env.reason}"))
        return
    if key is None:
        result.checks.append(no_data(name, "no key to verify the DSSE signature with"))
    else:
        ok = verify_envelope(env, [key])
        if isinstance(ok, DsseProblem):
            result.checks.append(failed("attestation signature", ok.reason))
        else:
            result.checks.append(
                passed("attestation signature", f"DSSE envelope verifies with {fingerprint(key)}")
            )
    try:
        statement = json.loads(env.payload)
        subjects = {s["name"]: s["digest"]["sha256"] for s in statement["subject"]}
        predicate = statement["predicate"]
    except (ValueError, KeyError, TypeError):
        result.checks.append(
            failed("attestation subjects", "payload is not an in-toto Statement with subjects")
        )
        return
    if statement.get("_type") != STATEMENT_TYPE or statement.get("predicateType") != PREDICATE_TYPE:
        result.checks.append(
            failed(
                "attestation statement",
                f"expected {STATEMENT_TYPE} with predicateType {PREDICATE_TYPE}",
            )
        )
    expected = {k: v for k, v in (listed or {}).items() if k != ATTESTATION}
    if subjects == expected and listed is not None:
        result.checks.append(
            passed(
                "attestation subjects",
                f"{len(subjects)} subjects = the hashed files (except the attestation)",
            )
        )
    else:
        diff = sorted(set(subjects.items()) ^ set(expected.items()))
        result.checks.append(
            failed(
                "attestation subjects",
                f"subjects differ from {HASHES} on: {', '.join(n for n, _ in diff[:5]) or '(list unreadable)'}",
            )
        )
    if verdicts is not None and (
        predicate.get("decision") != verdicts.get("decision")
        or [(g.get("id"), g.get("status")) for g in predicate.get("gates", [])]
        != [(g.get("id"), g.get("status")) for g in verdicts.get("gates", [])]
    ):
        result.checks.append(
            failed("attestation predicate", "decision/gate statuses differ from verdicts.json")
        )


def _manifest(
    files: dict[str, Path],
    key: PublicKey | None,
    verdicts: dict[str, Any] | None,
    result: VerifyResult,
) -> dict[str, Any] | None:
    if MANIFEST not in files:
        result.checks.append(failed("manifest.json", "missing"))
        return None
    try:
        manifest: dict[str, Any] = json.loads(files[MANIFEST].read_bytes())
        sigs = manifest["signatures"]
        sig = decode_b64(sigs[0]["sig"]) if sigs else None
    except (ValueError, KeyError, TypeError, IndexError):
        result.checks.append(failed("manifest.json", "not JSON with a signatures list"))
        return None
    if key is not None:
        if sig is not None and verify_message(key, sig, manifest_signing_bytes(manifest)):
            result.checks.append(
                passed("manifest.json signature", f"signatures[0] verifies with {fingerprint(key)}")
            )
        else:
            result.checks.append(
                failed(
                    "manifest.json signature",
                    f"signatures[0] does not verify with {fingerprint(key)}",
                )
            )
        if manifest.get("signingKey", {}).get("fingerprint") != fingerprint(key):
            result.checks.append(
                failed("manifest.json", f"signingKey.fingerprint is not {fingerprint(key)}")
            )
    if manifest.get("signingKey", {}).get("trusted") is False or DEMO_NOTICE in files:
        result.notes.append(
            f"signed with an untrusted demo key ({DEMO_NOTICE}): not release evidence"
        )
    if verdicts is None:
        result.checks.append(failed("manifest vs verdicts", "verdicts.json is missing or not JSON"))
        return manifest
    problems = []
    pairs = {
        "decision": "decision",
        "evaluatedAt": "evaluated_at",
        "matrixSha256": "matrix_sha256",
        "runIgkitVersion": "igkit_version",
        "scope": "scope",
    }
    for mkey, vkey in pairs.items():
        if manifest.get(mkey) != verdicts.get(vkey):
            problems.append(f"{mkey} {manifest.get(mkey)!r} != verdicts {verdicts.get(vkey)!r}")
    scope = verdicts.get("scope")
    if verdicts.get("decision") == "PARTIAL" or (
        isinstance(scope, dict) and scope.get("complete") is not True
    ):
        result.partial = True
        gates = ", ".join(scope.get("gates", [])) if isinstance(scope, dict) else "?"
        result.notes.insert(
            0,
            f"PARTIAL RUN: only {gates} evaluated (decision {verdicts.get('decision')}); "
            "this bundle is not evidence of a release GO",
        )
    m_gates = [(g.get("id"), g.get("status")) for g in manifest.get("gates", [])]
    v_gates = [(g.get("id"), g.get("status")) for g in verdicts.get("gates", [])]
    if m_gates != v_gates:
        problems.append(f"gates {m_gates} != verdicts {v_gates}")
    for g in manifest.get("gates", []):
        for ev in str(g.get("evidence", "")).split(", "):
            if ev and ev not in files:
                problems.append(f"{g.get('id')} evidence {ev} is not in the bundle")
    for uri in manifest.get("snapshots", []):
        rel = str(uri).split("://", 1)[-1]
        if rel not in files:
            problems.append(f"snapshot {uri} is not in the bundle")
    if problems:
        result.checks.extend(failed("manifest vs verdicts", p) for p in problems)
    else:
        result.checks.append(
            passed(
                "manifest vs verdicts",
                f"decision {manifest.get('decision')}, {len(m_gates)} gates, snapshots and evidence present",
            )
        )
    return manifest


def _cert_subject(data: bytes, key: PublicKey) -> str | None:
    """The subject of PEM certificate ``data`` when it certifies ``key``, else None."""
    from cryptography import x509

    try:
        cert = x509.load_pem_x509_certificate(data)
    except ValueError:
        return None
    if cert.public_key() != key:
        return None
    return cert.subject.rfc4514_string()


def _who_signed(
    files: dict[str, Path],
    key: PublicKey,
    manifest: dict[str, Any] | None,
    key_given: bool,
    result: VerifyResult,
) -> None:
    """Name the signer (certificate subject, key fingerprint) and how trust was established."""
    subject = None
    if CERTIFICATE in files:
        subject = _cert_subject(files[CERTIFICATE].read_bytes(), key)
    result.signer = f"{subject or 'no certificate'} ({fingerprint(key)})"
    signing_key = (manifest or {}).get("signingKey")
    demo = DEMO_NOTICE in files or (
        isinstance(signing_key, dict) and signing_key.get("trusted") is False
    )
    if demo:
        result.trust = UNTRUSTED_DEMO
    elif key_given:
        result.trust = TRUSTED
    else:
        result.trust = SELF_ASSERTED_CERT if subject else SELF_ASSERTED_KEY


def _pdfs(files: dict[str, Path], key: PublicKey | None, result: VerifyResult) -> None:
    """Every PDF must pass :func:`igkit.report.pdf.verify_pdf` (every signature intact, a
    strict container, covering the entire file) against the certificates in the bundle
    (``signing-cert.pem`` / ``*.cert.pem``); with ``--key`` only a certificate for that key
    counts."""
    pdfs = sorted(n for n in files if n.lower().endswith(".pdf"))
    if not pdfs:
        result.notes.append("no PDF in the bundle: PDF signature check skipped")
        return
    try:
        from asn1crypto import pem, x509

        from igkit.report.pdf import verify_pdf
    except ImportError:
        for n in pdfs:
            result.checks.append(
                error("pdf signature", "pyHanko is not installed; cannot verify", n)
            )
        return
    roots = b""
    for n, p in files.items():
        if n.endswith(".cert.pem") or PurePosixPath(n).name == CERTIFICATE:
            try:
                raw = p.read_bytes()
                _, _, der = pem.unarmor(raw)
                cert = x509.Certificate.load(der)
                if key is not None and _spki_fingerprint(cert.public_key.dump()) != fingerprint(
                    key
                ):
                    result.notes.append(f"{n} is not a certificate for --key: not trusted for PDFs")
                    continue
                roots += raw.rstrip(b"\n") + b"\n"
            except (ValueError, TypeError) as exc:
                result.checks.append(failed("pdf trust", f"unreadable certificate ({exc})", n))
    trust = result.trust or SELF_ASSERTED_CERT
    for n in pdfs:
        checks = verify_pdf(files[n], cert_pem=roots or None)
        bad = [c for c in checks if not c.ok]
        if bad:
            detail = "; ".join(f"{c.name}: {c.detail}" for c in bad)
            result.checks.append(failed("pdf signature", detail[:300], n))
        else:
            signers = sorted({c.detail for c in checks if c.name == "signer certificate"})
            result.checks.append(
                passed(
                    "pdf signature",
                    f"{', '.join(signers)}; every signature intact, strict "
                    f"and covering the entire file: {trust}",
                    n,
                )
            )


def _spki_fingerprint(der: bytes) -> str:
    from cryptography.hazmat.primitives.serialization import load_der_public_key

    try:
        return fingerprint(load_der_public_key(der))
    except (ValueError, TypeError):
        return ""


def _replay_trust(
    loaded: Any, files: dict[str, Path], trust: Path | None, own_key: bool, result: VerifyResult
) -> Any:
    """Anchors for the replay: --trust DIR (the auditor's own), else the bundle's ``trust/``,
    which is only as trusted as the bundle signature. Never beside the bundled matrix."""
    from igkit.trust import BUNDLE_TRUST_DIR, resolve_trust

    if trust is not None:
        result.notes.append(f"replay: trust anchors from --trust {trust}")
        return resolve_trust(loaded, trust_dir=trust, matrix_relative=False)
    prefix = f"{BUNDLE_TRUST_DIR}/"
    carried = {n[len(prefix) :]: p.read_bytes() for n, p in files.items() if n.startswith(prefix)}
    if carried:
        signer = (
            "the bundle's own key: self-asserted"
            if own_key
            else "the signature verified with --key"
        )
        result.notes.append(
            f"replay: trust anchors from the bundle ({prefix}), vouched for by the bundle "
            f"signature ({signer}); pass --trust DIR to replay with your own"
        )
    return resolve_trust(
        loaded, trust_dir=None, matrix_relative=False, bundle_anchors=carried or None
    )


def _replay(
    bundle: Path,
    files: dict[str, Path],
    verdicts: dict[str, Any] | None,
    result: VerifyResult,
    *,
    trust: Path | None = None,
    own_key: bool = True,
) -> None:
    from igkit.errors import IgkitError
    from igkit.run import go_no_go
    from igkit.sources.replay import ReplaySource
    from igkit.spec.loader import load_matrix
    from igkit.verdicts import RunVerdicts

    if verdicts is None:
        result.checks.append(failed("replay", "no readable verdicts.json to compare with"))
        return
    if MATRIX not in files:
        result.checks.append(failed("replay", f"no {MATRIX} in the bundle: cannot re-evaluate"))
        return
    try:
        original = RunVerdicts.model_validate(verdicts)
        loaded = load_matrix(files[MATRIX])
        if loaded.sha256 != original.matrix_sha256:
            result.checks.append(
                failed(
                    "replay",
                    f"{MATRIX} sha256 {loaded.sha256[:12]}… != verdicts.json matrix_sha256 {original.matrix_sha256[:12]}…",
                )
            )
            return
        anchors = _replay_trust(loaded, files, trust, own_key, result)
        src = ReplaySource(bundle / "snapshots")
        if not src.index_checked:
            result.checks.append(
                failed(
                    "replay",
                    "verdicts.json records no snapshots_index_sha256: the bundled "
                    "snapshots/index.json cannot be tied to the signed verdicts",
                )
            )
            return
        with tempfile.TemporaryDirectory(prefix="igkit-replay-") as tmp:
            again = go_no_go(
                loaded,
                [g.id for g in original.gates],
                original.evaluated_at,
                src,
                tenant=original.tenant,
                out=Path(tmp),
                source_label=original.source,
                server=src.index.server if src.index else None,
                k6=src.k6,
                evidence=src.evidence,
                trust=anchors,
            )
    except (IgkitError, ValueError) as exc:
        result.checks.append(failed("replay", f"could not re-evaluate: {exc}"[:300]))
        return
    for p in src.problems:
        result.checks.append(failed("replay snapshot", p[:300]))
    a = {g.id: g.model_dump(mode="json") for g in original.gates}
    b = {g.id: g.model_dump(mode="json") for g in again.gates}
    differ = [gid for gid in a if a[gid] != b.get(gid)]
    for gid in differ:
        result.checks.append(
            failed(
                "replay",
                f"{gid}: recorded {a[gid]['status']}, re-evaluated {b.get(gid, {}).get('status', 'missing')} (or different reasons/values)",
            )
        )
    if original.decision != again.decision:
        result.checks.append(
            failed(
                "replay", f"decision: recorded {original.decision}, re-evaluated {again.decision}"
            )
        )
    if not differ and original.decision == again.decision:
        result.checks.append(
            passed(
                "replay",
                f"all {len(a)} gates and the decision {again.decision} re-evaluate identically",
            )
        )


def _verify_dir(
    bundle: Path,
    key: PublicKey | None,
    replay: bool,
    result: VerifyResult,
    trust: Path | None = None,
) -> VerifyResult:
    files = _walk(bundle, result)
    listed = _hash_list(bundle, files, result)
    used_key = _signature(bundle, files, key, result)
    verdicts: dict[str, Any] | None = None
    if "verdicts.json" in files:
        try:
            loaded = json.loads(files["verdicts.json"].read_bytes())
            verdicts = loaded if isinstance(loaded, dict) else None
        except ValueError:
            verdicts = None
    _attestation(files, listed, used_key, verdicts, result)
    manifest = _manifest(files, used_key, verdicts, result)
    intact = result.ok
    if used_key is not None:
        _who_signed(files, used_key, manifest, key is not None, result)
    _pdfs(files, key, result)
    if replay and not intact:
        result.checks.append(
            failed(
                "replay",
                f"not run: {HASHES}, its signature or the files it lists did not verify, "
                "so the snapshots are not the signed ones",
            )
        )
    elif replay:
        _replay(bundle, files, verdicts, result, trust=trust, own_key=key is None)
    return result
