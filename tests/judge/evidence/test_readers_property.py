"""Issue #8 class 10, the document readers: given arbitrary bytes, a real fixture with one
byte replaced, or a real fixture with one key duplicated, every reader either returns a
result or raises its own documented error (the one its gate turns into ERROR) - never
another exception - and never PASSes garbage or a document whose key repeats.

Positive controls: each real fixture, unmutated, reads (and, where it is signed, PASSes).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from igkit.errors import ConfigError
from igkit.judge.evidence.approvals import ApprovalsError, parse_approvals
from igkit.judge.evidence.checks import combine
from igkit.judge.evidence.drill import DrillReportError, parse_drill_report
from igkit.judge.evidence.dsse import (
    IN_TOTO_PAYLOAD_TYPE,
    DsseProblem,
    Envelope,
    pae,
    parse_envelope,
)
from igkit.judge.evidence.opa import BundleError, read_bundle, verify_bundle
from igkit.judge.evidence.provenance import ProvenancePolicy, verify_provenance
from igkit.judge.evidence.release import ReleaseFileError, parse_release
from igkit.judge.evidence.sbom import scan_sbom
from igkit.spec.loader import parse_matrix
from igkit.verdicts import Status

ROOT = Path(__file__).resolve().parents[3]
FIX = ROOT / "tests" / "fixtures"
THIRD = FIX / "third_party"
OPA = THIRD / "opa" / "eopa-ekm" / "bundle"
OPA_KEY = (OPA / "public_key.pem").read_text()
OPA_AT = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
AT = datetime(2025, 3, 1, 3, 30, tzinfo=UTC)

MATRIX = b"""# a small matrix (the shipped one parses in ~0.1 s: too slow for 100s of examples)
defaults: {step: 15s, rate: 5m, min_coverage: 0.9, max_staleness: 2m, max_gap: 5m}
gates:
  - id: G1
    name: SLO
    objectives:
      - name: p95
        named_query:
          name: latency_quantile
          params: {metric: graphql_latency, selector: 'operation_type="query"', by: tenant}
        comparison: "<="
        threshold: {value: 350, unit: ms}
        rule: {kind: all_steps, window: 60m}
      - name: burn
        query: sum(finops_cost_usd_total)
        comparison: "<"
        threshold: {value: 80, unit: percent}
        rule: {kind: budget_burn, budget_usd: 18000, step: 5m}
  - id: G7
    name: DR
    objectives:
      - {type: drill, name: dr, report: drill/report.yaml, env: prod, rpo_target: 5m, rto_target: 60m, max_age: 7d}
"""
RELEASE = b"""releaseTag: v1.4.0
changeTicket: CHG-2025-0301
artifacts:
  - name: intelgraph-api
    version: 1.4.0
    path: artifacts/intelgraph-api-1.4.0.tar
    provenance: attestations/intelgraph-api.intoto.jsonl
    sbom: sboms/intelgraph-api.cdx.json
