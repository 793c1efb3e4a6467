"""The two cutover runs of the real k6 binary, executed once per session."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.k6_target import CUTOVER_RUNS, K6RunResult, K6SetupError, find_k6, run_cutover


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test on the live k6 runs is slow and timing-bound (latencies measured on this machine,
    ~15 s of k6): `make test-slow` runs it on its own, never beside parallel workers."""
    for item in items:
        if "k6_runs" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def k6_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, K6RunResult]:
    """name -> :class:`K6RunResult` for ``green`` and ``mixed`` (see ``CUTOVER_RUNS``).

    The runs go side by side, each against its own target: ~15 s instead of ~30 s.
    """
    try:
        find_k6()
    except K6SetupError as exc:
        pytest.fail(str(exc), pytrace=False)
    root = tmp_path_factory.mktemp("k6-runs")
    with ThreadPoolExecutor(max_workers=len(CUTOVER_RUNS)) as pool:
        futures = {name: pool.submit(run_cutover, name, root / name) for name in CUTOVER_RUNS}
        try:
            return {name: future.result() for name, future in futures.items()}
        except K6SetupError as exc:
            pytest.fail(str(exc), pytrace=False)
