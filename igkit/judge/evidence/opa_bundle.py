"""OPA policy-bundle signatures, verified offline the way OPA verifies them.

A signed bundle carries ``/.signatures.json``: ``{"signatures": ["<JWT>"]}`` with exactly one
compact JWS whose payload lists every other file of the bundle (``files: [{name, hash,
algorithm}]``, names relative to the bundle root without a leading ``/``) and may carry
``keyid``, ``scope``, ``iss`` and ``iat``. :func:`verify_bundle` reproduces OPA's checks
(``bundle/verify.go`` and ``bundle/bundle.go`` in open-policy-agent/opa):

* the JWT verifies with the one configured key under the configured algorithm, and its header
  names that algorithm;
* the token's ``scope`` equals the configured scope (an empty scope on both sides matches);
* every bundle file except ``.signatures.json`` and files matching an ``exclude_files`` glob
  (Go ``filepath.Match`` on the path) is listed, and every listed file is present;
* each digest is ``algorithm`` (exact names ``MD5``, ``SHA-1``, ``SHA-224``, ``SHA-256``,
  ``SHA-384``, ``SHA-512``, ``SHA-512-224``, ``SHA-512-256``; OPA refuses a missing one) over
  the raw bytes, except for files whose base name is ``data.json``, ``data.yaml`` or
  ``.manifest``: those are parsed and hashed in OPA's canonical form (:func:`canonical_form`).

Stricter than OPA, on purpose: ``exp``/``nbf``/``iat`` are enforced against ``at`` (OPA ignores
token lifetime), duplicate JSON keys in the signature file, header or claims are refused, and
so is any other file whose name ends in ``signatures.json`` (OPA would read it as the
signatures). A private key given as the verification key, and PEM/SSH key text given as an
HMAC secret, are refused.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import gzip
import hashlib
import hmac
import io
import json
import math
import os
import re
import stat
import tarfile
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import Any

import yaml
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from igkit.errors import ConfigError, IgkitError
from igkit.judge.evidence.checks import Check, error, failed, no_data, passed
from igkit.spec.models import SIGNING_ALGORITHMS
from igkit.strictdoc import DocumentError, load_json
from igkit.timeutil import rfc3339
from igkit.verdicts import Status

__all__ = [
    "HASH_ALGORITHMS",
    "MAX_BUNDLE_BYTES",
    "MAX_BUNDLE_ENTRIES",
    "SIGNATURES_FILE",
    "SIGNING_ALGORITHMS",
    "BundleError",
    "canonical_form",
    "check_verification_key",
    "read_bundle",
    "verify_bundle",
]

SIGNATURES_FILE = ".signatures.json"
MAX_BUNDLE_BYTES = 256 * 1024 * 1024  # uncompressed content, all files together
MAX_BUNDLE_ENTRIES = 10_000  # archive members or directory entries, directories included
# OPA's HashingAlgorithm names (bundle/hash.go), matched exactly, -> hashlib names.
HASH_ALGORITHMS: dict[str, str] = {
    "MD5": "md5",
    "SHA-1": "sha1",
    "SHA-224": "sha224",
    "SHA-256": "sha256",
    "SHA-384": "sha384",
    "SHA-512": "sha512",
    "SHA-512-224": "sha512_224",
    "SHA-512-256": "sha512_256",
}
_WEAK_HASHES = frozenset({"MD5", "SHA-1"})
# bundle.IsStructuredDoc: these base names are hashed as parsed documents, not bytes.
# (data.yml is NOT in OPA's list: it is hashed as raw bytes.)
_STRUCTURED = frozenset({"data.json", "data.yaml", ".manifest"})
_JSON_ONLY = frozenset({"data.json", ".manifest"})  # OPA later loads these with a JSON decoder
_SHA: dict[str, type[hashes.SHA256 | hashes.SHA384 | hashes.SHA512]] = {
    "256": hashes.SHA256,
    "384": hashes.SHA384,
    "512": hashes.SHA512,
}
_HMAC_DIGEST = {"256": "sha256", "384": "sha384", "512": "sha512"}
_EC_CURVE = {"ES256": "secp256r1", "ES384": "secp384r1", "ES512": "secp521r1"}
_EC_NAMES = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}
_MIN_RSA_BITS = 2048

_STEPS = ("signatures file", "jwt", "algorithm", "validity", "scope", "file list", "hashes")


class BundleError(IgkitError):
    """A bundle that could not be read, or that was refused as unsafe; ``message`` says why.

    ``status`` is FAIL for content refused on purpose (path traversal, links, bombs) and
    ERROR for an archive that could not be read at all.
    """

    def __init__(self, message: str, *, status: Status = Status.FAIL) -> None:
        self.message = message
        self.status = status
        super().__init__(message)


# --------------------------------------------------------------------------- reading bundles


def read_bundle(
    path: Path,
    *,
    max_bytes: int = MAX_BUNDLE_BYTES,
    max_entries: int = MAX_BUNDLE_ENTRIES,
) -> dict[str, bytes]:
    """The files of a bundle directory or ``.tar.gz``, keyed as OPA names them in
    ``.signatures.json``: relative to the bundle root, ``/``-separated, no leading ``/``.

    Archives written by ``opa build`` root every member at ``/`` (``/data.json``); OPA strips
    that one ``/``, and so does this reader when *every* regular member carries it. A member
    that is still absolute, mixes with relative members, contains ``..``, ``.`` or empty
    segments, is a link, device or FIFO, repeats a name, or that pushes the bundle past
    ``max_entries`` entries or ``max_bytes`` bytes is refused with :class:`BundleError`
    (nothing is ever written to disk). Directory members are skipped, as OPA skips them.
    Raises :class:`FileNotFoundError` / :class:`OSError` when ``path`` cannot be opened.
    """
    st = os.stat(path)  # follows a symlinked bundle path: the user named it
    if stat.S_ISDIR(st.st_mode):
        return _read_directory(Path(path), max_bytes=max_bytes, max_entries=max_entries)
    if not stat.S_ISREG(st.st_mode):
        raise BundleError(f"{path} is neither a directory nor a file", status=Status.ERROR)
    return _read_tarball(Path(path), max_bytes=max_bytes, max_entries=max_entries)


def _name_problem(name: str) -> str | None:
    """Why a bundle-relative name (leading ``/`` already stripped) is unsafe, or None."""
    if not name:
        return "has an empty name"
    if "\x00" in name:
        return "contains a NUL byte"
    if any(0xDC80 <= ord(ch) <= 0xDCFF for ch in name):
        return "is not valid UTF-8"
    if name.startswith("/"):
        return "is an absolute path"
    parts = name.split("/")
    if ".." in parts:
        return "escapes the bundle root (a '..' segment)"
    if "." in parts:
        return "has a '.' segment (OPA would name it verbatim and never match a signed name)"
    if "" in parts:
        return "has an empty path segment ('//' or a trailing '/')"
    return None


def _read_directory(root: Path, *, max_bytes: int, max_entries: int) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    budget = [max_bytes, max_entries]

    def walk(directory: Path, prefix: str) -> None:
        try:
            with os.scandir(directory) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            raise BundleError(
                f"cannot list {directory}: {exc.strerror or exc}", status=Status.ERROR
            ) from None
        for entry in entries:
            budget[1] -= 1
            if budget[1] < 0:
                raise BundleError(
                    f"refused: the bundle directory has more than {max_entries} entries "
                    "(limit against bundle bombs)"
                )
            rel = prefix + entry.name
            problem = _name_problem(rel)
            if problem:
                raise BundleError(f"refused entry {rel!r}: it {problem}")
            st = entry.stat(follow_symlinks=False)
            if stat.S_ISLNK(st.st_mode):
                raise BundleError(
                    f"refused entry {rel!r}: it is a symbolic link (a bundle holds regular "
                    "files only; a link could point outside it)"
                )
            if stat.S_ISDIR(st.st_mode):
                walk(Path(entry.path), rel + "/")
                continue
            if not stat.S_ISREG(st.st_mode):
                raise BundleError(
                    f"refused entry {rel!r}: it is a {_mode_kind(st.st_mode)}, not a regular file"
                )
            if st.st_size > budget[0]:
                raise BundleError(
                    f"refused: the bundle is larger than {max_bytes} bytes "
                    f"(at {rel!r}; limit against bundle bombs)"
                )
            try:
                with open(entry.path, "rb") as fh:
                    data = fh.read(budget[0] + 1)
            except OSError as exc:
                raise BundleError(
                    f"cannot read {rel!r}: {exc.strerror or exc}", status=Status.ERROR
                ) from None
            if len(data) > budget[0]:
                raise BundleError(f"refused: the bundle is larger than {max_bytes} bytes")
            budget[0] -= len(data)
            out[rel] = data

    walk(root, "")
    return out


def _mode_kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISCHR(mode):
        return "character device"
    if stat.S_ISBLK(mode):
        return "block device"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "special file"


class _TooBigError(Exception):
    pass


class _BoundedReader(io.RawIOBase):
    """Decompressed bytes, refused past ``limit``: a gzip bomb stops here, not in memory."""

    def __init__(self, inner: io.BufferedIOBase | gzip.GzipFile, limit: int) -> None:
        self._inner = inner
        self._left = limit

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        view = memoryview(b).cast("B")
        data = self._inner.read(min(len(view), self._left + 1))
        if len(data) > self._left:
            raise _TooBigError
        self._left -= len(data)
        view[: len(data)] = data
        return len(data)


_TAR_KINDS = {
    tarfile.SYMTYPE: "symbolic link",
    tarfile.LNKTYPE: "hard link",
    tarfile.CHRTYPE: "character device",
    tarfile.BLKTYPE: "block device",
    tarfile.FIFOTYPE: "FIFO",
    tarfile.CONTTYPE: "contiguous file",
    tarfile.GNUTYPE_SPARSE: "sparse file",
}


def _read_tarball(path: Path, *, max_bytes: int, max_entries: int) -> dict[str, bytes]:
    members: list[tuple[str, bytes]] = []
    content_left = max_bytes
    # Headers cost 512 bytes each (long names and pax records more): allow them on top.
    stream_limit = max_bytes + (max_entries + 2) * 4 * 512 + 1024 * 1024
    try:
        with open(path, "rb") as raw:
            if raw.read(2) != b"\x1f\x8b":
                raise BundleError(
                    f"{path.name} is not gzip-compressed (an OPA bundle archive is a .tar.gz)",
                    status=Status.ERROR,
                )
            raw.seek(0)
            with (
                gzip.GzipFile(fileobj=raw, mode="rb") as gz,
                _BoundedReader(gz, stream_limit) as bounded,
                tarfile.open(fileobj=bounded, mode="r|") as tar,
            ):
                count = 0
                for member in tar:
                    count += 1
                    if count > max_entries:
                        raise BundleError(
                            f"refused: the archive has more than {max_entries} entries "
                            "(limit against tar bombs)"
                        )
                    name = member.name
                    if member.isdir():
                        if ".." in name.split("/"):
                            raise BundleError(
                                f"refused entry {name!r}: it escapes the bundle root "
                                "(a '..' segment)"
                            )
                        continue
                    if member.type not in (tarfile.REGTYPE, tarfile.AREGTYPE):
                        kind = _TAR_KINDS.get(member.type, f"member of type {member.type!r}")
                        target = f" -> {member.linkname!r}" if member.linkname else ""
                        raise BundleError(
                            f"refused entry {name!r}{target}: it is a {kind}, not a regular "
                            "file (a bundle holds regular files only)"
                        )
                    if ".." in name.split("/"):
                        raise BundleError(
                            f"refused entry {name!r}: it escapes the bundle root (a '..' segment)"
                        )
                    if member.size > content_left:
                        raise BundleError(
                            f"refused: the archive expands past {max_bytes} bytes "
                            f"(at {name!r}; limit against tar bombs)"
                        )
                    fh = tar.extractfile(member)
                    data = fh.read() if fh is not None else b""
                    if len(data) != member.size:
                        raise BundleError(
                            f"{name!r} is truncated in the archive", status=Status.ERROR
                        )
                    content_left -= len(data)
                    members.append((name, data))
    except _TooBigError:
        raise BundleError(
            f"refused: the archive expands past {max_bytes} bytes (limit against gzip bombs)"
        ) from None
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise BundleError(
            f"{path.name} is not a readable .tar.gz: {exc}", status=Status.ERROR
        ) from None
    return _normalise_members(members)


def _normalise_members(members: list[tuple[str, bytes]]) -> dict[str, bytes]:
    rooted = [n for n, _ in members if n.startswith("/")]
    if rooted and len(rooted) != len(members):
        raise BundleError(
            f"refused entry {rooted[0]!r}: it is an absolute path among relative entries "
            "(archives written by opa build root every entry at '/'; this one mixes both)"
        )
    out: dict[str, bytes] = {}
    for raw, data in members:
        name = raw[1:] if rooted else raw
        problem = _name_problem(name)
        if problem:
            raise BundleError(f"refused entry {raw!r}: it {problem}")
        if name in out:
            raise BundleError(
                f"refused: {raw!r} appears twice in the archive (which copy counts is ambiguous)"
            )
        out[name] = data
    return out


# --------------------------------------------------------------------- canonical JSON (OPA)


class _Num(str):
    """A JSON number kept as its literal text, as Go's ``json.Number`` keeps it."""

    __slots__ = ()


