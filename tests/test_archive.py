"""igkit.archive: the one bounded, path-safe reader of archives and directory trees.

Every hostile archive below has an honest twin (``honest``) that is read in full; every
refusal is one ArchiveError naming the archive and the member.
"""

from __future__ import annotations

import gzip
import io
import os
import tarfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from igkit.archive import (
    ArchiveError,
    ArchiveLimits,
    UnsafePathError,
    iter_tar,
    iter_tree,
    name_problem,
    read_tree,
    safe_path,
)

HONEST = {"top/a.json": b'{"a": 1}', "top/sub/b.txt": b"bee", "top/c.bin": bytes(range(256))}
LIMITS = ArchiveLimits()


def _tar(
    path: Path,
    files: dict[str, bytes],
    extra: Callable[[tarfile.TarFile], None] | None = None,
    *,
    mode: str = "w:gz",
) -> Path:
    with tarfile.open(path, mode, format=tarfile.PAX_FORMAT) as tar:  # type: ignore[call-overload]
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        if extra:
            extra(tar)
    return path


def _member(name: str, kind: bytes = tarfile.REGTYPE, data: bytes = b"x", link: str = "") -> Any:
    def add(tar: tarfile.TarFile) -> None:
        info = tarfile.TarInfo(name)
        info.type = kind
        info.linkname = link
        if kind == tarfile.REGTYPE:
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        else:
            tar.addfile(info)

    return add


def refusal(path: Path, limits: ArchiveLimits = LIMITS, **kw: Any) -> ArchiveError:
    with pytest.raises(ArchiveError) as info:
        read_tree(path, limits, **kw)
    assert "\n" not in info.value.message
    return info.value


# ------------------------------------------------------------------------ positive control


def test_honest_tar_gz_plain_tar_and_directory_read_in_full(tmp_path: Path) -> None:
    assert read_tree(_tar(tmp_path / "ok.tar.gz", HONEST), LIMITS) == HONEST
    plain = _tar(tmp_path / "ok.tar", HONEST, mode="w")
    assert [m.name for m in iter_tar(plain, LIMITS, gzip_only=False)] == list(HONEST)
    root = tmp_path / "tree"
    for name, data in HONEST.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    assert read_tree(root, LIMITS) == HONEST
    assert [f.name for f in iter_tree(root, LIMITS)] == sorted(HONEST)


def test_opa_rooted_names_lose_their_one_slash(tmp_path: Path) -> None:
    rooted = {"/" + k: v for k, v in HONEST.items()}
    assert read_tree(_tar(tmp_path / "r.tar.gz", rooted), LIMITS, allow_rooted=True) == HONEST
    err = refusal(_tar(tmp_path / "r2.tar.gz", rooted), LIMITS)  # not allowed here
    assert "absolute path" in err.message


# ------------------------------------------------------------------------ hostile members


