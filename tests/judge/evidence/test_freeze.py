"""G8 freeze window and change ticket (seed E1.S1, §10, §11).

The demo release file carries ``changeTicket`` and ``cutoverAt``; the default matrix's G8
approvals objective sets ``freeze: 60m`` and ``change_ticket_pattern``. Every hostile twin of
the demo snapshot (approval outside the window, no cutover, a ticket off the pattern, no
ticket, no release file) is never PASS; the honest demo still PASSes.
"""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from igkit.judge.evaluate import evaluate
from igkit.sources.registry import CaptureRequest, Recorded, capture
from igkit.sources.replay import ReplaySource
from igkit.spec.loader import load_matrix
from igkit.spec.models import ApprovalsObjective
from igkit.trust import resolve_trust
from igkit.verdicts import Status
from tests.judge.evidence.test_facts import Demo, one

KEY = "G8/approvals"


@pytest.fixture(scope="module")
def demo() -> Demo:
    return Demo()


def release_text(demo: Demo) -> str:
    return demo.content(KEY, "release").decode()


def tracker_text(demo: Demo) -> str:
    return demo.content(KEY, "tracker").decode()


def test_honest_demo_approvals_pass_inside_the_freeze_window(demo: Demo) -> None:
    v = demo.judge(KEY)
    assert v.status is Status.PASS, v.reasons
    approvals = one(v, "approvals")
    assert approvals.facts["freeze"] == "1h"
    assert approvals.facts["freeze_window"] == "2025-03-01T03:00:00Z to 2025-03-01T04:00:00Z"
    release = one(v, "release")
    assert release.facts["change_ticket"] == "CHG-2025-0301"
    assert release.facts["cutover_at"] == "2025-03-01T04:00:00Z"
    assert v.details["change ticket"] == "PASS: CHG-2025-0301"


def test_an_approval_before_the_freeze_fails_naming_the_window(demo: Demo) -> None:
    text = tracker_text(demo).replace("2025-03-01T03:10:00Z", "2025-03-01T02:59:00Z")
    assert text != tracker_text(demo)
    v = demo.judge(KEY, demo.with_file(KEY, "tracker", text.encode()))
    assert v.status is Status.FAIL
    bad = [r for r in v.reasons if "qe" in r]
    assert len(bad) == 1
    assert "freeze window [2025-03-01T03:00:00Z, 2025-03-01T04:00:00Z]" in bad[0]
    assert sum("approval" in r for r in v.reasons) == 1  # the other five roles still pass


def test_an_approval_after_the_cutover_fails(demo: Demo) -> None:
    # cutover at 03:20: mc's approval at 03:25 came after it; window [02:20, 03:20]
    text = release_text(demo).replace("2025-03-01T04:00:00Z", "2025-03-01T03:20:00Z")
    v = demo.judge(KEY, demo.with_file(KEY, "release", text.encode()))
    assert v.status is Status.FAIL
    assert len(v.reasons) == 1
    assert "[mc]" in v.reasons[0] or "mc" in v.reasons[0]
    assert (
        "outside the freeze window [2025-03-01T02:20:00Z, 2025-03-01T03:20:00Z]" in (v.reasons[0])
    )
    assert "after the cutover started" in v.reasons[0]


def test_a_release_file_without_cutover_is_error_naming_the_field(demo: Demo) -> None:
    text = "".join(
        line for line in release_text(demo).splitlines(keepends=True) if "cutoverAt" not in line
    )
    v = demo.judge(KEY, demo.with_file(KEY, "release", text.encode()))
    assert v.status is Status.ERROR
    assert len(v.reasons) == 1
    assert "cutoverAt: required" in v.reasons[0]
    assert one(v, "approvals").status is Status.ERROR


@pytest.mark.parametrize(
    ("ticket", "status"),
    [("CHG-2025-0301", Status.PASS), ("CHG-2025-03011", Status.ERROR), ("INC-2025-0301", Status.ERROR),
     ("'x CHG-2025-0301'", Status.ERROR)],
)  # fmt: skip
def test_the_change_ticket_must_match_the_matrix_pattern(
    demo: Demo, ticket: str, status: Status
) -> None:
    text = release_text(demo).replace("changeTicket: CHG-2025-0301", f"changeTicket: {ticket}")
    v = demo.judge(KEY, demo.with_file(KEY, "release", text.encode()))
    assert v.status is status, v.reasons
    if status is Status.ERROR:
        assert len(v.reasons) == 1
        assert "does not match the matrix's change_ticket_pattern" in v.reasons[0]


def test_a_release_file_without_change_ticket_is_error(demo: Demo) -> None:
    text = "".join(
        line for line in release_text(demo).splitlines(keepends=True) if "changeTicket" not in line
    )
    v = demo.judge(KEY, demo.with_file(KEY, "release", text.encode()))
    assert v.status is Status.ERROR
    assert any("changeTicket: required field is missing" in r for r in v.reasons)


def test_no_release_file_is_never_pass(demo: Demo) -> None:
    v = demo.judge(KEY, demo.with_file(KEY, "release", None))
    assert v.status is Status.NO_DATA
    assert any("release file" in r for r in v.reasons)


def test_freeze_and_pattern_come_together_and_the_pattern_compiles() -> None:
    base = {"type": "approvals", "name": "a", "required_roles": ["mc"], "max_age": "24h"}
    ApprovalsObjective.model_validate(base)
    ApprovalsObjective.model_validate({**base, "freeze": "60m", "change_ticket_pattern": "^C$"})
    for bad, needle in [
        ({"freeze": "60m"}, "together"),
        ({"change_ticket_pattern": "^C$"}, "together"),
        ({"freeze": "60m", "change_ticket_pattern": "("}, "not a regex"),
        ({"freeze": "0s", "change_ticket_pattern": "^C$"}, "positive"),
    ]:
        with pytest.raises(ValidationError, match=re.escape(needle)):
            ApprovalsObjective.model_validate({**base, **bad})


def test_verdicts_name_the_change_ticket() -> None:
    from igkit.demo import demo_snapshot_dir, demo_trust_dir

    loaded = load_matrix(None)
    replay = ReplaySource(demo_snapshot_dir())
    assert replay.index is not None
    snapshot_set = capture(
        CaptureRequest(
            matrix=loaded.matrix,
            gate_ids=[g.id for g in loaded.matrix.gates],
            at=replay.index.evaluated_at,
            prometheus=replay,
            recorded=Recorded(k6=replay.k6, evidence=replay.evidence),
        )
    )
    run = evaluate(
        loaded,
        snapshot_set,
        replay.index.evaluated_at,
        gate_ids=None,
        tenant=None,
        trust=resolve_trust(loaded, trust_dir=demo_trust_dir()),
        source="test",
    )
    assert run.decision == "GO"
    assert run.change_ticket == "CHG-2025-0301"
    assert run.model_dump(mode="json", by_alias=True)["change_ticket"] == "CHG-2025-0301"
