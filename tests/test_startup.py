"""``wavesim --help`` and ``--version`` start without importing the heavy modules.

Behaviour, not timing: the modules a fresh interpreter imports are read from
``python -X importtime``. (The time itself is measured in
``benchmarks/bench_startup.py``.)
"""

from __future__ import annotations

import subprocess
import sys

import click
import pytest

from wavesim.cli import COMMANDS, main

#: what only a command's own work needs: the numeric and simulation stack, the database and queue
#: clients, plotting, and the project's own core, model, simulation and drivers
HEAVY = ("numpy", "simpy", "sqlalchemy", "matplotlib", "redis", "psycopg", "pymysql", "tqdm", "distributed",
         "dask", "coordinator", "model", "sim", "dbdriver", "live", "docgen", "audit", "specfile", "replay", "sweep",
         "readings", "report")


def imported_by(*args: str) -> tuple[str, set[str]]:
    """The stdout of ``python -m wavesim ARGS`` and the top-level names of the modules it imported."""
    run = subprocess.run([sys.executable, "-X", "importtime", "-m", "wavesim", *args],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    names = set()
    for line in run.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return run.stdout, names


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["-h"]])
def test_help_and_version_import_none_of_the_heavy_modules(args: list[str]) -> None:
    out, names = imported_by(*args)
    assert "wavesim" in names and "click" in names  # the measurement sees imports at all
    assert sorted(names & set(HEAVY)) == []
    if args != ["--version"]:
        assert all(f"  {name} " in out for name in COMMANDS)


def test_a_command_still_imports_what_it_needs() -> None:
    _, names = imported_by("run", "--help")
    assert {"sim", "coordinator"} <= names  # the measurement would see a heavy import


def test_each_summary_is_its_commands_own_first_sentence() -> None:
    for name, lazy in COMMANDS.items():
        command = lazy.load()
        assert command.name == name
        assert lazy.summary == command.get_short_help_str(limit=10_000), name
    assert sorted(main.list_commands(click.Context(main))) == sorted(COMMANDS)


def test_the_live_report_and_the_shipped_data_leave_the_incident_report_unimported() -> None:
    probe = ("import sys, report.live, report.data; print(sorted(m for m in ('matplotlib', 'report.build', "
             "'report.figures') if m in sys.modules)); import report; report.write_report; "
             "print('report.write' in sys.modules)")
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.splitlines() == ["[]", "True"]  # a name of the package is imported when asked for


def test_every_name_the_report_package_offers_is_there() -> None:
    import report

    assert all(getattr(report, name) is not None for name in report.__all__)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        report.nope  # noqa: B018
