"""G7 DR readiness: drill reports are read strictly and never pass on bad evidence."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

import igkit.spec
from igkit.cli import drill as cli_drill
from igkit.errors import ConfigError, IgkitError
from igkit.judge.evidence.checks import Check, combine
from igkit.judge.evidence.drill import (
    CHECK_NAMES,
    DrillReport,
    DrillReportError,
    parse_drill_report,
    verify_drill,
)
from igkit.spec.loader import DEFAULT_MATRIX_NAME
from igkit.verdicts import Status

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "evidence" / "drill"
AT = datetime(2025, 3, 1, 3, 30, tzinfo=UTC)  # the demo's evaluation time
AT_TEXT = "2025-03-01T03:30:00Z"
TARGETS: dict[str, Any] = {
    "rpo_target": timedelta(minutes=5),
    "rto_target": timedelta(minutes=60),
    "env": "prod",
    "max_age": timedelta(days=7),
}


def base() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / "report.json").read_bytes())
    return data


def report_of(data: dict[str, Any]) -> DrillReport:
    return parse_drill_report(json.dumps(data).encode(), name="report.json")


def checks_of(data: dict[str, Any], at: datetime = AT, **kw: Any) -> dict[str, Check]:
    checks = verify_drill(report_of(data), **{**TARGETS, **kw}, at=at)
    assert [c.name for c in checks] == list(CHECK_NAMES)
    return {c.name: c for c in checks}


def only_failure(checks: dict[str, Check], name: str, status: Status = Status.FAIL) -> Check:
    bad = {n: c.status for n, c in checks.items() if not c.ok}
    assert bad == {name: status}, bad
    return checks[name]


def test_fresh_prod_drill_meeting_targets_passes() -> None:
    checks = checks_of(base())
    assert all(c.ok for c in checks.values()), [c.line() for c in checks.values()]
    assert checks["rpo"].detail.startswith("RPO 3m12s ≤ 5m")
    assert checks["rto"].detail.startswith("RTO 41m30s ≤ 1h")
    assert checks["rpo"].subject == "drill dr-2025-02-27-prod-01"


def test_rpo_over_target_fails() -> None:
    data = base()
    data["last_durable_write_before_failure"] = "2025-02-27T14:08:00Z"  # 7m before the failure
    check = only_failure(checks_of(data), "rpo")
    assert check.detail.startswith("RPO 7m > 5m target")


def test_rpo_equal_to_target_passes() -> None:
    data = base()
    data["last_durable_write_before_failure"] = "2025-02-27T14:10:00Z"
    assert checks_of(data)["rpo"].detail.startswith("RPO 5m ≤ 5m")


def test_rto_over_target_fails() -> None:
    data = base()
    data["service_restored_at"] = "2025-02-27T15:30:00Z"  # 75m after the failure
    data["data_verified_at"] = "2025-02-27T15:35:00Z"
    data["ended_at"] = "2025-02-27T15:40:00Z"
    data["steps"] = data["steps"][:5]
    check = only_failure(checks_of(data), "rto")
    assert check.detail.startswith("RTO 1h15m > 1h target")


def test_report_dated_in_the_future_fails() -> None:
    check = only_failure(
        checks_of(base(), at=datetime(2025, 2, 27, 15, 5, tzinfo=UTC)), "freshness"
    )
    assert "drill report is dated after the evaluation time" in check.detail
    assert "ended_at is 2025-02-27T15:10:00Z" in check.detail


def test_future_timestamp_fails_even_without_ended_at() -> None:
    data = base()
    data["ended_at"] = None
    data["steps"][-1]["at"] = "2025-03-02T00:00:00Z"
    checks = checks_of(data)
    assert checks["freshness"].status is Status.FAIL
    assert "steps[8].at" in checks["freshness"].detail


def test_too_old_report_fails() -> None:
    check = only_failure(checks_of(base(), at=AT + timedelta(days=6)), "freshness")
    assert "older than the 7d limit" in check.detail


def test_wrong_environment_fails() -> None:
    data = base()
    data["env"] = "staging"
    check = only_failure(checks_of(data), "environment")
    assert "'staging'" in check.detail
    assert "--env prod" in check.detail


@pytest.mark.parametrize("how", ["null", "absent"])
def test_missing_restored_timestamp_is_no_data(how: str) -> None:
    data = base()
    if how == "null":
        data["service_restored_at"] = None
    else:
        del data["service_restored_at"]
    checks = checks_of(data)
    assert checks["rto"].status is Status.NO_DATA
    assert "no service_restored_at" in checks["rto"].detail
    assert checks["data verified"].status is Status.NO_DATA
    assert checks["timeline"].status is Status.NO_DATA
    assert checks["rpo"].ok
    assert combine(list(checks.values())) is Status.NO_DATA


def test_missing_data_verification_is_no_data() -> None:
    data = base()
    data["data_verified_at"] = None
    assert checks_of(data)["data verified"].status is Status.NO_DATA


def test_failed_step_fails_naming_it() -> None:
    data = base()
    data["steps"][4]["outcome"] = "failed"
    data["steps"][4]["detail"] = "pg_basebackup exited 1"
    check = only_failure(checks_of(data), "steps")
    assert "1 of 9 step(s) failed: 'restore-postgres'" in check.detail
    assert "pg_basebackup exited 1" in check.detail


def test_skipped_step_is_reported() -> None:
    data = base()
    data["steps"][8]["outcome"] = "skipped"
    assert checks_of(data)["steps"].detail == "8 step(s) ok, 1 skipped ('failback-plan-recorded')"


def test_no_steps_is_no_data() -> None:
    data = base()
    data["steps"] = []
    only_failure(checks_of(data), "steps", Status.NO_DATA)


def test_out_of_order_timeline_fails() -> None:
    data = base()
    data["data_verified_at"] = "2025-02-27T14:50:00Z"  # before service restored
    checks = checks_of(data)
    assert checks["timeline"].status is Status.FAIL
    assert "data_verified_at 2025-02-27T14:50:00Z is before service_restored_at" in (
        checks["timeline"].detail
    )
    assert checks["data verified"].status is Status.FAIL


def test_last_write_after_failure_never_passes() -> None:
    data = base()
    data["last_durable_write_before_failure"] = "2025-02-27T14:16:00Z"
    checks = checks_of(data)
    assert checks["timeline"].status is Status.FAIL
    assert checks["rpo"].status is Status.FAIL
    assert "negative" in checks["rpo"].detail


def test_no_report_is_no_data_everywhere() -> None:
    checks = verify_drill(None, **TARGETS, at=AT)
    assert [c.status for c in checks] == [Status.NO_DATA] * len(CHECK_NAMES)


def test_naive_evaluation_time_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        verify_drill(report_of(base()), **TARGETS, at=datetime(2025, 3, 1))


# -- reading ---------------------------------------------------------------------------------


def parse_error(data: Any, name: str = "report.json") -> str:
    content = data if isinstance(data, bytes) else json.dumps(data).encode()
    with pytest.raises(DrillReportError) as info:
        parse_drill_report(content, name=name)
    text = str(info.value)
    assert "\n" not in text
    assert text.startswith(f"{name}: ")
    assert isinstance(info.value, IgkitError)
    return info.value.message


def test_unparsable_datetime_names_the_field() -> None:
    data = base()
    data["steps"][2]["at"] = "27/02/2025 14:15"
    message = parse_error(data)
    assert message.startswith("steps[2].at: invalid datetime '27/02/2025 14:15'")


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        ("2025-02-27T14:15:00", "has no UTC offset"),
        ("2025-02-27", "invalid datetime"),
        ("", "empty timestamp"),
        (1740665700, "invalid datetime 1740665700"),
        ("2025-02-30T14:15:00Z", "invalid datetime"),
    ],
)
def test_bad_timestamps_are_refused(value: object, needle: str) -> None:
    data = base()
    data["failure_injected_at"] = value
    message = parse_error(data)
    assert message.startswith("failure_injected_at: ")
    assert needle in message


def test_offsets_are_converted_to_utc() -> None:
    data = base()
    data["failure_injected_at"] = "2025-02-27T09:15:00-05:00"
    assert report_of(data).failure_injected_at == datetime(2025, 2, 27, 14, 15, tzinfo=UTC)
    assert checks_of(data)["rpo"].ok


@pytest.mark.parametrize(
    ("where", "path"),
    [
        ("top", "colour: unknown field (allowed: env, drill_id"),
        ("step", "steps[1].colour: unknown field (allowed: name, at, outcome, detail)"),
    ],
)
def test_unknown_field_is_one_line_with_path(where: str, path: str) -> None:
    data = base()
    (data if where == "top" else data["steps"][1])["colour"] = "green"
    assert parse_error(data).startswith(path)


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda d: d.pop("env"), "env: required field is missing"),
        (lambda d: d.update(env="  "), "env: must not be empty"),
        (
            lambda d: d["steps"][0].update(outcome="passed"),
            "steps[0].outcome: Input should be 'ok', 'failed' or 'skipped' (got 'passed')",
        ),
        (lambda d: d.update(steps="all good"), "steps: Input should be a valid list"),
    ],
)
def test_bad_fields_name_the_path(mutate: Any, needle: str) -> None:
    data = base()
    mutate(data)
    assert parse_error(data).startswith(needle)


@pytest.mark.parametrize(
    ("content", "name", "needle"),
    [
        (b'{"env": "prod",', "r.json", "invalid JSON at line 1"),
        (b'{"env": "prod", "env": "staging", "drill_id": "x"}', "r.json", "duplicate key 'env'"),
        (b"env: prod\ndrill_id: a\nenv: staging\n", "r.yaml", "env: duplicate key 'env' (line 3)"),
        (b"- env: prod\n", "r.yaml", "top level: expected a mapping"),
        (b"", "r.yaml", "got an empty document"),
        (b"env: [prod\n", "r.yaml", "invalid YAML at line"),
        (b"env: \xff\n", "r.yaml", "not UTF-8 text (byte 0xff at offset 5)"),
        (
            b"env: prod\ndrill_id: d\nsteps: [{name: a, outcome: ok, at: 2025-02-30T00:00:00Z}]",
            "r.yaml",
            "steps[0].at: invalid datetime '2025-02-30T00:00:00Z': day is out of range",
        ),
        (b"env: prod\x00", "r.yaml", "invalid YAML: unacceptable character #x0000"),
        (b"[" * 100_000, "r.json", "nested too deeply"),
    ],
)
def test_unreadable_documents_are_one_line_errors(content: bytes, name: str, needle: str) -> None:
    assert needle in parse_error(content, name)


def test_yaml_alias_bomb_is_refused() -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        prev = chr(ord("a") + i - 1)
        cur = chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 20) + "]")
    message = parse_error("\n".join(lines).encode(), "bomb.yaml")
    assert "refusing a possible alias bomb" in message


def test_json_and_yaml_forms_give_the_same_result() -> None:
    from_json = parse_drill_report((FIXTURES / "report.json").read_bytes(), name="report.json")
    from_yaml = parse_drill_report((FIXTURES / "report.yaml").read_bytes(), name="report.yaml")
    assert from_json == from_yaml
    # quoted YAML timestamps read the same as the unquoted ones in the fixture
    quoted = yaml.safe_dump(json.loads((FIXTURES / "report.json").read_bytes())).encode()
    assert parse_drill_report(quoted, name="x.yml") == from_json
    a = verify_drill(from_json, **TARGETS, at=AT)
    b = verify_drill(from_yaml, **TARGETS, at=AT)
    assert a == b
    assert combine(a) is Status.PASS


def test_format_is_sniffed_without_a_telling_extension() -> None:
    content = (FIXTURES / "report.json").read_bytes()
    assert parse_drill_report(content, name="report") == report_of(base())


# -- CLI --------------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:
        self.exit(2, f"{self.prog}: error: {message}\n")


def cli(argv: list[str]) -> int:
    """What igkit.cli.main.main does for the handler: ConfigError -> one line on stderr, exit 2."""
    parser = _Parser(prog="igkit")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    cli_drill.register(sub, _Parser)
    args = parser.parse_args(argv)
    assert (args.command, args.drill_command) == ("drill", "report")
    try:
        return cli_drill.run(args)
    except ConfigError as exc:
        print(f"igkit: error: {exc}")
        return 2


SHIPPED_MATRIX = Path(igkit.spec.__file__).parent / DEFAULT_MATRIX_NAME
FLAGS = ["--rpo-target", "5m", "--rto-target", "60m", "--env", "prod", "--max-age", "7d"]


def test_cli_exit_0_when_all_pass(capsys: pytest.CaptureFixture[str]) -> None:
    """Targets from the matrix's drill objective; its gate id and name title the summary."""
    report = str(FIXTURES / "report.yaml")
    rc = cli(["drill", "report", report, "--matrix", str(SHIPPED_MATRIX), "--at", AT_TEXT])
    out = capsys.readouterr().out.splitlines()
    assert rc == 0
    assert len(out) == len(CHECK_NAMES) + 1
    assert out[-1].startswith(
        "G7 DR Readiness: PASS — RPO 3m12s (target ≤ 5m), RTO 41m30s (target ≤ 1h)"
    )


