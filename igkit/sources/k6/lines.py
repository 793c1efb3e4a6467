"""The exact, slow pass over NDJSON lines: which line is not a k6 line igkit may read, a
copy with those lines blanked, and the readable prefix of a cut gzip."""

from __future__ import annotations

import json
import math
import re
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from igkit.errors import IgkitError
from igkit.sources.k6.files import is_gzip
from igkit.sources.k6.pointset import LineProblem


class DuplicateKeyError(IgkitError, ValueError):
    pass


def unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKeyError(f"duplicate key {key!r} (a reader would silently keep one)")
            seen.add(key)
    return obj


def reject_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})")


def json_kind(value: Any) -> str:
    return {bool: "a boolean", str: "a string", type(None): "null", dict: "an object"}.get(
        type(value), "an array" if isinstance(value, list) else "not finite"
    )


def is_finite_number(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


def line_problem(line: bytes) -> str | None:
    """Why one NDJSON line is not a k6 line igkit may read, or None. Strict JSON (a
    duplicate key at any depth, NaN/Infinity, pathological nesting are refused); a Point
    needs a metric name, a finite JSON number as value, an RFC 3339 time and a tags object
    (as k6 always writes: a damaged key then never passes for a valid line)."""
    try:
        obj = json.loads(line, object_pairs_hook=unique_pairs, parse_constant=reject_constant)
    except DuplicateKeyError as exc:
        return str(exc)
    except json.JSONDecodeError as exc:
        return f"malformed JSON ({exc.msg})"
    except RecursionError:
        return "malformed JSON (nested too deeply)"
    except ValueError as exc:  # invalid UTF-8, NaN/Infinity, an integer too long to convert
        return f"malformed JSON ({str(exc)[:80]})"
    if not isinstance(obj, dict) or obj.get("type") not in ("Point", "Metric"):
        return "not a k6 Metric or Point line"
    data = obj.get("data")
    if not isinstance(data, dict):
        return f"k6 {obj['type']} line without a data object"
    if obj["type"] == "Metric":
        return None
    if not isinstance(obj.get("metric"), str):
        return "k6 Point without a metric name"
    value = data.get("value")
    if not is_finite_number(value):
        return f"value is not a finite number ({json_kind(value)})"
    time = data.get("time")
    if not isinstance(time, str) or not RFC3339.fullmatch(time):
        return "time is not an RFC 3339 timestamp"
    if not isinstance(data.get("tags"), dict):
        return "Point without a tags object"
    return None


@dataclass
class Screen:
    """The exact pass over a damaged file: its bad lines, and a copy with them blanked."""

    problems: list[LineProblem]
    count: int
    truncated: bool
    clean: Path
    good: int


def screen_lines(source: Path, workdir: Path, limit: int = 10) -> Screen:
    """Slow, exact pass run only when the fast read met something it does not accept: name
    every bad line (:func:`line_problem`) and write ``source`` again with those lines left
    blank, so DuckDB reads exactly the good lines, strictly, with unchanged line numbers.
    (DuckDB's own ``ignore_errors`` would read a duplicate-key line as one of its keys.)"""
    import gzip

    problems: list[LineProblem] = []
    count = good = 0
    truncated = False
    clean = workdir / "screened.json"
    opener = gzip.open if is_gzip(source) else open
    with clean.open("wb") as out:
        try:
            with opener(source, "rb") as fh:
                for number, raw in enumerate(fh, start=1):
                    line = raw.strip()
                    why = line_problem(line) if line else None
                    if why is None:
                        out.write(raw if raw.endswith(b"\n") else raw + b"\n")
                        good += bool(line)
                        continue
                    out.write(b"\n")
                    count += 1
                    if not raw.endswith(b"\n"):
                        truncated = True
                        why = "truncated last line (the file ends mid-line)"
                    if len(problems) < limit:
                        problems.append(LineProblem(number, why))
        except (OSError, EOFError, zlib.error) as exc:
            problems.append(LineProblem(None, f"stream ends early ({exc})"))
            truncated = True
    if count > limit:
        problems.append(LineProblem(None, f"... and {count - limit} more bad lines"))
    return Screen(problems, count, truncated, clean, good)


@contextmanager
def readable(path: Path, cut_gzip: bool) -> Iterator[Path]:
    """The file itself, or for a gzip that ends early the part that inflates, in a temp file
    (DuckDB refuses a cut gzip outright; the salvaged prefix lets the rest be counted)."""
    if not cut_gzip:
        yield path
        return
    import tempfile
    import zlib

    with tempfile.TemporaryDirectory(prefix="igkit-k6-") as tmp:
        out = Path(tmp) / path.name.removesuffix(".gz")
        inflater = zlib.decompressobj(wbits=31)
        with out.open("wb") as dst, path.open("rb") as src:
            try:
                while chunk := src.read(1 << 16):
                    dst.write(inflater.decompress(chunk))
                    if inflater.eof and inflater.unused_data:
                        rest = inflater.unused_data
                        inflater = zlib.decompressobj(wbits=31)
                        dst.write(inflater.decompress(rest))
            except zlib.error:
                pass
            dst.write(inflater.flush())
        yield out
