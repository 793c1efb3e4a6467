"""Shared pytest fixtures: a real Prometheus serving the synthetic scenario history."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Property tests: 25 examples each in `make test` (a fresh random draw every run; no deadline:
# this machine is noisy); `make fuzz` runs the same properties with 5,000 examples each.
settings.register_profile(
    "default", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
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


# Only tests about notebooks may start Jupyter kernels (each costs seconds of CPU): the ones
# in these paths, or any test marked @pytest.mark.notebooks. A kernel started for anyone else
# fails the test that set it up, so a fixture that runs too early cannot hide the cost again.
KERNEL_PATHS = (
    "tests/notebooks/",
    "tests/report/",
    "tests/test_pipeline.py",
    "tests/test_wheel.py",
)
_current: list[pytest.Item] = []
_kernels_started: list[str] = []


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    root = Path(str(config.rootpath))
    for item in items:
        where = item.path.relative_to(root).as_posix() if item.path.is_relative_to(root) else ""
        if where.startswith(KERNEL_PATHS):
            item.add_marker(pytest.mark.notebooks)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    _current.append(item)
    try:
        return (yield)
    finally:
        _current.pop()


def _no_stray_kernel() -> Iterator[None]:
    started = len(_kernels_started)
    result = yield
    stray = _kernels_started[started:]
    if stray and _current and _current[-1].get_closest_marker("notebooks") is None:
        pytest.fail(
            f"{len(stray)} Jupyter kernel(s) started ({stray[0]}) by a test not about notebooks: "
            "turn notebooks off (--no-notebooks) or mark it @pytest.mark.notebooks",
            pytrace=False,
        )
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    return (yield from _no_stray_kernel())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    return (yield from _no_stray_kernel())


@pytest.fixture(scope="session", autouse=True)
def _count_kernel_starts() -> Iterator[None]:
    """Every local Jupyter kernel launch (papermill, nbclient, execute_gates) is recorded."""
    from jupyter_client.provisioning.local_provisioner import LocalProvisioner

    launch = LocalProvisioner.launch_kernel

    async def counted(self: LocalProvisioner, cmd: list[str], **kw: object) -> object:
        _kernels_started.append(_current[-1].nodeid if _current else "outside any test")
        return await launch(self, cmd, **kw)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(LocalProvisioner, "launch_kernel", counted)
        yield


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
