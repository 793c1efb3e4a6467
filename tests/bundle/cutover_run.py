"""A recorded cutover run directory built from real parts, laid out as the issue 12 contract
says ``cutover execute`` writes it: a G8 preflight go-no-go, three ``cutover judge`` runs
against the session Prometheus (HOLD, PROMOTE at 5 %, ROLLBACK at 25 % from the live
triggers), a status update, actuator logs and ``timeline.jsonl`` (written here line by line
with the contract's fields, standing in for the conductor's TimelineEntry writer)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from igkit.cli.main import main
from igkit.conductor.figures import StatusFigures
from igkit.conductor.status import load_templates, write_status
from igkit.spec.loader import load_matrix
from igkit.timeutil import rfc3339
from tests.cutover.conftest import QUIET, matrix_copy, triggers_doc
from tests.support.scenarios import SCENARIOS

EVIDENCE = Path(__file__).resolve().parents[1] / "fixtures" / "demo-evidence"


class Timeline:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.seq = 0

    def add(self, kind: str, at: datetime, stage: int | None, message: str, **extra: Any) -> None:
        entry = {"seq": self.seq, "at": rfc3339(at), "kind": kind, "stage": stage}
        entry |= {"message": message, **extra}
        with self.path.open("a") as fh:
            fh.write(json.dumps(entry) + "\n")
            fh.flush()
        self.seq += 1


def _judge(
    run: Path, rel: str, stage: int, start: datetime, at: datetime, prom_url: str, matrix: Path
) -> dict[str, Any]:
    tmp = run.parent
    args = ["cutover", "judge", "--stage", str(stage), "--stage-start", rfc3339(start)]
    args += ["--at", rfc3339(at), "--prom-url", prom_url, "--out", str(run / rel)]
    args += ["--matrix", str(matrix)]
    if stage == 5:  # the first stage: triggers as a pipeline's earlier check reported them
        args += [
            "--triggers",
            str(triggers_doc(tmp, at, at - start, QUIET, name=rel.replace("/", "-"))),
        ]
    main(args)
    doc: dict[str, Any] = json.loads((run / rel / "judge.json").read_text())
    return doc


def record_cutover(tmp: Path, prom_url: str) -> tuple[Path, Path]:
    """(run directory, matrix path) of a cutover that rolled back at 25 %."""
    matrix = matrix_copy(tmp)
    loaded = load_matrix(matrix)
    run = tmp / "run"
    run.mkdir()
    at = SCENARIOS["all_green"].eval_time
    t0 = at - timedelta(minutes=40)
    (run / "run.json").write_text(
        json.dumps(
            {
                "schema": "igkit.cutover.run/v1",
                "stages": [5, 25, 50, 100],
                "hold": "10m",
                "interval": "30s",
                "max_hold": "20m",
                "post_deploy": "60m",
                "auto_rollback": True,
                "matrix_sha256": loaded.sha256,
                "actuators": {"set_weight": "actuate set {weight}", "rollback": "actuate rollback"},
                "started_at": rfc3339(t0),
            }
        )
    )
    tl = Timeline(run / "timeline.jsonl")
    tl.add("start", t0, None, "cutover execute started", args={"stages": "5,25,50,100"})
    pre = ["go-no-go", "--gate", "G8", "--evidence", str(EVIDENCE), "--matrix", str(matrix)]
    main([*pre, "--prom-url", "http://127.0.0.1:9", "--out", str(run / "preflight")])
    tl.add("preflight", t0, None, "T-60m go-no-go", decision="NO-GO", dir="preflight")
    (run / "actuators").mkdir()
    (run / "actuators" / "0002-set_weight.log").write_text("weight set to 5\n")
    tl.add(
        "actuator",
        t0,
        5,
        "set_weight 5",
        name="set_weight",
        argv=["actuate", "set", "5"],
        exit_code=0,
        duration_s=0.1,
        log="actuators/0002-set_weight.log",
    )
    s5 = at - timedelta(minutes=30)
    tl.add("stage", s5, 5, "stage 5 % began", weight=5)
    judged = [
        ("stages/5/judge-0004", 5, s5, s5 + timedelta(minutes=5)),
        ("stages/5/judge-0005", 5, s5, s5 + timedelta(minutes=15)),
    ]
    for rel, stage, start, when in judged:
        doc = _judge(run, rel, stage, start, when, prom_url, matrix)
        tl.add(
            "judgement",
            when,
            stage,
            doc["action"],
            action=doc["action"],
            dir=rel,
            reasons=doc["reasons"],
        )
    (run / "actuators" / "0007-set_weight.log").write_text("weight set to 25\n")
    s25 = at - timedelta(minutes=15)
    tl.add(
        "actuator",
        s25,
        25,
        "set_weight 25",
        name="set_weight",
        argv=["actuate", "set", "25"],
        exit_code=0,
        duration_s=0.1,
        log="actuators/0007-set_weight.log",
    )
    tl.add("stage", s25, 25, "stage 25 % began", weight=25)
    doc = _judge(run, "stages/25/judge-0009", 25, s25, at, prom_url, matrix)
    tl.add(
        "judgement",
        at,
        25,
        doc["action"],
        action=doc["action"],
        dir="stages/25/judge-0009",
        reasons=doc["reasons"],
    )
    (run / "actuators" / "0010-rollback.log").write_text("weight set to 0\n")
    tl.add(
        "actuator",
        at,
        25,
        "rollback",
        name="rollback",
        argv=["actuate", "rollback"],
        exit_code=0,
        duration_s=0.1,
        log="actuators/0010-rollback.log",
    )
    tl.add("rollback", at, 25, "rolled back", cause=doc["reasons"][0])
    figures = StatusFigures.from_judge_dir(run / "stages/25/judge-0009", loaded)
    record = write_status(
        run, "rollback", figures, at=at, templates=load_templates(loaded, EVIDENCE)
    )
    tl.add(
        "status",
        at,
        25,
        "major incident drafted",
        status_kind="rollback",
        file=record.file,
        hook_exit_code=None,
    )
    tl.add("end", at, 25, "rolled back", outcome="ROLLED_BACK", exit_code=1)
    return run, matrix
