"""Evidence objectives (G3 supply chain, G4 bundle signature, G7 DR drill, G8 approvals and
comms) judged from evidence snapshots: the verifiers run on the captured bytes, so a
replay re-verifies every signature offline."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Literal, TypeVar

from igkit.judge.evidence import facts as ef
from igkit.judge.evidence.checks import Check, combine, error, failed, no_data, passed
from igkit.judge.evidence.release import (
    ReleaseArtifact,
    ReleaseFile,
    ReleaseFileError,
    check_change_ticket,
    cutover_at,
    parse_release,
)
from igkit.judge.evidence.trust_wording import (
    anchor_details,
    how_trusted,
    jwt_wording,
    signature_wording,
)
from igkit.snapshots import EvidenceFile, EvidenceSnapshot
from igkit.spec.models import (
    ApprovalsObjective,
    AttestationObjective,
    CommsObjective,
    DrillObjective,
    EvidenceObjective,
    OpaBundleObjective,
    SbomObjective,
)
from igkit.timeutil import human_duration, rfc3339
from igkit.trust import Anchor, AnchorKind, TrustStore, Unresolved
from igkit.verdicts import EvidenceFact, ObjectiveVerdict, Status

T = TypeVar("T")
Judged = tuple[list[Check], list[EvidenceFact]]
"""The checks of an objective and the facts of the documents they read."""


def _missing(role: str, f: EvidenceFile | None, what: str) -> Check | None:
    """A check for a file that could not be read, or None when its bytes are there."""
    if f is None:
        return no_data(what, f"{role} was not captured")
    if f.error == "missing" or (f.error or "").startswith("no evidence directory"):
        return no_data(what, f"{f.path}: {f.error}")
    if f.error:
        return error(what, f"{f.path}: {f.error}")
    return None


def _get(snap: EvidenceSnapshot, role: str, label: str, what: str) -> EvidenceFile | Check:
    """The captured file for ``role`` when its bytes are there, else the check saying why not."""
    f = snap.files.get(role)
    problem = _missing(label, f, what)
    if problem is not None:
        return problem
    assert f is not None
    return f


def _release(snap: EvidenceSnapshot) -> tuple[ReleaseFile | None, Check | None]:
    f = snap.files.get("release")
    problem = _missing("the release file", f, "release file")
    if problem is not None:
        return None, problem
    assert f is not None
    try:
        return parse_release(f.content() or b"", name=f.path), None
    except ReleaseFileError as exc:
        return None, error("release file", str(exc))


def _artifact_digest(
    snap: EvidenceSnapshot, artifact_name: str, declared: str | None
) -> tuple[str | None, Check | None]:
    f = snap.files.get(f"artifact:{artifact_name}")
    if f is not None:
        problem = _missing(f"artifact {artifact_name}", f, "artifact")
        if problem is not None:
            return None, problem.model_copy(update={"subject": artifact_name})
        if declared is not None and declared != f"sha256:{f.sha256}":
            return None, failed(
                "artifact digest",
                f"{f.path} has sha256:{f.sha256}, the release file says {declared}",
                artifact_name,
            )
        return f.sha256, None
    return (declared.removeprefix("sha256:") if declared else None), None


_DOCUMENTS = {"provenance": ("provenance", "provenance"), "sbom": ("SBOM or scan report", "SBOM")}


def _artifact_documents(
    snap: EvidenceSnapshot,
    release: ReleaseFile,
    kind: Literal["provenance", "sbom"],
    checks: list[Check],
) -> Iterator[tuple[ReleaseArtifact, str, EvidenceFile]]:
    """Each release artifact with its verified digest and captured ``kind`` document; an
    artifact whose digest, document or file is missing gets a FAIL in ``checks`` instead."""
    named, short = _DOCUMENTS[kind]
    for artifact in release.artifacts:
        digest, bad = _artifact_digest(snap, artifact.name, artifact.digest)
        if bad is not None or digest is None:
            checks.append(bad or no_data("artifact digest", "not captured", artifact.name))
            continue
        if getattr(artifact, kind) is None:
            checks.append(failed(kind, f"the release file names no {named} for it", artifact.name))
            continue
        f = snap.files.get(f"{kind}:{artifact.name}")
        bad = _missing(f"{short} of {artifact.name}", f, kind)
        if bad is not None or f is None:
            bad = bad or no_data(kind, "not captured")
            checks.append(bad.model_copy(update={"subject": artifact.name, "status": Status.FAIL}))
            continue
        yield artifact, digest, f


def _anchor_problem(got: Anchor | Unresolved, what: str) -> Check | None:
    """None for a usable anchor; FAIL for one inside the evidence directory, ERROR otherwise."""
    if isinstance(got, Anchor):
        return None
    if got.untrusted:
        return failed(what, got.reason)
    return error("trust anchor", got.reason)


def _digests(snap: EvidenceSnapshot, release: ReleaseFile) -> dict[str, str | None]:
    """Each artifact's sha256 hex as igkit verified/used it (None when it could not be)."""
    return {a.name: _artifact_digest(snap, a.name, a.digest)[0] for a in release.artifacts}


