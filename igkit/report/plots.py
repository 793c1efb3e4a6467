"""Figures for the notebooks and the war room, drawn with matplotlib's Agg backend.

Figures are built with the object API (``matplotlib.figure.Figure``), never ``pyplot``
state, so they are safe in threads and headless CI. The war room board is read-only
(ADR-002): it mirrors the verdicts, it decides nothing.
"""

from __future__ import annotations

import io
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from igkit.report.palette import DECISION_COLOURS, STATUS_COLOURS
from igkit.verdicts import Status

if TYPE_CHECKING:
    from igkit.explore import Run

VIOLATION = STATUS_COLOURS[Status.FAIL]
WARNING = STATUS_COLOURS[Status.NO_DATA]


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def plot_objective(
    frame: pd.DataFrame, *, title: str | None = None, ax: Any = None, legend_max: int = 8
) -> Figure:
    """Series over the window, the threshold line, violating steps shaded, status in the title.

    ``frame`` is :meth:`igkit.explore.Run.objective_frame`'s long frame."""
    attrs = frame.attrs
    if ax is None:
        fig = _figure(10, 3.6)
        ax = fig.add_subplot(1, 1, 1)
    else:
        fig = ax.figure
    wide = frame.pivot(index="time", columns="series", values="value")
    shown = wide.replace([np.inf, -np.inf], np.nan)
    for i, column in enumerate(shown.columns):
        ax.plot(
            shown.index,
            shown[column].to_numpy(),
            lw=1.2,
            label=str(column) if i < legend_max else None,
        )
    threshold = attrs.get("threshold")
    if threshold is not None:
        ax.axhline(
            float(threshold),
            color=VIOLATION,
            ls="--",
            lw=1,
            label=f"threshold {attrs.get('comparison', '')} {threshold:g}",
        )
    bad = frame.groupby("time", sort=True)["violating"].any()
    if bad.any():
        ax.fill_between(
            bad.index,
            0,
            1,
            where=bad.to_numpy(),
            transform=ax.get_xaxis_transform(),
            color=VIOLATION,
            alpha=0.15,
            step="mid",
            label="violating steps",
        )
    status = attrs.get("status", "")
    name = f"{attrs.get('gate', '')} {attrs.get('objective', '')}".strip()
    ax.set_title(title or f"{name} — {status}", color=STATUS_COLOURS.get(status, "black"))
    ax.set_ylabel(str(attrs.get("unit", "")))
    ax.set_xlabel("UTC")
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="best", fontsize=7)
    fig.autofmt_xdate()
    return fig


def plot_gate(run: Run, gate_id: str) -> Figure | None:
    """One panel per time-series objective of a gate; None when the gate has none (k6/evidence)."""
    names = run.objective_names(gate_id, series_only=True)
    if not names:
        return None
    fig = _figure(10, 3.2 * len(names))
    for i, name in enumerate(names, start=1):
        ax = fig.add_subplot(len(names), 1, i)
        plot_objective(run.objective_frame(gate_id, name), ax=ax)
    fig.tight_layout()
    return fig


