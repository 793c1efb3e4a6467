"""Steady open-loop client load through the proxy: several tenants, queries, 2-hop traversals
and mutations, at a fixed request rate whatever the latency (an open loop, as real users
are: a slow canary does not slow the arrivals down).

Each tenant logs in once (and again after a 401); every request carries ``X-Tenant``. Once a
second a line ``load: sent N ok M failed K`` goes to stdout (the world's log).

Run: ``python -m tests.support.loopback.load --base-url URL --password PW --rps 80``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import random
import signal
import sys
from collections import Counter

import aiohttp

MIX = (("query", 0.55), ("traverse", 0.15), ("mutation", 0.30))
QUERIES = {
    "query": "query Entity($id: ID!) { entity(id: $id) { id name } }",
    "traverse": "query Traverse($id: ID!) { traverse(start: $id, hops: 2) { paths } }",
    "mutation": "mutation Create($name: String!) { createEntity(name: $name) { id } }",
}
MAX_IN_FLIGHT = 500
TIMEOUT_S = 10


class Load:
    """The client: tokens per tenant, counters of outcomes, the request loop."""

    def __init__(
        self, base_url: str, password: str, tenants: list[str], rps: float, seed: int | None
    ) -> None:
        self.base = base_url.rstrip("/")
        self.password = password
        self.tenants = tenants
        self.rps = rps
        self.random = random.Random(seed)
        self.tokens: dict[str, str] = {}
        self.counts: Counter[str] = Counter()
        self._in_flight = asyncio.Semaphore(MAX_IN_FLIGHT)

    async def _login(self, session: aiohttp.ClientSession, tenant: str) -> str | None:
        body = {"username": f"load-{tenant}", "password": self.password}
        async with session.post(
            f"{self.base}/auth/login", json=body, headers={"X-Tenant": tenant}
        ) as r:
            if r.status != 200:
                return None
            token = (await r.json())["token"]
        self.tokens[tenant] = str(token)
        return self.tokens[tenant]

    async def one(self, session: aiohttp.ClientSession, tenant: str, kind: str) -> None:
        try:
            token = self.tokens.get(tenant) or await self._login(session, tenant)
            if token is None:
                self.counts["login_failed"] += 1
                return
            variables = (
                {"name": "x"} if kind == "mutation" else {"id": f"e-{self.random.randrange(1000)}"}
            )
            headers = {"X-Tenant": tenant, "Authorization": f"Bearer {token}"}
            body = {"query": QUERIES[kind], "variables": variables}
            async with session.post(f"{self.base}/graphql", json=body, headers=headers) as r:
                await r.read()
                self.counts["ok" if r.status == 200 else "failed"] += 1
                if r.status == 401:
                    self.tokens.pop(tenant, None)
        except (aiohttp.ClientError, TimeoutError):
            self.counts["unreachable"] += 1
        finally:
            self._in_flight.release()

    async def run(self, stop: asyncio.Event) -> None:
        timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
        kinds, weights = zip(*MIX, strict=True)
        async with aiohttp.ClientSession(
            timeout=timeout, connector=aiohttp.TCPConnector(limit=0)
        ) as session:
            loop = asyncio.get_running_loop()
            start = loop.time()
            tasks: set[asyncio.Task[None]] = set()
            reporter = asyncio.create_task(self._report(stop))
            for n in itertools.count():
                if stop.is_set():
                    break
                delay = start + n / self.rps - loop.time()
                if delay > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), delay)
                    if stop.is_set():
                        break
                await self._in_flight.acquire()
                tenant = self.tenants[n % len(self.tenants)]
                kind = self.random.choices(kinds, weights)[0]
                task = asyncio.create_task(self.one(session, tenant, kind))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                self.counts["sent"] += 1
            for task in list(tasks):
                task.cancel()
            await asyncio.gather(*tasks, reporter, return_exceptions=True)

    async def _report(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1)
            c = self.counts
            print(
                f"load: sent {c['sent']} ok {c['ok']} failed {c['failed']} "
                f"unreachable {c['unreachable']} login_failed {c['login_failed']}",
                flush=True,
            )


async def _main(load: Load) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await load.run(stop)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.loopback.load")
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--tenants", default="acme,globex")
    parser.add_argument("--rps", type=float, default=80.0)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    if not 0 < args.rps <= 2000:
        print("load: --rps must lie in (0, 2000]", file=sys.stderr)
        return 2
    tenants = [t for t in args.tenants.split(",") if t]
    asyncio.run(_main(Load(args.base_url, args.password, tenants, args.rps, args.seed)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
