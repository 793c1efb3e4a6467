"""Re-evaluate every gate from the bundled snapshots and matrix; the verdicts must be
identical to the signed ones."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from igkit.bundle.build import (
    MATRIX,
)
from igkit.bundle.verify.result import (
    VerifyResult,
)
from igkit.judge.evidence.checks import failed, passed


def _replay_trust(
    loaded: Any, files: dict[str, Path], trust: Path | None, own_key: bool, result: VerifyResult
) -> Any:
    """Anchors for the replay: --trust DIR (the auditor's own), else the bundle's ``trust/``,
    which is only as trusted as the bundle signature. Never beside the bundled matrix."""
    from igkit.trust import BUNDLE_TRUST_DIR, resolve_trust

    if trust is not None:
        result.notes.append(f"replay: trust anchors from --trust {trust}")
        return resolve_trust(loaded, trust_dir=trust, matrix_relative=False)
    prefix = f"{BUNDLE_TRUST_DIR}/"
    carried = {n[len(prefix) :]: p.read_bytes() for n, p in files.items() if n.startswith(prefix)}
    if carried:
        signer = (
            "the bundle's own key: self-asserted"
            if own_key
            else "the signature verified with --key"
        )
        result.notes.append(
            f"replay: trust anchors from the bundle ({prefix}), vouched for by the bundle "
            f"signature ({signer}); pass --trust DIR to replay with your own"
        )
    return resolve_trust(
        loaded, trust_dir=None, matrix_relative=False, bundle_anchors=carried or None
    )


def check_replay(
    bundle: Path,
    files: dict[str, Path],
    verdicts: dict[str, Any] | None,
    result: VerifyResult,
    *,
    trust: Path | None = None,
    own_key: bool = True,
) -> None:
    from igkit.errors import IgkitError
    from igkit.run import go_no_go
    from igkit.sources.replay import ReplaySource
    from igkit.spec.loader import load_matrix
    from igkit.verdicts import RunVerdicts

    if verdicts is None:
        result.checks.append(failed("replay", "no readable verdicts.json to compare with"))
        return
    if MATRIX not in files:
        result.checks.append(failed("replay", f"no {MATRIX} in the bundle: cannot re-evaluate"))
        return
    try:
        original = RunVerdicts.model_validate(verdicts)
        loaded = load_matrix(files[MATRIX])
        if loaded.sha256 != original.matrix_sha256:
            result.checks.append(
                failed(
                    "replay",
                    f"{MATRIX} sha256 {loaded.sha256[:12]}… != verdicts.json matrix_sha256 {original.matrix_sha256[:12]}…",
                )
            )
            return
        anchors = _replay_trust(loaded, files, trust, own_key, result)
        src = ReplaySource(bundle / "snapshots")
        if not src.index_checked:
            result.checks.append(
                failed(
                    "replay",
                    "verdicts.json records no snapshots_index_sha256: the bundled "
                    "snapshots/index.json cannot be tied to the signed verdicts",
                )
            )
            return
        with tempfile.TemporaryDirectory(prefix="igkit-replay-") as tmp:
            again = go_no_go(
                loaded,
                [g.id for g in original.gates],
                original.evaluated_at,
                src,
                tenant=original.tenant,
                out=Path(tmp),
                source_label=original.source,
                server=src.index.server if src.index else None,
                k6=src.k6,
                evidence=src.evidence,
                trust=anchors,
                select=src.index.select if src.index else None,
                window=src.index.window if src.index else None,
            )
    except (IgkitError, ValueError) as exc:
        result.checks.append(failed("replay", f"could not re-evaluate: {exc}"[:300]))
        return
    for p in src.problems:
        result.checks.append(failed("replay snapshot", p[:300]))
    a = {g.id: g.model_dump(mode="json") for g in original.gates}
    b = {g.id: g.model_dump(mode="json") for g in again.gates}
    differ = [gid for gid in a if a[gid] != b.get(gid)]
    for gid in differ:
        result.checks.append(
            failed(
                "replay",
                f"{gid}: recorded {a[gid]['status']}, re-evaluated {b.get(gid, {}).get('status', 'missing')} (or different reasons/values)",
            )
        )
    if original.decision != again.decision:
        result.checks.append(
            failed(
                "replay", f"decision: recorded {original.decision}, re-evaluated {again.decision}"
            )
        )
    if original.change_ticket != again.change_ticket:
        result.checks.append(
            failed(
                "replay",
                f"change ticket: recorded {original.change_ticket}, "
                f"re-evaluated {again.change_ticket}",
            )
        )
    if not differ and original.decision == again.decision:
        result.checks.append(
            passed(
                "replay",
                f"all {len(a)} gates and the decision {again.decision} re-evaluate identically",
            )
        )
