"""The properties of ``coordinator.properties`` as the checker applies them.

Nothing is restated here: each safety check calls the function of the same
name in ``coordinator.properties`` on the state's table (and, for
``threshold_respected``, on the tables either side of a transition).

The two liveness properties mean different things (``model.liveness`` says
which fairness each needs):

* ``no_stall`` is judged on each state: the system is *quiescent* (no batch job
  queued or running, no event waiting for a listener, no auto-trigger
  scheduled, no handler run in flight) with a wave not completed. A periodic
  reconciler is not counted as pending work (``RECONCILER_IS_WORK``): a policy
  that goes quiet and waits for its next tick stalls for up to one period, and
  ``no_stall`` says so even where the tick repairs it.
* ``import_completes`` is judged on the graph: from every reachable state a
  state in which every wave is completed is still reachable over fault-free
  steps (a state from which it is not is a *trap*).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from coordinator import ACTIVE, LIVENESS, PROPERTY_NAMES, SAFETY, Status, WaveConfig
from coordinator import properties as props
from model.state import State, queued_batches

__all__ = [
    "LIVENESS", "PROPERTY_NAMES", "RECONCILER_IS_WORK", "SAFETY", "STATE_CHECKS", "TRANSITION_CHECKS", "is_done",
    "is_quiescent", "stall_detail", "trap_detail",
]

#: Whether a policy's periodic reconciler counts as pending work for ``no_stall``.
#: A stall is "no job queued or running, no timer pending, a wave not completed"
#: (docs/checker.md); we read "timer" as a one-shot scheduled job (the auto-trigger), so a
#: reconciler does not hide a stall: ``no_stall`` then asks whether the event-driven
#: progression alone ever goes quiet with work left, and ``import_completes``
#: whether the reconciler gets it going again. (The simulation stops a run with a
#: reconciler only after a whole tick changed nothing.)
RECONCILER_IS_WORK = False

StateCheck = Callable[[State, WaveConfig], "str | None"]
TransitionCheck = Callable[[State, State, WaveConfig], "str | None"]

#: Safety properties judged on each reachable state.
STATE_CHECKS: dict[str, StateCheck] = {
    "single_active_wave": lambda s, c: props.single_active_wave(s.table),
    "one_wave_below_threshold": lambda s, c: props.one_wave_below_threshold(s.table, c),
    "no_duplicate_claim": lambda s, c: props.no_duplicate_claim(s.table),
    "no_duplicate_push": lambda s, c: props.no_duplicate_push(s.table),
    "queue_bounded": lambda s, c: props.queue_bounded(queued_batches(s), c),
}

#: Safety properties judged on each transition (the tables before and after).
TRANSITION_CHECKS: dict[str, TransitionCheck] = {
    "threshold_respected": lambda a, b, c: props.threshold_respected(a.table, b.table, c),
}

assert set(STATE_CHECKS) | set(TRANSITION_CHECKS) == set(SAFETY)
assert set(PROPERTY_NAMES) == set(SAFETY) | set(LIVENESS)


def is_done(state: State) -> bool:
    """Every wave completed (``import_completes`` holds of the table)."""
    return props.import_completes(state.table) is None


def is_quiescent(state: State) -> bool:
    """Nothing queued, running, waiting, scheduled or in flight."""
    return not (state.events or state.delayed or state.runs or state.queue or state.running)


def _left(state: State) -> str:
    """Which waves are left: pending ones, and active ones stuck with nothing running for them."""
    rows = state.table.rows
    pending = [str(r.wave_number) for r in rows if r.status is Status.PENDING]
    stuck = [
        f"{r.wave_number} ({r.status.value}, {r.distinct_finished}/{r.batches} finished)"
        for r in rows if r.status in ACTIVE
    ]
    return f"pending: {', '.join(pending) or 'none'}; stuck: {', '.join(stuck) or 'none'}"


def stall_detail(state: State, *, reconciler: bool = False) -> str | None:
    """``no_stall``'s verdict on one state: None, or what is pending and what is stuck.

    ``reconciler``: the policy has a periodic reconciler (see ``RECONCILER_IS_WORK``).
    """
    if (reconciler and RECONCILER_IS_WORK) or not is_quiescent(state):
        return None
    base = props.no_stall(state.table, quiescent=True)
    return None if base is None else f"{base} ({_left(state)})"


def trap_detail(state: State, exits: Sequence[tuple[object, State]]) -> str:
    """Why ``import_completes`` fails at a trap: what is left, and the steps that lead nowhere."""
    left = f"{props.import_completes(state.table)} ({_left(state)})"
    if not exits:
        return f"trap: {left}, and no fault-free step is enabled"
    kinds = ", ".join(sorted({str(lab[0]) for lab, _ in exits}))  # type: ignore[index]
    return (
        f"trap: {left}, and none of the {len(exits)} step(s) still enabled ({kinds}) leads to a state where "
        "every wave completes"
    )
