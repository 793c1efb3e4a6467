"""Load and validate a matrix file: YAML -> pydantic, errors as one line naming file and field."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from igkit.errors import ConfigError
from igkit.spec.models import Matrix, PrometheusObjective, resolve_settings
from igkit.strictdoc import DocumentError, load_yaml, validation_messages

DEFAULT_MATRIX_NAME = "default.yaml"


class MatrixProblemsError(ConfigError):
    """A matrix with one or more problems: ``problems`` holds every one (``SOURCE: field:
    message`` each, for ``igkit matrix validate``); the message is the first, noting the rest
    (one line for every other caller)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        more = len(problems) - 1
        note = (
            f" (and {more} more problem{'s' if more > 1 else ''}: igkit matrix validate lists them)"
            if more
            else ""
        )
        super().__init__(problems[0] + note)


@dataclass(frozen=True)
class LoadedMatrix:
    """A validated matrix. ``inputs`` are the files it declares (``expect.values_file``,
    relative name -> bytes); ``sha256`` covers the text and every input (:func:`matrix_digest`),
    so a changed values file is a changed matrix."""

    matrix: Matrix
    source: str
    sha256: str
    text: str
    inputs: Mapping[str, bytes] = field(default_factory=dict)


def matrix_digest(text: str, inputs: Mapping[str, bytes]) -> str:
    """SHA-256 of the matrix text alone when it declares no files (as before), else of the
    text followed, for each file in name order, by ``\0 name \0 sha256(content)``."""
    h = hashlib.sha256(text.encode("utf-8"))
    for name in sorted(inputs):
        h.update(b"\0" + name.encode("utf-8") + b"\0" + hashlib.sha256(inputs[name]).digest())
    return h.hexdigest()


def parse_matrix(text: str, *, source: str, base_dir: Path | None = None) -> LoadedMatrix:
    """Validate matrix YAML text; raise :class:`ConfigError` naming ``source`` and the field.

    ``base_dir`` (the matrix file's directory) resolves files the matrix points to, such as
    ``expect.values_file``; they are read here, so they are part of what the matrix declares."""
    try:
        data = load_yaml(text, where=source)
    except DocumentError as exc:
        raise ConfigError(exc.message, where=source) from None
    if not isinstance(data, dict):
        raise ConfigError("the matrix must be a YAML mapping with a 'gates' list", where=source)
    try:
        matrix = Matrix.model_validate(data)
    except ValidationError as exc:
        lines = validation_messages(exc, data=data, model=Matrix)
        raise MatrixProblemsError([f"{source}: {line}" for line in lines]) from None
    problems = _query_problems(matrix, source)
    if problems:
        raise MatrixProblemsError(problems)
    _check_notebooks(matrix, source)
    inputs: dict[str, bytes] = {}
    matrix = _read_expect_files(matrix, source, base_dir, inputs)
    return LoadedMatrix(
        matrix=matrix, source=source, sha256=matrix_digest(text, inputs), text=text, inputs=inputs
    )


def _query_problems(matrix: Matrix, source: str) -> list[str]:
    """Render every query (the objective's and its expect query) once and parse it as
    PromQL, so placeholder/named-query mistakes and queries Prometheus would refuse surface
    at load time, not on GA day: one line per problem, all of them."""
    from igkit.spec.plan import render_expect_query, render_objective_query

    problems: list[str] = []
    for g_index, gate in enumerate(matrix.gates):
        for o_index, obj in enumerate(gate.objectives):
            if not isinstance(obj, PrometheusObjective):
                continue
            where = f"{source}: gates[{g_index}]({gate.id}).objectives[{o_index}]({obj.name})"
            try:
                settings = resolve_settings(obj, matrix.defaults)
                queries = [render_objective_query(obj, settings)]
                expect_query = render_expect_query(obj, settings)
            except ConfigError as exc:
                problems.append(f"{where}: {exc.message}")
                continue
            if expect_query is not None:
                queries.append(expect_query)
            problems += [
                f"{where}: the query does not parse as PromQL: {problem} (query: {query})"
                for query in queries
                if (problem := promql_problem(query)) is not None
            ]
    return problems


