"""Figures of the FinOps notebook: spend bars, month-to-date against the budget, unit costs and
the downshift ladder.

Drawn from the frames of :mod:`igkit.finops.views` with matplotlib's object API (no
``pyplot`` state), constrained layout so no label is clipped, and money-formatted axes in the
budget currency. A figure shows what the views computed; it decides nothing.
"""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter, PercentFormatter

from igkit.finops.views import money, percent
from igkit.report.plots import FONT, SERIES_COLOURS, VIOLATION, WARNING, _figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from igkit.finops.ladder import TierExplanation
    from igkit.spec.models import CostLadder

CURRENT = "#ffe082"  # the current tier's band
PROJECTION_COLOURS = {"linear": "#6a1b9a", "run_rate": "#00838f"}
TIER_COLOURS = ("#c8e6c9", "#fff9c4", "#ffe0b2", "#ffccbc", "#ffab91", "#ef9a9a", "#e57373")


def _plain(text: str) -> str:
    """``text`` drawn as written: a ``$`` is a dollar, not the start of matplotlib mathtext."""
    return text.replace("$", r"\$")


def _money(value: float | None, currency: str) -> str:
    return _plain(money(value, currency, decimals=0))


def money_axis(ax: Any, currency: str, axis: str = "y") -> None:
    """Tick labels of ``axis`` as whole amounts of ``currency`` (``$18,000``)."""
    formatter = FuncFormatter(lambda value, _pos: _money(value, currency))
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(formatter)


def _period_labels(index: pd.DatetimeIndex) -> list[str]:
    hourly = len(index) > 0 and bool((index != index.normalize()).any())
    return [t.strftime("%b %d %H:%M" if hourly else "%a %b %d") for t in index]


def plot_spend(table: pd.DataFrame, *, title: str, currency: str) -> Figure:
    """Stacked bars of spend per period (``spend_over_time``'s frame): credits (negative) stack
    below zero, so a credit never hides spend."""
    fig = _figure(10, 4.2, layout="constrained")
    ax = fig.add_subplot(1, 1, 1)
    x = np.arange(len(table))
    values = table.to_numpy(dtype=np.float64)
    above = np.zeros(len(table))
    below = np.zeros(len(table))
    for i, name in enumerate(table.columns):
        column = values[:, i] if values.size else np.zeros(0)
        base = np.where(column >= 0, above, below)
        colour = SERIES_COLOURS[i % len(SERIES_COLOURS)]
        ax.bar(x, column, bottom=base, color=colour, label=_plain(str(name) or "(none)"), width=0.8)
        above += np.where(column >= 0, column, 0.0)
        below += np.where(column < 0, column, 0.0)
    ax.axhline(0, color="black", lw=0.6)
    ax.set_xticks(x, _period_labels(pd.DatetimeIndex(table.index)))
    step = max(1, len(x) // 16)
    for i, label in enumerate(ax.get_xticklabels()):
        label.set_visible(i % step == 0)
        label.set_rotation(45)
        label.set_horizontalalignment("right")
    money_axis(ax, currency)
    ax.set_title(_plain(title))
    ax.set_xlabel("UTC")
    ax.grid(alpha=0.3, axis="y")
    if len(table.columns):
        fig.legend(loc="outside right upper", fontsize=FONT - 2, frameon=False)
    return fig


def _time_axis(ax: Any) -> None:
    from matplotlib import dates as mdates

    locator = mdates.AutoDateLocator(minticks=4, maxticks=10)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
    ax.set_xlabel("UTC")


def _naive(index: pd.Index) -> np.ndarray:
    return pd.DatetimeIndex(index).tz_convert("UTC").tz_localize(None).to_numpy()


def plot_month_to_date(frame: pd.DataFrame, *, title: str, currency: str) -> Figure:
    """Month-to-date spend against the budget, its alert line and both month-end projections
    (``month_to_date_frame``'s columns; the projection that drives the ladder is marked)."""
    fig = _figure(10, 4.2, layout="constrained")
    ax = fig.add_subplot(1, 1, 1)
    times = _naive(frame.index)
    mtd = frame["month_to_date"].to_numpy(dtype=np.float64)
    seen = np.isfinite(mtd)
    ax.plot(times[seen], mtd[seen], lw=2, color=SERIES_COLOURS[0], label="month-to-date")
    for kind, label in (("linear", "linear projection"), ("run_rate", "run-rate projection")):
        values = frame[kind].to_numpy(dtype=np.float64)
        shown = np.isfinite(values)
        if shown.any():
            end = values[shown][-1]
            drives = " — drives the ladder" if frame.attrs.get("driver") == kind else ""
            ax.plot(
                times[shown],
                values[shown],
                lw=2 if drives else 1.2,
                ls="--",
                marker="o",
                markersize=3,
                color=PROJECTION_COLOURS[kind],
                label=f"{label} {_money(end, currency)}{drives}",
            )
    limit = frame["limit"].to_numpy(dtype=np.float64)
    if np.isfinite(limit).any():
        value = float(limit[np.isfinite(limit)][0])
        ax.axhline(value, color=VIOLATION, lw=1.2, label=f"budget {_money(value, currency)}")
    alert = frame["alert"].to_numpy(dtype=np.float64)
    if np.isfinite(alert).any():
        value = float(alert[np.isfinite(alert)][0])
        share = frame.attrs.get("alert_share")
        ax.axhline(
            value,
            color=WARNING,
            lw=1.2,
            ls="--",
            label=f"alert {percent(share, decimals=0)} ({_money(value, currency)})",
        )
    money_axis(ax, currency)
    _time_axis(ax)
    ax.set_ylim(bottom=min(0.0, float(np.nanmin(mtd)) if seen.any() else 0.0))
    ax.set_title(_plain(title))
    ax.grid(alpha=0.3)
    fig.legend(loc="outside right upper", fontsize=FONT - 2, frameon=False)
    return fig


def plot_unit_costs(
    frame: pd.DataFrame, *, title: str, limits: dict[str, float] | None = None
) -> Figure:
    """One panel per unit cost (a column of ``unit_costs``' frame, named with its unit), so
    costs in different units never share an axis."""
    panels = max(1, len(frame.columns))
    fig = _figure(10, 1.2 + 2.2 * panels, layout="constrained")
    if frame.empty:
        ax = fig.add_subplot(1, 1, 1)
        ax.text(0.5, 0.5, "no unit costs in this range", ha="center", va="center")
        ax.set_axis_off()
    times = _naive(frame.index) if len(frame) else np.zeros(0)
    for i, column in enumerate(frame.columns if not frame.empty else []):
        ax = fig.add_subplot(panels, 1, i + 1)
        values = frame[column].to_numpy(dtype=np.float64)
        shown = np.isfinite(values)
        ax.plot(times[shown], values[shown], lw=1.5, marker=".", color=SERIES_COLOURS[i % 10])
        _time_axis(ax)
        top = float(np.max(values[shown])) if shown.any() else 1.0
        limit = (limits or {}).get(str(column))
        if limit is not None:
            ax.axhline(limit, color=VIOLATION, ls="--", lw=1.2, label=f"matrix limit {limit:g}")
            ax.legend(loc="lower right", fontsize=FONT - 2)
            top = max(top, limit)
        ax.set_ylim(
            bottom=min(0.0, float(np.min(values[shown])) if shown.any() else 0.0),
            top=top * 1.2 or 1.0,
        )
        ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _pos: f"{value:.3g}"))
        ax.set_title(_plain(str(column)), fontsize=FONT)
        ax.grid(alpha=0.3)
    fig.suptitle(_plain(title))
    return fig


