"""``igkit bundle build``: copy a run into a self-verifying, signed evidence bundle.

Layout of ``BUNDLE_DIR`` (every path POSIX, relative to the bundle root)::

    verdicts.json junit.xml snapshots/... notebooks/... reports/...   copied from the run
    matrix.yaml                    the matrix text the run evaluated (for ``verify --replay``)
    signing-key.pub.pem            public half of the signing key (self-asserted!)
    signing-cert.pem               the key's X.509 certificate, when there is one (PDF trust)
    UNTRUSTED-DEMO-KEY.txt         only when no key was configured
    manifest.json                  seed §10 export manifest (+ igkit fields), self-signed
    attestation.intoto.dsse.json   DSSE in-toto Statement: subjects = every file above
    manifest-sha256.txt            ``sha256sum`` list of every file except itself and its .sig
    manifest-sha256.txt.sig        DER ECDSA P-256 SHA-256 signature of manifest-sha256.txt

Coverage: the .sig covers manifest-sha256.txt, which covers every other file - including
the attestation and manifest.json. ``manifest.json``'s ``signatures[0].sig`` signs the
canonical JSON (sorted keys, compact) of manifest.json with ``signatures`` set to ``[]``:
the signature of manifest-sha256.txt cannot live inside a file that manifest-sha256.txt
hashes. Signatures are deterministic (RFC 6979), so with the same key two builds of the
same run - and their ``--tar`` archives - are byte-identical. Without a configured key an
ephemeral one is used; its public half is also written beside the bundle as
``<bundle>.demo-key.pub.pem`` (outside it, so a verifier can pass ``--key`` explicitly).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import os
import re
import stat
import tarfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import ValidationError

from igkit import __version__
from igkit.bundle.keys import SigningKey, ephemeral_key
from igkit.errors import ConfigError
from igkit.evidence.dsse import IN_TOTO_PAYLOAD_TYPE, pae
from igkit.snapshots import EvidenceSnapshot, SnapshotIndex, canonical_json
from igkit.verdicts import RunVerdicts

MANIFEST = "manifest.json"
HASHES = "manifest-sha256.txt"
HASHES_SIG = "manifest-sha256.txt.sig"
ATTESTATION = "attestation.intoto.dsse.json"
PUBLIC_KEY = "signing-key.pub.pem"
CERTIFICATE = "signing-cert.pem"
DEMO_NOTICE = "UNTRUSTED-DEMO-KEY.txt"
MATRIX = "matrix.yaml"
RESERVED = frozenset(
    {MANIFEST, HASHES, HASHES_SIG, ATTESTATION, PUBLIC_KEY, CERTIFICATE, DEMO_NOTICE, MATRIX}
)
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://igkit.dev/go-no-go/v1"
MANIFEST_SCHEMA = "igkit.bundle-manifest/v1"
DEFAULT_MATRIX_SOURCE = "<igkit>/default.yaml"
_SLSA_LEVEL = re.compile(r"SLSA build level (\d+)")
_URI_SCHEMES = {
    "prometheus_range": "prom",
    "k6_windows": "k6",
    "k6_summary": "k6",
    "evidence": "evidence",
}


@dataclass
class BuildResult:
    bundle: Path
    manifest: dict[str, Any]
    key: SigningKey
    files: list[str]
    demo_public_key: Path | None = None
    tar: Path | None = None
    warnings: list[str] = field(default_factory=list)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def safe_relpath(name: str) -> str | None:
    """Why ``name`` is not a safe bundle path (absolute, ``..``, backslash, control chars...),
    or None when it is fine."""
    if not name:
        return "empty path"
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return "absolute path"
    if "\\" in name:
        return "backslash in path"
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        return "control character in path"
    parts = name.split("/")
    if any(p == ".." for p in parts):
        return "'..' in path"
    if any(p in {"", "."} for p in parts):
        return "empty or '.' path component"
    return None


def bundle_files(bundle: Path) -> list[str]:
    """Every regular file under ``bundle`` (POSIX relative paths, sorted); symlinks skipped."""
    out: list[str] = []
    for root, dirs, files in os.walk(bundle, followlinks=False):
        base = Path(root)
        for name in files:
            p = base / name
            if stat.S_ISREG(p.lstat().st_mode):
                out.append(p.relative_to(bundle).as_posix())
        dirs[:] = [d for d in dirs if not (base / d).is_symlink()]
    return sorted(out)


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.chmod(path, 0o644)


def _json_bytes(data: Any) -> bytes:
    return json.dumps(data, indent=2, ensure_ascii=False).encode() + b"\n"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def manifest_signing_bytes(manifest: dict[str, Any]) -> bytes:
    """What ``manifest.json``'s ``signatures[].sig`` signs: canonical JSON, signatures=[]."""
    return canonical_json({**manifest, "signatures": []})


