"""Trust anchors come from the verifier's side (--trust DIR, $IGKIT_TRUST_DIR, beside the
matrix), never from --evidence: a forger who replaces both the signed document and the key
(or trusted root) inside the evidence directory gets FAIL, never PASS — for G3 keyed DSSE,
G3 keyless Sigstore and G4 RS256/ES256/HS256 bundles. Each case has its positive control:
the honest evidence verified with the anchors in --trust PASSes."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import shutil
import tarfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import given
from hypothesis import strategies as st

from igkit.cli.main import main
from igkit.snapshots import EvidenceSnapshot, read_snapshot
from tests.support.scenarios import SCENARIOS

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
DEMO_EVIDENCE = FIXTURES / "demo-evidence"
DEMO_TRUST = FIXTURES / "demo-trust"
SIGSTORE_PY = FIXTURES / "third_party" / "sigstore" / "sigstore-python"
A_TXT = FIXTURES / "third_party" / "sigstore" / "conformance" / "a.txt"
DSSE_BUNDLE = SIGSTORE_PY / "a.dsse.staging-rekor-v2.txt.sigstore.json"
STAGING_ROOT = SIGSTORE_PY / "trusted_root.staging.json"
PRODUCTION_ROOT = SIGSTORE_PY / "trusted_root.production.json"
BEACON = (
    "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/"
    ".github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main"
)
GHA = "https://token.actions.githubusercontent.com"
REKOR2_REGEN = "https://github.com/sigstore-conformance/rekor2-dsse-hashedrekord-regen"
AT = SCENARIOS["all_green"].eval_time.isoformat()
NOWHERE = "http://127.0.0.1:9"
PROV = "attestations/intelgraph-api.intoto.jsonl"


def go(args: list[str], out: Path) -> tuple[int, dict[str, Any]]:
    prom = [] if "--replay" in args else ["--prom-url", NOWHERE]
    rc = main(["go-no-go", *prom, "--no-notebooks", "--out", str(out), *args])
    return rc, json.loads((out / "verdicts.json").read_text())


def gate_run(
    gate: str, matrix: Path, evidence: Path, trust: Path, out: Path
) -> tuple[int, dict[str, Any]]:
    """One gate at AT, from ``evidence`` with anchors from ``trust``."""
    args = ["--matrix", str(matrix), "--gate", gate, "--at", AT, "--evidence", str(evidence)]
    return go([*args, "--trust", str(trust)], out)


def objective(verdicts: dict[str, Any], name: str) -> dict[str, Any]:
    return next(o for g in verdicts["gates"] for o in g["objectives"] if o["name"] == name)


def text(o: dict[str, Any]) -> str:
    return "\n".join(o["reasons"]) + "\n" + json.dumps(o.get("details"))


def pem(key: Any) -> bytes:
    return key.public_key().public_bytes(  # type: ignore[no-any-return]
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the demo evidence and, beside it, the demo's trust directory."""
    evidence, trust = tmp_path / "evidence", tmp_path / "trust"
    shutil.copytree(DEMO_EVIDENCE, evidence)
    shutil.copytree(DEMO_TRUST, trust)
    return evidence, trust


# ------------------------------------------------------------------ G3 keyed DSSE


def forge_provenance(evidence: Path, *, keyid: bool = True) -> str:
    """Re-sign the demo provenance with the forger's key, and put that key in the evidence
    where the matrix names the anchor (keys/provenance.pub.pem). Returns its fingerprint."""
    from igkit.judge.evidence.dsse import pae
    from igkit.judge.evidence.keys import fingerprint

    forger = ec.generate_private_key(ec.SECP256R1())
    fp = fingerprint(forger.public_key())
    path = evidence / PROV
    envelope = json.loads(path.read_text())
    payload = base64.b64decode(envelope["payload"])
    statement = json.loads(payload)
    statement["predicate"]["buildDefinition"]["externalParameters"] = {"forged": True}
    payload = json.dumps(statement).encode()
    from cryptography.hazmat.primitives import hashes

    sig = forger.sign(pae(envelope["payloadType"], payload), ec.ECDSA(hashes.SHA256()))
    envelope["payload"] = base64.b64encode(payload).decode()
    envelope["signatures"] = [{"keyid": fp if keyid else "", "sig": base64.b64encode(sig).decode()}]
    path.write_text(json.dumps(envelope))
    (evidence / "keys").mkdir(exist_ok=True)
    (evidence / "keys" / "provenance.pub.pem").write_bytes(pem(forger))
    return fp


