"""The check that a notebook's verdict equals the library's: equal JSON is equal, and any
change anywhere is found and named by its path."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from igkit.report.notebooks import first_difference

SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=20,
)


@pytest.mark.property
@given(JSON)
def test_equal_documents_have_no_difference(doc: Any) -> None:
    assert first_difference(doc, doc) is None


@pytest.mark.property
@given(JSON, SCALARS, SCALARS)
def test_a_changed_leaf_is_found_at_its_path(doc: Any, old: Any, new: Any) -> None:
    found = first_difference({"same": doc, "leaf": [old]}, {"same": doc, "leaf": [new]})
    if type(old) is type(new) and old == new:
        assert found is None
    else:
        assert found is not None
        assert found.startswith("leaf[0]:")


def test_names_the_first_difference() -> None:
    library = {"status": "PASS", "objectives": [{"name": "p95", "status": "PASS"}]}
    notebook = {"status": "FAIL", "objectives": [{"name": "p95", "status": "FAIL"}]}
    assert first_difference(library, notebook) == 'status: "PASS" vs "FAIL"'
    notebook["status"] = "PASS"
    assert first_difference(library, notebook) == 'objectives[0].status: "PASS" vs "FAIL"'
    assert first_difference([1, 2], [1, 2, 3]) == "(top): 2 entries vs 3"
    assert first_difference({"a": 1}, {"a": True}) == "a: 1 vs true"
    assert first_difference({"a": 1}, {"a": 1, "b": None}) is None  # null is an absent field
    assert first_difference({"a": 1}, {"a": 1, "b": 0}) == "b: null vs 0"
