"""What the FinOps notebook shows for one filter, in order, and the interactive filters.

:func:`explore_sections` turns a :class:`~igkit.finops.explore.Burn` and a filter (budget,
component, date range, bar period) into headed figures (:mod:`igkit.report.finops_plots`),
money tables and one-line notes; the papermill run shows it for the notebook's parameters.
:func:`filter_widgets` offers the same with ipywidgets, redrawing only when a filter changes,
so a headless render never depends on a widget.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any

import pandas as pd

from igkit.errors import ConfigError
from igkit.finops import explore, views
from igkit.report.finops_plots import plot_month_to_date, plot_spend, plot_unit_costs

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from igkit.finops.explore import Burn


Section = tuple[str, "Figure | pd.DataFrame | str"]


def explore_sections(
    burn: Burn,
    *,
    budget: str = "",
    component: str = "",
    start: datetime | str | None = None,
    end: datetime | str | None = None,
    freq: str = "",
) -> list[Section]:
    """What the notebook shows for one filter (budget, component, date range): headed
    figures, money tables and one-line notes, in order. The papermill run shows the defaults;
    the interactive filters call this again with the chosen values."""
    for column, name in (("budget", budget), ("component", component)):
        if name and name not in set(burn.costs[column]):
            known = ", ".join(sorted(str(v) for v in set(burn.costs[column]) if v))
            raise ConfigError(f"{column} {name!r}: not in the cost data (known: {known})")
    chosen = views.select_costs(
        burn.costs, budgets=budget, components=component, start=start, end=end
    )
    currency = burn.currency
    out: list[Section] = []
    costs = chosen
    if not burn.matrix.finops.tax_in_burn:  # tax is reported apart, never as a component
        taxed = chosen["category"] == "tax"
        costs = chosen[~taxed]
        if taxed.any():
            tax = views.money(float(chosen.loc[taxed, "cost"].sum()), currency)
            out.append(
                (
                    "Tax",
                    f"Tax of {tax} in this range is reported apart, not charted as spend (finops.tax_in_burn is false).",
                )
            )
    if costs.empty:
        return [*out, ("Spend", "No spend matches this filter (budget, component, date range).")]
    period = views.period(freq) if freq else views.auto_freq(costs)
    unit = {"1D": "day", "1h": "hour"}.get(period, period)
    out.append(
        (
            f"Spend per {unit} by budget",
            plot_spend(
                views.spend_over_time(costs, "budget", period),
                title=f"Spend per {unit} by budget ({currency})",
                currency=currency,
            ),
        )
    )
    out.append(
        (
            f"Spend per {unit} by component",
            plot_spend(
                views.spend_over_time(costs, "component", period),
                title=f"Spend per {unit} by component ({currency})",
                currency=currency,
            ),
        )
    )
    for figures in burn.figures:
        if budget and figures.budget != budget:
            continue
        alert = burn.alert_share(figures.budget)
        frame = views.month_to_date_frame(
            burn.costs, figures, alert_share=alert, include_tax=burn.matrix.finops.tax_in_burn
        )
        title = (
            f"{figures.budget}: month-to-date {views.money(figures.month_to_date, currency)} "
            f"of {views.money(figures.limit, currency)} ({views.percent(figures.share)})"
        )
        out.append(
            (
                f"Month-to-date vs budget: {figures.budget}",
                plot_month_to_date(frame, title=title, currency=currency),
            )
        )
    if burn.unit_figures:
        out.append(
            ("Unit costs over the gate's window", explore.unit_cost_table(burn.unit_figures))
        )
    units = burn.unit_costs
    if units.empty:
        out.append(("Unit costs", "No unit costs: the input has no consumed quantities."))
    else:
        out.append(
            (
                "Unit costs",
                plot_unit_costs(
                    units,
                    title="Unit costs over time",
                    limits=views.unit_cost_limits(burn.matrix),
                ),
            )
        )
    spent, share = views.unallocated_month(
        burn.costs, burn.at, tax_in_burn=burn.matrix.finops.tax_in_burn
    )
    line = (
        f"Unallocated month-to-date: {views.money(spent, currency)} "
        f"({views.percent(share)} of all spend): no allocation rule mapped it to a budget."
    )
    out.append(("Unallocated spend", line))
    table = views.unallocated_over_time(costs, period)
    out.append(
        (
            "Unallocated spend per period",
            explore.money_table(table[["total", "unallocated"]], currency),
        )
    )
    movers = views.top_movers(costs, burn.at, freq=period)
    if movers.empty:
        out.append(
            (
                "Top movers",
                "No component spent more than its trailing mean (or too little history).",
            )
        )
    else:
        out.append(("Top movers", explore.movers_table(movers, currency)))
    return out


def filter_widgets(
    burn: Burn,
    show: Callable[[list[Section]], None],
    *,
    budget: str = "",
    component: str = "",
    start: datetime | str | None = None,
    end: datetime | str | None = None,
    freq: str = "",
) -> Any:
    """Budget, component and date-range filters (ipywidgets) starting at the notebook's
    parameters; a change redraws :func:`explore_sections` into the widget's output. Nothing is
    drawn until a filter changes, so a headless (papermill) run renders the charts once, above."""
    import ipywidgets as widgets  # type: ignore[import-untyped]

    costs = burn.costs
    if costs.empty:
        return widgets.HTML("No cost data to filter.")
    everything = [("all", "")]
    budgets = widgets.Dropdown(
        description="budget",
        options=everything + [(b, b) for b in sorted(costs["budget"].unique())],
        value=budget if budget in set(costs["budget"]) else "",
    )
    components = widgets.Dropdown(
        description="component",
        options=everything + [(c, c) for c in sorted(costs["component"].unique()) if c],
        value=component if component in set(costs["component"]) else "",
    )
    days = pd.date_range(
        costs["time"].min().floor("1D"), costs["time"].max().floor("1D"), freq="1D"
    )
    options = [(d.strftime("%Y-%m-%d"), d) for d in days]
    low, high = views.as_time(start), views.as_time(end)
    first = low.floor("1D") if low is not None else options[0][1]
    last = high.floor("1D") if high is not None else options[-1][1]
    chosen = [v for _, v in options]
    dates = widgets.SelectionRangeSlider(
        description="dates",
        options=options,
        index=(
            chosen.index(first) if first in chosen else 0,
            chosen.index(last) if last in chosen else len(chosen) - 1,
        ),
        layout=widgets.Layout(width="60%"),
    )
    output = widgets.Output()

    def redraw(_change: object = None) -> None:
        low, high = dates.value
        with output:
            output.clear_output(wait=True)
            show(
                explore_sections(
                    burn,
                    budget=budgets.value,
                    component=components.value,
                    start=low,
                    end=high + pd.Timedelta(days=1) - pd.Timedelta(1, "ns"),
                    freq=freq,
                )
            )

    for control in (budgets, components, dates):
        control.observe(redraw, names="value")
    return _filters_box()([widgets.HBox([budgets, components]), dates, output])


@cache
def _filters_box() -> Any:
    """A VBox whose plain-text form (what a static render shows) says what it is, instead of
    the widget's repr."""
    import ipywidgets as widgets

    class Filters(widgets.VBox):  # type: ignore[misc]
        def _repr_mimebundle_(self, **kwargs: Any) -> Any:
            bundle = super()._repr_mimebundle_(**kwargs)
            if isinstance(bundle, dict):
                bundle["text/plain"] = (
                    "Filters (budget, component, dates): a live Jupyter kernel redraws the "
                    "charts for the values chosen."
                )
            return bundle

    return Filters