def test_g3_honest_evidence_with_anchors_in_trust_passes(
    dirs: tuple[Path, Path], tmp_path: Path
) -> None:
    evidence, trust = dirs
    _rc, v = go(
        ["--gate", "G3", "--at", AT, "--evidence", str(evidence), "--trust", str(trust)],
        tmp_path / "o",
    )
    o = objective(v, "slsa_provenance")
    assert o["status"] == "PASS", text(o)
    signature = o["details"]["intelgraph-api: signature"]
    assert "SHA256:" in signature
    assert "trusted (key keys/provenance.pub.pem given by the matrix/trust dir)" in signature
    assert o["details"]["trust anchor: keys/provenance.pub.pem"].startswith("PASS: key SHA256:")


@pytest.mark.parametrize("keyid", [True, False], ids=["keyid", "no-keyid"])
def test_g3_forged_document_and_key_in_evidence_fail(
    keyid: bool, dirs: tuple[Path, Path], tmp_path: Path
) -> None:
    evidence, trust = dirs
    fp = forge_provenance(evidence, keyid=keyid)
    rc, v = go(
        ["--gate", "G3", "--at", AT, "--evidence", str(evidence), "--trust", str(trust)],
        tmp_path / "o",
    )
    o = objective(v, "slsa_provenance")
    assert rc == 1
    assert o["status"] == "FAIL", text(o)
    assert "signed by an untrusted key" in text(o)
    if keyid:
        assert fp in text(o)


