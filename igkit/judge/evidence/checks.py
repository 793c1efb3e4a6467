"""One verification step and how steps combine: fail closed, every reason kept."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from igkit.verdicts import Status, worst


class Check(BaseModel):
    """The outcome of one verification step, e.g. ``signature`` or ``subject digest``.

    ``status`` is PASS, FAIL (the evidence says no), NO_DATA (the evidence is missing or
    incomplete) or ERROR (it could not be read or verified at all).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    status: Status
    detail: str
    subject: str = ""  # what was checked: an artifact name, a bundle, a role

    @property
    def ok(self) -> bool:
        return self.status is Status.PASS

    def line(self) -> str:
        who = f"{self.subject}: " if self.subject else ""
        return f"{who}{self.name}: {self.status.value} — {self.detail}"


def passed(name: str, detail: str, subject: str = "") -> Check:
    return Check(name=name, status=Status.PASS, detail=detail, subject=subject)


def failed(name: str, detail: str, subject: str = "") -> Check:
    return Check(name=name, status=Status.FAIL, detail=detail, subject=subject)


def no_data(name: str, detail: str, subject: str = "") -> Check:
    return Check(name=name, status=Status.NO_DATA, detail=detail, subject=subject)


def error(name: str, detail: str, subject: str = "") -> Check:
    return Check(name=name, status=Status.ERROR, detail=detail, subject=subject)


def combine(checks: list[Check]) -> Status:
    """All PASS -> PASS; otherwise the worst. No checks at all is ERROR: nothing was verified."""
    return worst([c.status for c in checks])
