"""Generated blocks of the docs: a registry of ``name -> function returning Markdown``.

A page marks a block ``<!-- wavesim:begin NAME -->`` ... ``<!-- wavesim:end NAME -->``;
the function registered under NAME writes what goes between, and a test compares the
committed copy with a fresh one. Modules register their tables on import.
"""

from __future__ import annotations

import re
from collections.abc import Callable

__all__ = ["TABLES", "block", "register"]

TABLES: dict[str, Callable[[], str]] = {}


def register(name: str) -> Callable[[Callable[[], str]], Callable[[], str]]:
    """Register a Markdown generator under ``name``."""

    def add(fn: Callable[[], str]) -> Callable[[], str]:
        if name in TABLES:
            raise ValueError(f"generated block {name!r} is registered twice")
        TABLES[name] = fn
        return fn

    return add


def block(text: str, name: str) -> str | None:
    """The committed content of block ``name`` in ``text`` (None when it has none)."""
    found = re.search(rf"<!-- wavesim:begin {re.escape(name)} -->\n(.*?)<!-- wavesim:end {re.escape(name)} -->",
                      text, re.S)
    return None if found is None else found.group(1)