@pytest.mark.parametrize(
    ("extra", "words", "code"),
    [
        (_member("top/../../etc/cron.d/x"), "a '..' segment", "name"),
        (_member("/etc/passwd"), "absolute path", "name"),
        (_member("C:/Windows/x"), "absolute path", "name"),
        (_member("top\\..\\x"), "backslash", "name"),
        (_member("top/./x"), "'.' segment", "name"),
        (_member("top//x"), "empty path segment", "name"),
        (_member("top/x\x1b[2J"), "control character", "name"),
        (_member("top/link", tarfile.SYMTYPE, link="/etc/passwd"), "symbolic link", "kind"),
        (_member("top/hard", tarfile.LNKTYPE, link="top/a.json"), "hard link", "kind"),
        (_member("top/dev", tarfile.CHRTYPE), "character device", "kind"),
        (_member("top/dev", tarfile.BLKTYPE), "block device", "kind"),
        (_member("top/fifo", tarfile.FIFOTYPE), "FIFO", "kind"),
        (_member("top/a.json"), "appears twice", "duplicate"),
        (_member("top/a.json/inner"), "both a file and a directory", "duplicate"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_hostile_member_is_refused_naming_archive_and_member(
    tmp_path: Path, extra: Callable[[tarfile.TarFile], None], words: str, code: str
) -> None:
    path = _tar(tmp_path / "evil.tar.gz", HONEST, extra)
    err = refusal(path)
    assert words in err.message
    assert err.message.startswith("evil.tar.gz: refused")
    assert err.member is not None
    assert repr(err.member) in err.message
    assert err.code == code
    assert err.refused
    assert list(tmp_path.iterdir()) == [path]  # nothing extracted, ever


def test_collecting_refusals_keeps_reading_the_safe_members(tmp_path: Path) -> None:
    def both(tar: tarfile.TarFile) -> None:
        _member("top/../x")(tar)
        _member("top/l", tarfile.SYMTYPE, link="/")(tar)

    refused: list[ArchiveError] = []
    path = _tar(tmp_path / "evil.tar.gz", HONEST, both)
    names = [m.name for m in iter_tar(path, LIMITS, on_refused=refused.append)]
    assert names == list(HONEST)
    assert [e.member for e in refused] == ["top/../x", "top/l"]
    assert refused[1].kind == "symbolic link"


# ------------------------------------------------------------------------------ bounds


def test_too_many_members(tmp_path: Path) -> None:
    path = _tar(tmp_path / "many.tar.gz", {f"top/f{i}": b"" for i in range(11)})
    assert "more than 10 entries" in refusal(path, ArchiveLimits(max_members=10)).message
    assert len(read_tree(path, ArchiveLimits(max_members=11))) == 11  # honest twin


def test_content_over_the_byte_cap(tmp_path: Path) -> None:
    path = _tar(tmp_path / "big.tar.gz", {"top/big": b"0" * 5000})
    err = refusal(path, ArchiveLimits(max_bytes=4999))
    assert "expands past 4999 bytes" in err.message
    assert "'top/big'" in err.message
    assert err.code == "limit"
    assert read_tree(path, ArchiveLimits(max_bytes=5000)) == {"top/big": b"0" * 5000}


def test_compression_bomb_stops_while_the_caller_reads_the_member(tmp_path: Path) -> None:
    path = _tar(tmp_path / "bomb.tar.gz", {"top/zeros": bytes(8 << 20)})
    assert path.stat().st_size < 64 << 10
    limits = ArchiveLimits(max_ratio=50, ratio_after=1 << 20)

    def read_all() -> None:
        for m in iter_tar(path, limits):
            m.stream.read()

    with pytest.raises(ArchiveError) as info:
        read_all()
    assert "compression ratio above 50:1" in info.value.message
    assert info.value.code == "limit"
    assert len(read_tree(path, LIMITS)["top/zeros"]) == 8 << 20  # default ratio bound: fine


def test_gzip_bomb_in_headers_is_bounded(tmp_path: Path) -> None:
    def pax(tar: tarfile.TarFile) -> None:
        info = tarfile.TarInfo("top/x")
        info.pax_headers = {"comment": "x" * 3_000_000}
        tar.addfile(info, io.BytesIO(b""))

    path = _tar(tmp_path / "pax.tar.gz", {}, pax)
    err = refusal(path, ArchiveLimits(max_bytes=100, max_members=4, ratio_after=1 << 30))
    assert "gzip bombs" in err.message


def test_unreadable_archives_are_errors_not_refusals(tmp_path: Path) -> None:
    (tmp_path / "text.tar.gz").write_bytes(b"just text")
    (tmp_path / "cut.tar.gz").write_bytes(_tar(tmp_path / "x.tar.gz", HONEST).read_bytes()[:-40])
    (tmp_path / "junk.tar.gz").write_bytes(gzip.compress(os.urandom(4096)))
    for name in ("text.tar.gz", "cut.tar.gz", "junk.tar.gz"):
        err = refusal(tmp_path / name)
        assert err.code == "unreadable", name
        assert not err.refused
        assert name in err.message


# ------------------------------------------------------------------------- directories


def test_directory_refuses_links_and_special_files(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "ok").write_bytes(b"ok")
    assert read_tree(root, LIMITS) == {"sub/ok": b"ok"}  # honest twin
    (root / "sub" / "link").symlink_to("/etc/passwd")
    err = refusal(root)
    assert "'sub/link'" in err.message
    assert "symbolic link" in err.message
    (root / "sub" / "link").unlink()
    os.mkfifo(root / "pipe")
    assert "FIFO" in refusal(root).message


def test_directory_bounds(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    root.mkdir()
    for i in range(5):
        (root / f"f{i}").write_bytes(b"xy")
    assert "more than 4 entries" in refusal(root, ArchiveLimits(max_members=4)).message
    assert "larger than 9 bytes" in refusal(root, ArchiveLimits(max_bytes=9)).message
    assert len(read_tree(root, ArchiveLimits(max_members=5, max_bytes=10))) == 5


def test_safe_path_refuses_escapes_and_symlinks(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "ok.json").write_text("{}")
    (tmp_path / "in" / "out").symlink_to(tmp_path)
    assert safe_path(tmp_path / "in", "ok.json") == tmp_path / "in" / "ok.json"
    for bad in ("../x", "/etc/passwd", "", "a/./b", "out/in/ok.json"):
        with pytest.raises(UnsafePathError):
            safe_path(tmp_path / "in", bad)


# --------------------------------------------------------------------------- properties

_SEGMENT = st.one_of(
    st.sampled_from(["..", ".", "", "a", "b.json", "C:", "\\", "..\\x", "x\x00", "\u2028"]),
    st.text(min_size=0, max_size=6),
)
_NAME = st.one_of(
    st.lists(_SEGMENT, min_size=1, max_size=5).map("/".join),
    st.text(max_size=20),
)


@pytest.mark.property
@given(name=_NAME)
def test_any_accepted_name_resolves_inside_the_root(name: str) -> None:
    root = Path("/srv/root")
    if name_problem(name) is None:
        resolved = Path(os.path.normpath(root / name))
        assert resolved.is_relative_to(root)
        assert resolved != root
        assert PurePosixPath(name).parts == tuple(name.split("/"))


@pytest.mark.property
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=60)
@given(names=st.lists(_NAME, min_size=1, max_size=4))
def test_a_tar_of_any_names_reads_only_names_inside_the_root(
    tmp_path: Path, names: list[str]
) -> None:
    path = tmp_path / "p.tar.gz"
    with tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT) as tar:
        for name in names:
            try:
                info = tarfile.TarInfo(name)
                info.size = 1
                tar.addfile(info, io.BytesIO(b"x"))
            except (ValueError, UnicodeError):
                pass  # a name tarfile itself cannot write
    root = (tmp_path / "root").resolve()
    try:
        files = read_tree(path, LIMITS)
    except ArchiveError as exc:
        files, message = {}, exc.message
    else:
        message = "p.tar.gz"
    assert message.startswith("p.tar.gz")
    for name in files:
        assert Path(os.path.normpath(root / name)).is_relative_to(root)
        assert name_problem(name) is None
