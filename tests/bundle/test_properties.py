"""Properties: no single-byte change, added file, added symlink or rename of a real signed
bundle gets past ``bundle verify --key``.

The bundle is built once per module (with its signed PDF); each example changes it in place
and restores it afterwards, so an example costs one verify, never a re-render.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from igkit.bundle.build import build_bundle, bundle_files
from igkit.bundle.keys import GeneratedKeyFiles, SigningKey
from igkit.bundle.verify import verify_bundle

# File names as a holder might pick them: any Unicode (line separators included) but the
# two bytes no POSIX name can hold.
NAMES = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="/\x00"),
    min_size=1,
    max_size=24,
).filter(lambda n: n not in {".", ".."} and len(n.encode()) < 200)


@pytest.fixture(scope="module")
def built(
    tmp_path_factory: pytest.TempPathFactory, run_dir: Path, signing_key: SigningKey
) -> Iterator[tuple[Path, list[str]]]:
    bundle = build_bundle(
        run_dir, tmp_path_factory.mktemp("prop") / "bundle", key=signing_key
    ).bundle
    files = bundle_files(bundle)
    yield bundle, files
    assert bundle_files(bundle) == files  # every example restored what it changed


def verifies(bundle: Path, keypair: GeneratedKeyFiles) -> bool:
    return verify_bundle(bundle, key=keypair.public_key).ok


def test_positive_control_the_built_bundle_verifies(
    built: tuple[Path, list[str]], keypair: GeneratedKeyFiles
) -> None:
    bundle, files = built
    assert verifies(bundle, keypair)
    assert any(f.endswith(".pdf") for f in files)


@pytest.mark.parametrize("offset", [45, 60, 120, 200, 300])
def test_a_damaged_signing_certificate_fails_without_an_exception(
    built: tuple[Path, list[str]], keypair: GeneratedKeyFiles, offset: int
) -> None:
    """Found by ``make fuzz``: one base64 character of ``signing-cert.pem`` changed made
    asn1crypto raise inside the PDF check (it parses certificates lazily) instead of a
    failed check. (The positive control above: the undamaged bundle verifies.)"""
    bundle, _ = built
    path = bundle / "signing-cert.pem"
    original = path.read_bytes()
    changed = bytearray(original)
    changed[offset] = ord("/") if changed[offset] != ord("/") else ord("+")
    path.write_bytes(bytes(changed))
    try:
        assert not verifies(bundle, keypair)
    finally:
        path.write_bytes(original)


@pytest.mark.property
@given(data=st.data())
def test_any_single_byte_replaced_fails(
    built: tuple[Path, list[str]], keypair: GeneratedKeyFiles, data: st.DataObject
) -> None:
    bundle, files = built
    rel = data.draw(st.sampled_from(files), label="file")
    path = bundle / rel
    original = path.read_bytes()
    at = data.draw(st.integers(0, len(original) - 1), label="offset")
    new = data.draw(st.integers(0, 254), label="byte")
    new += new >= original[at]  # any byte but the one already there
    changed = bytearray(original)
    changed[at] = new
    path.write_bytes(bytes(changed))
    try:
        assert not verifies(bundle, keypair), f"{rel}[{at}] = {new:#04x} still verifies"
    finally:
        path.write_bytes(original)


@pytest.mark.property
@given(data=st.data(), name=NAMES, content=st.binary(max_size=64))
def test_an_added_file_fails(
    built: tuple[Path, list[str]],
    keypair: GeneratedKeyFiles,
    data: st.DataObject,
    name: str,
    content: bytes,
) -> None:
    bundle, files = built
    folder = data.draw(st.sampled_from(sorted({"", *(str(Path(f).parent) for f in files)})))
    path = bundle / folder / name
    if os.path.lexists(path) or path.is_dir():
        return
    path.write_bytes(content)
    try:
        assert not verifies(bundle, keypair)
    finally:
        path.unlink()


@pytest.mark.property
@given(data=st.data(), name=NAMES)
def test_an_added_symlink_fails(
    built: tuple[Path, list[str]], keypair: GeneratedKeyFiles, data: st.DataObject, name: str
) -> None:
    bundle, files = built
    target = data.draw(st.sampled_from([*files, "/etc/passwd", "../outside", "."]))
    path = bundle / name
    if os.path.lexists(path):
        return
    os.symlink(target, path)
    try:
        assert not verifies(bundle, keypair)
    finally:
        path.unlink()


@pytest.mark.property
@given(data=st.data(), name=NAMES)
def test_a_renamed_file_fails(
    built: tuple[Path, list[str]], keypair: GeneratedKeyFiles, data: st.DataObject, name: str
) -> None:
    bundle, files = built
    rel = data.draw(st.sampled_from(files), label="file")
    src = bundle / rel
    dst = src.with_name(name)
    if os.path.lexists(dst):
        return
    src.rename(dst)
    try:
        assert not verifies(bundle, keypair)
    finally:
        dst.rename(src)
