"""Opening k6 files safely: format sniffing, gzip integrity, hashing."""

from __future__ import annotations

import gzip
import hashlib
import mmap
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
class FileScan:
    """One pass over a k6 file: its hash, whether a gzip is complete, and its Metric lines."""

    sha256: str | None
    size: int
    gzip_complete: bool | None  # None: not gzip
    metric_lines: list[bytes]


_METRIC = b'"type":"Metric"'


class _LineFinder:
    """Collects the whole lines holding ``"type":"Metric"`` from a stream of byte pieces."""

    def __init__(self) -> None:
        self.carry = b""
        self.lines: list[bytes] = []

    def feed(self, piece: bytes, final: bool = False) -> None:
        buf = self.carry + piece
        cut = len(buf) if final else buf.rfind(b"\n") + 1
        block, self.carry = buf[:cut], buf[cut:]
        pos = block.find(_METRIC)
        while pos >= 0:
            start = block.rfind(b"\n", 0, pos) + 1
            end = block.find(b"\n", pos)
            end = len(block) if end < 0 else end
            self.lines.append(block[start:end])
            pos = block.find(_METRIC, end)


_WINDOW = 1 << 26  # 64 MiB, a multiple of mmap.ALLOCATIONGRANULARITY


def _metric_lines_stream(path: Path) -> list[bytes]:
    finder = _LineFinder()
    with path.open("rb", buffering=0) as fh:
        while chunk := fh.read(1 << 24):
            finder.feed(chunk)
    finder.feed(b"", final=True)
    return finder.lines


def _metric_lines_mmap(path: Path, size: int) -> list[bytes]:
    """Metric lines of a plain file, searched in place through 64 MiB mapped windows: no
    copy, and each window is unmapped before the next so resident memory stays small."""
    lines: list[bytes] = []
    gran = mmap.ALLOCATIONGRANULARITY
    with path.open("rb") as fh:
        pos = 0  # file offset of the first line not yet searched
        while pos < size:
            base = pos // gran * gran
            length = min(_WINDOW, size - base)
            with mmap.mmap(fh.fileno(), length, access=mmap.ACCESS_READ, offset=base) as mm:
                lo = pos - base
                hi = length if base + length >= size else mm.rfind(b"\n", lo) + 1
                if hi <= lo:  # a single line longer than the window
                    return _metric_lines_stream(path)
                hit = mm.find(_METRIC, lo, hi)
                while hit >= 0:
                    start = mm.rfind(b"\n", lo, hit) + 1 or lo
                    end = mm.find(b"\n", hit, hi)
                    end = hi if end < 0 else end
                    lines.append(mm[start:end])
                    hit = mm.find(_METRIC, end, hi)
                pos = base + hi
    return lines


def scan(path: Path, *, with_sha256: bool) -> FileScan:
    """Find the Metric lines (k6 declares each metric once, anywhere in the file) with a
    memchr-speed search instead of parsing every line; hash the bytes on disk when asked;
    for gzip also check the stream is complete — DuckDB reads a gzip that ends early
    without complaint, so completeness is checked here."""
    size = path.stat().st_size
    if not is_gzip(path) and not with_sha256:
        return FileScan(None, size, None, _metric_lines_mmap(path, size))
    h = hashlib.sha256()
    gz = is_gzip(path)
    inflater = zlib.decompressobj(wbits=31) if gz else None
    complete: bool | None = None
    finder = _LineFinder()
    block = 1 << 18 if gz else 1 << 22  # k6 JSON inflates ~20x: keep each inflated piece small
    with path.open("rb", buffering=0) as raw:
        while chunk := raw.read(block):
            h.update(chunk)
            if inflater is None:
                if not gz:
                    finder.feed(chunk)
                continue
            try:
                finder.feed(inflater.decompress(chunk))
                while inflater.eof and inflater.unused_data:  # concatenated members
                    rest = inflater.unused_data
                    inflater = zlib.decompressobj(wbits=31)
                    finder.feed(inflater.decompress(rest))
            except zlib.error:
                complete = False
                inflater = None
    finder.feed(b"", final=True)
    if gz:
        complete = bool(inflater is not None and inflater.eof) if complete is None else complete
    return FileScan(h.hexdigest(), size, complete, finder.lines)


def digest(path: Path) -> FileScan:
    """SHA-256 (and gzip completeness) of a file, e.g. one that failed to parse."""
    return scan(path, with_sha256=True)
