"""Derived matrices the cutover verbs evaluate with :func:`igkit.run.run_loaded`, so every
number they read is fetched, sealed as a snapshot and replayable like any gate run."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from igkit.spec.loader import LoadedMatrix
from igkit.spec.models import Gate, Matrix, Objective, PrometheusObjective

CANARY_REQUESTS = "canary_requests"


def derived(loaded: LoadedMatrix, gates: Sequence[Gate], purpose: str) -> LoadedMatrix:
    """``loaded`` reduced to ``gates``; its digest covers the source matrix and the gates, so
    a replay of the derived run re-derives the same matrix or is refused."""
    matrix = Matrix.model_validate(
        {
            **loaded.matrix.model_dump(exclude={"gates", "cutover"}),
            "gates": [g.model_dump() for g in gates],
        }
    )
    extra = json.dumps([g.model_dump(mode="json") for g in gates], sort_keys=True)
    digest = hashlib.sha256(f"{loaded.sha256}\0{purpose}\0{extra}".encode()).hexdigest()
    return LoadedMatrix(
        matrix=matrix,
        source=f"{loaded.source} ({purpose})",
        sha256=digest,
        text=loaded.text,
        inputs=loaded.inputs,
    )


def with_objectives(gate: Gate, extra: Sequence[Objective]) -> Gate:
    """``gate`` with ``extra`` objectives appended (names must stay unique: validated)."""
    return Gate.model_validate({**gate.model_dump(), "objectives": [*gate.objectives, *extra]})


def requests_objective(query: str, minimum: int) -> PrometheusObjective:
    """Requests served over the (overridden) window, judged at its last step: ``>= minimum``."""
    return PrometheusObjective.model_validate(
        {
            "name": CANARY_REQUESTS,
            "description": "requests the canary served since the stage began",
            "query": query,
            "comparison": ">=",
            "threshold": {"value": minimum, "unit": "count"},
            "rule": {"kind": "aggregate", "window": "1m", "function": "last"},
        }
    )
