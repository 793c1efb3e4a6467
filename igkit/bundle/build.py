"""``igkit bundle build``: copy a run into a self-verifying, signed evidence bundle.

Layout of ``BUNDLE_DIR`` (every path POSIX, relative to the bundle root)::

    verdicts.json junit.xml snapshots/... notebooks/... reports/...   what the run wrote
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

What is copied is selected, never swept (:func:`select_run_files`); a selected file holding
a private key refuses the build, and the finished bundle must pass its own ``verify`` with
the signing key (PDFs signed by another key refuse the build) or it is removed.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import os
import re
import stat
import tarfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, TypeVar

from igkit import __version__
from igkit.bundle.keys import SigningKey, ephemeral_key
from igkit.errors import ConfigError
from igkit.judge.evidence.dsse import IN_TOTO_PAYLOAD_TYPE, pae
from igkit.snapshots import EvidenceSnapshot, SnapshotIndex, canonical_json, sha256_file
from igkit.strictdoc import DocumentError, load_model
from igkit.verdicts import RunVerdicts

if TYPE_CHECKING:
    from pydantic import BaseModel

    from igkit.spec.loader import LoadedMatrix

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
    from igkit.atomic import write_bytes

    write_bytes(path, data, binary=True)  # atomic; an OSError is "could not write PATH" (exit 3)
    os.chmod(path, 0o644)


def _json_bytes(data: Any) -> bytes:
    return json.dumps(data, indent=2, ensure_ascii=False).encode() + b"\n"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def manifest_signing_bytes(manifest: dict[str, Any]) -> bytes:
    """What ``manifest.json``'s ``signatures[].sig`` signs: canonical JSON, signatures=[]."""
    return canonical_json({**manifest, "signatures": []})


_M = TypeVar("_M", bound="BaseModel")


# -- reading the run ---------------------------------------------------------------------


def _load_run(run_dir: Path) -> tuple[RunVerdicts, SnapshotIndex]:
    if not run_dir.is_dir():
        raise ConfigError("run directory does not exist or is not a directory", where=str(run_dir))
    verdicts = _run_document(
        run_dir, "verdicts.json", RunVerdicts, "no verdicts.json: not an igkit run directory"
    )
    index = _run_document(
        run_dir, "snapshots/index.json", SnapshotIndex, "no snapshots/index.json in the run"
    )
    return verdicts, index


def _run_document(run_dir: Path, rel: str, model: type[_M], missing: str) -> _M:
    """``run_dir/rel`` read strictly into ``model``; every problem a ConfigError naming it."""
    try:
        return load_model(model, (run_dir / rel).read_bytes(), where=rel)
    except FileNotFoundError:
        raise ConfigError(missing, where=str(run_dir)) from None
    except OSError as exc:
        raise ConfigError(f"unreadable {rel} ({exc.strerror})", where=str(run_dir)) from None
    except DocumentError as exc:
        raise ConfigError(str(exc), where=str(run_dir)) from None


RUN_MARKER = ".igkit-run.json"
_PEM_PRIVATE_KEY = re.compile(rb"-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY-----")
_DER_LIMIT = 1 << 20
_CHUNK = 1 << 20


def _der_private_key(data: bytes) -> str | None:
    """What kind of DER private key container ``data`` is in full, or None."""
    from cryptography.hazmat.primitives.serialization import load_der_private_key

    if not data or data[0] != 0x30 or len(data) > _DER_LIMIT:
        return None
    try:
        load_der_private_key(data, password=None)
        return "a DER private key (PKCS#8/PKCS#1/SEC1)"
    except TypeError:
        return "an encrypted PKCS#8 private key"
    except Exception:  # any parse failure means "not a key"
        pass
    try:
        from asn1crypto import pkcs12

        parsed = pkcs12.Pfx.load(data, strict=True)
        if parsed["version"].native == "v3" and parsed["auth_safe"]["content_type"].native:
            return "a PKCS#12/PFX key store"
    except Exception:  # asn1crypto raises many types for bytes that are not a PFX
        return None
    return None


