"""FetchFailure: why a request has no snapshot - typed, redacted, one line.

A live fetch that reached the server but failed (HTTP error, timeout, malformed answer) is
recorded as an error *snapshot* (sealed, replayable). A FetchFailure is for a request with no
snapshot at all: the replay holds none ("missing"), a stored one is unusable ("malformed"),
or the source raised. The judge turns either into an ERROR naming the request.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator

FailureKind = Literal[
    "http",
    "timeout",
    "tls",
    "redirect",
    "too_large",
    "malformed",
    "missing",
    "unsupported",
    "error",
]


class FetchFailure(BaseModel):
    """No snapshot for ``request_id``: ``kind`` says which failure, ``message`` says why."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    request_id: str
    kind: FailureKind
    message: str

    @field_validator("message")
    @classmethod
    def _one_redacted_line(cls, value: str) -> str:
        from igkit.redact import redact
        from igkit.snapshots.series import one_line

        return " ".join(one_line(redact(value)).split())

    def __str__(self) -> str:
        return self.message