def plot_k6_windows(windows: pd.DataFrame) -> Figure:
    """p95 and error rate per window (a point mid-window, a bar across it), one line per k6 objective (scenario), each with its
    matrix threshold dashed in the same colour. ``windows`` is
    :func:`igkit.explore.k6_window_frame`'s table (one file's windows are drawn per file)."""
    fig = _figure(10, 6.4)
    p95_ax = fig.add_subplot(2, 1, 1)
    err_ax = fig.add_subplot(2, 1, 2, sharex=p95_ax)
    for i, ((objective, file), rows) in enumerate(
        windows.groupby(["objective", "file"], sort=False)
    ):
        colour = f"C{i % 10}"
        scenario = rows["scenario"].iloc[0]
        label = f"{objective} ({scenario})" + (
            f" [{file}]" if windows["file"].nunique() > 1 else ""
        )
        middle = rows["start"] + (rows["end"] - rows["start"]) / 2
        for ax, column in ((p95_ax, "p95_ms"), (err_ax, "error_rate_pct")):
            if rows[column].notna().any():  # a point mid-window, a bar across the window
                ax.plot(middle, rows[column], color=colour, lw=1.2, marker="o", ms=3, label=label)
                ax.hlines(rows[column], rows["start"], rows["end"], color=colour, lw=2, alpha=0.5)
        limit = rows["p95_threshold_ms"].iloc[0]
        if pd.notna(limit):
            p95_ax.axhline(float(limit), color=colour, ls="--", lw=0.9)
        err_ax.axhline(float(rows["max_error_rate_pct"].iloc[0]), color=colour, ls="--", lw=0.9)
    if not windows.empty:  # a short run has one window: without limits the axis spans years
        p95_ax.set_xlim(windows["start"].min(), windows["end"].max())
    p95_ax.set_title("k6 p95 per window (dashed: the matrix threshold)")
    p95_ax.set_ylabel("ms")
    err_ax.set_title("k6 error rate per window (dashed: the matrix threshold)")
    err_ax.set_ylabel("%")
    err_ax.set_xlabel("UTC")
    for ax in (p95_ax, err_ax):
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="best", fontsize=7)
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def figure_png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def war_room(run: Run, gate_ids: list[str] | None = None) -> tuple[bytes, dict[str, Any]]:
    """A read-only board: one tile per gate in its status colour, plus the decision.

    ``gate_ids``: the gates the run evaluated (default all); a run of some gates is shown
    as PARTIAL in the title. Returns the PNG bytes and the JSON-ready summary drawn on it."""
    verdicts = run.verdicts(gate_ids)
    gates = verdicts.gates
    summary: dict[str, Any] = {
        "schema": "igkit.war-room/v1",
        "read_only": True,
        "decision": verdicts.decision,
        "scope": verdicts.scope.model_dump(),
        "evaluated_at": verdicts.model_dump(mode="json")["evaluated_at"],
        "matrix_sha256": verdicts.matrix_sha256,
        "gates": [
            {
                "id": g.id,
                "name": g.name,
                "status": g.status.value,
                "colour": STATUS_COLOURS[g.status],
                "reason": g.reasons[0] if g.reasons else "",
            }
            for g in gates
        ],
    }
    cols = 4
    rows = max(1, math.ceil(len(gates) / cols))
    fig = _figure(12, 2.2 * rows + 1.0)
    partial = (
        ""
        if verdicts.scope.complete
        else f" — PARTIAL RUN ({', '.join(verdicts.scope.gates)} only): not a release GO"
    )
    fig.suptitle(
        f"Go/No-Go {verdicts.decision}{partial} — {summary['evaluated_at']} (read-only mirror, ADR-002)",
        color=DECISION_COLOURS[verdicts.decision],
        fontsize=14,
    )
    for i, tile in enumerate(summary["gates"]):
        ax = fig.add_subplot(rows, cols, i + 1)
        ax.set_facecolor(tile["colour"])
        ax.set_xticks([])
        ax.set_yticks([])
        ax.text(0.5, 0.62, tile["id"], ha="center", va="center", fontsize=22, color="white")
        ax.text(0.5, 0.35, tile["name"], ha="center", va="center", fontsize=10, color="white")
        ax.text(0.5, 0.15, tile["status"], ha="center", va="center", fontsize=11, color="white")
    fig.tight_layout(rect=(0, 0, 1, 0.92))
    return figure_png(fig), summary


def plot_burn(burn: pd.DataFrame, *, budget: str, budget_usd: float, alert_pct: float) -> Figure:
    """Month-to-date spend and its linear projection against the budget and its alert line
    (``burn`` is :func:`igkit.finops.burn`'s frame; ``alert_pct`` the budget's, from the
    matrix)."""
    fig = _figure(10, 3.6)
    ax = fig.add_subplot(1, 1, 1)
    ax.plot(burn.index, burn["month_to_date_usd"].to_numpy(), lw=1.5, label="month-to-date USD")
    ax.plot(
        burn.index, burn["projected_usd"].to_numpy(), lw=1, ls=":", label="projected month-end USD"
    )
    ax.axhline(budget_usd, color=VIOLATION, lw=1, label=f"budget ${budget_usd:,.0f}")
    ax.axhline(
        budget_usd * alert_pct / 100,
        color=WARNING,
        ls="--",
        lw=1,
        label=f"alert {alert_pct:g}%",
    )
    tier = int(burn["tier"].iloc[-1]) if len(burn) else 0
    from igkit.finops import tier_name

    ax.set_title(f"{budget}: month-to-date burn — downshift tier {tier} ({tier_name(tier)})")
    ax.set_ylabel("USD")
    ax.set_xlabel("UTC")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=7)
    fig.autofmt_xdate()
    return fig


def plot_bars(values: pd.Series, *, title: str, ylabel: str = "USD") -> Figure:
    """A bar chart of a labelled series (e.g. spend by component)."""
    fig = _figure(8, 3.4)
    ax = fig.add_subplot(1, 1, 1)
    ax.bar([str(i) for i in values.index], values.to_numpy(dtype=np.float64), color="#1565c0")
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3, axis="y")
    fig.autofmt_xdate()
    return fig
