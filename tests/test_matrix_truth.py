"""The matrix is the single source of truth: gate ids and thresholds live nowhere else.

(a) A matrix whose gates are renamed (G1 -> SLO, G5 -> PERF) plus a new G9 holding a k6 and
an attestation objective decides exactly as the shipped ids do, end to end: replay of the
recorded demo run, a live run from a real k6 file and the demo evidence, its replay, and the
bundle manifest's artifacts. (b) No ``igkit/**/*.py`` holds a gate-id literal (a planted one
in a copy is found). (c) A matrix missing any threshold is refused with one line naming it.
"""

from __future__ import annotations

import ast
import copy
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

import igkit
from igkit.bundle.build import build_bundle
from igkit.cli.main import main
from igkit.demo import demo_snapshot_dir, demo_trust_dir
from igkit.errors import ConfigError
from igkit.finops import matrix_budgets
from igkit.spec.loader import load_matrix, parse_matrix
from igkit.strictdoc import load_yaml

ROOT = Path(__file__).resolve().parents[1]
K6_GREEN = ROOT / "tests" / "fixtures" / "k6" / "green" / "points.json.gz"
EVIDENCE = ROOT / "tests" / "fixtures" / "demo-evidence"
AT = "2025-03-01T03:30:00Z"  # the demo's evaluation time (its evidence is fresh then)
NOWHERE = "http://127.0.0.1:9"  # k6 and evidence gates read no Prometheus range
RENAMED = {"G1": "SLO", "G5": "PERF"}


def shipped() -> dict[str, Any]:
    doc = load_yaml(load_matrix(None).text, where="default.yaml")
    assert isinstance(doc, dict)
    return doc


def renamed_matrix(path: Path, *, g9: bool) -> Path:
    """The shipped matrix with G1/G5 renamed and, with ``g9``, a new gate G9 holding a copy
    of a k6 objective and of the attestation objective (found by type, not by id)."""
    doc = shipped()
    for gate in doc["gates"]:
        gate["id"] = RENAMED.get(gate["id"], gate["id"])
    if g9:
        objectives = [o for g in doc["gates"] for o in g["objectives"]]
        k6 = next(o for o in objectives if o.get("type") == "k6" and o.get("p95"))
        attestation = next(o for o in objectives if o.get("type") == "attestation")
        doc["gates"].append(
            {"id": "G9", "name": "Canary", "objectives": copy.deepcopy([k6, attestation])}
        )
    path.write_text(json.dumps(doc))
    return path


def go(argv: list[str], out: Path) -> tuple[int, dict[str, Any]]:
    rc = main(["go-no-go", "--no-notebooks", "--quiet", "--out", str(out), *argv])
    return rc, json.loads((out / "verdicts.json").read_text())


