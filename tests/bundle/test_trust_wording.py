"""``bundle verify`` says who signed and how that signer is trusted - never more than it knows."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from igkit.bundle.build import CERTIFICATE, MANIFEST, PUBLIC_KEY, seal, sign_manifest
from igkit.bundle.keys import GeneratedKeyFiles, load_signing_key
from igkit.bundle.verify import SELF_ASSERTED_CERT, TRUSTED, UNTRUSTED_DEMO, verify_bundle
from tests.bundle.conftest import cli


def test_with_key_the_signer_is_trusted_by_key(
    sealed: Path, keypair: GeneratedKeyFiles, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(["bundle", "verify", str(sealed), "--key", str(keypair.public_key)]) == 0
    out = capsys.readouterr().out
    result = verify_bundle(sealed, key=keypair.public_key)
    assert result.trust == TRUSTED
    assert result.signer is not None
    assert result.signer.startswith("CN=igkit test signer (SHA256:")
    assert f"signer: {result.signer}: trusted (key given by --key)" in out
    assert out.splitlines()[-1].startswith("bundle verify: PASS - ")
    assert "signer trusted" not in out
    pdf = [c.detail for c in result.checks if c.name == "pdf signature"]
    assert all(d.endswith(TRUSTED) for d in pdf)


def test_a_forger_resigning_with_their_own_key_is_only_self_asserted(
    bundle: Path,
    keypair: GeneratedKeyFiles,
    other_keypair: GeneratedKeyFiles,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The forger swaps in their own key and certificate and re-seals: without --key the
    bundle is intact but SELF-ASSERTED (exit 1); with the release key it FAILs."""
    forger = load_signing_key(other_keypair.private_key, env={})
    assert forger is not None
    shutil.copy(other_keypair.public_key, bundle / PUBLIC_KEY)
    shutil.copy(other_keypair.certificate, bundle / CERTIFICATE)
    (bundle / "reports" / "summary.pdf").unlink(missing_ok=True)
    manifest = json.loads((bundle / MANIFEST).read_bytes())
    manifest["signingKey"]["fingerprint"] = forger.fingerprint
    (bundle / MANIFEST).write_text(json.dumps(sign_manifest(manifest, forger), indent=2) + "\n")
    seal(bundle, forger)
    alone = verify_bundle(bundle)
    assert alone.trust == SELF_ASSERTED_CERT
    assert cli(["bundle", "verify", str(bundle)]) == 1
    out = capsys.readouterr().out
    assert "bundle verify: SELF-ASSERTED" in out
    assert "NOT verified as the release team's" in out
    assert cli(["bundle", "verify", str(bundle), "--key", str(keypair.public_key)]) == 1
    assert "bundle verify: FAIL" in capsys.readouterr().out


def test_demo_key_is_called_untrusted_even_when_given(
    tmp_path: Path,
    run_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("IGKIT_SIGNING_KEY", raising=False)
    run = tmp_path / "run"
    shutil.copytree(run_dir, run)
    (run / "reports" / "summary.pdf").unlink(missing_ok=True)
    out = tmp_path / "demo"
    assert cli(["bundle", "build", str(run), "--out", str(out)]) == 0
    pub = tmp_path / "demo.demo-key.pub.pem"
    capsys.readouterr()
    assert cli(["bundle", "verify", str(out), "--key", str(pub)]) == 0
    text = capsys.readouterr().out
    assert "signer: CN=igkit UNTRUSTED demo key (SHA256:" in text
    assert text.splitlines()[-1].startswith("bundle verify: PASS (integrity only)")
    assert UNTRUSTED_DEMO in text.splitlines()[-1]
    assert verify_bundle(out).trust == UNTRUSTED_DEMO
    assert cli(["bundle", "verify", str(out)]) == 1  # no --key: never better than self-asserted
