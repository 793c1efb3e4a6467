"""The vectorised judging core gives exactly what a per-series reference gives: every status,
every figure and every reason, on random wide frames with gaps, staleness, ±Inf and
violations, for every rule kind and comparison."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from igkit.judge.rules import judge_steps
from igkit.spec.models import (
    Aggregate,
    AllSteps,
    Comparison,
    FractionOfSteps,
    Threshold,
)
from igkit.units import Unit
from igkit.verdicts import Status
from tests.judge.reference_rules import reference_judge_steps
from tests.test_rules import AT, SETTINGS, STEP

THRESHOLD = Threshold(value=350, unit=Unit.MS)
WINDOW = timedelta(minutes=30)
RULES = [
    AllSteps(kind="all_steps", window=WINDOW),
    AllSteps(kind="all_steps", window=WINDOW, min_consecutive=3),
    FractionOfSteps(kind="fraction_of_steps", window=WINDOW, min_fraction=0.95),
    FractionOfSteps(kind="fraction_of_steps", window=WINDOW, min_fraction=0.5),
    *(
        Aggregate(kind="aggregate", window=WINDOW, function=f)
        for f in ("mean", "median", "max", "min", "last")
    ),
]


@st.composite
def frames(draw: st.DrawFn) -> tuple[pd.DataFrame, dict[str, dict[str, str]]]:
    """A (steps, series) frame: values around the threshold, runs of NaN (gaps, stale ends,
    empty series), ±Inf and, now and then, a whole series missing or a lagging end."""
    n = draw(st.integers(min_value=1, max_value=130))
    k = draw(st.integers(min_value=1, max_value=7))
    seed = draw(st.integers(min_value=0, max_value=2**32 - 1))
    rng = np.random.default_rng(seed)
    values = rng.choice([0.2, 0.349, 0.35, 0.351, 0.5], size=(n, k)) + rng.normal(0, 0.01, (n, k))
    values[rng.random((n, k)) < draw(st.sampled_from([0.0, 0.02, 0.2]))] = np.nan
    for j in range(k):
        kind = rng.integers(0, 6)
        if kind == 0:  # a long hole
            a = rng.integers(0, n)
            values[a : a + rng.integers(1, 40), j] = np.nan
        elif kind == 1:  # stale: the newest steps missing
            values[n - rng.integers(1, 20) :, j] = np.nan
        elif kind == 2:
            values[:, j] = np.nan
        elif kind == 3:
            values[rng.integers(0, n), j] = rng.choice([np.inf, -np.inf])
        elif kind == 4:  # exactly repeated values (ties for worst, runs)
            values[:, j] = np.round(values[:, j], 1)
    start = AT.timestamp() - (n - 1) * STEP - draw(st.sampled_from([0, 0, 150]))
    index = pd.Index(np.round((start + np.arange(n) * STEP) * 1000).astype(np.int64))
    names = [f"s{j}" for j in range(k)]
    labels = {c: {"tenant": f"t{j}", "__name__": "x"} for j, c in enumerate(names)}
    return pd.DataFrame(values, index=index, columns=names), labels


@pytest.mark.property
@settings(deadline=None)
@given(
    frames(),
    st.sampled_from(RULES),
    st.sampled_from(list(Comparison)),
)
def test_property_vectorised_equals_per_series_reference(
    data: tuple[pd.DataFrame, dict[str, dict[str, str]]], rule: object, comparison: Comparison
) -> None:
    frame, labels = data
    kwargs = {
        "comparison": comparison,
        "threshold": THRESHOLD,
        "rule": rule,
        "settings": SETTINGS,
        "at": AT,
        "what": "G1 p95",
    }
    fast = judge_steps(frame, labels, **kwargs)  # type: ignore[arg-type]
    with np.errstate(invalid="ignore"):  # the reference's quantile of ±Inf warns
        slow = reference_judge_steps(frame, labels, **kwargs)  # type: ignore[arg-type]
    # repr: NaN observations compare equal, and floats must match to the last digit
    assert [repr(v) for v in fast.series] == [repr(v) for v in slow.series]
    assert repr(fast) == repr(slow)


def test_vectorised_core_sees_each_status() -> None:
    """Positive control for the property: the random frames reach PASS, FAIL and NO_DATA,
    and a frame of many series is judged alike one series at a time."""
    rng = np.random.default_rng(1)
    n, k = 121, 300
    values = np.full((n, k), 0.2) + rng.normal(0, 0.01, (n, k))
    values[50:60, 1] = 0.5  # FAIL
    values[-20:, 2] = np.nan  # stale: NO_DATA
    index = pd.Index(np.round((AT.timestamp() - np.arange(n)[::-1] * STEP) * 1000).astype(int))
    names = [f"s{j}" for j in range(k)]
    frame = pd.DataFrame(values, index=index, columns=names)
    labels = {c: {"tenant": c} for c in names}
    kwargs = {
        "comparison": Comparison.LE,
        "threshold": THRESHOLD,
        "rule": RULES[0],
        "settings": SETTINGS,
        "at": AT,
        "what": "G1 p95",
    }
    judged = judge_steps(frame, labels, **kwargs)  # type: ignore[arg-type]
    assert [v.status for v in judged.series[:4]] == [
        Status.PASS,
        Status.FAIL,
        Status.NO_DATA,
        Status.PASS,
    ]
    one_by_one = [judge_steps(frame[[c]], labels, **kwargs).series[0] for c in names[:4]]  # type: ignore[arg-type]
    assert judged.series[:4] == one_by_one
