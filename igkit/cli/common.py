"""Shared by the command-line verbs: exit codes, flag parsing (bad values become ConfigError,
exit 2) and the verb/sub-command plumbing."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from igkit.errors import ConfigError
from igkit.timeutil import parse_duration, parse_instant

if TYPE_CHECKING:
    from igkit.spec.models import EvidenceObjective, Gate

_O = TypeVar("_O", bound="EvidenceObjective")

EXIT_GO, EXIT_NO_GO, EXIT_HOLD = 0, 1, 4  # 2 (usage) and 3 (tool): igkit.errors
ENV_PROM_URL = "IGKIT_PROM_URL"


def instant_flag(text: str | None, flag: str = "--at") -> datetime:
    """RFC3339 or unix seconds; None means now (whole seconds, UTC)."""
    if text is None:
        return datetime.now(tz=UTC).replace(microsecond=0)
    try:
        return parse_instant(text)
    except ValueError as exc:
        raise ConfigError(str(exc), where=flag) from None


def seconds_flag(text: str | float, flag: str, *, maximum: float = 86_400.0) -> float:
    """A positive, finite number of seconds no larger than ``maximum``."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise ConfigError(f"not a number of seconds: {text!r}", where=flag) from None
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(f"must be a positive number of seconds, not {text!r}", where=flag)
    if value > maximum:
        raise ConfigError(f"at most {maximum:g} seconds, not {text!r}", where=flag)
    return value


def count_flag(text: str | int | None, flag: str, *, maximum: int = 256) -> int | None:
    """A whole number from 1 to ``maximum`` (None stays None: the default applies)."""
    if text is None:
        return None
    try:
        value = int(str(text).strip(), 10)
    except ValueError:
        raise ConfigError(f"not a whole number: {text!r}", where=flag) from None
    if not 1 <= value <= maximum:
        raise ConfigError(f"must be at least 1 and at most {maximum}, not {text!r}", where=flag)
    return value


def duration_flag(text: str, flag: str) -> timedelta:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise ConfigError(str(exc), where=flag) from None


def matrix_objective(
    matrix: Path | None, kind: type[_O], kind_name: str, selector: str | None
) -> tuple[Gate, _O] | None:
    """The ``kind_name`` objective a standalone verb takes its thresholds from.

    None without ``--matrix``; with it, the only objective of that type, or the one
    ``--objective`` names (``GATE/NAME``, ``NAME`` or ``GATE``) — never a gate id in code."""
    from igkit.spec.loader import load_matrix

    if matrix is None:
        if selector is not None:
            raise ConfigError(
                "names an objective of a matrix: give --matrix too", where="--objective"
            )
        return None
    found = load_matrix(matrix).matrix.objectives_of(kind)
    keys = [f"{g.id}/{o.name}" for g, o in found]
    if selector is not None:
        hits = [(g, o) for g, o in found if selector.strip() in (f"{g.id}/{o.name}", g.id, o.name)]
        if len(hits) == 1:
            return hits[0]
        why = "matches several" if hits else "matches none"
        raise ConfigError(
            f"{selector!r} {why} of the {kind_name} objectives of {matrix} "
            f"(known: {', '.join(keys) or 'none'})",
            where="--objective",
        )
    if len(found) == 1:
        return found[0]
    if not found:
        raise ConfigError(f"has no {kind_name} objective", where=f"--matrix {matrix}")
    raise ConfigError(
        f"{matrix} has {len(found)} {kind_name} objectives ({', '.join(keys)}); "
        "pick one with --objective GATE/NAME",
        where="--objective",
    )


P = TypeVar("P", bound=argparse.ArgumentParser)
Handler = Callable[[argparse.Namespace], int]


def verb_group(
    sub: argparse._SubParsersAction[P], parser_class: type[P], verb: str, help: str
) -> argparse._SubParsersAction[P]:
    """Add ``verb`` with required sub-commands; the chosen one lands in ``args.<verb>_command``."""
    parser = sub.add_parser(verb, help=help)
    dest = f"{verb.replace('-', '_')}_command"
    return parser.add_subparsers(dest=dest, required=True, parser_class=parser_class)


def dispatch(args: argparse.Namespace, verb: str, handlers: Mapping[str, Handler]) -> int:
    """Run the handler of ``args.<verb>_command``; an unknown sub-command is a ConfigError."""
    command = getattr(args, f"{verb.replace('-', '_')}_command", None)
    handler = handlers.get(command) if isinstance(command, str) else None
    if handler is None:
        known = ", ".join(handlers)
        raise ConfigError(f"unknown {verb} command {command!r} (known: {known})", where=verb)
    return handler(args)