def test_cli_explicit_targets_need_no_matrix(capsys: pytest.CaptureFixture[str]) -> None:
    rc = cli(["drill", "report", str(FIXTURES / "report.yaml"), *FLAGS, "--at", AT_TEXT])
    assert rc == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("DR readiness: PASS — RPO 3m12s")


def test_cli_flag_wins_over_the_matrix(capsys: pytest.CaptureFixture[str]) -> None:
    """Positive control above: the same report with the matrix's 5m target passes."""
    report = str(FIXTURES / "report.yaml")
    argv = ["drill", "report", report, "--matrix", str(SHIPPED_MATRIX), "--rpo-target", "3m"]
    assert cli([*argv, "--at", AT_TEXT]) == 1
    assert "rpo: FAIL — RPO 3m12s > 3m target" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("given", "named"),
    [
        (
            [],
            "--rpo-target: required (igkit has no built-in drill target): give --rpo-target, "
            "--rto-target, --env, --max-age, or --matrix FILE with a drill objective",
        ),
        (FLAGS[2:], "--rpo-target: required"),
        ([*FLAGS[:6]], "--max-age: required (igkit has no built-in drill target): give --max-age,"),
        (["--objective", "G7/dr_drill", *FLAGS], "--objective: names an objective of a matrix"),
    ],
)
def test_cli_without_targets_is_a_usage_error_naming_them(
    capsys: pytest.CaptureFixture[str], given: list[str], named: str
) -> None:
    assert cli(["drill", "report", str(FIXTURES / "report.yaml"), *given]) == 2
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert named in out


