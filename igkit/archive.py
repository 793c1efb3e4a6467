"""The one bounded, path-safe reader of archives (``.tar.gz``/``.tar``) and directory trees.

Evidence holders may be hostile, so a tree is read, never trusted: OPA policy bundles
(:mod:`igkit.judge.evidence.opa`), evidence capture (:mod:`igkit.sources.evidence`) and bundle
verification (:mod:`igkit.bundle.verify`) all read through here. Nothing is ever extracted by
this module; callers get ``{posix relative name: bytes}`` (:func:`read_tree`) or a stream of
members (:func:`iter_tar`, :func:`iter_tree`).

Refused, each with one line naming the archive and the member (:class:`ArchiveError`):
absolute names, ``..``/``.``/empty segments, backslashes, NUL and control characters,
invalid UTF-8; symbolic and hard links, devices, FIFOs, sockets, sparse files; a name seen
twice, or used both as a file and as a directory; more than ``max_members`` entries; content
over ``max_bytes``; a decompressed stream over ``max_bytes`` plus header room (a gzip bomb in
headers) or over ``max_ratio`` times the compressed bytes read (once ``ratio_after`` bytes are
out). It lives at the top level because judge/, sources/ and bundle/ all use it and judge/
must not import sources/.
"""

from __future__ import annotations

import gzip
import os
import re
import stat
import tarfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

from igkit.errors import IgkitError

__all__ = [
    "ArchiveError",
    "ArchiveLimits",
    "Member",
    "TreeFile",
    "UnsafePathError",
    "iter_tar",
    "iter_tree",
    "name_problem",
    "read_tree",
    "safe_path",
]

Code = Literal["unreadable", "limit", "name", "kind", "duplicate"]


class ArchiveError(IgkitError):
    """An archive or tree refused or unreadable; ``message`` is one line naming it.

    ``code`` says why: ``unreadable`` (not an archive, truncated, I/O error: an ERROR for
    the caller), ``limit`` (a bound was passed: refused as a bomb), ``name`` / ``kind`` /
    ``duplicate`` (an unsafe member). ``member`` is the member's name as stored, if any;
    ``kind`` what a ``kind`` refusal found instead of a regular file (``symbolic link``...).
    """

    def __init__(
        self, message: str, *, code: Code, member: str | None = None, kind: str | None = None
    ) -> None:
        self.message = message
        self.code = code
        self.member = member
        self.kind = kind
        super().__init__(message)

    @property
    def refused(self) -> bool:
        """Refused on purpose (unsafe or too big), as opposed to unreadable."""
        return self.code != "unreadable"


@dataclass(frozen=True)
class ArchiveLimits:
    """Bounds on one archive or tree. ``max_bytes`` caps the content of all files together;
    ``max_members`` counts every entry, directories included; the compression ratio is
    checked once ``ratio_after`` decompressed bytes are out."""

    max_bytes: int = 1 << 30
    max_members: int = 10_000
    max_ratio: float = 200.0
    ratio_after: int = 16 << 20


@dataclass(frozen=True)
class Member:
    """A regular file of an archive: its safe relative ``name`` and a stream of its bytes,
    valid until the next member is read. ``rooted``: the archive named it with one leading
    ``/`` (``opa build`` does), which was removed."""

    name: str
    stored: str
    size: int
    stream: MemberStream
    rooted: bool


@dataclass(frozen=True)
class TreeFile:
    """A regular file of a directory tree: its safe relative ``name``, path and size."""

    name: str
    path: Path
    size: int


OnRefused = Callable[[ArchiveError], None]

# --------------------------------------------------------------------------- member names

_DRIVE = re.compile(r"^[A-Za-z]:")


def name_problem(name: str, *, label: str = "archive") -> str | None:
    """Why ``name`` (``/``-separated, relative to the root) is unsafe, or None.

    A name with no problem has no ``..``, ``.`` or empty segment, no leading ``/`` or drive
    letter, no backslash and no control character, so ``root / name`` stays inside ``root``
    whatever ``root`` is (as long as no symlink lies under it; the readers refuse those).
    """
    if not name:
        return "has an empty name"
    if "\x00" in name:
        return "contains a NUL byte"
    if any(0xDC80 <= ord(ch) <= 0xDCFF for ch in name):
        return "is not valid UTF-8"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        return "contains a control character"
    if name.startswith("/") or _DRIVE.match(name):
        return "is an absolute path"
    if "\\" in name:
        return "contains a backslash (a path separator on Windows)"
    parts = name.split("/")
    if ".." in parts:
        return f"escapes the {label} root (a '..' segment)"
    if "." in parts:
        return "has a '.' segment (a reader would name it verbatim and never match a listed name)"
    if "" in parts:
        return "has an empty path segment ('//' or a trailing '/')"
    return None


