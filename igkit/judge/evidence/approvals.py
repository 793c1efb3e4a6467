"""G8 Support & Comms (manual + tracker): people decide, igkit verifies the record.

* :func:`parse_approvals` reads the approvals tracker (CSV with a header, or YAML: a list of
  rows or ``{approvals: [...]}``), rows ``role, name, decision, timestamp, reference``.
* :func:`verify_approvals` gives one check per required role (seed §2 RACI): PASS only when
  that role's latest decision is an approval inside the window; any record by a role that is
  not required is a FAIL of its own, so it cannot pass silently.
* :func:`verify_comms` checks that the staged comms templates exist and are not blank.

Roles (and template names) compare case-insensitively, with ``-``, ``_``, ``/`` and spaces
ignored: ``SRE on-call ack`` is ``sre_oncall_ack``, ``PM/CS`` is ``pm_cs``.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError

from igkit.errors import IgkitError
from igkit.judge.evidence.checks import Check, error, failed, no_data, passed
from igkit.judge.evidence.drill import (
    Text,
    Timestamp,
    decode_text,
    load_document,
)
from igkit.strictdoc import field_path, validation_problem
from igkit.timeutil import human_duration, rfc3339

ACCOUNTABLE_ROLE = "mc"

COLUMNS: tuple[str, ...] = ("role", "name", "decision", "timestamp", "reference")

_SEPARATORS = re.compile(r"[\s_\-/]+")


def normalize_role(role: str) -> str:
    """The comparison key: case-folded, ``-``/``_``/``/``/whitespace removed."""
    return _SEPARATORS.sub("", role.casefold())


class ApprovalsError(IgkitError, ValueError):
    """A tracker that cannot be read. ``message`` names the row and column (CSV) or the
    field path (YAML); ``str()`` also names the file."""

    def __init__(self, message: str, *, source: str = "") -> None:
        self.message = message
        self.source = source
        super().__init__(f"{source}: {message}" if source else message)


def _decision(value: object) -> object:
    return value.strip().lower() if isinstance(value, str) else value


class Approval(BaseModel):
    """One recorded decision: who (``role``, ``name``) decided what, when, and where it is
    recorded (``reference``: a ticket, a message link)."""

    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)

    role: Text
    name: Text
    decision: Annotated[Literal["approve", "reject"], BeforeValidator(_decision)]
    timestamp: Timestamp
    reference: Text


# --------------------------------------------------------------------------------------------
# Reading the tracker
# --------------------------------------------------------------------------------------------


def _looks_like_csv(text: str) -> bool:
    first = next((line for line in text.splitlines() if line.strip()), "")
    cells = {c.strip().strip('"').lower() for c in first.split(",")}
    return "role" in cells and "decision" in cells


def _parse_csv(text: str, name: str) -> list[Approval]:
    expected = ", ".join(COLUMNS)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header: list[str] | None = None
    out: list[Approval] = []
    row_no = 0
    try:
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            if header is None:
                header = [c.strip().lower() for c in cells]
                where = f"header (line {reader.line_num})"
                dupes = sorted({c for c in header if header.count(c) > 1})
                if dupes:
                    raise ApprovalsError(
                        f"{where}: duplicate column(s) {', '.join(dupes)}", source=name
                    )
                unknown = [c for c in header if c not in COLUMNS]
                missing = [c for c in COLUMNS if c not in header]
                if missing:
                    shown = ",".join(cells)
                    raise ApprovalsError(
                        f"{where}: missing column(s) {', '.join(missing)}; the first line must be "
                        f"the header {','.join(COLUMNS)} (found {shown!r})",
                        source=name,
                    )
                if unknown:
                    raise ApprovalsError(
                        f"{where}: unknown column(s) {', '.join(unknown)} (columns: {expected})",
                        source=name,
                    )
                continue
            row_no += 1
            where = f"row {row_no} (line {reader.line_num})"
            if len(cells) != len(header):
                raise ApprovalsError(
                    f"{where}: {len(cells)} values, but the header has {len(header)} columns",
                    source=name,
                )
            try:
                out.append(Approval.model_validate(dict(zip(header, cells, strict=True))))
            except ValidationError as exc:
                loc, problem = validation_problem(exc, Approval)
                column = f", column {loc[0]}" if loc else ""
                raise ApprovalsError(f"{where}{column}: {problem}", source=name) from None
    except csv.Error as exc:
        raise ApprovalsError(f"line {reader.line_num}: invalid CSV: {exc}", source=name) from None
    if header is None:
        raise ApprovalsError(
            f"empty tracker: a CSV tracker needs the header line {','.join(COLUMNS)}", source=name
        )
    return out


def _parse_structured(content: bytes, name: str) -> list[Approval]:
    try:
        data: Any = load_document(content, name=name)
    except ValueError as exc:
        raise ApprovalsError(str(exc), source=name) from None
    root = ""
    if isinstance(data, dict):
        extra = sorted(str(k) for k in data if k != "approvals")
        if extra or "approvals" not in data:
            raise ApprovalsError(
                f"top level: expected a list of approvals or a mapping with only 'approvals' "
                f"(found key(s) {', '.join(extra) or 'none'})",
                source=name,
            )
        data, root = data["approvals"], "approvals"
    if not isinstance(data, list):
        kind = "an empty document" if data is None else f"a {type(data).__name__}"
        raise ApprovalsError(
            f"{root or 'top level'}: expected a list of approvals "
            f"({', '.join(COLUMNS)}), got {kind}",
            source=name,
        )
    out: list[Approval] = []
    for i, row in enumerate(data):
        try:
            out.append(Approval.model_validate(row))
        except ValidationError as exc:
            loc, problem = validation_problem(exc, Approval)
            path = field_path((i, *loc), root=root)
            raise ApprovalsError(f"{path}: {problem}", source=name) from None
    return out


def parse_approvals(content: bytes, *, name: str) -> list[Approval]:
    """Read the approvals tracker: CSV (``.csv``; header required) or YAML/JSON.

    Without a telling extension, a first line naming the ``role`` and ``decision`` columns
    means CSV. Every problem is a one-line :class:`ApprovalsError` naming row and column.
    """
    lower = name.lower()
    if lower.endswith(".csv"):
        try:
            text = decode_text(content)
        except ValueError as exc:
            raise ApprovalsError(str(exc), source=name) from None
        return _parse_csv(text, name)
    if not lower.endswith((".yaml", ".yml", ".json")):
        try:
            text = decode_text(content)
        except ValueError as exc:
            raise ApprovalsError(str(exc), source=name) from None
        if _looks_like_csv(text):
            return _parse_csv(text, name)
    return _parse_structured(content, name)


# --------------------------------------------------------------------------------------------
# Verification
# --------------------------------------------------------------------------------------------


def _who(a: Approval) -> str:
    return f"{a.name} at {rfc3339(a.timestamp)} ({a.reference})"


def _aware(dt: datetime, label: str) -> datetime:
    if dt.utcoffset() is None:
        raise ValueError(f"{label} must be timezone-aware")
    return dt.astimezone(UTC)


def _required(required_roles: Sequence[str]) -> dict[str, str]:
    """Comparison key -> the role as the matrix spells it (first spelling wins)."""
    roles: dict[str, str] = {}
    for role in required_roles:
        roles.setdefault(normalize_role(role), role.strip())
    roles.pop("", None)
    return roles


def _latest(records: list[Approval]) -> tuple[Approval, Approval | None]:
    """A role's latest decision (a rejection wins a tie) and the latest earlier record that
    decided otherwise (which it overrides)."""
    records = sorted(records, key=lambda a: (a.timestamp, a.decision == "reject"))
    latest = records[-1]
    earlier = next((a for a in reversed(records[:-1]) if a.decision != latest.decision), None)
    return latest, earlier


def _freeze_window(start: datetime | None, end: datetime | None) -> str:
    return f"[{rfc3339(start) if start else '-'}, {rfc3339(end) if end else '-'}]"


def decisions(
    approvals: Sequence[Approval], required_roles: Sequence[str]
) -> list[tuple[str, Approval | None]]:
    """Each required role (as the matrix spells it) with the decision
    :func:`verify_approvals` judged for it, or None when the role recorded none."""
    out: list[tuple[str, Approval | None]] = []
    for key, role in _required(required_roles).items():
        records = [a for a in approvals if normalize_role(a.role) == key]
        out.append((role, _latest(records)[0] if records else None))
    return out


def verify_approvals(
    approvals: list[Approval] | None,
    *,
    required_roles: Sequence[str],
    freeze_start: datetime | None,
    max_age: timedelta | None,
    at: datetime,
    freeze_end: datetime | None = None,
) -> list[Check]:
    """One ``approval`` check per required role, then one ``unexpected role`` FAIL per role
    that is recorded but not required.

    A role passes when its latest decision (a rejection wins a tie) is an approval made
    inside the window: not before ``freeze_start``, not more than ``max_age`` before ``at``,
    and not after ``at`` nor after ``freeze_end`` (the cutover: an approval given once the
    cutover started came too late to gate it). ``approvals=None`` (no tracker) is NO_DATA for
    every role.
    """
    at = _aware(at, "at")
    if max_age is not None and max_age <= timedelta(0):
        raise ValueError("max_age must be positive")
    bounds: list[tuple[datetime, str]] = []
    if freeze_start is not None:
        start = _aware(freeze_start, "freeze_start")
        label = "the freeze start"
        if freeze_end is not None:
            label = f"the freeze window {_freeze_window(start, freeze_end)} before the cutover"
        bounds.append((start, label))
    if freeze_end is not None:
        freeze_end = _aware(freeze_end, "freeze_end")
    if max_age is not None:
        bounds.append((at - max_age, f"max age {human_duration(max_age.total_seconds())}"))
    window_start = max(bounds) if bounds else None

    roles = _required(required_roles)
    if not roles:
        return [error("approval", "no required roles were given, so nothing can be approved")]
    if approvals is None:
        return [
            no_data("approval", "no approvals tracker was supplied", role)
            for role in roles.values()
        ]

    checks: list[Check] = []
    for key, role in roles.items():
        records = [a for a in approvals if normalize_role(a.role) == key]
        if not records:
            why = " (the accountable role: no GO without it)" if key == ACCOUNTABLE_ROLE else ""
            checks.append(failed("approval", f"no approval recorded for {role}{why}", role))
            continue
        latest, earlier = _latest(records)
        if latest.timestamp > at:
            checks.append(
                failed(
                    "approval",
                    f"the latest decision ({latest.decision} by {_who(latest)}) is dated after "
                    f"the evaluation time {rfc3339(at)}",
                    role,
                )
            )
        elif freeze_end is not None and latest.timestamp > freeze_end:
            window = _freeze_window(freeze_start, freeze_end)
            checks.append(
                failed(
                    "approval",
                    f"the approval by {_who(latest)} is outside "
                    f"the freeze window {window}: given after the cutover started",
                    role,
                )
            )
        elif latest.decision == "reject":
            note = f"; it overrides the approval by {_who(earlier)}" if earlier else ""
            checks.append(failed("approval", f"rejected by {_who(latest)}{note}", role))
        elif window_start is not None and latest.timestamp < window_start[0]:
            start, why = window_start
            age = human_duration((at - latest.timestamp).total_seconds())
            checks.append(
                failed(
                    "approval",
                    f"the approval by {_who(latest)} is stale ({age} old): it predates the "
                    f"window starting {rfc3339(start)} ({why}); approve again",
                    role,
                )
            )
        else:
            note = f"; it overrides the rejection by {_who(earlier)}" if earlier else ""
            checks.append(passed("approval", f"approved by {_who(latest)}{note}", role))

    unexpected: dict[str, list[Approval]] = {}
    for a in approvals:
        key = normalize_role(a.role)
        if key not in roles:
            unexpected.setdefault(key, []).append(a)
    required = ", ".join(roles.values())
    for records in unexpected.values():
        role = records[0].role
        shown = "; ".join(f"{a.decision} by {_who(a)}" for a in records)
        checks.append(
            failed(
                "unexpected role",
                f"unexpected role {role!r} ({shown}): not one of the required roles "
                f"({required}); fix the role or add it to the required roles",
                role,
            )
        )
    return checks


_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp", "Mn", "Me"})
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
"""Hangul fillers and the Braille blank: letters/symbols by category that render as nothing."""


def visible_text(text: str) -> str:
    """``text`` without what renders as nothing: whitespace, control and format characters
    (zero-width space U+200B, ZWJ, word joiner, BOM U+FEFF), separators, lone combining marks,
    private-use/unassigned code points and blank fillers. Empty means the template is blank."""
    return "".join(
        c
        for c in text
        if unicodedata.category(c) not in _INVISIBLE_CATEGORIES
        and c not in _BLANK_LETTERS
        and not c.isspace()
    )


def verify_comms(
    templates: Mapping[str, bytes | None],
    *,
    required: Sequence[str],
) -> list[Check]:
    """One ``template`` check per required template and per other template given: PASS when
    it is staged (present, UTF-8) and not blank. ``None`` means the template is missing."""
    given: dict[str, list[tuple[str, bytes | None]]] = {}
    for key, content in templates.items():
        given.setdefault(normalize_role(key), []).append((key, content))
    names: dict[str, str] = {}
    for key in required:
        names.setdefault(normalize_role(key), key)
    for norm, entries in given.items():
        names.setdefault(norm, entries[0][0])

    checks: list[Check] = []
    for norm, label in names.items():
        kind = "stakeholder update" if norm == "stakeholderupdate" else "status page"
        entries = given.get(norm, [])
        if len(entries) > 1:
            keys = ", ".join(repr(k) for k, _ in entries)
            checks.append(error("template", f"{keys} name the same template", label))
            continue
        content = entries[0][1] if entries else None
        if content is None:
            checks.append(failed("template", f"{kind} template {label!r} is not staged", label))
            continue
        try:
            text = decode_text(content)
        except ValueError as exc:
            checks.append(failed("template", f"{kind} template {label!r} is {exc}", label))
            continue
        if not content:
            checks.append(failed("template", f"{kind} template {label!r} is empty", label))
        elif not visible_text(text):
            checks.append(
                failed(
                    "template",
                    f"{kind} template {label!r} is blank ("
                    + (
                        "only whitespace)"
                        if not text.strip()
                        else "only whitespace and invisible characters such as zero-width spaces)"
                    ),
                    label,
                )
            )
        else:
            lines = len(text.strip().splitlines())
            checks.append(
                passed(
                    "template",
                    f"{kind} template {label!r} staged: {lines} line{'s' if lines != 1 else ''}, "
                    f"{len(text)} characters",
                    label,
                )
            )
    return checks
