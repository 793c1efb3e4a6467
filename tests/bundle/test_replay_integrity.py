"""``--replay`` uses exactly the snapshots the run recorded: index hashes, verdicts anchor."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from igkit.bundle.build import HASHES, seal
from igkit.bundle.keys import GeneratedKeyFiles, SigningKey
from igkit.bundle.verify import verify_bundle
from igkit.cli.main import main
from igkit.demo import demo_trust_dir
from igkit.snapshots import canonical_json, canonical_sha256


def replay(src: Path, out: Path) -> int:
    flags = ["--validate-all", "--no-notebooks", "--quiet", "--replay", str(src)]
    flags += ["--trust", str(demo_trust_dir())]  # the demo's anchors, never the run's own
    return main(["go-no-go", *flags, "--out", str(out)])


def reseal(path: Path, old: bytes, new: bytes) -> str:
    """Edit a snapshot and redo its own seal, as a forger would; return the new sha256."""
    assert old in path.read_bytes()
    data = json.loads(path.read_bytes().replace(old, new))
    data.pop("sha256")
    data["sha256"] = canonical_sha256(data)
    path.write_bytes(canonical_json(data) + b"\n")
    return str(data["sha256"])


def fix_index(snapshots: Path, name: str, digest: str) -> None:
    """Make index.json agree with a re-sealed snapshot."""
    index = json.loads((snapshots / "index.json").read_bytes())
    for ref in index["snapshots"]:
        if ref["file"] == name:
            ref["sha256"] = digest
    (snapshots / "index.json").write_text(json.dumps(index, indent=2, sort_keys=True) + "\n")


@pytest.fixture
def run(tmp_path: Path, run_dir: Path) -> Path:
    dest = tmp_path / "run"
    shutil.copytree(run_dir, dest)
    return dest


def avail(run: Path) -> Path:
    return next((run / "snapshots").glob("G1-availability-*.json"))


def load(out: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads((out / "verdicts.json").read_bytes())
    return data


def test_honest_replay_is_go_and_records_the_index_digest(run: Path, tmp_path: Path) -> None:
    recorded = load(run)["snapshots_index_sha256"]
    assert recorded == hashlib.sha256((run / "snapshots" / "index.json").read_bytes()).hexdigest()
    assert replay(run, tmp_path / "out") == 0
    again = load(tmp_path / "out")
    assert again["decision"] == "GO"
    assert again["snapshots_index_sha256"] == recorded


def test_resealed_snapshot_is_error_naming_the_file(
    run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    victim = avail(run)
    reseal(victim, b'"0.9999', b'"0.9000')
    assert replay(run, tmp_path / "out") == 1
    verdicts = load(tmp_path / "out")
    assert verdicts["decision"] == "NO-GO"
    g1 = verdicts["gates"][0]  # type: ignore[index]
    objective = next(o for o in g1["objectives"] if o["name"] == "availability")
    assert objective["status"] == "ERROR"
    assert victim.name in objective["reasons"][0]
    assert "re-sealed" in objective["reasons"][0]


def test_index_edited_to_match_is_caught_by_verdicts(
    run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    victim = avail(run)
    fix_index(run / "snapshots", victim.name, reseal(victim, b'"0.9999', b'"0.9000'))
    assert replay(run, tmp_path / "out") == 2
    err = capsys.readouterr().err
    assert "index.json" in err
    assert "the index was altered after the run" in err
    assert not (tmp_path / "out" / "verdicts.json").exists()


def test_resealed_evidence_snapshot_refuses_the_replay(
    run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    victim = next((run / "snapshots").glob("G7-dr_drill-evidence-*.json"))
    data = json.loads(victim.read_bytes())
    data["captured_at"] = "2025-03-01T03:29:59Z"
    data.pop("sha256")
    data["sha256"] = canonical_sha256(data)
    victim.write_bytes(canonical_json(data) + b"\n")
    assert replay(run, tmp_path / "out") == 2
    err = capsys.readouterr().err
    assert victim.name in err
    assert "refuses the replay" in err


def test_unlisted_snapshot_is_ignored_with_a_warning(
    run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A sealed look-alike of a real snapshot (same request id) sorted after it would have
    replaced it when every *.json was read; now only the index decides."""
    twin = run / "snapshots" / "G1-availability-zzzz.json"
    shutil.copy(avail(run), twin)
    reseal(twin, b'"0.9999', b'"0.9000')
    assert replay(run, tmp_path / "out") == 0
    assert load(tmp_path / "out")["decision"] == "GO"
    assert f"{twin.name}: not listed in index.json, ignored" in capsys.readouterr().err


def test_replay_without_index_is_refused(run: Path, tmp_path: Path) -> None:
    (run / "snapshots" / "index.json").unlink()
    assert replay(run, tmp_path / "out") == 2


def test_bundle_replay_checks_the_index_against_signed_verdicts(
    bundle: Path, signing_key: SigningKey, keypair: GeneratedKeyFiles
) -> None:
    """The forger holds the signing key and re-seals everything: hashes and signatures
    verify, but the index no longer matches what verdicts.json recorded."""
    assert verify_bundle(bundle, key=keypair.public_key, replay=True).ok
    victim = avail(bundle)
    fix_index(bundle / "snapshots", victim.name, reseal(victim, b'"0.9999', b'"0.9000'))
    seal(bundle, signing_key)
    assert verify_bundle(bundle, key=keypair.public_key).ok
    result = verify_bundle(bundle, key=keypair.public_key, replay=True)
    assert [c.name for c in result.failures] == ["replay"]
    assert "the index was altered after the run" in result.failures[0].detail


def test_bundle_replay_needs_the_signed_hash_list_first(
    bundle: Path, keypair: GeneratedKeyFiles
) -> None:
    victim = avail(bundle)
    reseal(victim, b'"0.9999', b'"0.9000')  # not re-signed: the hash list no longer agrees
    result = verify_bundle(bundle, key=keypair.public_key, replay=True)
    replay_checks = [c for c in result.checks if c.name == "replay"]
    assert [c.ok for c in replay_checks] == [False]
    assert "not run" in replay_checks[0].detail
    assert HASHES in replay_checks[0].detail
