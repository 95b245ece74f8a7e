"""The compiled engine (``model/engine.c``) against the Python search: the same graph, the same
verdicts, counterexamples that replay, and the same budgets and errors."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from coordinator import POLICIES, PROPERTY_NAMES
from model import compiled
from model.actions import Spec
from model.checker import check, engine_for
from model.scope import Scope
from model.trace import steps_of

ROOT = Path(__file__).resolve().parent.parent
needs_compiler = pytest.mark.skipif(compiled.unavailable() is not None,
                                    reason=f"compiled engine unavailable: {compiled.unavailable()}")

CASES = [
    ("original", Scope()),
    ("guarded", Scope(losses=1)),
    ("seed-fix", Scope(max_handlers=1, duplicates=1)),
    ("seed-fix", Scope(waves=3, wave_size=2, max_handlers=1)),
    ("atomic", Scope(crashes=1, crash_handlers=True, max_handlers=1)),
    ("atomic", Scope(waves=3, relay_lease="outlasts-claimer")),
]
IDS = [f"{p}-{s.label()}" for p, s in CASES]


def _verdicts(search: object) -> dict[str, bool | None]:
    return {n: search.holds(n) for n in PROPERTY_NAMES}  # type: ignore[attr-defined]


@needs_compiler
@pytest.mark.parametrize(("policy", "scope"), CASES, ids=IDS)
@pytest.mark.parametrize("use", [(), ("symmetry",), ("symmetry", "abstraction"), ("symmetry", "abstraction", "por"),
                                 ("symmetry", "abstraction", "futures", "settled", "por")],
                         ids=["none", "sym", "sym-abs", "sym-abs-por", "sym-abs-fut-settled-por"])
def test_both_engines_search_the_same_graph(policy: str, scope: Scope, use: tuple[str, ...]) -> None:
    """Without the probe walks (which draw their own random numbers) the graphs are the same: the same
    number of states and transitions, the same depth, the same verdicts and counterexample lengths."""
    fast = check(scope, POLICIES[policy], use=use, engine="compiled")
    slow = check(scope, POLICIES[policy], use=use, engine="python")
    assert (fast.engine, slow.engine) == ("compiled", "python")
    assert (fast.states, fast.transitions, fast.depth, fast.complete, fast.settled) == (
        slow.states, slow.transitions, slow.depth, slow.complete, slow.settled)
    assert _verdicts(fast) == _verdicts(slow)
    assert {n: len(f.labels) for n, f in fast.found.items()} == {n: len(f.labels) for n, f in slow.found.items()}


@needs_compiler
@pytest.mark.parametrize(("policy", "scope"), CASES, ids=IDS)
def test_with_every_reduction_the_verdicts_match_and_every_path_replays(policy: str, scope: Scope) -> None:
    fast = check(scope, POLICIES[policy], engine="compiled")
    slow = check(scope, POLICIES[policy], engine="python")
    assert _verdicts(fast) == _verdicts(slow)
    for found in fast.found.values():
        steps = steps_of(fast.spec, found.path)  # raises if a step is not a transition of the model
        assert len(steps) == len(found.labels) == len(found.path) - 1
        assert [s.action for s in steps] == [str(label[0]) for label in found.labels]


@needs_compiler
def test_a_trap_judged_on_the_whole_graph_is_the_same_first_trap() -> None:
    """``import_completes`` asked alone, under ``guarded`` with a lost event: both engines give a trap
    path of the same (shortest) length, and its detail names the trap."""
    scope = Scope(waves=2, losses=1, max_handlers=1)
    fast = check(scope, POLICIES["guarded"], properties=("import_completes",), shortest=True, engine="compiled")
    slow = check(scope, POLICIES["guarded"], properties=("import_completes",), shortest=True, engine="python")
    assert fast.holds("import_completes") is slow.holds("import_completes") is False
    assert len(fast.found["import_completes"].labels) == len(slow.found["import_completes"].labels)
    assert fast.found["import_completes"].detail.startswith("trap: ")


@needs_compiler
def test_budgets_stop_the_compiled_search_and_say_which() -> None:
    scope = Scope(waves=3, wave_size=3, max_handlers=3)
    by_states = check(scope, POLICIES["guarded"], properties=("threshold_respected",), max_states=5000,
                      engine="compiled")
    assert by_states.budget == "states" and not by_states.complete and by_states.holds("threshold_respected") is None
    assert 5000 <= by_states.states < 5000 + 100
    by_time = check(scope, POLICIES["guarded"], properties=("threshold_respected",), time_limit=0.0,
                    engine="compiled")
    assert by_time.budget == "time" and by_time.stop_reason == "time limit of 0 s reached"


@needs_compiler
def test_an_error_in_the_model_reaches_the_caller(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Python exception inside a callback stops the engine and is raised, not swallowed."""

    def broken(self: Spec, *args: object) -> object:
        raise RuntimeError("step failed")

    monkeypatch.setattr(Spec, "step", broken)
    with pytest.raises(RuntimeError, match="step failed"):
        check(Scope(), POLICIES["guarded"], engine="compiled")


