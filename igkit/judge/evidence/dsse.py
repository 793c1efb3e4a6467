"""DSSE envelopes (https://github.com/secure-systems-lab/dsse): parse, PAE, verify with keys.

Nothing here raises to the caller: :func:`parse_envelope` returns an :class:`Envelope` or a
:class:`DsseProblem`, :func:`verify_envelope` a :class:`DsseVerified` or a :class:`DsseProblem`.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from igkit.judge.evidence.keys import PublicKey, describe, fingerprint, verify_message
from igkit.strictdoc import DocumentError, load_json

IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"

ProblemKind = Literal["malformed", "unsigned", "payload type", "no keys", "bad signature"]


@dataclass(frozen=True, slots=True)
class Signature:
    keyid: str
    sig: bytes


@dataclass(frozen=True, slots=True)
class Envelope:
    payload_type: str
    payload: bytes
    signatures: tuple[Signature, ...]


@dataclass(frozen=True, slots=True)
class DsseProblem:
    """Why an envelope was rejected. ``malformed`` means it could not even be read."""

    kind: ProblemKind
    reason: str


@dataclass(frozen=True, slots=True)
class DsseVerified:
    envelope: Envelope
    signature_index: int
    key_fingerprint: str
    key_kind: str


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 Pre-Authentication Encoding: what is actually signed."""
    t = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


def decode_b64(text: str) -> bytes | None:
    """Standard or URL-safe base64, padding optional (DSSE allows both); None if garbage."""
    if not isinstance(text, str):
        return None
    s = text.strip()
    s += "=" * (-len(s) % 4)
    try:
        return base64.b64decode(s, validate=True)
    except (binascii.Error, ValueError):
        pass
    try:
        return base64.b64decode(s.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        return None


def parse_envelope(data: bytes | str | Mapping[str, object]) -> Envelope | DsseProblem:
    """Read a DSSE envelope from JSON text or an already-decoded JSON object."""
    obj: object = data
    if isinstance(data, bytes | str):
        try:
            obj = load_json(data, where="the DSSE envelope")
        except DocumentError as exc:
            if exc.message.startswith(("invalid JSON", "not UTF-8")):
                return DsseProblem("malformed", f"the envelope is not JSON ({exc.message})")
            return DsseProblem("malformed", f"the envelope is unreadable: {exc.message}")
    if not isinstance(obj, Mapping):
        return DsseProblem("malformed", "the envelope is not a JSON object")
    payload_type = obj.get("payloadType")
    if not isinstance(payload_type, str):
        return DsseProblem("malformed", "the envelope has no payloadType string")
    raw_payload = obj.get("payload")
    if not isinstance(raw_payload, str):
        return DsseProblem("malformed", "the envelope has no payload string")
    payload = decode_b64(raw_payload)
    if payload is None:
        return DsseProblem("malformed", "the envelope payload is not valid base64")
    raw_sigs = obj.get("signatures", [])
    if not isinstance(raw_sigs, list):
        return DsseProblem("malformed", "the envelope signatures field is not a list")
    signatures: list[Signature] = []
    for i, item in enumerate(raw_sigs):
        if not isinstance(item, Mapping) or not isinstance(item.get("sig"), str):
            return DsseProblem("malformed", f"signature #{i + 1} has no sig string")
        sig = decode_b64(str(item["sig"]))
        if sig is None:
            return DsseProblem("malformed", f"signature #{i + 1} is not valid base64")
        keyid = item.get("keyid")
        signatures.append(Signature(keyid=keyid if isinstance(keyid, str) else "", sig=sig))
    return Envelope(payload_type=payload_type, payload=payload, signatures=tuple(signatures))


def verify_envelope(
    envelope: Envelope,
    keys: Sequence[PublicKey],
    *,
    payload_type: str | None = IN_TOTO_PAYLOAD_TYPE,
) -> DsseVerified | DsseProblem:
    """Accept when at least one signature verifies with one of ``keys``.

    ``keyid`` hints are not authenticated, so every signature is tried with every key.
    ``payload_type=None`` skips the payload type check.
    """
    if payload_type is not None and envelope.payload_type != payload_type:
        return DsseProblem(
            "payload type",
            f"payloadType is {envelope.payload_type!r}, expected {payload_type!r}",
        )
    if not envelope.signatures:
        return DsseProblem("unsigned", "the envelope has zero signatures")
    if not keys:
        return DsseProblem("no keys", "no public key to verify with")
    message = pae(envelope.payload_type, envelope.payload)
    for index, signature in enumerate(envelope.signatures):
        for key in keys:
            if verify_message(key, signature.sig, message):
                return DsseVerified(envelope, index, fingerprint(key), describe(key))
    keyids = sorted({s.keyid for s in envelope.signatures if s.keyid})
    hint = f" (signature keyids: {', '.join(keyids)})" if keyids else ""
    return DsseProblem(
        "bad signature",
        f"none of the {len(envelope.signatures)} signature(s) verifies with any of the "
        f"{len(keys)} allowed key(s){hint}: wrong key, or the payload was altered",
    )
