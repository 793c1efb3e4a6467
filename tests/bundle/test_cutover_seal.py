"""The sealed cutover bundle: what it holds, that an honest one verifies and re-derives
every judgement, and that each lie about a judgement or the timeline is one FAIL line."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from igkit.bundle.build import HASHES, MANIFEST, sign_manifest
from igkit.bundle.build import seal as seal_files
from igkit.bundle.keys import GeneratedKeyFiles, SigningKey
from igkit.bundle.verify import verify_bundle
from igkit.conductor.seal import CUTOVER_PREDICATE, cutover_summary, predicate, seal
from igkit.errors import ConfigError
from igkit.spec.loader import load_matrix
from tests.bundle.conftest import cli
from tests.bundle.cutover_run import record_cutover
from tests.support.prometheus import PrometheusServer

pytestmark = pytest.mark.prometheus


@pytest.fixture(scope="module")
def recorded(
    prometheus: PrometheusServer, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path]:
    run, matrix = record_cutover(tmp_path_factory.mktemp("cutover"), prometheus.url)
    (run / "status" / "notify.env").write_text("TOKEN=not-for-the-bundle\n")
    return run, matrix


@pytest.fixture(scope="module")
def sealed(
    recorded: tuple[Path, Path], signing_key: SigningKey, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    run, matrix = recorded
    out = tmp_path_factory.mktemp("sealed") / "bundle"
    return seal(run, load_matrix(matrix), key=signing_key, out=out).bundle


@pytest.fixture
def bundle(tmp_path: Path, sealed: Path) -> Path:
    dest = tmp_path / "bundle"
    shutil.copytree(sealed, dest)
    return dest


def reseal(bundle: Path, key: SigningKey) -> None:
    """Forge: rewrite the manifest from the (edited) files and sign everything again."""
    summary, _ = cutover_summary(bundle)
    manifest = json.loads((bundle / MANIFEST).read_text())
    manifest = sign_manifest({**manifest, **summary, "signatures": []}, key)
    (bundle / MANIFEST).write_text(json.dumps(manifest, indent=2))
    seal_files(bundle, key, predicate_type=CUTOVER_PREDICATE, predicate=predicate(manifest))


def failures(bundle: Path, keypair: GeneratedKeyFiles) -> list[str]:
    result = verify_bundle(bundle, key=keypair.public_key, replay=True)
    return [f"{c.name}: {c.detail}" for c in result.failures]


def edit_timeline(bundle: Path, seq: int, **changes: object) -> None:
    path = bundle / "timeline.jsonl"
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    lines[seq] |= changes
    path.write_text("".join(json.dumps(e) + "\n" for e in lines))


def seq_of(bundle: Path, directory: str) -> int:
    for line in (bundle / "timeline.jsonl").read_text().splitlines():
        entry = json.loads(line)
        if entry.get("dir") == directory:
            return int(entry["seq"])
    raise AssertionError(directory)


def test_the_bundle_holds_the_whole_run_and_nothing_else(sealed: Path) -> None:
    listed = {line.split("  ", 1)[1] for line in (sealed / HASHES).read_text().splitlines()}
    assert {"run.json", "timeline.jsonl", "matrix.yaml", "manifest.json"} <= listed
    for judge in ("stages/5/judge-0004", "stages/5/judge-0005", "stages/25/judge-0009"):
        assert f"{judge}/judge.json" in listed
        assert f"{judge}/canary/verdicts.json" in listed
        assert f"{judge}/triggers/triggers.json" in listed
    assert any(n.startswith("stages/25/judge-0009/triggers/snapshots/trigger-") for n in listed)
    assert {"preflight/verdicts.json", "preflight/snapshots/index.json"} <= listed
    assert {"actuators/0002-set_weight.log", "actuators/0010-rollback.log"} <= listed
    assert any(n.startswith("status/") and n.endswith("-rollback.md") for n in listed)
    assert not [n for n in listed if "/." in n or n.startswith(".") or n.endswith(".env")]
    manifest = json.loads((sealed / MANIFEST).read_text())
    assert manifest["schema"] == "igkit.cutover-bundle/v1"
    assert (manifest["outcome"], manifest["exitCode"]) == ("ROLLED_BACK", 1)
    assert [(j["dir"], j["action"]) for j in manifest["judgements"]] == [
        ("stages/5/judge-0004", "HOLD"),
        ("stages/5/judge-0005", "PROMOTE"),
        ("stages/25/judge-0009", "ROLLBACK"),
    ]


def test_an_honest_bundle_verifies_and_every_judgement_re_derives(
    sealed: Path, keypair: GeneratedKeyFiles, capsys: pytest.CaptureFixture[str]
) -> None:
    assert failures(sealed, keypair) == []
    code = cli(["bundle", "verify", str(sealed), "--key", str(keypair.public_key), "--replay"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "PASS replay judgements: all 3 judgements of the timeline re-derive identically" in out
    assert (
        "PASS preflight replay: all 1 gates and the decision NO-GO re-evaluate identically" in out
    )
    assert "note: cutover bundle: outcome ROLLED_BACK (exit 1), 3 judgements" in out
    assert out.rstrip().splitlines()[-1].startswith("bundle verify: PASS - ")


def test_a_judge_json_its_snapshots_do_not_support_fails(
    bundle: Path, keypair: GeneratedKeyFiles, signing_key: SigningKey
) -> None:
    path = bundle / "stages/5/judge-0004/judge.json"
    doc = json.loads(path.read_text())
    assert doc["action"] == "HOLD"
    path.write_text(json.dumps({**doc, "action": "PROMOTE", "reasons": ["all fine"]}))
    reseal(bundle, signing_key)
    assert failures(bundle, keypair) == [
        "replay judgement: judgement seq 4 (stages/5/judge-0004): judge.json says PROMOTE, "
        "its snapshots give HOLD"
    ]


def test_a_timeline_that_misreports_a_judgement_fails(
    bundle: Path, keypair: GeneratedKeyFiles, signing_key: SigningKey
) -> None:
    seq = seq_of(bundle, "stages/25/judge-0009")
    edit_timeline(bundle, seq, action="PROMOTE", reasons=["quiet"])
    reseal(bundle, signing_key)
    assert failures(bundle, keypair) == [
        f"replay judgement: judgement seq {seq} (stages/25/judge-0009): the timeline says "
        "PROMOTE, its snapshots give ROLLBACK"
    ]


def test_changed_reasons_alone_fail(
    bundle: Path, keypair: GeneratedKeyFiles, signing_key: SigningKey
) -> None:
    seq = seq_of(bundle, "stages/5/judge-0005")
    edit_timeline(bundle, seq, reasons=["hold elapsed"])
    reseal(bundle, signing_key)
    assert failures(bundle, keypair) == [
        f"replay judgement: judgement seq {seq} (stages/5/judge-0005): the timeline says "
        "PROMOTE, its snapshots give PROMOTE (other reasons)"
    ]


def test_a_forged_canary_snapshot_fails_the_replay(
    bundle: Path, keypair: GeneratedKeyFiles, signing_key: SigningKey
) -> None:
    snap = next((bundle / "stages/5/judge-0005/canary/snapshots").glob("G1-availability-*.json"))
    doc = json.loads(snap.read_text())
    doc["result"][0]["values"][0][1] = "0.5"
    snap.write_text(json.dumps(doc))
    reseal(bundle, signing_key)
    got = failures(bundle, keypair)
    assert got[0].startswith(
        "replay judgement: judgement seq 5 (stages/5/judge-0005): judge.json says PROMOTE, its snapshots give HOLD"
    ), got
    assert len(got) == 2  # judge.json and the timeline entry, one line each


def test_a_judgement_without_its_directory_fails(
    bundle: Path, keypair: GeneratedKeyFiles, signing_key: SigningKey
) -> None:
    shutil.rmtree(bundle / "stages/5/judge-0004")
    reseal(bundle, signing_key)
    got = failures(bundle, keypair)
    assert "timeline: timeline.jsonl seq 4: dir stages/5/judge-0004 is not in the bundle" in got
    assert "timeline: judgement seq 4: stages/5/judge-0004/judge.json is not in the bundle" in got


def test_a_judge_directory_the_timeline_does_not_name_fails(
    bundle: Path, keypair: GeneratedKeyFiles, signing_key: SigningKey
) -> None:
    shutil.copytree(bundle / "stages/5/judge-0005", bundle / "stages/5/judge-0006")
    reseal(bundle, signing_key)
    assert failures(bundle, keypair)[0] == (
        "timeline: stages/5/judge-0006: a judge directory the timeline does not name"
    )


@pytest.mark.parametrize("where", ["../outside", "/etc", "stages/../../x"])
def test_a_path_escaping_the_bundle_fails(
    bundle: Path, keypair: GeneratedKeyFiles, signing_key: SigningKey, where: str
) -> None:
    edit_timeline(bundle, 2, log=where)
    reseal(bundle, signing_key)
    got = failures(bundle, keypair)
    assert got[0].startswith(
        f"timeline: timeline.jsonl line 3: log {where!r} escapes the run directory"
    ), got


def test_a_manifest_that_disagrees_with_the_timeline_fails(
    bundle: Path, keypair: GeneratedKeyFiles, signing_key: SigningKey
) -> None:
    manifest = json.loads((bundle / MANIFEST).read_text())
    manifest = sign_manifest({**manifest, "outcome": "PROMOTED", "exitCode": 0}, signing_key)
    (bundle / MANIFEST).write_text(json.dumps(manifest))
    seal_files(bundle, signing_key, predicate_type=CUTOVER_PREDICATE, predicate=predicate(manifest))
    got = failures(bundle, keypair)
    assert "manifest vs timeline: outcome: manifest says 'PROMOTED', the run 'ROLLED_BACK'" in got
    assert "manifest vs timeline: exitCode: manifest says 0, the run 1" in got


def test_a_torn_or_reordered_timeline_fails(
    bundle: Path, keypair: GeneratedKeyFiles, signing_key: SigningKey
) -> None:
    path = bundle / "timeline.jsonl"
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[1], lines[0], *lines[2:]]) + "\n" + '{"seq": 99, "ki')
    reseal(bundle, signing_key)
    got = failures(bundle, keypair)
    assert "timeline: timeline.jsonl: the last line is not terminated (a torn write?)" in got
    assert "timeline: timeline.jsonl line 1: seq 1, expected 0" in got


def test_one_changed_byte_without_a_new_signature_fails_and_skips_the_replay(
    bundle: Path, keypair: GeneratedKeyFiles
) -> None:
    path = bundle / "actuators/0010-rollback.log"
    path.write_text("weight set to 5\n")
    got = failures(bundle, keypair)
    assert got[0] == f"hash mismatch: actuators/0010-rollback.log: content differs from {HASHES}"
    assert got[-1].startswith("replay: not run")


def test_seal_refuses_what_is_not_a_finished_run(
    recorded: tuple[Path, Path], tmp_path: Path, signing_key: SigningKey
) -> None:
    run, matrix = recorded
    loaded = load_matrix(matrix)
    with pytest.raises(ConfigError, match=r"no readable run\.json"):
        seal(tmp_path, loaded, key=signing_key)
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    (copy / "actuators" / "key.pem").write_text(
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
    )
    with pytest.raises(ConfigError, match=r"actuators/key\.pem holds a PEM PRIVATE KEY block"):
        seal(copy, loaded, key=signing_key)
    (copy / "actuators" / "key.pem").unlink()
    seal(copy, loaded, key=signing_key)  # positive control
    with pytest.raises(ConfigError, match="already exists and is not an empty directory"):
        seal(copy, loaded, key=signing_key)


def test_the_tar_verifies_like_the_directory(
    recorded: tuple[Path, Path], tmp_path: Path, signing_key: SigningKey, keypair: GeneratedKeyFiles
) -> None:
    run, matrix = recorded
    result = seal(run, load_matrix(matrix), key=signing_key, out=tmp_path / "b", tar=True)
    assert result.tar is not None
    assert failures(result.tar, keypair) == []


@pytest.fixture(scope="module")
def with_postdeploy(
    recorded: tuple[Path, Path],
    prometheus: PrometheusServer,
    signing_key: SigningKey,
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    """The recorded run plus a post-deploy validation (live triggers), sealed."""
    from igkit.cli.main import main
    from igkit.timeutil import rfc3339
    from tests.support.scenarios import SCENARIOS

    run, matrix = recorded
    copy = tmp_path_factory.mktemp("pd") / "run"
    shutil.copytree(run, copy)
    until = SCENARIOS["all_green"].eval_time
    args = ["postdeploy", "validate", "--since", rfc3339(until - timedelta(minutes=60))]
    main(
        [
            *args,
            "--prom-url",
            prometheus.url,
            "--out",
            str(copy / "postdeploy"),
            "--matrix",
            str(matrix),
        ]
    )
    status = json.loads((copy / "postdeploy" / "postdeploy.json").read_text())["status"]
    lines = [json.loads(line) for line in (copy / "timeline.jsonl").read_text().splitlines()]
    entry = {"seq": 0, "at": rfc3339(until), "kind": "postdeploy", "stage": 100}
    entry |= {"message": "post-deploy validated", "status": status, "dir": "postdeploy"}
    lines.insert(len(lines) - 1, entry)
    (copy / "timeline.jsonl").write_text(
        "".join(json.dumps({**e, "seq": i}) + "\n" for i, e in enumerate(lines))
    )
    return seal(copy, load_matrix(matrix), key=signing_key).bundle


def test_the_post_deploy_verdict_re_derives(
    with_postdeploy: Path, keypair: GeneratedKeyFiles, tmp_path: Path, signing_key: SigningKey
) -> None:
    result = verify_bundle(with_postdeploy, key=keypair.public_key, replay=True)
    assert result.ok, [c.detail for c in result.failures]
    assert [c.detail for c in result.checks if c.name == "replay postdeploy"] == [
        "post-deploy seq 12 (postdeploy): FAIL re-derives identically"
    ]
    forged = tmp_path / "bundle"
    shutil.copytree(with_postdeploy, forged)
    path = forged / "postdeploy" / "postdeploy.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "status": "PASS", "reasons": []}))
    reseal(forged, signing_key)
    assert failures(forged, keypair) == [
        "replay postdeploy: post-deploy seq 12 (postdeploy): postdeploy.json says PASS, its "
        "snapshots give FAIL"
    ]
