"""The ``statement`` step: an in-toto Statement carrying SLSA provenance v1 or v0.2, read
into subjects, builder id and sources."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from igkit.judge.evidence.checks import error, failed, passed
from igkit.judge.evidence.provenance.common import Provenance, Steps, iso, obj_field, parse_time
from igkit.judge.evidence.provenance.policy import SLSA_PROVENANCE_TYPES, SLSA_V1, STATEMENT_TYPES
from igkit.judge.evidence.provenance.rules import split_ref
from igkit.strictdoc import DocumentError, load_json


def parse_statement(s: Steps, payload: bytes, at: datetime) -> Provenance | None:
    def fail(detail: str) -> None:
        s.add(failed("statement", detail, s.subject))

    try:
        st = load_json(payload, where="the signed statement")
    except DocumentError as exc:
        if exc.message.startswith(("invalid JSON", "not UTF-8")):
            fail("the signed payload is not JSON")
        else:
            s.add(
                error("statement", f"the signed statement is unreadable: {exc.message}", s.subject)
            )
        return None
    if not isinstance(st, dict):
        fail("the signed payload is not a JSON object")
        return None
    stype, ptype = st.get("_type"), st.get("predicateType")
    if stype not in STATEMENT_TYPES:
        fail(f"_type is {stype!r}, not an in-toto Statement ({' or '.join(STATEMENT_TYPES)})")
        return None
    if ptype not in SLSA_PROVENANCE_TYPES:
        fail(
            f"predicateType is {ptype!r}, not SLSA provenance ({' or '.join(SLSA_PROVENANCE_TYPES)})"
        )
        return None
    subjects = subjects_of(st.get("subject"))
    if not subjects:
        fail("the statement has no subjects (name + digest)")
        return None
    pred = st.get("predicate")
    if not isinstance(pred, dict):
        fail("the statement has no predicate object")
        return None
    if ptype == SLSA_V1:
        slsa = "v1"
        run = obj_field(pred, "runDetails")
        builder = obj_field(run, "builder").get("id")
        meta = obj_field(run, "metadata")
        finished = meta.get("finishedOn") or meta.get("startedOn")
        sources = sources_v1(obj_field(pred, "buildDefinition"))
    else:
        slsa = "v0.2"
        builder = obj_field(pred, "builder").get("id")
        meta = obj_field(pred, "metadata")
        finished = meta.get("buildFinishedOn") or meta.get("buildStartedOn")
        uri = obj_field(obj_field(pred, "invocation"), "configSource").get("uri")
        sources = [("invocation.configSource.uri", *split_ref(uri))] if isinstance(uri, str) else []
    built = parse_time(finished)
    if built is not None and built > at:
        fail(
            f"the provenance says the build ran at {iso(built)}, after the evaluation time "
            f"{iso(at)}: this evidence did not exist yet"
        )
        return None
    version = str(stype).rsplit("/", 1)[-1]
    s.add(
        passed(
            "statement",
            f"in-toto Statement {version} with SLSA provenance {slsa}, {len(subjects)} subject(s)",
            s.subject,
        )
    )
    return Provenance(
        slsa=slsa,
        subjects=subjects,
        builder_id=builder if isinstance(builder, str) and builder else None,
        sources=sources,
    )


def subjects_of(raw: object) -> list[tuple[str, dict[str, str]]]:
    out: list[tuple[str, dict[str, str]]] = []
    if not isinstance(raw, list):
        return out
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("digest"), dict):
            continue
        digest = {str(k).lower(): str(v).lower() for k, v in item["digest"].items()}
        out.append((str(item.get("name", "")), digest))
    return out


def sources_v1(build: Mapping[str, Any]) -> list[tuple[str, str, str | None]]:
    out: list[tuple[str, str, str | None]] = []
    workflow = obj_field(obj_field(build, "externalParameters"), "workflow")
    repo = workflow.get("repository")
    if isinstance(repo, str) and repo:
        uri, ref_in_uri = split_ref(repo)
        ref = workflow.get("ref")
        out.append(
            (
                "externalParameters.workflow",
                uri,
                ref if isinstance(ref, str) and ref else ref_in_uri,
            )
        )
    deps = build.get("resolvedDependencies")
    if isinstance(deps, list) and deps and isinstance(deps[0], dict):
        dep_uri = deps[0].get("uri")
        if isinstance(dep_uri, str) and dep_uri:
            out.append(("resolvedDependencies[0].uri", *split_ref(dep_uri)))
    return out
