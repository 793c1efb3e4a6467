"""G3/G4/G7/G8 through `igkit go-no-go --evidence DIR`: the demo evidence verifies, and
every kind of tampering, staleness and path trick is caught — live and on replay."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from igkit.cli.main import main
from tests.support.prometheus import PrometheusServer
from tests.support.scenarios import SCENARIOS

EVIDENCE = Path(__file__).resolve().parents[1] / "fixtures" / "demo-evidence"
TRUST = Path(__file__).resolve().parents[1] / "fixtures" / "demo-trust"  # beside, not inside
AT = SCENARIOS["all_green"].eval_time.isoformat()  # the demo evidence is dated for this time
NOWHERE = "http://127.0.0.1:9"  # G3/G7/G8 read documents only; Prometheus is never asked
DOC_GATES = ["--gate", "G3", "--gate", "G7", "--gate", "G8"]


@pytest.fixture
def evidence(tmp_path: Path) -> Path:
    target = tmp_path / "evidence"
    shutil.copytree(EVIDENCE, target)
    shutil.copytree(TRUST, tmp_path / "trust")
    return target


def run(args: list[str], out: Path, trust: Path = TRUST) -> tuple[int, dict[str, Any]]:
    rc = main(["go-no-go", "--out", str(out), "--trust", str(trust), *args])
    return rc, json.loads((out / "verdicts.json").read_text())


def statuses(verdicts: dict[str, Any]) -> dict[str, str]:
    return {o["name"]: o["status"] for g in verdicts["gates"] for o in g["objectives"]}


def reasons(verdicts: dict[str, Any]) -> str:
    return "\n".join(r for g in verdicts["gates"] for r in g["reasons"])


def test_demo_evidence_verifies_and_replays_offline(evidence: Path, tmp_path: Path) -> None:
    rc, live = run(
        [*DOC_GATES, "--prom-url", NOWHERE, "--at", AT, "--evidence", str(evidence)],
        tmp_path / "live",
    )
    assert rc == 0, reasons(live)
    assert statuses(live) == dict.fromkeys(
        ["slsa_provenance", "sbom_clean", "dr_drill", "approvals", "comms_templates"], "PASS"
    )
    shutil.rmtree(evidence)  # the snapshots carry the bytes: replay re-verifies without the files
    rc, again = run([*DOC_GATES, "--replay", str(tmp_path / "live")], tmp_path / "again")
    assert rc == 0
    assert again["gates"] == live["gates"]


@pytest.mark.prometheus
def test_g4_bundle_and_latency_together(
    evidence: Path, tmp_path: Path, prometheus: PrometheusServer
) -> None:
    rc, verdicts = run(
        ["--gate", "G4", "--prom-url", prometheus.url, "--at", AT, "--evidence", str(evidence)],
        tmp_path / "o",
    )
    assert rc == 0, reasons(verdicts)
    assert statuses(verdicts) == {
        "opa_decision_p95": "PASS",
        "webauthn_stepup_success": "PASS",
        "bundle_signature": "PASS",
    }


def flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def other_key(path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    path.write_bytes(
        key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def edit(rel: str, old: str, new: str) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        path = root / rel
        text = path.read_text()
        assert old in text, (rel, old)
        path.write_text(text.replace(old, new))

    return apply


def other_component(root: Path) -> None:
    path = root / "sboms" / "intelgraph-api.cdx.json"
    bom = json.loads(path.read_text())
    bom["metadata"]["component"].update(
        name="billing", hashes=[{"alg": "SHA-256", "content": "0" * 64}]
    )
    path.write_text(json.dumps(bom))


CASES: dict[str, tuple[Callable[[Path], None], str, str, str]] = {
    # name: (tamper, objective, status, words in the reason)
    "artifact one byte": (
        lambda r: flip_byte(r / "artifacts" / "intelgraph-api-1.4.0.tar"),
        "slsa_provenance",
        "FAIL",
        "subject digest",
    ),
    "provenance payload": (
        edit("attestations/intelgraph-api.intoto.jsonl", '"payload": "', '"payload": "eyJ4Ijox'),
        "slsa_provenance",
        "FAIL",
        "signature",
    ),
    "wrong key": (  # the trust anchor is not the key that signed
        lambda r: other_key(r.parent / "trust" / "keys" / "provenance.pub.pem"),
        "slsa_provenance",
        "FAIL",
        "signature",
    ),
    "missing provenance": (
        lambda r: (r / "attestations" / "intelgraph-api.intoto.jsonl").unlink(),
        "slsa_provenance",
        "FAIL",
        "missing",
    ),
    "critical finding": (
        edit("sboms/intelgraph-api.cdx.json", '"state": "not_affected"', '"state": "exploitable"'),
        "sbom_clean",
        "FAIL",
        "CVE-2020-14343",
    ),
    "sbom of another artifact": (other_component, "sbom_clean", "FAIL", "describe"),
    "drill missed RTO": (
        edit(
            "drill/report.yaml",
            "service_restored_at: 2025-02-27T14:52:30Z",
            "service_restored_at: 2025-02-27T15:20:00Z",
        ),
        "dr_drill",
        "FAIL",
        "RTO",
    ),
    "drill in prod? no": (
        edit("drill/report.yaml", "env: prod", "env: staging"),
        "dr_drill",
        "FAIL",
        "staging",
    ),
    "approval rejected": (
        edit(
            "approvals.yaml",
            "{role: secops, name: S. Ops, decision: approve",
            "{role: secops, name: S. Ops, decision: reject",
        ),
        "approvals",
        "FAIL",
        "secops",
    ),
    "role missing": (
        edit("approvals.yaml", "  - {role: qe,", "  # - {role: qe,"),
        "approvals",
        "FAIL",
        "qe",
    ),
    "unexpected role": (
        edit("approvals.yaml", "role: pm_cs", "role: intern"),
        "approvals",
        "FAIL",
        "intern",
    ),
    "empty template": (
        lambda r: (r / "comms" / "status-resolved.md").write_text("  \n"),
        "comms_templates",
        "FAIL",
        "resolved",
    ),
    "alias bomb": (
        lambda r: (r / "approvals.yaml").write_text(
            "a: &a [x, x, x, x, x, x, x, x, x]\n"
            + "".join(
                f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n"
                for i in range(12)
            )
        ),
        "approvals",
        "ERROR",
        "alias",
    ),
    "release escapes": (
        edit("release.yaml", "path: artifacts/", "path: ../../artifacts/"),
        "slsa_provenance",
        "ERROR",
        "release file",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_tampered_or_wrong_evidence_never_passes(case: str, evidence: Path, tmp_path: Path) -> None:
    tamper, objective, status, words = CASES[case]
    tamper(evidence)
    rc, verdicts = run(
        [*DOC_GATES, "--prom-url", NOWHERE, "--at", AT, "--evidence", str(evidence)],
        tmp_path / "o",
        trust=evidence.parent / "trust",
    )
    assert rc == 1
    assert statuses(verdicts)[objective] == status, reasons(verdicts)
    assert words.lower() in reasons(verdicts).lower()


def test_stale_evidence_a_month_later(evidence: Path, tmp_path: Path) -> None:
    rc, verdicts = run(
        [
            *DOC_GATES,
            "--prom-url",
            NOWHERE,
            "--at",
            "2025-04-01T00:00:00Z",
            "--evidence",
            str(evidence),
        ],
        tmp_path / "o",
    )
    assert rc == 1
    got = statuses(verdicts)
    assert got["dr_drill"] == "FAIL"  # older than 7 days
    assert got["approvals"] == "FAIL"  # outside the 24h freeze window


def test_symlink_inside_evidence_is_refused(evidence: Path, tmp_path: Path) -> None:
    secret = tmp_path / "outside.yaml"
    secret.write_text((evidence / "approvals.yaml").read_text())
    (evidence / "approvals.yaml").unlink()
    os.symlink(secret, evidence / "approvals.yaml")
    rc, verdicts = run(
        [*DOC_GATES, "--prom-url", NOWHERE, "--at", AT, "--evidence", str(evidence)], tmp_path / "o"
    )
    assert rc == 1
    assert statuses(verdicts)["approvals"] == "ERROR"
    assert "symlink" in reasons(verdicts)


def test_matrix_path_escaping_the_evidence_dir_is_a_config_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    matrix = tmp_path / "m.yaml"
    matrix.write_text(
        "gates:\n  - id: G7\n    name: DR\n    objectives:\n      - {type: drill, name: dr, report: ../../etc/passwd}\n"
    )
    assert main(["matrix", "validate", "--matrix", str(matrix)]) == 2
    assert "must be a relative path inside the evidence directory" in capsys.readouterr().err


def test_evidence_dir_that_does_not_exist(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(
        [
            "go-no-go",
            *DOC_GATES,
            "--prom-url",
            NOWHERE,
            "--evidence",
            str(tmp_path / "nope"),
            "--out",
            str(tmp_path / "o"),
        ]
    )
    assert rc == 2
    assert "evidence directory does not exist" in capsys.readouterr().err


def test_policy_bundle_with_path_traversal_is_refused_not_crashed(evidence: Path) -> None:
    import io
    import tarfile
    from datetime import UTC, datetime

    from igkit.judge.evidence.gates import evaluate_evidence
    from igkit.sources.evidence import capture_objective
    from igkit.spec.loader import load_matrix
    from igkit.trust import resolve_trust

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("../../escape.rego")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"x=1"))
    (evidence / "policy" / "bundle.tar.gz").write_bytes(buf.getvalue())
    loaded = load_matrix(None)
    obj = next(o for o in loaded.matrix.gate("G4").objectives if o.name == "bundle_signature")
    snap = capture_objective("G4", obj, evidence)  # type: ignore[arg-type]
    trust = resolve_trust(loaded, trust_dir=TRUST)
    verdict = evaluate_evidence("G4", obj, snap, datetime(2025, 3, 1, 3, 30, tzinfo=UTC), trust)  # type: ignore[arg-type]
    assert verdict.status in ("FAIL", "ERROR")
    assert ".." in verdict.reasons[0]
