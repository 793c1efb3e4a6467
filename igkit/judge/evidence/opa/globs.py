"""Go ``path/filepath.Match`` globs (OPA's ``exclude_files``)."""

from __future__ import annotations

import re


def go_glob(pattern: str) -> re.Pattern[str]:
    """Go ``path/filepath.Match`` as a regex: ``*``/``?`` never match ``/``; ``[^...]``
    classes and ``\\`` escapes; the whole path must match. ValueError for a bad pattern."""
    out: list[str] = []
    i, n = 0, len(pattern)

    def esc(j: int) -> tuple[str, int]:  # Go's getEsc
        if j >= n or pattern[j] in "-]":
            raise ValueError("bad character class")
        if pattern[j] == "\\":
            j += 1
            if j >= n:
                raise ValueError("dangling '\\'")
        if j + 1 >= n:
            raise ValueError("unterminated character class")
        return pattern[j], j + 1

    while i < n:
        c = pattern[i]
        if c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "\\":
            if i + 1 >= n:
                raise ValueError("dangling '\\'")
            out.append(re.escape(pattern[i + 1]))
            i += 2
        elif c == "[":
            i += 1
            negated = i < n and pattern[i] == "^"
            if negated:
                i += 1
            ranges: list[tuple[str, str]] = []
            while True:
                if i < n and pattern[i] == "]" and ranges:
                    i += 1
                    break
                lo, i = esc(i)
                hi = lo
                if i < n and pattern[i] == "-":
                    hi, i = esc(i + 1)
                ranges.append((lo, hi))
            usable = [(lo, hi) for lo, hi in ranges if lo <= hi]  # Go: reversed never matches
            body = "".join(f"{re.escape(lo)}-{re.escape(hi)}" for lo, hi in usable)
            if not usable:
                out.append("(?s:.)" if negated else "(?!)")
            else:
                out.append(f"[{'^' if negated else ''}{body}]")
        else:
            out.append(re.escape(c))
            i += 1
    return re.compile("(?s:" + "".join(out) + r")\Z")
