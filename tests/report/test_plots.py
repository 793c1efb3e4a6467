"""Charts an auditor reads: legends per series, labelled thresholds, per-series breaches, y
limits that show the distance to the threshold, UTC axes, worst N of many series.

Checked with matplotlib's object API on the figure itself (no kernel, no browser); the frames
have the shape of :meth:`igkit.explore.Run.objective_frame`, and one test draws the demo run."""

from __future__ import annotations

import base64
import html
import io
import operator
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from matplotlib import image as mpimg
from matplotlib.colors import to_hex
from matplotlib.figure import Figure

from igkit.demo import demo_snapshot_dir, demo_trust_dir
from igkit.explore import FRAME_COLUMNS, load_run
from igkit.report.plots import (
    figure_img,
    figure_png,
    plot_gate,
    plot_objective,
    series_label,
)

START = datetime(2025, 6, 20, 13, 0, tzinfo=UTC)
STEPS = 61  # one hour at one minute
OPS = {"<=": operator.le, "<": operator.lt, ">=": operator.ge, ">": operator.gt}
DEFAULT_MATRIX = Path(__file__).resolve().parents[2] / "igkit" / "spec" / "default.yaml"


def objective_frame(
    values: Mapping[str, np.ndarray | float],
    *,
    threshold: float,
    comparison: str = "<=",
    unit: str = "ms",
    label: str = "tenant",
    status: str | None = None,
) -> pd.DataFrame:
    """A long frame as ``Run.objective_frame`` builds it: one series per key of ``values``
    (``{tenant="key"}``, or ``{}`` for the key ""), violating where the value misses."""
    times = pd.date_range(START, periods=STEPS, freq="60s", tz="UTC")
    parts, labels = [], {}
    for name, v in values.items():
        key = f'{{{label}="{name}"}}' if name else "{}"
        labels[key] = {label: name} if name else {}
        value = np.broadcast_to(np.asarray(v, dtype=np.float64), (STEPS,)).copy()
        present = ~np.isnan(value)
        with np.errstate(invalid="ignore"):
            ok = np.isfinite(value) & OPS[comparison](value, threshold)
        parts.append(
            pd.DataFrame(
                {
                    "time": times,
                    "series": key,
                    "value": value,
                    "threshold": threshold,
                    "unit": unit,
                    "present": present,
                    "violating": present & ~ok,
                },
                columns=FRAME_COLUMNS,
            )
        )
    frame = pd.concat(parts, ignore_index=True)
    failing = bool(frame["violating"].any())
    frame.attrs.update(
        gate="G1",
        objective="graphql_query_p95",
        comparison=comparison,
        unit=unit,
        threshold=threshold,
        window_start=START,
        window_end=START + timedelta(minutes=STEPS - 1),
        status=status or ("FAIL" if failing else "PASS"),
        labels=labels,
    )
    return frame


def legend_texts(fig: Figure) -> list[str]:
    legend = fig.axes[0].get_legend()
    assert legend is not None
    return [t.get_text() for t in legend.get_texts()]


def series_lines(fig: Figure) -> dict[str, str]:
    """Legend label -> colour of each drawn series line."""
    ax = fig.axes[0]
    return {
        line.get_label(): to_hex(line.get_color())
        for line in ax.get_lines()
        if not line.get_label().startswith(("_", "threshold", "and ")) and len(line.get_xdata()) > 0
    }


def spike(at: slice, base: float, peak: float) -> np.ndarray:
    v = np.full(STEPS, base)
    v[at] = peak
    return v


def test_one_legend_entry_per_series_named_by_its_labels() -> None:
    fig = plot_objective(
        objective_frame({"acme": 200.0, "globex": 210.0, "initech": 190.0}, threshold=350)
    )
    texts = legend_texts(fig)
    assert [t for t in texts if t.startswith("tenant=")] == [
        "tenant=acme",
        "tenant=globex",
        "tenant=initech",
    ]
    assert not any("{" in t or "}" in t for t in texts)
    assert len(set(series_lines(fig).values())) == 3  # one colour each
    alone = plot_objective(objective_frame({"": 9.0}, threshold=25))
    assert "(all)" in legend_texts(alone)
    assert not any("{}" in t for t in legend_texts(alone))