class _DocError(ValueError):
    pass


class _TooDeepError(_DocError):
    pass


_TOO_DEEP = (
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


def _fix(s: str) -> str:
    """Lone surrogates (from ``\\ud800`` escapes) become U+FFFD, as in Go."""
    return _SURROGATE.sub("\ufffd", s) if _SURROGATE.search(s) else s


def _reject_constant(name: str) -> Any:
    raise _DocError(f"{name} is not JSON")


class _DuplicateKeyError(ValueError):
    """A key repeated in one object of a structured bundle file. Go's decoder keeps the
    last value (so OPA would hash and load it), but half of what the file says would be
    silently dropped: igkit refuses the file instead."""


def _pairs_unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        key = _fix(k)
        if key in out:
            raise _DuplicateKeyError(f"duplicate key {key!r}")
        out[key] = v
    return out


def _duplicate_path(body: bytes, fallback: str) -> str:
    """The duplicate's key path as :func:`igkit.strictdoc.load_json` names it, when it can."""
    try:
        load_json(body, where="")
    except DocumentError as exc:
        if exc.message.startswith("duplicate key"):
            return exc.message
    return f"{fallback} (a reader would silently keep one)"


_JSON_DECODER = json.JSONDecoder(
    object_pairs_hook=_pairs_unique,
    parse_float=_Num,
    parse_int=_Num,
    parse_constant=_reject_constant,
)


def _parse_go_json(data: bytes) -> Any:
    """``json.Decoder`` with ``UseNumber`` over ``data`` (BOM already stripped)."""
    text = data.decode("utf-8", "igkit-go-utf8")
    try:
        return _JSON_DECODER.decode(text)
    except RecursionError:
        raise _TooDeepError(_TOO_DEEP) from None
    except json.JSONDecodeError as exc:
        raise _DocError(f"{exc.msg} at line {exc.lineno} column {exc.colno}") from None


_GO_ESC = {chr(i): f"\\u{i:04x}" for i in range(0x20)}
_GO_ESC.update(
    {
        '"': '\\"',
        "\\": "\\\\",
        "\n": "\\n",
        "\r": "\\r",
        "\t": "\\t",
        "\b": "\\b",  # Go >= 1.22; older Go wrote \u0008 (see _LEGACY_ESC)
        "\f": "\\f",
        "\u2028": "\\u2028",
        "\u2029": "\\u2029",
    }
)
_LEGACY_ESC = {**_GO_ESC, "\b": "\\u0008", "\f": "\\u000c"}
_GO_ESC_RE = re.compile('[\x00-\x1f"\\\\\u2028\u2029]')


def _go_string(s: str, table: Mapping[str, str]) -> str:
    """Go ``encoding/json`` with ``SetEscapeHTML(false)``: ``<``, ``>``, ``&`` stay literal."""
    return '"' + _GO_ESC_RE.sub(lambda m: table[m.group()], _fix(s)) + '"'


def _go_float(f: float) -> str:
    """A float64 as Go's ``json.Marshal`` writes it (YAML-sourced numbers only)."""
    if not math.isfinite(f):
        raise _DocError(f"{f} cannot be encoded as JSON")
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


def _encode(value: Any, out: list[str], table: Mapping[str, str]) -> None:
    """OPA's ``bundle.walk``: objects with keys sorted, no whitespace, Go escaping."""
    if isinstance(value, dict):
        out.append("{")
        for i, key in enumerate(sorted(value)):  # code-point order == Go's byte order
            if i:
                out.append(",")
            out.append(_go_string(key, table))
            out.append(":")
            _encode(value[key], out, table)
        out.append("}")
    elif isinstance(value, list):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _encode(item, out, table)
        out.append("]")
    elif isinstance(value, _Num):
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
        raise _DocError(f"cannot encode {type(value).__name__}")


def canonical_form(name: str, data: bytes) -> bytes:
    """The bytes OPA hashes for a bundle file: ``data`` itself, or for a file whose base name
    is ``data.json``, ``data.yaml`` or ``.manifest`` its parsed value re-encoded canonically:
    object keys sorted, no whitespace, numbers as written (Go ``json.Number``), strings as
    Go's ``encoding/json`` writes them with HTML escaping off (``<``, ``>``, ``&`` literal;
    ``\\u2028``/``\\u2029`` and control characters escaped; ``\\b``/``\\f`` short), invalid
    UTF-8 and lone surrogates as U+FFFD. ``data.yaml`` that is not JSON is read as YAML the
    way OPA's YAML-to-JSON step reads it. Raises ValueError when OPA could not parse it.
    """
    return _canonical(name, data, legacy=False)


def _canonical(name: str, data: bytes, *, legacy: bool) -> bytes:
    base = PurePosixPath(name).name
    if base not in _STRUCTURED:
        return bytes(data)
    body = data[3:] if data[:3] == b"\xef\xbb\xbf" else data  # util.Unmarshal strips a BOM
    try:
        value = _parse_go_json(body)
    except _TooDeepError:
        raise ValueError(_TOO_DEEP) from None
    except _DuplicateKeyError as exc:
        raise _DuplicateKeyError(_duplicate_path(body, str(exc))) from None
    except _DocError as exc:
        if base in _JSON_ONLY:
            raise ValueError(f"not valid JSON ({exc}); OPA loads {base} as JSON") from None
        value = _parse_yaml(body)
    out: list[str] = []
    try:
        _encode(value, out, _LEGACY_ESC if legacy else _GO_ESC)
    except RecursionError:
        raise ValueError(_TOO_DEEP) from None
    except _DocError as exc:
        raise ValueError(str(exc)) from None
    return "".join(out).encode("utf-8")


# ------------------------------------------------------------------- YAML (data.yaml only)

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
        raise _DocError(
            f"plain YAML scalar {text!r} is a boolean to yaml.v2 but a string to yaml.v3 "
            "(OPA versions differ): quote it or write true/false"
        )
    if text in _YAML_BOOL:
        return _YAML_BOOL[text]
    if text in _YAML_NULL:
        return None
    if text in _YAML_NONFINITE:
        raise _DocError(f"{text} (not a finite number) cannot be encoded as JSON")
    if text == "<<":
        raise _DocError("YAML merge keys (<<) are not supported")
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


def _parse_yaml(data: bytes) -> Any:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("neither JSON nor YAML: not valid UTF-8") from None
    loader = _NodeLoader(text)
    try:
        node = loader.get_single_node()
    except yaml.YAMLError as exc:
        raise ValueError(f"neither JSON nor YAML: {_one_line(str(exc))}") from None
    except RecursionError:
        raise ValueError(_TOO_DEEP) from None
    finally:
        loader.dispose()
    if node is None:
        return None
    budget = [_YAML_NODE_BUDGET]
    try:
        return _yaml_value(node, budget, 0)
    except _DocError as exc:
        raise ValueError(f"YAML: {exc}") from None


def _yaml_value(node: yaml.Node, budget: list[int], depth: int) -> Any:
    budget[0] -= 1
    if budget[0] < 0:
        raise _DocError("expands to too many nodes (alias bomb?)")
    if depth > _YAML_MAX_DEPTH:
        raise _DocError("nested too deeply (or a recursive alias)")
    if isinstance(node, yaml.ScalarNode):
        if node.tag == _PLAIN:
            return _yaml_plain(str(node.value))
        if node.tag == _STR_TAG:
            return _fix(str(node.value))
        raise _DocError(f"explicit tag {node.tag} is not supported")
    if isinstance(node, yaml.SequenceNode):
        if node.tag != _SEQ_TAG:
            raise _DocError(f"explicit tag {node.tag} is not supported")
        return [_yaml_value(item, budget, depth + 1) for item in node.value]
    if isinstance(node, yaml.MappingNode):
        if node.tag != _MAP_TAG:
            raise _DocError(f"explicit tag {node.tag} is not supported")
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = _yaml_key(_yaml_value(key_node, budget, depth + 1))
            if key in out:
                raise _DuplicateKeyError(
                    f"duplicate key {key!r} (line {key_node.start_mark.line + 1}; yaml.v2 "
                    "keeps the last, yaml.v3 refuses)"
                )
            out[key] = _yaml_value(value_node, budget, depth + 1)
        return out
    raise _DocError(f"unsupported YAML node {type(node).__name__}")  # pragma: no cover


def _yaml_key(key: Any) -> str:
    """sigs.k8s.io/yaml's key conversion for the key types it accepts unambiguously."""
    if isinstance(key, str):
        return key
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, int):
        return str(key)
    kind = "null" if key is None else type(key).__name__
    raise _DocError(f"a {kind} mapping key has no agreed JSON form: quote it")


