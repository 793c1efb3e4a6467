"""Every PDF of a bundle passes :func:`igkit.report.pdf.verify_pdf` — the one PDF verifier —
against the bundle's certificate."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from igkit.bundle.build import CERTIFICATE
from igkit.bundle.verify.result import SELF_ASSERTED_CERT, VerifyResult
from igkit.judge.evidence.checks import error, failed, passed
from igkit.judge.evidence.keys import PublicKey, fingerprint


def check_pdfs(files: dict[str, Path], key: PublicKey | None, result: VerifyResult) -> None:
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
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.serialization import load_der_public_key

    try:
        return fingerprint(load_der_public_key(der))
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return ""
