"""What each evidence document says, as :class:`~igkit.verdicts.EvidenceFact` records for the
reports, built from the values the verifiers parsed and verified (there is no second parser).

A fact never decides anything: its ``status`` is the worst of the checks that read its
document or subject, so a document that did not verify is shown as claimed-not-verified, and
the signer, builder, SLSA level and signing key are filled only from data whose signature
verified. Everything here is deterministic (no capture times, sorted rows), so a replay
recomputes identical facts.

Names beyond those :class:`~igkit.verdicts.EvidenceFact` fixes: ``sbom`` ``none`` (open
findings of severity none/negligible/info; ``suppressed`` also counts the scanner's own
ignore rules); ``drill`` ``last_durable_write_before_failure``, ``data_verified_at``,
``max_age``; ``approvals`` ``unexpected_roles``. A capped list ends with one row whose first
value says how many more there are and whose other values are None.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from igkit.judge.evidence.checks import Check
from igkit.judge.evidence.release import ReleaseFile
from igkit.snapshots import EvidenceFile, EvidenceSnapshot
from igkit.spec.models import ApprovalsObjective, CommsObjective, DrillObjective
from igkit.strictdoc import DocumentError, load_json
from igkit.timeutil import human_duration, rfc3339
from igkit.verdicts import EvidenceFact, FactValue, Status, worst

if TYPE_CHECKING:  # the verifiers load sigstore/cryptography: imported where they run
    from igkit.judge.evidence.approvals import Approval
    from igkit.judge.evidence.drill import DrillReport
    from igkit.judge.evidence.opa.jws import Claims
    from igkit.judge.evidence.provenance import ProvenanceResult
    from igkit.judge.evidence.sbom import SbomSummary

MAX_FINDING_ROWS = 200
"""An SBOM fact lists at most this many findings (a drill fact this many steps), then one row
saying how many more: a report with thousands of them must stay readable (the counts always
cover all of them)."""

SEVERITY_ORDER = ("critical", "high", "medium", "low", "none", "unknown")


def status_of(checks: Iterable[Check], subject: str | None = None) -> Status:
    """The worst status of the checks about ``subject`` (all of them when None); when none is
    about it, that of the checks about no subject in particular (an unusable trust anchor);
    ERROR when there is none at all, since then nothing about it was verified."""
    checks = list(checks)
    if subject is None:
        return worst([c.status for c in checks])
    mine = [c.status for c in checks if c.subject == subject]
    return worst(mine or [c.status for c in checks if not c.subject])


def _time(t: datetime | None) -> str | None:
    return rfc3339(t) if t is not None else None


def _duration(d: timedelta | None) -> str | None:
    if d is None:
        return None
    text = human_duration(abs(d.total_seconds()))
    return f"-{text}" if d < timedelta(0) else text


# --------------------------------------------------------------------------- G3


def release_fact(
    f: EvidenceFile | None,
    release: ReleaseFile | None,
    digests: Mapping[str, str | None],
    checks: Sequence[Check],
    problem: Check | None,
) -> EvidenceFact:
    """The release file: tag, ticket and each artifact with the digest igkit verified/used."""
    path = f.path if f is not None else None
    if release is None:
        return EvidenceFact(
            kind="release",
            subject=path or "release file",
            status=problem.status if problem is not None else Status.ERROR,
            facts={"release_tag": None, "change_ticket": None, "cutover_at": None, "file": path},
        )
    read = [c for c in checks if c.name in ("artifact digest", "artifact")]
    return EvidenceFact(
        kind="release",
        subject=path or "release file",
        status=worst([Status.PASS, *(c.status for c in read)]),
        facts={
            "release_tag": release.releaseTag,
            "change_ticket": release.changeTicket,
            "cutover_at": _time(release.cutoverAt),
            "file": path,
        },
        rows=[
            {
                "name": a.name,
                "version": a.version,
                "digest": f"sha256:{digests[a.name]}" if digests.get(a.name) else None,
            }
            for a in release.artifacts
        ],
    )


def artifact_fact(
    name: str,
    digest: str | None,
    result: ProvenanceResult | None,
    signer_trust: str | None,
    provenance_file: str | None,
    checks: Sequence[Check],
) -> EvidenceFact:
    """One artifact's provenance: builder, level and signer only as verified."""
    verified = result if result is not None and result.signer is not None else None
    return EvidenceFact(
        kind="artifact",
        subject=name,
        status=status_of(checks, name),
        facts={
            "digest": f"sha256:{digest}" if digest else None,
            "builder_id": verified.builder_id if verified else None,
            "slsa_level": verified.slsa_level if verified else None,
            "signer": verified.signer if verified else None,
            "signer_trust": signer_trust if verified else None,
            "source": verified.source if verified else None,
            "provenance_file": provenance_file,
        },
    )