def _one_line(text: str) -> str:
    return " ".join(text.split())


# ------------------------------------------------------------------------------ Go globs


def _go_glob(pattern: str) -> re.Pattern[str]:
    """Go ``path/filepath.Match`` as a regex: ``*``/``?`` never match ``/``; ``[^...]``
    classes and ``\\`` escapes; the whole path must match. ValueError for a bad pattern."""
    out: list[str] = []
    i, n = 0, len(pattern)

    def esc(j: int) -> tuple[str, int]:  # Go's getEsc
        if j >= n or pattern[j] in "-]":
            raise ValueError("bad character class")
        if pattern[j] == "\\":
            j += 1
            if j >= n:
                raise ValueError("dangling '\\'")
        if j + 1 >= n:
            raise ValueError("unterminated character class")
        return pattern[j], j + 1

    while i < n:
        c = pattern[i]
        if c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "\\":
            if i + 1 >= n:
                raise ValueError("dangling '\\'")
            out.append(re.escape(pattern[i + 1]))
            i += 2
        elif c == "[":
            i += 1
            negated = i < n and pattern[i] == "^"
            if negated:
                i += 1
            ranges: list[tuple[str, str]] = []
            while True:
                if i < n and pattern[i] == "]" and ranges:
                    i += 1
                    break
                lo, i = esc(i)
                hi = lo
                if i < n and pattern[i] == "-":
                    hi, i = esc(i + 1)
                ranges.append((lo, hi))
            usable = [(lo, hi) for lo, hi in ranges if lo <= hi]  # Go: reversed never matches
            body = "".join(f"{re.escape(lo)}-{re.escape(hi)}" for lo, hi in usable)
            if not usable:
                out.append("(?s:.)" if negated else "(?!)")
            else:
                out.append(f"[{'^' if negated else ''}{body}]")
        else:
            out.append(re.escape(c))
            i += 1
    return re.compile("(?s:" + "".join(out) + r")\Z")


