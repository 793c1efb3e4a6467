"""Evidence facts (``ObjectiveVerdict.evidence``) rendered as tables an auditor reads.

Each kind of :class:`igkit.verdicts.EvidenceFact` has its labels and its order here; a kind
this module does not know is shown as a plain key/value table. A fact whose checks did not
PASS is labelled "not verified" beside its values."""

from __future__ import annotations

from collections.abc import Sequence

from igkit.report.page.markup import Raw, badge, digest, esc, fields, section, table, when
from igkit.verdicts import EvidenceFact, FactValue, Status

# kind -> (title, [(fact key, label)], [(row key, column label)])
KINDS: dict[str, tuple[str, list[tuple[str, str]], list[tuple[str, str]]]] = {
    "release": (
        "Release",
        [
            ("release_tag", "Release tag"),
            ("change_ticket", "Change ticket"),
            ("cutover_at", "Cutover at"),
            ("file", "File"),
        ],
        [("name", "Artifact"), ("version", "Version"), ("digest", "Digest")],
    ),
    "artifact": (
        "Artifact provenance",
        [
            ("digest", "Subject digest"),
            ("builder_id", "Builder"),
            ("slsa_level", "SLSA build level"),
            ("signer", "Signer"),
            ("signer_trust", "Signer trusted as"),
            ("source", "Source"),
            ("provenance_file", "Provenance file"),
        ],
        [],
    ),
    "sbom": (
        "SBOM",
        [
            ("file", "File"),
            ("format", "Format"),
            ("components", "Components"),
            ("fail_at", "Fails at severity"),
            ("critical", "Open critical"),
            ("high", "Open high"),
            ("medium", "Open medium"),
            ("low", "Open low"),
            ("unknown", "Open unknown severity"),
            ("none", "Open none/informational"),
            ("suppressed", "Suppressed (VEX)"),
        ],
        [
            ("id", "Finding"),
            ("severity", "Severity"),
            ("component", "Component"),
            ("state", "State"),
        ],
    ),
    "opa_bundle": (
        "Policy bundle",
        [
            ("revision", "Revision"),
            ("key_fingerprint", "Signing key fingerprint"),
            ("key_trust", "Key trusted as"),
            ("scope", "Scope"),
            ("issued_at", "Issued"),
            ("expires_at", "Expires"),
            ("files", "Signed files"),
        ],
        [],
    ),
    "drill": (
        "DR drill",
        [
            ("env", "Environment"),
            ("env_target", "Required environment"),
            ("operator", "Operator"),
            ("started_at", "Started"),
            ("ended_at", "Ended"),
            ("failure_injected_at", "Failure injected"),
            ("service_restored_at", "Service restored"),
            ("data_verified_at", "Data verified"),
            ("last_durable_write_before_failure", "Last durable write before the failure"),
            ("rpo", "RPO"),
            ("rto", "RTO"),
            ("file", "File"),
            ("max_age", "Maximum drill age"),
        ],
        [("name", "Step"), ("at", "Time"), ("outcome", "Outcome")],
    ),
    "approvals": (
        "Approvals",
        [
            ("max_age", "Maximum approval age"),
            ("freeze", "Change freeze before the cutover"),
            ("freeze_window", "Freeze window (approvals count only inside)"),
            ("unexpected_roles", "Approvals of roles not required"),
        ],
        [
            ("role", "Role"),
            ("approver", "Approver"),
            ("decision", "Decision"),
            ("at", "Time"),
            ("reference", "Reference"),
            ("status", "Status"),
        ],
    ),
    "comms": (
        "Comms templates",
        [],
        [("template", "Template"), ("file", "File"), ("sha256", "SHA-256"), ("status", "Status")],
    ),
}
_TARGETS = {"rpo": "rpo_target", "rto": "rto_target"}
_HIDDEN = set(_TARGETS.values())


HASHES = ("sha256", "digest", "key_fingerprint")
TIMES = ("at", "last_durable_write_before_failure")


def _shown(key: str, value: FactValue) -> str | Raw | None:
    if value is None:
        return None
    text = str(value)
    if key in TIMES or key.endswith("_at"):
        return when(text)
    if key in HASHES:
        return digest(text)
    return text


def _value(fact: EvidenceFact, key: str) -> str | None:
    value = _shown(key, fact.facts.get(key))
    target = _TARGETS.get(key)
    if target and fact.facts.get(target) is not None:
        value = f"{value or '—'} (target ≤ {fact.facts[target]})"
    return value


def _rows(fact: EvidenceFact, columns: list[tuple[str, str]]) -> Raw:
    """The fact's rows; an SBOM lists its open findings (suppressed ones are counted above)."""
    rows = fact.rows
    if fact.kind == "sbom":
        rows = [r for r in rows if r.get("state") != "suppressed"]
        if not rows:
            return Raw("<p>No open finding.</p>")
    if not rows:
        return Raw("")
    keys = [k for k, _ in columns] or sorted({k for r in rows for k in r})
    extra = sorted({k for r in rows for k in r} - set(keys))
    labels = [label for _, label in columns] or keys
    wide = [label for k, label in zip(keys, labels, strict=True) if k in HASHES]
    return table(
        [*labels, *extra],
        [
            [
                badge(str(r[k]))
                if k == "status" and r.get(k) in set(Status)
                else _shown(k, r.get(k))
                for k in [*keys, *extra]
            ]
            for r in rows
        ],
        full_width=wide,
    )


def fact_html(fact: EvidenceFact) -> Raw:
    title, known, columns = KINDS.get(fact.kind, (fact.kind, [], []))
    keys = [k for k, _ in known]
    pairs: list[tuple[str, str | None]] = [(label, _value(fact, k)) for k, label in known]
    pairs += [
        (k.replace("_", " "), _shown(k, v))
        for k, v in sorted(fact.facts.items())
        if k not in keys and k not in _HIDDEN
    ]
    flag = (
        Raw("")
        if fact.status is Status.PASS
        else Raw(' <span class="igk-unverified">not verified</span>')
    )
    heading = Raw(f"{esc(title)}: {esc(fact.subject)} {badge(fact.status)}{flag}")
    return section(
        heading, fields(pairs) if pairs else None, _rows(fact, columns), level=4, cls="igk-fact"
    )


def facts_html(facts: Sequence[EvidenceFact]) -> Raw:
    """Every fact of an objective, in the order the judge recorded them."""
    return Raw("".join(fact_html(f) for f in facts))
