"""How evidence verdicts word trust: who signed, how that signer is trusted (the matrix's
anchors), or who the evidence merely claims signed it. Wording only: the verifiers decide."""

from __future__ import annotations

from igkit.judge.evidence.checks import Check
from igkit.spec.models import AttestationObjective, EvidenceObjective, OpaBundleObjective
from igkit.trust import Anchor, AnchorKind, TrustStore
from igkit.verdicts import Status


def signer_hint(content: bytes) -> str:
    """Who the evidence *says* signed it (DSSE keyids, a Sigstore key hint or certificate),
    for the reason line only: never used to decide, shortened, one line; "" when unreadable."""
    try:
        hint = _claimed_signer(content)
    except Exception:  # a cosmetic hint: the verifier itself reports a broken document
        return ""
    hint = " ".join(hint.split())
    return hint if len(hint) <= 200 else hint[:199] + "…"


def _claimed_signer(content: bytes) -> str:
    import base64
    import json

    from cryptography import x509

    doc = json.loads(content)
    if not isinstance(doc, dict):
        return ""
    material = doc.get("verificationMaterial")
    if isinstance(material, dict):
        hint = (material.get("publicKey") or {}).get("hint")
        if isinstance(hint, str) and hint:
            return f"key hint {hint}"
        cert = (
            material.get("certificate")
            or ((material.get("x509CertificateChain") or {}).get("certificates") or [None])[0]
        )
        raw = cert.get("rawBytes") if isinstance(cert, dict) else None
        if isinstance(raw, str):
            c = x509.load_der_x509_certificate(base64.b64decode(raw))
            sans = c.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            names = [str(n.value) for n in sans]
            return f"certificate for {', '.join(names)} issued by {c.issuer.rfc4514_string()}"
    envelope = doc.get("dsseEnvelope", doc)
    sigs = envelope.get("signatures") if isinstance(envelope, dict) else None
    keyids = sorted(
        {s["keyid"] for s in sigs or [] if isinstance(s, dict) and isinstance(s.get("keyid"), str)}
        - {""}
    )
    return f"keyid {', '.join(keyids)}" if keyids else ""


def how_trusted(anchors: list[Anchor], obj: AttestationObjective, signer: str | None) -> str:
    """How trust in the verified signer was established: the key anchors' how(), or the
    matrix's identity and issuer with the root they chain to."""
    if obj.keys:
        used = [a for a in anchors if signer is not None and a.fingerprint in signer] or anchors
        return "; ".join(a.how() for a in used)
    root = next((a for a in anchors if a.kind is AnchorKind.TRUSTED_ROOT), None)
    return (
        f"trusted (identity {obj.certificate_identity} and issuer "
        f"{obj.certificate_oidc_issuer} given by the matrix; "
        + (
            f"{root.kind} {root.name} {root.fingerprint} given by the matrix/trust dir)"
            if root
            else "sigstore-python's production trusted root, offline)"
        )
    )


def signature_wording(
    check: Check, anchors: list[Anchor], obj: AttestationObjective, content: bytes
) -> Check:
    """Say who signed and how trust in that signer was established (or that it was not)."""
    if check.name != "signature":
        return check
    if check.status is Status.PASS:
        how = how_trusted(anchors, obj, check.detail)
        return check.model_copy(update={"detail": f"{check.detail}; {how}"})
    if check.status is Status.FAIL:
        hint = signer_hint(content)
        trusted = ", ".join(f"{a.name} {a.fingerprint}" for a in anchors) or (
            "sigstore-python's production trusted root"
        )
        if any(a.fingerprint in hint for a in anchors):
            lead = f"not verified with the trusted signer ({hint})"
        else:
            lead = f"signed by an untrusted {'key' if obj.keys else 'signer'} ({hint or 'unnamed'})"
        return check.model_copy(
            update={"detail": f"{lead}: {check.detail}; trust anchors: {trusted}"}
        )
    return check


def jwt_wording(check: Check, anchor: Anchor) -> Check:
    if check.name != "jwt":
        return check
    if check.status is Status.PASS:
        detail = f"{check.detail}; signed by {anchor.fingerprint}, {anchor.how()}"
    elif check.status is Status.FAIL and check.detail.startswith("signature does not verify"):
        detail = (
            f"signed by an untrusted key (not {anchor.kind} {anchor.name} {anchor.fingerprint}): "
            f"{check.detail}"
        )
    else:
        return check
    return check.model_copy(update={"detail": detail})


def anchor_details(obj: EvidenceObjective, trust: TrustStore) -> dict[str, float | str | None]:
    """``trust anchor: NAME`` -> ``PASS: <kind> <fingerprint>`` or why it could not be used;
    never the anchor's bytes."""
    wanted: list[tuple[AnchorKind, str]] = []
    if isinstance(obj, AttestationObjective):
        wanted = [(AnchorKind.PUBLIC_KEY, k) for k in obj.keys]
        if obj.trusted_root is not None:
            wanted.append((AnchorKind.TRUSTED_ROOT, obj.trusted_root))
    elif isinstance(obj, OpaBundleObjective):
        hs = obj.signing_alg.startswith("HS")
        kind = AnchorKind.HMAC_SECRET if hs else AnchorKind.PUBLIC_KEY
        wanted = [(kind, obj.verification_key or "")]
    out: dict[str, float | str | None] = {}
    for kind, name in wanted:
        got = trust.get(kind, name)
        label = f"trust anchor: {got.name}"
        if isinstance(got, Anchor):
            out[label] = f"PASS: {got.kind} {got.fingerprint}"
        else:
            out[label] = f"{'FAIL' if got.untrusted else 'ERROR'}: {got.reason}"
    return out
