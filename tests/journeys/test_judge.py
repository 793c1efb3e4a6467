"""The journeys judge on a real k6 summary (tests/fixtures/journeys/summary-healthy.json, k6
v1.1.0 running the shipped script against the loopback service) and on hostile twins of it:
every damaged shape is ERROR naming the key, every thin one NO_DATA naming the step, and the
honest file PASSes (the positive control of each)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from igkit.journeys.judge import judge_journeys, judge_step
from igkit.journeys.models import StepFigures, StepVerdict
from igkit.journeys.run import JourneysRequest, K6Run, journeys_objective, seal, snapshot_of
from igkit.spec.loader import load_matrix
from igkit.spec.models import JourneyStep
from igkit.verdicts import ObjectiveVerdict, Status
from tests.journeys.support import journeys_matrix

HEALTHY = Path(__file__).resolve().parents[1] / "fixtures" / "journeys" / "summary-healthy.json"
AT = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
STEPS = ("login", "query", "write", "traverse")


def judged(
    tmp_path: Path,
    summary: bytes | None,
    *,
    problem: str | None = None,
    **matrix: Any,
) -> tuple[ObjectiveVerdict, dict[str, StepVerdict]]:
    loaded = load_matrix(journeys_matrix(tmp_path / "matrix.json", **matrix))
    gate, obj = journeys_objective(loaded, None)
    run = K6Run(exit_code=0, log="", summary=summary, points=None, problem=problem)
    request = JourneysRequest("http://127.0.0.1:1", tmp_path / "out")
    snap = seal(snapshot_of("JRN/x", obj, request, request.base_url, run, AT))
    snap.verify()
    verdict, steps = judge_journeys(gate.id, obj, snap)
    return verdict, {s.name: s for s in steps}


def edited(change: Callable[[dict[str, Any]], None]) -> bytes:
    doc = json.loads(HEALTHY.read_bytes())
    change(doc)
    return json.dumps(doc).encode()


def test_the_recorded_healthy_summary_passes(tmp_path: Path) -> None:
    verdict, steps = judged(tmp_path, HEALTHY.read_bytes())
    assert verdict.status is Status.PASS
    assert list(steps) == list(STEPS)
    assert all(s.status is Status.PASS and s.requests == 4 for s in steps.values())
    assert verdict.reasons[0] == "JRN synthetic_journeys: all 4 steps PASS"
    assert verdict.snapshots


def _metric(doc: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = doc["metrics"][name]["values"]
    return found


HOSTILE: dict[str, tuple[bytes, str]] = {
    "duplicate key": (
        HEALTHY.read_bytes().replace(b'{"root_group":{', b'{"root_group":{"id":"x",', 1),
        "duplicate",
    ),
    "NaN p95": (
        json.dumps(
            json.loads(HEALTHY.read_bytes())
            | {"metrics": {"http_req_duration{step:query}": {"values": {"p(95)": float("nan")}}}}
        ).encode(),
        "NaN",
    ),
    "string count": (
        edited(lambda d: _metric(d, "http_reqs{step:login}").update(count="4")),
        "expected a number",
    ),
    "fractional count": (
        edited(lambda d: _metric(d, "http_reqs{step:login}").update(count=4.5)),
        "not a whole count",
    ),
    "check listed twice": (
        edited(lambda d: d["root_group"]["checks"].append(d["root_group"]["checks"][0])),
        "listed twice",
    ),
    "checks disagree": (
        edited(lambda d: d["root_group"]["checks"][2].update(fails=3)),
        "disagrees",
    ),
    "top level list": (b"[]", "not a k6 summary"),
    "cut short": (HEALTHY.read_bytes()[:-40], "invalid JSON"),
    "legacy export": (
        json.dumps({"metrics": {"http_reqs": {"count": 4, "rate": 1.0}}}).encode(),
        "handleSummary",
    ),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_summaries_are_error_naming_the_problem(tmp_path: Path, case: str) -> None:
    raw, words = HOSTILE[case]
    verdict, steps = judged(tmp_path, raw)
    assert verdict.status is Status.ERROR, verdict.reasons
    assert steps == {}
    assert len(verdict.reasons) == 1
    assert "unreadable k6 summary" in verdict.reasons[0]
    assert words.lower() in verdict.reasons[0].lower()


def test_no_summary_or_a_failed_k6_is_error(tmp_path: Path) -> None:
    verdict, _ = judged(tmp_path, None)
    assert verdict.status is Status.ERROR
    assert "k6 wrote no summary" in verdict.reasons[0]
    verdict, _ = judged(tmp_path, HEALTHY.read_bytes(), problem="k6 exited 107: script error")
    assert verdict.status is Status.ERROR  # even beside a summary that would pass
    assert "k6 exited 107" in verdict.reasons[0]


def test_a_missing_step_is_no_data_naming_it(tmp_path: Path) -> None:
    def drop(doc: dict[str, Any]) -> None:
        for key in [k for k in doc["metrics"] if k.endswith("{step:traverse}")]:
            del doc["metrics"][key]
        doc["root_group"]["checks"] = [
            c for c in doc["root_group"]["checks"] if not c["name"].startswith("traverse:")
        ]

    verdict, steps = judged(tmp_path, edited(drop))
    assert verdict.status is Status.NO_DATA
    assert steps["traverse"].status is Status.NO_DATA
    assert verdict.reasons == [
        "JRN synthetic_journeys: step traverse: no requests in the k6 summary"
    ]
    assert {steps[n].status for n in STEPS[:3]} == {Status.PASS}


def test_too_few_iterations_is_no_data(tmp_path: Path) -> None:
    verdict, steps = judged(tmp_path, HEALTHY.read_bytes(), min_iterations=5)
    assert verdict.status is Status.NO_DATA
    assert "step login: 4 requests, fewer than min_iterations 5" in steps["login"].reasons


def test_failed_checks_and_slow_p95_fail_with_figures(tmp_path: Path) -> None:
    def break_write(doc: dict[str, Any]) -> None:
        _metric(doc, "checks{step:write}").update(passes=6, fails=2)
        for c in doc["root_group"]["checks"]:
            if c["name"] == "write: status 200":
                c.update(passes=2, fails=2)

    verdict, steps = judged(tmp_path, edited(break_write))
    assert verdict.status is Status.FAIL
    assert steps["write"].reasons == [
        "step write: 2 of 8 checks failed ('write: status 200' failed 2)"
    ]
    verdict, steps = judged(tmp_path, HEALTHY.read_bytes(), threshold_ms=5)
    assert verdict.status is Status.FAIL
    p95 = steps["query"].p95_ms
    assert p95 is not None
    assert steps["query"].reasons == [f"step query: p95 {p95:.0f} ms > 5 ms"]
    assert verdict.observed is not None
    assert verdict.unit == "ms"


def test_go_no_go_has_no_journeys_run_so_it_is_no_data(tmp_path: Path) -> None:
    loaded = load_matrix(journeys_matrix(tmp_path / "matrix.json"))
    gate, obj = journeys_objective(loaded, None)
    verdict, steps = judge_journeys(gate.id, obj, None)
    assert (verdict.status, steps) == (Status.NO_DATA, [])


STEP = JourneyStep.model_validate(
    {
        "name": "query",
        "method": "POST",
        "path": "/graphql",
        "expect_status": 200,
        "p95": {"value": 350, "unit": "ms"},
    }
)
counts = st.one_of(st.none(), st.integers(min_value=0, max_value=10_000))


@pytest.mark.property
@given(
    requests=counts,
    passed=counts,
    failed=counts,
    p95=st.one_of(st.none(), st.floats(min_value=0, max_value=10_000, allow_nan=False)),
    min_iterations=st.integers(min_value=1, max_value=50),
)
def test_a_step_passes_only_when_every_condition_holds(
    requests: int | None,
    passed: int | None,
    failed: int | None,
    p95: float | None,
    min_iterations: int,
) -> None:
    figures = StepFigures(
        name="query", requests=requests, p95_ms=p95, checks_passed=passed, checks_failed=failed
    )
    verdict = judge_step(STEP, figures, min_iterations)
    healthy = (
        requests is not None
        and requests >= min_iterations
        and passed is not None
        and passed > 0
        and failed == 0
        and p95 is not None
        and p95 <= 350
    )
    assert (verdict.status is Status.PASS) == healthy
    if failed or (p95 is not None and p95 > 350):
        assert verdict.status is Status.FAIL
    assert verdict.reasons
    assert all(r.startswith("step query: ") for r in verdict.reasons)


step_figures = st.tuples(
    st.integers(min_value=0, max_value=10_000),
    st.integers(min_value=0, max_value=10_000),
    st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False),
)


@pytest.mark.property
@given(figures=st.lists(step_figures, min_size=4, max_size=4))
def test_summary_figures_round_trip_into_the_verdict(
    figures: list[tuple[int, int, float]],
) -> None:
    """Whatever counts and p95s k6 reports, igkit reads exactly them, and the objective is the
    worst of the steps' verdicts: the reader drops nothing a verdict depends on."""
    from igkit.journeys.figures import read_figures

    doc = json.loads(HEALTHY.read_bytes())
    for name, (passes, fails, p95) in zip(STEPS, figures, strict=True):
        _metric(doc, f"checks{{step:{name}}}").update(passes=passes, fails=fails)
        _metric(doc, f"http_req_duration{{step:{name}}}")["p(95)"] = p95
        mine = [c for c in doc["root_group"]["checks"] if c["name"].startswith(f"{name}:")]
        for i, check in enumerate(mine):  # the first check carries all, as the totals say
            check.update(passes=passes if i == 0 else 0, fails=fails if i == 0 else 0)
    read = read_figures(json.dumps(doc).encode(), Path("summary.json"), list(STEPS))
    assert [(f.checks_passed, f.checks_failed, f.p95_ms) for f in read] == figures
    assert all(f.requests == 4 for f in read)
    verdicts = [judge_step(STEP.model_copy(update={"name": f.name}), f, 1) for f in read]
    for (passes, fails, p95), v in zip(figures, verdicts, strict=True):
        assert (v.status is Status.PASS) == (fails == 0 and passes > 0 and p95 <= 350)
