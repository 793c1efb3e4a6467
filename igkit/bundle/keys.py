"""Signing keys for evidence bundles: generate, load, or make a throwaway demo key.

Only ECDSA P-256 private keys in PEM files (PKCS#8 or traditional) are supported. Hardware
tokens / PKCS#11 are out of scope: export a software key, or sign outside igkit.

Where the key comes from: the ``--key`` flag, else the environment variable
``IGKIT_SIGNING_KEY`` (a path), else :func:`ephemeral_key` (marked ``trusted=False``). A key's
X.509 certificate (for PDF signatures) is read from ``NAME.cert.pem`` beside ``NAME.key.pem``
when present.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from igkit.errors import ConfigError
from igkit.judge.evidence.keys import fingerprint

ENV_SIGNING_KEY = "IGKIT_SIGNING_KEY"
DEFAULT_SUBJECT = "CN=igkit evidence signing"
CERT_DAYS = 365


@dataclass(frozen=True)
class SigningKey:
    private_key: ec.EllipticCurvePrivateKey
    public_pem: bytes
    cert_pem: bytes | None
    trusted: bool  # False for an ephemeral demo key
    source: str  # file path, or "ephemeral"

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.private_key.public_key())

    def sign(self, message: bytes) -> bytes:
        """DER ECDSA P-256 / SHA-256, deterministic (RFC 6979) so rebuilds are byte-identical."""
        return self.private_key.sign(message, ec.ECDSA(hashes.SHA256(), deterministic_signing=True))

    @property
    def issuer(self) -> str:
        if self.cert_pem is not None:
            cert = x509.load_pem_x509_certificate(self.cert_pem)
            return cert.subject.rfc4514_string()
        return f"igkit key {self.fingerprint}"


@dataclass(frozen=True)
class GeneratedKeyFiles:
    private_key: Path
    public_key: Path
    certificate: Path


def _public_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def parse_subject(text: str) -> x509.Name:
    """``CN=...,O=...`` (RFC 4514) -> Name; a ConfigError names ``--subject`` otherwise."""
    try:
        name = x509.Name.from_rfc4514_string(text)
    except ValueError as exc:
        raise ConfigError(f"not an RFC 4514 name ({exc})", where="--subject") from None
    if not name.get_attributes_for_oid(NameOID.COMMON_NAME):
        raise ConfigError("the subject needs a CN=... part", where="--subject")
    return name


def self_signed_cert(
    key: ec.EllipticCurvePrivateKey, subject: x509.Name, *, now: datetime | None = None
) -> x509.Certificate:
    """1-year self-signed document-signing certificate (KeyUsage digitalSignature +
    contentCommitment, critical; not a CA)."""
    start = (now or datetime.now(tz=UTC)).replace(microsecond=0) - timedelta(minutes=5)
    public = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=CERT_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )


def generate_keypair(
    out: Path, *, name: str = "igkit", subject: str = DEFAULT_SUBJECT
) -> GeneratedKeyFiles:
    """Write ``NAME.key.pem`` (PKCS#8, mode 0600), ``NAME.pub.pem`` and ``NAME.cert.pem``.

    Refuses (ConfigError) to overwrite any existing file; nothing is written in that case.
    """
    if not name or "/" in name or name in {".", ".."} or name.startswith("."):
        raise ConfigError("a plain file name prefix, e.g. 'igkit'", where="--name")
    x_name = parse_subject(subject)
    files = GeneratedKeyFiles(
        private_key=out / f"{name}.key.pem",
        public_key=out / f"{name}.pub.pem",
        certificate=out / f"{name}.cert.pem",
    )
    existing = [
        p for p in (files.private_key, files.public_key, files.certificate) if os.path.lexists(p)
    ]
    if existing:
        raise ConfigError(
            f"refusing to overwrite {', '.join(str(p) for p in existing)}", where="--out"
        )
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create directory: {exc.strerror}", where=str(out)) from None
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(files.private_key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    os.chmod(files.private_key, 0o600)
    _write_new(files.public_key, _public_pem(key))
    cert = self_signed_cert(key, x_name)
    _write_new(files.certificate, cert.public_bytes(serialization.Encoding.PEM))
    return files


def _write_new(path: Path, data: bytes) -> None:
    with path.open("xb") as fh:
        fh.write(data)


def _cert_beside(path: Path) -> Path:
    name = path.name
    stem = name.removesuffix(".pem").removesuffix(".key")
    return path.with_name(f"{stem}.cert.pem")


def load_signing_key(
    path: Path | str | None, *, env: Mapping[str, str] = os.environ
) -> SigningKey | None:
    """The configured key: ``path`` (``--key``), else ``$IGKIT_SIGNING_KEY``; None if neither.

    The certificate is ``<stem>.cert.pem`` beside the key when it exists and matches the key.
    Any unusable key is a ConfigError naming the flag or variable. PKCS#11 is not supported.
    """
    where = "--key"
    if path is None:
        value = env.get(ENV_SIGNING_KEY, "").strip()
        if not value:
            return None
        path, where = value, ENV_SIGNING_KEY
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read private key {p}: {exc.strerror}", where=where) from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigError(
            f"{p} is not an unencrypted PEM private key ({exc})", where=where
        ) from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise ConfigError(f"{p} is not an ECDSA P-256 private key", where=where)
    cert_pem: bytes | None = None
    cert_path = _cert_beside(p)
    if cert_path.is_file():
        try:
            cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        except ValueError:
            raise ConfigError(f"{cert_path} is not a PEM certificate", where=where) from None
        if cert.public_key() != key.public_key():
            raise ConfigError(f"{cert_path} does not certify the key {p}", where=where)
        cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    return SigningKey(
        private_key=key, public_pem=_public_pem(key), cert_pem=cert_pem, trusted=True, source=str(p)
    )


def ephemeral_key() -> SigningKey:
    """A throwaway P-256 key and self-signed certificate, marked untrusted."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = self_signed_cert(key, x509.Name.from_rfc4514_string("CN=igkit UNTRUSTED demo key"))
    return SigningKey(
        private_key=key,
        public_pem=_public_pem(key),
        cert_pem=cert.public_bytes(serialization.Encoding.PEM),
        trusted=False,
        source="ephemeral",
    )
