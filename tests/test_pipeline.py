"""The whole pipeline: verdicts come from the library with or without notebooks (a failed
report is exit 3, never another verdict), the demo writes a bundle an auditor can check with
sha256sum and openssl, and no secret reaches any file."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

import igkit.cli.go_no_go
import igkit.report.notebooks
from igkit.cli.main import main
from igkit.demo import demo_snapshot_dir, demo_trust_dir

# End to end with kernels, Chromium and signing (~3.5 min of CPU): `make test-slow`, run by CI.
pytestmark = pytest.mark.slow


@pytest.fixture
def notebooks_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(igkit.cli.go_no_go, "NOTEBOOKS_BY_DEFAULT", True)


def test_notebooks_and_pure_path_write_identical_verdicts(
    notebooks_on: None, tmp_path: Path
) -> None:
    sample = str(demo_snapshot_dir())
    trust = ["--trust", str(demo_trust_dir())]  # replay takes no anchor from the sample itself
    assert (
        main(
            [
                "go-no-go",
                "--validate-all",
                "--replay",
                sample,
                *trust,
                "--out",
                str(tmp_path / "nb"),
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "go-no-go",
                "--validate-all",
                "--replay",
                sample,
                *trust,
                "--no-notebooks",
                "--out",
                str(tmp_path / "pure"),
            ]
        )
        == 0
    )
    with_notebooks = json.loads((tmp_path / "nb" / "verdicts.json").read_text())
    pure = json.loads((tmp_path / "pure" / "verdicts.json").read_text())
    assert with_notebooks == pure
    assert len(list((tmp_path / "nb" / "notebooks").glob("G*.ipynb"))) == 8
    assert not (tmp_path / "pure" / "notebooks").exists()


def test_a_kernel_that_does_not_start_fails_the_reports_not_the_decision(
    notebooks_on: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sample = str(demo_snapshot_dir())
    trust = ["--trust", str(demo_trust_dir())]
    args = ["go-no-go", "--gate", "G1", "--gate", "G7", "--replay", sample, *trust, "--bundle"]
    assert main([*args, "--no-notebooks", "--out", str(tmp_path / "pure")]) == 0  # control
    capsys.readouterr()
    # a kernel that never answers: ipykernel_launcher shadowed by one that only sleeps
    fake = tmp_path / "fake-kernel"
    fake.mkdir()
    (fake / "ipykernel_launcher.py").write_text("import time\ntime.sleep(60)\n")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(fake), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setattr(igkit.report.notebooks, "KERNEL_START_TIMEOUT", 3)
    out = tmp_path / "run"
    assert main([*args, "--out", str(out)]) == 3
    err = capsys.readouterr().err
    assert "igkit: error: the report of G1, G7 failed" in err
    assert "verdicts.json holds the library's decision PARTIAL; no bundle was signed" in err
    assert "Kernel didn't respond in 3 seconds" in err
    decided = json.loads((out / "verdicts.json").read_text())
    pure = json.loads((tmp_path / "pure" / "verdicts.json").read_text())
    assert decided == pure  # the library's verdicts, untouched
    assert not (out / "bundle").exists()
    assert (tmp_path / "pure" / "bundle").is_dir()
    status = json.loads((out / "notebooks" / "reports.json").read_text())
    assert [g["status"] for g in status["gates"]] == ["failed", "failed"]
    index = (out / "reports" / "index.html").read_text()
    assert "REPORT FAILED" in index
    assert index.count("report failed:") == 2


def test_demo_writes_a_bundle_that_verifies_with_and_without_igkit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out)]) == 0
    assert "UNTRUSTED demo key" in capsys.readouterr().out
    bundle, pub = out / "bundle", out / "demo-key.pub.pem"
    assert (bundle / "UNTRUSTED-DEMO-KEY.txt").read_text().lower().count("untrusted demo key") >= 1
    reports = sorted(p.name for p in (bundle / "reports").iterdir())
    assert "index.pdf" in reports
    assert "G8_support_comms.html" in reports
    assert json.loads((bundle / "war-room.json").read_text())["decision"] == "GO"
    assert (bundle / "war-room.png").read_bytes().startswith(b"\x89PNG")
    for doc in (
        "release.yaml",
        "drill/report.yaml",
        "approvals.yaml",
        "attestations/intelgraph-api.intoto.jsonl",
    ):
        assert (bundle / "evidence" / doc).is_file(), doc
    subprocess.run(
        ["sha256sum", "-c", "--strict", "--quiet", "manifest-sha256.txt"], cwd=bundle, check=True
    )
    verified = subprocess.run(
        [
            "openssl",
            "dgst",
            "-sha256",
            "-verify",
            str(pub),
            "-signature",
            "manifest-sha256.txt.sig",
            "manifest-sha256.txt",
        ],
        cwd=bundle,
        capture_output=True,
        text=True,
        check=True,
    )
    assert verified.stdout.strip() == "Verified OK"
    assert main(["bundle", "verify", str(bundle), "--key", str(pub), "--replay"]) == 0
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["releaseTag"] == "v1.4.0"
    assert [g["status"] for g in manifest["gates"]] == ["PASS"] * 8
    text = subprocess.run(
        ["pdftotext", str(bundle / "reports" / "index.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert re.search(r"Decision:\s*GO\b", text), text  # a bare "GO" is also in "NO-GO"
    assert "untrusted demo key" in text.lower()


def test_no_secret_reaches_any_output(
    notebooks_on: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    canary = "canary-secret-7d1f3a9b"
    monkeypatch.setenv("IGKIT_PROM_TOKEN", canary)
    monkeypatch.setenv("IGKIT_PROM_PASSWORD", canary + "-pw")
    out = tmp_path / "run"
    rc = main(
        [
            "go-no-go",
            "--validate-all",
            "--replay",
            str(demo_snapshot_dir()),
            "--trust",
            str(demo_trust_dir()),
            "--bundle",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    files = [p for p in out.rglob("*") if p.is_file()]
    assert len(files) > 40
    for path in files:
        assert canary.encode() not in path.read_bytes(), path
