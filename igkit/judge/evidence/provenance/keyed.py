"""Keyed verification: a DSSE envelope or a Sigstore message signature checked with the
policy's PEM public keys (no transparency log)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from igkit.judge.evidence.checks import error, failed, passed
from igkit.judge.evidence.dsse import (
    decode_b64,
)
from igkit.judge.evidence.keys import PublicKey, verify_digest
from igkit.judge.evidence.keys import describe as describe_key
from igkit.judge.evidence.keys import fingerprint as key_fingerprint
from igkit.judge.evidence.provenance.common import (
    MESSAGE_NOT_PROVENANCE,
    Signed,
    Steps,
    digest_problem,
)


def keyed_message(s: Steps, doc: Mapping[str, Any], keys: list[PublicKey], sha256: str) -> Signed:
    if digest_problem(sha256):
        return Signed(error("signature", str(digest_problem(sha256)), s.subject))
    msg = doc.get("messageSignature")
    if not isinstance(msg, Mapping) or not isinstance(msg.get("signature"), str):
        return Signed(error("signature", "messageSignature has no signature", s.subject))
    sig = decode_b64(msg["signature"])
    if sig is None:
        return Signed(error("signature", "the message signature is not valid base64", s.subject))
    hint = msg.get("messageDigest")
    if isinstance(hint, Mapping) and isinstance(hint.get("digest"), str):
        signed_digest = decode_b64(hint["digest"])
        if signed_digest is not None and signed_digest.hex() != sha256:
            return Signed(
                failed(
                    "signature",
                    f"the bundle signs sha256 {signed_digest.hex()}, the artifact's is {sha256}",
                    s.subject,
                ),
                message_signature=True,
            )
    for key in keys:
        if verify_digest(key, sig, bytes.fromhex(sha256)):
            return Signed(
                passed(
                    "signature",
                    f"message signature over sha256 {sha256} verifies with allowed key "
                    f"{key_fingerprint(key)} ({describe_key(key)}); key-based check, no "
                    "transparency log consulted",
                    s.subject,
                ),
                message_signature=True,
                skip_reason=MESSAGE_NOT_PROVENANCE,
                signer=key_fingerprint(key),
            )
    return Signed(
        failed(
            "signature",
            f"the message signature does not verify over the artifact's sha256 {sha256} with any "
            f"of the {len(keys)} allowed key(s)",
            s.subject,
        ),
        message_signature=True,
    )
