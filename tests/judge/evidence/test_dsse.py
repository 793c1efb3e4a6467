"""DSSE envelopes and public keys: generated keys of every kind, plus real third-party envelopes."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from igkit.judge.evidence.dsse import (
    IN_TOTO_PAYLOAD_TYPE,
    DsseProblem,
    DsseVerified,
    Envelope,
    pae,
    parse_envelope,
    verify_envelope,
)
from igkit.judge.evidence.keys import (
    UnusableKeyError,
    describe,
    fingerprint,
    load_public_key,
    verify_digest,
)

THIRD_PARTY = Path(__file__).resolve().parents[2] / "fixtures" / "third_party"
SIGSTORE = THIRD_PARTY / "sigstore"
SLSA = THIRD_PARTY / "slsa" / "slsa-verifier"

Signer = Callable[[bytes], bytes]
PrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey


def _sign(key: PrivateKey, message: bytes, *, pss: bool = False) -> bytes:
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(message)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        algo = {256: hashes.SHA256(), 384: hashes.SHA384()}[key.curve.key_size]
        return key.sign(message, ec.ECDSA(algo))
    if pss:
        pad = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.MAX_LENGTH)
        return key.sign(message, pad, hashes.SHA256())
    return key.sign(message, padding.PKCS1v15(), hashes.SHA256())


def _pem(key: PrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def keys(rsa_key: rsa.RSAPrivateKey) -> dict[str, tuple[PrivateKey, bool]]:
    """name -> (private key, use PSS)."""
    return {
        "ecdsa-p256": (ec.generate_private_key(ec.SECP256R1()), False),
        "ecdsa-p384": (ec.generate_private_key(ec.SECP384R1()), False),
        "ed25519": (ed25519.Ed25519PrivateKey.generate(), False),
        "rsa-pkcs1v15": (rsa_key, False),
        "rsa-pss": (rsa_key, True),
    }


def _envelope(
    key: PrivateKey,
    payload: bytes = b'{"_type": "https://in-toto.io/Statement/v1"}',
    *,
    payload_type: str = IN_TOTO_PAYLOAD_TYPE,
    pss: bool = False,
    keyid: str = "",
) -> dict[str, object]:
    sig = _sign(key, pae(payload_type, payload), pss=pss)
    return {
        "payloadType": payload_type,
        "payload": base64.b64encode(payload).decode(),
        "signatures": [{"keyid": keyid, "sig": base64.b64encode(sig).decode()}],
    }


def _parsed(obj: object) -> Envelope:
    env = parse_envelope(json.dumps(obj))
    assert isinstance(env, Envelope), env
    return env


def test_pae_is_the_dsse_spec_encoding() -> None:
    # The worked example of the DSSE v1 protocol document.
    assert pae("http://example.com/HelloWorld", b"hello world") == (
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )
    assert pae("t\u00e9", b"") == b"DSSEv1 3 t\xc3\xa9 0 "  # byte lengths, not characters


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("ecdsa-p256", "ECDSA P-256"),
        ("ecdsa-p384", "ECDSA P-384"),
        ("ed25519", "Ed25519"),
        ("rsa-pkcs1v15", "RSA-2048"),
        ("rsa-pss", "RSA-2048"),
    ],
)
def test_every_key_kind_verifies(
    keys: dict[str, tuple[PrivateKey, bool]], name: str, kind: str
) -> None:
    priv, pss = keys[name]
    env = _parsed(_envelope(priv, pss=pss))
    public = load_public_key(_pem(priv))
    result = verify_envelope(env, [public])
    assert isinstance(result, DsseVerified), result
    assert result.key_kind == kind
    assert result.key_fingerprint == fingerprint(public)


@pytest.mark.parametrize("name", ["ecdsa-p256", "ecdsa-p384", "ed25519", "rsa-pkcs1v15", "rsa-pss"])
def test_tampered_payload_fails_for_every_key_kind(
    keys: dict[str, tuple[PrivateKey, bool]], name: str
) -> None:
    priv, pss = keys[name]
    obj = _envelope(priv, b'{"subject": "good"}', pss=pss)
    obj["payload"] = base64.b64encode(b'{"subject": "evil"}').decode()
    result = verify_envelope(_parsed(obj), [load_public_key(_pem(priv))])
    assert isinstance(result, DsseProblem)
    assert result.kind == "bad signature"
    assert "payload was altered" in result.reason


def test_wrong_key_fails(keys: dict[str, tuple[PrivateKey, bool]]) -> None:
    signer, _ = keys["ecdsa-p256"]
    other, _ = keys["ecdsa-p384"]
    ed, _ = keys["ed25519"]
    env = _parsed(_envelope(signer, keyid="release-key"))
    result = verify_envelope(env, [load_public_key(_pem(other)), load_public_key(_pem(ed))])
    assert isinstance(result, DsseProblem)
    assert result.kind == "bad signature"
    assert "2 allowed key(s)" in result.reason
    assert "release-key" in result.reason


def test_any_one_valid_signature_is_enough(keys: dict[str, tuple[PrivateKey, bool]]) -> None:
    a, _ = keys["ecdsa-p256"]
    b, _ = keys["ed25519"]
    obj = _envelope(a)
    second = _envelope(b)["signatures"]
    assert isinstance(obj["signatures"], list)
    assert isinstance(second, list)
    obj["signatures"] = [{"keyid": "x", "sig": base64.b64encode(b"\x00" * 64).decode()}, *second]
    result = verify_envelope(_parsed(obj), [load_public_key(_pem(b))])
    assert isinstance(result, DsseVerified)
    assert result.signature_index == 1


def test_payload_type_mismatch(keys: dict[str, tuple[PrivateKey, bool]]) -> None:
    priv, _ = keys["ecdsa-p256"]
    env = _parsed(_envelope(priv, payload_type="application/json"))
    result = verify_envelope(env, [load_public_key(_pem(priv))])
    assert isinstance(result, DsseProblem)
    assert result.kind == "payload type"
    assert "application/json" in result.reason
    # The signature itself is fine: checked without the type requirement it verifies.
    assert isinstance(
        verify_envelope(env, [load_public_key(_pem(priv))], payload_type=None), DsseVerified
    )


def test_zero_signatures(keys: dict[str, tuple[PrivateKey, bool]]) -> None:
    priv, _ = keys["ecdsa-p256"]
    obj = _envelope(priv)
    obj["signatures"] = []
    result = verify_envelope(_parsed(obj), [load_public_key(_pem(priv))])
    assert isinstance(result, DsseProblem)
    assert result.kind == "unsigned"


def test_no_keys(keys: dict[str, tuple[PrivateKey, bool]]) -> None:
    priv, _ = keys["ecdsa-p256"]
    result = verify_envelope(_parsed(_envelope(priv)), [])
    assert isinstance(result, DsseProblem)
    assert result.kind == "no keys"


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda o: o.update(payload="%%% not base64 %%%"), "payload is not valid base64"),
        (lambda o: o.update(signatures=[{"sig": "!!!!"}]), "signature #1 is not valid base64"),
        (lambda o: o.update(signatures=[{"keyid": "k"}]), "signature #1 has no sig"),
        (lambda o: o.update(signatures="nope"), "signatures field is not a list"),
        (lambda o: o.pop("payloadType"), "no payloadType"),
        (lambda o: o.pop("payload"), "no payload string"),
    ],
)
def test_malformed_envelopes_are_typed_problems(
    keys: dict[str, tuple[PrivateKey, bool]],
    mutate: Callable[[dict[str, object]], object],
    reason: str,
) -> None:
    priv, _ = keys["ecdsa-p256"]
    obj = _envelope(priv)
    mutate(obj)
    result = parse_envelope(json.dumps(obj))
    assert isinstance(result, DsseProblem)
    assert result.kind == "malformed"
    assert reason in result.reason


@pytest.mark.parametrize("raw", [b"\xff\xfe not utf8", b"not json", b"[1, 2]", b'"text"'])
def test_not_an_envelope(raw: bytes) -> None:
    result = parse_envelope(raw)
    assert isinstance(result, DsseProblem)
    assert result.kind == "malformed"


def test_url_safe_unpadded_base64_is_accepted(keys: dict[str, tuple[PrivateKey, bool]]) -> None:
    priv, _ = keys["ed25519"]
    payload = b"\xfb\xff" * 10  # encodes to + and / in standard base64
    obj = _envelope(priv, payload)
    sigs = obj["signatures"]
    assert isinstance(sigs, list)
    obj["payload"] = base64.urlsafe_b64encode(payload).decode().rstrip("=")
    env = _parsed(obj)
    assert env.payload == payload
    assert isinstance(verify_envelope(env, [load_public_key(_pem(priv))]), DsseVerified)


# --------------------------------------------------------------------------- real envelopes


def test_npm_registry_publish_attestation_verifies_with_npm_key() -> None:
    bundle = json.loads((SIGSTORE / "sigstore-go" / "bundle-publish.json").read_bytes())
    key = load_public_key((SIGSTORE / "sigstore-go" / "publish_key.pub").read_bytes())
    env = parse_envelope(bundle["dsseEnvelope"])
    assert isinstance(env, Envelope)
    result = verify_envelope(env, [key])
    assert isinstance(result, DsseVerified), result
    assert result.key_kind == "ECDSA P-256"
    statement = json.loads(env.payload)
    assert (
        statement["predicateType"]
        == "https://github.com/npm/attestation/tree/main/specs/publish/v0.1"
    )


def test_npm_publish_attestation_in_attestations_document_verifies() -> None:
    doc = json.loads((SLSA / "npm" / "gha" / "gundam-visor-cli-v1-tag.tgz.json").read_bytes())
    publish = next(
        a for a in doc["attestations"] if a["predicateType"].endswith("/specs/publish/v0.1")
    )
    env = parse_envelope(publish["bundle"]["dsseEnvelope"])
    assert isinstance(env, Envelope)
    key = load_public_key((SIGSTORE / "sigstore-go" / "publish_key.pub").read_bytes())
    assert isinstance(verify_envelope(env, [key]), DsseVerified)
    # One altered payload byte and the registry signature no longer holds.
    tampered = Envelope(env.payload_type, env.payload.replace(b"1.0.1", b"1.0.2"), env.signatures)
    assert tampered.payload != env.payload
    assert isinstance(verify_envelope(tampered, [key]), DsseProblem)


def test_google_vsa_raw_ecdsa_signature_verifies() -> None:
    raw = (SLSA / "vsa" / "gce" / "v1" / "gke-gce-pre.bcid-vsa.jsonl").read_bytes()
    env = parse_envelope(raw.splitlines()[0])
    assert isinstance(env, Envelope)
    assert len(env.signatures[0].sig) == 64  # IEEE P1363 r||s, not DER
    key = load_public_key((SLSA / "vsa" / "gce" / "v1" / "vsa_signing_public_key.pem").read_bytes())
    assert isinstance(verify_envelope(env, [key]), DsseVerified)
    npm_key = load_public_key((SIGSTORE / "sigstore-go" / "publish_key.pub").read_bytes())
    wrong = verify_envelope(env, [npm_key])
    assert isinstance(wrong, DsseProblem)
    assert wrong.kind == "bad signature"


# --------------------------------------------------------------------------- keys


def test_fingerprint_matches_sigstore_public_key_hint() -> None:
    case = SIGSTORE / "conformance" / "managed-key-happy-path"
    key = load_public_key((case / "key.pub").read_bytes())
    hint = json.loads((case / "bundle.sigstore.json").read_bytes())["verificationMaterial"][
        "publicKey"
    ]["hint"]
    assert fingerprint(key) == "SHA256:" + hint.rstrip("=")
    assert describe(key) == "ECDSA P-256"


def test_corrupted_conformance_key_is_unusable() -> None:
    pem = (SIGSTORE / "conformance" / "managed-key-wrong-key_fail" / "key.pub").read_bytes()
    with pytest.raises(UnusableKeyError, match="not a loadable PEM public key"):
        load_public_key(pem)


def test_weak_and_foreign_keys_are_refused() -> None:
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(UnusableKeyError, match="RSA-1024 is too weak"):
        load_public_key(_pem(weak))
    with pytest.raises(UnusableKeyError, match="not a PEM"):
        load_public_key("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA")
    with pytest.raises(UnusableKeyError, match="certificate"):
        load_public_key("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    k1 = ec.generate_private_key(ec.SECP256K1())
    with pytest.raises(UnusableKeyError, match="unsupported elliptic curve secp256k1"):
        load_public_key(_pem(k1))


def test_digest_signatures(keys: dict[str, tuple[PrivateKey, bool]]) -> None:
    import hashlib

    from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

    priv, _ = keys["ecdsa-p256"]
    digest = hashlib.sha256(b"artifact").digest()
    assert isinstance(priv, ec.EllipticCurvePrivateKey)
    sig = priv.sign(digest, ec.ECDSA(Prehashed(hashes.SHA256())))
    public = load_public_key(_pem(priv))
    assert verify_digest(public, sig, digest)
    assert not verify_digest(public, sig, hashlib.sha256(b"artifacT").digest())
    ed, _ = keys["ed25519"]
    assert not verify_digest(load_public_key(_pem(ed)), _sign(ed, digest), digest)
