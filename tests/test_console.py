"""The console a release lead reads on GA day: help, matrix problems, the table, the order of
output, and no kernel noise (issue 10, "A console for GA day")."""

from __future__ import annotations

import argparse
import os
import pty
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from igkit.cli.main import _parser, main
from igkit.explore import objective_needs
from igkit.judge.prometheus import no_series_reason
from igkit.judge.spend import projection_warning
from igkit.report.table import observed_cell, render_table
from igkit.run import MissingInput
from igkit.spec.loader import load_matrix
from igkit.spec.plan import plan
from igkit.verdicts import ObjectiveVerdict, RunVerdicts, SeriesVerdict, Status

REPO = Path(__file__).resolve().parents[1]


def _options_without_help(parser: argparse.ArgumentParser, path: str) -> list[str]:
    missing = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                missing += _options_without_help(sub, f"{path} {name}")
        elif not action.help:
            missing.append(f"{path} {'/'.join(action.option_strings) or action.dest}")
    return missing


def test_every_option_of_every_verb_has_help() -> None:
    assert _options_without_help(_parser(), "igkit") == []


def test_the_walker_finds_an_option_without_help() -> None:  # the test above can fail
    p = argparse.ArgumentParser()
    p.add_argument("--bare")
    assert _options_without_help(p, "x") == ["x --bare"]


