"""SBOM / vulnerability reports checked against a release: CycloneDX, Grype and Trivy JSON.

:func:`scan_sbom` returns three :class:`~igkit.judge.evidence.checks.Check` results::

    sbom format -> describes artifact -> vulnerabilities

* ``sbom format``: CycloneDX 1.4-1.7 JSON (``bomFormat: CycloneDX``), Grype JSON
  (``matches``/``source``) or Trivy JSON (``SchemaVersion``/``ArtifactName``/``Results``).
* ``describes artifact``: the report's subject is the artifact - by sha256 when both sides
  have one (a recorded digest that differs is a FAIL even when the names agree), else by name
  (and version, when given).
* ``vulnerabilities``: FAIL when an unsuppressed vulnerability is at/above ``fail_at``; a
  vulnerability without any severity is NO_DATA (its impact is unknown), never silently
  accepted. CycloneDX VEX ``analysis.state`` not_affected / false_positive / resolved /
  resolved_with_pedigree suppresses; Grype ``ignoredMatches`` and Trivy
  ``ExperimentalModifiedFindings`` are counted as suppressed by the scanner. The highest of a
  CycloneDX vulnerability's ratings counts (a CVSS score without severity is banded).

The JSON is read with :func:`igkit.strictdoc.load_json` (a duplicate key at any depth is an
ERROR naming its path), and the sections that decide the verdict are shape-checked: a
``vulnerabilities`` / ``matches`` / ``Results[].Vulnerabilities`` (or ratings, affects,
ignored/modified findings) that is not a list of objects, a severity that is not a string
or a VEX ``analysis.state`` outside the CycloneDX enumeration is "unreadable report"
(ERROR), never "no vulnerabilities".

:func:`inspect_sbom` also returns what the checks counted (:class:`SbomSummary`: component
count, each finding by id with its severity and state) for the reports. The formats are read
by :mod:`.sbom_formats`.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Literal

from igkit.judge.evidence.checks import Check, error, failed, no_data, passed
from igkit.judge.evidence.sbom_formats import (
    CYCLONEDX_VERSIONS,
    HEX64,
    NAMES,
    SEVERITIES,
    RawFinding,
    Report,
    UnreadableError,
    read_report,
)
from igkit.strictdoc import DocumentError, load_json
from igkit.verdicts import Status

__all__ = [
    "CYCLONEDX_VERSIONS",
    "SEVERITIES",
    "FailAt",
    "Finding",
    "SbomSummary",
    "inspect_sbom",
    "scan_sbom",
]

FailAt = Literal["critical", "high", "medium", "low"]
_MAX_LISTED = 50


@dataclass(frozen=True)
class Finding:
    """One vulnerability as the verdict counted it (grouped by id, highest severity)."""

    id: str
    severity: str  # critical/high/medium/low/none, or "unknown"
    components: tuple[str, ...]  # name@version
    suppressed: bool


@dataclass(frozen=True)
class SbomSummary:
    """What a readable report says, for the reports (the checks decide)."""

    format: str
    components: int | None  # None: the format lists no packages (Grype)
    findings: tuple[Finding, ...] | None  # None: the document carries no vulnerability data
    scanner_suppressed: int


def scan_sbom(
    *,
    content: bytes,
    artifact_name: str,
    artifact_version: str | None,
    artifact_sha256: str | None,
    fail_at: FailAt,
    source: str = "",
) -> list[Check]:
    """``sbom format``, ``describes artifact`` and ``vulnerabilities`` for one report (see
    :func:`inspect_sbom`)."""
    return inspect_sbom(
        content=content,
        artifact_name=artifact_name,
        artifact_version=artifact_version,
        artifact_sha256=artifact_sha256,
        fail_at=fail_at,
        source=source,
    )[0]


def inspect_sbom(
    *,
    content: bytes,
    artifact_name: str,
    artifact_version: str | None,
    artifact_sha256: str | None,
    fail_at: FailAt,
    source: str = "",
) -> tuple[list[Check], SbomSummary | None]:
    """``sbom format``, ``describes artifact`` and ``vulnerabilities`` for one report.

    ``source`` names the file in error messages (default: ``SBOM of <artifact>``). The JSON
    is read strictly (a duplicate key at any depth is an ERROR naming its path) and every
    section that decides the verdict is shape-checked: a vulnerability list that is not a
    list of objects is an unreadable report, never "no vulnerabilities". The summary (None
    for an unreadable report) is what the checks counted, for the reports."""
    subject = artifact_name
    source = source or f"SBOM of {artifact_name}"
    if fail_at not in ("critical", "high", "medium", "low"):
        return _all_error(
            f"fail_at must be critical, high, medium or low, not {fail_at!r}", subject
        ), None
    sha = artifact_sha256.strip().lower().removeprefix("sha256:") if artifact_sha256 else None
    if sha is not None and not HEX64.fullmatch(sha):
        return _all_error(
            f"the artifact sha256 {artifact_sha256!r} is not 64 hex digits", subject
        ), None

    try:
        doc = load_json(content, where=source)
    except DocumentError as exc:
        if exc.message.startswith(("invalid JSON", "not UTF-8")):
            return _all_error(
                f"not a CycloneDX/Grype/Trivy report: the file is not JSON ({exc}; "
                "CycloneDX XML and SPDX tag-value are not supported)",
                subject,
            ), None
        return _all_error(f"unreadable report: {exc}", subject), None
    try:
        report = read_report(doc)
    except UnreadableError as exc:
        return _all_error(f"unreadable report: {source}: {exc}", subject), None
    if isinstance(report, str):
        return _all_error(report, subject), None

    checks = [passed("sbom format", report.kind, subject)]
    describes = _describes(report, artifact_name, artifact_version, sha, subject)
    checks.append(describes)
    vulns = _vulnerabilities(report, SEVERITIES[fail_at], fail_at, subject)
    if not describes.ok and vulns.status is not Status.FAIL:
        vulns = failed(
            "vulnerabilities",
            f"not checked: the report does not describe {artifact_name} "
            f"(for the subject it does describe: {vulns.detail})",
            subject,
        )
    checks.append(vulns)
    return checks, _summary(report)


def _summary(report: Report) -> SbomSummary:
    findings = None
    if report.findings is not None:
        findings = tuple(
            Finding(
                id=g.id,
                severity=NAMES[g.rank] if g.rank is not None else "unknown",
                components=tuple(sorted({"@".join(filter(None, p)) for p in g.packages})),
                suppressed=g.suppressed,
            )
            for g in _grouped(report.findings)
        )
    return SbomSummary(report.kind, report.components, findings, report.scanner_suppressed)


def _all_error(why: str, subject: str) -> list[Check]:
    return [
        error("sbom format", why, subject),
        error("describes artifact", "not checked: the report could not be read", subject),
        error("vulnerabilities", "not checked: the report could not be read", subject),
    ]


# --------------------------------------------------------------------------- formats


# --------------------------------------------------------------------------- describes


def _describes(
    report: Report, name: str, version: str | None, sha: str | None, subject: str
) -> Check:
    what = f"{name} {version}" if version else name
    listed = _identity_list(report)
    if sha is not None and sha in report.digests:
        return passed("describes artifact", f"the report's subject has sha256 {sha}", subject)
    if sha is not None and report.digests:
        recorded = ", ".join(sorted(report.digests))
        return failed(
            "describes artifact",
            f"SBOM does not describe {what}: it records sha256 {recorded} for {listed}, "
            f"the artifact's sha256 is {sha}",
            subject,
        )
    for rname, rversion in report.identities:
        if name in (rname, posixpath.basename(rname.rstrip("/"))) and (
            version is None or rversion == version
        ):
            how = f"name {rname}" + (f" version {rversion}" if version else "")
            note = "" if sha is None else " (the report records no sha256 to compare)"
            return passed("describes artifact", f"matched by {how}{note}", subject)
    return failed(
        "describes artifact", f"SBOM does not describe {what}: it describes {listed}", subject
    )


def _identity_list(report: Report) -> str:
    seen: list[str] = []
    for n, v in report.identities:
        label = f"{n} {v}" if v else n
        if label not in seen:
            seen.append(label)
    return ", ".join(seen[:5]) if seen else "no named subject (no metadata.component / target)"


# --------------------------------------------------------------------------- vulnerabilities


def _vulnerabilities(report: Report, threshold: int, fail_at: str, subject: str) -> Check:
    if report.findings is None:
        return no_data("vulnerabilities", report.no_findings_reason, subject)
    grouped = _grouped(report.findings)
    vex = sum(1 for g in grouped if g.suppressed)
    open_ = [g for g in grouped if not g.suppressed]
    blocking = sorted(
        (g for g in open_ if g.rank is not None and g.rank >= threshold),
        key=lambda g: (-(g.rank or 0), g.id),
    )
    unknown = sorted((g for g in open_ if g.rank is None), key=lambda g: g.id)
    below = [g for g in open_ if g.rank is not None and g.rank < threshold]

    tail = [f"{vex} suppressed by VEX"]
    if report.scanner_suppressed:
        tail.append(f"{report.scanner_suppressed} suppressed by the scanner's ignore rules/VEX")
    if below:
        counts: dict[str, int] = {}
        for g in below:
            counts[NAMES[g.rank or 0]] = counts.get(NAMES[g.rank or 0], 0) + 1
        tail.append("below " + fail_at + ": " + ", ".join(f"{n} {s}" for s, n in counts.items()))
    suffix = "; ".join(tail)

    if blocking:
        detail = (
            f"{len(blocking)} vulnerabilit{'y' if len(blocking) == 1 else 'ies'} at/above "
            f"{fail_at}: {_listing(blocking)}"
        )
        if unknown:
            detail += f"; {len(unknown)} without severity: {_listing(unknown)}"
        return failed("vulnerabilities", f"{detail}; {suffix}", subject)
    if unknown:
        return no_data(
            "vulnerabilities",
            f"none at/above {fail_at}, but {len(unknown)} ha{'s' if len(unknown) == 1 else 've'} "
            f"no severity, so their impact is unknown: {_listing(unknown)}; {suffix}",
            subject,
        )
    return passed(
        "vulnerabilities",
        f"no unsuppressed vulnerability at/above {fail_at} ({len(grouped)} listed); {suffix}",
        subject,
    )


def _grouped(findings: list[RawFinding]) -> list[RawFinding]:
    """One finding per id: its packages merged, suppressed only when every report of it is,
    at its highest severity."""
    by_id: dict[str, RawFinding] = {}
    for f in findings:
        g = by_id.setdefault(f.id, RawFinding(f.id, f.rank, set(), suppressed=True))
        g.packages |= f.packages
        g.suppressed = g.suppressed and f.suppressed
        if f.rank is not None and (g.rank is None or f.rank > g.rank):
            g.rank = f.rank
    return list(by_id.values())


def _listing(findings: list[RawFinding]) -> str:
    parts = []
    for g in findings[:_MAX_LISTED]:
        sev = NAMES[g.rank] if g.rank is not None else "no severity"
        shown = sorted(" ".join(filter(None, p)) for p in g.packages)
        pkgs = f" ({', '.join(shown)})" if shown else ""
        parts.append(f"{g.id} {sev}{pkgs}")
    more = len(findings) - _MAX_LISTED
    return ", ".join(parts) + (f", and {more} more" if more > 0 else "")
