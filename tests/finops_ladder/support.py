"""Matrices for the ladder tests: the shipped one, changed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from igkit.strictdoc import load_yaml

SHIPPED = Path(__file__).resolve().parents[2] / "igkit" / "spec" / "default.yaml"


def shipped() -> dict[str, Any]:
    doc = load_yaml(SHIPPED.read_bytes(), where=str(SHIPPED))
    assert isinstance(doc, dict)
    return doc


def write_matrix(path: Path, doc: dict[str, Any]) -> Path:
    path.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    return path


def matrix_without_ladder(path: Path) -> Path:
    doc = shipped()
    del doc["cost_ladder"]
    return write_matrix(path, doc)