def statuses(verdicts: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {(g["id"], o["name"]): o["status"] for g in verdicts["gates"] for o in g["objectives"]}


def test_renamed_gates_replay_the_demo_with_the_same_statuses(tmp_path: Path) -> None:
    """Positive control: the shipped ids give GO on the same snapshots."""
    replay = ["--validate-all", "--replay", str(demo_snapshot_dir())]
    replay += ["--trust", str(demo_trust_dir())]
    rc, default = go(replay, tmp_path / "default")
    assert (rc, default["decision"]) == (0, "GO")
    matrix = renamed_matrix(tmp_path / "renamed.json", g9=False)
    rc, renamed = go([*replay, "--matrix", str(matrix)], tmp_path / "renamed")
    assert (rc, renamed["decision"]) == (0, "GO")
    assert [g["id"] for g in renamed["gates"]] == [
        RENAMED.get(g["id"], g["id"]) for g in default["gates"]
    ]
    mapped = {(RENAMED.get(g, g), o): s for (g, o), s in statuses(default).items()}
    assert statuses(renamed) == mapped
    # every objective PASSes but the reported-only Neo4j one (the demo exports no Neo4j data)
    # and the reported-only journeys (go-no-go has no journeys run)
    reported = ("neo4j_1hop_p95", "synthetic_journeys")
    assert {s for (_, o), s in mapped.items() if o not in reported} == {"PASS"}


def test_k6_and_attestation_in_any_gate_live_replayed_and_bundled(tmp_path: Path) -> None:
    """G9 (k6 + attestation) and PERF judge a real k6 file and the demo evidence exactly as
    G5 and G3 of the shipped matrix do (the positive control: all PASS there); the replay
    of the renamed run agrees, and its bundle lists the attested artifacts."""
    inputs = ["--prom-url", NOWHERE, "--at", AT, "--k6", str(K6_GREEN)]
    inputs += ["--evidence", str(EVIDENCE), "--trust", str(demo_trust_dir())]
    rc, default = go([*inputs, "--gate", "G5", "--gate", "G3"], tmp_path / "default")
    assert rc == 0
    expected = statuses(default)
    # all PASS but G5's reported-only journeys (go-no-go has no journeys run: NO_DATA)
    journeys = ("G5", "synthetic_journeys")
    assert expected[journeys] == "NO_DATA"
    assert {s for k, s in expected.items() if k != journeys} == {"PASS"}

    matrix = renamed_matrix(tmp_path / "renamed.json", g9=True)
    argv = [*inputs, "--matrix", str(matrix), "--gate", "G9", "--gate", "PERF"]
    rc, renamed = go(argv, tmp_path / "renamed")
    assert rc == 0
    got = statuses(renamed)
    assert {k: v for k, v in got.items() if k[0] == "PERF"} == {
        ("PERF", o): s for (g, o), s in expected.items() if g == "G5"
    }
    g9 = {o: s for (g, o), s in got.items() if g == "G9"}
    assert g9 == {o: expected[(g, o)] for g, o in expected if o in g9}
    assert set(g9) == {"graphql_reads", "slsa_provenance"}

    replay = ["--replay", str(tmp_path / "renamed"), "--trust", str(demo_trust_dir())]
    rc, replayed = go([*replay, "--matrix", str(matrix), "--gate", "G9", "--gate", "PERF"], tmp_path / "replayed")  # fmt: skip
    assert rc == 0
    assert statuses(replayed) == got

    manifests = []
    for run in ("default", "renamed"):
        built = build_bundle(tmp_path / run, tmp_path / f"{run}-bundle", trust_dir=demo_trust_dir())
        manifests.append(built.manifest["artifacts"])
    assert manifests[0] == manifests[1]
    assert manifests[1][0]["slsaLevel"] == "3"


def test_k6_flag_is_refused_only_when_no_selected_gate_reads_k6(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    matrix = str(renamed_matrix(tmp_path / "renamed.json", g9=True))
    argv = ["go-no-go", "--matrix", matrix, "--prom-url", NOWHERE, "--k6", str(K6_GREEN)]
    assert main([*argv, "--gate", "SLO", "--out", str(tmp_path / "o1")]) == 2
    err = capsys.readouterr().err
    assert "--k6: none of the selected gates (SLO) has k6 objectives" in err
    assert "add --gate PERF --gate G9" in err
    rc = main([*argv, "--gate", "G9", "--no-notebooks", "--at", AT, "--out", str(tmp_path / "o2")])
    assert rc == 1  # G9's attestation has no --evidence: NO_DATA; its k6 objective judged
    gate = json.loads((tmp_path / "o2" / "verdicts.json").read_text())["gates"][0]
    assert {o["name"]: o["status"] for o in gate["objectives"]}["graphql_reads"] == "PASS"


def test_alert_line_is_the_budget_burn_threshold() -> None:
    """The FinOps alert line follows the matrix threshold (80% shipped, 65% when changed)."""
    doc = shipped()
    assert {b.name: b.alert_pct for b in matrix_budgets(load_matrix(None).matrix)} == {
        "infra": 80.0,
        "llm": 80.0,
    }
    for gate in doc["gates"]:
        for obj in gate["objectives"]:
            if obj.get("rule", {}).get("kind") == "budget_burn":
                obj["threshold"] = {"value": 0.65, "unit": "ratio"}
    changed = parse_matrix(json.dumps(doc), source="m.json").matrix
    assert [b.alert_pct for b in matrix_budgets(changed)] == pytest.approx([65.0, 65.0])


# --------------------------------------------------------------------------- (b) literals

GATE_LITERAL = re.compile(r"^\^?G[0-9]+(?![0-9A-Za-z])")
"""A string that is, or starts with, a gate id (``G5``, ``G3-``, ``^G5-k6``, ``G7 DR ...``)."""


def gate_literals(root: Path) -> list[str]:
    """``path:line: literal`` for every non-docstring string literal (f-string parts
    included) in ``root/**/*.py`` that is or starts with a gate id."""
    found = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in docstrings
                and GATE_LITERAL.match(node.value)
            ):
                rel = path.relative_to(root.parent)
                found.append(f"{rel}:{node.lineno}: {node.value[:40]!r}")
    return found


def test_no_gate_id_literal_in_the_package() -> None:
    found = gate_literals(Path(igkit.__file__).parent)
    assert not found, "gate ids come only from the matrix:\n" + "\n".join(found)


def test_planted_gate_literals_are_found(tmp_path: Path) -> None:
    tree = tmp_path / "igkit"
    shutil.copytree(
        Path(igkit.__file__).parent, tree, ignore=shutil.ignore_patterns("data", "__pycache__")
    )
    before = set(gate_literals(tree))
    target = tree / "verdicts.py"
    text = target.read_text()
    target.write_text(
        text + '\n\ndef _planted(kind: str) -> list[str]:\n    """G1 in a docstring is prose."""\n'
        '    return ["G7", f"G5-{kind}", "G3/slsa", "GET", "G1x"]\n'
    )
    planted = sorted(set(gate_literals(tree)) - before)
    assert [p.rsplit(": ", 1)[1] for p in planted] == ["'G3/slsa'", "'G5-'", "'G7'"]


# --------------------------------------------------------------------------- (c) thresholds


def _without(path: tuple[Any, ...]) -> dict[str, Any]:
    doc = shipped()
    node: Any = doc
    for step in path[:-1]:
        node = (
            next(g for g in node if g.get("id") == step or g.get("name") == step)
            if isinstance(node, list)
            else node[step]
        )
    del node[path[-1]]
    return doc


REQUIRED = [
    (("gates", "G3", "objectives", "slsa_provenance", "min_slsa_level"), "(slsa_provenance).min_slsa_level"),
    (("gates", "G3", "objectives", "sbom_clean", "fail_at"), "(sbom_clean).fail_at"),
    (("gates", "G7", "objectives", "dr_drill", "env"), "(dr_drill).env"),
    (("gates", "G7", "objectives", "dr_drill", "rpo_target"), "(dr_drill).rpo_target"),
    (("gates", "G7", "objectives", "dr_drill", "rto_target"), "(dr_drill).rto_target"),
    (("gates", "G7", "objectives", "dr_drill", "max_age"), "(dr_drill).max_age"),
    (("gates", "G8", "objectives", "approvals", "required_roles"), "(approvals).required_roles"),
    (("gates", "G8", "objectives", "approvals", "max_age"), "(approvals).max_age"),
    (("defaults", "step"), "defaults.step"),
    (("defaults", "min_coverage"), "defaults.min_coverage"),
    (("defaults", "max_staleness"), "defaults.max_staleness"),
    (("defaults", "max_gap"), "defaults.max_gap"),
    (("defaults", "rate"), "uses $rate but neither the objective nor the matrix defaults set 'rate'"),
    (("defaults",), "defaults: required (step, min_coverage, max_staleness, max_gap"),
    (("k6",), "k6: required (window, min_samples_per_window, consecutive_failing_windows"),
    (("k6", "window"), "k6.window"),
    (("k6", "min_samples_per_window"), "k6.min_samples_per_window"),
    (("k6", "consecutive_failing_windows"), "k6.consecutive_failing_windows"),
    (("k6", "max_error_rate"), "k6.max_error_rate"),
]  # fmt: skip


@pytest.mark.parametrize(("path", "field"), REQUIRED, ids=["/".join(p[-2:]) for p, _ in REQUIRED])
def test_a_matrix_missing_a_threshold_is_refused_naming_it(
    path: tuple[str, ...], field: str
) -> None:
    """Positive control: the shipped matrix, which states every one, loads."""
    parse_matrix(json.dumps(shipped()), source="team.json")
    with pytest.raises(ConfigError) as info:
        parse_matrix(json.dumps(_without(path)), source="team.json")
    message = str(info.value)
    assert message.startswith("team.json")
    assert field in message
    assert "\n" not in message


def test_sections_are_required_only_by_the_objectives_that_use_them() -> None:
    """k6 objectives need ``k6``, Prometheus objectives need ``defaults``: a matrix of only
    evidence gates needs neither (nothing would read them)."""
    doc = shipped()
    del doc["k6"]
    with pytest.raises(ConfigError, match=r"k6 objectives \(G5/graphql_reads, "):
        parse_matrix(json.dumps(doc), source="team.json")
    doc["gates"] = [g for g in doc["gates"] if g["id"] != "G5"]
    assert parse_matrix(json.dumps(doc), source="team.json").matrix.k6 is None
    del doc["defaults"]
    with pytest.raises(ConfigError, match=r"Prometheus objectives \(G1/graphql_query_p95, "):
        parse_matrix(json.dumps(doc), source="team.json")
    doc["gates"] = [g for g in doc["gates"] if g["id"] in ("G3", "G7", "G8")]
    assert parse_matrix(json.dumps(doc), source="team.json").matrix.defaults is None
