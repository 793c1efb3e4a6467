"""`igkit attest verify` through a local parser built with `register`: exit codes and output."""

from __future__ import annotations

import argparse
import base64
import json
import shutil
from pathlib import Path
from typing import NoReturn

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from igkit.cli.attest import register, run
from igkit.errors import ConfigError
from igkit.judge.evidence.dsse import IN_TOTO_PAYLOAD_TYPE, pae

THIRD_PARTY = Path(__file__).resolve().parents[2] / "fixtures" / "third_party"
SIGSTORE_PY = THIRD_PARTY / "sigstore" / "sigstore-python"
CONFORMANCE = THIRD_PARTY / "sigstore" / "conformance"
BEACON = (
    "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/"
    ".github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main"
)
GHA = "https://token.actions.githubusercontent.com"
REKOR2_REGEN = "https://github.com/sigstore-conformance/rekor2-dsse-hashedrekord-regen"
DSSE_BUNDLE = SIGSTORE_PY / "a.dsse.staging-rekor-v2.txt.sigstore.json"
STAGING_ROOT = SIGSTORE_PY / "trusted_root.staging.json"
A_TXT = CONFORMANCE / "a.txt"
BUILDER = "https://github.com/acme/builders/.github/workflows/build_slsa3.yml"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def main(argv: list[str]) -> int:
    """What igkit.cli.main does with `run`: ConfigError is exit 2."""
    parser = _Parser(prog="igkit")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    register(sub, _Parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except ConfigError as exc:
        print(f"igkit: error: {exc}")
        return 2


def keyless_args(artifact: Path = A_TXT, *extra: str) -> list[str]:
    return [
        "attest", "verify", "--artifact", str(artifact), "--provenance", str(DSSE_BUNDLE),
        "--certificate-identity", BEACON, "--certificate-oidc-issuer", GHA,
        "--trusted-root", str(STAGING_ROOT), "--min-slsa-level", "3", *extra,
    ]  # fmt: skip


def lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return capsys.readouterr().out.splitlines()


def test_keyless_bundle_passes_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(keyless_args(A_TXT, "--builder-id", REKOR2_REGEN)) == 0
    signature = next(line for line in lines(capsys) if line.startswith("PASS signature:"))
    assert BEACON in signature
    assert "trusted (identity and issuer given by --certificate-identity" in signature
    assert "root by --trusted-root" in signature
    assert main(keyless_args(A_TXT, "--builder-id", REKOR2_REGEN)) == 0
    out = lines(capsys)
    assert [line.split(":")[0] for line in out[:6]] == [
        "PASS signature", "PASS statement", "PASS subject digest",
        "PASS builder", "PASS slsa level", "PASS source",
    ]  # fmt: skip
    assert BEACON in out[0]
    assert out[6].startswith("attest verify: PASS - a.txt (sha256 a0cfc712")
    assert out[6].endswith("all 6 checks pass")


def test_wrong_artifact_exit_1_lists_failing_checks(capsys: pytest.CaptureFixture[str]) -> None:
    sibling = SIGSTORE_PY / "a.dsse.staging-rekor-v2.txt"
    assert main(keyless_args(sibling, "--builder-id", REKOR2_REGEN)) == 1
    out = lines(capsys)
    assert out[2].startswith("FAIL subject digest: no subject has the artifact's sha256 e248a5db")
    assert out[-1].endswith("1 of 6 checks did not pass: subject digest")


def test_builder_not_given_or_not_allowed_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(keyless_args()) == 1
    out = lines(capsys)
    assert out[3] == (
        "FAIL builder: built by https://github.com/sigstore-conformance/rekor2-dsse-hashedrekord-regen, "
        "but the policy allows no builder (give at least one)"
    )
    assert out[-1].endswith("2 of 6 checks did not pass: builder, slsa level")
    assert main(keyless_args(A_TXT, "--builder-id", f"{REKOR2_REGEN}=2")) == 1
    assert lines(capsys)[-1].endswith("1 of 6 checks did not pass: slsa level")
    assert (
        main(keyless_args(A_TXT, "--builder-id", f"{REKOR2_REGEN}=2", "--min-slsa-level", "2")) == 0
    )
    capsys.readouterr()


def test_source_flags(capsys: pytest.CaptureFixture[str]) -> None:
    bundle = THIRD_PARTY / "slsa" / "slsa-verifier" / "bcr" / "MODULE.bazel.intoto.jsonl"
    # The MODULE.bazel artifact was not copied; the CLI needs a file, so check the source
    # failure path with a.txt: the subject fails, and the source is still judged.
    argv = [
        "attest", "verify", "--artifact", str(A_TXT), "--provenance", str(bundle),
        "--certificate-identity", "https://github.com/bazel-contrib/publish-to-bcr/.github/workflows/publish.yaml@refs/tags/v0.0.1",
        "--certificate-oidc-issuer", GHA,
        "--trusted-root", str(SIGSTORE_PY / "trusted_root.production.json"), "--min-slsa-level", "3",
        "--builder-id", "https://github.com/bazel-contrib/publish-to-bcr/.github/workflows/publish.yaml",
        "--source-uri", "github.com/aspect-build/rules_lint", "--source-ref", "publish-to-bcr",
    ]  # fmt: skip
    assert main(argv) == 1
    out = lines(capsys)
    assert out[0].startswith("PASS signature")
    assert out[5].startswith("PASS source")
    assert out[-1].endswith("1 of 6 checks did not pass: subject digest")
    argv[-1] = "main"
    assert main(argv) == 1
    assert any(line.startswith("FAIL source:") for line in lines(capsys))


def _write_keyed(tmp_path: Path) -> tuple[Path, Path, Path]:
    artifact = tmp_path / "app.tar.gz"
    artifact.write_bytes(b"\x1f\x8b release bytes")
    key = ec.generate_private_key(ec.SECP256R1())
    import hashlib

    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "app.tar.gz", "digest": {"sha256": hashlib.sha256(artifact.read_bytes()).hexdigest()}}],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {
            "buildDefinition": {"buildType": "x", "externalParameters": {"workflow": {"repository": "https://github.com/acme/app", "ref": "refs/heads/main"}}},
            "runDetails": {"builder": {"id": f"{BUILDER}@refs/tags/v1"}},
        },
    }  # fmt: skip
    payload = json.dumps(statement).encode()
    sig = key.sign(pae(IN_TOTO_PAYLOAD_TYPE, payload), ec.ECDSA(hashes.SHA256()))
    env = {
        "payloadType": IN_TOTO_PAYLOAD_TYPE,
        "payload": base64.b64encode(payload).decode(),
        "signatures": [{"keyid": "", "sig": base64.b64encode(sig).decode()}],
    }
    prov = tmp_path / "app.intoto.jsonl"
    prov.write_text(json.dumps(env) + "\n")
    pub = tmp_path / "release.pub"
    pub.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return artifact, prov, pub


