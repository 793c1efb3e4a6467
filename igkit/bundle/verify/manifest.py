"""The bundle's lists: ``manifest-sha256.txt`` against the files, the DSSE in-toto
attestation's subjects and predicate, and ``manifest.json`` against ``verdicts.json``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from igkit.bundle.build import (
    ATTESTATION,
    DEMO_NOTICE,
    HASHES,
    HASHES_SIG,
    MANIFEST,
    PREDICATE_TYPE,
    STATEMENT_TYPE,
    manifest_signing_bytes,
    safe_relpath,
)
from igkit.bundle.verify.result import (
    VerifyResult,
)
from igkit.judge.evidence.checks import failed, no_data, passed
from igkit.judge.evidence.dsse import DsseProblem, decode_b64, parse_envelope, verify_envelope
from igkit.judge.evidence.keys import (
    PublicKey,
    fingerprint,
    verify_message,
)
from igkit.snapshots import sha256_file
from igkit.strictdoc import load_json

LINE = re.compile(r"^([0-9a-f]{64}) [ *](.+)$")


def hash_list(bundle: Path, files: dict[str, Path], result: VerifyResult) -> dict[str, str] | None:
    """Parse manifest-sha256.txt and check every entry against the files; None if absent."""
    if HASHES not in files:
        result.checks.append(failed("hash list", f"{HASHES} is missing"))
        return None
    listed: dict[str, str] = {}
    problems = 0
    try:
        text = files[HASHES].read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        result.checks.append(failed("hash list", f"{HASHES} is not UTF-8 (byte {exc.start})"))
        return None
    if text and not text.endswith("\n"):
        problems += 1
        result.checks.append(failed("hash list", f"{HASHES} does not end with a line break"))
    # "\n" only: a file name may hold U+2028, U+0085... which str.splitlines() would split on
    lines = text.removesuffix("\n").split("\n") if text else []
    for n, raw in enumerate(lines, 1):
        m = LINE.match(raw)
        if not m:
            problems += 1
            result.checks.append(
                failed("hash list", f"{HASHES} line {n} is not '<sha256>  <path>'")
            )
            continue
        digest, name = m.groups()
        if why := safe_relpath(name):
            problems += 1
            result.checks.append(failed("unsafe path", f"{HASHES} line {n}: {name!r}: {why}"))
            continue
        if name in listed:
            problems += 1
            result.checks.append(failed("hash list", f"{name} is listed twice"))
            continue
        listed[name] = digest
    for name, digest in listed.items():
        if name in (HASHES, HASHES_SIG):
            problems += 1
            result.checks.append(
                failed("hash list", f"{name} must not list itself or its signature")
            )
        elif name not in files:
            problems += 1
            result.checks.append(failed("missing file", f"{name} is listed but not in the bundle"))
        elif sha256_file(files[name]) != digest:
            problems += 1
            result.checks.append(failed("hash mismatch", f"{name}: content differs from {HASHES}"))
    for name in sorted(set(files) - set(listed) - {HASHES, HASHES_SIG}):
        problems += 1
        result.checks.append(failed("extra file", f"{name} is in the bundle but not in {HASHES}"))
    if not problems:
        result.checks.append(
            passed("hashes", f"all {len(listed)} files match {HASHES}, none missing, none extra")
        )
    return listed


def check_attestation(
    files: dict[str, Path],
    listed: dict[str, str] | None,
    key: PublicKey | None,
    verdicts: dict[str, Any] | None,
    result: VerifyResult,
    *,
    predicate_type: str = PREDICATE_TYPE,
) -> dict[str, Any] | None:
    """Check the DSSE envelope and its Statement; return the predicate (None if unreadable)."""
    name = "attestation"
    if ATTESTATION not in files:
        result.checks.append(failed(name, f"{ATTESTATION} is missing"))
        return None
    env = parse_envelope(files[ATTESTATION].read_bytes())
    if isinstance(env, DsseProblem):
        result.checks.append(failed(name, f"{ATTESTATION}: {env.reason}"))
        return None
    if key is None:
        result.checks.append(no_data(name, "no key to verify the DSSE signature with"))
    else:
        ok = verify_envelope(env, [key])
        if isinstance(ok, DsseProblem):
            result.checks.append(failed("attestation signature", ok.reason))
        else:
            result.checks.append(
                passed("attestation signature", f"DSSE envelope verifies with {fingerprint(key)}")
            )
    try:
        statement = load_json(env.payload, where=f"{ATTESTATION} payload")
        subjects = {s["name"]: s["digest"]["sha256"] for s in statement["subject"]}
        predicate = statement["predicate"]
    except (ValueError, KeyError, TypeError):
        result.checks.append(
            failed("attestation subjects", "payload is not an in-toto Statement with subjects")
        )
        return None
    if statement.get("_type") != STATEMENT_TYPE or statement.get("predicateType") != predicate_type:
        result.checks.append(
            failed(
                "attestation statement",
                f"expected {STATEMENT_TYPE} with predicateType {predicate_type}",
            )
        )
    expected = {k: v for k, v in (listed or {}).items() if k != ATTESTATION}
    if subjects == expected and listed is not None:
        result.checks.append(
            passed(
                "attestation subjects",
                f"{len(subjects)} subjects = the hashed files (except the attestation)",
            )
        )
    else:
        diff = sorted(set(subjects.items()) ^ set(expected.items()))
        result.checks.append(
            failed(
                "attestation subjects",
                f"subjects differ from {HASHES} on: {', '.join(n for n, _ in diff[:5]) or '(list unreadable)'}",
            )
        )
    if verdicts is not None and (
        predicate.get("decision") != verdicts.get("decision")
        or [(g.get("id"), g.get("status")) for g in predicate.get("gates", [])]
        != [(g.get("id"), g.get("status")) for g in verdicts.get("gates", [])]
    ):
        result.checks.append(
            failed("attestation predicate", "decision/gate statuses differ from verdicts.json")
        )
    return predicate if isinstance(predicate, dict) else None


def check_manifest(
    files: dict[str, Path],
    key: PublicKey | None,
    verdicts: dict[str, Any] | None,
    result: VerifyResult,
) -> dict[str, Any] | None:
    manifest = read_signed_manifest(files, key, result)
    if manifest is None:
        return None
    if verdicts is None:
        result.checks.append(failed("manifest vs verdicts", "verdicts.json is missing or not JSON"))
        return manifest
    return _against_verdicts(files, manifest, verdicts, result)


def read_signed_manifest(
    files: dict[str, Path], key: PublicKey | None, result: VerifyResult
) -> dict[str, Any] | None:
    """``manifest.json`` with its ``signatures[0]`` checked against ``key`` (a FAIL check
    when it does not verify); None, with a FAIL check, when it is missing or unreadable."""
    if MANIFEST not in files:
        result.checks.append(failed("manifest.json", "missing"))
        return None
    try:
        manifest: dict[str, Any] = load_json(files[MANIFEST].read_bytes(), where=MANIFEST)
        sigs = manifest["signatures"]
        sig = decode_b64(sigs[0]["sig"]) if sigs else None
    except (ValueError, KeyError, TypeError, IndexError):
        result.checks.append(failed("manifest.json", "not JSON with a signatures list"))
        return None
    if key is not None:
        if sig is not None and verify_message(key, sig, manifest_signing_bytes(manifest)):
            result.checks.append(
                passed("manifest.json signature", f"signatures[0] verifies with {fingerprint(key)}")
            )
        else:
            result.checks.append(
                failed(
                    "manifest.json signature",
                    f"signatures[0] does not verify with {fingerprint(key)}",
                )
            )
        if manifest.get("signingKey", {}).get("fingerprint") != fingerprint(key):
            result.checks.append(
                failed("manifest.json", f"signingKey.fingerprint is not {fingerprint(key)}")
            )
    if manifest.get("signingKey", {}).get("trusted") is False or DEMO_NOTICE in files:
        result.notes.append(
            f"signed with an untrusted demo key ({DEMO_NOTICE}): not release evidence"
        )
    return manifest


def _against_verdicts(
    files: dict[str, Path],
    manifest: dict[str, Any],
    verdicts: dict[str, Any],
    result: VerifyResult,
) -> dict[str, Any]:
    problems = []
    pairs = {
        "decision": "decision",
        "evaluatedAt": "evaluated_at",
        "matrixSha256": "matrix_sha256",
        "runIgkitVersion": "igkit_version",
        "scope": "scope",
    }
    for mkey, vkey in pairs.items():
        if manifest.get(mkey) != verdicts.get(vkey):
            problems.append(f"{mkey} {manifest.get(mkey)!r} != verdicts {verdicts.get(vkey)!r}")
    scope = verdicts.get("scope")
    if verdicts.get("decision") == "PARTIAL" or (
        isinstance(scope, dict) and scope.get("complete") is not True
    ):
        result.partial = True
        gates = ", ".join(scope.get("gates", [])) if isinstance(scope, dict) else "?"
        result.notes.insert(
            0,
            f"PARTIAL RUN: only {gates} evaluated (decision {verdicts.get('decision')}); "
            "this bundle is not evidence of a release GO",
        )
    m_gates = [(g.get("id"), g.get("status")) for g in manifest.get("gates", [])]
    v_gates = [(g.get("id"), g.get("status")) for g in verdicts.get("gates", [])]
    if m_gates != v_gates:
        problems.append(f"gates {m_gates} != verdicts {v_gates}")
    for g in manifest.get("gates", []):
        for ev in str(g.get("evidence", "")).split(", "):
            if ev and ev not in files:
                problems.append(f"{g.get('id')} evidence {ev} is not in the bundle")
    for uri in manifest.get("snapshots", []):
        rel = str(uri).split("://", 1)[-1]
        if rel not in files:
            problems.append(f"snapshot {uri} is not in the bundle")
    if problems:
        result.checks.extend(failed("manifest vs verdicts", p) for p in problems)
    else:
        result.checks.append(
            passed(
                "manifest vs verdicts",
                f"decision {manifest.get('decision')}, {len(m_gates)} gates, snapshots and evidence present",
            )
        )
    return manifest
