"""Seal a finished ``cutover execute`` run directory into one signed evidence bundle.

``seal(D, loaded)`` writes ``D/bundle/`` with the primitives of :mod:`igkit.bundle.build`
(the same hash list, DSSE in-toto attestation, signatures and self-check), so
``igkit bundle verify`` and the "verify without igkit" steps of the README work unchanged.
What is copied is selected, never swept: ``run.json``, ``timeline.jsonl`` and the files under
``preflight/``, ``stages/`` (every judge directory: judge.json, canary/, triggers/),
``postdeploy/``, ``status/`` and ``actuators/`` - no dotfiles (run markers and locks), no
``*.env``, no symlink, nothing of an earlier bundle; a file holding a private key refuses the
seal. ``matrix.yaml`` (with the files it declares) and the public trust anchors are added so
``bundle verify --replay`` can re-derive every judgement of the timeline offline.

``manifest.json`` (schema :data:`CUTOVER_SCHEMA`) summarises the run as
:func:`cutover_summary` reads it - outcome, exit code, every judgement (seq, dir, stage,
action), the preflight and post-deploy verdicts - and ``verify`` recomputes that summary from
the bundled files: a manifest that says anything else fails.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from igkit import __version__
from igkit.bundle.build import (
    CERTIFICATE,
    DEMO_NOTICE,
    HASHES,
    MATRIX,
    PUBLIC_KEY,
    RESERVED,
    BuildResult,
    _json_bytes,
    _self_check,
    _write,
    _write_matrix_inputs,
    private_key_in_file,
    safe_relpath,
    sign_manifest,
    write_tar,
)
from igkit.bundle.build import seal as seal_files
from igkit.bundle.keys import SigningKey, ephemeral_key
from igkit.cutover.models import Action
from igkit.errors import ConfigError
from igkit.spec.loader import LoadedMatrix
from igkit.strictdoc import DocumentError, load_json, validation_message

CUTOVER_SCHEMA = "igkit.cutover-bundle/v1"
CUTOVER_PREDICATE = "https://igkit.dev/cutover/v1"
RUN_FILE = "run.json"
TIMELINE = "timeline.jsonl"
FOLDERS = ("preflight", "stages", "postdeploy", "status", "actuators")
PATH_FIELDS = ("dir", "log", "file")
_CHUNK = 1 << 20


class JudgementEntry(BaseModel):
    """A ``judgement`` line of ``timeline.jsonl`` (the shared contract of issue 12)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seq: int
    at: datetime
    kind: Literal["judgement"]
    stage: int | None
    message: str
    action: Action
    dir: str
    reasons: list[str]


@dataclass
class Timeline:
    """What ``timeline.jsonl`` says, and one line per thing wrong with it."""

    entries: list[dict[str, Any]] = field(default_factory=list)
    judgements: list[JudgementEntry] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def read_timeline(data: bytes) -> Timeline:
    """Every line a JSON object with ``seq`` 0, 1, 2, ... and ``kind``; judgement lines
    strictly as the contract says; every path field safe (relative, no ``..``)."""
    out = Timeline()
    if data and not data.endswith(b"\n"):
        out.problems.append(f"{TIMELINE}: the last line is not terminated (a torn write?)")
    for n, raw in enumerate(data.splitlines(), 1):
        where = f"{TIMELINE} line {n}"
        try:
            entry = load_json(raw, where=where)
        except DocumentError as exc:
            out.problems.append(str(exc))
            continue
        if not isinstance(entry, dict) or not isinstance(entry.get("kind"), str):
            out.problems.append(f"{where}: not a JSON object with a kind")
            continue
        if entry.get("seq") != len(out.entries) or isinstance(entry.get("seq"), bool):
            out.problems.append(f"{where}: seq {entry.get('seq')!r}, expected {len(out.entries)}")
        out.entries.append(entry)
        for name in PATH_FIELDS:
            value = entry.get(name)
            if value is not None and (not isinstance(value, str) or safe_relpath(value)):
                why = safe_relpath(value) if isinstance(value, str) else "not a string"
                out.problems.append(f"{where}: {name} {value!r} escapes the run directory: {why}")
        if entry["kind"] == "judgement":
            try:
                out.judgements.append(JudgementEntry.model_validate(entry))
            except ValidationError as exc:
                out.problems.append(
                    f"{where}: {validation_message(exc, data=entry, model=JudgementEntry)}"
                )
    return out


