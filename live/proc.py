"""Entry point of every spawned process: ``python -m live.proc ROLE SPEC SLOT INCARNATION``."""

from __future__ import annotations

import sys
from pathlib import Path

from live.periodic import chaos, reconciler
from live.spec import RunSpec
from live.worker import work

ROLES = {"worker": work, "reconciler": reconciler, "chaos": chaos}


def main(argv: list[str]) -> int:
    role, spec_path, slot, incarnation = argv
    spec = RunSpec.from_json(Path(spec_path).read_text(encoding="utf-8"))
    spec.ready(role, int(slot), int(incarnation))
    ROLES[role](spec.wait_for_start(), int(slot), int(incarnation))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
