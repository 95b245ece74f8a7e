"""The code's shape: ``spec/`` (the model's SQL, pure) at the bottom, then ``coordinator/``; ``model/``,
``sim/`` and the database driver (``dbdriver/``) side by side above them, none importing another; live runs
(``live/``) on the core and the driver; the command line's helpers (``userio/``, ``docgen/``, ``audit/``,
``specfile/``, ``replay/``, ``sweep/``, ``readings/``, ``report/``) above what they use; the command line
(``wavesim/``) on top; no cycle among the packages, and no two modules importing each other."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from docgen.architecture import PACKAGES, code_lines, packages_table, purpose

ROOT = Path(__file__).resolve().parent.parent
#: package -> the project packages it may import (besides itself)
ALLOWED = {
    "spec": set(),
    "coordinator": {"spec"},
    "model": {"spec", "coordinator"},
    "sim": {"spec", "coordinator"},
    "dbdriver": {"spec", "coordinator"},
    "live": {"spec", "coordinator", "dbdriver"},
    # the command line's helpers, each above what it uses
    "userio": {"spec", "coordinator"},
    "docgen": {"spec", "coordinator", "model"},
    "audit": {"spec", "coordinator", "userio"},
    "specfile": {"spec", "coordinator", "model", "dbdriver", "userio"},
    "replay": {"spec", "coordinator", "model", "sim"},
    "sweep": {"spec", "coordinator", "sim", "userio"},
    "readings": {"spec", "coordinator", "model", "sim", "audit", "docgen"},
    "report": {"spec", "coordinator", "model", "sim", "dbdriver", "live", "userio", "docgen", "audit", "readings"},
    "wavesim": {"spec", "coordinator", "model", "sim", "dbdriver", "live", "userio", "docgen", "audit", "specfile",
                "replay", "sweep", "readings", "report"},
}


def cycle_in(allowed: dict[str, set[str]]) -> list[str]:
    """A cycle of packages each allowed to import the next (``[]`` when the layers are a true order)."""
    done: set[str] = set()

    def visit(package: str, path: list[str]) -> list[str]:
        if package in path:
            return path[path.index(package):] + [package]
        if package in done:
            return []
        for below in sorted(allowed.get(package, set())):
            found = visit(below, path + [package])
            if found:
                return found
        done.add(package)
        return []

    for package in sorted(allowed):
        found = visit(package, [])
        if found:
            return found
    return []


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_imports(path: Path) -> set[str]:
    """The project modules ``path`` imports (``from a.b import c`` names ``a.b``, or ``a.b.c`` when a module)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        found.update(n for n in names if n.split(".")[0] in ALLOWED and _exists(n))
    return found


def _exists(name: str) -> bool:
    base = ROOT.joinpath(*name.split("."))
    return base.with_suffix(".py").exists() or (base / "__init__.py").exists()


MODULES = {_module_name(p): p for pkg in ALLOWED for p in sorted((ROOT / pkg).rglob("*.py"))}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_a_module_imports_only_the_layers_below_it(name: str) -> None:
    package = name.split(".")[0]
    wrong = {m for m in project_imports(MODULES[name]) if m.split(".")[0] not in ALLOWED[package] | {package}}
    assert wrong == set(), f"{name} imports {sorted(wrong)}"


def test_no_two_modules_import_each_other() -> None:
    graph = {name: {m for m in project_imports(path) if m in MODULES and m != name}
             for name, path in MODULES.items()}
    pairs = sorted((a, b) for a, deps in graph.items() for b in deps
                   if a < b and a in graph.get(b, set()) and not _is_package_of(a, b) and not _is_package_of(b, a))
    assert pairs == []


def _is_package_of(package: str, module: str) -> bool:
    """A package's ``__init__`` re-exports its own modules; that is not a cycle."""
    return module.startswith(package + ".")


def test_the_layers_are_an_order() -> None:
    assert cycle_in(ALLOWED) == []


def test_every_top_level_package_has_its_layer() -> None:
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests", "benchmarks", "examples"}
    assert packages - set(ALLOWED) == set()


def test_the_order_check_sees_a_cycle() -> None:
    found = cycle_in({**ALLOWED, "userio": ALLOWED["userio"] | {"report"}})
    assert found[0] == found[-1] and {"userio", "report"} <= set(found)
    assert cycle_in({"a": {"a"}}) == ["a", "a"]


def test_the_checks_see_a_wrong_import(tmp_path: Path) -> None:
    bad = ROOT / "sim" / "clock.py"
    assert "sim.clock" in MODULES and "model.trace" not in project_imports(bad)
    probe = tmp_path / "probe.py"
    probe.write_text("from model.trace import follow\nimport sim.clock\n")
    assert project_imports(probe) == {"model.trace", "sim.clock"}
    worker = ROOT / "live" / "worker.py"
    assert "live.worker" in MODULES and "live.db" in project_imports(worker)  # live/ is read, not skipped
    lazy = tmp_path / "lazy.py"
    lazy.write_text("def run():\n    from sim.run import run_one\n")  # an import inside a function counts
    assert project_imports(lazy) == {"sim.run"}


def _first_wrong_order(order: list[str]) -> tuple[str, str] | None:
    """The first package allowed to import one that ``order`` (bottom first) puts at or above it."""
    at = {name: i for i, name in enumerate(order)}
    return next(((p, q) for p in order if p in ALLOWED for q in sorted(ALLOWED[p]) if at[q] >= at[p]), None)


def test_the_architecture_page_lists_every_package_bottom_first() -> None:
    assert set(PACKAGES) - {"examples"} == set(ALLOWED)
    assert _first_wrong_order(PACKAGES) is None
    swapped = [name for name in PACKAGES if name != "audit"] + ["audit"]  # audit above what uses it
    assert _first_wrong_order(swapped) == ("readings", "audit")


def test_the_architecture_table_counts_lines_and_reads_purposes(tmp_path: Path) -> None:
    (tmp_path / "pkg" / "sub").mkdir(parents=True)
    (tmp_path / "pkg" / "__init__.py").write_text('"""What it is for,\non two lines.\n\nMore."""\n')
    (tmp_path / "pkg" / "sub" / "a.py").write_text("x = 1\ny = 2\n")
    assert code_lines("pkg", tmp_path) == 6 and purpose("pkg", tmp_path) == "What it is for, on two lines."
    table = packages_table()
    assert all(f"| `{name}/` |" in table for name in PACKAGES)