@needs_compiler
def test_the_compiled_engine_runs_a_fifo_queue_only() -> None:
    assert engine_for(Scope()) == "compiled" and engine_for(Scope(fifo=False)) == "python"
    with pytest.raises(ValueError, match="FIFO queue only"):
        engine_for(Scope(fifo=False), "compiled")
    with pytest.raises(ValueError, match="engine must be one of"):
        engine_for(Scope(), "fast")


@needs_compiler
def test_a_failure_budget_runs_on_the_python_engine_with_the_same_verdicts_without_failures() -> None:
    """The compiled engine has no failure budget: ``auto`` runs ``--failures`` on Python, ``compiled``
    refuses it; with the budget at 0 both engines keep their common graph."""
    assert engine_for(Scope(failures=1)) == "python" and engine_for(Scope(failures=0)) == "compiled"
    with pytest.raises(ValueError, match="no failure budget"):
        engine_for(Scope(failures=1), "compiled")
    policy = POLICIES["seed-fix"]
    auto, python = check(Scope(waves=1, failures=1), policy), check(Scope(waves=1, failures=1), policy,
                                                                     engine="python")
    assert auto.engine == python.engine == "python" and _verdicts(auto) == _verdicts(python)
    plain_c, plain_py = (check(Scope(waves=1), policy, engine=e) for e in ("compiled", "python"))
    assert _verdicts(plain_c) == _verdicts(plain_py) != _verdicts(auto)  # the failure is what changes it


def test_without_a_compiler_the_python_engine_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """No compiler: ``auto`` falls back to Python, and asking for ``compiled`` says why."""
    monkeypatch.setenv("CC", "/nonexistent/cc")
    compiled._library.cache_clear()
    try:
        assert compiled.unavailable() == "no C compiler found (install cc, or set CC to one)"
        assert engine_for(Scope()) == "python"
        with pytest.raises(ValueError, match="no C compiler found"):
            engine_for(Scope(), "compiled")
        assert check(Scope(), POLICIES["guarded"]).engine == "python"
    finally:
        compiled._library.cache_clear()


#: a ``CC`` that writes part of its output, says it started, and compiles only once the test says go
HALTING_CC = """#!/bin/sh
out=""; prev=""
for arg in "$@"; do [ "$prev" = "-o" ] && out="$arg"; prev="$arg"; done
printf 'half a library' > "$out"
touch "{folder}/started.$$"
for _ in $(seq 600); do [ -e "{folder}/go" ] && exec {compiler} "$@"; sleep 0.1; done
exit 1
"""


@needs_compiler
def test_processes_building_the_engine_at_once_never_see_a_half_written_library(tmp_path: Path) -> None:
    """Two processes (as two test workers) build into one cache folder at the same time: while both compilers
    run, the library's name does not exist (each writes a file of its own and renames it), and both load it."""
    wrapper = tmp_path / "halting-cc"
    wrapper.write_text(HALTING_CC.format(folder=tmp_path, compiler=compiled._compiler()))
    wrapper.chmod(0o755)
    cache = tmp_path / "cache"
    env = {**os.environ, "WAVESIM_CACHE": str(cache), "CC": str(wrapper)}
    script = "from model import compiled; print(compiled.unavailable())"
    builders = [subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True) for _ in range(2)]
    try:
        deadline = time.monotonic() + 60
        while (len(list(tmp_path.glob("started.*"))) < 2 and not list(cache.glob("engine-*.so"))
               and time.monotonic() < deadline):
            time.sleep(0.05)
        assert list(cache.glob("engine-*.so")) == [], "a half-written library is under the name processes load"
        assert len(list(tmp_path.glob("started.*"))) == 2, "both processes build"
        parts = sorted(cache.iterdir())
        assert len(parts) == 2 and all(p.read_bytes() == b"half a library" for p in parts)
    finally:
        (tmp_path / "go").touch()
        done = [b.communicate(timeout=120) for b in builders]
    assert [(b.returncode, out) for b, (out, _) in zip(builders, done, strict=True)] == [(0, "None\n")] * 2, done
    (library,) = cache.iterdir()  # one library, no part left behind
    assert library.name.startswith("engine-") and library.suffix == ".so"
