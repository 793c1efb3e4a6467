"""igkit: decide whether a release may go to production, and prove the decision."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["RunRequest", "__version__", "run_gates"]

if TYPE_CHECKING:
    from igkit.run import RunRequest, run_gates

_LAZY = {"RunRequest": "igkit.run", "run_gates": "igkit.run"}


def __getattr__(name: str) -> Any:
    """Import the run machinery only when used, so ``import igkit`` (and ``--help``) stays light."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'igkit' has no attribute {name!r}")
