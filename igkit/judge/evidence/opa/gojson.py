"""Go ``encoding/json`` as OPA uses it: ``json.Number`` parsing (numbers kept as written),
Go's invalid-UTF-8 and surrogate handling, and Go's string/float encoding."""

from __future__ import annotations

import codecs
import json
import math
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from igkit.errors import IgkitError
from igkit.strictdoc import DocumentError, load_json


class Num(str):
    """A JSON number kept as its literal text, as Go's ``json.Number`` keeps it."""

    __slots__ = ()


class DocError(IgkitError, ValueError):
    pass


class TooDeepError(DocError):
    pass


TOO_DEEP = (
    "nested deeper than this verifier can follow (Python's recursion limit, about 1000 "
    "levels; OPA's decoder allows 10000): not verified"
)


def _go_replace(exc: UnicodeError) -> tuple[str, int]:
    # Go's decoder turns every byte of an invalid UTF-8 sequence into one U+FFFD.
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return "\ufffd" * (exc.end - exc.start), exc.end


codecs.register_error("igkit-go-utf8", _go_replace)

_SURROGATE = re.compile("[\ud800-\udfff]")


def fix_surrogates(s: str) -> str:
    """Lone surrogates (from ``\\ud800`` escapes) become U+FFFD, as in Go."""
    return _SURROGATE.sub("\ufffd", s) if _SURROGATE.search(s) else s


def reject_constant(name: str) -> Any:
    raise DocError(f"{name} is not JSON")


class DuplicateKeyError(IgkitError, ValueError):
    """A key repeated in one object of a structured bundle file. Go's decoder keeps the
    last value (so OPA would hash and load it), but half of what the file says would be
    silently dropped: igkit refuses the file instead."""


def unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        key = fix_surrogates(k)
        if key in out:
            raise DuplicateKeyError(f"duplicate key {key!r}")
        out[key] = v
    return out


def duplicate_path(body: bytes, fallback: str) -> str:
    """The duplicate's key path as :func:`igkit.strictdoc.load_json` names it, when it can."""
    try:
        load_json(body, where="")
    except DocumentError as exc:
        if exc.message.startswith("duplicate key"):
            return exc.message
    return f"{fallback} (a reader would silently keep one)"


_JSON_DECODER = json.JSONDecoder(
    object_pairs_hook=unique_pairs,
    parse_float=Num,
    parse_int=Num,
    parse_constant=reject_constant,
)


def parse_go_json(data: bytes) -> Any:
    """``json.Decoder`` with ``UseNumber`` over ``data`` (BOM already stripped)."""
    text = data.decode("utf-8", "igkit-go-utf8")
    try:
        return _JSON_DECODER.decode(text)
    except RecursionError:
        raise TooDeepError(TOO_DEEP) from None
    except json.JSONDecodeError as exc:
        raise DocError(f"{exc.msg} at line {exc.lineno} column {exc.colno}") from None


GO_ESC = {chr(i): f"\\u{i:04x}" for i in range(0x20)}
GO_ESC.update(
    {
        '"': '\\"',
        "\\": "\\\\",
        "\n": "\\n",
        "\r": "\\r",
        "\t": "\\t",
        "\b": "\\b",  # Go >= 1.22; older Go wrote \u0008 (see LEGACY_ESC)
        "\f": "\\f",
        "\u2028": "\\u2028",
        "\u2029": "\\u2029",
    }
)
LEGACY_ESC = {**GO_ESC, "\b": "\\u0008", "\f": "\\u000c"}
_GO_ESC_RE = re.compile('[\x00-\x1f"\\\\\u2028\u2029]')


def _go_string(s: str, table: Mapping[str, str]) -> str:
    """Go ``encoding/json`` with ``SetEscapeHTML(false)``: ``<``, ``>``, ``&`` stay literal."""
    return '"' + _GO_ESC_RE.sub(lambda m: table[m.group()], fix_surrogates(s)) + '"'


def _go_float(f: float) -> str:
    """A float64 as Go's ``json.Marshal`` writes it (YAML-sourced numbers only)."""
    if not math.isfinite(f):
        raise DocError(f"{f} cannot be encoded as JSON")
    if f == 0:
        return "-0" if math.copysign(1.0, f) < 0 else "0"
    sign = "-" if f < 0 else ""
    tup = Decimal(repr(abs(f))).normalize().as_tuple()
    digits = "".join(map(str, tup.digits))
    exponent = int(tup.exponent)
    point = len(digits) + exponent  # digits before the decimal point
    if abs(f) < 1e-6 or abs(f) >= 1e21:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        e = point - 1
        return f"{sign}{mantissa}e{'-' if e < 0 else '+'}{abs(e):02d}".replace("e-0", "e-")
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return sign + digits + "0" * (point - len(digits))
    return f"{sign}{digits[:point]}.{digits[point:]}"


def encode(value: Any, out: list[str], table: Mapping[str, str]) -> None:
    """OPA's ``bundle.walk``: objects with keys sorted, no whitespace, Go escaping."""
    if isinstance(value, dict):
        out.append("{")
        for i, key in enumerate(sorted(value)):  # code-point order == Go's byte order
            if i:
                out.append(",")
            out.append(_go_string(key, table))
            out.append(":")
            encode(value[key], out, table)
        out.append("}")
    elif isinstance(value, list):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            encode(item, out, table)
        out.append("]")
    elif isinstance(value, Num):
        out.append(str.__str__(value))
    elif isinstance(value, str):
        out.append(_go_string(value, table))
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif value is None:
        out.append("null")
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, float):
        out.append(_go_float(value))
    else:  # pragma: no cover - the parsers produce nothing else
        raise DocError(f"cannot encode {type(value).__name__}")
