"""Public keys for offline signature checks: load a PEM, name it, verify with it.

Supported: ECDSA P-256 / P-384 / P-521 (SHA-256 / SHA-384 / SHA-512; DER signatures, and the
raw ``r||s`` form some signers emit), Ed25519, RSA >= 2048 bits (PKCS#1 v1.5 or PSS, SHA-256).
A key that cannot be used raises :class:`UnusableKeyError`; a signature that does not verify
returns ``False`` - no other exception leaves this module.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, encode_dss_signature

from igkit.errors import ConfigError, IgkitError

PublicKey = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | rsa.RSAPublicKey

MIN_RSA_BITS = 2048
_EC_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "secp256r1": hashes.SHA256,
    "secp384r1": hashes.SHA384,
    "secp521r1": hashes.SHA512,
}
_EC_NAMES = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}


class UnusableKeyError(IgkitError, ValueError):
    """The text is not a PEM public key igkit can verify with; the message says why."""


def load_public_key(pem: str | bytes) -> PublicKey:
    """Parse a PEM ``PUBLIC KEY`` (SubjectPublicKeyInfo) of a supported kind."""
    data = pem.encode() if isinstance(pem, str) else pem
    if b"-----BEGIN" not in data:
        raise UnusableKeyError("not a PEM file (no -----BEGIN line)")
    if b"-----BEGIN CERTIFICATE" in data:
        raise UnusableKeyError("this is a certificate, not a public key; give its public key")
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm):
        raise UnusableKeyError(
            "not a loadable PEM public key (corrupt PEM body, or not a SubjectPublicKeyInfo)"
        ) from None
    if isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.name not in _EC_HASHES:
            raise UnusableKeyError(f"unsupported elliptic curve {key.curve.name}")
        return key
    if isinstance(key, ed25519.Ed25519PublicKey):
        return key
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            raise UnusableKeyError(f"RSA-{key.key_size} is too weak (need >= {MIN_RSA_BITS} bits)")
        return key
    raise UnusableKeyError(f"unsupported key type {type(key).__name__}")


def load_public_key_file(path: Path, where: str) -> PublicKey:
    """:func:`load_public_key` of a file a flag names; any problem is a ConfigError (exit 2)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read public key {path}: {exc.strerror}", where=where) from None
    try:
        return load_public_key(data)
    except UnusableKeyError as exc:
        raise ConfigError(f"{path}: {exc}", where=where) from None


def public_key_of(pem: bytes) -> Any:
    """The public key of a PEM ``PUBLIC KEY`` or ``CERTIFICATE``, of any kind and size (for
    naming a trust anchor; :func:`load_public_key` decides whether it may verify)."""
    try:
        if b"-----BEGIN CERTIFICATE-----" in pem:
            return x509.load_pem_x509_certificate(pem).public_key()
        return serialization.load_pem_public_key(pem)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise UnusableKeyError("not a loadable PEM public key or certificate") from None


def fingerprint(key: Any) -> str:
    """``SHA256:<base64>`` of the DER SubjectPublicKeyInfo (as in Sigstore ``publicKey.hint``)."""
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "SHA256:" + base64.b64encode(hashlib.sha256(der).digest()).decode().rstrip("=")


def describe(key: PublicKey) -> str:
    """Human name of the key kind, e.g. ``ECDSA P-256``."""
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"ECDSA {_EC_NAMES.get(key.curve.name, key.curve.name)}"
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519"
    return f"RSA-{key.key_size}"


def verify_message(key: PublicKey, signature: bytes, message: bytes) -> bool:
    """True when ``signature`` is a valid signature of ``message`` by ``key``."""
    try:
        if isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, message)
            return True
        if isinstance(key, ec.EllipticCurvePublicKey):
            return _verify_ec(key, signature, message, _EC_HASHES[key.curve.name]())
        return _verify_rsa(key, signature, message, hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False


def verify_digest(key: PublicKey, signature: bytes, sha256_digest: bytes) -> bool:
    """True when ``signature`` signs a message whose SHA-256 is ``sha256_digest``.

    This is how Sigstore ``messageSignature`` bundles sign an artifact. Ed25519 signs the
    message itself, so it cannot be checked from a digest: that returns ``False``.
    """
    if isinstance(key, ed25519.Ed25519PublicKey):
        return False
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            return _verify_ec(key, signature, sha256_digest, Prehashed(hashes.SHA256()))
        return _verify_rsa(key, signature, sha256_digest, Prehashed(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        return False


def _verify_ec(
    key: ec.EllipticCurvePublicKey,
    signature: bytes,
    data: bytes,
    algorithm: hashes.HashAlgorithm | Prehashed,
) -> bool:
    try:
        key.verify(signature, data, ec.ECDSA(algorithm))
        return True
    except InvalidSignature:
        pass
    # IEEE P1363 form (r||s, each padded to the curve size), used by e.g. Google's BCID VSAs.
    size = (key.curve.key_size + 7) // 8
    if len(signature) != 2 * size:
        return False
    r = int.from_bytes(signature[:size], "big")
    s = int.from_bytes(signature[size:], "big")
    key.verify(encode_dss_signature(r, s), data, ec.ECDSA(algorithm))
    return True


def _verify_rsa(
    key: rsa.RSAPublicKey,
    signature: bytes,
    data: bytes,
    algorithm: hashes.HashAlgorithm | Prehashed,
) -> bool:
    try:
        key.verify(signature, data, padding.PKCS1v15(), algorithm)
        return True
    except InvalidSignature:
        pass
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO)
    key.verify(signature, data, pss, algorithm)
    return True
