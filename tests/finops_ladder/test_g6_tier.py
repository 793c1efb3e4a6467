"""The tier where a release lead looks: G6 verdict details, the console, the G6 page."""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from igkit.cli.main import main
from igkit.finops.ladder import objective_budget, objective_ladder
from igkit.spec.loader import load_matrix
from igkit.spec.models import PrometheusObjective, resolve_settings
from tests.support.prometheus import PrometheusServer
from tests.support.scenarios import SCENARIOS


@pytest.mark.prometheus
def test_budget_mtd_90_tier_in_details_console_and_page(
    prometheus: PrometheusServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from igkit.explore import load_run
    from igkit.report.page.spend import spend_html

    at = SCENARIOS["budget_mtd_90"].eval_time.isoformat()
    out = tmp_path / "run"
    args = ["go-no-go", "--gate", "G6", "--prom-url", prometheus.url, "--at", at]
    assert main([*args, "--out", str(out)]) == 1
    console = capsys.readouterr().out
    verdicts = json.loads((out / "verdicts.json").read_text(encoding="utf-8"))
    infra = next(o for o in verdicts["gates"][0]["objectives"] if o["name"] == "infra_budget_burn")
    d = infra["details"]
    assert (d["downshift_tier"], d["downshift_tier_name"]) == (6, "Emergency")
    assert d["downshift_signal"] == "projection"
    assert d["projection_driver"] in ("linear", "run_rate")
    assert d["run_rate_projection_usd"] > d["month_to_date_usd"]
    assert d["downshift_text"].startswith("Tier 6 Emergency: infra projected ")
    line = f"Cost ladder (G6 infra_budget_burn): {d['downshift_text']}"
    assert line in console.splitlines()
    page = str(spend_html(load_run(out), _objective(out, "infra_budget_burn")))
    assert "Projected month-end spend (run-rate)" in page
    assert html.escape(d["downshift_text"], quote=False) in page.replace("&#x27;", "'")


def _objective(run: Path, name: str):  # type: ignore[no-untyped-def]
    from igkit.verdicts import RunVerdicts

    v = RunVerdicts.model_validate_json((run / "verdicts.json").read_text(encoding="utf-8"))
    return next(o for g in v.gates for o in g.objectives if o.name == name)


def _infra() -> tuple[object, PrometheusObjective]:
    loaded = load_matrix(None)
    gate = loaded.matrix.gate("G6")
    obj = next(o for o in gate.objectives if o.name == "infra_budget_burn")
    assert isinstance(obj, PrometheusObjective)
    return gate, obj


def _counters(per_day: float, days: int) -> pd.DataFrame:
    """One infra cost counter sampled hourly from the 1st of April 2025."""
    ts = pd.date_range("2025-04-01", periods=days * 24 + 1, freq="1h", tz="UTC")
    values = np.arange(len(ts), dtype=np.float64) * per_day / 24
    index = pd.Index(ts.as_unit("ms").asi8, name="ts")
    return pd.DataFrame({"s1": values}, index=index)


def test_an_unjudgeable_budget_is_tier_6_with_the_gates_reason() -> None:
    gate, obj = _infra()
    ladder = load_matrix(None).matrix.cost_ladder
    assert ladder is not None
    spec = load_matrix(None).matrix.finops
    at = datetime(2025, 4, 11, tzinfo=UTC)
    wide = _counters(300.0, 10)
    common = {
        "budget": objective_budget(gate, obj),  # type: ignore[arg-type]
        "settings": resolve_settings(obj, load_matrix(None).matrix.defaults),
        "at": at,
        "spec": spec,
        "ladder": ladder,
    }
    stale = objective_ladder(wide, {"s1": {}}, unknown="cost series {} stopped reporting", **common)  # type: ignore[arg-type]
    assert stale["downshift_tier"] == 6
    assert "stopped reporting" in str(stale["downshift_text"])
    assert "fail closed" in str(stale["downshift_text"])
    # positive control: the same counters judged fine are calm ($3,000 by the 11th of April:
    # 17% spent, 50% projected either way, 30 points below tier 1's 80%)
    calm = objective_ladder(wide, {"s1": {}}, unknown=None, **common)  # type: ignore[arg-type]
    assert calm["downshift_tier"] == 0, calm["downshift_text"]
    assert str(calm["downshift_text"]).startswith(
        "Tier 0 No action: infra projected 50% of $18,000 (linear), below tier 1;"
    )