def sbom_fact(
    name: str,
    file: str | None,
    summary: SbomSummary | None,
    fail_at: str,
    checks: Sequence[Check],
) -> EvidenceFact:
    """One artifact's SBOM/scan report: counts per severity and every finding (capped at
    :data:`MAX_FINDING_ROWS` rows)."""
    facts: dict[str, FactValue] = {
        "file": file,
        "format": summary.format if summary else None,
        "components": summary.components if summary else None,
        "fail_at": fail_at,
        **dict.fromkeys(SEVERITY_ORDER, None),
        "suppressed": None,
    }
    rows: list[dict[str, FactValue]] = []
    if summary is not None and summary.findings is not None:
        open_ = [g for g in summary.findings if not g.suppressed]
        for sev in SEVERITY_ORDER:
            facts[sev] = sum(1 for g in open_ if g.severity == sev)
        facts["suppressed"] = (
            sum(1 for g in summary.findings if g.suppressed) + summary.scanner_suppressed
        )
        ordered = sorted(
            summary.findings,
            key=lambda g: (g.suppressed, SEVERITY_ORDER.index(g.severity), g.id),
        )
        rows = [
            {
                "id": g.id,
                "severity": g.severity,
                "component": ", ".join(g.components) or None,
                "state": "suppressed" if g.suppressed else "open",
            }
            for g in ordered[:MAX_FINDING_ROWS]
        ]
        more = len(ordered) - MAX_FINDING_ROWS
        if more > 0:
            rows.append(
                {
                    "id": f"and {more} more finding(s), not listed",
                    "severity": None,
                    "component": None,
                    "state": None,
                }
            )
    return EvidenceFact(
        kind="sbom", subject=name, status=status_of(checks, name), facts=facts, rows=rows
    )


# --------------------------------------------------------------------------- G4


def opa_fact(
    bundle: str,
    f: EvidenceFile | None,
    claims: Claims | None,
    key_fingerprint: str | None,
    key_trust: str | None,
    checks: Sequence[Check],
) -> EvidenceFact:
    """One policy bundle: the key and claims only when its JWT verified with the anchor."""
    from igkit.judge.evidence.opa.jws import when

    jwt_ok = any(c.name == "jwt" and c.ok for c in checks if c.subject == bundle)
    signed = claims if jwt_ok else None
    return EvidenceFact(
        kind="opa_bundle",
        subject=bundle,
        status=status_of(checks, bundle),
        facts={
            "revision": _revision(f),
            "key_fingerprint": key_fingerprint if signed else None,
            "key_trust": key_trust if signed else None,
            "scope": signed.scope if signed else None,
            "issued_at": when(signed.iat) if signed and signed.iat is not None else None,
            "expires_at": when(signed.exp) if signed and signed.exp is not None else None,
            "files": len(signed.files) if signed else None,
        },
    )


def _revision(f: EvidenceFile | None) -> str | None:
    """``revision`` of the bundle's ``.manifest`` (claimed: the fact's status says whether
    the signed hashes cover it); None when there is none or it does not read."""
    members = (f.members if f is not None else None) or {}
    raw = members.get(".manifest", members.get("/.manifest"))
    if raw is None:
        return None
    try:
        manifest = load_json(base64.b64decode(raw), where=".manifest")
    except (DocumentError, ValueError):
        return None
    revision = manifest.get("revision") if isinstance(manifest, dict) else None
    return revision if isinstance(revision, str) else None


