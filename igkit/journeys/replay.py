"""Re-derive a recorded journeys verdict offline (``bundle verify --replay``, the conductor's
``--resume``): the sealed snapshot must verify, the kept k6 summary must be the one it was
read from and give the same figures, and the judgement of those figures must equal the
recorded ``journeys.json``. Any difference is a :class:`~igkit.errors.SnapshotError`."""

from __future__ import annotations

import hashlib
from pathlib import Path

from pydantic import ValidationError

from igkit.errors import SnapshotError
from igkit.journeys.figures import read_figures
from igkit.journeys.judge import judge_journeys
from igkit.journeys.models import RESULT_FILE, SNAPSHOT_FILE, JourneysResult, JourneysSnapshot
from igkit.journeys.run import journeys_objective
from igkit.sources.k6.files import K6InputError
from igkit.spec.loader import LoadedMatrix
from igkit.strictdoc import DocumentError, load_json


def _read(path: Path) -> object:
    try:
        return load_json(path.read_bytes(), where=path.name)
    except OSError as exc:
        raise SnapshotError(f"cannot read ({exc.strerror})", path=str(path)) from None
    except DocumentError as exc:
        raise SnapshotError(exc.message, path=str(path)) from None


def load_snapshot(run_dir: Path) -> JourneysSnapshot:
    """``run_dir/snapshots/journeys.json``, strictly read and verified against its seal."""
    path = run_dir / SNAPSHOT_FILE
    try:
        snap = JourneysSnapshot.model_validate(_read(path))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise SnapshotError(f"{where}: {first['msg']}", path=str(path)) from None
    snap.verify()
    return snap


def load_result(run_dir: Path) -> JourneysResult:
    """``run_dir/journeys.json`` as recorded."""
    path = run_dir / RESULT_FILE
    try:
        return JourneysResult.model_validate(_read(path))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise SnapshotError(f"{where}: {first['msg']}", path=str(path)) from None


def replay_journeys(run_dir: Path, loaded: LoadedMatrix) -> JourneysResult:
    """The recorded result, once everything it rests on has been re-derived and matched."""
    snap = load_snapshot(run_dir)
    recorded = load_result(run_dir)
    if recorded.snapshot_sha256 != snap.sha256:
        raise SnapshotError("journeys.json names another snapshot", path=str(run_dir))
    if recorded.matrix_sha256 != loaded.sha256:
        raise SnapshotError(
            f"recorded with matrix {recorded.matrix_sha256[:16]}, not {loaded.sha256[:16]}",
            path=str(run_dir / RESULT_FILE),
        )
    gate, obj = journeys_objective(loaded, recorded.objective)
    if snap.error is None:
        summary = run_dir / snap.summary_file
        try:
            raw = summary.read_bytes()
        except OSError as exc:
            raise SnapshotError(f"cannot read ({exc.strerror})", path=str(summary)) from None
        if hashlib.sha256(raw).hexdigest() != snap.summary_sha256:
            raise SnapshotError("differs from the summary the snapshot sealed", path=str(summary))
        try:
            figures = read_figures(raw, summary, [s.name for s in obj.steps])
        except K6InputError as exc:
            raise SnapshotError(str(exc), path=str(summary)) from None
        if figures != snap.steps:
            raise SnapshotError("figures differ from the sealed snapshot", path=str(summary))
    verdict, steps = judge_journeys(gate.id, obj, snap)
    if (verdict.status, verdict, steps) != (recorded.status, recorded.verdict, recorded.steps):
        raise SnapshotError(
            f"re-judged {verdict.status.value}, recorded {recorded.status.value}",
            path=str(run_dir / RESULT_FILE),
        )
    return recorded
