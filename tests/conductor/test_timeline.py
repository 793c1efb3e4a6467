"""timeline.jsonl: what the writer writes reads back; hostile lines are refused with
``file:line`` (each next to its honest twin, which reads)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from igkit.conductor.timeline import TIMELINE_FILE, Timeline, read_timeline
from igkit.errors import ConfigError

AT = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)


def honest(tmp: Path) -> Path:
    t = Timeline(tmp)
    t.append("start", AT, "cutover", args={"stages": [5, 100]})
    t.append("preflight", AT, "GO", decision="GO", dir="preflight")
    t.append(
        "actuator",
        AT,
        "set_weight succeeded",
        stage=5,
        name="set_weight",
        argv=["set", "5"],
        exit_code=0,
        duration_s=0.1,
        log="actuators/0002-set_weight.log",
    )
    t.append("stage", AT, "weight 5% set", stage=5, weight=5)
    t.append(
        "judgement", AT, "PROMOTE", stage=5, action="PROMOTE", dir="stages/5/judge-0004", reasons=[]
    )
    return tmp / TIMELINE_FILE


def fresh(tmp: Path, name: str) -> Path:
    (tmp / name).mkdir()
    return tmp / name


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def write(path: Path, docs: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(d) + "\n" for d in docs))


def test_the_writer_reads_back(tmp_path: Path) -> None:
    path = honest(tmp_path)
    entries = read_timeline(path)
    assert [e.kind for e in entries] == ["start", "preflight", "actuator", "stage", "judgement"]
    assert [e.seq for e in entries] == [0, 1, 2, 3, 4]
    first = lines(path)[3]
    assert first == {
        "seq": 3,
        "at": "2026-06-01T10:00:00Z",
        "kind": "stage",
        "stage": 5,
        "message": "weight 5% set",
        "weight": 5,
    }


def test_seq_continues_when_resumed(tmp_path: Path) -> None:
    honest(tmp_path)
    t, earlier = Timeline.resumed(tmp_path)
    entry = t.append("interrupted", AT, "SIGINT", stage=5, signal="SIGINT")
    assert entry.seq == len(earlier) == 5
    assert len(read_timeline(tmp_path / TIMELINE_FILE)) == 6


def test_a_duplicate_key_is_refused_naming_the_line(tmp_path: Path) -> None:
    path = honest(tmp_path)
    assert len(read_timeline(path)) == 5  # positive control: the honest twin reads
    text = path.read_text().splitlines()
    text[3] = text[3].replace('"weight": 5', '"weight": 5, "weight": 100')
    path.write_text("\n".join(text) + "\n")
    with pytest.raises(ConfigError, match=r"timeline\.jsonl:4: duplicate key 'weight'"):
        read_timeline(path)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("log", "../../etc/passwd"),
        ("log", "/etc/passwd"),
        ("log", "actuators/../../x.log"),
        ("log", "actuators\\..\\x.log"),
        ("log", "actuators//x.log"),
    ],
)
def test_a_path_leaving_the_run_directory_is_refused(
    tmp_path: Path, field: str, value: str
) -> None:
    path = honest(tmp_path)
    docs = lines(path)
    docs[2][field] = "actuators/0002-set_weight.log"  # positive control: a path inside reads
    write(path, docs)
    assert len(read_timeline(path)) == 5
    docs[2][field] = value
    write(path, docs)
    with pytest.raises(
        ConfigError, match=r"timeline\.jsonl:3: .*not a path inside the run directory"
    ):
        read_timeline(path)


def test_fields_of_another_kind_or_missing_ones_are_refused(tmp_path: Path) -> None:
    path = honest(tmp_path)
    docs = lines(path)
    docs[3]["action"] = "PROMOTE"  # a stage entry claiming a judgement
    write(path, docs)
    with pytest.raises(ConfigError, match=r":4: .*not a field of 'stage': action"):
        read_timeline(path)
    docs = lines(honest(fresh(tmp_path, "b")))
    del docs[4]["reasons"]
    write(path, docs)
    with pytest.raises(ConfigError, match=r":5: .*missing reasons"):
        read_timeline(path)
    docs[4]["reasons"] = []
    write(path, docs)
    assert len(read_timeline(path)) == 5  # positive control


def test_a_cut_short_last_line_and_a_seq_gap_are_refused(tmp_path: Path) -> None:
    path = honest(tmp_path)
    good = path.read_text()
    path.write_text(good + '{"seq": 5, "at": "2026-')
    with pytest.raises(ConfigError, match=r":6: the last line is not terminated"):
        read_timeline(path)
    docs = lines(honest(fresh(tmp_path, "x")))
    docs[2]["seq"] = 7
    write(path, docs)
    with pytest.raises(ConfigError, match=r":3: seq 7 where 2 was due"):
        read_timeline(path)


@pytest.mark.parametrize(
    "change", [{"kind": "deploy"}, {"at": "2026-06-01T10:00:00"}, {"stage": 101}, {"seq": -1}]
)
def test_an_unknown_kind_a_naive_time_and_bad_numbers_are_refused(
    tmp_path: Path, change: dict[str, Any]
) -> None:
    path = honest(tmp_path)
    docs = lines(path)
    docs[1].update(change)
    write(path, docs)
    with pytest.raises(ConfigError, match=r"timeline\.jsonl:2: "):
        read_timeline(path)


def test_secrets_from_the_environment_never_reach_the_timeline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IGKIT_PROM_TOKEN", "s3cr3t-token-value")
    t = Timeline(tmp_path)
    t.append(
        "actuator",
        AT,
        "rollback exited 1: s3cr3t-token-value",
        name="rollback",
        argv=["curl", "-H", "Authorization: Bearer s3cr3t-token-value"],
        exit_code=1,
        duration_s=0.0,
        log="actuators/0000-rollback.log",
    )
    text = (tmp_path / TIMELINE_FILE).read_text()
    assert "s3cr3t" not in text
    assert "[REDACTED]" in text


_kinds = st.sampled_from(["stage", "rollback", "interrupted"])


@pytest.mark.property
@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(_kinds, st.integers(0, 100), st.text(max_size=40), st.integers(0, 10**6)),
        min_size=1,
        max_size=8,
    )
)
def test_any_written_timeline_reads_back_identically(
    tmp_path_factory: pytest.TempPathFactory, items: list[tuple[str, int, str, int]]
) -> None:
    tmp = tmp_path_factory.mktemp("tl")
    t = Timeline(tmp)
    written = []
    for kind, pct, text, seconds in items:
        at = AT + timedelta(seconds=seconds)
        extra: dict[str, Any] = {
            "stage": {"weight": pct},
            "rollback": {"cause": text},
            "interrupted": {"signal": "SIGTERM"},
        }[kind]
        written.append(t.append(kind, at, text, stage=pct, **extra))
    assert read_timeline(tmp / TIMELINE_FILE) == written
