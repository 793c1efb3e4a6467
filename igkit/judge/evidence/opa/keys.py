"""The one configured JWT verification key: loading it for an algorithm, refusing
weak or confused keys, and checking a JWS signature with it."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from igkit.errors import ConfigError, IgkitError
from igkit.spec.models import SIGNING_ALGORITHMS

_SHA: dict[str, type[hashes.SHA256 | hashes.SHA384 | hashes.SHA512]] = {
    "256": hashes.SHA256,
    "384": hashes.SHA384,
    "512": hashes.SHA512,
}
_HMAC_DIGEST = {"256": "sha256", "384": "sha384", "512": "sha512"}
_EC_CURVE = {"ES256": "secp256r1", "ES384": "secp384r1", "ES512": "secp521r1"}
_EC_NAMES = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}
_MIN_RSA_BITS = 2048


@dataclass(frozen=True)
class VerificationKey:
    alg: str
    obj: rsa.RSAPublicKey | ec.EllipticCurvePublicKey | bytes
    describe: str


class KeyProblemError(IgkitError):
    def __init__(self, message: str, *, confusion: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.confusion = confusion


def load_key(key: str, alg: str) -> VerificationKey:
    raw = key.encode("utf-8", "surrogateescape")
    if alg.startswith("HS"):
        if not raw:
            raise KeyProblemError(f"the {alg} secret is empty")
        if b"-----BEGIN" in raw or raw.lstrip().startswith((b"ssh-", b"ecdsa-sha2-")):
            raise KeyProblemError(
                f"the {alg} secret is PEM/SSH key text: refusing it as an HMAC secret "
                "(algorithm confusion: anyone holding that public key could sign)",
                confusion=True,
            )
        return VerificationKey(alg, raw, f"{len(raw)}-byte HMAC secret")
    if b"-----BEGIN" not in raw:
        raise KeyProblemError(f"{alg} needs a PEM public key; this is not PEM (no -----BEGIN line)")
    if b"PRIVATE KEY-----" in raw:
        raise KeyProblemError("this is a private key: give the verifier only the public key")
    try:
        if b"-----BEGIN CERTIFICATE-----" in raw:
            public: Any = x509.load_pem_x509_certificate(raw).public_key()
        else:
            public = serialization.load_pem_public_key(raw)
    except (ValueError, UnsupportedAlgorithm, TypeError) as exc:
        raise KeyProblemError(f"not a loadable PEM public key or certificate ({exc})") from None
    if alg[:2] in ("RS", "PS"):
        if not isinstance(public, rsa.RSAPublicKey):
            raise KeyProblemError(f"{alg} needs an RSA key, this is {_kind(public)}")
        if public.key_size < _MIN_RSA_BITS:
            raise KeyProblemError(f"RSA-{public.key_size} is too weak (need >= {_MIN_RSA_BITS})")
        return VerificationKey(alg, public, f"RSA-{public.key_size} public key")
    if not isinstance(public, ec.EllipticCurvePublicKey):
        raise KeyProblemError(f"{alg} needs an EC key, this is {_kind(public)}")
    if public.curve.name != _EC_CURVE[alg]:
        raise KeyProblemError(
            f"{alg} needs an EC {_EC_NAMES[_EC_CURVE[alg]]} key, this is "
            f"{_EC_NAMES.get(public.curve.name, public.curve.name)}"
        )
    return VerificationKey(alg, public, f"ECDSA {_EC_NAMES[public.curve.name]} public key")


def _kind(public: Any) -> str:
    if isinstance(public, rsa.RSAPublicKey):
        return f"RSA-{public.key_size}"
    if isinstance(public, ec.EllipticCurvePublicKey):
        return f"EC {_EC_NAMES.get(public.curve.name, public.curve.name)}"
    return type(public).__name__.lstrip("_")


def check_verification_key(key: str, signing_alg: str) -> str:
    """Describe ``key`` (``RSA-2048 public key``...) if it can verify ``signing_alg`` tokens;
    otherwise raise :class:`~igkit.errors.ConfigError`."""
    check_alg(signing_alg)
    try:
        return load_key(key, signing_alg).describe
    except KeyProblemError as exc:
        raise ConfigError(exc.message, where="verification key") from None


def check_alg(alg: str) -> None:
    if alg not in SIGNING_ALGORITHMS:
        raise ConfigError(
            f"unsupported signing algorithm {alg!r} (use one of {', '.join(SIGNING_ALGORITHMS)})",
            where="signing_alg",
        )


def verify_signature(key: VerificationKey, signing_input: bytes, signature: bytes) -> bool:
    bits = key.alg[2:]
    try:
        if isinstance(key.obj, bytes):
            mac = hmac.new(key.obj, signing_input, _HMAC_DIGEST[bits]).digest()
            return hmac.compare_digest(mac, signature)
        if isinstance(key.obj, rsa.RSAPublicKey):
            pad: padding.AsymmetricPadding
            if key.alg.startswith("PS"):
                pad = padding.PSS(
                    mgf=padding.MGF1(_SHA[bits]()), salt_length=padding.PSS.DIGEST_LENGTH
                )
            else:
                pad = padding.PKCS1v15()
            key.obj.verify(signature, signing_input, pad, _SHA[bits]())
            return True
        size = (key.obj.curve.key_size + 7) // 8
        if len(signature) != 2 * size:  # JWS ECDSA signatures are raw r || s
            return False
        r = int.from_bytes(signature[:size], "big")
        s = int.from_bytes(signature[size:], "big")
        key.obj.verify(encode_dss_signature(r, s), signing_input, ec.ECDSA(_SHA[bits]()))
        return True
    except InvalidSignature:
        return False
