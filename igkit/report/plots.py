"""Figures for the notebooks and the war room, drawn with matplotlib's Agg backend.

Figures are built with the object API (``matplotlib.figure.Figure``), never ``pyplot``
state, so they are safe in threads and headless CI. The war room board is read-only
(ADR-002): it mirrors the verdicts, it decides nothing.
"""

from __future__ import annotations

import base64
import html
import io
import math
import textwrap
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from matplotlib import dates as mdates
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from igkit.report.palette import DECISION_COLOURS, STATUS_COLOURS
from igkit.units import Unit, fmt
from igkit.verdicts import Status

if TYPE_CHECKING:
    from igkit.explore import Run
    from igkit.spec.models import CostLadder

VIOLATION = STATUS_COLOURS[Status.FAIL]
WARNING = STATUS_COLOURS[Status.NO_DATA]
# Series colours: distinct from each other and from VIOLATION (the threshold and breaches).
SERIES_COLOURS = (
    "#1565c0",
    "#ef6c00",
    "#2e7d32",
    "#6a1b9a",
    "#00838f",
    "#5d4037",
    "#546e7a",
    "#827717",
    "#283593",
    "#f9a825",
)
FONT = 11  # points: a 10 in figure printed across an A4 text width (~7 in) still shows >= 7.5 pt
_SYMBOLS = {"<=": "≤", ">=": "≥", "<": "<", ">": ">"}


def _figure(
    width: float,
    height: float,
    *,
    layout: Literal["constrained"] | None = None,
    dpi: int = 100,
) -> Figure:
    fig = Figure(figsize=(width, height), dpi=dpi, layout=layout)
    FigureCanvasAgg(fig)
    return fig


def series_label(key: str, labels: Mapping[str, str] | None) -> str:
    """A legend entry for one series: ``tenant=acme`` (``__name__`` left out); "(all)" for a
    series without labels; the key itself for a derived series (``month_to_date``)."""
    if labels is None:
        return "(all)" if key in ("", "{}") else key.replace("_", " ")
    shown = [f"{k}={v}" for k, v in labels.items() if k != "__name__"]
    return ", ".join(shown) if shown else labels.get("__name__", "(all)")


def _wrapped(label: str, width: int = 36) -> str:
    """A long legend entry on several lines (never cut), so the plot keeps its width."""
    return "\n".join(textwrap.wrap(label, width, break_on_hyphens=False)) or label


def threshold_text(comparison: str, value: float, unit: str) -> str:
    """``threshold ≤ 350 ms``: what a value must satisfy, with its unit."""
    try:
        shown = fmt(value, Unit(unit))
    except ValueError:  # a unit igkit does not know: the number as given
        shown = f"{value:g} {unit}"
    return f"threshold {_SYMBOLS.get(comparison, comparison)} {shown}".rstrip()


def unit_label(unit: str) -> str:
    return "%" if unit == Unit.PERCENT.value else unit


def _utc_naive(times: Any) -> np.ndarray:
    """UTC instants as naive ``datetime64`` (what matplotlib reads as UTC)."""
    return pd.DatetimeIndex(times).tz_convert(None).to_numpy()


def _time_axis(ax: Any, start: Any, end: Any) -> None:
    """UTC time axis over [start, end]: ``HH:MM`` ticks (``HH:MM:SS`` under 10 minutes), the
    date said once in the axis label."""
    lo, hi = pd.Timestamp(start).tz_convert("UTC"), pd.Timestamp(end).tz_convert("UTC")
    if hi <= lo:
        hi = lo + pd.Timedelta(seconds=1)
    ax.set_xlim(*_utc_naive([lo, hi]))
    short = hi - lo < pd.Timedelta(minutes=10)
    same_day = lo.date() == hi.date()
    pattern = ("%H:%M:%S" if short else "%H:%M") if same_day else "%m-%d %H:%M"
    ax.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=3, maxticks=7 if short else 8))  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_formatter(mdates.DateFormatter(pattern))  # type: ignore[no-untyped-call]
    ax.set_xlabel(f"time (UTC), {lo:%Y-%m-%d}" if same_day else "time (UTC)", fontsize=FONT)


