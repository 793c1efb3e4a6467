"""``bundle verify`` of a cutover bundle (:mod:`igkit.conductor.seal`).

After the hash list and its signature: the DSSE attestation (cutover predicate), the signed
``manifest.json`` against the summary recomputed from the bundled ``run.json`` and
``timeline.jsonl``, and the timeline itself - every line well-formed, paths inside the
bundle, every judgement's directory present with its ``judge.json``, and no judge directory
the timeline does not name. With ``--replay``: every judgement of the timeline is judged
again from its snapshots (:func:`igkit.cutover.judge.judge` with ``replay`` = its
directory, into a temporary directory) and its action and reasons must equal both the
bundled ``judge.json`` and the timeline entry (:mod:`igkit.bundle.verify.cutover_replay`).
Every mismatch is one FAIL line.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

from igkit.bundle.verify.manifest import check_attestation, read_signed_manifest
from igkit.bundle.verify.result import VerifyResult
from igkit.conductor.seal import (
    CUTOVER_PREDICATE,
    CUTOVER_SCHEMA,
    RUN_FILE,
    TIMELINE,
    Timeline,
    cutover_summary,
    predicate,
)
from igkit.cutover.models import JUDGE_FILE
from igkit.errors import IgkitError
from igkit.judge.evidence.checks import failed, passed
from igkit.judge.evidence.keys import PublicKey
from igkit.strictdoc import load_json

STAGES = "stages"


def is_cutover(files: dict[str, Path]) -> bool:
    """A bundle whose readable manifest.json declares the cutover schema."""
    path = files.get("manifest.json")
    if path is None:
        return False
    try:
        doc = load_json(path.read_bytes(), where="manifest.json")
    except (ValueError, OSError):
        return False
    return isinstance(doc, dict) and doc.get("schema") == CUTOVER_SCHEMA


def verify_cutover(
    bundle: Path,
    files: dict[str, Path],
    listed: dict[str, str] | None,
    used_key: PublicKey | None,
    result: VerifyResult,
) -> tuple[dict[str, Any] | None, Timeline | None]:
    """The checks that need no replay; (manifest, timeline) for the replay."""
    stated = check_attestation(
        files, listed, used_key, None, result, predicate_type=CUTOVER_PREDICATE
    )
    manifest = read_signed_manifest(files, used_key, result)
    if RUN_FILE not in files or TIMELINE not in files:
        result.checks.append(failed("cutover", f"{RUN_FILE} or {TIMELINE} is missing"))
        return manifest, None
    try:
        summary, timeline = cutover_summary(bundle)
    except IgkitError as exc:
        result.checks.append(failed("cutover", str(exc)[:300]))
        return manifest, None
    if manifest is not None:
        wrong = [k for k in summary if manifest.get(k) != summary[k]]
        for k in wrong:
            result.checks.append(
                failed(
                    "manifest vs timeline",
                    f"{k}: manifest says {manifest.get(k)!r}, the run {summary[k]!r}"[:300],
                )
            )
        if stated is not None and stated != predicate(manifest):
            result.checks.append(failed("attestation predicate", "differs from manifest.json"))
        if not wrong:
            result.checks.append(
                passed(
                    "manifest vs timeline",
                    f"outcome {summary['outcome']}, {summary['timelineEntries']} timeline entries, "
                    f"{len(summary['judgements'])} judgements",
                )
            )
        result.notes.append(
            f"cutover bundle: outcome {summary['outcome']} (exit {summary['exitCode']}), "
            f"{len(summary['judgements'])} judgements"
        )
    check_timeline(files, timeline, result)
    return manifest, timeline


def judge_dirs(files: dict[str, Path]) -> set[str]:
    """Every directory under ``stages/`` holding a judge.json (the judge output dirs)."""
    return {
        str(PurePosixPath(n).parent)
        for n in files
        if n.startswith(f"{STAGES}/") and PurePosixPath(n).name == JUDGE_FILE
    }


def _dir_required(entry: dict[str, Any]) -> bool:
    """A judgement, preflight or post-deploy always leaves its directory; a ``check`` that
    failed (status ERROR, e.g. a judge that raised) may have written nothing."""
    return entry.get("kind") != "check" or entry.get("status") != "ERROR"


def _preflight_decisions(files: dict[str, Path], timeline: Timeline) -> list[str]:
    """A ``preflight`` entry's decision must be its go-no-go's (``verdicts.json``)."""
    out = []
    for entry in timeline.entries:
        folder = entry.get("dir")
        if entry.get("kind") != "preflight" or not isinstance(folder, str):
            continue
        path = files.get(f"{folder}/verdicts.json")
        if path is None:
            continue  # "not in the bundle" is said once, above
        try:
            doc = load_json(path.read_bytes(), where=f"{folder}/verdicts.json")
            recorded = doc.get("decision") if isinstance(doc, dict) else None
        except ValueError as exc:
            out.append(str(exc))
            continue
        if recorded != entry.get("decision"):
            out.append(
                f"{TIMELINE} seq {entry.get('seq')}: preflight decision {entry.get('decision')}, "
                f"{folder}/verdicts.json says {recorded}"
            )
    return out


def check_timeline(files: dict[str, Path], timeline: Timeline, result: VerifyResult) -> None:
    problems = list(timeline.problems)
    for entry in timeline.entries:
        for name in ("dir", "log", "file"):
            value = entry.get(name)
            if not isinstance(value, str) or (name == "dir" and not _dir_required(entry)):
                continue
            present = (
                any(n.startswith(f"{value}/") for n in files) if name == "dir" else value in files
            )
            if not present:
                problems.append(
                    f"{TIMELINE} seq {entry.get('seq')}: {name} {value} is not in the bundle"
                )
    problems += _preflight_decisions(files, timeline)
    named = {j.dir.rstrip("/") for j in timeline.judgements}
    for j in timeline.judgements:
        if f"{j.dir.rstrip('/')}/{JUDGE_FILE}" not in files:
            problems.append(f"judgement seq {j.seq}: {j.dir}/{JUDGE_FILE} is not in the bundle")
    for d in sorted(judge_dirs(files) - named):
        problems.append(f"{d}: a judge directory the timeline does not name")
    seen: dict[str, int] = {}
    for j in timeline.judgements:
        if j.dir in seen:
            problems.append(
                f"judgement seq {j.seq}: dir {j.dir} already named by seq {seen[j.dir]}"
            )
        seen.setdefault(j.dir, j.seq)
    if problems:
        result.checks.extend(failed("timeline", p[:300]) for p in problems)
    else:
        result.checks.append(
            passed(
                "timeline",
                f"{len(timeline.entries)} entries in order, every path inside the bundle, "
                f"{len(named)} judge directories = the timeline's judgements",
            )
        )
