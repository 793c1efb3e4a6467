"""Exceptions raised by igkit.

Hierarchy::

    IgkitError                 root of everything igkit raises on purpose
    ├── ConfigError            bad matrix, flag or parameter (CLI exit 2); names file and field
    ├── SourceError            a source could not deliver a snapshot (becomes an ERROR verdict)
    │   └── SnapshotMissingError  replay has no snapshot for a request
    ├── SnapshotError          a stored snapshot is unreadable or its hash does not match
    └── ReportError            a gate report failed after the decision (CLI exit 3, no bundle)

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


class ReportError(IgkitError):
    """A gate's report could not be rendered, or its notebook re-computed another verdict.

    The decision in ``verdicts.json`` (the library's) stands; the run exits 3 (tool error)
    and signs no bundle. ``failures``: gate id -> one line."""

    def __init__(self, failures: dict[str, str], decision: str) -> None:
        self.failures = dict(failures)
        self.decision = decision
        super().__init__(
            f"the report of {', '.join(self.failures)} failed: {'; '.join(self.failures.values())} "
            f"(verdicts.json holds the library's decision {decision}; no bundle was signed)"
        )