def _value_axis(ax: Any, values: np.ndarray, threshold: float | None, unit: str) -> None:
    """Y limits holding the data and the threshold with a margin, so the distance between the
    two is visible (99.99% against 99.9% is not drawn on a 0-100 axis); plain tick labels."""
    finite = values[np.isfinite(values)]
    points = np.concatenate([finite, [] if threshold is None else [float(threshold)]])
    if points.size:
        lo, hi = float(points.min()), float(points.max())
        span = hi - lo or (abs(hi) * 0.1 or 1.0)
        margin = 0.12 * span
        bottom = lo - margin
        if lo >= 0 > bottom:  # barely below zero: a zero value stays off the axis spine
            bottom = -0.04 * span
        ax.set_ylim(bottom, hi + margin)
    ax.ticklabel_format(axis="y", style="plain", useOffset=False)
    ax.set_ylabel(unit_label(unit), fontsize=FONT)
    ax.tick_params(labelsize=FONT)
    ax.grid(alpha=0.3)


def _threshold_line(ax: Any, value: float, text: str, legend: str | None = None) -> None:
    """The threshold dashed across the axes, labelled at the line (and in the legend, as
    ``legend`` when given)."""
    ax.axhline(value, color=VIOLATION, ls="--", lw=1.3, label=legend or text, zorder=3)
    ax.text(
        0.995,
        value,
        text,
        transform=ax.get_yaxis_transform(),
        ha="right",
        va="bottom",
        fontsize=FONT - 1,
        color=VIOLATION,
        bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.6, "pad": 1},
        zorder=4,
    )


def _ranked_series(frame: pd.DataFrame, comparison: str, threshold: float | None) -> pd.DataFrame:
    """One row per series, worst first: failing series (furthest over the threshold first),
    series without data, then passing series (closest to the threshold first)."""
    stats = frame.groupby("series", sort=False).agg(
        hi=("value", "max"),
        lo=("value", "min"),
        failing=("violating", "any"),
        data=("present", "any"),
    )
    if threshold is None:
        badness = pd.Series(0.0, index=stats.index)
    elif comparison in ("<=", "<"):
        badness = stats["hi"] - float(threshold)
    else:
        badness = float(threshold) - stats["lo"]
    stats["badness"] = badness.fillna(-np.inf)
    stats["group"] = np.where(stats["failing"], 0, np.where(stats["data"], 2, 1))
    return stats.sort_values(["group", "badness"], ascending=[True, False], kind="stable")


