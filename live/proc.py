"""Entry point of every spawned process: ``python -m live.proc ROLE SPEC SLOT INCARNATION``.

ROLE ``spec-worker`` and ``spec-chaos`` are a spec's live run (``live/specworker.py``); SPEC is then its plan.
"""

from __future__ import annotations

import sys
from pathlib import Path

from live.periodic import chaos, reconciler
from live.spec import RunSpec
from live.worker import work

ROLES = {"worker": work, "reconciler": reconciler, "chaos": chaos}


def main(argv: list[str]) -> int:
    role, spec_path, slot, incarnation = argv
    if role.startswith("spec-"):  # a spec's run (live/specrun.py): its plan, not the write-up's RunSpec
        from live.specworker import main as spec_main

        spec_main(Path(spec_path).read_text(encoding="utf-8"), role, int(slot), int(incarnation))
        return 0
    spec = RunSpec.from_json(Path(spec_path).read_text(encoding="utf-8"))
    spec.ready(role, int(slot), int(incarnation))
    ROLES[role](spec.wait_for_start(), int(slot), int(incarnation))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
