"""Trust anchors: the keys, Sigstore trusted roots and HMAC secrets evidence is verified with.

An anchor comes from the verifier's side, never from the evidence being judged. The matrix
names each one by a relative path (``keys: [keys/provenance.pub.pem]``, ``trusted_root``,
``verification_key``), looked up in:

1. the trust directory: ``--trust DIR``, else ``$IGKIT_TRUST_DIR``;
2. the matrix file's directory (not for the matrix shipped inside igkit).

When both hold the file, their bytes must be equal; if they differ the anchor is ambiguous
and refused. A file that resolves inside ``--evidence`` is never used ("lies inside the
evidence directory and is not trusted"). An HMAC secret (an ``HS*`` OPA bundle) comes from
``$IGKIT_OPA_HMAC_KEY`` or the trust directory only (not from beside a matrix that may be
committed anywhere); it is registered with :mod:`igkit.redact` and only its fingerprint is
ever recorded. Anchors taken from a bundle's ``trust/`` (``bundle verify --replay`` without
``--trust``) are used only for anchors found nowhere else and are marked
``vouched_by_bundle``: ``bundle verify`` says they are only as trusted as the bundle signature.
Verdicts name the anchor and its fingerprint, never its origin, so that a replay with the same
anchors gives identical verdicts; resolution happens again at replay time, and a missing
anchor is an ERROR naming it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from igkit.errors import ConfigError
from igkit.spec.loader import LoadedMatrix
from igkit.spec.models import AttestationObjective, OpaBundleObjective

ENV_TRUST_DIR = "IGKIT_TRUST_DIR"
ENV_OPA_HMAC_KEY = "IGKIT_OPA_HMAC_KEY"
MAX_ANCHOR = 4 * 1024 * 1024


class AnchorKind(StrEnum):
    PUBLIC_KEY = "key"
    TRUSTED_ROOT = "trusted root"
    HMAC_SECRET = "HMAC secret"


@dataclass(frozen=True)
class Anchor:
    """One resolved anchor: its bytes (never written anywhere), fingerprint and origin."""

    name: str
    kind: AnchorKind
    data: bytes = field(repr=False)
    fingerprint: str
    origin: str  # "the trust dir", "the matrix's directory", "$IGKIT_OPA_HMAC_KEY", "the bundle"
    vouched_by_bundle: bool = False

    def how(self) -> str:
        """How trust was established, for a verdict line. The same for every origin (trust
        dir, matrix dir, a bundle's ``trust/``) so that a replay with the same anchors gives
        the same verdicts; ``bundle verify`` says separately where its anchors came from."""
        return f"trusted ({self.kind} {self.name} given by the matrix/trust dir)"


@dataclass(frozen=True)
class Unresolved:
    """An anchor that could not be used, and why (a verdict names it as ERROR/FAIL)."""

    name: str
    kind: AnchorKind
    reason: str
    untrusted: bool = False  # True when it lies inside the evidence directory


@dataclass(frozen=True)
class TrustStore:
    """Every anchor the matrix names, resolved once and handed to the judges."""

    anchors: Mapping[tuple[AnchorKind, str], Anchor | Unresolved] = field(default_factory=dict)
    source: str = "no trust directory"

    def get(self, kind: AnchorKind, name: str) -> Anchor | Unresolved:
        return self.anchors.get(
            (kind, name),
            Unresolved(
                name,
                kind,
                f"trust anchor {kind} {name} not resolved: no trust anchors were given "
                f"(--trust DIR or ${ENV_TRUST_DIR})",
            ),
        )

    def public_files(self) -> dict[str, bytes]:
        """Public anchors by name (keys, trusted roots): what a bundle may carry for replay."""
        return {
            a.name: a.data
            for a in self.anchors.values()
            if isinstance(a, Anchor) and a.kind is not AnchorKind.HMAC_SECRET
        }


def file_fingerprint(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def key_fingerprint(data: bytes) -> str:
    """``SHA256:<base64>`` of the DER SubjectPublicKeyInfo of a PEM public key or certificate
    (:func:`igkit.judge.evidence.keys.fingerprint`); the file's sha256 when it is neither."""
    from igkit.judge.evidence.keys import UnusableKeyError, fingerprint, public_key_of

    try:
        return fingerprint(public_key_of(data))
    except UnusableKeyError:
        return file_fingerprint(data)


def secret_fingerprint(secret: bytes) -> str:
    """A keyed digest of an HMAC secret: names it in verdicts without revealing it."""
    mac = hmac.new(secret, b"igkit trust anchor fingerprint", hashlib.sha256).digest()
    return "HMAC-SHA256:" + base64.b64encode(mac[:16]).decode().rstrip("=")


def _fingerprint(kind: AnchorKind, data: bytes) -> str:
    if kind is AnchorKind.PUBLIC_KEY:
        return key_fingerprint(data)
    if kind is AnchorKind.HMAC_SECRET:
        return secret_fingerprint(data)
    return file_fingerprint(data)


def trust_dir_from(flag: Path | None, env: Mapping[str, str] | None = None) -> Path | None:
    """``--trust DIR``, else ``$IGKIT_TRUST_DIR``; one that does not exist is a ConfigError."""
    env = os.environ if env is None else env
    where = "--trust"
    path = flag
    if path is None and env.get(ENV_TRUST_DIR):
        path, where = Path(env[ENV_TRUST_DIR]), ENV_TRUST_DIR
    if path is None:
        return None
    if not path.is_dir():
        raise ConfigError(
            f"trust directory {str(path)!r} does not exist or is not a directory", where=where
        )
    return path


def matrix_dir(loaded: LoadedMatrix) -> Path | None:
    """The directory of the matrix file; None for the matrix shipped inside igkit."""
    if loaded.source.startswith("<igkit>"):
        return None
    return Path(loaded.source).parent


def _inside(path: Path, directory: Path | None) -> bool:
    if directory is None:
        return False
    try:
        return path.resolve().is_relative_to(directory.resolve())
    except OSError:
        return False


def _read_under(base: Path, name: str) -> bytes | str | None:
    """The bytes of ``base/name``; None when absent; a reason when refused or unreadable."""
    current = base
    for part in Path(name).parts:
        current = current / part
        if current.is_symlink() and not current.resolve().is_relative_to(base.resolve()):
            return f"{current} is a symlink leaving {base}; refused"
    if not current.exists():
        return None
    if not current.is_file():
        return f"{current} is not a regular file"
    try:
        if current.stat().st_size > MAX_ANCHOR:
            return f"{current} is larger than {MAX_ANCHOR >> 20} MiB"
        return current.read_bytes()
    except OSError as exc:
        return f"cannot read {current}: {exc.strerror}"


def _resolve_one(
    kind: AnchorKind,
    name: str,
    *,
    trust_dir: Path | None,
    trust_label: str,
    mdir: Path | None,
    evidence_dir: Path | None,
) -> Anchor | Unresolved:
    places: list[tuple[str, Path]] = []
    if trust_dir is not None:
        places.append((trust_label, trust_dir))
    if mdir is not None and kind is not AnchorKind.HMAC_SECRET:
        places.append(("the matrix's directory", mdir))
    found: list[tuple[str, bytes]] = []
    ignored: list[str] = []
    for label, base in places:
        candidate = base / name
        if _inside(candidate, evidence_dir):
            if candidate.exists():
                ignored.append(
                    f"{kind} {name} ({candidate}) lies inside the evidence directory and is not "
                    "trusted"
                )
            continue
        got = _read_under(base, name)
        if isinstance(got, str):
            return Unresolved(name, kind, f"{kind} {name}: {got}")
        if got is not None:
            found.append((label, got))
    if not found:
        if ignored:
            return Unresolved(name, kind, "; ".join(ignored), untrusted=True)
        where = (
            "in " + " or ".join(label for label, _ in places)
            if places
            else f"(no trust dir: give --trust DIR or set ${ENV_TRUST_DIR})"
        )
        note = ""
        if evidence_dir is not None and (evidence_dir / name).exists():
            note = f"; the copy in the evidence directory ({name}) is not trusted"
        return Unresolved(name, kind, f"trust anchor {kind} {name} not found {where}{note}")
    if len({data for _, data in found}) > 1:
        prints = ", ".join(f"{label}: {_fingerprint(kind, data)}" for label, data in found)
        return Unresolved(
            name, kind, f"ambiguous trust anchor {kind} {name}: the copies differ ({prints})"
        )
    label, data = found[0]
    return Anchor(name, kind, data, _fingerprint(kind, data), label)


def _hmac_secret(
    name: str | None,
    env: Mapping[str, str],
    resolved: Anchor | Unresolved | None,
) -> Anchor | Unresolved:
    from igkit.redact import MIN_SECRET_LENGTH, register_secret

    label = name or f"${ENV_OPA_HMAC_KEY}"
    from_env = env.get(ENV_OPA_HMAC_KEY, "").encode("utf-8", "surrogateescape") or None
    from_file = resolved.data if isinstance(resolved, Anchor) else None
    if from_file is not None:  # a file written by `echo` ends with one newline: not the secret
        from_file = from_file.removesuffix(b"\n").removesuffix(b"\r") or None
    for value in (from_env, from_file):
        if value is not None and len(value) < MIN_SECRET_LENGTH:
            return Unresolved(
                label,
                AnchorKind.HMAC_SECRET,
                f"the HMAC secret is shorter than {MIN_SECRET_LENGTH} bytes: igkit cannot keep it "
                "out of its outputs reliably",
            )
        if value:
            register_secret(value)
    if from_env is not None and from_file is not None and from_env != from_file:
        return Unresolved(
            label,
            AnchorKind.HMAC_SECRET,
            f"ambiguous HMAC secret: ${ENV_OPA_HMAC_KEY} and {name} in the trust dir differ "
            f"({secret_fingerprint(from_env)} vs {secret_fingerprint(from_file)})",
        )
    if from_env is not None:
        return Anchor(
            label,
            AnchorKind.HMAC_SECRET,
            from_env,
            secret_fingerprint(from_env),
            f"${ENV_OPA_HMAC_KEY}",
        )
    if from_file is not None and isinstance(resolved, Anchor):
        return Anchor(
            label, AnchorKind.HMAC_SECRET, from_file, secret_fingerprint(from_file), resolved.origin
        )
    if isinstance(resolved, Unresolved):
        return Unresolved(
            label,
            AnchorKind.HMAC_SECRET,
            f"{resolved.reason} (nor is ${ENV_OPA_HMAC_KEY} set)",
            untrusted=resolved.untrusted,
        )
    return Unresolved(
        label,
        AnchorKind.HMAC_SECRET,
        f"no HMAC secret: set ${ENV_OPA_HMAC_KEY} or name a verification_key in the trust dir",
    )


def needed(loaded: LoadedMatrix) -> list[tuple[AnchorKind, str]]:
    """Every anchor the evidence objectives of the matrix name (keys, roots, OPA keys)."""
    out: list[tuple[AnchorKind, str]] = []
    for gate in loaded.matrix.gates:
        for obj in gate.objectives:
            if isinstance(obj, AttestationObjective):
                out += [(AnchorKind.PUBLIC_KEY, k) for k in obj.keys]
                if obj.trusted_root is not None:
                    out.append((AnchorKind.TRUSTED_ROOT, obj.trusted_root))
            elif isinstance(obj, OpaBundleObjective):
                if obj.signing_alg.startswith("HS"):
                    out.append((AnchorKind.HMAC_SECRET, obj.verification_key or ""))
                elif obj.verification_key is not None:
                    out.append((AnchorKind.PUBLIC_KEY, obj.verification_key))
    return list(dict.fromkeys(out))


def resolve_trust(
    loaded: LoadedMatrix,
    *,
    trust_dir: Path | None,
    evidence_dir: Path | None = None,
    trust_label: str | None = None,
    env: Mapping[str, str] | None = None,
    bundle_anchors: Mapping[str, bytes] | None = None,
    matrix_relative: bool = True,
) -> TrustStore:
    """Resolve every anchor the matrix names (see the module docstring for the order).

    ``bundle_anchors`` (public anchors a bundle carries) are used only for anchors found
    nowhere else, and are marked as vouched for by the bundle signature alone."""
    env = os.environ if env is None else env
    label = trust_label or ("the trust dir" if trust_dir else "")
    mdir = matrix_dir(loaded) if matrix_relative else None
    anchors: dict[tuple[AnchorKind, str], Anchor | Unresolved] = {}
    for kind, name in needed(loaded):
        if kind is AnchorKind.HMAC_SECRET:
            file_anchor = (
                _resolve_one(
                    kind,
                    name,
                    trust_dir=trust_dir,
                    trust_label=label,
                    mdir=None,
                    evidence_dir=evidence_dir,
                )
                if name and trust_dir is not None
                else None
            )
            if name and trust_dir is None and file_anchor is None:
                file_anchor = Unresolved(
                    name,
                    kind,
                    f"HMAC secret {name}: no trust dir (--trust DIR or ${ENV_TRUST_DIR})",
                )
            anchors[(kind, name)] = _hmac_secret(name or None, env, file_anchor)
            continue
        got = _resolve_one(
            kind,
            name,
            trust_dir=trust_dir,
            trust_label=label,
            mdir=mdir,
            evidence_dir=evidence_dir,
        )
        if isinstance(got, Unresolved) and not got.untrusted and bundle_anchors:
            data = bundle_anchors.get(name)
            if data is not None and "ambiguous" not in got.reason:
                got = Anchor(
                    name,
                    kind,
                    data,
                    _fingerprint(kind, data),
                    "the bundle",
                    vouched_by_bundle=True,
                )
        anchors[(kind, name)] = got
    source = label or ("anchors beside the matrix" if mdir else "no trust directory")
    return TrustStore(anchors=anchors, source=source)


BUNDLE_TRUST_DIR = "trust"


def public_anchor_files(loaded: LoadedMatrix, trust_dir: Path | None) -> dict[str, bytes]:
    """The public anchors (keys, trusted roots) the matrix names, for a bundle's ``trust/``:
    never an HMAC secret; a file holding a private key is refused (ConfigError)."""
    store = resolve_trust(loaded, trust_dir=trust_dir, env={})
    files = store.public_files()
    for name, data in files.items():
        if b"PRIVATE KEY" in data:
            raise ConfigError(
                "holds a private key: a trust anchor must be public; refusing to bundle it",
                where=name,
            )
    return files
