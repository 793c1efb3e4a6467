"""Status updates: templates from the G8 comms objective, live figures, hook, cadence."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from igkit.conductor.figures import StatusFigures
from igkit.conductor.status import (
    PLACEHOLDERS,
    StatusTemplates,
    compact,
    load_templates,
    render,
    templates_from_run,
    write_status,
)
from igkit.cutover.models import Action
from igkit.errors import ConfigError
from igkit.spec.loader import LoadedMatrix, load_matrix
from tests.conductor_status.conftest import EVIDENCE, judgement_of

AT = datetime(2026, 6, 1, 10, 15, tzinfo=UTC)


@pytest.fixture(scope="module")
def loaded() -> LoadedMatrix:
    return load_matrix(None)


@pytest.fixture(scope="module")
def staged(loaded: LoadedMatrix) -> StatusTemplates:
    return load_templates(loaded, EVIDENCE)


def test_the_shipped_templates_are_read_from_the_comms_objective(staged: StatusTemplates) -> None:
    assert set(staged.texts) == {
        "investigating",
        "degraded",
        "major_incident",
        "resolved",
        "stakeholder_update",
    }
    assert staged.paths["major_incident"] == "comms/status-major-incident.md"
    assert not staged.problems


@pytest.mark.prometheus
def test_figures_from_a_real_judgement(judged: Path, loaded: LoadedMatrix) -> None:
    figures = StatusFigures.from_judge_dir(judged, loaded, source="stages/25/judge-0001")
    lines = figures.lines()
    assert lines["stage"] == "25"
    assert lines["action"] == "PROMOTE"
    assert [r.name for r in figures.latency] == ["graphql_query_p95", "graphql_mutation_p95"]
    assert lines["p95"].startswith("graphql_query_p95 236 ms (SLO ≤ 350 ms)"), lines["p95"]
    assert lines["availability"] == "availability 99.99% (SLO ≥ 99.9%)"
    assert figures.burn is not None
    assert figures.burn.per_hour is not None
    # 0.01 % errors against a 0.1 % budget over 30 days: 0.1x, i.e. 0.1/720 of it per hour
    assert figures.burn.per_hour == pytest.approx(0.1 / 720, rel=1e-6)
    assert lines["error_budget_burn"].startswith(
        "0.0139 %/h of the 30d budget (rollback above 6 %/h"
    )
    assert "trigger error_budget_burn QUIET" in lines["error_budget_burn"]
    assert lines["gates"] == "G1 PASS on the canary"


@pytest.mark.prometheus
def test_a_stage_update_renders_the_stakeholder_template_with_the_figures(
    judged: Path, loaded: LoadedMatrix, staged: StatusTemplates, tmp_path: Path
) -> None:
    figures = StatusFigures.from_judge_dir(judged, loaded, source="stages/25/judge-0001")
    record = write_status(tmp_path, "stage", figures, at=AT, templates=staged)
    assert record.file == "status/20260601T101500Z-stage.md"
    text = (tmp_path / record.file).read_text()
    assert text.startswith(
        "GA cutover update: stage 25%, gates G1 PASS on the canary, next checkpoint unknown."
    )
    assert "- canary latency: graphql_query_p95 236 ms" in text
    assert "- template: stakeholder_update (comms/stakeholder-update.md)" in text
    assert (record.template, record.hook) == ("stakeholder_update", None)


def test_unknown_figures_say_unknown_never_zero(staged: StatusTemplates) -> None:
    text, _, _ = render("scheduled", StatusFigures.unknown(), staged, at=AT)
    assert "- stage: unknown (last judgement: unknown)" in text
    for label in ("canary latency", "canary availability", "error-budget burn", "triggers"):
        assert f"- {label}: unknown" in text
    assert " 0%" not in text
    assert " 0 ms" not in text


@pytest.mark.prometheus
def test_missing_availability_keeps_the_burn_unknown(judged: Path, loaded: LoadedMatrix) -> None:
    judgement = judgement_of(judged)
    assert judgement.canary is not None
    blind = [
        o.model_copy(update={"observed": None}) if o.name == "availability" else o
        for o in judgement.canary.objectives
    ]
    canary = judgement.canary.model_copy(update={"objectives": blind})
    figures = StatusFigures.from_judgement(judgement.model_copy(update={"canary": canary}), loaded)
    assert figures.burn is not None
    assert figures.burn.per_hour is None
    assert figures.lines()["availability"].startswith("availability unknown")
    assert figures.lines()["error_budget_burn"].startswith("unknown of the 30d budget")


@pytest.mark.parametrize(
    ("kind", "role"),
    [
        ("scheduled", "stakeholder_update"),
        ("stage", "stakeholder_update"),
        ("interrupted", "stakeholder_update"),
        ("rollback", "major_incident"),
        ("complete", "resolved"),
    ],
)
def test_each_kind_uses_its_template(kind: str, role: str, staged: StatusTemplates) -> None:
    text, used, problems = render(kind, StatusFigures.unknown(stage=5), staged, at=AT)
    assert (used, problems) == (role, [])
    assert staged.texts[role].split("{{")[0].strip()[:20] in text


def test_progress_falls_back_to_investigating_and_a_rollback_is_written_without_its_template(
    staged: StatusTemplates, tmp_path: Path
) -> None:
    texts = {
        k: v for k, v in staged.texts.items() if k not in {"stakeholder_update", "major_incident"}
    }
    partial = StatusTemplates(texts, {"major_incident": "comms/x.md: blank"}, staged.paths)
    _, used, problems = render("scheduled", StatusFigures.unknown(), partial, at=AT)
    assert used == "investigating"
    assert problems == [
        "template 'stakeholder_update' is not configured in the matrix's comms objective"
    ]
    record = write_status(
        tmp_path, "rollback", StatusFigures.unknown(stage=5), at=AT, templates=partial
    )
    text = (tmp_path / record.file).read_text()
    assert record.template is None
    assert text.startswith(
        "**rollback** — no staged template for this update (template 'major_incident': comms/x.md: blank)."
    )
    assert "- stage: 5 % canary traffic" in text


def test_blank_and_missing_templates_are_problems_not_text(
    tmp_path: Path, loaded: LoadedMatrix
) -> None:
    (tmp_path / "comms").mkdir()
    (tmp_path / "comms" / "status-resolved.md").write_text(" \n\t\n")
    (tmp_path / "comms" / "status-major-incident.md").write_bytes(b"\xff\xfe broken")
    got = load_templates(loaded, tmp_path)
    assert got.texts == {}
    assert got.problems["resolved"] == "comms/status-resolved.md: blank"
    assert got.problems["major_incident"].startswith("comms/status-major-incident.md: not UTF-8")
    assert got.problems["investigating"] == "comms/status-investigating.md: missing"


def test_templates_of_the_preflight_run_are_the_captured_bytes(
    tmp_path: Path, loaded: LoadedMatrix
) -> None:
    from igkit.cli.main import main

    out = tmp_path / "preflight"
    argv = ["go-no-go", "--gate", "G8", "--evidence", str(EVIDENCE), "--out", str(out)]
    main([*argv, "--prom-url", "http://127.0.0.1:9"])  # G8 reads documents only
    got = templates_from_run(out, loaded)
    assert got.texts == load_templates(loaded, EVIDENCE).texts
    snapshot = next((out / "snapshots").glob("G8-comms_templates-*.json"))
    snapshot.write_text(snapshot.read_text().replace('"comms/', '"Comms/', 1))
    tampered = templates_from_run(out, loaded)
    assert tampered.texts == {}
    assert all("snapshots unusable" in why for why in tampered.problems.values())


HOSTILE = [
    "{0.__class__.__mro__}",
    "{stage.__init__.__globals__}",
    "{{ stage.__class__ }}",
    "$stage %(stage)s %s {} {{}} {{unknown}} {Stage} {stage!r}",
    "{{ p95 }} {p95}",
]


@pytest.mark.parametrize("template", HOSTILE)
def test_template_text_is_never_evaluated(template: str) -> None:
    figures = StatusFigures(stage=25, action=Action.PROMOTE.value)
    templates = StatusTemplates({"stakeholder_update": template})
    text, _, _ = render("stage", figures, templates, at=AT)
    body = text.split("\n\n---\n")[0]
    if template == "{{ p95 }} {p95}":  # positive control: the fixed placeholders do render
        assert body == "unknown unknown"
    else:
        assert body == template


@pytest.mark.property
@given(st.text(max_size=200))
def test_render_replaces_only_placeholders(template: str) -> None:
    figures = StatusFigures(stage=50)
    templates = StatusTemplates({"stakeholder_update": template + "x"})
    text, used, _ = render("stage", figures, templates, at=AT)
    assert used == "stakeholder_update"
    body = text.split("\n\n---\nigkit cutover status update")[0]
    stripped = template + "x"
    import re

    rx = r"\{\{\s*(" + "|".join(PLACEHOLDERS) + r")\s*\}\}|\{(" + "|".join(PLACEHOLDERS) + r")\}"
    if not re.search(rx, stripped):
        assert body == stripped.rstrip()


def test_secrets_in_a_template_are_redacted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IGKIT_PROM_TOKEN", "tok-s3cret-value")
    templates = StatusTemplates({"resolved": "done tok-s3cret-value"})
    record = write_status(tmp_path, "complete", StatusFigures.unknown(), at=AT, templates=templates)
    text = (tmp_path / record.file).read_text()
    assert "tok-s3cret-value" not in text
    assert "done [REDACTED]" in text


def test_two_updates_in_the_same_second_keep_both(tmp_path: Path, staged: StatusTemplates) -> None:
    a = write_status(tmp_path, "stage", StatusFigures.unknown(), at=AT, templates=staged)
    b = write_status(tmp_path, "stage", StatusFigures.unknown(), at=AT, templates=staged)
    assert (a.file, b.file) == (
        f"status/{compact(AT)}-stage.md",
        f"status/{compact(AT)}-stage-2.md",
    )


def test_unknown_kind_is_refused(staged: StatusTemplates) -> None:
    with pytest.raises(ValueError, match="unknown status kind 'oops'"):
        render("oops", StatusFigures.unknown(), staged, at=AT)


def test_the_hook_gets_the_file_and_its_output_is_logged_redacted(
    tmp_path: Path, staged: StatusTemplates, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IGKIT_PROM_TOKEN", "tok-s3cret-value")
    script = "import sys; print(open(sys.argv[1]).read()[:10]); print('tok-s3cret-value')"
    hook = f"{sys.executable} -c {script!r} {{file}}"
    record = write_status(
        tmp_path, "stage", StatusFigures.unknown(), at=AT, templates=staged, hook=hook
    )
    assert record.hook is not None
    assert record.hook_exit_code == 0
    assert record.hook.error is None
    assert record.hook.argv[-1] == str(tmp_path / record.file)
    log = (tmp_path / str(record.hook.log)).read_text()
    assert log == "GA cutover\n[REDACTED]\n"


def test_a_failing_hook_is_recorded_not_raised(tmp_path: Path, staged: StatusTemplates) -> None:
    hook = f"{sys.executable} -c 'import sys; print(\"down\"); sys.exit(3)'"
    record = write_status(
        tmp_path, "rollback", StatusFigures.unknown(), at=AT, templates=staged, hook=hook
    )
    assert record.hook is not None
    assert (record.hook.exit_code, record.hook.error) == (3, "exited 3")
    assert (tmp_path / record.file).is_file()
    assert record.hook.argv[-1] == str(tmp_path / record.file)  # no {file}: appended


def test_a_hanging_hook_is_killed_with_its_children(
    tmp_path: Path, staged: StatusTemplates
) -> None:
    hook = "sh -c 'sleep 30 & sleep 30' {file}"
    record = write_status(
        tmp_path,
        "stage",
        StatusFigures.unknown(),
        at=AT,
        templates=staged,
        hook=hook,
        hook_timeout=0.5,
    )
    assert record.hook is not None
    assert record.hook.exit_code is None
    assert record.hook.error == "timed out after 0.5 s; killed"
    assert record.hook.duration_s < 10


def test_a_hook_that_cannot_start_is_recorded(tmp_path: Path, staged: StatusTemplates) -> None:
    record = write_status(
        tmp_path,
        "stage",
        StatusFigures.unknown(),
        at=AT,
        templates=staged,
        hook="/nonexistent/hook {file}",
    )
    assert record.hook is not None
    assert record.hook.exit_code is None
    assert str(record.hook.error).startswith("could not start /nonexistent/hook")
    shell = write_status(
        tmp_path,
        "stage",
        StatusFigures.unknown(),
        at=AT,
        templates=staged,
        hook="echo 'a; rm -rf x' {file}",
    )
    assert shell.hook is not None
    assert shell.hook.exit_code == 0
    assert (tmp_path / str(shell.hook.log)).read_text().startswith("a; rm -rf x ")


def test_parse_hook_refuses_what_shlex_cannot_split() -> None:
    from igkit.conductor.status import parse_hook

    with pytest.raises(ConfigError, match="--status-hook: cannot split the command"):
        parse_hook("notify 'unterminated {file}")
    with pytest.raises(ConfigError, match="empty command"):
        parse_hook("   ")
    assert parse_hook("notify --to 'war room' {file}") == ["notify", "--to", "war room", "{file}"]


@pytest.mark.prometheus
def test_post_deploy_figures_come_from_a_trigger_report(judged: Path, loaded: LoadedMatrix) -> None:
    from igkit.cutover.models import TriggerReport
    from igkit.strictdoc import load_model

    path = judged / "triggers" / "triggers.json"
    report = load_model(TriggerReport, path.read_bytes(), where=str(path))
    figures = StatusFigures.from_triggers(
        report, loaded, stage=100, source="postdeploy/checks/0001"
    )
    lines = figures.lines()
    assert (lines["stage"], lines["p95"], lines["availability"]) == ("100", "unknown", "unknown")
    assert lines["error_budget_burn"] == (
        "unknown of the 30d budget (rollback above 6 %/h; trigger error_budget_burn QUIET)"
    )
    assert lines["triggers"] == (
        "error_budget_burn QUIET, latency_degradation QUIET, security_policy_failure QUIET, "
        "cost_spike QUIET"
    )


def test_the_hook_finds_the_file_from_a_relative_run_dir(
    tmp_path: Path, staged: StatusTemplates, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    hook = f"{sys.executable} -c 'import sys; print(open(sys.argv[1]).read()[:2])' {{file}}"
    record = write_status(
        Path("D"), "stage", StatusFigures.unknown(), at=AT, templates=staged, hook=hook
    )
    assert record.hook is not None
    assert record.hook.exit_code == 0
    assert (tmp_path / "D" / str(record.hook.log)).read_text() == "GA\n"


@pytest.mark.prometheus
def test_a_hold_or_rollback_says_why_a_promotion_does_not(
    judged: Path, loaded: LoadedMatrix, staged: StatusTemplates
) -> None:
    judgement = judgement_of(judged)
    assert StatusFigures.from_judgement(judgement, loaded).why is None
    held = judgement.model_copy(update={"action": Action.HOLD, "reasons": ["x" * 400, "y"]})
    why = StatusFigures.from_judgement(held, loaded).why
    assert why == "x" * 299 + "…"
    text, _, _ = render("rollback", StatusFigures.from_judgement(held, loaded), staged, at=AT)
    assert f"- why: {why}\n" in text
