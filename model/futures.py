"""Handler runs merged by what they will still do (the ``futures`` reduction).

A run is stored as the results it has received, but most of them are dead
once read: after its dispatch decision a run of ``check_and_trigger_next_wave``
needs only the wave it dispatches and whether its batch's wave is still to be
checked, not the current wave or the row it read on the way. Two runs with the
same *future* (whatever results the database returns from here on, they yield
the same operations in the same order and end together) are indistinguishable
to every property and every other actor, so a state may keep either: each run
is replaced by one representative of its future. A reconciler's run and a
listener's run never share a future: they hold different slots (the tag
``RECONCILER`` is part of the future), so a merge never moves a run between them.

The future of a run is the tree of its next operation and, for every result
that operation can return, the future of the run grown by it: the core's own
program is asked, never read. The results an operation can return (``domain``)
are enumerated from the scope; a step whose real result is outside them
raises, so a missing value can never merge two runs silently. Under
``Scope.relay_lease = "outlasts-claimer"`` the wave a run holds (``holds_claim``)
is part of its future too, since other runs' relays read it.

It is exact for every verdict and for the lengths of shortest paths (a
bisimulation of runs), and it reads the coarse results of the ``abstraction``
reduction, so it is used only with it.

Every run a search meets grows from a run just started (``(wave,)``, or the
reconciler's ``(RECONCILER,)``), by
results in the enumeration, so the trees of the started runs hold all of them:
they are built once, and each future's representative is its least run (by
``model.state.run_key``), whatever order a search meets them in. The trees
depend on the policy, the wave size, the threshold, the number of waves and
the relay lease only, so ``futures_for`` keeps one per such combination for the
process, and each further check of it pays nothing.
"""

from __future__ import annotations

from itertools import combinations
from typing import Protocol

from coordinator import (
    ClaimNextWave,
    CompleteFinishedWaves,
    Decision,
    Effect,
    EnqueueBatches,
    MarkPushed,
    Policy,
    ReadActiveWave,
    ReadClaimedWave,
    ReadCurrentWave,
    ReadLowestPending,
    ReadNextMainWave,
    ReadWave,
    RecordBatchFinished,
    ScheduleTrigger,
    SetStatus,
    Status,
    WaveConfig,
)
from model.scope import Scope
from model.state import RECONCILER, Run, is_reconciler_run, run_key

__all__ = ["Futures", "futures_for"]


class Spec(Protocol):
    """What the futures read of ``model.actions.Spec`` (which imports this module)."""

    scope: Scope
    policy: Policy
    config: WaveConfig
    lease_held: bool

    def next_effect(self, run: Run) -> Effect | Decision: ...

    def holds_claim(self, run: Run) -> int | None: ...

    def coarse_result(self, code: tuple[object, ...]) -> tuple[object, ...]: ...


_WAVE_OR_NONE = (ReadLowestPending, ReadNextMainWave, ReadActiveWave, ReadClaimedWave, ClaimNextWave)
_COUNTS = (SetStatus, EnqueueBatches)
_NOTHING = (RecordBatchFinished, ScheduleTrigger)


class Futures:
    """Each run's future as a small id, and one representative run per future."""

    __slots__ = ("_domains", "_ids", "_keys", "_reps", "spec")

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self._keys: dict[Run, int] = {}
        self._ids: dict[tuple[object, ...], int] = {}
        self._reps: dict[int, Run] = {}
        self._domains: dict[Effect, tuple[object, ...]] = {}
        started: list[Run] = [(wave,) for wave in range(spec.scope.waves + 1)]
        for run in (*started, (RECONCILER,)):  # every run a search can meet grows from one of these
            self.key(run)
        for run, key in self._keys.items():
            best = self._reps.get(key)
            if best is None or run_key(run) < run_key(best):
                self._reps[key] = run

    def domain(self, effect: Effect) -> tuple[object, ...]:
        """Every result ``effect`` can give a run, as the run stores it (coarse rows)."""
        found = self._domains.get(effect)
        if found is not None:
            return found
        waves = self.spec.scope.waves
        if isinstance(effect, ReadCurrentWave):
            found = tuple(range(waves + 1))
        elif isinstance(effect, ReadWave):
            found = self._rows(effect.wave)
        elif isinstance(effect, _WAVE_OR_NONE):
            found = (None, *range(1, waves + 1))
        elif isinstance(effect, _COUNTS):
            found = (0, 1)
        elif isinstance(effect, MarkPushed):
            found = (0, 1, 2)  # the rows its two UPDATEs changed
        elif isinstance(effect, CompleteFinishedWaves):
            found = tuple(c for k in range(waves + 1) for c in combinations(range(1, waves + 1), k))
        elif isinstance(effect, _NOTHING):
            found = (None,)
        else:  # pragma: no cover - a new operation needs its results listed here
            raise TypeError(f"the futures reduction does not know the results of {type(effect).__name__}")
        self._domains[effect] = found
        return found

    def _rows(self, wave: int) -> tuple[object, ...]:
        """Every coarse row of ``wave``: each status with each finished count, through the abstraction."""
        size = self.spec.scope.wave_size
        return tuple(dict.fromkeys(self.spec.coarse_result(("row", wave, s, size, n, 0, n))
                                   for s in Status for n in range(size + 1)))

    def key(self, run: Run) -> int:
        """The id of ``run``'s future (equal ids: the same future)."""
        found = self._keys.get(run)
        if found is not None:
            return found
        try:
            effect = self.spec.next_effect(run)
        except Exception as exc:  # noqa: BLE001 - a result no real run receives; any fixed shape will do
            shape: tuple[object, ...] = ("raises", type(exc).__name__)
        else:
            if isinstance(effect, Decision):
                shape = ("ends",)
            else:
                shape = (effect, tuple(self.key(run + (x,)) for x in self.domain(effect)))
        if self.spec.lease_held:
            shape += (self.spec.holds_claim(run),)
        if is_reconciler_run(run):
            shape += (RECONCILER,)  # its slot is not a listener's
        found = self._ids.setdefault(shape, len(self._ids))
        self._keys[run] = found
        return found

    def representative(self, run: Run) -> Run:
        """The least run (by ``run_key``) with ``run``'s future."""
        return self._reps.setdefault(self.key(run), run)

    def check(self, effect: Effect, result: object) -> None:
        """Refuse a result the enumeration does not list (it would make merges unsound)."""
        if result not in self.domain(effect):
            raise AssertionError(f"the futures reduction lists no result {result!r} for {effect!r}: "
                                 "add it to model.futures.Futures.domain")


_MADE: dict[tuple[object, ...], Futures] = {}


def futures_for(spec: Spec) -> Futures:
    """The futures of ``spec``'s runs, shared by every spec with the same policy, sizes and lease."""
    scope = spec.scope
    key = (spec.policy, scope.waves, scope.wave_size, scope.threshold, spec.lease_held)
    found = _MADE.get(key)
    if found is None:
        found = _MADE[key] = Futures(spec)
    return found
