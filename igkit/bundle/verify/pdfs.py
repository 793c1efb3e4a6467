"""Every PDF of a bundle carries an intact signature over the entire file by the bundle's
certificate (pyHanko)."""

from __future__ import annotations

import logging
from pathlib import Path, PurePosixPath
from typing import Any

from igkit.bundle.build import (
    CERTIFICATE,
)
from igkit.bundle.verify.result import (
    SELF_ASSERTED_CERT,
    VerifyResult,
)
from igkit.judge.evidence.checks import error, failed, passed
from igkit.judge.evidence.keys import (
    PublicKey,
    fingerprint,
)


def check_pdfs(files: dict[str, Path], key: PublicKey | None, result: VerifyResult) -> None:
    """Every PDF must carry a signature that is intact, covers the whole file and chains to a
    certificate in the bundle (``signing-cert.pem`` / ``*.cert.pem``); with ``--key`` only a
    certificate for that key counts."""
    pdfs = sorted(n for n in files if n.lower().endswith(".pdf"))
    if not pdfs:
        result.notes.append("no PDF in the bundle: PDF signature check skipped")
        return
    try:
        from asn1crypto import pem, x509
        from pyhanko.sign.validation import validate_pdf_signature  # noqa: F401
    except ImportError:
        for n in pdfs:
            result.checks.append(
                error("pdf signature", "pyHanko is not installed; cannot verify", n)
            )
        return
    roots = []
    for n, p in files.items():
        if n.endswith(".cert.pem") or PurePosixPath(n).name == CERTIFICATE:
            try:
                _, _, der = pem.unarmor(p.read_bytes())
                cert = x509.Certificate.load(der)
                if key is not None and _spki_fingerprint(cert.public_key.dump()) != fingerprint(
                    key
                ):
                    result.notes.append(f"{n} is not a certificate for --key: not trusted for PDFs")
                    continue
                roots.append(cert)
            except (ValueError, TypeError) as exc:
                result.checks.append(failed("pdf trust", f"unreadable certificate ({exc})", n))
    quiet = logging.getLogger("pyhanko")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)  # pyHanko logs a traceback for every untrusted signer
    try:
        _validate_pdfs(pdfs, files, roots, result, result.trust or SELF_ASSERTED_CERT)
    finally:
        quiet.setLevel(level)


def _spki_fingerprint(der: bytes) -> str:
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.serialization import load_der_public_key

    try:
        return fingerprint(load_der_public_key(der))  # type: ignore[arg-type]
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return ""


def _validate_pdfs(
    pdfs: list[str], files: dict[str, Path], roots: list[Any], result: VerifyResult, trust: str
) -> None:
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    for n in pdfs:
        try:
            with files[n].open("rb") as fh:
                sigs = PdfFileReader(fh, strict=False).embedded_signatures
                if not sigs:
                    result.checks.append(failed("pdf signature", "the PDF is not signed", n))
                    continue
                for i, sig in enumerate(sigs, 1):
                    vc = ValidationContext(trust_roots=roots, allow_fetching=False)
                    status = validate_pdf_signature(sig, signer_validation_context=vc)
                    cov = getattr(status.coverage, "name", str(status.coverage))
                    what = f"signature #{i} ({sig.field_name})"
                    if not status.intact or not status.valid:
                        result.checks.append(
                            failed("pdf signature", f"{what} is not intact/valid", n)
                        )
                    elif cov != "ENTIRE_FILE":
                        result.checks.append(
                            failed("pdf signature", f"{what} covers {cov}, not the entire file", n)
                        )
                    elif not status.trusted:
                        result.checks.append(
                            failed(
                                "pdf signature",
                                f"{what} is intact but its signer is not the bundle's certificate",
                                n,
                            )
                        )
                    else:
                        try:
                            who = status.signing_cert.subject.human_friendly
                        except (AttributeError, ValueError):
                            who = "the bundle's certificate"
                        result.checks.append(
                            passed(
                                "pdf signature",
                                f"{what} intact, covers the entire file, signed by {who}: {trust}",
                                n,
                            )
                        )
        except Exception as exc:
            result.checks.append(
                failed(
                    "pdf signature",
                    f"unreadable or damaged PDF ({type(exc).__name__}: {exc})"[:300],
                    n,
                )
            )
