"""Property-based: random runs of workers and handlers against the safety properties.

An action is one of: finish a batch of an active wave whose batches were pushed
(any batch index, so a batch may be reported twice, as a retry does); start a
handler run; advance one in-flight handler by one DB operation; run a handler to
completion. After every action the safety properties of
``coordinator.properties`` are checked, and any lifecycle violation counts too.
``atomic`` never breaks them; under ``original`` Hypothesis finds a run that does.
"""

from __future__ import annotations

from collections.abc import Callable

from coordinator_builders import CONFIG, JOB, SIZE, ctx, record
from hypothesis import HealthCheck, Phase, find, given, note, settings
from hypothesis import strategies as st

from coordinator import ACTIVE, HandlerRun, Status, WaveTable, apply, check_and_trigger_next_wave, new_import
from coordinator.properties import (
    import_completes,
    no_duplicate_claim,
    one_wave_below_threshold,
    threshold_respected,
)

WAVES = 3
MAX_IN_FLIGHT = 3

ACTIONS = st.lists(
    st.one_of(
        st.tuples(st.just("finish"), st.integers(0, WAVES - 1), st.integers(0, SIZE - 1)),
        st.tuples(st.just("start")),
        st.tuples(st.just("step"), st.integers(0, MAX_IN_FLIGHT - 1)),
        st.tuples(st.just("run")),
    ),
    max_size=40,
)


def broken_safety(before: WaveTable, after: WaveTable) -> str | None:
    """The first safety property the write from ``before`` to ``after`` broke, by name."""
    checks = {
        "one_wave_below_threshold": one_wave_below_threshold(after, CONFIG),
        "threshold_respected": threshold_respected(before, after, CONFIG),
        "no_duplicate_claim": no_duplicate_claim(after),
        "lifecycle": repr(after.violations[0]) if after.violations else None,
    }
    return next((f"{name}: {detail}" for name, detail in checks.items() if detail is not None), None)


class Run:
    """A fresh import of three waves, played one action at a time."""

    def __init__(self, policy: str, log: Callable[[str], None] = note) -> None:
        self.log = log
        self.ctx = ctx(policy)
        self.table = new_import(job_id=JOB, waves=WAVES, wave_size=SIZE)
        self.in_flight: list[HandlerRun] = []
        self.started = 0

    def handler(self) -> HandlerRun:
        self.started += 1
        return HandlerRun(f"h{self.started}", check_and_trigger_next_wave(self.ctx))

    def step(self, run: HandlerRun) -> None:
        self.table, taken = run.step(self.table, 0.0)
        self.log(f"{taken.handler}: {taken.effect!r} -> {taken.result!r}")
        if run.done:
            self.in_flight.remove(run)

    def play(self, action: tuple[object, ...]) -> None:
        kind = action[0]
        if kind == "finish":
            pushed = [r for r in self.table.rows if r.status in ACTIVE and r.dispatch_count > 0]
            if pushed:
                row = pushed[int(action[1]) % len(pushed)]  # type: ignore[call-overload]
                self.log(f"worker: wave {row.wave_number} batch {action[2]} finished")
                self.table, _ = apply(self.table, record(row.wave_number, int(action[2])), 0.0)  # type: ignore[call-overload]
        elif kind == "start" and len(self.in_flight) < MAX_IN_FLIGHT:
            self.in_flight.append(self.handler())
        elif kind == "step" and self.in_flight:
            self.step(self.in_flight[int(action[1]) % len(self.in_flight)])  # type: ignore[call-overload]
        elif kind == "run":
            run = self.handler()
            self.in_flight.append(run)
            while not run.done:
                self.step(run)


def quiet(_: str) -> None:
    """A log that keeps nothing (outside a Hypothesis test ``note`` is refused)."""


def first_violation(policy: str, actions: list[tuple[object, ...]], log: Callable[[str], None] = note) -> str | None:
    """Play ``actions`` on a fresh import; the first broken safety property, or None."""
    run = Run(policy, log)
    for action in actions:
        before = run.table
        run.play(action)
        broken = broken_safety(before, run.table)
        if broken is not None:
            return f"after {action}: {broken}"
    return None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ACTIONS)
def test_atomic_never_breaks_safety(actions):
    assert first_violation("atomic", actions) is None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ACTIONS)
def test_atomic_always_completes_once_every_pushed_batch_finishes_and_the_reconciler_ticks(actions):
    """Liveness under ``atomic`` from wherever a random run left off: finish the
    in-flight handlers, then repeatedly finish every pushed batch (each followed
    by its handler run) and let one reconciler tick run ``advance()``."""
    run = Run("atomic")
    for action in actions:
        run.play(action)
    for waiting in list(run.in_flight):
        while not waiting.done:
            run.step(waiting)
    for _ in range(2 * WAVES):
        for row in run.table.rows:
            if row.status in ACTIVE and row.dispatch_count > 0:
                for batch in range(row.batches):
                    if not row.finished_mask >> batch & 1:
                        run.table, _ = apply(run.table, record(row.wave_number, batch), 0.0)
                        run.play(("run",))
        run.play(("run",))
    assert import_completes(run.table) is None
    assert {r.status for r in run.table.rows} == {Status.COMPLETED}


def test_hypothesis_finds_a_safety_violation_under_original():
    """The shortest run Hypothesis finds: one batch reported three times (a
    retried job) bumps the counter to the threshold, and the next handler run
    dispatches wave 2 while wave 1 has one distinct batch finished. The
    write-up's guards read the same counter, so ``guarded`` breaks too;
    ``atomic`` counts distinct batches."""
    found = find(
        ACTIONS,
        lambda actions: first_violation("original", actions, quiet) is not None,
        settings=settings(
            max_examples=2000, derandomize=True, database=None, deadline=None, phases=[Phase.generate, Phase.shrink]
        ),
    )
    assert found == [("run",), ("finish", 0, 0), ("finish", 0, 0), ("finish", 0, 0), ("run",)]
    broken = "after ('run',): one_wave_below_threshold: 2 active waves below 75%: 1, 2"
    assert first_violation("original", found, quiet) == broken
    assert first_violation("guarded", found, quiet) == broken
    assert first_violation("atomic", found, quiet) is None
