"""Each way of tampering with a bundle is caught, and named, by ``igkit bundle verify``."""

from __future__ import annotations

import io
import json
import os
import tarfile
from pathlib import Path

import pytest

from igkit.bundle.build import HASHES, HASHES_SIG, seal, write_tar
from igkit.bundle.keys import GeneratedKeyFiles, SigningKey
from igkit.bundle.verify import ArchiveLimits, VerifyResult, verify_bundle
from tests.bundle.conftest import cli, have_pyhanko


def failing(result: VerifyResult) -> dict[str, str]:
    assert not result.ok
    out: dict[str, str] = {}
    for c in result.failures:
        out[c.name] = f"{out[c.name]} | {c.detail}" if c.name in out else c.detail
    return out


def flip(path: Path, at: int = 40) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 0x01
    path.write_bytes(bytes(data))


def snapshot(bundle: Path) -> Path:
    return next((bundle / "snapshots").glob("G1-availability-*.json"))


def test_renamed_file(bundle: Path) -> None:
    os.rename(bundle / "junit.xml", bundle / "junit-renamed.xml")
    bad = failing(verify_bundle(bundle))
    assert "junit.xml" in bad["missing file"]
    assert "junit-renamed.xml" in bad["extra file"]


@pytest.mark.parametrize("rel", ["reports/summary.html", "junit.xml", "snapshots", "manifest.json"])
def test_flipped_byte(bundle: Path, rel: str) -> None:
    target = snapshot(bundle) if rel == "snapshots" else bundle / rel
    flip(target, 20)
    bad = failing(verify_bundle(bundle))
    assert target.relative_to(bundle).as_posix() in bad["hash mismatch"]


def test_flipped_byte_in_hash_list(bundle: Path) -> None:
    flip(bundle / HASHES, 3)  # inside the first hex digest
    bad = failing(verify_bundle(bundle))
    assert "does not verify" in bad["manifest signature"]


def test_flipped_byte_in_signature(bundle: Path, keypair: GeneratedKeyFiles) -> None:
    flip(bundle / HASHES_SIG, 10)
    bad = failing(verify_bundle(bundle, key=keypair.public_key))
    assert set(bad) == {"manifest signature"}


