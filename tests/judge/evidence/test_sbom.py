"""scan_sbom on real CycloneDX, Grype and Trivy documents, and on variants made from them."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from igkit.judge.evidence.checks import Check, combine
from igkit.judge.evidence.sbom import scan_sbom
from igkit.verdicts import Status

THIRD_PARTY = Path(__file__).resolve().parents[2] / "fixtures" / "third_party"
CDX = THIRD_PARTY / "cyclonedx"
VEX = CDX / "bom-examples" / "VEX"
GRYPE = THIRD_PARTY / "grype"
TRIVY = THIRD_PARTY / "trivy"
ALPINE_IMAGE_ID = "055936d3920576da37aa9bc460d70c5f212028bda1c08c0879aedf03d7a66ea1"
GRYPE_IMAGE_ID = "ab5608d634db2716a297adbfa6a5dd5d8f8f5a7d0cab73649ea7fbb8c8da544f"
GRYPE_MANIFEST = "ca738abb87a8d58f112d3400ebb079b61ceae7dc290beb34bda735be4b1941d5"


def scan(
    content: bytes | Path | dict[str, Any],
    name: str,
    version: str | None = None,
    sha: str | None = None,
    fail_at: Any = "high",
) -> dict[str, Check]:
    if isinstance(content, Path):
        content = content.read_bytes()
    elif isinstance(content, dict):
        content = json.dumps(content).encode()
    checks = scan_sbom(
        content=content,
        artifact_name=name,
        artifact_version=version,
        artifact_sha256=sha,
        fail_at=fail_at,
    )
    assert [c.name for c in checks] == ["sbom format", "describes artifact", "vulnerabilities"]
    assert all(c.subject == name for c in checks)
    return {c.name: c for c in checks}


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_bytes())
    return data


# --------------------------------------------------------------------------- CycloneDX


def test_cisa_case3_vex_exploitable_and_in_triage_block_not_affected_and_resolved_do_not() -> None:
    """README: not affected 11897/11902/11899/11905/11906/11913, fixed 11901/11912/11914 -> 9
    suppressed; exploitable/in_triage critical 11896/11898 and high 11900/11904 block."""
    r = scan(VEX / "CISA-Use-Cases" / "Case-3" / "vex.json", "GHI", "17.4")
    assert r["sbom format"].status is Status.PASS
    assert r["sbom format"].detail == "CycloneDX 1.4 JSON"
    assert r["describes artifact"].status is Status.PASS
    v = r["vulnerabilities"]
    assert v.status is Status.FAIL
    assert v.detail.startswith(
        "4 vulnerabilities at/above high: CVE-2020-11896 critical (GHI 17.4), "
        "CVE-2020-11898 critical (GHI 17.4), CVE-2020-11900 high (GHI 17.4), "
        "CVE-2020-11904 high (GHI 17.4); 9 suppressed by VEX; below high: 6 medium"
    )
    for not_affected in ("11897", "11902", "11899", "11905", "11906", "11913", "11901"):
        assert f"CVE-2020-{not_affected}" not in v.detail
    only_critical = scan(VEX / "CISA-Use-Cases" / "Case-3" / "vex.json", "GHI", fail_at="critical")
    assert only_critical["vulnerabilities"].detail.startswith("2 vulnerabilities at/above critical")
    medium = scan(VEX / "CISA-Use-Cases" / "Case-3" / "vex.json", "GHI", fail_at="medium")
    assert medium["vulnerabilities"].detail.startswith("10 vulnerabilities at/above medium")


def test_cisa_case1_log4shell_not_affected_passes() -> None:
    r = scan(VEX / "CISA-Use-Cases" / "Case-1" / "vex-not_affected.json", "ABC", "4.2")
    assert combine(list(r.values())) is Status.PASS
    assert "1 suppressed by VEX" in r["vulnerabilities"].detail


def test_cisa_case1_log4shell_exploitable_without_rating_is_never_pass() -> None:
    r = scan(VEX / "CISA-Use-Cases" / "Case-1" / "vex-affected.json", "DEF", "1.0")
    v = r["vulnerabilities"]
    assert v.status is Status.NO_DATA
    assert "CVE-2021-44228 no severity (DEF 1.0)" in v.detail


def test_exploitable_high_blocks_release() -> None:
    r = scan(VEX / "Use-Cases" / "Case-2" / "vex.json", "Acme Product", "2.4.0")
    assert r["vulnerabilities"].status is Status.FAIL
    assert "CVE-2020-25649 high (Acme Product 2.4.0)" in r["vulnerabilities"].detail


def test_cyclonedx_describes_by_name_version_and_hash() -> None:
    doc = load(VEX / "Use-Cases" / "Case-2" / "vex.json")
    wrong_version = scan(doc, "Acme Product", "2.4.1")
    assert wrong_version["describes artifact"].status is Status.FAIL
    assert wrong_version["describes artifact"].detail == (
        "SBOM does not describe Acme Product 2.4.1: it describes Acme Product 2.4.0"
    )
    # A report that does not describe the artifact never PASSes its vulnerabilities either.
    assert wrong_version["vulnerabilities"].status is Status.FAIL
    wrong_name = scan(doc, "Other Product")
    assert wrong_name["describes artifact"].status is Status.FAIL

    with_hash = copy.deepcopy(doc)
    with_hash["metadata"]["component"]["hashes"] = [{"alg": "SHA-256", "content": "ab" * 32}]
    assert scan(with_hash, "renamed.tar", sha="ab" * 32)["describes artifact"].status is Status.PASS
    # Name and version agree but the recorded digest is another build: FAIL.
    tampered = scan(with_hash, "Acme Product", "2.4.0", sha="ac" + "ab" * 31)
    assert tampered["describes artifact"].status is Status.FAIL
    assert "records sha256 " + "ab" * 32 in tampered["describes artifact"].detail


def test_vex_document_without_metadata_component_does_not_describe_anything() -> None:
    r = scan(VEX / "vex.json", "example-app", "1.0.0")
    assert r["sbom format"].status is Status.PASS
    assert r["describes artifact"].status is Status.FAIL
    assert "SBOM does not describe example-app 1.0.0" in r["describes artifact"].detail
    assert r["vulnerabilities"].status is Status.FAIL
    assert r["vulnerabilities"].detail.startswith("not checked: the report does not describe")


@pytest.mark.parametrize("version", ["1.5", "1.6"])
def test_specification_vulnerability_examples(version: str) -> None:
    doc = load(CDX / "specification" / f"valid-vulnerability-{version}.json")
    r = scan(doc, "app")
    assert r["sbom format"].detail.startswith(f"CycloneDX {version} JSON (urn:uuid:")
    assert r["describes artifact"].status is Status.FAIL
    # Given a subject, the critical Snyk finding is VEX not_affected: suppressed.
    doc["metadata"] = {"component": {"name": "app", "version": "1.0"}}
    ok = scan(doc, "app", "1.0")
    assert ok["vulnerabilities"].status is Status.PASS
    assert "1 suppressed by VEX" in ok["vulnerabilities"].detail
    # Without the analysis it is a critical (CVSSv3 9.8) blocker on jackson-databind 2.9.4.
    del doc["vulnerabilities"][0]["analysis"]
    blocked = scan(doc, "app", "1.0")
    assert blocked["vulnerabilities"].status is Status.FAIL
    assert "SNYK-JAVA-COMFASTERXMLJACKSONCORE-32111 critical (jackson-databind 2.9.4)" in (
        blocked["vulnerabilities"].detail
    )


def test_cyclonedx_13_is_refused_and_inventory_only_boms_are_no_data() -> None:
    r = scan(VEX / "bom.json", "example-app", "1.0.0")
    assert r["sbom format"].status is Status.ERROR
    assert "CycloneDX 1.3 is not supported" in r["sbom format"].detail
    assert r["vulnerabilities"].status is Status.ERROR
    doc = load(VEX / "bom.json")
    doc["specVersion"] = "1.5"
    inventory = scan(doc, "example-app", "1.0.0")
    assert inventory["describes artifact"].status is Status.PASS
    assert inventory["vulnerabilities"].status is Status.NO_DATA
    assert "no vulnerabilities[] section" in inventory["vulnerabilities"].detail
    doc["vulnerabilities"] = []
    assert combine(list(scan(doc, "com.example/example-app", "1.0.0").values())) is Status.PASS


def test_trivy_cyclonedx_takes_the_highest_rating() -> None:
    r = scan(
        TRIVY / "fluentd-multiple-lockfiles-short.cdx.json.golden",
        "fluentd-multiple-lockfiles.tar.gz",
    )
    assert r["sbom format"].detail.startswith("CycloneDX 1.7 JSON")
    assert r["describes artifact"].status is Status.PASS
    v = r["vulnerabilities"]
    assert v.status is Status.FAIL
    # CVE-2019-18224's ratings are medium, high, critical, medium, medium: critical counts.
    assert v.detail.startswith(
        "3 vulnerabilities at/above high: CVE-2019-18224 critical (libidn2-0 2.0.5-1), "
        "CVE-2020-8165 critical (activesupport 6.0.2.1), CVE-2019-18276 high (bash 5.0-4)"
    )
    npm = scan(TRIVY / "npm-cyclonedx.json.golden", "npm")
    assert combine(list(npm.values())) is Status.PASS
    assert "below high: 1 medium" in npm["vulnerabilities"].detail
    assert scan(TRIVY / "npm-cyclonedx.json.golden", "npm", fail_at="medium")[
        "vulnerabilities"
    ].detail.startswith("1 vulnerability at/above medium: CVE-2019-11358 medium (jquery 3.3.9)")


def test_cvss_score_without_severity_is_banded() -> None:
    doc = load(VEX / "Use-Cases" / "Case-2" / "vex.json")
    doc["vulnerabilities"][0]["ratings"] = [{"score": 9.1, "method": "CVSSv31"}]
    r = scan(doc, "Acme Product")
    assert "CVE-2020-25649 critical" in r["vulnerabilities"].detail


# --------------------------------------------------------------------------- Grype


def test_grype_image_report() -> None:
    r = scan(GRYPE / "TestJsonImgsPresenter.golden.json", "user-input", sha=GRYPE_IMAGE_ID)
    assert r["sbom format"].detail == "Grype JSON report (grype [not provided]; image source)"
    assert r["describes artifact"].detail == f"the report's subject has sha256 {GRYPE_IMAGE_ID}"
    v = r["vulnerabilities"]
    assert v.status is Status.FAIL
    assert v.detail == (
        "1 vulnerability at/above high: CVE-1999-0002 critical (package-2 2.2.2); "
        "0 suppressed by VEX; below high: 1 low"
    )
    by_manifest = scan(
        GRYPE / "TestJsonImgsPresenter.golden.json", "x", sha=f"sha256:{GRYPE_MANIFEST}"
    )
    assert by_manifest["describes artifact"].status is Status.PASS
    by_name = scan(GRYPE / "TestJsonImgsPresenter.golden.json", "user-input")
    assert by_name["describes artifact"].status is Status.PASS
    other = scan(GRYPE / "TestJsonImgsPresenter.golden.json", "user-input", sha="00" * 32)
    assert other["describes artifact"].status is Status.FAIL
    low = scan(GRYPE / "TestJsonImgsPresenter.golden.json", "user-input", fail_at="low")
    assert low["vulnerabilities"].detail.startswith("2 vulnerabilities at/above low")


def test_grype_directory_report_and_ignored_matches() -> None:
    doc = load(GRYPE / "TestJsonDirsPresenter.golden.json")
    r = scan(doc, "/some/path")
    assert r["describes artifact"].status is Status.PASS
    assert r["vulnerabilities"].status is Status.FAIL
    assert scan(doc, "path")["describes artifact"].status is Status.PASS  # basename
    assert scan(doc, "/other/path")["describes artifact"].status is Status.FAIL
    # Grype moves VEX'd / ignored findings to ignoredMatches.
    critical = next(m for m in doc["matches"] if m["vulnerability"]["severity"] == "Critical")
    doc["ignoredMatches"] = [critical]
    doc["matches"] = [m for m in doc["matches"] if m is not critical]
    ok = scan(doc, "/some/path")
    assert ok["vulnerabilities"].status is Status.PASS
    assert "1 suppressed by the scanner's ignore rules/VEX" in ok["vulnerabilities"].detail
    doc["matches"] = []
    assert scan(doc, "/some/path")["vulnerabilities"].status is Status.PASS


def test_grype_unknown_severity_is_no_data() -> None:
    doc = load(GRYPE / "TestJsonDirsPresenter.golden.json")
    for m in doc["matches"]:
        m["vulnerability"]["severity"] = "Unknown"
    v = scan(doc, "/some/path")["vulnerabilities"]
    assert v.status is Status.NO_DATA
    assert "CVE-1999-0001 no severity" in v.detail


# --------------------------------------------------------------------------- Trivy


def test_trivy_alpine_image_report() -> None:
    r = scan(TRIVY / "alpine-39.json.golden", "alpine-39.tar.gz")
    assert r["sbom format"].detail == "Trivy JSON report (SchemaVersion 2, container_image)"
    assert r["describes artifact"].status is Status.PASS
    v = r["vulnerabilities"]
    assert v.status is Status.FAIL
    # Two packages, one CVE: listed once with both packages.
    assert v.detail.startswith(
        "1 vulnerability at/above high: CVE-2019-14697 critical (musl 1.1.20-r4, musl-utils 1.1.20-r4)"
    )
    assert "below high: 2 medium" in v.detail


def test_trivy_high_critical_report_by_image_id_and_tag() -> None:
    path = TRIVY / "alpine-39-high-critical.json.golden"
    assert scan(path, "x", sha=ALPINE_IMAGE_ID)["describes artifact"].status is Status.PASS
    by_tag = scan(path, "ghcr.io/aquasecurity/trivy-test-images", "alpine-39")
    assert by_tag["describes artifact"].status is Status.PASS
    assert by_tag["vulnerabilities"].status is Status.FAIL
    wrong_tag = scan(path, "ghcr.io/aquasecurity/trivy-test-images", "alpine-310")
    assert wrong_tag["describes artifact"].status is Status.FAIL
    tar_digest = scan(path, "alpine-39.tar.gz", sha="11" * 32)
    assert tar_digest["describes artifact"].status is Status.FAIL
    assert f"records sha256 {ALPINE_IMAGE_ID}" in tar_digest["describes artifact"].detail


def test_trivy_clean_scan_passes_but_a_scan_of_nothing_does_not() -> None:
    """Results without Vulnerabilities is a clean scan (PASS); no Results at all means Trivy
    found nothing to scan, which is evidence of nothing (NO_DATA, never PASS)."""
    doc = load(TRIVY / "alpine-39.json.golden")
    for result in doc["Results"]:
        del result["Vulnerabilities"]
    r = scan(doc, "alpine-39.tar.gz")
    assert combine(list(r.values())) is Status.PASS
    assert "(0 listed)" in r["vulnerabilities"].detail
    for empty in ([], None):
        if empty is None:
            del doc["Results"]
        else:
            doc["Results"] = empty
        r = scan(doc, "alpine-39.tar.gz")
        assert r["vulnerabilities"].status is Status.NO_DATA
        assert "nothing was checked" in r["vulnerabilities"].detail


def test_trivy_modified_findings_are_counted_as_suppressed() -> None:
    doc = load(TRIVY / "alpine-39.json.golden")
    result = doc["Results"][0]
    critical = [v for v in result["Vulnerabilities"] if v["Severity"] == "CRITICAL"]
    result["Vulnerabilities"] = [
        v for v in result["Vulnerabilities"] if v["Severity"] != "CRITICAL"
    ]
    result["ExperimentalModifiedFindings"] = [
        {"Type": "vulnerability", "Status": "not_affected", "Finding": v} for v in critical
    ]
    v = scan(doc, "alpine-39.tar.gz")["vulnerabilities"]
    assert v.status is Status.PASS
    assert "2 suppressed by the scanner's ignore rules/VEX" in v.detail


# --------------------------------------------------------------------------- unreadable


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"<bom xmlns='http://cyclonedx.org/schema/bom/1.5'/>", "the file is not JSON"),
        (b'{"spdxVersion": "SPDX-2.3", "packages": []}', "this is an SPDX document"),
        (b'{"hello": "world"}', "not a CycloneDX/Grype/Trivy report"),
        (b"[]", "not a CycloneDX/Grype/Trivy report"),
        (b"\xff\xfe", "the file is not JSON"),
    ],
)
def test_unknown_documents_are_errors(content: bytes, reason: str) -> None:
    r = scan(content, "app")
    assert r["sbom format"].status is Status.ERROR
    assert reason in r["sbom format"].detail
    assert r["describes artifact"].detail.startswith("not checked")
    assert r["vulnerabilities"].status is Status.ERROR


def test_bad_arguments_are_errors() -> None:
    path = TRIVY / "alpine-39.json.golden"
    assert scan(path, "app", sha="xyz")["sbom format"].status is Status.ERROR
    assert scan(path, "app", fail_at="severe")["sbom format"].status is Status.ERROR


# --------------------------------------------------------------------------- strict documents

DEMO_SBOM = Path(__file__).resolve().parents[2] / "fixtures" / "demo-evidence" / "sboms"


def demo_cdx() -> dict[str, Any]:
    return load(DEMO_SBOM / "intelgraph-api.cdx.json")


def demo_scan(doc: dict[str, Any] | bytes) -> dict[str, Check]:
    return scan(doc, "intelgraph-api", "1.4.0")


def grype_doc() -> dict[str, Any]:
    doc = load(GRYPE / "TestJsonImgsPresenter.golden.json")
    doc["matches"] = [m for m in doc["matches"] if m["vulnerability"]["severity"] in ("Low",)]
    return doc


def grype_scan(doc: dict[str, Any] | bytes) -> dict[str, Check]:
    return scan(doc, "user-input", sha=GRYPE_IMAGE_ID, fail_at="critical")


def trivy_doc() -> dict[str, Any]:
    doc = load(TRIVY / "alpine-39.json.golden")
    for result in doc["Results"]:
        result["Vulnerabilities"] = [
            v for v in result.get("Vulnerabilities", []) if v["Severity"] in ("LOW", "MEDIUM")
        ]
    return doc


def trivy_scan(doc: dict[str, Any] | bytes) -> dict[str, Check]:
    return scan(doc, "alpine-39.tar.gz", fail_at="critical")


def _set(doc: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    node: Any = doc
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return doc


FORMATS = {
    "cyclonedx": (demo_cdx, demo_scan, ("vulnerabilities",), "vulnerabilities"),
    "grype": (grype_doc, grype_scan, ("matches",), "matches"),
    "trivy": (
        trivy_doc,
        trivy_scan,
        ("Results", 0, "Vulnerabilities"),
        "Results[0].Vulnerabilities",
    ),
    "trivy-results": (trivy_doc, trivy_scan, ("Results",), "Results"),
}
NOT_A_LIST_OF_OBJECTS = [None, "none", {"id": "CVE-1"}, [1], [{"id": "x"}, "CVE-2"], 0, True]


def test_honest_twins_of_the_strict_document_cases_pass() -> None:
    for make, run, _, _ in FORMATS.values():
        r = run(make())
        assert combine(list(r.values())) is Status.PASS, [c.line() for c in r.values()]


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize("value", NOT_A_LIST_OF_OBJECTS, ids=repr)
def test_a_vulnerability_section_that_is_not_a_list_of_objects_is_unreadable(
    fmt: str, value: Any
) -> None:
    make, run, path, shown = FORMATS[fmt]
    r = run(_set(make(), path, value))
    assert {c.status for c in r.values()} == {Status.ERROR}, [c.line() for c in r.values()]
    assert "unreadable report: SBOM of " in r["sbom format"].detail
    assert f"{shown} is not a list of objects" in r["sbom format"].detail


@pytest.mark.parametrize(
    ("fmt", "path", "value", "needle"),
    [
        (
            "cyclonedx",
            ("vulnerabilities", 0, "ratings"),
            "high",
            "vulnerabilities[0].ratings is not",
        ),
        (
            "cyclonedx",
            ("vulnerabilities", 0, "ratings", 0, "severity"),
            4,
            "ratings[0].severity 4 is not a string",
        ),
        (
            "cyclonedx",
            ("vulnerabilities", 0, "ratings", 0, "score"),
            "9.8",
            "score is not a number",
        ),
        (
            "cyclonedx",
            ("vulnerabilities", 1, "analysis"),
            "not_affected",
            "vulnerabilities[1].analysis is not an object",
        ),
        (
            "cyclonedx",
            ("vulnerabilities", 1, "analysis", "state"),
            "Not Affected",
            "is not a CycloneDX VEX state",
        ),
        (
            "cyclonedx",
            ("vulnerabilities", 1, "analysis", "state"),
            ["not_affected"],
            "is not a CycloneDX VEX state",
        ),
        (
            "cyclonedx",
            ("vulnerabilities", 0, "affects"),
            {"ref": "x"},
            "vulnerabilities[0].affects is not",
        ),
        (
            "grype",
            ("matches", 0, "vulnerability"),
            None,
            "matches[0].vulnerability is not an object",
        ),
        ("grype", ("matches", 0, "vulnerability", "severity"), ["Critical"], "severity"),
        ("grype", ("ignoredMatches",), {"a": 1}, "ignoredMatches is not a list of objects"),
        (
            "trivy",
            ("Results", 0, "Vulnerabilities", 0, "Severity"),
            4,
            "Severity 4 is not a string",
        ),
    ],
)
def test_severity_and_vex_fields_of_the_wrong_type_are_unreadable(
    fmt: str, path: tuple[Any, ...], value: Any, needle: str
) -> None:
    make, run, _, _ = FORMATS[fmt]
    r = run(_set(make(), path, value))
    assert r["sbom format"].status is Status.ERROR, [c.line() for c in r.values()]
    assert needle in r["sbom format"].detail


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_a_duplicate_key_never_drops_a_vulnerability_list(fmt: str) -> None:
    """``{"vulnerabilities": [critical...], "vulnerabilities": []}``: Python's json would keep
    the empty list and PASS; igkit refuses, naming the key path."""
    make, run, path, _ = FORMATS[fmt]
    text = json.dumps(make())
    key = json.dumps(path[-1])
    assert text.count(key + ":") >= 1
    hostile = text.replace(key + ":", key + ": [], " + key + ":", 1)
    r = run(hostile.encode())
    assert {c.status for c in r.values()} == {Status.ERROR}
    assert f"duplicate key {path[-1]!r}" in r["sbom format"].detail
    assert "unreadable report: SBOM of" in r["sbom format"].detail