# ------------------------------------------------------------------------------------ keys


@dataclass(frozen=True)
class _Key:
    alg: str
    obj: rsa.RSAPublicKey | ec.EllipticCurvePublicKey | bytes
    describe: str


class _KeyProblemError(Exception):
    def __init__(self, message: str, *, confusion: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.confusion = confusion


def _load_key(key: str, alg: str) -> _Key:
    raw = key.encode("utf-8", "surrogateescape")
    if alg.startswith("HS"):
        if not raw:
            raise _KeyProblemError(f"the {alg} secret is empty")
        if b"-----BEGIN" in raw or raw.lstrip().startswith((b"ssh-", b"ecdsa-sha2-")):
            raise _KeyProblemError(
                f"the {alg} secret is PEM/SSH key text: refusing it as an HMAC secret "
                "(algorithm confusion: anyone holding that public key could sign)",
                confusion=True,
            )
        return _Key(alg, raw, f"{len(raw)}-byte HMAC secret")
    if b"-----BEGIN" not in raw:
        raise _KeyProblemError(
            f"{alg} needs a PEM public key; this is not PEM (no -----BEGIN line)"
        )
    if b"PRIVATE KEY-----" in raw:
        raise _KeyProblemError("this is a private key: give the verifier only the public key")
    try:
        if b"-----BEGIN CERTIFICATE-----" in raw:
            public: Any = x509.load_pem_x509_certificate(raw).public_key()
        else:
            public = serialization.load_pem_public_key(raw)
    except (ValueError, UnsupportedAlgorithm, TypeError) as exc:
        raise _KeyProblemError(f"not a loadable PEM public key or certificate ({exc})") from None
    if alg[:2] in ("RS", "PS"):
        if not isinstance(public, rsa.RSAPublicKey):
            raise _KeyProblemError(f"{alg} needs an RSA key, this is {_kind(public)}")
        if public.key_size < _MIN_RSA_BITS:
            raise _KeyProblemError(f"RSA-{public.key_size} is too weak (need >= {_MIN_RSA_BITS})")
        return _Key(alg, public, f"RSA-{public.key_size} public key")
    if not isinstance(public, ec.EllipticCurvePublicKey):
        raise _KeyProblemError(f"{alg} needs an EC key, this is {_kind(public)}")
    if public.curve.name != _EC_CURVE[alg]:
        raise _KeyProblemError(
            f"{alg} needs an EC {_EC_NAMES[_EC_CURVE[alg]]} key, this is "
            f"{_EC_NAMES.get(public.curve.name, public.curve.name)}"
        )
    return _Key(alg, public, f"ECDSA {_EC_NAMES[public.curve.name]} public key")


def _kind(public: Any) -> str:
    if isinstance(public, rsa.RSAPublicKey):
        return f"RSA-{public.key_size}"
    if isinstance(public, ec.EllipticCurvePublicKey):
        return f"EC {_EC_NAMES.get(public.curve.name, public.curve.name)}"
    return type(public).__name__.lstrip("_")


def check_verification_key(key: str, signing_alg: str) -> str:
    """Describe ``key`` (``RSA-2048 public key``...) if it can verify ``signing_alg`` tokens;
    otherwise raise :class:`~igkit.errors.ConfigError`."""
    _check_alg(signing_alg)
    try:
        return _load_key(key, signing_alg).describe
    except _KeyProblemError as exc:
        raise ConfigError(exc.message, where="verification key") from None


def _check_alg(alg: str) -> None:
    if alg not in SIGNING_ALGORITHMS:
        raise ConfigError(
            f"unsupported signing algorithm {alg!r} (use one of {', '.join(SIGNING_ALGORITHMS)})",
            where="signing_alg",
        )


def _verify_signature(key: _Key, signing_input: bytes, signature: bytes) -> bool:
    bits = key.alg[2:]
    try:
        if isinstance(key.obj, bytes):
            mac = hmac.new(key.obj, signing_input, _HMAC_DIGEST[bits]).digest()
            return hmac.compare_digest(mac, signature)
        if isinstance(key.obj, rsa.RSAPublicKey):
            pad: padding.AsymmetricPadding
            if key.alg.startswith("PS"):
                pad = padding.PSS(
                    mgf=padding.MGF1(_SHA[bits]()), salt_length=padding.PSS.DIGEST_LENGTH
                )
            else:
                pad = padding.PKCS1v15()
            key.obj.verify(signature, signing_input, pad, _SHA[bits]())
            return True
        size = (key.obj.curve.key_size + 7) // 8
        if len(signature) != 2 * size:  # JWS ECDSA signatures are raw r || s
            return False
        r = int.from_bytes(signature[:size], "big")
        s = int.from_bytes(signature[size:], "big")
        key.obj.verify(encode_dss_signature(r, s), signing_input, ec.ECDSA(_SHA[bits]()))
        return True
    except InvalidSignature:
        return False


# ------------------------------------------------------------------------------- parsing


class _RefusedError(ValueError):
    pass


def _strict_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise _RefusedError(f"key {k!r} appears twice")
        out[k] = v
    return out


def _strict_json(data: bytes, what: str) -> Any:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise _RefusedError(f"{what} is not UTF-8") from None
    try:
        return json.loads(
            text,
            object_pairs_hook=_strict_pairs,
            parse_float=_Num,
            parse_int=_Num,
            parse_constant=_reject_constant,
        )
    except _RefusedError as exc:
        found = _duplicate_path(data, "")
        where = f" ({found})" if found.startswith("duplicate key") else ""
        raise _RefusedError(f"{what}: {exc}{where}") from None
    except (json.JSONDecodeError, _DocError, RecursionError) as exc:
        msg = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc) or "too deep"
        raise _RefusedError(f"{what} is not valid JSON ({msg})") from None


