"""SLSA provenance verified offline: signature, statement, subject, builder, level, source.

:func:`verify_provenance` takes the provenance file's bytes - a bare DSSE envelope, an
``.intoto.jsonl`` (first non-empty line) or a Sigstore bundle holding a DSSE envelope - and
returns one :class:`~igkit.judge.evidence.checks.Check` per step, in this order::

    signature -> statement -> subject digest -> builder -> slsa level -> source

Signatures are checked either with PEM public keys (``policy.keys``; the DSSE signature only,
no transparency log) or keyless with sigstore-python against a trusted root, fully offline
(``certificate_identity`` + ``certificate_oidc_issuer``). Steps fail closed: a step that cannot
run because an earlier one failed is reported as FAIL with ``not checked: <why>``, never
dropped and never PASS. Nothing raises to the caller.

Builder and source rules follow slsa-verifier: an allowed builder id without ``@ref`` matches
any ref of that builder; the source is compared without ``git+https://`` and ``@ref``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

import sigstore
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sigstore.errors import Error as SigstoreError
from sigstore.errors import VerificationError as SigstoreVerificationError
from sigstore.hashes import Hashed
from sigstore.models import Bundle, ClientTrustConfig, InvalidBundle, TrustedRoot
from sigstore.verify import Verifier
from sigstore.verify.policy import Identity
from sigstore_models.common.v1 import HashAlgorithm
from sigstore_models.trustroot.v1 import TrustedRoot as TrustedRootMessage

from igkit.judge.evidence.checks import Check, error, failed, passed
from igkit.judge.evidence.dsse import (
    IN_TOTO_PAYLOAD_TYPE,
    DsseProblem,
    decode_b64,
    parse_envelope,
    verify_envelope,
)
from igkit.judge.evidence.keys import PublicKey, UnusableKeyError, load_public_key, verify_digest
from igkit.judge.evidence.keys import describe as describe_key
from igkit.judge.evidence.keys import fingerprint as key_fingerprint
from igkit.strictdoc import DocumentError, load_json, validation_message
from igkit.verdicts import Status

__all__ = [
    "BUNDLE_MEDIA_TYPES",
    "SLSA_PROVENANCE_TYPES",
    "STATEMENT_TYPES",
    "STEPS",
    "ProvenancePolicy",
    "SignerPolicy",
    "load_trusted_root",
    "production_trusted_root",
    "verify_artifact_signature",
    "verify_provenance",
]

STEPS = ("signature", "statement", "subject digest", "builder", "slsa level", "source")
STATEMENT_TYPES = ("https://in-toto.io/Statement/v1", "https://in-toto.io/Statement/v0.1")
SLSA_V1 = "https://slsa.dev/provenance/v1"
SLSA_V02 = "https://slsa.dev/provenance/v0.2"
SLSA_PROVENANCE_TYPES = (SLSA_V1, SLSA_V02)
BUNDLE_MEDIA_TYPES = tuple(t.value for t in Bundle.BundleType)
# Rekor entry kinds sigstore-python 4.5 can check against the bundle contents.
_DSSE_ENTRY_KINDS = {("dsse", "0.0.1"), ("hashedrekord", "0.0.2")}
_MESSAGE_ENTRY_KINDS = {("hashedrekord", "0.0.1"), ("hashedrekord", "0.0.2")}
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_SIGSTORE = f"sigstore-python {sigstore.__version__}"
PRODUCTION_ROOT_LABEL = "the Sigstore public-good production root shipped with sigstore-python"


class SignerPolicy(BaseModel):
    """Who may have signed: PEM public keys, or a Sigstore certificate identity and issuer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    keys: list[str] = Field(default_factory=list, description="PEM public keys (keyed mode)")
    certificate_identity: str | None = Field(
        default=None, description="expected certificate SAN, e.g. a workflow URI@ref (keyless)"
    )
    certificate_oidc_issuer: str | None = Field(
        default=None,
        description="expected OIDC issuer, e.g. https://token.actions.githubusercontent.com",
    )
    trusted_root: str | None = Field(
        default=None,
        description="JSON text of a Sigstore trusted root; None = sigstore-python's production root, offline",
    )