def cutover_summary(root: Path) -> tuple[dict[str, Any], Timeline]:
    """The manifest's account of the run in ``root`` (a run directory or its bundle)."""
    try:
        run = load_json((root / RUN_FILE).read_bytes(), where=RUN_FILE)
    except OSError as exc:
        raise ConfigError(f"no readable {RUN_FILE} ({exc.strerror})", where=str(root)) from None
    except DocumentError as exc:
        raise ConfigError(str(exc), where=str(root)) from None
    if not isinstance(run, dict):
        raise ConfigError(f"{RUN_FILE} is not a JSON object", where=str(root))
    try:
        raw = (root / TIMELINE).read_bytes()
    except OSError as exc:
        raise ConfigError(f"no readable {TIMELINE} ({exc.strerror})", where=str(root)) from None
    timeline = read_timeline(raw)
    last = {e["kind"]: e for e in timeline.entries}
    end, pre, post = last.get("end", {}), last.get("preflight"), last.get("postdeploy")
    summary = {
        "schema": CUTOVER_SCHEMA,
        "runSchema": run.get("schema"),
        "startedAt": run.get("started_at"),
        "stages": run.get("stages"),
        "matrixSha256": run.get("matrix_sha256"),
        "outcome": end.get("outcome"),
        "exitCode": end.get("exit_code"),
        "timelineSha256": hashlib.sha256(raw).hexdigest(),
        "timelineEntries": len(timeline.entries),
        "judgements": [
            {"seq": j.seq, "dir": j.dir, "stage": j.stage, "action": j.action.value}
            for j in timeline.judgements
        ],
        "preflight": {"decision": pre.get("decision"), "dir": pre.get("dir")} if pre else None,
        "postdeploy": {"status": post.get("status"), "dir": post.get("dir")} if post else None,
    }
    return summary, timeline


def _skipped_dir(path: Path) -> bool:
    return path.name.startswith(".") or path.is_symlink() or (path / HASHES).exists()


def select_cutover_files(run_dir: Path, warnings: list[str]) -> list[str]:
    """The run's own files (see the module docstring), POSIX paths relative to ``run_dir``."""
    out = [name for name in (RUN_FILE, TIMELINE) if (run_dir / name).is_file()]
    for folder in FOLDERS:
        top = run_dir / folder
        if top.is_symlink():
            warnings.append(f"skipped {folder}/: a symlink (never followed)")
            continue
        for root, dirs, names in os.walk(top, followlinks=False):
            base = Path(root)
            dirs[:] = sorted(d for d in dirs if not _skipped_dir(base / d))
            for name in sorted(names):
                path = base / name
                rel = path.relative_to(run_dir).as_posix()
                if name.startswith("."):
                    continue  # run markers, locks, temporaries
                if name.endswith(".env") or name == "env":
                    warnings.append(f"not bundled: {rel} is an environment file")
                    continue
                mode = path.lstat().st_mode
                if not stat.S_ISREG(mode):
                    warnings.append(f"skipped {rel}: not a regular file (never followed)")
                    continue
                if (
                    name.endswith((".tar.gz", ".demo-key.pub.pem"))
                    and (base / name.split(".")[0] / HASHES).exists()
                ):
                    continue  # an earlier bundle's archive or demo key
                if problem := safe_relpath(rel):
                    raise ConfigError(f"refusing to seal {rel!r}: {problem}", where=str(run_dir))
                out.append(rel)
    for rel in out:
        if why := private_key_in_file(run_dir / rel):
            raise ConfigError(
                f"refusing to seal the cutover: {rel} holds {why}; keep private keys outside "
                "the run directory",
                where=str(run_dir),
            )
    return sorted(out)


