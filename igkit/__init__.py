"""igkit: decide whether a release may go to production, and prove the decision."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
