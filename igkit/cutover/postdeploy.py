"""``igkit postdeploy validate``: the hour after the cutover (seed §12, §14.4).

PASS only when, over ``[since, since + duration]``: every Prometheus objective of the
post-deploy gates is green (their windows replaced by the post-deploy window), every extra
check of the matrix (OPA decision errors, ...) is green, every trigger stayed QUIET (the
trigger engine's own verb, which covers the cost spike), and every value of each shard label
(``shard``, ``region``) present in the data has at least ``min_tenants_per_shard`` tenants the
gates judged. One gate run (verdicts.json + snapshots under ``gates/``) holds every number
read; ``--replay`` re-evaluates it and the triggers offline.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from igkit import atomic, rundir
from igkit.cutover.derive import derived
from igkit.cutover.judge import cutover_spec
from igkit.cutover.models import (
    POSTDEPLOY_FILE,
    PostdeployVerdict,
    ShardSample,
    TriggerOutcome,
    TriggerStatus,
)
from igkit.cutover.triggers import TriggerCheck, check_triggers
from igkit.errors import ConfigError
from igkit.spec.cutover import PostdeploySpec
from igkit.spec.loader import LoadedMatrix
from igkit.spec.models import Gate, PrometheusObjective
from igkit.timeutil import rfc3339
from igkit.verdicts import RunVerdicts, Status, worst

GATES_DIR = "gates"
REPORT_FILE = "report.html"
CHECKS_GATE = "POSTDEPLOY"
TENANT_SAMPLE = "tenant_sample"
_TRIGGER_STATUS = {
    TriggerStatus.QUIET: Status.PASS,
    TriggerStatus.FIRED: Status.FAIL,
    TriggerStatus.NO_DATA: Status.NO_DATA,
    TriggerStatus.ERROR: Status.ERROR,
}


@dataclass(frozen=True)
class PostdeployRequest:
    since: datetime
    out: Path
    duration: timedelta | None = None
    prom_url: str | None = None
    replay: Path | None = None
    matrix: Path | None = None
    triggers: Path | None = None
    timeout: float = 30


def postdeploy_spec(loaded: LoadedMatrix) -> PostdeploySpec:
    spec = cutover_spec(loaded).postdeploy
    if spec is None:
        raise ConfigError("the matrix has no cutover.postdeploy section", where=loaded.source)
    known = [t.id for t in loaded.matrix.triggers]
    unknown = [t for t in spec.triggers or [] if t not in known]
    if unknown:
        raise ConfigError(
            f"cutover.postdeploy.triggers names {', '.join(unknown)}, which the matrix's "
            f"triggers lack (it has {', '.join(known) or 'none'})",
            where=loaded.source,
        )
    return spec


def armed(spec: PostdeploySpec, triggers: Iterable[TriggerOutcome]) -> list[TriggerOutcome]:
    """The outcomes of the triggers armed over the post-deploy window (all by default)."""
    return [t for t in triggers if spec.triggers is None or t.id in spec.triggers]


def check_summary(
    spec: PostdeploySpec, triggers: Iterable[TriggerOutcome]
) -> tuple[TriggerStatus, list[str]]:
    """What a post-deploy trigger check says (the conductor records it, bundle verify
    --replay re-derives it): the worst armed status, FIRED > ERROR > NO_DATA > QUIET, and
    one reason per armed trigger that is not QUIET."""
    outcomes = armed(spec, triggers)
    order = (TriggerStatus.FIRED, TriggerStatus.ERROR, TriggerStatus.NO_DATA)
    statuses = {t.status for t in outcomes}
    worst = next((s for s in order if s in statuses), TriggerStatus.QUIET)
    reasons = [
        f"trigger {t.id} {t.status.value}: {'; '.join(t.reasons)}"
        for t in outcomes
        if t.status != TriggerStatus.QUIET
    ]
    return worst, reasons


def validate(
    request: PostdeployRequest, loaded: LoadedMatrix, *, now: datetime | None = None
) -> PostdeployVerdict:
    """Judge the window and write ``out/postdeploy.json`` (with ``gates/`` and ``triggers/``)."""
    spec = postdeploy_spec(loaded)
    duration = request.duration or spec.duration
    until = request.since + duration
    if request.replay is not None:
        rundir.check_apart(request.out, [request.replay], "--replay")
    with rundir.owned(request.out, fresh=True):
        run = gates_run(request, loaded, spec, until, duration)
        check = check_triggers(
            request.out,
            until,
            duration,
            prom_url=request.prom_url,
            replay=request.replay,
            matrix=request.matrix,
            given=request.triggers,
        )
        unfinished = request.replay is None and until > (now or datetime.now(tz=UTC))
        verdict = summarise(run, spec, check, request.since, duration, unfinished=unfinished)
        atomic.write_json(
            request.out / POSTDEPLOY_FILE, verdict.model_dump(mode="json", by_alias=True)
        )
        write_report(request.out, verdict, run)
    return verdict


def write_report(out: Path, verdict: PostdeployVerdict, run: RunVerdicts) -> Path:
    """``out/report.html``: the post-deploy section an auditor reads (never re-decides)."""
    from igkit.report.postdeploy_page import postdeploy_page
    from igkit.snapshots.store import read_index, sha256_file

    trigger_files = sorted((out / "triggers" / "snapshots").glob("*.json"))
    page = postdeploy_page(
        verdict,
        run,
        read_index(out / GATES_DIR / "snapshots"),
        checks_gate=CHECKS_GATE,
        tenant_sample=TENANT_SAMPLE,
        trigger_files=[(p.relative_to(out).as_posix(), sha256_file(p)) for p in trigger_files],
    )
    path = out / REPORT_FILE
    atomic.write_text(path, page)
    return path


def checks_gate(spec: PostdeploySpec) -> Gate:
    """The matrix's extra checks plus the (shard..., tenant) listing, as one derived gate."""
    listing = PrometheusObjective.model_validate(
        {
            "name": TENANT_SAMPLE,
            "description": "tenants present per shard/region in the window",
            "query": spec.tenants_query,
            "comparison": ">=",
            "threshold": {"value": 0, "unit": "count"},
            "rule": {"kind": "aggregate", "window": "1m", "function": "max"},
        }
    )
    return Gate(id=CHECKS_GATE, name="Post-deploy checks", objectives=[*spec.checks, listing])


