"""Generated blocks of the docs: a registry of ``name -> function returning Markdown``.

A Markdown page holds ``<!-- wavesim:begin NAME -->`` ... ``<!-- wavesim:end NAME -->``;
``render_page(text)`` fills every registered block from its function, so the
committed copy can be compared with what the code says now (a test does).
``python -m wavesim.docgen FILE...`` rewrites the blocks in place.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable

__all__ = ["TABLES", "register", "render_page"]

TABLES: dict[str, Callable[[], str]] = {}

_BLOCK = re.compile(r"(<!-- wavesim:begin (?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- wavesim:end (?P=name) -->)", re.S)


def register(name: str) -> Callable[[Callable[[], str]], Callable[[], str]]:
    def wrap(fn: Callable[[], str]) -> Callable[[], str]:
        TABLES[name] = fn
        return fn
    return wrap


def _load() -> None:
    import wavesim.docs_databases  # noqa: F401  (registers its blocks)


def render_page(text: str) -> str:
    """``text`` with every registered block filled in from the code."""
    _load()
    import wavesim.docgen as registry  # the registry, also when this file runs as __main__

    def fill(m: re.Match[str]) -> str:
        fn = registry.TABLES.get(m.group("name"))
        if fn is None:
            return m.group(0)
        return m.group(1) + fn().rstrip("\n") + "\n" + m.group(4)
    return _BLOCK.sub(fill, text)


def main(paths: list[str]) -> None:
    from wavesim.files import atomic_write

    for path in paths:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        new = render_page(text)
        atomic_write(path, lambda tmp, new=new: tmp.write_text(new, encoding="utf-8"))


if __name__ == "__main__":
    main(sys.argv[1:])
