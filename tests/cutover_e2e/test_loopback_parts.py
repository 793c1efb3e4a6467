"""The loopback parts' own input checks, in process (no servers): a weight or a fault knob
that is not what the world's tests mean is refused whole, never half applied; an actuator
that cannot reach its proxy fails with one line. Each refusal has its accepted twin."""

from __future__ import annotations

import socket

import pytest

from tests.support.loopback import actuate
from tests.support.loopback.proxy import parse_weight
from tests.support.loopback.service import Faults


@pytest.mark.parametrize(
    ("text", "weight"), [("0", 0), ("5", 5), ("100", 100), ('{"canary": 25}', 25)]
)
def test_a_weight_is_an_integer_percentage(text: str, weight: int) -> None:
    assert parse_weight(text) == weight


@pytest.mark.parametrize(
    "text",
    [
        "101",
        "-1",
        "5.5",
        "true",
        '{"canary": true}',
        '{"canary": 5, "x": 1}',
        '{"canary": "5"}',
        "",
        "five",
    ],
)
def test_anything_else_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"weight|canary"):
        parse_weight(text)


def test_faults_change_whole_or_not_at_all() -> None:
    faults = Faults()
    faults.update({"error_rate": 0.1, "latency_factor": 1.5})
    assert (faults.error_rate, faults.latency_factor, faults.extra_latency_ms) == (0.1, 1.5, 0.0)
    for bad in (
        {"error_rate": 1.5},
        {"error_rate": True},
        {"error_rate": 0.2, "typo": 1},
        {"extra_latency_ms": -1},
        {"error_rate": 0.3, "extra_latency_ms": "100"},
        {},
        [],
    ):
        with pytest.raises(ValueError):  # noqa: PT011 - every message names the knob; the point is nothing changed
            faults.update(bad)
        assert (faults.error_rate, faults.latency_factor, faults.extra_latency_ms) == (
            0.1,
            1.5,
            0.0,
        )


def test_an_actuator_that_cannot_reach_its_proxy_fails_with_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert actuate.main(["--proxy", f"http://127.0.0.1:{port}", "set", "5"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("actuate: could not set weight 5:")
