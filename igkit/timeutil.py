"""Durations and instants as igkit reads and writes them (Prometheus-style, always UTC)."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> timedelta:
    """Parse ``15s``, ``5m``, ``1h30m``, ``7d`` (Prometheus duration syntax)."""
    s = text.strip()
    if not s:
        raise ValueError("empty duration")
    pos = 0
    total = 0.0
    for m in _DURATION_PART.finditer(s):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNIT_SECONDS[m.group(2)]
        pos = m.end()
    if pos != len(s):
        raise ValueError(f"invalid duration {text!r} (expected e.g. 15s, 5m, 1h, 7d)")
    if total <= 0:
        raise ValueError(f"duration {text!r} must be positive")
    return timedelta(seconds=total)


def promql_duration(td: timedelta) -> str:
    """Render a duration in the largest whole Prometheus unit (``3600s`` -> ``1h``)."""
    ms = round(td.total_seconds() * 1000)
    for unit, factor in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if ms % factor == 0:
            return f"{ms // factor}{unit}"
    return f"{ms}ms"


def human_duration(seconds: float) -> str:
    """``915`` -> ``15m15s``; for reasons people read."""
    if not math.isfinite(seconds):
        return "∞"
    total = round(seconds)
    if total < 60:
        return f"{seconds:g}s" if seconds < 1 else f"{total}s"
    d, rem = divmod(total, 86400)
    h, rem = divmod(rem, 3600)
    m, s = divmod(rem, 60)
    parts = [f"{v}{u}" for v, u in ((d, "d"), (h, "h"), (m, "m"), (s, "s")) if v]
    return "".join(parts)


EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
"""Instants igkit accepts: windows, months and budgets are computed around them, so a time
near ``datetime``'s limits (year 1, year 9999) would overflow instead of being judged."""


def _in_range(dt: datetime, text: str) -> datetime:
    if not EARLIEST <= dt < LATEST:
        raise ValueError(
            f"time {text!r} is out of range (from {EARLIEST.year} up to {LATEST.year}, UTC)"
        )
    return dt


def parse_instant(text: str) -> datetime:
    """Parse an RFC3339 timestamp or unix seconds into an aware UTC datetime in
    [:data:`EARLIEST`, :data:`LATEST`)."""
    s = text.strip()
    try:
        seconds = float(s)
    except ValueError:
        pass
    else:
        if not math.isfinite(seconds):
            raise ValueError(f"invalid time {text!r}")
        if not EARLIEST.timestamp() <= seconds < LATEST.timestamp():
            _in_range(LATEST, text)  # raises with the message naming the range
        return datetime.fromtimestamp(seconds, tz=UTC)
    try:
        dt = datetime.fromisoformat(s)
    except ValueError as exc:
        raise ValueError(
            f"invalid time {text!r} (expected RFC3339 like 2025-03-01T12:00:00Z or unix seconds)"
        ) from exc
    if dt.tzinfo is None:
        raise ValueError(f"time {text!r} has no UTC offset (append Z or +00:00)")
    try:
        utc = dt.astimezone(UTC)
    except OverflowError:
        return _in_range(LATEST, text)
    return _in_range(utc, text)


def rfc3339(dt: datetime) -> str:
    """UTC RFC3339 with a ``Z`` suffix, sub-second digits only when present."""
    u = dt.astimezone(UTC)
    text = u.isoformat(timespec="microseconds" if u.microsecond else "seconds")
    return text.replace("+00:00", "Z")


def month_start(dt: datetime) -> datetime:
    """00:00 UTC on the first day of ``dt``'s month."""
    u = dt.astimezone(UTC)
    return u.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def month_end(dt: datetime) -> datetime:
    """00:00 UTC on the first day of the month after ``dt``."""
    start = month_start(dt)
    return (start + timedelta(days=32)).replace(day=1)


def short_time(ts: float, *, with_date: bool = False) -> str:
    """Unix seconds -> ``14:05`` (or ``2025-03-01 14:05``) UTC, seconds shown when not zero."""
    dt = datetime.fromtimestamp(ts, tz=UTC)
    fmt = "%H:%M:%S" if dt.second else "%H:%M"
    return dt.strftime(("%Y-%m-%d " if with_date else "") + fmt)