def test_added_file(bundle: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (bundle / "snapshots" / "extra.json").write_text("{}\n")
    assert cli(["bundle", "verify", str(bundle)]) == 1
    out = capsys.readouterr().out
    assert "FAIL extra file: snapshots/extra.json is in the bundle" in out


def test_missing_file(bundle: Path) -> None:
    snapshot(bundle).unlink()
    bad = failing(verify_bundle(bundle))
    assert "G1-availability" in bad["missing file"]


def test_dotdot_path_in_hash_list(bundle: Path, signing_key: SigningKey) -> None:
    lines = (bundle / HASHES).read_text() + f"{'0' * 64}  ../outside.txt\n"
    (bundle / HASHES).write_text(lines)
    (bundle / HASHES_SIG).write_bytes(signing_key.sign(lines.encode()))  # validly re-signed
    bad = failing(verify_bundle(bundle))
    assert "'..' in path" in bad["unsafe path"]


def test_symlink_in_bundle(bundle: Path, tmp_path: Path) -> None:
    (tmp_path / "elsewhere.txt").write_text("x")
    os.symlink(tmp_path / "elsewhere.txt", bundle / "reports" / "link.txt")
    bad = failing(verify_bundle(bundle))
    assert "reports/link.txt is a symlink" in bad["no symlinks"]


def test_signed_by_another_key(bundle: Path, other_keypair: GeneratedKeyFiles) -> None:
    bad = failing(verify_bundle(bundle, key=other_keypair.public_key))
    assert {"manifest signature", "attestation signature", "manifest.json signature"} <= set(bad)


def test_resealed_by_another_key_fails_with_the_expected_key(
    bundle: Path, keypair: GeneratedKeyFiles, other_keypair: GeneratedKeyFiles
) -> None:
    from igkit.bundle.keys import load_signing_key

    other = load_signing_key(other_keypair.private_key, env={})
    assert other is not None
    flip(snapshot(bundle), 20)
    seal(bundle, other)  # the hash list is consistent again, but signed by the wrong key
    bad = failing(verify_bundle(bundle, key=keypair.public_key))
    assert "manifest signature" in bad
    assert "hash mismatch" not in bad


@pytest.mark.parametrize("duplicate", [False, True], ids=["honest-reseal", "duplicate-key"])
def test_signed_verdicts_with_a_duplicate_key_are_refused(
    bundle: Path, signing_key: SigningKey, keypair: GeneratedKeyFiles, duplicate: bool
) -> None:
    """A verdicts.json that says two decisions is refused even when properly signed: the
    bundle reads it strictly (a plain JSON reader keeps the last "decision" and passes)."""
    path = bundle / "verdicts.json"
    text = path.read_text()
    if duplicate:
        text = text.replace("{", '{"decision": "GO", ', 1)
    path.write_text(text)
    seal(bundle, signing_key)
    result = verify_bundle(bundle, key=keypair.public_key)
    if not duplicate:  # positive control: the same re-seal of the honest file verifies
        assert result.ok, result.failures
        return
    assert "verdicts.json is missing or not JSON" in failing(result)["manifest vs verdicts"]


def test_tar_with_dotdot_and_symlink_members(tmp_path: Path, sealed: Path) -> None:
    archive = tmp_path / "evil.tar.gz"
    write_tar(sealed, archive)
    import gzip

    raw = io.BytesIO(gzip.decompress(archive.read_bytes()))
    with tarfile.open(fileobj=raw, mode="a") as tar:
        info = tarfile.TarInfo("bundle/../escape.txt")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
        link = tarfile.TarInfo("bundle/reports/link")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(link)
    archive.write_bytes(gzip.compress(raw.getvalue()))
    result = verify_bundle(archive)
    lines = [c.detail for c in result.failures if c.name == "archive member"]
    assert any("'bundle/../escape.txt'" in d and "'..' segment" in d for d in lines)
    assert any("'bundle/reports/link'" in d and "symbolic link" in d for d in lines)
    assert not (tmp_path / "escape.txt").exists()


@pytest.mark.skipif(not have_pyhanko(), reason="pyHanko not installed: cannot make a signed PDF")
def test_signed_pdf_passes_then_truncated_pdf_fails(
    bundle: Path, signing_key: SigningKey, keypair: GeneratedKeyFiles
) -> None:
    good = verify_bundle(bundle, key=keypair.public_key)
    assert any(c.name == "pdf signature" and c.ok for c in good.checks)
    pdf = bundle / "reports" / "summary.pdf"
    pdf.write_bytes(pdf.read_bytes()[:-100])
    seal(bundle, signing_key)  # hashes re-sealed: only the PDF check can notice
    result = verify_bundle(bundle, key=keypair.public_key)
    assert [c.name for c in result.failures] == ["pdf signature"]
    assert result.failures[0].subject == "reports/summary.pdf"


@pytest.mark.skipif(not have_pyhanko(), reason="pyHanko not installed: cannot make a signed PDF")
def test_pdf_with_bytes_appended_after_signing_fails(bundle: Path, signing_key: SigningKey) -> None:
    pdf = bundle / "reports" / "summary.pdf"
    pdf.write_bytes(pdf.read_bytes() + b"\n% appended after signing\n")
    seal(bundle, signing_key)
    bad = failing(verify_bundle(bundle))
    assert "not the entire file" in bad["pdf signature"]


def test_forged_verdict_is_caught_only_by_replay(
    bundle: Path, signing_key: SigningKey, keypair: GeneratedKeyFiles
) -> None:
    path = bundle / "verdicts.json"
    verdicts = json.loads(path.read_bytes())
    objective = verdicts["gates"][0]["objectives"][0]
    objective["observed"] = 0.001  # a prettier number than the snapshots support
    path.write_text(json.dumps(verdicts, indent=2) + "\n")
    seal(bundle, signing_key)  # forger holds the key: hashes and signatures are all valid
    assert verify_bundle(bundle, key=keypair.public_key).ok
    bad = failing(verify_bundle(bundle, key=keypair.public_key, replay=True))
    assert bad["replay"].startswith("G1: recorded PASS")


def test_edited_and_resealed_snapshot_is_caught_by_replay(
    bundle: Path, signing_key: SigningKey, keypair: GeneratedKeyFiles
) -> None:
    from igkit.snapshots import canonical_json, canonical_sha256

    snap = snapshot(bundle)
    data = json.loads(snap.read_bytes().replace(b'"0.9999"', b'"0.9000"'))
    data.pop("sha256")
    data["sha256"] = canonical_sha256(data)  # the snapshot's own seal is redone too
    snap.write_bytes(canonical_json(data) + b"\n")
    seal(bundle, signing_key)
    assert verify_bundle(bundle, key=keypair.public_key).ok
    bad = failing(verify_bundle(bundle, key=keypair.public_key, replay=True))
    # the re-sealed snapshot no longer matches index.json: its objective is ERROR, not judged
    assert bad["replay"].startswith("G1: recorded PASS, re-evaluated ERROR")
    assert "decision: recorded GO, re-evaluated NO-GO" in bad["replay"]


def test_replay_refuses_a_matrix_that_is_not_the_runs(
    bundle: Path, signing_key: SigningKey
) -> None:
    matrix = bundle / "matrix.yaml"
    matrix.write_text(matrix.read_text() + "\n# edited\n")
    seal(bundle, signing_key)
    bad = failing(verify_bundle(bundle, replay=True))
    assert "matrix_sha256" in bad["replay"]


class _Zeros(io.RawIOBase):
    """``size`` zero bytes, streamed (the test itself never holds the bomb in memory)."""

    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buf: bytearray) -> int:  # type: ignore[override]
        n = min(len(buf), self.left)
        buf[:n] = bytes(n)
        self.left -= n
        return n