def test_series_label() -> None:
    assert series_label('{tenant="acme"}', {"tenant": "acme"}) == "tenant=acme"
    assert series_label("{}", {}) == "(all)"
    assert series_label("{}", None) == "(all)"
    assert series_label("x", {"__name__": "up", "job": "api"}) == "job=api"
    assert series_label("x", {"__name__": "up"}) == "up"
    assert series_label("month_to_date", None) == "month to date"


def test_legend_sits_outside_the_plot_area() -> None:
    fig = plot_objective(objective_frame({"acme": 200.0, "globex": 360.0}, threshold=350))
    fig.canvas.draw()
    ax = fig.axes[0]
    legend = ax.get_legend()
    assert legend is not None
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    box, area = legend.get_window_extent(renderer), ax.get_window_extent(renderer)
    assert box.x0 >= area.x1  # right of the axes: it covers no data
    assert box.x1 <= fig.bbox.x1 + 1  # and still on the figure


def test_threshold_line_is_labelled_with_value_and_unit() -> None:
    fig = plot_objective(objective_frame({"acme": 200.0}, threshold=350))
    ax = fig.axes[0]
    assert "threshold ≤ 350 ms" in legend_texts(fig)
    at_line = [t for t in ax.texts if t.get_text() == "threshold ≤ 350 ms"]
    assert len(at_line) == 1
    assert at_line[0].get_position()[1] == 350
    dashed = [ln for ln in ax.get_lines() if ln.get_label() == "threshold ≤ 350 ms"]
    assert list(dashed[0].get_ydata()) == [350, 350]
    pct = plot_objective(
        objective_frame({"acme": 99.99}, threshold=99.9, comparison=">=", unit="percent")
    )
    assert "threshold ≥ 99.9%" in legend_texts(pct)


def test_availability_near_100_is_zoomed_not_drawn_on_0_to_100() -> None:
    fig = plot_objective(
        objective_frame({"acme": 99.99}, threshold=99.9, comparison=">=", unit="percent")
    )
    ax = fig.axes[0]
    low, high = ax.get_ylim()
    assert low < 99.9 < 99.99 < high
    assert high - low < 0.5  # the 0.09 points between data and threshold fill the panel
    assert (99.99 - 99.9) / (high - low) > 0.5
    fig.canvas.draw()
    assert ax.yaxis.get_offset_text().get_text() == ""  # no "+9.99e1" offset
    ticks = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert ticks
    assert all(re.fullmatch(r"(99|100)\.\d\d", t) for t in ticks), ticks


def test_y_limits_hold_threshold_and_data_with_margin() -> None:
    fig = plot_objective(objective_frame({"acme": spike(slice(10, 12), 235, 656)}, threshold=350))
    low, high = fig.axes[0].get_ylim()
    assert low < 235
    assert high > 656
    assert low > 0  # a latency between 235 and 656 ms is not squashed onto a 0-based axis
    far = plot_objective(objective_frame({"acme": 0.0005}, threshold=0.1, unit="USD/1k"))
    low, high = far.axes[0].get_ylim()
    assert low <= 0.0005 < 0.1 < high
    assert low > -0.01  # zero stays just off the spine, no large negative range


def test_breaches_are_shaded_per_series_in_its_colour() -> None:
    frame = objective_frame(
        {
            "acme": 200.0,
            "globex": spike(slice(20, 25), 240, 656),
            "initech": spike(slice(40, 42), 250, 400),
        },
        threshold=350,
    )
    fig = plot_objective(frame)
    ax = fig.axes[0]
    colours = series_lines(fig)
    shades = {
        c.get_gid(): c for c in ax.collections if (c.get_gid() or "").startswith("violating:")
    }
    assert set(shades) == {"violating:tenant=globex", "violating:tenant=initech"}
    for gid, shade in shades.items():
        assert to_hex(shade.get_facecolor()[0], keep_alpha=False) == colours[gid.split(":", 1)[1]]
        assert len(shade.get_paths()) >= 1
    marks = {ln.get_gid(): ln for ln in ax.get_lines() if ln.get_gid()}
    assert len(marks["violating-points:tenant=globex"].get_xdata()) == 5
    assert len(marks["violating-points:tenant=initech"].get_xdata()) == 2
    assert "violating-points:tenant=acme" not in marks
    assert "violating steps" in legend_texts(fig)


