"""Every file igkit writes goes through here: atomic, redacted, registered with its run.

* **Atomic.** Data goes to a temporary file beside the target, then ``os.replace``; a
  failure removes the temporary file. :func:`write_set` writes a whole set of files to
  temporaries first and renames them only when all are written, so a run never leaves
  ``verdicts.json`` without ``junit.xml``; if a rename fails, the files already renamed are
  removed again. Any ``OSError`` becomes :class:`OutputError` ("could not write PATH: …",
  exit 3).
* **Redacted.** Text outputs pass through :func:`igkit.redact.redact_bytes`; JSON is redacted
  as data first (:func:`write_json`) so it stays valid JSON whatever a secret holds.
* **Standard JSON.** ±Inf and NaN are written as the strings ``"+Inf"``, ``"-Inf"`` and
  ``"NaN"`` (:func:`json_ready`) — Prometheus' own spelling — never as ``null`` (which loses
  the fact) nor as the non-standard literals ``Infinity``/``NaN``.
* **Registered.** The path is recorded in the run marker of the output directory it lies in
  (:mod:`igkit.rundir`) *before* it is written, so the next run into that directory removes it.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import os
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from igkit.errors import ToolError
from igkit.redact import redact_bytes, redact_data

_counter = itertools.count()


class OutputError(ToolError):
    """An output could not be written (disk full, read-only, ...): exit 3, one line."""

    def __init__(self, path: Path, exc: OSError) -> None:
        self.path = path
        reason = exc.strerror or type(exc).__name__
        super().__init__(f"could not write {path}: {reason}")


def json_ready(data: Any) -> Any:
    """``data`` with every non-finite float replaced by ``"+Inf"``, ``"-Inf"`` or ``"NaN"``."""
    if isinstance(data, float) and not math.isfinite(data):
        return encode_float(data)
    if isinstance(data, dict):
        return {k: json_ready(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [json_ready(v) for v in data]
    return data


def encode_float(value: float) -> float | str:
    """The JSON form of one float: itself when finite, else its documented string."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return value


NON_FINITE = {"+Inf": math.inf, "Inf": math.inf, "-Inf": -math.inf, "NaN": math.nan}


def decode_float(value: Any) -> Any:
    """The reverse of :func:`encode_float` (other values pass through for validation)."""
    if isinstance(value, str) and value in NON_FINITE:
        return NON_FINITE[value]
    return value


def json_bytes(data: Any, *, indent: int | None = 2) -> bytes:
    """Redacted, standard JSON (non-finite floats as strings), UTF-8, newline-terminated."""
    body = json.dumps(
        json_ready(redact_data(data)), indent=indent, ensure_ascii=False, allow_nan=False
    )
    return body.encode("utf-8", "surrogatepass") + b"\n"


def _temp(path: Path) -> Path:
    return path.with_name(f".{path.name}.igkit-tmp-{os.getpid()}-{next(_counter)}")


def _unlink_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)


def _write_file(path: Path, data: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(data)


def write_set(
    files: Mapping[Path, bytes], *, binary: Collection[Path] = (), register_with_run: bool = True
) -> None:
    """Write all ``files`` or none: temporaries first, then the renames.

    Paths in ``binary`` (PNG, PDF) are written as given; every other file is redacted.
    ``register_with_run=False`` is for the run marker itself (:mod:`igkit.rundir`)."""
    from igkit.rundir import register

    temps: list[tuple[Path, Path]] = []
    renamed: list[Path] = []
    current = next(iter(files), Path("."))
    try:
        for path, data in files.items():
            current = path
            payload = data if path in binary else redact_bytes(data)
            path.parent.mkdir(parents=True, exist_ok=True)
            if register_with_run:
                register(path)
            tmp = _temp(path)
            temps.append((tmp, path))
            _write_file(tmp, payload)
        for tmp, path in temps:
            current = path
            os.replace(tmp, path)
            renamed.append(path)
    except OSError as exc:
        for tmp, _ in temps:
            _unlink_quietly(tmp)
        for path in renamed:
            _unlink_quietly(path)
        raise OutputError(current, exc) from None


def write_bytes(
    path: Path, data: bytes, *, binary: bool = False, register_with_run: bool = True
) -> None:
    """Atomically write one file (redacted unless ``binary``)."""
    write_set({path: data}, binary={path} if binary else (), register_with_run=register_with_run)


def write_text(path: Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8", "surrogatepass"))


def write_json(path: Path, data: Any, *, indent: int | None = 2) -> None:
    write_bytes(path, json_bytes(data, indent=indent))
