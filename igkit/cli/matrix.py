"""``igkit matrix schema|show|validate``: inspect a go/no-go matrix (no network)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from igkit.cli.common import P, dispatch, verb_group

if TYPE_CHECKING:
    from igkit.spec.loader import LoadedMatrix


_MATRIX_HELP = "matrix YAML (default: the one shipped with igkit)"


def register(sub: argparse._SubParsersAction[P], parser_class: type[P]) -> None:
    msub = verb_group(
        sub, parser_class, "matrix", "inspect or validate a go/no-go matrix (no network)"
    )
    msub.add_parser("schema", help="print the matrix JSON Schema (for editor validation)")
    show = msub.add_parser("show", help="print the resolved matrix as YAML")
    show.add_argument("--matrix", type=Path, help=_MATRIX_HELP)
    val = msub.add_parser("validate", help="validate a matrix file and its queries")
    val.add_argument("--matrix", type=Path, help=_MATRIX_HELP)


def _cmd_matrix(args: argparse.Namespace) -> int:
    import yaml

    from igkit.spec.loader import load_matrix, matrix_json_schema

    if args.matrix_command == "schema":
        print(json.dumps(matrix_json_schema(), indent=2))
        return 0
    if args.matrix_command == "validate":
        return _validate(args.matrix)
    loaded = load_matrix(args.matrix)
    if args.matrix_command == "show":
        data = _resolved(loaded)
        print(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=120), end="")
        return 0
    return 0


def _validate(path: Path | None) -> int:
    """Every problem of the matrix, one stderr line each (exit 2), or one "valid" line."""
    import sys

    from igkit.errors import EXIT_USAGE
    from igkit.spec.loader import MatrixProblemsError, load_matrix

    try:
        loaded = load_matrix(path)
    except MatrixProblemsError as exc:
        for problem in exc.problems:
            print(f"igkit: error: {problem}", file=sys.stderr)
        if len(exc.problems) > 1:
            print(f"igkit: {len(exc.problems)} problems; the matrix is not valid", file=sys.stderr)
        return EXIT_USAGE
    objectives = sum(len(g.objectives) for g in loaded.matrix.gates)
    print(
        f"{loaded.source}: valid ({len(loaded.matrix.gates)} gates, {objectives} objectives, sha256 {loaded.sha256[:12]})"
    )
    return 0


def _resolved(loaded: LoadedMatrix) -> dict[str, object]:
    """The matrix with each Prometheus objective's effective settings and exact PromQL."""
    from igkit.spec.models import PrometheusObjective, resolve_settings
    from igkit.spec.plan import render_objective_query

    matrix = loaded.matrix
    data = matrix.model_dump(mode="json", by_alias=True, exclude_none=True)
    for g_data, gate in zip(data["gates"], matrix.gates, strict=True):
        for o_data, obj in zip(g_data["objectives"], gate.objectives, strict=True):
            if isinstance(obj, PrometheusObjective):
                settings = resolve_settings(obj, matrix.defaults)
                o_data["resolved"] = {
                    "promql": render_objective_query(obj, settings),
                    **settings.model_dump(mode="json"),
                }
    return data


def run(args: argparse.Namespace) -> int:
    return dispatch(args, "matrix", dict.fromkeys(("schema", "show", "validate"), _cmd_matrix))