def test_passing_chart_has_no_breach_marks() -> None:
    """Positive control of the shading test: nothing violates, nothing is shaded."""
    fig = plot_objective(objective_frame({"acme": 200.0, "globex": 340.0}, threshold=350))
    ax = fig.axes[0]
    assert not [c for c in ax.collections if (c.get_gid() or "").startswith("violating")]
    assert "violating steps" not in legend_texts(fig)
    assert "PASS" in ax.get_title()


def test_infinite_breach_is_marked_at_the_axis_edge() -> None:
    values = np.full(STEPS, 100.0)
    values[30] = np.inf
    fig = plot_objective(objective_frame({"acme": values}, threshold=350))
    marks = [ln for ln in fig.axes[0].get_lines() if ln.get_gid() == "violating-points:tenant=acme"]
    assert len(marks) == 1
    assert list(marks[0].get_ydata()) == [0.97]


def test_many_series_draw_the_worst_and_say_how_many_more_pass() -> None:
    values: dict[str, np.ndarray | float] = {f"t{i:02d}": 100.0 + i for i in range(12)}
    values["zz1"] = spike(slice(5, 8), 100, 500)  # failing, last by name
    values["zz2"] = spike(slice(30, 31), 100, 420)
    values["zz3"] = spike(slice(50, 60), 100, 360)
    fig = plot_objective(objective_frame(values, threshold=350))
    drawn = set(series_lines(fig))
    assert {"tenant=zz1", "tenant=zz2", "tenant=zz3"} <= drawn  # failing: always drawn
    assert len(drawn) == 8
    # the passing ones drawn are those closest to the threshold (t11 at 111 ms ... t07)
    assert drawn - {"tenant=zz1", "tenant=zz2", "tenant=zz3"} == {
        f"tenant=t{i:02d}" for i in range(7, 12)
    }
    assert "and 7 more passing" in legend_texts(fig)


def test_more_failing_series_than_the_legend_holds_are_all_drawn() -> None:
    values: dict[str, np.ndarray | float] = {f"bad{i:02d}": 400.0 + i for i in range(10)}
    values |= {f"ok{i}": 100.0 for i in range(3)}
    fig = plot_objective(objective_frame(values, threshold=350))
    drawn = set(series_lines(fig))
    assert drawn == {f"tenant=bad{i:02d}" for i in range(10)}
    assert "and 3 more passing" in legend_texts(fig)
    shaded = [c for c in fig.axes[0].collections if (c.get_gid() or "").startswith("violating:")]
    assert len(shaded) == 10


def test_eight_series_need_no_note() -> None:
    fig = plot_objective(objective_frame({f"t{i}": 100.0 for i in range(8)}, threshold=350))
    assert len(series_lines(fig)) == 8
    assert not any(t.startswith("and ") for t in legend_texts(fig))


def test_utc_time_axis_hh_mm_with_the_date_once() -> None:
    fig = plot_objective(objective_frame({"acme": 200.0}, threshold=350))
    ax = fig.axes[0]
    fig.canvas.draw()
    assert ax.get_xlabel() == "time (UTC), 2025-06-20"
    ticks = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert len(ticks) >= 3
    assert all(re.fullmatch(r"\d\d:\d\d", t) for t in ticks), ticks
    assert ticks[0] == "13:00"
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    for label in [*ax.get_xticklabels(), ax.xaxis.label, ax.yaxis.label]:
        box = label.get_window_extent(renderer)
        assert box.y0 >= 0  # nothing clipped
        assert box.x0 >= 0
        assert box.x1 <= fig.bbox.x1


