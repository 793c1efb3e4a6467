"""Exceptions raised by igkit, and the exit code each one means.

Every exception igkit raises on purpose derives from :class:`IgkitError`; ``igkit.cli.main``
prints it as one line and exits with its :attr:`~IgkitError.exit_code`. Anything else that
escapes is a bug: exit 3 with the traceback in a log file. Exit 1 is only ever NO-GO.
Gate failures are not exceptions: they are verdicts.

The whole tree (classes are defined where they are raised)::

    IgkitError                        exit 2: the input is at fault; the message names file and field
    ├── ConfigError                   bad matrix, flag, parameter or key (errors)
    │   └── MatrixProblemsError       a matrix with problems, every one listed (spec.loader)
    ├── DocumentError                 unreadable JSON/YAML: duplicate keys, NaN, bombs (strictdoc)
    ├── SourceError                   a source could not deliver a snapshot; judged as ERROR (errors)
    │   └── SnapshotMissingError      replay holds no usable snapshot for a request (errors)
    ├── SnapshotError                 a stored snapshot is unreadable or its hash does not match (errors)
    │   └── ResultError               a Prometheus result of the wrong shape (snapshots.series)
    ├── K6InputError                  a k6 file that is not k6 output (sources.k6.files)
    ├── SpanError                     k6 points span more than k6.max_windows windows (sources.k6.windows)
    ├── ReleaseFileError              an unreadable release file (judge.evidence.release)
    ├── ApprovalsError                an unreadable approvals file (judge.evidence.approvals)
    ├── DrillReportError              an unreadable drill report (judge.evidence.drill)
    ├── UnusableKeyError              a key that is not a usable public key (judge.evidence.keys)
    ├── BundleError                   an OPA bundle that cannot be read or is refused (judge.evidence.opa)
    ├── DocError                      internal: a bundle document Go would not decode; becomes a check (judge.evidence.opa.gojson)
    │   └── TooDeepError              internal: nested past Go's limit (judge.evidence.opa.gojson)
    ├── DuplicateKeyError             internal: a key repeated in one object; becomes a check or a named line (opa.gojson, sources.k6.lines)
    ├── RefusedError                  internal: a JWS refused before verification; becomes a check (judge.evidence.opa.jws)
    ├── KeyProblemError               internal: an OPA verification key unusable for the algorithm (judge.evidence.opa.keys)
    ├── UnreadableError               internal: an SBOM section of the wrong shape; becomes an ERROR check (judge.evidence.sbom_formats)
    ├── CostDataError                 a FOCUS cost export that cannot be read or is refused (finops.costs)
    ├── ArchiveError                  an archive or tree refused or unreadable: bounds, names, links (archive)
    ├── UnsafePathError               an evidence path leaving its directory (archive)
    └── ToolError                     exit 3: igkit could not finish its own work (errors)
        ├── OutputError               an output could not be written: disk full, read-only (atomic)
        ├── ChromiumError             Chromium is missing or failed to render a PDF (report.pdf)
        └── ReportError               a gate report failed or disagreed with the library; no bundle (errors)
"""

from __future__ import annotations

from typing import ClassVar

EXIT_USAGE, EXIT_TOOL = 2, 3


class IgkitError(Exception):
    """Root of all igkit errors; the input is at fault unless a subclass says otherwise."""

    exit_code: ClassVar[int] = EXIT_USAGE


class ToolError(IgkitError):
    """igkit could not finish its own work (write an output, render a report): exit 3."""

    exit_code: ClassVar[int] = EXIT_TOOL


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


class ReportError(ToolError):
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