def private_key_in(data: bytes) -> str | None:
    """Why ``data`` holds a private key (a PEM ``PRIVATE KEY`` block of any kind, DER
    PKCS#8/PKCS#1/SEC1, PKCS#12), or None."""
    if _PEM_PRIVATE_KEY.search(data):
        return "a PEM PRIVATE KEY block"
    return _der_private_key(data)


def private_key_in_file(path: Path) -> str | None:
    """:func:`private_key_in` for a file, read in chunks (a PEM block may straddle two)."""
    tail = b""
    with path.open("rb") as fh:
        head = fh.read(_DER_LIMIT + 1)
        if (why := private_key_in(head)) is not None:
            return why
        tail = head[-80:]
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            if _PEM_PRIVATE_KEY.search(tail + chunk):
                return "a PEM PRIVATE KEY block"
            tail = chunk[-80:]
    return None


def _excluded_name(rel: str) -> str | None:
    """Why a run file is never bundled (dotfiles, ``*.env``), or None."""
    parts = rel.split("/")
    if any(p.startswith(".") for p in parts):
        return "a dotfile"
    if parts[-1].endswith(".env") or parts[-1] == "env":
        return "an environment file"
    return None


def _marker_files(run_dir: Path, warnings: list[str]) -> list[str]:
    """The ``files`` list of the run marker ``.igkit-run.json`` when present and readable."""
    from igkit.strictdoc import DocumentError, load_json

    path = run_dir / RUN_MARKER
    if not path.is_file() or path.is_symlink():
        return []
    try:
        data = load_json(path.read_bytes(), where=str(path))
    except (DocumentError, OSError) as exc:
        warnings.append(f"{RUN_MARKER} ignored: {exc}")
        return []
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        warnings.append(f"{RUN_MARKER} ignored: no 'files' list of paths")
        return []
    return list(files)


def _glob_names(run_dir: Path, folder: str, suffixes: tuple[str, ...]) -> list[str]:
    base = run_dir / folder
    if not base.is_dir() or base.is_symlink():
        return []
    return sorted(
        f"{folder}/{p.name}"
        for p in base.iterdir()
        if p.name.endswith(suffixes) or (not p.is_dir() and p.is_symlink())
    )


def select_run_files(run_dir: Path, warnings: list[str]) -> list[str]:
    """What igkit wrote for the run and the evidence it captured - never a directory sweep.

    verdicts.json, junit.xml, snapshots/index.json and the snapshots it lists (each checked
    against the index and verdicts.json as replay would), the War Room files, notebooks and
    reports the pipeline writes, the evidence documents copied out of evidence snapshots,
    and the files the run marker ``.igkit-run.json`` lists. Dotfiles and ``*.env`` never."""
    from igkit.sources.replay import ReplaySource

    replay = ReplaySource(run_dir)
    warnings.extend(replay.warnings)
    if replay.rejected:
        raise ConfigError(
            f"refusing to bundle snapshots that are not the run's: {'; '.join(replay.problems)}",
            where=str(run_dir),
        )
    assert replay.index is not None
    wanted = ["verdicts.json", "junit.xml", "snapshots/index.json", "war-room.png"]
    wanted += ["war-room.json"]
    wanted += [f"snapshots/{ref.file}" for ref in replay.index.snapshots]
    wanted += _glob_names(run_dir, "notebooks", (".ipynb", ".verdict.json"))
    wanted += _glob_names(run_dir, "reports", (".html", ".pdf"))
    for snap in replay.evidence:
        for f in snap.files.values():
            doc = PurePosixPath(f.path)
            if f.content_b64 is not None and not doc.is_absolute() and ".." not in doc.parts:
                wanted.append(f"evidence/{doc.as_posix()}")
    wanted += _marker_files(run_dir, warnings)
    required = {"verdicts.json", "snapshots/index.json"}
    required |= {f"snapshots/{ref.file}" for ref in replay.index.snapshots}
    out: list[str] = []
    for rel in dict.fromkeys(wanted):
        src = run_dir / rel
        if _inside_earlier_output(run_dir, rel):
            continue
        if why := _excluded_name(rel):
            warnings.append(f"not bundled: {rel} is {why}")
            continue
        if problem := safe_relpath(rel):
            raise ConfigError(f"refusing to bundle {rel!r}: {problem}", where=str(run_dir))
        try:
            mode = src.lstat().st_mode
        except OSError:
            if rel in required:
                raise ConfigError(f"{rel} is missing from the run", where=str(run_dir)) from None
            continue
        if stat.S_ISLNK(mode):
            warnings.append(f"skipped symlink {rel} (never followed)")
            continue
        if not stat.S_ISREG(mode):
            warnings.append(f"skipped {rel}: not a regular file")
            continue
        if any(p.is_symlink() for p in src.parents if p != run_dir and run_dir in p.parents):
            warnings.append(f"skipped {rel}: inside a symlinked directory (never followed)")
            continue
        if rel in RESERVED:
            raise ConfigError(
                f"the run holds {rel}, a name the bundle reserves", where=str(run_dir)
            )
        out.append(rel)
    for snap in replay.evidence:
        for f in snap.files.values():
            blobs = [f.content()] + [_b64decode(v) for v in (f.members or {}).values()]
            for blob in blobs:
                if blob is not None and (why := private_key_in(blob)):
                    raise ConfigError(
                        f"refusing to build the bundle: the evidence snapshot of "
                        f"{snap.objective} holds {why} ({f.path}); remove the key from the "
                        "evidence and run again",
                        where=str(run_dir),
                    )
    for rel in out:
        if why := private_key_in_file(run_dir / rel):
            raise ConfigError(_key_refusal(rel, why), where=str(run_dir))
    return sorted(out)


