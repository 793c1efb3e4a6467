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

from igkit.run import RunRequest, run_gates
from tests.support.prometheus import PrometheusServer
from tests.support.scenarios import SCENARIOS

DEMO_SCENARIO = "all_green"
K6_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "k6" / "green"
K6_FILES = [K6_FIXTURES / "points.json.gz", K6_FIXTURES / "handle-summary.json.gz"]
EVIDENCE = Path(__file__).resolve().parents[1] / "fixtures" / "demo-evidence"
TRUST = Path(__file__).resolve().parents[2] / "igkit" / "data" / "demo" / "trust"
TARGET = Path(__file__).resolve().parents[2] / "igkit" / "data" / "demo" / "snapshots"


def record(server_url: str, out: Path) -> None:
    """One live run of every gate through the library entry point (igkit.run_gates)."""
    run_gates(
        RunRequest(
            out=out,
            prom_url=server_url,
            at=SCENARIOS[DEMO_SCENARIO].eval_time,
            k6_files=K6_FILES,
            evidence_dir=EVIDENCE,
            trust_dir=TRUST,
        )
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
