"""The data flow is one way: ``judge/`` reads snapshots and never fetches.

Every module under igkit/judge is parsed (not imported) and its imports listed, including
function-level and ``TYPE_CHECKING`` ones; an import of igkit.sources or of a network
library fails the test, naming the file and line."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest

JUDGE = Path(__file__).resolve().parents[1] / "igkit" / "judge"
FORBIDDEN = (
    "igkit.sources",
    "igkit.run",
    "requests",
    "urllib3",
    "httpx",
    "aiohttp",
    "socket",
    "http.client",
    "urllib.request",
)


def _imports(path: Path, top: Path) -> list[tuple[int, str]]:
    """(line, module) of every import in ``path``; relative ones resolved from ``top`` (the
    directory holding the ``igkit`` package)."""
    package = ".".join(path.relative_to(top).with_suffix("").parts[:-1])
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
            found.append((node.lineno, base))
    return found


def forbidden_imports(root: Path) -> list[str]:
    """``file:line imports module`` for each line of ``root`` importing a forbidden module."""
    out: dict[str, str] = {}
    for path in sorted(root.rglob("*.py")):
        for line, module in _imports(path, root.parents[1]):
            if any(module == f or module.startswith(f + ".") for f in FORBIDDEN):
                out.setdefault(f"{path.relative_to(root.parent)}:{line}", module)
    return [f"{where} imports {module}" for where, module in sorted(out.items())]


def test_judge_imports_no_source_and_no_network_library() -> None:
    assert len(list(JUDGE.rglob("*.py"))) >= 10  # the walk really sees the judge package
    assert forbidden_imports(JUDGE) == []


@pytest.mark.parametrize(
    "planted",
    [
        "from igkit.sources.prometheus import PrometheusSource",
        "import requests",
        "def f() -> None:\n    from ...sources import Source\n",
        "if False:\n    import urllib.request\n",
        "from igkit import sources\n",
    ],
)
def test_the_check_finds_a_planted_import(tmp_path: Path, planted: str) -> None:
    """Positive control: a copy of judge/ with one bad import is caught, file and line."""
    copy = tmp_path / "igkit" / "judge"
    shutil.copytree(JUDGE, copy)
    target = copy / "evidence" / "checks.py"
    target.write_text(target.read_text(encoding="utf-8") + "\n" + planted + "\n")
    found = forbidden_imports(copy)
    assert len(found) == 1
    assert found[0].startswith("judge/evidence/checks.py:")
