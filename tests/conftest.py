"""Shared pytest fixtures: a real Prometheus serving the synthetic scenario history."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Property tests: the default example count in `make test` (no deadline: this machine is
# noisy); `make fuzz` runs the same properties with --hypothesis-profile=fuzz.
settings.register_profile("default", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile(
    "fuzz",
    max_examples=5_000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("default")

_REPO_ROOT = str(Path(__file__).resolve().parents[1])
if _REPO_ROOT not in sys.path:  # `tests.support` must import under plain `pytest` too
    sys.path.insert(0, _REPO_ROOT)

from tests.support.prometheus import PrometheusServer, PrometheusSetupError  # noqa: E402
from tests.support.scenarios import SCENARIOS, Scenario  # noqa: E402


@pytest.fixture(scope="session")
def prometheus() -> Iterator[PrometheusServer]:
    """A started Prometheus (``.url``) over the backfilled scenario TSDB, for the session."""
    try:
        server = PrometheusServer().start()
    except PrometheusSetupError as exc:
        pytest.fail(f"Prometheus test server unavailable: {exc}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def scenarios() -> dict[str, Scenario]:
    """The scenario table (name -> Scenario with eval_time)."""
    return SCENARIOS


@pytest.fixture(scope="session", autouse=True)
def _pure_path_by_default() -> Iterator[None]:
    """go-no-go runs the gate notebooks by default; most tests judge the library path, and
    tests/test_pipeline.py turns notebooks back on to check both agree.

    Session-scoped so it is in force before any module- or class-scoped fixture runs the
    CLI (a function-scoped one came too late and started ~100 kernels for nothing)."""
    import igkit.cli.go_no_go

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(igkit.cli.go_no_go, "NOTEBOOKS_BY_DEFAULT", False)
        yield
