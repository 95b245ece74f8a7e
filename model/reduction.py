"""Partial-order reduction: each action's footprint, and when one action may stand for all.

Every action declares the shared variables it reads and writes (``FOOTPRINTS``
for the fixed actions, ``EFFECT_FOOTPRINTS`` for the DB operation of a handler
step); a new action only needs its footprint declared here. From them:

* **Independence.** Two actions of different actors are *dependent* when one
  writes what the other reads or writes, except for updates that commute:
  increments and decrements of a counter (``inc``/``dec``), and a push at the
  back of a FIFO (the queue, or waiting events that carry their wave) against
  a pop at its front (the pop is enabled, so the FIFO is not empty). Two
  decrements of one counter are dependent (at 1 each disables the other), and
  so is a decrement against an action that needs the counter above zero
  (``needs``).
* **Visibility.** A property reads some variables (``PROPERTY_READS``); an
  action that writes none of them never changes its verdict. ``work`` stands
  for "the system is quiescent": an action that may create or remove the last
  piece of work writes it.
* **The ample set** of a state is a single enabled action when that action is
  invisible to every property still to decide, is independent of every action
  any *other* actor can take (now or later, from any state), and its own actor
  has no other enabled action; otherwise it is every enabled action. Such an
  action commutes with whatever the others do, so taking it first loses no
  state that matters (Clarke, Grumberg and Peled, *Model Checking*, ch. 10:
  conditions C0-C2). Because the ample set is one action, the reduction also
  keeps branching-time properties (Gerth, Kuiper, Peled and Penczek 1995,
  condition C4), which ``import_completes`` (from every state completion is
  reachable) is.
* **The cycle proviso (C3).** Every action that may be ample here moves work
  one way (a job from the queue to a worker, a due trigger to an event, an
  event to a new handler run, a run past its ``ScheduleTrigger``) and none
  undoes another, so no cycle of the state graph consists only of reduced
  states: every cycle has a fully expanded state, and no action is ignored
  forever. ``test_model_reduction`` checks a new footprint against this by
  comparing verdicts with the unreduced graph.

The reduction may lengthen a counterexample (the first path found in BFS
order is shortest in the reduced graph, not in the full one); ``shortest``
turns it off.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from coordinator import (
    ClaimNextWave,
    CompleteFinishedWaves,
    EnqueueBatches,
    MarkPushed,
    ReadActiveWave,
    ReadClaimedWave,
    ReadCurrentWave,
    ReadLowestPending,
    ReadNextMainWave,
    ReadWave,
    RecordBatchFinished,
    ScheduleTrigger,
    SetStatus,
)
from model.actions import Label
from model.state import State

__all__ = [
    "EFFECT_FOOTPRINTS", "FOOTPRINTS", "ONE_WAY", "PROPERTY_READS", "Footprint", "actor", "ample", "conflict",
    "safe_kinds",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Footprint:
    """What one action reads and writes of the shared state.

    Variables: ``status``, ``counters`` (finished counters and mask), ``dispatch``
    (dispatch counts) of the wave rows; ``told`` (the rows' ghost ``owners_told``:
    which runs were told they own a wave); ``queue``; ``workers`` (free worker
    slots); ``events``; ``delayed``; ``slots`` (free listener slots);
    ``reconciler_slot`` (the reconciler's own slot being free); the fault
    budgets ``crashes``, ``duplicates``, ``losses``, ``failures``; ``run`` (a handler run being
    alive, which ``handler_crash`` ends); ``claims`` (which live run holds which
    wave, see ``Scope.relay_lease``); and ``work`` (see above).
    """

    reads: frozenset[str] = frozenset()
    writes: frozenset[str] = frozenset()
    #: counters it increments (never disables anything)
    inc: frozenset[str] = frozenset()
    #: counters it decrements (needs them above zero)
    dec: frozenset[str] = frozenset()
    #: counters it needs above zero without decrementing them
    needs: frozenset[str] = frozenset()
    #: FIFOs it pushes at the back of
    pushes: frozenset[str] = frozenset()
    #: FIFOs it pops the front of (needs them non-empty)
    pops: frozenset[str] = frozenset()

    def touches(self) -> frozenset[str]:
        return self.reads | self.writes | self.inc | self.dec | self.needs | self.pushes | self.pops


def _fp(reads: str = "", writes: str = "", inc: str = "", dec: str = "", needs: str = "", push: str = "",
        pop: str = "") -> Footprint:
    return Footprint(reads=frozenset(reads.split()), writes=frozenset(writes.split()), inc=frozenset(inc.split()),
                     dec=frozenset(dec.split()), needs=frozenset(needs.split()), pushes=frozenset(push.split()),
                     pops=frozenset(pop.split()))


#: What ending a handler run frees: its slot, a listener's or the reconciler's (declared both: a superset is sound).
_FREES = "slots reconciler_slot"

#: The fixed actions' footprints, by action name (``model.actions``).
FOOTPRINTS: dict[str, Footprint] = {
    "worker_take": _fp(dec="workers", pop="queue"),
    "batch_finish": _fp(reads="status", writes="counters work", inc="workers events"),
    "worker_crash": _fp(reads="status", writes="counters work", inc="workers", dec="crashes", push="queue"),
    # the failure budget left is read off the failed counters (``failures_left``): ``failures`` names it;
    # it adds an event only under ``failed_batch_fires`` (declared always: a superset is sound)
    "batch_fail": _fp(reads="status", writes="counters work", inc="workers events", dec="failures"),
    "listener_start": _fp(dec="events slots"),
    "trigger_fire": _fp(dec="delayed", inc="events"),
    # its own slot, not a listener's; a tick may start the only work there is
    "reconciler_tick": _fp(writes="work", dec="reconciler_slot"),
    "event_duplicate": _fp(inc="events", dec="duplicates", needs="events"),
    "event_lose": _fp(writes="work", dec="events losses"),
    # kills one handler run: it disables that run's next step, whatever the step is
    "handler_crash": _fp(writes="work run claims", inc=_FREES, dec="crashes"),
}

#: A handler step's footprint by its DB operation; every handler step may also end
#: its run (writes ``work``, frees its slot: ``_FREES``) except where said otherwise below.
_ENDS = "work"
#: every handler step needs its run alive, so it reads ``run`` (which ``handler_crash`` writes)
_RUN = "run "
EFFECT_FOOTPRINTS: dict[type, Footprint] = {
    ReadCurrentWave: _fp(reads=_RUN + "status", writes=_ENDS, inc=_FREES),
    ReadWave: _fp(reads=_RUN + "status counters", writes=_ENDS, inc=_FREES),
    ReadLowestPending: _fp(reads=_RUN + "status", writes=_ENDS, inc=_FREES),
    ReadNextMainWave: _fp(reads=_RUN + "status", writes=_ENDS, inc=_FREES),
    ReadActiveWave: _fp(reads=_RUN + "status", writes=_ENDS, inc=_FREES),
    # a write of 'dispatching' that changed the row tells its run it owns the wave (``told``)
    SetStatus: _fp(reads="run", writes="status told " + _ENDS, inc=_FREES),
    # ``claims``: which live run holds which wave (read by the relay under Scope.relay_lease =
    # "outlasts-claimer"); a claim or a relay read takes one, the mark ends the run and frees it
    ClaimNextWave: _fp(reads=_RUN + "status counters dispatch", writes="status told claims " + _ENDS, inc=_FREES),
    CompleteFinishedWaves: _fp(reads=_RUN + "status counters", writes="status " + _ENDS, inc=_FREES),
    RecordBatchFinished: _fp(reads=_RUN + "status", writes="counters " + _ENDS, inc=_FREES),
    EnqueueBatches: _fp(reads=_RUN + "status dispatch", writes="status dispatch " + _ENDS, inc=_FREES, push="queue"),
    ReadClaimedWave: _fp(reads=_RUN + "status dispatch claims", writes="claims " + _ENDS, inc=_FREES),
    MarkPushed: _fp(reads=_RUN + "status counters", writes="status claims " + _ENDS, inc=_FREES),
    # the run's next state holds a scheduled trigger even when the run ends, so it never writes ``work``
    ScheduleTrigger: _fp(reads="run", inc="delayed " + _FREES),
}

#: What each property reads (its verdict can change only through these).
PROPERTY_READS: dict[str, frozenset[str]] = {
    "single_active_wave": frozenset({"status"}),
    "one_wave_below_threshold": frozenset({"status", "counters"}),
    "threshold_respected": frozenset({"status", "counters"}),
    # only what claimers were told: the ghost ``owners_told``
    "no_duplicate_claim": frozenset({"told"}),
    "no_duplicate_push": frozenset({"dispatch"}),
    "queue_bounded": frozenset({"queue"}),
    "no_stall": frozenset({"status", "work"}),
    "import_completes": frozenset({"status", "work"}),
}


def conflict(a: Footprint, b: Footprint) -> bool:
    """True when actions of two different actors with these footprints may not commute."""
    if a.writes & b.touches() or b.writes & a.touches():
        return True
    if a.dec & (b.dec | b.needs) or b.dec & a.needs:
        return True
    # a pop at the front commutes with a push at the back (the pop is enabled, so the
    # FIFO is not empty); two pushes, or two pops, do not
    return bool(a.pushes & b.pushes or a.pops & b.pops)


def _writes(fp: Footprint) -> frozenset[str]:
    return fp.writes | fp.inc | fp.dec | fp.pushes | fp.pops


def actor(label: tuple[str | int, ...]) -> tuple[str | int, ...]:
    """Who takes an action: the queue's taker, one worker (by its job), one handler run,
    the listener, the timer, the reconciler, or the fault injector."""
    kind = label[0]
    if kind == "worker_take":
        return ("taker",)
    if kind in ("batch_finish", "worker_crash", "batch_fail"):
        return ("worker", label[1], label[2])
    if kind == "handler_step":
        return label
    if kind in ("event_duplicate", "event_lose"):
        return ("faults",)
    return (kind,)


#: Actions taken by one actor only: they are never compared with themselves.
_SINGLE_ACTOR = frozenset({"worker_take", "listener_start", "trigger_fire", "reconciler_tick", "event_duplicate",
                           "event_lose"})

#: The kinds that may be ample at all: each moves work one way (queue to worker,
#: due trigger to event, event to a new run, a run past ``ScheduleTrigger``), and no
#: sequence of them returns to a state, which is the cycle proviso's argument. A
#: new kind joins only with such an argument.
ONE_WAY = frozenset({"worker_take", "trigger_fire", "listener_start", "handler_step:ScheduleTrigger"})


def _ordered_events(fp: Footprint) -> Footprint:
    """``fp`` where waiting events carry their wave: they form a FIFO, no longer a count.

    Adding one pushes at the back and taking one pops the front (the two commute);
    a duplicate, put next to the front it copies, reads and writes the whole FIFO.
    """
    ev = frozenset({"events"})
    if not (fp.inc | fp.dec | fp.needs) & ev:
        return fp
    if fp.needs & ev:
        return replace(fp, reads=fp.reads | ev, writes=fp.writes | ev, inc=fp.inc - ev, dec=fp.dec - ev,
                       needs=fp.needs - ev)
    return replace(fp, inc=fp.inc - ev, dec=fp.dec - ev, pushes=fp.pushes | (fp.inc & ev),
                   pops=fp.pops | (fp.dec & ev))


def safe_kinds(reconciler: bool, fifo: bool, budgets: tuple[int, int, int], wanted: frozenset[str],
               tagged: bool = False, failures: int = 0) -> frozenset[str]:
    """The action kinds that may form an ample set alone, given what can happen.

    ``budgets`` are the fault budgets left (crashes, duplicates, losses): a spent
    budget's action can no longer occur. ``wanted`` are the properties still to
    decide. ``tagged``: events carry their batch's wave (``Spec.tagged``), so the
    order of the events waiting matters. ``failures``: the scope's failure budget
    (``batch_fail`` is possible while any is given; left or spent is not told apart,
    which only keeps fewer kinds safe). A kind is a fixed action's name, or
    ``handler_step:<operation>``.
    """
    crashes, duplicates, losses = budgets
    fixed = {k: _ordered_events(f) for k, f in FOOTPRINTS.items()} if tagged else FOOTPRINTS
    possible: list[tuple[str, Footprint]] = [
        (k, f) for k, f in fixed.items()
        if not (k == "reconciler_tick" and not reconciler) and not (k == "worker_crash" and not crashes)
        and not (k == "handler_crash" and not crashes) and not (k == "event_duplicate" and not duplicates)
        and not (k == "event_lose" and not losses) and not (k == "batch_fail" and not failures)
    ]
    possible += [(f"handler_step:{t.__name__}", f) for t, f in EFFECT_FOOTPRINTS.items()]
    visible = frozenset().union(*(PROPERTY_READS[n] for n in wanted)) if wanted else frozenset()
    out = set()
    for kind, fp in possible:
        if kind not in ONE_WAY or (kind == "worker_take" and not fifo):
            continue  # on an any-order queue several takes compete for one worker
        if _writes(fp) & visible:
            continue
        others = [f for k, f in possible if not (k == kind and k in _SINGLE_ACTOR)]
        if not any(conflict(fp, other) for other in others):
            out.add(kind)
    return frozenset(out)


def ample(
    options: list[tuple[Label, State]], safe: frozenset[str], effect_name: Callable[[int], str],
) -> list[tuple[Label, State]]:
    """One safe enabled action whose actor has no other enabled action, else all of ``options``.

    ``effect_name(i)`` names the DB operation handler run ``i`` waits on.
    """
    if len(options) < 2 or not safe:
        return options
    for label, nxt in options:
        kind = f"handler_step:{effect_name(int(label[1]))}" if label[0] == "handler_step" else str(label[0])
        if kind in safe:
            who = actor(label)
            if sum(1 for other, _ in options if actor(other) == who) == 1:
                return [(label, nxt)]
    return options
