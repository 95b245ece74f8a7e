"""The generated block of ``docs/architecture.md``: the packages layer by layer, each with its purpose and size.

``LAYERS`` is the order the code keeps, bottom first; ``tests/test_layers.py`` holds it to the imports
(a package imports only packages of its own layer's list or below, and every package has a layer). A
package's purpose is the first paragraph of its docstring, so the table says what the code says. Line
counts are of the package's Python files as they are in this source tree, rounded to the hundred so that
the page changes when a package grows noticeably, not at every commit; the share is of all the packages'
lines together.
"""

from __future__ import annotations

import ast
from pathlib import Path

from docgen import ROOT, register

__all__ = ["LAYERS", "PACKAGES", "code_lines", "packages_table", "purpose"]

#: the layers, bottom first: (what the layer is, its folders)
LAYERS: list[tuple[str, list[str]]] = [
    ("the spec language, pure", ["spec"]),
    ("specs on it", ["coordinator", "examples"]),
    ("model, simulation and database driver, side by side", ["model", "sim", "dbdriver"]),
    ("live runs, on the driver", ["live"]),
    ("what the commands share", ["userio", "docgen"]),
    ("what the commands do", ["audit", "specfile", "replay", "sweep", "readings", "report"]),
    ("the command line", ["wavesim"]),
]
#: every folder of code, bottom first
PACKAGES = [name for _, names in LAYERS for name in names]
#: folders that are not a package (no docstring to read the purpose from)
_NOT_PACKAGES = {"examples": "Specs of other job systems' coordinators, each from a public bug thread, and the "
                             "tutorial's (``examples/README.md``)."}
#: folders of the project beside the code, counted below the table
_BESIDE = ["tests", "benchmarks"]


def code_lines(folder: str, root: Path = ROOT) -> int:
    """The lines of every Python file under ``folder``."""
    return sum(len(p.read_text(encoding="utf-8").splitlines()) for p in sorted((root / folder).rglob("*.py"))
               if "__pycache__" not in p.parts)


def purpose(folder: str, root: Path = ROOT) -> str:
    """The first paragraph of the package's docstring, on one line."""
    if folder in _NOT_PACKAGES:
        return _NOT_PACKAGES[folder]
    doc = ast.get_docstring(ast.parse((root / folder / "__init__.py").read_text(encoding="utf-8"))) or ""
    return " ".join(doc.split("\n\n")[0].split())


def _about(n: int) -> str:
    return f"{round(n, -2):,}"


@register("architecture-packages")
def packages_table() -> str:
    """One row per folder of code, layer by layer from the top, with its purpose, size and share."""
    lines = {name: code_lines(name) for name in PACKAGES}
    total = sum(lines.values())
    rows = ["| layer | folder | purpose | lines | share |", "|---|---|---|---:|---:|"]
    for layer, names in reversed(LAYERS):
        for i, name in enumerate(names):
            share = f"{100 * lines[name] / total:.0f} %"
            text = purpose(name).replace("|", "\\|")
            rows.append(f"| {layer if i == 0 else ''} | `{name}/` | {text} | {_about(lines[name])} | {share} |")
    beside = ", ".join(f"`{name}/` {_about(code_lines(name))}" for name in _BESIDE)
    rows += ["", f"All together about {_about(total)} lines of Python, rounded to the hundred; beside them, "
                 f"{beside}."]
    return "\n".join(rows)
