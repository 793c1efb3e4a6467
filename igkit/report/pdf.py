"""HTML -> PDF with headless Chromium, then a PAdES B-B signature (pyHanko) and its verification.

Why Chromium and not WeasyPrint: the gate reports are nbconvert's JupyterLab HTML (CSS custom
properties, flexbox, grid, inline SVG/PNG); Chromium lays that out exactly as the auditor sees it
in a browser (and as the screenshot tests check), WeasyPrint is a second CSS engine that only
approximates it and adds a Python + Pango stack. Measured here (best of 3, Chromium 156,
WeasyPrint 70.0 from PyPI): 8-page notebook 1.42 s Chromium vs 2.47 s WeasyPrint (0.18 vs
0.31 s/page); 1-page gate report 0.96 s vs 0.92 s; 2-page index 0.98 s vs 0.78 s. Chromium costs
~0.9 s of start-up per document, then is faster per page; it is one Debian package (``chromium``)
that ``make test`` installs.
"""

from __future__ import annotations

import io
import logging
import shutil
import subprocess
import tempfile
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from asn1crypto import cms
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.keys import (
    load_certs_from_pemder_data,
    load_private_key_from_pemder_data,
)
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import (
    IncrementalPdfFileWriter,
)
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.writer import copy_into_new_writer
from pyhanko.sign import fields, signers
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from igkit.atomic import write_bytes
from igkit.errors import ConfigError, ToolError
from igkit.judge.evidence.checks import Check, error, failed, no_data, passed

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser")
CHROMIUM_TIMEOUT_SECONDS = 120
SIGNATURE_FIELD = "igkit-signature"

# Headless, offline, as root in a container: no sandbox, no GPU, no network chatter.
_CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--mute-audio",
)


class ChromiumError(ToolError):
    """Chromium is missing or failed to render."""


def find_chromium(chromium: str | None = None) -> str:
    """The Chromium binary: the one given, else ``/usr/bin/chromium`` or one on PATH."""
    for candidate in (chromium,) if chromium else CHROMIUM_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    raise ChromiumError(
        f"Chromium not found ({chromium or ', '.join(CHROMIUM_CANDIDATES)}): install the Debian "
        "package 'chromium' (sudo apt-get install chromium), or run `make test`, which installs it"
    )


