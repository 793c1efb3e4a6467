"""``bundle build`` takes only what the run wrote, never a key, and never a bundle its own
verify rejects."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization as ser
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from igkit.bundle.build import HASHES, build_bundle, bundle_files, seal
from igkit.bundle.keys import GeneratedKeyFiles, SigningKey, generate_keypair
from igkit.bundle.verify import verify_bundle
from igkit.demo import demo_trust_dir
from igkit.errors import ConfigError
from tests.bundle.conftest import cli, have_pyhanko

_EC = ec.generate_private_key(ec.SECP256R1())
_PW = ser.BestAvailableEncryption(b"pw")


def _pkcs12(encryption: ser.KeySerializationEncryption) -> bytes:
    from igkit.bundle.keys import self_signed_cert

    cert = self_signed_cert(_EC, x509.Name.from_rfc4514_string("CN=p12"))
    return pkcs12.serialize_key_and_certificates(b"k", _EC, cert, None, encryption)


KEYS: dict[str, Callable[[], bytes]] = {
    "pem-pkcs8": lambda: _EC.private_bytes(
        ser.Encoding.PEM, ser.PrivateFormat.PKCS8, ser.NoEncryption()
    ),
    "pem-sec1": lambda: _EC.private_bytes(
        ser.Encoding.PEM, ser.PrivateFormat.TraditionalOpenSSL, ser.NoEncryption()
    ),
    "pem-encrypted": lambda: _EC.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.PKCS8, _PW),
    "pem-openssh": lambda: _EC.private_bytes(
        ser.Encoding.PEM, ser.PrivateFormat.OpenSSH, ser.NoEncryption()
    ),
    "pem-rsa-in-html": lambda: (
        b"<html><pre>"
        + rsa.generate_private_key(public_exponent=65537, key_size=1024).private_bytes(
            ser.Encoding.PEM, ser.PrivateFormat.TraditionalOpenSSL, ser.NoEncryption()
        )
        + b"</pre></html>"
    ),
    "der-pkcs8": lambda: _EC.private_bytes(
        ser.Encoding.DER, ser.PrivateFormat.PKCS8, ser.NoEncryption()
    ),
    "der-pkcs8-encrypted": lambda: _EC.private_bytes(
        ser.Encoding.DER, ser.PrivateFormat.PKCS8, _PW
    ),
    "der-sec1": lambda: _EC.private_bytes(
        ser.Encoding.DER, ser.PrivateFormat.TraditionalOpenSSL, ser.NoEncryption()
    ),
    "pkcs12": lambda: _pkcs12(ser.NoEncryption()),
    "pkcs12-encrypted": lambda: _pkcs12(_PW),
}


@pytest.fixture
def run(tmp_path: Path, run_dir: Path) -> Path:
    dest = tmp_path / "run"
    shutil.copytree(run_dir, dest)
    return dest


def holds_private_key(bundle: Path) -> list[str]:
    from igkit.bundle.build import private_key_in_file

    return [rel for rel in bundle_files(bundle) if private_key_in_file(bundle / rel)]


def test_signing_key_kept_in_the_run_is_not_bundled(tmp_path: Path, run: Path) -> None:
    keys = generate_keypair(run, name="release", subject="CN=igkit test signer")
    if have_pyhanko():  # the run's PDF must be signed by the key the bundle is built with
        from tests.bundle.pdfutil import signed_pdf

        (run / "reports" / "summary.pdf").unlink()
        signed_pdf(run / "reports" / "summary.pdf", keys.private_key, keys.certificate)
    out = tmp_path / "bundle"
    assert (
        cli(["bundle", "build", str(run), "--out", str(out), "--key", str(keys.private_key)]) == 0
    )
    assert not (out / "release.key.pem").exists()
    assert holds_private_key(out) == []
    assert verify_bundle(out, key=keys.public_key, replay=True, trust=demo_trust_dir()).ok


def test_only_files_the_run_wrote_are_bundled(
    tmp_path: Path, run: Path, signing_key: SigningKey
) -> None:
    honest = build_bundle(run, tmp_path / "honest", key=signing_key).files
    (run / "notes.txt").write_text("a file igkit did not write\n")
    (run / "reports" / "draft.txt").write_text("x\n")
    (run / "scratch" / "deep").mkdir(parents=True)
    (run / "scratch" / "deep" / "data.json").write_text("{}\n")
    (run / ".env").write_text("TOKEN=s3cret\n")
    (run / "prod.env").write_text("TOKEN=s3cret\n")
    (run / "reports" / ".hidden.html").write_text("<html></html>\n")
    result = build_bundle(run, tmp_path / "b", key=signing_key)
    assert result.files == honest
    assert "verdicts.json" in result.files
    assert any(f.startswith("snapshots/G1-") for f in result.files)
    assert verify_bundle(result.bundle).ok


def test_run_marker_adds_files_but_never_dotfiles_env_or_keys(
    tmp_path: Path, run: Path, signing_key: SigningKey
) -> None:
    (run / "extra").mkdir()
    (run / "extra" / "table.csv").write_text("a,b\n")
    (run / ".secret").write_text("x\n")
    (run / "local.env").write_text("TOKEN=s3cret\n")
    marker = {"files": ["extra/table.csv", ".secret", "local.env", "absent.txt"]}
    (run / ".igkit-run.json").write_text(json.dumps(marker))
    result = build_bundle(run, tmp_path / "b", key=signing_key)
    assert "extra/table.csv" in result.files
    assert not {".secret", "local.env", "absent.txt", ".igkit-run.json"} & set(result.files)
    assert "not bundled: local.env is an environment file" in result.warnings
    assert verify_bundle(result.bundle).ok
    (run / "extra" / "table.csv").write_bytes(KEYS["pem-pkcs8"]())
    with pytest.raises(ConfigError, match=r"refusing to build the bundle: extra/table\.csv holds"):
        build_bundle(run, tmp_path / "c", key=signing_key)


@pytest.mark.parametrize("kind", sorted(KEYS))
def test_a_private_key_in_a_run_file_refuses_the_build(
    kind: str, tmp_path: Path, run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = run / "reports" / ("leak.html" if kind.startswith("pem") else "leak.pdf")
    target.write_bytes(KEYS[kind]())
    out = tmp_path / "b"
    assert cli(["bundle", "build", str(run), "--out", str(out)]) == 2
    err = capsys.readouterr().out
    assert f"refusing to build the bundle: reports/{target.name} holds" in err
    assert not out.exists() or not any(out.iterdir())


def test_positive_control_key_detector_ignores_ordinary_files(sealed: Path) -> None:
    assert holds_private_key(sealed) == []
    from igkit.bundle.build import private_key_in

    public = _EC.public_key().public_bytes(ser.Encoding.DER, ser.PublicFormat.SubjectPublicKeyInfo)
    assert private_key_in(public) is None
    assert private_key_in(b"-----BEGIN PUBLIC KEY-----\n") is None
    assert all(private_key_in(make()) for make in KEYS.values())


@pytest.mark.skipif(not have_pyhanko(), reason="pyHanko not installed: cannot make a signed PDF")
def test_build_with_a_key_other_than_the_pdfs_signer_is_refused(
    tmp_path: Path,
    run: Path,
    keypair: GeneratedKeyFiles,
    other_keypair: GeneratedKeyFiles,
    capsys: pytest.CaptureFixture[str],
) -> None:
    other = tmp_path / "other"
    rc = cli(
        ["bundle", "build", str(run), "--out", str(other), "--key", str(other_keypair.private_key)]
    )
    assert rc == 2
    err = capsys.readouterr().out
    assert "reports/summary.pdf" in err
    assert "its own verify rejects" in err
    assert not other.exists()
    same = tmp_path / "same"
    rc = cli(["bundle", "build", str(run), "--out", str(same), "--key", str(keypair.private_key)])
    assert rc == 0
    assert verify_bundle(same, key=keypair.public_key).ok


def test_unicode_line_separators_in_a_name_are_one_manifest_line(
    tmp_path: Path, run: Path, signing_key: SigningKey
) -> None:
    name = "reports/odd\u2028name\u0085x\u2029.html"
    (run / name).write_text("<html></html>\n")
    result = build_bundle(run, tmp_path / "b", key=signing_key)
    assert name in result.files
    lines = (result.bundle / HASHES).read_bytes().split(b"\n")
    assert any(line.endswith(f"  {name}".encode()) for line in lines)
    assert verify_bundle(result.bundle, replay=True, trust=demo_trust_dir()).ok
    sha = subprocess.run(
        ["sha256sum", "-c", "--strict", HASHES], cwd=result.bundle, capture_output=True
    )
    assert sha.returncode == 0, sha.stdout + sha.stderr


def test_names_with_a_line_break_are_refused(
    tmp_path: Path, run: Path, bundle: Path, signing_key: SigningKey
) -> None:
    (run / "reports" / "a\nb.html").write_text("x")
    with pytest.raises(ConfigError, match="control character"):
        build_bundle(run, tmp_path / "b", key=signing_key)
    for bad in ("c\nd.txt", "e\rf.txt"):
        (bundle / bad).write_text("x")
        with pytest.raises(ConfigError, match="line break"):
            seal(bundle, signing_key)
        (bundle / bad).unlink()
    seal(bundle, signing_key)
    assert verify_bundle(bundle).ok


@pytest.mark.skipif(not have_pyhanko(), reason="pyHanko not installed: cannot make a signed PDF")
def test_key_without_certificate_adopts_its_pdf_certificate(
    tmp_path: Path, run: Path, keypair: GeneratedKeyFiles
) -> None:
    """The pipeline signs PDFs with a certificate it made for a bare key; building with that
    bare key later still yields a bundle whose PDFs verify (with --key)."""
    bare = tmp_path / "keys" / "bare.pem"
    bare.parent.mkdir()
    shutil.copy(keypair.private_key, bare)  # no bare.cert.pem beside it
    out = tmp_path / "b"
    assert cli(["bundle", "build", str(run), "--out", str(out), "--key", str(bare)]) == 0
    assert (out / "signing-cert.pem").read_bytes() == keypair.certificate.read_bytes()
    assert verify_bundle(out, key=keypair.public_key).ok


@pytest.mark.parametrize("where", ["notes/id_ecdsa", ".hidden/key.pem", "snapshots/key.json"])
def test_a_stray_key_anywhere_in_the_run_refuses_the_build(
    where: str, tmp_path: Path, run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A key the bundle would not even take still refuses: it is one copy away from a leak."""
    (run / where).parent.mkdir(parents=True, exist_ok=True)
    (run / where).write_bytes(KEYS["pem-sec1"]())
    out = tmp_path / "b"
    assert cli(["bundle", "build", str(run), "--out", str(out)]) == 2
    assert f"refusing to build the bundle: {where} holds a PEM PRIVATE KEY block" in (
        capsys.readouterr().out
    )
    assert not out.exists()


def test_the_signing_key_from_the_environment_may_live_in_the_run(
    tmp_path: Path, run: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = generate_keypair(run / "keys", name="ci")
    (run / "reports" / "summary.pdf").unlink(missing_ok=True)
    monkeypatch.setenv("IGKIT_SIGNING_KEY", str(keys.private_key))
    out = tmp_path / "b"
    assert cli(["bundle", "build", str(run), "--out", str(out)]) == 0
    assert holds_private_key(out) == []
    assert verify_bundle(out, key=keys.public_key).ok
