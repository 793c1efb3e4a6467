"""The README's "Verify a bundle without igkit" steps, run exactly as written on real bundles:
an honest bundle passes every step; an added file or symlink makes the documented step fail."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from igkit.bundle.build import build_bundle
from igkit.bundle.keys import GeneratedKeyFiles, SigningKey

README = Path(__file__).resolve().parents[2] / "README.md"
MARKER = "<!-- verify-without-igkit -->"


def readme_steps() -> list[str]:
    """The commands of the fenced block after the marker, one per step (comments dropped)."""
    text = README.read_text(encoding="utf-8")
    block = re.search(re.escape(MARKER) + r"\n```bash\n(.*?)```", text, re.S)
    assert block, f"README.md has no {MARKER} bash block"
    steps = [ln for ln in block.group(1).splitlines() if ln.strip() and not ln.startswith("#")]
    assert len(steps) == 4
    return steps


def run_steps(bundle: Path, public_key: Path) -> list[int]:
    """Exit status of each step, run by bash in the bundle directory."""
    codes = []
    for step in readme_steps():
        command = step.replace("release.pub.pem", str(public_key))
        done = subprocess.run(["bash", "-c", command], cwd=bundle, capture_output=True)
        codes.append(done.returncode)
    return codes


@pytest.fixture
def odd_bundle(tmp_path: Path, run_dir: Path, signing_key: SigningKey) -> Path:
    """A real bundle with file names a line-based check could trip on (U+2028, spaces)."""
    run = tmp_path / "run"
    shutil.copytree(run_dir, run)
    (run / "reports" / "odd\u2028name with spaces.html").write_text("<html></html>\n")
    return build_bundle(run, tmp_path / "odd", key=signing_key).bundle


def test_honest_bundles_pass_every_step(
    bundle: Path, odd_bundle: Path, keypair: GeneratedKeyFiles
) -> None:
    assert run_steps(bundle, keypair.public_key) == [0, 0, 0, 0]
    assert run_steps(odd_bundle, keypair.public_key) == [0, 0, 0, 0]


def test_other_key_fails_the_signature_step(bundle: Path, other_keypair: GeneratedKeyFiles) -> None:
    assert run_steps(bundle, other_keypair.public_key) == [0, 0, 1, 0]


@pytest.mark.parametrize(
    "extra",
    ["notes.txt", "reports/extra.html", "snapshots/G1-availability-0000.json", "a\nb"],
)
def test_an_unlisted_file_fails_step_4(
    bundle: Path, keypair: GeneratedKeyFiles, extra: str
) -> None:
    (bundle / extra).write_text("{}\n")
    codes = run_steps(bundle, keypair.public_key)
    assert codes[:3] == [0, 0, 0]
    assert codes[3] != 0


def test_a_copy_under_the_signature_name_in_a_subfolder_fails_step_4(
    bundle: Path, keypair: GeneratedKeyFiles
) -> None:
    """Only the top-level list and signature are excluded, exactly."""
    shutil.copy(bundle / "manifest-sha256.txt.sig", bundle / "reports" / "manifest-sha256.txt.sig")
    assert run_steps(bundle, keypair.public_key)[3] != 0


@pytest.mark.parametrize("target", ["verdicts.json", "/etc/passwd", "reports"])
def test_an_added_symlink_fails_step_1(
    bundle: Path, keypair: GeneratedKeyFiles, target: str
) -> None:
    os.symlink(target, bundle / "reports" / "link")
    codes = run_steps(bundle, keypair.public_key)
    assert codes[0] != 0
    assert codes[1:3] == [0, 0]


def test_a_listed_file_replaced_by_a_symlink_fails(
    bundle: Path, keypair: GeneratedKeyFiles, tmp_path: Path
) -> None:
    """The symlink points at an identical copy outside: sha256sum follows it and says OK."""
    outside = tmp_path / "junit.xml"
    shutil.copy(bundle / "junit.xml", outside)
    (bundle / "junit.xml").unlink()
    os.symlink(outside, bundle / "junit.xml")
    codes = run_steps(bundle, keypair.public_key)
    assert codes[0] != 0
    assert codes[1] == 0
    assert codes[3] != 0
