"""The properties (``PROPERTY_NAMES``; docs/checker.md says what each means), stated once for every driver.

Each check returns ``None`` when the property holds and a one-line detail when
it does not. The simulation's monitors, the model checker and the reports all
call these, so they judge by the same words. Progress here is the *true*
progress (distinct finished batches), whatever a policy's handlers count.
"""

from __future__ import annotations

from coordinator.config import WaveConfig
from coordinator.lifecycle import ACTIVE, Status
from coordinator.table import WaveRow, WaveTable

__all__ = [
    "LIVENESS",
    "PROPERTY_NAMES",
    "SAFETY",
    "import_completes",
    "no_duplicate_claim",
    "no_duplicate_push",
    "no_stall",
    "one_wave_below_threshold",
    "queue_bound",
    "queue_bounded",
    "single_active_wave",
    "threshold_need",
    "threshold_respected",
]

SAFETY = (
    "single_active_wave",
    "one_wave_below_threshold",
    "threshold_respected",
    "no_duplicate_claim",
    "no_duplicate_push",
    "queue_bounded",
)
LIVENESS = ("no_stall", "import_completes")
PROPERTY_NAMES = SAFETY + LIVENESS


def threshold_need(row: WaveRow, config: WaveConfig) -> int:
    """The distinct finished batches that put ``row``'s wave at the threshold."""
    return min(config.threshold_count, row.batches)


def _below_threshold(table: WaveTable, config: WaveConfig) -> list[int]:
    return [
        r.wave_number for r in table.rows
        if r.status in ACTIVE and r.distinct_finished < threshold_need(r, config)
    ]


def single_active_wave(table: WaveTable) -> str | None:
    """At most one wave is dispatching or processing (the write-up's criterion)."""
    active = table.active()
    if len(active) <= 1:
        return None
    return f"{len(active)} waves active at once: {_waves(active)}"


def one_wave_below_threshold(table: WaveTable, config: WaveConfig) -> str | None:
    """At most one active wave has not yet reached the threshold."""
    below = _below_threshold(table, config)
    if len(below) <= 1:
        return None
    return f"{len(below)} active waves below {config.completion_threshold}%: {_waves(below)}"


def threshold_respected(before: WaveTable, after: WaveTable, config: WaveConfig, *,
                        judged: WaveTable | None = None) -> str | None:
    """A wave leaves ``pending`` only when its predecessor is at the threshold.

    A transition check: ``before`` and ``after`` are the table either side of
    one write, and the predecessor is judged in ``before``. ``judged`` names
    another table to judge it in: a live run's samples are not the two sides of
    one write, so it judges the predecessor in the later sample (status and
    progress only move forward), which blames only a dispatch the samples prove
    early.
    """
    judged = before if judged is None else judged
    for old, new in zip(before.rows, after.rows, strict=True):
        if old.status is Status.PENDING and new.status is not Status.PENDING and new.wave_number > 1:
            prev = judged.rows[new.wave_number - 2]
            need = threshold_need(prev, config)
            if prev.status is Status.PENDING or prev.distinct_finished < need:
                return (
                    f"wave {new.wave_number} dispatched while wave {prev.wave_number} had "
                    f"{prev.distinct_finished}/{prev.batches} batches finished (needs {need})"
                )
    return None


def no_duplicate_claim(table: WaveTable) -> str | None:
    """No two handler runs were told they own the same wave.

    Judged from what claimers were told (the rows' ghost ``owners_told``, which
    every driver records when a claim answers "yours"), not from what the rows
    say, so a claim whose UPDATE changed nothing but whose caller was told it
    won is caught. The half of the old ``no_duplicate_dispatch`` a buildable
    design can keep: the claim is one compare-and-set, so one run owns a wave.
    """
    twice = [r for r in table.rows if r.owners_told > 1]
    if not twice:
        return None
    counts = ", ".join(f"wave {r.wave_number} told to {r.owners_told} runs" for r in twice)
    return f"{len(twice)} wave(s) claimed by more than one run: {counts}"


def no_duplicate_push(table: WaveTable) -> str | None:
    """No wave's batch jobs are pushed to the queue more than once.

    The other half: a push and the database write recording it cannot be one
    atomic step, so a design that survives a crash between them pushes at least
    once, sometimes twice; it then needs batches idempotent by job key.
    """
    twice = [r for r in table.rows if r.dispatch_count > 1]
    if not twice:
        return None
    counts = ", ".join(f"wave {r.wave_number} x{r.dispatch_count}" for r in twice)
    return f"{len(twice)} wave(s) dispatched more than once: {counts}"


def queue_bound(config: WaveConfig) -> int:
    """The queue bound a threshold coordinator can promise: one whole wave plus
    the unfinished tail of the wave before it. (The write-up claims one wave,
    ``wave_size``; the 90 % overlap makes that unreachable by design.)"""
    return config.wave_size + (config.wave_size - min(config.threshold_count, config.wave_size))


def queue_bounded(queued_batches: int, config: WaveConfig) -> str | None:
    """Queued batch jobs stay within ``queue_bound``."""
    bound = queue_bound(config)
    if queued_batches <= bound:
        return None
    return f"{queued_batches} batch jobs queued, above the bound of {bound}"


def no_stall(table: WaveTable, *, quiescent: bool) -> str | None:
    """Never quiescent (nothing queued, running or scheduled) with a wave not completed."""
    if not quiescent:
        return None
    left = [r for r in table.rows if r.status is not Status.COMPLETED]
    if not left:
        return None
    first = left[0]
    return (
        f"stalled at wave {first.wave_number}: nothing left to run, "
        + ", ".join(f"wave {r.wave_number} {r.status.value}" for r in left[:3])
        + (" ..." if len(left) > 3 else "")
    )


def import_completes(table: WaveTable) -> str | None:
    """Every wave is completed."""
    left = [r.wave_number for r in table.rows if r.status is not Status.COMPLETED]
    if not left:
        return None
    return f"{len(left)} wave(s) never completed: {_waves(left)}"


def _waves(numbers: list[int] | tuple[int, ...]) -> str:
    shown = ", ".join(str(n) for n in numbers[:8])
    return shown + (" ..." if len(numbers) > 8 else "")
