"""``igkit finops burn`` against the session Prometheus (the cost scenarios) and FOCUS files.

Expected figures are computed here from the scenario definitions or the rows written, not
with the code under test; the Prometheus figures must equal the G6 gate's own."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from igkit.cli.main import main
from tests.finops_ladder.support import shipped, write_matrix
from tests.support.prometheus import PrometheusServer
from tests.support.scenarios import SCENARIOS


def burn(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any], str]:
    rc = main(["finops", "burn", *args, "--format", "json"])
    captured = capsys.readouterr()
    return rc, json.loads(captured.out) if captured.out.strip() else {}, captured.err


def by_budget(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {line["figures"]["budget"]: line for line in report["budgets"]}


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


# --------------------------------------------------------------------------- Prometheus


@pytest.mark.prometheus
def test_budget_mtd_90_figures_are_the_gates(
    prometheus: PrometheusServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sc = SCENARIOS["budget_mtd_90"]
    at = sc.eval_time.isoformat()
    rc, report, err = burn(["--prom-url", prometheus.url, "--at", at], capsys)
    assert rc == 0, err
    infra = by_budget(report)["infra"]
    f = infra["figures"]
    assert f["status"] == "PASS"
    assert f["share"] == pytest.approx(0.90, rel=0.005)  # the scenario's definition
    elapsed_days = (sc.eval_time - sc.month_start).total_seconds() / 86400
    assert f["linear_projection"] == pytest.approx(f["month_to_date"] * 30 / elapsed_days)
    assert (infra["ladder"]["tier"], infra["ladder"]["name"]) == (6, "Emergency")
    assert report["ladder"]["budget"] == "infra"
    assert report["ladder"]["signal"] in ("month_to_date", "projection")
    assert by_budget(report)["llm"]["figures"]["share"] < 0.8
    gate = {i["budget"]: i["gate_status"] for i in report["inputs"]}
    assert gate == {"infra": "FAIL", "llm": "PASS"}
    # the very numbers of the G6 gate: go-no-go on the same Prometheus at the same time
    out = tmp_path / "run"
    assert main(["go-no-go", "--gate", "G6", "--prom-url", prometheus.url, "--at", at,
                 "--out", str(out)]) == 1  # fmt: skip
    capsys.readouterr()
    verdicts = json.loads((out / "verdicts.json").read_text(encoding="utf-8"))
    g6 = {o["name"]: o for o in verdicts["gates"][0]["objectives"]}
    for name in ("infra", "llm"):
        details = g6[f"{name}_budget_burn"]["details"]
        figures = by_budget(report)[name]["figures"]
        assert details["month_to_date_usd"] == pytest.approx(figures["month_to_date"], abs=1e-6)
        assert details["run_rate_projection_usd"] == pytest.approx(
            figures["run_rate_projection"], abs=0.01
        )
        assert details["projection_driver"] == figures["driver"]
        assert details["downshift_tier"] == by_budget(report)[name]["ladder"]["tier"]
        assert details["downshift_text"] == by_budget(report)[name]["ladder"]["text"]
    snaps = json.loads((out / "snapshots" / "index.json").read_text(encoding="utf-8"))
    # the same range requests (ids); each capture has its own fetch time, so its own sha256
    assert {i["id"] for i in report["inputs"]} <= set(json.dumps(snaps).split('"'))


@pytest.mark.prometheus
def test_too_little_history_exits_1_and_ladders_on_month_to_date_only(
    prometheus: PrometheusServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """all_green is 3.5 h into the month: under finops.min_history (24 h) there is no
    projection, so the figures are NO_DATA (exit 1) and the tier is the month-to-date's,
    saying the projection is missing and why."""
    at = SCENARIOS["all_green"].eval_time.isoformat()
    rc, report, _ = burn(["--prom-url", prometheus.url, "--at", at], capsys)
    assert rc == 1
    assert report["known"] is False
    for line in report["budgets"]:
        assert line["figures"]["status"] == "NO_DATA"
        assert line["figures"]["month_to_date"] is not None
        assert line["figures"]["projected_share"] is None
        assert line["ladder"]["tier"] == 0
        assert "month-to-date only, no projection" in line["ladder"]["text"]
        assert "min_history" in line["ladder"]["text"]


@pytest.mark.prometheus
def test_a_calm_budget_is_known_and_below_the_hot_one(
    prometheus: PrometheusServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """Positive control of the fail-closed cases: with a day and a half of history the llm
    budget's figures are known, and its own tier is below the infra budget's."""
    at = SCENARIOS["budget_mtd_90"].eval_time.isoformat()
    rc, report, _ = burn(["--prom-url", prometheus.url, "--at", at], capsys)
    assert rc == 0
    llm = by_budget(report)["llm"]
    assert llm["figures"]["status"] == "PASS"
    assert llm["ladder"]["tier"] < report["ladder"]["tier"]


def test_an_unreachable_prometheus_is_tier_6_not_a_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    at = SCENARIOS["budget_mtd_90"].eval_time.isoformat()
    rc, report, err = burn(["--prom-url", closed_port_url(), "--at", at, "--timeout", "2"], capsys)
    assert rc == 1
    assert "Traceback" not in err
    assert {line["figures"]["status"] for line in report["budgets"]} <= {"NO_DATA", "ERROR"}
    assert report["ladder"]["tier"] == 6
    assert "fail closed" in report["ladder"]["text"]


@pytest.mark.prometheus
def test_the_table_says_why(
    prometheus: PrometheusServer, capsys: pytest.CaptureFixture[str]
) -> None:
    at = SCENARIOS["budget_mtd_90"].eval_time.isoformat()
    assert main(["finops", "burn", "--prom-url", prometheus.url, "--at", at]) == 0
    out = capsys.readouterr().out
    assert "MONTH-TO-DATE" in out
    assert "RUN-RATE" in out
    assert "\nLADDER: Tier 6 Emergency: infra " in out
    assert "Actions: essential endpoints only; scale down expensive services." in out
    assert "Unallocated: $0.00" in out


@pytest.mark.prometheus
def test_the_chosen_matrix_ladder_is_used(
    prometheus: PrometheusServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = shipped()
    doc["cost_ladder"]["tiers"][5] = {"name": "Lockdown", "actions": ["page the CFO"]}
    matrix = write_matrix(tmp_path / "m.json", doc)
    at = SCENARIOS["budget_mtd_90"].eval_time.isoformat()
    rc, report, _ = burn(
        ["--prom-url", prometheus.url, "--at", at, "--matrix", str(matrix)], capsys
    )
    assert rc == 0
    assert (report["ladder"]["name"], report["ladder"]["actions"]) == ("Lockdown", ["page the CFO"])


# --------------------------------------------------------------------------- FOCUS


HEADER = (
    "ChargePeriodStart,ChargePeriodEnd,BilledCost,BillingCurrency,ChargeCategory,ServiceName,Tags"
)


def focus_file(path: Path, daily: dict[str, list[float]], *, currency: str = "USD") -> Path:
    """One Usage row per budget and day from 2025-03-01; budget "" = untagged."""
    lines = [HEADER]
    for budget, costs in daily.items():
        tags = json.dumps({"budget": budget}) if budget else "{}"
        for day, cost in enumerate(costs, start=1):
            start = f"2025-03-{day:02d}T00:00:00Z"
            end = f"2025-03-{day + 1:02d}T00:00:00Z"
            tag_cell = '"' + tags.replace('"', '""') + '"'
            lines.append(f"{start},{end},{cost},{currency},Usage,Compute,{tag_cell}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


AT = datetime(2025, 3, 11, tzinfo=UTC).isoformat()


def test_focus_step_up_is_driven_by_the_run_rate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    infra = [300.0] * 7 + [1500.0] * 3  # a step up on day 8
    path = focus_file(tmp_path / "f.csv", {"infra": infra, "llm": [50.0] * 10, "": [70.0] * 10})
    rc, report, err = burn(["--focus", str(path), "--at", AT], capsys)
    assert rc == 0, err
    f = by_budget(report)["infra"]["figures"]
    mtd = sum(infra)
    linear = mtd * 31 / 10
    run_rate = mtd + sum(infra[-7:]) / 7 * 21
    assert f["month_to_date"] == pytest.approx(mtd)
    assert f["linear_projection"] == pytest.approx(linear)
    assert f["run_rate_projection"] == pytest.approx(run_rate)
    assert f["driver"] == "run_rate"
    e = by_budget(report)["infra"]["ladder"]
    share = run_rate / 18_000  # 131.7%: >= 125% (tier 5), < 150%
    assert (e["tier"], e["name"], e["signal"]) == (5, "Protect", "projection")
    assert e["distance_to_next"] == pytest.approx(1.50 - share)
    assert e["text"].startswith(
        f"Tier 5 Protect: infra projected {share:.0%} of $18,000 (run-rate)"
    )
    assert report["ladder"]["budget"] == "infra"
    assert report["unallocated"] == pytest.approx(700.0)
    assert report["inputs"][0]["id"] == str(path)


def test_focus_in_another_currency_is_an_error_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = focus_file(
        tmp_path / "eur.csv", {"infra": [300.0] * 10, "llm": [50.0] * 10}, currency="EUR"
    )
    rc, report, err = burn(["--focus", str(path), "--at", AT], capsys)
    assert rc == 1
    assert "Traceback" not in err
    assert {line["figures"]["status"] for line in report["budgets"]} == {"ERROR"}
    assert "EUR" in report["ladder"]["text"]
    assert report["ladder"]["tier"] == 6
    # positive control: the same rows in USD are known and calm
    usd = focus_file(tmp_path / "usd.csv", {"infra": [300.0] * 10, "llm": [50.0] * 10})
    rc, report, _ = burn(["--focus", str(usd), "--at", AT], capsys)
    assert rc == 0
    assert report["ladder"]["tier"] == 0


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--at", "yesterday"], "--at"),
        (["--focus", "/nonexistent/f.csv", "--at", AT], "/nonexistent/f.csv"),
        (["--format", "yaml"], "--format"),
    ],
)
def test_usage_errors_exit_2_with_one_line(
    args: list[str], named: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IGKIT_PROM_URL", closed_port_url())
    try:
        rc = main(["finops", "burn", *args])
    except SystemExit as exc:
        rc = int(exc.code or 0)
    assert rc == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert named in err


def test_no_source_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("IGKIT_PROM_URL", raising=False)
    assert main(["finops", "burn"]) == 2
    assert "--prom-url" in capsys.readouterr().err


def test_a_malformed_focus_file_is_an_error_naming_row_and_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = focus_file(tmp_path / "bad.csv", {"infra": [300.0] * 10, "llm": [50.0] * 10})
    text = path.read_text(encoding="utf-8").replace(",300.0,USD,", ",3O0.0,USD,", 1)
    path.write_text(text, encoding="utf-8")
    rc, report, err = burn(["--focus", str(path), "--at", AT], capsys)
    assert rc == 1
    assert "Traceback" not in err
    assert {line["figures"]["status"] for line in report["budgets"]} == {"ERROR"}
    reason = report["budgets"][0]["figures"]["reasons"][0]
    assert "bad.csv" in reason
    assert "BilledCost" in reason
    assert report["ladder"]["tier"] == 6


def test_unallocated_over_the_matrix_maximum_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = shipped()
    doc["finops"] = {**doc.get("finops", {}), "unallocated_max_share": 0.05}
    matrix = write_matrix(tmp_path / "m.json", doc)
    daily = {"infra": [300.0] * 10, "llm": [50.0] * 10}
    untagged = focus_file(tmp_path / "u.csv", {**daily, "": [70.0] * 10})  # 700 / 4200 = 16.7%
    rc, report, _ = burn(["--focus", str(untagged), "--at", AT, "--matrix", str(matrix)], capsys)
    assert rc == 1
    assert report["unallocated"] == pytest.approx(700.0)
    assert report["unallocated_status"] == "FAIL"
    assert {line["figures"]["status"] for line in report["budgets"]} == {"PASS"}
    # positive control: every row allocated
    tagged = focus_file(tmp_path / "t.csv", daily)
    rc, report, _ = burn(["--focus", str(tagged), "--at", AT, "--matrix", str(matrix)], capsys)
    assert rc == 0
    assert report["unallocated_status"] == "PASS"
