"""Helpers for the cutover tests: a matrix copy whose canary is a tenant of the gate scenarios
(their request series have no track label; CUTOVER_SCENARIOS have one), and triggers.json documents in the
format ``igkit triggers check`` writes (the contract the judge reads)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from igkit.timeutil import promql_duration, rfc3339

STAND_IN_CANARY = 'tenant="acme"'


def matrix_copy(tmp: Path, **cutover: Any) -> Path:
    """The shipped matrix with ``cutover:`` fields replaced (the canary is tenant acme)."""
    doc = yaml.safe_load(resources.files("igkit.spec").joinpath("default.yaml").read_text())
    doc["cutover"] = {**doc["cutover"], "canary_select": STAND_IN_CANARY, **cutover}
    path = tmp / "matrix.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def triggers_doc(
    tmp: Path, at: datetime, lookback: timedelta, statuses: dict[str, str], name: str = "t"
) -> Path:
    """A triggers.json as ``igkit triggers check`` writes it."""
    doc = {
        "evaluated_at": rfc3339(at),
        "lookback": promql_duration(lookback),
        "triggers": [
            {
                "id": tid,
                "status": status,
                "fired_at": rfc3339(at - timedelta(minutes=2)) if status == "FIRED" else None,
                "reasons": [f"{tid} {status.lower()} (test document)"],
            }
            for tid, status in statuses.items()
        ],
    }
    path = tmp / f"{name}-triggers.json"
    path.write_text(json.dumps(doc))
    return path


QUIET = {
    "error_budget_burn": "QUIET",
    "latency_degradation": "QUIET",
    "security_policy_failure": "QUIET",
    "cost_spike": "QUIET",
}


@pytest.fixture
def quiet() -> dict[str, str]:
    return dict(QUIET)


MakeTriggers = Callable[..., Path]