def plot_objective(
    frame: pd.DataFrame, *, title: str | None = None, ax: Any = None, legend_max: int = 8
) -> Figure:
    """Series over the window against the labelled threshold, breaches shaded per series.

    ``frame`` is :meth:`igkit.explore.Run.objective_frame`'s long frame. One legend entry per
    series (``tenant=acme``), outside the axes. Over ``legend_max`` series, the worst are drawn
    (every failing series always) and the legend says how many more pass."""
    attrs = frame.attrs
    if ax is None:
        fig = _figure(10, 3.8, layout="constrained", dpi=110)
        ax = fig.add_subplot(1, 1, 1)
    else:
        fig = ax.figure
    threshold = attrs.get("threshold")
    comparison = str(attrs.get("comparison", ""))
    unit = str(attrs.get("unit", ""))
    labels: Mapping[str, Mapping[str, str]] = attrs.get("labels") or {}
    ranked = _ranked_series(frame, comparison, threshold)
    keep = ranked.index[(ranked["group"] == 0).to_numpy() | (np.arange(len(ranked)) < legend_max)]
    hidden = ranked.drop(keep)
    if hidden.empty:
        keep = pd.Index(sorted(keep, key=lambda k: series_label(str(k), labels.get(str(k)))))
    by_series = dict(tuple(frame.groupby("series", sort=False)))
    drawn: list[np.ndarray] = []
    for i, key in enumerate(keep):
        rows = by_series[key]
        colour = SERIES_COLOURS[i % len(SERIES_COLOURS)]
        label = _wrapped(series_label(str(key), labels.get(str(key))))
        x = _utc_naive(rows["time"])
        values = rows["value"].to_numpy(dtype=np.float64)
        y = np.where(np.isfinite(values), values, np.nan)
        drawn.append(y)
        ax.plot(x, y, color=colour, lw=1.4, label=label, zorder=2)
        bad = rows["violating"].to_numpy(dtype=bool)
        finite_bad = bad & np.isfinite(values)
        if finite_bad.any() and threshold is not None:
            shade = ax.fill_between(
                x, y, float(threshold), where=finite_bad, step="mid", color=colour, alpha=0.3, lw=0
            )
            shade.set_gid(f"violating:{label}")
            ax.plot(
                x[finite_bad],
                y[finite_bad],
                ls="none",
                marker="o",
                ms=4,
                mfc=colour,
                mec=VIOLATION,
                mew=1.2,
                zorder=3,
                gid=f"violating-points:{label}",
            )
        if (bad & ~np.isfinite(values)).any():  # ±Inf: a mark at the axis edge
            edge = 0.97 if comparison in ("<=", "<") else 0.03
            at = x[bad & ~np.isfinite(values)]
            ax.plot(
                at,
                np.full(at.shape, edge),
                ls="none",
                marker="^" if edge > 0.5 else "v",
                ms=6,
                color=colour,
                mec=VIOLATION,
                transform=ax.get_xaxis_transform(),
                zorder=3,
                gid=f"violating-points:{label}",
            )
    if threshold is not None:
        _threshold_line(ax, float(threshold), threshold_text(comparison, float(threshold), unit))
    if bool(frame["violating"].any()):
        ax.fill_between([], [], color="#9e9e9e", alpha=0.4, label="violating steps")
    passing = int((hidden["group"] == 2).sum())
    if passing:
        ax.plot([], [], ls="none", label=f"and {passing} more passing")
    if len(hidden) > passing:
        ax.plot([], [], ls="none", label=f"and {len(hidden) - passing} more without data")
    _value_axis(ax, np.concatenate(drawn) if drawn else np.array([]), threshold, unit)
    start, end = attrs.get("window_start"), attrs.get("window_end")
    if start is None or end is None:
        start, end = frame["time"].min(), frame["time"].max()
    if not (pd.isna(start) or pd.isna(end)):
        _time_axis(ax, start, end)
    status = attrs.get("status", "")
    name = f"{attrs.get('gate', '')} {attrs.get('objective', '')}".strip()
    ax.set_title(
        title or f"{name} — {status}", color=STATUS_COLOURS.get(status, "black"), fontsize=FONT + 2
    )
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=FONT - 0.5, frameon=False)
    return fig


def plot_gate(run: Run, gate_id: str) -> Figure | None:
    """One panel per time-series objective of a gate; None when the gate has none (k6/evidence)."""
    names = run.objective_names(gate_id, series_only=True)
    if not names:
        return None
    fig = _figure(10, 3.4 * len(names), layout="constrained", dpi=110)
    for i, name in enumerate(names, start=1):
        ax = fig.add_subplot(len(names), 1, i)
        plot_objective(run.objective_frame(gate_id, name), ax=ax)
    return fig


def _k6_panel(ax: Any, rows: pd.DataFrame, value: str, limit: str, unit: Unit, what: str) -> None:
    """One metric of one scenario: a bar across each window at its value, windows over the
    matrix threshold marked, thin windows hatched."""
    values = rows[value].to_numpy(dtype=np.float64)
    limit_value = float(rows[limit].iloc[0])
    start, end = _utc_naive(rows["start"]), _utc_naive(rows["end"])
    middle = start + (end - start) / 2
    colour = SERIES_COLOURS[0]
    ax.plot(middle, values, color=colour, lw=1.2, marker="o", ms=3, label=f"{what} per window")
    ax.hlines(values, start, end, color=colour, lw=2.5, alpha=0.6)
    status = rows["status"].to_numpy(dtype=object)
    over = (status == Status.FAIL.value) & (values > limit_value)
    for s, e in zip(start[over], end[over], strict=True):
        ax.axvspan(s, e, color=VIOLATION, alpha=0.15, lw=0, gid="violating-window")
    if over.any():
        ax.plot(
            middle[over],
            values[over],
            ls="none",
            marker="o",
            ms=7,
            mfc="none",
            mec=VIOLATION,
            mew=1.6,
            label="window over the threshold",
            gid="violating-points",
        )
    thin = status != Status.PASS.value
    thin &= status != Status.FAIL.value
    for s, e in zip(start[thin], end[thin], strict=True):
        ax.axvspan(
            s,
            e,
            facecolor="none",
            edgecolor="#757575",
            hatch="//",
            lw=0,
            label="window not judged (NO_DATA/ERROR)",
            gid="unjudged-window",
        )
    _threshold_line(
        ax, limit_value, threshold_text("<=", limit_value, unit.value), "matrix threshold"
    )
    _value_axis(ax, values, limit_value, unit.value)
    _time_axis(ax, rows["start"].min(), rows["end"].max())


