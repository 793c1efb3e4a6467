"""A cutover the conductor really ran (real preflight go-no-go, real judges against the
session Prometheus, scripted actuators, a fake clock) is sealed at its end into a bundle
that verifies, and ``bundle verify --replay`` re-derives all of it."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from igkit.bundle.keys import GeneratedKeyFiles, SigningKey
from igkit.bundle.verify import verify_bundle
from igkit.conductor.clock import Stop
from igkit.conductor.parts import Parts, run_preflight
from tests.bundle.conftest import cli
from tests.bundle.cutover_run import g1_matrix, reseal
from tests.conductor.conftest import FakeClock, Rig, World
from tests.support.prometheus import PrometheusServer
from tests.support.scenarios import TRIGGER_SCENARIOS

pytestmark = pytest.mark.prometheus


@pytest.fixture(scope="module")
def conducted(prometheus: PrometheusServer, tmp_path_factory: pytest.TempPathFactory) -> Rig:
    tmp = tmp_path_factory.mktemp("conducted")
    stop = Stop()
    start = TRIGGER_SCENARIOS["trig_opa_bundle"].eval_time - timedelta(minutes=45)
    rig = Rig(World(tmp), FakeClock(start, stop), stop, tmp / "D")
    options = rig.options(
        prom_url=prometheus.url, matrix=g1_matrix(tmp), interval=timedelta(minutes=10)
    )
    assert rig.run(options, Parts(preflight=run_preflight)) == 1
    return rig


def test_the_conductor_seals_a_bundle_that_replays(
    conducted: Rig, capsys: pytest.CaptureFixture[str]
) -> None:
    rig = conducted
    assert [(e.stage, e.action) for e in rig.timeline if e.kind == "judgement"] == [
        (5, "PROMOTE"),
        (25, "PROMOTE"),
        (50, "ROLLBACK"),
    ]
    key = rig.out / "bundle.demo-key.pub.pem"
    code = cli(["bundle", "verify", str(rig.out / "bundle"), "--key", str(key), "--replay"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "PASS replay judgements: all 3 judgements of the timeline re-derive identically" in out
    assert "PASS preflight replay: all 1 gates and the decision GO re-evaluate identically" in out
    rollback = next((rig.out / "bundle" / "status").glob("*-rollback.md")).read_text()
    assert "- error-budget burn: 0.0139 %/h of the 30d budget" in rollback  # the matrix was passed
    assert (
        "- canary latency: graphql_query_p95 236 ms (SLO ≤ 350 ms), graphql_mutation_p95"
        in rollback
    )


def test_a_conducted_judgement_rewritten_to_promote_fails(
    conducted: Rig, tmp_path: Path, keypair: GeneratedKeyFiles, signing_key: SigningKey
) -> None:
    bundle = tmp_path / "bundle"
    shutil.copytree(conducted.out / "bundle", bundle)
    judge = next(bundle.glob("stages/50/judge-*/judge.json"))
    judge.write_text(judge.read_text().replace('"action": "ROLLBACK"', '"action": "PROMOTE"'))
    reseal(bundle, signing_key)  # re-signed by a key the auditor trusts: only replay can tell
    result = verify_bundle(bundle, key=keypair.public_key, replay=True)
    seq = int(judge.parent.name.split("-")[1])
    where = judge.parent.relative_to(bundle).as_posix()
    assert [c.detail for c in result.failures] == [
        f"judgement seq {seq} ({where}): judge.json says PROMOTE, its snapshots give ROLLBACK"
    ]


@pytest.fixture(scope="module")
def promoted(prometheus: PrometheusServer, tmp_path_factory: pytest.TempPathFactory) -> Rig:
    """A quiet canary promoted to 100 %, its post-deploy half hour checked every 10 minutes."""
    tmp = tmp_path_factory.mktemp("promoted")
    stop = Stop()
    start = TRIGGER_SCENARIOS["trig_quiet"].eval_time - timedelta(minutes=60)
    rig = Rig(World(tmp), FakeClock(start, stop), stop, tmp / "D")
    options = rig.options(
        prom_url=prometheus.url,
        matrix=g1_matrix(tmp),
        interval=timedelta(minutes=10),
        post_deploy=timedelta(minutes=30),
    )
    rig.run(options, Parts(preflight=run_preflight))
    return rig


def test_post_deploy_checks_and_validation_re_derive(
    promoted: Rig, tmp_path: Path, keypair: GeneratedKeyFiles, signing_key: SigningKey
) -> None:
    checks = [e for e in promoted.timeline if e.kind == "check"]
    assert [e.status for e in checks] == ["QUIET", "QUIET", "QUIET"]
    key = promoted.out / "bundle.demo-key.pub.pem"
    result = verify_bundle(promoted.out / "bundle", key=key, replay=True)
    assert [c.detail for c in result.failures] == []
    details = {c.name: c.detail for c in result.checks}
    assert details["replay checks"] == "all 3 post-deploy trigger checks re-derive identically"
    assert details["replay postdeploy"].endswith("re-derives identically")

    bundle = tmp_path / "bundle"
    shutil.copytree(promoted.out / "bundle", bundle)
    report = bundle / str(checks[1].dir) / "triggers" / "triggers.json"
    report.write_text(
        report.read_text().replace('"FIRED"', '"QUIET"').replace('"NO_DATA"', '"QUIET"')
    )
    doc = report.read_text()
    assert '"QUIET"' in doc
    report.write_text(doc.replace('"reasons": [', '"reasons": ["all quiet", ', 1))
    reseal(bundle, signing_key)
    got = [c.detail for c in verify_bundle(bundle, key=keypair.public_key, replay=True).failures]
    assert got == [
        f"check seq {checks[1].seq} ({checks[1].dir}): triggers.json differs from its snapshots' verdicts"
    ]