class ProvenancePolicy(SignerPolicy):
    """What SLSA provenance must say for an artifact to be accepted."""

    builders: dict[str, Annotated[int, Field(ge=0, le=4)]] = Field(
        default_factory=dict,
        description="allowed builder.id -> SLSA build level; an id without @ref matches any ref",
    )
    min_slsa_level: int = Field(default=3, ge=0, le=4)
    source_uri: str | None = Field(
        default=None, description="e.g. github.com/slsa-framework/example-package"
    )
    source_ref: str | None = Field(
        default=None, description="refs/tags/v1.2.3, refs/heads/main, or the short v1.2.3 / main"
    )


# --------------------------------------------------------------------------- public API


def verify_provenance(
    *,
    artifact_name: str,
    artifact_sha256: str,
    provenance: bytes,
    policy: ProvenancePolicy,
    at: datetime,
) -> list[Check]:
    """One Check per step in :data:`STEPS` for ``artifact_name`` against ``provenance``.

    ``at`` is the evaluation time: evidence signed or built after it is rejected.
    """
    s = _Steps(artifact_name)
    at = _aware(at)
    digest_problem = _digest_problem(artifact_sha256)
    signed = _signature(s, provenance, policy, artifact_sha256.strip().lower(), at)
    s.add(signed.check)
    if signed.statement is None:
        why = signed.skip_reason or (
            "the signature did not verify"
            if signed.check.status is Status.FAIL
            else "the signature could not be checked"
        )
        return s.skip_rest(f"not checked: {why}")

    prov = _statement(s, signed.statement, at)
    if prov is None:
        return s.skip_rest("not checked: the statement is not usable SLSA provenance")

    if digest_problem:
        s.add(error("subject digest", digest_problem, artifact_name))
    else:
        s.add(_subject_digest(s, prov, artifact_sha256.strip().lower()))

    match = _match_builder(prov.builder_id, policy.builders) if prov.builder_id else None
    s.add(_builder(s, prov, policy, match))
    s.add(_level(s, policy, match))
    s.add(_source(s, prov, policy))
    return s.checks


def verify_artifact_signature(
    *,
    artifact_name: str,
    artifact_sha256: str,
    bundle: bytes,
    policy: SignerPolicy,
    at: datetime,
) -> list[Check]:
    """The ``signature`` Check of a Sigstore bundle that signs the artifact itself.

    For ``cosign sign-blob --bundle`` / ``sigstore sign`` style bundles (``messageSignature``),
    verified by digest; a bundle holding a DSSE envelope is checked with
    :func:`verify_provenance` instead.
    """
    s = _Steps(artifact_name)
    problem = _digest_problem(artifact_sha256)
    if problem:
        return [error("signature", problem, artifact_name)]
    signed = _signature(s, bundle, policy, artifact_sha256.strip().lower(), _aware(at))
    if signed.check.ok and not signed.message_signature:
        return [
            failed(
                "signature",
                "the bundle holds a DSSE envelope, not a signature over the artifact; "
                "verify it as provenance/attestation instead",
                artifact_name,
            )
        ]
    return [signed.check]


def load_trusted_root(text: str | bytes) -> TrustedRoot:
    """Parse a Sigstore trusted root (``trusted_root.json``); ValueError says why not."""
    try:
        return TrustedRoot(TrustedRootMessage.from_json(text))
    except (ValueError, ValidationError, SigstoreError) as exc:
        raise ValueError(f"not a Sigstore trusted root: {_one_line(exc)}") from None


def production_trusted_root() -> TrustedRoot:
    """sigstore-python's production trusted root, offline (its cached/embedded copy)."""
    return ClientTrustConfig.production(offline=True).trusted_root


# --------------------------------------------------------------------------- steps plumbing


@dataclass
class _Steps:
    subject: str
    checks: list[Check] = field(default_factory=list)

    def add(self, check: Check) -> None:
        self.checks.append(check)

    def skip_rest(self, why: str) -> list[Check]:
        done = {c.name for c in self.checks}
        for name in STEPS:
            if name not in done:
                self.checks.append(failed(name, why, self.subject))
        return self.checks


@dataclass(frozen=True)
class _Signed:
    check: Check
    statement: bytes | None = None  # the verified in-toto payload, when there is one
    message_signature: bool = False
    skip_reason: str | None = None


@dataclass(frozen=True)
class _Provenance:
    slsa: str  # "v1" or "v0.2"
    subjects: list[tuple[str, dict[str, str]]]
    builder_id: str | None
    sources: list[tuple[str, str, str | None]]  # (where, uri, ref)


# --------------------------------------------------------------------------- signature


def _signature(
    s: _Steps, content: bytes, policy: SignerPolicy, sha256: str, at: datetime
) -> _Signed:
    def err(detail: str) -> _Signed:
        return _Signed(error("signature", detail, s.subject))

    def fail(detail: str) -> _Signed:
        return _Signed(failed("signature", detail, s.subject))

    doc = _read_document(content)
    if isinstance(doc, str):
        return err(doc)
    is_bundle = "mediaType" in doc or "verificationMaterial" in doc
    if not is_bundle and "payloadType" not in doc:
        return err(_not_a_document(doc))

    mode = _signer_mode(policy)
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
            return _keyed_message(s, doc, mode, sha256)
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
        return _Signed(
            passed(
                "signature",
                f"{where}: DSSE signature #{result.signature_index + 1} verifies with allowed key "
                f"{result.key_fingerprint} ({result.key_kind}); key-based check, no transparency "
                "log consulted",
                s.subject,
            ),
            statement=envelope.payload,
        )

    identity, issuer = mode
    if not is_bundle:
        return err(
            "keyless verification needs a Sigstore bundle, but this is a bare DSSE envelope with no "
            "transparency-log proof (slsa-verifier would search Rekor online; igkit stays offline)"
        )
    return _keyless(s, doc, policy, identity, issuer, sha256, at)


def _keyed_message(
    s: _Steps, doc: Mapping[str, Any], keys: list[PublicKey], sha256: str
) -> _Signed:
    if _digest_problem(sha256):
        return _Signed(error("signature", str(_digest_problem(sha256)), s.subject))
    msg = doc.get("messageSignature")
    if not isinstance(msg, Mapping) or not isinstance(msg.get("signature"), str):
        return _Signed(error("signature", "messageSignature has no signature", s.subject))
    sig = decode_b64(msg["signature"])
    if sig is None:
        return _Signed(error("signature", "the message signature is not valid base64", s.subject))
    hint = msg.get("messageDigest")
    if isinstance(hint, Mapping) and isinstance(hint.get("digest"), str):
        signed_digest = decode_b64(hint["digest"])
        if signed_digest is not None and signed_digest.hex() != sha256:
            return _Signed(
                failed(
                    "signature",
                    f"the bundle signs sha256 {signed_digest.hex()}, the artifact's is {sha256}",
                    s.subject,
                ),
                message_signature=True,
            )
    for key in keys:
        if verify_digest(key, sig, bytes.fromhex(sha256)):
            return _Signed(
                passed(
                    "signature",
                    f"message signature over sha256 {sha256} verifies with allowed key "
                    f"{key_fingerprint(key)} ({describe_key(key)}); key-based check, no "
                    "transparency log consulted",
                    s.subject,
                ),
                message_signature=True,
                skip_reason=_MESSAGE_NOT_PROVENANCE,
            )
    return _Signed(
        failed(
            "signature",
            f"the message signature does not verify over the artifact's sha256 {sha256} with any "
            f"of the {len(keys)} allowed key(s)",
            s.subject,
        ),
        message_signature=True,
    )


_MESSAGE_NOT_PROVENANCE = (
    "the bundle signs the artifact directly (messageSignature); it carries no provenance statement"
)