def gates_run(
    request: PostdeployRequest,
    loaded: LoadedMatrix,
    spec: PostdeploySpec,
    until: datetime,
    duration: timedelta,
) -> RunVerdicts:
    from igkit.run import RunRequest, run_loaded

    gates = [
        loaded.matrix.gate(g).model_copy(
            update={
                "objectives": [
                    o
                    for o in loaded.matrix.gate(g).objectives
                    if isinstance(o, PrometheusObjective)
                ]
            }
        )
        for g in spec.gates
    ]
    gates.append(checks_gate(spec))
    matrix = derived(loaded, gates, "postdeploy")
    run_request = RunRequest(
        out=request.out / GATES_DIR,
        at=until,
        prom_url=None if request.replay else request.prom_url,
        snapshot_dir=request.replay / GATES_DIR if request.replay else None,
        window=duration,
        timeout=request.timeout,
    )
    return run_loaded(run_request, matrix, on_warning=lambda _: None)


def shard_samples(run: RunVerdicts, spec: PostdeploySpec) -> tuple[list[ShardSample], list[str]]:
    """Per shard label value, the tenants present there that the gates judged."""
    judged = {
        s.labels[spec.tenant_label]
        for g in run.gates
        if g.id != CHECKS_GATE
        for o in g.objectives
        for s in o.series
        if spec.tenant_label in s.labels
    }
    listing = next(
        o for g in run.gates if g.id == CHECKS_GATE for o in g.objectives if o.name == TENANT_SAMPLE
    )
    problems: list[str] = []
    if listing.status in (Status.NO_DATA, Status.ERROR):
        why = "; ".join(listing.reasons)
        return [], [f"tenant sample {listing.status.value}: {why}"]
    samples: list[ShardSample] = []
    for label in spec.shard_labels:
        present: dict[str, set[str]] = defaultdict(set)
        for s in listing.series:
            if label in s.labels and spec.tenant_label in s.labels:
                present[s.labels[label]].add(s.labels[spec.tenant_label])
        if not present:
            problems.append(f"no {label} label on any series of the tenant sample")
        for value, tenants in sorted(present.items()):
            chosen = sorted(tenants & judged)
            ok = len(chosen) >= spec.min_tenants_per_shard
            samples.append(
                ShardSample(
                    label=label,
                    value=value,
                    tenants=chosen,
                    status=Status.PASS if ok else Status.FAIL,
                )
            )
            if not ok:
                problems.append(
                    f"{label}={value}: {len(chosen)} tenant(s) judged, fewer than "
                    f"{spec.min_tenants_per_shard}"
                )
    return samples, problems


