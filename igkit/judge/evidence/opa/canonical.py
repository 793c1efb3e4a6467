"""The bytes OPA hashes for a bundle file (``bundle.walk`` over the parsed document)."""

from __future__ import annotations

from pathlib import PurePosixPath

from igkit.judge.evidence.opa.gojson import (
    GO_ESC,
    LEGACY_ESC,
    TOO_DEEP,
    DocError,
    DuplicateKeyError,
    TooDeepError,
    duplicate_path,
    encode,
    parse_go_json,
)
from igkit.judge.evidence.opa.goyaml import parse_yaml

# bundle.IsStructuredDoc: these base names are hashed as parsed documents, not bytes.
# (data.yml is NOT in OPA's list: it is hashed as raw bytes.)
STRUCTURED = frozenset({"data.json", "data.yaml", ".manifest"})
_JSON_ONLY = frozenset({"data.json", ".manifest"})  # OPA later loads these with a JSON decoder


def canonical_form(name: str, data: bytes) -> bytes:
    """The bytes OPA hashes for a bundle file: ``data`` itself, or for a file whose base name
    is ``data.json``, ``data.yaml`` or ``.manifest`` its parsed value re-encoded canonically:
    object keys sorted, no whitespace, numbers as written (Go ``json.Number``), strings as
    Go's ``encoding/json`` writes them with HTML escaping off (``<``, ``>``, ``&`` literal;
    ``\\u2028``/``\\u2029`` and control characters escaped; ``\\b``/``\\f`` short), invalid
    UTF-8 and lone surrogates as U+FFFD. ``data.yaml`` that is not JSON is read as YAML the
    way OPA's YAML-to-JSON step reads it. Raises ValueError when OPA could not parse it.
    """
    return canonical(name, data, legacy=False)


def canonical(name: str, data: bytes, *, legacy: bool) -> bytes:
    base = PurePosixPath(name).name
    if base not in STRUCTURED:
        return bytes(data)
    body = data[3:] if data[:3] == b"\xef\xbb\xbf" else data  # util.Unmarshal strips a BOM
    try:
        value = parse_go_json(body)
    except TooDeepError:
        raise ValueError(TOO_DEEP) from None
    except DuplicateKeyError as exc:
        raise DuplicateKeyError(duplicate_path(body, str(exc))) from None
    except DocError as exc:
        if base in _JSON_ONLY:
            raise ValueError(f"not valid JSON ({exc}); OPA loads {base} as JSON") from None
        value = parse_yaml(body)
    out: list[str] = []
    try:
        encode(value, out, LEGACY_ESC if legacy else GO_ESC)
    except RecursionError:
        raise ValueError(TOO_DEEP) from None
    except DocError as exc:
        raise ValueError(str(exc)) from None
    return "".join(out).encode("utf-8")
