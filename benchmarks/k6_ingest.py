"""Benchmark: k6 NDJSON ingestion — igkit vs the naive pandas approach vs the grep floor.

Builds a >= 250 MB ``--out json`` file from a real k6 run (the test fixture recorded from
the pinned k6 binary), each copy of the run moved one day later so times stay ordered,
then runs each contender in its own process and reports wall time and peak RSS (from
``wait4``). igkit and grep are repeated (median); the naive approach runs once, it takes
tens of seconds and gigabytes. ``--gigabyte`` adds igkit on a 1 GB file (RSS target).
"""

from __future__ import annotations

import argparse
import gzip
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SEED = REPO / "tests" / "fixtures" / "k6" / "green" / "points.json.gz"

NAIVE = """
import sys, pandas as pd
df = pd.read_json(sys.argv[1], lines=True)
points = df[df["type"] == "Point"]
flat = pd.json_normalize(points["data"].tolist())
flat["metric"] = points["metric"].to_numpy()
stats = flat.groupby("metric")["value"].describe(percentiles=[0.5, 0.9, 0.95, 0.99])
print(len(stats))
"""


def build(target_bytes: int, out: Path) -> int:
    lines = gzip.decompress(SEED.read_bytes()).splitlines(keepends=True)
    metric = b"".join(line for line in lines if b'"type":"Metric"' in line)
    points = b"".join(line for line in lines if b'"type":"Point"' in line)
    day = re.search(rb'"time":"(\d{4}-\d{2}-\d{2})T', points)
    assert day, "seed has no point times"
    first = date.fromisoformat(day.group(1).decode())
    written = 0
    with out.open("wb") as fh:
        fh.write(metric)
        copy = 0
        while written < target_bytes:
            moved = points.replace(
                day.group(1), (first + timedelta(days=copy)).isoformat().encode()
            )
            fh.write(moved)
            written += len(moved)
            copy += 1
    return written


def measure(cmd: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (MB) of one child process (rusage from ``wait4``)."""
    t0 = time.perf_counter()
    # stdout to a pipe, not /dev/null: GNU grep stops at the first match when it sees /dev/null
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise SystemExit(f"{cmd[0]} failed: {err.decode()}")
    return wall, usage.ru_maxrss // 1024


def report(name: str, runs: list[tuple[float, int]]) -> float:
    wall = statistics.median(r[0] for r in runs)
    rss = max(r[1] for r in runs)
    print(
        f"  {name:<42} {wall:8.3f} s  peak RSS {rss:6d} MB  ({len(runs)} run{'s' if len(runs) > 1 else ''})"
    )
    return wall


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=270)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--gigabyte", action="store_true", help="also igkit on a 1 GB file")
    args = parser.parse_args()
    igkit = [sys.executable, "-m", "igkit", "k6", "summarize", "--format", "json"]
    with tempfile.TemporaryDirectory(prefix="igkit-k6-bench-") as tmp:
        path = Path(tmp) / "k6.json"
        size = build(args.mb * 1_000_000, path)
        with path.open("rb") as fh:  # streamed: a forked child would inherit a big parent RSS
            lines = sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 24), b""))
        print(
            f"{path.name}: {size / 1e6:.0f} MB, {lines:,} lines (real k6 v1.1.0 output, replicated)"
        )
        grep = report(
            'grep -c \'"type":"Point"\' (floor)',
            [measure(["grep", "-c", '"type":"Point"', str(path)]) for _ in range(args.repeat)],
        )
        ours = report(
            "igkit k6 summarize --format json",
            [measure([*igkit, str(path)]) for _ in range(args.repeat)],
        )
        naive = report(
            "pandas read_json(lines) + json_normalize",
            [measure([sys.executable, "-c", NAIVE, str(path)])],
        )
        print(
            f"  igkit is {naive / ours:.0f}x faster than naive pandas and {ours / grep:.0f}x the grep floor"
        )
        if args.gigabyte:
            big = Path(tmp) / "k6-1g.json"
            path.unlink()
            size = build(1_000_000_000, big)
            print(f"{big.name}: {size / 1e6:.0f} MB")
            report(
                "igkit k6 summarize --format json (1 GB)",
                [measure([*igkit, str(big)]) for _ in range(args.repeat)],
            )
            report(
                "grep -c (1 GB, floor)",
                [measure(["grep", "-c", '"type":"Point"', str(big)]) for _ in range(args.repeat)],
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
