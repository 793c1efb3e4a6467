from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography import x509

from igkit.bundle.keys import (
    ENV_SIGNING_KEY,
    ephemeral_key,
    generate_keypair,
    load_signing_key,
)
from igkit.errors import ConfigError
from tests.bundle.conftest import cli


def test_generate_writes_pkcs8_0600_pub_and_signing_cert(tmp_path: Path) -> None:
    files = generate_keypair(tmp_path, name="rel", subject="CN=Release Bot,O=Example")
    assert stat.S_IMODE(files.private_key.stat().st_mode) == 0o600
    assert files.private_key.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    cert = x509.load_pem_x509_certificate(files.certificate.read_bytes())
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert ku.critical
    assert ku.value.digital_signature
    assert ku.value.content_commitment
    assert (cert.not_valid_after_utc - cert.not_valid_before_utc).days == 365
    assert cert.subject.rfc4514_string() == "CN=Release Bot,O=Example"
    key = load_signing_key(files.private_key, env={})
    assert key is not None
    assert key.trusted
    assert key.cert_pem is not None
    assert key.public_pem == files.public_key.read_bytes()


def test_cli_refuses_to_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["keys", "generate", "--out", str(tmp_path)]) == 0
    before = (tmp_path / "igkit.key.pem").read_bytes()
    assert cli(["keys", "generate", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().out.strip().splitlines()[-1]
    assert "refusing to overwrite" in err
    assert (tmp_path / "igkit.key.pem").read_bytes() == before


def test_key_from_env_and_none_without_config(tmp_path: Path) -> None:
    files = generate_keypair(tmp_path)
    assert load_signing_key(None, env={}) is None
    key = load_signing_key(None, env={ENV_SIGNING_KEY: str(files.private_key)})
    assert key is not None
    assert key.trusted
    with pytest.raises(ConfigError, match=ENV_SIGNING_KEY):
        load_signing_key(None, env={ENV_SIGNING_KEY: str(tmp_path / "nope.pem")})
    with pytest.raises(ConfigError, match="not an unencrypted PEM private key"):
        load_signing_key(files.public_key, env={})


def test_ephemeral_key_is_untrusted() -> None:
    key = ephemeral_key()
    assert not key.trusted
    assert key.cert_pem is not None
