"""G7 DR readiness: verify the report of a DR rehearsal (``igctl drill rehearse --env prod
--rpo-target 5m --rto-target 60m``) against the RPO/RTO targets.

RPO = ``failure_injected_at - last_durable_write_before_failure`` (how much recent data the
recovery lost); RTO = ``service_restored_at - failure_injected_at`` (how long service was
down). A timestamp missing from the report makes the checks that need it NO_DATA; nothing
missing, malformed or contradictory ever passes. A report that shows nothing happened is a
FAIL "the drill did not exercise restore": no step ``ok``, a step whose name says
restore/recover/verify ``skipped``, or no ``ok`` step named restore/recover at all.

This module also holds the document-reading helpers shared by the evidence readers here
(:func:`load_document`, :data:`Timestamp`).
"""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    StringConstraints,
    ValidationError,
)

from igkit.errors import IgkitError
from igkit.judge.evidence.checks import Check, failed, no_data, passed
from igkit.strictdoc import DocumentError, field_path, load_json, load_yaml, validation_message
from igkit.timeutil import human_duration, rfc3339

# --------------------------------------------------------------------------------------------
# Shared document reading
# --------------------------------------------------------------------------------------------

_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?P<offset>[Zz]|[+-]\d{2}:\d{2})?"
)
_EXAMPLE = "e.g. 2025-09-10T14:05:00Z"


def _to_instant(value: object) -> datetime | None:
    """RFC3339 text with an offset (or a YAML timestamp with one) -> aware UTC datetime."""
    if value is None:
        return None
    if isinstance(value, datetime):  # an unquoted YAML timestamp
        if value.utcoffset() is None:
            raise ValueError(f"timestamp {value.isoformat()} has no UTC offset (append Z)")
        return value.astimezone(UTC)
    if not isinstance(value, str):
        shown = value.isoformat() if hasattr(value, "isoformat") else repr(value)
        raise ValueError(f"invalid datetime {shown} (expected RFC3339 with an offset, {_EXAMPLE})")
    text = value.strip()
    if not text:
        raise ValueError(f"empty timestamp (expected RFC3339 with an offset, {_EXAMPLE})")
    m = _RFC3339.fullmatch(text)
    if m and m.group("offset") is None:
        raise ValueError(f"timestamp {value!r} has no UTC offset (append Z or +00:00)")
    try:
        if not m:
            raise ValueError(value)
        parsed = datetime.fromisoformat(text.upper().replace(" ", "T"))
    except ValueError:
        raise ValueError(
            f"invalid datetime {value!r} (expected RFC3339 with an offset, {_EXAMPLE})"
        ) from None
    return parsed.astimezone(UTC)


Timestamp = Annotated[datetime, BeforeValidator(_to_instant)]
"""A required RFC3339 timestamp with an offset, held as aware UTC."""
OptionalTimestamp = Annotated[datetime | None, BeforeValidator(_to_instant)]
"""An RFC3339 timestamp that may be null or missing."""
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
"""A non-empty string, surrounding whitespace removed."""


def decode_text(content: bytes) -> str:
    """UTF-8 (a BOM is allowed); ``ValueError`` naming the offending byte otherwise."""
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"not UTF-8 text (byte 0x{content[exc.start]:02x} at offset {exc.start})"
        ) from None


_YAML_TIMESTAMP = "tag:yaml.org,2002:timestamp"


