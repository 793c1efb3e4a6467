"""Capture the documents evidence objectives read from ``--evidence DIR``, as snapshots.

Every path comes from the matrix or the release file, is relative to the evidence
directory, and is refused if it leaves it — by ``..``, an absolute path, or a symlink on
the way. A file that is missing or refused is recorded as such; the verdict says so.
Keys and trusted roots are never captured: they are trust anchors (:mod:`igkit.trust`),
resolved from the verifier's side at evaluation time, never from the evidence judged.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from pathlib import Path

from igkit.archive import UnsafePathError, safe_path
from igkit.errors import IgkitError
from igkit.judge.evidence.release import ReleaseFileError, parse_release
from igkit.snapshots import EvidenceFile, EvidenceSnapshot, evidence_snapshot_id
from igkit.spec.models import (
    ApprovalsObjective,
    AttestationObjective,
    CommsObjective,
    DrillObjective,
    EvidenceObjective,
    OpaBundleObjective,
    SbomObjective,
)

MAX_FILE = 256 * 1024 * 1024


def _locate(base: Path | None, relative: str) -> Path | EvidenceFile:
    """The existing path inside ``base``, or the EvidenceFile recording why there is none."""
    if base is None:
        return EvidenceFile(path=relative, error="no evidence directory was given (--evidence DIR)")
    try:
        path = safe_path(base, relative)
    except UnsafePathError as exc:
        return EvidenceFile(path=relative, error=str(exc))
    if not path.exists():
        return EvidenceFile(path=relative, error="missing")
    return path


def _read(base: Path | None, relative: str, *, keep_content: bool = True) -> EvidenceFile:
    path = _locate(base, relative)
    if isinstance(path, EvidenceFile):
        return path
    if not path.is_file():
        return EvidenceFile(path=relative, error="not a regular file")
    size = path.stat().st_size
    if keep_content and size > MAX_FILE:
        return EvidenceFile(
            path=relative, size=size, error=f"larger than {MAX_FILE >> 20} MiB; refused"
        )
    h = hashlib.sha256()
    chunks = []
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
            if keep_content:
                chunks.append(chunk)
    content = base64.b64encode(b"".join(chunks)).decode() if keep_content else None
    return EvidenceFile(path=relative, sha256=h.hexdigest(), size=size, content_b64=content)


def _bundle(base: Path | None, relative: str) -> EvidenceFile:
    """A policy bundle (directory or .tar.gz) as its member files, read path-safely."""
    from igkit.judge.evidence.opa import read_bundle

    path = _locate(base, relative)
    if isinstance(path, EvidenceFile):
        return path
    digest = _read(base, relative) if path.is_file() else None
    try:
        members = read_bundle(path)
    except (IgkitError, ValueError, OSError) as exc:  # refused archive: traversal, links, bombs
        return EvidenceFile(path=relative, sha256=digest.sha256 if digest else None, error=str(exc))
    encoded = {name: base64.b64encode(data).decode() for name, data in sorted(members.items())}
    tree = hashlib.sha256()
    for name, data in sorted(members.items()):
        tree.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    return EvidenceFile(
        path=relative,
        sha256=digest.sha256 if digest else tree.hexdigest(),
        size=digest.size if digest else sum(len(v) for v in members.values()),
        members=encoded,
    )


def capture_objective(
    gate_id: str, obj: EvidenceObjective, evidence_dir: Path | None
) -> EvidenceSnapshot:
    """Read every file ``obj`` needs; never raises for a bad or missing file."""
    files: dict[str, EvidenceFile] = {}
    if isinstance(obj, AttestationObjective | SbomObjective):
        release = _read(evidence_dir, obj.release)
        files["release"] = release
        content = release.content()
        if content is not None:
            try:
                parsed = parse_release(content, name=obj.release)
            except ReleaseFileError:
                parsed = None
            for artifact in parsed.artifacts if parsed else []:
                if artifact.path is not None:
                    files[f"artifact:{artifact.name}"] = _read(
                        evidence_dir, artifact.path, keep_content=False
                    )
                if isinstance(obj, AttestationObjective) and artifact.provenance is not None:
                    files[f"provenance:{artifact.name}"] = _read(evidence_dir, artifact.provenance)
                if isinstance(obj, SbomObjective) and artifact.sbom is not None:
                    files[f"sbom:{artifact.name}"] = _read(evidence_dir, artifact.sbom)
    elif isinstance(obj, OpaBundleObjective):
        for bundle in obj.bundles:
            files[f"bundle:{bundle}"] = _bundle(evidence_dir, bundle)
    elif isinstance(obj, DrillObjective):
        files["report"] = _read(evidence_dir, obj.report)
    elif isinstance(obj, ApprovalsObjective):
        files["tracker"] = _read(evidence_dir, obj.tracker)
        if obj.freeze is not None:
            files["release"] = _read(evidence_dir, obj.release)
    elif isinstance(obj, CommsObjective):
        for role, rel in obj.templates.items():
            files[f"template:{role}"] = _read(evidence_dir, rel)
    label = f"{gate_id}/{obj.name}"
    return EvidenceSnapshot(
        id=evidence_snapshot_id(label, {r: f.sha256 for r, f in files.items()}),
        objective=label,
        captured_at=datetime.now(tz=UTC).replace(microsecond=0),
        evidence_dir=evidence_dir.name if evidence_dir else None,
        files=files,
    ).sealed()