def _keyless(
    s: _Steps,
    doc: Mapping[str, Any],
    policy: SignerPolicy,
    identity: str,
    issuer: str,
    sha256: str,
    at: datetime,
) -> _Signed:
    def err(detail: str) -> _Signed:
        return _Signed(error("signature", detail, s.subject))

    def fail(detail: str) -> _Signed:
        return _Signed(failed("signature", detail, s.subject))

    try:
        bundle = Bundle.from_json(json.dumps(doc))
    except InvalidBundle as exc:
        hint = ""
        if "publicKey" in _obj(doc, "verificationMaterial"):
            hint = " (the bundle is signed with a managed key: verify it with that public key)"
        return err(f"{_SIGSTORE} refuses to load the bundle: {_bundle_problem(exc)}{hint}")
    except Exception as exc:  # sigstore's parser may raise more than InvalidBundle
        return err(f"{_SIGSTORE} could not load the bundle: {_one_line(exc)}")

    is_dsse = "dsseEnvelope" in doc
    kinds = _tlog_kinds(doc)
    supported = _DSSE_ENTRY_KINDS if is_dsse else _MESSAGE_ENTRY_KINDS
    unsupported = [k for k in kinds if k not in supported]
    if unsupported:
        kind, version = unsupported[0]
        allowed = ", ".join(f"{k} {v}" for k, v in sorted(supported))
        return err(
            f"{_SIGSTORE} cannot verify a Rekor {kind} {version} transparency-log entry for a "
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
            return err(f"{_SIGSTORE} has no offline production trusted root: {_one_line(exc)}")
        root_label = PRODUCTION_ROOT_LABEL

    try:
        verifier = Verifier(trusted_root=root)
        who = Identity(identity=identity, issuer=issuer)
        if is_dsse:
            payload_type, payload = verifier.verify_dsse(bundle, who)
        elif _digest_problem(sha256):
            return err(str(_digest_problem(sha256)))
        else:
            digest = Hashed(algorithm=HashAlgorithm.SHA2_256, digest=bytes.fromhex(sha256))
            verifier.verify_artifact(digest, bundle, who)
            payload_type, payload = "", b""
    except SigstoreVerificationError as exc:
        return fail(f"Sigstore verification against {root_label} failed: {_one_line(exc)}")
    except Exception as exc:
        return err(f"{_SIGSTORE} could not verify the bundle: {_one_line(exc)}")

    signed_at = bundle.signing_certificate.not_valid_before_utc
    if signed_at > at:
        return fail(
            f"the signing certificate was issued at {_iso(signed_at)}, after the evaluation time "
            f"{_iso(at)}: this evidence did not exist yet"
        )
    kind, version = kinds[0] if kinds else ("?", "?")
    what = (
        f"certificate identity {identity} (issuer {issuer}), chained to {root_label}, "
        f"signed {_iso(signed_at)}, Rekor {kind} {version} entry checked offline"
    )
    if not is_dsse:
        return _Signed(
            passed(
                "signature", f"Sigstore message signature over sha256 {sha256}: {what}", s.subject
            ),
            message_signature=True,
            skip_reason=_MESSAGE_NOT_PROVENANCE,
        )
    if payload_type != IN_TOTO_PAYLOAD_TYPE:
        return fail(
            f"the signed DSSE payloadType is {payload_type!r}, expected {IN_TOTO_PAYLOAD_TYPE!r}"
        )
    return _Signed(
        passed("signature", f"Sigstore DSSE bundle: {what}", s.subject), statement=payload
    )


def _signer_mode(policy: SignerPolicy) -> list[PublicKey] | tuple[str, str] | str:
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


# --------------------------------------------------------------------------- statement


def _statement(s: _Steps, payload: bytes, at: datetime) -> _Provenance | None:
    def fail(detail: str) -> None:
        s.add(failed("statement", detail, s.subject))

    try:
        st = load_json(payload, where="the signed statement")
    except DocumentError as exc:
        if exc.message.startswith(("invalid JSON", "not UTF-8")):
            fail("the signed payload is not JSON")
        else:
            s.add(
                error("statement", f"the signed statement is unreadable: {exc.message}", s.subject)
            )
        return None
    if not isinstance(st, dict):
        fail("the signed payload is not a JSON object")
        return None
    stype, ptype = st.get("_type"), st.get("predicateType")
    if stype not in STATEMENT_TYPES:
        fail(f"_type is {stype!r}, not an in-toto Statement ({' or '.join(STATEMENT_TYPES)})")
        return None
    if ptype not in SLSA_PROVENANCE_TYPES:
        fail(
            f"predicateType is {ptype!r}, not SLSA provenance ({' or '.join(SLSA_PROVENANCE_TYPES)})"
        )
        return None
    subjects = _subjects(st.get("subject"))
    if not subjects:
        fail("the statement has no subjects (name + digest)")
        return None
    pred = st.get("predicate")
    if not isinstance(pred, dict):
        fail("the statement has no predicate object")
        return None
    if ptype == SLSA_V1:
        slsa = "v1"
        run = _obj(pred, "runDetails")
        builder = _obj(run, "builder").get("id")
        meta = _obj(run, "metadata")
        finished = meta.get("finishedOn") or meta.get("startedOn")
        sources = _sources_v1(_obj(pred, "buildDefinition"))
    else:
        slsa = "v0.2"
        builder = _obj(pred, "builder").get("id")
        meta = _obj(pred, "metadata")
        finished = meta.get("buildFinishedOn") or meta.get("buildStartedOn")
        uri = _obj(_obj(pred, "invocation"), "configSource").get("uri")
        sources = (
            [("invocation.configSource.uri", *_split_ref(uri))] if isinstance(uri, str) else []
        )
    built = _parse_time(finished)
    if built is not None and built > at:
        fail(
            f"the provenance says the build ran at {_iso(built)}, after the evaluation time "
            f"{_iso(at)}: this evidence did not exist yet"
        )
        return None
    version = str(stype).rsplit("/", 1)[-1]
    s.add(
        passed(
            "statement",
            f"in-toto Statement {version} with SLSA provenance {slsa}, {len(subjects)} subject(s)",
            s.subject,
        )
    )
    return _Provenance(
        slsa=slsa,
        subjects=subjects,
        builder_id=builder if isinstance(builder, str) and builder else None,
        sources=sources,
    )


def _subjects(raw: object) -> list[tuple[str, dict[str, str]]]:
    out: list[tuple[str, dict[str, str]]] = []
    if not isinstance(raw, list):
        return out
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("digest"), dict):
            continue
        digest = {str(k).lower(): str(v).lower() for k, v in item["digest"].items()}
        out.append((str(item.get("name", "")), digest))
    return out


