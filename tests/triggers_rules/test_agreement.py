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
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from igkit.judge.triggers import ConditionVerdict, TriggerStatus
from igkit.sources.prometheus import PrometheusSource
from igkit.spec.loader import load_matrix
from igkit.spec.triggers import TriggerCondition
from igkit.strictdoc import load_yaml
from igkit.triggers import evaluate_triggers
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

LOADED = load_matrix(None)
MATRIX = LOADED.matrix
TRIGGERS = {t.id: t for t in MATRIX.triggers}
WINDOW = timedelta(hours=3)
"""igkit judges (and promtool is checked over) the scenario's last three hours."""


def _condition(s: RuleScenario) -> tuple[TriggerCondition, str, timedelta]:
    trigger = TRIGGERS[s.trigger]
    conds = trigger.conditions()
    (cond,) = [c for c in conds if c.name == s.condition]
    alert = alert_name(trigger.id, cond.name if len(conds) > 1 else None)
    return cond, alert, trigger.step


ServerFor = Callable[[RuleScenario], tuple[PrometheusServer, int]]


@pytest.fixture(scope="module")
def servers() -> Iterator[ServerFor]:
    """A real Prometheus per scenario group (fast ones; the week-long cost ones), started on
    first use over a TSDB holding each scenario of the group at its own base time."""
    started: dict[bool, PrometheusServer] = {}
    roots: list[Path] = []

    def server_for(s: RuleScenario) -> tuple[PrometheusServer, int]:
        slow = s.trigger == "cost_spike"
        if slow not in started:
            promtool = find_binary("promtool")
            root = Path(tempfile.mkdtemp(prefix="igkit-rules-tsdb-"))
            roots.append(root)
            data = root / "data"
            data.mkdir()
            for i, other in enumerate(SCENARIOS):
                if (other.trigger == "cost_spike") == slow:
                    om = root / f"{i}.om"
                    write_openmetrics(other, base_of(i), om)
                    _backfill(promtool, om, data)
            started[slow] = PrometheusServer(tsdb=data).start()
        return started[slow], base_of(SCENARIOS.index(s))

    try:
        yield server_for
    finally:
        for srv in started.values():
            srv.stop()
        for root in roots:
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


def _end(s: RuleScenario) -> int:
    """Seconds from the scenario start to igkit's evaluation time (on the step grid)."""
    _cond, _alert, step = _condition(s)
    return s.duration - s.duration % int(step.total_seconds())


def _lookback(s: RuleScenario) -> timedelta:
    """The judged lookback: up to three hours, ending at the last sample, starting once the
    condition has data for the whole ``for`` before it (igkit reads ``lookback + for``)."""
    cond, _alert, step = _condition(s)
    sec = int(step.total_seconds())
    room = s.duration - int(cond.for_.total_seconds()) - 2 * s.interval
    return timedelta(seconds=min(int(WINDOW.total_seconds()), room - room % sec))


def igkit_verdict(srv: PrometheusServer, s: RuleScenario, base: int) -> ConditionVerdict:
    """igkit's own evaluation (capture through the source registry + the trigger judge)."""
    cond, _alert, _step = _condition(s)
    at = datetime.fromtimestamp(base + _end(s), tz=UTC)
    run, _snaps = evaluate_triggers(
        LOADED, PrometheusSource(srv.url), at, _lookback(s), trigger_ids=[s.trigger]
    )
    (verdict,) = run.verdicts
    (result,) = [c for c in verdict.conditions if c.name == cond.name]
    return result


def _held_seconds(srv: PrometheusServer, s: RuleScenario, base: int) -> int:
    """How long Prometheus's own evaluation of the condition ``expr`` reads true (first to
    last true step; each scenario has one episode)."""
    import requests

    cond, _alert, step = _condition(s)
    sec = int(step.total_seconds())
    end = base + _end(s)
    resp = requests.get(
        f"{srv.url}/api/v1/query_range",
        params={"query": cond.expr, "start": end - 3 * 3600, "end": end, "step": sec},
        timeout=30,
    )
    resp.raise_for_status()
    points = sorted({t for series in resp.json()["data"]["result"] for t, _v in series["values"]})
    return round(points[-1] - points[0]) if points else 0


def _promtool(rules: Path, s: RuleScenario, checks: list[AlertCheck], tmp: Path) -> str:
    _cond, _alert, step = _condition(s)
    series = [InputSeries(sel, values) for sel, values in s.series.items()]
    doc = unit_test_document([str(rules)], step, [(timedelta(seconds=s.interval), series, checks)])
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
    cond, _alert, _step = _condition(s)
    return {
        "severity": "critical",
        "trigger": s.trigger,
        "condition": cond.name,
        "igkit": "auto-rollback",
        **s.labels,
    }


def _marks(s: RuleScenario) -> pytest.MarkDecorator | tuple[()]:
    """Cost scenarios hold a week of history: promtool evaluates the 7-day rate 20,000 times."""
    return pytest.mark.slow if s.trigger == "cost_spike" else ()


@pytest.mark.parametrize(
    "scenario", [pytest.param(s, id=s.name, marks=_marks(s)) for s in SCENARIOS]
)
def test_promtool_and_igkit_agree(
    scenario: RuleScenario, servers: ServerFor, rules_file: Path, tmp_path: Path
) -> None:
    _cond, alert, step = _condition(scenario)
    sec = int(step.total_seconds())
    base = servers(scenario)
    held = _held_seconds(base[0], scenario, base[1])
    assert abs(held - scenario.held_min * 60) <= 60, f"condition true for {held}s"
    verdict = igkit_verdict(base[0], scenario, base[1])
    expected = TriggerStatus.FIRED if scenario.fires else TriggerStatus.QUIET
    assert verdict.status is expected, verdict.reason
    if verdict.fired_at is None:
        end = _end(scenario)
        lo = end - int(_lookback(scenario).total_seconds())
        silent = [AlertCheck(timedelta(seconds=t), alert) for t in range(lo, end + 1, sec)]
        failure = _promtool(rules_file, scenario, silent, tmp_path)
        assert failure == "", f"Prometheus fired where igkit stayed quiet:\n{failure}"
        return
    fired = round(verdict.fired_at.timestamp()) - base[1]
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
            print(f"{scenario.name}: igkit fired at +{fired}s, Prometheus shift {shift:+d} step")
            return
        attempts.append(f"shift {shift:+d}: {failure}")
    pytest.fail(
        f"igkit fired at +{fired}s ({verdict.reason}); Prometheus disagrees:\n"
        + "\n".join(attempts)
    )
