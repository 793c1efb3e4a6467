"""The one status palette of every report: HTML, PDF, plots and the war room.

Background colours with the text colour that stays readable on each (WCAG AA contrast)."""

from __future__ import annotations

from igkit.verdicts import Decision, Status

STATUS_COLOURS: dict[Status, str] = {
    Status.PASS: "#1b7f3b",
    Status.FAIL: "#b3261e",
    Status.NO_DATA: "#f2b705",
    Status.ERROR: "#6a1b9a",
}
STATUS_TEXT: dict[Status, str] = {
    Status.PASS: "#ffffff",
    Status.FAIL: "#ffffff",
    Status.NO_DATA: "#1f1f1f",
    Status.ERROR: "#ffffff",
}
DECISION_COLOURS: dict[Decision, str] = {
    "GO": STATUS_COLOURS[Status.PASS],
    "NO-GO": STATUS_COLOURS[Status.FAIL],
    "PARTIAL": "#8a5a00",
}