def _document_path(snap: EvidenceSnapshot, kind: str, artifact: ReleaseArtifact) -> str | None:
    f = snap.files.get(f"{kind}:{artifact.name}")
    return f.path if f is not None else getattr(artifact, kind)


def _release_only(snap: EvidenceSnapshot, problem: Check | None) -> Judged:
    checks = [problem] if problem else []
    return checks, [ef.release_fact(snap.files.get("release"), None, {}, checks, problem)]


def _attestation(
    obj: AttestationObjective, snap: EvidenceSnapshot, at: datetime, trust: TrustStore
) -> Judged:
    from igkit.judge.evidence.provenance import (
        ProvenancePolicy,
        ProvenanceResult,
        inspect_provenance,
    )

    release, problem = _release(snap)
    if release is None:
        return _release_only(snap, problem)
    digests = _digests(snap, release)
    results: dict[str, ProvenanceResult] = {}
    anchors: list[Anchor] = []
    checks: list[Check] = []

    def judged() -> Judged:
        rel = ef.release_fact(snap.files.get("release"), release, digests, checks, None)
        arts = [
            ef.artifact_fact(
                a.name,
                digests[a.name],
                results.get(a.name),
                how_trusted(anchors, obj, results[a.name].signer) if a.name in results else None,
                _document_path(snap, "provenance", a),
                checks,
            )
            for a in release.artifacts
        ]
        return checks, [rel, *arts]

    for key_path in obj.keys:
        got = trust.get(AnchorKind.PUBLIC_KEY, key_path)
        bad = _anchor_problem(got, "signature")
        if bad is not None:
            checks.append(bad)
            return judged()
        assert isinstance(got, Anchor)
        anchors.append(got)
    root = None
    if obj.trusted_root is not None:
        got = trust.get(AnchorKind.TRUSTED_ROOT, obj.trusted_root)
        bad = _anchor_problem(got, "signature")
        if bad is not None:
            checks.append(bad)
            return judged()
        assert isinstance(got, Anchor)
        anchors.append(got)
        root = got.data.decode("utf-8", "replace")
    policy = ProvenancePolicy(
        keys=[
            a.data.decode("utf-8", "replace") for a in anchors if a.kind is AnchorKind.PUBLIC_KEY
        ],
        certificate_identity=obj.certificate_identity,
        certificate_oidc_issuer=obj.certificate_oidc_issuer,
        trusted_root=root,
        builders=obj.builders,
        min_slsa_level=obj.min_slsa_level,
        source_uri=obj.source_uri,
        source_ref=obj.source_ref,
    )
    for artifact, digest, f in _artifact_documents(snap, release, "provenance", checks):
        result = inspect_provenance(
            artifact_name=artifact.name,
            artifact_sha256=digest,
            provenance=f.content() or b"",
            policy=policy,
            at=at,
        )
        results[artifact.name] = result
        checks += [signature_wording(c, anchors, obj, f.content() or b"") for c in result.checks]
    return judged()


def _sbom(obj: SbomObjective, snap: EvidenceSnapshot, at: datetime) -> Judged:
    from igkit.judge.evidence.sbom import SbomSummary, inspect_sbom

    release, problem = _release(snap)
    if release is None:
        return _release_only(snap, problem)
    checks: list[Check] = []
    summaries: dict[str, SbomSummary | None] = {}
    for artifact, digest, f in _artifact_documents(snap, release, "sbom", checks):
        found, summaries[artifact.name] = inspect_sbom(
            content=f.content() or b"",
            artifact_name=artifact.name,
            artifact_version=artifact.version,
            artifact_sha256=digest,
            fail_at=obj.fail_at,
        )
        checks += found
    rel = ef.release_fact(snap.files.get("release"), release, _digests(snap, release), checks, None)
    sboms = [
        ef.sbom_fact(
            a.name, _document_path(snap, "sbom", a), summaries.get(a.name), obj.fail_at, checks
        )
        for a in release.artifacts
    ]
    return checks, [rel, *sboms]


