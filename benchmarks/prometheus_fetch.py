"""Benchmark: fetch+evaluate G1, and frame building vs prometheus-api-client's MetricRangeDataFrame.

Run by hand (``make bench``); not a timed test. Starts the test suite's real Prometheus over
the backfilled scenario history, so figures include real HTTP and PromQL evaluation.
Reports medians over repeated runs measured in this one process.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from prometheus_api_client import MetricRangeDataFrame  # noqa: E402

from igkit.run import go_no_go  # noqa: E402
from igkit.snapshots import RangeRequest, to_long_frame, to_wide_frame  # noqa: E402
from igkit.sources.prometheus import PrometheusSource  # noqa: E402
from igkit.spec.loader import load_matrix  # noqa: E402
from tests.support.prometheus import PrometheusServer  # noqa: E402
from tests.support.scenarios import SCENARIOS  # noqa: E402


def median_seconds(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> int:
    scenario = SCENARIOS["all_green"]
    loaded = load_matrix(None)
    with PrometheusServer() as server, tempfile.TemporaryDirectory() as tmp:
        source = PrometheusSource(server.url)

        def g1() -> object:
            return go_no_go(
                loaded,
                ["G1"],
                scenario.eval_time,
                source,
                tenant=None,
                out=Path(tmp),
                source_label="bench",
            )

        run = g1()
        tenants = {s.labels["tenant"] for o in run.gates[0].objectives for s in o.series}
        g1_s = median_seconds(g1, 15)
        print(
            f"G1 fetch+evaluate ({len(tenants)} tenants x 60m @ 15s, 3 range queries, snapshots written): median {g1_s * 1000:.1f} ms over 15 runs"
        )

        request = RangeRequest(
            query="rate(graphql_latency_bucket[5m])",
            start=scenario.eval_time - timedelta(minutes=150),
            end=scenario.eval_time,
            step_seconds=15,
        )
        snap = source.fetch(request)
        base = snap.result
        for factor in (1, 20):
            result = [
                {"metric": {**s["metric"], "copy": str(i)}, "values": s["values"]}
                for i in range(factor)
                for s in base
            ]
            samples = sum(len(s["values"]) for s in result)
            ours = median_seconds(lambda r=result: to_long_frame(r), 7)
            wide = median_seconds(lambda r=result: to_wide_frame(r, request.grid()), 7)
            theirs = median_seconds(lambda r=result: MetricRangeDataFrame(r), 7)
            print(
                f"frame building, {len(result)} series / {samples:,} samples: "
                f"igkit to_long_frame {samples / ours / 1e6:.2f} M samples/s, "
                f"to_wide_frame {samples / wide / 1e6:.2f} M samples/s, "
                f"MetricRangeDataFrame {samples / theirs / 1e6:.3f} M samples/s "
                f"-> long {theirs / ours:.1f}x, wide {theirs / wide:.1f}x faster (median of 7)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
