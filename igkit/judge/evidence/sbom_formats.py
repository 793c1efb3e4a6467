"""CycloneDX, Grype and Trivy JSON read into one :class:`Report` shape for
:mod:`igkit.judge.evidence.sbom`: the subject's digests and names, the findings with their
severity rank and packages, and how many packages the document lists.

Sections that decide a verdict are shape-checked: a wrong shape raises
:class:`UnreadableError` naming its key path, never "no vulnerabilities".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

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
NAMES = {4: "critical", 3: "high", 2: "medium", 1: "low", 0: "none"}
CYCLONEDX_VERSIONS = ("1.4", "1.5", "1.6", "1.7")
VEX_SUPPRESSING = ("not_affected", "false_positive", "resolved", "resolved_with_pedigree")
VEX_STATES = (*VEX_SUPPRESSING, "exploitable", "in_triage")
HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass
class RawFinding:
    id: str
    rank: int | None  # None = no severity known
    packages: set[tuple[str, str]] = field(default_factory=set)  # (name, version or "")
    suppressed: bool = False


@dataclass
class Report:
    kind: str  # what `sbom format` says
    digests: set[str]  # sha256 hex recorded for the subject
    identities: list[tuple[str, str | None]]  # (name, version)
    findings: list[RawFinding] | None  # None = the document carries no vulnerability data
    scanner_suppressed: int = 0
    no_findings_reason: str = ""
    components: int | None = None  # packages the document lists; None when it lists none


INVENTORY_ONLY = (
    "the CycloneDX document has no vulnerabilities[] section: it is an inventory, "
    "not a scan result; scan it (grype/trivy) or attach VEX"
)
NOTHING_SCANNED = (
    "the Trivy report has no Results: Trivy found nothing it could scan (no OS or "
    "language packages), so it shows nothing was checked"
)


def read_report(doc: object) -> Report | str:
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


def _cyclonedx(doc: dict[str, Any]) -> Report | str:
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
            if alg == "SHA-256" and HEX64.fullmatch(content):
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
        return Report(
            kind,
            digests,
            identities,
            None,
            no_findings_reason=INVENTORY_ONLY,
            components=_count_components(doc),
        )
    findings: list[RawFinding] = []
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
                raise UnreadableError(f"{where}.ratings[{j}].score is not a number")
        rank = _highest(ratings)
        analysis = v.get("analysis")
        if analysis is not None and not isinstance(analysis, dict):
            raise UnreadableError(f"{where}.analysis is not an object")
        state = _obj(analysis).get("state")
        if state is not None and state not in VEX_STATES:
            raise UnreadableError(
                f"{where}.analysis.state {_shown(state)} is not a CycloneDX VEX state "
                f"({', '.join(VEX_STATES)})"
            )
        pkgs = {
            refs.get(str(a.get("ref")), (str(a.get("ref")), ""))
            for a in _objects(v, "affects", where)
        }
        findings.append(
            RawFinding(vid, rank, {p for p in pkgs if any(p)}, suppressed=state in VEX_SUPPRESSING)
        )
    return Report(kind, digests, identities, findings, components=_count_components(doc))


def _grype(doc: dict[str, Any]) -> Report:
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

    findings: list[RawFinding] = []
    for i, m in enumerate(_objects(doc, "matches", required=True)):
        v = m.get("vulnerability")
        if not isinstance(v, dict):
            raise UnreadableError(f"matches[{i}].vulnerability is not an object")
        severity = _severity(v, "severity", f"matches[{i}].vulnerability")
        art = _obj(m.get("artifact"))
        pkg = _package(art.get("name"), art.get("version"))
        findings.append(RawFinding(str(v.get("id", "(no id)")), severity_rank(severity), pkg))
    ignored = _objects(doc, "ignoredMatches")
    desc = _obj(doc.get("descriptor"))
    tool = " ".join(str(x) for x in (desc.get("name", "grype"), desc.get("version")) if x)
    kind = f"Grype JSON report ({tool}; {source.get('type', 'unknown')} source)"
    return Report(
        kind,
        digests,
        identities,
        findings,
        scanner_suppressed=len(ignored),
    )


def _trivy(doc: dict[str, Any]) -> Report:
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
        return Report(kind, digests, identities, None, no_findings_reason=NOTHING_SCANNED)
    findings: list[RawFinding] = []
    modified = 0
    for i, result in enumerate(_objects(doc, "Results")):
        where = f"Results[{i}]"
        modified += len(_objects(result, "ExperimentalModifiedFindings", where))
        for j, v in enumerate(_objects(result, "Vulnerabilities", where)):
            severity = _severity(v, "Severity", f"{where}.Vulnerabilities[{j}]")
            pkg = _package(v.get("PkgName"), v.get("InstalledVersion"))
            findings.append(
                RawFinding(str(v.get("VulnerabilityID", "(no id)")), severity_rank(severity), pkg)
            )
    listed = [
        r["Packages"] for r in _objects(doc, "Results") if isinstance(r.get("Packages"), list)
    ]
    return Report(
        kind,
        digests,
        identities,
        findings,
        scanner_suppressed=modified,
        components=sum(len(p) for p in listed) if listed else None,
    )


def _image_identities(ref: str) -> list[tuple[str, str | None]]:
    """``registry:5000/repo:tag@sha256:...`` -> (repo, tag) and (repo:tag, None)."""
    ref = ref.partition("@")[0]
    base, sep, tag = ref.rpartition(":")
    if not sep or "/" in tag:
        return [(ref, None)]
    return [(base, tag), (ref, None)]


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


def severity_rank(severity: object) -> int | None:
    if not isinstance(severity, str):
        return None
    return SEVERITIES.get(severity.strip().lower())


def _highest(ratings: Iterable[Mapping[str, Any]]) -> int | None:
    best: int | None = None
    for r in ratings:
        rank = severity_rank(r.get("severity"))
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
        if HEX64.fullmatch(hexpart):
            digests.add(hexpart)


class UnreadableError(Exception):
    """A verdict-deciding section has the wrong shape; the message is its key path."""


def _objects(
    parent: Mapping[str, Any], key: str, where: str = "", *, required: bool = False
) -> list[dict[str, Any]]:
    """``parent[key]`` as a list of objects; absent is ``[]`` unless ``required``. Any other
    shape (null, a string, an object, a list holding a number) raises :class:`UnreadableError`."""
    path = f"{where}.{key}" if where else key
    if key not in parent and not required:
        return []
    value = parent.get(key)
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise UnreadableError(f"{path} is not a list of objects")
    return value


def _severity(parent: Mapping[str, Any], key: str, where: str) -> str | None:
    """A severity field: absent or null is "unknown" (None); anything but a string is unreadable."""
    value = parent.get(key)
    if value is not None and not isinstance(value, str):
        raise UnreadableError(f"{where}.{key} {_shown(value)} is not a string")
    return value


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _obj(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []
