"""Run handler programs against a wave table: one to completion, or interleaved.

These are the building blocks of ``sim/`` and ``model/`` and the way tests
drive races by hand: ``run_interleaved`` advances the named handler by exactly
one DB operation per entry of ``order``.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass, field

from coordinator.effects import Effect
from coordinator.table import WaveTable, apply

__all__ = ["HandlerRun", "Interleaving", "Step", "run_interleaved", "run_sequential"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    """One DB operation as it ran: who yielded it and what it returned."""

    handler: str
    effect: Effect
    result: object


class HandlerRun:
    """A started handler program and the DB operation it waits to run next."""

    def __init__(self, name: str, program: Generator[Effect, object, object]) -> None:
        self.name = name
        self._program = program
        self.done = False
        self.result: object = None
        self.effect: Effect | None = None
        self._resume(None, first=True)

    def _resume(self, value: object, *, first: bool = False) -> None:
        try:
            self.effect = next(self._program) if first else self._program.send(value)
        except StopIteration as stop:
            self.done, self.effect, self.result = True, None, stop.value

    def step(self, table: WaveTable, now: float) -> tuple[WaveTable, Step]:
        """Run the waiting operation against ``table`` and resume the program."""
        if self.effect is None:
            raise ValueError(f"handler {self.name!r} has finished; it has no step left")
        effect = self.effect
        table, result = apply(table, effect, now)
        self._resume(result)
        return table, Step(handler=self.name, effect=effect, result=result)


@dataclass(frozen=True, slots=True, kw_only=True)
class Interleaving:
    """The table after an interleaving, every step taken, and finished results."""

    table: WaveTable
    steps: tuple[Step, ...]
    results: Mapping[str, object] = field(default_factory=dict)
    unfinished: tuple[str, ...] = ()


def run_sequential(
    table: WaveTable, program: Generator[Effect, object, object], *, now: float = 0.0, name: str = "h"
) -> Interleaving:
    """Run one handler program to completion."""
    run = HandlerRun(name, program)
    steps: list[Step] = []
    while not run.done:
        table, step = run.step(table, now)
        steps.append(step)
    return Interleaving(table=table, steps=tuple(steps), results={name: run.result})


def run_interleaved(
    table: WaveTable,
    programs: Mapping[str, Generator[Effect, object, object]],
    order: Sequence[str],
    *,
    now: float = 0.0,
) -> Interleaving:
    """Advance the named handlers one DB operation each, in ``order``."""
    runs = {name: HandlerRun(name, program) for name, program in programs.items()}
    steps: list[Step] = []
    for name in order:
        if name not in runs:
            raise ValueError(f"unknown handler {name!r} in order; known: {', '.join(runs)}")
        table, step = runs[name].step(table, now)
        steps.append(step)
    return Interleaving(
        table=table,
        steps=tuple(steps),
        results={n: r.result for n, r in runs.items() if r.done},
        unfinished=tuple(n for n, r in runs.items() if not r.done),
    )
