"""States from which no open property can be broken any more (the ``settled`` reduction).

Two safety properties can only be broken by something that stops happening:

* ``threshold_respected`` is broken only by a wave *leaving* ``pending`` while
  its predecessor is pending or below the threshold. Once the predecessor of
  every pending wave is out of ``pending`` and at the threshold, no later
  transition can break it.
* ``one_wave_below_threshold`` needs two active waves each below the threshold
  in distinct finished batches. Once at most one wave (whatever its status) is
  below it, no later state can break it.

Both rest on two facts about every step of the core: no operation writes
``pending`` (a wave leaves it once), and a wave's distinct finished batches
never decrease. ``check_step`` checks both on every step a search with the
reduction takes, and raises ``PremiseBroken`` on a step against either, so a
new operation that breaks them stops the search rather than skewing it.

A state in which every property still undecided is settled is stored and
judged like any other but not expanded: every state after it is settled too,
so no violation of an open property lies behind it. Every other property is
never settled: the liveness properties are judged on the whole graph, and the
rest can be broken from any state. So the reduction prunes nothing while any of
them is open, and prunes the tail of a search whose other verdicts are already
in. It is exact for every verdict, and for shortest counterexamples (a
shortest path to a violation passes only through states from which the
violation is still reachable).
"""

from __future__ import annotations

from collections.abc import Callable

from coordinator import PROPERTY_NAMES, Status, WaveConfig, WaveTable
from coordinator.properties import threshold_need
from model.state import Row, table_of

__all__ = ["SETTLED", "PremiseBroken", "check_step", "settled"]


class PremiseBroken(RuntimeError):
    """A step wrote ``pending`` or lowered a wave's distinct finished batches: the ``settled``
    reduction's premise does not hold for this policy (check with ``--without settled``)."""


def _every_pending_wave_may_leave(table: WaveTable, config: WaveConfig) -> bool:
    return all(
        prev.status is not Status.PENDING and prev.distinct_finished >= threshold_need(prev, config)
        for prev, row in zip(table.rows, table.rows[1:], strict=False) if row.status is Status.PENDING
    )


def _one_wave_left_below(table: WaveTable, config: WaveConfig) -> bool:
    return sum(1 for row in table.rows if row.distinct_finished < threshold_need(row, config)) <= 1


#: For each property that can be settled, when it is.
SETTLED: dict[str, Callable[[WaveTable, WaveConfig], bool]] = {
    "threshold_respected": _every_pending_wave_may_leave,
    "one_wave_below_threshold": _one_wave_left_below,
}

assert set(SETTLED) <= set(PROPERTY_NAMES)


def settled(rows: tuple[Row, ...], config: WaveConfig) -> frozenset[str]:
    """The properties no state after one with these rows can break."""
    table = table_of(rows, config.wave_size)
    return frozenset(name for name, rule in SETTLED.items() if rule(table, config))


def check_step(before: WaveTable, after: WaveTable, what: object) -> None:
    """Raise ``PremiseBroken`` when the step ``what`` from ``before`` to ``after`` breaks the premise."""
    for old, new in zip(before.rows, after.rows, strict=True):
        if new.status is Status.PENDING and old.status is not Status.PENDING:
            raise PremiseBroken(f"{what} wrote wave {new.wave_number} back to pending, so the settled reduction "
                                "cannot be used: rerun with --without settled")
        if new.distinct_finished < old.distinct_finished:
            raise PremiseBroken(f"{what} lowered wave {new.wave_number}'s distinct finished batches, so the "
                                "settled reduction cannot be used: rerun with --without settled")