def _known_fields(obj: dict[str, Any], fields: Iterable[str], what: str) -> None:
    """Go's ``json.Unmarshal`` matches struct fields case-insensitively: refuse look-alikes."""
    folded = {f.casefold(): f for f in fields}
    for k in obj:
        f = folded.get(k.casefold())
        if f is not None and k != f:
            raise _RefusedError(f"{what} has {k!r}, which OPA would read as {f!r}: ambiguous")


def _b64url(part: str, what: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_-]*", part) or len(part) % 4 == 1:
        raise _RefusedError(f"the JWT {what} is not unpadded base64url")
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError):
        raise _RefusedError(f"the JWT {what} is not base64url") from None


@dataclass
class _FileEntry:
    name: str
    hash: str
    algorithm: str


@dataclass
class _Claims:
    keyid: str
    scope: str
    iss: str
    files: list[_FileEntry]
    iat: int | None
    exp: float | None
    nbf: float | None
    raw: dict[str, Any]


def _claim_str(obj: dict[str, Any], key: str, what: str) -> str:
    v = obj.get(key)
    if v is None:
        return ""
    if isinstance(v, _Num) or not isinstance(v, str):
        raise _RefusedError(f"{what} {key!r} must be a string, not {_json_type(v)}")
    return v


def _json_type(v: Any) -> str:
    if isinstance(v, _Num):
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