# -- reading the run ---------------------------------------------------------------------


def _load_run(run_dir: Path) -> tuple[RunVerdicts, SnapshotIndex]:
    if not run_dir.is_dir():
        raise ConfigError("run directory does not exist or is not a directory", where=str(run_dir))
    try:
        verdicts = RunVerdicts.model_validate_json((run_dir / "verdicts.json").read_bytes())
    except FileNotFoundError:
        raise ConfigError(
            "no verdicts.json: not an igkit run directory", where=str(run_dir)
        ) from None
    except (OSError, ValidationError) as exc:
        raise ConfigError(
            f"unreadable verdicts.json ({type(exc).__name__})", where=str(run_dir)
        ) from None
    try:
        index = SnapshotIndex.model_validate_json(
            (run_dir / "snapshots" / "index.json").read_bytes()
        )
    except FileNotFoundError:
        raise ConfigError("no snapshots/index.json in the run", where=str(run_dir)) from None
    except (OSError, ValidationError) as exc:
        raise ConfigError(
            f"unreadable snapshots/index.json ({type(exc).__name__})", where=str(run_dir)
        ) from None
    return verdicts, index


def _earlier_output(path: Path) -> bool:
    """``X.tar.gz`` / ``X.demo-key.pub.pem`` written beside an earlier bundle ``X/``."""
    for suffix in (".tar.gz", ".demo-key.pub.pem"):
        if path.name.endswith(suffix):
            sibling = path.with_name(path.name.removesuffix(suffix))
            if (sibling / HASHES).is_file():
                return True
    return False


