"""``igkit finops verify-tier``: the real k6 runs a script (or the matrix's journeys) against
a loopback service; verify-tier.json records the tier, its actions and whether core flows
stayed green, with the hash of every file the verdict came from."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from igkit.cli.main import main
from igkit.strictdoc import load_json
from tests.support.k6_target import k6_target

K6_DIR = Path(__file__).parent / "k6"

pytestmark = pytest.mark.slow  # real k6 runs: make test-slow (CI runs it)


def _result(out: Path) -> dict[str, object]:
    path = out / "verify-tier.json"
    data = load_json(path.read_bytes(), where=str(path))
    assert isinstance(data, dict)
    return data


def _verify(out: Path, script: str, tier: str = "3", *extra: str) -> int:
    return main(
        [
            "finops",
            "verify-tier",
            "--tier",
            tier,
            "--k6-script",
            str(K6_DIR / script),
            "--out",
            str(out),
            *extra,
        ]
    )


@pytest.fixture(scope="module")
def target() -> object:
    with k6_target() as url:
        yield url


def test_core_flows_green_at_a_tier(
    target: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TARGET", target)
    monkeypatch.setenv("EXPECT_TIER", "3")
    assert _verify(tmp_path / "t3", "core_flows.js") == 0
    r = _result(tmp_path / "t3")
    assert (r["tier"], r["name"], r["status"], r["green"]) == (3, "Shed", "PASS", True)
    assert r["actions"] == ["pause background enrichers", "cache-only for heavy reads"]
    assert r["method"] == "k6-script"
    assert r["k6_exit_code"] == 0
    assert r["reasons"] == ["16 checks passed, 1 k6 thresholds held"]
    files = {f["file"]: f["sha256"] for f in r["files"]}  # type: ignore[attr-defined]
    assert (
        files[str(K6_DIR / "core_flows.js")]
        == hashlib.sha256((K6_DIR / "core_flows.js").read_bytes()).hexdigest()
    )
    for rel in ("k6/summary-export.json", "k6/points.json.gz", "k6/k6.log"):
        assert files[rel] == hashlib.sha256((tmp_path / "t3" / rel).read_bytes()).hexdigest()
    snap = json.loads((tmp_path / "t3" / "snapshots/k6-summary.json").read_text())
    assert files["snapshots/k6-summary.json"] == snap["sha256"]
    assert snap["file_sha256"] == files["k6/summary-export.json"]


def test_failing_core_flows_are_not_green(
    target: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TARGET", target)
    monkeypatch.setenv("EXPECT_TIER", "5")
    monkeypatch.setenv("FAIL_EVERY", "4")  # every 4th request a 500
    assert _verify(tmp_path / "t5", "core_flows.js", "5") == 1
    r = _result(tmp_path / "t5")
    assert (r["tier"], r["name"], r["status"], r["green"]) == (5, "Protect", "FAIL", False)
    reasons = r["reasons"]
    assert isinstance(reasons, list)
    assert "k6 threshold rate==1 on checks crossed" in reasons
    assert any(x.endswith("checks failed") for x in reasons)


def test_the_tier_reaches_the_script(
    target: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The script sees IGKIT_TIER: claiming tier 2 while the script expects 4 fails its check."""
    monkeypatch.setenv("TARGET", target)
    monkeypatch.setenv("EXPECT_TIER", "4")
    assert _verify(tmp_path / "t2", "core_flows.js", "2") == 1
    assert _result(tmp_path / "t2")["status"] == "FAIL"


def test_a_script_that_checks_nothing_proves_nothing(
    target: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TARGET", target)
    assert _verify(tmp_path / "nc", "no_checks.js") == 1
    r = _result(tmp_path / "nc")
    assert (r["status"], r["green"]) == ("NO_DATA", False)
    assert "made no checks" in str(r["reasons"])


def test_a_broken_script_is_an_error_not_green(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _verify(tmp_path / "br", "broken.js") == 1
    r = _result(tmp_path / "br")
    assert (r["status"], r["green"]) == ("ERROR", False)
    assert str(r["reasons"]).count("k6 exited") == 1
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--tier", "7", "--k6-script", "x.js"], "--tier"),
        (["--tier", "two", "--k6-script", "x.js"], "--tier"),
        (["--tier", "1", "--k6-script", "/nonexistent/x.js"], "--k6-script"),
        (["--tier", "1"], "--journeys-base-url"),
    ],
)
def test_usage_errors_exit_2_with_one_line(
    args: list[str], named: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        rc = main(["finops", "verify-tier", *args, "--out", str(tmp_path / "o")])
    except SystemExit as exc:  # argparse's own refusals
        rc = int(exc.code or 0)
    assert rc == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert named in err


def test_a_matrix_without_a_ladder_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.finops_ladder.support import matrix_without_ladder

    matrix = matrix_without_ladder(tmp_path / "m.yaml")
    rc = main(
        [
            "finops",
            "verify-tier",
            "--tier",
            "1",
            "--k6-script",
            str(K6_DIR / "core_flows.js"),
            "--out",
            str(tmp_path / "o"),
            "--matrix",
            str(matrix),
        ]
    )
    assert rc == 2
    assert "has no cost_ladder" in capsys.readouterr().err


def _journeys_matrix(path: Path) -> Path:
    from tests.finops_ladder.support import shipped, write_matrix
    from tests.journeys.support import journeys_matrix

    doc = json.loads(journeys_matrix(path).read_text(encoding="utf-8"))
    doc["cost_ladder"] = shipped()["cost_ladder"]
    return write_matrix(path, doc)


@pytest.mark.parametrize(
    ("faults", "rc", "status"), [(None, 0, "PASS"), ({"error_rate": 0.5}, 1, "FAIL")]
)
def test_the_matrix_journeys_verify_a_tier(
    faults: dict[str, float] | None,
    rc: int,
    status: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The synthetic journeys (igkit journeys run) against h1's loopback service: a healthy
    service keeps the core flows green at tier 4; one failing half its requests does not."""
    from tests.journeys.support import PASSWORD, loopback_service

    matrix = _journeys_matrix(tmp_path / "matrix.json")
    monkeypatch.setenv("IGKIT_JOURNEY_PASSWORD", PASSWORD)
    out = tmp_path / "t4"
    with loopback_service(tmp_path / "service", faults=faults) as url:
        args = ["finops", "verify-tier", "--tier", "4", "--journeys-base-url", url]
        args += ["--out", str(out), "--matrix", str(matrix), "--duration", "2s", "--vus", "1"]
        assert main(args) == rc
    r = _result(out)
    assert (r["tier"], r["name"], r["status"], r["green"]) == (4, "Degrade", status, rc == 0)
    assert r["actions"] == ["disable advanced analytics", "reduce graph depth >2 hops"]
    assert r["method"] == "journeys"
    journeys = json.loads((out / "journeys.json").read_text(encoding="utf-8"))
    assert journeys["status"] == status
    files = {f["file"]: f["sha256"] for f in r["files"]}  # type: ignore[attr-defined]
    assert files["snapshots/journeys.json"] == journeys["snapshot_sha256"]
    assert (
        files["journeys.json"] == hashlib.sha256((out / "journeys.json").read_bytes()).hexdigest()
    )
    assert PASSWORD not in (out / "verify-tier.json").read_text(encoding="utf-8")
