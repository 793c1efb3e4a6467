"""Shared plumbing of the provenance steps: the step list, intermediate results, and
small parsers (documents, digests, times)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sigstore
from pydantic import ValidationError
from sigstore.models import InvalidBundle

from igkit.judge.evidence.checks import Check, failed
from igkit.judge.evidence.provenance.policy import STEPS
from igkit.strictdoc import DocumentError, load_json, validation_message

SHA256_HEX = re.compile(r"[0-9a-f]{64}")
SIGSTORE = f"sigstore-python {sigstore.__version__}"


@dataclass
class Steps:
    subject: str
    checks: list[Check] = field(default_factory=list)

    def add(self, check: Check) -> None:
        self.checks.append(check)

    def skip_rest(self, why: str) -> list[Check]:
        done = {c.name for c in self.checks}
        for name in STEPS:
            if name not in done:
                self.checks.append(failed(name, why, self.subject))
        return self.checks


@dataclass(frozen=True)
class Signed:
    check: Check
    statement: bytes | None = None  # the verified in-toto payload, when there is one
    message_signature: bool = False
    skip_reason: str | None = None
    signer: str | None = None  # who verifiably signed: key fingerprint or certificate identity


@dataclass(frozen=True)
class Provenance:
    slsa: str  # "v1" or "v0.2"
    subjects: list[tuple[str, dict[str, str]]]
    builder_id: str | None
    sources: list[tuple[str, str, str | None]]  # (where, uri, ref)


MESSAGE_NOT_PROVENANCE = (
    "the bundle signs the artifact directly (messageSignature); it carries no provenance statement"
)


def read_document(content: bytes) -> dict[str, Any] | str:
    """The JSON object of the file, or of its first non-empty line (JSON Lines)."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return "the provenance file is not UTF-8 text"
    if not text.strip():
        return "the provenance file is empty"
    try:
        obj = load_json(text, where="the provenance file")
    except DocumentError as whole:
        if not whole.message.startswith("invalid JSON"):
            return f"the provenance file is unreadable: {whole.message}"
        first = next(line for line in text.splitlines() if line.strip())
        try:
            obj = load_json(first, where="the provenance file (first JSON line)")
        except DocumentError as exc:
            if exc.message.startswith("invalid JSON"):
                return f"the provenance file is neither JSON nor JSON Lines ({exc.message})"
            return f"the provenance file is unreadable: {exc}"
    if not isinstance(obj, dict):
        return "the provenance file is not a JSON object"
    return obj


def not_a_document(doc: Mapping[str, Any]) -> str:
    if "attestations" in doc:
        return (
            "this is an npm attestations document; pass one of its bundles "
            "(attestations[].bundle), not the whole list"
        )
    if "_type" in doc:
        return "this is an unsigned in-toto statement: there is no signature to verify"
    return "neither a DSSE envelope (payloadType, payload, signatures) nor a Sigstore bundle"


def tlog_kinds(doc: Mapping[str, Any]) -> list[tuple[str, str]]:
    entries = obj_field(doc, "verificationMaterial").get("tlogEntries")
    kinds: list[tuple[str, str]] = []
    if isinstance(entries, list):
        for entry in entries:
            kv = obj_field(entry, "kindVersion") if isinstance(entry, dict) else {}
            kinds.append((str(kv.get("kind", "?")), str(kv.get("version", "?"))))
    return kinds


def bundle_problem(exc: InvalidBundle) -> str:
    """InvalidBundle's reason in one line; pydantic's field errors as ``path: message``."""
    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, ValidationError):
        return f"malformed bundle - {validation_message(cause)}"
    return one_line(exc)


def digest_problem(sha256: str) -> str | None:
    if not SHA256_HEX.fullmatch(sha256.strip().lower()):
        return f"the artifact sha256 {sha256!r} is not 64 hex digits"
    return None


def obj_field(parent: object, key: str) -> dict[str, Any]:
    if isinstance(parent, Mapping):
        value = parent.get(key)
        if isinstance(value, dict):
            return value
    return {}


def parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return aware(datetime.fromisoformat(value))
    except ValueError:
        return None


def aware(t: datetime) -> datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def one_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return " ".join(lines[:2]) if lines else type(exc).__name__
