"""The generated OpenMetrics text has the layout promtool and the metric contract expect."""

from __future__ import annotations

import math
from pathlib import Path

from tests.support.scenarios import write_openmetrics


def test_openmetrics_layout(tmp_path: Path) -> None:
    path = tmp_path / "history.om.txt"
    write_openmetrics(path)
    text = path.read_text()
    assert text.endswith("\n# EOF\n")
    families = [ln.split()[2] for ln in text.splitlines() if ln.startswith("# TYPE ")]
    assert len(families) == len(set(families)) == 13  # + OPA bundle, WebAuthn, OPA decision errors
    assert "# TYPE k6_http_req_duration_p95 gauge\n" in text
    assert "# TYPE k6_http_req_failed_rate gauge\n" in text
    assert "# TYPE k6_http_reqs counter\n" in text
    assert "# TYPE webauthn_stepup counter\n" in text
    last_ts: dict[str, int] = {}
    family = ""
    seen_done: set[str] = set()
    current = ""
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            family = line.split()[2]
            continue
        if line == "# EOF":
            break
        series, value, ts = line.rsplit(" ", 2)
        assert series.startswith(family), line  # family samples are contiguous
        if series != current:
            assert series not in seen_done, f"series split: {series}"
            seen_done.add(current)
            current = series
        assert int(ts) > last_ts.get(series, -1), line  # time-ordered per series
        assert math.isfinite(float(value))
        last_ts[series] = int(ts)
    names = {s.split("{")[0] for s in last_ts}
    assert "ingest_batch_bytes_total" in names
    assert {"graphql_latency_bucket", "graphql_latency_count", "graphql_latency_sum"} <= names
    assert 'graphql_latency_bucket{operation_type="query",tenant="acme",le="0.35"}' in last_ts
    assert 'graphql_latency_bucket{operation_type="query",tenant="acme",le="+Inf"}' in last_ts
    assert 'k6_http_req_duration_p95{scenario="graphql_reads",testid="ga-rc1"}' in last_ts
    assert 'k6_http_reqs_total{scenario="opa_decision",testid="ga-rc1"}' in last_ts