def _key_refusal(rel: str, why: str) -> str:
    return (
        f"refusing to build the bundle: {rel} holds {why}; keep private keys outside the "
        "run directory"
    )


def refuse_private_keys(run_dir: Path, signing_key_file: Path | None) -> None:
    """ConfigError naming the first file under ``run_dir`` that holds a private key - bundled
    or not, since a key in a run directory is one copy away from a bundle. The key the
    bundle is being signed with (``--key``/``IGKIT_SIGNING_KEY``) is the one exception: it
    is never selected. Earlier bundles and symlinks are skipped; files are read in chunks."""
    allowed = signing_key_file.resolve() if signing_key_file is not None else None
    for root, dirs, names in os.walk(run_dir, followlinks=False):
        base = Path(root)
        dirs[:] = sorted(d for d in dirs if not (base / d / HASHES).exists())
        for name in sorted(names):
            path = base / name
            if not stat.S_ISREG(path.lstat().st_mode) or path.resolve() == allowed:
                continue
            try:
                why = private_key_in_file(path)
            except OSError:
                continue
            if why:
                rel = path.relative_to(run_dir).as_posix()
                raise ConfigError(_key_refusal(rel, why), where=str(run_dir))


def _inside_earlier_output(run_dir: Path, rel: str) -> bool:
    """A file of an earlier bundle (a folder holding manifest-sha256.txt) or its archive."""
    parts = rel.split("/")
    for i in range(1, len(parts)):
        if (run_dir.joinpath(*parts[:i]) / HASHES).exists():
            return True
    for suffix in (".tar.gz", ".demo-key.pub.pem"):
        if rel.endswith(suffix) and (run_dir / rel.removesuffix(suffix) / HASHES).exists():
            return True
    return False


def _b64decode(value: str) -> bytes | None:
    try:
        return base64.b64decode(value)
    except ValueError:
        return None


