"""Reading an OPA bundle (directory or ``.tar.gz``) through :mod:`igkit.archive`, named as OPA
names its files in ``.signatures.json``."""

from __future__ import annotations

from pathlib import Path

from igkit.archive import ArchiveError, ArchiveLimits, read_tree
from igkit.errors import IgkitError
from igkit.verdicts import Status

SIGNATURES_FILE = ".signatures.json"
MAX_BUNDLE_BYTES = 256 * 1024 * 1024  # uncompressed content, all files together
MAX_BUNDLE_ENTRIES = 10_000  # archive members or directory entries, directories included


class BundleError(IgkitError):
    """A bundle that could not be read, or that was refused as unsafe; ``message`` says why.

    ``status`` is FAIL for content refused on purpose (path traversal, links, bombs) and
    ERROR for an archive that could not be read at all.
    """

    def __init__(self, message: str, *, status: Status = Status.FAIL) -> None:
        self.message = message
        self.status = status
        super().__init__(message)


def read_bundle(
    path: Path,
    *,
    max_bytes: int = MAX_BUNDLE_BYTES,
    max_entries: int = MAX_BUNDLE_ENTRIES,
) -> dict[str, bytes]:
    """The files of a bundle directory or ``.tar.gz``, keyed as OPA names them in
    ``.signatures.json``: relative to the bundle root, ``/``-separated, no leading ``/``.

    Archives written by ``opa build`` root every member at ``/`` (``/data.json``); OPA strips
    that one ``/``, and so does this reader when *every* regular member carries it. Anything
    :func:`igkit.archive.read_tree` refuses (unsafe names, links, devices, duplicates, bombs)
    is a :class:`BundleError` with status FAIL; an unreadable archive one with status ERROR.
    Directory members are skipped, as OPA skips them. Nothing is ever written to disk.
    """
    limits = ArchiveLimits(max_bytes=max_bytes, max_members=max_entries)
    try:
        return read_tree(Path(path), limits, label="bundle", allow_rooted=True)
    except ArchiveError as exc:
        status = Status.FAIL if exc.refused else Status.ERROR
        raise BundleError(exc.message, status=status) from None
