"""``igkit demo``: the full decision from sample snapshots shipped in the package, no server.

The sample was recorded from the test suite's real Prometheus (scenario ``all_green``) and
a real k6 v1.1.0 run (the ``green`` fixture) by ``make demo-sample``; it is evidence like any other run's snapshots, hashes included.
The demo's trust anchors (the public keys its G3 provenance and G4 policy bundle are verified
with) live in ``data/demo/trust/``, beside the snapshots, never inside the evidence.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from igkit.errors import ToolError
from igkit.run import go_no_go
from igkit.sources.replay import ReplaySource
from igkit.spec.loader import load_matrix
from igkit.trust import resolve_trust
from igkit.verdicts import RunVerdicts


def demo_snapshot_dir() -> Path:
    return Path(str(resources.files("igkit").joinpath("data/demo/snapshots")))


def demo_trust_dir() -> Path:
    """The demo's trust anchors: public keys kept beside (never inside) its evidence."""
    return Path(str(resources.files("igkit").joinpath("data/demo/trust")))


def run_demo(out: Path) -> RunVerdicts:
    loaded = load_matrix(None)
    replay = ReplaySource(demo_snapshot_dir())
    if replay.index is None:
        raise ToolError(f"the demo sample in {replay.directory} has no index.json; reinstall igkit")
    return go_no_go(
        loaded,
        [g.id for g in loaded.matrix.gates],
        replay.index.evaluated_at,
        replay,
        tenant=replay.index.tenant,
        out=out,
        source_label="replay of the shipped demo sample",
        server=replay.index.server,
        k6=replay.k6,
        evidence=replay.evidence,
        trust=resolve_trust(loaded, trust_dir=demo_trust_dir()),
    )
