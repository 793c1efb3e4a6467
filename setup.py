"""Ship the top-level ``notebooks/`` in the wheel as ``igkit/notebooks/`` (package data).

The notebooks stay where people look for them in a checkout (``notebooks/``); an installed
igkit finds them inside the package (``igkit.report.notebooks.notebooks_dir``). Everything
else about the build is in ``pyproject.toml``.
"""

from __future__ import annotations

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

NOTEBOOKS = Path(__file__).resolve().parent / "notebooks"


class BuildPyWithNotebooks(build_py):
    """``build_py`` that also copies ``notebooks/*.ipynb`` to ``<build>/igkit/notebooks/``.

    An editable install skips it: the checkout's ``notebooks/`` is found beside the package."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        books = sorted(NOTEBOOKS.glob("*.ipynb"))
        if not books:
            raise SystemExit(f"no notebooks in {NOTEBOOKS}: the wheel would not run its gates")
        target = Path(self.build_lib) / "igkit" / "notebooks"
        self.mkpath(str(target))
        for book in books:
            self.copy_file(str(book), str(target / book.name))


setup(cmdclass={"build_py": BuildPyWithNotebooks})
