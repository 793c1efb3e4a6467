"""G8 Support & Comms: the approvals record and the staged comms templates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from igkit.errors import IgkitError
from igkit.judge.evidence.approvals import (
    Approval,
    ApprovalsError,
    normalize_role,
    parse_approvals,
    verify_approvals,
    verify_comms,
)
from igkit.judge.evidence.checks import Check, combine
from igkit.spec.loader import load_matrix
from igkit.spec.models import ApprovalsObjective, CommsObjective
from igkit.verdicts import Status

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "evidence"
AT = datetime(2025, 3, 1, 3, 30, tzinfo=UTC)  # the demo's evaluation time
FREEZE = datetime(2025, 3, 1, 2, 30, tzinfo=UTC)  # T-60m
_SHIPPED = load_matrix(None).matrix
REQUIRED_ROLES = tuple(
    next(o for _, o in _SHIPPED.objectives_of(ApprovalsObjective)).required_roles
)
COMMS_TEMPLATES = tuple(next(o for _, o in _SHIPPED.objectives_of(CommsObjective)).templates)
"""The roles and templates of the shipped matrix (the library has no built-in list)."""


def fixture_rows() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = yaml.safe_load((FIXTURES / "approvals.yaml").read_text())[
        "approvals"
    ]
    return rows


def approvals(rows: list[dict[str, Any]]) -> list[Approval]:
    return parse_approvals(yaml.safe_dump(rows).encode(), name="approvals.yaml")


def verify(
    rows: list[dict[str, Any]],
    *,
    freeze_start: datetime | None = FREEZE,
    max_age: timedelta | None = timedelta(hours=24),
    at: datetime = AT,
) -> dict[str, Check]:
    checks = verify_approvals(
        approvals(rows),
        required_roles=REQUIRED_ROLES,
        freeze_start=freeze_start,
        max_age=max_age,
        at=at,
    )
    out = {c.subject: c for c in checks}
    assert len(out) == len(checks)
    return out


def not_passing(checks: dict[str, Check]) -> dict[str, Status]:
    return {role: c.status for role, c in checks.items() if not c.ok}


def row(
    role: str, decision: str, ts: str, name: str = "Sam Doe", ref: str = "T-1"
) -> dict[str, Any]:
    return {"role": role, "name": name, "decision": decision, "timestamp": ts, "reference": ref}


# -- verification ------------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["approvals.yaml", "approvals.csv"])
def test_all_roles_approved_passes(fixture: str) -> None:
    parsed = parse_approvals((FIXTURES / fixture).read_bytes(), name=fixture)
    checks = verify_approvals(
        parsed,
        required_roles=REQUIRED_ROLES,
        freeze_start=FREEZE,
        max_age=timedelta(hours=24),
        at=AT,
    )
    assert [c.subject for c in checks] == list(REQUIRED_ROLES)
    assert combine(checks) is Status.PASS, [c.line() for c in checks]
    assert checks[0].detail == "approved by Priya Raman at 2025-03-01T02:41:00Z (CHG-4821)"


def test_csv_and_yaml_trackers_agree() -> None:
    from_yaml = parse_approvals((FIXTURES / "approvals.yaml").read_bytes(), name="a.yaml")
    from_csv = parse_approvals((FIXTURES / "approvals.csv").read_bytes(), name="a.csv")
    assert [normalize_role(a.role) for a in from_csv] == [normalize_role(a.role) for a in from_yaml]
    assert [a.model_dump(exclude={"role"}) for a in from_csv] == [
        a.model_dump(exclude={"role"}) for a in from_yaml
    ]


def test_rejection_fails_naming_who_and_reference() -> None:
    rows = fixture_rows()
    rows[3].update(decision="reject", reference="SEC-1201")
    checks = verify(rows)
    assert not_passing(checks) == {"secops": Status.FAIL}
    assert checks["secops"].detail == "rejected by Jordan Blake at 2025-03-01T02:58:00Z (SEC-1201)"


def test_missing_role_fails() -> None:
    rows = [r for r in fixture_rows() if r["role"] != "mc"]
    checks = verify(rows)
    assert not_passing(checks) == {"mc": Status.FAIL}
    assert checks["mc"].detail.startswith("no approval recorded for mc")
    assert "accountable" in checks["mc"].detail


def test_approval_before_the_freeze_is_stale() -> None:
    rows = fixture_rows()
    rows[2]["timestamp"] = "2025-03-01T02:10:00Z"  # 20m before the freeze started
    checks = verify(rows)
    assert not_passing(checks) == {"qe": Status.FAIL}
    assert "stale (1h20m old)" in checks["qe"].detail
    assert "window starting 2025-03-01T02:30:00Z (the freeze start)" in checks["qe"].detail


def test_approval_older_than_max_age_is_stale() -> None:
    rows = fixture_rows()
    rows[0]["timestamp"] = "2025-02-27T09:00:00Z"
    checks = verify(rows, freeze_start=None)
    assert not_passing(checks) == {"release_eng": Status.FAIL}
    assert "window starting 2025-02-28T03:30:00Z (max age 1d)" in checks["release_eng"].detail


def test_no_window_accepts_any_past_approval() -> None:
    rows = fixture_rows()
    rows[0]["timestamp"] = "2024-01-01T00:00:00Z"
    assert not not_passing(verify(rows, freeze_start=None, max_age=None))


def test_approval_dated_after_evaluation_time_fails() -> None:
    rows = fixture_rows()
    rows[5]["timestamp"] = "2025-03-01T03:31:00Z"
    checks = verify(rows)
    assert not_passing(checks) == {"mc": Status.FAIL}
    assert "dated after the evaluation time 2025-03-01T03:30:00Z" in checks["mc"].detail


def test_role_that_is_not_required_fails() -> None:
    rows = [*fixture_rows(), row("Legal", "approve", "2025-03-01T03:00:00Z", "Lee Park", "LEG-9")]
    checks = verify(rows)
    assert not_passing(checks) == {"Legal": Status.FAIL}
    check = checks["Legal"]
    assert check.name == "unexpected role"
    assert check.detail.startswith(
        "unexpected role 'Legal' (approve by Lee Park at 2025-03-01T03:00:00Z (LEG-9))"
    )


def test_approve_then_reject_fails_latest_wins() -> None:
    rows = [
        *fixture_rows(),
        row("QE", "reject", "2025-03-01T03:20:00Z", "Mei Lin", "QE-77: k6 p95 regression"),
    ]
    checks = verify(rows)
    assert not_passing(checks) == {"qe": Status.FAIL}
    assert checks["qe"].detail == (
        "rejected by Mei Lin at 2025-03-01T03:20:00Z (QE-77: k6 p95 regression); it overrides "
        "the approval by Mei Lin at 2025-03-01T02:52:00Z (QE-GATES-0301)"
    )


def test_reject_then_approve_passes_latest_wins() -> None:
    rows = fixture_rows()
    rows.insert(0, row("qe", "reject", "2025-03-01T02:40:00Z", "Ana Ruiz", "QE-70"))
    checks = verify(rows)
    assert not not_passing(checks)
    assert "overrides the rejection by Ana Ruiz" in checks["qe"].detail


def test_same_time_approve_and_reject_fails() -> None:
    rows = [*fixture_rows(), row("mc", "reject", "2025-03-01T03:12:00Z", "Daniel Okafor", "X")]
    assert not_passing(verify(rows)) == {"mc": Status.FAIL}


def test_roles_compare_case_and_separator_insensitively() -> None:
    rows = fixture_rows()
    for r, spelled in zip(
        rows, ["Release-Eng", "SRE on-call ack", "QE", "sec_ops", "PM/CS", "MC"], strict=True
    ):
        r["role"] = spelled
    assert not not_passing(verify(rows))
    assert normalize_role("SRE On-Call_Ack") == normalize_role("sre_oncall_ack")


def test_no_tracker_is_no_data() -> None:
    checks = verify_approvals(
        None, required_roles=REQUIRED_ROLES, freeze_start=None, max_age=None, at=AT
    )
    assert {c.status for c in checks} == {Status.NO_DATA}
    assert len(checks) == len(REQUIRED_ROLES)


def test_no_required_roles_is_an_error_not_a_pass() -> None:
    checks = verify_approvals([], required_roles=[], freeze_start=None, max_age=None, at=AT)
    assert combine(checks) is Status.ERROR


def test_empty_tracker_fails_every_role() -> None:
    checks = verify([])
    assert set(not_passing(checks).values()) == {Status.FAIL}
    assert len(checks) == len(REQUIRED_ROLES)


# -- reading ---------------------------------------------------------------------------------


def parse_error(content: bytes, name: str) -> str:
    with pytest.raises(ApprovalsError) as info:
        parse_approvals(content, name=name)
    text = str(info.value)
    assert "\n" not in text
    assert text.startswith(f"{name}: ")
    assert isinstance(info.value, IgkitError)
    assert isinstance(info.value, ValueError)
    return info.value.message


CSV_HEADER = "role,name,decision,timestamp,reference\n"


def test_csv_bad_decision_names_row_and_column() -> None:
    content = (
        (FIXTURES / "approvals.csv").read_text().replace("QE,Mei Lin,approve", "QE,Mei Lin,aprove")
    )
    message = parse_error(content.encode(), "approvals.csv")
    assert message == (
        "row 3 (line 4), column decision: Input should be 'approve' or 'reject' (got 'aprove')"
    )


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (
            "mc,Dan,approve,2025-03-01T03:00:00Z,X\n",
            "header (line 1): missing column(s) role, name",
        ),
        ("", "empty tracker: a CSV tracker needs the header line"),
        ("role,name,decision,timestamp\n", "missing column(s) reference"),
        (CSV_HEADER.replace("\n", ",notes\n"), "unknown column(s) notes"),
        ("role,role,name,decision,timestamp,reference\n", "duplicate column(s) role"),
        (CSV_HEADER + "mc,Dan,approve,2025-03-01T03:00:00Z\n", "row 1 (line 2): 4 values"),
        (
            CSV_HEADER + "mc,Dan,approve,2025-03-01 03:00,X\n",
            "row 1 (line 2), column timestamp: invalid datetime '2025-03-01 03:00'",
        ),
        (CSV_HEADER + "mc,Dan,approve,2025-03-01T03:00:00,X\n", "has no UTC offset"),
        (
            CSV_HEADER + "mc,Dan,approve,2025-03-01T03:00:00Z,\n",
            "row 1 (line 2), column reference: must not be empty",
        ),
        (CSV_HEADER + 'mc,"Dan,approve\n', "invalid CSV"),
    ],
)
def test_bad_csv_is_a_one_line_error(content: str, needle: str) -> None:
    assert needle in parse_error(content.encode(), "approvals.csv")


def test_csv_header_only_and_case_of_values() -> None:
    assert parse_approvals(CSV_HEADER.encode(), name="a.csv") == []
    parsed = parse_approvals(
        (
            b"Role, Name ,DECISION,Timestamp,Reference\n\nmc,Dan, Approve ,2025-03-01T03:00:00+01:00,X\n"
        ),
        name="a.csv",
    )
    assert parsed[0].decision == "approve"
    assert parsed[0].timestamp == datetime(2025, 3, 1, 2, 0, tzinfo=UTC)


def test_csv_is_sniffed_without_extension() -> None:
    content = (FIXTURES / "approvals.csv").read_bytes()
    assert len(parse_approvals(content, name="tracker-export")) == len(REQUIRED_ROLES)


def test_yaml_top_level_list_and_mapping_agree() -> None:
    rows = fixture_rows()
    as_list = parse_approvals(yaml.safe_dump(rows).encode(), name="a.yaml")
    as_map = parse_approvals(yaml.safe_dump({"approvals": rows}).encode(), name="a.yaml")
    assert as_list == as_map
    assert len(as_list) == len(REQUIRED_ROLES)


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (
            "approvals:\n  - {role: mc, name: D, decision: maybe, timestamp: 2025-03-01T03:00:00Z, reference: X}\n",
            "approvals[0].decision: Input should be 'approve' or 'reject' (got 'maybe')",
        ),
        (
            "- {role: mc, name: D, decision: approve, timestamp: 2025-03-01T03:00:00Z, reference: X, note: hi}\n",
            "[0].note: unknown field (allowed: role, name, decision, timestamp, reference)",
        ),
        (
            "- {role: mc, name: D, decision: approve, timestamp: 2025-03-01T03:00:00, reference: X}\n",
            "[0].timestamp: timestamp 2025-03-01T03:00:00 has no UTC offset",
        ),
        (
            "- {role: mc, name: D, decision: approve, reference: X}\n",
            "[0].timestamp: required field is missing",
        ),
        (
            "- {role: mc, name: D, decision: reject, decision: approve, timestamp: 2025-03-01T03:00:00Z, reference: X}\n",
            "duplicate key 'decision'",
        ),
        (
            "approval: []\n",
            "top level: expected a list of approvals or a mapping with only 'approvals'",
        ),
        ("approvals: {mc: yes}\n", "approvals: expected a list of approvals"),
        ("", "got an empty document"),
        ("- mc approved\n", "[0]: Input should be a valid dictionary"),
    ],
)
def test_bad_yaml_is_a_one_line_error(content: str, needle: str) -> None:
    assert needle in parse_error(content.encode(), "approvals.yaml")


def test_yaml_numbers_are_accepted_as_text() -> None:
    parsed = parse_approvals(
        b"- {role: mc, name: D, decision: approve, timestamp: 2025-03-01T03:00:00Z, reference: 4821}\n",
        name="a.yaml",
    )
    assert parsed[0].reference == "4821"


def test_yaml_alias_bomb_is_refused() -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 20) + "]")
    assert "refusing a possible alias bomb" in parse_error("\n".join(lines).encode(), "a.yaml")


# -- comms templates ---------------------------------------------------------------------------

TEMPLATE_FILES = {
    "investigating": "status-investigating.md",
    "degraded": "status-degraded.md",
    "major_incident": "status-major-incident.md",
    "resolved": "status-resolved.md",
    "stakeholder_update": "stakeholder-update.md",
}


def staged() -> dict[str, bytes | None]:
    return {k: (FIXTURES / "comms" / f).read_bytes() for k, f in TEMPLATE_FILES.items()}


def test_staged_templates_pass() -> None:
    checks = verify_comms(staged(), required=COMMS_TEMPLATES)
    assert [c.subject for c in checks] == list(COMMS_TEMPLATES)
    assert combine(checks) is Status.PASS, [c.line() for c in checks]


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (None, "status page template 'degraded' is not staged"),
        (b"", "status page template 'degraded' is empty"),
        (b" \n\t\r\n  ", "status page template 'degraded' is blank (only whitespace)"),
        (b"\xef\xbb\xbf\n", "is blank"),
        (b"\xff\xfe# x", "is not UTF-8 text"),
    ],
)
def test_missing_empty_or_blank_template_fails(content: bytes | None, needle: str) -> None:
    templates = staged()
    templates["degraded"] = content
    checks = {c.subject: c for c in verify_comms(templates, required=COMMS_TEMPLATES)}
    assert {s: c.status for s, c in checks.items() if not c.ok} == {"degraded": Status.FAIL}
    assert needle in checks["degraded"].detail


def test_template_absent_from_mapping_fails() -> None:
    templates = staged()
    del templates["stakeholder_update"]
    checks = {c.subject: c for c in verify_comms(templates, required=COMMS_TEMPLATES)}
    assert checks["stakeholder_update"].status is Status.FAIL
    assert "stakeholder update template" in checks["stakeholder_update"].detail


def test_template_names_normalise_and_extras_are_checked() -> None:
    templates = {k.replace("_", "-"): v for k, v in staged().items()}
    templates["Maintenance"] = b"  "
    checks = {c.subject: c for c in verify_comms(templates, required=COMMS_TEMPLATES)}
    assert {s: c.status for s, c in checks.items() if not c.ok} == {"Maintenance": Status.FAIL}
    assert len(checks) == len(COMMS_TEMPLATES) + 1


def test_two_keys_for_one_template_is_an_error() -> None:
    templates = staged()
    templates["Major Incident"] = b"# other"
    checks = {c.subject: c for c in verify_comms(templates, required=COMMS_TEMPLATES)}
    assert checks["major_incident"].status is Status.ERROR


INVISIBLE = [
    "\u200b",  # zero-width space (Cf)
    "\u200d",  # zero-width joiner
    "\u2060",  # word joiner
    "\ufeff",  # BOM / zero-width no-break space
    "\u00a0",  # no-break space (Zs)
    "\u3000",  # ideographic space
    "\u2028",  # line separator (Zl)
    "\u2029",  # paragraph separator (Zp)
    "\x00\x07\x1b",  # control characters
    "\u0301",  # a lone combining mark
    "\u3164",  # Hangul filler
    "\u2800",  # Braille blank
    "\u00ad",  # soft hyphen
]


@pytest.mark.parametrize("invisible", INVISIBLE)
def test_template_of_only_invisible_characters_is_blank(invisible: str) -> None:
    """A template that renders as nothing is blank; positive control: the same invisible
    characters around real text still pass."""
    templates = staged()
    templates["degraded"] = f"\n {invisible * 3}\t{invisible}\n".encode()
    checks = {c.subject: c for c in verify_comms(templates, required=COMMS_TEMPLATES)}
    assert {s: c.status for s, c in checks.items() if not c.ok} == {"degraded": Status.FAIL}
    assert "is blank" in checks["degraded"].detail
    templates["degraded"] = f"{invisible}# Degraded performance{invisible}\n".encode()
    assert combine(verify_comms(templates, required=COMMS_TEMPLATES)) is Status.PASS


@pytest.mark.property
@given(st.text(alphabet=st.sampled_from("".join(INVISIBLE) + " \t\r\n\v\f\x85")))
def test_no_mix_of_invisible_characters_is_a_staged_template(text: str) -> None:
    templates = staged()
    templates["resolved"] = text.encode("utf-8", "surrogatepass")
    checks = {c.subject: c for c in verify_comms(templates, required=COMMS_TEMPLATES)}
    assert checks["resolved"].status is Status.FAIL