# --------------------------------------------------------------------------- G7


def drill_fact(
    obj: DrillObjective,
    file: str | None,
    report: DrillReport | None,
    checks: Sequence[Check],
) -> EvidenceFact:
    """The drill report: environment, milestones, RPO/RTO against the targets, each step."""
    r = report
    facts: dict[str, FactValue] = {
        "env": r.env if r else None,
        "env_target": obj.env,
        "operator": r.operator if r else None,
        "started_at": _time(r.started_at) if r else None,
        "ended_at": _time(r.ended_at) if r else None,
        "failure_injected_at": _time(r.failure_injected_at) if r else None,
        "last_durable_write_before_failure": (
            _time(r.last_durable_write_before_failure) if r else None
        ),
        "service_restored_at": _time(r.service_restored_at) if r else None,
        "data_verified_at": _time(r.data_verified_at) if r else None,
        "rpo": _duration(r.rpo) if r else None,
        "rpo_target": _duration(obj.rpo_target),
        "rto": _duration(r.rto) if r else None,
        "rto_target": _duration(obj.rto_target),
        "max_age": _duration(obj.max_age),
        "file": file,
    }
    steps = r.steps if r else []
    rows: list[dict[str, FactValue]] = [
        {"name": s.name, "at": _time(s.at), "outcome": s.outcome} for s in steps[:MAX_FINDING_ROWS]
    ]
    if len(steps) > MAX_FINDING_ROWS:
        more = len(steps) - MAX_FINDING_ROWS
        rows.append({"name": f"and {more} more step(s), not listed", "at": None, "outcome": None})
    return EvidenceFact(
        kind="drill",
        subject=f"drill {r.drill_id}" if r else (file or "drill report"),
        status=status_of(checks),
        facts=facts,
        rows=rows,
    )


# --------------------------------------------------------------------------- G8


def approvals_fact(
    obj: ApprovalsObjective,
    file: str | None,
    approvals: list[Approval] | None,
    checks: Sequence[Check],
    window: tuple[datetime, datetime] | None = None,
) -> EvidenceFact:
    """One row per required role with the decision judged for it (approver None when the role
    recorded none, or when the tracker could not be read), and the freeze window the
    approvals had to fall in when the matrix sets one."""
    from igkit.judge.evidence.approvals import decisions

    overall = status_of(checks)
    rows: list[dict[str, FactValue]] = []
    for role, a in decisions(approvals or [], obj.required_roles):
        row_checks = [c for c in checks if c.name == "approval" and c.subject == role]
        rows.append(
            {
                "role": role,
                "approver": a.name if a else None,
                "decision": a.decision if a else None,
                "at": _time(a.timestamp) if a else None,
                "reference": a.reference if a else None,
                "status": (status_of(row_checks) if row_checks else overall).value,
            }
        )
    unexpected = sorted({c.subject for c in checks if c.name == "unexpected role"})
    return EvidenceFact(
        kind="approvals",
        subject=file or "approvals tracker",
        status=overall,
        facts={
            "max_age": _duration(obj.max_age),
            "freeze": _duration(obj.freeze),
            "freeze_window": f"{rfc3339(window[0])} to {rfc3339(window[1])}" if window else None,
            "unexpected_roles": ", ".join(unexpected) or None,
        },
        rows=rows,
    )


def comms_fact(
    obj: CommsObjective, snap: EvidenceSnapshot, checks: Sequence[Check]
) -> EvidenceFact:
    """One row per template role: its file, the SHA-256 of the captured bytes, its status."""
    rows: list[dict[str, FactValue]] = []
    for role, path in obj.templates.items():
        f = snap.files.get(f"template:{role}")
        mine = [c for c in checks if c.subject == role]
        rows.append(
            {
                "template": role,
                "file": f.path if f is not None else path,
                "sha256": f.sha256 if f is not None and f.error is None else None,
                "status": status_of(mine).value,
            }
        )
    return EvidenceFact(kind="comms", subject="templates", status=status_of(checks), rows=rows)
