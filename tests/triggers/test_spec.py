"""The matrix `triggers:` section: models, derived thresholds and the PromQL they produce."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from igkit.spec.loader import load_matrix
from igkit.spec.models import Matrix
from igkit.spec.triggers import ErrorBudgetBurn, LatencyDegradation


def _matrix_doc() -> dict[str, Any]:
    return load_matrix().matrix.model_dump(mode="json", by_alias=True)


def test_default_matrix_has_the_seed_triggers() -> None:
    triggers = load_matrix().matrix.triggers
    assert [t.id for t in triggers] == [
        "error_budget_burn",
        "latency_degradation",
        "security_policy_failure",
        "cost_spike",
    ]


def test_error_budget_threshold_is_derived() -> None:
    t = load_matrix().matrix.triggers[0]
    assert isinstance(t, ErrorBudgetBurn)
    assert t.burn_rate == pytest.approx(43.2)
    assert t.error_ratio_threshold == pytest.approx(0.0432)
    (cond,) = t.conditions()
    assert cond.expr.endswith(") > 0.0432")
    assert 'code!~"2.."' in cond.expr


def test_security_trigger_has_two_conditions_with_own_sustain() -> None:
    t = load_matrix().matrix.triggers[2]
    opa, webauthn = t.conditions()
    assert opa.for_.total_seconds() == 0
    assert (opa.for_text, webauthn.for_text) == ("0s", "10m")
    assert webauthn.for_.total_seconds() == 600
    assert webauthn.comparison == "<"
    assert webauthn.expr.endswith(" < 0.99")


def test_matrix_round_trips_through_its_own_dump() -> None:
    doc = _matrix_doc()
    assert Matrix.model_validate(doc) == load_matrix().matrix


def test_duplicate_trigger_ids_refused() -> None:
    doc = _matrix_doc()
    doc["triggers"].append(dict(doc["triggers"][0]))
    with pytest.raises(ValidationError, match="duplicate trigger ids: error_budget_burn"):
        Matrix.model_validate(doc)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"baseline": "offset"}, "needs 'offset'"),
        ({"baseline": "window"}, "needs 'window_start' and 'window_end'"),
        ({"canary_selector": 'track="x"}) or vector(1'}, "label matchers"),
        ({"ratio": True}, "not a boolean"),
        ({"unknown": 1}, "Extra inputs are not permitted"),
    ],
)
def test_latency_trigger_refuses_bad_fields(change: dict[str, Any], message: str) -> None:
    doc = _matrix_doc()
    doc["triggers"][1].update(change)
    with pytest.raises(ValidationError, match=message):
        Matrix.model_validate(doc)
    # positive control: the unchanged document is valid
    Matrix.model_validate(_matrix_doc())


def test_latency_baselines_render_offset_and_fixed_window() -> None:
    base = _matrix_doc()["triggers"][1]
    off = LatencyDegradation.model_validate({**base, "baseline": "offset", "offset": "1w"})
    assert "[5m] offset 7d" in off.conditions()[0].value
    win = LatencyDegradation.model_validate(
        {
            **base,
            "baseline": "window",
            "window_start": "2025-09-17T12:00:00Z",
            "window_end": "2025-09-17T13:00:00Z",
        }
    )
    value = win.conditions()[0].value
    assert 'increase(graphql_latency_bucket{track="canary"}[1h] @ 1758114000)' in value
