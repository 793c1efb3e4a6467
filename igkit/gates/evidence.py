"""Evidence objectives (G3 supply chain, G4 bundle signature, G7 DR drill, G8 approvals and
comms) judged from evidence snapshots: the verifiers run on the captured bytes, so a
replay re-verifies every signature offline."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from igkit.evidence.checks import Check, combine, error, failed, no_data
from igkit.evidence.release import ReleaseFile, ReleaseFileError, parse_release
from igkit.matrix.models import (
    ApprovalsObjective,
    AttestationObjective,
    CommsObjective,
    DrillObjective,
    EvidenceObjective,
    OpaBundleObjective,
    SbomObjective,
)
from igkit.snapshots import EvidenceFile, EvidenceSnapshot
from igkit.verdicts import ObjectiveVerdict, Status


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


def _text(f: EvidenceFile) -> str:
    return (f.content() or b"").decode("utf-8", "replace")


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


def _attestation(obj: AttestationObjective, snap: EvidenceSnapshot, at: datetime) -> list[Check]:
    from igkit.evidence.provenance import ProvenancePolicy, verify_provenance

    release, problem = _release(snap)
    if release is None:
        return [problem] if problem else []
    keys = []
    for key_path in obj.keys:
        key_file = _get(snap, f"key:{key_path}", f"key {key_path}", "verification key")
        if isinstance(key_file, Check):
            return [key_file]
        keys.append(_text(key_file))
    root = None
    if obj.trusted_root is not None:
        root_file = _get(snap, "trusted_root", "the trusted root", "trusted root")
        if isinstance(root_file, Check):
            return [root_file]
        root = _text(root_file)
    policy = ProvenancePolicy(
        keys=keys,
        certificate_identity=obj.certificate_identity,
        certificate_oidc_issuer=obj.certificate_oidc_issuer,
        trusted_root=root,
        builders=obj.builders,
        min_slsa_level=obj.min_slsa_level,
        source_uri=obj.source_uri,
        source_ref=obj.source_ref,
    )
    checks: list[Check] = []
    for artifact in release.artifacts:
        digest, bad = _artifact_digest(snap, artifact.name, artifact.digest)
        if bad is not None:
            checks.append(bad)
            continue
        if artifact.provenance is None:
            checks.append(
                failed("provenance", "the release file names no provenance for it", artifact.name)
            )
            continue
        f = snap.files.get(f"provenance:{artifact.name}")
        bad = _missing(f"provenance of {artifact.name}", f, "provenance")
        if bad is not None:
            checks.append(bad.model_copy(update={"subject": artifact.name, "status": Status.FAIL}))
            continue
        assert digest is not None
        assert f is not None
        checks += verify_provenance(
            artifact_name=artifact.name,
            artifact_sha256=digest,
            provenance=f.content() or b"",
            policy=policy,
            at=at,
        )
    return checks


def _sbom(obj: SbomObjective, snap: EvidenceSnapshot, at: datetime) -> list[Check]:
    from igkit.evidence.sbom import scan_sbom

    release, problem = _release(snap)
    if release is None:
        return [problem] if problem else []
    checks: list[Check] = []
    for artifact in release.artifacts:
        digest, bad = _artifact_digest(snap, artifact.name, artifact.digest)
        if bad is not None:
            checks.append(bad)
            continue
        if artifact.sbom is None:
            checks.append(
                failed(
                    "sbom", "the release file names no SBOM or scan report for it", artifact.name
                )
            )
            continue
        f = snap.files.get(f"sbom:{artifact.name}")
        bad = _missing(f"SBOM of {artifact.name}", f, "sbom")
        if bad is not None:
            checks.append(bad.model_copy(update={"subject": artifact.name, "status": Status.FAIL}))
            continue
        checks += scan_sbom(
            content=f.content() or b"",  # type: ignore[union-attr]
            artifact_name=artifact.name,
            artifact_version=artifact.version,
            artifact_sha256=digest,
            fail_at=obj.fail_at,
        )
    return checks


def _opa(obj: OpaBundleObjective, snap: EvidenceSnapshot, at: datetime) -> list[Check]:
    import base64

    from igkit.evidence.opa_bundle import verify_bundle

    key_file = _get(snap, "verification_key", "the verification key", "verification key")
    if isinstance(key_file, Check):
        return [key_file]
    key = _text(key_file)
    checks: list[Check] = []
    for bundle in obj.bundles:
        f = snap.files.get(f"bundle:{bundle}")
        bad = _missing(f"bundle {bundle}", f, "bundle")
        if bad is not None or f is None or f.members is None:
            checks.append(
                (bad or error("bundle", f"{bundle}: unreadable")).model_copy(
                    update={"subject": bundle}
                )
            )
            continue
        files = {name: base64.b64decode(data) for name, data in f.members.items()}
        found = verify_bundle(
            files=files,
            key=key,
            signing_alg=obj.signing_alg,
            scope=obj.scope,
            exclude_files=obj.exclude_files,
            at=at,
        )
        checks += [c if c.subject else c.model_copy(update={"subject": bundle}) for c in found]
    return checks


def _drill(obj: DrillObjective, snap: EvidenceSnapshot, at: datetime) -> list[Check]:
    from igkit.evidence.drill import DrillReportError, parse_drill_report, verify_drill

    f = _get(snap, "report", "the drill report", "drill report")
    if isinstance(f, Check):
        return [f]
    try:
        report = parse_drill_report(f.content() or b"", name=f.path)
    except DrillReportError as exc:
        return [error("drill report", str(exc))]
    return verify_drill(
        report,
        rpo_target=obj.rpo_target,
        rto_target=obj.rto_target,
        env=obj.env,
        max_age=obj.max_age,
        at=at,
    )


def _approvals(obj: ApprovalsObjective, snap: EvidenceSnapshot, at: datetime) -> list[Check]:
    from igkit.evidence.approvals import parse_approvals, verify_approvals

    f = _get(snap, "tracker", "the approvals tracker", "approvals tracker")
    if isinstance(f, Check):
        return [f]
    try:
        approvals = parse_approvals(f.content() or b"", name=f.path)
    except ValueError as exc:
        return [error("approvals tracker", str(exc))]
    return verify_approvals(
        approvals, required_roles=obj.required_roles, freeze_start=None, max_age=obj.max_age, at=at
    )


def _comms(obj: CommsObjective, snap: EvidenceSnapshot, at: datetime) -> list[Check]:
    from igkit.evidence.approvals import verify_comms

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
    return problems + (verify_comms(templates, required=tuple(templates)) if templates else [])


_JUDGES: dict[type, Callable[..., list[Check]]] = {
    AttestationObjective: _attestation,
    SbomObjective: _sbom,
    OpaBundleObjective: _opa,
    DrillObjective: _drill,
    ApprovalsObjective: _approvals,
    CommsObjective: _comms,
}


def evaluate_evidence(
    gate_id: str, obj: EvidenceObjective, snap: EvidenceSnapshot | None, at: datetime
) -> ObjectiveVerdict:
    what = f"{gate_id} {obj.name}"
    if snap is None:
        return ObjectiveVerdict(
            name=obj.name,
            description=obj.description,
            status=Status.NO_DATA,
            reasons=[f"{what}: no evidence was captured for it (igkit go-no-go --evidence DIR)"],
        )
    checks = _JUDGES[type(obj)](obj, snap, at)
    status = combine(checks)
    if (
        isinstance(obj, AttestationObjective | SbomObjective)
        and status is Status.ERROR
        and snap.files.get("release")
    ):
        release_ok = not any(c.name == "release file" for c in checks)
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
        details=_details(checks),
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
