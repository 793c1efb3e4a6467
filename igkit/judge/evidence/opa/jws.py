"""The signed token: strict JSON (no duplicate or look-alike keys), base64url, the JWT
header and claims as OPA decodes them."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from igkit.errors import IgkitError
from igkit.judge.evidence.opa.gojson import (
    DocError,
    DuplicateKeyError,
    Num,
    duplicate_path,
    reject_constant,
    unique_pairs,
)
from igkit.timeutil import rfc3339


class RefusedError(IgkitError, ValueError):
    pass


def strict_json(data: bytes, what: str) -> Any:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise RefusedError(f"{what} is not UTF-8") from None
    try:
        return json.loads(
            text,
            object_pairs_hook=unique_pairs,
            parse_float=Num,
            parse_int=Num,
            parse_constant=reject_constant,
        )
    except DuplicateKeyError as exc:
        found = duplicate_path(data, "")
        raise RefusedError(
            f"{what}: {found if found.startswith('duplicate key') else exc}"
        ) from None
    except (json.JSONDecodeError, DocError, RecursionError) as exc:
        msg = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc) or "too deep"
        raise RefusedError(f"{what} is not valid JSON ({msg})") from None


def known_fields(obj: dict[str, Any], fields: Iterable[str], what: str) -> None:
    """Go's ``json.Unmarshal`` matches struct fields case-insensitively: refuse look-alikes."""
    folded = {f.casefold(): f for f in fields}
    for k in obj:
        f = folded.get(k.casefold())
        if f is not None and k != f:
            raise RefusedError(f"{what} has {k!r}, which OPA would read as {f!r}: ambiguous")


def _b64url(part: str, what: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_-]*", part) or len(part) % 4 == 1:
        raise RefusedError(f"the JWT {what} is not unpadded base64url")
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError):
        raise RefusedError(f"the JWT {what} is not base64url") from None


@dataclass
class FileEntry:
    name: str
    hash: str
    algorithm: str


@dataclass
class Claims:
    keyid: str
    scope: str
    iss: str
    files: list[FileEntry]
    iat: int | None
    exp: float | None
    nbf: float | None
    raw: dict[str, Any]


def claim_str(obj: dict[str, Any], key: str, what: str) -> str:
    v = obj.get(key)
    if v is None:
        return ""
    if isinstance(v, Num) or not isinstance(v, str):
        raise RefusedError(f"{what} {key!r} must be a string, not {json_type(v)}")
    return v


def json_type(v: Any) -> str:
    if isinstance(v, Num):
        return "a number"
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, list):
        return "an array"
    if isinstance(v, dict):
        return "an object"
    return "null" if v is None else type(v).__name__


def parse_claims(payload: bytes) -> Claims:
    obj = strict_json(payload, "the JWT payload")
    if not isinstance(obj, dict):
        raise RefusedError(f"the JWT payload is {json_type(obj)}, not an object")
    known_fields(obj, ("keyid", "scope", "iss", "files", "iat"), "the JWT payload")
    files_raw = obj.get("files")
    if files_raw is None:
        files_raw = []
    if not isinstance(files_raw, list):
        raise RefusedError(f"the JWT claim 'files' must be an array, not {json_type(files_raw)}")
    files: list[FileEntry] = []
    for i, entry in enumerate(files_raw):
        if not isinstance(entry, dict):
            raise RefusedError(f"files[{i}] is {json_type(entry)}, not an object")
        known_fields(entry, ("name", "hash", "algorithm"), f"files[{i}]")
        files.append(
            FileEntry(
                name=claim_str(entry, "name", f"files[{i}]"),
                hash=claim_str(entry, "hash", f"files[{i}]"),
                algorithm=claim_str(entry, "algorithm", f"files[{i}]"),
            )
        )
    iat_raw = obj.get("iat")
    iat: int | None = None
    if iat_raw is not None:
        if not isinstance(iat_raw, Num) or not re.fullmatch(r"-?[0-9]+", iat_raw):
            raise RefusedError(
                f"the JWT claim 'iat' must be an integer (OPA decodes it as int64), not {iat_raw!r}"
            )
        iat = int(iat_raw)
        if not -(2**63) <= iat < 2**63:
            raise RefusedError("the JWT claim 'iat' does not fit in an int64")
    return Claims(
        keyid=claim_str(obj, "keyid", "the JWT claim"),
        scope=claim_str(obj, "scope", "the JWT claim"),
        iss=claim_str(obj, "iss", "the JWT claim"),
        files=files,
        iat=iat,
        exp=_numeric_date(obj, "exp"),
        nbf=_numeric_date(obj, "nbf"),
        raw=obj,
    )


def _numeric_date(obj: dict[str, Any], key: str) -> float | None:
    v = obj.get(key)
    if v is None:
        return None
    if not isinstance(v, Num):
        raise RefusedError(f"the JWT claim {key!r} must be a number of seconds, not {json_type(v)}")
    return float(v)


def when(ts: float) -> str:
    try:
        return rfc3339(datetime.fromtimestamp(ts, tz=UTC))
    except (OverflowError, OSError, ValueError):
        return f"{ts:g} (unix seconds)"


@dataclass
class Token:
    header: dict[str, Any]
    payload: bytes
    signing_input: bytes
    signature: bytes


def parse_token(token: str) -> Token:
    parts = token.split(".")
    if len(parts) != 3:
        raise RefusedError(f"not a compact JWS: {len(parts)} dot-separated part(s), expected 3")
    header_bytes = _b64url(parts[0], "header")
    header = strict_json(header_bytes, "the JWT header")
    if not isinstance(header, dict):
        raise RefusedError("the JWT header is not a JSON object")
    alg = header.get("alg")
    if not isinstance(alg, str) or isinstance(alg, Num) or not alg:
        raise RefusedError("the JWT header has no 'alg'")
    if "crit" in header:
        raise RefusedError("the JWT header has 'crit' extensions, which are not supported")
    if "b64" in header:
        raise RefusedError("the JWT header sets 'b64' (unencoded payload), which is not supported")
    kid = header.get("kid")
    if kid is not None and (not isinstance(kid, str) or isinstance(kid, Num)):
        raise RefusedError("the JWT header 'kid' is not a string")
    return Token(
        header=header,
        payload=_b64url(parts[1], "payload"),
        signing_input=f"{parts[0]}.{parts[1]}".encode("ascii"),
        signature=_b64url(parts[2], "signature"),
    )