def summarise(
    run: RunVerdicts,
    spec: PostdeploySpec,
    check: TriggerCheck,
    since: datetime,
    duration: timedelta,
    *,
    unfinished: bool = False,
) -> PostdeployVerdict:
    statuses: list[Status] = []
    reasons: list[str] = []
    gates = {g.id: g.status for g in run.gates if g.id != CHECKS_GATE}
    checks = {
        o.name: o.status
        for g in run.gates
        if g.id == CHECKS_GATE
        for o in g.objectives
        if o.name != TENANT_SAMPLE
    }
    for g in run.gates:
        for o in g.objectives:
            if o.name == TENANT_SAMPLE or not o.gated:  # reported-only objectives never decide
                continue
            statuses.append(o.status)
            if o.status != Status.PASS:
                reasons.append(f"{g.id}/{o.name} {o.status.value}: {'; '.join(o.reasons)}")
    triggers: list[TriggerOutcome] = list(check.report.triggers) if check.report else []
    if check.report is None:
        statuses.append(Status.ERROR)
        reasons.append(f"triggers unknown: {check.problem}")
    judged = armed(spec, triggers)
    if check.report is not None and not judged:
        statuses.append(Status.ERROR)
        reasons.append("none of the armed post-deploy triggers is in the trigger report")
    for t in judged:
        statuses.append(_TRIGGER_STATUS[t.status])
        if t.status != TriggerStatus.QUIET:
            when = f" at {rfc3339(t.fired_at)}" if t.fired_at else ""
            reasons.append(f"trigger {t.id} {t.status.value}{when}: {'; '.join(t.reasons)}")
    samples, problems = shard_samples(run, spec)
    reasons += problems
    statuses += [s.status for s in samples]
    if (problems and not samples) or any(p.startswith("no ") for p in problems):
        statuses.append(Status.NO_DATA)
    if unfinished:
        statuses.append(Status.NO_DATA)
        reasons.append(f"the window ends at {rfc3339(since + duration)}, which has not come yet")
    status = worst(statuses)
    if status == Status.PASS:
        reasons = [
            f"{len(gates)} gates, {len(checks)} checks, {len(judged)} triggers and "
            f"{len(samples)} shard samples green over {rfc3339(since)} .. "
            f"{rfc3339(since + duration)}"
        ]
        idle = [t.id for t in triggers if t not in judged]
        if idle:
            reasons.append(
                f"not armed after 100 % (cutover.postdeploy.triggers): {', '.join(idle)}"
            )
    return PostdeployVerdict(
        since=since,
        until=since + duration,
        duration=duration,
        status=status,
        reasons=reasons,
        gates=gates,
        checks=checks,
        triggers=triggers,
        shards=samples,
        verdicts=GATES_DIR,
    )
