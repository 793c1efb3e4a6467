"""``data.yaml`` read the way OPA's YAML-to-JSON step (gopkg.in/yaml, sigs.k8s.io/yaml) reads
it; anything the YAML libraries OPA has shipped disagree on is refused."""

from __future__ import annotations

import math
import re
from typing import Any

import yaml

from igkit.judge.evidence.opa.gojson import TOO_DEEP, DocError, DuplicateKeyError, fix_surrogates

_PLAIN = "tag:igkit:plain"
_STR_TAG = "tag:yaml.org,2002:str"
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_YAML_BOOL = {
    **dict.fromkeys(("true", "True", "TRUE"), True),
    **dict.fromkeys(("false", "False", "FALSE"), False),
}
# YAML 1.1 booleans: gopkg.in/yaml.v2 (older OPA) reads them as booleans, yaml.v3-based
# sigs.k8s.io/yaml (newer OPA) as strings. Which one a signer used is unknowable: refuse.
_YAML_DISPUTED = frozenset(
    "y Y yes Yes YES n N no No NO on On ON off Off OFF".split()  # noqa: SIM905
)
_YAML_NULL = frozenset(("", "~", "null", "Null", "NULL"))
_YAML_NONFINITE = frozenset(
    ".nan .NaN .NAN .inf .Inf .INF +.inf +.Inf +.INF -.inf -.Inf -.INF".split()  # noqa: SIM905
)
_GO_INT = re.compile(r"([+-]?)(0[xX][0-9a-fA-F]+|0[bB][01]+|0[oO][0-7]+|0[0-7]*|[1-9][0-9]*)")
_YAML_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_DOT_FLOAT = re.compile(r"\.[0-9]+([eE][-+]?[0-9]+)?")
_YAML_NODE_BUDGET = 1_000_000  # alias expansion ("billion laughs") stops here
_YAML_MAX_DEPTH = 500


class _NodeLoader(yaml.SafeLoader):
    """Composes nodes only; plain scalars are tagged ``_PLAIN`` and resolved Go's way."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is yaml.ScalarNode and implicit[0]:
            return _PLAIN
        return super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]


def _go_int(text: str) -> int | None:
    """``strconv.ParseInt(text, 0, 64)``, then ``ParseUint``: the value, or None."""
    m = _GO_INT.fullmatch(text)
    if not m:
        return None
    sign, body = m.groups()
    if len(body) > 1 and body[0] == "0" and body[1] in "xXbBoO":
        value = int(body[2:], {"x": 16, "b": 2, "o": 8}[body[1].lower()])
    elif len(body) > 1 and body[0] == "0":
        value = int(body, 8)
    else:
        value = int(body)
    if sign == "-":
        return -value if value <= 2**63 else None
    if sign == "+":
        return value if value < 2**63 else None
    return value if value < 2**64 else None


def _yaml_plain(text: str) -> Any:
    """A plain scalar as gopkg.in/yaml resolves it for an ``interface{}`` target."""
    if text in _YAML_DISPUTED:
        raise DocError(
            f"plain YAML scalar {text!r} is a boolean to yaml.v2 but a string to yaml.v3 "
            "(OPA versions differ): quote it or write true/false"
        )
    if text in _YAML_BOOL:
        return _YAML_BOOL[text]
    if text in _YAML_NULL:
        return None
    if text in _YAML_NONFINITE:
        raise DocError(f"{text} (not a finite number) cannot be encoded as JSON")
    if text == "<<":
        raise DocError("YAML merge keys (<<) are not supported")
    if text[0] == ".":
        if _DOT_FLOAT.fullmatch(text):
            f = float(text)
            return f if math.isfinite(f) else text
        return text
    if text[0] in "+-0123456789":
        plain = text.replace("_", "")
        as_int = _go_int(plain)
        if as_int is not None:
            return as_int
        if _YAML_FLOAT.fullmatch(plain):
            f = float(plain)
            if math.isfinite(f):  # Go's ParseFloat fails on overflow: the text stays a string
                return f
        return text  # timestamps too: yaml.v2/v3 keep them as strings in interface{}
    return text


def parse_yaml(data: bytes) -> Any:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("neither JSON nor YAML: not valid UTF-8") from None
    loader = _NodeLoader(text)
    try:
        node = loader.get_single_node()
    except yaml.YAMLError as exc:
        raise ValueError(f"neither JSON nor YAML: {one_line(str(exc))}") from None
    except RecursionError:
        raise ValueError(TOO_DEEP) from None
    finally:
        loader.dispose()
    if node is None:
        return None
    budget = [_YAML_NODE_BUDGET]
    try:
        return _yaml_value(node, budget, 0)
    except DocError as exc:
        raise ValueError(f"YAML: {exc}") from None


def _yaml_value(node: yaml.Node, budget: list[int], depth: int) -> Any:
    budget[0] -= 1
    if budget[0] < 0:
        raise DocError("expands to too many nodes (alias bomb?)")
    if depth > _YAML_MAX_DEPTH:
        raise DocError("nested too deeply (or a recursive alias)")
    if isinstance(node, yaml.ScalarNode):
        if node.tag == _PLAIN:
            return _yaml_plain(str(node.value))
        if node.tag == _STR_TAG:
            return fix_surrogates(str(node.value))
        raise DocError(f"explicit tag {node.tag} is not supported")
    if isinstance(node, yaml.SequenceNode):
        if node.tag != _SEQ_TAG:
            raise DocError(f"explicit tag {node.tag} is not supported")
        return [_yaml_value(item, budget, depth + 1) for item in node.value]
    if isinstance(node, yaml.MappingNode):
        if node.tag != _MAP_TAG:
            raise DocError(f"explicit tag {node.tag} is not supported")
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = _yaml_key(_yaml_value(key_node, budget, depth + 1))
            if key in out:
                raise DuplicateKeyError(
                    f"duplicate key {key!r} (line {key_node.start_mark.line + 1}; yaml.v2 "
                    "keeps the last, yaml.v3 refuses)"
                )
            out[key] = _yaml_value(value_node, budget, depth + 1)
        return out
    raise DocError(f"unsupported YAML node {type(node).__name__}")  # pragma: no cover


def _yaml_key(key: Any) -> str:
    """sigs.k8s.io/yaml's key conversion for the key types it accepts unambiguously."""
    if isinstance(key, str):
        return key
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, int):
        return str(key)
    kind = "null" if key is None else type(key).__name__
    raise DocError(f"a {kind} mapping key has no agreed JSON form: quote it")


def one_line(text: str) -> str:
    return " ".join(text.split())
