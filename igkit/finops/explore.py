"""The FinOps notebook's input and its tables: one input (a run's G6 snapshots or a FOCUS
export), judged with the chosen matrix, read into a :class:`Burn` — costs, budget figures,
the ladder's explanation and unit costs — and shown as money tables and sentences.

The frames come from :mod:`igkit.finops.views`, the figures from
:mod:`igkit.finops.projection`, the tier from :mod:`igkit.finops.ladder`; nothing here
decides a number, it only reads and formats.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from igkit.errors import ConfigError, IgkitError
from igkit.finops.budgets import matrix_budgets
from igkit.finops.views import (
    as_time,
    money,
    percent,
    unit_costs_from_run,
    unit_costs_over_time,
)
from igkit.spec.models import CostLadder, Matrix

if TYPE_CHECKING:
    from igkit.finops.ladder import TierExplanation
    from igkit.finops.projection import BudgetFigures
    from igkit.finops.unit_costs import UnitCostFigure


def _utc(value: datetime | pd.Timestamp) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def budget_table(figures: Sequence[BudgetFigures]) -> pd.DataFrame:
    """The figures of each budget (a column each) as the notebook shows them: money in the
    budget currency, shares in percent, ``—`` for what is unknown, and why a figure is
    NO_DATA or ERROR."""
    rows = [
        {
            "budget": f.budget,
            "month-to-date": money(f.month_to_date, f.currency),
            "limit": money(f.limit, f.currency),
            "share": percent(f.share),
            "linear projection": money(f.linear_projection, f.currency),
            "run-rate projection": money(f.run_rate_projection, f.currency),
            "drives the ladder": {"linear": "linear", "run_rate": "run-rate"}.get(
                f.driver or "", "—"
            ),
            "projected share": percent(f.projected_share),
            "tax (apart)": money(f.tax, f.currency),
            "status": str(f.status.value if hasattr(f.status, "value") else f.status),
            "why": "; ".join(f.reasons) or "—",
        }
        for f in figures
    ]
    return pd.DataFrame(rows).set_index("budget").T if rows else pd.DataFrame()


def money_table(frame: pd.DataFrame, currency: str) -> pd.DataFrame:
    """``frame`` with every float column as money (for display; the numbers stay in ``frame``)."""
    shown = frame.copy()
    for column in shown.columns:
        if pd.api.types.is_float_dtype(shown[column]):
            shown[column] = [money(v, currency) for v in shown[column].to_numpy()]
    if isinstance(shown.index, pd.DatetimeIndex):
        shown.index = shown.index.strftime("%Y-%m-%d %H:%M UTC")
    return shown


Source = Literal["prometheus-snapshots", "focus-csv"]


def focus_sample() -> Path:
    """The FOCUS 1.1 export shipped with igkit: two weeks of March 2025 with a credit, tax, an
    untagged (unallocated) service and a step up in LLM spend on the 12th."""
    return Path(str(resources.files("igkit").joinpath("data/demo/focus.csv")))


@dataclass(frozen=True)
class Burn:
    """Everything the FinOps notebook shows, read from one input with one matrix; ``origin``
    says what was read (the run's directory, or the FOCUS file and its SHA-256)."""

    source: Source
    matrix: Matrix
    costs: pd.DataFrame
    at: pd.Timestamp
    figures: list[BudgetFigures]
    explanation: TierExplanation
    unit_costs: pd.DataFrame
    origin: str
    unit_figures: list[UnitCostFigure] = field(default_factory=list)

    @property
    def currency(self) -> str:
        return self.matrix.finops.currency

    @property
    def ladder(self) -> CostLadder:
        if self.matrix.cost_ladder is None:
            raise ConfigError("the matrix has no cost_ladder: the downshift tier is unknown")
        return self.matrix.cost_ladder

    def alert_share(self, budget: str) -> float | None:
        """The budget's alert line: its ``budget_burn`` objective's threshold (a share)."""
        found = [b.alert_pct / 100 for b in matrix_budgets(self.matrix) if b.name == budget]
        return found[0] if found else None

    def headline(self) -> str:
        """The tier and why, then what the figures are for (Markdown)."""
        return (
            f"**{self.explanation.text}**\n\n"
            f"Figures at {self.at.strftime('%Y-%m-%d %H:%M UTC')} from {self.origin}; "
            f"money in {self.currency}."
        )

    def figures_table(self) -> pd.DataFrame:
        """:func:`budget_table` of this burn's figures."""
        return budget_table(self.figures)

    def deciding_shares(self) -> dict[str, float | None]:
        """Month-to-date and projected share of the budget that decides the tier (keyword
        arguments of :func:`~igkit.report.finops_plots.plot_ladder`; none known: empty)."""
        for figures in self.figures:
            if figures.budget == self.explanation.budget:
                return {
                    "month_to_date_share": figures.share,
                    "projected_share": figures.projected_share,
                }
        return {}

    def actions_markdown(self) -> str:
        """The current tier's actions from the matrix, one bullet each (Markdown)."""
        tier = self.explanation
        if not tier.actions:
            return f"Tier {tier.tier} ({tier.name}): no actions."
        return f"**Tier {tier.tier} ({tier.name}) — actions:**\n\n" + "\n".join(
            f"- {action}" for action in tier.actions
        )


def open_burn(
    source: Source,
    *,
    snapshot_dir: str | Path | None = None,
    matrix: str | Path | None = None,
    trust_dir: str | Path | None = None,
    focus_csv: str | Path | None = None,
    at: datetime | str | None = None,
) -> Burn:
    """Costs, budget figures and the tier from the G6 snapshots of a run (``snapshot_dir``,
    empty = the demo sample) or a FOCUS export (``focus_csv``, empty = :func:`focus_sample`),
    judged with the chosen matrix (empty = the shipped one) at ``at`` (empty = the run's
    evaluation time, or the end of the FOCUS data)."""
    from igkit.explore import load_run
    from igkit.finops.figures import figures_from_focus, figures_from_run
    from igkit.finops.focus import read_focus
    from igkit.finops.ladder import explain
    from igkit.finops.unit_costs import focus_unit_costs
    from igkit.spec.loader import load_matrix

    given = as_time(at, "at")
    if source == "prometheus-snapshots":
        run = load_run(snapshot_dir, matrix, trust_dir)
        when = _utc(run.at)
        if given is not None and given != when:
            raise ConfigError(
                f"at {given:%Y-%m-%dT%H:%M:%SZ}: a run's figures are at its evaluation time "
                f"{when:%Y-%m-%dT%H:%M:%SZ}; leave `at` empty"
            )
        loaded = run.loaded.matrix
        costs, figures = figures_from_run(run)  # the G6 rule's own path
        units = unit_costs_from_run(run)
        origin = f"the G6 cost counters of the run in `{run.replay.directory}`"
        unit_figures: list[UnitCostFigure] = []
    elif source == "focus-csv":
        loaded = load_matrix(Path(matrix) if matrix else None).matrix
        path = Path(focus_csv) if focus_csv else focus_sample()
        if given is None:  # the end of the data: read once to find it
            ends = read_focus(path, loaded.finops, budgets=[b.name for b in matrix_budgets(loaded)])
            if ends.data_end is None:
                raise ConfigError(f"{ends.path}: no cost rows; give `at`")
            given = _utc(ends.data_end)
        when = given
        read, figures = figures_from_focus(path, loaded, when.to_pydatetime())
        costs = read.costs
        units = unit_costs_over_time(read.usage, loaded)
        unit_figures = focus_unit_costs(read.usage, loaded, when.to_pydatetime())
        origin = f"the FOCUS export `{read.path}` (SHA-256 {read.sha256[:16]}…)"
    else:
        raise ConfigError(f'source must be "prometheus-snapshots" or "focus-csv", not {source!r}')
    if loaded.cost_ladder is None:
        raise ConfigError("the matrix has no cost_ladder: the downshift tier is unknown")
    return Burn(
        source=source,
        matrix=loaded,
        costs=costs,
        at=when,
        figures=figures,
        explanation=explain(figures, loaded.cost_ladder),
        unit_costs=units,
        origin=origin,
        unit_figures=unit_figures,
    )


def movers_table(movers: pd.DataFrame, currency: str) -> pd.DataFrame:
    """:func:`top_movers` for people: money, the rise in percent, the period's date."""
    return pd.DataFrame(
        {
            "component": movers["component"].to_numpy(),
            "period": pd.DatetimeIndex(movers["period"]).strftime("%Y-%m-%d %H:%M UTC"),
            "spend": [money(v, currency) for v in movers["spend"]],
            "trailing mean": [money(v, currency) for v in movers["trailing_mean"]],
            "rise": [money(v, currency) for v in movers["change"]],
            "rise (share of mean)": [percent(v) for v in movers["change_share"]],
        }
    ).set_index("component")


def one_line_errors() -> None:
    """In a notebook, show an igkit error (a refused input: ConfigError, CostDataError, ...)
    as one line naming the file, field and cause instead of a traceback; the cell still
    fails, so papermill and nbmake still stop on it. Outside IPython this does nothing."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a notebook dependency
        return
    shell = get_ipython()
    if shell is None:
        return

    def _one_line(
        shell: Any, etype: type[BaseException], value: BaseException, tb: Any, tb_offset: Any = None
    ) -> list[str]:
        line = f"igkit: error: {' '.join(str(value).split())}"
        shell._showtraceback(etype, value, [line])
        return [line]

    shell.set_custom_exc((IgkitError,), _one_line)


def unit_cost_table(figures: Sequence[UnitCostFigure]) -> pd.DataFrame:
    """Each G6 unit-cost objective over the window the gate uses, from the FOCUS export: its
    value and limit in the matrix's unit, the status and why (one row per objective)."""
    rows = [
        {
            "objective": f.objective,
            "window (UTC)": f"{f.window_start:%Y-%m-%d %H:%M} – {f.window_end:%H:%M}",
            "unit cost": "—" if f.value is None else f"{f.value:.4g} {f.unit}",
            "limit": f"{f.threshold:g} {f.unit}",
            "status": f.status.value,
            "why": f.reason or "—",
        }
        for f in figures
    ]
    return pd.DataFrame(rows).set_index("objective") if rows else pd.DataFrame()
