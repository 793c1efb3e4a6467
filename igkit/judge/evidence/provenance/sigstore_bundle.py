"""Keyless verification of a Sigstore bundle with sigstore-python, offline, against a
trusted root (certificate identity + OIDC issuer, Rekor entry checked from the bundle)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sigstore.errors import Error as SigstoreError
from sigstore.errors import VerificationError as SigstoreVerificationError
from sigstore.hashes import Hashed
from sigstore.models import Bundle, ClientTrustConfig, InvalidBundle, TrustedRoot
from sigstore.verify import Verifier
from sigstore.verify.policy import Identity
from sigstore_models.common.v1 import HashAlgorithm
from sigstore_models.trustroot.v1 import TrustedRoot as TrustedRootMessage

from igkit.judge.evidence.checks import error, failed, passed
from igkit.judge.evidence.dsse import (
    IN_TOTO_PAYLOAD_TYPE,
)
from igkit.judge.evidence.provenance.common import (
    MESSAGE_NOT_PROVENANCE,
    SIGSTORE,
    Signed,
    Steps,
    bundle_problem,
    digest_problem,
    iso,
    obj_field,
    one_line,
    tlog_kinds,
)
from igkit.judge.evidence.provenance.policy import PRODUCTION_ROOT_LABEL, SignerPolicy

# Rekor entry kinds sigstore-python 4.5 can check against the bundle contents.
_DSSE_ENTRY_KINDS = {("dsse", "0.0.1"), ("hashedrekord", "0.0.2")}
_MESSAGE_ENTRY_KINDS = {("hashedrekord", "0.0.1"), ("hashedrekord", "0.0.2")}


def load_trusted_root(text: str | bytes) -> TrustedRoot:
    """Parse a Sigstore trusted root (``trusted_root.json``); ValueError says why not."""
    try:
        return TrustedRoot(TrustedRootMessage.from_json(text))
    except (ValueError, ValidationError, SigstoreError) as exc:
        raise ValueError(f"not a Sigstore trusted root: {one_line(exc)}") from None


def production_trusted_root() -> TrustedRoot:
    """sigstore-python's production trusted root, offline (its cached/embedded copy)."""
    return ClientTrustConfig.production(offline=True).trusted_root


def verify_keyless(
    s: Steps,
    doc: Mapping[str, Any],
    policy: SignerPolicy,
    identity: str,
    issuer: str,
    sha256: str,
    at: datetime,
) -> Signed:
    def err(detail: str) -> Signed:
        return Signed(error("signature", detail, s.subject))

    def fail(detail: str) -> Signed:
        return Signed(failed("signature", detail, s.subject))

    try:
        bundle = Bundle.from_json(json.dumps(doc))
    except InvalidBundle as exc:
        hint = ""
        if "publicKey" in obj_field(doc, "verificationMaterial"):
            hint = " (the bundle is signed with a managed key: verify it with that public key)"
        return err(f"{SIGSTORE} refuses to load the bundle: {bundle_problem(exc)}{hint}")
    except Exception as exc:  # sigstore's parser may raise more than InvalidBundle
        return err(f"{SIGSTORE} could not load the bundle: {one_line(exc)}")

    is_dsse = "dsseEnvelope" in doc
    kinds = tlog_kinds(doc)
    supported = _DSSE_ENTRY_KINDS if is_dsse else _MESSAGE_ENTRY_KINDS
    unsupported = [k for k in kinds if k not in supported]
    if unsupported:
        kind, version = unsupported[0]
        allowed = ", ".join(f"{k} {v}" for k, v in sorted(supported))
        return err(
            f"{SIGSTORE} cannot verify a Rekor {kind} {version} transparency-log entry for a "
            f"{'DSSE' if is_dsse else 'message-signature'} bundle (it supports {allowed}); "
            "the bundle was not verified"
        )

    if policy.trusted_root is not None:
        try:
            root = load_trusted_root(policy.trusted_root)
        except ValueError as exc:
            return err(f"the policy's trusted root is unusable: {exc}")
        root_label = "the given trusted root"
    else:
        try:
            root = production_trusted_root()
        except Exception as exc:
            return err(f"{SIGSTORE} has no offline production trusted root: {one_line(exc)}")
        root_label = PRODUCTION_ROOT_LABEL

    try:
        verifier = Verifier(trusted_root=root)
        who = Identity(identity=identity, issuer=issuer)
        if is_dsse:
            payload_type, payload = verifier.verify_dsse(bundle, who)
        elif digest_problem(sha256):
            return err(str(digest_problem(sha256)))
        else:
            digest = Hashed(algorithm=HashAlgorithm.SHA2_256, digest=bytes.fromhex(sha256))
            verifier.verify_artifact(digest, bundle, who)
            payload_type, payload = "", b""
    except SigstoreVerificationError as exc:
        return fail(f"Sigstore verification against {root_label} failed: {one_line(exc)}")
    except Exception as exc:
        return err(f"{SIGSTORE} could not verify the bundle: {one_line(exc)}")

    signed_at = bundle.signing_certificate.not_valid_before_utc
    if signed_at > at:
        return fail(
            f"the signing certificate was issued at {iso(signed_at)}, after the evaluation time "
            f"{iso(at)}: this evidence did not exist yet"
        )
    kind, version = kinds[0] if kinds else ("?", "?")
    what = (
        f"certificate identity {identity} (issuer {issuer}), chained to {root_label}, "
        f"signed {iso(signed_at)}, Rekor {kind} {version} entry checked offline"
    )
    signer = f"certificate {identity} issued by {issuer}"
    if not is_dsse:
        return Signed(
            passed(
                "signature", f"Sigstore message signature over sha256 {sha256}: {what}", s.subject
            ),
            message_signature=True,
            skip_reason=MESSAGE_NOT_PROVENANCE,
            signer=signer,
        )
    if payload_type != IN_TOTO_PAYLOAD_TYPE:
        return fail(
            f"the signed DSSE payloadType is {payload_type!r}, expected {IN_TOTO_PAYLOAD_TYPE!r}"
        )
    return Signed(
        passed("signature", f"Sigstore DSSE bundle: {what}", s.subject),
        statement=payload,
        signer=signer,
    )