def test_go_no_go_help_has_description_exit_codes_and_examples(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        main(["go-no-go", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "Decide whether a release may go to production" in out
    for code in (
        "0 GO, or PARTIAL",
        "1 NO-GO",
        "2 usage or configuration",
        "3 tool error",
        "4 HOLD",
    ):
        assert code in out
    assert out.count("igkit go-no-go --") >= 2  # two examples
    assert "X-Scope-OrgID" in out
    assert 'tenant="acme"' in out


def test_matrix_validate_lists_every_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = yaml.safe_load((REPO / "igkit/spec/default.yaml").read_text(encoding="utf-8"))
    data["gates"][0]["objectives"][0]["bogus"] = 1
    data["gates"][0]["objectives"][1]["comparison"] = "=~"
    data["gates"][1]["objectives"][0]["threshold"] = "fast"
    data["gates"][2]["nonsense"] = True
    data["gates"][3]["objectives"][0]["extra"] = 2
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert main(["matrix", "validate", "--matrix", str(bad)]) == 2
    lines = capsys.readouterr().err.splitlines()
    problems = [line for line in lines if line.startswith(f"igkit: error: {bad}: gates[")]
    assert len(problems) == 5, lines
    assert lines[-1] == "igkit: 5 problems; the matrix is not valid"
    assert not any("more problem" in line for line in lines)
    # every other caller keeps one line, noting the rest
    assert main(["matrix", "show", "--matrix", str(bad)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1
    assert "(and 4 more problems: igkit matrix validate lists them)" in err[0]


def test_matrix_validate_of_a_valid_matrix() -> None:
    assert main(["matrix", "validate"]) == 0  # positive control


def _series(tenant: str, status: Status, observed: float, **kw: object) -> SeriesVerdict:
    return SeriesVerdict(
        labels={"__name__": "x", "job": "api", "tenant": tenant},
        status=status,
        observed=observed,
        coverage=1.0,
        steps_expected=60,
        steps_present=60,
        steps_violating=3 if status is Status.FAIL else 0,
        reason=f"{tenant} {status.value}",
        **kw,  # type: ignore[arg-type]
    )


def _objective(series: list[SeriesVerdict], status: Status, observed: float) -> ObjectiveVerdict:
    return ObjectiveVerdict(
        name="graphql_query_p95",
        status=status,
        observed=observed,
        threshold=350,
        unit="ms",
        comparison="<=",
        coverage=1.0,
        window_start=datetime(2025, 6, 20, 13, 0, tzinfo=UTC),
        window_end=datetime(2025, 6, 20, 14, 0, tzinfo=UTC),
        reasons=["G1 graphql_query_p95 {tenant=globex}: 656 ms > 350 ms"],
        series=series,
    )


def test_observed_names_the_failing_series_not_another_statistic() -> None:
    obj = _objective(
        [
            _series("acme", Status.PASS, 200),
            _series("globex", Status.FAIL, 656),
            _series("initech", Status.FAIL, 400),
        ],
        Status.FAIL,
        656,
    )
    assert observed_cell(obj) == "656 ms (tenant=globex)"
    passing = _objective(
        [_series("acme", Status.PASS, 236), _series("globex", Status.PASS, 120)], Status.PASS, 236
    )
    assert observed_cell(passing) == "236 ms (tenant=acme)"


def test_a_failing_evidence_objective_names_its_failing_check() -> None:
    obj = ObjectiveVerdict(
        name="slsa_provenance",
        status=Status.FAIL,
        reasons=["G3 slsa_provenance: api: signature does not verify"],
        details={"api: digest": "PASS", "api: signature": "FAIL bad", "ui: digest": "PASS"},
    )
    assert observed_cell(obj) == "2/3 checks (failed: api: signature)"
    ok = obj.model_copy(update={"status": Status.PASS, "details": {"a": "PASS", "b": "PASS"}})
    assert observed_cell(ok) == "2/2 checks"


def test_missing_inputs_are_one_line_each_in_why() -> None:
    from igkit.demo import run_demo  # noqa: F401  (the shipped demo is all PASS; build a NO-GO)

    g3 = ObjectiveVerdict(
        name="slsa_provenance", status=Status.NO_DATA, reasons=["G3 a: no evidence directory"]
    )
    g7 = ObjectiveVerdict(
        name="dr_drill", status=Status.NO_DATA, reasons=["G7 b: no evidence directory"]
    )
    g1 = _objective([_series("globex", Status.FAIL, 656)], Status.FAIL, 656)
    from igkit.verdicts import decide, gate_verdict, scope_of

    gates = [
        gate_verdict("G1", "SLO", [g1]),
        gate_verdict("G3", "Supply", [g3]),
        gate_verdict("G7", "DR", [g7]),
    ]
    run = RunVerdicts(
        decision=decide(gates, complete=True),
        scope=scope_of(["G1", "G3", "G7"], ["G1", "G3", "G7"]),
        evaluated_at=datetime(2025, 6, 20, 14, tzinfo=UTC),
        matrix_sha256="0" * 64,
        matrix_source="m.yaml",
        igkit_version="0",
        source="test",
        gates=gates,
    )
    missing = [
        MissingInput("--evidence", "evidence", (("G3", "slsa_provenance"), ("G7", "dr_drill")))
    ]
    text = render_table(run, missing=missing)
    why = text.split("Why:\n", 1)[1].splitlines()
    assert why[0] == "  no --evidence: G3 G7 evidence objectives are NO_DATA"
    assert not any("no evidence directory" in line for line in why)
    assert any(line.startswith("  G1 FAIL: ") for line in why)
    # without the missing-input line the reasons are all there (positive control)
    assert "no evidence directory" in render_table(run)


def test_flip_advice_for_a_past_breach_says_when_the_window_clears() -> None:
    past = _series(
        "globex",
        Status.FAIL,
        656,
        last_violation=datetime(2025, 6, 20, 13, 52, tzinfo=UTC),
        last_sample_at=datetime(2025, 6, 20, 14, 0, tzinfo=UTC),
    )
    needs = objective_needs(_objective([past], Status.FAIL, 656))
    assert "clears at 14:52 UTC if no new breach" in needs
    assert "bring it" not in needs
    ongoing = past.model_copy(update={"last_violation": datetime(2025, 6, 20, 14, 0, tzinfo=UTC)})
    assert objective_needs(_objective([ongoing], Status.FAIL, 656)).startswith(
        "bring it down to <= 350 ms"
    )


def test_flip_advice_never_asks_to_bring_down_a_value_that_meets_its_threshold() -> None:
    obj = _objective([], Status.FAIL, 300)  # e.g. a fraction_of_steps rule failing on count
    needs = objective_needs(obj)
    assert "bring it" not in needs
    assert "already meets <= 350 ms" in needs


def test_no_series_reason_names_the_query_and_the_absolute_window() -> None:
    loaded = load_matrix(None)
    at = datetime(2025, 6, 20, 14, 0, tzinfo=UTC)
    pq = next(
        p for p in plan(loaded.matrix, ["G1"], at, None) if p.objective.name == "availability"
    )
    reason = no_series_reason(pq, "G1 availability")
    assert pq.request.query in reason
    assert "between 2025-06-20T13:00Z and 14:00Z — is --at right?" in reason
    assert "\n" not in reason


def test_g6_projection_over_budget_warns_while_burn_passes() -> None:
    ladder = load_matrix(None).matrix.cost_ladder
    details: dict[str, float | str | None] = {
        "month_to_date_usd": 9_000.0,  # 50% of $18k on the 20th: passes < 80%
        "budget_usd": 18_000.0,
        "projected_month_end_usd": 21_600.0,
        "projected_share_of_budget": 1.2,
    }
    warning = projection_warning(
        details, what="G6 infra_budget_burn", alert_share=0.8, ladder=ladder
    )
    assert warning is not None
    assert "$21,600" in warning
    assert "120% of the $18,000 budget" in warning
    assert "over the budget itself" in warning
    assert "tier 4 Degrade" in warning
    calm = {**details, "projected_month_end_usd": 10_800.0, "projected_share_of_budget": 0.6}
    assert projection_warning(calm, what="G6 x", alert_share=0.8, ladder=ladder) is None
    unknown = {**details, "projected_share_of_budget": None}
    assert projection_warning(unknown, what="G6 x", alert_share=0.8, ladder=ladder) is None


@pytest.mark.slow
@pytest.mark.notebooks
def test_demo_on_a_terminal_prints_the_decision_first_and_no_kernel_noise(tmp_path: Path) -> None:
    """A real demo (notebooks, render, sign, bundle) under a pseudo-terminal."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "igkit", "demo", "--out", str(tmp_path / "demo")]
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child
        os.chdir(REPO)
        os.execve(sys.executable, cmd, env)
    chunks = []
    while True:
        try:
            data = os.read(fd, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    _, status = os.waitpid(pid, 0)
    text = b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")
    assert os.waitstatus_to_exitcode(status) == 0, text
    lines = text.splitlines()
    decision = next(i for i, line in enumerate(lines) if line.startswith("DECISION: GO"))
    first_progress = next(
        i for i, line in enumerate(lines) if line.startswith("igkit notebooks [1/8]")
    )
    render = next(i for i, line in enumerate(lines) if "signing the PDFs" in line)
    bundle = next(i for i, line in enumerate(lines) if "sealing the evidence bundle" in line)
    notebooks = next(i for i, line in enumerate(lines) if "executing the gate notebooks" in line)
    assert decision < notebooks < first_progress < render < bundle
    assert text.count("DECISION:") == 1
    assert "without encryption" not in text
    assert "KeyboardInterrupt" not in text
    assert "without encryption" in (tmp_path / "demo/notebooks/kernels.log").read_text()


@pytest.mark.slow
def test_demo_through_a_pipe_prints_no_progress(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "igkit", "demo", "--out", str(tmp_path / "d")],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # no progress, no kernel warning, no traceback
    assert proc.stdout.startswith("DECISION: GO")


def test_quiet_prints_only_the_decision(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from igkit.demo import demo_snapshot_dir, demo_trust_dir

    args = ["go-no-go", "--validate-all", "--replay", str(demo_snapshot_dir())]
    args += ["--trust", str(demo_trust_dir()), "--no-notebooks"]
    assert main([*args, "--quiet", "--out", str(tmp_path / "q")]) == 0
    assert capsys.readouterr().out == "GO\n"
    assert main([*args, "--out", str(tmp_path / "full")]) == 0  # positive control
    assert capsys.readouterr().out.startswith("DECISION: GO")
