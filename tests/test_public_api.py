"""The public API is igkit.__all__: it resolves, the notebooks use only it, and it is light."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import igkit

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("cryptography", "sigstore", "pyhanko", "pandas", "matplotlib", "papermill")


def test_every_public_name_resolves_to_its_module_object() -> None:
    import importlib

    exports = igkit._EXPORTS
    assert sorted(igkit.__all__) == sorted(["__version__", *exports])
    for name, module in exports.items():
        value = getattr(igkit, name)
        owner = importlib.import_module(module)
        assert value is (owner if module == f"igkit.{name}" else getattr(owner, name)), name
    assert {"load_matrix", "evaluate", "load_run", "RunVerdicts", "Status"} <= set(igkit.__all__)
    with pytest.raises(AttributeError, match="no attribute 'sign_pdf'"):
        igkit.sign_pdf  # noqa: B018  (internal: not public)


def _igkit_imports(source: str) -> set[str]:
    """Names a piece of code imports from igkit (``from igkit.x import a`` -> a)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "igkit":
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names if a.name.startswith("igkit."))
    return names


def _notebook_code() -> dict[str, str]:
    code = {}
    for path in sorted((REPO / "notebooks").glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        code[path.name] = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    return code


def test_notebooks_import_only_the_public_api() -> None:
    code = _notebook_code()
    assert code, "no notebooks found"
    used = {name: nb for nb, src in code.items() for name in _igkit_imports(src)}
    assert used, "the notebooks import nothing from igkit: the check would be empty"
    private = {name: nb for name, nb in used.items() if name not in igkit.__all__}
    assert private == {}, "add these to igkit.__all__ or stop importing them"


def test_the_notebook_check_can_fail() -> None:
    """Positive control for the check above: an internal name is caught."""
    names = _igkit_imports("from igkit.report.pdf import sign_pdf\nimport igkit.bundle.verify\n")
    assert names == {"sign_pdf", "igkit.bundle.verify"}
    assert not names & set(igkit.__all__)


def _modules_after(code: str) -> list[str]:
    probe = (
        "import sys\n"
        f"{code}\n"
        f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules), file=sys.__stderr__)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    return proc.stderr.strip().splitlines()[-1].split() if proc.stderr.strip() else []


def _cli(argv: list[str]) -> str:
    return (
        f"from igkit.cli.main import main\ntry:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
    )


def test_import_igkit_is_light() -> None:
    assert _modules_after("import igkit") == []
    assert _modules_after("import igkit\nigkit.Status") == []


@pytest.mark.parametrize(
    "argv", [["--help"], ["k6", "summarize", "--help"], ["attest", "verify", "--help"]]
)
def test_help_imports_no_verification_or_data_stack(argv: list[str]) -> None:
    assert _modules_after(_cli(argv)) == []


def test_attest_verify_does_import_cryptography(tmp_path: Path) -> None:
    """Positive control: the probe sees a heavy import when a verb really needs it."""
    argv = [
        "attest",
        "verify",
        "--artifact",
        str(tmp_path / "a"),
        "--provenance",
        str(tmp_path / "p"),
        "--key",
        str(tmp_path / "k.pem"),
    ]
    assert "cryptography" in _modules_after(_cli(argv))
