"""Strict JSON and YAML readers for every document igkit judges or replays.

Python's ``json`` and PyYAML's safe loader both keep the *last* of two duplicate keys
without a word, so a document with ``vulnerabilities`` twice, or a gate listed twice under
one key, would silently lose half of what it says. Every reader that decides a verdict
goes through :func:`load_json` / :func:`load_yaml`, which refuse:

- a duplicate key at any depth (the error names the key path, e.g. ``gates[0].objectives``);
- JSON's non-standard ``NaN``/``Infinity`` constants and numbers that overflow a float;
- integers too long to convert, nesting deeper than :data:`MAX_DEPTH`;
- YAML alias bombs (more than :data:`MAX_ALIASES` aliases).

Every refusal is a :class:`DocumentError` (an :class:`~igkit.errors.IgkitError` and a
``ValueError``, so older ``except ValueError`` call sites keep working).
"""

from __future__ import annotations

import json
import math
import typing
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import yaml

from igkit.errors import IgkitError

if TYPE_CHECKING:
    from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound="BaseModel")

MAX_ALIASES = 100
MAX_DEPTH = 200


class DocumentError(IgkitError, ValueError):
    """A JSON/YAML document is malformed, ambiguous (duplicate keys) or pathological.

    ``str()`` is ``"WHERE: MESSAGE"``; ``message`` alone serves callers that name the file
    themselves."""

    def __init__(self, message: str, *, where: str | None = None) -> None:
        self.where = where
        self.message = message
        super().__init__(f"{where}: {message}" if where else message)


def key_path(parts: list[str | int]) -> str:
    """``["gates", 0, "id"]`` -> ``gates[0].id``; the top level is ``(top level)``."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out or "(top level)"


class _Duplicate(dict[str, Any]):
    """A JSON object in which a key appeared twice; remembered for the error message."""

    duplicate: str = ""


def _pairs_hook(flag: list[bool]) -> Any:
    """An ``object_pairs_hook`` that marks objects with a repeated key and raises ``flag``."""

    def pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(pairs)
        if len(obj) == len(pairs):
            return obj
        seen: set[str] = set()
        dup = _Duplicate(obj)
        for key, _ in pairs:
            if key in seen:
                dup.duplicate = key
                break
            seen.add(key)
        flag.append(True)
        return dup

    return pairs


def _find_duplicate(node: Any, path: list[str | int]) -> tuple[list[str | int], str] | None:
    stack: list[tuple[Any, list[str | int]]] = [(node, path)]
    while stack:
        current, where = stack.pop()
        if isinstance(current, _Duplicate):
            return where, current.duplicate
        if isinstance(current, dict):
            stack.extend((v, [*where, k]) for k, v in reversed(list(current.items())))
        elif isinstance(current, list):
            stack.extend((v, [*where, i]) for i, v in reversed(list(enumerate(current))))
    return None


def _constant(name: str) -> Any:
    raise DocumentError(f"non-standard JSON constant {name} (NaN/Infinity are not JSON)")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise DocumentError(f"number {text[:40]} overflows a 64-bit float")
    return value


_KEEP = b'"[]{}'
_DROP = bytes(c for c in range(256) if c not in _KEEP)


def _max_depth(text: str) -> int:
    """Deepest ``[``/``{`` nesting outside JSON strings.

    Escapes go first (``\\\\`` then ``\\"``), every byte but quotes and brackets is
    dropped (all C-speed bytes operations), and numpy scans what is left."""
    raw = text.encode("utf-8", "surrogatepass").replace(b"\\\\", b"").replace(b'\\"', b"")
    b = np.frombuffer(raw.translate(None, _DROP), dtype=np.uint8)
    if not b.size:
        return 0
    outside = np.cumsum(b == 0x22) % 2 == 0  # a closing quote itself counts as outside
    step = np.where(outside & ((b == 0x5B) | (b == 0x7B)), 1, 0) - np.where(
        outside & ((b == 0x5D) | (b == 0x7D)), 1, 0
    )
    return int(np.cumsum(step).max(initial=0))


def _decoded(data: str | bytes, where: str) -> str:
    """UTF-8 text without a byte-order mark; other bytes are a DocumentError."""
    if isinstance(data, str):
        return data.removeprefix("\ufeff")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentError(f"not UTF-8 text (byte {exc.start})", where=where) from None


def load_json(data: str | bytes, *, where: str, check_depth: bool = True) -> Any:
    """Parse standard JSON strictly (see the module docstring); raise :class:`DocumentError`
    naming ``where`` and, for a duplicate key, its path.

    ``check_depth=False`` skips the nesting scan for callers that validate a fixed shape
    right after parsing (a Prometheus answer): the parser's own recursion guard remains."""
    text = _decoded(data, where)
    if check_depth and _max_depth(text) > MAX_DEPTH:
        raise DocumentError(
            f"JSON nested too deeply (more than {MAX_DEPTH} levels); refused", where=where
        )
    flag: list[bool] = []
    try:
        obj = json.loads(
            text,
            object_pairs_hook=_pairs_hook(flag),
            parse_constant=_constant,
            parse_float=_finite_float,
        )
    except DocumentError as exc:
        raise DocumentError(exc.message, where=where) from None
    except json.JSONDecodeError as exc:
        raise DocumentError(
            f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}", where=where
        ) from None
    except RecursionError:
        raise DocumentError("JSON nested too deeply; refused", where=where) from None
    except ValueError as exc:  # e.g. an integer longer than Python converts
        raise DocumentError(f"unreadable number ({str(exc)[:80]})", where=where) from None
    found = _find_duplicate(obj, []) if flag else None
    if found is not None:
        path, key = found
        raise DocumentError(
            f"duplicate key {key!r} in {key_path(path)} (a reader would silently keep one)",
            where=where,
        )
    return obj


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, yaml.Node] = {}
        for key_node, _value in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # merged keys may be overridden: that is what '<<' means
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                continue  # SafeConstructor reports unhashable keys itself
            if key in seen:
                mark = key_node.start_mark
                raise _DuplicateYamlKeyError(
                    key, mark, getattr(self, "_paths", {}).get(id(node), [])
                )
            seen[key] = key_node
        return super().construct_mapping(node, deep=deep)


class _DuplicateYamlKeyError(Exception):
    def __init__(self, key: Any, mark: Any, path: list[str | int]) -> None:
        self.key, self.mark, self.path = key, mark, path


def _node_paths(root: yaml.Node) -> dict[int, list[str | int]]:
    """id(mapping node) -> its key path, for duplicate-key messages."""
    paths: dict[int, list[str | int]] = {}
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, list[str | int]]] = [(root, [])]
    while stack:
        node, path = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            paths[id(node)] = path
            for key_node, value_node in node.value:
                label = key_node.value if isinstance(key_node, yaml.ScalarNode) else "?"
                stack.append((value_node, [*path, str(label)]))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((child, [*path, i]) for i, child in enumerate(node.value))
    return paths


