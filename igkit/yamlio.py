"""Safe YAML reading for every user-supplied YAML file."""

from __future__ import annotations

from typing import Any

import yaml

MAX_ALIASES = 100


def load_yaml(text: str, *, where: str) -> Any:
    """Parse YAML with the safe loader; refuse alias bombs before building any object.

    Raises ``ValueError`` with the line/column of the problem.
    """
    try:
        aliases = sum(
            isinstance(ev, yaml.AliasEvent) for ev in yaml.parse(text, Loader=yaml.SafeLoader)
        )
        if aliases > MAX_ALIASES:
            raise ValueError(
                f"{aliases} YAML aliases (more than {MAX_ALIASES}): refusing a possible alias bomb"
            )
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        pos = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ValueError(f"invalid YAML at {pos}{exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise ValueError(f"invalid YAML: {exc}") from None
