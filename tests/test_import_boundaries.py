"""The core does no I/O: it imports nothing that reads a clock, draws random
numbers, logs, or talks to the world."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parent.parent / "coordinator"
BANNED = {"simpy", "time", "random", "logging", "os", "socket", "sqlite3", "datetime", "numpy", "subprocess",
          "threading", "asyncio", "io", "pathlib", "sys", "sqlalchemy", "psycopg", "pymysql"}


def imported_modules(source: str) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("path", sorted(CORE.glob("*.py")), ids=lambda p: p.name)
def test_core_module_imports_nothing_that_does_io(path: Path) -> None:
    assert imported_modules(path.read_text()) & BANNED == set()


#: the model's SQL may read SQLAlchemy's statement objects, but never connect, sleep, draw or log
SPEC = CORE.parent / "spec"
SPEC_BANNED = (BANNED - {"sqlalchemy"}) | {"sqlite3", "psycopg", "pymysql", "MySQLdb", "dbdriver", "live"}


@pytest.mark.parametrize("path", sorted(SPEC.glob("*.py")), ids=lambda p: p.name)
def test_the_models_sql_imports_nothing_that_does_io(path: Path) -> None:
    assert imported_modules(path.read_text()) & SPEC_BANNED == set()


def test_the_models_sql_reads_statements_without_an_engine() -> None:
    for path in SPEC.glob("*.py"):
        assert "create_engine" not in path.read_text() and ".connect(" not in path.read_text(), path.name


def test_the_check_sees_a_banned_import() -> None:
    assert imported_modules("import time\nfrom random import random\n") == {"time", "random"}


ROOT = CORE.parent


def _imports_of(package: str) -> set[str]:
    found: set[str] = set()
    for path in (ROOT / package).glob("*.py"):
        found |= imported_modules(path.read_text())
    return found


#: the command line and its helpers, above the core, the model, the simulation and the driver
ABOVE = {"wavesim", "userio", "docgen", "audit", "specfile", "replay", "sweep", "readings", "report"}


def test_the_database_driver_stands_on_the_core_alone() -> None:
    assert _imports_of("dbdriver") & ({"sim", "model"} | ABOVE) == set()


@pytest.mark.parametrize("package", ["spec", "coordinator", "model", "sim", "dbdriver", "live"])
def test_nothing_below_the_cli_imports_its_helpers(package: str) -> None:
    assert _imports_of(package) & ABOVE == set()


@pytest.mark.parametrize("package", ["sim", "model", "coordinator"])
def test_nothing_below_the_cli_imports_the_database_driver(package: str) -> None:
    assert "dbdriver" not in _imports_of(package)
