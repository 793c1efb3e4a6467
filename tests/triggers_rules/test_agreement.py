"""Prometheus's rule evaluation (``promtool test rules`` on the generated rules file) and igkit's
evaluation of the same trigger condition agree on the firing instant, on every scenario.

Both sides read the very same samples (:mod:`tests.triggers_rules.scenarios`): promtool as
``input_series`` of a generated unit-test file, igkit through a real Prometheus serving those
samples backfilled into a TSDB (range query of the trigger's condition at its step, then the
alerting semantics: FIRED at the first step at which the condition held at every step of the
preceding ``for``). A scenario that stays just below its trigger must stay silent on both sides.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
import requests

from igkit.spec.loader import load_matrix
from igkit.spec.triggers import TriggerCondition
from igkit.strictdoc import load_yaml
from igkit.triggers_rules import (
    AlertCheck,
    InputSeries,
    alert_name,
    dump_yaml,
    unit_test_document,
    write_rules,
)
from tests.support.prometheus import PrometheusServer, _backfill, find_binary
from tests.triggers_rules.scenarios import SCENARIOS, RuleScenario, base_of, write_openmetrics

pytestmark = pytest.mark.prometheus

MATRIX = load_matrix(None).matrix
TRIGGERS = {t.id: t for t in MATRIX.triggers}
WINDOW = timedelta(hours=3)
"""igkit judges (and promtool is checked over) the scenario's last three hours."""


def _condition(s: RuleScenario) -> tuple[TriggerCondition, str, timedelta]:
    trigger = TRIGGERS[s.trigger]
    conds = trigger.conditions()
    (cond,) = [c for c in conds if c.name == s.condition]
    alert = alert_name(trigger.id, cond.name if len(conds) > 1 else None)
    return cond, alert, trigger.step


@pytest.fixture(scope="module")
def server() -> Iterator[PrometheusServer]:
    """A real Prometheus over a TSDB holding every scenario at its own base time."""
    promtool = find_binary("promtool")
    root = Path(tempfile.mkdtemp(prefix="igkit-rules-tsdb-"))
    try:
        data = root / "data"
        data.mkdir()
        for i, s in enumerate(SCENARIOS):
            om = root / f"{i}.om"
            write_openmetrics(s, base_of(i), om)
            _backfill(promtool, om, data)
        with PrometheusServer(tsdb=data) as srv:
            yield srv
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def rules_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The generated rules file, minus annotations (promtool compares them verbatim, and they
    quote ``$value``; the agreement is about ``expr``, ``for`` and labels, kept as written)."""
    path = tmp_path_factory.mktemp("rules") / "rules.yml"
    write_rules(path, MATRIX.triggers)
    doc = load_yaml(path.read_bytes(), where=str(path))
    for group in doc["groups"]:
        for rule in group["rules"]:
            del rule["annotations"]
    path.write_text(dump_yaml(doc))
    return path


def _window(s: RuleScenario, step: timedelta) -> tuple[int, int]:
    """Relative start/end (seconds) of the judged window, on the evaluation grid."""
    end = s.duration - s.duration % int(step.total_seconds())
    return max(0, end - int(WINDOW.total_seconds())), end


def igkit_fired_at(srv: PrometheusServer, s: RuleScenario, base: int) -> int | None:
    """Seconds after the scenario start at which igkit's evaluation fires (None: quiet)."""
    cond, _alert, step = _condition(s)
    sec = int(step.total_seconds())
    lo, hi = _window(s, step)
    resp = requests.get(
        f"{srv.url}/api/v1/query_range",
        params={"query": cond.value, "start": base + lo, "end": base + hi, "step": sec},
        timeout=30,
    )
    resp.raise_for_status()
    grid = np.arange(lo, hi + 1, sec)
    fired: list[int] = []
    for series in resp.json()["data"]["result"]:
        held = np.zeros(grid.size, dtype=bool)
        for t, v in series["values"]:
            value = float(v)
            if not np.isnan(value) and cond.holds(value):
                held[(round(float(t)) - base - lo) // sec] = True
        # consecutive steps held up to each instant (a gap resets the sustain clock)
        idx = np.arange(grid.size)
        last_false = np.maximum.accumulate(np.where(held, -1, idx))
        run = idx - last_false  # number of held steps ending here
        ok = held & ((run - 1) * sec >= cond.for_.total_seconds())
        if ok.any():
            fired.append(int(grid[np.argmax(ok)]))
    return min(fired) if fired else None


def _promtool(rules: Path, s: RuleScenario, checks: list[AlertCheck], tmp: Path) -> str:
    _cond, _alert, step = _condition(s)
    series = [InputSeries(sel, values) for sel, values in s.series.items()]
    doc = unit_test_document(
        [str(rules)], step, [(timedelta(seconds=s.interval), series, checks)]
    )
    test_file = tmp / f"{s.name}.test.yml"
    test_file.write_text(dump_yaml(doc))
    proc = subprocess.run(
        [find_binary("promtool"), "test", "rules", str(test_file)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return "" if proc.returncode == 0 else proc.stdout + proc.stderr


def _labels(s: RuleScenario) -> dict[str, str]:
    cond, alert, _step = _condition(s)
    return {
        "severity": "critical",
        "trigger": s.trigger,
        "condition": cond.name,
        "igkit": "auto-rollback",
        **s.labels,
    }


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_promtool_and_igkit_agree(
    scenario: RuleScenario, server: PrometheusServer, rules_file: Path, tmp_path: Path
) -> None:
    index = SCENARIOS.index(scenario)
    _cond, alert, step = _condition(scenario)
    sec = int(step.total_seconds())
    fired = igkit_fired_at(server, scenario, base_of(index))
    assert (fired is not None) == scenario.fires, f"igkit: fired at {fired}"
    if fired is None:
        lo, hi = _window(scenario, step)
        silent = [AlertCheck(timedelta(seconds=t), alert) for t in range(lo, hi + 1, sec)]
        failure = _promtool(rules_file, scenario, silent, tmp_path)
        assert failure == "", f"Prometheus fired where igkit stayed quiet:\n{failure}"
        return
    labels = _labels(scenario)
    attempts = []
    for shift in (0, -1, 1):  # agreement within one evaluation step
        at = fired + shift * sec
        checks = [
            AlertCheck(timedelta(seconds=at - sec), alert),
            AlertCheck(timedelta(seconds=at), alert, [labels]),
        ]
        failure = _promtool(rules_file, scenario, checks, tmp_path)
        if not failure:
            assert shift == 0 or abs(shift) == 1
            return
        attempts.append(f"shift {shift:+d}: {failure}")
    pytest.fail(f"igkit fired at +{fired}s; Prometheus disagrees:\n" + "\n".join(attempts))