def _parse_claims(payload: bytes) -> _Claims:
    obj = _strict_json(payload, "the JWT payload")
    if not isinstance(obj, dict):
        raise _RefusedError(f"the JWT payload is {_json_type(obj)}, not an object")
    _known_fields(obj, ("keyid", "scope", "iss", "files", "iat"), "the JWT payload")
    files_raw = obj.get("files")
    if files_raw is None:
        files_raw = []
    if not isinstance(files_raw, list):
        raise _RefusedError(f"the JWT claim 'files' must be an array, not {_json_type(files_raw)}")
    files: list[_FileEntry] = []
    for i, entry in enumerate(files_raw):
        if not isinstance(entry, dict):
            raise _RefusedError(f"files[{i}] is {_json_type(entry)}, not an object")
        _known_fields(entry, ("name", "hash", "algorithm"), f"files[{i}]")
        files.append(
            _FileEntry(
                name=_claim_str(entry, "name", f"files[{i}]"),
                hash=_claim_str(entry, "hash", f"files[{i}]"),
                algorithm=_claim_str(entry, "algorithm", f"files[{i}]"),
            )
        )
    iat_raw = obj.get("iat")
    iat: int | None = None
    if iat_raw is not None:
        if not isinstance(iat_raw, _Num) or not re.fullmatch(r"-?[0-9]+", iat_raw):
            raise _RefusedError(
                f"the JWT claim 'iat' must be an integer (OPA decodes it as int64), not {iat_raw!r}"
            )
        iat = int(iat_raw)
        if not -(2**63) <= iat < 2**63:
            raise _RefusedError("the JWT claim 'iat' does not fit in an int64")
    return _Claims(
        keyid=_claim_str(obj, "keyid", "the JWT claim"),
        scope=_claim_str(obj, "scope", "the JWT claim"),
        iss=_claim_str(obj, "iss", "the JWT claim"),
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
    if not isinstance(v, _Num):
        raise _RefusedError(
            f"the JWT claim {key!r} must be a number of seconds, not {_json_type(v)}"
        )
    return float(v)


def _when(ts: float) -> str:
    try:
        return rfc3339(datetime.fromtimestamp(ts, tz=UTC))
    except (OverflowError, OSError, ValueError):
        return f"{ts:g} (unix seconds)"


# ---------------------------------------------------------------------------- verifying


@dataclass
class _Token:
    header: dict[str, Any]
    payload: bytes
    signing_input: bytes
    signature: bytes


def _parse_token(token: str) -> _Token:
    parts = token.split(".")
    if len(parts) != 3:
        raise _RefusedError(f"not a compact JWS: {len(parts)} dot-separated part(s), expected 3")
    header_bytes = _b64url(parts[0], "header")
    header = _strict_json(header_bytes, "the JWT header")
    if not isinstance(header, dict):
        raise _RefusedError("the JWT header is not a JSON object")
    alg = header.get("alg")
    if not isinstance(alg, str) or isinstance(alg, _Num) or not alg:
        raise _RefusedError("the JWT header has no 'alg'")
    if "crit" in header:
        raise _RefusedError("the JWT header has 'crit' extensions, which are not supported")
    if "b64" in header:
        raise _RefusedError("the JWT header sets 'b64' (unencoded payload), which is not supported")
    kid = header.get("kid")
    if kid is not None and (not isinstance(kid, str) or isinstance(kid, _Num)):
        raise _RefusedError("the JWT header 'kid' is not a string")
    return _Token(
        header=header,
        payload=_b64url(parts[1], "payload"),
        signing_input=f"{parts[0]}.{parts[1]}".encode("ascii"),
        signature=_b64url(parts[2], "signature"),
    )


def _signatures_file(files: Mapping[str, bytes]) -> tuple[Check, str | None]:
    """The ``signatures file`` check and, when it passes, the one JWT."""
    name = "signatures file"
    impostors = sorted(n for n in files if n.endswith("signatures.json") and n != SIGNATURES_FILE)
    if impostors:
        return (
            failed(
                name,
                f"{', '.join(impostors)}: OPA reads every file whose path ends in "
                "'signatures.json' as the bundle's signatures; only /.signatures.json may",
            ),
            None,
        )
    data = files.get(SIGNATURES_FILE)
    if data is None:
        return (
            failed(
                name,
                "the bundle has no /.signatures.json: it is not signed "
                "(OPA refuses it when a verification key is configured)",
            ),
            None,
        )
    try:
        obj = _strict_json(data, "/.signatures.json")
        if not isinstance(obj, dict):
            raise _RefusedError(f"/.signatures.json is {_json_type(obj)}, not an object")
        _known_fields(obj, ("signatures", "plugin"), "/.signatures.json")
        plugin = _claim_str(obj, "plugin", "/.signatures.json")
    except _RefusedError as exc:
        return failed(name, str(exc)), None
    if plugin not in ("", "_default"):
        return (
            failed(
                name,
                f"signed for verifier plugin {plugin!r}; only OPA's default verifier "
                "(JWT with a configured key) is supported",
            ),
            None,
        )
    sigs = obj.get("signatures")
    if sigs is None:
        sigs = []
    if not isinstance(sigs, list) or not all(
        isinstance(s, str) and not isinstance(s, _Num) for s in sigs
    ):
        return failed(name, "'signatures' must be an array of JWT strings"), None
    if not sigs:
        return failed(name, "/.signatures.json holds no JWT (OPA expects exactly one)"), None
    if len(sigs) > 1:
        return (
            failed(
                name,
                f"/.signatures.json holds {len(sigs)} JWTs; OPA supports exactly one "
                "(multiple JWTs not supported)",
            ),
            None,
        )
    return passed(name, "/.signatures.json holds exactly one JWT"), str(sigs[0])


def _skip(steps: Sequence[str], why: str) -> list[Check]:
    return [no_data(step, f"not checked: {why}") for step in steps]


def _jwt(token: _Token, key: str, alg: str) -> tuple[Check, _Claims | None]:
    """The ``jwt`` check, and the claims when the signature verifies and they decode."""
    header_alg = str(token.header["alg"])
    try:
        verifier = _load_key(key, alg)
    except _KeyProblemError as exc:
        status = Status.FAIL if exc.confusion else Status.ERROR
        return Check(name="jwt", status=status, detail=f"cannot verify: {exc.message}"), None
    if header_alg != alg:
        return failed(
            "jwt",
            f"signature not checked: the token is {header_alg!r}, the configured algorithm "
            f"is {alg}",
        ), None
    secret = verifier.obj if isinstance(verifier.obj, bytes) else None
    if not _verify_signature(verifier, token.signing_input, token.signature):
        hint = ""
        if secret is not None and secret.endswith(b"\n"):
            hint = " (the secret ends with a newline, which is part of it, as in OPA)"
        return failed(
            "jwt",
            f"signature does not verify with the configured {verifier.describe} ({alg}){hint}",
        ), None
    try:
        claims = _parse_claims(token.payload)
    except _RefusedError as exc:
        return failed("jwt", f"signature verifies, but {exc}"), None
    kid = token.header.get("kid")
    ids = [f"kid {kid!r}" if kid else "", f"keyid {claims.keyid!r}" if claims.keyid else ""]
    ids.append(f"iss {claims.iss!r}" if claims.iss else "")
    named = ", ".join(filter(None, ids))
    weak = ""
    if secret is not None and len(secret) < 32:
        weak = f"; note: a {len(secret)}-byte HMAC secret is guessable"
    detail = f"signature verifies with the configured {verifier.describe} ({alg})"
    detail += f"; {named}" if named else ""
    return passed("jwt", f"{detail}; {len(claims.files)} file(s) listed{weak}"), claims


def verify_bundle(
    *,
    files: Mapping[str, bytes],
    key: str,
    signing_alg: str = "RS256",
    scope: str | None = None,
    exclude_files: Sequence[str] = (),
    at: datetime,
    max_clock_skew: timedelta = timedelta(0),
) -> list[Check]:
    """Verify a signed OPA bundle (``files`` as :func:`read_bundle` returns them; a single
    leading ``/`` on a name is ignored, as OPA ignores it) with ``key``: a PEM public key or
    certificate for RS*/PS*/ES*, the shared secret text for HS*.

    Returns one :class:`Check` per step - ``signatures file``, ``jwt``, ``algorithm``,
    ``validity``, ``scope``, ``file list``, ``hashes`` (one ``hashes`` check per mismatching
    file) - all PASS only for a bundle OPA would accept with this key and scope, whose token
    is also within its ``exp``/``nbf``/``iat`` at ``at`` (± ``max_clock_skew``). Steps that
    depend on a failed one are NO_DATA. Raises :class:`ConfigError` for an unknown
    ``signing_alg``, a malformed ``exclude_files`` glob, a naive ``at`` or a negative skew;
    an unusable key is an ERROR ``jwt`` check (a PEM given as HMAC secret: FAIL).
    """
    _check_alg(signing_alg)
    if at.tzinfo is None:
        raise ConfigError("'at' must carry a UTC offset", where="at")
    if max_clock_skew < timedelta(0):
        raise ConfigError("must not be negative", where="max_clock_skew")
    globs: list[tuple[str, re.Pattern[str]]] = []
    for pattern in exclude_files:
        try:
            globs.append((pattern, _go_glob(pattern)))
        except ValueError as exc:
            raise ConfigError(f"bad glob {pattern!r}: {exc}", where="exclude_files") from None

    bundle: dict[str, bytes] = {}
    for raw_name, data in files.items():
        name = raw_name[1:] if raw_name.startswith("/") else raw_name
        if name in bundle:
            return [
                error("signatures file", f"the bundle names {name!r} twice ('/' prefix aside)"),
                *_skip(_STEPS[1:], "the bundle's file names are ambiguous"),
            ]
        bundle[name] = data

    checks: list[Check] = []
    sig_check, token_text = _signatures_file(bundle)
    checks.append(sig_check)
    if token_text is None:
        return checks + _skip(_STEPS[1:], "no usable /.signatures.json")

    # jwt + algorithm
    try:
        token = _parse_token(token_text)
    except _RefusedError as exc:
        checks.append(failed("jwt", str(exc)))
        return checks + _skip(_STEPS[2:], "the JWT could not be parsed")
    header_alg = str(token.header["alg"])
    alg_ok = header_alg == signing_alg
    jwt_check, claims = _jwt(token, key, signing_alg)
    checks.append(jwt_check)
    if alg_ok:
        checks.append(passed("algorithm", f"token header alg {header_alg} = configured"))
    else:
        checks.append(
            failed(
                "algorithm",
                f"token header alg {header_alg!r} but {signing_alg} is configured: refused "
                "(a token must not choose its own algorithm)",
            )
        )
    if claims is None:
        return checks + _skip(_STEPS[3:], "the JWT did not verify, so its claims are untrusted")

    checks.append(_validity(claims, at, max_clock_skew))
    checks.append(_scope(claims, scope))
    checks.extend(_files(claims, bundle, globs))
    return checks


def _validity(claims: _Claims, at: datetime, skew: timedelta) -> Check:
    now = at.timestamp()
    slack = skew.total_seconds()
    problems: list[str] = []
    facts: list[str] = []
    if claims.exp is not None:
        if now >= claims.exp + slack:
            problems.append(f"expired: exp {_when(claims.exp)} is not after {rfc3339(at)}")
        else:
            facts.append(f"exp {_when(claims.exp)}")
    if claims.nbf is not None:
        if now + slack < claims.nbf:
            problems.append(f"not yet valid: nbf {_when(claims.nbf)} is after {rfc3339(at)}")
        else:
            facts.append(f"nbf {_when(claims.nbf)}")
    if claims.iat is not None:
        if claims.iat > now + slack:
            problems.append(f"issued in the future: iat {_when(claims.iat)} > {rfc3339(at)}")
        else:
            facts.append(f"iat {_when(claims.iat)}")
    if problems:
        return failed("validity", "; ".join(problems))
    if not facts:
        return passed(
            "validity",
            "the token carries no exp/nbf/iat (OPA itself does not check token lifetime)",
        )
    return passed("validity", f"valid at {rfc3339(at)}: {', '.join(facts)}")


def _scope(claims: _Claims, scope: str | None) -> Check:
    want = scope or ""
    if claims.scope == want:
        if want:
            return passed("scope", f"token scope {want!r} = configured")
        return passed("scope", "no scope in the token and none configured")
    if not want:
        return failed(
            "scope",
            f"the token has scope {claims.scope!r} but no scope is configured; OPA rejects "
            f"this (scope mismatch): configure scope {claims.scope!r} to accept it",
        )
    if not claims.scope:
        return failed("scope", f"the token has no scope; {want!r} is configured (scope mismatch)")
    return failed("scope", f"token scope {claims.scope!r} != configured {want!r}")


def _files(
    claims: _Claims, bundle: Mapping[str, bytes], globs: Sequence[tuple[str, re.Pattern[str]]]
) -> list[Check]:
    listed: dict[str, _FileEntry] = {}
    problems: list[str] = []
    for entry in claims.files:
        if not entry.name:
            problems.append("a files[] entry has no name")
        elif entry.name in listed:
            problems.append(f"{entry.name!r} is listed twice")
        listed[entry.name] = entry
    present = {n for n in bundle if n != SIGNATURES_FILE}
    excluded = sorted(n for n in present if any(g.match(n) for _, g in globs))
    missing = sorted(set(listed) - present)
    extra = sorted(present - set(listed) - set(excluded))
    if extra:
        problems.append(f"not covered by the signature: {', '.join(extra)}")
    if missing:
        hints = [n for n in missing if n.startswith("/") and n[1:] in present]
        hint = (
            f" (listed with a leading '/': {', '.join(hints)}; OPA names files without it)"
            if hints
            else ""
        )
        problems.append(f"signed but missing from the bundle: {', '.join(missing)}{hint}")
    note = f"; excluded from verification: {', '.join(excluded)}" if excluded else ""
    if problems:
        file_list = failed("file list", "; ".join(problems) + note)
    else:
        file_list = passed(
            "file list",
            f"the {len(listed)} signed file(s) are exactly the bundle's files{note}",
        )

    checks = [file_list]
    bad: list[Check] = []
    ok: list[str] = []
    structured: list[str] = []
    weak: set[str] = set()
    for name in sorted(present & set(listed) - set(excluded)):
        entry = listed[name]
        result = _hash_check(name, bundle[name], entry)
        if isinstance(result, Check):
            bad.append(result)
            continue
        ok.append(name)
        if result:
            structured.append(name)
        if entry.algorithm in _WEAK_HASHES:
            weak.add(entry.algorithm)
    if bad:
        return checks + bad
    if not ok:
        return [*checks, passed("hashes", "no signed file to hash")]
    algs = sorted({listed[n].algorithm for n in ok})
    raw = len(ok) - len(structured)
    canon = "; ".join(
        part
        for part in (
            f"canonical JSON for {', '.join(structured)}" if structured else "",
            f"raw bytes for {'the other ' if structured else ''}{raw}" if raw else "",
        )
        if part
    )
    warn = f"; weak hash algorithm(s): {', '.join(sorted(weak))}" if weak else ""
    return [
        *checks,
        passed(
            "hashes",
            f"{len(ok)} file(s) match their signed {'/'.join(algs)} digests ({canon}){warn}",
        ),
    ]


def _hash_check(name: str, data: bytes, entry: _FileEntry) -> Check | bool:
    """A FAIL check, or whether the file was hashed in canonical form."""
    if not entry.algorithm:
        return failed("hashes", f"{name}: no hashing algorithm in the signature (OPA requires one)")
    hash_name = HASH_ALGORITHMS.get(entry.algorithm)
    if hash_name is None:
        return failed(
            "hashes",
            f"{name}: unsupported hashing algorithm {entry.algorithm!r} (OPA accepts "
            f"{', '.join(HASH_ALGORITHMS)})",
        )
    if not re.fullmatch(r"(?:[0-9a-fA-F]{2})*", entry.hash):
        return failed("hashes", f"{name}: the signed hash {entry.hash!r} is not hex")
    want = bytes.fromhex(entry.hash)
    structured = PurePosixPath(name).name in _STRUCTURED
    try:
        forms = [_canonical(name, data, legacy=False)]
        if structured and (b"\\b" in forms[0] or b"\\f" in forms[0]):
            forms.append(_canonical(name, data, legacy=True))  # signed by OPA built with Go < 1.22
    except _DuplicateKeyError as exc:
        return error("hashes", f"{name}: {exc}: refused, a signed document must say one thing")
    except ValueError as exc:
        return failed("hashes", f"{name}: {exc} (OPA cannot hash it)")
    for form in forms:
        got = hashlib.new(hash_name, form, usedforsecurity=False).digest()
        if hmac.compare_digest(got, want):
            return structured
    how = "canonical JSON" if structured else "raw bytes"
    got_hex = hashlib.new(hash_name, forms[0], usedforsecurity=False).hexdigest()
    return failed(
        "hashes",
        f"{name}: {entry.algorithm} of the {how} is {got_hex}, the signature says "
        f"{entry.hash.lower()} (modified since signing)",
    )


def summary(checks: Sequence[Check]) -> str:
    """One line for the end of a report: what passed, or how many steps did not."""
    bad = [c for c in checks if not c.ok]
    if not checks:
        return "nothing verified"
    if not bad:
        return f"verified: all {len(checks)} checks PASS"
    return f"NOT verified: {len(bad)} of {len(checks)} checks not PASS"


def read_failure(exc: BundleError, subject: str = "") -> Check:
    """The ``bundle`` check for a bundle :func:`read_bundle` refused or could not read."""
    return Check(name="bundle", status=exc.status, detail=exc.message, subject=subject)
