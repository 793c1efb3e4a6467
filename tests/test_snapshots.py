"""Snapshot hashing and frame building from raw Prometheus results."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from igkit.errors import SnapshotError
from igkit.snapshots import (
    RangeRequest,
    RangeResult,
    ResultError,
    Snapshot,
    canonical_json,
    canonical_sha256,
    parse_query_range_body,
    parse_range_result,
    read_query_range_body,
    read_snapshot,
    series_key,
    to_long_frame,
    to_wide_frame,
    write_snapshots,
)
from igkit.snapshots.models import canonical_json_with
from igkit.sources.prometheus import split_range, stitch

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
REQ = RangeRequest(query="up", start=T0, end=T0.replace(minute=1), step_seconds=15)


def result() -> list[dict[str, object]]:
    t = T0.timestamp()
    return [
        {
            "metric": {"__name__": "up", "job": "a"},
            "values": [[t, "1"], [t + 15, "NaN"], [t + 30, "+Inf"], [t + 45, "0.5"]],
        },
        {
            "metric": {"job": "b"},
            "values": [[t + 7, "3"], [t + 15, "2"], [t + 60, "-Inf"]],
        },
    ]


def test_wide_frame_places_samples_on_the_grid() -> None:
    wide = to_wide_frame(result(), REQ.grid())
    assert list(wide.columns) == ['up{job="a"}', '{job="b"}']
    a, b = wide['up{job="a"}'].to_numpy(), wide['{job="b"}'].to_numpy()
    np.testing.assert_array_equal(a, [1, np.nan, np.inf, 0.5, np.nan])
    np.testing.assert_array_equal(b, [np.nan, 2, np.nan, np.nan, -np.inf])  # off-grid dropped
    assert len(wide) == 5


def test_long_frame_and_empty_results() -> None:
    long = to_long_frame(result())
    assert len(long) == 7
    assert to_long_frame([]).empty
    assert to_wide_frame([], REQ.grid()).shape == (5, 0)


def test_split_and_stitch_cover_the_grid_once() -> None:
    req = RangeRequest(query="up", start=T0, end=T0.replace(hour=13), step_seconds=1)
    pieces = split_range(req, max_points=1000)
    assert len(pieces) == 4
    points = np.concatenate([np.arange(a, b + 0.5, 1.0) for a, b in pieces])
    assert np.array_equal(points, req.grid())
    chunk = [{"metric": {"job": "a"}, "values": [[1.0, "1"], [2.0, "2"]]}]
    after = [{"metric": {"job": "a"}, "values": [[3.0, "3"]]}, {"metric": {}, "values": []}]
    assert stitch([chunk, after]) == [
        {"metric": {"job": "a"}, "values": [[1.0, "1"], [2.0, "2"], [3.0, "3"]]},
        {"metric": {}, "values": []},
    ]
    # a server that answers a sample twice across chunks: nothing is silently dropped
    overlap = [{"metric": {"job": "a"}, "values": [[2.0, "2"], [3.0, "3"]]}]
    with pytest.raises(ResultError, match=r'series \{job="a"\}: values\[2\] timestamp repeats'):
        parse_range_result(stitch([chunk, overlap]))


def test_snapshot_hash_detects_any_change(tmp_path: Path) -> None:
    snap = Snapshot(
        id=REQ.id,
        request=REQ,
        server="http://127.0.0.1:9090",
        fetched_at=T0,
        status="success",
        result=result()[:1],
    ).sealed()
    write_snapshots(
        tmp_path,
        [("G1-x", snap)],
        evaluated_at=T0,
        tenant=None,
        server=None,
        matrix_sha256="0" * 64,
    )
    (path,) = tmp_path.glob("G1-x-*.json")
    assert read_snapshot(path) == snap
    data = json.loads(path.read_text())
    data["result"][0]["values"][0][1] = "0.9"
    path.write_text(json.dumps(data))
    with pytest.raises(SnapshotError, match="SHA-256"):
        read_snapshot(path)
    path.write_text(json.dumps(data).replace('"job": "a"', '"job": "a", "job": "b"'))
    with pytest.raises(SnapshotError, match="duplicate key 'job'"):
        read_snapshot(path)
    path.write_text("{not json")
    with pytest.raises(SnapshotError, match="not valid JSON"):
        read_snapshot(path)
    path.write_text('{"hello": 1}')
    with pytest.raises(SnapshotError, match="not an igkit snapshot"):
        read_snapshot(path)


def test_request_id_depends_on_every_field() -> None:
    ids = {
        REQ.id,
        REQ.model_copy(update={"query": "up "}).id,
        REQ.model_copy(update={"tenant": "acme"}).id,
        REQ.model_copy(update={"step_seconds": 30}).id,
        REQ.model_copy(update={"end": T0.replace(minute=2)}).id,
    }
    assert len(ids) == 5


# ---- series identity -------------------------------------------------------------------

HOSTILE_PAIRS = [  # two different label sets that a naive key joins into one string
    ({"a": 'x",b="y'}, {"a": "x", "b": "y"}),
    ({"a": "x,b=y"}, {"a": "x", "b": "y"}),
    ({"a": "x}"}, {"a": "x", "}": ""}),
    ({"a": "1\\"}, {"a": "1\\\\"}),
    ({"a": "line\nb"}, {"a": "line\\nb"}),
    ({"__name__": "up"}, {"__name__": "up", "job": ""}),
    ({"__name__": "up", "job": "a"}, {"job": "a", "up": ""}),
    ({"__name__": "1bad"}, {"__name__": "1bad", "x": ""}),
    ({"__name__": "up"}, {"up": ""}),
    ({"we ird": "v"}, {"we": "", "ird": "v"}),
    ({"a=b": "c"}, {"a": 'b"=c'}),
    ({"é": "ü"}, {"e": "u"}),
    ({"a": "x\ry"}, {"a": "x\\x0dy"}),
    ({"a": "x\u2028y"}, {"a": "x\\u2028y"}),
]


@pytest.mark.parametrize(("one", "other"), HOSTILE_PAIRS)
def test_series_keys_never_collide(one: dict[str, str], other: dict[str, str]) -> None:
    assert series_key(one) != series_key(other)
    assert series_key(one) == series_key(dict(reversed(list(one.items()))))  # order-free


def test_series_key_is_readable() -> None:
    assert series_key({"__name__": "up", "tenant": "acme", "job": "api"}) == (
        'up{job="api",tenant="acme"}'
    )
    assert series_key({"tenant": 'a"c\\\n'}) == '{tenant="a\\"c\\\\\\n"}'
    assert series_key({"we ird": "v"}) == '{"we ird"="v"}'
    assert series_key({}) == "{}"


_label_sets = st.dictionaries(st.text(max_size=6), st.text(max_size=6), max_size=4)


@pytest.mark.property
@given(_label_sets, _label_sets)
def test_property_distinct_label_sets_have_distinct_keys(
    one: dict[str, str], other: dict[str, str]
) -> None:
    assert (series_key(one) == series_key(other)) == (one == other)
    assert len(series_key(one).splitlines()) <= 1


def test_hostile_labels_are_separate_series_in_frames() -> None:
    """Positive control included: both series survive with their own values."""
    t = T0.timestamp()
    res = [
        {"metric": {"a": 'x",b="y'}, "values": [[t, "1"]]},
        {"metric": {"a": "x", "b": "y"}, "values": [[t, "2"]]},
    ]
    wide = to_wide_frame(res, REQ.grid())
    assert wide.shape == (5, 2)
    assert sorted(wide.iloc[0].tolist()) == [1.0, 2.0]


# ---- one validator for fetched and replayed results ------------------------------------

T = T0.timestamp()
GOOD_SERIES = {"metric": {"tenant": "acme"}, "values": [[T, "0.1"], [T + 15, "1e-3"]]}


def series(values: object = None, metric: object = None, **extra: object) -> dict[str, object]:
    out: dict[str, object] = {
        "metric": {"tenant": "acme"} if metric is None else metric,
        "values": [[T, "0.1"], [T + 15, "0.2"]] if values is None else values,
    }
    out.update(extra)
    return out


BAD_RESULTS = [
    ([series(), series()], "appears twice"),
    ([series(values=[[T, True]])], r"sample 'true' is not a string"),
    ([series(values=[[T, 0.1]])], "is not a string"),
    ([series(values=[[T, None]])], "is not a string"),
    ([series(values=[[T, {"v": 1}]])], "is not a string"),
    ([series(values=[[T, "inf"]])], "not a number as Prometheus writes it"),
    ([series(values=[[T, "1_0"]])], "not a number as Prometheus writes it"),
    ([series(values=[[T, " 1"]])], "not a number as Prometheus writes it"),
    ([series(values=[[T, "Inf"]])], "not NaN, \\+Inf, -Inf"),
    ([series(values=[[T, "1e999"]])], "not NaN, \\+Inf, -Inf"),
    ([series(values=[[T, "0x1"]])], "not a number"),
    ([series(values=[[True, "1"]])], "timestamp 'true' is not a number"),
    ([series(values=[["1", "1"]])], "is not a number"),
    ([series(values=[[10**400, "1"]])], "timestamp is out of range"),
    ([series(values=[[T, "1", "2"]])], "not a \\[timestamp, value\\] pair"),
    ([series(values=[(T, "1")])], "not a \\[timestamp, value\\] pair"),
    ([series(values=[[T + 15, "1"], [T, "2"]])], "goes back in time"),
    ([series(values=[[T, "1"], [T, "1"]])], "repeats"),
    ([series(values={"t": 1})], "values is dict"),
    ([series(metric={"tenant": 1})], "metric is not a mapping"),
    ([series(metric=[["tenant", "acme"]])], "metric is not a mapping"),
    ([series(histograms=[])], "native histogram"),
    ([series(extra=1)], "unexpected"),
    ([{"metric": {}}], "missing"),
    (["x"], "not a series object"),
    ({"x": 1}, "not a list of series"),
]


@pytest.mark.parametrize(("bad", "match"), BAD_RESULTS)
def test_malformed_results_are_refused(bad: object, match: str) -> None:
    with pytest.raises(ResultError, match=match):
        parse_range_result(bad)


def test_honest_result_is_accepted() -> None:
    """Positive control for the table above."""
    ok = [
        series(values=[[T, "NaN"], [T + 15, "+Inf"], [T + 30, "-Inf"], [T + 45, "-0.5e+3"]]),
        series(metric={"tenant": "globex"}, values=[[int(T), "1"]]),
        series(metric={"tenant": "initech"}, values=[]),
    ]
    data = parse_range_result(ok)
    assert data.keys == ['{tenant="acme"}', '{tenant="globex"}', '{tenant="initech"}']
    assert data.lengths.tolist() == [4, 1, 0]
    assert np.isnan(data.values[0])
    assert data.values[1] == np.inf
    assert data.values[3] == -500


def body(**override: object) -> bytes:
    doc: dict[str, object] = {
        "status": "success",
        "data": {"resultType": "matrix", "result": [GOOD_SERIES]},
    }
    doc.update(override)
    return json.dumps(doc).encode()


BAD_BODIES = [
    (body(status="error"), "status is 'error'"),
    (body(data=None), "data is missing"),
    (body(data={"resultType": "vector", "result": []}), "resultType is 'vector'"),
    (body(data={"resultType": "matrix", "result": {}}), "not a list of series"),
    (body(warnings="partial"), "warnings is not a list of strings"),
    (body(warnings=[1]), "warnings is not a list of strings"),
    (body(infos={"a": 1}), "infos is not a list of strings"),
    (body().replace(b'"tenant": "acme"', b'"tenant": "acme", "tenant": "evil"'), "duplicate key"),
    (b"[" * 100_000 + b"]" * 100_000, "too deeply"),
    (body().replace(b"1740830400.0", b"1e999"), "overflows"),
    (body().replace(b"1740830400.0", b"1" * 5000), "unreadable number|overflows"),
    (b"\xff\xfe", "not UTF-8"),
    (b"[]", "not a JSON object"),
]


@pytest.mark.parametrize(("raw", "match"), BAD_BODIES)
def test_malformed_answers_are_refused(raw: bytes, match: str) -> None:
    with pytest.raises(ResultError, match=match):
        parse_query_range_body(raw)


def test_honest_answer_is_accepted() -> None:
    result, warnings = parse_query_range_body(body(warnings=["w"], infos=["i"]))
    assert result == [GOOD_SERIES]
    assert warnings == ["w"]


@pytest.mark.property
@given(st.binary(max_size=400))
def test_property_arbitrary_answer_bytes_give_a_result_or_result_error(raw: bytes) -> None:
    try:
        result, _ = parse_query_range_body(raw)
    except ResultError:
        return
    to_wide_frame(result, REQ.grid())


_json_scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5)
)
_json = st.recursive(
    _json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=12,
)


@pytest.mark.property
@given(st.lists(st.fixed_dictionaries({"metric": _json, "values": _json}), max_size=3))
def test_property_arbitrary_result_shapes_give_data_or_result_error(res: list[object]) -> None:
    try:
        data = parse_range_result(res)
    except ResultError:
        return
    assert len(data.timestamps) == len(data.values) == int(data.lengths.sum())


def test_redirects_field_is_left_out_when_empty() -> None:
    """Snapshots written before ``redirects`` existed keep verifying."""
    snap = Snapshot(
        id=REQ.id,
        request=REQ,
        server="http://127.0.0.1:9090",
        fetched_at=T0,
        status="success",
        result=result(),
    ).sealed()
    assert "redirects" not in snap.content()
    with_redirect = snap.model_copy(update={"redirects": ["http://127.0.0.1:9090/p"]}).sealed()
    assert with_redirect.content()["redirects"] == ["http://127.0.0.1:9090/p"]
    assert with_redirect.sha256 != snap.sha256
    shipped = sorted((Path(__file__).parents[1] / "igkit/data/demo/snapshots").glob("G*.json"))
    assert shipped
    for path in shipped:
        read_snapshot(path)  # verifies the SHA-256
    assert canonical_sha256(snap.content()) == snap.sha256


# ---- the stored result: canonical bytes, spliced in unparsed --------------------------------

_keys = st.text(max_size=6)
_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_keys, inner, max_size=3),
    max_leaves=10,
)


@pytest.mark.property
@given(st.dictionaries(_keys, _values, max_size=5), st.dictionaries(_keys, _values, max_size=3))
def test_property_splicing_canonical_values_equals_canonical_json(
    data: dict[str, object], raw: dict[str, object]
) -> None:
    merged = {**data, **raw}
    spliced = canonical_json_with(data, {k: canonical_json(v) for k, v in raw.items()})
    assert spliced == canonical_json(merged)


def sealed_snapshot(res: list[dict[str, object]]) -> Snapshot:
    return Snapshot(
        id=REQ.id,
        request=REQ,
        server="http://127.0.0.1:9090",
        fetched_at=T0,
        status="success",
        result_type="matrix",
        result=res,
    ).sealed()


def test_stored_result_is_the_canonical_bytes_and_reads_back_as_lists() -> None:
    """Hash and file are what they were when the result was a list of dicts; reading
    ``result`` gives a fresh copy, so changing it cannot change what was sealed."""
    snap = sealed_snapshot(result())
    full = snap.model_dump(mode="json", by_alias=True)
    assert full["result"] == result()
    assert snap.canonical() == canonical_json(full)
    assert snap.sha256 == canonical_sha256(snap.content())
    assert snap.result_data.json == canonical_json(result())
    mine = snap.result
    mine[0]["values"][0][1] = "0"
    assert snap.result == result()
    snap.verify()
    # a changed result (honestly re-sealed) is a different snapshot; one not re-sealed fails
    changed = snap.model_copy(update={"result": result()[:1]})
    assert changed.result == result()[:1]
    with pytest.raises(SnapshotError, match="SHA-256"):
        changed.verify()
    assert changed.sealed().sha256 != snap.sha256


def test_answer_with_no_canonical_json_is_refused_and_honest_twin_accepted() -> None:
    """A label holding a lone surrogate parses but cannot be hashed: the fetch refuses it as
    a malformed answer (never a crash), and a snapshot file holding one is not a snapshot."""
    honest = body()
    got, warnings = read_query_range_body(honest)
    assert got.parsed() == [GOOD_SERIES]
    assert got == RangeResult(canonical_json([GOOD_SERIES]))
    assert warnings == []
    hostile = honest.replace(b'"tenant": "acme"', b'"tenant": "\\ud800"')
    assert hostile != honest
    with pytest.raises(ResultError, match="no canonical JSON"):
        read_query_range_body(hostile)
    with pytest.raises(ValidationError, match="surrogate"):
        Snapshot.model_validate(
            {**sealed_snapshot([]).content(), "result": json.loads(hostile)["data"]["result"]}
        )