def _copy_run(run_dir: Path, bundle: Path, warnings: list[str]) -> None:
    """Copy the selected run files; never follow a symlink."""
    for rel in select_run_files(run_dir, warnings):
        fd = os.open(run_dir / rel, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        target = bundle / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        with os.fdopen(fd, "rb") as src, target.open("wb") as dst:
            for chunk in iter(lambda: src.read(_CHUNK), b""):
                dst.write(chunk)
        os.chmod(target, 0o644)


def _snapshot_kinds(bundle: Path, index: SnapshotIndex) -> dict[str, str]:
    kinds: dict[str, str] = {}
    for ref in index.snapshots:
        try:
            kind = json.loads((bundle / "snapshots" / ref.file).read_bytes()).get("kind", "")
        except (OSError, ValueError, AttributeError):
            kind = ""
        kinds[ref.file] = str(kind)
    return kinds


def attestation_objectives(loaded: LoadedMatrix | None) -> set[str]:
    """``gate/objective`` keys of the matrix's attestation objectives, whatever their gate."""
    from igkit.spec.models import AttestationObjective

    if loaded is None:
        return set()
    return {f"{g.id}/{o.name}" for g, o in loaded.matrix.objectives_of(AttestationObjective)}


def _attested_release(
    bundle: Path, index: SnapshotIndex, objectives: set[str]
) -> tuple[Any, EvidenceSnapshot] | None:
    """The release file an attestation objective of the run read (its evidence snapshot)."""
    from igkit.judge.evidence.release import ReleaseFileError, parse_release
    from igkit.snapshots import read_snapshot

    for ref in index.snapshots:
        if not objectives or not ref.label.endswith("-evidence"):
            continue
        try:
            snap = read_snapshot(bundle / "snapshots" / ref.file)
        except Exception:
            continue
        if (
            not isinstance(snap, EvidenceSnapshot)
            or snap.objective not in objectives
            or "release" not in snap.files
        ):
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
        for obj in gate.objectives:
            if f"{gate.id}/{obj.name}" == snap.objective:
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
    from igkit.spec.loader import load_matrix
    from igkit.trust import BUNDLE_TRUST_DIR, public_anchor_files

    source = verdicts.matrix_source
    loaded = load_matrix(None if source == DEFAULT_MATRIX_SOURCE else source)
    for name, data in sorted(public_anchor_files(loaded, trust_dir).items()):
        target = bundle / BUNDLE_TRUST_DIR / name
        target.parent.mkdir(parents=True, exist_ok=True)
        _write(target, data)


def _bundled_matrix(verdicts: RunVerdicts, warnings: list[str]) -> LoadedMatrix | None:
    from igkit.spec.loader import load_matrix

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
    return loaded


def _write_matrix_inputs(bundle: Path, loaded: LoadedMatrix, warnings: list[str]) -> None:
    """The files the matrix declares (``expect.values_file``), beside ``matrix.yaml`` under
    their relative names, so ``verify --replay`` loads the same matrix (same sha256)."""
    for name, data in sorted(loaded.inputs.items()):
        target = bundle / name
        if name in RESERVED or target.exists():
            warnings.append(
                f"{name} (declared by the matrix) clashes with a bundle file; not bundled"
            )
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        _write(target, data)


def build_manifest(
    bundle: Path,
    verdicts: RunVerdicts,
    index: SnapshotIndex,
    key: SigningKey,
    release_tag: str | None,
    loaded: LoadedMatrix | None = None,
) -> dict[str, Any]:
    """The manifest; artifacts come from the matrix's attestation objectives (any gate), so
    without the run's matrix (``loaded`` None) no artifact is listed."""
    found = _attested_release(bundle, index, attestation_objectives(loaded))
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
        "changeTicket": verdicts.change_ticket or (found[0].changeTicket if found else None),
        "artifacts": _artifacts(verdicts, found),
        "gates": gates,
        "snapshots": snapshots,
        "signatures": [],
        "igkitVersion": __version__,
        "runIgkitVersion": verdicts.igkit_version,
        "matrixSha256": verdicts.matrix_sha256,
        "decision": verdicts.decision,
        "scope": verdicts.scope.model_dump(mode="json"),
        "evaluatedAt": verdicts.model_dump(mode="json")["evaluated_at"],
        "signingKey": {"fingerprint": key.fingerprint, "trusted": key.trusted},
    }


def sign_manifest(manifest: dict[str, Any], key: SigningKey) -> dict[str, Any]:
    sig = key.sign(manifest_signing_bytes(manifest))
    return {
        **manifest,
        "signatures": [{"issuer": key.issuer, "keyid": key.fingerprint, "sig": b64(sig)}],
    }