def _sources_v1(build: Mapping[str, Any]) -> list[tuple[str, str, str | None]]:
    out: list[tuple[str, str, str | None]] = []
    workflow = _obj(_obj(build, "externalParameters"), "workflow")
    repo = workflow.get("repository")
    if isinstance(repo, str) and repo:
        uri, ref_in_uri = _split_ref(repo)
        ref = workflow.get("ref")
        out.append(
            (
                "externalParameters.workflow",
                uri,
                ref if isinstance(ref, str) and ref else ref_in_uri,
            )
        )
    deps = build.get("resolvedDependencies")
    if isinstance(deps, list) and deps and isinstance(deps[0], dict):
        dep_uri = deps[0].get("uri")
        if isinstance(dep_uri, str) and dep_uri:
            out.append(("resolvedDependencies[0].uri", *_split_ref(dep_uri)))
    return out


# --------------------------------------------------------------------------- subject, builder


def _subject_digest(s: _Steps, prov: _Provenance, sha256: str) -> Check:
    present = ", ".join(
        f"{name or '(unnamed)'} ({_digest_summary(d)})" for name, d in prov.subjects
    )
    hits = [name or "(unnamed)" for name, d in prov.subjects if d.get("sha256") == sha256]
    if hits:
        return passed(
            "subject digest",
            f"the artifact's sha256 {sha256} is subject {', '.join(hits)}; subjects present: {present}",
            s.subject,
        )
    if not any("sha256" in d for _, d in prov.subjects):
        return failed(
            "subject digest",
            f"no subject carries a sha256 digest, so the artifact (sha256 {sha256}) cannot be "
            f"matched; subjects present: {present}",
            s.subject,
        )
    return failed(
        "subject digest",
        f"no subject has the artifact's sha256 {sha256}: the provenance is for other "
        f"artifacts; subjects present: {present}",
        s.subject,
    )