"""
DRILL_YAML = (FIX / "evidence" / "drill" / "report.yaml").read_bytes()
DRILL_JSON = (FIX / "evidence" / "drill" / "report.json").read_bytes()
APPROVALS_YAML = (FIX / "evidence" / "approvals.yaml").read_bytes()
APPROVALS_CSV = (FIX / "evidence" / "approvals.csv").read_bytes()
CDX = (FIX / "demo-evidence" / "sboms" / "intelgraph-api.cdx.json").read_bytes()
GRYPE = (THIRD / "grype" / "TestJsonImgsPresenter.golden.json").read_bytes()
TRIVY = (THIRD / "trivy" / "alpine-39.json.golden").read_bytes()
OPA_TAR = (OPA / "bundle.tar.gz").read_bytes()

ARTIFACT_SHA = hashlib.sha256(b"artifact").hexdigest()
BUILDER = "https://github.com/acme/builders/.github/workflows/build_slsa3.yml"
_KEY = ec.generate_private_key(ec.SECP256R1())
_PEM = (
    _KEY.public_key()
    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    .decode()
)
POLICY = ProvenancePolicy(keys=[_PEM], builders={BUILDER: 3})


def _envelope() -> bytes:
    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "app", "digest": {"sha256": ARTIFACT_SHA}}],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {
            "buildDefinition": {"buildType": "x", "externalParameters": {}},
            "runDetails": {
                "builder": {"id": f"{BUILDER}@refs/tags/v1"},
                "metadata": {"finishedOn": "2025-01-02T03:04:05Z"},
            },
        },
    }
    payload = json.dumps(statement).encode()
    sig = _KEY.sign(pae(IN_TOTO_PAYLOAD_TYPE, payload), ec.ECDSA(hashes.SHA256()))
    return json.dumps(
        {
            "payloadType": IN_TOTO_PAYLOAD_TYPE,
            "payload": base64.b64encode(payload).decode(),
            "signatures": [{"keyid": "", "sig": base64.b64encode(sig).decode()}],
        }
    ).encode()


ENVELOPE = _envelope()


# ----------------------------------------------------------------------------- readers
# Each reader returns True when its result is a PASS, False for any other result, and
# raises only its documented error.


def _matrix(data: bytes) -> bool:
    parse_matrix(data.decode("utf-8", "replace"), source="m.yaml")
    return False


def _release(data: bytes) -> bool:
    parse_release(data, name="release.yaml")
    return False


def _drill(name: str) -> Callable[[bytes], bool]:
    def read(data: bytes) -> bool:
        parse_drill_report(data, name=name)
        return False

    return read


def _approvals(name: str) -> Callable[[bytes], bool]:
    def read(data: bytes) -> bool:
        parse_approvals(data, name=name)
        return False

    return read


def _sbom(name: str, sha: str | None = None) -> Callable[[bytes], bool]:
    def read(data: bytes) -> bool:
        checks = scan_sbom(
            content=data,
            artifact_name=name,
            artifact_version=None,
            artifact_sha256=sha,
            fail_at="critical",
        )
        return combine(checks) is Status.PASS

    return read


def _provenance(data: bytes) -> bool:
    checks = verify_provenance(
        artifact_name="app", artifact_sha256=ARTIFACT_SHA, provenance=data, policy=POLICY, at=AT
    )
    return combine(checks) is Status.PASS


def _dsse(data: bytes) -> bool:
    assert isinstance(parse_envelope(data), Envelope | DsseProblem)
    return False


def _opa_tar(data: bytes) -> bool:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bundle.tar.gz"
        path.write_bytes(data)
        files = read_bundle(path)
    checks = verify_bundle(files=files, key=OPA_KEY, signing_alg="RS256", at=OPA_AT)
    return combine(checks) is Status.PASS


def _opa_file(name: str) -> Callable[[bytes], bool]:
    base = read_bundle(OPA / "bundle.tar.gz")

    def read(data: bytes) -> bool:
        files = {**base, name: data}
        checks = verify_bundle(files=files, key=OPA_KEY, signing_alg="RS256", at=OPA_AT)
        return combine(checks) is Status.PASS

    return read


Reader = tuple[Callable[[bytes], bool], tuple[type[BaseException], ...], bytes, bool]
# reader, its documented errors, a real fixture, whether that fixture PASSes
READERS: dict[str, Reader] = {
    "matrix": (_matrix, (ConfigError,), MATRIX, False),
    "release": (_release, (ReleaseFileError,), RELEASE, False),
    "drill-yaml": (_drill("report.yaml"), (DrillReportError,), DRILL_YAML, False),
    "drill-json": (_drill("report.json"), (DrillReportError,), DRILL_JSON, False),
    "approvals-yaml": (_approvals("approvals.yaml"), (ApprovalsError,), APPROVALS_YAML, False),
    "approvals-csv": (_approvals("approvals.csv"), (ApprovalsError,), APPROVALS_CSV, False),
    "sbom-cyclonedx": (_sbom("intelgraph-api"), (), CDX, True),
    "sbom-grype": (_sbom("user-input"), (), GRYPE, False),
    "sbom-trivy": (_sbom("alpine-39.tar.gz"), (), TRIVY, False),
    "provenance-dsse": (_provenance, (), ENVELOPE, True),
    "dsse-envelope": (_dsse, (), ENVELOPE, False),
    "opa-tar": (_opa_tar, (BundleError,), OPA_TAR, True),
    "opa-data.json": (
        _opa_file("data.json"),
        (),
        read_bundle(OPA / "bundle.tar.gz")["data.json"],
        True,
    ),
    "opa-signatures": (
        _opa_file(".signatures.json"),
        (),
        read_bundle(OPA / "bundle.tar.gz")[".signatures.json"],
        True,
    ),
    "opa-manifest": (_opa_file(".manifest"), (), b'{"revision": "r1"}', False),
}
JSON_READERS = [n for n, (_, _, raw, _) in READERS.items() if raw.lstrip()[:1] == b"{"]
STRUCTURED = [
    "matrix",
    "release",
    "drill-yaml",
    "drill-json",
    "approvals-yaml",
    *[n for n in JSON_READERS if n not in ("drill-json",)],
]
_SETTINGS = settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _outcome(name: str, data: bytes) -> bool | None:
    """True for PASS, False for another result, None for the reader's documented error."""
    read, errors, _, _ = READERS[name]
    try:
        return read(data)
    except errors:
        return None


@pytest.mark.parametrize("name", sorted(READERS))
def test_positive_control_each_real_fixture_reads(name: str) -> None:
    _, _, raw, passes = READERS[name]
    assert _outcome(name, raw) is passes