def test_keyed_exit_0_and_tampered_artifact_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    artifact, prov, pub = _write_keyed(tmp_path)
    argv = [
        "attest", "verify", "--artifact", str(artifact), "--provenance", str(prov),
        "--key", str(pub), "--builder-id", BUILDER, "--source-uri", "github.com/acme/app",
        "--min-slsa-level", "3",
    ]  # fmt: skip
    assert main(argv) == 0
    out = lines(capsys)
    assert out[0].startswith(
        "PASS signature: DSSE envelope: DSSE signature #1 verifies with allowed key SHA256:"
    )
    assert out[0].endswith("; trusted (key given by --key)")  # who vouched for the signer
    data = bytearray(artifact.read_bytes())
    data[-1] ^= 0x01
    artifact.write_bytes(bytes(data))
    assert main(argv) == 1
    assert lines(capsys)[-1].endswith("1 of 6 checks did not pass: subject digest")


def test_keyed_with_a_key_not_allowed_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    artifact, prov, _ = _write_keyed(tmp_path)
    other = tmp_path / "other.pub"
    shutil.copyfile(THIRD_PARTY / "sigstore" / "sigstore-go" / "publish_key.pub", other)
    argv = ["attest", "verify", "--artifact", str(artifact), "--provenance", str(prov), "--key", str(other), "--builder-id", BUILDER, "--min-slsa-level", "3"]  # fmt: skip
    assert main(argv) == 1
    out = lines(capsys)
    assert out[0].startswith("FAIL signature: none of the 1 signature(s) verifies")
    assert out[1] == "FAIL statement: not checked: the signature did not verify"
    assert out[-1].endswith("6 of 6 checks did not pass: signature, statement, subject digest, builder, slsa level, source")  # fmt: skip


