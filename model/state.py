"""The state of the coordinated system, frozen and hashable (the spec's VARIABLES).

The wave table is kept as one small tuple per row (status and counters) and
turned into the core's ``WaveTable`` on demand (memoised), so hashing a state
never runs Python code: ``State`` is a ``NamedTuple`` rather than a dataclass
for exactly that reason, since the checker hashes millions of them. Lifecycle
violations recorded by the table and the rows' timestamps are dropped: no
property reads them, and times would make every step a new state (the model
runs on a logical clock).

``canonical(state)`` is the reduction the checker keys states by: in-flight
handler runs and running jobs are sorted multisets (runs and workers are
interchangeable; a reconciler's run keeps its tag, ``RECONCILER``, so it stays
apart from the listeners' runs), and on an any-order queue batches of a wave are relabelled
too (handlers and properties only count finished batches).
"""

from __future__ import annotations

from typing import NamedTuple

from coordinator import (
    Context,
    Policy,
    Status,
    WaveRow,
    WaveTable,
    dispatch_wave,
    new_import,
    run_sequential,
)
from model.scope import Scope

__all__ = [
    "JOB_ID", "RECONCILER", "Events", "Row", "Run", "State", "canonical", "decode_row", "encode_row", "init",
    "is_reconciler_run", "listener_runs", "queued_batches", "rows_of", "run_key", "running_batches", "table_of", "Jobs",
]

JOB_ID = 1

#: One wave_coordination row:
#: (status, completed_batches, failed_batches, finished_mask, dispatch_count, batches, owners_told);
#: the last is ghost state: how many handler runs were told they own the wave (``WaveRow.owners_told``).
Row = tuple[Status, int, int, int, int, int, int]

#: An in-flight handler run: what started it, then the results it has received so far (rows
#: encoded, see ``encode_row``). What started it is the wave of the batch whose completion event
#: started it (0 for none, or where the policy does not read it), or ``RECONCILER``.
Run = tuple[object, ...]

#: What starts a run the periodic reconciler started. The reconciler is a scheduler process off the
#: listeners' queue (as in the simulation and live runs), so its run has a slot of its own beside the
#: ``max_handlers`` listener runs, and the tag keeps the two kinds apart through every reduction.
RECONCILER = "reconciler"

#: Waiting events, front first, each the wave its handler run will be started with (see ``Run``).
Events = tuple[int, ...]

#: Batch jobs as (wave, batch) pairs.
Jobs = tuple[tuple[int, int], ...]


class State(NamedTuple):
    """One state of the system."""

    #: the wave_coordination rows, wave 1 first (see ``Row``)
    rows: tuple[Row, ...]
    #: the batch jobs ready on the ``import`` queue, front first, as (wave, batch)
    queue: Jobs
    #: the batch jobs held by workers, as a sorted multiset of (wave, batch)
    running: Jobs
    #: completion events and fired auto-triggers waiting for a listener, front first, each as
    #: the wave of its batch (0 for an auto-trigger, or where the policy does not read it)
    events: Events
    #: auto-trigger jobs scheduled but not yet due
    delayed: int
    #: in-flight handler runs, each the tuple of results it has received
    runs: tuple[Run, ...]
    #: remaining budget of worker crashes (after the record, before the ack)
    crashes: int
    #: remaining budget of duplicated events
    duplicates: int
    #: remaining budget of lost events
    losses: int

    @property
    def table(self) -> WaveTable:
        """The rows as the core's ``WaveTable``."""
        return table_of(self.rows, self.wave_size)

    @property
    def wave_size(self) -> int:
        return self.rows[0][5]


_TABLES: dict[tuple[tuple[Row, ...], int], WaveTable] = {}


def table_of(rows: tuple[Row, ...], wave_size: int) -> WaveTable:
    """The ``WaveTable`` holding ``rows`` (memoised: equal rows give the same object)."""
    key = (rows, wave_size)
    table = _TABLES.get(key)
    if table is None:
        table = _TABLES[key] = WaveTable(job_id=JOB_ID, rows=tuple(
            WaveRow(
                job_id=JOB_ID, wave_number=n, status=s, batches=wave_size, completed_batches=c,
                failed_batches=f, finished_mask=m, dispatch_count=d, owners_told=k,
            )
            for n, (s, c, f, m, d, _, k) in enumerate(rows, start=1)
        ))
    return table


def rows_of(table: WaveTable) -> tuple[Row, ...]:
    """The rows of a core ``WaveTable`` (timestamps and violations dropped)."""
    return tuple(
        (r.status, r.completed_batches, r.failed_batches, r.finished_mask, r.dispatch_count, r.batches, r.owners_told)
        for r in table.rows
    )


def encode_row(row: WaveRow) -> tuple[object, ...]:
    """A row as a handler result, reduced to what handlers read: status, counters, finished count."""
    return ("row", row.wave_number, row.status, row.batches, row.completed_batches, row.failed_batches,
            row.finished_mask.bit_count())


def decode_row(code: tuple[object, ...]) -> WaveRow:
    """The ``WaveRow`` a handler is sent for an encoded result row."""
    _, wave, status, batches, completed, failed, finished = code
    assert isinstance(wave, int) and isinstance(status, Status) and isinstance(batches, int)
    assert isinstance(completed, int) and isinstance(failed, int) and isinstance(finished, int)
    return WaveRow(
        job_id=JOB_ID, wave_number=wave, status=status, batches=batches, completed_batches=completed,
        failed_batches=failed, finished_mask=(1 << finished) - 1,
    )