@pytest.mark.property
@pytest.mark.parametrize("name", sorted(READERS))
@_SETTINGS
@given(data=st.binary(max_size=400))
def test_arbitrary_bytes_never_pass_and_raise_only_documented_errors(
    name: str, data: bytes
) -> None:
    assert _outcome(name, data) is not True


@pytest.mark.property
@pytest.mark.parametrize("name", sorted(READERS))
@_SETTINGS
@given(choice=st.data())
def test_one_byte_replaced_raises_only_documented_errors(name: str, choice: st.DataObject) -> None:
    raw = READERS[name][2]
    index = choice.draw(st.integers(0, len(raw) - 1), label="index")
    byte = choice.draw(st.integers(0, 255).filter(lambda b: b != raw[index]), label="byte")
    _outcome(name, raw[:index] + bytes([byte]) + raw[index + 1 :])


def _objects(value: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node:
                out.append(node)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return out


def _dump_with_duplicate(value: Any, target: dict[str, Any], decoy: Any) -> str:
    """JSON text of ``value`` in which ``target``'s first key also appears first with
    ``decoy`` (a reader keeping the last would not notice)."""
    if isinstance(value, dict):
        items = [
            f"{json.dumps(k)}: {_dump_with_duplicate(v, target, decoy)}" for k, v in value.items()
        ]
        if value is target:
            first = next(iter(value))
            items.insert(0, f"{json.dumps(first)}: {json.dumps(decoy)}")
        return "{" + ", ".join(items) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_dump_with_duplicate(v, target, decoy) for v in value) + "]"
    return json.dumps(value, default=str)


def _as_data(name: str, raw: bytes) -> Any:
    import yaml

    if raw.lstrip()[:1] in (b"{", b"["):
        return json.loads(raw)
    return yaml.safe_load(raw)


@pytest.mark.property
@pytest.mark.parametrize("name", STRUCTURED)
@_SETTINGS
@given(choice=st.data())
def test_a_duplicated_key_anywhere_is_refused(name: str, choice: st.DataObject) -> None:
    """Any object of the fixture, its first key repeated with a decoy value: never a PASS,
    and a reader that raises says 'duplicate key'."""
    _, errors, raw, _ = READERS[name]
    data = _as_data(name, raw)
    objects = _objects(data)
    target = objects[choice.draw(st.integers(0, len(objects) - 1), label="object")]
    decoy = choice.draw(st.sampled_from([None, [], {}, "x", 0]), label="decoy")
    text = _dump_with_duplicate(data, target, decoy)
    read = READERS[name][0]
    refusal = ""
    try:
        result = read(text.encode())
    except errors as exc:
        refusal = str(exc)
    if refusal:
        assert "duplicate key" in refusal, refusal
        return
    assert result is not True, text[:200]
    if not errors and name != "opa-manifest":  # a verifier says it in its checks
        assert _mentions_duplicate(name, text.encode()), name


def _mentions_duplicate(name: str, data: bytes) -> bool:
    if name.startswith("sbom"):
        read = READERS[name][0]
        sha = None
        checks = scan_sbom(
            content=data,
            artifact_name={"sbom-cyclonedx": "intelgraph-api", "sbom-grype": "user-input"}.get(
                name, "alpine-39.tar.gz"
            ),
            artifact_version=None,
            artifact_sha256=sha,
            fail_at="critical",
        )
        del read
        return any("duplicate key" in c.detail for c in checks)
    if name == "provenance-dsse":
        checks = verify_provenance(
            artifact_name="app", artifact_sha256=ARTIFACT_SHA, provenance=data, policy=POLICY, at=AT
        )
        return any("duplicate key" in c.detail for c in checks)
    if name == "dsse-envelope":
        result = parse_envelope(data)
        return isinstance(result, DsseProblem) and "duplicate key" in result.reason
    if name.startswith("opa"):
        files = {**read_bundle(OPA / "bundle.tar.gz"), name.removeprefix("opa-"): data}
        if name == "opa-signatures":
            files = {**read_bundle(OPA / "bundle.tar.gz"), ".signatures.json": data}
        checks = verify_bundle(files=files, key=OPA_KEY, signing_alg="RS256", at=OPA_AT)
        return any("duplicate key" in c.detail or "appears twice" in c.detail for c in checks)
    return True


def _tar(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for member, content in members.items():
            info = tarfile.TarInfo(member)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return buf.getvalue()


@pytest.mark.property
@_SETTINGS
@given(
    members=st.dictionaries(
        st.sampled_from(["data.json", ".manifest", ".signatures.json", "a/data.yaml", "p.rego"]),
        st.binary(max_size=200),
        max_size=5,
    )
)
def test_arbitrary_opa_tarballs_never_pass(members: dict[str, bytes]) -> None:
    assert _outcome("opa-tar", _tar(members)) is not True