def test_keyless_default_root_is_sigstore_production_offline(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    argv = [
        "attest", "verify", "--artifact", str(A_TXT),
        "--provenance", str(CONFORMANCE / "happy-path-intoto-in-dsse-v3" / "bundle.sigstore.json"),
        "--certificate-identity", BEACON, "--certificate-oidc-issuer", GHA,
        "--builder-id", "https://github.com/loosebazooka/aa-test/.github/workflows/provenance.yaml",
        "--min-slsa-level", "3",
    ]  # fmt: skip
    assert main(argv) == 0
    assert "production root shipped with sigstore-python" in lines(capsys)[0]
    # The staging-signed bundle does not chain to the production root.
    argv[argv.index("--provenance") + 1] = str(DSSE_BUNDLE)
    assert main(argv) == 1
    capsys.readouterr()


@pytest.mark.parametrize(
    ("extra", "where", "message"),
    [
        (["--key", "{pub}", "--certificate-identity", BEACON, "--certificate-oidc-issuer", GHA], "--key", "not both"),
        (["--key", "{pub}", "--trusted-root", str(STAGING_ROOT)], "--key", "not both"),
        ([], "--key", "say who may sign"),
        (["--key", "{missing}"], "--key", "cannot read"),
        (["--key", str(CONFORMANCE / "managed-key-wrong-key_fail" / "key.pub")], "--key", "not a loadable PEM public key"),
        (["--key", str(A_TXT)], "--key", "not a PEM file"),
        (["--certificate-identity", BEACON], "--certificate-oidc-issuer", "required"),
        (["--certificate-oidc-issuer", GHA], "--certificate-identity", "required"),
        (["--certificate-identity", BEACON, "--certificate-oidc-issuer", GHA, "--trusted-root", str(A_TXT)], "--trusted-root", "not a Sigstore trusted root"),
        (["--certificate-identity", BEACON, "--certificate-oidc-issuer", GHA, "--trusted-root", "{missing}"], "--trusted-root", "cannot read"),
        (["--key", "{pub}", "--min-slsa-level", "3", "--builder-id", f"{BUILDER}=9"], "--builder-id", "must be 0..4"),
        (["--key", "{pub}", "--builder-id", f"{BUILDER}=3"], "--min-slsa-level", "required: the minimum SLSA build level (igkit has no built-in one)"),
        (["--key", "{pub}", "--objective", "G3/x"], "--objective", "give --matrix too"),
        (["--key", "{pub}", "--min-slsa-level", "-1"], "--min-slsa-level", "must be 0..4"),
    ],
)  # fmt: skip
def test_usage_errors_exit_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    where: str,
    message: str,
) -> None:
    artifact, prov, pub = _write_keyed(tmp_path)
    argv = ["attest", "verify", "--artifact", str(artifact), "--provenance", str(prov)]
    argv += [e.format(pub=pub, missing=tmp_path / "nope.pem") for e in extra]
    assert main(argv) == 2
    out = capsys.readouterr().out
    assert out.startswith(f"igkit: error: {where}: ")
    assert message in out
    # run() itself raises the ConfigError with `where` naming the flag.
    parser = _Parser(prog="igkit")
    register(parser.add_subparsers(dest="command", parser_class=_Parser), _Parser)
    with pytest.raises(ConfigError) as info:
        run(parser.parse_args(argv))
    assert info.value.where == where


