"""Who signed the bundle: the signature over ``manifest-sha256.txt`` (``--key`` or the
bundle's own, self-asserted key) and the signer's certificate subject."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from igkit.bundle.build import (
    CERTIFICATE,
    DEMO_NOTICE,
    HASHES,
    HASHES_SIG,
    PUBLIC_KEY,
)
from igkit.bundle.verify.result import (
    SELF_ASSERTED_CERT,
    SELF_ASSERTED_KEY,
    TRUSTED,
    UNTRUSTED_DEMO,
    VerifyResult,
)
from igkit.judge.evidence.checks import failed, passed
from igkit.judge.evidence.keys import (
    PublicKey,
    UnusableKeyError,
    fingerprint,
    load_public_key,
    verify_message,
)


def check_signature(
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


def _cert_subject(data: bytes, key: PublicKey) -> str | None:
    """The subject of PEM certificate ``data`` when it certifies ``key``, else None (also for
    a certificate whose key or subject cannot be decoded: parsing is lazy in cryptography)."""
    from cryptography import x509
    from cryptography.exceptions import UnsupportedAlgorithm

    try:
        cert = x509.load_pem_x509_certificate(data)
        if cert.public_key() != key:
            return None
        return cert.subject.rfc4514_string()
    except (ValueError, UnsupportedAlgorithm):
        return None


def who_signed(
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