def run_chromium(
    args: list[str], *, chromium: str | None = None
) -> subprocess.CompletedProcess[bytes]:
    """Run headless Chromium with a throw-away profile; raise ChromiumError on failure."""
    binary = find_chromium(chromium)
    with tempfile.TemporaryDirectory(prefix="igkit-chromium-") as profile:
        cmd = [binary, *_CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args]
        try:
            proc = subprocess.run(
                cmd, capture_output=True, timeout=CHROMIUM_TIMEOUT_SECONDS, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise ChromiumError(
                f"Chromium timed out after {CHROMIUM_TIMEOUT_SECONDS}s: {' '.join(args)}"
            ) from exc
    if proc.returncode != 0:
        tail = proc.stderr.decode(errors="replace").strip().splitlines()[-5:]
        raise ChromiumError(f"Chromium exited {proc.returncode}: {' | '.join(tail)}")
    return proc


def html_to_pdf(html_path: Path, pdf_path: Path, *, chromium: str | None = None) -> Path:
    """Print an HTML file to PDF (Chromium's default paper, backgrounds kept, no header/footer)."""
    source = html_path.resolve()
    if not source.is_file():
        raise ChromiumError(f"no such HTML file: {source}")
    pdf_path.parent.mkdir(parents=True, exist_ok=True)
    target = pdf_path.resolve()
    target.unlink(missing_ok=True)
    run_chromium(
        [
            f"--print-to-pdf={target}",
            "--no-pdf-header-footer",
            "--run-all-compositor-stages-before-draw",
            source.as_uri(),
        ],
        chromium=chromium,
    )
    if (
        not target.is_file()
        or target.stat().st_size == 0
        or not target.read_bytes()[:5] == b"%PDF-"
    ):
        raise ChromiumError(f"Chromium did not write a PDF to {target}")
    return pdf_path


def _relative_target(uri: str, base: Path) -> str | None:
    """``file:///…/base/sub/X.pdf`` -> ``sub/X.pdf``; None for a file outside ``base``."""
    parts = urlsplit(uri)
    if parts.scheme.lower() != "file" or parts.netloc not in ("", "localhost"):
        return None
    target = PurePosixPath(unquote(parts.path))
    root = PurePosixPath(base.resolve().as_posix())
    if not target.is_relative_to(root) or ".." in target.parts:
        return None
    rel = target.relative_to(root).as_posix()
    return rel if rel and rel != "." else None


def _rewrite_actions(obj: generic.PdfObject, base: Path, counts: dict[str, int]) -> None:
    """Walk one object (not following references): every ``/URI`` action on a ``file:`` URI
    becomes a ``/GoToR`` to the relative file, or is removed when it leaves ``base``."""
    if isinstance(obj, generic.ArrayObject):
        for item in obj:
            _rewrite_actions(item, base, counts)
        return
    if not isinstance(obj, generic.DictionaryObject):
        return
    for key in list(obj.keys()):
        value = obj.raw_get(key)
        if isinstance(value, generic.DictionaryObject) and _is_file_uri_action(value):
            rel = _relative_target(str(value["/URI"]), base)
            if rel is None:
                del obj[key]
                counts["removed"] += 1
            else:
                obj[key] = _goto_remote(rel)
                counts["relative"] += 1
        else:
            _rewrite_actions(value, base, counts)


def _is_file_uri_action(d: generic.DictionaryObject) -> bool:
    uri = d.get("/URI")
    return (
        d.get("/S") == "/URI"
        and isinstance(uri, (str, bytes))
        and (str(uri).strip().lower().startswith("file:"))
    )


def _goto_remote(rel: str) -> generic.DictionaryObject:
    """A ``/GoToR`` action: open page 1 of the PDF at ``rel``, relative to this file."""
    spec = generic.DictionaryObject(  # type: ignore[no-untyped-call]
        {
            generic.NameObject("/Type"): generic.NameObject("/Filespec"),
            generic.NameObject("/F"): generic.TextStringObject(rel),
            generic.NameObject("/UF"): generic.TextStringObject(rel),
        }
    )
    return generic.DictionaryObject(  # type: ignore[no-untyped-call]
        {
            generic.NameObject("/S"): generic.NameObject("/GoToR"),
            generic.NameObject("/F"): spec,
            generic.NameObject("/D"): generic.ArrayObject(
                [generic.NumberObject(0), generic.NameObject("/Fit")]  # type: ignore[no-untyped-call]
            ),
            generic.NameObject("/NewWindow"): generic.BooleanObject(False),  # type: ignore[no-untyped-call]
        }
    )


def relative_links(pdf_path: Path, out_path: Path, *, base: Path) -> dict[str, int]:
    """Rewrite the links Chromium printed as absolute ``file:///…`` URIs so the PDF can move.

    Chromium resolves every relative ``href`` against the HTML file it printed, so a link to
    ``G1_slo_baseline.pdf`` lands in the PDF as the build machine's path. Each such link to a
    file under ``base`` (the printed HTML's directory) becomes a ``/GoToR`` action with a
    relative file specification — the PDF way to link another PDF, which Acrobat, pdf.js and
    poppler viewers follow relative to the open file; one leaving ``base`` loses its action.
    The document is rewritten whole (no incremental update), so the old paths leave the bytes;
    call it before signing. Returns how many links were made relative / removed.
    """
    try:
        reader = PdfFileReader(io.BytesIO(pdf_path.read_bytes()))
        writer = copy_into_new_writer(reader)
    except Exception as exc:  # pyHanko raises many parse errors on a damaged file
        raise ChromiumError(f"cannot read the PDF Chromium wrote ({pdf_path.name}): {exc}") from exc
    counts = {"relative": 0, "removed": 0}
    for obj in list(writer.objects.values()):
        _rewrite_actions(obj, base, counts)
    out = io.BytesIO()
    writer.write(out)  # type: ignore[no-untyped-call]
    write_bytes(out_path, out.getvalue(), binary=True)
    return counts


def sign_pdf(
    pdf_path: Path,
    out_path: Path,
    *,
    key_pem: bytes,
    cert_pem: bytes,
    reason: str,
    location: str,
) -> Path:
    """Sign with PAdES B-B (CAdES detached, ETSI.CAdES.detached, no timestamp, no LTV data)."""
    certs = list(load_certs_from_pemder_data(cert_pem))
    if not certs:
        raise ConfigError("no certificate in cert_pem")
    key = serialization.load_pem_private_key(key_pem, password=None)
    cert_public = x509.load_pem_x509_certificate(cert_pem).public_key()
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(serialization.Encoding.DER, spki) != cert_public.public_bytes(
        serialization.Encoding.DER, spki
    ):
        raise ConfigError("key_pem does not belong to the certificate in cert_pem")
    signer = signers.SimpleSigner(
        signing_cert=certs[0],
        signing_key=load_private_key_from_pemder_data(key_pem, passphrase=None),
        # Only the signing cert itself goes into the CMS (no duplicate copies that a verifier
        # might pick instead of a tampered one); any chain certs after it in cert_pem go too.
        cert_registry=SimpleCertificateStore.from_certs(certs[1:]),  # type: ignore[no-untyped-call]
    )
    meta = signers.PdfSignatureMetadata(
        field_name=SIGNATURE_FIELD,
        reason=reason,
        location=location,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        use_pades_lta=False,
        embed_validation_info=False,
    )
    signed = io.BytesIO()
    with pdf_path.open("rb") as inf:
        signers.sign_pdf(IncrementalPdfFileWriter(inf), meta, signer=signer, output=signed)
    write_bytes(out_path, signed.getvalue(), binary=True)
    return out_path


def _der_length(raw: bytes) -> int | None:
    """Total length of the DER SEQUENCE at the start of ``raw`` (None if it is not one)."""
    if len(raw) < 2 or raw[0] != 0x30:
        return None
    first = raw[1]
    if first < 0x80:
        return 2 + first
    n = first & 0x7F
    if n == 0 or n > 4 or len(raw) < 2 + n:
        return None
    return 2 + n + int.from_bytes(raw[2 : 2 + n], "big")


def _container_problem(contents: bytes) -> str | None:
    """Strict shape of /Contents, so that no byte of it can change unnoticed.

    The CMS signature covers the signed attributes only; the container around them (lengths,
    versions, the digestAlgorithms set, padding) is not signed, and lenient parsers accept
    many variants of it. Require exactly what a PAdES B-B signer writes: one SignerInfo,
    canonical DER, versions v1, digestAlgorithms = the signer's, then only zero padding.
    """
    length = _der_length(contents)
    if length is None or length > len(contents):
        return "the signature container is not a complete DER structure"
    if contents[length:].strip(b"\x00"):
        return f"{len(contents) - length} bytes after the CMS signature are not zero padding"
    der = contents[:length]
    try:
        info = cms.ContentInfo.load(der, strict=True)
        canonical = info.dump(force=True)
        signed = info["content"]
        signer_infos = list(signed["signer_infos"])
        digest_algorithms = [a.dump(force=True) for a in signed["digest_algorithms"]]
        versions = (signed["version"].native, [si["version"].native for si in signer_infos])
    except (ValueError, TypeError, KeyError) as exc:
        return f"the CMS signature does not parse strictly: {exc}"
    if canonical != der:
        return "the CMS signature is not canonical DER"
    if len(signer_infos) != 1:
        return f"expected one SignerInfo, found {len(signer_infos)}"
    if versions != ("v1", ["v1"]):
        return f"unexpected CMS versions {versions}"
    if digest_algorithms != [signer_infos[0]["digest_algorithm"].dump(force=True)]:
        return "digestAlgorithms does not match the signer's digest algorithm"
    return None


def verify_pdf(pdf_path: Path, *, cert_pem: bytes | None) -> list[Check]:
    """Verify every signature of the PDF: intact, a strict PAdES container, covering the whole
    file (nothing appended or updated after signing), made by a certificate in ``cert_pem``
    (one or more PEM certificates: the signer must be one of them, byte for byte).

    The one PDF verifier: ``igkit bundle verify`` uses it too. Fails closed: no signature,
    an unreadable file or no expected certificate is never PASS.
    """
    subject = pdf_path.name
    try:
        data = pdf_path.read_bytes()
    except OSError as exc:
        return [error("pdf readable", f"cannot read: {exc}", subject)]
    try:
        trust_roots = list(load_certs_from_pemder_data(cert_pem)) if cert_pem else []
    except ValueError as exc:
        return [error("expected certificate", f"cannot parse cert_pem: {exc}", subject)]
    try:
        reader = PdfFileReader(io.BytesIO(data))
        embedded = list(reader.embedded_signatures)
    except Exception as exc:  # pyHanko raises a zoo of parse errors on damaged files
        return [error("pdf readable", f"not a readable PDF: {type(exc).__name__}: {exc}", subject)]
    if not embedded:
        return [failed("signature present", "the PDF carries no signature", subject)]
    checks = [passed("signature present", f"{len(embedded)} signature(s)", subject)]
    try:
        expected = {bytes(cert.dump()) for cert in trust_roots}
        context = ValidationContext(trust_roots=trust_roots, allow_fetching=False)
    except Exception as exc:  # asn1crypto parses lazily: a damaged certificate fails only here
        reason = f"unusable certificate: {type(exc).__name__}: {exc}"
        return [*checks, error("expected certificate", reason, subject)]
    quiet = logging.getLogger("pyhanko")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)  # pyHanko logs a traceback for every untrusted signer
    try:
        for i, signature in enumerate(embedded, 1):
            where = subject if len(embedded) == 1 else f"{subject} signature #{i}"
            checks += _signature_checks(signature, context, expected, where)
    finally:
        quiet.setLevel(level)
    return checks


