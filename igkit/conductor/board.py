"""The War Room view of a cutover: the canary weight over time as the timeline recorded it,
each judgement on it (PROMOTE, HOLD, ROLLBACK), the status updates, the post-deploy hour and
the outcome. Read only from ``timeline.jsonl`` (through its strict reader): the view shows
what the conductor did and when, it decides nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from igkit.conductor.timeline import TimelineEntry, read_timeline
from igkit.report.palette import STATUS_COLOURS
from igkit.verdicts import Status

if TYPE_CHECKING:
    from matplotlib.figure import Figure

TIMELINE_FILE = "timeline.jsonl"
ACTION_COLOURS = {
    "PROMOTE": STATUS_COLOURS[Status.PASS],
    "HOLD": STATUS_COLOURS[Status.NO_DATA],
    "ROLLBACK": STATUS_COLOURS[Status.FAIL],
}
COLUMNS = ["seq", "at", "since_start", "kind", "stage", "weight", "action", "outcome", "message"]


def _weight_after(entry: TimelineEntry, current: int | None) -> int | None:
    """The canary weight known to be set once ``entry`` happened: a stage sets it; a
    rollback actuator that exited 0 sets 0; a failed actuator changes nothing known."""
    if entry.kind == "stage" and entry.weight is not None:
        return entry.weight
    if entry.kind == "actuator" and entry.name == "rollback" and entry.exit_code == 0:
        return 0
    return current


def timeline_frame(run_dir: Path) -> pd.DataFrame:
    """One row per timeline entry with the weight in force after it (NaN: not yet known)."""
    entries = read_timeline(run_dir / TIMELINE_FILE)
    if not entries:
        return pd.DataFrame(columns=COLUMNS)
    weights: list[int | None] = []
    current: int | None = None
    for e in entries:  # a timeline is tens of lines: a running state, not a data-sized loop
        current = _weight_after(e, current)
        weights.append(current)
    frame = pd.DataFrame(
        {
            "seq": [e.seq for e in entries],
            "at": pd.to_datetime([e.at for e in entries], utc=True),
            "kind": [e.kind for e in entries],
            "stage": pd.array([e.stage for e in entries], dtype="Int64"),
            "weight": pd.array(weights, dtype="Int64"),
            "action": [e.action or "" for e in entries],
            "outcome": [str(e.outcome or "") for e in entries],
            "message": [e.message for e in entries],
        }
    )
    frame.insert(2, "since_start", frame["at"] - frame["at"].iloc[0])
    return frame[COLUMNS]


def outcome(frame: pd.DataFrame) -> str:
    """The recorded ends in order (``PROMOTED``, or ``PROMOTED → ROLLED_BACK`` when an
    operator rolled back afterwards), or ``RUNNING`` while there is none."""
    ends = frame[frame["kind"] == "end"]["outcome"]
    return "RUNNING" if ends.empty else " → ".join(str(o) for o in ends)


def timeline_text(run_dir: Path) -> str:
    """The timeline as a release lead reads it: ``T+mm:ss  kind  message`` per line."""
    frame = timeline_frame(run_dir)
    seconds = frame["since_start"].dt.total_seconds().astype(int)
    stamps = [f"T+{s // 60:02d}:{s % 60:02d}" for s in seconds]
    kinds = frame["kind"].str.ljust(int(frame["kind"].str.len().max() or 0))
    return "\n".join(
        f"{t}  {k}  {m}" for t, k, m in zip(stamps, kinds, frame["message"], strict=True)
    )


def stage_board(run_dir: Path, *, now: datetime | None = None) -> Figure:
    """The weight as a step line, judgements as coloured markers on it, status updates as
    ticks along the top, the post-deploy span shaded, the outcome in the title."""
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    frame = timeline_frame(run_dir)
    fig = Figure(figsize=(10, 3.6), layout="constrained")
    ax = fig.add_subplot()
    if frame.empty:
        ax.set_title("Cutover: no timeline entry yet")
        return fig
    end: Any = pd.Timestamp(now) if now is not None else frame["at"].iloc[-1]
    known = frame.dropna(subset=["weight"])
    if not known.empty:
        xs = [*known["at"], end]
        ys = [*known["weight"].astype(int), int(known["weight"].iloc[-1])]
        ax.step(xs, ys, where="post", color="#1f4e79", linewidth=2, label="canary weight")
    judged = frame[frame["kind"] == "judgement"]
    marks = judged["weight"].astype("Float64").fillna(0).astype(float)
    ax.scatter(
        judged["at"],
        marks,
        c=[ACTION_COLOURS.get(a, "#555555") for a in judged["action"]],
        s=36,
        zorder=3,
        edgecolors="#1f1f1f",
        linewidths=0.5,
    )
    for t in frame[frame["kind"] == "status"]["at"]:
        ax.axvline(t, ymin=0.93, ymax=1.0, color="#6a1b9a", linewidth=1.5)
    started = frame[(frame["kind"] == "stage") & (frame["weight"] == 100)]["at"]
    validated = frame[frame["kind"] == "postdeploy"]["at"]
    if not started.empty:
        until = validated.iloc[-1] if not validated.empty else end
        ax.axvspan(started.iloc[0], until, color="#e8f5e9", zorder=0)
        ax.annotate("post-deploy", (started.iloc[0], 102), fontsize=8, va="bottom")
    for t in frame[frame["kind"] == "rollback"]["at"]:
        ax.axvline(t, color=ACTION_COLOURS["ROLLBACK"], linestyle="--", linewidth=1)
    ax.set_ylim(-5, 110)
    ax.set_ylabel("canary traffic (%)")
    ax.set_xlabel("UTC")
    ax.grid(axis="y", alpha=0.3)
    legend = [Line2D([], [], color="#1f4e79", linewidth=2, label="canary weight")]
    legend += [
        Line2D([], [], marker="o", linestyle="", color=c, label=a)
        for a, c in ACTION_COLOURS.items()
    ]
    legend.append(Line2D([], [], color="#6a1b9a", label="status update"))
    fig.legend(handles=legend, loc="outside lower center", fontsize=8, ncols=5, frameon=False)
    locator = AutoDateLocator(tz=UTC)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator, tz=UTC))  # type: ignore[no-untyped-call]
    ax.set_title(f"Cutover {run_dir.name}: {outcome(frame)}", loc="left")
    return fig
