"""`igkit triggers check` against the real session Prometheus, its exit codes and replay."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from igkit.cli.main import main
from tests.support.prometheus import PrometheusServer
from tests.support.scenarios import TRIGGER_SCENARIOS


def _at(name: str) -> str:
    return TRIGGER_SCENARIOS[name].eval_time.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.prometheus
def test_check_fired_exits_1_and_replays_to_the_same_file(
    prometheus: PrometheusServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "live"
    argv = ["triggers", "check", "--prom-url", prometheus.url, "--at", _at("trig_error_11m")]
    assert main([*argv, "--out", str(out)]) == 1
    doc = json.loads((out / "triggers.json").read_text())
    assert set(doc) == {"evaluated_at", "lookback", "triggers"}
    assert doc["lookback"] == "1h"
    assert doc["evaluated_at"] == _at("trig_error_11m")
    for t in doc["triggers"]:
        assert set(t) == {"id", "status", "fired_at", "reasons"}
    by_id = {t["id"]: t for t in doc["triggers"]}
    assert by_id["error_budget_burn"]["status"] == "FIRED"
    assert by_id["error_budget_burn"]["fired_at"].endswith("Z")
    assert by_id["cost_spike"] == {**by_id["cost_spike"], "status": "QUIET", "fired_at": None}
    assert "error_budget_burn: FIRED at" in capsys.readouterr().out
    assert (out / "snapshots" / "index.json").is_file()

    again = tmp_path / "replay"
    assert main(["triggers", "check", "--replay", str(out), "--out", str(again)]) == 1
    assert (again / "triggers.json").read_bytes() == (out / "triggers.json").read_bytes()

    tampered = tmp_path / "tampered"
    shutil.copytree(out, tampered)
    (victim,) = (tampered / "snapshots").glob("trigger-cost_spike-*.json")
    victim.write_text(victim.read_text().replace('"1.', '"9.', 1))
    again = tmp_path / "replay2"
    assert main(["triggers", "check", "--replay", str(tampered), "--out", str(again)]) == 1
    doc = json.loads((again / "triggers.json").read_text())
    cost = {t["id"]: t for t in doc["triggers"]}["cost_spike"]
    assert cost["status"] == "ERROR", cost


@pytest.mark.prometheus
def test_check_all_quiet_exits_0_and_trigger_filter(
    prometheus: PrometheusServer, tmp_path: Path
) -> None:
    base = ["triggers", "check", "--prom-url", prometheus.url, "--at", _at("trig_quiet")]
    assert main([*base, "--out", str(tmp_path / "a")]) == 0
    argv = [*base[:-1], _at("trig_canary_missing"), "--trigger", "cost_spike"]
    assert main([*argv, "--out", str(tmp_path / "b")]) == 0  # control: only the quiet one
    argv = [*base[:-1], _at("trig_canary_missing")]
    assert main([*argv, "--out", str(tmp_path / "c")]) == 1  # NO_DATA is not safe
    doc = json.loads((tmp_path / "c" / "triggers.json").read_text())
    assert {t["id"]: t["status"] for t in doc["triggers"]}["latency_degradation"] == "NO_DATA"


def test_replay_without_the_trigger_snapshots_is_no_data(tmp_path: Path) -> None:
    """A replay directory that holds none of the triggers' snapshots: NO_DATA, never QUIET."""
    run = tmp_path / "run"
    snaps = run / "snapshots"
    snaps.mkdir(parents=True)
    (snaps / "index.json").write_text(
        json.dumps(
            {
                "schema": "igkit.snapshot-index/v1",
                "evaluated_at": "2025-06-10T03:30:00Z",
                "matrix_sha256": "0" * 64,
                "snapshots": [],
            }
        )
    )
    assert main(["triggers", "check", "--replay", str(run), "--out", str(tmp_path / "o")]) == 1
    doc = json.loads((tmp_path / "o" / "triggers.json").read_text())
    assert {t["status"] for t in doc["triggers"]} == {"NO_DATA"}


@pytest.mark.parametrize(
    "argv",
    [
        ["triggers", "check", "--prom-url", "http://127.0.0.1:9", "--lookback", "soon"],
        ["triggers", "check", "--prom-url", "http://127.0.0.1:9", "--trigger", "nope"],
        ["triggers", "check", "--at", "2025-06-10T03:30:00Z"],
        ["triggers", "check", "--prom-url", "http://127.0.0.1:9", "--at", "yesterday-ish"],
    ],
)
def test_usage_errors_exit_2(
    argv: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("IGKIT_PROM_URL", raising=False)
    assert main([*argv, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "Traceback" not in err


def test_unreachable_prometheus_is_not_quiet(tmp_path: Path) -> None:
    argv = ["triggers", "check", "--prom-url", "http://127.0.0.1:9", "--timeout", "2"]
    assert main([*argv, "--at", "2025-06-10T03:30:00Z", "--out", str(tmp_path / "o")]) == 1
    doc = json.loads((tmp_path / "o" / "triggers.json").read_text())
    assert {t["status"] for t in doc["triggers"]} == {"ERROR"}