def _aliases(text: str) -> Iterator[yaml.Event]:
    return (
        ev for ev in yaml.parse(text, Loader=yaml.SafeLoader) if isinstance(ev, yaml.AliasEvent)
    )


def load_yaml(text: str | bytes, *, where: str) -> Any:
    """Parse YAML with the safe loader, strictly (see the module docstring).

    Raises :class:`DocumentError` with ``where``, the line/column and, for a duplicate
    key, its path.
    """
    text = _decoded(text, where)
    try:
        aliases = sum(1 for _ in _aliases(text))
        if aliases > MAX_ALIASES:
            raise DocumentError(
                f"{aliases} YAML aliases (more than {MAX_ALIASES}): refusing a possible alias bomb",
                where=where,
            )
        loader = _StrictLoader(text)
        try:
            root = loader.get_single_node()
            if root is None:
                return None
            loader._paths = _node_paths(root)  # type: ignore[attr-defined]
            return loader.construct_document(root)
        finally:
            loader.dispose()
    except _DuplicateYamlKeyError as dup:
        line = f"line {dup.mark.line + 1}: " if dup.mark else ""
        raise DocumentError(
            f"{line}duplicate key {dup.key!r} in {key_path(dup.path)} "
            "(a reader would silently keep one)",
            where=where,
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        pos = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise DocumentError(f"invalid YAML at {pos}{exc.problem or exc}", where=where) from None
    except yaml.YAMLError as exc:
        raise DocumentError(f"invalid YAML: {exc}", where=where) from None
    except RecursionError:
        raise DocumentError("YAML nested too deeply; refused", where=where) from None
    except (ValueError, TypeError, OverflowError) as exc:  # a scalar the constructor cannot build
        raise DocumentError(f"unreadable value ({exc})", where=where) from None


# --------------------------------------------------------------------------- pydantic errors


def validation_problem(
    exc: ValidationError, model: type[BaseModel] | None = None
) -> tuple[tuple[int | str, ...], str]:
    """The first problem of a pydantic ``exc`` as (location, one line people can act on),
    noting how many more there are (for callers that report one line).

    ``model`` (the validated model) lets an unknown field list the allowed ones."""
    errors = exc.errors(include_url=False)
    loc, problem = _error_problem(errors[0], model)
    if len(errors) > 1:
        problem += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    return loc, problem


def _error_problem(error: Any, model: type[BaseModel] | None) -> tuple[tuple[int | str, ...], str]:
    """One pydantic error as (location, one line people can act on)."""
    loc = tuple(error["loc"])
    kind = error["type"]
    if kind == "missing":
        problem = "required field is missing"
    elif kind == "extra_forbidden":
        allowed = _allowed_fields(model, loc) if model is not None else []
        problem = "unknown field" + (f" (allowed: {', '.join(allowed)})" if allowed else "")
    elif kind == "value_error":
        problem = str(error.get("ctx", {}).get("error", error["msg"]))
    elif kind == "string_too_short":
        problem = "must not be empty"
    elif "input" in error and not isinstance(error["input"], dict | list):
        problem = f"{error['msg']} (got {_shown(error['input'])})"
    else:
        problem = error["msg"]
    return loc, str(problem)


def field_path(
    loc: Sequence[int | str], data: Any = None, *, root: str = "", kind: str = "missing"
) -> str:
    """``("gates", 0, "objectives", 2, "threshold")`` -> ``gates[0](G1).objectives[2](p95).threshold``.

    With the validated ``data``, a list item is named by its ``id`` or ``name``, and the tag
    pydantic puts in the path of a discriminated union (``prometheus``, ``all_steps``: a part
    that is no key of the data where it stands) is left out; ``kind`` is pydantic's error
    type (a missing field, the default, is never taken for a tag)."""
    out, node = root, data
    for i, part in enumerate(loc):
        if isinstance(part, int):
            out += f"[{part}]"
            node = node[part] if isinstance(node, list) and part < len(node) else None
            ident = (node.get("id") or node.get("name")) if isinstance(node, dict) else None
            if isinstance(ident, str):
                out += f"({ident})"
        elif isinstance(node, dict) and part in node:
            out += ("." if out else "") + part
            node = node[part]
        elif isinstance(node, dict) and _is_tag(loc, i, node, kind):
            continue
        else:
            out += ("." if out else "") + part
            node = None
    return out or "(top level)"


def load_model(model: type[M], data: str | bytes, *, where: str) -> M:
    """Strict JSON (:func:`load_json`) validated into ``model``; any problem, parse or shape,
    is one :class:`DocumentError` line ``WHERE: field.path: message``."""
    from pydantic import ValidationError

    doc = load_json(data, where=where)
    try:
        return model.model_validate(doc)
    except ValidationError as exc:
        raise DocumentError(validation_message(exc, data=doc, model=model), where=where) from None


def validation_message(
    exc: ValidationError,
    *,
    data: Any = None,
    model: type[BaseModel] | None = None,
    root: str = "",
) -> str:
    """``field.path: message`` for the first problem of ``exc`` (see :func:`field_path`);
    callers prefix the file, giving ``FILE: field.path: message``."""
    loc, problem = validation_problem(exc, model)
    kind = exc.errors(include_url=False)[0]["type"]
    return f"{field_path(loc, data, root=root, kind=kind)}: {problem}"


def validation_messages(
    exc: ValidationError,
    *,
    data: Any = None,
    model: type[BaseModel] | None = None,
    root: str = "",
) -> list[str]:
    """Every problem of ``exc``, one ``field.path: message`` line each (``matrix validate``
    lists them all; :func:`validation_message` is the one-line form)."""
    lines = []
    for error in exc.errors(include_url=False):
        loc, problem = _error_problem(error, model)
        lines.append(f"{field_path(loc, data, root=root, kind=error['type'])}: {problem}")
    return list(dict.fromkeys(lines))


def _is_tag(loc: Sequence[int | str], i: int, node: dict[str, Any], kind: str) -> bool:
    """A union tag equals the node's ``type``/``kind``, or is followed by a key of the same
    node, or ends the path of a model-level problem (a missing field also ends the path, but
    names the field itself)."""
    if _part_is_discriminator(node, loc[i]):
        return True
    rest = loc[i + 1 :]
    if rest:
        return isinstance(rest[0], str) and rest[0] in node
    return kind != "missing"


def _part_is_discriminator(node: dict[str, Any], part: int | str) -> bool:
    """The matrix's unions are tagged by ``type`` (objectives) or ``kind`` (rules): a path
    part equal to the node's tag is the tag, even when a missing field follows it."""
    return any(node.get(tag) == part for tag in ("type", "kind"))


def _model_in(annotation: object) -> type[BaseModel] | None:
    from pydantic import BaseModel

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _allowed_fields(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    current: type[BaseModel] | None = model
    for part in loc[:-1]:
        if isinstance(part, int) or current is None:
            continue
        info = current.model_fields.get(part)
        current = _model_in(info.annotation) if info is not None else None
    return list(current.model_fields) if current is not None else []


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
