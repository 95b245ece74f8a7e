"""The width of a column of names in a plain-text summary: wide enough for its longest name.

A spec names its own properties, jobs and metrics, and a name longer than a fixed width pushed the
verdict beside it out of line with the others.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["name_width"]


def name_width(names: Iterable[str], least: int = 26) -> int:
    """The width a column of ``names`` needs (at least ``least``, so short names keep the usual layout)."""
    return max([least, *(len(n) for n in names)])
