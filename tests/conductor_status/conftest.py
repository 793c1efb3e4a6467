"""Real judgements for the status tests: ``cutover judge`` against the session Prometheus."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from igkit.cli.main import main
from igkit.cutover.models import Judgement
from igkit.timeutil import rfc3339
from tests.cutover.conftest import QUIET, matrix_copy, triggers_doc
from tests.support.prometheus import PrometheusServer
from tests.support.scenarios import SCENARIOS

EVIDENCE = Path(__file__).resolve().parents[1] / "fixtures" / "demo-evidence"


@pytest.fixture(scope="module")
def judged(prometheus: PrometheusServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A PROMOTE judge directory of the all_green scenario (triggers given as QUIET)."""
    tmp = tmp_path_factory.mktemp("judged")
    at = SCENARIOS["all_green"].eval_time
    doc = triggers_doc(tmp, at, timedelta(minutes=15), QUIET)
    out = tmp / "judge"
    args = [
        "cutover",
        "judge",
        "--stage",
        "25",
        "--stage-start",
        rfc3339(at - timedelta(minutes=15)),
    ]
    args += ["--at", rfc3339(at), "--prom-url", prometheus.url, "--out", str(out)]
    args += ["--matrix", str(matrix_copy(tmp)), "--triggers", str(doc)]
    assert main(args) == 0
    return out


def judgement_of(judge_dir: Path) -> Judgement:
    return Judgement.model_validate(json.loads((judge_dir / "judge.json").read_text()))
