"""``expect.values_file``: the declared series values, kept in a file beside the matrix."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from igkit.errors import ConfigError
from igkit.strictdoc import DocumentError, load_yaml

MAX_BYTES = 1 << 20


def read_values_file(name: str, base_dir: Path | None, *, where: str) -> tuple[list[str], bytes]:
    """The values in ``base_dir/name`` and the file's bytes: a YAML list of strings, or one
    value per line (blank lines and ``#`` comments skipped). Absolute paths, ``..`` and files
    outside the matrix's directory are refused."""
    if base_dir is None:
        raise ConfigError("values_file needs a matrix file to be relative to", where=where)
    rel = PurePosixPath(name)
    if rel.is_absolute() or Path(name).is_absolute() or ".." in rel.parts or "\\" in name:
        raise ConfigError(f"{name!r} must be a relative path without '..'", where=where)
    path = base_dir / rel
    try:
        inside = path.resolve(strict=True).is_relative_to(base_dir.resolve())
        if not inside:
            raise ConfigError(f"{name!r} points outside the matrix's directory", where=where)
        with path.open("rb") as f:
            raw = f.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(f"{name!r} not found beside the matrix", where=where) from None
    except OSError as exc:
        raise ConfigError(f"{name!r} cannot be read ({exc.strerror})", where=where) from None
    if len(raw) > MAX_BYTES:
        raise ConfigError(f"{name!r} is larger than {MAX_BYTES:,} bytes", where=where)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ConfigError(f"{name!r} is not UTF-8 text", where=where) from None
    first = next(
        (ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")),
        "",
    )
    if first.startswith(("-", "[")):
        try:
            data = load_yaml(text, where=name)
        except DocumentError as exc:
            raise ConfigError(f"{name!r}: {exc.message}", where=where) from None
        if not isinstance(data, list) or not all(isinstance(v, str) for v in data):
            raise ConfigError(f"{name!r} must be a list of strings (quote numbers)", where=where)
        values = list(data)
    else:
        values = [
            ln.strip() for ln in text.split("\n") if ln.strip() and not ln.strip().startswith("#")
        ]
    if not values:
        raise ConfigError(f"{name!r} lists no values", where=where)
    dup = sorted({v for v in values if values.count(v) > 1})
    if dup:
        raise ConfigError(f"{name!r} lists {', '.join(map(repr, dup))} twice", where=where)
    return values, raw