def test_cli_exit_1_when_a_target_is_missed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = base()
    data["service_restored_at"] = None
    path = tmp_path / "report.json"
    path.write_text(json.dumps(data))
    rc = cli(["drill", "report", str(path), *FLAGS, "--at", AT_TEXT, "--rpo-target", "3m"])
    out = capsys.readouterr().out
    assert rc == 1
    assert "rpo: FAIL — RPO 3m12s > 3m target" in out
    assert "RTO unknown (target ≤ 1h)" in out.splitlines()[-1]


@pytest.mark.parametrize(
    ("extra", "content", "needle"),
    [
        (
            [],
            b'{"env": "prod", "drill_id": "x", "steps": [{"name": "a", "outcome": "ok", "at": "soon"}]}',
            "{file}: steps[0].at: invalid datetime 'soon'",
        ),
        (["--rpo-target", "five"], None, "--rpo-target: invalid duration 'five'"),
        (["--max-age", "0s"], None, "--max-age: duration '0s' must be positive"),
        (["--at", "yesterday"], None, "--at: invalid time 'yesterday'"),
        (["--env", " "], None, "--env: give the environment"),
    ],
)
def test_cli_exit_2_on_usage_or_parse_error(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    content: bytes | None,
    needle: str,
) -> None:
    path = tmp_path / "report.json"
    path.write_bytes(content if content is not None else (FIXTURES / "report.json").read_bytes())
    rc = cli(["drill", "report", str(path), *FLAGS, *extra])
    out = capsys.readouterr().out
    assert rc == 2
    assert out.count("\n") == 1
    assert needle.format(file=path) in out


