"""An output directory (``--out``) owned by one igkit run at a time.

``OUT/.igkit-run.json`` (the run marker, ``{"schema": "igkit.run/v1", "files": [...]}``) lists
every file the run wrote, relative to ``OUT``; each writer registers a path *before* writing
it (:func:`register`, called by :mod:`igkit.atomic`), so even a run killed half-way leaves a
complete list. A new run into the same directory first removes exactly those files — never
anything else — so no output of an earlier run can be mistaken for, or sealed into, the new one.
A non-empty directory without a marker is not igkit's and is refused (exit 2).

``OUT/.igkit-run.lock`` is held with ``flock`` for the whole command: a second run into the same
directory exits 2 "in use by pid N". The lock file stays (deleting a lock file races).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from igkit.errors import ConfigError, IgkitError

MARKER = ".igkit-run.json"
LOCK = ".igkit-run.lock"
MARKER_SCHEMA = "igkit.run/v1"

_guard = threading.RLock()
_active: list[RunDir] = []


@dataclass
class RunDir:
    root: Path
    fd: int
    files: set[str] = field(default_factory=set)
    started_at: str = ""

    def save(self) -> None:
        from igkit.atomic import json_bytes, write_bytes

        body = json_bytes(
            {
                "schema": MARKER_SCHEMA,
                "pid": os.getpid(),
                "started_at": self.started_at,
                "files": sorted(self.files),
            }
        )
        write_bytes(self.root / MARKER, body, binary=True, register_with_run=False)

    def add(self, rel: str) -> None:
        with _guard:
            if rel not in self.files:
                self.files.add(rel)
                self.save()


def _owner(path: Path) -> tuple[RunDir, str] | None:
    resolved = path.parent.resolve() / path.name
    with _guard:
        for run in reversed(_active):
            if resolved.is_relative_to(run.root) and resolved != run.root:
                return run, resolved.relative_to(run.root).as_posix()
    return None


def register(path: Path) -> None:
    """Record ``path`` in the marker of the active run whose directory holds it (if any)."""
    found = _owner(path)
    if found is not None:
        found[0].add(found[1])


def register_tree(path: Path) -> None:
    """Register every regular file under ``path`` (written by a tool that is not igkit's)."""
    if path.is_file() and not path.is_symlink():
        register(path)
    elif path.is_dir() and not path.is_symlink():
        for root, _dirs, names in os.walk(path):
            for name in names:
                register(Path(root) / name)


def active(out: Path) -> RunDir | None:
    root = out.resolve()
    with _guard:
        return next((r for r in _active if r.root == root), None)


def check_apart(out: Path, inputs: Sequence[Path], flag: str = "--replay") -> None:
    """Refuse an ``--out`` that is, lies inside or holds an input: the input must survive."""
    o = out.resolve()
    for given in inputs:
        i = given.resolve()
        if o == i or o.is_relative_to(i) or i.is_relative_to(o):
            raise ConfigError(
                f"--out {out} overlaps the {flag} input {given}: a run would delete or overwrite "
                "its own input; choose another --out",
                where="--out",
            )


def _lock(out: Path) -> int:
    path = out / LOCK
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
    except OSError as exc:
        from igkit.atomic import OutputError

        raise OutputError(path, exc) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        try:
            holder = os.read(fd, 32).decode("ascii", "replace").strip() or "?"
        finally:
            os.close(fd)
        raise ConfigError(
            f"in use by pid {holder} (another igkit run writes there); wait or choose another --out",
            where=str(out),
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def _unlock(fd: int) -> None:
    with contextlib.suppress(OSError):
        fcntl.flock(fd, fcntl.LOCK_UN)
    with contextlib.suppress(OSError):
        os.close(fd)


def _previous_files(out: Path) -> list[str] | None:
    """The files listed by ``out``'s marker; None without a marker."""
    from igkit.strictdoc import load_json

    marker = out / MARKER
    if not marker.is_file() or marker.is_symlink():
        return None
    try:
        data = load_json(marker.read_bytes(), where=str(marker))
    except (OSError, IgkitError) as exc:
        raise ConfigError(f"unreadable run marker ({exc})", where=str(marker)) from None
    files = data.get("files") if isinstance(data, dict) else None
    if (
        not isinstance(data, dict)
        or data.get("schema") != MARKER_SCHEMA
        or not isinstance(files, list)
        or not all(isinstance(f, str) for f in files)
    ):
        raise ConfigError(
            f"not an {MARKER_SCHEMA} marker; remove the directory or choose another --out",
            where=str(marker),
        )
    return files


def _remove_previous(out: Path, files: list[str]) -> None:
    """Delete the listed files (only regular files and symlinks inside ``out``), then the
    directories they leave empty."""
    dirs: set[Path] = set()
    for rel in files:
        parts = PurePosixPath(rel).parts
        if not parts or PurePosixPath(rel).is_absolute() or ".." in parts:
            continue
        target = out.joinpath(*parts)
        if not (target.parent.resolve() / target.name).is_relative_to(out.resolve()):
            continue
        if target.is_symlink() or target.is_file():
            try:
                target.unlink()
            except OSError as exc:
                raise ConfigError(
                    f"cannot remove the earlier run's {rel}: {exc.strerror}", where=str(out)
                ) from None
        dirs.update(p for p in target.parents if p != out and p.is_relative_to(out))
    for d in sorted(dirs, key=lambda p: len(p.parts), reverse=True):
        with contextlib.suppress(OSError):
            d.rmdir()  # only if empty: a file igkit does not own keeps its directory


def _open(out: Path, *, fresh: bool) -> RunDir:
    if out.exists() and not out.is_dir():
        raise ConfigError("--out exists and is not a directory", where=str(out))
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        from igkit.atomic import OutputError

        raise OutputError(out, exc) from None  # an unwritable path: exit 3
    fd = _lock(out)
    try:
        previous = _previous_files(out)
        others = [p.name for p in out.iterdir() if p.name not in (MARKER, LOCK)]
        if previous is None and others:
            raise ConfigError(
                f"is not empty and is not an igkit run directory (no {MARKER}); "
                "choose a new or empty --out",
                where=str(out),
            )
        run = RunDir(root=out.resolve(), fd=fd, started_at=datetime.now(UTC).isoformat())
        if fresh and previous:
            _remove_previous(out, previous)
        elif previous:
            run.files = set(previous)
        run.save()
    except BaseException:
        _unlock(fd)
        raise
    return run


@contextlib.contextmanager
def owned(out: Path, *, fresh: bool) -> Iterator[RunDir]:
    """Hold ``out`` for a run: lock it and (``fresh``) remove the earlier run's files.

    Nested use for the same directory reuses the run already held (``fresh`` is ignored)."""
    current = active(out)
    if current is not None:
        yield current
        return
    run = _open(out, fresh=fresh)
    with _guard:
        _active.append(run)
    try:
        yield run
    finally:
        with _guard:
            _active.remove(run)
        _unlock(run.fd)
