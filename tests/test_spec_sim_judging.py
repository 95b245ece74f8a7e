"""A simulated spec's ``always`` properties are judged again only when something they read has changed
(``sim.specjudged.AlwaysJudged``): the same runs, to the byte, as judging every property after every step."""

from __future__ import annotations

from pathlib import Path

import pytest

import sim.specjudged
from sim.specrun import run_spec
from sim.specsettings import SpecSettings
from sim.specsim import SpecShell
from sim.specworld import SimWorld
from specfile.load import load_spec

ROOT = Path(__file__).resolve().parent.parent
#: specs whose always properties read tables, ghost counts, queues and runs, with faults that move them
RUNS = [
    ("examples/batch_counter.py", (("jobs", "12"), ("workers", "4")), ()),
    ("examples/celery_chord_counter.py", (), (("duplicate", 0.5),)),
    ("examples/laravel_batch_timeout.py", (), (("crash", 0.3),)),
    ("examples/solid_queue_semaphore.py", (), ()),
    ("coordinator/writeup.py", (), ()),
]
WRITEUP = RUNS[-1]


def run(path: str, scope: tuple[tuple[str, str], ...], faults: tuple[tuple[str, float], ...], seed: int) -> str:
    return run_spec(load_spec(ROOT / path), SpecSettings(seed=seed, scope=scope, fault_rates=faults)).to_json()


def judging_every_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """No part has a value to compare: every property is judged after every step, as before the skip."""
    monkeypatch.setattr(SimWorld, "part", lambda self, name: None)


def counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls = [0]
    judge = sim.specjudged.judge

    def counting(prop, view):  # type: ignore[no-untyped-def]
        calls[0] += 1
        return judge(prop, view)

    monkeypatch.setattr(sim.specjudged, "judge", counting)
    return calls


@pytest.mark.parametrize(("path", "scope", "faults"), RUNS, ids=[r[0] for r in RUNS])
def test_skipping_unchanged_judgements_changes_no_run(path: str, scope: tuple[tuple[str, str], ...],
                                                      faults: tuple[tuple[str, float], ...]) -> None:
    with pytest.MonkeyPatch.context() as patch:
        skipped_calls = counted(patch)
        skipping = [run(path, scope, faults, seed) for seed in range(3)]
    with pytest.MonkeyPatch.context() as patch:
        every_calls = counted(patch)
        judging_every_time(patch)
        every = [run(path, scope, faults, seed) for seed in range(3)]
    assert skipping == every
    assert skipped_calls[0] < every_calls[0]  # judgements were skipped


def test_a_skip_that_missed_a_change_would_show(monkeypatch: pytest.MonkeyPatch) -> None:
    """Breaking the mechanism (table changes unnoticed) changes the write-up's run: the comparison above can
    fail."""
    exact = [run(*WRITEUP, seed) for seed in range(3)]
    real = SimWorld.part
    monkeypatch.setattr(SimWorld, "part", lambda self, name: 0 if name == "tables" else real(self, name))
    assert [run(*WRITEUP, seed) for seed in range(3)] != exact


def test_a_property_that_reads_the_clock_is_judged_every_time() -> None:
    shell = SpecShell(load_spec(ROOT / RUNS[0][0]), SpecSettings(seed=0))
    shell.view.reads = set()
    assert shell.view.now == 0.0 and shell.view.times("callback") == []
    assert shell.view.reads == {"clock"} and shell.world.part("clock") is None  # nothing to compare: judged
