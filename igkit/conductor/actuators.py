"""Actuator commands: how the conductor moves traffic through the user's rollout mechanism.

A template such as ``kubectl argo rollouts set weight api {weight}`` is split with
:func:`shlex.split` and run without a shell; ``{weight}`` (the canary percentage) and
``{stable_weight}`` (100 minus it, for a VirtualService patch that sets both routes) are
substituted inside each argv element, so a weight can never become a second argument or
shell syntax. Any other ``{name}`` is refused when the flags are read (a typo must not reach
production as a literal); braces that are not ``{identifier}`` (JSON in a ``kubectl patch``)
stay as they are. Each call has a timeout, runs in its own session (a Ctrl-C at the terminal
does not cut a rollback short), and leaves ``D/actuators/NNNN-name.log`` with its argv, exit
status, duration and combined output, redacted like every igkit output.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from igkit import atomic
from igkit.errors import ConfigError
from igkit.redact import redact

ACTUATORS_DIR = "actuators"
PLACEHOLDERS = ("weight", "stable_weight")
MAX_LOG_BYTES = 1 << 20
"""Output kept per call (the tail: the end of a failing command says why)."""
EXIT_TIMEOUT, EXIT_CANNOT_RUN, EXIT_NOT_FOUND = 124, 126, 127
"""Exit codes recorded when the command never ran to completion (coreutils' convention)."""

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")

ActuatorName = Literal["set_weight", "rollback"]


@dataclass(frozen=True)
class Actuator:
    """A checked command template: ``text`` as given, ``argv`` split from it."""

    name: ActuatorName
    text: str
    argv: tuple[str, ...]

    def command(self, weight: int | None) -> list[str]:
        """argv with the placeholders filled in (set-weight only)."""
        if weight is None:
            return list(self.argv)
        values = {"weight": str(weight), "stable_weight": str(100 - weight)}
        return [_PLACEHOLDER.sub(lambda m: values[m.group(1)], part) for part in self.argv]


def parse_actuator(text: str, name: ActuatorName, flag: str) -> Actuator:
    """``text`` split and checked: set-weight must say ``{weight}``; rollback takes none."""
    try:
        argv = tuple(shlex.split(text))
    except ValueError as exc:
        raise ConfigError(f"cannot split {text!r}: {exc}", where=flag) from None
    if not argv:
        raise ConfigError("an empty command", where=flag)
    used = {m.group(1) for part in argv for m in _PLACEHOLDER.finditer(part)}
    allowed = set(PLACEHOLDERS) if name == "set_weight" else set()
    unknown = sorted(used - allowed)
    if unknown:
        known = ", ".join(f"{{{p}}}" for p in sorted(allowed)) or "none"
        raise ConfigError(
            f"unknown placeholder {', '.join(f'{{{u}}}' for u in unknown)} in {text!r} "
            f"(known: {known})",
            where=flag,
        )
    if name == "set_weight" and "weight" not in used:
        raise ConfigError(
            f"{text!r} does not say where the weight goes: write {{weight}} in it", where=flag
        )
    if "{" in argv[0]:
        raise ConfigError("the program itself cannot be a placeholder", where=flag)
    return Actuator(name=name, text=text, argv=argv)


@dataclass(frozen=True)
class ActuatorResult:
    name: ActuatorName
    argv: list[str]
    exit_code: int
    duration_s: float
    log: str
    problem: str | None = None
    """Why it did not run to completion (timeout, not found), else None."""

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def summary(self) -> str:
        head = f"{self.name} {'succeeded' if self.ok else f'exited {self.exit_code}'}"
        return f"{head} in {self.duration_s:.1f}s" + (f" ({self.problem})" if self.problem else "")


def run_actuator(
    actuator: Actuator, *, weight: int | None, run_dir: Path, number: int, timeout: float
) -> ActuatorResult:
    """Run the command once, wait at most ``timeout`` seconds, record it; never raises for a
    command that fails (that is an exit code), only for a log that cannot be written."""
    argv = actuator.command(weight)
    rel = f"{ACTUATORS_DIR}/{number:04d}-{actuator.name}.log"
    started = time.monotonic()
    output, code, problem = _run(argv, timeout)
    duration = round(time.monotonic() - started, 3)
    header = (
        f"# argv: {shlex.join(argv)}\n# exit_code: {code}\n# duration_s: {duration}\n"
        + (f"# problem: {problem}\n" if problem else "")
        + "# output (stdout and stderr):\n"
    )
    body = header.encode("utf-8", "surrogateescape") + output[-MAX_LOG_BYTES:]
    atomic.write_bytes(run_dir / rel, body)  # redacted on the way
    return ActuatorResult(
        name=actuator.name,
        argv=argv,
        exit_code=code,
        duration_s=duration,
        log=rel,
        problem=redact(problem) if problem else None,
    )


def _run(argv: list[str], timeout: float) -> tuple[bytes, int, str | None]:
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    except FileNotFoundError:
        return b"", EXIT_NOT_FOUND, f"command not found: {argv[0]}"
    except OSError as exc:
        return b"", EXIT_CANNOT_RUN, f"cannot run {argv[0]}: {exc.strerror}"
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate()
        return output, EXIT_TIMEOUT, f"timed out after {timeout:g}s and was killed"
    return output, proc.returncode, None