def plot_ladder(
    explanation: TierExplanation,
    ladder: CostLadder,
    *,
    month_to_date_share: float | None = None,
    projected_share: float | None = None,
) -> Figure:
    """The downshift ladder of the chosen matrix: per tier the month-to-date and projection
    share ranges that trigger it, the current tier highlighted, where the deciding budget
    stands, and the current tier's actions below."""
    fig = _figure(10, 5.2, layout="constrained")
    grid = fig.add_gridspec(2, 1, height_ratios=(4, 0.7))
    ax = fig.add_subplot(grid[0])
    burn = [float(v) for v in ladder.burn_share]
    proj = [float(v) for v in ladder.projected_share]
    marks = [v for v in (month_to_date_share, projected_share) if v is not None and np.isfinite(v)]
    right = max([burn[-1], proj[-1], *marks]) * 1.15
    for tier in range(7):
        if tier == explanation.tier:
            ax.axhspan(tier - 0.45, tier + 0.45, color=CURRENT, zorder=0)
        for offset, bounds, label in ((-0.17, burn, "month-to-date"), (0.17, proj, "projection")):
            low = 0.0 if tier == 0 else bounds[tier - 1]
            high = bounds[tier] if tier < 6 else right
            ax.barh(
                tier + offset,
                high - low,
                left=low,
                height=0.3,
                color=TIER_COLOURS[tier],
                edgecolor="#455a64" if label == "projection" else "#90a4ae",
                hatch="//" if label == "projection" else None,
                label=f"{label} share" if tier == 0 else None,
            )
    for value, style, name in (
        (month_to_date_share, "-", "month-to-date"),
        (projected_share, "--", "projected"),
    ):
        if value is not None and np.isfinite(value):
            whose = f"{explanation.budget} " if explanation.budget else ""
            ax.axvline(
                value, color="black", ls=style, lw=1.4, label=f"{whose}{name} {percent(value)}"
            )
    ax.set_yticks(range(7), [f"{t} {ladder.tier_name(t)}" for t in range(7)])
    ax.set_xlim(0, right)
    ax.set_ylim(-0.6, 6.6)
    ax.xaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=0))
    ax.set_xlabel("share of the monthly budget")
    ax.grid(alpha=0.3, axis="x")
    ax.set_title(_plain(f"Downshift ladder — tier {explanation.tier} {explanation.name}"))
    ax.legend(loc="lower right", fontsize=FONT - 3)
    text_ax = fig.add_subplot(grid[1])
    text_ax.axis("off")
    shown = explanation.text
    if explanation.actions and not all(a in shown for a in explanation.actions):
        shown += " Actions: " + "; ".join(explanation.actions)
    text_ax.text(
        0, 1, _plain("\n".join(textwrap.wrap(shown, 120))), va="top", ha="left", fontsize=FONT - 1
    )
    return fig
