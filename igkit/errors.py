"""Exceptions raised by igkit.

Hierarchy::

    IgkitError                 root of everything igkit raises on purpose
    ├── ConfigError            bad matrix, flag or parameter (CLI exit 2); names file and field
    ├── SourceError            a source could not deliver a snapshot (becomes an ERROR verdict)
    │   └── SnapshotMissingError  replay has no snapshot for a request
    └── SnapshotError          a stored snapshot is unreadable or its hash does not match

Gate failures are not exceptions: they are verdicts.
"""

from __future__ import annotations


class IgkitError(Exception):
    """Root of all igkit errors."""


class ConfigError(IgkitError):
    """A user-supplied configuration is invalid; ``where`` names the file/field."""

    def __init__(self, message: str, *, where: str | None = None) -> None:
        self.where = where
        self.message = message
        super().__init__(f"{where}: {message}" if where else message)


class SourceError(IgkitError):
    """A source failed to produce data for a request."""


class SnapshotMissingError(SourceError):
    """Replay was asked for a request it holds no snapshot for."""


class SnapshotError(IgkitError):
    """A snapshot file is malformed or fails its integrity check."""

    def __init__(self, message: str, *, path: str | None = None) -> None:
        self.path = path
        super().__init__(f"{path}: {message}" if path else message)