def test_readable_at_a4_print_size() -> None:
    fig = plot_objective(objective_frame({"acme": 200.0, "globex": 400.0}, threshold=350))
    fig.canvas.draw()
    assert 9.5 <= fig.get_figwidth() <= 10.5
    assert 100 <= fig.dpi <= 120
    texts = [t for t in fig.findobj(match=lambda a: hasattr(a, "get_fontsize")) if t.get_text()]  # type: ignore[attr-defined]
    assert texts
    assert min(t.get_fontsize() for t in texts) >= 8


def test_figure_img_is_an_escaped_inline_png() -> None:
    fig = plot_objective(objective_frame({"acme": 200.0}, threshold=350))
    alt = 'G1 p95 <script>alert("x")</script> & more'
    tag = figure_img(fig, alt)
    assert tag.startswith("<img ")
    assert f'alt="{html.escape(alt, quote=True)}"' in tag
    assert "<script>" not in tag
    src = re.search(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', tag)
    assert src is not None
    png = base64.b64decode(src.group(1))
    image = mpimg.imread(io.BytesIO(png), format="png")
    assert image.shape[:2] == (round(fig.bbox.height), round(fig.bbox.width))


@pytest.mark.property
@given(
    data=st.lists(
        st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False),
        min_size=1,
        max_size=5,
    ),
    threshold=st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
    comparison=st.sampled_from(["<=", "<", ">=", ">"]),
)
def test_y_limits_always_hold_data_and_threshold(
    data: list[float], threshold: float, comparison: str
) -> None:
    fig = plot_objective(
        objective_frame(
            {f"s{i}": v for i, v in enumerate(data)}, threshold=threshold, comparison=comparison
        )
    )
    low, high = fig.axes[0].get_ylim()
    assert low < high
    for v in [*data, threshold]:
        assert low <= v <= high


def test_demo_run_failing_gate_chart(tmp_path: Path) -> None:
    """The demo sample judged with a G1 query target of 200 ms: every tenant (235 ms) fails."""
    text = DEFAULT_MATRIX.read_text(encoding="utf-8")
    # the query p95 comes first; the second is the reported-only p99's reference line
    assert text.count("threshold: {value: 350, unit: ms}") == 2
    matrix = tmp_path / "strict.yaml"
    matrix.write_text(
        text.replace("threshold: {value: 350, unit: ms}", "threshold: {value: 200, unit: ms}", 1)
    )
    run = load_run(demo_snapshot_dir(), matrix, demo_trust_dir())
    fig = plot_gate(run, "G1")
    assert fig is not None
    query, availability = fig.axes[0], fig.axes[-1]  # G1's first and last objectives
    assert "FAIL" in query.get_title()
    texts = [t.get_text() for t in query.get_legend().get_texts()]
    assert texts[:3] == ["tenant=acme", "tenant=globex", "tenant=initech"]
    assert "threshold ≤ 200 ms" in texts
    shaded = {
        c.get_gid() for c in query.collections if (c.get_gid() or "").startswith("violating:")
    }
    assert shaded == {
        "violating:tenant=acme",
        "violating:tenant=globex",
        "violating:tenant=initech",
    }
    low, high = availability.get_ylim()
    assert 99 < low < 99.9  # 99.99% vs 99.9% visibly apart
    assert 99.99 < high < 100.1
    assert figure_png(fig).startswith(b"\x89PNG")


def test_long_label_sets_wrap_in_the_legend_never_cut() -> None:
    frame = objective_frame({"acme": 200.0}, threshold=350)
    full = {"tenant": "acme", "region": "eu-west-1", "pod": "graphql-7d9f8c6b5-x2x9k"}
    frame.attrs["labels"] = {'{tenant="acme"}': full}
    fig = plot_objective(frame)
    (entry,) = [t for t in legend_texts(fig) if t.startswith("tenant=")]
    assert "\n" in entry
    assert entry.replace("\n", " ") == "tenant=acme, region=eu-west-1, pod=graphql-7d9f8c6b5-x2x9k"
    fig.canvas.draw()
    assert fig.axes[0].get_window_extent().width > 0.6 * fig.bbox.width  # the plot keeps its width
