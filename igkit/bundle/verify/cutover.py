"""``bundle verify`` of a cutover bundle (:mod:`igkit.conductor.seal`).

After the hash list and its signature: the DSSE attestation (cutover predicate), the signed
``manifest.json`` against the summary recomputed from the bundled ``run.json`` and
``timeline.jsonl``, and the timeline itself - every line well-formed, paths inside the
bundle, every judgement's directory present with its ``judge.json``, and no judge directory
the timeline does not name. With ``--replay``: every judgement of the timeline is judged
again from its snapshots (:func:`igkit.cutover.judge.judge` with ``replay`` = its
directory, into a temporary directory) and its action and reasons must equal both the
bundled ``judge.json`` and the timeline entry; the preflight go-no-go is re-evaluated as
``verify --replay`` does for a go-no-go bundle. Every mismatch is one FAIL line.
"""

from __future__ import annotations

import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

from igkit.bundle.build import MATRIX
from igkit.bundle.verify.manifest import check_attestation, read_signed_manifest
from igkit.bundle.verify.result import VerifyResult
from igkit.conductor.seal import (
    CUTOVER_PREDICATE,
    CUTOVER_SCHEMA,
    RUN_FILE,
    TIMELINE,
    JudgementEntry,
    Timeline,
    cutover_summary,
    predicate,
)
from igkit.cutover.models import JUDGE_FILE, Judgement
from igkit.errors import IgkitError
from igkit.judge.evidence.checks import failed, passed
from igkit.judge.evidence.keys import PublicKey
from igkit.strictdoc import load_json, load_model

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


def check_timeline(files: dict[str, Path], timeline: Timeline, result: VerifyResult) -> None:
    problems = list(timeline.problems)
    for entry in timeline.entries:
        for name in ("dir", "log", "file"):
            value = entry.get(name)
            if isinstance(value, str) and name != "dir" and value not in files:
                problems.append(
                    f"{TIMELINE} seq {entry.get('seq')}: {name} {value} is not in the bundle"
                )
            elif (
                isinstance(value, str)
                and name == "dir"
                and not any(n.startswith(f"{value}/") for n in files)
            ):
                problems.append(
                    f"{TIMELINE} seq {entry.get('seq')}: dir {value} is not in the bundle"
                )
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


def replay_cutover(
    bundle: Path,
    files: dict[str, Path],
    manifest: dict[str, Any] | None,
    timeline: Timeline,
    result: VerifyResult,
    *,
    trust: Path | None,
    own_key: bool,
) -> None:
    """Re-derive every judgement of the timeline; replay the preflight go-no-go."""
    from igkit.spec.loader import load_matrix

    if MATRIX not in files:
        result.checks.append(failed("replay", f"no {MATRIX} in the bundle: cannot re-judge"))
        return
    try:
        loaded = load_matrix(files[MATRIX])
    except IgkitError as exc:
        result.checks.append(failed("replay", f"{MATRIX}: {exc}"[:300]))
        return
    recorded = (manifest or {}).get("matrixSha256")
    if loaded.sha256 != recorded:
        result.checks.append(
            failed(
                "replay",
                f"{MATRIX} sha256 {loaded.sha256[:12]}… != {RUN_FILE} matrix_sha256 {str(recorded)[:12]}…",
            )
        )
        return
    same = 0
    with tempfile.TemporaryDirectory(prefix="igkit-cutover-replay-") as tmp:
        for j in timeline.judgements:
            if _rejudge(bundle, files, loaded, j, Path(tmp) / f"{j.seq:06d}", result):
                same += 1
    n = len(timeline.judgements)
    if same == n:
        result.checks.append(
            passed("replay judgements", f"all {n} judgements of the timeline re-derive identically")
        )
    _replay_preflight(bundle, files, timeline, result, trust=trust, own_key=own_key)
    _replay_postdeploy(bundle, files, loaded, timeline, result)


def _rejudge(
    bundle: Path,
    files: dict[str, Path],
    loaded: Any,
    entry: JudgementEntry,
    out: Path,
    result: VerifyResult,
) -> bool:
    from igkit.cutover.judge import JudgeRequest, judge

    where = f"judgement seq {entry.seq} ({entry.dir})"
    path = files.get(f"{entry.dir.rstrip('/')}/{JUDGE_FILE}")
    if path is None:
        return False  # check_timeline has said so
    try:
        recorded = load_model(Judgement, path.read_bytes(), where=f"{entry.dir}/{JUDGE_FILE}")
        again = judge(
            JudgeRequest(
                stage=recorded.stage,
                stage_start=recorded.stage_start,
                at=recorded.evaluated_at,
                out=out,
                hold=recorded.hold,
                replay=bundle / entry.dir,
                matrix=files[MATRIX],
            ),
            loaded,
        )
    except (IgkitError, ValueError) as exc:
        result.checks.append(
            failed("replay judgement", f"{where}: could not re-judge: {exc}"[:300])
        )
        return False
    problems = []
    if (again.action, again.reasons) != (recorded.action, recorded.reasons):
        problems.append(
            f"{where}: judge.json says {recorded.action.value}, its snapshots give "
            f"{again.action.value}"
            + ("" if again.action != recorded.action else " (other reasons)")
        )
    if (again.action, again.reasons) != (entry.action, entry.reasons):
        problems.append(
            f"{where}: the timeline says {entry.action.value}, its snapshots give "
            f"{again.action.value}" + ("" if again.action != entry.action else " (other reasons)")
        )
    if entry.stage is not None and entry.stage != recorded.stage:
        problems.append(
            f"{where}: the timeline says stage {entry.stage}, judge.json {recorded.stage}"
        )
    if not problems and again != recorded:
        problems.append(
            f"{where}: judge.json differs from its re-derivation beyond action and reasons"
        )
    result.checks.extend(failed("replay judgement", p[:300]) for p in problems)
    return not problems


