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
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from igkit.judge.evidence.checks import Check, error, failed, no_data, passed
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
SEVERITIES: dict[str, int] = {
    "critical": 4,
    "high": 3,
    "medium": 2,
    "moderate": 2,
    "low": 1,
    "negligible": 0,
    "none": 0,
    "info": 0,
    "informational": 0,
}
_NAMES = {4: "critical", 3: "high", 2: "medium", 1: "low", 0: "none"}
CYCLONEDX_VERSIONS = ("1.4", "1.5", "1.6", "1.7")
VEX_SUPPRESSING = ("not_affected", "false_positive", "resolved", "resolved_with_pedigree")
VEX_STATES = (*VEX_SUPPRESSING, "exploitable", "in_triage")
_MAX_LISTED = 50
_HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass
class _Finding:
    id: str
    rank: int | None  # None = no severity known
    packages: set[tuple[str, str]] = field(default_factory=set)  # (name, version or "")
    suppressed: bool = False


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


@dataclass
class _Report:
    kind: str  # what `sbom format` says
    digests: set[str]  # sha256 hex recorded for the subject
    identities: list[tuple[str, str | None]]  # (name, version)
    findings: list[_Finding] | None  # None = the document carries no vulnerability data
    scanner_suppressed: int = 0
    no_findings_reason: str = ""
    components: int | None = None  # packages the document lists; None when it lists none


_INVENTORY_ONLY = (
    "the CycloneDX document has no vulnerabilities[] section: it is an inventory, "
    "not a scan result; scan it (grype/trivy) or attach VEX"
)
_NOTHING_SCANNED = (
    "the Trivy report has no Results: Trivy found nothing it could scan (no OS or "
    "language packages), so it shows nothing was checked"
)


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
    if sha is not None and not _HEX64.fullmatch(sha):
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
        report = _read(doc)
    except _UnreadableError as exc:
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


