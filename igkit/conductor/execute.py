"""``igkit cutover execute``: the canary ladder with auto-rollback (seed §6, §11; ADR-003).

1. Preflight: a ``go-no-go --validate-all`` run (every gate of the matrix) into ``D/preflight``;
   anything but GO refuses the cutover (exit 1) and says why.
2. Each stage below 100 %: the set-weight actuator, then the hold, which begins when that
   actuator succeeded: ``cutover judge`` every ``interval`` into ``D/stages/<PCT>/judge-NNNN``
   (replayable). PROMOTE: next stage. ROLLBACK: the rollback actuator runs at once (no wait, no
   further evaluation), then the major-incident status update, exit 1. HOLD past ``max_hold``,
   a judge that cannot judge past it, or a set-weight actuator that fails: roll back too.
3. 100 %: the post-deploy phase. The triggers are checked every ``interval`` into
   ``D/postdeploy/checks/NNNN``; one FIRED rolls back. At the end, ``postdeploy validate``
   over [T0, T0 + post_deploy] into ``D/postdeploy``: PASS is exit 0, anything else exit 1.
4. Without ``auto_rollback`` the conductor never runs the rollback actuator itself: where it
   would, it stops with ROLLBACK_REQUIRED (exit 1), the weight left as it is, and says so.
5. A rollback actuator that fails is retried once at once; failing again ends the run with
   ROLLBACK_FAILED and a loud line naming the last weight known to be set.
6. SIGINT/SIGTERM stop the hold (the weight stays), record ``interrupted`` and exit 130;
   ``--resume D`` continues at the recorded stage, running its set-weight again and starting
   its hold afresh (the post-deploy window too: a full window is the safe side).

Every step is a line of ``D/timeline.jsonl`` (:mod:`igkit.conductor.timeline`); NNNN in a
directory or log name is the ``seq`` of the timeline entry that records it.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from igkit import atomic, rundir
from igkit.conductor import status as statuses
from igkit.conductor.actuators import Actuator, ActuatorResult, run_actuator
from igkit.conductor.clock import Clock, Stop
from igkit.conductor.figures import StatusFigures
from igkit.conductor.parts import (
    CHECKS_DIR,
    ERROR_NOTE,
    POSTDEPLOY_DIR,
    PREFLIGHT_DIR,
    STAGES_DIR,
    Parts,
    Settings,
    check_postdeploy_triggers,
    run_journeys_verb,
    seal_run,
    validate_now,
)
from igkit.conductor.timeline import Outcome, Timeline
from igkit.cutover.judge import JudgeRequest
from igkit.cutover.models import Judgement, TriggerStatus
from igkit.cutover.postdeploy import PostdeployRequest, check_summary, postdeploy_spec
from igkit.errors import IgkitError
from igkit.redact import redact
from igkit.spec.loader import LoadedMatrix
from igkit.timeutil import human_duration, rfc3339

EXIT_PROMOTED, EXIT_STOPPED, EXIT_INTERRUPTED = 0, 1, 130
EXIT_OF: dict[str, int] = {"PROMOTED": EXIT_PROMOTED, "INTERRUPTED": EXIT_INTERRUPTED}


class _EndedError(Exception):
    """Raised inside the loop once the end entry is written; carries the outcome."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome)
        self.outcome = outcome


