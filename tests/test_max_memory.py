"""``--max-memory`` is a promise about the peak: the checker's process never holds more.

The check runs as a grandchild, so that its own peak resident memory is what
``getrusage(RUSAGE_CHILDREN)`` reports to the process in between. The scope
needs far more than the budget; the budgets are ones at which the search used
to overshoot (a hash table doubling between two memory samples).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from model import compiled

ROOT = Path(__file__).resolve().parent.parent

MEASURE = """
import resource, subprocess, sys
run = subprocess.run(sys.argv[1:], capture_output=True, text=True)
sys.stdout.write(run.stdout)
print("exit", run.returncode)
print("peak_mb", resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
"""
SCOPE = ["--policy", "guarded", "--waves", "4", "--wave-size", "3", "--workers", "3", "--handlers", "3",
         "--without", "settled", "--without", "futures", "--time-limit", "600"]


@pytest.mark.parametrize(("engine", "budget"), [
    pytest.param("compiled", 150, marks=pytest.mark.skipif(compiled.unavailable() is not None,
                                                           reason=f"no compiled engine: {compiled.unavailable()}")),
    ("python", 130),
])
def test_a_search_stops_on_memory_without_ever_holding_more_than_the_budget(engine: str, budget: int) -> None:
    command = [sys.executable, "-m", "wavesim", "check", *SCOPE, "--engine", engine, "--max-memory", str(budget)]
    run = subprocess.run([sys.executable, "-c", MEASURE, *command], capture_output=True, text=True, timeout=900,
                         cwd=ROOT)
    lines = run.stdout.splitlines()
    assert run.returncode == 0 and lines[-2] in ("exit 0", "exit 1"), run.stdout + run.stderr
    assert f"memory limit of {budget} MB reached" in run.stdout  # the scope needs more: the budget stopped it
    peak = float(lines[-1].split()[1])
    assert peak <= budget, f"peak {peak:.1f} MB over the budget of {budget} MB"
