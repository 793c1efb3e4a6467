"""Opening k6 files safely: format sniffing, gzip integrity, hashing."""

from __future__ import annotations

import gzip
import hashlib
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from igkit.errors import IgkitError

Format = Literal["ndjson", "csv", "summary"]
CSV_HEADER = b"metric_name,timestamp,metric_value"


class K6InputError(IgkitError):
    """A k6 file cannot be read as k6 output; ``path`` and ``line`` locate the problem."""

    def __init__(self, message: str, *, path: str, line: int | None = None) -> None:
        self.path = path
        self.line = line
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {message}")


def is_gzip(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def _head(path: Path, size: int = 4096) -> bytes:
    try:
        if is_gzip(path):
            with gzip.open(path, "rb") as fh:
                return fh.read(size)
        with path.open("rb") as fh:
            return fh.read(size)
    except (OSError, EOFError, zlib.error) as exc:
        raise K6InputError(f"cannot read ({exc})", path=str(path)) from None


def check_file(path: Path) -> None:
    if not path.exists():
        raise K6InputError("no such file", path=str(path))
    if not path.is_file():
        raise K6InputError("not a regular file", path=str(path))


def detect_format(path: Path) -> Format:
    """Tell NDJSON points, CSV points and a summary JSON apart by their first bytes."""
    check_file(path)
    head = _head(path).lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head:
        raise K6InputError("empty file: no k6 output in it", path=str(path), line=1)
    if head.startswith(CSV_HEADER):
        return "csv"
    if head.startswith(b"{"):
        first_line = head.split(b"\n", 1)[0]
        if b'"type":"Metric"' in first_line or b'"type":"Point"' in first_line:
            return "ndjson"
        if (
            b'"metrics"' in head
            or b'"root_group"' in head
            or (b'"version"' in head and b'"results"' in head)
        ):
            return "summary"
        return "ndjson"  # the NDJSON reader names the first line that is not k6
    raise K6InputError(
        "not k6 output (expected --out json NDJSON, --out csv, or a summary JSON)",
        path=str(path),
        line=1,
    )


@dataclass(frozen=True)
class FileDigest:
    sha256: str
    size: int
    gzip_complete: bool | None  # None: not gzip


def digest(path: Path) -> FileDigest:
    """SHA-256 of the bytes on disk; for gzip also whether the stream is complete.

    DuckDB reads a gzip that ends early without complaint, so completeness is checked here.
    """
    h = hashlib.sha256()
    size = 0
    gz = is_gzip(path)
    inflater = zlib.decompressobj(wbits=31) if gz else None
    complete: bool | None = None
    block = 1 << 18 if gz else 1 << 22  # k6 JSON inflates ~20x: keep each inflated piece small
    with path.open("rb", buffering=0) as fh:
        while chunk := fh.read(block):
            h.update(chunk)
            size += len(chunk)
            if inflater is not None:
                try:
                    inflater.decompress(chunk, 0)
                    while inflater.eof and inflater.unused_data:  # concatenated members
                        rest = inflater.unused_data
                        inflater = zlib.decompressobj(wbits=31)
                        inflater.decompress(rest, 0)
                except zlib.error:
                    complete = False
                    inflater = None
    if gz:
        complete = bool(inflater is not None and inflater.eof) if complete is None else complete
    return FileDigest(sha256=h.hexdigest(), size=size, gzip_complete=complete)
