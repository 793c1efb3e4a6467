"""verify_provenance / verify_artifact_signature on real third-party bundles and on generated ones.

Real material first: every Sigstore, conformance and slsa-verifier bundle in
tests/fixtures/third_party/*/PROVENANCE.md with the outcome documented there (verified offline
with sigstore-python against the named trusted root). Then statements, keys and DSSE envelopes
generated here with `cryptography`, one test per way provenance can be wrong. Nothing that
verifies a signature is stubbed.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from pydantic import ValidationError

from igkit.judge.evidence.checks import Check, combine
from igkit.judge.evidence.dsse import IN_TOTO_PAYLOAD_TYPE, pae
from igkit.judge.evidence.keys import fingerprint, load_public_key
from igkit.judge.evidence.provenance import (
    STEPS,
    ProvenancePolicy,
    SignerPolicy,
    verify_artifact_signature,
    verify_provenance,
)
from igkit.verdicts import Status

THIRD_PARTY = Path(__file__).resolve().parents[2] / "fixtures" / "third_party"
SIGSTORE_PY = THIRD_PARTY / "sigstore" / "sigstore-python"
SIGSTORE_GO = THIRD_PARTY / "sigstore" / "sigstore-go"
CONFORMANCE = THIRD_PARTY / "sigstore" / "conformance"
SLSA = THIRD_PARTY / "slsa" / "slsa-verifier"

PRODUCTION = (SIGSTORE_PY / "trusted_root.production.json").read_text()
STAGING = (SIGSTORE_PY / "trusted_root.staging.json").read_text()
BEACON = (
    "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/"
    ".github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main"
)
GHA = "https://token.actions.githubusercontent.com"
GITHUB_OAUTH = "https://github.com/login/oauth"
A_TXT = "a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf"
GENERIC = "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml"
GENERIC_SHA = "376e7e01348585b6e6643bc6663146b9d525d9b41228bf180eaeb4d4a3706caa"
EXAMPLE_PACKAGE = "github.com/slsa-framework/example-package"
PUBLISH_TO_BCR = "https://github.com/bazel-contrib/publish-to-bcr/.github/workflows/publish.yaml"
REKOR2_REGEN = "https://github.com/sigstore-conformance/rekor2-dsse-hashedrekord-regen"
NOW = datetime.now(tz=UTC)


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def statuses(checks: list[Check]) -> dict[str, Status]:
    assert [c.name for c in checks] == list(STEPS), [c.name for c in checks]
    return {c.name: c.status for c in checks}


def by_name(checks: list[Check], name: str) -> Check:
    return next(c for c in checks if c.name == name)


def assert_all_pass(checks: list[Check]) -> None:
    assert combine(checks) is Status.PASS, "\n".join(c.line() for c in checks)
    assert set(statuses(checks).values()) == {Status.PASS}


def assert_rest_not_checked(checks: list[Check], after: str) -> None:
    names = list(STEPS)
    for c in checks[names.index(after) + 1 :]:
        assert c.status in (Status.FAIL, Status.ERROR), c.line()
        assert c.detail.startswith("not checked: "), c.line()


def keyless(identity: str, issuer: str, root: str | None, **kw: Any) -> ProvenancePolicy:
    return ProvenancePolicy(
        certificate_identity=identity, certificate_oidc_issuer=issuer, trusted_root=root, **kw
    )


# =========================================================================== third-party DSSE


DSSE_PASS = [
    pytest.param(
        SIGSTORE_PY / "a.dsse.staging-rekor-v2.txt.sigstore.json",
        STAGING,
        BEACON,
        A_TXT,
        REKOR2_REGEN,
        "hashedrekord 0.0.2",
        id="sigstore-python a.dsse staging rekor-v2",
    ),
    pytest.param(
        CONFORMANCE / "happy-path-intoto-in-dsse-v3" / "bundle.sigstore.json",
        PRODUCTION,
        BEACON,
        A_TXT,
        "https://github.com/loosebazooka/aa-test/.github/workflows/provenance.yaml",
        "dsse 0.0.1",
        id="conformance happy-path-intoto-in-dsse-v3",
    ),
    pytest.param(
        CONFORMANCE / "rekor2-dsse-happy-path" / "bundle.sigstore.json",
        (CONFORMANCE / "rekor2-dsse-happy-path" / "trusted_root.json").read_text(),
        BEACON,
        A_TXT,
        REKOR2_REGEN,
        "hashedrekord 0.0.2",
        id="conformance rekor2-dsse-happy-path",
    ),
    pytest.param(
        SLSA / "gha_generic" / "v2.1.0" / "binary-linux-amd64-push-v14.2.intoto.jsonl",
        PRODUCTION,
        f"{GENERIC}@refs/tags/v2.1.0",
        GENERIC_SHA,
        GENERIC,
        "dsse 0.0.1",
        id="slsa-verifier gha_generic push-v14.2",
    ),
    pytest.param(
        SLSA / "gha_generic" / "v2.1.0" / "binary-linux-amd64-workflow_dispatch.intoto.jsonl",
        PRODUCTION,
        f"{GENERIC}@refs/tags/v2.1.0",
        GENERIC_SHA,
        GENERIC,
        "dsse 0.0.1",
        id="slsa-verifier gha_generic workflow_dispatch",
    ),
    pytest.param(
        SLSA / "bcr" / "MODULE.bazel.intoto.jsonl",
        PRODUCTION,
        f"{PUBLISH_TO_BCR}@refs/tags/v0.0.1",
        "06ce330900a7d6403bc8d88e5dfad6aeeb8ae40179f66bb89e69c8bf6f6b1a0b",
        PUBLISH_TO_BCR,
        "dsse 0.0.1",
        id="slsa-verifier bcr MODULE.bazel",
    ),
    pytest.param(
        SLSA / "bcr" / "rules_lint-v1.3.1.tar.gz.intoto.jsonl",
        PRODUCTION,
        "https://github.com/bazel-contrib/.github/.github/workflows/release_ruleset.yaml@refs/tags/v7.1.0",
        "1636f443b01c9ee310ee5834956d0dce374c3d3bf8d4cebc9f6b86f8304b4982",
        "https://github.com/bazel-contrib/.github/.github/workflows/release_ruleset.yaml",
        "dsse 0.0.1",
        id="slsa-verifier bcr rules_lint-v1.3.1",
    ),
    pytest.param(
        SLSA / "verifiers-gha-bundle" / "valid-v0.3.intoto.sigstore",
        PRODUCTION,
        f"{GENERIC}@refs/heads/main",
        "2892146b063a94cb4a4318c0e98d38af12dcf2b1e29237486b58463b59607bbd",
        GENERIC,
        "dsse 0.0.1",
        id="slsa-verifier valid-v0.3 bundle",
    ),
]


@pytest.mark.parametrize(("bundle", "root", "identity", "sha", "builder", "entry"), DSSE_PASS)
def test_real_dsse_bundles_pass_with_documented_identity_and_root(
    bundle: Path, root: str, identity: str, sha: str, builder: str, entry: str
) -> None:
    policy = keyless(identity, GHA, root, builders={builder: 3})
    checks = verify_provenance(
        artifact_name=bundle.name,
        artifact_sha256=sha,
        provenance=bundle.read_bytes(),
        policy=policy,
        at=NOW,
    )
    assert_all_pass(checks)
    signature = by_name(checks, "signature").detail
    assert identity in signature
    assert f"Rekor {entry}" in signature


def test_gha_generic_v02_provenance_by_digest_with_slsa_verifier_flags() -> None:
    """slsa-verifier verify-artifact --source-uri github.com/slsa-framework/example-package
    --builder-id .../generator_generic_slsa3.yml: PASS, verified by digest 376e7e01…"""
    bundle = SLSA / "gha_generic" / "v2.1.0" / "binary-linux-amd64-push-v14.2.intoto.jsonl"
    base = keyless(
        f"{GENERIC}@refs/tags/v2.1.0",
        GHA,
        PRODUCTION,
        builders={GENERIC: 3},
        source_uri=EXAMPLE_PACKAGE,
    )

    def run(policy: ProvenancePolicy, sha: str = GENERIC_SHA) -> list[Check]:
        return verify_provenance(
            artifact_name="gha_generic-binary-linux-amd64-v14.2",
            artifact_sha256=sha,
            provenance=bundle.read_bytes(),
            policy=policy,
            at=NOW,
        )

    checks = run(base)
    assert_all_pass(checks)
    assert (
        "git+https://github.com/slsa-framework/example-package@refs/tags/v14.2"
        in by_name(checks, "source").detail
    )
    # The builder id may name a ref, as slsa-verifier accepts: @v2.1.0 and @refs/tags/v2.1.0.
    for allowed in (f"{GENERIC}@v2.1.0", f"{GENERIC}@refs/tags/v2.1.0"):
        assert_all_pass(run(base.model_copy(update={"builders": {allowed: 3}})))
    # --source-versioned-tag v14.2 / full ref: PASS; v14.1: FAIL.
    assert_all_pass(run(base.model_copy(update={"source_ref": "v14.2"})))
    assert_all_pass(run(base.model_copy(update={"source_ref": "refs/tags/v14.2"})))
    wrong_ref = run(base.model_copy(update={"source_ref": "v14.1"}))
    assert statuses(wrong_ref)["source"] is Status.FAIL
    assert "refs/tags/v14.2, not v14.1" in by_name(wrong_ref, "source").detail

    # Another source (slsa-verifier: ErrorMismatchSource).
    other_src = run(
        base.model_copy(update={"source_uri": "github.com/laurentsimon/slsa-verifier-test-genA"})
    )
    st = statuses(other_src)
    assert st["source"] is Status.FAIL
    assert {st[n] for n in STEPS if n != "source"} == {Status.PASS}
    assert (
        "not github.com/laurentsimon/slsa-verifier-test-genA" in by_name(other_src, "source").detail
    )

    # Another builder (slsa-verifier: ErrorMismatchBuilderID / untrusted reusable workflow).
    other_builder = run(
        base.model_copy(
            update={
                "builders": {
                    "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/builder_go_slsa3.yml": 3
                }
            }
        )
    )
    st = statuses(other_builder)
    assert st["builder"] is Status.FAIL
    assert st["slsa level"] is Status.FAIL
    assert "not an allowed builder" in by_name(other_builder, "builder").detail
    # A pinned ref that is not the one used is another builder too.
    pinned = run(base.model_copy(update={"builders": {f"{GENERIC}@v2.0.0": 3}}))
    assert statuses(pinned)["builder"] is Status.FAIL

    # Another artifact (slsa-verifier: ErrorMismatchHash).
    other_artifact = run(
        base, sha="5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
    )
    assert statuses(other_artifact)["subject digest"] is Status.FAIL
    assert (
        "gha_generic-binary-linux-amd64-v14.2" in by_name(other_artifact, "subject digest").detail
    )


def test_gha_generic_workflow_dispatch_branch() -> None:
    bundle = SLSA / "gha_generic" / "v2.1.0" / "binary-linux-amd64-workflow_dispatch.intoto.jsonl"
    base = keyless(
        f"{GENERIC}@refs/tags/v2.1.0",
        GHA,
        PRODUCTION,
        builders={GENERIC: 3},
        source_uri=EXAMPLE_PACKAGE,
    )
    main = base.model_copy(update={"source_ref": "main"})
    master = base.model_copy(update={"source_ref": "master"})
    run = {
        name: verify_provenance(
            artifact_name="bin",
            artifact_sha256=GENERIC_SHA,
            provenance=bundle.read_bytes(),
            policy=p,
            at=NOW,
        )
        for name, p in (("main", main), ("master", master))
    }
    assert_all_pass(run["main"])
    assert statuses(run["master"])["source"] is Status.FAIL  # slsa-verifier: ErrorMismatchBranch


def test_bcr_module_source_and_wrong_signer() -> None:
    module = SLSA / "bcr" / "MODULE.bazel.intoto.jsonl"
    policy = keyless(
        f"{PUBLISH_TO_BCR}@refs/tags/v0.0.1",
        GHA,
        PRODUCTION,
        builders={PUBLISH_TO_BCR: 3},
        source_uri="github.com/aspect-build/rules_lint",
    )
    sha = "06ce330900a7d6403bc8d88e5dfad6aeeb8ae40179f66bb89e69c8bf6f6b1a0b"
    ok = verify_provenance(
        artifact_name="MODULE.bazel",
        artifact_sha256=sha,
        provenance=module.read_bytes(),
        policy=policy,
        at=NOW,
    )
    assert_all_pass(ok)
    # Both v1 source locations are compared: workflow.repository and resolvedDependencies[0].
    assert (
        "https://github.com/aspect-build/rules_lint@refs/heads/publish-to-bcr"
        in by_name(ok, "source").detail
    )

    # Same digest, signed by a malicious workflow: the certificate identity does not match.
    wrong = SLSA / "bcr" / "MODULE-wrong-signer.bazel.intoto.jsonl"
    checks = verify_provenance(
        artifact_name="MODULE.bazel",
        artifact_sha256=sha,
        provenance=wrong.read_bytes(),
        policy=policy,
        at=NOW,
    )
    assert statuses(checks)["signature"] is Status.FAIL
    assert "Certificate's SANs do not match" in by_name(checks, "signature").detail
    assert_rest_not_checked(checks, "signature")


def test_sibling_file_is_not_the_dsse_subject() -> None:
    """PROVENANCE: a.dsse.staging-rekor-v2.txt is not the subject of its bundle (a.txt is)."""
    sibling = SIGSTORE_PY / "a.dsse.staging-rekor-v2.txt"
    assert (
        sha256_file(sibling) == "e248a5db4933dba6578200238c91a57f5e65b925b73050ae786933468b7ac101"
    )
    assert sha256_file(CONFORMANCE / "a.txt") == A_TXT
    checks = verify_provenance(
        artifact_name=sibling.name,
        artifact_sha256=sha256_file(sibling),
        provenance=(SIGSTORE_PY / "a.dsse.staging-rekor-v2.txt.sigstore.json").read_bytes(),
        policy=keyless(BEACON, GHA, STAGING, builders={REKOR2_REGEN: 3}),
        at=NOW,
    )
    st = statuses(checks)
    assert st["signature"] is Status.PASS
    assert st["statement"] is Status.PASS
    assert st["subject digest"] is Status.FAIL
    detail = by_name(checks, "subject digest").detail
    assert "e248a5db" in detail
    assert (
        "subjects present: a.txt (sha256 a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf)"
        in detail
    )


def test_staging_bundle_against_production_root_fails() -> None:
    checks = verify_provenance(
        artifact_name="a.txt",
        artifact_sha256=A_TXT,
        provenance=(SIGSTORE_PY / "a.dsse.staging-rekor-v2.txt.sigstore.json").read_bytes(),
        policy=keyless(BEACON, GHA, PRODUCTION, builders={REKOR2_REGEN: 3}),
        at=NOW,
    )
    assert statuses(checks)["signature"] is Status.FAIL
    assert "Sigstore verification against the given trusted root failed" in checks[0].detail


DSSE_FAIL = [
    pytest.param("dsse-invalid-sig_fail", "DSSE: invalid signature", id="dsse-invalid-sig_fail"),
    pytest.param(
        "dsse-mismatch-envelope_fail",
        "log entry payload hash does not match bundle",
        id="dsse-mismatch-envelope_fail",
    ),
    pytest.param(
        "dsse-mismatch-sig_fail",
        "log entry signatures do not match bundle",
        id="dsse-mismatch-sig_fail",
    ),
    pytest.param(
        "rekor2-dsse-mismatch-envelope_fail",
        "transparency log entry is inconsistent with other materials",
        id="rekor2-dsse-mismatch-envelope_fail",
    ),
]


@pytest.mark.parametrize(("case", "reason"), DSSE_FAIL)
def test_conformance_dsse_fail_cases(case: str, reason: str) -> None:
    folder = CONFORMANCE / case
    root = folder / "trusted_root.json"
    checks = verify_provenance(
        artifact_name="a.txt",
        artifact_sha256=A_TXT,
        provenance=(folder / "bundle.sigstore.json").read_bytes(),
        policy=keyless(
            BEACON,
            GHA,
            root.read_text() if root.exists() else PRODUCTION,
            builders={REKOR2_REGEN: 3},
        ),
        at=NOW,
    )
    assert statuses(checks)["signature"] is Status.FAIL
    assert reason in checks[0].detail
    assert_rest_not_checked(checks, "signature")


UNVERIFIABLE = [
    # (bundle, trusted root, identity, issuer, reason in the ERROR detail)
    pytest.param(
        CONFORMANCE / "intoto-with-custom-trust-root" / "bundle.sigstore.json",
        (CONFORMANCE / "intoto-with-custom-trust-root" / "trusted_root.json").read_text(),
        BEACON,
        GHA,
        "cannot verify a Rekor intoto 0.0.2",
        id="conformance intoto-with-custom-trust-root (sigstore-python xfails it)",
    ),
    pytest.param(
        CONFORMANCE / "intoto-expired-certificate_fail" / "bundle.sigstore.json",
        (CONFORMANCE / "intoto-expired-certificate_fail" / "trusted_root.json").read_text(),
        BEACON,
        GHA,
        "cannot verify a Rekor intoto 0.0.2",
        id="conformance intoto-expired-certificate_fail",
    ),
    pytest.param(
        CONFORMANCE / "bundle-unknown-version_fail" / "bundle.sigstore.json",
        PRODUCTION,
        BEACON,
        GHA,
        "unknown Sigstore bundle media type 'application/vnd.dev.sigstore.bundle+json;version=99.9'",
        id="conformance bundle-unknown-version_fail",
    ),
    pytest.param(
        SIGSTORE_GO / "sigstore.js@2.0.0-provenance.sigstore.json",
        (SIGSTORE_GO / "trusted-root-public-good.json").read_text(),
        "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main",
        GHA,
        "cannot verify a Rekor intoto 0.0.2",
        id="sigstore-go sigstore.js@2.0.0 provenance",
    ),
    pytest.param(
        SIGSTORE_GO / "bundle-provenance.json",
        (SIGSTORE_GO / "trusted-root-public-good.json").read_text(),
        "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main",
        GHA,
        "refuses to load the bundle: malformed bundle - verificationMaterial.tlogEntries[0].inclusionProof",
        id="sigstore-go npm provenance v0.1 without inclusion proof",
    ),
    pytest.param(
        SIGSTORE_GO / "dsse.sigstore.json",
        PRODUCTION,
        "brian@dehamer.com",
        GITHUB_OAUTH,
        "refuses to load the bundle: malformed bundle - verificationMaterial.tlogEntries[0].inclusionProof",
        id="sigstore-go dsse v0.1",
    ),
    pytest.param(
        SLSA / "gha_delegator" / "v2.1.0" / "binary-linux-amd64-push-v14.2.build.slsa",
        PRODUCTION,
        "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/delegator_generic_slsa3.yml@refs/tags/v2.1.0",
        GHA,
        "cannot verify a Rekor intoto 0.0.2",
        id="slsa-verifier gha_delegator push",
    ),
    pytest.param(
        SLSA / "gha_delegator" / "v2.1.0" / "binary-linux-amd64-workflow_dispatch.build.slsa",
        PRODUCTION,
        "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/delegator_generic_slsa3.yml@refs/tags/v2.1.0",
        GHA,
        "cannot verify a Rekor intoto 0.0.2",
        id="slsa-verifier gha_delegator workflow_dispatch",
    ),
    pytest.param(
        SLSA / "verifiers-gha-bundle" / "valid.intoto.sigstore",
        PRODUCTION,
        "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/builder_docker-based_slsa3.yml@refs/heads/main",
        GHA,
        "refuses to load the bundle",
        id="slsa-verifier valid v0.1 bundle (SET only)",
    ),
    pytest.param(
        SLSA / "verifiers-gha-bundle" / "mismatch-tlog.intoto.sigstore",
        PRODUCTION,
        BEACON,
        GHA,
        "refuses to load the bundle",
        id="slsa-verifier mismatch-tlog (negative)",
    ),
    pytest.param(
        SLSA / "verifiers-gha-bundle" / "invalid-set.intoto.sigstore",
        PRODUCTION,
        BEACON,
        GHA,
        "refuses to load the bundle",
        id="slsa-verifier invalid-set (negative)",
    ),
]


@pytest.mark.parametrize(("bundle", "root", "identity", "issuer", "reason"), UNVERIFIABLE)
def test_bundles_sigstore_python_cannot_verify_are_errors_naming_why(
    bundle: Path, root: str, identity: str, issuer: str, reason: str
) -> None:
    checks = verify_provenance(
        artifact_name=bundle.name,
        artifact_sha256=A_TXT,
        provenance=bundle.read_bytes(),
        policy=keyless(identity, issuer, root, builders={GENERIC: 3}),
        at=NOW,
    )
    assert statuses(checks)["signature"] is Status.ERROR, checks[0].line()
    assert reason in checks[0].detail
    assert_rest_not_checked(checks, "signature")


@pytest.mark.parametrize(
    "name",
    [
        "annotated-tag.intoto.jsonl",
        "workflow-inputs.intoto.jsonl",
        "binary-linux-amd64-multi-subject-first.intoto.jsonl",
        "binary-linux-amd64-untrusted-builder.intoto.jsonl",
    ],
)
def test_legacy_envelopes_with_embedded_cert_need_rekor_online(name: str) -> None:
    """slsa-verifier verifies these by searching Rekor online; offline there is no log proof."""
    checks = verify_provenance(
        artifact_name="artifact1",
        artifact_sha256="482ce8c8f7e867da3a3c05a9aee637703e17470ed1cf882a9e5b405e8f82619d",
        provenance=(SLSA / name).read_bytes(),
        policy=keyless(f"{GENERIC}@refs/tags/v1.2.2", GHA, PRODUCTION, builders={GENERIC: 3}),
        at=NOW,
    )
    assert statuses(checks)["signature"] is Status.ERROR
    assert "bare DSSE envelope with no transparency-log proof" in checks[0].detail
    assert_rest_not_checked(checks, "signature")


def test_npm_publish_bundle_keyed_signature_verifies_but_is_not_provenance() -> None:
    checks = verify_provenance(
        artifact_name="sigstore-1.3.0.tgz",
        artifact_sha256=A_TXT,
        provenance=(SIGSTORE_GO / "bundle-publish.json").read_bytes(),
        policy=ProvenancePolicy(keys=[(SIGSTORE_GO / "publish_key.pub").read_text()]),
        at=NOW,
    )
    st = statuses(checks)
    assert st["signature"] is Status.PASS
    assert "Sigstore bundle: DSSE signature #1 verifies with allowed key" in checks[0].detail
    assert st["statement"] is Status.FAIL
    assert "https://github.com/npm/attestation/tree/main/specs/publish/v0.1" in checks[1].detail
    assert_rest_not_checked(checks, "statement")


def test_signature_in_the_future_of_evaluation_time_fails() -> None:
    bundle = SLSA / "gha_generic" / "v2.1.0" / "binary-linux-amd64-push-v14.2.intoto.jsonl"
    checks = verify_provenance(
        artifact_name="bin",
        artifact_sha256=GENERIC_SHA,
        provenance=bundle.read_bytes(),
        policy=keyless(f"{GENERIC}@refs/tags/v2.1.0", GHA, PRODUCTION, builders={GENERIC: 3}),
        at=datetime(2024, 1, 1, tzinfo=UTC),
    )
    assert statuses(checks)["signature"] is Status.FAIL
    assert "after the evaluation time 2024-01-01T00:00:00Z" in checks[0].detail


def test_keyless_without_trusted_root_uses_the_offline_production_root(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    checks = verify_provenance(
        artifact_name="a.txt",
        artifact_sha256=A_TXT,
        provenance=(
            CONFORMANCE / "happy-path-intoto-in-dsse-v3" / "bundle.sigstore.json"
        ).read_bytes(),
        policy=keyless(
            BEACON,
            GHA,
            None,
            builders={
                "https://github.com/loosebazooka/aa-test/.github/workflows/provenance.yaml": 3
            },
        ),
        at=NOW,
    )
    assert_all_pass(checks)
    assert "Sigstore public-good production root shipped with sigstore-python" in checks[0].detail


# =========================================================================== message signatures


MESSAGE_PASS = [
    pytest.param(
        SIGSTORE_PY / "bundle.txt.sigstore", SIGSTORE_PY / "bundle.txt", None, STAGING,
        "a@tny.town", GITHUB_OAUTH, id="sigstore-python bundle.txt v0.1",
    ),
    pytest.param(
        SIGSTORE_PY / "bundle_v3.txt.sigstore", SIGSTORE_PY / "bundle_v3.txt", None, STAGING,
        "william@yossarian.net", GITHUB_OAUTH, id="sigstore-python bundle_v3",
    ),
    pytest.param(
        SIGSTORE_PY / "bundle_v3_alt.txt.sigstore", SIGSTORE_PY / "bundle_v3_alt.txt", None, STAGING,
        "william@yossarian.net", GITHUB_OAUTH, id="sigstore-python bundle_v3_alt (version=0.3 spelling)",
    ),
    pytest.param(
        SIGSTORE_PY / "staging-rekor-v2.txt.sigstore.json", SIGSTORE_PY / "staging-rekor-v2.txt", None,
        STAGING, "jku@goto.fi", GITHUB_OAUTH, id="sigstore-python staging rekor-v2",
    ),
    pytest.param(
        SIGSTORE_PY / "bundle_v3_github.whl.sigstore", None,
        "c4e92e9ecc828bef2aa7dba1de8ac983511f7532a0df11c770d39099a25cf201", PRODUCTION,
        "https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.2", GHA,
        id="sigstore-python rfc8785 wheel by digest",
    ),
    pytest.param(
        CONFORMANCE / "happy-path-v0.1" / "bundle.sigstore.json", CONFORMANCE / "a.txt", None,
        PRODUCTION, BEACON, GHA, id="conformance happy-path-v0.1",
    ),
    pytest.param(
        CONFORMANCE / "happy-path-v0.3" / "bundle.sigstore.json", CONFORMANCE / "a.txt", None,
        PRODUCTION, BEACON, GHA, id="conformance happy-path-v0.3",
    ),
    pytest.param(
        CONFORMANCE / "rekor2-happy-path" / "bundle.sigstore.json", CONFORMANCE / "a.txt", None,
        (CONFORMANCE / "rekor2-happy-path" / "trusted_root.json").read_text(), BEACON, GHA,
        id="conformance rekor2-happy-path",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("bundle", "artifact", "sha", "root", "identity", "issuer"), MESSAGE_PASS)
def test_real_message_signature_bundles_pass(
    bundle: Path, artifact: Path | None, sha: str | None, root: str, identity: str, issuer: str
) -> None:
    digest = sha256_file(artifact) if artifact else sha
    assert digest is not None
    checks = verify_artifact_signature(
        artifact_name=(artifact or bundle).name,
        artifact_sha256=digest,
        bundle=bundle.read_bytes(),
        policy=SignerPolicy(
            certificate_identity=identity, certificate_oidc_issuer=issuer, trusted_root=root
        ),
        at=NOW,
    )
    assert [c.status for c in checks] == [Status.PASS], checks[0].line()
    assert identity in checks[0].detail


def _message(bundle: Path, sha: str, policy: SignerPolicy) -> Check:
    checks = verify_artifact_signature(
        artifact_name="artifact",
        artifact_sha256=sha,
        bundle=bundle.read_bytes(),
        policy=policy,
        at=NOW,
    )
    assert len(checks) == 1
    return checks[0]


def test_sigstore_python_message_negatives() -> None:
    bundle_txt = sha256_file(SIGSTORE_PY / "bundle.txt")
    tny = SignerPolicy(
        certificate_identity="a@tny.town",
        certificate_oidc_issuer=GITHUB_OAUTH,
        trusted_root=STAGING,
    )
    # test_policy: another identity -> "Certificate's SANs do not match".
    c = _message(
        SIGSTORE_PY / "bundle.txt.sigstore",
        bundle_txt,
        tny.model_copy(update={"certificate_identity": "bad@ident.example.com"}),
    )
    assert c.status is Status.FAIL
    assert "Certificate's SANs do not match" in c.detail
    # Another issuer.
    c = _message(
        SIGSTORE_PY / "bundle.txt.sigstore",
        bundle_txt,
        tny.model_copy(update={"certificate_oidc_issuer": GHA}),
    )
    assert c.status is Status.FAIL
    assert "OIDCIssuer does not match" in c.detail
    # With the production root it fails (cert chain).
    c = _message(
        SIGSTORE_PY / "bundle.txt.sigstore",
        bundle_txt,
        tny.model_copy(update={"trusted_root": PRODUCTION}),
    )
    assert c.status is Status.FAIL
    # Against a different artifact -> "Bundle message digest mismatch".
    c = _message(
        SIGSTORE_PY / "bundle.txt.sigstore", sha256_file(SIGSTORE_PY / "bundle_v3.txt"), tny
    )
    assert c.status is Status.FAIL
    assert "Bundle message digest mismatch" in c.detail
    # Wheel with the next tag's identity.
    wheel = SignerPolicy(
        certificate_identity="https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.3",
        certificate_oidc_issuer=GHA,
        trusted_root=PRODUCTION,
    )
    c = _message(
        SIGSTORE_PY / "bundle_v3_github.whl.sigstore",
        "c4e92e9ecc828bef2aa7dba1de8ac983511f7532a0df11c770d39099a25cf201",
        wheel,
    )
    assert c.status is Status.FAIL
    assert "Certificate's SANs do not match" in c.detail
    # CVE-2022-36056: log entry of another signature.
    william = tny.model_copy(update={"certificate_identity": "william@yossarian.net"})
    c = _message(
        SIGSTORE_PY / "bundle_cve_2022_36056.txt.sigstore",
        sha256_file(SIGSTORE_PY / "bundle_cve_2022_36056.txt"),
        william,
    )
    assert c.status is Status.FAIL
    assert "transparency log entry is inconsistent with other materials" in c.detail


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        (
            "bundle_invalid_version.txt",
            "unknown Sigstore bundle media type 'this is completely wrong'",
        ),
        (
            "bundle_v3_no_signed_time.txt",
            "bundle must contain an inclusion promise or signed timestamp(s)",
        ),
        ("bundle_no_log_entry.txt", "expected exactly one log entry in bundle"),
    ],
)
def test_sigstore_python_malformed_bundles_are_errors(name: str, reason: str) -> None:
    bundle = next(SIGSTORE_PY.glob(f"{name}.sigstore*"))
    c = _message(
        bundle,
        sha256_file(SIGSTORE_PY / name),
        SignerPolicy(
            certificate_identity="william@yossarian.net",
            certificate_oidc_issuer=GITHUB_OAUTH,
            trusted_root=STAGING,
        ),
    )
    assert c.status is Status.ERROR
    assert reason in c.detail


def test_cpython_release_bundle_without_checkpoint_is_refused() -> None:
    c = _message(
        SIGSTORE_PY / "Python-3.12.5.tgz.sigstore",
        "38dc4e2c261d49c661196066edbfb70fdb16be4a79cc8220c224dfeb5636d405",
        SignerPolicy(
            certificate_identity="thomas@python.org",
            certificate_oidc_issuer="https://accounts.google.com",
            trusted_root=PRODUCTION,
        ),
    )
    assert c.status is Status.ERROR
    assert "entry must contain inclusion proof, with checkpoint" in c.detail


@pytest.mark.parametrize(
    ("case", "artifact", "identity", "issuer", "reason"),
    [
        ("signature-mismatch_fail", "a.txt", BEACON, GHA, "Signature is invalid for input"),
        ("wrong-material_fail", "wrong-material_fail/artifact", BEACON, GHA, "Bundle message digest mismatch"),
        ("bundle-from-wrong-instance_fail", "a.txt", BEACON, GHA, "failed to build timestamp certificate chain"),
        ("message-digest-mismatch_fail", "a.txt", BEACON, GHA, "Bundle message digest mismatch"),
        (
            "integrated-time-in-future_fail", "a.txt",
            "untrusted-sa@sigstore-conformance.iam.gserviceaccount.com", "https://accounts.google.com",
            "cert is not valid at validation time",
        ),
    ],
)  # fmt: skip
def test_conformance_message_fail_cases(
    case: str, artifact: str, identity: str, issuer: str, reason: str
) -> None:
    folder = CONFORMANCE / case
    if (folder / "identity").exists():
        assert (folder / "identity").read_text().strip() == identity
        assert (folder / "issuer").read_text().strip() == issuer
    c = _message(
        folder / "bundle.sigstore.json",
        sha256_file(CONFORMANCE / artifact),
        SignerPolicy(
            certificate_identity=identity, certificate_oidc_issuer=issuer, trusted_root=PRODUCTION
        ),
    )
    assert c.status is Status.FAIL, c.line()
    assert reason in c.detail


def test_conformance_managed_key_bundles() -> None:
    happy = CONFORMANCE / "managed-key-happy-path"
    ok = _message(
        happy / "bundle.sigstore.json", A_TXT, SignerPolicy(keys=[(happy / "key.pub").read_text()])
    )
    assert ok.status is Status.PASS
    assert "message signature over sha256 a0cfc712" in ok.detail
    other = _message(
        happy / "bundle.sigstore.json",
        sha256_file(SIGSTORE_PY / "bundle.txt"),
        SignerPolicy(keys=[(happy / "key.pub").read_text()]),
    )
    assert other.status is Status.FAIL
    wrong = CONFORMANCE / "managed-key-wrong-key_fail"
    bad = _message(
        wrong / "bundle.sigstore.json", A_TXT, SignerPolicy(keys=[(wrong / "key.pub").read_text()])
    )
    assert bad.status is Status.ERROR
    assert "key #1 cannot be used" in bad.detail


def test_message_bundle_as_provenance_has_no_statement() -> None:
    checks = verify_provenance(
        artifact_name="a.txt",
        artifact_sha256=A_TXT,
        provenance=(CONFORMANCE / "happy-path-v0.3" / "bundle.sigstore.json").read_bytes(),
        policy=keyless(BEACON, GHA, PRODUCTION, builders={GENERIC: 3}),
        at=NOW,
    )
    assert statuses(checks)["signature"] is Status.PASS
    assert by_name(checks, "statement").detail == (
        "not checked: the bundle signs the artifact directly (messageSignature); "
        "it carries no provenance statement"
    )
    assert_rest_not_checked(checks, "signature")


def test_dsse_bundle_is_not_an_artifact_signature() -> None:
    c = _message(
        SIGSTORE_PY / "a.dsse.staging-rekor-v2.txt.sigstore.json",
        A_TXT,
        SignerPolicy(
            certificate_identity=BEACON, certificate_oidc_issuer=GHA, trusted_root=STAGING
        ),
    )
    assert c.status is Status.FAIL
    assert "holds a DSSE envelope" in c.detail


# =========================================================================== generated material


ARTIFACT = b"release artifact bytes \x00\x01\x02 v1.4.2\n"
ARTIFACT_SHA = hashlib.sha256(ARTIFACT).hexdigest()
BUILDER = "https://github.com/acme/builders/.github/workflows/build_slsa3.yml"


def _pem(key: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@pytest.fixture(scope="module")
def signer() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="module")
def other_key() -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.generate()


def statement_v1(
    sha: str = ARTIFACT_SHA,
    *,
    builder: str = f"{BUILDER}@refs/tags/v1.0.0",
    repo: str = "https://github.com/acme/app",
    ref: str = "refs/tags/v1.4.2",
    finished: str | None = "2025-01-02T03:04:05Z",
) -> dict[str, Any]:
    run: dict[str, Any] = {"builder": {"id": builder}, "metadata": {"invocationId": "run/1"}}
    if finished:
        run["metadata"]["finishedOn"] = finished
    return {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [
            {"name": "app-linux-amd64", "digest": {"sha256": sha}},
            {"name": "app-darwin-arm64", "digest": {"sha256": "ab" * 32}},
        ],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {
            "buildDefinition": {
                "buildType": "https://actions.github.io/buildtypes/workflow/v1",
                "externalParameters": {"workflow": {"ref": ref, "repository": repo, "path": ".github/workflows/release.yml"}},
                "resolvedDependencies": [{"uri": f"git+{repo}@{ref}", "digest": {"gitCommit": "0" * 40}}],
            },
            "runDetails": run,
        },
    }  # fmt: skip


def statement_v02(sha: str = ARTIFACT_SHA) -> dict[str, Any]:
    return {
        "_type": "https://in-toto.io/Statement/v0.1",
        "subject": [{"name": "app", "digest": {"sha256": sha}}],
        "predicateType": "https://slsa.dev/provenance/v0.2",
        "predicate": {
            "builder": {"id": f"{BUILDER}@refs/heads/main"},
            "buildType": "https://github.com/slsa-framework/slsa-github-generator/generic@v1",
            "invocation": {"configSource": {"uri": "git+https://github.com/acme/app@refs/heads/main", "entryPoint": "x"}},
            "metadata": {"buildFinishedOn": "2025-01-02T03:04:05Z"},
        },
    }  # fmt: skip


def envelope(
    key: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey,
    statement: dict[str, Any] | bytes,
    *,
    payload_type: str = IN_TOTO_PAYLOAD_TYPE,
) -> dict[str, Any]:
    payload = statement if isinstance(statement, bytes) else json.dumps(statement).encode()
    message = pae(payload_type, payload)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        sig = key.sign(message, ec.ECDSA(hashes.SHA256()))
    else:
        sig = key.sign(message)
    return {
        "payloadType": payload_type,
        "payload": base64.b64encode(payload).decode(),
        "signatures": [{"keyid": "", "sig": base64.b64encode(sig).decode()}],
    }


def keyed(*pems: str, **kw: Any) -> ProvenancePolicy:
    kw.setdefault("builders", {BUILDER: 3})
    return ProvenancePolicy(keys=list(pems), **kw)


def verify(
    doc: dict[str, Any] | bytes,
    policy: ProvenancePolicy,
    *,
    sha: str = ARTIFACT_SHA,
    at: datetime = NOW,
) -> list[Check]:
    raw = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    checks = verify_provenance(
        artifact_name="app-linux-amd64", artifact_sha256=sha, provenance=raw, policy=policy, at=at
    )
    assert all(c.subject == "app-linux-amd64" for c in checks)
    return checks


def test_generated_v1_provenance_passes(signer: ec.EllipticCurvePrivateKey) -> None:
    checks = verify(
        envelope(signer, statement_v1()),
        keyed(_pem(signer), source_uri="github.com/acme/app", source_ref="v1.4.2"),
    )
    assert_all_pass(checks)
    assert fingerprint(load_public_key(_pem(signer))) in checks[0].detail
    assert "subjects present: app-linux-amd64" in by_name(checks, "subject digest").detail


def test_generated_v02_provenance_passes(other_key: ed25519.Ed25519PrivateKey) -> None:
    checks = verify(
        envelope(other_key, statement_v02()),
        keyed(
            _pem(other_key),
            source_uri="git+https://github.com/acme/app",
            source_ref="refs/heads/main",
        ),
    )
    assert_all_pass(checks)
    assert "(Ed25519)" in checks[0].detail


def test_intoto_jsonl_and_keyed_bundle_forms(signer: ec.EllipticCurvePrivateKey) -> None:
    env = envelope(signer, statement_v1())
    jsonl = b"\n  \n" + json.dumps(env).encode() + b"\n" + json.dumps({"other": 1}).encode() + b"\n"
    assert_all_pass(verify(jsonl, keyed(_pem(signer))))
    bundle = {
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": {"publicKey": {"hint": fingerprint(load_public_key(_pem(signer)))}},
        "dsseEnvelope": env,
    }
    checks = verify(bundle, keyed(_pem(signer)))
    assert_all_pass(checks)
    assert checks[0].detail.startswith("Sigstore bundle: DSSE signature #1")


def test_tampered_payload(signer: ec.EllipticCurvePrivateKey) -> None:
    env = envelope(signer, statement_v1())
    evil = statement_v1(sha=hashlib.sha256(b"malware").hexdigest())
    env["payload"] = base64.b64encode(json.dumps(evil).encode()).decode()
    checks = verify(env, keyed(_pem(signer)), sha=hashlib.sha256(b"malware").hexdigest())
    assert statuses(checks)["signature"] is Status.FAIL
    assert "payload was altered" in checks[0].detail
    assert_rest_not_checked(checks, "signature")


def test_tampered_artifact_one_byte(signer: ec.EllipticCurvePrivateKey) -> None:
    tampered = bytearray(ARTIFACT)
    tampered[5] ^= 0x01
    checks = verify(
        envelope(signer, statement_v1()),
        keyed(_pem(signer)),
        sha=hashlib.sha256(bytes(tampered)).hexdigest(),
    )
    st = statuses(checks)
    assert st["subject digest"] is Status.FAIL
    assert "app-linux-amd64 (sha256" in by_name(checks, "subject digest").detail
    assert combine(checks) is Status.FAIL


def test_wrong_key(signer: ec.EllipticCurvePrivateKey) -> None:
    stranger = ec.generate_private_key(ec.SECP256R1())
    checks = verify(envelope(stranger, statement_v1()), keyed(_pem(signer)))
    assert statuses(checks)["signature"] is Status.FAIL
    assert "1 allowed key(s)" in checks[0].detail
    assert_rest_not_checked(checks, "signature")


def test_signature_by_a_key_not_in_the_allow_list(
    signer: ec.EllipticCurvePrivateKey, other_key: ed25519.Ed25519PrivateKey
) -> None:
    outsider = ec.generate_private_key(ec.SECP384R1())
    checks = verify(envelope(outsider, statement_v1()), keyed(_pem(signer), _pem(other_key)))
    assert statuses(checks)["signature"] is Status.FAIL
    assert (
        "none of the 1 signature(s) verifies with any of the 2 allowed key(s)" in checks[0].detail
    )


def test_builder_not_allowed(signer: ec.EllipticCurvePrivateKey) -> None:
    checks = verify(
        envelope(signer, statement_v1(builder="https://github.com/evil/fork/.github/workflows/build_slsa3.yml@refs/tags/v1.0.0")),
        keyed(_pem(signer)),
    )  # fmt: skip
    st = statuses(checks)
    assert st["builder"] is Status.FAIL
    assert "evil/fork" in by_name(checks, "builder").detail
    assert by_name(checks, "slsa level").detail == "not checked: the builder is not allowed"
    assert st["signature"] is st["statement"] is st["subject digest"] is Status.PASS


def test_builder_allow_list_empty_fails_closed(signer: ec.EllipticCurvePrivateKey) -> None:
    checks = verify(envelope(signer, statement_v1()), keyed(_pem(signer), builders={}))
    assert statuses(checks)["builder"] is Status.FAIL
    assert "allows no builder" in by_name(checks, "builder").detail


def test_subject_digest_mismatch(signer: ec.EllipticCurvePrivateKey) -> None:
    checks = verify(envelope(signer, statement_v1(sha="cd" * 32)), keyed(_pem(signer)))
    detail = by_name(checks, "subject digest").detail
    assert statuses(checks)["subject digest"] is Status.FAIL
    assert f"app-linux-amd64 (sha256 {'cd' * 32})" in detail
    assert f"app-darwin-arm64 (sha256 {'ab' * 32})" in detail


def test_payload_type_mismatch(signer: ec.EllipticCurvePrivateKey) -> None:
    checks = verify(
        envelope(signer, statement_v1(), payload_type="application/json"), keyed(_pem(signer))
    )
    assert statuses(checks)["signature"] is Status.FAIL
    assert "payloadType is 'application/json'" in checks[0].detail
    assert_rest_not_checked(checks, "signature")


def test_base64_garbage(signer: ec.EllipticCurvePrivateKey) -> None:
    env = envelope(signer, statement_v1())
    env["payload"] = "this is ~not~ base64!"
    checks = verify(env, keyed(_pem(signer)))
    assert statuses(checks)["signature"] is Status.ERROR
    assert "not valid base64" in checks[0].detail
    assert_rest_not_checked(checks, "signature")


def test_zero_signatures(signer: ec.EllipticCurvePrivateKey) -> None:
    env = envelope(signer, statement_v1())
    env["signatures"] = []
    checks = verify(env, keyed(_pem(signer)))
    assert statuses(checks)["signature"] is Status.FAIL
    assert "zero signatures" in checks[0].detail


def test_slsa_level_below_minimum(signer: ec.EllipticCurvePrivateKey) -> None:
    checks = verify(envelope(signer, statement_v1()), keyed(_pem(signer), builders={BUILDER: 2}))
    st = statuses(checks)
    assert st["builder"] is Status.PASS
    assert st["slsa level"] is Status.FAIL
    assert "level 2, below the required 3" in by_name(checks, "slsa level").detail
    lowered = verify(
        envelope(signer, statement_v1()),
        keyed(_pem(signer), builders={BUILDER: 2}, min_slsa_level=2),
    )
    assert_all_pass(lowered)


def test_sigstore_bundle_with_another_certificate_identity() -> None:
    checks = verify_provenance(
        artifact_name="a.txt",
        artifact_sha256=A_TXT,
        provenance=(
            CONFORMANCE / "happy-path-intoto-in-dsse-v3" / "bundle.sigstore.json"
        ).read_bytes(),
        policy=keyless(
            "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.4.2",
            GHA,
            PRODUCTION,
            builders={GENERIC: 3},
        ),
        at=NOW,
    )
    assert statuses(checks)["signature"] is Status.FAIL
    assert "Certificate's SANs do not match https://github.com/acme/app" in checks[0].detail
    assert_rest_not_checked(checks, "signature")


def test_source_mismatch_on_either_v1_location(signer: ec.EllipticCurvePrivateKey) -> None:
    checks = verify(
        envelope(signer, statement_v1()),
        keyed(_pem(signer), source_uri="github.com/acme/other", source_ref="v1.4.3"),
    )
    detail = by_name(checks, "source").detail
    assert statuses(checks)["source"] is Status.FAIL
    assert (
        "externalParameters.workflow is https://github.com/acme/app, not github.com/acme/other"
        in detail
    )
    assert "resolvedDependencies[0].uri ref is refs/tags/v1.4.2, not v1.4.3" in detail
    # Inconsistent provenance: the workflow and the resolved dependency disagree.
    st = statement_v1()
    st["predicate"]["buildDefinition"]["resolvedDependencies"][0]["uri"] = (
        "git+https://github.com/evil/app@refs/tags/v1.4.2"
    )
    checks = verify(envelope(signer, st), keyed(_pem(signer), source_uri="github.com/acme/app"))
    assert statuses(checks)["source"] is Status.FAIL
    assert "resolvedDependencies[0].uri is git+https://github.com/evil/app" in by_name(checks, "source").detail  # fmt: skip


def test_source_missing_from_provenance(signer: ec.EllipticCurvePrivateKey) -> None:
    st = statement_v1()
    st["predicate"]["buildDefinition"] = {"buildType": "x", "externalParameters": {}}
    checks = verify(envelope(signer, st), keyed(_pem(signer), source_uri="github.com/acme/app"))
    assert statuses(checks)["source"] is Status.FAIL
    assert "records no source repository" in by_name(checks, "source").detail


def test_real_delegator_statement_resigned_checks_byob_builder_and_source(
    signer: ec.EllipticCurvePrivateKey,
) -> None:
    """The real BYOB delegator SLSA v1 statement (its intoto 0.0.2 bundle is not verifiable by
    sigstore-python), re-signed here so its builder and resolvedDependencies source are judged
    exactly as slsa-verifier documents."""
    bundle = json.loads(
        (
            SLSA / "gha_delegator" / "v2.1.0" / "binary-linux-amd64-push-v14.2.build.slsa"
        ).read_bytes()
    )
    payload = base64.b64decode(bundle["dsseEnvelope"]["payload"])
    hello = sha256_file(SLSA / "gha_delegator" / "v2.1.0" / "binary-linux-amd64-push-v14.2")
    assert hello == "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
    trw = "https://github.com/slsa-framework/example-trw/.github/workflows/builder_high-perms_slsa3.yml"
    for allowed in (trw, f"{trw}@v2.1.0", f"{trw}@refs/tags/v2.1.0"):
        checks = verify(
            envelope(signer, payload),
            keyed(
                _pem(signer), builders={allowed: 3}, source_uri=EXAMPLE_PACKAGE, source_ref="v14.2"
            ),
            sha=hello,
        )
        assert_all_pass(checks)
    wrong_src = verify(
        envelope(signer, payload),
        keyed(
            _pem(signer),
            builders={trw: 3},
            source_uri="github.com/laurentsimon/slsa-verifier-test-genA",
        ),
        sha=hello,
    )
    assert statuses(wrong_src)["source"] is Status.FAIL
    wrong_tag = verify(
        envelope(signer, payload),
        keyed(_pem(signer), builders={trw: 3}, source_uri=EXAMPLE_PACKAGE, source_ref="v14.1"),
        sha=hello,
    )
    assert statuses(wrong_tag)["source"] is Status.FAIL
    untrusted = verify(
        envelope(signer, payload), keyed(_pem(signer), builders={GENERIC: 3}), sha=hello
    )
    assert statuses(untrusted)["builder"] is Status.FAIL


def test_real_conformance_statement_resigned(signer: ec.EllipticCurvePrivateKey) -> None:
    payload = (CONFORMANCE / "statement.json").read_bytes()
    builder = json.loads(payload)["predicate"]["runDetails"]["builder"]["id"]
    checks = verify(
        envelope(signer, payload), keyed(_pem(signer), builders={builder: 3}), sha=A_TXT
    )
    assert_all_pass(checks)


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda s: s.update({"_type": "https://example.com/Statement"}), "not an in-toto Statement"),
        (lambda s: s.update(predicateType="https://slsa.dev/verification_summary/v1"), "not SLSA provenance"),
        (lambda s: s.update(subject=[]), "no subjects"),
        (lambda s: s.pop("predicate"), "no predicate object"),
    ],
)  # fmt: skip
def test_statement_problems(signer: ec.EllipticCurvePrivateKey, mutate: Any, reason: str) -> None:
    st = statement_v1()
    mutate(st)
    checks = verify(envelope(signer, st), keyed(_pem(signer)))
    assert statuses(checks)["statement"] is Status.FAIL
    assert reason in checks[1].detail
    assert_rest_not_checked(checks, "statement")


def test_statement_payload_not_json(signer: ec.EllipticCurvePrivateKey) -> None:
    checks = verify(envelope(signer, b"\x00 not json"), keyed(_pem(signer)))
    assert statuses(checks)["statement"] is Status.FAIL
    assert "not JSON" in checks[1].detail


def test_build_after_evaluation_time_fails(signer: ec.EllipticCurvePrivateKey) -> None:
    checks = verify(
        envelope(signer, statement_v1(finished="2030-01-01T00:00:00Z")), keyed(_pem(signer))
    )
    assert statuses(checks)["statement"] is Status.FAIL
    assert "after the evaluation time" in checks[1].detail
    early = verify(
        envelope(signer, statement_v1()), keyed(_pem(signer)), at=datetime(2025, 1, 2, 3, 4, 5)
    )  # naive = UTC, exactly the build time: accepted
    assert_all_pass(early)


def test_builder_without_build_level_ref_matching(signer: ec.EllipticCurvePrivateKey) -> None:
    st = statement_v1(builder=BUILDER)  # no @ref recorded at all
    assert_all_pass(verify(envelope(signer, st), keyed(_pem(signer))))
    pinned = verify(envelope(signer, st), keyed(_pem(signer), builders={f"{BUILDER}@v1.0.0": 3}))
    assert statuses(pinned)["builder"] is Status.FAIL
    st["predicate"]["runDetails"]["builder"] = {}
    missing = verify(envelope(signer, st), keyed(_pem(signer)))
    assert statuses(missing)["builder"] is Status.FAIL
    assert "no runDetails.builder.id" in by_name(missing, "builder").detail


@pytest.mark.parametrize(
    ("policy_kw", "reason"),
    [
        ({"certificate_identity": BEACON, "certificate_oidc_issuer": GHA}, "both keys and a certificate identity"),
        ({"trusted_root": PRODUCTION}, "only applies to keyless"),
    ],
)  # fmt: skip
def test_policy_mixing_keys_and_keyless_is_an_error(
    signer: ec.EllipticCurvePrivateKey, policy_kw: dict[str, str], reason: str
) -> None:
    checks = verify(envelope(signer, statement_v1()), keyed(_pem(signer), **policy_kw))
    assert statuses(checks)["signature"] is Status.ERROR
    assert reason in checks[0].detail
    assert_rest_not_checked(checks, "signature")


@pytest.mark.parametrize(
    ("policy", "reason"),
    [
        (ProvenancePolicy(builders={BUILDER: 3}), "names no signer"),
        (ProvenancePolicy(certificate_identity=BEACON), "both a certificate identity and an OIDC issuer"),
        (ProvenancePolicy(keys=["-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"]), "key #1 cannot be used"),
        (ProvenancePolicy(certificate_identity=BEACON, certificate_oidc_issuer=GHA, trusted_root="{}"), "trusted root is unusable"),
    ],
)  # fmt: skip
def test_unusable_policies_are_errors(
    signer: ec.EllipticCurvePrivateKey, policy: ProvenancePolicy, reason: str
) -> None:
    doc: dict[str, Any] = envelope(signer, statement_v1())
    if policy.certificate_identity:
        doc = json.loads(
            (CONFORMANCE / "happy-path-intoto-in-dsse-v3" / "bundle.sigstore.json").read_bytes()
        )
    checks = verify(doc, policy)
    assert statuses(checks)["signature"] is Status.ERROR
    assert reason in checks[0].detail


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty"),
        (b"\xff\xfe\x00", "not UTF-8"),
        (b"{not json", "neither JSON nor JSON Lines"),
        (b"[1]", "not a JSON object"),
        (b'{"hello": "world"}', "neither a DSSE envelope"),
        (
            b'{"_type": "https://in-toto.io/Statement/v1", "subject": []}',
            "unsigned in-toto statement",
        ),
        (b'{"attestations": []}', "npm attestations document"),
    ],
)
def test_unreadable_provenance_files(
    signer: ec.EllipticCurvePrivateKey, raw: bytes, reason: str
) -> None:
    checks = verify(raw, keyed(_pem(signer)))
    assert statuses(checks)["signature"] is Status.ERROR
    assert reason in checks[0].detail
    assert_rest_not_checked(checks, "signature")


def test_bad_artifact_digest_is_an_error(signer: ec.EllipticCurvePrivateKey) -> None:
    checks = verify(envelope(signer, statement_v1()), keyed(_pem(signer)), sha="not-a-digest")
    assert statuses(checks)["subject digest"] is Status.ERROR
    assert combine(checks) is not Status.PASS
    only = verify_artifact_signature(
        artifact_name="x",
        artifact_sha256="abc",
        bundle=b"{}",
        policy=SignerPolicy(keys=[_pem(signer)]),
        at=NOW,
    )
    assert [c.status for c in only] == [Status.ERROR]


def test_keyed_message_bundle_from_generated_key(signer: ec.EllipticCurvePrivateKey) -> None:
    from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

    digest = hashlib.sha256(ARTIFACT).digest()
    sig = signer.sign(digest, ec.ECDSA(Prehashed(hashes.SHA256())))
    bundle: dict[str, Any] = {
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": {"publicKey": {"hint": "x"}},
        "messageSignature": {
            "messageDigest": {"algorithm": "SHA2_256", "digest": base64.b64encode(digest).decode()},
            "signature": base64.b64encode(sig).decode(),
        },
    }
    raw = json.dumps(bundle).encode()
    policy = SignerPolicy(keys=[_pem(signer)])
    ok = verify_artifact_signature(
        artifact_name="app", artifact_sha256=ARTIFACT_SHA, bundle=raw, policy=policy, at=NOW
    )
    assert [c.status for c in ok] == [Status.PASS]
    other = hashlib.sha256(ARTIFACT + b"x").hexdigest()
    bad = verify_artifact_signature(
        artifact_name="app", artifact_sha256=other, bundle=raw, policy=policy, at=NOW
    )
    assert [c.status for c in bad] == [Status.FAIL]
    assert f"the artifact's is {other}" in bad[0].detail
    garbled = copy.deepcopy(bundle)
    garbled["messageSignature"]["signature"] = "@@@"
    res = verify_artifact_signature(
        artifact_name="app",
        artifact_sha256=ARTIFACT_SHA,
        bundle=json.dumps(garbled).encode(),
        policy=policy,
        at=NOW,
    )
    assert [c.status for c in res] == [Status.ERROR]


def test_policy_models_forbid_unknown_fields() -> None:
    with pytest.raises(ValidationError):
        ProvenancePolicy(keys=[], builder={"x": 3})  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        ProvenancePolicy(min_slsa_level=7)
    with pytest.raises(ValidationError):
        ProvenancePolicy(builders={BUILDER: 5})


def test_managed_key_bundle_verified_keyless_says_to_use_the_key() -> None:
    c = _message(
        CONFORMANCE / "managed-key-happy-path" / "bundle.sigstore.json",
        A_TXT,
        SignerPolicy(
            certificate_identity=BEACON, certificate_oidc_issuer=GHA, trusted_root=PRODUCTION
        ),
    )
    assert c.status is Status.ERROR
    assert "expected certificate in bundle" in c.detail
    assert "signed with a managed key" in c.detail


# =========================================================================== strict documents


def _duplicated(statement: dict[str, Any]) -> bytes:
    """The statement's JSON with builder.id given twice: Python's json keeps the last, other
    readers the first. Signed as is, so only the duplicate key is wrong."""
    text = json.dumps(statement)
    good = json.dumps({"id": f"{BUILDER}@refs/tags/v1.0.0"})
    evil = '{"id": "https://evil.example/builder@v1", ' + good[1:]
    assert good in text
    return text.replace(good, evil).encode()


def test_signed_statement_with_a_duplicate_key_is_an_error_naming_its_path(
    signer: ec.EllipticCurvePrivateKey,
) -> None:
    assert_all_pass(verify(envelope(signer, statement_v1()), keyed(_pem(signer))))
    checks = verify(envelope(signer, _duplicated(statement_v1())), keyed(_pem(signer)))
    assert statuses(checks)["signature"] is Status.PASS
    assert statuses(checks)["statement"] is Status.ERROR
    assert "duplicate key 'id' in predicate.runDetails.builder" in checks[1].detail
    assert_rest_not_checked(checks, "statement")


def test_envelope_with_a_duplicate_key_is_an_error(signer: ec.EllipticCurvePrivateKey) -> None:
    env = envelope(signer, statement_v1())
    text = json.dumps(env)
    assert_all_pass(verify(text.encode(), keyed(_pem(signer))))
    hostile = text.replace('{"payloadType"', '{"payload": "e30=", "payloadType"', 1)
    checks = verify(hostile.encode(), keyed(_pem(signer)))
    assert statuses(checks)["signature"] is Status.ERROR
    assert "duplicate key 'payload'" in checks[0].detail
    assert_rest_not_checked(checks, "signature")


@pytest.mark.parametrize(("bundle", "root", "identity", "sha", "builder", "entry"), DSSE_PASS)
def test_real_sigstore_bundle_with_a_duplicate_key_is_refused_before_sigstore(
    bundle: Path, root: str, identity: str, sha: str, builder: str, entry: str
) -> None:
    """The real bundles that verify (positive control:
    test_real_dsse_bundles_pass_with_documented_identity_and_root) are refused once one key
    appears twice inside them, before sigstore-python (which would keep one) reads them."""
    raw = bundle.read_bytes()
    assert raw.count(b'"sig"') >= 1
    hostile = raw.replace(b'"sig"', b'"sig": "AAAA", "sig"', 1)
    checks = verify_provenance(
        artifact_name=bundle.name,
        artifact_sha256=sha,
        provenance=hostile,
        policy=keyless(identity, GHA, root, builders={builder: 3}),
        at=NOW,
    )
    assert checks[0].status is Status.ERROR, checks[0].line()
    assert "duplicate key 'sig' in dsseEnvelope.signatures[0]" in checks[0].detail