def _digest_summary(d: Mapping[str, str]) -> str:
    if "sha256" in d:
        return f"sha256 {d['sha256'][:16]}…"
    return ", ".join(f"{k} {v[:16]}…" for k, v in sorted(d.items())) or "no digest"


def _match_builder(builder_id: str, allowed: Mapping[str, int]) -> tuple[str, int] | None:
    """(allowed entry, level) for ``builder_id``: exact match first, then ref-less entries."""
    base, ref = _split_builder(builder_id)
    for entry, level in allowed.items():
        e_base, e_ref = _split_builder(entry)
        if e_base == base and e_ref is not None and ref is not None and _same_ref(e_ref, ref):
            return entry, level
    for entry, level in allowed.items():
        e_base, e_ref = _split_builder(entry)
        if e_ref is None and e_base == base:
            return entry, level
    return None


def _split_builder(builder_id: str) -> tuple[str, str | None]:
    base, sep, ref = builder_id.strip().rpartition("@")
    # An "@" in the authority (user@host) is not a ref: the base must already have a path.
    if not sep or "/" not in base.split("://", 1)[-1]:
        return builder_id.strip(), None
    return base, ref


def _same_ref(a: str, b: str) -> bool:
    return a == b or _short_ref(a) == _short_ref(b)


def _short_ref(ref: str) -> str:
    for prefix in ("refs/tags/", "refs/heads/"):
        if ref.startswith(prefix):
            return ref[len(prefix) :]
    return ref


def _builder(
    s: _Steps, prov: _Provenance, policy: ProvenancePolicy, match: tuple[str, int] | None
) -> Check:
    if prov.builder_id is None:
        where = "runDetails.builder.id" if prov.slsa == "v1" else "builder.id"
        return failed("builder", f"the provenance has no {where}", s.subject)
    if not policy.builders:
        return failed(
            "builder",
            f"built by {prov.builder_id}, but the policy allows no builder (give at least one)",
            s.subject,
        )
    if match is None:
        return failed(
            "builder",
            f"built by {prov.builder_id}, which is not an allowed builder "
            f"(allowed: {', '.join(sorted(policy.builders))})",
            s.subject,
        )
    how = "exactly" if match[0] == prov.builder_id else f"as {match[0]}"
    return passed("builder", f"built by {prov.builder_id}, allowed {how}", s.subject)


def _level(s: _Steps, policy: ProvenancePolicy, match: tuple[str, int] | None) -> Check:
    if match is None:
        return failed("slsa level", "not checked: the builder is not allowed", s.subject)
    entry, level = match
    need = policy.min_slsa_level
    if level >= need:
        return passed(
            "slsa level",
            f"builder {entry} is trusted at SLSA build level {level} (policy requires >= {need})",
            s.subject,
        )
    return failed(
        "slsa level",
        f"builder {entry} is trusted at SLSA build level {level}, below the required {need}",
        s.subject,
    )


# --------------------------------------------------------------------------- source


