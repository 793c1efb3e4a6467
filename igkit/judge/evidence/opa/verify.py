"""OPA's bundle verification steps (``bundle/verify.go``): signatures file, JWT, algorithm,
validity, scope, file list, hashes; each a :class:`Check`."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import PurePosixPath

from igkit.errors import ConfigError
from igkit.judge.evidence.checks import Check, error, failed, no_data, passed
from igkit.judge.evidence.opa.canonical import STRUCTURED, canonical
from igkit.judge.evidence.opa.globs import go_glob
from igkit.judge.evidence.opa.gojson import DuplicateKeyError, Num
from igkit.judge.evidence.opa.jws import (
    Claims,
    FileEntry,
    RefusedError,
    Token,
    claim_str,
    json_type,
    known_fields,
    parse_claims,
    parse_token,
    strict_json,
    when,
)
from igkit.judge.evidence.opa.keys import KeyProblemError, check_alg, load_key, verify_signature
from igkit.judge.evidence.opa.reader import SIGNATURES_FILE, BundleError
from igkit.timeutil import rfc3339
from igkit.verdicts import Status

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

_STEPS = ("signatures file", "jwt", "algorithm", "validity", "scope", "file list", "hashes")


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
        obj = strict_json(data, "/.signatures.json")
        if not isinstance(obj, dict):
            raise RefusedError(f"/.signatures.json is {json_type(obj)}, not an object")
        known_fields(obj, ("signatures", "plugin"), "/.signatures.json")
        plugin = claim_str(obj, "plugin", "/.signatures.json")
    except RefusedError as exc:
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
        isinstance(s, str) and not isinstance(s, Num) for s in sigs
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


def _jwt(token: Token, key: str, alg: str) -> tuple[Check, Claims | None]:
    """The ``jwt`` check, and the claims when the signature verifies and they decode."""
    header_alg = str(token.header["alg"])
    try:
        verifier = load_key(key, alg)
    except KeyProblemError as exc:
        status = Status.FAIL if exc.confusion else Status.ERROR
        return Check(name="jwt", status=status, detail=f"cannot verify: {exc.message}"), None
    if header_alg != alg:
        return failed(
            "jwt",
            f"signature not checked: the token is {header_alg!r}, the configured algorithm "
            f"is {alg}",
        ), None
    secret = verifier.obj if isinstance(verifier.obj, bytes) else None
    if not verify_signature(verifier, token.signing_input, token.signature):
        hint = ""
        if secret is not None and secret.endswith(b"\n"):
            hint = " (the secret ends with a newline, which is part of it, as in OPA)"
        return failed(
            "jwt",
            f"signature does not verify with the configured {verifier.describe} ({alg}){hint}",
        ), None
    try:
        claims = parse_claims(token.payload)
    except RefusedError as exc:
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
    """:func:`inspect_bundle`'s checks."""
    return inspect_bundle(
        files=files,
        key=key,
        signing_alg=signing_alg,
        scope=scope,
        exclude_files=exclude_files,
        at=at,
        max_clock_skew=max_clock_skew,
    )[0]


