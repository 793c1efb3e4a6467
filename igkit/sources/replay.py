"""Replay source: snapshots read back from a previous run, no network.

Only the snapshots listed in ``snapshots/index.json`` are used, and each must be exactly the
one the run recorded: its own seal must hold *and* its sha256 and id must equal the index
entry (re-sealing an edited snapshot is therefore not enough). When the run's
``verdicts.json`` sits beside ``snapshots/``, the sha256 of ``index.json`` must equal its
``snapshots_index_sha256``, so an index edited to match an edited snapshot is caught too.

What a failed check does: an index that does not match ``verdicts.json`` refuses the whole
replay (ConfigError, exit 2) - nothing it lists can be trusted. A listed Prometheus snapshot
that is missing, damaged or not the recorded one makes the objectives that read it ERROR,
naming the file. A k6 or evidence snapshot in that state refuses the whole replay: it
cannot be attributed to one objective, and dropping it would read as "no data was given".
Files not listed in the index are ignored with a warning, never used.
"""

from __future__ import annotations

import re
from pathlib import Path

from igkit.errors import ConfigError, SnapshotError, SnapshotMissingError
from igkit.snapshots import (
    INDEX_FILE,
    EvidenceSnapshot,
    K6Snapshot,
    K6SummarySnapshot,
    RangeRequest,
    Snapshot,
    SnapshotIndex,
    SnapshotRef,
    read_index,
    read_snapshot,
    sha256_file,
)

VERDICTS_FILE = "verdicts.json"
INDEX_DIGEST_FIELD = "snapshots_index_sha256"
# Indexes written before refs carried ``kind`` tell k6 and evidence snapshots by their label
# ("<gate>-k6_windows-<file>", "<gate>-<objective>-evidence").
_LEGACY_NOT_RANGE = re.compile(r"(^|-)k6_(windows|summary)-|-evidence$")


def is_range_ref(ref: SnapshotRef) -> bool:
    """True when an index entry is a Prometheus range snapshot (not k6, not evidence)."""
    if ref.kind is not None:
        return ref.kind == "prometheus_range"
    return not _LEGACY_NOT_RANGE.search(ref.label)


def snapshot_dir(path: Path) -> Path:
    """Accept a run's output directory or its ``snapshots/`` folder."""
    if not path.exists():
        raise ConfigError("replay directory does not exist", where=str(path))
    if not path.is_dir():
        raise ConfigError("replay path is not a directory", where=str(path))
    inner = path / "snapshots"
    return inner if inner.is_dir() else path


def recorded_index_digest(directory: Path) -> tuple[Path | None, str | None]:
    """``(verdicts.json path, its snapshots_index_sha256)`` for the run owning ``directory``
    (a ``snapshots/`` folder); ``(None, None)`` when there is no verdicts.json beside it."""
    from igkit.strictdoc import DocumentError, load_json

    verdicts = directory.parent / VERDICTS_FILE
    if directory.name != "snapshots" or not verdicts.is_file():
        return None, None
    try:
        data = load_json(verdicts.read_bytes(), where=str(verdicts))
    except (DocumentError, OSError) as exc:
        raise ConfigError(
            f"unreadable, so the snapshot index cannot be checked ({exc})", where=str(verdicts)
        ) from None
    value = data.get(INDEX_DIGEST_FIELD) if isinstance(data, dict) else None
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"{INDEX_DIGEST_FIELD} is not a string", where=str(verdicts))
    return verdicts, value


class ReplaySource:
    """Serves each request from a stored snapshot with the same request id."""

    name = "replay"

    def __init__(self, directory: Path) -> None:
        self.directory = snapshot_dir(directory)
        index = read_index(self.directory)
        if index is None:
            raise ConfigError(
                f"no {INDEX_FILE}: cannot tell which snapshot files belong to the run",
                where=str(self.directory),
            )
        self.index: SnapshotIndex | None = index
        self.index_sha256 = sha256_file(self.directory / INDEX_FILE)
        self.problems: list[str] = []
        self.warnings: list[str] = []
        self.rejected: dict[str, str] = {}  # request id -> why its snapshot is unusable
        self.index_checked = self._check_index()
        self._by_id: dict[str, Snapshot] = {}
        self.k6: list[K6Snapshot | K6SummarySnapshot] = []
        self.evidence: list[EvidenceSnapshot] = []
        listed = {ref.file for ref in index.snapshots}
        for path in sorted(self.directory.glob("*.json")):
            if path.name != INDEX_FILE and path.name not in listed:
                self.warnings.append(f"{path.name}: not listed in {INDEX_FILE}, ignored")
        for ref in index.snapshots:
            snap, why = self._read_listed(ref.file, ref.id, ref.sha256)
            if snap is None:
                if is_range_ref(ref):
                    self.rejected[ref.id] = why
                    self.problems.append(why)
                    continue
                raise ConfigError(
                    f"{why}; a k6 or evidence snapshot that is not the run's refuses the replay",
                    where=str(self.directory),
                )
            if isinstance(snap, Snapshot):
                self._by_id[snap.id] = snap
            elif isinstance(snap, EvidenceSnapshot):
                self.evidence.append(snap)
            else:
                self.k6.append(snap)

    def _check_index(self) -> bool:
        """True when verdicts.json records this index's sha256 (and it matches)."""
        verdicts, recorded = recorded_index_digest(self.directory)
        if verdicts is None:
            return False
        if recorded is None:
            self.warnings.append(
                f"{verdicts.name} records no {INDEX_DIGEST_FIELD} (older igkit): "
                f"{INDEX_FILE} is checked only against the snapshots"
            )
            return False
        if recorded != self.index_sha256:
            raise ConfigError(
                f"sha256 {self.index_sha256[:12]}… differs from {verdicts.name} "
                f"{INDEX_DIGEST_FIELD} {recorded[:12]}…: the index was altered after the run",
                where=str(self.directory / INDEX_FILE),
            )
        return True

    def _read_listed(
        self, name: str, ref_id: str, ref_sha: str
    ) -> tuple[Snapshot | K6Snapshot | K6SummarySnapshot | EvidenceSnapshot | None, str]:
        where = f"snapshots/{name}"
        if not name or "/" in name or "\\" in name or name.startswith(".") or name == INDEX_FILE:
            return None, f"{where}: not a plain snapshot file name in {INDEX_FILE}"
        path = self.directory / name
        if path.is_symlink() or not path.is_file():
            return None, f"{where}: listed in {INDEX_FILE} but missing or not a regular file"
        try:
            snap = read_snapshot(path)
        except SnapshotError as exc:
            return None, f"{where}: {exc}".replace(f"{path}: ", "")
        if snap.sha256 != ref_sha or snap.id != ref_id:
            return None, (
                f"{where}: sha256 {snap.sha256[:12]}… is not the {ref_sha[:12]}… recorded in "
                f"{INDEX_FILE} (the snapshot was altered and re-sealed)"
            )
        return snap, ""

    def __len__(self) -> int:
        return len(self._by_id)

    def fetch(self, request: RangeRequest) -> Snapshot:
        if request.id in self.rejected:
            raise SnapshotMissingError(f"unusable snapshot: {self.rejected[request.id]}")
        snap = self._by_id.get(request.id)
        if snap is None:
            hint = f"; unusable files: {'; '.join(self.problems)}" if self.problems else ""
            raise SnapshotMissingError(
                f"no snapshot in {self.directory} for {request.query!r} over "
                f"{request.start:%Y-%m-%d %H:%M:%S}–{request.end:%H:%M:%S}Z (was --at or the matrix changed?){hint}"
            )
        return snap
