"""OPA policy-bundle signatures, verified offline the way OPA verifies them.

A signed bundle carries ``/.signatures.json``: ``{"signatures": ["<JWT>"]}`` with exactly one
compact JWS whose payload lists every other file of the bundle (``files: [{name, hash,
algorithm}]``, names relative to the bundle root without a leading ``/``) and may carry
``keyid``, ``scope``, ``iss`` and ``iat``. :func:`verify_bundle` reproduces OPA's checks
(``bundle/verify.go`` and ``bundle/bundle.go`` in open-policy-agent/opa):

* the JWT verifies with the one configured key under the configured algorithm, and its header
  names that algorithm;
* the token's ``scope`` equals the configured scope (an empty scope on both sides matches);
* every bundle file except ``.signatures.json`` and files matching an ``exclude_files`` glob
  (Go ``filepath.Match`` on the path) is listed, and every listed file is present;
* each digest is ``algorithm`` (exact names ``MD5``, ``SHA-1``, ``SHA-224``, ``SHA-256``,
  ``SHA-384``, ``SHA-512``, ``SHA-512-224``, ``SHA-512-256``; OPA refuses a missing one) over
  the raw bytes, except for files whose base name is ``data.json``, ``data.yaml`` or
  ``.manifest``: those are parsed and hashed in OPA's canonical form (:func:`canonical_form`).

Stricter than OPA, on purpose: ``exp``/``nbf``/``iat`` are enforced against ``at`` (OPA ignores
token lifetime), duplicate JSON keys in the signature file, header or claims are refused, and
so is any other file whose name ends in ``signatures.json`` (OPA would read it as the
signatures). A private key given as the verification key, and PEM/SSH key text given as an
HMAC secret, are refused.

Modules, one job each: :mod:`.reader` (files of a bundle, through :mod:`igkit.archive`),
:mod:`.gojson` and :mod:`.goyaml` (Go's JSON/YAML decoding), :mod:`.canonical` (the bytes OPA
hashes), :mod:`.globs` (Go ``filepath.Match``), :mod:`.keys` (verification keys and JWS
signatures), :mod:`.jws` (token and claims), :mod:`.verify` (the steps).
"""

from __future__ import annotations

from igkit.judge.evidence.opa.canonical import canonical_form
from igkit.judge.evidence.opa.keys import check_verification_key
from igkit.judge.evidence.opa.reader import (
    MAX_BUNDLE_BYTES,
    MAX_BUNDLE_ENTRIES,
    SIGNATURES_FILE,
    BundleError,
    read_bundle,
)
from igkit.judge.evidence.opa.verify import (
    HASH_ALGORITHMS,
    inspect_bundle,
    read_failure,
    summary,
    verify_bundle,
)
from igkit.spec.models import SIGNING_ALGORITHMS

__all__ = [
    "HASH_ALGORITHMS",
    "MAX_BUNDLE_BYTES",
    "MAX_BUNDLE_ENTRIES",
    "SIGNATURES_FILE",
    "SIGNING_ALGORITHMS",
    "BundleError",
    "canonical_form",
    "check_verification_key",
    "inspect_bundle",
    "read_bundle",
    "read_failure",
    "summary",
    "verify_bundle",
]
