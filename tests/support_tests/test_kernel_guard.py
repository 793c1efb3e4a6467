"""The conftest guard that keeps Jupyter kernels out of tests not about notebooks can fail."""

from __future__ import annotations

import pytest
from jupyter_client.manager import KernelManager

from tests import conftest


@pytest.mark.notebooks
def test_a_kernel_launch_is_recorded_with_the_test_that_started_it(
    request: pytest.FixtureRequest,
) -> None:
    before = len(conftest._kernels_started)
    km = KernelManager(kernel_name="python3")
    km.start_kernel()
    km.shutdown_kernel(now=True)
    assert conftest._kernels_started[before:] == [request.node.nodeid]


@pytest.mark.parametrize(("marked", "fails"), [(False, True), (True, False)])
def test_a_kernel_started_for_an_unmarked_test_fails_it(
    request: pytest.FixtureRequest, marked: bool, fails: bool
) -> None:
    """Drives the guard's hook wrapper as pytest does, with a kernel launch in between."""
    if marked:
        request.node.add_marker(pytest.mark.notebooks)
    guard = conftest._no_stray_kernel()
    next(guard)
    conftest._kernels_started.append(request.node.nodeid)
    try:
        with pytest.raises(pytest.fail.Exception if fails else StopIteration):
            guard.send(None)
    finally:
        conftest._kernels_started.pop()