def seal(
    bundle: Path,
    key: SigningKey,
    *,
    predicate_type: str = PREDICATE_TYPE,
    predicate: dict[str, Any] | None = None,
) -> list[str]:
    """(Re)write the attestation, manifest-sha256.txt and its signature from the files now in
    ``bundle``; return the hashed file list. Used by build, by the cutover seal (its own
    ``predicate_type`` and ``predicate``), and by tests to forge bundles."""
    for name in (ATTESTATION, HASHES, HASHES_SIG):
        (bundle / name).unlink(missing_ok=True)
    manifest = json.loads((bundle / MANIFEST).read_bytes())
    files = bundle_files(bundle)
    for rel in files:
        if "\n" in rel or "\r" in rel:
            raise ConfigError(
                f"refusing to list {rel!r}: a line break in a file name would split its "
                f"{HASHES} line",
                where=str(bundle),
            )
    digests = {rel: sha256_file(bundle / rel) for rel in files}
    statement = {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": rel, "digest": {"sha256": digests[rel]}} for rel in files],
        "predicateType": predicate_type,
        "predicate": predicate
        if predicate is not None
        else {
            "decision": manifest.get("decision"),
            "evaluatedAt": manifest.get("evaluatedAt"),
            "releaseTag": manifest.get("releaseTag"),
            "changeTicket": manifest.get("changeTicket"),
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
    packed = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=packed, mtime=0, compresslevel=9) as gz:
        gz.write(raw.getvalue())
    _write(dest, packed.getvalue())


def _adopt_pdf_certificate(bundle: Path, key: SigningKey) -> SigningKey:
    """A key without a certificate beside it takes the certificate its own PDF signatures
    carry (the pipeline makes one when rendering), so those PDFs verify in the bundle."""
    from dataclasses import replace

    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    for pdf in sorted((bundle / "reports").glob("*.pdf")):
        try:
            from pyhanko.pdf_utils.reader import PdfFileReader

            with pdf.open("rb") as fh:
                for sig in PdfFileReader(fh, strict=False).embedded_signatures:
                    cert = x509.load_der_x509_certificate(sig.signer_cert.dump())
                    if cert.public_key() == key.private_key.public_key():
                        return replace(key, cert_pem=cert.public_bytes(Encoding.PEM))
        except Exception:  # an unreadable PDF is reported by the self-check
            continue
    return key


def _self_check(bundle: Path, key: SigningKey, extra: list[Path]) -> None:
    """Verify the new bundle with its own key; on any failure remove it and refuse, so a
    build never leaves a bundle its own ``verify`` rejects (e.g. PDFs signed by another key)."""
    import shutil

    from igkit.bundle.verify import verify_with_public_key

    result = verify_with_public_key(bundle, key.private_key.public_key())
    if result.ok:
        return
    shutil.rmtree(bundle, ignore_errors=True)
    for path in extra:
        path.unlink(missing_ok=True)
    bad = result.failures
    first = "; ".join(f"{c.subject + ': ' if c.subject else ''}{c.detail}" for c in bad[:3])
    hint = ""
    if any(c.name == "pdf signature" for c in bad):
        hint = (
            f" - the run's PDFs were not signed by this key ({key.fingerprint}): build with the "
            "key that signed them, or render the reports again with this key"
        )
    raise ConfigError(
        f"refusing to write a bundle that its own verify rejects: {first}{hint}",
        where=str(bundle),
    )


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
    refuse_private_keys(run_dir, Path(key.source) if key is not None else None)
    bundle.mkdir(parents=True, exist_ok=True)
    tar_path = bundle.with_name(f"{bundle.name}.tar.gz")
    demo_pub = bundle.with_name(f"{bundle.name}.demo-key.pub.pem")
    warnings: list[str] = []
    _copy_run(run_dir, bundle, warnings)
    signing = key if key is not None else ephemeral_key()
    if signing.cert_pem is None:
        signing = _adopt_pdf_certificate(bundle, signing)
    loaded = _bundled_matrix(verdicts, warnings)
    if loaded is not None:
        _write(bundle / MATRIX, loaded.text.encode("utf-8"))
        _write_matrix_inputs(bundle, loaded, warnings)
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
    manifest = sign_manifest(
        build_manifest(bundle, verdicts, index, signing, release_tag, loaded), signing
    )
    _write(bundle / MANIFEST, _json_bytes(manifest))
    files = seal(bundle, signing)
    _self_check(bundle, signing, [p for p in (demo_written,) if p is not None])
    result = BuildResult(bundle, manifest, signing, files, demo_written, None, warnings)
    if tar:
        write_tar(bundle, tar_path)
        result.tar = tar_path
    return result