def _replay_preflight(
    bundle: Path,
    files: dict[str, Path],
    timeline: Timeline,
    result: VerifyResult,
    *,
    trust: Path | None,
    own_key: bool,
) -> None:
    """The T-60m go-no-go, re-evaluated as ``verify --replay`` does for a go-no-go bundle."""
    from igkit.bundle.verify.replay import check_replay

    pre = next((e for e in timeline.entries if e.get("kind") == "preflight"), None)
    folder = pre.get("dir") if pre else None
    if not isinstance(folder, str) or f"{folder}/verdicts.json" not in files:
        result.notes.append(
            "no preflight verdicts.json in the bundle: the go-no-go is not replayed"
        )
        return
    prefix = f"{folder.rstrip('/')}/"
    sub = {n[len(prefix) :]: p for n, p in files.items() if n.startswith(prefix)}
    sub[MATRIX] = files[MATRIX]
    sub |= {n: p for n, p in files.items() if n.startswith("trust/")}
    try:
        verdicts = load_json(sub["verdicts.json"].read_bytes(), where=f"{prefix}verdicts.json")
    except ValueError as exc:
        result.checks.append(failed("replay", f"preflight: {exc}"[:300]))
        return
    before = len(result.checks)
    check_replay(
        bundle / folder,
        sub,
        verdicts if isinstance(verdicts, dict) else None,
        result,
        trust=trust,
        own_key=own_key,
    )
    for i in range(before, len(result.checks)):
        c = result.checks[i]
        result.checks[i] = c.model_copy(update={"name": f"preflight {c.name}"})


def _replay_postdeploy(
    bundle: Path, files: dict[str, Path], loaded: Any, timeline: Timeline, result: VerifyResult
) -> None:
    """The post-deploy verdict re-derived from its snapshots (status and reasons must equal
    postdeploy.json and the timeline's ``postdeploy`` entry)."""
    from igkit.cutover.models import POSTDEPLOY_FILE, PostdeployVerdict
    from igkit.cutover.postdeploy import PostdeployRequest, validate

    entries = [e for e in timeline.entries if e.get("kind") == "postdeploy"]
    if not entries:
        return
    for entry in entries:
        folder = str(entry.get("dir"))
        where = f"post-deploy seq {entry.get('seq')} ({folder})"
        path = files.get(f"{folder.rstrip('/')}/{POSTDEPLOY_FILE}")
        if path is None:
            result.checks.append(failed("replay postdeploy", f"{where}: no {POSTDEPLOY_FILE}"))
            continue
        try:
            recorded = load_model(
                PostdeployVerdict, path.read_bytes(), where=f"{folder}/{POSTDEPLOY_FILE}"
            )
            with tempfile.TemporaryDirectory(prefix="igkit-postdeploy-replay-") as tmp:
                again = validate(
                    PostdeployRequest(
                        since=recorded.since,
                        out=Path(tmp) / "postdeploy",
                        duration=recorded.duration,
                        replay=bundle / folder,
                        matrix=files[MATRIX],
                    ),
                    loaded,
                )
        except (IgkitError, ValueError) as exc:
            result.checks.append(
                failed("replay postdeploy", f"{where}: could not re-validate: {exc}"[:300])
            )
            continue
        problems = []
        if (again.status, again.reasons) != (recorded.status, recorded.reasons):
            problems.append(
                f"{where}: postdeploy.json says {recorded.status.value}, its snapshots give "
                f"{again.status.value}"
                + ("" if again.status != recorded.status else " (other reasons)")
            )
        if entry.get("status") != again.status.value:
            problems.append(
                f"{where}: the timeline says {entry.get('status')}, its snapshots give {again.status.value}"
            )
        if problems:
            result.checks.extend(failed("replay postdeploy", p[:300]) for p in problems)
        else:
            result.checks.append(
                passed("replay postdeploy", f"{where}: {again.status.value} re-derives identically")
            )
