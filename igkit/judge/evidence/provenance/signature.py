"""The ``signature`` step: which document this is (bare DSSE, Sigstore bundle) and which
signer mode the policy asks for, dispatched to keyed or keyless verification."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from igkit.judge.evidence.checks import error, failed, passed
from igkit.judge.evidence.dsse import (
    DsseProblem,
    parse_envelope,
    verify_envelope,
)
from igkit.judge.evidence.keys import PublicKey, UnusableKeyError, load_public_key
from igkit.judge.evidence.provenance.common import Signed, Steps, not_a_document, read_document
from igkit.judge.evidence.provenance.keyed import keyed_message
from igkit.judge.evidence.provenance.policy import BUNDLE_MEDIA_TYPES, SignerPolicy
from igkit.judge.evidence.provenance.sigstore_bundle import verify_keyless


def check_signature(
    s: Steps, content: bytes, policy: SignerPolicy, sha256: str, at: datetime
) -> Signed:
    def err(detail: str) -> Signed:
        return Signed(error("signature", detail, s.subject))

    def fail(detail: str) -> Signed:
        return Signed(failed("signature", detail, s.subject))

    doc = read_document(content)
    if isinstance(doc, str):
        return err(doc)
    is_bundle = "mediaType" in doc or "verificationMaterial" in doc
    if not is_bundle and "payloadType" not in doc:
        return err(not_a_document(doc))

    mode = signer_mode(policy)
    if isinstance(mode, str):
        return err(mode)

    if is_bundle:
        media_type = doc.get("mediaType")
        if media_type not in BUNDLE_MEDIA_TYPES:
            return err(
                f"unknown Sigstore bundle media type {media_type!r} "
                f"(known: {', '.join(BUNDLE_MEDIA_TYPES)})"
            )
        if "dsseEnvelope" not in doc and "messageSignature" not in doc:
            return err("the bundle holds neither a DSSE envelope nor a message signature")

    if isinstance(mode, list):  # keyed
        if is_bundle and "messageSignature" in doc:
            return keyed_message(s, doc, mode, sha256)
        envelope_obj = doc["dsseEnvelope"] if is_bundle else doc
        if not isinstance(envelope_obj, Mapping):
            return err("the bundle's dsseEnvelope is not a JSON object")
        envelope = parse_envelope(envelope_obj)
        if isinstance(envelope, DsseProblem):
            return err(envelope.reason)
        result = verify_envelope(envelope, mode)
        if isinstance(result, DsseProblem):
            return fail(result.reason)
        where = "Sigstore bundle" if is_bundle else "DSSE envelope"
        return Signed(
            passed(
                "signature",
                f"{where}: DSSE signature #{result.signature_index + 1} verifies with allowed key "
                f"{result.key_fingerprint} ({result.key_kind}); key-based check, no transparency "
                "log consulted",
                s.subject,
            ),
            statement=envelope.payload,
            signer=result.key_fingerprint,
        )

    identity, issuer = mode
    if not is_bundle:
        return err(
            "keyless verification needs a Sigstore bundle, but this is a bare DSSE envelope with no "
            "transparency-log proof (slsa-verifier would search Rekor online; igkit stays offline)"
        )
    return verify_keyless(s, doc, policy, identity, issuer, sha256, at)


def signer_mode(policy: SignerPolicy) -> list[PublicKey] | tuple[str, str] | str:
    """Keys, or (identity, issuer), or why the policy cannot be used."""
    keyless = policy.certificate_identity or policy.certificate_oidc_issuer
    if policy.keys and keyless:
        return "the policy gives both keys and a certificate identity; give one or the other"
    if policy.keys:
        if policy.trusted_root is not None:
            return "a trusted root only applies to keyless verification; drop it or the keys"
        keys: list[PublicKey] = []
        for i, pem in enumerate(policy.keys, start=1):
            try:
                keys.append(load_public_key(pem))
            except UnusableKeyError as exc:
                return f"key #{i} cannot be used: {exc}"
        return keys
    if not keyless:
        return (
            "the policy names no signer: give public keys, or a certificate identity and "
            "OIDC issuer"
        )
    if not policy.certificate_identity or not policy.certificate_oidc_issuer:
        return "keyless verification needs both a certificate identity and an OIDC issuer"
    return policy.certificate_identity, policy.certificate_oidc_issuer