def _signature_checks(
    signature: EmbeddedPdfSignature,
    context: ValidationContext,
    expected: set[bytes],
    subject: str,
) -> list[Check]:
    try:
        status = validate_pdf_signature(signature, context)
    except Exception as exc:  # malformed CMS, unsupported algorithms, ...
        return [error("signature intact", f"cannot validate: {type(exc).__name__}: {exc}", subject)]
    checks = []
    container = _container_problem(bytes(signature.sig_object["/Contents"]))
    if container is not None:
        checks.append(failed("signature container", container, subject))
    if status.intact and status.valid:
        checks.append(
            passed("signature intact", f"{status.md_algorithm} digest and signature match", subject)
        )
    else:
        checks.append(
            failed(
                "signature intact",
                f"digest intact={status.intact}, signature valid={status.valid}: the signed bytes were altered",
                subject,
            )
        )
    if status.coverage is SignatureCoverageLevel.ENTIRE_FILE:
        checks.append(passed("coverage", "the signature covers the entire file", subject))
    else:
        cover = status.coverage.name if status.coverage else "unknown"
        checks.append(
            failed("coverage", f"signature coverage is {cover}, not the entire file", subject)
        )
    who = signature.signer_cert.subject.human_friendly
    if not expected:
        checks.append(
            no_data(
                "signer certificate", "no expected certificate given; signer not checked", subject
            )
        )
    elif bytes(signature.signer_cert.dump()) not in expected:
        checks.append(
            failed(
                "signer certificate", f"signed by {who}, not by the expected certificate", subject
            )
        )
    elif not status.trusted:
        checks.append(
            failed(
                "signer certificate",
                f"expected certificate but untrusted: {status.trust_problem_indic}",
                subject,
            )
        )
    else:
        checks.append(passed("signer certificate", f"signed by {who}", subject))
    return checks
