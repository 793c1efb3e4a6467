"""Strict JSON/YAML: duplicate keys at any depth, non-standard numbers, nesting, alias bombs."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from igkit.strictdoc import MAX_DEPTH, DocumentError, load_json, load_yaml


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"a": 1, "a": 2}', "duplicate key 'a' in (top level)"),
        ('{"x": [{"b": 1}, {"c": {"d": 1, "d": 2}}]}', "duplicate key 'd' in x[1].c"),
        ('{"vulnerabilities": [], "vulnerabilities": [{"id": "CVE-1"}]}', "'vulnerabilities'"),
        ("[NaN]", "NaN"),
        ('{"v": Infinity}', "Infinity"),
        ("[1e999]", "overflows"),
        ("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), "nested too deeply"),
        ("1" * 5000, "unreadable number"),
        ('{"a": 1', "invalid JSON at line 1"),
        (b"\xff\xfe{}", "not UTF-8"),
    ],
)
def test_json_refusals_name_the_file_and_cause(text: str | bytes, message: str) -> None:
    with pytest.raises(DocumentError) as info:
        load_json(text, where="doc.json")
    assert str(info.value).startswith("doc.json: ")
    assert message in str(info.value)


def test_json_positive_control() -> None:
    """The honest twins parse: same keys in different objects, brackets inside strings, BOM."""
    doc = '\ufeff{"a": {"k": 1}, "b": {"k": 2}, "s": "[[[[{{{{\\\\\\"", "n": 1.5e3}'
    assert load_json(doc, where="doc.json") == {
        "a": {"k": 1},
        "b": {"k": 2},
        "s": '[[[[{{{{\\"',
        "n": 1500.0,
    }
    deep = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert load_json(deep, where="deep.json") is not None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: 1\na: 2\n", "line 2: duplicate key 'a' in (top level)"),
        ("gates:\n  - id: G1\n    id: G2\n", "duplicate key 'id' in gates[0]"),
        ("x:\n  - b: 1\n  - c: {d: 1, d: 2}\n", "duplicate key 'd' in x[1].c"),
        ("on: 1\ntrue: 2\n", "duplicate key True"),
        ("a: &a [1]\n" + "".join(f"b{i}: *a\n" for i in range(101)), "alias bomb"),
        ("a: [1\n", "invalid YAML"),
    ],
)
def test_yaml_refusals(text: str, message: str) -> None:
    with pytest.raises(DocumentError) as info:
        load_yaml(text, where="m.yaml")
    assert str(info.value).startswith("m.yaml: ")
    assert message in str(info.value)


def test_yaml_merge_keys_may_override() -> None:
    """``<<`` merges are YAML's way to override: not a duplicate (positive control)."""
    text = "base: &b {k: 1, j: 0}\nz:\n  <<: *b\n  k: 2\n"
    assert load_yaml(text, where="m.yaml") == {"base": {"k": 1, "j": 0}, "z": {"k": 2, "j": 0}}


_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=30,
)


@pytest.mark.property
@given(_json_values)
def test_json_round_trip(value: object) -> None:
    """Any standard JSON document without duplicates reads back as itself."""
    assert load_json(json.dumps(value), where="x") == value


@pytest.mark.property
@given(st.binary(max_size=300))
def test_json_arbitrary_bytes_parse_or_raise_document_error(data: bytes) -> None:
    with contextlib.suppress(DocumentError):
        load_json(data, where="x")


@pytest.mark.property
@given(st.text(max_size=300))
def test_yaml_arbitrary_text_parses_or_raises_document_error(text: str) -> None:
    with contextlib.suppress(DocumentError):
        load_yaml(text, where="x")


def test_one_pydantic_error_formatter_names_the_field_path() -> None:
    """Every reader says ``field.path: message``; list items by id, union tags left out."""
    from pydantic import ValidationError

    from igkit.spec.models import Matrix
    from igkit.strictdoc import field_path, validation_message

    data = {
        "gates": [
            {
                "id": "G1",
                "name": "x",
                "objectives": [
                    {
                        "name": "p95",
                        "query": "up",
                        "comparison": "<=",
                        "threshold": {"value": 1},
                        "rule": {"kind": "all_steps", "window": "1h"},
                    }
                ],
            }
        ]
    }
    with pytest.raises(ValidationError) as info:
        Matrix.model_validate(data)
    assert validation_message(info.value, data=data, model=Matrix) == (
        "gates[0](G1).objectives[0](p95).threshold.unit: required field is missing"
    )
    assert field_path(("steps", 2, "at")) == "steps[2].at"
    assert field_path((0, "decision"), root="approvals") == "approvals[0].decision"
    assert field_path(()) == "(top level)"


def test_load_model_refuses_duplicate_keys_that_pydantic_json_would_take() -> None:
    """verdicts.json/index.json go through load_json: a repeated key is refused, one line."""
    from igkit.snapshots import SnapshotIndex
    from igkit.strictdoc import DocumentError, load_model

    honest = (
        '{"schema": "igkit.snapshot-index/v1", "evaluated_at": "2025-03-01T07:30:00Z",'
        ' "matrix_sha256": "ab", "snapshots": []}'
    )
    assert load_model(SnapshotIndex, honest, where="index.json").matrix_sha256 == "ab"
    assert SnapshotIndex.model_validate_json(honest.replace('"ab"', '"ab", "matrix_sha256": "cd"'))
    with pytest.raises(DocumentError, match=r"^index.json: duplicate key 'matrix_sha256'"):
        load_model(
            SnapshotIndex, honest.replace('"ab"', '"ab", "matrix_sha256": "cd"'), where="index.json"
        )
    with pytest.raises(
        DocumentError, match=r"^index.json: evaluated_at: required field is missing"
    ):
        load_model(
            SnapshotIndex, honest.replace('"evaluated_at"', '"evaluated"'), where="index.json"
        )