def _scenario(name: str) -> str:
    return "all requests" if name == "*" else name


def plot_k6_windows(windows: pd.DataFrame) -> Figure:
    """Per k6 objective (scenario) and file: p95 and error rate of every window against the
    matrix thresholds, windows over a threshold marked in red, windows too thin to judge
    hatched. ``windows`` is :func:`igkit.explore.k6_window_frame`'s table; one row of panels
    per (objective, file)."""
    groups = list(windows.groupby(["objective", "file"], sort=False))
    fig = _figure(10, 0.8 + 2.9 * max(1, len(groups)), layout="constrained", dpi=110)
    several_files = windows["file"].nunique() > 1
    for i, ((objective, file), rows) in enumerate(groups):
        scenario = str(rows["scenario"].iloc[0])
        name = str(objective) if scenario == objective else f"{objective} ({_scenario(scenario)})"
        name += f" [{file}]" if several_files else ""
        p95_ax = fig.add_subplot(len(groups), 2, 2 * i + 1)
        err_ax = fig.add_subplot(len(groups), 2, 2 * i + 2)
        if rows["p95_threshold_ms"].notna().any():
            _k6_panel(p95_ax, rows, "p95_ms", "p95_threshold_ms", Unit.MS, "p95")
        else:
            p95_ax.set_axis_off()
            p95_ax.text(
                0.5,
                0.5,
                "p95 not judged by this objective",
                ha="center",
                va="center",
                fontsize=FONT,
                transform=p95_ax.transAxes,
            )
        _k6_panel(err_ax, rows, "error_rate_pct", "max_error_rate_pct", Unit.PERCENT, "error rate")
        p95_ax.set_title(f"{name}: p95 per window", fontsize=FONT + 1)
        err_ax.set_title(f"{name}: error rate per window", fontsize=FONT + 1)
    if not groups:
        ax = fig.add_subplot(1, 1, 1)
        ax.set_axis_off()
        ax.text(0.5, 0.5, "no k6 window table in this run", ha="center", va="center")
    handles: dict[str, Any] = {}
    for ax in fig.axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    if handles:
        fig.legend(
            list(handles.values()),
            list(handles),
            loc="outside upper center",
            ncols=min(4, len(handles)),
            fontsize=FONT,
            frameon=False,
        )
    return fig


def figure_png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def figure_img(fig: Figure, alt: str) -> str:
    """``<img alt=... src="data:image/png;base64,...">`` for a self-contained HTML page; the
    alt text (what a screen reader says) is HTML-escaped."""
    data = base64.b64encode(figure_png(fig)).decode("ascii")
    return (
        f'<img alt="{html.escape(alt, quote=True)}" src="data:image/png;base64,{data}" '
        'style="max-width:100%;height:auto">'
    )


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


def plot_burn(
    burn: pd.DataFrame,
    *,
    budget: str,
    budget_usd: float,
    alert_pct: float,
    ladder: CostLadder | None = None,
) -> Figure:
    """Month-to-date spend and its linear projection against the budget and its alert line
    (``burn`` is :func:`igkit.finops.burn`'s frame; ``alert_pct`` the budget's, from the
    matrix; ``ladder`` the chosen matrix's ``cost_ladder``, whose tier names the title uses)."""
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

    ax.set_title(
        f"{budget}: month-to-date burn — downshift tier {tier} ({tier_name(tier, ladder)})"
    )
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