def _opa(
    obj: OpaBundleObjective, snap: EvidenceSnapshot, at: datetime, trust: TrustStore
) -> Judged:
    import base64

    from igkit.judge.evidence.opa import inspect_bundle

    kind = AnchorKind.HMAC_SECRET if obj.signing_alg.startswith("HS") else AnchorKind.PUBLIC_KEY
    anchor = trust.get(kind, obj.verification_key or "")
    checks: list[Check] = []
    facts: list[EvidenceFact] = []
    for bundle in obj.bundles:
        f = snap.files.get(f"bundle:{bundle}")
        claims = None
        mine = len(checks)
        bad = _missing(f"bundle {bundle}", f, "bundle")
        if bad is not None or f is None or f.members is None:
            checks.append(
                (bad or error("bundle", f"{bundle}: unreadable")).model_copy(
                    update={"subject": bundle}
                )
            )
            facts.append(ef.opa_fact(bundle, f, None, None, None, checks[mine:]))
            continue
        bad_anchor = _anchor_problem(anchor, "jwt")
        if bad_anchor is not None:
            checks.append(bad_anchor.model_copy(update={"subject": bundle}))
            facts.append(ef.opa_fact(bundle, f, None, None, None, checks[mine:]))
            continue
        assert isinstance(anchor, Anchor)
        key = anchor.data.decode("utf-8", "surrogateescape")
        files = {name: base64.b64decode(data) for name, data in f.members.items()}
        found, claims = inspect_bundle(
            files=files,
            key=key,
            signing_alg=obj.signing_alg,
            scope=obj.scope,
            exclude_files=obj.exclude_files,
            at=at,
        )
        checks += [
            jwt_wording(c if c.subject else c.model_copy(update={"subject": bundle}), anchor)
            for c in found
        ]
        facts.append(
            ef.opa_fact(bundle, f, claims, anchor.fingerprint, anchor.how(), checks[mine:])
        )
    return checks, facts


def _parsed(snap: EvidenceSnapshot, role: str, what: str, parse: Callable[..., T]) -> T | Check:
    """The captured ``role`` file parsed, or the check saying why it could not be (ERROR for
    a document that does not parse)."""
    f = _get(snap, role, f"the {what}", what)
    if isinstance(f, Check):
        return f
    try:
        return parse(f.content() or b"", name=f.path)
    except ValueError as exc:
        return error(what, str(exc))


def _path(snap: EvidenceSnapshot, role: str) -> str | None:
    f = snap.files.get(role)
    return f.path if f is not None else None


def _drill(obj: DrillObjective, snap: EvidenceSnapshot, at: datetime) -> Judged:
    from igkit.judge.evidence.drill import parse_drill_report, verify_drill

    report = _parsed(snap, "report", "drill report", parse_drill_report)
    if isinstance(report, Check):
        return [report], [ef.drill_fact(obj, _path(snap, "report"), None, [report])]
    checks = verify_drill(
        report,
        rpo_target=obj.rpo_target,
        rto_target=obj.rto_target,
        env=obj.env,
        max_age=obj.max_age,
        at=at,
    )
    return checks, [ef.drill_fact(obj, _path(snap, "report"), report, checks)]


def _freeze(
    obj: ApprovalsObjective, snap: EvidenceSnapshot
) -> tuple[list[Check], list[EvidenceFact], tuple[datetime, datetime] | None]:
    """The change-ticket and cutover checks of the release file, its fact, and the freeze
    window ``[cutoverAt - freeze, cutoverAt]`` when the file gives one (else None: no window,
    no approval can count)."""
    assert obj.freeze is not None
    assert obj.change_ticket_pattern is not None
    release, problem = _release(snap)
    if release is None:
        return [problem] if problem else [], _release_only(snap, problem)[1], None
    f = snap.files.get("release")
    name = f.path if f is not None else obj.release
    checks: list[Check] = []
    wrong = check_change_ticket(release, obj.change_ticket_pattern, name=name)
    checks.append(
        error("change ticket", wrong) if wrong else passed("change ticket", release.changeTicket)
    )
    end = cutover_at(release)
    if end is None:
        checks.append(
            error(
                "cutover",
                f"{name}: cutoverAt: required to place the {human_duration(obj.freeze.total_seconds())} freeze window before the cutover",
            )
        )
        window = None
    else:
        window = (end - obj.freeze, end)
        checks.append(passed("cutover", f"freeze window [{rfc3339(window[0])}, {rfc3339(end)}]"))
    return checks, [ef.release_fact(f, release, {}, checks, None)], window


