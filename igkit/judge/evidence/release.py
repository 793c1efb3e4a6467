"""The release file: which artifacts a release ships and where their evidence lives."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from igkit.errors import IgkitError
from igkit.spec.models import EvidencePath
from igkit.strictdoc import DocumentError, load_yaml, validation_message

_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


class ReleaseArtifact(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    version: str | None = None
    path: EvidencePath | None = None
    digest: str | None = Field(
        default=None, description="sha256:<hex>, when the artifact is not in the evidence dir"
    )
    provenance: EvidencePath | None = None
    sbom: EvidencePath | None = None

    @field_validator("digest")
    @classmethod
    def _digest(cls, v: str | None) -> str | None:
        if v is not None and not _DIGEST.match(v):
            raise ValueError("digest must look like sha256:<64 lowercase hex digits>")
        return v

    @model_validator(mode="after")
    def _located(self) -> ReleaseArtifact:
        if self.path is None and self.digest is None:
            raise ValueError("give the artifact's 'path' (in the evidence dir) or its 'digest'")
        return self


class ReleaseFile(BaseModel):
    """``release.yaml``: ``releaseTag``, the ``changeTicket`` that authorises it (required: seed
    E1.S1, no change without a ticket), when the cutover starts (``cutoverAt``, RFC 3339 with
    an offset; the G8 freeze window ends there) and the ``artifacts`` (seed §10 names)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    releaseTag: str = Field(min_length=1)  # noqa: N815 - the seed's field name
    changeTicket: str = Field(min_length=1, pattern=r"\S")  # noqa: N815
    cutoverAt: AwareDatetime | None = None  # noqa: N815
    artifacts: list[ReleaseArtifact] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> ReleaseFile:
        names = [a.name for a in self.artifacts]
        if len(names) != len(set(names)):
            raise ValueError("artifact names must be unique")
        return self


class ReleaseFileError(IgkitError, ValueError):
    pass


def parse_release(content: bytes, *, name: str) -> ReleaseFile:
    """JSON or YAML; any problem is a one-line :class:`ReleaseFileError` naming the field."""
    try:
        data = load_yaml(content, where=name)
    except DocumentError as exc:
        raise ReleaseFileError(str(exc)) from None
    try:
        return ReleaseFile.model_validate(data)
    except ValidationError as exc:
        problem = validation_message(exc, data=data, model=ReleaseFile)
        raise ReleaseFileError(f"{name}: {problem}") from None


def check_change_ticket(release: ReleaseFile, pattern: str, *, name: str) -> str | None:
    """Why ``release.changeTicket`` does not match the matrix's ``pattern`` (searched with
    :func:`re.fullmatch`, so a ticket cannot hide inside a longer string), or None."""
    if re.fullmatch(pattern, release.changeTicket):
        return None
    return (
        f"{name}: changeTicket {release.changeTicket!r} does not match the matrix's "
        f"change_ticket_pattern '{pattern}'"
    )


def cutover_at(release: ReleaseFile) -> datetime | None:
    """``cutoverAt`` in UTC, or None when the release file does not say."""
    return release.cutoverAt.astimezone(UTC) if release.cutoverAt is not None else None
