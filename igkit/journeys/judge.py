"""The ``journeys`` objective's judgement: a pure function of the matrix objective and the
sealed per-step figures (:class:`~igkit.journeys.models.JourneysSnapshot`).

PASS only when every step made at least ``min_iterations`` requests, every one of its checks
passed and its p95 is within its threshold. A step with no requests or no figures is
NO_DATA, a damaged summary ERROR, a failed check or a slow p95 FAIL; the reasons name the
step, the check counts and the observed p95 against the threshold."""

from __future__ import annotations

from igkit.journeys.models import JourneysSnapshot, StepFigures, StepVerdict
from igkit.spec.models import JourneysObjective, JourneyStep
from igkit.units import Unit, fmt
from igkit.verdicts import ObjectiveVerdict, Status, worst

RULE = "every step: all checks pass, >= min_iterations requests, p95 <= its threshold"


def threshold_ms(step: JourneyStep) -> float:
    """The step's p95 threshold in ms (k6 reports durations in ms)."""
    value = step.p95.value
    return value if step.p95.unit is Unit.MS else value * 1000.0


def _ms(value: float) -> str:
    return fmt(value, Unit.MS)


def judge_step(step: JourneyStep, figures: StepFigures | None, min_iterations: int) -> StepVerdict:
    """One step's status and every reason for it."""
    limit = threshold_ms(step)
    if figures is None:
        figures = StepFigures(
            name=step.name, requests=None, p95_ms=None, checks_passed=None, checks_failed=None
        )
    found: list[tuple[Status, str]] = []
    who = f"step {step.name}"
    if not figures.requests:
        found.append((Status.NO_DATA, f"{who}: no requests in the k6 summary"))
    elif figures.requests < min_iterations:
        found.append(
            (
                Status.NO_DATA,
                f"{who}: {figures.requests} requests, fewer than min_iterations {min_iterations}",
            )
        )
    passed, failed = figures.checks_passed, figures.checks_failed
    if failed:
        detail = ", ".join(f"'{n}' failed {c}" for n, c in sorted(figures.failed_checks.items()))
        total = failed + (passed or 0)
        found.append(
            (
                Status.FAIL,
                f"{who}: {failed} of {total} checks failed" + (f" ({detail})" if detail else ""),
            )
        )
    elif figures.requests and (passed is None or failed is None or passed == 0):
        found.append((Status.NO_DATA, f"{who}: no check results in the k6 summary"))
    if figures.p95_ms is None:
        if figures.requests:
            found.append((Status.NO_DATA, f"{who}: no p95 in the k6 summary"))
    elif figures.p95_ms > limit:
        found.append((Status.FAIL, f"{who}: p95 {_ms(figures.p95_ms)} > {_ms(limit)}"))
    if found:
        status = worst([s for s, _ in found])
        reasons = [r for _, r in found]
    else:
        status = Status.PASS
        reasons = [
            f"{who}: {passed} checks passed over {figures.requests} requests, "
            f"p95 {_ms(figures.p95_ms or 0.0)} <= {_ms(limit)}"
        ]
    return StepVerdict(
        name=step.name,
        status=status,
        requests=figures.requests,
        p95_ms=figures.p95_ms,
        threshold_ms=limit,
        checks_passed=passed,
        checks_failed=failed,
        reasons=reasons,
    )


def judge_journeys(
    gate_id: str, obj: JourneysObjective, snapshot: JourneysSnapshot | None
) -> tuple[ObjectiveVerdict, list[StepVerdict]]:
    """The objective's verdict (and each step's) from ``snapshot`` alone."""
    label = f"{gate_id} {obj.name}"

    def verdict(status: Status, reasons: list[str], **extra: object) -> ObjectiveVerdict:
        return ObjectiveVerdict.model_validate(
            {
                "name": obj.name,
                "description": obj.description,
                "status": status,
                "rule": RULE,
                "reasons": reasons,
                "gated": obj.gated,
                "snapshots": [snapshot.id] if snapshot is not None else [],
                **extra,
            }
        )

    if snapshot is None:
        why = f"{label}: no synthetic journeys run was given (igkit journeys run judges it)"
        return verdict(Status.NO_DATA, [why]), []
    if snapshot.error is not None:
        return verdict(Status.ERROR, [f"{label}: {snapshot.error}"]), []
    by_name = {f.name: f for f in snapshot.steps}
    steps = [judge_step(s, by_name.get(s.name), obj.min_iterations) for s in obj.steps]
    status = worst([s.status for s in steps])
    if status is Status.PASS:
        reasons = [f"{label}: all {len(steps)} steps PASS", *(r for s in steps for r in s.reasons)]
    else:
        reasons = [f"{label}: {r}" for s in steps if s.status is not Status.PASS for r in s.reasons]
    slowest = max(
        (s for s in steps if s.p95_ms is not None),
        key=lambda s: s.p95_ms / s.threshold_ms if s.p95_ms is not None else 0.0,
        default=None,
    )
    details: dict[str, float | str | None] = {}
    for s in steps:
        details[f"{s.name}.p95_ms"] = s.p95_ms
        details[f"{s.name}.threshold_ms"] = s.threshold_ms
        details[f"{s.name}.requests"] = s.requests
        details[f"{s.name}.checks_failed"] = s.checks_failed
        details[f"{s.name}.status"] = s.status.value
    extra: dict[str, object] = {"details": details, "comparison": "<="}
    if slowest is not None:
        extra.update(observed=slowest.p95_ms, threshold=slowest.threshold_ms, unit="ms")
    return verdict(status, reasons, **extra), steps
