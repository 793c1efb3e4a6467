from __future__ import annotations

import gzip
import json
import os
import subprocess
import tarfile
from pathlib import Path

import pytest

from igkit.bundle.build import (
    ATTESTATION,
    DEMO_NOTICE,
    HASHES,
    HASHES_SIG,
    build_bundle,
    bundle_files,
)
from igkit.bundle.keys import GeneratedKeyFiles, SigningKey
from igkit.bundle.verify import verify_bundle
from igkit.demo import demo_trust_dir
from igkit.errors import ConfigError
from tests.bundle.conftest import cli


def test_manifest_follows_the_seed_schema(sealed: Path, signing_key: SigningKey) -> None:
    m = json.loads((sealed / "manifest.json").read_bytes())
    assert m["releaseTag"] == "v1.4.0"  # from the G3 evidence snapshot's release file
    assert m["changeTicket"] == "CHG-2025-0301"  # from the release file, via verdicts.json
    assert m["artifacts"] == [
        {
            "name": "intelgraph-api",
            "digest": "sha256:cb44c40f0e98ca435c7ed3e39fb274d966cd623159da29f94d9a23e29f36d382",
            "slsaLevel": "3",
        }
    ]
    assert [g["id"] for g in m["gates"]] == [f"G{i}" for i in range(1, 9)]
    assert all(g["status"] == "PASS" for g in m["gates"])
    assert m["gates"][0]["evidence"].startswith("snapshots/G1-")
    assert {s.split("://")[0] for s in m["snapshots"]} == {"prom", "k6", "evidence"}
    assert m["signatures"][0]["issuer"] == "CN=igkit test signer"
    assert m["signingKey"] == {"fingerprint": signing_key.fingerprint, "trusted": True}
    assert m["decision"] == "GO"
    assert m["evaluatedAt"] == "2025-03-01T03:30:00Z"
    assert not (sealed / DEMO_NOTICE).exists()


def test_real_sha256sum_and_openssl_accept_the_bundle(
    sealed: Path, keypair: GeneratedKeyFiles
) -> None:
    listed = (sealed / HASHES).read_text().splitlines()
    assert len(listed) == len(bundle_files(sealed)) - 2
    assert any(line.endswith(f"  {ATTESTATION}") for line in listed)
    sha = subprocess.run(["sha256sum", "-c", "--strict", HASHES], cwd=sealed, capture_output=True)
    assert sha.returncode == 0, sha.stdout + sha.stderr
    ssl = subprocess.run(
        [
            "openssl",
            "dgst",
            "-sha256",
            "-verify",
            str(keypair.public_key),
            "-signature",
            HASHES_SIG,
            HASHES,
        ],
        cwd=sealed,
        capture_output=True,
        text=True,
    )
    assert ssl.returncode == 0
    assert "Verified OK" in ssl.stdout


def test_verify_passes_with_key_and_replay(sealed: Path, keypair: GeneratedKeyFiles) -> None:
    result = verify_bundle(sealed, key=keypair.public_key, replay=True)
    assert result.ok, [c.line() for c in result.failures]
    names = {c.name for c in result.checks}
    assert {"hashes", "manifest signature", "attestation subjects", "replay"} <= names
    assert not any("self-asserted" in n for n in result.notes)


