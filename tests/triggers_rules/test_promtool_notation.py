"""The promtool unit-test writer, checked by promtool itself (no matrix involved).

A hand-written rule with a known sustain is run through ``promtool test rules`` on input
series written by :func:`igkit.triggers_rules.expanding`: if the notation were off by one
sample, the alert would fire one interval early or late and promtool would fail the test.
"""

from __future__ import annotations

import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from igkit.triggers_rules import (
    AlertCheck,
    AlertRule,
    InputSeries,
    dump_yaml,
    expanding,
    unit_test_document,
)

PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool not installed")
STEP = timedelta(seconds=30)


def _decode(text: str) -> list[float | None]:
    """promtool's expanding notation, read back (the subset :func:`expanding` writes)."""
    out: list[float | None] = []
    for item in text.split():
        if item.startswith("_"):
            out.extend([None] * (int(item[2:]) if "x" in item else 1))
            continue
        if "x" not in item:
            out.append(float(item))
            continue
        head, n = item.rsplit("x", 1)
        sign_at = max(head.rfind("+"), head.rfind("-"))
        if sign_at <= 0:
            start, step = float(head), 0.0
        else:
            start, step = float(head[:sign_at]), float(head[sign_at:])
        acc = start
        out.append(acc)
        for _ in range(int(n)):
            acc += step
            out.append(acc)
    return out


def test_expanding_folds_runs_and_gaps() -> None:
    assert expanding([1, 3, 5, 7]) == "1+2x3"
    assert expanding([4, 4, 4]) == "4x2"
    assert expanding([10, 8, 6, None, None, 6]) == "10-2x2 _x2 6"
    assert expanding([0.1, 0.2, 0.30000000000000004]) == "0.1+0.1x2"
    assert expanding([None]) == "_"


def test_expanding_refuses_non_finite() -> None:
    with pytest.raises(ValueError, match="non-finite"):
        expanding([1.0, float("nan")])


@pytest.mark.property
@given(
    st.lists(
        st.one_of(st.none(), st.integers(-1000, 1000).map(float), st.floats(-1e6, 1e6)),
        max_size=40,
    )
)
def test_expanding_round_trips(values: list[float | None]) -> None:
    assert _decode(expanding(values)) == values


def _run_promtool(tmp_path: Path, rule: AlertRule, doc: dict[str, object]) -> str:
    assert PROMTOOL is not None
    (tmp_path / "rules.yml").write_text(
        dump_yaml({"groups": [{"name": "g", "rules": [rule.as_dict()]}]})
    )
    (tmp_path / "tests.yml").write_text(dump_yaml(doc))
    proc = subprocess.run(
        [PROMTOOL, "test", "rules", "tests.yml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return proc.stdout + proc.stderr if proc.returncode else ""


def _sustain_doc(true_from: int, checks: list[AlertCheck]) -> dict[str, object]:
    values: list[float | None] = [0.0] * true_from + [1.0] * 40
    return unit_test_document(
        ["rules.yml"], STEP, [(STEP, [InputSeries('cond{job="t"}', values)], checks)]
    )


@needs_promtool
def test_promtool_agrees_with_the_written_samples(tmp_path: Path) -> None:
    rule = AlertRule("T", "cond > 0", timedelta(minutes=10), {"severity": "x"}, {})
    labels = {"alertname": "T", "job": "t", "severity": "x"}
    # true from sample 4 (2m): pending at 2m, firing once held 10m, i.e. at 12m, not at 11m30s
    checks = [
        AlertCheck(timedelta(minutes=11, seconds=30), "T"),
        AlertCheck(timedelta(minutes=12), "T", [labels]),
    ]
    assert _run_promtool(tmp_path, rule, _sustain_doc(4, checks)) == ""
    # negative control: claiming it fires one step early must fail
    early = [AlertCheck(timedelta(minutes=11, seconds=30), "T", [labels])]
    assert "FAILED" in _run_promtool(tmp_path, rule, _sustain_doc(4, early))
