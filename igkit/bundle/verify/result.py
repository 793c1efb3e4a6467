"""What ``bundle verify`` found: checks, notes, signer and how it came to be trusted."""

from __future__ import annotations

from dataclasses import dataclass, field

from igkit.judge.evidence.checks import Check

TRUSTED = "trusted (key given by --key)"
SELF_ASSERTED_CERT = "self-asserted (certificate inside the bundle)"
SELF_ASSERTED_KEY = "self-asserted (public key inside the bundle)"
UNTRUSTED_DEMO = "UNTRUSTED demo key"


@dataclass
class VerifyResult:
    """The checks, notes, who signed (``signer``: subject and key fingerprint) and how that
    signer came to be trusted (``trust``: one of the labels above). ``ok`` is integrity:
    every check passes; ``key_given`` says whether the signer was vouched for by ``--key``."""

    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    signer: str | None = None
    trust: str | None = None
    key_given: bool = False
    partial: bool = False

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]