def _yaml_problem(text: str) -> str | None:
    """What the safe loader would not say, with the field path: a duplicated key (a later
    value would silently win) or an unquoted timestamp that is no date (``2025-02-30``)."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    stack: list[tuple[yaml.Node, tuple[int | str, ...]]] = [(root, ())] if root else []
    seen: set[int] = set()
    while stack:
        node, path = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        line = f"line {node.start_mark.line + 1}"
        if isinstance(node, yaml.MappingNode):
            keys: set[str] = set()
            for key, value in node.value:
                name = str(key.value) if isinstance(key, yaml.ScalarNode) else "?"
                if isinstance(key, yaml.ScalarNode) and name != "<<":
                    if name in keys:
                        where = field_path((*path, name))
                        return f"{where}: duplicate key {name!r} (line {key.start_mark.line + 1})"
                    keys.add(name)
                stack.append((value, (*path, name)))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, (*path, i)) for i, item in enumerate(node.value))
        elif isinstance(node, yaml.ScalarNode) and node.tag == _YAML_TIMESTAMP:
            try:
                yaml.constructor.SafeConstructor().construct_yaml_timestamp(node)
            except ValueError as exc:
                return f"{field_path(path)}: invalid datetime {node.value!r}: {exc} ({line})"
    return None


def is_json_name(name: str, text: str) -> bool:
    """JSON by extension; with no telling extension, by a leading ``{`` or ``[``."""
    lower = name.lower()
    if lower.endswith(".json"):
        return True
    if lower.endswith((".yaml", ".yml")):
        return False
    return text.lstrip()[:1] in ("{", "[")


def load_document(content: bytes, *, name: str) -> Any:
    """Parse JSON or YAML bytes (see :func:`is_json_name`); YAML via the alias-bomb-safe
    :func:`~igkit.strictdoc.load_yaml`. Duplicate keys are refused in both.

    Raises ``ValueError`` with a one-line description (line/column where known).
    """
    text = decode_text(content)
    try:
        if is_json_name(name, text):
            try:
                return load_json(text, where=name)
            except DocumentError as exc:
                raise ValueError(exc.message) from None
        try:
            data = load_yaml(text, where=name)
        except DocumentError as exc:
            message = " ".join(exc.message.split())
            if message.startswith("invalid YAML") or "alias" in message:
                raise ValueError(message) from None
            # the safe loader resolved a scalar it then could not build (2025-02-30)
            raise ValueError(_yaml_problem(text) or f"invalid YAML: {message}") from None
        problem = _yaml_problem(text)
        if problem is not None:
            raise ValueError(problem)
        return data
    except RecursionError:
        raise ValueError("the document is nested too deeply") from None


# --------------------------------------------------------------------------------------------
# The drill report
# --------------------------------------------------------------------------------------------


class DrillReportError(IgkitError, ValueError):
    """A drill report that cannot be read. ``message`` names the field path
    (``steps[2].at: invalid datetime ...``); ``str()`` also names the file."""

    def __init__(self, message: str, *, source: str = "") -> None:
        self.message = message
        self.source = source
        super().__init__(f"{source}: {message}" if source else message)


class DrillStep(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)

    name: Text
    at: OptionalTimestamp = None
    outcome: Literal["ok", "failed", "skipped"]
    detail: str | None = None


class DrillReport(BaseModel):
    """What ``igctl drill rehearse`` reports. Timestamps are RFC3339 with an offset, held as
    UTC; any of them may be null or missing (the checks needing it are then NO_DATA)."""

    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)

    env: Text
    drill_id: Text
    started_at: OptionalTimestamp = None
    ended_at: OptionalTimestamp = None
    failure_injected_at: OptionalTimestamp = None
    last_durable_write_before_failure: OptionalTimestamp = None
    """The newest write that was recovered after the failure."""
    service_restored_at: OptionalTimestamp = None
    data_verified_at: OptionalTimestamp = None
    steps: list[DrillStep] = []
    tool: str | None = None
    operator: str | None = None

    @property
    def rpo(self) -> timedelta | None:
        """Observed RPO: data written after the last recovered write was lost."""
        if self.failure_injected_at is None or self.last_durable_write_before_failure is None:
            return None
        return self.failure_injected_at - self.last_durable_write_before_failure

    @property
    def rto(self) -> timedelta | None:
        """Observed RTO: from the injected failure until service was restored."""
        if self.service_restored_at is None or self.failure_injected_at is None:
            return None
        return self.service_restored_at - self.failure_injected_at


def parse_drill_report(content: bytes, *, name: str) -> DrillReport:
    """Read a drill report, JSON or YAML (by ``name``'s extension, else by content).

    Every problem is a one-line :class:`DrillReportError` naming the field path.
    """
    try:
        data = load_document(content, name=name)
    except ValueError as exc:
        raise DrillReportError(str(exc), source=name) from None
    if not isinstance(data, dict):
        kind = "an empty document" if data is None else f"a {type(data).__name__}"
        raise DrillReportError(
            f"top level: expected a mapping of drill fields (env, drill_id, ...), got {kind}",
            source=name,
        )
    try:
        return DrillReport.model_validate(data)
    except ValidationError as exc:
        raise DrillReportError(validation_message(exc, model=DrillReport), source=name) from None


# --------------------------------------------------------------------------------------------
# Verification
# --------------------------------------------------------------------------------------------

CHECK_NAMES = ("environment", "freshness", "timeline", "steps", "rpo", "rto", "data verified")

# The order a drill's milestones must happen in.
_CHAIN = (
    "started_at",
    "failure_injected_at",
    "service_restored_at",
    "data_verified_at",
    "ended_at",
)
_TIMESTAMP_FIELDS = (*_CHAIN, "last_durable_write_before_failure")


_LABELS = {
    "last_durable_write_before_failure": "last durable write",
    "failure_injected_at": "failure injected",
    "service_restored_at": "service restored",
}


def _t(dt: datetime) -> str:
    return rfc3339(dt)


def _d(td: timedelta) -> str:
    return human_duration(td.total_seconds())


def _stamps(report: DrillReport) -> dict[str, datetime | None]:
    return {f: getattr(report, f) for f in _TIMESTAMP_FIELDS}


def _environment(report: DrillReport, env: str) -> Check:
    if report.env.strip().casefold() == env.strip().casefold():
        return passed("environment", f"the drill ran in {report.env}")
    return failed(
        "environment",
        f"the drill ran in {report.env!r}, but the objective needs a drill in {env!r}; "
        f"run igctl drill rehearse --env {env}",
    )


def _freshness(report: DrillReport, max_age: timedelta, at: datetime) -> Check:
    stamps = {f: v for f, v in _stamps(report).items() if v is not None}
    stamps |= {f"steps[{i}].at": s.at for i, s in enumerate(report.steps) if s.at is not None}
    future = sorted((v, f) for f, v in stamps.items() if v > at)
    if future:
        when, field = next(((v, f) for v, f in future if f == "ended_at"), future[-1])
        return failed(
            "freshness",
            f"drill report is dated after the evaluation time: {field} is {_t(when)}, "
            f"{_d(when - at)} after {_t(at)} (wrong clock, or the wrong --at?)",
        )
    if report.ended_at is None:
        return no_data("freshness", "the report has no ended_at, so its age is unknown")
    age = at - report.ended_at
    if age > max_age:
        return failed(
            "freshness",
            f"the drill ended {_d(age)} ago ({_t(report.ended_at)}), older than the "
            f"{_d(max_age)} limit; rehearse again before the cutover",
        )
    return passed(
        "freshness",
        f"the drill ended {_d(age) if age else '0s'} ago ({_t(report.ended_at)}), "
        f"within {_d(max_age)}",
    )


def _timeline(report: DrillReport) -> Check:
    s = _stamps(report)
    problems: list[str] = []
    present = [(f, t) for f in _CHAIN if (t := s[f]) is not None]
    for (f1, t1), (f2, t2) in itertools.pairwise(present):
        if t2 < t1:
            problems.append(f"{f2} {_t(t2)} is before {f1} {_t(t1)}")
    last, fail = s["last_durable_write_before_failure"], s["failure_injected_at"]
    if last is not None and fail is not None and last > fail:
        problems.append(
            f"last_durable_write_before_failure {_t(last)} is after failure_injected_at {_t(fail)}"
        )
    start, end = s["started_at"], s["ended_at"]
    for i, step in enumerate(report.steps):
        if step.at is None:
            continue
        if start is not None and step.at < start:
            problems.append(
                f"step {step.name!r} (steps[{i}]) at {_t(step.at)} is before started_at"
            )
        if end is not None and step.at > end:
            problems.append(f"step {step.name!r} (steps[{i}]) at {_t(step.at)} is after ended_at")
    if problems:
        return failed("timeline", "out of order: " + "; ".join(problems))
    missing = [f for f in _TIMESTAMP_FIELDS if s[f] is None]
    if missing:
        return no_data(
            "timeline",
            f"cannot check the whole order: missing {', '.join(missing)}; the rest is in order",
        )
    return passed(
        "timeline",
        "started ≤ failure injected ≤ service restored ≤ data verified ≤ ended; "
        "last durable write ≤ failure injected",
    )


_RESTORE_STEP = re.compile(r"restor|recover", re.IGNORECASE)
_EXERCISE_STEP = re.compile(r"restor|recover|verif", re.IGNORECASE)


def _steps(report: DrillReport) -> Check:
    """FAIL when a step failed, or when the steps do not show that restore ran: no step ok,
    a restore/recover/verify step skipped, or no restore/recover step ok at all."""
    steps = report.steps
    if not steps:
        return no_data("steps", "the report lists no steps, so nothing shows the drill ran")
    bad = [s for s in steps if s.outcome == "failed"]
    if bad:
        named = "; ".join(
            f"{s.name!r}"
            + (f" at {_t(s.at)}" if s.at else "")
            + (f" ({s.detail.strip()})" if s.detail and s.detail.strip() else "")
            for s in bad
        )
        return failed("steps", f"{len(bad)} of {len(steps)} step(s) failed: {named}")
    skipped = [s.name for s in steps if s.outcome == "skipped"]
    ok = len(steps) - len(skipped)
    not_run = [s.name for s in steps if s.outcome == "skipped" and _EXERCISE_STEP.search(s.name)]
    if not ok:
        return failed(
            "steps",
            "the drill did not exercise restore: no step is ok "
            f"(skipped: {', '.join(map(repr, skipped))})",
        )
    if not_run:
        return failed(
            "steps",
            "the drill did not exercise restore: restore/verify step(s) skipped: "
            f"{', '.join(map(repr, not_run))}",
        )
    if not any(s.outcome == "ok" and _RESTORE_STEP.search(s.name) for s in steps):
        names = ", ".join(repr(s.name) for s in steps)
        return failed(
            "steps",
            "the drill did not exercise restore: no step named restore/recover is ok "
            f"(steps: {names})",
        )
    if skipped:
        return passed(
            "steps", f"{ok} step(s) ok, {len(skipped)} skipped ({', '.join(map(repr, skipped))})"
        )
    return passed("steps", f"all {ok} step(s) ok")


def _target(
    name: str,
    observed: timedelta | None,
    target: timedelta,
    needs: tuple[str, str],
    report: DrillReport,
    consequence: str,
) -> Check:
    label = name.upper()
    if observed is None:
        missing = [f for f in needs if getattr(report, f) is None]
        return no_data(name, f"{label} unknown: the report has no {' or '.join(missing)}")
    later, earlier = needs
    span = (
        f"{_LABELS[earlier]} {_t(getattr(report, earlier))}, "
        f"{_LABELS[later]} {_t(getattr(report, later))}"
    )
    if observed < timedelta(0):
        return failed(
            name, f"{label} is negative ({later} is before {earlier}): the report is inconsistent"
        )
    if observed <= target:
        return passed(name, f"{label} {_d(observed)} ≤ {_d(target)} ({span})")
    return failed(name, f"{label} {_d(observed)} > {_d(target)} target ({span}): {consequence}")


def _data_verified(report: DrillReport) -> Check:
    verified, restored = report.data_verified_at, report.service_restored_at
    if verified is None:
        return no_data(
            "data verified", "the report has no data_verified_at: recovered data was not verified"
        )
    if restored is None:
        return no_data(
            "data verified",
            f"data verified at {_t(verified)}, but with no service_restored_at it is unknown "
            "whether that was after the recovery",
        )
    if verified < restored:
        return failed(
            "data verified",
            f"data_verified_at {_t(verified)} is before service_restored_at {_t(restored)}: "
            "the verification did not check the recovered service",
        )
    return passed(
        "data verified",
        f"recovered data verified at {_t(verified)}, {_d(verified - restored) if verified > restored else '0s'} "
        "after service was restored",
    )


def verify_drill(
    report: DrillReport | None,
    *,
    rpo_target: timedelta,
    rto_target: timedelta,
    env: str,
    max_age: timedelta,
    at: datetime,
) -> list[Check]:
    """One check per :data:`CHECK_NAMES` entry; all PASS only for a fresh drill in ``env``
    with a sane timeline, no failed step, RPO ≤ ``rpo_target``, RTO ≤ ``rto_target`` and
    verified data. ``report=None`` (no report supplied) gives NO_DATA for every check."""
    if at.utcoffset() is None:
        raise ValueError("at must be timezone-aware")
    for label, value in (("rpo_target", rpo_target), ("rto_target", rto_target)):
        if value <= timedelta(0):
            raise ValueError(f"{label} must be positive")
    if max_age <= timedelta(0):
        raise ValueError("max_age must be positive")
    at = at.astimezone(UTC)
    if report is None:
        return [no_data(n, "no drill report was supplied") for n in CHECK_NAMES]
    checks = [
        _environment(report, env),
        _freshness(report, max_age, at),
        _timeline(report),
        _steps(report),
        _target(
            "rpo",
            report.rpo,
            rpo_target,
            ("failure_injected_at", "last_durable_write_before_failure"),
            report,
            "the recovery lost more recent writes than the target allows",
        ),
        _target(
            "rto",
            report.rto,
            rto_target,
            ("service_restored_at", "failure_injected_at"),
            report,
            "service stayed down longer than the target allows",
        ),
        _data_verified(report),
    ]
    subject = f"drill {report.drill_id}"
    return [c.model_copy(update={"subject": subject}) for c in checks]


def rpo_rto_summary(report: DrillReport, rpo_target: timedelta, rto_target: timedelta) -> str:
    """``RPO 3m12s (target ≤ 5m), RTO 41m (target ≤ 1h)`` — unknown values say so."""

    def one(label: str, observed: timedelta | None, target: timedelta) -> str:
        shown = _d(observed) if observed is not None else "unknown"
        if observed is not None and observed < timedelta(0):
            shown = f"-{_d(-observed)}"
        return f"{label} {shown} (target ≤ {_d(target)})"

    return f"{one('RPO', report.rpo, rpo_target)}, {one('RTO', report.rto, rto_target)}"
