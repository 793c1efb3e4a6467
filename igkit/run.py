"""A go/no-go run: plan, fetch every snapshot first, evaluate offline, write the evidence."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

from igkit import atomic, rundir
from igkit.errors import SourceError
from igkit.judge.evaluate import evaluate
from igkit.redact import redact, redact_data, secrets
from igkit.report.junit import to_junit
from igkit.snapshots import (
    INDEX_FILE,
    EvidenceSnapshot,
    K6Snapshot,
    K6SummarySnapshot,
    Snapshot,
    write_snapshots,
)
from igkit.sources import Source
from igkit.spec.loader import LoadedMatrix
from igkit.spec.plan import PlannedQuery, plan
from igkit.trust import TrustStore
from igkit.verdicts import RunVerdicts

VERDICTS_FILE = "verdicts.json"
JUNIT_FILE = "junit.xml"


def fetch_all(
    planned: list[PlannedQuery], source: Source, workers: int = 4
) -> dict[str, Snapshot | str]:
    """Fetch each distinct request once; a source failure becomes a message, never a raise."""
    requests = {r.id: r for p in planned for _, r in p.requests}

    def one(request_id: str) -> tuple[str, Snapshot | str]:
        try:
            return request_id, redacted(source.fetch(requests[request_id]))
        except SourceError as exc:
            return request_id, redact(str(exc))

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(requests)))) as pool:
        return dict(pool.map(one, list(requests)))


def redacted(snap: Snapshot) -> Snapshot:
    """``snap`` with every configured secret removed from its data (a server may echo a token
    in an error body or a label), re-sealed so replay still verifies it."""
    found = secrets()
    if not found:
        return snap
    content = snap.content()
    clean = redact_data(content, found)
    if clean == content:
        return snap
    return Snapshot.model_validate(clean).sealed()


def run_files(run: RunVerdicts) -> dict[Path, bytes]:
    """``verdicts.json`` and ``junit.xml`` of ``run`` (relative names), written as one set."""
    clean = RunVerdicts.model_validate(redact_data(run.model_dump(by_alias=True)))
    return {
        Path(VERDICTS_FILE): atomic.json_bytes(clean.model_dump(mode="json", by_alias=True)),
        Path(JUNIT_FILE): to_junit(clean),
    }


def write_run_files(out: Path, run: RunVerdicts) -> None:
    atomic.write_set({out / name: data for name, data in run_files(run).items()})


def write_outputs(
    out: Path,
    run: RunVerdicts,
    planned: list[PlannedQuery],
    snapshots: dict[str, Snapshot | str],
    *,
    server: str | None,
    k6: Sequence[K6Snapshot | K6SummarySnapshot] = (),
    evidence: Sequence[EvidenceSnapshot] = (),
) -> RunVerdicts:
    """Write snapshots, then ``verdicts.json`` (recording the index's sha256) and junit.xml;
    return the verdicts as written."""
    snap_dir = out / "snapshots"
    labelled: list[tuple[str, Snapshot | K6Snapshot | K6SummarySnapshot | EvidenceSnapshot]] = [
        (label, s)
        for p in planned
        for label, r in p.requests
        if isinstance(s := snapshots.get(r.id), Snapshot)
    ]
    labelled += [(f"G5-{s.kind}-{s.file}", s) for s in k6]
    labelled += [(f"{s.file}-evidence", s) for s in evidence]
    write_snapshots(  # the earlier run's files went when this run took ``out``
        snap_dir,
        labelled,
        evaluated_at=run.evaluated_at,
        tenant=run.tenant,
        server=server,
        matrix_sha256=run.matrix_sha256,
    )
    index_digest = hashlib.sha256((snap_dir / INDEX_FILE).read_bytes()).hexdigest()
    run = run.model_copy(update={"snapshots_index_sha256": index_digest})
    write_run_files(out, run)
    return run


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

    ``k6`` holds the k6 snapshots already captured (from ``--k6`` files, or a replay). ``out``
    is taken for this run (:func:`igkit.rundir.owned`) unless the caller already holds it."""
    with rundir.owned(out, fresh=True):
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
        return write_outputs(out, run, planned, snapshots, server=server, k6=k6, evidence=evidence)
