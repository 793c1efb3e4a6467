"""A scripted actuator for the conductor tests: ``actuate.py STATE set N`` writes N to STATE,
``actuate.py STATE rollback`` writes 0. Each call is appended to STATE.calls; a file
STATE.fail-set (or STATE.fail-rollback) holding a count makes that many calls exit 1."""

from __future__ import annotations

import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    state, action = Path(argv[0]), argv[1]
    weight = argv[2] if action == "set" else "0"
    with state.with_name(state.name + ".calls").open("a") as fh:
        fh.write(f"{action} {weight}\n")
    fail = state.with_name(f"{state.name}.fail-{action}")
    if fail.exists():
        left = int(fail.read_text() or "1")
        if left > 0:
            fail.write_text(str(left - 1))
            print(f"cannot {action}: the rollout controller said no", file=sys.stderr)
            return 1
    state.write_text(weight)
    print(f"weight {weight}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
