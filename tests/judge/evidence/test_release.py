"""The release file is read strictly: a duplicated key can never drop an artifact."""

from __future__ import annotations

import pytest

from igkit.judge.evidence.release import ReleaseFileError, parse_release

HONEST = """releaseTag: v1.4.0
changeTicket: CHG-2025-0301
artifacts:
  - name: api
    path: artifacts/api.tar
    provenance: attestations/api.intoto.jsonl
    sbom: sboms/api.cdx.json
  - name: worker
    path: artifacts/worker.tar
    sbom: sboms/worker.cdx.json
"""


@pytest.mark.parametrize(
    ("hostile", "needle"),
    [
        (HONEST + "artifacts:\n  - {name: decoy, digest: 'sha256:" + "0" * 64 + "'}\n",
         "duplicate key 'artifacts' in (top level)"),
        (HONEST.replace("    sbom: sboms/api.cdx.json\n", "    sbom: sboms/api.cdx.json\n    sbom: clean.json\n"),
         "duplicate key 'sbom' in artifacts[0]"),
        (HONEST.replace("{", "").replace("releaseTag: v1.4.0\n", "releaseTag: v1.4.0\nreleaseTag: v9\n"),
         "duplicate key 'releaseTag'"),
        ('{"releaseTag": "v1", "artifacts": [{"name": "a", "path": "a", "name": "b"}]}',
         "duplicate key 'name' in artifacts[0]"),
    ],
)  # fmt: skip
def test_duplicate_keys_are_refused_with_file_and_key_path(hostile: str, needle: str) -> None:
    release = parse_release(HONEST.encode(), name="release.yaml")
    assert [a.name for a in release.artifacts] == ["api", "worker"]
    with pytest.raises(ReleaseFileError) as info:
        parse_release(hostile.encode(), name="release.yaml")
    assert str(info.value).startswith("release.yaml: ")
    assert needle in str(info.value)