def test_g3_key_only_inside_evidence_is_never_an_anchor(
    dirs: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No --trust: the key the forger left in --evidence is not used; the anchor is missing."""
    monkeypatch.delenv("IGKIT_TRUST_DIR", raising=False)
    evidence, _ = dirs
    forge_provenance(evidence)
    rc, v = go(["--gate", "G3", "--at", AT, "--evidence", str(evidence)], tmp_path / "o")
    o = objective(v, "slsa_provenance")
    assert rc == 1
    assert o["status"] == "ERROR", text(o)
    assert "trust anchor key keys/provenance.pub.pem not found" in text(o)
    assert "the copy in the evidence directory (keys/provenance.pub.pem) is not trusted" in text(o)


def attestation_matrix(path: Path, **fields: Any) -> Path:
    obj = {
        "type": "attestation",
        "name": "slsa_provenance",
        "builders": {"https://github.com/intelgraph/release/.github/workflows/build.yml": 3},
        "min_slsa_level": 3,
        **fields,
    }
    doc = {"gates": [{"id": "G3", "name": "Supply Chain", "objectives": [obj]}]}
    path.write_text(json.dumps(doc))
    return path


def test_matrix_pointing_into_the_evidence_dir_is_not_trusted(
    dirs: tuple[Path, Path], tmp_path: Path
) -> None:
    evidence, _ = dirs
    forge_provenance(evidence)
    matrix = attestation_matrix(tmp_path / "m.yaml", keys=["evidence/keys/provenance.pub.pem"])
    _rc, v = go(
        ["--matrix", str(matrix), "--gate", "G3", "--at", AT, "--evidence", str(evidence)],
        tmp_path / "o",
    )
    o = objective(v, "slsa_provenance")
    assert o["status"] == "FAIL", text(o)
    assert "lies inside the evidence directory and is not trusted" in text(o)


def test_anchor_beside_the_matrix_and_ambiguity(dirs: tuple[Path, Path], tmp_path: Path) -> None:
    evidence, trust = dirs
    config = tmp_path / "config"
    shutil.copytree(trust, config)
    matrix = attestation_matrix(config / "m.yaml", keys=["keys/provenance.pub.pem"])
    args = ["--matrix", str(matrix), "--gate", "G3", "--at", AT, "--evidence", str(evidence)]
    _rc, v = go(args, tmp_path / "beside")
    assert objective(v, "slsa_provenance")["status"] == "PASS"  # positive control
    assert "given by the matrix/trust dir" in text(objective(v, "slsa_provenance"))
    _rc, v = go([*args, "--trust", str(trust)], tmp_path / "same")  # equal copies: fine
    assert objective(v, "slsa_provenance")["status"] == "PASS"
    other = ec.generate_private_key(ec.SECP256R1())
    (trust / "keys" / "provenance.pub.pem").write_bytes(pem(other))
    _rc, v = go([*args, "--trust", str(trust)], tmp_path / "differ")
    o = objective(v, "slsa_provenance")
    assert o["status"] == "ERROR", text(o)
    assert "ambiguous trust anchor" in text(o)


def test_snapshots_carry_no_key(dirs: tuple[Path, Path], tmp_path: Path) -> None:
    evidence, trust = dirs
    (evidence / "keys").mkdir()
    shutil.copy(trust / "keys" / "provenance.pub.pem", evidence / "keys")
    go(
        [
            "--gate",
            "G3",
            "--gate",
            "G4",
            "--at",
            AT,
            "--evidence",
            str(evidence),
            "--trust",
            str(trust),
        ],
        tmp_path / "o",
    )
    snaps = [read_snapshot(p) for p in (tmp_path / "o" / "snapshots").glob("G*.json")]
    evidence_snaps = [s for s in snaps if isinstance(s, EvidenceSnapshot)]
    assert evidence_snaps
    for snap in evidence_snaps:
        assert not [r for r in snap.files if r.startswith("key") or "verification" in r], snap.files
    key_b64 = base64.b64encode((trust / "keys" / "provenance.pub.pem").read_bytes()).decode()
    for path in (tmp_path / "o").rglob("*"):
        if path.is_file():
            assert key_b64 not in path.read_text(errors="replace"), path


# ------------------------------------------------------------------ replay


def test_replay_resolves_anchors_again(
    dirs: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("IGKIT_TRUST_DIR", raising=False)
    evidence, trust = dirs
    gates = ["--gate", "G3", "--gate", "G7"]
    rc, live = go(
        [*gates, "--at", AT, "--evidence", str(evidence), "--trust", str(trust)], tmp_path / "live"
    )
    assert rc == 0
    shutil.rmtree(evidence)
    rc, again = go(
        [*gates, "--replay", str(tmp_path / "live"), "--trust", str(trust)], tmp_path / "again"
    )
    assert rc == 0
    assert again["gates"] == live["gates"]
    monkeypatch.setenv("IGKIT_TRUST_DIR", str(trust))  # the same anchors from the environment
    rc, env = go([*gates, "--replay", str(tmp_path / "live")], tmp_path / "env")
    assert env["gates"] == live["gates"]
    monkeypatch.delenv("IGKIT_TRUST_DIR")
    rc, missing = go([*gates, "--replay", str(tmp_path / "live")], tmp_path / "missing")
    assert rc == 1
    o = objective(missing, "slsa_provenance")
    assert o["status"] == "ERROR"
    assert "keys/provenance.pub.pem" in text(o)


def test_trust_dir_that_does_not_exist_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(
        [
            "go-no-go",
            "--gate",
            "G3",
            "--prom-url",
            NOWHERE,
            "--trust",
            str(tmp_path / "nope"),
            "--out",
            str(tmp_path / "o"),
        ]
    )
    assert rc == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "--trust" in err
    assert "does not exist" in err


def test_trust_env_that_does_not_exist_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IGKIT_TRUST_DIR", str(tmp_path / "nope"))
    rc = main(["go-no-go", "--gate", "G3", "--prom-url", NOWHERE, "--out", str(tmp_path / "o")])
    assert rc == 2
    assert "IGKIT_TRUST_DIR" in capsys.readouterr().err


# ------------------------------------------------------------------ G3 keyless


def keyless_setup(tmp_path: Path) -> tuple[Path, Path]:
    evidence = tmp_path / "kl-evidence"
    (evidence / "roots").mkdir(parents=True)
    shutil.copy(A_TXT, evidence / "a.txt")
    shutil.copy(DSSE_BUNDLE, evidence / "a.sigstore.json")
    (evidence / "release.yaml").write_text(
        "releaseTag: v1\nchangeTicket: CHG-1\nartifacts:\n  - {name: a, path: a.txt, provenance: a.sigstore.json}\n"
    )
    matrix = attestation_matrix(
        tmp_path / "kl.yaml",
        certificate_identity=BEACON,
        certificate_oidc_issuer=GHA,
        trusted_root="roots/trusted_root.json",
        builders={REKOR2_REGEN: 3},
    )
    return evidence, matrix


@pytest.mark.parametrize(
    "honest", [True, False], ids=["staging-root-trusted", "root-swapped-in-evidence"]
)
def test_g3_keyless_root_comes_from_trust_dir(honest: bool, tmp_path: Path) -> None:
    """The bundle chains to Sigstore staging. The forger ships the staging root inside the
    evidence; the operator's trust dir holds the production root -> FAIL. Positive control:
    the operator trusts staging -> PASS."""
    evidence, matrix = keyless_setup(tmp_path)
    shutil.copy(STAGING_ROOT, evidence / "roots" / "trusted_root.json")  # the forger's root
    trust = tmp_path / "kl-trust" / "roots"
    trust.mkdir(parents=True)
    shutil.copy(STAGING_ROOT if honest else PRODUCTION_ROOT, trust / "trusted_root.json")
    args = [
        "--matrix",
        str(matrix),
        "--gate",
        "G3",
        "--evidence",
        str(evidence),
        "--trust",
        str(trust.parent),
    ]
    _rc, v = go(args, tmp_path / "o")
    o = objective(v, "slsa_provenance")
    if honest:
        assert o["status"] == "PASS", text(o)
        sig = o["details"]["a: signature"]
        assert BEACON in sig
        assert GHA in sig
        assert "trusted root roots/trusted_root.json sha256:" in sig
        assert "given by the matrix/trust dir" in sig
    else:
        assert o["status"] == "FAIL", text(o)
        assert "signed by an untrusted signer" in text(o)


# ------------------------------------------------------------------ G4 policy bundles


def opa_bundle(key: Any, alg: str, *, kid: str = "k") -> bytes:
    files = {
        ".manifest": json.dumps(
            {"revision": "1", "roots": ["p"]}, separators=(",", ":"), sort_keys=True
        ).encode(),
        "p/policy.rego": b"package p\n\ndefault allow := false\n",
    }
    claims = {
        "files": [
            {"name": n, "hash": hashlib.sha256(d).hexdigest(), "algorithm": "SHA-256"}
            for n, d in sorted(files.items())
        ],
        "scope": "intelgraph",
        "iat": int(datetime(2025, 2, 28, tzinfo=UTC).timestamp()),
        "exp": int(datetime(2025, 6, 1, tzinfo=UTC).timestamp()),
    }
    files[".signatures.json"] = json.dumps(
        {"signatures": [jwt.encode(claims, key, algorithm=alg, headers={"kid": kid})]}
    ).encode()
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def opa_matrix(path: Path, alg: str, key: str | None) -> Path:
    obj: dict[str, Any] = {
        "type": "opa_bundle",
        "name": "bundle_signature",
        "bundles": ["policy/bundle.tar.gz"],
        "signing_alg": alg,
        "scope": "intelgraph",
    }
    if key is not None:
        obj["verification_key"] = key
    path.write_text(json.dumps({"gates": [{"id": "G4", "name": "Policy", "objectives": [obj]}]}))
    return path


def new_key(alg: str) -> Any:
    if alg == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    return base64.b64encode(
        ec.generate_private_key(ec.SECP256R1()).private_numbers().private_value.to_bytes(32, "big")
    ).decode()


def anchor_bytes(key: Any) -> bytes:
    return key.encode() if isinstance(key, str) else pem(key)


@pytest.mark.parametrize("alg", ["RS256", "ES256", "HS256"])
@pytest.mark.parametrize("honest", [True, False], ids=["honest", "forged"])
def test_g4_forged_bundle_and_key_in_evidence_fail(
    alg: str, honest: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("IGKIT_OPA_HMAC_KEY", raising=False)
    real, forger = new_key(alg), new_key(alg)
    evidence, trust = tmp_path / "ev", tmp_path / "trust"
    (evidence / "policy").mkdir(parents=True)
    (evidence / "keys").mkdir()
    (trust / "keys").mkdir(parents=True)
    signer = real if honest else forger
    (evidence / "policy" / "bundle.tar.gz").write_bytes(opa_bundle(signer, alg))
    (evidence / "keys" / "opa.key").write_bytes(anchor_bytes(forger))  # the forger's key
    (trust / "keys" / "opa.key").write_bytes(anchor_bytes(real))
    matrix = opa_matrix(tmp_path / "m.yaml", alg, "keys/opa.key")
    _rc, v = gate_run("G4", matrix, evidence, trust, tmp_path / "o")
    o = objective(v, "bundle_signature")
    if honest:
        assert o["status"] == "PASS", text(o)
        assert "given by the matrix/trust dir" in o["details"]["policy/bundle.tar.gz: jwt"]
    else:
        assert o["status"] == "FAIL", text(o)
        assert "signed by an untrusted key" in text(o)


CANARY = "igkit-canary-hmac-7f3a9c1e5b2d-0123456789abcdef"


@pytest.mark.parametrize("where", ["env", "trust-dir"])
def test_hmac_secret_never_reaches_any_output(
    where: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    evidence, trust = tmp_path / "ev", tmp_path / "trust"
    (evidence / "policy").mkdir(parents=True)
    trust.mkdir()
    (evidence / "policy" / "bundle.tar.gz").write_bytes(opa_bundle(CANARY, "HS256"))
    if where == "env":
        monkeypatch.setenv("IGKIT_OPA_HMAC_KEY", CANARY)
        matrix = opa_matrix(tmp_path / "m.yaml", "HS256", None)
    else:
        monkeypatch.delenv("IGKIT_OPA_HMAC_KEY", raising=False)
        (trust / "opa.secret").write_text(CANARY + "\n")
        matrix = opa_matrix(tmp_path / "m.yaml", "HS256", "opa.secret")
    out = tmp_path / "o"
    _rc, v = gate_run("G4", matrix, evidence, trust, out)
    o = objective(v, "bundle_signature")
    assert o["status"] == "PASS", text(o)  # positive control: the secret did verify
    assert "HMAC-SHA256:" in json.dumps(o["details"])
    captured = capsys.readouterr()
    assert CANARY not in captured.out + captured.err
    encoded = {
        CANARY.encode(),
        base64.b64encode(CANARY.encode()),
        base64.urlsafe_b64encode(CANARY.encode()),
    }
    for path in out.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not any(e in data for e in encoded), path


def test_hmac_secret_beside_the_matrix_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A symmetric secret is read from the trust dir or the environment only."""
    monkeypatch.delenv("IGKIT_OPA_HMAC_KEY", raising=False)
    monkeypatch.delenv("IGKIT_TRUST_DIR", raising=False)
    evidence = tmp_path / "ev"
    (evidence / "policy").mkdir(parents=True)
    (evidence / "policy" / "bundle.tar.gz").write_bytes(opa_bundle(CANARY, "HS256"))
    (tmp_path / "opa.secret").write_text(CANARY)
    matrix = opa_matrix(tmp_path / "m.yaml", "HS256", "opa.secret")
    _rc, v = go(
        ["--matrix", str(matrix), "--gate", "G4", "--at", AT, "--evidence", str(evidence)],
        tmp_path / "o",
    )
    o = objective(v, "bundle_signature")
    assert o["status"] == "ERROR", text(o)
    assert "IGKIT_OPA_HMAC_KEY" in text(o)


def test_opa_rs256_without_verification_key_is_a_config_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    matrix = opa_matrix(tmp_path / "m.yaml", "RS256", None)
    assert main(["matrix", "validate", "--matrix", str(matrix)]) == 2
    assert "verification_key" in capsys.readouterr().err


def test_packaged_demo_trust_equals_the_fixture() -> None:
    from igkit.demo import demo_trust_dir

    packaged = {
        p.relative_to(demo_trust_dir()): p.read_bytes() for p in demo_trust_dir().rglob("*.pem")
    }
    fixture = {p.relative_to(DEMO_TRUST): p.read_bytes() for p in DEMO_TRUST.rglob("*.pem")}
    assert packaged == fixture
    assert packaged
    assert not (DEMO_EVIDENCE / "keys").exists()  # anchors live beside the evidence, not in it


# ------------------------------------------------------------------ bundle replay


def bundle_of_run(dirs: tuple[Path, Path], tmp_path: Path, *, with_anchors: bool) -> Path:
    evidence, trust = dirs
    run_dir = tmp_path / "run"
    rc, _ = go(
        ["--gate", "G3", "--at", AT, "--evidence", str(evidence), "--trust", str(trust)], run_dir
    )
    assert rc == 0
    extra = ["--trust", str(trust)] if with_anchors else []
    assert main(["bundle", "build", str(run_dir), "--out", str(tmp_path / "b"), *extra]) == 0
    return tmp_path / "b"


def verify(bundle: Path, *extra: str) -> tuple[int, str]:
    import contextlib
    import io as _io

    buf = _io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = main(["bundle", "verify", str(bundle), "--replay", *extra])
    return rc, buf.getvalue()


def test_bundle_replay_says_where_its_anchors_came_from(
    dirs: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("IGKIT_TRUST_DIR", raising=False)
    _, trust = dirs
    bundle = bundle_of_run(dirs, tmp_path, with_anchors=True)
    carried = sorted(
        p.relative_to(bundle / "trust").as_posix() for p in (bundle / "trust").rglob("*.pem")
    )
    assert carried == ["keys/opa-bundle.pub.pem", "keys/provenance.pub.pem"]  # public only
    # without --key every check passes but the verdict is only SELF-ASSERTED (exit 1)
    rc, out = verify(bundle, "--trust", str(trust))
    assert rc == 1, out
    assert "PASS replay:" in out
    assert "bundle verify: SELF-ASSERTED" in out
    assert "replay: trust anchors from --trust" in out
    rc, out = verify(bundle)
    assert rc == 1, out
    assert "PASS replay:" in out
    assert "trust anchors from the bundle (trust/), vouched for by the bundle signature" in out
    assert "self-asserted" in out  # no --key: the bundle vouches for itself


def test_bundle_replay_with_another_anchor_or_none_fails(
    dirs: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("IGKIT_TRUST_DIR", raising=False)
    bundle = bundle_of_run(dirs, tmp_path, with_anchors=False)
    assert not (bundle / "trust").exists()
    rc, out = verify(bundle)  # no anchor anywhere: G3 re-evaluates ERROR, not PASS
    assert rc == 1
    assert "FAIL replay: G3: recorded PASS, re-evaluated ERROR" in out
    other = tmp_path / "other-trust" / "keys"
    other.mkdir(parents=True)
    (other / "provenance.pub.pem").write_bytes(pem(ec.generate_private_key(ec.SECP256R1())))
    rc, out = verify(bundle, "--trust", str(other.parent))
    assert rc == 1
    assert "FAIL replay: G3: recorded PASS, re-evaluated FAIL" in out


def test_bundle_never_carries_a_private_anchor(dirs: tuple[Path, Path], tmp_path: Path) -> None:
    evidence, trust = dirs
    run_dir = tmp_path / "run"
    go(["--gate", "G3", "--at", AT, "--evidence", str(evidence), "--trust", str(trust)], run_dir)
    key = ec.generate_private_key(ec.SECP256R1())
    (trust / "keys" / "provenance.pub.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    rc = main(
        ["bundle", "build", str(run_dir), "--out", str(tmp_path / "b"), "--trust", str(trust)]
    )
    assert rc == 2


def test_trust_dir_equal_to_the_evidence_dir_is_not_trusted(
    dirs: tuple[Path, Path], tmp_path: Path
) -> None:
    evidence, trust = dirs
    shutil.copytree(trust / "keys", evidence / "keys")  # even the honest key: wrong place
    _rc, v = go(
        ["--gate", "G3", "--at", AT, "--evidence", str(evidence), "--trust", str(evidence)],
        tmp_path / "o",
    )
    o = objective(v, "slsa_provenance")
    assert o["status"] == "FAIL", text(o)
    assert "lies inside the evidence directory and is not trusted" in text(o)


@pytest.mark.property
@given(
    name=st.from_regex(r"[a-z]{1,6}(/[a-z]{1,6}){0,2}\.pem", fullmatch=True),
    layout=st.sampled_from(["trust-is-evidence", "trust-inside-evidence", "matrix-in-evidence"]),
)
def test_an_anchor_inside_the_evidence_dir_is_never_resolved(name: str, layout: str) -> None:
    """Wherever the anchor is found, if its file lies inside --evidence it is not an anchor;
    the same file outside the evidence directory is (positive control)."""
    import tempfile

    from igkit.spec.loader import parse_matrix
    from igkit.trust import Anchor, AnchorKind, Unresolved, resolve_trust

    key = pem(ec.generate_private_key(ec.SECP256R1()))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        evidence = root / "evidence"
        evidence.mkdir()
        base = {
            "trust-is-evidence": evidence,
            "trust-inside-evidence": evidence / "t",
            "matrix-in-evidence": evidence,
        }[layout]
        (base / name).parent.mkdir(parents=True, exist_ok=True)
        (base / name).write_bytes(key)
        matrix_at = (evidence if layout == "matrix-in-evidence" else root) / "m.yaml"
        text = json.dumps(
            {
                "gates": [
                    {
                        "id": "G3",
                        "name": "S",
                        "objectives": [
                            {
                                "type": "attestation",
                                "name": "p",
                                "keys": [name],
                                "builders": {"b": 3},
                                "min_slsa_level": 3,
                            }
                        ],
                    }
                ]
            }
        )
        matrix_at.write_text(text)
        loaded = parse_matrix(text, source=str(matrix_at))
        trust_dir = None if layout == "matrix-in-evidence" else base
        got = resolve_trust(loaded, trust_dir=trust_dir, evidence_dir=evidence, env={})
        inside = got.get(AnchorKind.PUBLIC_KEY, name)
        assert isinstance(inside, Unresolved)
        assert inside.untrusted
        outside = root / "outside"
        shutil.copytree(base, outside)
        got = resolve_trust(loaded, trust_dir=outside, evidence_dir=evidence, env={})
        assert isinstance(got.get(AnchorKind.PUBLIC_KEY, name), Anchor)


def test_anchor_inside_the_replayed_run_is_not_trusted(
    dirs: tuple[Path, Path], tmp_path: Path
) -> None:
    """A matrix kept inside the replayed directory cannot bring its own key along."""
    evidence, trust = dirs
    run_dir = tmp_path / "run"
    first = attestation_matrix(tmp_path / "m.yaml", keys=["keys/provenance.pub.pem"])
    rc, _ = gate_run("G3", first, evidence, trust, run_dir)
    assert rc == 0
    # then the run directory is given a matrix and "its own" key beside it
    shutil.copytree(trust / "keys", run_dir / "keys")
    matrix = attestation_matrix(run_dir / "m.yaml", keys=["keys/provenance.pub.pem"])
    args = ["--matrix", str(matrix), "--gate", "G3"]
    _rc, v = go([*args, "--replay", str(run_dir)], tmp_path / "again")
    o = objective(v, "slsa_provenance")
    assert o["status"] == "FAIL", text(o)
    assert "lies inside the evidence directory and is not trusted" in text(o)
    _rc, v = go([*args, "--replay", str(run_dir), "--trust", str(trust)], tmp_path / "ok")
    assert objective(v, "slsa_provenance")["status"] == "PASS"  # positive control