def init(scope: Scope, policy: Policy) -> State:
    """The import has created every wave and dispatched wave 1 (the write-up's line 1617).

    Wave 1 goes out through the core's own ``dispatch_wave``, so every policy
    starts from the same table: wave 1 processing with its batches queued.
    """
    table = new_import(job_id=JOB_ID, waves=scope.waves, wave_size=scope.wave_size)
    ctx = Context(job_id=JOB_ID, policy=policy, config=scope.config)
    table = run_sequential(table, dispatch_wave(ctx, 1)).table
    return canonical(relabel=not scope.fifo, state=State(
        rows=rows_of(table), queue=tuple((1, b) for b in range(scope.wave_size)), running=(), events=(), delayed=0,
        runs=(),
        crashes=scope.crashes, duplicates=scope.duplicates, losses=scope.losses,
    ))


def is_reconciler_run(run: Run) -> bool:
    """True for a run the reconciler started (it holds the reconciler's slot, not a listener's)."""
    return run[0] == RECONCILER


def listener_runs(runs: tuple[Run, ...]) -> int:
    """How many of ``runs`` hold a listener slot (of ``Scope.max_handlers``)."""
    return sum(1 for run in runs if run[0] != RECONCILER)


def queued_batches(state: State) -> int:
    """Batch jobs waiting on the queue."""
    return len(state.queue)


def running_batches(state: State) -> int:
    """Batch jobs held by a worker."""
    return len(state.running)


_RUN_KEYS: dict[Run, str] = {}
_JOBS_CANON: dict[tuple[tuple[Row, ...], Jobs, Jobs], tuple[tuple[Row, ...], Jobs, Jobs]] = {}


def run_key(run: Run) -> str:
    """What runs are sorted by in a canonical state (their repr: runs hold values of mixed types)."""
    key = _RUN_KEYS.get(run)
    if key is None:
        key = _RUN_KEYS[run] = repr(run)
    return key


def _relabel(rows: tuple[Row, ...], queue: Jobs, running: Jobs) -> tuple[tuple[Row, ...], Jobs, Jobs]:
    """Renumber the batches of each wave by what happened to them: finished or not,
    copies running, and copies queued. Handlers and properties only count finished
    batches, so this keeps every verdict. The queue is a multiset here (an any-order
    queue), so its copies are counted, not placed: positions in it depend on the
    labels being chosen, and two labellings of one state could keep two
    representatives."""
    names: dict[tuple[int, int], tuple[int, int]] = {}
    new_rows = []
    for w, row in enumerate(rows, start=1):
        status, completed, failed, mask, dispatched, size, told = row
        signature = sorted(
            (-((mask >> b) & 1), -running.count((w, b)), -queue.count((w, b)), b)
            for b in range(size)
        )
        new_mask = 0
        for new, (bit, _, _, old) in enumerate(signature):
            names[(w, old)] = (w, new)
            new_mask |= -bit << new
        new_rows.append((status, completed, failed, new_mask, dispatched, size, told))
    return tuple(new_rows), tuple(names[j] for j in queue), tuple(sorted(names[j] for j in running))


def canonical(state: State, *, relabel: bool = False) -> State:
    """The representative of ``state`` under the symmetry reductions.

    In-flight runs are a multiset (sorted), and so are running jobs (workers are
    interchangeable). With ``relabel`` (only exact for an any-order queue, kept
    as a sorted multiset) batches of a wave are renumbered too: on a FIFO queue a
    re-dispatch pushes batches 0..n-1 in order, which breaks their symmetry.
    """
    rows, queue, running, events, delayed, runs, crashes, duplicates, losses = state
    if relabel:
        key = (rows, queue, running)
        found = _JOBS_CANON.get(key)
        if found is None:
            new_rows, new_queue, new_running = _relabel(rows, queue, running)
            found = _JOBS_CANON[key] = (new_rows, tuple(sorted(new_queue)), new_running)
        rows, queue, running = found
    if len(runs) > 1:
        runs = tuple(sorted(runs, key=run_key))
    return tuple.__new__(State, (rows, queue, running, events, delayed, runs, crashes, duplicates, losses))


class Codec:
    """A compact key for each state: one int packing small ids of its parts.

    Rows, queue, running jobs, waiting events and the multiset of runs are each
    interned (equal parts get one id, in the order first seen) and the counters
    are packed beside them, so a stored state costs one int instead of a tuple
    of tuples. ``decode`` gives the state back exactly.
    """

    __slots__ = ("_ids", "_parts")

    #: bits per packed counter (delayed, and the three fault budgets)
    SMALL = 8
    #: bits per part id
    PART = 24

    def __init__(self) -> None:
        self._ids: tuple[dict[object, int], ...] = ({}, {}, {}, {}, {})
        self._parts: tuple[list[object], ...] = ([], [], [], [], [])

    def _id(self, which: int, part: object) -> int:
        ids = self._ids[which]
        found = ids.get(part)
        if found is None:
            found = ids[part] = len(ids)
            self._parts[which].append(part)
        return found

    def encode(self, state: State) -> int:
        rows, queue, running, events, delayed, runs, crashes, duplicates, losses = state
        small = ((delayed << 8 | crashes) << 8 | duplicates) << 8 | losses
        parts = (((self._id(4, events) << 24 | self._id(3, runs)) << 24 | self._id(2, running)) << 24
                 | self._id(1, queue)) << 24 | self._id(0, rows)
        return parts << 32 | small

    def decode(self, key: int) -> State:
        mask = (1 << 24) - 1
        rows_parts, queue_parts, running_parts, runs_parts, events_parts = self._parts
        parts = key >> 32
        return tuple.__new__(State, (
            rows_parts[parts & mask], queue_parts[parts >> 24 & mask], running_parts[parts >> 48 & mask],
            events_parts[parts >> 96], key >> 24 & 255, runs_parts[parts >> 72 & mask], key >> 16 & 255,
            key >> 8 & 255, key & 255,
        ))