def _check_notebooks(matrix: Matrix, source: str) -> None:
    """A gate's ``notebook`` names a gate notebook shipped with igkit (ConfigError if not)."""
    if any(g.notebook is not None for g in matrix.gates):
        from igkit.report.notebooks import check_gate_notebooks

        check_gate_notebooks(matrix, source)


_LEGACY_FUNCTIONS_REGISTERED = False


def _register_legacy_functions() -> None:
    """Prometheus 2.x functions that Prometheus 3 renamed (and promql_parser dropped), so a
    query valid for a 2.x server is not refused."""
    global _LEGACY_FUNCTIONS_REGISTERED
    if _LEGACY_FUNCTIONS_REGISTERED:
        return
    import promql_parser

    v = promql_parser.ValueType
    promql_parser.register_extra_functions(
        [promql_parser.Function("holt_winters", [v.Matrix, v.Scalar, v.Scalar], v.Vector)]
    )
    _LEGACY_FUNCTIONS_REGISTERED = True


def promql_problem(query: str) -> str | None:
    """Why ``query`` is not a PromQL expression a range query can evaluate, or None.

    Parsed with ``promql_parser`` (a port of Prometheus' own parser); a range query needs
    an instant vector or a scalar, so a range vector or a string at the top is refused too.
    """
    import promql_parser

    _register_legacy_functions()
    try:
        expr = promql_parser.parse(query)
    except BaseException as exc:  # the Rust extension may raise a PanicException
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        return " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(expr, promql_parser.MatrixSelector | promql_parser.SubqueryExpr):
        return "it is a range vector; a range query needs an instant vector or a scalar"
    if isinstance(expr, promql_parser.StringLiteral):
        return "it is a string; a range query needs an instant vector or a scalar"
    return None


def _read_expect_files(
    matrix: Matrix, source: str, base_dir: Path | None, inputs: dict[str, bytes]
) -> Matrix:
    """Fill ``expect.values`` from each ``expect.values_file`` (relative, inside the matrix's
    directory, no ``..``); the files' bytes go into ``inputs``."""
    from igkit.spec.expect_file import read_values_file

    gates = []
    changed = False
    for g_index, gate in enumerate(matrix.gates):
        objectives = []
        for o_index, obj in enumerate(gate.objectives):
            if isinstance(obj, PrometheusObjective) and obj.expect and obj.expect.values_file:
                where = f"{source}: gates[{g_index}]({gate.id}).objectives[{o_index}]({obj.name}).expect.values_file"
                values, raw = read_values_file(obj.expect.values_file, base_dir, where=where)
                inputs[obj.expect.values_file] = raw
                obj = obj.model_copy(
                    update={"expect": obj.expect.model_copy(update={"values": values})}
                )
                changed = True
            objectives.append(obj)
        gates.append(gate.model_copy(update={"objectives": objectives}))
    return matrix.model_copy(update={"gates": gates}) if changed else matrix


def load_matrix(path: str | Path | None = None) -> LoadedMatrix:
    """Load ``path``, or the matrix shipped in the package when ``path`` is None."""
    if path is None:
        ref = resources.files("igkit.spec").joinpath(DEFAULT_MATRIX_NAME)
        return parse_matrix(
            ref.read_text(encoding="utf-8"), source=f"<igkit>/{DEFAULT_MATRIX_NAME}"
        )
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ConfigError("matrix file not found", where=str(p)) from None
    except IsADirectoryError:
        raise ConfigError("is a directory, expected a matrix YAML file", where=str(p)) from None
    except OSError as exc:
        raise ConfigError(f"cannot read matrix: {exc.strerror}", where=str(p)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError("matrix is not UTF-8 text", where=str(p)) from None
    return parse_matrix(text, source=str(p), base_dir=p.parent)


def matrix_json_schema() -> dict[str, Any]:
    return Matrix.model_json_schema(mode="validation")
