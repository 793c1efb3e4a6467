"""``igkit notebooks copy DIR [--force]``: editable copies of the notebooks shipped with igkit.

The gate notebooks are complete, parameterized gate runs for QE (live with ``prom_url``, or a
replay of a run's snapshots); ``go-no-go`` executes the shipped ones to render its reports.
The copies are yours to edit: igkit never reads them back. An existing file is never
overwritten unless ``--force`` (ConfigError: exit 2); a symlink or directory in the way is
refused even then, and the check covers every file before the first is written.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from igkit.cli.common import P, dispatch, verb_group
from igkit.errors import ConfigError


def register(sub: argparse._SubParsersAction[P], parser_class: type[P]) -> None:
    """Add ``notebooks copy`` (dispatch ``args.command == "notebooks"`` to :func:`run`)."""
    nsub = verb_group(sub, parser_class, "notebooks", "the notebooks shipped with igkit")
    c = nsub.add_parser(
        "copy",
        help="write editable copies of the shipped notebooks into DIR",
        description="Copy every shipped notebook (the gate notebooks, the generic gate "
        "notebook, go_no_go, war_room, finops_cost_burn and its FOCUS twin) into DIR. Never "
        "overwrites a file "
        "unless --force.",
    )
    c.add_argument("dir", type=Path, metavar="DIR", help="target directory (created if absent)")
    c.add_argument("--force", action="store_true", help="overwrite notebooks already in DIR")


def copy_notebooks(target: Path, *, force: bool = False) -> list[Path]:
    """Copy the shipped notebooks into ``target``; all or nothing; returns the written paths."""
    from igkit.atomic import write_set
    from igkit.report.notebooks import notebooks_dir

    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise ConfigError("is not a directory", where=str(target))
    sources = sorted(notebooks_dir().glob("*.ipynb"))
    planned = {target / src.name: src for src in sources}
    for path in planned:
        if path.is_symlink() or path.is_dir():
            raise ConfigError("is a symlink or directory; not replaced", where=str(path))
        if path.exists() and not force:
            raise ConfigError("already exists; pass --force to overwrite it", where=str(path))
    write_set({path: src.read_bytes() for path, src in planned.items()})
    return list(planned)


def run(args: argparse.Namespace) -> int:
    return dispatch(args, "notebooks", {"copy": _copy})


def _copy(args: argparse.Namespace) -> int:
    written = copy_notebooks(args.dir, force=args.force)
    for path in written:
        print(path)
    print(
        f"copied {len(written)} notebooks to {args.dir}/; open them with JupyterLab "
        "(pip install 'igkit[notebooks]') or run them with papermill"
    )
    return 0
