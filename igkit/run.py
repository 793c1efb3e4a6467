"""A go/no-go run: plan, fetch every snapshot first, evaluate offline, write the evidence."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

from igkit.errors import ConfigError, SourceError
from igkit.evaluate import evaluate
from igkit.matrix.loader import LoadedMatrix
from igkit.plan import PlannedQuery, plan
from igkit.reports.junit import to_junit
from igkit.snapshots import (
    EvidenceSnapshot,
    K6Snapshot,
    K6SummarySnapshot,
    Snapshot,
    read_index,
    write_snapshots,
)
from igkit.sources import Source
from igkit.trust import TrustStore
from igkit.verdicts import RunVerdicts

VERDICTS_FILE = "verdicts.json"
JUNIT_FILE = "junit.xml"


def fetch_all(
    planned: list[PlannedQuery], source: Source, workers: int = 4
) -> dict[str, Snapshot | str]:
    """Fetch each distinct request once; a source failure becomes a message, never a raise."""
    requests = {p.request.id: p.request for p in planned}

    def one(request_id: str) -> tuple[str, Snapshot | str]:
        try:
            return request_id, source.fetch(requests[request_id])
        except SourceError as exc:
            return request_id, str(exc)

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(requests)))) as pool:
        return dict(pool.map(one, list(requests)))


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def prepare_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise ConfigError("--out exists and is not a directory", where=str(out))
    try:
        (out / "snapshots").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"cannot create output directory: {exc.strerror}", where=str(out)
        ) from None


def write_outputs(
    out: Path,
    run: RunVerdicts,
    planned: list[PlannedQuery],
    snapshots: dict[str, Snapshot | str],
    *,
    server: str | None,
    k6: Sequence[K6Snapshot | K6SummarySnapshot] = (),
    evidence: Sequence[EvidenceSnapshot] = (),
) -> None:
    snap_dir = out / "snapshots"
    previous = read_index(snap_dir) if (snap_dir / "index.json").exists() else None
    labelled: list[tuple[str, Snapshot | K6Snapshot | K6SummarySnapshot | EvidenceSnapshot]] = [
        (p.label, s) for p in planned if isinstance(s := snapshots.get(p.request.id), Snapshot)
    ]
    labelled += [(f"G5-{s.kind}-{s.file}", s) for s in k6]
    labelled += [(f"{s.file}-evidence", s) for s in evidence]
    index = write_snapshots(
        snap_dir,
        labelled,
        evaluated_at=run.evaluated_at,
        tenant=run.tenant,
        server=server,
        matrix_sha256=run.matrix_sha256,
    )
    if previous is not None:
        keep = {r.file for r in index.snapshots}
        for ref in previous.snapshots:
            stale = snap_dir / Path(ref.file).name
            if ref.file not in keep and stale.is_file() and not stale.is_symlink():
                stale.unlink()
    body = json.dumps(run.model_dump(mode="json", by_alias=True), indent=2, ensure_ascii=False)
    _atomic_write(out / VERDICTS_FILE, body.encode() + b"\n")
    _atomic_write(out / JUNIT_FILE, to_junit(run))


def go_no_go(
    loaded: LoadedMatrix,
    gate_ids: list[str],
    at: datetime,
    source: Source,
    *,
    tenant: str | None,
    out: Path,
    source_label: str,
    server: str | None = None,
    k6: Sequence[K6Snapshot | K6SummarySnapshot] = (),
    evidence: Sequence[EvidenceSnapshot] = (),
    trust: TrustStore | None = None,
) -> RunVerdicts:
    """Snapshot, then evaluate, then write ``verdicts.json``, ``junit.xml`` and ``snapshots/``.

    ``k6`` holds the k6 snapshots already captured (from ``--k6`` files, or a replay)."""
    prepare_out(out)
    at = at.replace(microsecond=0)
    planned = plan(loaded.matrix, gate_ids, at, tenant)
    snapshots = fetch_all(planned, source)
    run = evaluate(
        loaded,
        gate_ids,
        at,
        snapshots,
        tenant=tenant,
        source=source_label,
        k6=k6,
        evidence=evidence,
        trust=trust,
    )
    write_outputs(out, run, planned, snapshots, server=server, k6=k6, evidence=evidence)
    return run
