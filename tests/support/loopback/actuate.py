"""The loopback actuator, as a rollout controller's CLI would be called by ``igkit cutover
execute --set-weight 'python -m tests.support.loopback.actuate --proxy URL set {weight}'
--rollback '... rollback'``.

``set N`` PUTs the weight and reads it back; ``rollback`` sets 0. Exit 0 only when the proxy
confirms the weight; otherwise one line on stderr and exit 1 (2 for usage). ``--fail`` (or
``LOOPBACK_ACTUATE_FAIL=1``) and ``--fail-at N`` make the call fail without touching the proxy:
the "actuator exits non-zero" case.
"""

from __future__ import annotations

import argparse
import os
import sys

import requests

TIMEOUT_S = 10


def set_weight(proxy: str, weight: int) -> int:
    """PUT ``weight``, GET it back; the weight the proxy now holds."""
    base = proxy.rstrip("/")
    put = requests.put(f"{base}/-/weight", params={"canary": str(weight)}, timeout=TIMEOUT_S)
    if put.status_code != 200:
        raise RuntimeError(f"PUT /-/weight answered {put.status_code}: {put.text.strip()[:200]}")
    now = requests.get(f"{base}/-/weight", timeout=TIMEOUT_S).json()["canary"]
    if now != weight:
        raise RuntimeError(f"proxy holds weight {now} after setting {weight}")
    return int(now)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.loopback.actuate")
    parser.add_argument("--proxy", required=True, help="proxy base URL")
    parser.add_argument(
        "--fail", action="store_true", help="fail every call (also LOOPBACK_ACTUATE_FAIL=1)"
    )
    parser.add_argument(
        "--fail-at", type=int, default=None, help="fail when asked to set this weight"
    )
    sub = parser.add_subparsers(dest="verb", required=True)
    setp = sub.add_parser("set", help="set the canary weight")
    setp.add_argument("weight", type=int)
    sub.add_parser("rollback", help="set the canary weight to 0")
    args = parser.parse_args(argv)
    weight = 0 if args.verb == "rollback" else args.weight
    print(f"actuate: {args.verb} canary weight {weight} via {args.proxy}")
    if args.fail or os.environ.get("LOOPBACK_ACTUATE_FAIL") == "1" or args.fail_at == weight:
        print(f"actuate: injected failure setting weight {weight}", file=sys.stderr)
        return 1
    try:
        now = set_weight(args.proxy, weight)
    except (requests.RequestException, RuntimeError, ValueError, KeyError) as exc:
        print(f"actuate: could not set weight {weight}: {exc}", file=sys.stderr)
        return 1
    print(f"actuate: proxy now sends {now}% to canary")
    return 0


if __name__ == "__main__":
    sys.exit(main())