def test_cli_verify_without_key_says_self_asserted(
    sealed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An intact bundle checked without --key is self-asserted at best: exit 1, no PASS."""
    assert cli(["bundle", "verify", str(sealed)]) == 1
    out = capsys.readouterr().out
    assert "signer: CN=igkit test signer (SHA256:" in out
    assert "self-asserted (certificate inside the bundle)" in out
    assert "bundle verify: SELF-ASSERTED" in out
    assert "PASS -" not in out.splitlines()[-1]
    assert "signer trusted" not in out


def test_without_key_uses_an_untrusted_demo_key(
    tmp_path: Path,
    run_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import shutil

    monkeypatch.delenv("IGKIT_SIGNING_KEY", raising=False)
    run = tmp_path / "run"
    shutil.copytree(run_dir, run)
    (run / "reports" / "summary.pdf").unlink(missing_ok=True)  # signed by the test key
    out = tmp_path / "demo-bundle"
    assert cli(["bundle", "build", str(run), "--out", str(out)]) == 0
    assert "untrusted demo key" in capsys.readouterr().out
    assert "signed with an untrusted demo key" in (out / DEMO_NOTICE).read_text()
    assert json.loads((out / "manifest.json").read_bytes())["signingKey"]["trusted"] is False
    pub = tmp_path / "demo-bundle.demo-key.pub.pem"
    result = verify_bundle(out, key=pub)
    assert result.ok, [c.line() for c in result.failures]
    assert any("untrusted demo key" in n for n in result.notes)


def test_release_tag_flag_and_tar_cli(
    tmp_path: Path, run_dir: Path, keypair: GeneratedKeyFiles
) -> None:
    out = tmp_path / "b"
    rc = cli(
        [
            "bundle",
            "build",
            str(run_dir),
            "--out",
            str(out),
            "--key",
            str(keypair.private_key),
            "--release-tag",
            "v9.9.9",
            "--tar",
        ]
    )
    assert rc == 0
    assert json.loads((out / "manifest.json").read_bytes())["releaseTag"] == "v9.9.9"
    assert (
        cli(
            [
                "bundle",
                "verify",
                str(tmp_path / "b.tar.gz"),
                "--key",
                str(keypair.public_key),
                "--replay",
                "--trust",  # built without anchors: the auditor brings the demo's own
                str(demo_trust_dir()),
            ]
        )
        == 0
    )


def test_tar_is_reproducible(tmp_path: Path, run_dir: Path, signing_key: SigningKey) -> None:
    one = build_bundle(run_dir, tmp_path / "1" / "bundle", key=signing_key, tar=True).tar
    two = build_bundle(run_dir, tmp_path / "2" / "bundle", key=signing_key, tar=True).tar
    assert one is not None
    assert two is not None
    assert one.read_bytes() == two.read_bytes()
    assert one.read_bytes()[4:8] == b"\0\0\0\0"  # gzip header mtime
    with tarfile.open(one, "r:gz") as tar:
        members = tar.getmembers()
    assert [m.name for m in members] == sorted(m.name for m in members)
    assert all(
        m.mtime == 0 and m.uid == 0 and m.gid == 0 and not m.uname and not m.gname for m in members
    )
    assert gzip.decompress(one.read_bytes())  # plain gzip


def test_build_refuses_non_empty_out_and_non_run(
    tmp_path: Path, run_dir: Path, sealed: Path
) -> None:
    with pytest.raises(ConfigError, match="not an empty directory"):
        build_bundle(run_dir, sealed)
    with pytest.raises(ConfigError, match=r"no verdicts\.json"):
        build_bundle(tmp_path, tmp_path / "x")


def test_build_never_follows_symlinks(
    tmp_path: Path, run_dir: Path, signing_key: SigningKey
) -> None:
    import shutil

    run = tmp_path / "run"
    shutil.copytree(run_dir, run)
    secret = tmp_path / "secret.txt"
    secret.write_text("outside the run\n")
    os.symlink(secret, run / "reports" / "leak.html")
    os.symlink(tmp_path, run / "up")
    result = build_bundle(run, tmp_path / "out", key=signing_key)
    assert not (result.bundle / "reports" / "leak.html").exists()
    assert not (result.bundle / "up").exists()  # not a file igkit writes: never looked at
    assert [w for w in result.warnings if "symlink" in w] == [
        "skipped symlink reports/leak.html (never followed)"
    ]
    assert verify_bundle(result.bundle).ok


def test_default_out_and_rebuild_elsewhere_skips_the_earlier_bundle(
    tmp_path: Path, run_dir: Path, signing_key: SigningKey
) -> None:
    import shutil

    run = tmp_path / "run"
    shutil.copytree(run_dir, run)
    first = build_bundle(run, key=signing_key, tar=True)
    assert first.bundle == run / "bundle"
    assert (run / "bundle.tar.gz").is_file()
    second = build_bundle(run, tmp_path / "again", key=signing_key)
    assert second.files == first.files
    assert verify_bundle(second.bundle).ok


def test_verify_usage_errors_exit_2(tmp_path: Path, sealed: Path) -> None:
    assert cli(["bundle", "verify", str(tmp_path / "missing")]) == 2
    assert cli(["bundle", "verify", str(sealed), "--key", str(tmp_path / "nokey.pem")]) == 2
    (tmp_path / "x.txt").write_text("x")
    assert cli(["bundle", "verify", str(tmp_path / "x.txt")]) == 2
