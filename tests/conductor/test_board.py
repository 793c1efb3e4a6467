"""The War Room view of a cutover (igkit.conductor.board), read from a timeline written by the
conductor's own writer: the weight in force after each entry, the judgements on it, the
outcome, and a timeline a hostile hand edited (refused by the strict reader)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from matplotlib.collections import PathCollection

from igkit.conductor.board import (
    ACTION_COLOURS,
    outcome,
    stage_board,
    timeline_frame,
    timeline_text,
)
from igkit.conductor.timeline import Timeline
from igkit.errors import ConfigError

T0 = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)


def recorded(run_dir: Path, *, rollback_ok: bool = True) -> Path:
    run_dir.mkdir(parents=True, exist_ok=True)
    tl = Timeline(run_dir)
    tl.append("start", T0, "cutover 5,25,100", args={"stages": [5, 25, 100]})
    tl.append("preflight", T0, "go-no-go --validate-all: GO", decision="GO", dir="preflight")
    at = T0
    for weight, action in ((5, "PROMOTE"), (25, "HOLD"), (25, "ROLLBACK")):
        if action != "ROLLBACK":  # a stage begins before its first judgement
            tl.append(
                "stage", at, f"weight {weight}% set; hold begins", stage=weight, weight=weight
            )
            tl.append(
                "status",
                at,
                "stage status update",
                stage=weight,
                status_kind="stage",
                file=f"status/{weight}.md",
                hook_exit_code=None,
            )
        at += timedelta(minutes=10)
        tl.append(
            "judgement",
            at,
            f"{action} at {weight}%",
            stage=weight,
            action=action,
            dir=f"stages/{weight}/judge-{tl.seq:04d}",
            reasons=["test"],
        )
    tl.append(
        "actuator",
        at,
        "rollback ran",
        stage=25,
        name="rollback",
        argv=["rb"],
        exit_code=0 if rollback_ok else 1,
        duration_s=0.1,
        log="actuators/x.log",
    )
    if rollback_ok:
        tl.append("rollback", at, "rolled back", stage=25, cause="trigger FIRED")
    tl.append(
        "end",
        at,
        "done",
        stage=25,
        outcome="ROLLED_BACK" if rollback_ok else "ROLLBACK_FAILED",
        exit_code=1,
    )
    return run_dir


def test_the_frame_follows_the_weight_the_timeline_records(tmp_path: Path) -> None:
    frame = timeline_frame(recorded(tmp_path / "D"))
    judged = frame[frame["kind"] == "judgement"]
    assert list(judged["action"]) == ["PROMOTE", "HOLD", "ROLLBACK"]
    assert list(judged["weight"]) == [5, 25, 25]  # the weight each was judged at
    assert frame["weight"].iloc[-1] == 0  # the rollback actuator exited 0
    assert outcome(frame) == "ROLLED_BACK"
    assert frame["since_start"].iloc[-1] == timedelta(minutes=30)


def test_a_failed_rollback_leaves_the_last_known_weight(tmp_path: Path) -> None:
    frame = timeline_frame(recorded(tmp_path / "D", rollback_ok=False))
    assert frame["weight"].iloc[-1] == 25  # never shown as rolled back
    assert outcome(frame) == "ROLLBACK_FAILED"


def test_the_text_and_the_board_show_every_judgement(tmp_path: Path) -> None:
    run = recorded(tmp_path / "D")
    lines = timeline_text(run).splitlines()
    assert lines[0].startswith("T+00:00  start")
    assert any(line.startswith("T+30:00  judgement  ROLLBACK at 25%") for line in lines)
    fig = stage_board(run)
    (ax,) = fig.axes
    (marks,) = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(marks.get_offsets()) == 3
    assert ax.get_title(loc="left").endswith("ROLLED_BACK")
    colours = {tuple(round(x, 3) for x in c) for c in marks.get_facecolors()}
    assert len(colours) == 3  # PROMOTE, HOLD and ROLLBACK each in their own colour
    assert set(ACTION_COLOURS) == {"PROMOTE", "HOLD", "ROLLBACK"}


def test_an_edited_timeline_is_refused_and_its_honest_twin_read(tmp_path: Path) -> None:
    run = recorded(tmp_path / "D")
    assert len(timeline_frame(run)) > 0  # positive control
    path = run / "timeline.jsonl"
    lines = path.read_text().splitlines()
    lines[2] = lines[2].replace('"kind": "stage"', '"kind": "stage", "kind": "stage"', 1)
    assert lines[2].count('"kind"') == 2
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ConfigError, match=r"timeline\.jsonl"):
        timeline_frame(run)
