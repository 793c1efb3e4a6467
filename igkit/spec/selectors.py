"""``select``: label matchers added to every vector selector of a query (e.g. ``tenant="acme"``).

The matchers go into the selectors themselves, before any aggregation, so a matcher on a label
the query aggregates away (``sum by (le) (...)``) still filters. promql_parser can parse but
not re-render a query faithfully (it rewrites the text: ``bar`` becomes ``bar{}``), so the text
is rewritten token by token and the result is checked against the parser's AST: the same
selectors, each with exactly its old matchers plus the selected ones. Anything else is a
ConfigError; a query is never sent with a selection that did not apply everywhere.
"""

from __future__ import annotations

import re
from typing import Any

from igkit.errors import ConfigError

_IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
_NUMBER = re.compile(r"(0[xX][0-9a-fA-F]+|(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)[A-Za-z0-9_]*")
_LABEL_LIST_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right"}
_KEYWORDS = _LABEL_LIST_KEYWORDS | {"and", "or", "unless", "bool", "offset", "atan2"}
_LITERALS = {"inf", "nan"}


def parse_select(select: str, *, where: str = "--select") -> list[tuple[str, str, str]]:
    """The matchers of ``select`` as (label, op, value); a ConfigError if it is not a list of
    plain label matchers (PromQL ``{<select>}``)."""
    import promql_parser

    text = select.strip()
    if not text:
        raise ConfigError("empty label selection", where=where)
    try:
        expr = promql_parser.parse("{" + text + "}")
    except (ValueError, RuntimeError) as exc:
        raise ConfigError(f"not PromQL label matchers ({_one_line(exc)})", where=where) from None
    if not isinstance(expr, promql_parser.VectorSelector) or expr.name is not None:
        raise ConfigError('not a list of label matchers like tenant="acme"', where=where)
    if expr.matchers.or_matchers:
        raise ConfigError("'or' between matchers is not supported in a selection", where=where)
    return _matchers(expr)


def apply_select(query: str, select: str | None) -> str:
    """``query`` with the matchers of ``select`` added to every vector selector."""
    if select is None:
        return query
    wanted = parse_select(select)
    text = select.strip().rstrip(",").strip()
    rewritten = _rewrite(query, text)
    _check(query, rewritten, wanted)
    return rewritten


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


_OPS = {"Equal": "=", "NotEqual": "!=", "Re": "=~", "NotRe": "!~"}


def _matchers(selector: Any) -> list[tuple[str, str, str]]:
    return [
        (m.name, _OPS.get(str(m.op).rsplit(".", 1)[-1], str(m.op)), m.value)
        for m in selector.matchers.matchers
    ]


def _skip_string(query: str, i: int) -> int:
    """Index just past the string literal starting at ``i``."""
    quote = query[i]
    i += 1
    while i < len(query):
        if query[i] == "\\" and quote != "`":
            i += 2
            continue
        if query[i] == quote:
            return i + 1
        i += 1
    raise ConfigError(f"unterminated string in query {query!r}")


def _skip_space(query: str, i: int) -> int:
    while i < len(query):
        if query[i].isspace():
            i += 1
        elif query[i] == "#":
            end = query.find("\n", i)
            i = len(query) if end < 0 else end + 1
        else:
            break
    return i


def _starts_label_list(query: str, i: int) -> bool:
    """True when a ``by``/``without`` clause starts at ``i`` (``sum by (le) (...)``)."""
    m = _IDENT.match(query, i)
    return m is not None and m.group().lower() in ("by", "without")


def _rewrite(query: str, select: str) -> str:
    """Insert ``select`` into each brace block and after each bare metric name."""
    out: list[str] = []
    i = 0
    after_offset = False
    while i < len(query):
        c = query[i]
        if c.isspace() or c == "#":
            j = _skip_space(query, i)
            out.append(query[i:j])
            i = j
        elif c in "\"'`":
            j = _skip_string(query, i)
            out.append(query[i:j])
            i = j
        elif c == "{":
            j = i + 1
            while j < len(query) and query[j] != "}":
                j = _skip_string(query, j) if query[j] in "\"'`" else j + 1
            if j >= len(query):
                raise ConfigError(f"unbalanced braces in query {query!r}")
            inner = query[i + 1 : j]
            body = inner.rstrip()
            sep = "" if not body.strip() or body.endswith(",") else ","
            out.append("{" + body + sep + select + inner[len(body) :] + "}")
            i = j + 1
        elif c == "[":
            j = query.find("]", i)
            if j < 0:
                raise ConfigError(f"unbalanced brackets in query {query!r}")
            out.append(query[i : j + 1])
            i = j + 1
        elif (m := _NUMBER.match(query, i)) and (c.isdigit() or c == "."):
            out.append(m.group())
            i = m.end()
            after_offset = False
            continue
        elif m := _IDENT.match(query, i):
            word = m.group()
            out.append(word)
            i = m.end()
            j = _skip_space(query, i)
            nxt = query[j] if j < len(query) else ""
            lower = word.lower()
            if lower in _LABEL_LIST_KEYWORDS and nxt == "(":
                k = query.find(")", j)
                if k < 0:
                    raise ConfigError(f"unbalanced parentheses in query {query!r}")
                out.append(query[i : k + 1])
                i = k + 1
            elif (
                nxt not in ("(", "{")
                and not _starts_label_list(query, j)
                and lower not in _KEYWORDS
                and lower not in _LITERALS
                and not after_offset
            ):
                out.append("{" + select + "}")
            after_offset = lower == "offset"
            continue
        else:
            out.append(c)
            i += 1
        after_offset = False
    return "".join(out)


def _selectors(expr: Any) -> list[Any]:
    """Every VectorSelector in ``expr``, in order."""
    import promql_parser as p

    if isinstance(expr, p.VectorSelector):
        return [expr]
    if isinstance(expr, p.MatrixSelector):
        return [expr.vector_selector]
    if isinstance(expr, p.BinaryExpr):
        return _selectors(expr.lhs) + _selectors(expr.rhs)
    if isinstance(expr, p.AggregateExpr):
        return (_selectors(expr.param) if expr.param is not None else []) + _selectors(expr.expr)
    if isinstance(expr, p.Call):
        return [s for a in expr.args for s in _selectors(a)]
    if isinstance(expr, p.ParenExpr | p.UnaryExpr | p.SubqueryExpr):
        return _selectors(expr.expr)
    return []


def _check(query: str, rewritten: str, wanted: list[tuple[str, str, str]]) -> None:
    """Fail unless ``rewritten`` is ``query`` with ``wanted`` added to every selector."""
    import promql_parser

    try:
        before = _selectors(promql_parser.parse(query))
        after = _selectors(promql_parser.parse(rewritten))
    except (ValueError, RuntimeError) as exc:
        raise ConfigError(
            f"cannot apply the label selection to {query!r} ({_one_line(exc)})", where="--select"
        ) from None
    ok = len(before) == len(after) and bool(before)
    for old, new in zip(before, after, strict=False):
        if old.matchers.or_matchers:
            raise ConfigError(
                f"cannot apply a label selection to {query!r}: it uses 'or' between matchers",
                where="--select",
            )
        ok = (
            ok
            and old.name == new.name
            and sorted(_matchers(new)) == sorted(_matchers(old) + wanted)
        )
    if not ok:
        raise ConfigError(
            f"the label selection did not apply to every selector of {query!r}", where="--select"
        )
