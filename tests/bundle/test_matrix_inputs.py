"""Files a matrix declares (``expect.values_file``) are part of it: hashed with its text and
carried in the bundle, so ``verify --replay`` loads the very matrix the run judged with."""

from __future__ import annotations

import hashlib
from pathlib import Path

import yaml

from igkit.cli.main import main
from igkit.demo import demo_snapshot_dir, demo_trust_dir
from igkit.spec.loader import load_matrix


def matrix_with_values_file(directory: Path, tenants: str) -> Path:
    """The shipped matrix, with G1 availability declaring its tenants in a file beside it."""
    data = yaml.safe_load(load_matrix(None).text)
    g1 = next(g for g in data["gates"] if g["id"] == "G1")
    availability = next(o for o in g1["objectives"] if o["name"] == "availability")
    availability["expect"] = {"label": "tenant", "values_file": "tenants.txt"}
    (directory / "tenants.txt").write_text(tenants)
    path = directory / "m.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_values_file_changes_the_matrix_digest(tmp_path: Path) -> None:
    path = matrix_with_values_file(tmp_path, "acme\nglobex\ninitech\n")
    before = load_matrix(path)
    assert set(before.inputs) == {"tenants.txt"}
    (tmp_path / "tenants.txt").write_text("acme\nglobex\n")
    after = load_matrix(path)
    assert after.text == before.text
    assert after.sha256 != before.sha256  # a changed values file is a changed matrix
    plain = load_matrix(None)
    assert not plain.inputs  # positive control: no declared file, digest of the text as ever
    assert plain.sha256 == hashlib.sha256(plain.text.encode()).hexdigest()


def test_bundle_carries_the_values_file_and_replays(tmp_path: Path) -> None:
    matrix = matrix_with_values_file(tmp_path, "acme\nglobex\ninitech\n")
    out = tmp_path / "run"
    argv = ["go-no-go", "--validate-all", "--no-notebooks", "--quiet", "--matrix", str(matrix)]
    argv += ["--replay", str(demo_snapshot_dir()), "--trust", str(demo_trust_dir())]
    assert main([*argv, "--out", str(out)]) == 0
    assert main(["bundle", "build", str(out), "--trust", str(demo_trust_dir())]) == 0
    bundle = out / "bundle"
    assert (bundle / "tenants.txt").read_text() == "acme\nglobex\ninitech\n"
    key = str(out / "bundle.demo-key.pub.pem")
    assert main(["bundle", "verify", str(bundle), "--key", key, "--replay"]) == 0
    # the bundled list is signed like everything else: editing it breaks the bundle
    (bundle / "tenants.txt").write_text("acme\n")
    assert main(["bundle", "verify", str(bundle), "--key", key, "--replay"]) == 1