def _source(s: _Steps, prov: _Provenance, policy: ProvenancePolicy) -> Check:
    recorded = "; ".join(f"{u}@{r}" if r else u for _, u, r in prov.sources) or "nothing"
    if policy.source_uri is None and policy.source_ref is None:
        return passed(
            "source",
            f"no source policy configured (provenance records {recorded})",
            s.subject,
        )
    if not prov.sources:
        return failed(
            "source",
            "the provenance records no source repository, so the source policy cannot be met",
            s.subject,
        )
    want_uri = _normalize_uri(policy.source_uri) if policy.source_uri else None
    problems: list[str] = []
    for where, uri, ref in prov.sources:
        if want_uri is not None and _normalize_uri(uri) != want_uri:
            problems.append(f"{where} is {uri}, not {policy.source_uri}")
        if policy.source_ref is not None:
            if ref is None:
                problems.append(f"{where} records no ref")
            elif not _ref_matches(policy.source_ref, ref):
                problems.append(f"{where} ref is {ref}, not {policy.source_ref}")
    if problems:
        return failed("source", "; ".join(problems), s.subject)
    wanted = " @ ".join(x for x in (policy.source_uri, policy.source_ref) if x)
    return passed("source", f"built from {recorded}, as required ({wanted})", s.subject)


def _split_ref(uri: str) -> tuple[str, str | None]:
    base, sep, ref = uri.rpartition("@")
    if not sep or "/" not in _strip_scheme(base):
        return uri, None
    return base, ref or None


def _strip_scheme(uri: str) -> str:
    u = uri.strip()
    if u.startswith("git+"):
        u = u[len("git+") :]
    return u.split("://", 1)[-1]


def _normalize_uri(uri: str) -> str:
    base, _ = _split_ref(uri.strip())
    u = _strip_scheme(base).rstrip("/")
    return u.removesuffix(".git")


def _ref_matches(want: str, got: str) -> bool:
    want = want.strip()
    return got == want or got in (f"refs/heads/{want}", f"refs/tags/{want}")


# --------------------------------------------------------------------------- helpers


def _read_document(content: bytes) -> dict[str, Any] | str:
    """The JSON object of the file, or of its first non-empty line (JSON Lines)."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return "the provenance file is not UTF-8 text"
    if not text.strip():
        return "the provenance file is empty"
    try:
        obj = load_json(text, where="the provenance file")
    except DocumentError as whole:
        if not whole.message.startswith("invalid JSON"):
            return f"the provenance file is unreadable: {whole.message}"
        first = next(line for line in text.splitlines() if line.strip())
        try:
            obj = load_json(first, where="the provenance file (first JSON line)")
        except DocumentError as exc:
            if exc.message.startswith("invalid JSON"):
                return f"the provenance file is neither JSON nor JSON Lines ({exc.message})"
            return f"the provenance file is unreadable: {exc}"
    if not isinstance(obj, dict):
        return "the provenance file is not a JSON object"
    return obj


def _not_a_document(doc: Mapping[str, Any]) -> str:
    if "attestations" in doc:
        return (
            "this is an npm attestations document; pass one of its bundles "
            "(attestations[].bundle), not the whole list"
        )
    if "_type" in doc:
        return "this is an unsigned in-toto statement: there is no signature to verify"
    return "neither a DSSE envelope (payloadType, payload, signatures) nor a Sigstore bundle"


def _tlog_kinds(doc: Mapping[str, Any]) -> list[tuple[str, str]]:
    entries = _obj(doc, "verificationMaterial").get("tlogEntries")
    kinds: list[tuple[str, str]] = []
    if isinstance(entries, list):
        for entry in entries:
            kv = _obj(entry, "kindVersion") if isinstance(entry, dict) else {}
            kinds.append((str(kv.get("kind", "?")), str(kv.get("version", "?"))))
    return kinds


def _bundle_problem(exc: InvalidBundle) -> str:
    """InvalidBundle's reason in one line; pydantic's field errors as ``path: message``."""
    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, ValidationError):
        return f"malformed bundle - {validation_message(cause)}"
    return _one_line(exc)


def _digest_problem(sha256: str) -> str | None:
    if not _SHA256_HEX.fullmatch(sha256.strip().lower()):
        return f"the artifact sha256 {sha256!r} is not 64 hex digits"
    return None


def _obj(parent: object, key: str) -> dict[str, Any]:
    if isinstance(parent, Mapping):
        value = parent.get(key)
        if isinstance(value, dict):
            return value
    return {}


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return _aware(datetime.fromisoformat(value))
    except ValueError:
        return None


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _one_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return " ".join(lines[:2]) if lines else type(exc).__name__