@pytest.mark.parametrize("missing", ["--artifact", "--provenance"])
def test_missing_files_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], missing: str
) -> None:
    artifact, prov, pub = _write_keyed(tmp_path)
    paths = {
        "--artifact": str(artifact),
        "--provenance": str(prov),
        missing: str(tmp_path / "gone"),
    }
    argv = ["attest", "verify", "--artifact", paths["--artifact"], "--provenance", paths["--provenance"], "--key", str(pub)]  # fmt: skip
    assert main(argv) == 2
    assert capsys.readouterr().out.startswith(f"igkit: error: {missing}: cannot read")


def test_argparse_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["attest", "verify", "--artifact", str(A_TXT)])
    assert info.value.code == 2
    assert "--provenance" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["attest"])
    assert info.value.code == 2
    capsys.readouterr()


def test_builder_id_with_equals_in_it_but_no_level_is_an_id(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    artifact, prov, pub = _write_keyed(tmp_path)
    argv = ["attest", "verify", "--artifact", str(artifact), "--provenance", str(prov), "--key", str(pub), "--min-slsa-level", "3"]  # fmt: skip
    assert main([*argv, "--builder-id", f"{BUILDER}?x=y"]) == 1
    assert f"allowed: {BUILDER}?x=y" in capsys.readouterr().out
    assert main([*argv, "--builder-id", f"{BUILDER}=3"]) == 0
    capsys.readouterr()


def _attestation_matrix(path: Path, *levels: int) -> Path:
    """A matrix with one attestation objective per level, in a gate not named G3."""
    objectives = [
        {"type": "attestation", "name": f"prov_{i}", "keys": ["k.pem"], "builders": {BUILDER: 3},
         "min_slsa_level": level, "source_uri": "github.com/acme/app"}
        for i, level in enumerate(levels)
    ]  # fmt: skip
    path.write_text(
        json.dumps({"gates": [{"id": "SUPPLY", "name": "S", "objectives": objectives}]})
    )
    return path


def test_policy_from_the_matrix_objective(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Builders, level and source from --matrix; a level above the builder's fails (the
    honest twin at level 3 passes), and an explicit flag wins over the matrix."""
    artifact, prov, pub = _write_keyed(tmp_path)
    argv = ["attest", "verify", "--artifact", str(artifact), "--provenance", str(prov), "--key", str(pub)]  # fmt: skip
    assert main([*argv, "--matrix", str(_attestation_matrix(tmp_path / "m3.json", 3))]) == 0
    assert lines(capsys)[-1].endswith("all 6 checks pass")
    strict = str(_attestation_matrix(tmp_path / "m4.json", 4))
    assert main([*argv, "--matrix", strict]) == 1
    assert lines(capsys)[-1].endswith("1 of 6 checks did not pass: slsa level")
    assert main([*argv, "--matrix", strict, "--min-slsa-level", "3"]) == 0
    capsys.readouterr()


def test_matrix_with_several_attestation_objectives_needs_objective(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    artifact, prov, pub = _write_keyed(tmp_path)
    matrix = str(_attestation_matrix(tmp_path / "m.json", 3, 4))
    argv = ["attest", "verify", "--artifact", str(artifact), "--provenance", str(prov), "--key", str(pub), "--matrix", matrix]  # fmt: skip
    assert main(argv) == 2
    out = capsys.readouterr().out
    assert "--objective: " in out
    assert "SUPPLY/prov_0, SUPPLY/prov_1" in out
    assert main([*argv, "--objective", "SUPPLY/prov_0"]) == 0
    assert main([*argv, "--objective", "prov_1"]) == 1
    assert main([*argv, "--objective", "G3/prov_0"]) == 2
    assert "'G3/prov_0' matches none of the attestation objectives" in capsys.readouterr().out
