"""Progress bars for long commands: on a terminal only, and never with ``--json``.

A bar goes to standard error, so standard output stays clean for pipes; tqdm
gives counts, rate and time left.
"""

from __future__ import annotations

import sys

from tqdm import tqdm

__all__ = ["progress_bar", "wanted"]


def wanted(*, as_json: bool = False) -> bool:
    """Show a bar only on an interactive terminal and not when printing JSON."""
    return not as_json and sys.stderr.isatty()


def progress_bar(total: int, *, desc: str, enabled: bool, initial: int = 0, unit: str = "run") -> tqdm:
    """A tqdm bar on standard error; ``enabled=False`` gives a silent one."""
    return tqdm(total=total, initial=initial, desc=desc, unit=unit, disable=not enabled,
                file=sys.stderr, dynamic_ncols=True, leave=False)