def _approvals(obj: ApprovalsObjective, snap: EvidenceSnapshot, at: datetime) -> Judged:
    from igkit.judge.evidence.approvals import parse_approvals, verify_approvals

    release_checks: list[Check] = []
    release_facts: list[EvidenceFact] = []
    window: tuple[datetime, datetime] | None = None
    if obj.freeze is not None:
        release_checks, release_facts, window = _freeze(obj, snap)
    approvals = _parsed(snap, "tracker", "approvals tracker", parse_approvals)
    path = _path(snap, "tracker")
    if isinstance(approvals, Check):
        checks = [*release_checks, approvals]
        return checks, [ef.approvals_fact(obj, path, None, [approvals]), *release_facts]
    if obj.freeze is not None and window is None:
        return release_checks, [
            ef.approvals_fact(obj, path, approvals, release_checks),
            *release_facts,
        ]
    checks = verify_approvals(
        approvals,
        required_roles=obj.required_roles,
        freeze_start=window[0] if window else None,
        freeze_end=window[1] if window else None,
        max_age=obj.max_age,
        at=at,
    )
    return [*release_checks, *checks], [
        ef.approvals_fact(obj, path, approvals, checks, window),
        *release_facts,
    ]


def _comms(obj: CommsObjective, snap: EvidenceSnapshot, at: datetime) -> Judged:
    from igkit.judge.evidence.approvals import verify_comms

    templates: dict[str, bytes | None] = {}
    problems: list[Check] = []
    for role in obj.templates:
        f = snap.files.get(f"template:{role}")
        if f is not None and f.error and f.error != "missing":
            no_dir = f.error.startswith("no evidence directory")
            problems.append(
                (no_data if no_dir else error)("template", f"{f.path}: {f.error}", role)
            )
        else:
            templates[role] = f.content() if f is not None else None
    checks = problems + (verify_comms(templates, required=tuple(templates)) if templates else [])
    return checks, [ef.comms_fact(obj, snap, checks)]


_JUDGES: dict[type, Callable[..., Judged]] = {
    AttestationObjective: _attestation,
    SbomObjective: _sbom,
    OpaBundleObjective: _opa,
    DrillObjective: _drill,
    ApprovalsObjective: _approvals,
    CommsObjective: _comms,
}


def evaluate_evidence(
    gate_id: str,
    obj: EvidenceObjective,
    snap: EvidenceSnapshot | None,
    at: datetime,
    trust: TrustStore | None = None,
) -> ObjectiveVerdict:
    """Judge one evidence objective from its snapshot; keys and roots come from ``trust``
    (never from the snapshot), and each anchor's fingerprint is recorded in the details."""
    trust = trust or TrustStore()
    what = f"{gate_id} {obj.name}"
    if snap is None:
        return ObjectiveVerdict(
            name=obj.name,
            description=obj.description,
            status=Status.NO_DATA,
            reasons=[f"{what}: no evidence was captured for it (igkit go-no-go --evidence DIR)"],
        )
    if isinstance(obj, AttestationObjective | OpaBundleObjective):
        checks, evidence = _JUDGES[type(obj)](obj, snap, at, trust)
    else:
        checks, evidence = _JUDGES[type(obj)](obj, snap, at)
    status = combine(checks)
    if (
        isinstance(obj, AttestationObjective | SbomObjective)
        and status is Status.ERROR
        and snap.files.get("release")
    ):
        release_ok = not any(c.name in ("release file", "trust anchor") for c in checks)
        if release_ok:
            status = Status.FAIL  # an artifact that cannot be verified fails the supply chain
    bad = [c for c in checks if not c.ok]
    reasons = [f"{what}: {c.line()}" for c in bad] or [
        f"{what}: all {len(checks)} checks PASS ({', '.join(sorted({c.name for c in checks}))})"
    ]
    return ObjectiveVerdict(
        name=obj.name,
        description=obj.description,
        status=status,
        reasons=[f"{r} (snapshot {snap.id})" for r in reasons],
        snapshots=[snap.id],
        details={**_details(checks), **anchor_details(obj, trust)},
        evidence=evidence,
    )


def _details(checks: list[Check]) -> dict[str, float | str | None]:
    """Every check by ``subject: name``; a name that repeats (one hash check per file) is numbered."""
    out: dict[str, float | str | None] = {}
    for c in checks:
        key = f"{c.subject + ': ' if c.subject else ''}{c.name}"
        n = 2
        while key in out:
            key = f"{c.subject + ': ' if c.subject else ''}{c.name} #{n}"
            n += 1
        out[key] = f"{c.status.value}: {c.detail}"
    return out
