"""G4 WebAuthn step-up success >= 99 % (seed §9, E3.S1), judged from the demo snapshot.

The honest demo history (99.8 % success, tests/support/scenarios.py) PASSes; the same
snapshot with 98 % success FAILs G4, with no data it is NO_DATA, and a NaN ratio (no
attempts: 0/0) is never PASS.
"""

from __future__ import annotations

from typing import Any

import pytest

from igkit.snapshots import SnapshotSet
from igkit.sources.replay import ReplaySource
from igkit.spec.loader import LoadedMatrix
from igkit.verdicts import Status
from tests.judge.test_goldens import demo, judge, with_result  # noqa: F401 - fixture

Demo = tuple[LoadedMatrix, ReplaySource, SnapshotSet]
KEY = ("G4", "webauthn_stepup_success")


def values(value: str | None) -> Any:
    def change(result: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if value is None:
            return []
        for s in result:
            for pair in s["values"]:
                pair[1] = value
        return result

    return change


def g4(run: Any) -> tuple[Status, Status, list[str]]:
    gate = next(g for g in run.gates if g.id == "G4")
    o = next(o for o in gate.objectives if o.name == KEY[1])
    return gate.status, o.status, o.reasons


def test_honest_demo_webauthn_success_passes(demo: Demo) -> None:  # noqa: F811
    gate, status, reasons = g4(judge(demo, demo[2], ["G4"]))
    assert (gate, status) == (Status.PASS, Status.PASS), reasons
    assert "worst 99.8%" in reasons[0]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0.99", Status.PASS), ("0.98", Status.FAIL), (None, Status.NO_DATA), ("NaN", None)],
)
def test_webauthn_below_99_percent_or_missing_is_never_pass(
    demo: Demo,  # noqa: F811
    value: str | None,
    expected: Status | None,
) -> None:
    gate, status, reasons = g4(judge(demo, with_result(demo, KEY, values(value)), ["G4"]))
    if expected is None:
        assert status is not Status.PASS, reasons
        assert gate is not Status.PASS
    else:
        assert status is expected, reasons
        assert gate is expected