def _summary(report: _Report) -> SbomSummary:
    findings = None
    if report.findings is not None:
        findings = tuple(
            Finding(
                id=g.id,
                severity=_NAMES[g.rank] if g.rank is not None else "unknown",
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


def _read(doc: object) -> _Report | str:
    if not isinstance(doc, dict):
        return "not a CycloneDX/Grype/Trivy report: the JSON is not an object"
    if doc.get("bomFormat") == "CycloneDX":
        return _cyclonedx(doc)
    if "matches" in doc and ("source" in doc or "descriptor" in doc):
        return _grype(doc)
    if "SchemaVersion" in doc and ("ArtifactName" in doc or "Results" in doc):
        return _trivy(doc)
    if "spdxVersion" in doc:
        return (
            "not a CycloneDX/Grype/Trivy report: this is an SPDX document, which carries no "
            "vulnerability data; scan it with grype or trivy"
        )
    return "not a CycloneDX/Grype/Trivy report (no bomFormat, matches or SchemaVersion)"


def _cyclonedx(doc: dict[str, Any]) -> _Report | str:
    version = str(doc.get("specVersion", ""))
    if version not in CYCLONEDX_VERSIONS:
        return (
            f"CycloneDX {version or '(no specVersion)'} is not supported: "
            f"igkit reads CycloneDX {', '.join(CYCLONEDX_VERSIONS)} (vulnerabilities need >= 1.4)"
        )
    meta = _obj(doc.get("metadata"))
    comp = _obj(meta.get("component"))
    digests: set[str] = set()
    identities: list[tuple[str, str | None]] = []
    if comp:
        for h in _list(comp.get("hashes")):
            alg = str(_obj(h).get("alg", "")).upper().replace("_", "-")
            content = str(_obj(h).get("content", "")).lower()
            if alg == "SHA-256" and _HEX64.fullmatch(content):
                digests.add(content)
        cversion = comp.get("version")
        ver = str(cversion) if cversion is not None else None
        name = comp.get("name")
        if isinstance(name, str) and name:
            identities.append((name, ver))
            group = comp.get("group")
            if isinstance(group, str) and group:
                identities.append((f"{group}/{name}", ver))
                identities.append((f"{group}:{name}", ver))

    refs = _component_labels(doc)
    serial = doc.get("serialNumber")
    kind = f"CycloneDX {version} JSON" + (f" ({serial})" if isinstance(serial, str) else "")
    if "vulnerabilities" not in doc:
        return _Report(
            kind,
            digests,
            identities,
            None,
            no_findings_reason=_INVENTORY_ONLY,
            components=_count_components(doc),
        )
    findings: list[_Finding] = []
    for i, v in enumerate(_objects(doc, "vulnerabilities")):
        where = f"vulnerabilities[{i}]"
        vid = str(v.get("id") or v.get("bom-ref") or "(no id)")
        ratings = _objects(v, "ratings", where)
        for j, r in enumerate(ratings):
            _severity(r, "severity", f"{where}.ratings[{j}]")
            score = r.get("score")
            if score is not None and (
                isinstance(score, bool) or not isinstance(score, int | float)
            ):
                raise _UnreadableError(f"{where}.ratings[{j}].score is not a number")
        rank = _highest(ratings)
        analysis = v.get("analysis")
        if analysis is not None and not isinstance(analysis, dict):
            raise _UnreadableError(f"{where}.analysis is not an object")
        state = _obj(analysis).get("state")
        if state is not None and state not in VEX_STATES:
            raise _UnreadableError(
                f"{where}.analysis.state {_shown(state)} is not a CycloneDX VEX state "
                f"({', '.join(VEX_STATES)})"
            )
        pkgs = {
            refs.get(str(a.get("ref")), (str(a.get("ref")), ""))
            for a in _objects(v, "affects", where)
        }
        findings.append(
            _Finding(vid, rank, {p for p in pkgs if any(p)}, suppressed=state in VEX_SUPPRESSING)
        )
    return _Report(kind, digests, identities, findings, components=_count_components(doc))


def _grype(doc: dict[str, Any]) -> _Report:
    source = _obj(doc.get("source"))
    target = source.get("target")
    digests: set[str] = set()
    identities: list[tuple[str, str | None]] = []
    if isinstance(target, dict):
        for key in ("imageID", "manifestDigest"):
            _add_digest(digests, target.get(key))
        for rd in _list(target.get("repoDigests")):
            if isinstance(rd, str):
                name, _, digest = rd.partition("@")
                _add_digest(digests, digest)
                identities.append((name, None))
        for ref in [target.get("userInput"), *_list(target.get("tags"))]:
            if isinstance(ref, str) and ref:
                identities.extend(_image_identities(ref))
    elif isinstance(target, str) and target:
        identities.append((target, None))
    if isinstance(source.get("name"), str) and source["name"]:
        sv = source.get("version")
        identities.append((source["name"], str(sv) if isinstance(sv, str) and sv else None))

    findings: list[_Finding] = []
    for i, m in enumerate(_objects(doc, "matches", required=True)):
        v = m.get("vulnerability")
        if not isinstance(v, dict):
            raise _UnreadableError(f"matches[{i}].vulnerability is not an object")
        severity = _severity(v, "severity", f"matches[{i}].vulnerability")
        art = _obj(m.get("artifact"))
        pkg = _package(art.get("name"), art.get("version"))
        findings.append(_Finding(str(v.get("id", "(no id)")), _rank(severity), pkg))
    ignored = _objects(doc, "ignoredMatches")
    desc = _obj(doc.get("descriptor"))
    tool = " ".join(str(x) for x in (desc.get("name", "grype"), desc.get("version")) if x)
    kind = f"Grype JSON report ({tool}; {source.get('type', 'unknown')} source)"
    return _Report(
        kind,
        digests,
        identities,
        findings,
        scanner_suppressed=len(ignored),
    )


def _trivy(doc: dict[str, Any]) -> _Report:
    meta = _obj(doc.get("Metadata"))
    digests: set[str] = set()
    identities: list[tuple[str, str | None]] = []
    _add_digest(digests, meta.get("ImageID"))
    for rd in _list(meta.get("RepoDigests")):
        if isinstance(rd, str):
            repo, _, digest = rd.partition("@")
            _add_digest(digests, digest)
            identities.append((repo, None))
    artifact = doc.get("ArtifactName")
    if isinstance(artifact, str) and artifact:
        if doc.get("ArtifactType") == "container_image":
            identities.extend(_image_identities(artifact))
        identities.append((artifact, None))
    for ref in [*_list(meta.get("RepoTags")), meta.get("Reference")]:
        if isinstance(ref, str) and ref:
            identities.extend(_image_identities(ref))

    kind = f"Trivy JSON report (SchemaVersion {doc.get('SchemaVersion')}, {doc.get('ArtifactType', 'unknown type')})"
    if not _objects(doc, "Results"):
        return _Report(kind, digests, identities, None, no_findings_reason=_NOTHING_SCANNED)
    findings: list[_Finding] = []
    modified = 0
    for i, result in enumerate(_objects(doc, "Results")):
        where = f"Results[{i}]"
        modified += len(_objects(result, "ExperimentalModifiedFindings", where))
        for j, v in enumerate(_objects(result, "Vulnerabilities", where)):
            severity = _severity(v, "Severity", f"{where}.Vulnerabilities[{j}]")
            pkg = _package(v.get("PkgName"), v.get("InstalledVersion"))
            findings.append(
                _Finding(str(v.get("VulnerabilityID", "(no id)")), _rank(severity), pkg)
            )
    listed = [
        r["Packages"] for r in _objects(doc, "Results") if isinstance(r.get("Packages"), list)
    ]
    return _Report(
        kind,
        digests,
        identities,
        findings,
        scanner_suppressed=modified,
        components=sum(len(p) for p in listed) if listed else None,
    )


# --------------------------------------------------------------------------- describes


def _describes(
    report: _Report, name: str, version: str | None, sha: str | None, subject: str
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


def _identity_list(report: _Report) -> str:
    seen: list[str] = []
    for n, v in report.identities:
        label = f"{n} {v}" if v else n
        if label not in seen:
            seen.append(label)
    return ", ".join(seen[:5]) if seen else "no named subject (no metadata.component / target)"


def _image_identities(ref: str) -> list[tuple[str, str | None]]:
    """``registry:5000/repo:tag@sha256:...`` -> (repo, tag) and (repo:tag, None)."""
    ref = ref.partition("@")[0]
    base, sep, tag = ref.rpartition(":")
    if not sep or "/" in tag:
        return [(ref, None)]
    return [(base, tag), (ref, None)]


# --------------------------------------------------------------------------- vulnerabilities


def _vulnerabilities(report: _Report, threshold: int, fail_at: str, subject: str) -> Check:
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
            counts[_NAMES[g.rank or 0]] = counts.get(_NAMES[g.rank or 0], 0) + 1
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


def _grouped(findings: list[_Finding]) -> list[_Finding]:
    """One finding per id: its packages merged, suppressed only when every report of it is,
    at its highest severity."""
    by_id: dict[str, _Finding] = {}
    for f in findings:
        g = by_id.setdefault(f.id, _Finding(f.id, f.rank, set(), suppressed=True))
        g.packages |= f.packages
        g.suppressed = g.suppressed and f.suppressed
        if f.rank is not None and (g.rank is None or f.rank > g.rank):
            g.rank = f.rank
    return list(by_id.values())


def _package(name: object, version: object) -> set[tuple[str, str]]:
    """``{(name, version)}`` of a scanner's package fields; empty when it names nothing."""
    n, v = (str(x) if x else "" for x in (name, version))
    return {(n, v)} if n or v else set()


def _count_components(doc: Mapping[str, Any]) -> int | None:
    """CycloneDX ``components``, nested ones included (metadata.component is the subject, not
    counted); None when the document has no components list."""
    if not isinstance(doc.get("components"), list):
        return None
    count = 0
    stack: list[Any] = [doc["components"]]
    while stack:
        items = _list(stack.pop())
        count += len(items)
        stack.extend(_obj(c).get("components") for c in items)
    return count


def _listing(findings: list[_Finding]) -> str:
    parts = []
    for g in findings[:_MAX_LISTED]:
        sev = _NAMES[g.rank] if g.rank is not None else "no severity"
        shown = sorted(" ".join(filter(None, p)) for p in g.packages)
        pkgs = f" ({', '.join(shown)})" if shown else ""
        parts.append(f"{g.id} {sev}{pkgs}")
    more = len(findings) - _MAX_LISTED
    return ", ".join(parts) + (f", and {more} more" if more > 0 else "")


def _rank(severity: object) -> int | None:
    if not isinstance(severity, str):
        return None
    return SEVERITIES.get(severity.strip().lower())


def _highest(ratings: Iterable[Mapping[str, Any]]) -> int | None:
    best: int | None = None
    for r in ratings:
        rank = _rank(r.get("severity"))
        if rank is None and isinstance(r.get("score"), int | float):
            rank = _band(float(r["score"]))
        if rank is not None and (best is None or rank > best):
            best = rank
    return best


def _band(score: float) -> int:
    """CVSS v3 qualitative bands."""
    if score >= 9.0:
        return 4
    if score >= 7.0:
        return 3
    if score >= 4.0:
        return 2
    return 1 if score > 0 else 0


def _component_labels(doc: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
    labels: dict[str, tuple[str, str]] = {}

    def walk(items: object) -> None:
        for raw in _list(items):
            c = _obj(raw)
            ref = c.get("bom-ref")
            if isinstance(ref, str):
                name, version = c.get("name"), c.get("version")
                labels[ref] = (str(name) if name else "", str(version) if version else "")
            walk(c.get("components"))

    comp = _obj(_obj(doc.get("metadata")).get("component"))
    if comp:
        walk([comp])
    walk(doc.get("components"))
    return labels


def _add_digest(digests: set[str], value: object) -> None:
    if isinstance(value, str):
        hexpart = value.strip().lower().removeprefix("sha256:")
        if _HEX64.fullmatch(hexpart):
            digests.add(hexpart)


class _UnreadableError(Exception):
    """A verdict-deciding section has the wrong shape; the message is its key path."""


def _objects(
    parent: Mapping[str, Any], key: str, where: str = "", *, required: bool = False
) -> list[dict[str, Any]]:
    """``parent[key]`` as a list of objects; absent is ``[]`` unless ``required``. Any other
    shape (null, a string, an object, a list holding a number) raises :class:`_UnreadableError`."""
    path = f"{where}.{key}" if where else key
    if key not in parent and not required:
        return []
    value = parent.get(key)
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise _UnreadableError(f"{path} is not a list of objects")
    return value


def _severity(parent: Mapping[str, Any], key: str, where: str) -> str | None:
    """A severity field: absent or null is "unknown" (None); anything but a string is unreadable."""
    value = parent.get(key)
    if value is not None and not isinstance(value, str):
        raise _UnreadableError(f"{where}.{key} {_shown(value)} is not a string")
    return value


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _obj(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []
