"""Flag parsing shared by the command-line verbs: bad values become ConfigError (exit 2)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from igkit.errors import ConfigError
from igkit.timeutil import parse_duration, parse_instant


def instant_flag(text: str | None, flag: str = "--at") -> datetime:
    """RFC3339 or unix seconds; None means now (whole seconds, UTC)."""
    if text is None:
        return datetime.now(tz=UTC).replace(microsecond=0)
    try:
        return parse_instant(text)
    except ValueError as exc:
        raise ConfigError(str(exc), where=flag) from None


def duration_flag(text: str, flag: str) -> timedelta:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise ConfigError(str(exc), where=flag) from None
