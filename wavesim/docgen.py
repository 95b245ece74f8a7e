"""Generated blocks in Markdown: ``<!-- wavesim:begin NAME -->`` ... ``<!-- wavesim:end NAME -->``.

``TABLES`` maps a block name to a function returning its Markdown; ``register``
adds one. ``fill(text)`` rewrites every registered block of a page, so a
measured number in the docs is always written by code; a test compares the
committed page with ``fill`` of it to notice drift.
"""

from __future__ import annotations

import re
from collections.abc import Callable

__all__ = ["TABLES", "fill", "register"]

TABLES: dict[str, Callable[[], str]] = {}

_BLOCK = re.compile(r"(<!-- wavesim:begin (?P<name>[\w.-]+) -->\n)(?P<body>.*?)(<!-- wavesim:end (?P=name) -->)",
                    re.DOTALL)


def register(name: str) -> Callable[[Callable[[], str]], Callable[[], str]]:
    """Register ``fn`` as the generator of block ``name``."""
    def add(fn: Callable[[], str]) -> Callable[[], str]:
        TABLES[name] = fn
        return fn
    return add


def fill(text: str, names: set[str] | None = None) -> str:
    """``text`` with every registered block (or only ``names``) regenerated."""
    def one(m: re.Match[str]) -> str:
        name = m.group("name")
        if name not in TABLES or (names is not None and name not in names):
            return m.group(0)
        body = TABLES[name]()
        return m.group(1) + body.rstrip("\n") + "\n" + m.group(4)
    return _BLOCK.sub(one, text)
