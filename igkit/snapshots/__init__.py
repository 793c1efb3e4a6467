"""Snapshots: the one hand-off between sources (which fetch) and gates (which judge).

A :class:`SnapshotSet` holds everything one judgement reads; a request without a snapshot
is a typed :class:`FetchFailure`, never a bare string.

A snapshot holds everything a verdict depends on for one range query — the exact query
text, the resolved absolute window, tenant, server (never credentials), the raw result
as the server sent it, fetch time and outcome — and a SHA-256 over its canonical JSON so
that a replay can prove it reads what the live run read.
"""

from __future__ import annotations

from igkit.snapshots.failure import FailureKind, FetchFailure
from igkit.snapshots.models import (
    ALL,
    SCHEMA,
    AnySnapshot,
    EvidenceFile,
    EvidenceSnapshot,
    K6Params,
    K6Snapshot,
    K6SummarySnapshot,
    K6Table,
    K6Threshold,
    K6Window,
    RangeRequest,
    RangeResult,
    SealedSnapshot,
    Snapshot,
    canonical_json,
    canonical_sha256,
    evidence_snapshot_id,
    k6_snapshot_id,
    params_for,
)
from igkit.snapshots.series import (
    RangeData,
    ResultError,
    check_range_snapshot,
    one_line,
    parse_query_range_body,
    parse_range_result,
    quote_label,
    read_query_range_body,
    series_key,
    series_labels,
    to_long_frame,
    to_wide_frame,
)
from igkit.snapshots.set import SnapshotSet
from igkit.snapshots.store import (
    INDEX_FILE,
    SnapshotIndex,
    SnapshotRef,
    read_index,
    read_snapshot,
    sha256_file,
    snapshot_filename,
    write_snapshots,
)

__all__ = [
    "ALL",
    "INDEX_FILE",
    "SCHEMA",
    "AnySnapshot",
    "EvidenceFile",
    "EvidenceSnapshot",
    "FailureKind",
    "FetchFailure",
    "K6Params",
    "K6Snapshot",
    "K6SummarySnapshot",
    "K6Table",
    "K6Threshold",
    "K6Window",
    "RangeData",
    "RangeRequest",
    "RangeResult",
    "ResultError",
    "SealedSnapshot",
    "Snapshot",
    "SnapshotIndex",
    "SnapshotRef",
    "SnapshotSet",
    "canonical_json",
    "canonical_sha256",
    "check_range_snapshot",
    "evidence_snapshot_id",
    "k6_snapshot_id",
    "one_line",
    "params_for",
    "parse_query_range_body",
    "parse_range_result",
    "quote_label",
    "read_index",
    "read_query_range_body",
    "read_snapshot",
    "series_key",
    "series_labels",
    "sha256_file",
    "snapshot_filename",
    "to_long_frame",
    "to_wide_frame",
    "write_snapshots",
]
