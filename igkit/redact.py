"""Keep configured secrets out of everything igkit writes or prints.

Credentials only ever come from the environment (:data:`SECRET_ENV_NAMES`) or a trust
directory; their values — and the encodings a server might echo back (``Basic`` auth
base64, URL-encoding) — are replaced by :data:`MARK` in every output path: verdicts,
snapshots, junit, reports, notebooks and stderr. Values read at run time from elsewhere
(an HMAC key file) are added with :func:`register_secret`.

A value shorter than :data:`MIN_SECRET_LENGTH` cannot be redacted without mangling
ordinary text, so :func:`check_secret_lengths` refuses it up front (exit 2).
"""

from __future__ import annotations

import base64
import os
import threading
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus

from igkit.errors import ConfigError

MARK = "[REDACTED]"
MIN_SECRET_LENGTH = 4
SECRET_ENV_NAMES: tuple[str, ...] = (
    "IGKIT_PROM_TOKEN",
    "IGKIT_PROM_USERNAME",
    "IGKIT_PROM_PASSWORD",
    "IGKIT_SIGNING_KEY_PASSPHRASE",
    "IGKIT_OPA_HMAC_KEY",
)

_lock = threading.Lock()
_registered: set[str] = set()


def register_secret(value: str | bytes) -> None:
    """Redact ``value`` from every later output of this process (e.g. an HMAC key's text)."""
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    text = text.strip()
    if len(text) >= MIN_SECRET_LENGTH:
        with _lock:
            _registered.add(text)


def check_secret_lengths(env: Mapping[str, str] | None = None) -> None:
    """Refuse configured secrets too short to redact reliably (ConfigError naming the variable)."""
    env = os.environ if env is None else env
    for name in SECRET_ENV_NAMES:
        value = env.get(name, "")
        if value and len(value) < MIN_SECRET_LENGTH:
            raise ConfigError(
                f"shorter than {MIN_SECRET_LENGTH} characters: igkit cannot keep so short a "
                "value out of its outputs reliably",
                where=name,
            )


def _variants(value: str) -> set[str]:
    out = {value}
    raw = value.encode("utf-8", "surrogatepass")  # env values may hold surrogates
    out |= {quote(raw, safe=""), quote_plus(raw)}
    return {v for v in out if len(v) >= MIN_SECRET_LENGTH}


def secrets(env: Mapping[str, str] | None = None) -> list[str]:
    """Every string to redact, longest first (so a secret inside another goes with it)."""
    env = os.environ if env is None else env
    values = {env.get(name, "") for name in SECRET_ENV_NAMES} - {""}
    found: set[str] = set()
    for value in values:
        found |= _variants(value)
    user, password = env.get("IGKIT_PROM_USERNAME", ""), env.get("IGKIT_PROM_PASSWORD", "")
    if user or password:
        found.add(base64.b64encode(f"{user}:{password}".encode("utf-8", "surrogatepass")).decode())
    with _lock:
        for value in _registered:
            found |= _variants(value)
    return sorted((s for s in found if len(s) >= MIN_SECRET_LENGTH), key=len, reverse=True)


def redact(text: str, values: Iterable[str] | None = None) -> str:
    """``text`` with every secret replaced by :data:`MARK`."""
    for secret in secrets() if values is None else values:
        if secret in text:
            text = text.replace(secret, MARK)
    return text


def redact_bytes(data: bytes, values: Iterable[str] | None = None) -> bytes:
    """The byte form of :func:`redact` (UTF-8 encodings of the secrets)."""
    for secret in secrets() if values is None else values:
        raw = secret.encode("utf-8", "surrogatepass")
        if raw in data:
            data = data.replace(raw, MARK.encode())
    return data


def redact_data(data: Any, values: Iterable[str] | None = None) -> Any:
    """Redact every string (keys included) inside JSON-like data, before it is serialised,
    so the result is still valid JSON whatever characters a secret holds."""
    found = secrets() if values is None else list(values)
    if not found:
        return data

    def walk(node: Any) -> Any:
        if isinstance(node, str):
            return redact(node, found)
        if isinstance(node, dict):
            return {walk(k): walk(v) for k, v in node.items()}
        if isinstance(node, list | tuple):
            return [walk(v) for v in node]
        return node

    return walk(data)