def _copy_run(run_dir: Path, bundle: Path, exclude: set[Path], warnings: list[str]) -> None:
    """Copy regular files; never follow a symlink, refuse names that would escape."""
    root_real = run_dir.resolve()
    for root, dirs, files in os.walk(run_dir, followlinks=False):
        base = Path(root)
        keep_dirs = []
        for d in sorted(dirs):
            p = base / d
            if p.is_symlink():
                warnings.append(
                    f"skipped symlink {p.relative_to(run_dir).as_posix()}/ (never followed)"
                )
            elif p.resolve() in exclude or (p / HASHES).exists():
                continue  # the bundle being built, or an earlier bundle
            else:
                keep_dirs.append(d)
        dirs[:] = keep_dirs
        for name in sorted(files):
            src = base / name
            rel = src.relative_to(run_dir).as_posix()
            mode = src.lstat().st_mode
            if stat.S_ISLNK(mode):
                warnings.append(f"skipped symlink {rel} (never followed)")
                continue
            if not stat.S_ISREG(mode):
                warnings.append(f"skipped {rel}: not a regular file")
                continue
            if src.resolve() in exclude or name.startswith(".") or _earlier_output(src):
                continue  # our own outputs (also of earlier builds); hidden/temporary files
            problem = safe_relpath(rel)
            if problem or not src.resolve().is_relative_to(root_real):
                raise ConfigError(
                    f"refusing to bundle {rel!r}: {problem or 'escapes the run'}",
                    where=str(run_dir),
                )
            if rel in RESERVED:
                raise ConfigError(
                    f"the run holds {rel}, a name the bundle reserves", where=str(run_dir)
                )
            fd = os.open(src, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
            with os.fdopen(fd, "rb") as fh:
                _write(bundle / rel, fh.read())


def _snapshot_kinds(bundle: Path, index: SnapshotIndex) -> dict[str, str]:
    kinds: dict[str, str] = {}
    for ref in index.snapshots:
        try:
            kind = json.loads((bundle / "snapshots" / ref.file).read_bytes()).get("kind", "")
        except (OSError, ValueError, AttributeError):
            kind = ""
        kinds[ref.file] = str(kind)
    return kinds


def _g3_release(bundle: Path, index: SnapshotIndex) -> tuple[Any, EvidenceSnapshot] | None:
    from igkit.evidence.release import ReleaseFileError, parse_release
    from igkit.snapshots import read_snapshot

    for ref in index.snapshots:
        if not ref.label.startswith("G3-"):
            continue
        try:
            snap = read_snapshot(bundle / "snapshots" / ref.file)
        except Exception:
            continue
        if not isinstance(snap, EvidenceSnapshot) or "release" not in snap.files:
            continue
        content = snap.files["release"].content()
        if content is None:
            continue
        try:
            return parse_release(content, name=snap.files["release"].path), snap
        except ReleaseFileError:
            continue
    return None


def _artifacts(
    verdicts: RunVerdicts, found: tuple[Any, EvidenceSnapshot] | None
) -> list[dict[str, Any]]:
    if found is None:
        return []
    release, snap = found
    details: dict[str, Any] = {}
    for gate in verdicts.gates:
        if gate.id == "G3":
            for obj in gate.objectives:
                details.update(obj.details)
    out = []
    for art in release.artifacts:
        digest = art.digest
        file = snap.files.get(f"artifact:{art.name}")
        if digest is None and file is not None and file.sha256:
            digest = f"sha256:{file.sha256}"
        level = "unverified"
        detail = details.get(f"{art.name}: slsa level")
        if (
            isinstance(detail, str)
            and detail.startswith("PASS")
            and (m := _SLSA_LEVEL.search(detail))
        ):
            level = m.group(1)
        out.append({"name": art.name, "digest": digest, "slsaLevel": level})
    return out


def _write_anchors(bundle: Path, verdicts: RunVerdicts, trust_dir: Path | None) -> None:
    from igkit.matrix.loader import load_matrix
    from igkit.trust import BUNDLE_TRUST_DIR, public_anchor_files

    source = verdicts.matrix_source
    loaded = load_matrix(None if source == DEFAULT_MATRIX_SOURCE else source)
    for name, data in sorted(public_anchor_files(loaded, trust_dir).items()):
        target = bundle / BUNDLE_TRUST_DIR / name
        target.parent.mkdir(parents=True, exist_ok=True)
        _write(target, data)


def _matrix_text(verdicts: RunVerdicts, warnings: list[str]) -> str | None:
    from igkit.matrix.loader import load_matrix

    source = verdicts.matrix_source
    try:
        loaded = load_matrix(None if source == DEFAULT_MATRIX_SOURCE else source)
    except ConfigError as exc:
        warnings.append(f"matrix.yaml not bundled ({exc}); verify --replay will fail")
        return None
    if loaded.sha256 != verdicts.matrix_sha256:
        warnings.append(
            f"matrix.yaml not bundled: {source} now has sha256 {loaded.sha256[:12]}…, the run "
            f"evaluated {verdicts.matrix_sha256[:12]}…; verify --replay will fail"
        )
        return None
    return loaded.text


def build_manifest(
    bundle: Path,
    verdicts: RunVerdicts,
    index: SnapshotIndex,
    key: SigningKey,
    release_tag: str | None,
) -> dict[str, Any]:
    found = _g3_release(bundle, index)
    files_by_id = {ref.id: f"snapshots/{ref.file}" for ref in index.snapshots}
    gates = []
    for gate in verdicts.gates:
        files = sorted(
            {files_by_id[s] for o in gate.objectives for s in o.snapshots if s in files_by_id}
        )
        gates.append(
            {
                "id": gate.id,
                "status": gate.status.value,
                "evidence": ", ".join(files) or "verdicts.json",
            }
        )
    kinds = _snapshot_kinds(bundle, index)
    snapshots = [f"{_URI_SCHEMES.get(kinds[f], 'snapshot')}://snapshots/{f}" for f in sorted(kinds)]
    tag = release_tag or (found[0].releaseTag if found else None) or "unreleased"
    return {
        "schema": MANIFEST_SCHEMA,
        "releaseTag": tag,
        "artifacts": _artifacts(verdicts, found),
        "gates": gates,
        "snapshots": snapshots,
        "signatures": [],
        "igkitVersion": __version__,
        "runIgkitVersion": verdicts.igkit_version,
        "matrixSha256": verdicts.matrix_sha256,
        "decision": verdicts.decision,
        "evaluatedAt": verdicts.model_dump(mode="json")["evaluated_at"],
        "signingKey": {"fingerprint": key.fingerprint, "trusted": key.trusted},
    }


def sign_manifest(manifest: dict[str, Any], key: SigningKey) -> dict[str, Any]:
    sig = key.sign(manifest_signing_bytes(manifest))
    return {
        **manifest,
        "signatures": [{"issuer": key.issuer, "keyid": key.fingerprint, "sig": b64(sig)}],
    }


def seal(bundle: Path, key: SigningKey) -> list[str]:
    """(Re)write the attestation, manifest-sha256.txt and its signature from the files now in
    ``bundle``; return the hashed file list. Used by build, and by tests to forge bundles."""
    for name in (ATTESTATION, HASHES, HASHES_SIG):
        (bundle / name).unlink(missing_ok=True)
    manifest = json.loads((bundle / MANIFEST).read_bytes())
    files = bundle_files(bundle)
    digests = {rel: sha256_file(bundle / rel) for rel in files}
    statement = {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": rel, "digest": {"sha256": digests[rel]}} for rel in files],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "decision": manifest.get("decision"),
            "evaluatedAt": manifest.get("evaluatedAt"),
            "releaseTag": manifest.get("releaseTag"),
            "matrixSha256": manifest.get("matrixSha256"),
            "gates": [
                {"id": g.get("id"), "status": g.get("status")} for g in manifest.get("gates", [])
            ],
        },
    }
    payload = canonical_json(statement)
    envelope = {
        "payloadType": IN_TOTO_PAYLOAD_TYPE,
        "payload": b64(payload),
        "signatures": [
            {"keyid": key.fingerprint, "sig": b64(key.sign(pae(IN_TOTO_PAYLOAD_TYPE, payload)))}
        ],
    }
    _write(bundle / ATTESTATION, _json_bytes(envelope))
    files = bundle_files(bundle)
    lines = "".join(f"{sha256_file(bundle / rel)}  {rel}\n" for rel in files)
    _write(bundle / HASHES, lines.encode())
    _write(bundle / HASHES_SIG, key.sign(lines.encode()))
    return files


