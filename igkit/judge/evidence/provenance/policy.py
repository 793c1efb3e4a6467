"""What a provenance check accepts: signer (keys or Sigstore identity) and SLSA policy."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from sigstore.models import Bundle

STEPS = ("signature", "statement", "subject digest", "builder", "slsa level", "source")
STATEMENT_TYPES = ("https://in-toto.io/Statement/v1", "https://in-toto.io/Statement/v0.1")
SLSA_V1 = "https://slsa.dev/provenance/v1"
SLSA_V02 = "https://slsa.dev/provenance/v0.2"
SLSA_PROVENANCE_TYPES = (SLSA_V1, SLSA_V02)
BUNDLE_MEDIA_TYPES = tuple(t.value for t in Bundle.BundleType)
PRODUCTION_ROOT_LABEL = "the Sigstore public-good production root shipped with sigstore-python"


class SignerPolicy(BaseModel):
    """Who may have signed: PEM public keys, or a Sigstore certificate identity and issuer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    keys: list[str] = Field(default_factory=list, description="PEM public keys (keyed mode)")
    certificate_identity: str | None = Field(
        default=None, description="expected certificate SAN, e.g. a workflow URI@ref (keyless)"
    )
    certificate_oidc_issuer: str | None = Field(
        default=None,
        description="expected OIDC issuer, e.g. https://token.actions.githubusercontent.com",
    )
    trusted_root: str | None = Field(
        default=None,
        description="JSON text of a Sigstore trusted root; None = sigstore-python's production root, offline",
    )


class ProvenancePolicy(SignerPolicy):
    """What SLSA provenance must say for an artifact to be accepted."""

    builders: dict[str, Annotated[int, Field(ge=0, le=4)]] = Field(
        default_factory=dict,
        description="allowed builder.id -> SLSA build level; an id without @ref matches any ref",
    )
    min_slsa_level: int = Field(default=3, ge=0, le=4)
    source_uri: str | None = Field(
        default=None, description="e.g. github.com/slsa-framework/example-package"
    )
    source_ref: str | None = Field(
        default=None, description="refs/tags/v1.2.3, refs/heads/main, or the short v1.2.3 / main"
    )
