"""The policy steps: subject digest, builder, SLSA level, source (slsa-verifier's rules)."""

from __future__ import annotations

from collections.abc import Mapping

from igkit.judge.evidence.checks import Check, failed, passed
from igkit.judge.evidence.provenance.common import Provenance, Steps
from igkit.judge.evidence.provenance.policy import ProvenancePolicy


def subject_digest_check(s: Steps, prov: Provenance, sha256: str) -> Check:
    present = ", ".join(f"{name or '(unnamed)'} ({digest_summary(d)})" for name, d in prov.subjects)
    hits = [name or "(unnamed)" for name, d in prov.subjects if d.get("sha256") == sha256]
    if hits:
        return passed(
            "subject digest",
            f"the artifact's sha256 {sha256} is subject {', '.join(hits)}; subjects present: {present}",
            s.subject,
        )
    if not any("sha256" in d for _, d in prov.subjects):
        return failed(
            "subject digest",
            f"no subject carries a sha256 digest, so the artifact (sha256 {sha256}) cannot be "
            f"matched; subjects present: {present}",
            s.subject,
        )
    return failed(
        "subject digest",
        f"no subject has the artifact's sha256 {sha256}: the provenance is for other "
        f"artifacts; subjects present: {present}",
        s.subject,
    )


def digest_summary(d: Mapping[str, str]) -> str:
    if "sha256" in d:
        return f"sha256 {d['sha256']}"
    return ", ".join(f"{k} {v}" for k, v in sorted(d.items())) or "no digest"


def match_builder(builder_id: str, allowed: Mapping[str, int]) -> tuple[str, int] | None:
    """(allowed entry, level) for ``builder_id``: exact match first, then ref-less entries."""
    base, ref = _split_builder(builder_id)
    for entry, level in allowed.items():
        e_base, e_ref = _split_builder(entry)
        if e_base == base and e_ref is not None and ref is not None and _same_ref(e_ref, ref):
            return entry, level
    for entry, level in allowed.items():
        e_base, e_ref = _split_builder(entry)
        if e_ref is None and e_base == base:
            return entry, level
    return None


def _split_builder(builder_id: str) -> tuple[str, str | None]:
    base, sep, ref = builder_id.strip().rpartition("@")
    # An "@" in the authority (user@host) is not a ref: the base must already have a path.
    if not sep or "/" not in base.split("://", 1)[-1]:
        return builder_id.strip(), None
    return base, ref


def _same_ref(a: str, b: str) -> bool:
    return a == b or _short_ref(a) == _short_ref(b)


def _short_ref(ref: str) -> str:
    for prefix in ("refs/tags/", "refs/heads/"):
        if ref.startswith(prefix):
            return ref[len(prefix) :]
    return ref


def builder_check(
    s: Steps, prov: Provenance, policy: ProvenancePolicy, match: tuple[str, int] | None
) -> Check:
    if prov.builder_id is None:
        where = "runDetails.builder.id" if prov.slsa == "v1" else "builder.id"
        return failed("builder", f"the provenance has no {where}", s.subject)
    if not policy.builders:
        return failed(
            "builder",
            f"built by {prov.builder_id}, but the policy allows no builder (give at least one)",
            s.subject,
        )
    if match is None:
        return failed(
            "builder",
            f"built by {prov.builder_id}, which is not an allowed builder "
            f"(allowed: {', '.join(sorted(policy.builders))})",
            s.subject,
        )
    how = "exactly" if match[0] == prov.builder_id else f"as {match[0]}"
    return passed("builder", f"built by {prov.builder_id}, allowed {how}", s.subject)


def level_check(s: Steps, policy: ProvenancePolicy, match: tuple[str, int] | None) -> Check:
    if match is None:
        return failed("slsa level", "not checked: the builder is not allowed", s.subject)
    entry, level = match
    need = policy.min_slsa_level
    if level >= need:
        return passed(
            "slsa level",
            f"builder {entry} is trusted at SLSA build level {level} (policy requires >= {need})",
            s.subject,
        )
    return failed(
        "slsa level",
        f"builder {entry} is trusted at SLSA build level {level}, below the required {need}",
        s.subject,
    )


# --------------------------------------------------------------------------- source


def source_check(s: Steps, prov: Provenance, policy: ProvenancePolicy) -> Check:
    recorded = "; ".join(f"{u}@{r}" if r else u for _, u, r in prov.sources) or "nothing"
    if policy.source_uri is None and policy.source_ref is None:
        return passed(
            "source",
            f"no source policy configured (provenance records {recorded})",
            s.subject,
        )
    if not prov.sources:
        return failed(
            "source",
            "the provenance records no source repository, so the source policy cannot be met",
            s.subject,
        )
    want_uri = _normalize_uri(policy.source_uri) if policy.source_uri else None
    problems: list[str] = []
    for where, uri, ref in prov.sources:
        if want_uri is not None and _normalize_uri(uri) != want_uri:
            problems.append(f"{where} is {uri}, not {policy.source_uri}")
        if policy.source_ref is not None:
            if ref is None:
                problems.append(f"{where} records no ref")
            elif not _ref_matches(policy.source_ref, ref):
                problems.append(f"{where} ref is {ref}, not {policy.source_ref}")
    if problems:
        return failed("source", "; ".join(problems), s.subject)
    wanted = " @ ".join(x for x in (policy.source_uri, policy.source_ref) if x)
    return passed("source", f"built from {recorded}, as required ({wanted})", s.subject)


def split_ref(uri: str) -> tuple[str, str | None]:
    base, sep, ref = uri.rpartition("@")
    if not sep or "/" not in _strip_scheme(base):
        return uri, None
    return base, ref or None


def _strip_scheme(uri: str) -> str:
    u = uri.strip()
    if u.startswith("git+"):
        u = u[len("git+") :]
    return u.split("://", 1)[-1]


def _normalize_uri(uri: str) -> str:
    base, _ = split_ref(uri.strip())
    u = _strip_scheme(base).rstrip("/")
    return u.removesuffix(".git")


def _ref_matches(want: str, got: str) -> bool:
    want = want.strip()
    return got == want or got in (f"refs/heads/{want}", f"refs/tags/{want}")
