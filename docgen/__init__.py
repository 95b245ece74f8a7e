"""Generated blocks of the README and the docs: no number typed by hand.

A block in ``README.md`` or ``docs/*.md`` is written by a command, never by
hand::

    <!-- wavesim:begin NAME -->
    ...what TABLES[NAME]() returns...
    <!-- wavesim:end NAME -->

``TABLES`` is the registry, ``name -> function returning Markdown``; a page
adds its own with ``@register("name")``. ``wavesim docs`` rewrites every block
in place; ``wavesim docs --check`` changes nothing and exits 1 naming every
block whose committed text differs from what its function returns now (a test
runs it). Blocks must be cheap: they read committed artifacts (the report in
``reports/report.md``, written by ``wavesim report``) or compute something small
and deterministic (a policy's switches, the scenario defaults, the audit of a
committed fixture), never a long simulation. The block functions live in the
modules of ``BLOCK_MODULES`` (``wavesim.docblocks`` for the README and the
general pages); a page's module is added there, and is imported before any
page is rendered.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "BLOCK_MODULES", "ROOT", "TABLES", "Block", "DocError", "blocks_in", "doc_files", "drifted", "fill", "load_blocks",
    "project_root", "register", "render_file",
]

#: the project folder: README.md, docs/ and reports/ sit here
ROOT = Path(__file__).resolve().parent.parent
_root = [ROOT]


def project_root() -> Path:
    """The project folder the blocks being rendered read from (``ROOT``, or ``wavesim docs --root``)."""
    return _root[0]
#: the registry of generated blocks
TABLES: dict[str, Callable[[], str]] = {}
#: the modules whose ``@register`` calls fill ``TABLES``
BLOCK_MODULES = [
    "wavesim.docblocks", "docgen.databases", "readings.docs", "wavesim.commands.check",
    "wavesim.docs_live", "docgen.guarantees", "wavesim.docs_specs", "docgen.architecture", "docgen.benchmarks",
]

#: a marker is a line of its own (so prose can quote one in backticks)
_MARK = re.compile(r"^[ \t]*<!-- wavesim:(begin|end) ([A-Za-z0-9_.-]+) -->[ \t]*$", re.MULTILINE)


class DocError(ValueError):
    """A page whose markers do not pair up, or that names a block nobody registered."""


def register(name: str) -> Callable[[Callable[[], str]], Callable[[], str]]:
    """Register ``fn`` as the block ``name`` (a name is registered once)."""
    def add(fn: Callable[[], str]) -> Callable[[], str]:
        if name in TABLES:
            raise ValueError(f"block {name!r} is registered twice")
        TABLES[name] = fn
        return fn
    return add


@dataclass(frozen=True, slots=True)
class Block:
    """One generated block of a page: its name and the text between its markers."""

    name: str
    start: int  # offset just after the begin marker's line
    end: int  # offset of the end marker
    text: str


def blocks_in(text: str, where: str = "page") -> list[Block]:
    """The blocks of a page, in order; unpaired or nested markers and unknown names are a ``DocError``."""
    out: list[Block] = []
    open_: tuple[str, int] | None = None
    for m in _MARK.finditer(text):
        kind, name = m.group(1), m.group(2)
        line = text.count("\n", 0, m.start()) + 1
        if kind == "begin":
            if open_ is not None:
                raise DocError(f"{where}:{line}: block {name!r} begins inside block {open_[0]!r}")
            if name not in TABLES:
                raise DocError(f"{where}:{line}: block {name!r} is not registered in docgen "
                               f"(known: {', '.join(sorted(TABLES))})")
            after = text.find("\n", m.end())
            open_ = (name, len(text) if after < 0 else after + 1)
        else:
            if open_ is None or open_[0] != name:
                raise DocError(f"{where}:{line}: end of block {name!r} without its begin")
            out.append(Block(name=name, start=open_[1], end=m.start(), text=text[open_[1]:m.start()]))
            open_ = None
    if open_ is not None:
        raise DocError(f"{where}: block {open_[0]!r} is never ended")
    return out


def _generated(name: str, cache: dict[str, str]) -> str:
    if name not in cache:
        body = TABLES[name]().strip("\n")
        cache[name] = body + "\n" if body else ""
    return cache[name]


def render_file(text: str, where: str = "page", cache: dict[str, str] | None = None) -> tuple[str, list[str]]:
    """The page with every block regenerated, and the names of the blocks that changed."""
    cache = {} if cache is None else cache
    pieces, changed, at = [], [], 0
    for b in blocks_in(text, where):
        new = _generated(b.name, cache)
        pieces += [text[at:b.start], new]
        at = b.end
        if new != b.text:
            changed.append(b.name)
    pieces.append(text[at:])
    return "".join(pieces), changed


def load_blocks() -> None:
    """Import every module of ``BLOCK_MODULES`` (its ``@register`` calls fill ``TABLES``)."""
    for module in BLOCK_MODULES:
        importlib.import_module(module)


def doc_files(root: Path = ROOT) -> list[Path]:
    """README.md, every page under docs/ and the report (its live section is blocks), in a stable order."""
    pages = [root / "README.md"] if (root / "README.md").is_file() else []
    report = [root / "reports" / "report.md"] if (root / "reports" / "report.md").is_file() else []
    return pages + sorted((root / "docs").rglob("*.md")) + report


def drifted(files: Iterable[Path], root: Path = ROOT) -> dict[Path, tuple[str, list[str]]]:
    """For each page with a block that differs from its generator: its regenerated text and the blocks."""
    load_blocks()
    cache: dict[str, str] = {}
    out = {}
    _root[0] = root
    try:
        for path in files:
            where = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
            new, changed = render_file(path.read_text(encoding="utf-8"), where, cache)
            if changed:
                out[path] = (new, changed)
    finally:
        _root[0] = ROOT
    return out


def fill(text: str, names: set[str] | None = None) -> str:
    """``text`` with every registered block (or only those in ``names``) regenerated."""
    load_blocks()
    pieces, at = [], 0
    for b in blocks_in(text):
        if names is not None and b.name not in names:
            continue
        pieces += [text[at:b.start], _generated(b.name, {})]
        at = b.end
    pieces.append(text[at:])
    return "".join(pieces)
