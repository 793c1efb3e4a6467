"""Build the demo's evidence directory: a release whose supply chain, policy bundle, DR
drill and approvals all verify — signed with keys made here and thrown away.

``python -m tests.support.demo_evidence EVIDENCE_DIR TRUST_DIR`` writes it; the committed copy
lives in ``tests/fixtures/demo-evidence/`` and ``make demo-sample`` records the demo's evidence
snapshots from it. The public keys that verify it are trust anchors, so they go to a directory
of their own beside the evidence (``tests/fixtures/demo-trust/``, packaged as
``igkit/data/demo/trust/``), never inside it. Times fit the demo's evaluation time
(2025-03-01T03:30Z).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import sys
import tarfile
from datetime import UTC, datetime
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

BUILDER = "https://github.com/intelgraph/release/.github/workflows/build.yml@refs/tags/v1.4.0"
ARTIFACT = "intelgraph-api"
VERSION = "1.4.0"


def _pem(public_key: ec.EllipticCurvePublicKey | rsa.RSAPublicKey) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _pae(payload_type: str, body: bytes) -> bytes:
    t = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(body), body)


def _tar(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz", format=tarfile.PAX_FORMAT) as tar:
        for name, data in sorted(members.items()):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1740700800
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def build(root: Path, trust: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for sub in ("artifacts", "attestations", "sboms", "policy", "drill", "comms"):
        (root / sub).mkdir(exist_ok=True)
    (trust / "keys").mkdir(parents=True, exist_ok=True)

    artifact = b"IntelGraph API 1.4.0 release image (demo stand-in)\n" * 64
    (root / "artifacts" / f"{ARTIFACT}-{VERSION}.tar").write_bytes(artifact)
    digest = hashlib.sha256(artifact).hexdigest()

    # SLSA v1 provenance in a DSSE envelope, ECDSA P-256
    signer = ec.generate_private_key(ec.SECP256R1())
    (trust / "keys" / "provenance.pub.pem").write_bytes(_pem(signer.public_key()))
    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": f"{ARTIFACT}-{VERSION}.tar", "digest": {"sha256": digest}}],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {
            "buildDefinition": {
                "buildType": "https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1",
                "externalParameters": {
                    "workflow": {
                        "ref": "refs/tags/v1.4.0",
                        "repository": "https://github.com/intelgraph/api",
                        "path": ".github/workflows/release.yml",
                    }
                },
                "resolvedDependencies": [
                    {
                        "uri": "git+https://github.com/intelgraph/api@refs/tags/v1.4.0",
                        "digest": {"gitCommit": "3f1c2e9a7b5d4c8e6f0a1b2c3d4e5f6a7b8c9d0e"},
                    }
                ],
            },
            "runDetails": {
                "builder": {"id": BUILDER},
                "metadata": {"invocationId": "demo-2025-02-28"},
            },
        },
    }
    body = json.dumps(statement, separators=(",", ":"), sort_keys=True).encode()
    payload_type = "application/vnd.in-toto+json"
    sig = signer.sign(_pae(payload_type, body), ec.ECDSA(hashes.SHA256()))
    envelope = {
        "payloadType": payload_type,
        "payload": base64.b64encode(body).decode(),
        "signatures": [{"keyid": "demo-provenance", "sig": base64.b64encode(sig).decode()}],
    }
    (root / "attestations" / f"{ARTIFACT}.intoto.jsonl").write_text(json.dumps(envelope) + "\n")

    # CycloneDX 1.5 SBOM: one high finding suppressed by VEX, one medium
    sbom = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79",
        "version": 1,
        "metadata": {
            "timestamp": "2025-02-28T05:10:00Z",
            "component": {
                "type": "container",
                "bom-ref": ARTIFACT,
                "name": ARTIFACT,
                "version": VERSION,
                "hashes": [{"alg": "SHA-256", "content": digest}],
            },
        },
        "components": [
            {
                "type": "library",
                "bom-ref": "pkg:pypi/requests@2.32.3",
                "name": "requests",
                "version": "2.32.3",
                "purl": "pkg:pypi/requests@2.32.3",
            },
            {
                "type": "library",
                "bom-ref": "pkg:pypi/pyyaml@6.0.2",
                "name": "pyyaml",
                "version": "6.0.2",
                "purl": "pkg:pypi/pyyaml@6.0.2",
            },
        ],
        "vulnerabilities": [
            {
                "id": "CVE-2024-35195",
                "ratings": [{"severity": "medium", "method": "CVSSv31", "score": 5.6}],
                "affects": [{"ref": "pkg:pypi/requests@2.32.3"}],
            },
            {
                "id": "CVE-2020-14343",
                "ratings": [{"severity": "critical", "method": "CVSSv31", "score": 9.8}],
                "affects": [{"ref": "pkg:pypi/pyyaml@6.0.2"}],
                "analysis": {
                    "state": "not_affected",
                    "justification": "code_not_reachable",
                    "detail": "only yaml.safe_load is used",
                },
            },
        ],
    }
    (root / "sboms" / f"{ARTIFACT}.cdx.json").write_text(json.dumps(sbom, indent=2) + "\n")

    (root / "release.yaml").write_text(
        "releaseTag: v1.4.0\n"
        "changeTicket: CHG-2025-0301\n"
        "cutoverAt: 2025-03-01T04:00:00Z\n"
        "artifacts:\n"
        f"  - name: {ARTIFACT}\n"
        f"    version: {VERSION}\n"
        f"    path: artifacts/{ARTIFACT}-{VERSION}.tar\n"
        f"    provenance: attestations/{ARTIFACT}.intoto.jsonl\n"
        f"    sbom: sboms/{ARTIFACT}.cdx.json\n"
    )

    # OPA bundle signed with RS256; data.json and .manifest already in canonical form
    files = {
        ".manifest": json.dumps(
            {"revision": "v1.4.0", "roots": ["intelgraph"]}, separators=(",", ":"), sort_keys=True
        ).encode(),
        "data.json": json.dumps(
            {"intelgraph": {"tenants": ["acme", "globex", "initech"]}},
            separators=(",", ":"),
            sort_keys=True,
        ).encode(),
        "intelgraph/authz.rego": b"package intelgraph.authz\n\nimport rego.v1\n\ndefault allow := false\n\nallow if input.user.tenant in data.intelgraph.tenants\n",
    }
    bundle_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (trust / "keys" / "opa-bundle.pub.pem").write_bytes(_pem(bundle_key.public_key()))
    claims = {
        "files": [
            {"name": name, "hash": hashlib.sha256(data).hexdigest(), "algorithm": "SHA-256"}
            for name, data in sorted(files.items())
        ],
        "scope": "intelgraph",
        "keyid": "intelgraph-policy",
        "iat": int(datetime(2025, 2, 28, 4, 0, tzinfo=UTC).timestamp()),
        "exp": int(datetime(2025, 6, 1, tzinfo=UTC).timestamp()),
    }
    token = jwt.encode(claims, bundle_key, algorithm="RS256", headers={"kid": "intelgraph-policy"})
    files[".signatures.json"] = json.dumps({"signatures": [token]}).encode()
    (root / "policy" / "bundle.tar.gz").write_bytes(_tar(files))

    (root / "drill" / "report.yaml").write_text(
        "env: prod\n"
        "drill_id: DR-2025-02-27\n"
        "tool: igctl drill rehearse --env prod --rpo-target 5m --rto-target 60m\n"
        "operator: sre-oncall\n"
        "started_at: 2025-02-27T14:00:00Z\n"
        "failure_injected_at: 2025-02-27T14:10:00Z\n"
        "last_durable_write_before_failure: 2025-02-27T14:07:12Z\n"
        "service_restored_at: 2025-02-27T14:52:30Z\n"
        "data_verified_at: 2025-02-27T15:05:00Z\n"
        "ended_at: 2025-02-27T15:10:00Z\n"
        "steps:\n"
        "  - {name: snapshot primary, at: 2025-02-27T14:02:00Z, outcome: ok}\n"
        "  - {name: inject region failure, at: 2025-02-27T14:10:00Z, outcome: ok}\n"
        "  - {name: promote replica, at: 2025-02-27T14:31:00Z, outcome: ok}\n"
        "  - {name: restore service, at: 2025-02-27T14:52:30Z, outcome: ok}\n"
        "  - {name: verify data, at: 2025-02-27T15:05:00Z, outcome: ok}\n"
    )
    people = [
        ("release_eng", "R. Lead", "2025-03-01T03:02:00Z", "CHG-2025-0301"),
        ("sre_oncall_ack", "S. Oncall", "2025-03-01T03:06:00Z", "PD-88412"),
        ("qe", "Q. Engineer", "2025-03-01T03:10:00Z", "QE-GA-26"),
        ("secops", "S. Ops", "2025-03-01T03:15:00Z", "SEC-1190"),
        ("pm_cs", "P. Manager", "2025-03-01T03:20:00Z", "CS-COMMS-26"),
        ("mc", "M. Conductor", "2025-03-01T03:25:00Z", "MC-GO-26"),
    ]
    (root / "approvals.yaml").write_text(
        "approvals:\n"
        + "".join(
            f"  - {{role: {r}, name: {n}, decision: approve, timestamp: '{t}', reference: {ref}}}\n"
            for r, n, t, ref in people
        )
    )
    comms = {
        "status-investigating.md": "**Investigating** — We are investigating reports of degraded IntelGraph performance. Next update in 15 minutes.\n",
        "status-degraded.md": "**Degraded performance** — Some IntelGraph queries are slower than usual. Mitigation is under way.\n",
        "status-major-incident.md": "**Major incident** — IntelGraph is unavailable for some tenants. We are rolling back to the last stable release.\n",
        "status-resolved.md": "**Resolved** — IntelGraph is operating normally. A post-incident review will follow.\n",
        "stakeholder-update.md": "GA cutover update: stage {{stage}}%, gates {{gates}}, next checkpoint {{next}}.\n",
    }
    for name, text in comms.items():
        (root / "comms" / name).write_text(text)


if __name__ == "__main__":
    build(Path(sys.argv[1]), Path(sys.argv[2]))
