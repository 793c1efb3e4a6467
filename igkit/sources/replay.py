"""Replay source: snapshots read back from a previous run, no network."""

from __future__ import annotations

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
    read_index,
    read_snapshot,
)


def snapshot_dir(path: Path) -> Path:
    """Accept a run's output directory or its ``snapshots/`` folder."""
    if not path.exists():
        raise ConfigError("replay directory does not exist", where=str(path))
    if not path.is_dir():
        raise ConfigError("replay path is not a directory", where=str(path))
    inner = path / "snapshots"
    return inner if inner.is_dir() else path


class ReplaySource:
    """Serves each request from a stored snapshot with the same request id."""

    name = "replay"

    def __init__(self, directory: Path) -> None:
        self.directory = snapshot_dir(directory)
        self.index: SnapshotIndex | None = read_index(self.directory)
        self.problems: list[str] = []
        self._by_id: dict[str, Snapshot] = {}
        self.k6: list[K6Snapshot | K6SummarySnapshot] = []
        self.evidence: list[EvidenceSnapshot] = []
        files = sorted(p for p in self.directory.glob("*.json") if p.name != INDEX_FILE)
        for path in files:
            if path.is_symlink() or not path.is_file():
                self.problems.append(f"{path.name}: not a regular file, ignored")
                continue
            try:
                snap = read_snapshot(path)
            except SnapshotError as exc:
                self.problems.append(f"{path.name}: {exc}".replace(f"{path}: ", ""))
                continue
            if isinstance(snap, Snapshot):
                self._by_id[snap.id] = snap
            elif isinstance(snap, EvidenceSnapshot):
                self.evidence.append(snap)
            else:
                self.k6.append(snap)
        if not files:
            raise ConfigError("no snapshot files (*.json) to replay", where=str(self.directory))

    def __len__(self) -> int:
        return len(self._by_id)

    def fetch(self, request: RangeRequest) -> Snapshot:
        snap = self._by_id.get(request.id)
        if snap is None:
            hint = f"; unusable files: {'; '.join(self.problems)}" if self.problems else ""
            raise SnapshotMissingError(
                f"no snapshot in {self.directory} for {request.query!r} over "
                f"{request.start:%Y-%m-%d %H:%M:%S}–{request.end:%H:%M:%S}Z (was --at or the matrix changed?){hint}"
            )
        return snap
