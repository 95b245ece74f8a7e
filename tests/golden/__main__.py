"""``python -m tests.golden``: compare every golden file with what the code produces now;
``--write`` rewrites the files that differ (then review ``git diff tests/golden/``)."""

from __future__ import annotations

import sys

from . import CASES, REGENERATE, explain, moved, produce, stored, write


def main(argv: list[str]) -> int:
    if argv not in ([], ["--write"]):
        print(f"usage: python -m tests.golden [--write]  (rewrite with: {REGENERATE})", file=sys.stderr)
        return 2
    differ = 0
    for name, case in CASES.items():
        if argv:
            print(f"{'wrote' if write(name) else 'unchanged'} {case.path.name}")
            continue
        changes: dict[str, tuple[object, object]] = (
            moved(stored(name), produce(name)) if case.path.exists() else {"(file)": ("absent", "written")})
        if changes:
            differ += 1
            print(explain(name, changes))
        else:
            print(f"matches {case.path.name}")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
