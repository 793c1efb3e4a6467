"""The snapshot store: one file per snapshot plus ``index.json``, written and read back with
their hashes checked."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_serializer,
)

from igkit.errors import SnapshotError
from igkit.snapshots.models import (
    AnySnapshot,
    EvidenceSnapshot,
    K6Snapshot,
    K6SummarySnapshot,
    SealedSnapshot,
    Snapshot,
)
from igkit.strictdoc import DocumentError, load_json, load_model, validation_message
from igkit.timeutil import rfc3339

INDEX_FILE = "index.json"
_ANY = TypeAdapter(AnySnapshot)


def sha256_file(path: Path) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB chunks (bundles and indexes can be large)."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def snapshot_filename(snapshot: SealedSnapshot, label: str = "") -> str:
    prefix = _SAFE.sub("-", label).strip("-.")[:60]
    return f"{prefix}-{snapshot.id}.json" if prefix else f"{snapshot.id}.json"


class SnapshotRef(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    file: str
    sha256: str
    label: str = ""
    kind: str | None = None  # the snapshot's kind; absent in indexes of earlier igkit


class SnapshotIndex(BaseModel):
    """``snapshots/index.json``: the run the snapshots belong to, so replay can resume it."""

    model_config = ConfigDict(extra="forbid")

    schema_: Literal["igkit.snapshot-index/v1"] = Field(
        default="igkit.snapshot-index/v1", alias="schema"
    )
    evaluated_at: datetime
    tenant: str | None = None
    server: str | None = None
    matrix_sha256: str
    select: str | None = Field(
        default=None, description="label matchers added to every selector (the run's --select)"
    )
    window: timedelta | None = Field(
        default=None, description="the window that replaced every step rule's (--window)"
    )
    snapshots: list[SnapshotRef]

    @field_serializer("evaluated_at")
    def _ser_at(self, v: datetime) -> str:
        return rfc3339(v)


def write_snapshots(
    directory: Path,
    snapshots: Iterable[tuple[str, SealedSnapshot]],
    *,
    evaluated_at: datetime,
    tenant: str | None,
    server: str | None,
    matrix_sha256: str,
    select: str | None = None,
    window: timedelta | None = None,
) -> SnapshotIndex:
    """Write labelled snapshots and their index; each file is written atomically."""
    from igkit.atomic import write_bytes

    directory.mkdir(parents=True, exist_ok=True)
    refs: dict[str, SnapshotRef] = {}
    for label, snap in snapshots:
        if snap.id in refs:
            continue
        name = snapshot_filename(snap, label)
        write_bytes(directory / name, snap.canonical() + b"\n")
        refs[snap.id] = SnapshotRef(
            id=snap.id, file=name, sha256=snap.sha256, label=label, kind=getattr(snap, "kind", None)
        )
    index = SnapshotIndex(
        evaluated_at=evaluated_at,
        tenant=tenant,
        server=server,
        matrix_sha256=matrix_sha256,
        select=select,
        window=window,
        snapshots=list(refs.values()),
    )
    data = index.model_dump(mode="json", by_alias=True)
    for unset in [k for k in ("select", "window") if data[k] is None]:
        del data[unset]  # an index without overrides reads as before they existed
    body = json.dumps(data, indent=2, sort_keys=True)
    write_bytes(directory / INDEX_FILE, body.encode() + b"\n")
    return index


def read_snapshot(path: Path) -> Snapshot | K6Snapshot | K6SummarySnapshot | EvidenceSnapshot:
    try:
        data = load_json(path.read_bytes(), where=str(path), check_depth=False)
    except OSError as exc:
        raise SnapshotError(f"cannot read: {exc.strerror}", path=str(path)) from None
    except DocumentError as exc:
        raise SnapshotError(f"not valid JSON ({exc.message})", path=str(path)) from None
    try:
        snap = _ANY.validate_python(data)
    except ValidationError as exc:
        raise SnapshotError(
            f"not an igkit snapshot ({validation_message(exc, data=data)})", path=str(path)
        ) from None
    try:
        snap.verify()
    except SnapshotError as exc:
        raise SnapshotError(str(exc), path=str(path)) from None
    return snap


def read_index(directory: Path) -> SnapshotIndex | None:
    path = directory / INDEX_FILE
    if not path.is_file():
        return None
    try:
        return load_model(SnapshotIndex, path.read_bytes(), where=INDEX_FILE)
    except OSError as exc:
        raise SnapshotError(f"unreadable snapshot index ({exc.strerror})", path=str(path)) from None
    except DocumentError as exc:
        raise SnapshotError(f"unreadable snapshot index ({exc.message})", path=str(path)) from None
