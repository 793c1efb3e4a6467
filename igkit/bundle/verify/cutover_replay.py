"""``bundle verify --replay`` of a cutover bundle: every recorded decision re-derived offline.

Every judgement of the timeline is judged again from its snapshots
(:func:`igkit.cutover.judge.judge` with ``replay`` = its directory, into a temporary
directory): action and reasons must equal both the bundled ``judge.json`` and the timeline
entry. Every post-deploy trigger check (``check`` entries with a report) and the post-deploy
verdict are re-derived the same way, and the preflight go-no-go is re-evaluated as ``verify
--replay`` does for a go-no-go bundle. Every mismatch is one FAIL line.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from igkit.bundle.build import MATRIX
from igkit.bundle.verify.result import VerifyResult
from igkit.conductor.seal import RUN_FILE, JudgementEntry, Timeline
from igkit.cutover.models import JUDGE_FILE, Judgement
from igkit.errors import IgkitError
from igkit.judge.evidence.checks import failed, passed
from igkit.strictdoc import load_json, load_model

if TYPE_CHECKING:
    from igkit.spec.loader import LoadedMatrix


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
    _replay_checks(bundle, files, loaded, timeline, result)


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


def _replay_checks(
    bundle: Path,
    files: dict[str, Path],
    loaded: LoadedMatrix,
    timeline: Timeline,
    result: VerifyResult,
) -> None:
    """Every post-deploy trigger check (``check`` entries that produced a report) re-run
    from its snapshots: the same triggers.json, the same status and reasons as the entry."""
    from igkit.cutover.models import TriggerReport
    from igkit.cutover.postdeploy import check_summary, postdeploy_spec
    from igkit.cutover.triggers import TRIGGERS_DIR, TRIGGERS_FILE, check_triggers

    checks = [
        e for e in timeline.entries if e.get("kind") == "check" and e.get("status") != "ERROR"
    ]
    if not checks:
        return
    try:
        spec = postdeploy_spec(loaded)
    except IgkitError as exc:
        result.checks.append(failed("replay check", f"{MATRIX}: {exc}"[:300]))
        return
    same = 0
    for entry in checks:
        folder = str(entry.get("dir"))
        where = f"check seq {entry.get('seq')} ({folder})"
        path = files.get(f"{folder}/{TRIGGERS_DIR}/{TRIGGERS_FILE}")
        if path is None:
            result.checks.append(
                failed("replay check", f"{where}: no {TRIGGERS_DIR}/{TRIGGERS_FILE}")
            )
            continue
        try:
            recorded = load_model(
                TriggerReport, path.read_bytes(), where=f"{folder}/{TRIGGERS_FILE}"
            )
            with tempfile.TemporaryDirectory(prefix="igkit-check-replay-") as tmp:
                again = check_triggers(
                    Path(tmp),
                    recorded.evaluated_at,
                    recorded.lookback,
                    prom_url=None,
                    replay=bundle / folder,
                    matrix=files[MATRIX],
                )
        except (IgkitError, ValueError) as exc:
            result.checks.append(
                failed("replay check", f"{where}: could not re-check: {exc}"[:300])
            )
            continue
        if again.report is None:
            result.checks.append(failed("replay check", f"{where}: {again.problem}"[:300]))
            continue
        problems = []
        if again.report != recorded:
            problems.append(f"{where}: triggers.json differs from its snapshots' verdicts")
        worst, reasons = check_summary(spec, again.report.triggers)
        status = worst.value
        if (entry.get("status"), entry.get("reasons")) != (status, reasons):
            problems.append(
                f"{where}: the timeline says {entry.get('status')}, its snapshots give {status}"
                + ("" if entry.get("status") != status else " (other reasons)")
            )
        result.checks.extend(failed("replay check", p[:300]) for p in problems)
        same += not problems
    if checks and same == len(checks):
        result.checks.append(
            passed("replay checks", f"all {same} post-deploy trigger checks re-derive identically")
        )
