"""The matrix's journeys objective (validation, the shipped one) and the CLI's refusals: every
one exit 2 or 3 with one line naming the field, before k6 is ever started."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from igkit.cli.main import main
from igkit.errors import ConfigError
from igkit.spec.loader import load_matrix
from igkit.spec.models import JourneysObjective
from tests.journeys.support import PASSWORD, closed_port_url, journeys_matrix, shipped_journeys


def test_the_shipped_matrix_holds_the_seed_journey_reported_only_in_g5() -> None:
    found = load_matrix().matrix.objectives_of(JourneysObjective)
    assert [(g.id, o.name) for g, o in found] == [("G5", "synthetic_journeys")]
    obj = found[0][1]
    assert obj.gated is False
    assert obj.password_env == "IGKIT_JOURNEY_PASSWORD"
    assert [s.name for s in obj.steps] == ["login", "query", "write", "traverse"]
    assert [s.token_from for s in obj.steps] == ["token", None, None, None]
    # the password is a placeholder k6 fills from the environment, never a value
    assert obj.steps[0].body == {"username": "{{username}}", "password": "{{password}}"}


def _invalid(tmp_path: Path, change: dict[str, Any] | None = None, **step: Any) -> str:
    obj = shipped_journeys()
    if step:
        obj["steps"] = [dict(obj["steps"][0], **step), *obj["steps"][1:]]
    path = journeys_matrix(tmp_path / "m.json", steps=obj["steps"])
    doc = json.loads(path.read_text())
    doc["gates"][0]["objectives"][0].update(change or {})
    path.write_text(json.dumps(doc))
    with pytest.raises(ConfigError) as info:
        load_matrix(path)
    return str(info.value)


@pytest.mark.parametrize(
    ("change", "step", "words"),
    [
        (None, {"auth": True}, "no earlier step gives a token"),
        (None, {"token_from": "jwt"}, "must also be in expect_json"),
        (None, {"path": "auth/login"}, "path"),
        (None, {"p95": {"value": 50, "unit": "percent"}}, "p95 is a latency"),
        (None, {"expect_status": True}, "expect_status"),
        (None, {"headers": {"X Bad": "1"}}, "not an HTTP header name"),
        ({"password_env": "K6_PASSWORD"}, {}, "k6's own options"),
        ({"password_env": "lower"}, {}, "password_env"),
        ({"min_iterations": 0}, {}, "min_iterations"),
        ({"request_timeout": "1h"}, {}, "request_timeout must lie between"),
        ({"password": "inline"}, {}, "password"),
    ],
)
def test_a_malformed_journeys_objective_is_refused_naming_it(
    tmp_path: Path, change: dict[str, Any] | None, step: dict[str, Any], words: str
) -> None:
    assert words in _invalid(tmp_path, change, **step)


def test_duplicate_step_names_are_refused(tmp_path: Path) -> None:
    obj = shipped_journeys()
    steps = [*obj["steps"], dict(obj["steps"][1])]
    path = journeys_matrix(tmp_path / "m.json", steps=steps)
    with pytest.raises(ConfigError, match="names listed twice: query"):
        load_matrix(path)


def test_the_test_matrix_is_valid(tmp_path: Path) -> None:
    """Positive control of the refusals above: the unchanged objective loads."""
    loaded = load_matrix(journeys_matrix(tmp_path / "m.json"))
    assert len(loaded.matrix.objectives_of(JourneysObjective)) == 1


def _cli(tmp_path: Path, *extra: str, matrix: Path | None = None) -> list[str]:
    matrix = matrix or journeys_matrix(tmp_path / "m.json")
    argv = ["journeys", "run", "--matrix", str(matrix), "--out", str(tmp_path / "out")]
    return [*argv, *extra]


def test_refusals_exit_2_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = closed_port_url()
    monkeypatch.delenv("IGKIT_JOURNEY_PASSWORD", raising=False)
    assert main(_cli(tmp_path, "--base-url", url)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "IGKIT_JOURNEY_PASSWORD: is not set" in err

    monkeypatch.setenv("IGKIT_JOURNEY_PASSWORD", PASSWORD)
    secret_url = "http://bot:hunter2-secret@127.0.0.1:9"
    assert main(_cli(tmp_path, "--base-url", secret_url)) == 2
    err = capsys.readouterr().err
    assert "--base-url: must not hold credentials" in err
    assert "hunter2-secret" not in err

    for flags, words in [
        (["--base-url", "ftp://127.0.0.1"], "--base-url: must be an http"),
        (["--base-url", url, "--vus", "0"], "--vus"),
        (["--base-url", url, "--duration", "soon"], "--duration"),
        (["--base-url", url, "--objective", "nope"], "--objective"),
    ]:
        assert main(_cli(tmp_path, *flags)) == 2, flags
        assert words in capsys.readouterr().err

    monkeypatch.setenv("IGKIT_JOURNEY_PASSWORD", "abc")
    assert main(_cli(tmp_path, "--base-url", url)) == 2
    assert "shorter than 4 characters" in capsys.readouterr().err


def test_a_matrix_without_journeys_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("IGKIT_JOURNEY_PASSWORD", PASSWORD)
    doc = json.loads(journeys_matrix(tmp_path / "m.json").read_text())
    doc["gates"][0]["objectives"] = [
        {"type": "comms", "name": "comms", "templates": {"status": "status.md"}}
    ]
    other = tmp_path / "other.json"
    other.write_text(json.dumps(doc))
    assert main(_cli(tmp_path, "--base-url", closed_port_url(), matrix=other)) == 2
    assert "has no objective of type journeys" in capsys.readouterr().err


def test_a_foreign_out_directory_is_never_written_into(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("IGKIT_JOURNEY_PASSWORD", PASSWORD)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "mine.txt").write_text("keep")
    assert main(_cli(tmp_path, "--base-url", closed_port_url())) == 2
    assert "not an igkit run directory" in capsys.readouterr().err
    assert (tmp_path / "out" / "mine.txt").read_text() == "keep"


def test_k6_missing_is_a_tool_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("IGKIT_JOURNEY_PASSWORD", PASSWORD)
    monkeypatch.setenv("IGKIT_K6", str(tmp_path / "no-k6"))
    assert main(_cli(tmp_path, "--base-url", closed_port_url())) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "IGKIT_K6=" in err
    assert "not an executable file" in err
    assert not (tmp_path / "out" / "journeys.json").exists()