def inspect_bundle(
    *,
    files: Mapping[str, bytes],
    key: str,
    signing_alg: str = "RS256",
    scope: str | None = None,
    exclude_files: Sequence[str] = (),
    at: datetime,
    max_clock_skew: timedelta = timedelta(0),
) -> tuple[list[Check], Claims | None]:
    """Verify a signed OPA bundle (``files`` as :func:`read_bundle` returns them; a single
    leading ``/`` on a name is ignored, as OPA ignores it) with ``key``: a PEM public key or
    certificate for RS*/PS*/ES*, the shared secret text for HS*.

    Returns one :class:`Check` per step - ``signatures file``, ``jwt``, ``algorithm``,
    ``validity``, ``scope``, ``file list``, ``hashes`` (one ``hashes`` check per mismatching
    file) - all PASS only for a bundle OPA would accept with this key and scope, whose token
    is also within its ``exp``/``nbf``/``iat`` at ``at`` (± ``max_clock_skew``). Steps that
    depend on a failed one are NO_DATA. Raises :class:`ConfigError` for an unknown
    ``signing_alg``, a malformed ``exclude_files`` glob, a naive ``at`` or a negative skew;
    an unusable key is an ERROR ``jwt`` check (a PEM given as HMAC secret: FAIL). The claims
    come back only when the JWT verified with ``key`` (for the reports; the checks decide).
    """
    check_alg(signing_alg)
    if at.tzinfo is None:
        raise ConfigError("'at' must carry a UTC offset", where="at")
    if max_clock_skew < timedelta(0):
        raise ConfigError("must not be negative", where="max_clock_skew")
    globs: list[tuple[str, re.Pattern[str]]] = []
    for pattern in exclude_files:
        try:
            globs.append((pattern, go_glob(pattern)))
        except ValueError as exc:
            raise ConfigError(f"bad glob {pattern!r}: {exc}", where="exclude_files") from None

    bundle: dict[str, bytes] = {}
    for raw_name, data in files.items():
        name = raw_name[1:] if raw_name.startswith("/") else raw_name
        if name in bundle:
            return [
                error("signatures file", f"the bundle names {name!r} twice ('/' prefix aside)"),
                *_skip(_STEPS[1:], "the bundle's file names are ambiguous"),
            ], None
        bundle[name] = data

    checks: list[Check] = []
    sig_check, token_text = _signatures_file(bundle)
    checks.append(sig_check)
    if token_text is None:
        return checks + _skip(_STEPS[1:], "no usable /.signatures.json"), None

    # jwt + algorithm
    try:
        token = parse_token(token_text)
    except RefusedError as exc:
        checks.append(failed("jwt", str(exc)))
        return checks + _skip(_STEPS[2:], "the JWT could not be parsed"), None
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
        return checks + _skip(
            _STEPS[3:], "the JWT did not verify, so its claims are untrusted"
        ), None

    checks.append(_validity(claims, at, max_clock_skew))
    checks.append(_scope(claims, scope))
    checks.extend(_files(claims, bundle, globs))
    return checks, claims


def _validity(claims: Claims, at: datetime, skew: timedelta) -> Check:
    now = at.timestamp()
    slack = skew.total_seconds()
    problems: list[str] = []
    facts: list[str] = []
    if claims.exp is not None:
        if now >= claims.exp + slack:
            problems.append(f"expired: exp {when(claims.exp)} is not after {rfc3339(at)}")
        else:
            facts.append(f"exp {when(claims.exp)}")
    if claims.nbf is not None:
        if now + slack < claims.nbf:
            problems.append(f"not yet valid: nbf {when(claims.nbf)} is after {rfc3339(at)}")
        else:
            facts.append(f"nbf {when(claims.nbf)}")
    if claims.iat is not None:
        if claims.iat > now + slack:
            problems.append(f"issued in the future: iat {when(claims.iat)} > {rfc3339(at)}")
        else:
            facts.append(f"iat {when(claims.iat)}")
    if problems:
        return failed("validity", "; ".join(problems))
    if not facts:
        return passed(
            "validity",
            "the token carries no exp/nbf/iat (OPA itself does not check token lifetime)",
        )
    return passed("validity", f"valid at {rfc3339(at)}: {', '.join(facts)}")


def _scope(claims: Claims, scope: str | None) -> Check:
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
    claims: Claims, bundle: Mapping[str, bytes], globs: Sequence[tuple[str, re.Pattern[str]]]
) -> list[Check]:
    listed: dict[str, FileEntry] = {}
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


def _hash_check(name: str, data: bytes, entry: FileEntry) -> Check | bool:
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
    structured = PurePosixPath(name).name in STRUCTURED
    try:
        forms = [canonical(name, data, legacy=False)]
        if structured and (b"\\b" in forms[0] or b"\\f" in forms[0]):
            forms.append(canonical(name, data, legacy=True))  # signed by OPA built with Go < 1.22
    except DuplicateKeyError as exc:
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
