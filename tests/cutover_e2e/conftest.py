"""The loopback world for the end-to-end cutover tests: a fresh one per test (a test may
kill its Prometheus or leave faults behind), logs under the test's tmp dir."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.loopback.world import LoopbackWorld
from tests.support.prometheus import PrometheusSetupError


@pytest.fixture
def world(tmp_path: Path) -> Iterator[LoopbackWorld]:
    try:
        started = LoopbackWorld(tmp_path / "world").start()
    except PrometheusSetupError as exc:
        pytest.fail(f"Prometheus unavailable for the loopback world: {exc}", pytrace=False)
    try:
        yield started
    finally:
        started.stop()