class _Names:
    """Names seen so far: refuses a repeat, and a name used as a file and as a directory."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.files: set[str] = set()
        self.dirs: set[str] = set()

    def add(self, name: str, stored: str, *, is_dir: bool) -> ArchiveError | None:
        parents = name.split("/")[:-1]
        prefixes = ["/".join(parents[: i + 1]) for i in range(len(parents))]
        clash = next((p for p in prefixes if p in self.files), None)
        if (
            clash is not None
            or (name in self.dirs and not is_dir)
            or (name in self.files and is_dir)
        ):
            return ArchiveError(
                f"{self.where}: refused entry {stored!r}: {clash or name!r} is both a file "
                "and a directory",
                code="duplicate",
                member=stored,
            )
        if not is_dir:
            if name in self.files:
                return ArchiveError(
                    f"{self.where}: refused: {stored!r} appears twice in the archive (which "
                    "copy counts is ambiguous)",
                    code="duplicate",
                    member=stored,
                )
            self.files.add(name)
        self.dirs.update(prefixes)
        if is_dir:
            self.dirs.add(name)
        return None


def _raise(exc: ArchiveError) -> None:
    raise exc


# -------------------------------------------------------------------------------- tar


_UNREADABLE = (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile)


def _unreadable(where: str, exc: BaseException, *, gz: bool) -> ArchiveError:
    if isinstance(exc, OSError) and not isinstance(exc, gzip.BadGzipFile):
        return ArchiveError(f"cannot read {where}: {exc.strerror or exc}", code="unreadable")
    return ArchiveError(
        f"{where} is not a readable .tar{'.gz' if gz else ''}: {exc}", code="unreadable"
    )


class _BoundedStream:
    """The decompressed tar stream, read in bounded chunks: past ``limit`` bytes or the
    ratio bound it raises :class:`ArchiveError`, so a bomb stops here, before memory or
    disk fill up - whether the tar headers or a caller reading a member pulls the bytes."""

    def __init__(
        self, raw: IO[bytes], inner: Any, limit: int, limits: ArchiveLimits, where: str
    ) -> None:
        self.raw, self.inner, self.left, self.limits, self.out = raw, inner, limit, limits, 0
        self.where = where

    def read(self, size: int = -1) -> bytes:
        chunk = 1 << 16 if size is None or size < 0 else min(size, 1 << 16)
        data: bytes = self.inner.read(min(chunk, self.left + 1))
        lim = self.limits
        if len(data) > self.left:
            raise ArchiveError(
                f"{self.where}: refused: the archive expands past {lim.max_bytes} bytes "
                "(limit against gzip bombs)",
                code="limit",
            )
        self.left -= len(data)
        self.out += len(data)
        compressed = self.inner is not self.raw
        if compressed and self.out > max(lim.ratio_after, lim.max_ratio * self.raw.tell()):
            raise ArchiveError(
                f"{self.where}: refused: a compression ratio above {lim.max_ratio:g}:1 "
                "(limit against gzip bombs)",
                code="limit",
            )
        return data


class MemberStream:
    """The bytes of one member; a damaged archive raises :class:`ArchiveError` here too."""

    def __init__(self, inner: IO[bytes], where: str, *, gz: bool) -> None:
        self._inner, self._where, self._gz = inner, where, gz

    def read(self, size: int = -1) -> bytes:
        try:
            return self._inner.read(size)
        except (*_UNREADABLE, OSError) as exc:
            raise _unreadable(self._where, exc, gz=self._gz) from None


_TAR_KINDS = {
    tarfile.SYMTYPE: "symbolic link",
    tarfile.LNKTYPE: "hard link",
    tarfile.CHRTYPE: "character device",
    tarfile.BLKTYPE: "block device",
    tarfile.FIFOTYPE: "FIFO",
    tarfile.CONTTYPE: "contiguous file",
    tarfile.GNUTYPE_SPARSE: "sparse file",
}


def _member_refusal(m: tarfile.TarInfo, name: str, where: str, label: str) -> ArchiveError | None:
    """Why member ``m`` (named ``name`` once a root ``/`` is removed) is unsafe, or None."""
    problem = name_problem(name, label=label)
    if problem is not None:
        return ArchiveError(
            f"{where}: refused entry {m.name!r}: it {problem}", code="name", member=m.name
        )
    if m.isdir() or m.isfile():
        return None
    kind = _TAR_KINDS.get(m.type, f"member of type {m.type!r}")
    target = f" -> {m.linkname!r}" if m.linkname else ""
    return ArchiveError(
        f"{where}: refused entry {m.name!r}{target}: it is a {kind}, not a regular file "
        f"(a {label} holds regular files only)",
        code="kind",
        member=m.name,
        kind=kind,
    )


def iter_tar(
    path: Path,
    limits: ArchiveLimits,
    *,
    label: str = "archive",
    allow_rooted: bool = False,
    gzip_only: bool = True,
    on_refused: OnRefused = _raise,
) -> Iterator[Member]:
    """The regular files of a tar archive (gzip-compressed; plain too unless ``gzip_only``),
    streamed once, each :class:`Member` valid until the next.

    A limit or an unreadable archive always raises :class:`ArchiveError`; an unsafe member
    (name, kind, duplicate) is passed to ``on_refused`` - which raises by default - and
    skipped. With ``allow_rooted``, names carrying one leading ``/`` have it removed when
    every regular member carries it (``opa build``'s layout); mixing both is refused.
    Directory members are checked and counted, never yielded.
    """
    where = path.name
    names = _Names(where)
    content_left = limits.max_bytes
    # Headers cost 512 bytes each (long names and pax records more): allow them on top.
    stream_limit = limits.max_bytes + (limits.max_members + 2) * 4 * 512 + (1 << 20)
    first_rooted: bool | None = None
    first_name = ""
    count = 0
    try:
        with open(path, "rb") as raw:
            compressed = raw.read(2) == b"\x1f\x8b"
            raw.seek(0)
            if not compressed and gzip_only:
                raise ArchiveError(
                    f"{where} is not gzip-compressed (expected a .tar.gz)", code="unreadable"
                )
            inner: Any = gzip.GzipFile(fileobj=raw, mode="rb") if compressed else raw
            with inner if compressed else nullcontext():
                stream = _BoundedStream(raw, inner, stream_limit, limits, where)
                with tarfile.open(fileobj=stream, mode="r|") as tar:  # type: ignore[call-overload]
                    for m in tar:
                        count += 1
                        if count > limits.max_members:
                            raise ArchiveError(
                                f"{where}: refused: the archive has more than "
                                f"{limits.max_members} entries (limit against tar bombs)",
                                code="limit",
                            )
                        stored: str = m.name
                        rooted = allow_rooted and stored.startswith("/") and not m.isdir()
                        name = stored[1:] if rooted else stored
                        if m.isdir():
                            name = name.rstrip("/")
                            if allow_rooted and name.startswith("/"):
                                name = name[1:]
                            if not name:
                                continue  # the root itself ("/" or "./" stripped)
                        refused = _member_refusal(m, name, where, label)
                        if refused is not None:
                            on_refused(refused)
                            continue
                        if not m.isdir() and allow_rooted:
                            if first_rooted is None:
                                first_rooted, first_name = rooted, stored
                            elif rooted != first_rooted:
                                culprit = stored if rooted else first_name
                                raise ArchiveError(
                                    f"{where}: refused entry {culprit!r}: it is an absolute path "
                                    "among relative entries (archives written by opa build "
                                    "root every entry at '/'; this one mixes both)",
                                    code="name",
                                    member=culprit,
                                )
                        clash = names.add(name, stored, is_dir=m.isdir())
                        if clash is not None:
                            on_refused(clash)
                            continue
                        if m.isdir():
                            continue
                        if m.size > content_left:
                            raise ArchiveError(
                                f"{where}: refused: the archive expands past {limits.max_bytes} "
                                f"bytes (at {stored!r}; limit against tar bombs)",
                                code="limit",
                                member=stored,
                            )
                        content_left -= m.size
                        fh = tar.extractfile(m)
                        if fh is None:  # pragma: no cover - regular files always have one
                            continue
                        yield Member(
                            name, stored, m.size, MemberStream(fh, where, gz=gzip_only), rooted
                        )
    except (*_UNREADABLE, OSError) as exc:
        raise _unreadable(where, exc, gz=gzip_only) from None


# ------------------------------------------------------------------------- directories


def _mode_kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "symbolic link"
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISCHR(mode):
        return "character device"
    if stat.S_ISBLK(mode):
        return "block device"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "special file"


def iter_tree(
    root: Path,
    limits: ArchiveLimits,
    *,
    label: str = "directory",
    on_refused: OnRefused = _raise,
) -> Iterator[TreeFile]:
    """The regular files under ``root``, in sorted order, never following a link.

    Every entry counts against ``max_members``, every file's size against ``max_bytes``
    (both raise :class:`ArchiveError`); symlinks, devices, FIFOs, sockets and unsafe names
    go to ``on_refused`` (raising by default) and are skipped.
    """
    where = str(root)
    left = [limits.max_bytes, limits.max_members]

    def walk(directory: Path, prefix: str) -> Iterator[TreeFile]:
        try:
            with os.scandir(directory) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            raise ArchiveError(
                f"cannot list {directory}: {exc.strerror or exc}", code="unreadable"
            ) from None
        for entry in entries:
            left[1] -= 1
            if left[1] < 0:
                raise ArchiveError(
                    f"{where}: refused: the {label} has more than {limits.max_members} entries "
                    f"(limit against {label} bombs)",
                    code="limit",
                )
            rel = prefix + entry.name
            problem = name_problem(rel, label=label)
            if problem:
                on_refused(
                    ArchiveError(
                        f"{where}: refused entry {rel!r}: it {problem}", code="name", member=rel
                    )
                )
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError as exc:
                raise ArchiveError(
                    f"cannot read {rel!r} in {where}: {exc.strerror or exc}", code="unreadable"
                ) from None
            if stat.S_ISDIR(st.st_mode):
                yield from walk(Path(entry.path), rel + "/")
                continue
            if not stat.S_ISREG(st.st_mode):
                kind = _mode_kind(st.st_mode)
                hint = " (a link could point outside it)" if kind == "symbolic link" else ""
                on_refused(
                    ArchiveError(
                        f"{where}: refused entry {rel!r}: it is a {kind}, not a regular file "
                        f"(a {label} holds regular files only{hint})",
                        code="kind",
                        member=rel,
                        kind=kind,
                    )
                )
                continue
            if st.st_size > left[0]:
                raise ArchiveError(
                    f"{where}: refused: the {label} is larger than {limits.max_bytes} bytes "
                    f"(at {rel!r}; limit against {label} bombs)",
                    code="limit",
                    member=rel,
                )
            left[0] -= st.st_size
            yield TreeFile(rel, Path(entry.path), st.st_size)

    return walk(root, "")


# ------------------------------------------------------------------------- whole trees


def read_tree(
    path: Path,
    limits: ArchiveLimits,
    *,
    label: str = "archive",
    allow_rooted: bool = False,
) -> dict[str, bytes]:
    """Every regular file of a directory or ``.tar.gz`` at ``path``, keyed by its safe
    ``/``-separated relative name; raises :class:`ArchiveError` at the first refusal.
    ``path`` itself may be a symlink (the user named it); nothing below it may."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise ArchiveError(
            f"cannot read {path}: {exc.strerror or exc}", code="unreadable"
        ) from None
    out: dict[str, bytes] = {}
    if stat.S_ISDIR(st.st_mode):
        budget = limits.max_bytes
        for f in iter_tree(Path(path), limits, label=label):
            try:
                with open(f.path, "rb") as fh:
                    data = fh.read(budget + 1)  # the file may have grown since it was listed
            except OSError as exc:
                raise ArchiveError(
                    f"cannot read {f.name!r} in {path}: {exc.strerror or exc}", code="unreadable"
                ) from None
            if len(data) > budget:
                raise ArchiveError(
                    f"{path}: refused: the {label} is larger than {limits.max_bytes} bytes",
                    code="limit",
                    member=f.name,
                )
            budget -= len(data)
            out[f.name] = data
        return out
    if not stat.S_ISREG(st.st_mode):
        raise ArchiveError(f"{path} is neither a directory nor a file", code="unreadable")
    for m in iter_tar(Path(path), limits, label=label, allow_rooted=allow_rooted):
        data = m.stream.read()
        if len(data) != m.size:
            raise ArchiveError(
                f"{path.name}: {m.stored!r} is truncated in the archive", code="unreadable"
            )
        out[m.name] = data
    return out


# ------------------------------------------------------------------- one path in a tree


class UnsafePathError(IgkitError, ValueError):
    """A relative path that would leave its base directory."""


def safe_path(base: Path, relative: str, *, label: str = "evidence directory") -> Path:
    """``base/relative``, refusing anything that would leave ``base``: an unsafe name
    (:func:`name_problem`), a symlink on the way, or a path resolving outside."""
    problem = name_problem(relative, label=label)
    if problem is not None:
        raise UnsafePathError(f"{relative!r} leaves the {label}: it {problem}")
    current = base
    for part in relative.split("/"):
        current = current / part
        if current.is_symlink():
            raise UnsafePathError(f"{relative!r} goes through a symlink ({current.name}); refused")
    if not current.resolve().is_relative_to(base.resolve()):
        raise UnsafePathError(f"{relative!r} resolves outside the {label}")
    return current
