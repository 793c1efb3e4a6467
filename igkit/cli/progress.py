"""Progress of the phases after the decision (notebooks, render + sign, bundle) on stderr.

A release lead watching a terminal sees the decision first, then one line per later phase;
a pipe or a CI log gets none of these lines (a failure is still reported, once, by the verb)."""

from __future__ import annotations

import sys
import time

PHASES = {
    "notebooks": "executing the gate notebooks (one line per finished gate)",
    "render": "rendering the HTML/PDF reports and signing the PDFs",
    "bundle": "sealing the evidence bundle",
}
"""Phase name (as :func:`igkit.report.publish.render_and_bundle` announces it) -> line text."""


class Progress:
    """Phase lines on stderr, only when stderr is a terminal (``enabled`` overrides)."""

    def __init__(self, enabled: bool | None = None) -> None:
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._started = time.monotonic()

    def phase(self, name: str) -> None:
        """Announce that phase ``name`` starts (the notebooks then add their own n/N lines)."""
        if not self.enabled:
            return
        elapsed = time.monotonic() - self._started
        text = PHASES.get(name, name)
        print(f"igkit: {text} … (+{elapsed:.0f} s)", file=sys.stderr, flush=True)