def _copy(run_dir: Path, bundle: Path, rels: list[str]) -> None:
    for rel in rels:
        fd = os.open(run_dir / rel, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        target = bundle / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        with os.fdopen(fd, "rb") as src, target.open("wb") as dst:
            shutil.copyfileobj(src, dst, _CHUNK)
        os.chmod(target, 0o644)


def seal(
    run_dir: Path,
    loaded: LoadedMatrix,
    *,
    key: SigningKey | None = None,
    out: Path | None = None,
    trust_dir: Path | None = None,
    release_tag: str | None = None,
    tar: bool = False,
) -> BuildResult:
    """Write the signed bundle of the cutover in ``run_dir`` (default ``run_dir/bundle``).

    ``loaded`` is the matrix the run used (its sha256 must be run.json's ``matrix_sha256``,
    else matrix.yaml is left out with a warning and ``verify --replay`` fails). ``key``
    None: an ephemeral key, marked untrusted. ConfigError (exit 2) for a directory that is
    not a cutover run, an existing non-empty bundle, or a private key among the files."""
    from igkit.trust import public_anchor_files

    summary, _ = cutover_summary(run_dir)
    bundle = out if out is not None else run_dir / "bundle"
    if bundle.is_symlink() or (bundle.exists() and (not bundle.is_dir() or any(bundle.iterdir()))):
        raise ConfigError("already exists and is not an empty directory", where=str(bundle))
    warnings: list[str] = []
    rels = select_cutover_files(run_dir, warnings)
    clash = sorted(r for r in rels if r in RESERVED)
    if clash:
        raise ConfigError(
            f"the run holds {clash[0]}, a name the bundle reserves", where=str(run_dir)
        )
    bundle.mkdir(parents=True, exist_ok=True)
    _copy(run_dir, bundle, rels)
    signing = key if key is not None else ephemeral_key()
    if loaded.sha256 == summary["matrixSha256"]:
        _write(bundle / MATRIX, loaded.text.encode("utf-8"))
        _write_matrix_inputs(bundle, loaded, warnings)
        from igkit.trust import BUNDLE_TRUST_DIR

        for name, data in sorted(public_anchor_files(loaded, trust_dir).items()):
            (bundle / BUNDLE_TRUST_DIR / name).parent.mkdir(parents=True, exist_ok=True)
            _write(bundle / BUNDLE_TRUST_DIR / name, data)
    else:
        warnings.append(
            f"matrix.yaml not bundled: the matrix given has sha256 {loaded.sha256[:12]}…, "
            f"{RUN_FILE} records {str(summary['matrixSha256'])[:12]}…; verify --replay will fail"
        )
    _write(bundle / PUBLIC_KEY, signing.public_pem)
    if signing.cert_pem is not None:
        _write(bundle / CERTIFICATE, signing.cert_pem)
    demo: Path | None = None
    if not signing.trusted:
        _write(
            bundle / DEMO_NOTICE,
            (
                "This cutover bundle was signed with an untrusted demo key "
                f"({signing.fingerprint}).\nThe signatures prove the files are unchanged since "
                "the seal, NOT who sealed them.\n"
            ).encode(),
        )
        demo = bundle.with_name(f"{bundle.name}.demo-key.pub.pem")
        _write(demo, signing.public_pem)
    manifest = {
        **summary,
        "releaseTag": release_tag or "unreleased",
        "igkitVersion": __version__,
        "signingKey": {"fingerprint": signing.fingerprint, "trusted": signing.trusted},
        "signatures": [],
    }
    manifest = sign_manifest(manifest, signing)
    _write(bundle / "manifest.json", _json_bytes(manifest))
    files = seal_files(
        bundle, signing, predicate_type=CUTOVER_PREDICATE, predicate=predicate(manifest)
    )
    _self_check(bundle, signing, [p for p in (demo,) if p is not None])
    result = BuildResult(bundle, manifest, signing, files, demo, None, warnings)
    if tar:
        result.tar = bundle.with_name(f"{bundle.name}.tar.gz")
        write_tar(bundle, result.tar)
    return result


def predicate(manifest: dict[str, Any]) -> dict[str, Any]:
    """The in-toto predicate of a cutover bundle: what the run decided, in brief."""
    return {
        "outcome": manifest.get("outcome"),
        "exitCode": manifest.get("exitCode"),
        "startedAt": manifest.get("startedAt"),
        "matrixSha256": manifest.get("matrixSha256"),
        "releaseTag": manifest.get("releaseTag"),
        "judgements": manifest.get("judgements"),
    }