def write_tar(bundle: Path, dest: Path) -> None:
    """Reproducible ``.tar.gz``: entries ``<bundle name>/...`` sorted, mtime 0, uid/gid 0,
    no user names, fixed modes, gzip header without name and with mtime 0."""
    top = bundle.name
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        dirs = {top}
        files = bundle_files(bundle)
        for rel in files:
            parts = PurePosixPath(rel).parts[:-1]
            for i in range(1, len(parts) + 1):
                dirs.add(f"{top}/{'/'.join(parts[:i])}")
        entries = sorted([(d, True) for d in dirs] + [(f"{top}/{rel}", False) for rel in files])
        for name, is_dir in entries:
            info = tarfile.TarInfo(name)
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
            if is_dir:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            else:
                data = (bundle / name[len(top) + 1 :]).read_bytes()
                info.mode, info.size = 0o644, len(data)
                tar.addfile(info, io.BytesIO(data))
    with (
        dest.open("wb") as fh,
        gzip.GzipFile(filename="", mode="wb", fileobj=fh, mtime=0, compresslevel=9) as gz,
    ):
        gz.write(raw.getvalue())


def build_bundle(
    run_dir: Path,
    out: Path | None = None,
    *,
    key: SigningKey | None = None,
    release_tag: str | None = None,
    tar: bool = False,
    trust_dir: Path | None = None,
) -> BuildResult:
    """Build the bundle; ConfigError (exit 2) for a bad run dir or an existing non-empty out.

    The PUBLIC trust anchors the matrix names (from ``trust_dir`` or beside the matrix) are
    copied to ``trust/`` so an auditor can replay; they are only as trusted as the bundle
    signature. HMAC secrets and private keys are never bundled."""
    verdicts, index = _load_run(run_dir)
    bundle = out if out is not None else run_dir / "bundle"
    if bundle.is_symlink() or (bundle.exists() and (not bundle.is_dir() or any(bundle.iterdir()))):
        raise ConfigError(
            "already exists and is not an empty directory; remove it or choose --out",
            where=str(bundle),
        )
    if release_tag is not None and not release_tag.strip():
        raise ConfigError("empty release tag", where="--release-tag")
    bundle.mkdir(parents=True, exist_ok=True)
    tar_path = bundle.with_name(f"{bundle.name}.tar.gz")
    demo_pub = bundle.with_name(f"{bundle.name}.demo-key.pub.pem")
    warnings: list[str] = []
    _copy_run(run_dir, bundle, {bundle.resolve(), tar_path.resolve(), demo_pub.resolve()}, warnings)
    signing = key if key is not None else ephemeral_key()
    text = _matrix_text(verdicts, warnings)
    if text is not None:
        _write(bundle / MATRIX, text.encode("utf-8"))
        _write_anchors(bundle, verdicts, trust_dir)
    _write(bundle / PUBLIC_KEY, signing.public_pem)
    if signing.cert_pem is not None:
        _write(bundle / CERTIFICATE, signing.cert_pem)
    demo_written: Path | None = None
    if not signing.trusted:
        _write(
            bundle / DEMO_NOTICE,
            (
                "This bundle was signed with an untrusted demo key.\n"
                "No signing key was configured (--key or IGKIT_SIGNING_KEY), so igkit made a\n"
                f"throwaway key ({signing.fingerprint}). The signatures prove the files are\n"
                "unchanged since the build, NOT who built them. Do not use it as release evidence.\n"
            ).encode(),
        )
        _write(demo_pub, signing.public_pem)
        demo_written = demo_pub
    manifest = sign_manifest(build_manifest(bundle, verdicts, index, signing, release_tag), signing)
    _write(bundle / MANIFEST, _json_bytes(manifest))
    files = seal(bundle, signing)
    result = BuildResult(bundle, manifest, signing, files, demo_written, None, warnings)
    if tar:
        write_tar(bundle, tar_path)
        result.tar = tar_path
    return result
