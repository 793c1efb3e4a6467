"""Seal a finished cutover run directory (PLACEHOLDER until h4's module replaces this file).

h4's :func:`seal` builds the signed evidence bundle ``D/bundle/``; this stand-in does nothing
so the conductor's call site is in place and tested."""

from __future__ import annotations

from pathlib import Path


def seal(run_dir: Path) -> Path | None:
    """The bundle directory written, or None when nothing was sealed."""
    del run_dir
    return None
