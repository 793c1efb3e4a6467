"""The bundle's layout, read through :mod:`igkit.archive`: a ``.tar.gz`` holds only regular
files and directories under one top directory (unsafe members are FAIL checks and are never
extracted; a limit passed is FAIL "archive exceeds limits"), and a directory only regular
files (a symlink is FAIL "no symlinks")."""

from __future__ import annotations

import shutil
from pathlib import Path, PurePosixPath

from igkit.archive import ArchiveError, ArchiveLimits, iter_tar, iter_tree
from igkit.bundle.verify.result import VerifyResult
from igkit.judge.evidence.checks import error, failed, passed


def extract(
    archive: Path, dest: Path, result: VerifyResult, limits: ArchiveLimits | None = None
) -> Path | None:
    """Stream ``archive`` once into ``dest``, safe members only; the top directory, or None
    when the archive is unreadable, over ``limits`` or not one top directory."""
    refused: list[ArchiveError] = []
    count = 0
    tops: set[str] = set()
    try:
        for m in iter_tar(
            archive, limits or ArchiveLimits(), label="bundle", on_refused=refused.append
        ):
            count += 1
            parts = PurePosixPath(m.name).parts
            tops.add(parts[0])
            target = dest.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("xb") as out:
                shutil.copyfileobj(m.stream, out, 1 << 16)
    except ArchiveError as exc:
        if exc.code == "limit":
            result.checks.append(
                failed("archive", f"archive exceeds limits: {exc.message}; not extracted")
            )
        elif exc.refused:
            result.checks.append(failed("archive member", f"{exc.message}; not extracted"))
        else:
            result.checks.append(error("archive", exc.message))
        return None
    except OSError as exc:
        result.checks.append(error("archive", f"cannot extract {archive.name}: {exc}"))
        return None
    for why in refused:
        result.checks.append(failed("archive member", f"{why.message}; not extracted"))
    top = next(iter(tops)) if len(tops) == 1 else None
    if top is None or not (dest / top).is_dir():
        result.checks.append(failed("archive", f"expected one top directory, found {sorted(tops)}"))
        return None
    if not refused:
        result.checks.append(passed("archive", f"{count} safe file(s), top directory {top}/"))
    return dest / top


def walk(bundle: Path, result: VerifyResult) -> dict[str, Path]:
    """The bundle's regular files by relative name; anything else is a FAIL check."""
    refused: list[ArchiveError] = []
    files: dict[str, Path] = {}
    try:
        for f in iter_tree(bundle, ArchiveLimits(), label="bundle", on_refused=refused.append):
            files[f.name] = f.path
    except ArchiveError as exc:
        status = failed if exc.refused else error
        result.checks.append(status("layout", exc.message))
        return {}
    for why in refused:
        if why.kind == "symbolic link":
            result.checks.append(failed("no symlinks", f"{why.member} is a symlink"))
        else:
            result.checks.append(failed("layout", why.message))
    if not refused:
        result.checks.append(passed("layout", f"{len(files)} regular files, no symlinks"))
    return files
