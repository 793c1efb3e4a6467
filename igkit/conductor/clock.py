"""Time for the conductor: a clock it can be handed (tests run an hour in seconds) and the
SIGINT/SIGTERM handling that stops a hold at once without killing a rollback under way."""

from __future__ import annotations

import signal
import threading
import types
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol


@dataclass
class Stop:
    """Set by a signal (or a test): the conductor stops holding at the next step."""

    event: threading.Event = field(default_factory=threading.Event)
    signal: str | None = None
    critical: bool = False
    """While True (a rollback under way) a second signal does not raise either."""

    def set(self, name: str) -> None:
        self.signal = self.signal or name
        self.event.set()

    def is_set(self) -> bool:
        return self.event.is_set()


class Clock(Protocol):
    def now(self) -> datetime: ...

    def sleep(self, seconds: float) -> bool:
        """Wait ``seconds``; True when the stop event cut the wait short (or was set)."""
        ...


@dataclass
class SystemClock:
    """Wall-clock UTC time; sleeping waits on the stop event, so a signal ends it at once."""

    stop: Stop

    def now(self) -> datetime:
        return datetime.now(tz=UTC)

    def sleep(self, seconds: float) -> bool:
        return self.stop.event.wait(max(0.0, seconds)) or self.stop.is_set()


@contextmanager
def stop_on_signals(stop: Stop) -> Iterator[None]:
    """SIGINT and SIGTERM set ``stop`` (a second one raises KeyboardInterrupt); the previous
    handlers come back afterwards."""
    names = {signal.SIGINT: "SIGINT", signal.SIGTERM: "SIGTERM"}

    def _handler(signum: int, frame: types.FrameType | None) -> None:
        if stop.is_set() and not stop.critical:
            raise KeyboardInterrupt
        stop.set(names.get(signal.Signals(signum), str(signum)))

    saved = {sig: signal.signal(sig, _handler) for sig in names}
    try:
        yield
    finally:
        for sig, old in saved.items():
            signal.signal(sig, old)