def _tar_with(sealed: Path, archive: Path, extra: list[tuple[str, int]]) -> None:
    """The sealed bundle as a .tar.gz, plus ``extra`` members of zero bytes."""
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(sealed, arcname="bundle")
        for name, size in extra:
            info = tarfile.TarInfo(f"bundle/{name}")
            info.size = size
            tar.addfile(info, _Zeros(size))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("extra", "limits", "why"),
    [
        ([("zeros.bin", 64 << 20)], ArchiveLimits(), "compression ratio above 200:1"),
        ([], ArchiveLimits(max_bytes=100_000), "expands past 100000 bytes"),
        ([(f"f{i}", 0) for i in range(30)], ArchiveLimits(max_members=20), "more than 20 entries"),
    ],
    ids=["gzip-bomb", "total-size", "member-count"],
)
def test_tar_beyond_limits_fails_without_extracting(
    tmp_path: Path, sealed: Path, extra: list[tuple[str, int]], limits: ArchiveLimits, why: str
) -> None:
    archive = tmp_path / "big.tar.gz"
    _tar_with(sealed, archive, extra)
    result = verify_bundle(archive, limits=limits)
    assert [c.name for c in result.failures] == ["archive"]
    assert result.failures[0].detail.startswith("archive exceeds limits")
    assert why in result.failures[0].detail


def test_tar_within_limits_verifies(
    tmp_path: Path, sealed: Path, keypair: GeneratedKeyFiles
) -> None:
    """Positive control: the same bundle archived the same way, with default limits."""
    archive = tmp_path / "ok.tar.gz"
    _tar_with(sealed, archive, [])
    result = verify_bundle(archive, key=keypair.public_key)
    assert result.ok, [c.line() for c in result.failures]


@pytest.mark.skipif(not have_pyhanko(), reason="pyHanko not installed: cannot make a signed PDF")
def test_pdf_with_bytes_hidden_in_the_signature_padding_fails(
    bundle: Path, signing_key: SigningKey, keypair: GeneratedKeyFiles
) -> None:
    """The unsigned zero padding of /Contents can carry bytes no digest covers; bundle verify
    uses the strict verifier of igkit.report.pdf, which refuses them."""
    pdf = bundle / "reports" / "summary.pdf"
    data = pdf.read_bytes()
    start = data.rindex(b"/ByteRange")
    a1 = sum(int(x) for x in data[start : start + 80].split(b"[")[1].split(b"]")[0].split()[:2])
    end = data.index(b">", a1)
    hexes = data[a1 + 1 : end]
    pad = len(hexes) - len(hexes.rstrip(b"0"))
    assert pad > 40
    hidden = data[: end - 20] + b"DEADBEEF" + data[end - 12 :]
    assert len(hidden) == len(data)
    assert any(
        c.name == "pdf signature" and c.ok
        for c in verify_bundle(bundle, key=keypair.public_key).checks
    )
    pdf.write_bytes(hidden)
    seal(bundle, signing_key)
    result = verify_bundle(bundle, key=keypair.public_key)
    assert [c.name for c in result.failures] == ["pdf signature"]
    assert "signature container" in result.failures[0].detail
