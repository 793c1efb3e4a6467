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

Modules, one job each: :mod:`.policy` (what is accepted), :mod:`.signature` (which document,
which signer mode), :mod:`.keyed` (DSSE/message signature with PEM keys),
:mod:`.sigstore_bundle` (keyless, sigstore-python, offline), :mod:`.statement` (in-toto
Statement, SLSA v1 / v0.2), :mod:`.rules` (subject digest, builder, level, source),
:mod:`.common` (step plumbing and small parsers).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from igkit.judge.evidence.checks import Check, error, failed
from igkit.judge.evidence.provenance.common import Steps, aware, digest_problem
from igkit.judge.evidence.provenance.policy import (
    BUNDLE_MEDIA_TYPES,
    SLSA_PROVENANCE_TYPES,
    STATEMENT_TYPES,
    STEPS,
    ProvenancePolicy,
    SignerPolicy,
)
from igkit.judge.evidence.provenance.rules import (
    builder_check,
    level_check,
    match_builder,
    source_check,
    subject_digest_check,
)
from igkit.judge.evidence.provenance.signature import check_signature
from igkit.judge.evidence.provenance.sigstore_bundle import (
    load_trusted_root,
    production_trusted_root,
)
from igkit.judge.evidence.provenance.statement import parse_statement
from igkit.verdicts import Status

__all__ = [
    "BUNDLE_MEDIA_TYPES",
    "SLSA_PROVENANCE_TYPES",
    "STATEMENT_TYPES",
    "STEPS",
    "ProvenancePolicy",
    "ProvenanceResult",
    "SignerPolicy",
    "inspect_provenance",
    "load_trusted_root",
    "production_trusted_root",
    "verify_artifact_signature",
    "verify_provenance",
]


@dataclass(frozen=True)
class ProvenanceResult:
    """The steps' checks and what the provenance verifiably says: every field is None unless
    the signature verified (``builder_id``/``source`` come from the signed statement,
    ``slsa_level`` is the level the policy grants that builder). For the reports, never to
    decide: the checks decide."""

    checks: list[Check]
    signer: str | None = None
    builder_id: str | None = None
    slsa_level: int | None = None
    source: str | None = None


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
    return inspect_provenance(
        artifact_name=artifact_name,
        artifact_sha256=artifact_sha256,
        provenance=provenance,
        policy=policy,
        at=at,
    ).checks


def inspect_provenance(
    *,
    artifact_name: str,
    artifact_sha256: str,
    provenance: bytes,
    policy: ProvenancePolicy,
    at: datetime,
) -> ProvenanceResult:
    """:func:`verify_provenance`'s checks, with the verified signer, builder, level and source."""
    s = Steps(artifact_name)
    at = aware(at)
    sha_problem = digest_problem(artifact_sha256)
    signed = check_signature(s, provenance, policy, artifact_sha256.strip().lower(), at)
    s.add(signed.check)
    signer = signed.signer if signed.check.ok else None
    if signed.statement is None:
        why = signed.skip_reason or (
            "the signature did not verify"
            if signed.check.status is Status.FAIL
            else "the signature could not be checked"
        )
        return ProvenanceResult(s.skip_rest(f"not checked: {why}"), signer=signer)

    prov = parse_statement(s, signed.statement, at)
    if prov is None:
        return ProvenanceResult(
            s.skip_rest("not checked: the statement is not usable SLSA provenance"), signer=signer
        )

    if sha_problem:
        s.add(error("subject digest", sha_problem, artifact_name))
    else:
        s.add(subject_digest_check(s, prov, artifact_sha256.strip().lower()))

    match = match_builder(prov.builder_id, policy.builders) if prov.builder_id else None
    s.add(builder_check(s, prov, policy, match))
    s.add(level_check(s, policy, match))
    s.add(source_check(s, prov, policy))
    sources = dict.fromkeys(f"{u}@{r}" if r else u for _, u, r in prov.sources)
    return ProvenanceResult(
        s.checks,
        signer=signer,
        builder_id=prov.builder_id,
        slsa_level=match[1] if match else None,
        source="; ".join(sources) or None,
    )


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
    s = Steps(artifact_name)
    problem = digest_problem(artifact_sha256)
    if problem:
        return [error("signature", problem, artifact_name)]
    signed = check_signature(s, bundle, policy, artifact_sha256.strip().lower(), aware(at))
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
