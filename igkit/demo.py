"""``igkit demo``: the full decision from sample snapshots shipped in the package, no server.

The sample was recorded from the test suite's real Prometheus (scenario ``all_green``) and
a real k6 v1.1.0 run (the ``green`` fixture) by ``make demo-sample``; it is evidence like any other run's snapshots, hashes included.
The demo's trust anchors (the public keys its G3 provenance and G4 policy bundle are verified
with) live in ``data/demo/trust/``, beside the snapshots, never inside the evidence.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from igkit.run import RunRequest, run_loaded
from igkit.spec.loader import load_matrix
from igkit.verdicts import RunVerdicts


def demo_snapshot_dir() -> Path:
    return Path(str(resources.files("igkit").joinpath("data/demo/snapshots")))


def demo_trust_dir() -> Path:
    """The demo's trust anchors: public keys kept beside (never inside) its evidence."""
    return Path(str(resources.files("igkit").joinpath("data/demo/trust")))


def run_demo(out: Path) -> RunVerdicts:
    request = RunRequest(out=out, snapshot_dir=demo_snapshot_dir(), trust_dir=demo_trust_dir())
    return run_loaded(request, load_matrix(None), source_label="replay of the shipped demo sample")
