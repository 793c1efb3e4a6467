"""The built wheel runs igkit's own default path outside the checkout: ``igkit demo`` from a
fresh virtualenv gives GO on every gate, with the notebooks shipped inside the package.

The wheel is built from a copy of the sources (an in-tree build would leave ``build/`` in the
checkout). igkit comes only from the wheel: the new venv reaches the shared venv's
third-party packages through one ``.pth`` path line, which does not run that directory's own
``.pth`` files, so the shared editable igkit is not importable there (checked below), and
``JUPYTER_PATH`` names the shared venv's Jupyter data (nbconvert's HTML templates), which a
real install puts under the new venv's own ``share/jupyter``.
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# nbconvert's templates are data files under the shared venv's prefix, not in site-packages:
# a real install puts them under the new venv's prefix; here JUPYTER_PATH points at them
SHARED_JUPYTER_DATA = Path(sys.prefix) / "share" / "jupyter"
SOURCES = ("igkit", "notebooks", "pyproject.toml", "setup.py", "MANIFEST.in", "README.md")


def _run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """``cmd`` in ``cwd`` without this checkout on the path (no PYTHONPATH, no active venv)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["JUPYTER_PATH"] = str(SHARED_JUPYTER_DATA)
    return subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=900, check=False
    )


def _ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, (
        f"{done.args}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    )
    return done.stdout


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv outside the checkout holding the wheel built from these sources."""
    root = tmp_path_factory.mktemp("wheel")
    src = root / "src"
    src.mkdir()
    for name in SOURCES:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(path, src / name)
    dist = root / "dist"
    _ok(
        _run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(src)],
            root,
        )
    )
    (wheel,) = dist.glob("igkit-*.whl")
    env = root / "venv"
    _ok(_run([sys.executable, "-m", "venv", str(env)], root))
    python = env / "bin" / "python"
    purelib = _ok(
        _run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], root)
    )
    # third-party packages from the shared venv: a path line, not its .pth files (no editable igkit)
    (Path(purelib.strip()) / "shared_deps.pth").write_text(site.getsitepackages()[0] + "\n")
    _ok(
        _run(
            [str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], root
        )
    )
    return env


@pytest.mark.slow
def test_igkit_and_its_notebooks_come_from_the_wheel(venv: Path) -> None:
    probe = (
        "import json, sys, igkit\n"
        "from igkit.report.notebooks import notebooks_dir, gate_notebooks\n"
        "print(json.dumps({'igkit': igkit.__file__, 'notebooks': str(notebooks_dir()),\n"
        "  'gate_notebooks': gate_notebooks(),\n"
        "  'finders': [type(f).__module__ for f in sys.meta_path]}))"
    )
    found = json.loads(_ok(_run([str(venv / "bin" / "python"), "-c", probe], venv.parent)))
    assert Path(found["igkit"]).is_relative_to(venv)
    assert Path(found["notebooks"]) == Path(found["igkit"]).parent / "notebooks"
    assert "gate" in found["gate_notebooks"]
    assert "G5_perf_load" in found["gate_notebooks"]
    assert not any("editable" in f for f in found["finders"])  # the shared igkit is not reachable
    # positive control: the shared venv's own python does reach its editable igkit
    shared = _run([sys.executable, "-c", "import igkit; print(igkit.__file__)"], venv.parent)
    assert not Path(_ok(shared).strip()).is_relative_to(venv)


@pytest.mark.slow
def test_the_installed_demo_is_go_on_every_gate(venv: Path) -> None:
    out = venv.parent / "demo"
    done = _run([str(venv / "bin" / "igkit"), "demo", "--out", str(out)], venv.parent)
    _ok(done)
    verdicts = json.loads((out / "verdicts.json").read_text())
    assert verdicts["decision"] == "GO"
    assert [g["status"] for g in verdicts["gates"]] == ["PASS"] * 8
    reports = json.loads((out / "notebooks" / "reports.json").read_text())
    assert [g["status"] for g in reports["gates"]] == ["ok"] * 8
    for entry in reports["gates"]:
        executed = json.loads((out / "notebooks" / entry["notebook"]).read_text())
        source = Path(executed["metadata"]["papermill"]["input_path"])
        assert source.is_relative_to(venv), source  # executed from the installed package
    assert (out / "reports" / "index.pdf").read_bytes().startswith(b"%PDF")
    assert (out / "reports" / "G5_perf_load.html").is_file()
    assert (out / "bundle" / "manifest.json").is_file()
