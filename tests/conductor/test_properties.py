"""Properties of the loop over any script of judgements (Hypothesis): a stage begins only
after a PROMOTE of the one before; the rollback actuator is the very next step after a
ROLLBACK judgement and nothing is judged after it; the weight and the exit code say what
the outcome says. Stand-in judge, fake clock, a real (shell) actuator process."""

from __future__ import annotations

import shlex
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from igkit.conductor.clock import Stop
from igkit.cutover.models import Action
from tests.conductor.conftest import T0, FakeClock, Rig, World

ACTIONS = st.sampled_from([Action.HOLD, Action.PROMOTE, Action.ROLLBACK])
SCRIPTS = st.fixed_dictionaries({s: st.lists(ACTIONS, max_size=5) for s in (5, 25, 50)})


def shell(state: Path, value: str) -> str:
    return f"sh -c {shlex.quote(f'printf %s {value} > {shlex.quote(str(state))}')}"


@pytest.mark.property
@settings(max_examples=25, deadline=None)
@given(script=SCRIPTS, max_holds=st.integers(min_value=2, max_value=5))
def test_the_loop_keeps_its_invariants(
    tmp_path_factory: pytest.TempPathFactory, script: dict[int, list[Action]], max_holds: int
) -> None:
    tmp = tmp_path_factory.mktemp("prop")
    stop = Stop()
    rig = Rig(World(tmp), FakeClock(T0, stop), stop, tmp / "D")
    state = tmp / "weight"
    options = rig.options(
        max_hold=timedelta(minutes=5 * max_holds),
        set_weight=shell(state, '"$0"') + " {weight}",
        rollback=shell(state, "0"),
    )
    code = rig.run(options, rig.parts({k: list(v) for k, v in script.items()}))
    entries = rig.timeline
    end = entries[-1]
    assert end.kind == "end"
    assert (code == 0) == (end.outcome == "PROMOTED")
    assert end.exit_code == code
    assert end.outcome in ("PROMOTED", "ROLLED_BACK")

    began = [e.weight for e in entries if e.kind == "stage"]
    assert began == [5, 25, 50, 100][: len(began)]  # in order, none skipped
    for i, e in enumerate(entries):
        if e.kind == "stage" and e.weight != 5:
            earlier = [x for x in entries[:i] if x.kind == "judgement"]
            assert earlier[-1].action == "PROMOTE"  # the stage before was promoted
        if e.kind == "judgement" and e.action == "ROLLBACK":
            after = entries[i + 1]
            assert (after.kind, after.name) == ("actuator", "rollback")
            assert not [x for x in entries[i + 1 :] if x.kind == "judgement"]
    holds = [e for e in entries if e.kind == "judgement"]
    assert all(sum(1 for h in holds if h.stage == s) <= max_holds for s in (5, 25, 50))
    assert state.read_text() == ("100" if end.outcome == "PROMOTED" else "0")
