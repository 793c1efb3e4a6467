"""After the decision: gate notebooks, rendered reports, the evidence bundle.

``go-no-go`` decides from snapshots first (``igkit.run``): ``verdicts.json`` is the library's,
always. Then it executes each gate's notebook on those same snapshots to render the gate's
report; a notebook that fails, or re-computes a different verdict, marks that report failed
(:class:`ReportError`: exit 3, no bundle) and never changes a verdict. With ``--bundle`` it
renders signed HTML/PDF reports and seals the run into an evidence bundle.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives import serialization

from igkit import atomic, rundir
from igkit.bundle.keys import SigningKey, ephemeral_key, load_signing_key, self_signed_cert
from igkit.errors import ReportError
from igkit.run import VERDICTS_FILE
from igkit.verdicts import RunVerdicts

if TYPE_CHECKING:
    from igkit.report.notebooks import GateReport

__all__ = [
    "ReportError",
    "render_and_bundle",
    "render_notebooks",
    "report_failures",
    "signer_trust",
    "signing_key",
]

MADE_CERT_SUBJECT = "CN=igkit report signer"
"""Subject of the certificate igkit makes for a configured key that came without one."""


def render_notebooks(
    out: Path,
    run: RunVerdicts,
    *,
    matrix: Path | None,
    workers: int | None,
    trust: Path | None = None,
    progress: bool | None = None,
) -> dict[str, GateReport]:
    """Execute each evaluated gate's notebook over ``out/snapshots`` to render its report;
    gate id -> report (failed ones carry a one-line ``failure``). ``run`` is not changed.
    ``progress``: one stderr line per notebook (None: when stderr is a terminal)."""
    from igkit.report.notebooks import execute_gates

    return execute_gates(
        run.gates,
        out / "snapshots",
        out,
        matrix=matrix,
        workers=workers,
        trust=trust,
        progress=progress,
    )


def report_failures(reports: Mapping[str, GateReport]) -> dict[str, str]:
    """Gate id -> failure line of every report that failed."""
    return {g: r.failure for g, r in reports.items() if r.failure is not None}


def signing_key(path: Path | None) -> SigningKey:
    """The configured key (``--key`` or ``IGKIT_SIGNING_KEY``), else an ephemeral untrusted one.

    A key without a certificate beside it gets a self-signed one, so that the PDFs it signs
    and the bundle carry the same signer."""
    from dataclasses import replace

    from cryptography import x509

    key = load_signing_key(path) or ephemeral_key()
    if key.cert_pem is None:
        made = self_signed_cert(key.private_key, x509.Name.from_rfc4514_string(MADE_CERT_SUBJECT))
        key = replace(key, cert_pem=made.public_bytes(serialization.Encoding.PEM))
    return key


def signer_trust(key: SigningKey) -> str:
    """How the reports' signer is trusted, in the index's words: the demo key, a configured
    key with its own certificate, or a configured key whose certificate igkit made."""
    from cryptography import x509

    from igkit.report.index import SELF_ASSERTED, TRUSTED_KEY, UNTRUSTED_DEMO

    if not key.trusted:
        return UNTRUSTED_DEMO
    if key.cert_pem is None:
        return SELF_ASSERTED
    subject = x509.load_pem_x509_certificate(key.cert_pem).subject.rfc4514_string()
    return SELF_ASSERTED if subject == MADE_CERT_SUBJECT else TRUSTED_KEY


def _private_pem(key: SigningKey) -> bytes:
    return key.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def write_war_room(out: Path, *, matrix: Path | None = None, trust: Path | None = None) -> None:
    """The read-only War Room view (ADR-002) of the run, as ``war-room.png`` + ``war-room.json``;
    ``trust`` is the run's trust dir, so evidence gates are judged with the same anchors."""
    from igkit.explore import load_run
    from igkit.report.plots import war_room
    from igkit.strictdoc import load_json

    recorded = load_json((out / VERDICTS_FILE).read_bytes(), where=str(out / VERDICTS_FILE))
    scope = recorded.get("scope") if isinstance(recorded, dict) else None
    gate_ids = scope.get("gates") if isinstance(scope, dict) else None
    png, board = war_room(load_run(out / "snapshots", matrix, trust), gate_ids)
    atomic.write_set(
        {out / "war-room.png": png, out / "war-room.json": atomic.json_bytes(board)},
        binary={out / "war-room.png"},
    )


def write_evidence_files(out: Path) -> None:
    """The documents the evidence gates read (attestations, SBOMs, drill report, approvals log,
    comms), copied out of their snapshots into ``evidence/`` for people to open."""
    from pathlib import PurePosixPath

    from igkit.snapshots import EvidenceSnapshot, read_snapshot

    for path in sorted((out / "snapshots").glob("*-evidence-*.json")):
        snap = read_snapshot(path)
        if not isinstance(snap, EvidenceSnapshot):
            continue
        for f in snap.files.values():
            rel = PurePosixPath(f.path)
            data = f.content()
            if data is None or rel.is_absolute() or ".." in rel.parts:
                continue
            atomic.write_bytes(out / "evidence" / Path(*rel.parts), data, binary=True)


def render_and_bundle(
    out: Path,
    key: SigningKey,
    *,
    tar: bool = False,
    matrix: Path | None = None,
    trust: Path | None = None,
    failures: Mapping[str, str] | None = None,
    on_phase: Callable[[str], None] | None = None,
) -> Path | None:
    """Signed reports into ``out/reports``, then the bundle at ``out/bundle``; returns it.

    With ``failures`` (gate reports that failed) the reports are rendered, marked failed, and
    no bundle is built: None. ``on_phase`` hears ``"render"`` and ``"bundle"`` as each starts
    (the console's progress lines)."""
    from igkit.bundle.build import build_bundle
    from igkit.report.render import render_reports

    assert key.cert_pem is not None  # signing_key() always provides one
    phase = on_phase or (lambda name: None)
    phase("render")
    write_war_room(out, matrix=matrix, trust=trust)
    write_evidence_files(out)
    render_reports(
        out,
        key_pem=_private_pem(key),
        cert_pem=key.cert_pem,
        untrusted=not key.trusted,
        signer_trust=signer_trust(key),
    )
    if failures:
        return None
    rundir.register(out / "bundle.tar.gz")
    rundir.register(out / "bundle.demo-key.pub.pem")
    phase("bundle")
    try:
        build_bundle(out, out / "bundle", key=key, tar=tar, trust_dir=trust)
    finally:
        rundir.register_tree(out / "bundle")
    if not key.trusted:
        atomic.write_bytes(out / "demo-key.pub.pem", key.public_pem)
    return out / "bundle"
