"""Record the demo sample shipped in the package from the real test Prometheus.

``make demo-sample`` runs this: it starts the scenario server, evaluates every gate of the
default matrix at the ``all_green`` scenario's evaluation time with the recorded ``green``
k6 run for G5 and ``tests/fixtures/demo-evidence`` for G3/G4/G7/G8 (verified with the packaged
demo trust anchors, ``igkit/data/demo/trust``, which never enter a snapshot), and keeps the snapshots
(with their hashes and the server they came from) as ``igkit/data/demo/snapshots``.
``tests/test_demo.py`` checks that the shipped sample still equals a fresh recording.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from igkit.run import go_no_go
from igkit.sources.evidence import capture_objective
from igkit.sources.k6.windows import capture
from igkit.sources.prometheus import PrometheusSource
from igkit.spec.loader import load_matrix
from igkit.spec.models import K6Objective, PrometheusObjective
from igkit.trust import resolve_trust
from tests.support.prometheus import PrometheusServer
from tests.support.scenarios import SCENARIOS

DEMO_SCENARIO = "all_green"
K6_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "k6" / "green"
K6_FILES = [K6_FIXTURES / "points.json.gz", K6_FIXTURES / "handle-summary.json.gz"]
EVIDENCE = Path(__file__).resolve().parents[1] / "fixtures" / "demo-evidence"
TRUST = Path(__file__).resolve().parents[2] / "igkit" / "data" / "demo" / "trust"
TARGET = Path(__file__).resolve().parents[2] / "igkit" / "data" / "demo" / "snapshots"


def record(server_url: str, out: Path) -> None:
    loaded = load_matrix(None)
    source = PrometheusSource(server_url)
    k6 = capture(K6_FILES, loaded.matrix.k6_settings())
    evidence = [
        capture_objective(gate.id, obj, EVIDENCE)
        for gate in loaded.matrix.gates
        for obj in gate.objectives
        if not isinstance(obj, PrometheusObjective | K6Objective)
    ]
    go_no_go(
        loaded,
        [g.id for g in loaded.matrix.gates],
        SCENARIOS[DEMO_SCENARIO].eval_time,
        source,
        tenant=None,
        out=out,
        source_label=f"prometheus {source.url}",
        server=source.url,
        k6=k6,
        evidence=evidence,
        trust=resolve_trust(loaded, trust_dir=TRUST, evidence_dir=EVIDENCE),
    )


def main() -> int:
    with PrometheusServer() as server, tempfile.TemporaryDirectory() as tmp:
        record(server.url, Path(tmp))
        if TARGET.exists():
            shutil.rmtree(TARGET)
        shutil.copytree(Path(tmp) / "snapshots", TARGET)
    print(
        f"recorded {len(list(TARGET.glob('*.json'))) - 1} snapshots of scenario {DEMO_SCENARIO} into {TARGET}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
