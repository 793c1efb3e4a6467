"""``select``: label matchers injected into every vector selector, checked against the AST."""

from __future__ import annotations

import promql_parser
import pytest
from hypothesis import given
from hypothesis import strategies as st

from igkit.errors import ConfigError
from igkit.spec.selectors import apply_select, parse_select

ACME = 'tenant="acme"'


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("foo", 'foo{tenant="acme"}'),
        ('foo{a="b"}', 'foo{a="b",tenant="acme"}'),
        ('foo{a="b",}', 'foo{a="b",tenant="acme"}'),
        ("foo{}", 'foo{tenant="acme"}'),
        ('{__name__="up"}', '{__name__="up",tenant="acme"}'),
        (
            'sum by (le) (rate(x_bucket{job="a"}[5m]))',
            'sum by (le) (rate(x_bucket{job="a",tenant="acme"}[5m]))',
        ),
        ("sum(rate(x[1m])) by (tenant)", 'sum(rate(x{tenant="acme"}[1m])) by (tenant)'),
        (
            "foo offset 5m and on(tenant) bar",
            'foo{tenant="acme"} offset 5m and on(tenant) bar{tenant="acme"}',
        ),
        ("rate(foo[5m:1m])", 'rate(foo{tenant="acme"}[5m:1m])'),
        ("foo * Inf + NaN", 'foo{tenant="acme"} * Inf + NaN'),
        ('foo{a="}{,"}', 'foo{a="}{,",tenant="acme"}'),
        ("topk(3, foo) # by (x) foo\n", 'topk(3, foo{tenant="acme"}) # by (x) foo\n'),
        ("max_over_time(up[1h] offset 1m)", 'max_over_time(up{tenant="acme"}[1h] offset 1m)'),
    ],
)
def test_select_reaches_every_selector(query: str, expected: str) -> None:
    assert apply_select(query, ACME) == expected
    assert apply_select(query, None) == query  # positive control: no selection, same text


def test_select_on_an_aggregated_label_filters_before_aggregation() -> None:
    q = 'sum by (le) (rate(graphql_latency_bucket{operation_type="query"}[5m]))'
    out = apply_select(q, 'tenant=~"acme|globex"')
    inner = promql_parser.parse(out).expr.args[0].vector_selector  # type: ignore[attr-defined]
    assert {(m.name, m.value) for m in inner.matchers.matchers} == {
        ("operation_type", "query"),
        ("tenant", "acme|globex"),
    }


@pytest.mark.parametrize(
    "select",
    ["", "tenant", 'tenant="a" or x="b"', "}", 'tenant="a"} or up{', "foo", 'a="b"}[5m]'],
)
def test_bad_selection_is_a_config_error(select: str) -> None:
    with pytest.raises(ConfigError, match="--select"):
        apply_select("foo", select)
    assert parse_select('tenant!="x", a=~"b.*"') == [  # positive control
        ("tenant", "!=", "x"),
        ("a", "=~", "b.*"),
    ]


def test_query_with_or_matchers_is_refused() -> None:
    with pytest.raises(ConfigError, match="'or'"):
        apply_select('foo{a="b" or c="d"}', ACME)


_VALUE = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12)


@pytest.mark.property
@given(value=_VALUE, label=st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True))
def test_any_matcher_value_lands_in_every_selector(value: str, label: str) -> None:
    quoted = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    select = f"{label}={quoted}"
    query = 'histogram_quantile(0.9, sum by (le) (rate(a_bucket{x="{y}"}[5m]))) / on() b'
    out = apply_select(query, select)
    expr = promql_parser.parse(out)
    for sel in (expr.lhs.args[1].expr.args[0].vector_selector, expr.rhs):  # type: ignore[attr-defined]
        assert (label, value) in {(m.name, m.value) for m in sel.matchers.matchers}