def test_cli_exit_2_on_missing_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert cli(["drill", "report", str(tmp_path / "nope.yaml"), *FLAGS]) == 2
    assert "nope.yaml: cannot read the drill report: No such file" in capsys.readouterr().out


def test_cli_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli(["drill", "report"])
    assert info.value.code == 2
    assert "FILE" in capsys.readouterr().err


def _with_outcomes(outcomes: dict[str, str]) -> dict[str, Any]:
    data = base()
    for step in data["steps"]:
        step["outcome"] = outcomes.get(step["name"], step["outcome"])
    return data


@pytest.mark.parametrize(
    ("outcomes", "named"),
    [
        ({"restore-postgres": "skipped"}, "'restore-postgres'"),
        ({"verify-data": "skipped"}, "'verify-data'"),
        ({"restore-postgres": "skipped", "restore-neo4j": "skipped"}, "'restore-neo4j'"),
    ],
)
def test_skipped_restore_or_verify_step_means_the_drill_did_not_exercise_restore(
    outcomes: dict[str, str], named: str
) -> None:
    """Positive control: the same report with every step ok passes (first test above)."""
    check = only_failure(checks_of(_with_outcomes(outcomes)), "steps")
    assert check.detail.startswith("the drill did not exercise restore"), check.detail
    assert named in check.detail


def test_a_drill_with_no_step_ok_did_not_exercise_restore() -> None:
    data = base()
    for step in data["steps"]:
        step["outcome"] = "skipped"
    check = only_failure(checks_of(data), "steps")
    assert "the drill did not exercise restore: no step is ok" in check.detail
    assert "'preflight'" in check.detail


def test_a_drill_without_any_restore_step_did_not_exercise_restore() -> None:
    data = base()
    data["steps"] = [s for s in data["steps"] if "restore" not in s["name"]]
    check = only_failure(checks_of(data), "steps")
    assert "no step named restore/recover is ok" in check.detail


def test_the_demo_drill_report_exercises_restore() -> None:
    demo = Path(__file__).resolve().parents[2] / "fixtures" / "demo-evidence" / "drill"
    report = parse_drill_report((demo / "report.yaml").read_bytes(), name="report.yaml")
    checks = {c.name: c for c in verify_drill(report, **TARGETS, at=AT)}
    assert checks["steps"].ok, checks["steps"].line()
