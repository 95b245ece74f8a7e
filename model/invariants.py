"""The properties of DESIGN.md section 5 as the checker applies them.

Nothing is restated here: each safety check calls the function of the same
name in ``coordinator.properties`` on the state's table (and, for
``threshold_respected``, on the tables either side of a transition). The two
liveness properties are judged on the explored graph by ``model.liveness``.
"""

from __future__ import annotations

from collections.abc import Callable

from coordinator import LIVENESS, PROPERTY_NAMES, SAFETY, WaveConfig
from coordinator import properties as props
from model.state import State, queued_batches

__all__ = ["LIVENESS", "PROPERTY_NAMES", "SAFETY", "STATE_CHECKS", "TRANSITION_CHECKS", "is_done", "is_quiescent"]

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
