"""The ``igkit`` command line.

Exit codes: 0 GO, PARTIAL (every gate evaluated passed, but not every gate of the matrix was
evaluated) or command succeeded; 1 NO-GO; 2 usage/config error; 3 tool error (an output could
not be written, or an unexpected exception: one line on stderr naming a log file with the
traceback); 4 HOLD (reserved). Everything printed passes through :func:`igkit.redact.redact`.
"""

from __future__ import annotations

import argparse
import importlib
import io
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn, TextIO

from igkit import __version__
from igkit.errors import EXIT_TOOL, EXIT_USAGE, IgkitError

VERBS = (
    "go-no-go",
    "matrix",
    "k6",
    "attest",
    "policy",
    "drill",
    "bundle",
    "keys",
    "demo",
    "notebooks",
    "triggers",
    "cutover",
    "postdeploy",
    "journeys",
    "finops",
)
"""Each verb is the module ``igkit.cli.<verb>`` (``-`` as ``_``), in ``--help`` order."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="igkit", description="Release go/no-go gates: snapshot, evaluate, prove.")
    p.add_argument("--version", action="version", version=f"igkit {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for verb in VERBS:
        _verb_module(verb).register(sub, _Parser)
    return p


def _verb_module(verb: str) -> Any:
    """``igkit.cli.<verb>``: its ``register`` adds the parser, its ``run`` does the work."""
    return importlib.import_module(f"igkit.cli.{verb.replace('-', '_')}")


class _Redacting(io.TextIOBase):
    """A text stream that redacts every configured secret before it reaches ``target``."""

    def __init__(self, target: TextIO) -> None:
        self.target = target

    def write(self, text: str) -> int:
        from igkit.redact import redact

        self.target.write(redact(text))
        return len(text)

    def flush(self) -> None:
        self.target.flush()

    def isatty(self) -> bool:
        return self.target.isatty()

    def fileno(self) -> int:
        return self.target.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.target, "encoding", "utf-8")


def _internal_error(exc: BaseException) -> int:
    """Exit 3 with one redacted line on stderr; the (redacted) traceback goes to a log file."""
    import tempfile
    import traceback

    from igkit.redact import redact

    text = redact("".join(traceback.format_exception(exc)))
    try:
        fd, log = tempfile.mkstemp(prefix="igkit-error-", suffix=".log")
        with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as fh:
            fh.write(text)
        where = f"traceback in {log}"
    except OSError as err:
        where = f"no traceback log: {err.strerror}"
    message = " ".join(str(exc).split())
    print(
        f"igkit: internal error: {type(exc).__name__}: {message} ({where})",
        file=sys.stderr,
    )
    return EXIT_TOOL


def main(argv: Sequence[str] | None = None) -> int:
    stdout, stderr = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _Redacting(stdout), _Redacting(stderr)
    try:
        return _main(argv)
    finally:
        sys.stdout, sys.stderr = stdout, stderr


def _main(argv: Sequence[str] | None) -> int:
    from igkit.redact import check_secret_lengths

    args = _parser().parse_args(argv)
    try:
        check_secret_lengths()
        result: int = _verb_module(args.command).run(args)
        return result
    except IgkitError as exc:  # the tree in igkit.errors says which class means 2 and which 3
        print(f"igkit: error: {exc}", file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        print("igkit: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        return _internal_error(exc)


if __name__ == "__main__":
    sys.exit(main())
