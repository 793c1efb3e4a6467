"""Actuator templates: split like a shell, never run by one; {weight} lands inside one
argument; unknown placeholders are refused up front; timeouts, missing programs and secrets."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from igkit.conductor.actuators import EXIT_NOT_FOUND, EXIT_TIMEOUT, parse_actuator, run_actuator
from igkit.errors import ConfigError


def test_weight_is_substituted_inside_each_argument() -> None:
    a = parse_actuator(
        "kubectl argo rollouts set weight api {weight}", "set_weight", "--set-weight"
    )
    assert a.command(25) == ["kubectl", "argo", "rollouts", "set", "weight", "api", "25"]
    patch = parse_actuator(
        """kubectl patch vs api --type merge -p '{"spec":{"http":[{"route":[{"weight":{stable_weight}},{"weight":{weight}}]}]}}'""",
        "set_weight",
        "--set-weight",
    )
    assert patch.command(5)[-1] == '{"spec":{"http":[{"route":[{"weight":95},{"weight":5}]}]}}'


def test_shell_syntax_is_only_text() -> None:
    a = parse_actuator("echo {weight}; rm -rf / && $(reboot)", "set_weight", "--set-weight")
    assert a.command(5) == ["echo", "5;", "rm", "-rf", "/", "&&", "$(reboot)"]


@pytest.mark.parametrize(
    ("text", "name", "why"),
    [
        ("set-weight {wieght}", "set_weight", r"unknown placeholder \{wieght\}"),
        ("set-weight 25", "set_weight", r"write \{weight\} in it"),
        ("rollback {weight}", "rollback", r"unknown placeholder \{weight\}.*known: none"),
        ("", "rollback", "an empty command"),
        ("abort 'unbalanced", "rollback", "cannot split"),
        ("{weight} x", "set_weight", "the program itself"),
    ],
)
def test_bad_templates_are_refused_naming_the_flag(text: str, name: str, why: str) -> None:
    with pytest.raises(ConfigError, match=why) as caught:
        parse_actuator(text, name, "--flag")  # type: ignore[arg-type]
    assert str(caught.value).startswith("--flag: ")


def test_a_run_records_exit_status_duration_and_output(tmp_path: Path) -> None:
    code = "import sys; print('out', sys.argv[1]); print('err', file=sys.stderr); sys.exit(3)"
    a = parse_actuator(f'{sys.executable} -c "{code}" {{weight}}', "set_weight", "--set-weight")
    result = run_actuator(a, weight=50, run_dir=tmp_path, number=7, timeout=30)
    assert (result.exit_code, result.ok, result.log) == (3, False, "actuators/0007-set_weight.log")
    assert result.duration_s >= 0
    log = (tmp_path / result.log).read_text()
    assert "# exit_code: 3" in log
    assert "out 50" in log
    assert "err" in log


def test_a_hanging_actuator_is_killed_at_its_timeout(tmp_path: Path) -> None:
    a = parse_actuator(
        f"{sys.executable} -c 'import time; time.sleep(60)'", "rollback", "--rollback"
    )
    result = run_actuator(a, weight=None, run_dir=tmp_path, number=1, timeout=0.5)
    assert result.exit_code == EXIT_TIMEOUT
    assert result.problem is not None
    assert "timed out after 0.5s" in result.problem
    assert result.duration_s < 10


def test_a_missing_program_is_an_exit_code_not_a_crash(tmp_path: Path) -> None:
    a = parse_actuator("/nonexistent/kubectl abort", "rollback", "--rollback")
    result = run_actuator(a, weight=None, run_dir=tmp_path, number=1, timeout=5)
    assert result.exit_code == EXIT_NOT_FOUND
    assert not result.ok


def test_secrets_from_the_environment_never_reach_the_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IGKIT_PROM_PASSWORD", "hunter2-but-longer")
    code = "import os; print('password is', os.environ['IGKIT_PROM_PASSWORD'])"
    a = parse_actuator(f'{sys.executable} -c "{code}"', "rollback", "--rollback")
    result = run_actuator(a, weight=None, run_dir=tmp_path, number=1, timeout=30)
    log = (tmp_path / result.log).read_text()
    assert result.ok
    assert "hunter2" not in log
    assert "password is [REDACTED]" in log


def test_the_readme_actuator_examples_parse_and_fill_in() -> None:
    """Every set-weight template of the README's actuator table is accepted and takes the
    weight inside its arguments (the Istio patch stays valid JSON with both weights)."""
    import json
    import re

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    rows = [line for line in readme.splitlines() if line.startswith("| ") and "{weight}" in line]
    templates = [re.findall(r"`([^`]*\{weight\}[^`]*)`", row)[0] for row in rows]
    assert len(templates) >= 4
    for text in templates:
        argv = parse_actuator(text, "set_weight", "--set-weight").command(5)
        assert not any("{weight}" in a or "{stable_weight}" in a for a in argv)
        if "virtualservice" in text:
            routes = json.loads(argv[-1])["spec"]["http"][0]["route"]
            assert [r["weight"] for r in routes] == [95, 5]
