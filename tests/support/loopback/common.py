"""What the loopback processes share: listening on a free port, announcing it, and running
until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from pathlib import Path

from aiohttp import web


async def serve_until_signalled(
    app: web.Application, host: str, port: int, port_file: Path | None
) -> None:
    """Serve ``app`` on ``host:port`` (0: any free port); once it listens, write the bound
    port to ``port_file`` atomically (the starter polls for it: no probe-then-bind race);
    return after a clean shutdown on SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        bound = runner.addresses[0][1]
        if port_file is not None:
            tmp = port_file.with_name(port_file.name + ".tmp")
            tmp.write_text(f"{bound}\n")
            os.replace(tmp, port_file)
        await stop.wait()
    finally:
        with contextlib.suppress(Exception):
            await runner.cleanup()