@dataclass
class Conductor:
    settings: Settings
    loaded: LoadedMatrix
    clock: Clock
    stop: Stop
    timeline: Timeline
    parts: Parts
    emit: Callable[[str], None] = print
    weight: int | None = None
    """The last weight known to be set (None: none was set by this run yet)."""
    stage: int | None = None
    figures: StatusFigures | None = None
    """What the last judgement (or post-deploy trigger check) said, for status updates."""
    sent: set[timedelta] = field(default_factory=set)
    next_update: datetime | None = None
    _templates: statuses.StatusTemplates | None = None
    seal_problem: str | None = None

    # -- recording -------------------------------------------------------------------

    def record(self, kind: str, message: str, **fields: Any) -> None:
        self.timeline.append(kind, self.clock.now(), redact(message), stage=self.stage, **fields)

    def say(self, line: str) -> None:
        self.emit(redact(line))

    def status(self, kind: str) -> None:
        """A status update from the staged templates with the live figures; a failing hook
        is recorded, never fatal."""
        figures = self.figures or StatusFigures.unknown(self.stage)
        if figures.stage != self.stage:
            figures = figures.model_copy(update={"stage": self.stage})
        done = statuses.write_status(
            self.settings.run_dir,
            kind,
            figures,
            at=self.clock.now(),
            templates=self.templates(),
            hook=self.settings.status_hook,
            next_at=self.next_update,
        )
        hook = done.hook_exit_code
        said = "" if done.hook is None or hook == 0 else f" (status hook: {done.hook.error})"
        self.record(
            "status",
            f"{kind} status update{said}",
            status_kind=kind,
            file=done.file,
            hook_exit_code=hook,
        )

    def templates(self) -> statuses.StatusTemplates:
        """The comms templates as the preflight sealed them (what G8 approved), else as
        staged in ``--evidence``."""
        if self._templates is None:
            preflight = self.settings.run_dir / PREFLIGHT_DIR
            self._templates = (
                statuses.templates_from_run(preflight, self.loaded)
                if (preflight / "snapshots").is_dir()
                else statuses.load_templates(self.loaded, self.settings.evidence)
            )
        return self._templates

    def end(self, outcome: Outcome, message: str) -> _EndedError:
        code = EXIT_OF.get(outcome, EXIT_STOPPED)
        self.record("end", message, outcome=outcome, exit_code=code)
        self.say(f"{outcome}: {message}")
        return _EndedError(outcome)

    def actuate(self, actuator: Actuator, weight: int | None) -> ActuatorResult:
        result = run_actuator(
            actuator,
            weight=weight,
            run_dir=self.settings.run_dir,
            number=self.timeline.seq,
            timeout=self.settings.actuator_timeout,
        )
        self.record(
            "actuator",
            result.summary(),
            name=result.name,
            argv=result.argv,
            exit_code=result.exit_code,
            duration_s=result.duration_s,
            log=result.log,
        )
        return result

    # -- the run ---------------------------------------------------------------------

    def execute(self, *, start_at: int, preflight: bool) -> Outcome:
        """From stage ``start_at`` (an index into run.json's stages) to the end."""
        try:
            with self._interruptible(), self._rolled_back_on_crash():
                if preflight:
                    self._preflight()
                for stage in self.settings.run.stages[start_at:]:
                    self._stage(stage)
                raise self._postdeploy()
        except _EndedError as done:
            if done.outcome != "INTERRUPTED":
                self._seal()
            return done.outcome

    def _seal(self) -> None:
        """Seal the finished run; a failure is said (and kept) but never hides the outcome."""
        try:
            (self.parts.seal or seal_run)(self.settings, self.loaded)
        except IgkitError as exc:
            self.seal_problem = " ".join(str(exc).split())
            print(
                f"igkit: error: the evidence bundle was not sealed: {self.seal_problem}",
                file=sys.stderr,
                flush=True,
            )

    @contextlib.contextmanager
    def _rolled_back_on_crash(self) -> Iterator[None]:
        """An unexpected failure of the conductor itself (a full disk, a bug) with canary
        traffic flowing: roll back (fail closed, nobody would watch the canary), then let the
        error end the run (exit 3)."""
        try:
            yield
        except Exception as exc:
            if isinstance(exc, _EndedError) or not self.weight:
                raise
            why = " ".join(f"{type(exc).__name__}: {exc}".split())
            self.say(f"igkit: the conductor failed at {self.stage}% ({why}): rolling back")
            with contextlib.suppress(Exception):
                self._rollback(f"the conductor failed: {why}")
            raise

    @contextlib.contextmanager
    def _interruptible(self) -> Iterator[None]:
        try:
            yield
        except KeyboardInterrupt:
            self.stop.set("SIGINT")
            raise self._interrupted() from None

    def _interrupted(self) -> _EndedError:
        name = self.stop.signal if self.stop.signal in ("SIGINT", "SIGTERM") else "SIGINT"
        where = "before any stage" if self.stage is None else f"at stage {self.stage}%"
        held = "no weight was set" if self.weight is None else f"weight left at {self.weight}%"
        self.record("interrupted", f"{name}: stopped {where}, {held}", signal=name)
        self.status("interrupted")
        resume = f"igkit cutover execute --resume {self.settings.run_dir}"
        return self.end("INTERRUPTED", f"stopped {where}; {held}; continue with: {resume}")

    def _checkpoint(self) -> None:
        if self.stop.is_set():
            raise self._interrupted()

    def _preflight(self) -> None:
        self._checkpoint()
        found = self.parts.preflight(self.settings, self.loaded, self.clock.now())
        self.record(
            "preflight",
            f"go-no-go --validate-all: {found.decision}",
            decision=found.decision,
            dir=PREFLIGHT_DIR,
        )
        self.say(f"preflight (go-no-go --validate-all): {found.decision}")
        if found.decision != "GO":
            for reason in found.reasons:
                self.say(f"  {reason}")
            why = "; ".join(found.reasons[:3]) or "not every gate was evaluated"
            raise self.end("REFUSED", f"preflight is {found.decision}, not GO: {why}")

    def _set_weight(self, stage: int) -> datetime:
        """Run set-weight for ``stage``; the hold starts when it succeeded."""
        self._checkpoint()
        self.stage = stage
        result = self.actuate(self.settings.set_weight, stage)
        if not result.ok:
            raise self._rollback(f"set-weight to {stage}% failed: {result.summary()}")
        began = self.clock.now()
        self.weight = stage
        self.record("stage", f"weight {stage}% set; hold begins", weight=stage)
        self.say(f"stage {stage}%: weight set ({result.summary()})")
        self.status("stage")
        return began

    def _stage(self, stage: int) -> None:
        """Set the weight, then judge every interval until PROMOTE (with the stage's
        journeys PASSED, when they are configured) or a reason to roll back."""
        began = self._set_weight(stage)
        if stage == 100:
            return
        hold, interval, max_hold, _ = self.settings.run.durations()
        journeys_ok = self._journeys(f"{STAGES_DIR}/{stage}")
        tick = 1
        while True:
            if self.clock.sleep(self._until(began + tick * interval)):
                raise self._interrupted()
            if not journeys_ok:  # run again until they pass: a stage never promotes without
                journeys_ok = self._journeys(f"{STAGES_DIR}/{stage}")
            judged = self._judge(stage, began, self.clock.now(), hold)
            tick = max(tick + 1, (self.clock.now() - began) // interval + 1)  # no catch-up burst
            if judged is not None and judged.action == "ROLLBACK":
                raise self._rollback(
                    f"judged ROLLBACK at {stage}%: {'; '.join(judged.reasons[:3])}"
                )
            if judged is not None and judged.action == "PROMOTE":
                if journeys_ok:
                    return
                self.say(f"  PROMOTE withheld at {stage}%: the synthetic journeys did not pass")
            now = self.clock.now()
            if now - began >= max_hold:
                why = "; ".join(judged.reasons[:3]) if judged else "the judge could not judge"
                why = why if journeys_ok else f"the synthetic journeys did not pass; {why}"
                raise self._rollback(
                    f"held {human_duration((now - began).total_seconds())} at {stage}%, "
                    f"past --max-hold {human_duration(max_hold.total_seconds())}: {why}"
                )

    def _journeys(self, where: str) -> bool:
        """The synthetic journeys into ``where/journeys-NNNN`` (True when not configured)."""
        if self.settings.journeys is None:
            return True
        rel = f"{where}/journeys-{self.timeline.seq:04d}"
        try:
            status, reasons = (self.parts.journeys or run_journeys_verb)(
                self.settings, self.loaded, self.settings.run_dir / rel
            )
        except Exception as exc:  # a runner that raised is ERROR (recorded), never PASS
            status, reasons = "ERROR", [" ".join(f"{type(exc).__name__}: {exc}".split())]
        if not (self.settings.run_dir / rel).is_dir():
            self._leave_note(rel, "; ".join(reasons) or status)
        self.record("journeys", f"journeys {status}", status=status, dir=rel, reasons=reasons)
        self.say(f"  journeys {status} at {self.stage}%")
        for reason in reasons if status != "PASS" else []:
            self.say(f"    {reason}")
        return status == "PASS"

    def _until(self, when: datetime) -> float:
        return max(0.0, (when - self.clock.now()).total_seconds())

    def _judge(
        self, stage: int, began: datetime, now: datetime, hold: timedelta
    ) -> Judgement | None:
        """One judgement into ``stages/<PCT>/judge-NNNN``; one that raised is recorded as a
        ``check`` ERROR and counts as HOLD (never as PROMOTE)."""
        rel = f"{STAGES_DIR}/{stage}/judge-{self.timeline.seq:04d}"
        request = JudgeRequest(
            stage=stage,
            stage_start=began,
            at=now,
            out=self.settings.run_dir / rel,
            hold=hold,
            prom_url=self.settings.prom_url,
            matrix=self.settings.matrix,
            timeout=self.settings.timeout,
        )
        try:
            found = self.parts.judge(request, self.loaded)
        except Exception as exc:  # any failure to judge is a HOLD (recorded), never a PROMOTE
            why = " ".join(f"{type(exc).__name__}: {exc}".split())
            self._leave_note(rel, why)
            self.record("check", f"judge failed: {why}", status="ERROR", dir=rel, reasons=[why])
            self.say(f"  judge failed at {stage}% ({why}): counts as HOLD")
            return None
        self.figures = StatusFigures.from_judgement(found, self.loaded, source=rel)
        self.record(
            "judgement",
            f"{found.action.value} at {stage}%",
            action=found.action.value,
            dir=rel,
            reasons=found.reasons,
        )
        self.say(f"  {rfc3339(now)} {found.action.value} at {stage}%")
        for reason in found.reasons:
            self.say(f"    {reason}")
        return found

    def _leave_note(self, rel: str, why: str) -> None:
        """``rel/error.txt``: the directory a ``check`` entry names exists and says why."""
        atomic.write_text(self.settings.run_dir / rel / ERROR_NOTE, why + "\n")

    def _rollback(self, cause: str) -> _EndedError:
        """The rollback actuator first, at once; then the record and the status update."""
        if not self.settings.run.auto_rollback:
            self.record("rollback", f"not run (no --auto-rollback): {cause}", cause=cause)
            at = "no weight set" if self.weight is None else f"weight left at {self.weight}%"
            print(
                f"igkit: ROLLBACK REQUIRED ({at}): {redact(cause)}; --auto-rollback was not "
                f"given, so igkit did not run the rollback; run: igkit cutover rollback "
                f"--to last-stable --confirm --rollback CMD --out {self.settings.run_dir}",
                file=sys.stderr,
                flush=True,
            )
            self.status("rollback")
            return self.end("ROLLBACK_REQUIRED", f"{cause} ({at})")
        self.stop.critical = True
        try:
            first = self.actuate(self.settings.rollback, None)
            result = first if first.ok else self.actuate(self.settings.rollback, None)
        finally:
            self.stop.critical = False
        if not result.ok:
            known = "unknown" if self.weight is None else f"{self.weight}%"
            self.record("rollback", f"ROLLBACK FAILED twice: {cause}", cause=cause)
            print(
                f"igkit: ROLLBACK FAILED: the rollback actuator failed twice "
                f"({result.summary()}); the last weight known to be set is {known}; "
                f"act by hand NOW. Cause of the rollback: {redact(cause)}",
                file=sys.stderr,
                flush=True,
            )
            self.status("rollback")
            return self.end("ROLLBACK_FAILED", f"rollback actuator failed; last weight {known}")
        self.weight = 0
        self.record("rollback", f"rolled back: {cause}", cause=cause)
        self.say(f"ROLLBACK at {self.stage}%: {cause}")
        self.status("rollback")
        return self.end("ROLLED_BACK", cause)

    def _postdeploy(self) -> _EndedError:
        """The post-deploy window after 100 %: triggers every interval, then validate."""
        run_dir = self.settings.run_dir
        _, interval, _, duration = self.settings.run.durations()
        t0 = self.clock.now()
        until = t0 + duration
        self.next_update = t0 + min(statuses.CADENCE)
        self.say(f"post-deploy validation until {rfc3339(until)}")
        with rundir.owned(run_dir / POSTDEPLOY_DIR, fresh=False):  # a resumed run's checks stay
            while True:
                self._cadence(t0)
                now = self.clock.now()
                if now >= until:
                    break
                if self.clock.sleep(self._until(min(now + interval, until))):
                    raise self._interrupted()
                now = self.clock.now()
                if now > t0:
                    self._check(t0, now)
            return self._validate(t0, duration)

    def _cadence(self, t0: datetime) -> None:
        """The T+15/30/45/60 updates after 100 %, each once, none lost when time jumps."""
        for offset in statuses.due_updates(t0, self.clock.now(), self.sent):
            self.sent.add(offset)
            left = [o for o in statuses.CADENCE if o not in self.sent]
            self.next_update = t0 + min(left) if left else None
            self.status("scheduled")

    def _check(self, t0: datetime, now: datetime) -> None:
        rel = f"{POSTDEPLOY_DIR}/{CHECKS_DIR}/{self.timeline.seq:04d}"
        check = (self.parts.check or check_postdeploy_triggers)(
            self.settings, self.settings.run_dir / rel, now, now - t0
        )
        if check.report is None:
            why = check.problem or "no report"
            self._leave_note(rel, why)
            self.record("check", f"triggers unknown: {why}", status="ERROR", dir=rel, reasons=[why])
            return
        self.figures = StatusFigures.from_triggers(
            check.report, self.loaded, stage=self.stage, source=rel
        )
        worst, reasons = check_summary(postdeploy_spec(self.loaded), check.report.triggers)
        fired = worst == TriggerStatus.FIRED
        self.record(
            "check", f"triggers {worst.value}", status=worst.value, dir=rel, reasons=reasons
        )
        if fired:
            raise self._rollback(f"post-deploy trigger FIRED: {'; '.join(reasons[:3])}")

    def _validate(self, t0: datetime, duration: timedelta) -> _EndedError:
        request = PostdeployRequest(
            since=t0,
            out=self.settings.run_dir / POSTDEPLOY_DIR,
            duration=duration,
            prom_url=self.settings.prom_url,
            matrix=self.settings.matrix,
            timeout=self.settings.timeout,
        )
        journeys_ok = self._journeys(POSTDEPLOY_DIR)
        verdict = (self.parts.validate or validate_now)(request, self.loaded, self.clock.now())
        status = verdict.status.value
        self.record(
            "postdeploy", f"postdeploy validate: {status}", status=status, dir=POSTDEPLOY_DIR
        )
        self.say(f"post-deploy validation: {status}")
        for reason in verdict.reasons:
            self.say(f"  {reason}")
        if status != "PASS":
            return self.end(
                "POSTDEPLOY_FAILED",
                f"post-deploy validation {status} at 100%: {'; '.join(verdict.reasons[:3])}",
            )
        if not journeys_ok:
            return self.end(
                "POSTDEPLOY_FAILED", "the synthetic journeys did not pass after post-deploy"
            )
        self.status("complete")
        return self.end("PROMOTED", "promoted to 100% and post-deploy validation PASS")
